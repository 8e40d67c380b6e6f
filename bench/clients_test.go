package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTarget answers as promflux does, /metrics with the watched gauges
// and writes with writeCode.
type fakeTarget struct {
	writeCode   int
	healthDelay time.Duration
	closeConns  bool // answer every request with Connection: close
	// dropIdle closes an idle connection of bench clients (User-Agent
	// promflux-bench) at its second request, unanswered, as a target's
	// idle timeout would have closed it.
	dropIdle bool
	writes   atomic.Int64
}

// connRequests is the key of a connection's request count in the context
// of its requests.
type connRequests struct{}

func (f *fakeTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.closeConns {
		w.Header().Set("Connection", "close")
	}
	switch r.URL.Path {
	case "/-/healthy":
		n := r.Context().Value(connRequests{}).(*atomic.Int64).Add(1)
		if f.dropIdle && r.UserAgent() == "promflux-bench" && n > 1 {
			if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		time.Sleep(f.healthDelay)
		fmt.Fprintln(w, "healthy")
	case "/metrics":
		fmt.Fprintf(w, "go_goroutines 12\nprocess_resident_memory_bytes %d\nprocess_open_fds 30\nprocess_max_fds 1024\npromflux_http_connections_open 25\n", 20<<20)
	case "/api/v1/write":
		f.writes.Add(1)
		w.WriteHeader(f.writeCode)
	default:
		http.NotFound(w, r)
	}
}

func runFakeClients(t *testing.T, f *fakeTarget, maxHealth time.Duration) (string, error) {
	t.Helper()
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connRequests{}, new(atomic.Int64))
	}
	srv.Start()
	t.Cleanup(srv.Close)
	o := &clientsOptions{
		url: srv.URL, idle: 20, writers: 3, duration: 300 * time.Millisecond,
		idleRefresh: 100 * time.Millisecond, healthEvery: 20 * time.Millisecond, maxHealthLatency: maxHealth,
		sampleEvery: 50 * time.Millisecond, batch: 100, bodies: 2, protocol: "1", timeout: 5 * time.Second,
	}
	var out bytes.Buffer
	err := runClients(&generator{series: 300, start: 1700000000000, interval: 15000}, o, &out)
	return out.String(), err
}

func TestClients(t *testing.T) {
	f := &fakeTarget{writeCode: http.StatusNoContent}
	out, err := runFakeClients(t, f, time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"idle_opened=20\n", "idle_open_at_end=20\n", "write_other=0\n", "health_failed=0\n", "health_over=0\n",
		fmt.Sprintf("write_204=%d\n", f.writes.Load()), "max_go_goroutines=12\n", "max_process_max_fds=1024\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if f.writes.Load() == 0 {
		t.Error("no write reached the target")
	}
}

func TestClientsFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		target    *fakeTarget
		maxHealth time.Duration
		want      string
		report    string // text the report must hold, if any
	}{
		{"write answered 500", &fakeTarget{writeCode: http.StatusInternalServerError}, time.Second, "answered other than 204, 503 or 429", ""},
		{"backpressure is fine", &fakeTarget{writeCode: http.StatusServiceUnavailable}, time.Second, "", ""},
		{"slow health", &fakeTarget{writeCode: http.StatusNoContent, healthDelay: 30 * time.Millisecond}, 10 * time.Millisecond, "took longer than 10ms", "over 10ms, sent after the writers started: 0.0s (3"},
		{"idle connections closed", &fakeTarget{writeCode: http.StatusNoContent, closeConns: true}, time.Second, "idle connections could not be opened", ""},
		// Every idle connection sends a second request, at the end if not
		// before.
		{"idle connections dropped", &fakeTarget{writeCode: http.StatusNoContent, dropIdle: true}, time.Second, "20 idle connections were closed or broken", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runFakeClients(t, tc.target, tc.maxHealth)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("%v\n%s", err, out)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one saying %q\n%s", err, tc.want, out)
			}
			if !strings.Contains(out, tc.report) {
				t.Errorf("the report lacks %q:\n%s", tc.report, out)
			}
		})
	}
}
