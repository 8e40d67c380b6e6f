package influxworker

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"
)

func TestConfigUnmarshalDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want Config
	}{
		{
			name: "no pool",
			yaml: "name: default\nurl: http://influx:8086\ndatabase: prom\n",
			want: Config{Name: "default", URL: "http://influx:8086", Database: "prom", Pool: DefaultPoolConfig},
		},
		{
			name: "partial pool keeps other defaults",
			yaml: "name: n\nurl: https://h/prefix\ndatabase: d\nretention_policy: rp\nusername: u\npassword: s3cret\ncreate_database: true\npool:\n  workers: 3\n",
			want: Config{
				Name: "n", URL: "https://h/prefix", Database: "d", RetentionPolicy: "rp",
				Username: "u", Password: "s3cret", CreateDatabase: true,
				Pool: PoolConfig{Workers: 3, Queue: DefaultPoolConfig.Queue, Timeout: DefaultPoolConfig.Timeout, MaxBodyBytes: DefaultPoolConfig.MaxBodyBytes, Batch: DefaultBatchConfig, Retry: DefaultRetryConfig},
			},
		},
		{
			name: "full pool",
			yaml: "name: n\nurl: http://h\ndatabase: d\npool:\n  workers: 1\n  queue: 5\n  timeout: 2s\n  max_body_bytes: 1MiB\n",
			want: Config{
				Name: "n", URL: "http://h", Database: "d",
				Pool: PoolConfig{Workers: 1, Queue: 5, Timeout: model.Duration(2 * time.Second), MaxBodyBytes: units.MiB, Batch: DefaultBatchConfig, Retry: DefaultRetryConfig},
			},
		},
		{
			name: "gzip off, partial retry keeps other defaults",
			yaml: "name: n\nurl: http://h\ndatabase: d\npool:\n  gzip: false\n  retry:\n    max_attempts: 5\n",
			want: Config{
				Name: "n", URL: "http://h", Database: "d",
				Pool: PoolConfig{
					Workers: DefaultPoolConfig.Workers, Queue: DefaultPoolConfig.Queue, Timeout: DefaultPoolConfig.Timeout, MaxBodyBytes: DefaultPoolConfig.MaxBodyBytes,
					Gzip:  new(false),
					Batch: DefaultBatchConfig,
					Retry: RetryConfig{MaxAttempts: 5, MinBackoff: DefaultRetryConfig.MinBackoff, MaxBackoff: DefaultRetryConfig.MaxBackoff},
				},
			},
		},
		{
			name: "batch, linger 0 kept",
			yaml: "name: n\nurl: http://h\ndatabase: d\npool:\n  batch:\n    max_points: 500\n    linger: 0s\n",
			want: Config{
				Name: "n", URL: "http://h", Database: "d",
				Pool: PoolConfig{
					Workers: DefaultPoolConfig.Workers, Queue: DefaultPoolConfig.Queue, Timeout: DefaultPoolConfig.Timeout, MaxBodyBytes: DefaultPoolConfig.MaxBodyBytes,
					Batch: BatchConfig{MaxPoints: 500, MaxBytes: DefaultBatchConfig.MaxBytes, Linger: 0},
					Retry: DefaultRetryConfig,
				},
			},
		},
		{
			name: "full retry",
			yaml: "name: n\nurl: http://h\ndatabase: d\npool:\n  retry:\n    max_attempts: 1\n    min_backoff: 10ms\n    max_backoff: 10ms\n",
			want: Config{
				Name: "n", URL: "http://h", Database: "d",
				Pool: PoolConfig{
					Workers: DefaultPoolConfig.Workers, Queue: DefaultPoolConfig.Queue, Timeout: DefaultPoolConfig.Timeout, MaxBodyBytes: DefaultPoolConfig.MaxBodyBytes, Batch: DefaultBatchConfig,
					Retry: RetryConfig{MaxAttempts: 1, MinBackoff: model.Duration(10 * time.Millisecond), MaxBackoff: model.Duration(10 * time.Millisecond)},
				},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Config
			if err := yaml.UnmarshalStrict([]byte(tc.yaml), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestConfigUnmarshalList(t *testing.T) {
	// The adapter embeds Config in a list; every entry gets its own defaults.
	var got struct {
		Databases []Config `yaml:"databases"`
	}
	in := "databases:\n- {name: a, url: 'http://a', database: a, pool: {workers: 2}}\n- {name: b, url: 'http://b', database: b}\n"
	if err := yaml.UnmarshalStrict([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Databases) != 2 || got.Databases[0].Pool.Workers != 2 || got.Databases[1].Pool != DefaultPoolConfig {
		t.Fatalf("got %+v", got.Databases)
	}
}

func TestConfigUnknownKey(t *testing.T) {
	var c Config
	err := yaml.UnmarshalStrict([]byte("name: n\nurl: http://h\ndatabase: d\npool:\n  wokers: 2\n"), &c)
	if err == nil || !strings.Contains(err.Error(), "wokers") {
		t.Fatalf("err = %v, want unknown field wokers", err)
	}
}

func TestConfigPasswordNotPrinted(t *testing.T) {
	c := DefaultConfig
	c.Name, c.URL, c.Database, c.Username, c.Password = "n", "http://h", "d", "u", "s3cret"
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cret") {
		t.Fatalf("password printed:\n%s", out)
	}
}

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig
		c.Name, c.URL, c.Database = "n", "http://127.0.0.1:8086", "d"
		return c
	}
	for _, tc := range []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"https with prefix", func(c *Config) { c.URL = "https://proxy/influx/" }, ""},
		{"no name", func(c *Config) { c.Name = "" }, "name is required"},
		{"no url", func(c *Config) { c.URL = "" }, "url is required"},
		{"no database", func(c *Config) { c.Database = "" }, "database is required"},
		{"bad scheme", func(c *Config) { c.URL = "ftp://x" }, `url "ftp://x": scheme must be http or https`},
		{"no scheme", func(c *Config) { c.URL = "influx:8086" }, `url "influx:8086": scheme must be http or https`},
		{"no host", func(c *Config) { c.URL = "http:///write" }, `url "http:///write": host is required`},
		{"unparsable", func(c *Config) { c.URL = "http://h:port" }, `url: invalid port`},
		{"password in an unparsable url", func(c *Config) { c.URL = "http://admin:S3cret@h:port" }, `url: invalid port`},
		{"password in a url with a bad scheme", func(c *Config) { c.URL = "influx://admin:S3cret@h" }, `url "influx://admin:xxxxx@h": must not contain credentials`},
		{"password in a url without host", func(c *Config) { c.URL = "http://admin:S3cret@" }, `url "http://admin:xxxxx@": must not contain credentials`},
		{"credentials", func(c *Config) { c.URL = "http://u:pw@h" }, `url "http://u:xxxxx@h": must not contain credentials`},
		{"query", func(c *Config) { c.URL = "http://h?db=x" }, `url "http://h?db=x": must not have a query or fragment`},
		{"password without user", func(c *Config) { c.Password = "p" }, "password requires username"},
		{"read endpoint query", func(c *Config) { c.ReadEndpoint = ReadQuery }, ""},
		{"read endpoint prom_read", func(c *Config) { c.ReadEndpoint = ReadPromRead }, ""},
		{"read endpoint unknown", func(c *Config) { c.ReadEndpoint = "flux" }, `read_endpoint must be "auto", "query" or "prom_read", got "flux"`},
		{"prom_read with api v2", func(c *Config) { c.ReadEndpoint, c.API, c.Org = ReadPromRead, APIv2, "o" }, "read_endpoint: prom_read requires api: v1"},
		{"workers", func(c *Config) { c.Pool.Workers = 0 }, "pool.workers must be > 0, got 0"},
		{"queue", func(c *Config) { c.Pool.Queue = -1 }, "pool.queue must be >= 0, got -1"},
		{"timeout", func(c *Config) { c.Pool.Timeout = 0 }, "pool.timeout must be > 0, got 0s"},
		{"max body", func(c *Config) { c.Pool.MaxBodyBytes = -1 }, "pool.max_body_bytes must be > 0, got -1"},
		{"batch max points", func(c *Config) { c.Pool.Batch.MaxPoints = 0 }, "pool.batch.max_points must be > 0, got 0"},
		{"batch max bytes", func(c *Config) { c.Pool.Batch.MaxBytes = 0 }, "pool.batch.max_bytes must be > 0, got 0"},
		{"batch linger", func(c *Config) { c.Pool.Batch.Linger = model.Duration(-time.Millisecond) }, "pool.batch.linger must be >= 0"},
		{"batch linger 0", func(c *Config) { c.Pool.Batch.Linger = 0 }, ""},
		{"batch max bytes above max body bytes is capped", func(c *Config) { c.Pool.Batch.MaxBytes = 64 * units.MiB }, ""},
		{"no retries", func(c *Config) { c.Pool.Retry.MaxAttempts = 1 }, ""},
		{"max attempts", func(c *Config) { c.Pool.Retry.MaxAttempts = 0 }, "pool.retry.max_attempts must be >= 1, got 0"},
		{"min backoff", func(c *Config) { c.Pool.Retry.MinBackoff = 0 }, "pool.retry.min_backoff must be > 0, got 0s"},
		{"max backoff", func(c *Config) { c.Pool.Retry.MaxBackoff = model.Duration(time.Millisecond) }, "pool.retry.max_backoff must be >= pool.retry.min_backoff 50ms, got 1ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want prefix %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "S3cret") {
				t.Errorf("Validate() = %v: shows the password", err)
			}
			if _, nerr := New(c, nil, nil); nerr == nil || !strings.Contains(nerr.Error(), tc.wantErr) {
				t.Fatalf("New() = %v, want the validation error", nerr)
			}
		})
	}
}
