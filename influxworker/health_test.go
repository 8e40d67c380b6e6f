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
)

// TestPingBypassesWorkers: a pool whose only worker is held by a slow write
// still answers Ping at once, and Health and the up gauge follow the pings.
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
	if h := p.Health(); h.Up || !h.Checked.IsZero() {
		t.Fatalf("Health before any ping = %+v, want the zero Health", h)
	}
	go func() { _ = p.Write(context.Background(), []byte("m v=1 1\n")) }()
	<-writing

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	before := time.Now()
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("ping of a saturated pool: %v", err)
	}
	h := p.Health()
	if !h.Up || h.Err != nil || h.Checked.Before(before) || h.Latency <= 0 {
		t.Fatalf("Health = %+v, want up, checked now", h)
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
	if h := p.Health(); !h.Checked.IsZero() {
		t.Fatalf("a ping the caller canceled was recorded: %+v", h)
	}

	err = p.Ping(context.Background())
	h := p.Health()
	if err == nil || h.Up || h.Err != err || h.Checked.IsZero() {
		t.Fatalf("Ping() = %v, Health = %+v; want down with the ping's error", err, h)
	}
	if got := value(t, p.metrics.m.up.WithLabelValues("test")); got != 0 {
		t.Errorf("up = %v, want 0", got)
	}
	if got := value(t, p.metrics.m.pingDuration.WithLabelValues("test")); got != h.Latency.Seconds() {
		t.Errorf("ping duration %v, want %v", got, h.Latency.Seconds())
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
