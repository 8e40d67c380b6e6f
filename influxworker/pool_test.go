package influxworker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
)

// newTestPool returns a pool named "test" for database "db" at url.
func newTestPool(t *testing.T, url string, m *Metrics, mutate func(*Config)) *Pool {
	t.Helper()
	cfg := DefaultConfig
	cfg.Name, cfg.URL, cfg.Database = "test", url, "db"
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := New(cfg, nil, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestStatusClassification(t *testing.T) {
	const line = "m v=1 1\n"
	for _, tc := range []struct {
		name      string
		code      int
		header    string
		body      string
		lines     string
		permanent bool
		wantErr   string
	}{
		{
			name: "partial write", code: 400, body: `{"error":"partial write: field type conflict: input field \"v\" on measurement \"m\" is type string, already exists as type float dropped=1"}`,
			permanent: true,
			wantErr:   `influxdb "test": write: 400 Bad Request: partial write: field type conflict: input field "v" on measurement "m" is type string, already exists as type float dropped=1`,
		},
		{
			name: "unable to parse on two lines", code: 400, body: `{"error":"partial write: unable to parse 'a': invalid field format\nunable to parse 'b': missing tag key dropped=0"}`,
			permanent: true,
			wantErr:   `influxdb "test": write: 400 Bad Request: partial write: unable to parse 'a': invalid field format; unable to parse 'b': missing tag key dropped=0`,
		},
		{
			name: "400 database not found is configuration", code: 400, body: `{"error":"database not found: \"db\""}`,
			wantErr: `influxdb "test": write: 400 Bad Request: database not found: "db"`,
		},
		{
			name: "404 database not found", code: 404, body: `{"error":"database not found: \"db\""}`,
			wantErr: `influxdb "test": write: 404 Not Found: database not found: "db"`,
		},
		{
			name: "401", code: 401, body: `{"error":"authorization failed"}`,
			wantErr: `influxdb "test": write: 401 Unauthorized: authorization failed`,
		},
		{
			name: "403", code: 403, body: `{"error":"user is not authorized to write to database"}`,
			wantErr: `influxdb "test": write: 403 Forbidden: user is not authorized to write to database`,
		},
		{
			name: "500 retention policy not found", code: 500, body: `{"error":"retention policy not found: rp"}`,
			wantErr: `influxdb "test": write: 500 Internal Server Error: retention policy not found: rp`,
		},
		{
			name: "500 timeout", code: 500, body: `{"error":"timeout"}`,
			wantErr: `influxdb "test": write: 500 Internal Server Error: timeout`,
		},
		{
			name: "503 garbage body", code: 503, body: "<html>\n<h1>upstream down</h1>\n</html>",
			wantErr: `influxdb "test": write: 503 Service Unavailable: <html>; <h1>upstream down</h1>; </html>`,
		},
		{
			name: "header only", code: 500, header: "engine: disk full",
			wantErr: `influxdb "test": write: 500 Internal Server Error: engine: disk full`,
		},
		{
			name: "413 single line", code: 413, body: `{"error":"Request Entity Too Large"}`, lines: "m v=1 1",
			permanent: true,
			wantErr:   `influxdb "test": write: 413 Request Entity Too Large: Request Entity Too Large`,
		},
		{
			name: "413 several lines is configuration", code: 413, body: `{"error":"Request Entity Too Large"}`, lines: line + line,
			wantErr: `influxdb "test": write: 413 Request Entity Too Large: Request Entity Too Large (pool.max_body_bytes is above InfluxDB's max-body-size)`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("X-Influxdb-Error", tc.header)
				}
				w.WriteHeader(tc.code)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			p := newTestPool(t, srv.URL, nil, nil)
			lines := tc.lines
			if lines == "" {
				lines = line
			}
			err := p.Write(context.Background(), []byte(lines))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Write() = %v (%T), want *Error", err, err)
			}
			if err.Error() != tc.wantErr {
				t.Errorf("Error() = %q\nwant      %q", err.Error(), tc.wantErr)
			}
			if e.StatusCode != tc.code || e.Permanent != tc.permanent || IsPermanent(err) != tc.permanent {
				t.Errorf("StatusCode %d Permanent %v, want %d %v", e.StatusCode, e.Permanent, tc.code, tc.permanent)
			}
			if IsTimeout(err) {
				t.Errorf("IsTimeout(%v) = true", err)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := newTestPool(t, "http://"+addr, nil, nil)
	for name, op := range map[string]func() error{
		"ping":  func() error { return p.Ping(context.Background()) },
		"write": func() error { return p.Write(context.Background(), []byte("m v=1 1\n")) },
		"query": func() error { _, err := p.Query(context.Background(), "SHOW DATABASES"); return err },
	} {
		t.Run(name, func(t *testing.T) {
			err := op()
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != 0 || e.Permanent || e.Op != name {
				t.Fatalf("got %#v, want retryable *Error for %s without status", err, name)
			}
			if Reason(err) != ReasonUnavailable || !strings.Contains(err.Error(), "connection refused") {
				t.Fatalf("got %v (reason %q), want unavailable, connection refused", err, Reason(err))
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/write":
			<-release
		case "/query":
			// Headers arrive in time, the body does not.
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"results":[`)
			w.(http.Flusher).Flush()
			<-release
		}
	}))
	defer srv.Close()
	defer close(release)

	const timeout = 200 * time.Millisecond
	p := newTestPool(t, srv.URL, nil, func(c *Config) { c.Pool.Timeout = model.Duration(timeout) })
	for name, op := range map[string]func() error{
		"write":      func() error { return p.Write(context.Background(), []byte("m v=1 1\n")) },
		"query body": func() error { _, err := p.Query(context.Background(), "SELECT 1"); return err },
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := op()
			elapsed := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) || !IsTimeout(err) || IsPermanent(err) || Reason(err) != ReasonTimeout {
				t.Fatalf("got %v, want retryable timeout", err)
			}
			if !strings.Contains(err.Error(), "no answer within pool.timeout 200ms") {
				t.Errorf("message %q does not name the timeout", err)
			}
			if elapsed < timeout || elapsed > 10*timeout {
				t.Errorf("returned after %s, want about %s", elapsed, timeout)
			}
		})
	}

	t.Run("caller canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		err := p.Write(ctx, []byte("m v=1 1\n"))
		if !errors.Is(err, context.Canceled) || Reason(err) != ReasonCanceled || IsPermanent(err) {
			t.Fatalf("got %v, want canceled", err)
		}
	})
}

func TestWorkersBound(t *testing.T) {
	const workers = 3
	var inflight, peak, total atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		total.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	reg := prometheus.NewRegistry()
	p := newTestPool(t, srv.URL, NewMetrics(reg), func(c *Config) {
		c.Pool.Workers = workers
		c.Pool.MaxBodyBytes = 8 // one line per batch
		c.Pool.Queue = 20       // room for all 20 batches
	})
	body := []byte(strings.Repeat("m v=1 1\n", 4))
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Write(context.Background(), body); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := total.Load(); got != 20 {
		t.Errorf("server saw %d requests, want 20", got)
	}
	if got := peak.Load(); got != workers {
		t.Errorf("peak concurrency %d, want exactly %d", got, workers)
	}
	if got := value(t, p.metrics.pointsWritten); got != 20 {
		t.Errorf("points written %v, want 20", got)
	}
	// A writer is answered before its sender gives the worker back.
	waitFor(t, "inflight to drop to 0 after all writes returned", func() bool { return value(t, p.metrics.inflight) == 0 })
	if got := value(t, p.metrics.m.requests.WithLabelValues("test", OpWrite, "204")); got != 20 {
		t.Errorf("requests_total{code=204} %v, want 20", got)
	}
}

func TestWaitForWorkerRespectsContext(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		fmt.Fprint(w, `{"results":[{"statement_id":0}]}`)
	}))
	defer srv.Close()
	p := newTestPool(t, srv.URL, nil, func(c *Config) { c.Pool.Workers = 1 })

	query := func(ctx context.Context) error { _, err := p.Query(ctx, "SELECT 1"); return err }
	done := make(chan error)
	go func() { done <- query(context.Background()) }()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := query(ctx)
	if !IsTimeout(err) || IsPermanent(err) || !strings.Contains(err.Error(), "no free worker among 1") {
		t.Fatalf("got %v, want timeout waiting for a worker", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("first query: %v", err)
	}
}

func TestRequestFormation(t *testing.T) {
	type seen struct {
		method, path, query, auth, contentType, form string
	}
	var (
		mu   sync.Mutex
		got  []seen
		resp = `{"results":[{"statement_id":0}]}`
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var form string
		if r.Method == http.MethodPost && r.URL.Path != "/prefix/write" {
			if err := r.ParseForm(); err != nil {
				t.Error(err)
			}
			form = r.PostForm.Encode()
		}
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), form})
		mu.Unlock()
		if r.URL.Path == "/prefix/query" {
			fmt.Fprint(w, resp)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	p := newTestPool(t, srv.URL+"/prefix/", nil, func(c *Config) {
		c.Database, c.RetentionPolicy = "my db", "one week"
		c.Username, c.Password = "alice", "p@ss:word"
	})
	ctx := context.Background()
	if err := p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Write(ctx, []byte("m v=1 1\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Query(ctx, `SELECT "v" FROM "m"`); err != nil {
		t.Fatal(err)
	}
	if err := p.EnsureDatabase(ctx); err != nil {
		t.Fatal(err)
	}

	const auth = "Basic YWxpY2U6cEBzczp3b3Jk" // alice:p@ss:word
	want := []seen{
		{"GET", "/prefix/ping", "", auth, "", ""},
		{"POST", "/prefix/write", "db=my+db&precision=ms&rp=one+week", auth, "text/plain; charset=utf-8", ""},
		{"GET", "/prefix/query", "db=my+db&epoch=ms&q=SELECT+%22v%22+FROM+%22m%22", auth, "", ""},
		{"POST", "/prefix/query", "db=my+db&epoch=ms", auth, "application/x-www-form-urlencoded", "q=CREATE+DATABASE+%22my+db%22"},
	}
	if len(got) != len(want) {
		t.Fatalf("server saw %d requests, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestNoAuthWithoutUsername(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); ok {
			t.Error("basic auth sent without username")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	if err := newTestPool(t, srv.URL, nil, nil).Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestConnectionReuse(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An error body that the pool must drain for the connection to be reused.
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":"`+strings.Repeat("x", 100<<10)+`"}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p := newTestPool(t, srv.URL, nil, nil)
	for range 10 {
		if err := p.Write(context.Background(), []byte("m v=1 1\n")); err == nil {
			t.Fatal("want error")
		}
	}
	if got := conns.Load(); got != 1 {
		t.Fatalf("10 sequential requests used %d connections, want 1", got)
	}
}
