package influxworker

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

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestPingBypassesWorkers: a pool whose only worker is held by a slow write
// still answers Ping at once, and the up gauge follows the pings.
func TestPingBypassesWorkers(t *testing.T) {
	release := make(chan struct{})
	writing := make(chan struct{})
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/write" {
			close(writing)
			<-release
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer fake.Close()
	defer close(release)
	p := newTestPool(t, fake.URL, nil, func(c *Config) { c.Pool.Workers, c.Pool.Queue = 1, 0 })
	if n := testutil.CollectAndCount(p.metrics.m.up); n != 0 {
		t.Fatalf("%d up series before any ping, want none", n)
	}
	go func() { _ = p.Write(context.Background(), []byte("m v=1 1\n")) }()
	<-writing

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("ping of a saturated pool: %v", err)
	}
	if got := value(t, p.metrics.m.up.WithLabelValues("test")); got != 1 {
		t.Errorf("up = %v, want 1", got)
	}
}

func TestPingRecordsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := newTestPool(t, "http://"+addr, nil, nil)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Ping(ctx); err == nil {
		t.Fatal("canceled ping succeeded")
	}
	if n := testutil.CollectAndCount(p.metrics.m.up); n != 0 {
		t.Fatalf("a ping the caller canceled was recorded: %d up series", n)
	}

	if err := p.Ping(context.Background()); err == nil {
		t.Fatal("ping of a closed port succeeded")
	}
	if n := testutil.CollectAndCount(p.metrics.m.up); n != 1 {
		t.Fatalf("%d up series after a failed ping, want 1", n)
	}
	if got := value(t, p.metrics.m.up.WithLabelValues("test")); got != 0 {
		t.Errorf("up = %v, want 0", got)
	}
	if got := value(t, p.metrics.m.pingDuration.WithLabelValues("test")); got <= 0 {
		t.Errorf("ping duration %v, want > 0", got)
	}
}

// TestPingOutOfOrder: a ping that finishes after a newer one (a slow
// failure after a quick success) does not overwrite it.
func TestPingOutOfOrder(t *testing.T) {
	pm := NewMetrics(nil).forPool("test")
	now := time.Now()
	pm.pinged(now, true, time.Millisecond)
	pm.pinged(now.Add(-time.Second), false, 2*time.Second)
	if got := value(t, pm.m.up.WithLabelValues("test")); got != 1 {
		t.Errorf("up = %v after an older failed ping finished last, want 1", got)
	}
	pm.pinged(now.Add(time.Second), false, time.Millisecond)
	if got := value(t, pm.m.up.WithLabelValues("test")); got != 0 {
		t.Errorf("up = %v after a newer failed ping, want 0", got)
	}
}

// TestPingBound: a hung InfluxDB fails the ping after pingTimeout (or
// pool.timeout, when shorter), without retries.
func TestPingBound(t *testing.T) {
	var attempts atomic.Int64
	release := make(chan struct{})
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		<-release
	}))
	defer fake.Close()
	defer close(release)
	p := newTestPool(t, fake.URL, nil, nil)
	p.timeout = 100 * time.Millisecond
	err := p.Ping(context.Background())
	if !IsTimeout(err) {
		t.Fatalf("Ping() = %v, want a timeout", err)
	}
	// The one request may reach the server after the client gave up on it,
	// on a loaded machine; a retry would have been sent before Ping
	// returned.
	waitFor(t, "the ping to reach the server", func() bool { return attempts.Load() >= 1 })
	if n := attempts.Load(); n != 1 {
		t.Fatalf("%d attempts, want 1: a ping is not retried", n)
	}
	if want := "no answer within 100ms"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("message %q does not name the bound %q", err, want)
	}
}

// TestPingLogsHealthChanges: a ping logs the database's health when it
// changes, once per change, not on every ping.
func TestPingLogsHealthChanges(t *testing.T) {
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Influxdb-Version", "1.6.7")
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	var buf bytes.Buffer
	cfg := DefaultConfig
	cfg.Name, cfg.URL, cfg.Database = "main", srv.URL, "db"
	p, err := New(cfg, log.NewLogfmtLogger(&buf), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, code := range []int32{204, 204, 500, 500, 204, 204} {
		status.Store(code)
		_ = p.Ping(context.Background())
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		got = append(got, line[:strings.Index(line, " msg=")])
		if !strings.Contains(line, "database=main") {
			t.Errorf("line does not name the database: %s", line)
		}
	}
	want := []string{"level=info component=influxworker database=main", "level=warn component=influxworker database=main", "level=info component=influxworker database=main"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("log:\n%s\nwant three lines: up, down, up again", buf.String())
	}
	for _, want := range []string{`msg="database is up" version=1.6.7`, `msg="database is down: ping failed" err=`, `msg="database is up again" down_for=`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, buf.String())
		}
	}
}
