package adapter

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/common/model"

	"go.yaml.in/yaml/v2"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/mapping"
	"github.com/promflux/promflux/promapi"
	"github.com/promflux/promflux/remote"
)

// Config is the whole promflux configuration file. Each section belongs to
// the package that uses it; Config only composes them and checks what spans
// sections (route targets, unique database names).
type Config struct {
	// Databases are the InfluxDB databases promflux writes to, each served by
	// its own worker pool.
	Databases []influxworker.Config `yaml:"databases"`
	// Routes send series to databases by PromQL series selector; the first
	// match wins.
	Routes []mapping.Route `yaml:"routes,omitempty"`
	// DefaultDatabase receives the series no route matched. It may be left
	// out when exactly one database is configured.
	DefaultDatabase string `yaml:"default_database,omitempty"`
	// Limits bound what a single remote-write or remote-read request body
	// may cost.
	Limits remote.Config `yaml:"limits,omitempty"`
	// Read bounds what a remote-read query may cost.
	Read ReadConfig `yaml:"read,omitempty"`
	// Query bounds the PromQL queries of the query API.
	Query promapi.Config `yaml:"query,omitempty"`
	// Write sets how remote writes are answered.
	Write WriteConfig `yaml:"write,omitempty"`
	// Ready sets what GET /-/ready requires.
	Ready ReadyConfig `yaml:"ready,omitempty"`
}

// ReadyConfig sets what GET /-/ready requires of the databases.
type ReadyConfig struct {
	// Require is ReadyAll (the default) or ReadyAny.
	Require string `yaml:"require,omitempty"`
}

// The values of ready.require.
const (
	// ReadyAll: ready when every database answers ping. A replica then
	// takes no traffic while one database is down, writes to the others
	// included; Prometheus queues and retries meanwhile.
	ReadyAll = "all"
	// ReadyAny: ready when at least one database answers ping, for
	// replicas behind a load balancer that should go on taking the writes
	// of the databases that are up (those of a database that is down are
	// answered 503, and retried).
	ReadyAny = "any"
)

// WriteConfig sets how remote writes are answered.
type WriteConfig struct {
	// OverloadStatus answers a write refused as overloaded, by a database's
	// pool or after MaxWait: 503 (the default) or 429. Prometheus retries
	// 429 only with queue_config.retry_on_http_429: true, and otherwise
	// drops the data, so 429 is for senders set up for it.
	OverloadStatus int `yaml:"overload_status,omitempty"`
	// MaxConcurrency is how many remote-write requests are decoded and
	// encoded at once, 0 (the default) meaning twice GOMAXPROCS; others
	// wait for their turn once their body has arrived. The work is bound by
	// the CPU and a decoded request takes several times its body's memory,
	// so more at once gains nothing. The wait for InfluxDB is not counted:
	// the pools bound it.
	MaxConcurrency int `yaml:"max_concurrency,omitempty"`
	// MaxWait is how long a request waits for its turn before it is
	// answered as overloaded (OverloadStatus, with Retry-After), or the
	// sender goes away.
	MaxWait model.Duration `yaml:"max_wait,omitempty"`
}

// DefaultWriteConfig answers overload with 503, which every Prometheus
// retries.
var DefaultWriteConfig = WriteConfig{
	OverloadStatus: http.StatusServiceUnavailable,
	MaxWait:        model.Duration(10 * time.Second),
}

// concurrency is MaxConcurrency with the default applied.
func (c WriteConfig) concurrency() int {
	if c.MaxConcurrency > 0 {
		return c.MaxConcurrency
	}
	return 2 * runtime.GOMAXPROCS(0)
}

// backlogConcurrency is how many requests are decoded and encoded at once
// while more are in flight than concurrency: one core fewer than
// GOMAXPROCS, at least one, and no more than concurrency.
func (c WriteConfig) backlogConcurrency() int {
	return max(1, min(c.concurrency(), runtime.GOMAXPROCS(0)-1))
}

// ReadConfig bounds remote-read queries.
type ReadConfig struct {
	// MaxSamples is the most samples one query of a read request may
	// return, counted as they are read: a SAMPLES answer over it is a 400,
	// a streamed one a 400 until its first frame and broken off after.
	MaxSamples int64 `yaml:"max_samples,omitempty"`
	// Timeout bounds a whole read request, InfluxDB's answers included.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// MaxConcurrency is how many read requests are answered at once; the
	// others wait for their turn within Timeout. A read has up to two
	// requests to a database in flight, so that the default with the
	// default pool (8 workers, 16 waiting) never finds it overloaded.
	MaxConcurrency int `yaml:"max_concurrency,omitempty"`
}

// DefaultReadConfig holds the read defaults. MaxSamples is Prometheus's own
// --storage.remote.read-sample-limit and MaxConcurrency its
// --storage.remote.read-concurrent-limit; Timeout is just under
// Prometheus's default remote_read remote_timeout of 1m, so that promflux
// gives up first and says why.
var DefaultReadConfig = ReadConfig{
	MaxSamples:     5e7,
	Timeout:        model.Duration(55 * time.Second),
	MaxConcurrency: 10,
}

// UnmarshalYAML implements yaml.Unmarshaler: it applies the defaults of every
// section and then validates the whole configuration.
func (c *Config) UnmarshalYAML(unmarshal func(interface{}) error) error {
	type plain Config
	*c = Config{Limits: remote.DefaultConfig, Read: DefaultReadConfig, Query: promapi.DefaultConfig, Write: DefaultWriteConfig, Ready: ReadyConfig{Require: ReadyAll}}
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	return c.Validate()
}

// Validate checks every database (influxworker.Config does not validate
// itself while it is decoded, so that the error can name the entry) and
// the references between sections.
func (c *Config) Validate() error {
	if len(c.Databases) == 0 {
		return errors.New("databases: at least one database is required")
	}
	names := make(map[string]bool, len(c.Databases))
	for i, db := range c.Databases {
		if err := db.Validate(); err != nil {
			if db.Name == "" {
				return fmt.Errorf("databases[%d]: %w", i, err)
			}
			return fmt.Errorf("databases[%d] (name %q): %w", i, db.Name, err)
		}
		if names[db.Name] {
			return fmt.Errorf("databases[%d]: duplicate name %q", i, db.Name)
		}
		names[db.Name] = true
	}
	if c.DefaultDatabase == "" {
		if len(c.Databases) > 1 {
			return errors.New("default_database is required when more than one database is configured")
		}
		c.DefaultDatabase = c.Databases[0].Name
	}
	if !names[c.DefaultDatabase] {
		return fmt.Errorf("default_database: %q is not the name of a configured database", c.DefaultDatabase)
	}
	if s := c.Write.OverloadStatus; s != http.StatusServiceUnavailable && s != http.StatusTooManyRequests {
		return fmt.Errorf("write.overload_status must be 503 or 429, got %d", s)
	}
	if c.Write.MaxConcurrency < 0 {
		return fmt.Errorf("write.max_concurrency must be >= 0, got %d", c.Write.MaxConcurrency)
	}
	if c.Write.MaxWait <= 0 {
		return errors.New("write.max_wait must be > 0")
	}
	if c.Read.MaxSamples <= 0 {
		return errors.New("read.max_samples must be > 0")
	}
	if c.Read.Timeout <= 0 {
		return errors.New("read.timeout must be > 0")
	}
	if c.Read.MaxConcurrency <= 0 {
		return fmt.Errorf("read.max_concurrency must be > 0, got %d", c.Read.MaxConcurrency)
	}
	if err := c.Query.Validate(); err != nil {
		return err
	}
	if r := c.Ready.Require; r != ReadyAll && r != ReadyAny {
		return fmt.Errorf("ready.require must be %q or %q, got %q", ReadyAll, ReadyAny, r)
	}
	for i, r := range c.Routes {
		if !names[r.Database] {
			return fmt.Errorf("routes[%d] (match %q): database %q is not the name of a configured database", i, r.Match, r.Database)
		}
	}
	return nil
}

// LoadConfig parses a configuration document strictly: unknown keys are
// errors, so that a typo never silently falls back to a default.
func LoadConfig(data []byte) (*Config, error) {
	cfg := &Config{}
	if err := yaml.UnmarshalStrict(data, cfg); err != nil {
		return nil, err
	}
	if len(cfg.Databases) == 0 {
		// An empty document never reaches UnmarshalYAML.
		return nil, cfg.Validate()
	}
	return cfg, nil
}

// LoadConfigFile reads and parses the configuration file at path.
func LoadConfigFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config file: %w", err)
	}
	cfg, err := LoadConfig(data)
	if err != nil {
		return nil, fmt.Errorf("invalid config file %s: %w", path, err)
	}
	// Credential and certificate files are named relative to the
	// configuration file, as in Prometheus.
	for i := range cfg.Databases {
		cfg.Databases[i].SetDirectory(filepath.Dir(path))
	}
	return cfg, nil
}

// CheckConfigFile loads the configuration file and builds what it
// describes, without contacting any database: it also finds what only
// building shows, such as an unreadable token_file or CA file.
func CheckConfigFile(path string, logger log.Logger) error {
	cfg, err := LoadConfigFile(path)
	if err != nil {
		return err
	}
	st, err := newState(cfg, path, logger, influxworker.NewMetrics(nil))
	if err != nil {
		return err
	}
	closePools(st.pools)
	return nil
}
