package influxworker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// These tests run against a real influxd; `go test -short` skips them.

// TestInfluxDBConcurrentWriters: concurrent writes coalesced into fewer
// requests are all stored, each point exactly once.
func TestInfluxDBConcurrentWriters(t *testing.T) {
	s := influxtest.Start(t)
	s.CreateDatabase(t, "batch")
	p := newTestPool(t, s.URL(), nil, func(c *Config) { c.Database, c.Pool.Workers = "batch", 2 })
	const writers, writes, n = 8, 10, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body bytes.Buffer
			for i := range writes {
				body.Reset()
				for j := range n {
					fmt.Fprintf(&body, "m,writer=w%d v=%d %d\n", w, i*n+j, 1700000000000+int64(i*n+j))
				}
				if err := p.Write(context.Background(), body.Bytes()); err != nil {
					t.Errorf("writer %d, write %d: %v", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := s.Query(t, "batch", `SELECT count("v"), sum("v") FROM "m" GROUP BY "writer"`)
	if len(got) != writers {
		t.Fatalf("stored series %+v, want %d writers", got, writers)
	}
	total := writes * n
	for _, ser := range got {
		if ser.Values[0][1] != json.Number(fmt.Sprint(total)) || ser.Values[0][2] != json.Number(fmt.Sprint(total*(total-1)/2)) {
			t.Errorf("writer %s: count and sum %v, want %d and %d", ser.Tags["writer"], ser.Values[0][1:], total, total*(total-1)/2)
		}
	}
	requests := value(t, p.metrics.m.requests.WithLabelValues("test", OpWrite, "204"))
	if requests >= writers*writes {
		t.Errorf("%v write requests for %d writes: nothing was coalesced", requests, writers*writes)
	}
	t.Logf("%d writes in %v requests", writers*writes, requests)
}

// TestInfluxDBConflictRefusedOnlyForItsWriter: a field-type conflict in a
// batch shared with a good write is refused to its own writer only, and
// the good write is stored.
func TestInfluxDBConflictRefusedOnlyForItsWriter(t *testing.T) {
	s := influxtest.Start(t)
	s.CreateDatabase(t, "conflict")
	s.Write(t, "conflict", "m,writer=old v=1 1700000000000\n") // v is a float
	p := newTestPool(t, s.URL(), nil, func(c *Config) { c.Database, c.Pool.Workers = "conflict", 1 })
	ctx := context.Background()

	// The first write holds the only worker while influxd is paused, so
	// that the next two share the open batch behind it.
	s.Pause()
	first := make(chan error, 1)
	go func() { first <- p.Write(ctx, []byte("m,writer=first v=1 1700000000000\n")) }()
	waitFor(t, "the first write to be sent", func() bool { return value(t, p.metrics.inflight) == 1 && openPoints(p) == 0 })
	bad, good := make(chan error, 1), make(chan error, 1)
	go func() { bad <- p.Write(ctx, []byte("m,writer=bad v=\"text\" 1700000000000\n")) }()
	go func() {
		good <- p.Write(ctx, []byte("m,writer=good v=2 1700000000000\nm,writer=good v=3 1700000000001\n"))
	}()
	waitFor(t, "both writes in the open batch", func() bool { return openPoints(p) == 3 })
	s.Resume()

	if err := <-first; err != nil {
		t.Fatalf("first: %v", err)
	}
	if err := <-good; err != nil {
		t.Fatalf("good write in a batch with a conflict: %v", err)
	}
	err := <-bad
	if !IsPermanent(err) || !strings.Contains(err.Error(), "field type conflict") {
		t.Fatalf("conflicting write: %v, want the permanent field type conflict", err)
	}
	if got := value(t, p.metrics.splits); got != 1 {
		t.Errorf("batch splits %v, want 1", got)
	}
	got := s.Query(t, "conflict", `SELECT sum("v") FROM "m" WHERE "writer" = 'good'`)
	if len(got) != 1 || got[0].Values[0][1] != json.Number("5") {
		t.Fatalf("good write stored as %+v, want sum 5", got)
	}
}
