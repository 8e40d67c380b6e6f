package influxworker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// freeWorker gives back a worker the test took to keep the pool busy, and
// lets the batches waiting for one go.
func freeWorker(p *Pool) {
	p.batches.mu.Lock()
	<-p.workers
	p.dispatchLocked()
	p.batches.mu.Unlock()
}

// TestWriteNotStarvedByQueries: a worker set free goes to a query waiting
// in acquire before anything else, so with queries always waiting a write
// batch would never get one; handing workers over keeps writes going.
func TestWriteNotStarvedByQueries(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/write") {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		time.Sleep(10 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"results":[{"statement_id":0}]}`)
	}))
	defer fake.Close()
	p := newTestPool(t, fake.URL, nil, func(c *Config) { c.Pool.Workers, c.Pool.Queue = 8, 16 })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 12 { // more queries than workers: some always wait
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = p.Query(context.Background(), "SELECT 1")
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	waitFor(t, "queries waiting", func() bool { return p.waiting.Load() > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.Write(ctx, []byte("m v=1 1\n")); err != nil {
		t.Fatalf("write while queries wait for workers: %v", err)
	}
}

// TestOverloadedWriteQueuesNothing: a Write that needs more batches than the
// bound allows, because of max_points rather than bytes, is refused whole:
// none of its lines are sent later.
func TestOverloadedWriteQueuesNothing(t *testing.T) {
	srv := &partServer{}
	fake := httptest.NewServer(srv)
	defer fake.Close()
	p := newTestPool(t, fake.URL, nil, func(c *Config) {
		c.Pool.Workers, c.Pool.Queue = 1, 1
		c.Pool.Batch.MaxPoints = 3
	})
	p.workers <- struct{}{} // the only worker is busy
	err := p.Write(context.Background(), lines("a", 10))
	if !IsOverloaded(err) {
		t.Fatalf("Write of 10 lines with room for 2 batches of 3: %v, want overloaded", err)
	}
	if n := batchesAlive(p); n != 0 {
		t.Errorf("%d batches in memory after the refusal, want 0", n)
	}
	freeWorker(p)
	if err := p.Write(context.Background(), lines("b", 2)); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, b := range srv.bodies {
		if strings.Contains(b, "writer=a,") || strings.Contains(b, "writer=a ") {
			t.Errorf("lines of the refused write were sent: %q", b)
		}
	}
}

// TestAbandonedBatchNotSent: a batch whose writers all stopped waiting
// while it waited for a worker is dropped, not sent to a database that is
// already behind.
func TestAbandonedBatchNotSent(t *testing.T) {
	srv := &partServer{}
	fake := httptest.NewServer(srv)
	defer fake.Close()
	p := newTestPool(t, fake.URL, nil, func(c *Config) { c.Pool.Workers = 1 })
	// Repeated, since a batch set free races with its writer's cancel.
	for i := range 20 {
		p.workers <- struct{}{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Write(ctx, fmt.Appendf(nil, "gone v=%d 1\n", i)) }()
		waitFor(t, "queued", func() bool { return openPoints(p) == 1 })
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Write = %v, want canceled", err)
		}
		freeWorker(p)
		waitFor(t, "drained", func() bool { return batchesAlive(p) == 0 })
	}
	if err := p.Write(context.Background(), []byte("kept v=1 1\n")); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.bodies) != 1 || strings.Contains(srv.bodies[0], "gone") {
		t.Errorf("bodies %q, want only the last write's", srv.bodies)
	}
}
