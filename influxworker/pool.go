package influxworker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
)

const (
	// dialTimeout bounds connecting apart from pool.timeout, so that an
	// unreachable host fails fast.
	dialTimeout = 5 * time.Second
	// idleConnTimeout closes pooled connections that were not reused; a
	// load balancer in front of InfluxDB may drop them silently earlier.
	idleConnTimeout = 90 * time.Second
	// maxErrorBodyBytes is how much of an error answer is read for its
	// message; the rest is discarded.
	maxErrorBodyBytes = 64 << 10
	// maxDrainBytes is how much of an unread body is drained so that the
	// connection can be reused; a longer one closes the connection instead.
	maxDrainBytes = 256 << 10
	// versionHeader is set by InfluxDB (1.x and the 1.x API of 2.x) on
	// every answer, whatever the status.
	versionHeader = "X-Influxdb-Version"
)

// Pool sends the requests for one configured InfluxDB database. It reuses
// connections and has at most pool.workers requests in flight, pings
// aside. A Pool is safe for concurrent use.
type Pool struct {
	cfg     Config
	logger  log.Logger
	metrics *poolMetrics
	client  *http.Client
	// udp sends the writes of transport: udp; nil with http.
	udp *udpSender
	// workers holds one token per request in flight.
	workers chan struct{}
	// waiting counts the requests waiting for a worker, bounded by
	// pool.queue.
	waiting atomic.Int64
	timeout time.Duration
	// authorization is the Authorization header of the top-level
	// credentials (Token or Basic), empty without any.
	authorization string
	// chunkSize is the chunk_size of QueryStream, streamChunkSize but in
	// tests.
	chunkSize int
	// jitter picks the wait before a retry below a ceiling: the package's
	// jitter but in tests.
	jitter func(time.Duration) time.Duration
	// isInflux is set once an answer carried X-Influxdb-Version, from when
	// writes are compressed if gzip is set.
	isInflux atomic.Bool
	// gzip is pool.gzip resolved for the URL.
	gzip bool
	// version is the last X-Influxdb-Version the server sent, nil before.
	version atomic.Pointer[string]
	// health is the outcome of the last recorded ping (healthUp, ...), and
	// downSince when it turned down, in Unix nanoseconds: see logHealth.
	health, downSince atomic.Int64
	// noPromRead is set once /api/v1/prom/read answered 404.
	noPromRead atomic.Bool
	// batches coalesces the lines of concurrent Writes, see batch.go.
	batches batcher

	pingURL, queryURL, writeURL, promReadURL string
}

// New returns a Pool for cfg after validating it. It does no network I/O, so
// it succeeds while InfluxDB is down. logger may be nil. m is shared by all
// pools; when nil, the pool records into unregistered metrics.
func New(cfg Config, logger log.Logger, m *Metrics) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid influxdb config %q: %w", cfg.Name, err)
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	p := &Pool{
		cfg:       cfg,
		logger:    log.With(logger, "component", "influxworker", "database", cfg.Name),
		workers:   make(chan struct{}, cfg.Pool.Workers),
		timeout:   time.Duration(cfg.Pool.Timeout),
		chunkSize: streamChunkSize,
		jitter:    jitter,
	}
	if err := p.connect(); err != nil {
		return nil, fmt.Errorf("influxdb %q: %w", cfg.Name, err)
	}
	p.gzip = gzipFor(cfg.Pool.Gzip, cfg.URL)
	// Only now: a pool that cannot be built must not export series.
	p.metrics = m.forPool(cfg.Name)
	if p.udp != nil {
		p.udp.datagrams = m.udpDatagrams.WithLabelValues(cfg.Name)
	}
	return p, nil
}

// Gzip reports whether write bodies are compressed once the server
// identified as InfluxDB: pool.gzip resolved for the URL, see
// PoolConfig.Gzip.
func (p *Pool) Gzip() bool { return p.gzip }

// gzipFor resolves pool.gzip for the database at rawURL: unset, it is off
// for a loopback host only (see PoolConfig.Gzip).
func gzipFor(set *bool, rawURL string) bool {
	if set != nil {
		return *set
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return true
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// Close closes the idle connections (the socket with transport: udp).
// Requests in flight finish normally; call it once a configuration reload
// has replaced the pool.
func (p *Pool) Close() {
	if p.udp != nil {
		p.udp.close()
		return
	}
	p.client.CloseIdleConnections()
}

// request is one HTTP request to InfluxDB.
type request struct {
	op          string
	method      string
	url         string
	body        []byte
	contentType string
	// contentEncoding is the Content-Encoding of body, e.g. gzip.
	contentEncoding string
	// singleLine marks a write body of one line, for which 413 means the
	// line itself is too large.
	singleLine bool
	// stream marks a read whose duration grows with the size of its result:
	// pool.timeout does not apply, only the caller's context bounds it.
	stream bool
	// timeout replaces pool.timeout when not 0.
	timeout time.Duration
	// worker tells how r relates to the pool.workers bound.
	worker workerUse
}

// workerUse tells do whether a request takes a worker.
type workerUse int

const (
	// takeWorker: do takes a worker for the request, waiting in the queue.
	takeWorker workerUse = iota
	// holdsWorker: the caller took a worker already, e.g. the sender of a
	// write batch, which keeps it through its retries.
	holdsWorker
	// noWorker: the request bypasses the bound, so that a ping is not
	// delayed by the writes that keep every worker busy.
	noWorker
)

// limit names the time bound of r for error messages.
func (p *Pool) limit(r request) string {
	if r.timeout != 0 {
		return r.timeout.String()
	}
	return "pool.timeout " + p.timeout.String()
}

// releaseWorker gives back a worker taken by acquire or by the batch
// dispatcher: to the next write batch (handOff), else to the channel, where
// a query waiting in acquire or a batch that becomes sendable takes it.
func (p *Pool) releaseWorker() {
	if p.batches.waiting.Load() > 0 && p.handOff() {
		return
	}
	p.metrics.inflight.Dec()
	<-p.workers
	if p.batches.waiting.Load() > 0 {
		p.batches.mu.Lock()
		p.dispatchLocked()
		p.batches.mu.Unlock()
	}
}

// acquire takes a worker, waiting for one within ctx unless pool.queue
// requests are already waiting: then it fails at once with ErrOverloaded.
func (p *Pool) acquire(ctx context.Context, op string) error {
	select {
	case p.workers <- struct{}{}:
		return nil
	default:
	}
	if n := p.waiting.Add(1); n > int64(p.cfg.Pool.Queue) {
		p.waiting.Add(-1)
		return &Error{
			Op: op, Name: p.cfg.Name, Err: ErrOverloaded,
			Message: fmt.Sprintf("overloaded: %d requests already wait for the %d workers (pool.queue)", p.cfg.Pool.Queue, cap(p.workers)),
		}
	}
	p.metrics.queued.Inc()
	defer func() {
		p.waiting.Add(-1)
		p.metrics.queued.Dec()
	}()
	select {
	case p.workers <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &Error{
			Op: op, Name: p.cfg.Name, Err: ctx.Err(),
			Message: fmt.Sprintf("no free worker among %d: %v", cap(p.workers), ctx.Err()),
		}
	}
}

// do sends r, holding a worker unless r.worker says otherwise, within
// pool.timeout unless r.stream or r.timeout say otherwise, and calls read
// with the body of a 2xx answer. Every error is an *Error; one returned by
// read is returned as it is.
func (p *Pool) do(ctx context.Context, r request, read func(io.Reader) error) error {
	if p.udp != nil {
		return p.udpRequest(r.op)
	}
	if r.worker == takeWorker {
		if err := p.acquire(ctx, r.op); err != nil {
			return err
		}
		p.metrics.inflight.Inc()
		defer p.releaseWorker()
	}

	var reqCtx context.Context
	var cancel context.CancelFunc
	switch {
	case r.stream:
		reqCtx, cancel = context.WithCancel(ctx)
	case r.timeout != 0:
		reqCtx, cancel = context.WithTimeout(ctx, r.timeout)
	default:
		reqCtx, cancel = context.WithTimeout(ctx, p.timeout)
	}
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, r.method, r.url, nil)
	if err != nil {
		return &Error{Op: r.op, Name: p.cfg.Name, Err: err, Message: err.Error()}
	}
	if r.body != nil {
		rb := &requestBody{b: r.body}
		defer rb.release()
		req.Body, req.ContentLength = rb.reader(), int64(len(r.body))
		req.GetBody = func() (io.ReadCloser, error) { return rb.reader(), nil }
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.contentEncoding != "" {
		req.Header.Set("Content-Encoding", r.contentEncoding)
	}
	if p.authorization != "" {
		req.Header.Set("Authorization", p.authorization)
	}

	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		p.metrics.observe(r.op, 0, time.Since(start).Seconds())
		return p.transportError(ctx, reqCtx, r, err)
	}
	defer drainClose(resp.Body)
	if v := resp.Header.Get(versionHeader); v != "" {
		if old := p.version.Load(); old == nil || *old != v {
			p.version.Store(&v)
		}
		if !p.isInflux.Load() {
			p.isInflux.Store(true)
		}
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := p.statusError(r, resp)
		p.metrics.observe(r.op, resp.StatusCode, time.Since(start).Seconds())
		return e
	}
	if read != nil {
		err = read(resp.Body)
	}
	p.metrics.observe(r.op, resp.StatusCode, time.Since(start).Seconds())
	if err == nil {
		return nil
	}
	e := p.readError(ctx, reqCtx, r, resp.StatusCode, err)
	// read stopped early: drainClose must not wait for a long or stalled rest.
	cancel()
	return e
}

// readError describes a 2xx answer whose body read failed.
func (p *Pool) readError(ctx, reqCtx context.Context, r request, code int, err error) *Error {
	if reqCtx.Err() != nil {
		return p.transportError(ctx, reqCtx, r, err)
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Op: r.op, Name: p.cfg.Name, StatusCode: code, Err: err, Message: message(err.Error())}
}

// transportError describes a request that got no (complete) answer. When a
// context ended, Err is the context's error, so that errors.Is finds
// context.DeadlineExceeded or context.Canceled whatever the transport wrapped.
func (p *Pool) transportError(ctx, reqCtx context.Context, r request, err error) *Error {
	e := &Error{Op: r.op, Name: p.cfg.Name, Err: err, Message: message(err.Error())}
	switch {
	case ctx.Err() != nil:
		e.Err = ctx.Err()
	case reqCtx.Err() != nil:
		e.Err = reqCtx.Err()
		e.Message = fmt.Sprintf("no answer within %s: %s", p.limit(r), e.Message)
	}
	return e
}

// statusError describes a non-2xx answer, taking InfluxDB's reason from the
// JSON body: {"error": "..."} of 1.x, {"code": "invalid", "message": "..."}
// of the 2.x API; else the X-Influxdb-Error header, else the body text (e.g.
// a proxy's error page).
func (p *Pool) statusError(r request, resp *http.Response) *Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	var msg string
	var body struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &body) == nil && body.Error+body.Message != "" {
		msg = cmp.Or(body.Error, body.Message)
	} else if h := resp.Header.Get("X-Influxdb-Error"); h != "" {
		msg = h
	} else {
		msg = string(b)
	}
	e := &Error{Op: r.op, Name: p.cfg.Name, StatusCode: resp.StatusCode, Message: message(msg)}
	switch resp.StatusCode {
	case http.StatusBadRequest:
		// A missing database or retention policy is a configuration problem
		// whatever status a proxy or version maps it to.
		e.Permanent = !isDatabaseNotFound(e) && !isRetentionPolicyNotFound(e)
	case http.StatusUnprocessableEntity:
		// The 2.x API's answer to points it parsed but cannot store, e.g.
		// beyond the bucket's retention: 1.x's partial write.
		e.Permanent = true
	case http.StatusRequestEntityTooLarge:
		if r.singleLine {
			e.Permanent = true
		} else {
			e.Message += " (pool.max_body_bytes is above InfluxDB's max-body-size)"
		}
	}
	return e
}

// drainClose reads a bounded rest of body, so that the connection goes back
// to the pool, and closes it.
func drainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxDrainBytes))
	_ = body.Close()
}
