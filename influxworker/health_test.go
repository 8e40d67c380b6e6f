package influxworker

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	if !IsTimeout(err) || attempts.Load() != 1 {
		t.Fatalf("Ping() = %v after %d attempts, want a timeout after 1", err, attempts.Load())
	}
	if want := "no answer within 100ms"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("message %q does not name the bound %q", err, want)
	}
}
