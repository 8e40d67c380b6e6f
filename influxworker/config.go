package influxworker

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// DefaultPoolConfig is the pool used when the `pool` section or one of its
// keys is omitted.
//
//   - Workers 8: enough parallel requests to keep InfluxDB's write path busy
//     (it parses and indexes each body on one goroutine), few enough that a
//     burst of Prometheus shards queues in promflux, where waiting respects
//     the caller's deadline, instead of piling connections onto InfluxDB.
//   - Queue 64: requests waiting for a worker past it fail at once, as
//     overloaded, instead of holding their decoded bodies (a few hundred KiB
//     for a Prometheus request of 2000 samples) in memory: 64 of them are
//     tens of MiB, and a backlog that deep is already seconds of work.
//   - Timeout 10s: well below Prometheus's default remote_timeout of 30s, so
//     that promflux answers 503 (and Prometheus retries) before Prometheus
//     gives up on the request, with room left for waiting on a worker and
//     for re-sending a part after creating a missing database. It equals
//     InfluxDB's own coordinator write-timeout, which answers 500 "timeout".
//   - MaxBodyBytes 4MiB: far below InfluxDB 1.x's default max-body-size of
//     25MB, so a part is never refused with 413 unless an operator lowered
//     that limit a lot, and small enough that one large remote-write request
//     is spread over several workers.
//   - Gzip true: InfluxDB 1.x decompresses write bodies sent with
//     Content-Encoding: gzip (bodies go plain until the server identified
//     as InfluxDB, see PoolConfig.Gzip); line protocol of Prometheus series, which
//     repeats names on every line, shrinks several times at the fastest
//     level, for less CPU than the network and InfluxDB save.
//   - Retry: see DefaultRetryConfig.
var DefaultPoolConfig = PoolConfig{
	Workers:      8,
	Queue:        64,
	Timeout:      model.Duration(10 * time.Second),
	MaxBodyBytes: 4 * units.MiB,
	Gzip:         true,
	Retry:        DefaultRetryConfig,
}

// DefaultRetryConfig is used when `pool.retry` or one of its keys is
// omitted.
//
//   - MaxAttempts 3: two retries ride out what heals within a fraction of a
//     second (a dropped keep-alive connection, a restarting InfluxDB, a 503
//     from a proxy during a failover). A longer outage is better left to
//     Prometheus, which keeps the samples in its WAL and retries with its
//     own backoff, than held here, where it occupies a Prometheus shard.
//   - MinBackoff 50ms: long enough for a refused connection to be followed
//     by a listening server after a fast restart, short enough that the two
//     retries add at most 150ms of waiting.
//   - MaxBackoff 2s: caps the doubling when max_attempts is raised, well
//     below the 10s pool.timeout and Prometheus's 30s remote_timeout.
var DefaultRetryConfig = RetryConfig{
	MaxAttempts: 3,
	MinBackoff:  model.Duration(50 * time.Millisecond),
	MaxBackoff:  model.Duration(2 * time.Second),
}

// DefaultConfig holds the defaults of one `databases:` entry. Name, URL and
// Database have no default and must be set.
var DefaultConfig = Config{
	Pool: DefaultPoolConfig,
}

// Config is one entry of the top-level `databases:` list: how to reach one
// InfluxDB 1.x database.
type Config struct {
	// Name identifies this entry; routes and the `?db=` parameter of the
	// read endpoint refer to it. Errors and metrics carry it as `database`.
	Name string `yaml:"name"`
	// URL is the base URL of the InfluxDB HTTP API, http or https. A path
	// prefix, e.g. behind a reverse proxy, is kept: /write is appended to it.
	URL string `yaml:"url"`
	// Database is the InfluxDB database written to and queried.
	Database string `yaml:"database"`
	// RetentionPolicy is sent as `rp` with writes; empty means the database's
	// default retention policy.
	RetentionPolicy string `yaml:"retention_policy,omitempty"`
	// Username and Password are sent with HTTP basic authentication when
	// Username is set.
	Username string        `yaml:"username,omitempty"`
	Password config.Secret `yaml:"password,omitempty"`
	// CreateDatabase makes the pool create Database when InfluxDB reports it
	// missing on a write, and asks the caller to run EnsureDatabase at start.
	CreateDatabase bool `yaml:"create_database,omitempty"`
	// Pool bounds and times the HTTP requests to this database.
	Pool PoolConfig `yaml:"pool,omitempty"`
}

// PoolConfig bounds and times the HTTP requests of one Pool.
type PoolConfig struct {
	// Workers is the maximum number of concurrent HTTP requests to the
	// database; further requests wait for a free worker.
	Workers int `yaml:"workers,omitempty"`
	// Queue is how many requests may wait for a worker; past it a request
	// fails at once with ErrOverloaded, so that an overload sheds load
	// instead of growing memory.
	Queue int `yaml:"queue,omitempty"`
	// Timeout bounds each HTTP request, from sending it to reading the whole
	// answer.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// MaxBodyBytes is the largest body of one write request: a Write is split
	// at line boundaries into parts of at most this size. It must stay below
	// InfluxDB's max-body-size (25MB by default), which refuses larger bodies
	// with 413.
	MaxBodyBytes units.Base2Bytes `yaml:"max_body_bytes,omitempty"`
	// Gzip compresses write bodies and sends them with Content-Encoding:
	// gzip, which InfluxDB 1.x accepts, once an answer of the server (to a
	// ping, query or write) carried InfluxDB's X-Influxdb-Version header:
	// until then, and for servers that never identify as InfluxDB, bodies
	// are sent plain, so that nothing is sent that the server may not read.
	// No omitempty: false must survive marshalling, since the default is
	// true.
	Gzip bool `yaml:"gzip"`
	// Retry repeats requests that failed for a reason that may heal within
	// the caller's deadline.
	Retry RetryConfig `yaml:"retry,omitempty"`
}

// RetryConfig controls how a Pool repeats a failed request. Only failures
// that may heal quickly are retried: 5xx answers, attempts that ran into
// pool.timeout and connection errors (refused, reset). 4xx answers are never
// retried: a rejected write stays rejected, and 401, 403 and 404 (database
// not found) are configuration problems that do not heal in milliseconds.
// Streamed queries are not retried, since their callback has seen rows.
//
// Before retry n (1-based) the pool waits a random duration between 0 and
// min(MaxBackoff, MinBackoff*2^(n-1)) ("full jitter", so that many writers
// failing together do not come back together). It never waits past the
// caller's deadline: when the wait would end after it, or when the caller
// gave up, the last error is returned. Each attempt has its own
// pool.timeout and waits for a free worker again.
type RetryConfig struct {
	// MaxAttempts is the number of attempts including the first; 1
	// disables retries.
	MaxAttempts int `yaml:"max_attempts,omitempty"`
	// MinBackoff is the upper bound of the wait before the first retry.
	MinBackoff model.Duration `yaml:"min_backoff,omitempty"`
	// MaxBackoff caps the upper bound of the wait, which doubles with
	// every retry.
	MaxBackoff model.Duration `yaml:"max_backoff,omitempty"`
}

// UnmarshalYAML applies DefaultConfig to the keys that are omitted. It does
// not validate, so that the caller can report Validate's error with the
// entry's position.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig
	type plain Config
	return unmarshal((*plain)(c))
}

// UnmarshalYAML applies DefaultPoolConfig to the keys that are omitted.
func (c *PoolConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultPoolConfig
	type plain PoolConfig
	return unmarshal((*plain)(c))
}

// Validate reports the first invalid key, named as in the YAML file.
func (c *Config) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("name is required")
	case c.URL == "":
		return errors.New("url is required")
	case c.Database == "":
		return errors.New("database is required")
	case c.Password != "" && c.Username == "":
		return errors.New("password requires username")
	}
	if _, err := parseBaseURL(c.URL); err != nil {
		return err
	}
	return c.Pool.Validate()
}

// UnmarshalYAML applies DefaultRetryConfig to the keys that are omitted.
func (c *RetryConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultRetryConfig
	type plain RetryConfig
	return unmarshal((*plain)(c))
}

// Validate reports the first invalid key, named as in the YAML file.
func (c *PoolConfig) Validate() error {
	switch {
	case c.Workers <= 0:
		return fmt.Errorf("pool.workers must be > 0, got %d", c.Workers)
	case c.Queue < 0:
		return fmt.Errorf("pool.queue must be >= 0, got %d", c.Queue)
	case c.Timeout <= 0:
		return fmt.Errorf("pool.timeout must be > 0, got %s", c.Timeout)
	case c.MaxBodyBytes <= 0:
		return fmt.Errorf("pool.max_body_bytes must be > 0, got %d", c.MaxBodyBytes)
	}
	return c.Retry.Validate()
}

// Validate reports the first invalid key, named as in the YAML file.
func (c *RetryConfig) Validate() error {
	switch {
	case c.MaxAttempts < 1:
		return fmt.Errorf("pool.retry.max_attempts must be >= 1, got %d", c.MaxAttempts)
	case c.MinBackoff <= 0:
		return fmt.Errorf("pool.retry.min_backoff must be > 0, got %s", c.MinBackoff)
	case c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("pool.retry.max_backoff must be >= pool.retry.min_backoff %s, got %s", c.MinBackoff, c.MaxBackoff)
	}
	return nil
}

// parseBaseURL checks the url key. Credentials in the URL are refused because
// they would be printed with every connection error; the password key is a
// Secret that is not.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL; the key and the cause are enough.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("url %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("url %q: scheme must be http or https", raw)
	case u.Host == "":
		return nil, fmt.Errorf("url %q: host is required", raw)
	case u.User != nil:
		return nil, fmt.Errorf("url %q: must not contain credentials, use username and password", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("url %q: must not have a query or fragment", raw)
	}
	return u, nil
}
