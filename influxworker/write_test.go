package influxworker

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
)

func TestCutLines(t *testing.T) {
	for _, tc := range []struct {
		name       string
		in         string
		roomBytes  int
		roomPoints int
		want       string
		wantPoints int
	}{
		{"empty", "", 10, 10, "", 0},
		{"fits", "a 1\nb 2\n", 100, 10, "a 1\nb 2\n", 2},
		{"exact bytes", "a 1\nb 2\n", 8, 10, "a 1\nb 2\n", 2},
		{"bytes cut", "a 1\nb 2\n", 7, 10, "a 1\n", 1},
		{"points cut", "a 1\nb 2\nc 3\n", 100, 2, "a 1\nb 2\n", 2},
		{"no room for points", "a 1\n", 100, 0, "", 0},
		{"first line too long", "abcdef 1\n", 5, 10, "", 0},
		{"last line without newline needs one byte more", "a 1\nb 2", 7, 10, "a 1\n", 1},
		{"last line without newline fits", "a 1\nb 2", 8, 10, "a 1\nb 2", 2},
		{"empty lines count", "a 1\n\nb 2\n", 100, 10, "a 1\n\nb 2\n", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, points := cutLines([]byte(tc.in), tc.roomBytes, tc.roomPoints)
			if got := tc.in[:n]; got != tc.want || points != tc.wantPoints {
				t.Fatalf("cutLines(%q, %d, %d) = %q, %d points; want %q, %d", tc.in, tc.roomBytes, tc.roomPoints, got, points, tc.want, tc.wantPoints)
			}
		})
	}
}

func TestCountLines(t *testing.T) {
	for in, want := range map[string]int{"": 0, "a": 1, "a\n": 1, "a\nb": 2, "a\nb\n": 2} {
		if got := countLines([]byte(in)); got != want {
			t.Errorf("countLines(%q) = %d, want %d", in, got, want)
		}
	}
}

// BenchmarkWriteConcurrent measures Write, from the caller's lines to the
// acknowledgement, against a fake InfluxDB that reads and decompresses
// each body and answers 204 without parsing it, with 1 and 8 writers of
// Prometheus-sized bodies (2000 lines, as a remote-write request of 2000
// samples), and with 32 writers, more than the 8 workers. Without a linger,
// batches fill only while every worker is busy (32 writers: fewer requests
// per Write, requests/write); a 2ms linger gathers concurrent writes even
// when workers are free, at the price of the wait.
func BenchmarkWriteConcurrent(b *testing.B) {
	var requests atomic.Int64
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(versionHeader, "1.6.7")
		if _, err := readBody(r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		requests.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer fake.Close()
	const lines = 2000
	body := realisticLines(lines)
	for _, tc := range []struct {
		writers int
		linger  time.Duration
	}{
		{1, 0}, {1, 2 * time.Millisecond},
		{8, 0}, {8, 2 * time.Millisecond},
		{32, 0},
	} {
		b.Run(fmt.Sprintf("writers=%d/linger=%s", tc.writers, tc.linger), func(b *testing.B) {
			cfg := DefaultConfig
			cfg.Name, cfg.URL, cfg.Database = "bench", fake.URL, "db"
			cfg.Pool.Batch.Linger = model.Duration(tc.linger)
			p, err := New(cfg, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			if err := p.Ping(context.Background()); err != nil { // gzip from the first write on
				b.Fatal(err)
			}
			requests.Store(0)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			var (
				next atomic.Int64
				wg   sync.WaitGroup
			)
			for range tc.writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						if err := p.Write(context.Background(), body); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)*lines/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/write")
		})
	}
}

// partServer acknowledges writes and records their bodies; fail decides the
// status of a body (0 for 204).
type partServer struct {
	mu     sync.Mutex
	bodies []string
	fail   func(body string) (int, string)
}

func (s *partServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	if s.fail != nil {
		if code, msg := s.fail(string(b)); code != 0 {
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":%q}`, msg)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func TestWriteSplits(t *testing.T) {
	for _, tc := range []struct {
		name          string
		fail          func(string) (int, string)
		wantPermanent bool
		wantErr       string
		wantBodies    int
	}{
		{name: "all acknowledged", wantBodies: 4},
		{
			name: "permanent part, others still written",
			fail: func(b string) (int, string) {
				return codeIf(strings.Contains(b, "v=2"), 400, "partial write: field type conflict")
			},
			wantPermanent: true, wantErr: "400 Bad Request: partial write: field type conflict", wantBodies: 4,
		},
		{
			name: "retryable wins over permanent",
			fail: func(b string) (int, string) {
				if strings.Contains(b, "v=0") {
					return 400, "partial write: unable to parse"
				}
				return codeIf(strings.Contains(b, "v=3"), 503, "overloaded")
			},
			wantErr: "503 Service Unavailable: overloaded",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &partServer{fail: tc.fail}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			p := newTestPool(t, ts.URL, nil, func(c *Config) {
				c.Pool.MaxBodyBytes = units.Base2Bytes(len("m v=0 0\n"))
			})
			var body bytes.Buffer
			for i := range 4 {
				fmt.Fprintf(&body, "m v=%d %d\n", i, i)
			}
			err := p.Write(context.Background(), body.Bytes())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := value(t, p.metrics.pointsWritten); got != 4 {
					t.Errorf("points written %v, want 4", got)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) || IsPermanent(err) != tc.wantPermanent {
				t.Fatalf("Write() = %v (permanent %v), want %q (permanent %v)", err, IsPermanent(err), tc.wantErr, tc.wantPermanent)
			}
			for _, b := range srv.bodies {
				if countLines([]byte(b)) != 1 {
					t.Errorf("body %q: want one line per part", b)
				}
			}
			if tc.wantBodies != 0 && len(srv.bodies) != tc.wantBodies {
				t.Errorf("server got %d bodies, want %d", len(srv.bodies), tc.wantBodies)
			}
		})
	}
}

func codeIf(cond bool, code int, msg string) (int, string) {
	if cond {
		return code, msg
	}
	return 0, ""
}

func TestWriteEmpty(t *testing.T) {
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer ts.Close()
	if err := newTestPool(t, ts.URL, nil, nil).Write(context.Background(), nil); err != nil || hits.Load() != 0 {
		t.Fatalf("Write(nil) = %v with %d requests, want nil without request", err, hits.Load())
	}
}

func TestWriteCreatesMissingDatabase(t *testing.T) {
	for _, tc := range []struct {
		name      string
		create    bool
		wantErr   string
		wantPaths []string
	}{
		{
			name:      "create_database false",
			wantErr:   `influxdb "test": write: 404 Not Found: database not found: "db"`,
			wantPaths: []string{"/write"},
		},
		{
			name:      "create_database true",
			create:    true,
			wantPaths: []string{"/write", "/query", "/write"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				mu      sync.Mutex
				paths   []string
				created bool
			)
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				paths = append(paths, r.URL.Path)
				switch {
				case r.URL.Path == "/query" && r.FormValue("q") == `CREATE DATABASE "db"`:
					created = true
					fmt.Fprint(w, `{"results":[{"statement_id":0}]}`)
				case r.URL.Path == "/write" && created:
					w.WriteHeader(http.StatusNoContent)
				default:
					w.WriteHeader(http.StatusNotFound)
					fmt.Fprint(w, `{"error":"database not found: \"db\""}`)
				}
			}))
			defer ts.Close()
			// One worker: the batch gives it back to create the database.
			p := newTestPool(t, ts.URL, nil, func(c *Config) { c.CreateDatabase, c.Pool.Workers = tc.create, 1 })
			err := p.Write(context.Background(), []byte("m v=1 1\n"))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("Write() = %v, want %q", err, tc.wantErr)
			}
			if IsPermanent(err) {
				t.Errorf("database not found must be retryable")
			}
			if !reflect.DeepEqual(paths, tc.wantPaths) {
				t.Errorf("requests %q, want %q", paths, tc.wantPaths)
			}
		})
	}
}
