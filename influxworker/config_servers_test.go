package influxworker

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

// TestConfigServers decodes (http_client_config validates itself then)
// and validates the keys of api: v2, the
// credentials, http_client_config and transport: udp.
func TestConfigServers(t *testing.T) {
	const head = "name: n\nurl: http://127.0.0.1:8086\n"
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{name: "v1 explicit", yaml: head + "database: d\napi: v1\n"},
		{name: "v2", yaml: head + "database: d\napi: v2\norg: o\nbucket: b\ntoken: t\n"},
		{name: "v2 token_file, bucket from database", yaml: head + "database: d\napi: v2\norg: o\ntoken_file: /run/secrets/t\n"},
		{name: "v1 password_file", yaml: head + "database: d\nusername: u\npassword_file: /p\n"},
		{name: "http_client_config", yaml: head + "database: d\nhttp_client_config:\n  tls_config: {insecure_skip_verify: true}\n  follow_redirects: false\n"},
		{name: "http_client_config authorization", yaml: head + "database: d\napi: v2\norg: o\nhttp_client_config:\n  authorization: {type: Token, credentials_file: /t}\n"},
		{name: "udp", yaml: "name: n\nurl: udp://127.0.0.1:8089\ntransport: udp\n"},
		{name: "udp with database and payload", yaml: "name: n\nurl: udp://influxdb:8089\ntransport: udp\ndatabase: d\nudp_payload_bytes: 8192\n"},

		{name: "bad api", yaml: head + "database: d\napi: v3\n", wantErr: `api must be "v1" or "v2", got "v3"`},
		{name: "v2 without org", yaml: head + "database: d\napi: v2\n", wantErr: "org is required with api: v2"},
		{name: "v2 retention_policy", yaml: head + "database: d\napi: v2\norg: o\nretention_policy: rp\n", wantErr: "retention_policy is not supported with api: v2"},
		{name: "v2 username", yaml: head + "database: d\napi: v2\norg: o\nusername: u\n", wantErr: "username is not supported with api: v2"},
		{name: "v2 create_database", yaml: head + "database: d\napi: v2\norg: o\ncreate_database: true\n", wantErr: "create_database is not supported with api: v2"},
		{name: "v1 org", yaml: head + "database: d\norg: o\n", wantErr: "org requires api: v2"},
		{name: "v1 bucket", yaml: head + "database: d\nbucket: b\n", wantErr: "bucket requires api: v2"},
		{name: "token and token_file", yaml: head + "database: d\ntoken: t\ntoken_file: /t\n", wantErr: "token and token_file are mutually exclusive"},
		{name: "password and password_file", yaml: head + "database: d\nusername: u\npassword: p\npassword_file: /p\n", wantErr: "password and password_file are mutually exclusive"},
		{name: "password_file without username", yaml: head + "database: d\npassword_file: /p\n", wantErr: "password requires username"},
		{name: "token and username", yaml: head + "database: d\nusername: u\ntoken: t\n", wantErr: "token and username are mutually exclusive"},
		{name: "token and basic_auth", yaml: head + "database: d\ntoken: t\nhttp_client_config:\n  basic_auth: {username: u, password: p}\n", wantErr: "username, password and token are mutually exclusive with http_client_config.basic_auth"},
		{name: "username and authorization", yaml: head + "database: d\nusername: u\nhttp_client_config:\n  authorization: {credentials: c}\n", wantErr: "username, password and token are mutually exclusive with http_client_config.basic_auth"},
		{name: "invalid http_client_config", yaml: head + "database: d\nhttp_client_config:\n  basic_auth: {username: u, password: p, password_file: /p}\n", wantErr: "at most one of basic_auth password"},
		{name: "udp_payload_bytes with http", yaml: head + "database: d\nudp_payload_bytes: 1000\n", wantErr: "udp_payload_bytes requires transport: udp"},
		{name: "bad transport", yaml: head + "database: d\ntransport: tcp\n", wantErr: `transport must be "http" or "udp", got "tcp"`},
		{name: "read_endpoint with udp", yaml: "name: n\nurl: udp://127.0.0.1:8089\ntransport: udp\nread_endpoint: query\n", wantErr: "read_endpoint is not supported with transport: udp"},
		{name: "udp with http url", yaml: head + "transport: udp\n", wantErr: `url "http://127.0.0.1:8086": scheme must be udp with transport: udp`},
		{name: "udp without port", yaml: "name: n\nurl: udp://influxdb\ntransport: udp\n", wantErr: `url "udp://influxdb": port is required`},
		{name: "udp with path", yaml: "name: n\nurl: udp://influxdb:8089/write\ntransport: udp\n", wantErr: `url "udp://influxdb:8089/write": must not have a path, query or fragment`},
		{name: "udp with credentials", yaml: "name: n\nurl: udp://u:p@influxdb:8089\ntransport: udp\n", wantErr: `url "udp://u:xxxxx@influxdb:8089": must not contain credentials`},
		{name: "udp with token", yaml: "name: n\nurl: udp://h:8089\ntransport: udp\ntoken: t\n", wantErr: "credentials are not supported with transport: udp"},
		{name: "udp with api", yaml: "name: n\nurl: udp://h:8089\ntransport: udp\napi: v1\n", wantErr: "api is not supported with transport: udp"},
		{name: "udp with retention_policy", yaml: "name: n\nurl: udp://h:8089\ntransport: udp\nretention_policy: rp\n", wantErr: "retention_policy is not supported with transport: udp"},
		{name: "udp with http_client_config", yaml: "name: n\nurl: udp://h:8089\ntransport: udp\nhttp_client_config: {}\n", wantErr: "http_client_config is not supported with transport: udp"},
		{name: "udp with create_database", yaml: "name: n\nurl: udp://h:8089\ntransport: udp\ncreate_database: true\n", wantErr: "create_database is not supported with transport: udp"},
		{name: "udp port out of range", yaml: "name: n\nurl: udp://h:99999\ntransport: udp\n", wantErr: `url "udp://h:99999": port must be 1 to 65535`},
		{name: "udp with pool", yaml: "name: n\nurl: udp://h:8089\ntransport: udp\npool: {workers: 2}\n", wantErr: "pool is not supported with transport: udp"},
		{name: "udp payload too large", yaml: "name: n\nurl: udp://h:8089\ntransport: udp\nudp_payload_bytes: 70000\n", wantErr: "udp_payload_bytes must be between 1 and 65507 (0 for the default 1400), got 70000"},
		{name: "url credentials still refused", yaml: "name: n\nurl: http://u:secretpw@h:8086\ndatabase: d\n", wantErr: `url "http://u:xxxxx@h:8086": must not contain credentials`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			err := yaml.UnmarshalStrict([]byte(tc.yaml), &c)
			if err == nil {
				err = c.Validate()
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unmarshal and Validate() = %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want prefix %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "secretpw") {
				t.Fatalf("error carries the password: %v", err)
			}
		})
	}
}

func TestConfigSetDirectory(t *testing.T) {
	var c Config
	in := "name: n\nurl: http://h\ndatabase: d\nusername: u\npassword_file: pw\ntoken_file: /abs/tok\nhttp_client_config:\n  tls_config: {ca_file: ca.pem}\n"
	if err := yaml.UnmarshalStrict([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	c.SetDirectory("/etc/promflux")
	if c.PasswordFile != "/etc/promflux/pw" || c.TokenFile != "/abs/tok" || c.HTTPClientConfig.TLSConfig.CAFile != "/etc/promflux/ca.pem" {
		t.Fatalf("password_file %q token_file %q ca_file %q", c.PasswordFile, c.TokenFile, c.HTTPClientConfig.TLSConfig.CAFile)
	}
	var plain Config
	plain.SetDirectory("/etc/promflux") // no http_client_config: must not panic
	if plain.PasswordFile != "" {
		t.Fatalf("empty password_file became %q", plain.PasswordFile)
	}
}
