package adapter

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/mapping"
	"github.com/promflux/promflux/promapi"
)

func TestLoadConfigGood(t *testing.T) {
	cfg, err := LoadConfigFile("testdata/routes.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Databases) != 2 || cfg.DefaultDatabase != "default" || len(cfg.Routes) != 1 {
		t.Fatalf("unexpected config: %+v", cfg)
	}
	node := cfg.Databases[1]
	if node.RetentionPolicy != "two_weeks" || node.Username != "promflux" || string(node.Password) != "secret" ||
		node.Pool.Workers != 2 || time.Duration(node.Pool.Timeout) != 5*time.Second || node.Pool.MaxBodyBytes != 1<<20 {
		t.Errorf("node database decoded as %+v", node)
	}
	if def := cfg.Databases[0]; def.Pool.Workers <= 0 || def.Pool.Timeout <= 0 || def.Pool.MaxBodyBytes <= 0 {
		t.Errorf("pool defaults not applied: %+v", def.Pool)
	}
	if cfg.Limits.MaxRequestBytes != 1<<20 || cfg.Limits.MaxDecodedBytes <= 0 {
		t.Errorf("limits decoded as %+v", cfg.Limits)
	}
	if cfg.Write.concurrency() != 2*runtime.GOMAXPROCS(0) || time.Duration(cfg.Write.MaxWait) != 10*time.Second {
		t.Errorf("write defaults not applied: %+v", cfg.Write)
	}
	if cfg.Query != promapi.DefaultConfig {
		t.Errorf("query defaults not applied: %+v", cfg.Query)
	}
	router, err := mapping.NewRouter(cfg.Routes, cfg.DefaultDatabase)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		instance, want string
	}{{"db-1", "node"}, {"web-1", "default"}} {
		lbls := []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "instance", Value: tc.instance}, {Name: "job", Value: "node"}}
		if got := router.Route(lbls); got != tc.want {
			t.Errorf("instance %s routed to %q, want %q", tc.instance, got, tc.want)
		}
	}

	single, err := LoadConfigFile("testdata/single.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if single.DefaultDatabase != "only" {
		t.Errorf("default_database = %q, want the only database", single.DefaultDatabase)
	}
}

// TestCheckConfigServers: v2, TLS with basic auth and UDP entries load and
// build, with credential files found next to the configuration file; a
// missing one is reported by CheckConfigFile, which --config.check runs.
func TestCheckConfigServers(t *testing.T) {
	if err := CheckConfigFile("testdata/servers.good.yml", log.NewNopLogger()); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfigFile("testdata/servers.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Databases[0].TokenFile, filepath.Join("testdata", "secrets", "influx-token"); got != want {
		t.Errorf("token_file resolved to %q, want %q", got, want)
	}
	err = CheckConfigFile("testdata/missing_token_file.bad.yml", log.NewNopLogger())
	if err == nil || !strings.Contains(err.Error(), "token_file") {
		t.Errorf("missing token_file: %v, want an error naming token_file", err)
	}
}

// TestLoadConfigBad checks that every broken file is refused with a message
// naming the key at fault.
func TestLoadConfigBad(t *testing.T) {
	for file, want := range map[string]string{
		"unknown_key.bad.yml":               "field colour not found",
		"missing_url.bad.yml":               "url is required",
		"route_undefined.bad.yml":           `routes[0] (match "{job=\"x\"}"): database "nope" is not the name of a configured database`,
		"bad_selector.bad.yml":              `match: invalid series selector "{job=}"`,
		"duplicate_name.bad.yml":            `databases[1]: duplicate name "a"`,
		"no_default.bad.yml":                "default_database is required when more than one database is configured",
		"default_undefined.bad.yml":         `default_database: "b" is not the name of a configured database`,
		"empty.bad.yml":                     "databases: at least one database is required",
		"zero_limit.bad.yml":                "limits.max_request_bytes must be > 0",
		"negative_concurrency.bad.yml":      "write.max_concurrency must be >= 0, got -1",
		"zero_wait.bad.yml":                 "write.max_wait must be > 0",
		"negative_read_concurrency.bad.yml": "read.max_concurrency must be > 0, got -2",
		"zero_query_concurrency.bad.yml":    "query.max_concurrency must be > 0, got 0",
	} {
		t.Run(file, func(t *testing.T) {
			_, err := LoadConfigFile(filepath.Join("testdata", file))
			if err == nil {
				t.Fatal("config accepted")
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		})
	}
}

// TestShippedConfig loads the example configuration at the repository root,
// so that it never drifts from what promflux accepts.
func TestShippedConfig(t *testing.T) {
	cfg, err := LoadConfigFile("../config.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Databases) == 0 {
		t.Fatal("example config has no database")
	}
}
