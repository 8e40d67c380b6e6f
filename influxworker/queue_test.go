package influxworker

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestQueueBound: with every worker busy and pool.queue requests waiting,
// one more request is refused at once as overloaded, without being sent;
// the waiting ones are served once workers free up.
func TestQueueBound(t *testing.T) {
	release := make(chan struct{})
	var served atomic.Int64
	// A fake InfluxDB (named so: it stands in for a slow server) that holds
	// every write until released.
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		served.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer fake.Close()
	cfg := DefaultConfig
	cfg.Name, cfg.URL, cfg.Database = "slow", fake.URL, "db"
	cfg.Pool.Workers, cfg.Pool.Queue = 2, 3
	cfg.Pool.Retry.MaxAttempts = 1
	p, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := 0; i < 5; i++ { // 2 hold the workers, 3 fill the queue
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- p.Write(context.Background(), []byte("m value=1 1\n"))
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.waiting.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests queued", p.waiting.Load())
		}
		time.Sleep(time.Millisecond)
	}

	start := time.Now()
	err = p.Write(context.Background(), []byte("m value=1 2\n"))
	if !IsOverloaded(err) || IsPermanent(err) || Reason(err) != ReasonOverloaded {
		t.Fatalf("sixth write: %v; want a retryable overloaded error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the overloaded write took %v; want an immediate answer", d)
	}

	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("queued write: %v", err)
		}
	}
	if n := served.Load(); n != 5 {
		t.Errorf("the server got %d writes, want 5 (the refused one never sent)", n)
	}
	if err := p.Write(context.Background(), []byte("m value=1 3\n")); err != nil || errors.Is(err, ErrOverloaded) {
		t.Errorf("after the burst: %v", err)
	}
}
