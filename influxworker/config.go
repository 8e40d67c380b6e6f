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
//   - Workers 8: enough to keep InfluxDB's write path busy (it indexes a
//     body on one goroutine), few enough that a burst of Prometheus shards
//     queues in promflux, within its deadline, not as connections to InfluxDB.
//   - Queue 16: with the workers, at most 24 batches of 1MiB in memory
//     before writes fail as overloaded; 16 batches of 10000 points are
//     already a second or more of InfluxDB's work.
//   - Timeout 10s: InfluxDB's own coordinator write-timeout, well below
//     Prometheus's 30s remote_timeout, so that promflux answers 503 before
//     Prometheus gives up.
//   - MaxBodyBytes 4MiB: far below InfluxDB 1.x's 25MB max-body-size.
//   - Gzip nil: on unless the host is loopback, see PoolConfig.Gzip.
var DefaultPoolConfig = PoolConfig{
	Workers:      8,
	Queue:        16,
	Timeout:      model.Duration(10 * time.Second),
	MaxBodyBytes: 4 * units.MiB,
	Batch:        DefaultBatchConfig,
	Retry:        DefaultRetryConfig,
}

// DefaultBatchConfig is used when `pool.batch` or one of its keys is
// omitted.
//
//   - MaxPoints 10000: the top of the 5000 to 10000 points per request
//     InfluxDB recommends; its cost per request (HTTP, authentication, a
//     WAL fsync) vanishes, and a body still takes milliseconds to index.
//   - MaxBytes 1MiB: 10000 lines of a typical 100-byte series, so that
//     points usually cut a batch; with workers and queue it sets the
//     memory bound, (workers + queue) x 1MiB.
//   - Linger 0: a batch leaves as soon as a worker is free; under load the
//     open batch fills while every worker is busy. Prometheus's shards wait
//     for each answer, so a linger slows them: against influxd on 2 cores,
//     2ms cost a quarter of the throughput of two shards and gained nothing
//     at eight. It may pay off for many senders of small requests.
var DefaultBatchConfig = BatchConfig{
	MaxPoints: 10000,
	MaxBytes:  units.MiB,
	Linger:    0,
}

// DefaultRetryConfig is used when `pool.retry` or one of its keys is
// omitted.
//
//   - MaxAttempts 3: two retries ride out what heals within a fraction of a
//     second (a dropped keep-alive connection, a fast restart, a proxy's
//     503 in a failover). Longer outages are left to Prometheus, which
//     keeps the samples in its WAL, rather than held here occupying a shard.
//   - MinBackoff 50ms: the two retries wait at most 150ms in all.
//   - MaxBackoff 2s: caps the doubling when max_attempts is raised.
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

// The values of Config.API.
const (
	// APIv1 is InfluxDB 1.x's HTTP API: POST /write?db=&rp=, GET and POST
	// /query?db=.
	APIv1 = "v1"
	// APIv2 is the API of InfluxDB 2.x, Cloud and 3.x: writes go to POST
	// /api/v2/write?org=&bucket=&precision=ms, queries to the 1.x-compatible
	// /query?db=, which InfluxDB 2.x answers through the DBRP mapping of
	// the database (create it with `influx v1 dbrp create`).
	APIv2 = "v2"
)

// The values of Config.ReadEndpoint.
const (
	// ReadAuto uses ReadPromRead where the server said it is InfluxDB 1.5
	// to 1.x, whose /api/v1/prom/read reads the storage engine directly,
	// and ReadQuery elsewhere (2.x, 3.x and other servers lack it).
	ReadAuto = "auto"
	// ReadQuery reads every sample with InfluxQL through /query.
	ReadQuery = "query"
	// ReadPromRead reads float samples through InfluxDB 1.x's own
	// /api/v1/prom/read, and the rest through /query.
	ReadPromRead = "prom_read"
)

// The values of Config.Transport.
const (
	// TransportHTTP sends every request over HTTP(S); the default.
	TransportHTTP = "http"
	// TransportUDP sends writes as datagrams to an InfluxDB 1.x [[udp]]
	// listener: fire-and-forget and lossy, see Config.Transport.
	TransportUDP = "udp"
)

const (
	// DefaultUDPPayloadBytes is the default udp_payload_bytes: a 1500-byte
	// MTU less the IPv6 and UDP headers (48 bytes) and room for tunnels, so
	// that no datagram is fragmented (one lost fragment loses it all).
	DefaultUDPPayloadBytes = 1400
	// MaxUDPPayloadBytes is the largest UDP payload over IPv4, hence the
	// longest line transport: udp can send.
	MaxUDPPayloadBytes = 65507
)

// Config is one entry of the top-level `databases:` list: how to reach one
// InfluxDB database (1.x, or 2.x, Cloud and 3.x with api: v2).
//
// Secrets: password and token may hold ${NAME}, replaced by the environment
// variable NAME when the YAML is decoded ($$ is a literal $; an unset
// variable or any other $ is an error). password_file and token_file are
// read by New, so that a reload picks up rotated credentials. Secrets
// marshal as <secret> and never appear in errors, logs or metrics.
type Config struct {
	// Name identifies this entry to routes and to the `?db=` parameter. It
	// is Error.Name, and the `database` label of logs and metrics.
	Name string `yaml:"name"`
	// URL is the base URL of the InfluxDB HTTP API, http or https, a path
	// prefix included (/write is appended to it); with transport: udp, the
	// listener's udp://host:port.
	URL string `yaml:"url"`
	// API is the HTTP API used for writes: "v1" (the default) or "v2".
	// Queries use the 1.x API /query with both, see APIv2.
	API string `yaml:"api,omitempty"`
	// Database is the InfluxDB database written to and queried. With api:
	// v2 it is the db of /query (mapped to a bucket by a DBRP mapping) and
	// the default of Bucket. With transport: udp it is optional and not
	// sent: the listener's own configuration chooses the database.
	Database string `yaml:"database"`
	// RetentionPolicy is sent as `rp` with writes; empty means the database's
	// default retention policy. Refused with api: v2, where the bucket holds
	// the retention, and with transport: udp, where the listener chooses it.
	RetentionPolicy string `yaml:"retention_policy,omitempty"`
	// Org is the organization (name or ID) of api: v2 writes; required
	// there.
	Org string `yaml:"org,omitempty"`
	// Bucket is the bucket of api: v2 writes; empty means Database.
	Bucket string `yaml:"bucket,omitempty"`
	// Username and Password are sent with HTTP basic authentication when
	// Username is set (api: v1 only). PasswordFile names a file holding the
	// password instead, surrounding whitespace trimmed.
	Username     string        `yaml:"username,omitempty"`
	Password     config.Secret `yaml:"password,omitempty"`
	PasswordFile string        `yaml:"password_file,omitempty"`
	// Token is sent as `Authorization: Token <token>` with both APIs
	// (InfluxDB 1.8+ takes username:password as a token). TokenFile names a
	// file holding the token instead, surrounding whitespace trimmed.
	Token     config.Secret `yaml:"token,omitempty"`
	TokenFile string        `yaml:"token_file,omitempty"`
	// HTTPClientConfig sets TLS, a proxy (none from the environment unless
	// proxy_from_environment), redirects, HTTP/2 and the other
	// authentications, as in prometheus/common. Its basic_auth,
	// authorization and oauth2 exclude username, password and token: both
	// set the Authorization header.
	HTTPClientConfig *config.HTTPClientConfig `yaml:"http_client_config,omitempty"`
	// CreateDatabase makes the pool create Database when InfluxDB reports it
	// missing on a write, and asks the caller to run EnsureDatabase at start.
	// api: v1 only: InfluxDB 2.x creates buckets through its own API.
	CreateDatabase bool `yaml:"create_database,omitempty"`
	// Transport is "http" (the default) or "udp": writes go in datagrams of
	// at most UDPPayloadBytes to the InfluxDB 1.x [[udp]] listener at URL.
	// UDP is fire-and-forget: Write returns once the kernel has the
	// datagrams, and a full socket buffer or a line InfluxDB cannot parse
	// loses points silently. The pool is write-only (Pool.WriteOnly), the
	// pool section must keep its defaults, and timestamps are sent in
	// nanoseconds, the listener's default precision.
	Transport string `yaml:"transport,omitempty"`
	// UDPPayloadBytes is the largest datagram of transport: udp, 0 meaning
	// DefaultUDPPayloadBytes. Lines are never split: a line longer than it
	// is sent in a datagram of its own, up to MaxUDPPayloadBytes.
	UDPPayloadBytes int `yaml:"udp_payload_bytes,omitempty"`
	// ReadEndpoint chooses how samples are read: ReadAuto (the default,
	// ""), ReadQuery or ReadPromRead; see Pool.PromReadable.
	ReadEndpoint string `yaml:"read_endpoint,omitempty"`
	// Pool bounds and times the HTTP requests to this database.
	Pool PoolConfig `yaml:"pool,omitempty"`
}

// PoolConfig bounds and times the HTTP requests of one Pool.
type PoolConfig struct {
	// Workers is the maximum number of concurrent HTTP requests to the
	// database; further requests wait for a free worker.
	Workers int `yaml:"workers,omitempty"`
	// Queue is how many write batches may wait for a worker: at most
	// workers+queue batches (sent, waiting or filling) are in memory, and a
	// Write that needs another fails at once with ErrOverloaded rather than
	// grow memory. It separately bounds the queries waiting for a worker.
	Queue int `yaml:"queue,omitempty"`
	// Timeout bounds each HTTP request, reading its whole answer included.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// MaxBodyBytes is the largest write body before gzip; keep it below
	// InfluxDB's max-body-size (25MB by default), past which InfluxDB
	// answers 413. Batches are cut at the smaller of it and batch.max_bytes.
	MaxBodyBytes units.Base2Bytes `yaml:"max_body_bytes,omitempty"`
	// Gzip compresses write bodies (Content-Encoding: gzip, which InfluxDB
	// 1.x reads) once an answer of the server carried X-Influxdb-Version;
	// until then, and to servers that never identify as InfluxDB, bodies go
	// plain. true or false force it. Unset, it is on unless the URL's host
	// is loopback (localhost, 127.0.0.0/8, ::1): line protocol of
	// Prometheus series repeats names on every line and shrinks about 16
	// times at gzipLevel, which saves more network and InfluxDB work than
	// it costs; on one machine there is no network to save, and compressing
	// and decompressing (about 0.8µs a sample in all) take CPU from the
	// cores both processes share.
	Gzip *bool `yaml:"gzip,omitempty"`
	// Batch coalesces the lines of concurrent writes.
	Batch BatchConfig `yaml:"batch,omitempty"`
	// Retry repeats requests that may succeed within the caller's deadline.
	Retry RetryConfig `yaml:"retry,omitempty"`
}

// BatchConfig controls how a Pool coalesces the lines of concurrent Writes
// into batches, each sent as one write request: a batch is cut at MaxPoints
// lines or MaxBytes, and one not full is sent once it waited Linger and a
// worker is free.
type BatchConfig struct {
	// MaxPoints is the largest number of lines of one write request.
	MaxPoints int `yaml:"max_points,omitempty"`
	// MaxBytes is the largest body of one write request before gzip,
	// capped at pool.max_body_bytes. A single line longer than it is sent
	// alone.
	MaxBytes units.Base2Bytes `yaml:"max_bytes,omitempty"`
	// Linger is how long a batch that is not full waits for more lines
	// before it is sent; 0 sends it as soon as a worker is free. It is
	// marshalled even when 0.
	Linger model.Duration `yaml:"linger"`
}

// RetryConfig controls how a Pool repeats a failed request. Only failures
// that may heal quickly are retried: 5xx answers, attempts that ran into
// pool.timeout and connection errors. 4xx answers never are (a rejected
// write stays rejected; 401, 403 and 404 are configuration problems), nor
// ErrOverloaded, pings or streamed reads (QueryStream, PromRead).
//
// Before retry n (from 1) the pool waits a random duration up to
// min(MaxBackoff, MinBackoff*2^(n-1)) (full jitter, so that writers failing
// together do not return together), never past the caller's deadline: then
// it returns the last error. Each attempt has its own pool.timeout; a query
// waits for a worker again, a write batch keeps its worker.
type RetryConfig struct {
	// MaxAttempts is the number of attempts including the first; 1
	// disables retries.
	MaxAttempts int `yaml:"max_attempts,omitempty"`
	// MinBackoff is the upper bound of the wait before the first retry.
	MinBackoff model.Duration `yaml:"min_backoff,omitempty"`
	// MaxBackoff caps that bound, which doubles with every retry.
	MaxBackoff model.Duration `yaml:"max_backoff,omitempty"`
}

// UnmarshalYAML applies DefaultConfig to the keys that are omitted and
// expands ${NAME} in password and token. It does not validate, so that the
// caller can name the entry in Validate's error.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig
	type plain Config
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if err := c.expandSecrets(); err != nil {
		// Before Validate, so the caller has not named the entry yet.
		return fmt.Errorf("database %q: %w", c.Name, err)
	}
	return nil
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
	}
	switch c.Transport {
	case "", TransportHTTP:
		if err := c.validateHTTP(); err != nil {
			return err
		}
	case TransportUDP:
		if err := c.validateUDP(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("transport must be %q or %q, got %q", TransportHTTP, TransportUDP, c.Transport)
	}
	return c.Pool.Validate()
}

// validateHTTP checks the keys of transport: http.
func (c *Config) validateHTTP() error {
	hasToken := c.Token != "" || c.TokenFile != ""
	switch {
	case c.Database == "":
		return errors.New("database is required")
	case c.API != "" && c.API != APIv1 && c.API != APIv2:
		return fmt.Errorf("api must be %q or %q, got %q", APIv1, APIv2, c.API)
	case c.UDPPayloadBytes != 0:
		return errors.New("udp_payload_bytes requires transport: udp")
	case c.ReadEndpoint != "" && c.ReadEndpoint != ReadAuto && c.ReadEndpoint != ReadQuery && c.ReadEndpoint != ReadPromRead:
		return fmt.Errorf("read_endpoint must be %q, %q or %q, got %q", ReadAuto, ReadQuery, ReadPromRead, c.ReadEndpoint)
	case c.ReadEndpoint == ReadPromRead && c.API == APIv2:
		return errors.New("read_endpoint: prom_read requires api: v1 (InfluxDB 1.x)")
	case c.Password != "" && c.PasswordFile != "":
		return errors.New("password and password_file are mutually exclusive")
	case c.Token != "" && c.TokenFile != "":
		return errors.New("token and token_file are mutually exclusive")
	case (c.Password != "" || c.PasswordFile != "") && c.Username == "":
		return errors.New("password requires username")
	case hasToken && c.Username != "":
		return errors.New("token and username are mutually exclusive: both set the Authorization header")
	}
	if c.API == APIv2 {
		switch {
		case c.Org == "":
			return errors.New("org is required with api: v2")
		case c.RetentionPolicy != "":
			return errors.New("retention_policy is not supported with api: v2: write to the bucket that has the retention, see bucket")
		case c.Username != "":
			return errors.New("username is not supported with api: v2: use token or token_file")
		case c.CreateDatabase:
			return errors.New("create_database is not supported with api: v2: create the bucket and its DBRP mapping in InfluxDB")
		}
	} else {
		switch {
		case c.Org != "":
			return errors.New("org requires api: v2")
		case c.Bucket != "":
			return errors.New("bucket requires api: v2")
		}
	}
	if hc := c.HTTPClientConfig; hc != nil {
		if err := hc.Validate(); err != nil {
			return fmt.Errorf("http_client_config: %w", err)
		}
		if (hasToken || c.Username != "") && (hc.BasicAuth != nil || hc.Authorization != nil || hc.OAuth2 != nil) {
			return errors.New("username, password and token are mutually exclusive with http_client_config.basic_auth, authorization and oauth2: both set the Authorization header")
		}
	}
	_, err := parseBaseURL(c.URL)
	return err
}

// validateUDP checks the keys of transport: udp, refusing those that would
// not be used rather than ignoring them.
func (c *Config) validateUDP() error {
	const udp = " is not supported with transport: udp"
	switch {
	case c.API != "":
		return errors.New("api" + udp)
	case c.Org != "" || c.Bucket != "":
		return errors.New("org and bucket are not supported with transport: udp")
	case c.RetentionPolicy != "":
		return errors.New("retention_policy" + udp + ": the listener's retention-policy setting chooses it")
	case c.Username != "" || c.Password != "" || c.PasswordFile != "" || c.Token != "" || c.TokenFile != "":
		return errors.New("credentials are not supported with transport: udp: the listener does not authenticate")
	case c.HTTPClientConfig != nil:
		return errors.New("http_client_config" + udp)
	case c.ReadEndpoint != "":
		return errors.New("read_endpoint" + udp + ": the listener cannot be read")
	case c.CreateDatabase:
		return errors.New("create_database" + udp + ": the listener creates its database")
	case c.Pool != DefaultPoolConfig:
		return errors.New("pool" + udp + ": datagrams are sent as they come, without workers, queue or batches")
	case c.UDPPayloadBytes < 0 || c.UDPPayloadBytes > MaxUDPPayloadBytes:
		return fmt.Errorf("udp_payload_bytes must be between 1 and %d (0 for the default %d), got %d", MaxUDPPayloadBytes, DefaultUDPPayloadBytes, c.UDPPayloadBytes)
	}
	_, err := parseUDPAddress(c.URL)
	return err
}

// SetDirectory joins the relative file paths of c (password_file,
// token_file and those of http_client_config) with dir, the directory of
// the configuration file.
func (c *Config) SetDirectory(dir string) {
	c.PasswordFile = config.JoinDir(dir, c.PasswordFile)
	c.TokenFile = config.JoinDir(dir, c.TokenFile)
	c.HTTPClientConfig.SetDirectory(dir)
}

// UnmarshalYAML applies DefaultBatchConfig to the keys that are omitted.
func (c *BatchConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultBatchConfig
	type plain BatchConfig
	return unmarshal((*plain)(c))
}

// Validate reports the first invalid key, named as in the YAML file.
func (c *BatchConfig) Validate() error {
	switch {
	case c.MaxPoints <= 0:
		return fmt.Errorf("pool.batch.max_points must be > 0, got %d", c.MaxPoints)
	case c.MaxBytes <= 0:
		return fmt.Errorf("pool.batch.max_bytes must be > 0, got %d", c.MaxBytes)
	case c.Linger < 0:
		return fmt.Errorf("pool.batch.linger must be >= 0, got %s", c.Linger)
	}
	return nil
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
	if err := c.Batch.Validate(); err != nil {
		return err
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
	u, err := parseURL(raw)
	if err != nil {
		return nil, err
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("url %q: scheme must be http or https", raw)
	case u.Host == "":
		return nil, fmt.Errorf("url %q: host is required", raw)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("url %q: must not have a query or fragment", raw)
	}
	return u, nil
}

// parseURL parses the url key and refuses credentials in it, before any
// message quotes the URL: a message about a url that failed to parse names
// only the cause, one about credentials the URL without the password.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, which may hold a password.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("url: %w", err)
	}
	if u.User != nil {
		return nil, fmt.Errorf("url %q: must not contain credentials, use username and password, token, or http_client_config", u.Redacted())
	}
	return u, nil
}
