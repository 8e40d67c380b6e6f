package influxworker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// flakyInflux is a fake InfluxDB that answers the first failures requests
// with code and the later ones as InfluxDB 1.x does, checking that every
// write attempt carries the whole body.
type flakyInflux struct {
	failures int64
	code     int
	wantBody string
	attempts atomic.Int64
}

func (f *flakyInflux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(versionHeader, "1.6.7")
	n := f.attempts.Add(1)
	if r.URL.Path == "/write" {
		b, err := readBody(r)
		if err != nil || string(b) != f.wantBody {
			http.Error(w, fmt.Sprintf(`{"error":"attempt %d: body %q, %v"}`, n, b, err), http.StatusTeapot)
			return
		}
	}
	if n <= f.failures {
		w.WriteHeader(f.code)
		fmt.Fprintf(w, `{"error":"failure %d"}`, n)
		return
	}
	switch r.URL.Path {
	case "/query":
		fmt.Fprint(w, `{"results":[{"statement_id":0}]}`)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// retryPool is a pool with max_attempts attempts and short waits of
// exactly their ceiling, so that tests do not depend on chance.
func retryPool(t *testing.T, url string, maxAttempts int) *Pool {
	t.Helper()
	p := newTestPool(t, url, nil, func(c *Config) {
		c.Pool.Retry = RetryConfig{MaxAttempts: maxAttempts, MinBackoff: model.Duration(time.Millisecond), MaxBackoff: model.Duration(4 * time.Millisecond)}
	})
	p.jitter = func(ceil time.Duration) time.Duration { return ceil }
	return p
}

func TestRetry(t *testing.T) {
	const lines = "up,job=node value=1 1700000000000\n"
	ops := map[string]func(context.Context, *Pool) error{
		OpWrite: func(ctx context.Context, p *Pool) error { return p.Write(ctx, []byte(lines)) },
		OpPing:  func(ctx context.Context, p *Pool) error { return p.Ping(ctx) },
		OpQuery: func(ctx context.Context, p *Pool) error { _, err := p.Query(ctx, "SELECT 1"); return err },
		OpPost:  func(ctx context.Context, p *Pool) error { _, err := p.Post(ctx, "DROP SERIES FROM m"); return err },
		OpCreateDatabase: func(ctx context.Context, p *Pool) error {
			return p.EnsureDatabase(ctx)
		},
	}
	for _, tc := range []struct {
		name         string
		op           string
		failures     int64
		code         int
		maxAttempts  int
		wantAttempts int64
		wantErr      string
	}{
		{name: "write 503 twice then success", op: OpWrite, failures: 2, code: 503, maxAttempts: 3, wantAttempts: 3},
		{name: "write 500 three times", op: OpWrite, failures: 3, code: 500, maxAttempts: 3, wantAttempts: 3, wantErr: "500 Internal Server Error: failure 3"},
		{name: "write no retries", op: OpWrite, failures: 1, code: 503, maxAttempts: 1, wantAttempts: 1, wantErr: "503 Service Unavailable: failure 1"},
		{name: "write 400 never retried", op: OpWrite, failures: 1, code: 400, maxAttempts: 3, wantAttempts: 1, wantErr: "400 Bad Request: failure 1"},
		{name: "write 401 not retried", op: OpWrite, failures: 1, code: 401, maxAttempts: 3, wantAttempts: 1, wantErr: "401 Unauthorized"},
		{name: "write 403 not retried", op: OpWrite, failures: 1, code: 403, maxAttempts: 3, wantAttempts: 1, wantErr: "403 Forbidden"},
		{name: "write 404 not retried", op: OpWrite, failures: 1, code: 404, maxAttempts: 3, wantAttempts: 1, wantErr: "404 Not Found"},
		{name: "write 413 not retried", op: OpWrite, failures: 1, code: 413, maxAttempts: 3, wantAttempts: 1, wantErr: "413 Request Entity Too Large"},
		{name: "ping not retried", op: OpPing, failures: 1, code: 503, maxAttempts: 3, wantAttempts: 1, wantErr: "503 Service Unavailable: failure 1"},
		{name: "query 502 then success", op: OpQuery, failures: 2, code: 502, maxAttempts: 3, wantAttempts: 3},
		{name: "query 400 never retried", op: OpQuery, failures: 1, code: 400, maxAttempts: 3, wantAttempts: 1, wantErr: "400 Bad Request"},
		{name: "post 503 then success", op: OpPost, failures: 1, code: 503, maxAttempts: 3, wantAttempts: 2},
		{name: "create database 503 then success", op: OpCreateDatabase, failures: 1, code: 503, maxAttempts: 2, wantAttempts: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &flakyInflux{failures: tc.failures, code: tc.code, wantBody: lines}
			ts := httptest.NewServer(fake)
			defer ts.Close()
			p := retryPool(t, ts.URL, tc.maxAttempts)
			err := ops[tc.op](context.Background(), p)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("got %v, want success", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
			if got := fake.attempts.Load(); got != tc.wantAttempts {
				t.Fatalf("fake got %d attempts, want %d", got, tc.wantAttempts)
			}
			if got := value(t, p.metrics.m.retries.WithLabelValues("test", tc.op)); got != float64(tc.wantAttempts-1) {
				t.Fatalf("retries_total %v, want %d", got, tc.wantAttempts-1)
			}
		})
	}
}

func TestRetryNotForStreamOrStatementErrors(t *testing.T) {
	t.Run("stream", func(t *testing.T) {
		fake := &flakyInflux{failures: 1, code: 503}
		ts := httptest.NewServer(fake)
		defer ts.Close()
		err := retryPool(t, ts.URL, 3).QueryStream(context.Background(), "SELECT 1", func(*SeriesChunk) error { return nil })
		if err == nil || fake.attempts.Load() != 1 {
			t.Fatalf("got %v after %d attempts, want 503 after 1", err, fake.attempts.Load())
		}
	})
	t.Run("statement error", func(t *testing.T) {
		var attempts atomic.Int64
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			attempts.Add(1)
			fmt.Fprint(w, `{"results":[{"statement_id":0,"error":"database not found: db"}]}`)
		}))
		defer ts.Close()
		_, err := retryPool(t, ts.URL, 3).Query(context.Background(), "SELECT 1")
		if err == nil || attempts.Load() != 1 {
			t.Fatalf("got %v after %d attempts, want the statement error after 1", err, attempts.Load())
		}
	})
}

func TestRetryConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := retryPool(t, "http://"+addr, 3)
	err = p.Write(context.Background(), []byte("m v=1 1\n"))
	if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("got %v, want retryable connection refused", err)
	}
	if got := value(t, p.metrics.m.retries.WithLabelValues("test", OpWrite)); got != 2 {
		t.Fatalf("retries_total %v, want 2", got)
	}
}

func TestRetryAttemptTimeout(t *testing.T) {
	var attempts atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 1 {
			// Stalls past pool.timeout; the client gives up the attempt.
			<-r.Context().Done()
			return
		}
		fmt.Fprint(w, `{"results":[{"statement_id":0}]}`)
	}))
	defer ts.Close()
	p := retryPool(t, ts.URL, 2)
	// The second attempt must reach the server and be answered within the
	// same pool.timeout that ends the first: far above a loopback round
	// trip on a loaded machine (50ms was not, under -race and CPU load).
	p.timeout = time.Second
	if _, err := p.Query(context.Background(), "SELECT 1"); err != nil || attempts.Load() != 2 {
		t.Fatalf("got %v after %d attempts, want success after 2", err, attempts.Load())
	}
}

func TestRetryRespectsCaller(t *testing.T) {
	for _, tc := range []struct {
		name string
		// cancelInBackoff cancels the caller's context as the backoff
		// starts; otherwise its deadline (a few seconds) is shorter than
		// the backoff (a minute).
		cancelInBackoff bool
		// want503 is set when Write returns the last attempt's error, and
		// not the caller's context error.
		want503 bool
	}{
		{"deadline shorter than backoff", false, true},
		{"canceled during backoff", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &flakyInflux{failures: 100, code: 503, wantBody: "m v=1 1\n"}
			ts := httptest.NewServer(fake)
			defer ts.Close()
			p := newTestPool(t, ts.URL, nil, func(c *Config) {
				c.Pool.Retry = RetryConfig{MaxAttempts: 5, MinBackoff: model.Duration(time.Minute), MaxBackoff: model.Duration(time.Minute)}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p.jitter = func(ceil time.Duration) time.Duration {
				if tc.cancelInBackoff {
					cancel()
				}
				return ceil
			}
			start := time.Now()
			err := p.Write(ctx, []byte("m v=1 1\n"))
			if elapsed := time.Since(start); elapsed > 30*time.Second {
				t.Fatalf("Write returned after %s, want before the one-minute backoff", elapsed)
			}
			var e *Error
			switch {
			case tc.want503 && (!errors.As(err, &e) || e.StatusCode != 503):
				t.Fatalf("got %v, want the last attempt's 503", err)
			case !tc.want503 && (!errors.As(err, &e) || !errors.Is(err, context.Canceled)):
				t.Fatalf("got %v, want an *Error wrapping context.Canceled", err)
			}
			// The batch is abandoned with its only writer: no more
			// attempts, and nothing left in memory.
			waitFor(t, "the batch to be abandoned", func() bool { return batchesAlive(p) == 0 })
			if got := fake.attempts.Load(); got != 1 {
				t.Fatalf("fake got %d attempts, want 1", got)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	rc := RetryConfig{MaxAttempts: 10, MinBackoff: model.Duration(50 * time.Millisecond), MaxBackoff: model.Duration(2 * time.Second)}
	for n, want := range map[int]time.Duration{
		1: 50 * time.Millisecond, 2: 100 * time.Millisecond, 3: 200 * time.Millisecond,
		6: 1600 * time.Millisecond, 7: 2 * time.Second, 60: 2 * time.Second,
	} {
		if got := backoffCeiling(rc, n); got != want {
			t.Errorf("backoffCeiling(retry %d) = %s, want %s", n, got, want)
		}
	}

	// Full jitter: every wait within [0, ceil], spread over the range.
	const ceil = 100 * time.Millisecond
	lo, hi := ceil, time.Duration(0)
	for range 1000 {
		d := jitter(ceil)
		if d < 0 || d > ceil {
			t.Fatalf("jitter(%s) = %s, out of [0, %s]", ceil, d, ceil)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > ceil/10 || hi < ceil*9/10 {
		t.Fatalf("1000 waits span [%s, %s], want most of [0, %s]", lo, hi, ceil)
	}
	if got := jitter(0); got != 0 {
		t.Fatalf("jitter(0) = %s, want 0", got)
	}
}
