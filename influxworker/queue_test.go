package influxworker

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// heldInflux is a fake InfluxDB (named so: it stands in for a slow
// server) that holds every request until release, and counts those it
// answered.
type heldInflux struct {
	*httptest.Server
	release func()
	served  atomic.Int64
}

func newHeldInflux(t *testing.T) *heldInflux {
	ch := make(chan struct{})
	h := &heldInflux{release: sync.OnceFunc(func() { close(ch) })}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-ch
		h.served.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	// Cleanups run last in, first out: release, then close.
	t.Cleanup(h.Close)
	t.Cleanup(h.release)
	return h
}

// TestQueueBound: with pool.workers batches being sent and pool.queue
// more waiting, a write that needs one more batch is refused at once as
// overloaded, without being sent, and Admit says so beforehand; the
// waiting ones are served once workers free up.
func TestQueueBound(t *testing.T) {
	fake := newHeldInflux(t)
	p := newTestPool(t, fake.URL, nil, func(c *Config) {
		c.Pool.Workers, c.Pool.Queue = 2, 3
		c.Pool.Batch.MaxPoints = 1 // a batch per write
		c.Pool.Retry.MaxAttempts = 1
	})

	if err := p.Admit(); err != nil {
		t.Fatalf("Admit of an idle pool: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := 0; i < 5; i++ { // 2 hold the workers, 3 fill the queue
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- p.Write(context.Background(), []byte("m value=1 1\n"))
		}()
	}
	waitFor(t, "5 batches in memory", func() bool { return batchesAlive(p) == 5 })
	if got := value(t, p.metrics.queued); got != 3 {
		t.Errorf("queue length %v, want 3", got)
	}

	for name, body := range map[string]string{
		"one more batch": "m value=1 2\n",
		// Refused before any of it is queued.
		"larger than all the room": strings.Repeat("m value=1 3\n", 10),
	} {
		start := time.Now()
		err := p.Write(context.Background(), []byte(body))
		if !IsOverloaded(err) || IsPermanent(err) || Reason(err) != ReasonOverloaded {
			t.Fatalf("%s: %v; want a retryable overloaded error", name, err)
		}
		if !strings.Contains(err.Error(), "but 5 of the 5 allowed (pool.workers 2 + pool.queue 3) are in memory") {
			t.Errorf("%s: message %q does not explain the bound", name, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: the overloaded write took %v; want an immediate answer", name, d)
		}
	}
	if got := batchesAlive(p); got != 5 {
		t.Fatalf("%d batches after the refusals, want 5", got)
	}
	if err := p.Admit(); !IsOverloaded(err) || !strings.Contains(err.Error(), "all 5 batches allowed (pool.workers 2 + pool.queue 3) are in memory and full") {
		t.Errorf("Admit of a full pool: %v; want overloaded, saying why", err)
	}
	if got := value(t, p.metrics.m.writeErrors.WithLabelValues(p.cfg.Name, ReasonOverloaded)); got != 3 {
		t.Errorf("write_errors_total{reason=overloaded} = %v after two refused writes and a refusal by Admit, want 3", got)
	}

	fake.release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("queued write: %v", err)
		}
	}
	if n := fake.served.Load(); n != 5 {
		t.Errorf("the server got %d writes, want 5 (the refused ones never sent)", n)
	}
	if err := p.Admit(); err != nil {
		t.Errorf("Admit after the burst: %v", err)
	}
	if err := p.Write(context.Background(), []byte("m value=1 3\n")); err != nil {
		t.Errorf("after the burst: %v", err)
	}
	if got := value(t, p.metrics.queued); got != 0 {
		t.Errorf("queue length %v after the burst, want 0", got)
	}
}

// TestSaturatedThenFull: a pool is Saturated once every batch it may hold
// is in memory, while the last one is still open to lines (a write that
// fits it is taken), and Full, refusing writes before they are made
// (Admit), once that one is closed too.
func TestSaturatedThenFull(t *testing.T) {
	fake := newHeldInflux(t)
	defer fake.release()
	p := newTestPool(t, fake.URL, nil, func(c *Config) {
		c.Pool.Workers, c.Pool.Queue = 1, 1
		c.Pool.Batch.MaxPoints = 2
	})
	state := func() string {
		return fmt.Sprintf("saturated %v, full %v, admit %v", p.Saturated(), p.Full(), p.Admit())
	}
	if p.Saturated() || p.Full() {
		t.Fatalf("idle pool: %s", state())
	}
	write := func(line string) {
		go func() { _ = p.Write(context.Background(), []byte(line)) }()
	}
	write("m value=1 1\n") // sent, held by the fake
	waitFor(t, "the first batch sent", func() bool { return batchesAlive(p) == 1 && openPoints(p) == 0 })
	if p.Saturated() {
		t.Fatalf("one of two batches in memory: %s", state())
	}
	write("m value=2 2\n") // opens the second batch, 1 of its 2 lines
	waitFor(t, "the second batch open", func() bool { return openPoints(p) == 1 })
	if !p.Saturated() || p.Full() || p.Admit() != nil {
		t.Fatalf("both batches in memory, the second open: %s; want saturated, not full", state())
	}
	write("m value=3 3\n") // fills and closes the second batch
	waitFor(t, "the second batch closed", func() bool { return openPoints(p) == 0 && batchesAlive(p) == 2 })
	if !p.Saturated() || !p.Full() || !IsOverloaded(p.Admit()) {
		t.Fatalf("both batches in memory and closed: %s; want saturated and full", state())
	}
}
