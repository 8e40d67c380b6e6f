package influxworker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/alecthomas/units"
)

func TestSplitLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{"empty", "", 10, nil},
		{"fits", "a 1\nb 2\n", 100, []string{"a 1\nb 2\n"}},
		{"exact", "a 1\nb 2\n", 8, []string{"a 1\nb 2\n"}},
		{"two", "a 1\nb 2\n", 7, []string{"a 1\n", "b 2\n"}},
		{"greedy", "a 1\nb 2\nc 3\nd 4\n", 9, []string{"a 1\nb 2\n", "c 3\nd 4\n"}},
		{"no trailing newline", "a 1\nb 2", 5, []string{"a 1\n", "b 2"}},
		{"long line alone", "a 1\nlonglonglong 1\nb 2\n", 5, []string{"a 1\n", "longlonglong 1\n", "b 2\n"}},
		{"long last line", "a 1\nlonglonglong 1", 5, []string{"a 1\n", "longlonglong 1"}},
		{"cut at max", "abcd\nef\n", 5, []string{"abcd\n", "ef\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, p := range splitLines([]byte(tc.in), tc.max) {
				got = append(got, string(p))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("splitLines(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func FuzzSplitLines(f *testing.F) {
	f.Add([]byte("m v=1 1\nm v=2 2\n"), 8)
	f.Add([]byte("a\n\n\nbbbbbbbbbbbbbb\nc"), 3)
	f.Add([]byte(""), 1)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max <= 0 {
			max = -max + 1
		}
		parts := splitLines(b, max)
		// Joining the parts gives back the input, parts end at a newline
		// (except the last), and only single lines exceed max.
		if got := bytes.Join(parts, nil); !bytes.Equal(got, b) {
			t.Fatalf("parts join to %q, want %q", got, b)
		}
		for i, p := range parts {
			if len(p) == 0 {
				t.Fatalf("part %d is empty", i)
			}
			if i < len(parts)-1 && p[len(p)-1] != '\n' {
				t.Fatalf("part %d %q does not end at a line boundary", i, p)
			}
			if len(p) > max && bytes.IndexByte(bytes.TrimSuffix(p, []byte{'\n'}), '\n') >= 0 {
				t.Fatalf("part %d of %d bytes has several lines, max %d", i, len(p), max)
			}
		}
		n := 0
		for _, p := range parts {
			n += countLines(p)
		}
		if n != countLines(b) {
			t.Fatalf("parts hold %d lines, input %d", n, countLines(b))
		}
	})
}

func TestCountLines(t *testing.T) {
	for in, want := range map[string]int{"": 0, "a": 1, "a\n": 1, "a\nb": 2, "a\nb\n": 2} {
		if got := countLines([]byte(in)); got != want {
			t.Errorf("countLines(%q) = %d, want %d", in, got, want)
		}
	}
}

func BenchmarkSplitLines(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 16<<20; i++ {
		fmt.Fprintf(&buf, "node_cpu_seconds_total,cpu=%d,instance=host:9100,job=node,mode=idle value=%d.5 1700000000%03d\n", i%64, i, i%1000)
	}
	body := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if parts := splitLines(body, int(DefaultPoolConfig.MaxBodyBytes)); len(parts) < 4 {
			b.Fatalf("%d parts", len(parts))
		}
	}
}

// BenchmarkWrite measures the client side of a write against a server that
// acknowledges without parsing, with and without gzip.
func BenchmarkWrite(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(versionHeader, "1.6.7")
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	body := realisticLines(2000)
	for _, gzip := range []bool{true, false} {
		b.Run(fmt.Sprintf("gzip=%v", gzip), func(b *testing.B) {
			cfg := DefaultConfig
			cfg.Name, cfg.URL, cfg.Database, cfg.Pool.Gzip = "bench", srv.URL, "db", gzip
			p, err := New(cfg, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := p.Write(context.Background(), body); err != nil {
					b.Fatal(err)
				}
			}
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
			p := newTestPool(t, ts.URL, nil, func(c *Config) { c.CreateDatabase = tc.create })
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
