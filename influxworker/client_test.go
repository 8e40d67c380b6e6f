package influxworker

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/common/config"
	"go.yaml.in/yaml/v2"
)

// writeFile writes content to a new file in a temporary directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// httpClientConfig decodes the http_client_config section in yaml as the
// configuration file does.
func httpClientConfig(t *testing.T, in string) *config.HTTPClientConfig {
	t.Helper()
	var c config.HTTPClientConfig
	if err := yaml.UnmarshalStrict([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// authServer answers /ping with 204 and records the Authorization header of
// each request.
func authServer(t *testing.T, tls bool) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var got []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func TestHTTPClientConfigTLS(t *testing.T) {
	srv, _ := authServer(t, true)
	ca := writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	ctx := context.Background()

	p := newTestPool(t, srv.URL, nil, func(c *Config) {
		c.HTTPClientConfig = httpClientConfig(t, "tls_config:\n  ca_file: "+ca+"\n")
		c.Pool.Retry.MaxAttempts = 1
	})
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping() with ca_file = %v", err)
	}

	untrusted := newTestPool(t, srv.URL, nil, func(c *Config) { c.Pool.Retry.MaxAttempts = 1 })
	err := untrusted.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "certificate") || IsPermanent(err) {
		t.Fatalf("Ping() without the CA = %v, want a retryable certificate error", err)
	}
}

func TestAuthorizationHeader(t *testing.T) {
	pwFile := writeFile(t, "password", "  s3cret-file\n")
	tokFile := writeFile(t, "token", "tok-file\n")
	credFile := writeFile(t, "credentials", "cred-file\n")
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"none", func(*Config) {}, ""},
		{"username and password", func(c *Config) { c.Username, c.Password = "alice", "s3cret" }, "Basic YWxpY2U6czNjcmV0"},
		{"password_file trimmed", func(c *Config) { c.Username, c.PasswordFile = "alice", pwFile }, "Basic YWxpY2U6czNjcmV0LWZpbGU="},
		{"v1 token", func(c *Config) { c.Token = "tok" }, "Token tok"},
		{"token_file trimmed", func(c *Config) { c.TokenFile = tokFile }, "Token tok-file"},
		{"basic_auth with password_file", func(c *Config) {
			c.HTTPClientConfig = httpClientConfig(t, "basic_auth:\n  username: alice\n  password_file: "+pwFile+"\n")
		}, "Basic YWxpY2U6czNjcmV0LWZpbGU="},
		{"authorization with credentials_file", func(c *Config) {
			c.HTTPClientConfig = httpClientConfig(t, "authorization:\n  type: Token\n  credentials_file: "+credFile+"\n")
		}, "Token cred-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := authServer(t, false)
			p := newTestPool(t, srv.URL, nil, tc.mutate)
			if err := p.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			if h := got(); len(h) != 1 || h[0] != tc.want {
				t.Fatalf("Authorization %q, want %q", h, tc.want)
			}
		})
	}
}

func TestTokenFileReadAtNew(t *testing.T) {
	srv, got := authServer(t, false)
	path := writeFile(t, "token", "first\n")
	mutate := func(c *Config) { c.TokenFile = path }
	p1 := newTestPool(t, srv.URL, nil, mutate)
	// A rotated token is used by the pool of the next reload, not by the
	// running one.
	if err := os.WriteFile(path, []byte("second\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p2 := newTestPool(t, srv.URL, nil, mutate)
	ctx := context.Background()
	if err := p1.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p2.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if h := got(); len(h) != 2 || h[0] != "Token first" || h[1] != "Token second" {
		t.Fatalf("Authorization %q, want the token of each New", h)
	}
}

func TestCredentialFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	empty := writeFile(t, "empty", " \n")
	twoLines := writeFile(t, "two-lines", "abc\ndef\n")
	huge := writeFile(t, "huge", strings.Repeat("x", 100<<10))
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"missing token_file", func(c *Config) { c.TokenFile = missing }, `influxdb "n": cannot read token_file: open ` + missing + `: no such file or directory`},
		{"empty password_file", func(c *Config) { c.Username, c.PasswordFile = "u", empty }, `influxdb "n": password_file "` + empty + `" is empty`},
		{"token_file with a newline inside", func(c *Config) { c.TokenFile = twoLines }, `influxdb "n": token contains characters not allowed in an HTTP header`},
		{"token with a newline", func(c *Config) { c.Token = "abc\n" }, `influxdb "n": token contains characters not allowed in an HTTP header`},
		{"huge token_file", func(c *Config) { c.TokenFile = huge }, `influxdb "n": token_file "` + huge + `" is larger than 65536 bytes`},
		{"missing ca_file", func(c *Config) {
			c.HTTPClientConfig = &config.HTTPClientConfig{TLSConfig: config.TLSConfig{CAFile: missing}}
		}, `influxdb "n": http_client_config: unable to read CA cert: unable to read file ` + missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig
			c.Name, c.URL, c.Database = "n", "http://127.0.0.1:8086", "d"
			tc.mutate(&c)
			_, err := New(c, nil, nil)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("New() = %v\nwant prefix %s", err, tc.want)
			}
		})
	}
}

func TestHTTPClientConfigProxy(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	// A fake forward proxy: it answers for the target itself and records
	// the absolute URI it was asked for.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.RequestURI+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(proxy.Close)
	// Nothing listens on port 1: only the proxy can answer.
	const target = "http://127.0.0.1:1"
	p := newTestPool(t, target, nil, func(c *Config) {
		c.HTTPClientConfig = httpClientConfig(t, "proxy_url: "+proxy.URL+"\n")
		c.Token = "tok"
	})
	if err := p.Ping(context.Background()); err != nil {
		t.Fatalf("Ping() through the proxy = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "GET " + target + "/ping Token tok"; len(seen) != 1 || seen[0] != want {
		t.Fatalf("proxy saw %q, want %q", seen, want)
	}
}

// closedPort returns a loopback TCP address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestSecretsNotInErrors(t *testing.T) {
	const (
		password  = "pw-91b3e"
		token     = "tok-4d2f7"
		proxyPass = "proxypw-0a8c"
	)
	f := newFakeV2(t, "right-token")
	proxyURL := &url.URL{Scheme: "http", User: url.UserPassword("pu", proxyPass), Host: closedPort(t)}
	for _, tc := range []struct {
		name   string
		url    string
		mutate func(*Config)
	}{
		{"connection refused with password", "http://" + closedPort(t), func(c *Config) { c.Username, c.Password = "u", password }},
		{"connection refused with token", "http://" + closedPort(t), func(c *Config) { c.Token = token }},
		{"401 with token", f.srv.URL, func(c *Config) {
			c.API, c.Org, c.Bucket, c.Token = APIv2, "my-org", "prom-bucket", token
		}},
		{"proxy refused", "http://" + closedPort(t), func(c *Config) {
			c.Token = token
			c.HTTPClientConfig = httpClientConfig(t, "proxy_url: "+proxyURL.String()+"\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPool(t, tc.url, nil, func(c *Config) {
				tc.mutate(c)
				c.Pool.Retry.MaxAttempts = 1
			})
			ctx := context.Background()
			_, qerr := p.Query(ctx, "SHOW DATABASES")
			for _, err := range []error{p.Write(ctx, []byte("m v=1 1\n")), p.Ping(ctx), qerr} {
				if err == nil {
					t.Fatal("request succeeded, want an error")
				}
				for _, secret := range []string{password, token, proxyPass} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error carries a secret: %v", err)
					}
				}
			}
		})
	}
}

func TestConfigMarshalHidesSecrets(t *testing.T) {
	secrets := []string{"pw-top", "tok-top", "ba-pw", "authz-cred", "oauth-secret", "tls-key", "proxy-pw", "proxy-hdr"}
	in := `name: n
url: http://127.0.0.1:8086
database: d
username: u
password: pw-top
token: tok-top
http_client_config:
  basic_auth: {username: bu, password: ba-pw}
  tls_config: {cert: cert, key: tls-key}
  proxy_url: 'http://pu:proxy-pw@127.0.0.1:3128'
  proxy_connect_header: {X-Auth: [proxy-hdr]}
`
	var c Config
	if err := yaml.UnmarshalStrict([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if c.Password != "pw-top" || c.HTTPClientConfig.BasicAuth.Password != "ba-pw" {
		t.Fatalf("secrets not decoded: %+v", c)
	}
	// Not a valid combination, but every secret of http_client_config in
	// one document.
	c.HTTPClientConfig.Authorization = &config.Authorization{Type: "Token", Credentials: "authz-cred"}
	c.HTTPClientConfig.OAuth2 = &config.OAuth2{ClientID: "id", ClientSecret: "oauth-secret", TokenURL: "http://127.0.0.1:1/token"}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(out), s) {
			t.Fatalf("secret %q printed:\n%s", s, out)
		}
	}
	if n := strings.Count(string(out), "<secret>"); n < 6 {
		t.Fatalf("%d <secret> placeholders, want one per secret:\n%s", n, out)
	}
}
