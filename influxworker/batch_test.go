package influxworker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
)

// waitFor polls cond until it holds, failing the test after 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func batchesAlive(p *Pool) int {
	p.batches.mu.Lock()
	defer p.batches.mu.Unlock()
	return p.batches.alive
}

// openPoints is the number of lines in the open batch.
func openPoints(p *Pool) int {
	p.batches.mu.Lock()
	defer p.batches.mu.Unlock()
	if p.batches.open == nil {
		return 0
	}
	return p.batches.open.points
}

// holdingInflux is a fake InfluxDB that records write bodies and holds the
// first one until release is closed; fail decides the status of a body (0
// for 204).
type holdingInflux struct {
	release chan struct{}
	held    chan struct{} // closed when the first write arrived
	once    sync.Once
	mu      sync.Mutex
	bodies  []string
	fail    func(body string, attempt int) (int, string)
}

func newHoldingInflux(t *testing.T, fail func(string, int) (int, string)) (*holdingInflux, string) {
	h := &holdingInflux{release: make(chan struct{}), held: make(chan struct{}), fail: fail}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	t.Cleanup(h.unblock)
	return h, ts.URL
}

func (h *holdingInflux) unblock() {
	select {
	case <-h.release:
	default:
		close(h.release)
	}
}

func (h *holdingInflux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	first := false
	h.once.Do(func() { first = true })
	if first {
		close(h.held)
		<-h.release
	}
	h.mu.Lock()
	h.bodies = append(h.bodies, string(b))
	n := len(h.bodies)
	h.mu.Unlock()
	if h.fail != nil {
		if code, msg := h.fail(string(b), n); code != 0 {
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":%q}`, msg)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *holdingInflux) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.bodies)
}

// lines returns n lines of line protocol unique to writer.
func lines(writer string, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "m,writer=%s v=%d %d\n", writer, i, 1700000000000+i)
	}
	return b.Bytes()
}

// coalesce makes the writes land in one batch: a first write takes the
// only worker and is held by the fake, the others fill the open batch
// behind it, then the fake is released. It returns the error of every
// write, the first one's last.
func coalesce(t *testing.T, p *Pool, h *holdingInflux, bodies ...[]byte) []error {
	t.Helper()
	errs := make([]error, len(bodies)+1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[len(bodies)] = p.Write(context.Background(), []byte("first v=1 1\n"))
	}()
	<-h.held
	want := 0
	for i, b := range bodies {
		want += countLines(b)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Write(context.Background(), b)
		}()
	}
	waitFor(t, "the writes to fill the open batch", func() bool { return openPoints(p) == want })
	h.unblock()
	wg.Wait()
	return errs
}

func TestBatchCoalescesConcurrentWrites(t *testing.T) {
	h, url := newHoldingInflux(t, nil)
	p := newTestPool(t, url, nil, func(c *Config) { c.Pool.Workers = 1 })
	const writers, n = 8, 100
	var bodies [][]byte
	for i := range writers {
		bodies = append(bodies, lines(fmt.Sprint(i), n))
	}
	for i, err := range coalesce(t, p, h, bodies...) {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	got := h.got()
	if len(got) != 2 {
		t.Fatalf("%d write requests for %d writes, want 2: the first alone, then the rest together", len(got), writers+1)
	}
	// Each Write's lines exactly once, whole and in one piece.
	for i, b := range bodies {
		if c := strings.Count(got[1], string(b)); c != 1 {
			t.Errorf("writer %d's lines appear %d times in the coalesced body, want 1", i, c)
		}
	}
	if want := writers*n + 1; int(value(t, p.metrics.pointsWritten)) != want {
		t.Errorf("points written %v, want %d", value(t, p.metrics.pointsWritten), want)
	}
	// A writer is answered before its sender frees the batch.
	waitFor(t, "every batch to be freed after all writes returned", func() bool { return batchesAlive(p) == 0 })
}

func TestBatchCuts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxPoints int
		maxBytes  units.Base2Bytes
		in        string
		want      []string
	}{
		{"max_points", 3, units.MiB, "a 1\nb 2\nc 3\nd 4\ne 5\nf 6\ng 7\n", []string{"a 1\nb 2\nc 3\n", "d 4\ne 5\nf 6\n", "g 7\n"}},
		{"max_bytes", 100, 9, "a 1\nb 2\nc 3\nd 4\ne 5\n", []string{"a 1\nb 2\n", "c 3\nd 4\n", "e 5\n"}},
		{"line longer than max_bytes alone", 100, 9, "a 1\nlonglonglong 1\nb 2\n", []string{"a 1\n", "longlonglong 1\n", "b 2\n"}},
		{"missing last newline added", 100, units.MiB, "a 1\nb 2", []string{"a 1\nb 2\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &partServer{}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			p := newTestPool(t, ts.URL, nil, func(c *Config) {
				c.Pool.Workers = 1 // one request at a time: bodies arrive in order
				c.Pool.Batch.MaxPoints, c.Pool.Batch.MaxBytes = tc.maxPoints, tc.maxBytes
			})
			if err := p.Write(context.Background(), []byte(tc.in)); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(srv.bodies, tc.want) {
				t.Fatalf("bodies %q, want %q", srv.bodies, tc.want)
			}
		})
	}
}

func TestBatchLinger(t *testing.T) {
	for _, tc := range []struct {
		name         string
		linger       time.Duration
		wantRequests int
	}{
		// Two writes 20ms apart to an idle pool: sent apart without
		// linger, together when the first batch waits for more.
		{"linger 0 sends at once", 0, 2},
		{"linger gathers", time.Second, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &partServer{}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			p := newTestPool(t, ts.URL, nil, func(c *Config) { c.Pool.Batch.Linger = model.Duration(tc.linger) })
			first := make(chan error, 1)
			start := time.Now()
			go func() { first <- p.Write(context.Background(), []byte("a 1\n")) }()
			waitFor(t, "the first write to be taken", func() bool { return batchesAlive(p) == 1 || len(first) == 1 })
			time.Sleep(20 * time.Millisecond)
			if err := p.Write(context.Background(), []byte("b 2\n")); err != nil {
				t.Fatal(err)
			}
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			if len(srv.bodies) != tc.wantRequests {
				t.Fatalf("bodies %q, want %d requests", srv.bodies, tc.wantRequests)
			}
			if tc.linger > 0 && time.Since(start) < tc.linger {
				t.Fatalf("the batch left after %s, before its linger of %s", time.Since(start), tc.linger)
			}
		})
	}
}

// TestBatchSpreadsOverIdleWorkers: a large write to an idle pool goes out
// as pieces of at least minSpreadBytes, one per worker that is free, all
// in flight at once; a smaller one, or one under a linger, goes whole.
func TestBatchSpreadsOverIdleWorkers(t *testing.T) {
	line := "node_cpu_seconds_total,cpu=0,instance=host-0001:9100,job=node,mode=user value=1 1700000000000\n"
	for _, tc := range []struct {
		name   string
		bytes  int
		linger time.Duration
		pieces int
	}{
		{"spread over 2", 5 * minSpreadBytes / 2, 0, 2},
		{"spread over 3", 7 * minSpreadBytes / 2, 0, 3},
		{"smaller: whole", 2*minSpreadBytes - len(line), 0, 1},
		{"linger: whole", 5 * minSpreadBytes / 2, time.Hour, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				mu       sync.Mutex
				bodies   []string
				together = make(chan struct{})
			)
			// A fake InfluxDB (named so) that holds every write until
			// tc.pieces of them are in flight at once.
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, err := readBody(r)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				mu.Lock()
				bodies = append(bodies, string(b))
				if len(bodies) == tc.pieces {
					close(together)
				}
				mu.Unlock()
				select {
				case <-together:
				case <-time.After(5 * time.Second):
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer ts.Close()
			p := newTestPool(t, ts.URL, nil, func(c *Config) {
				c.Pool.Workers = 4
				c.Pool.Batch.Linger = model.Duration(tc.linger)
			})
			in := strings.Repeat(line, tc.bytes/len(line))
			if tc.linger > 0 {
				// The write ends the batch: it is cut when full, or sent
				// once it lingered; a write of max_points lines is.
				p.cfg.Pool.Batch.MaxPoints = strings.Count(in, "\n")
			}
			start := time.Now()
			if err := p.Write(context.Background(), []byte(in)); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("the write took %v: its pieces were not in flight together", d)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(bodies) != tc.pieces {
				t.Fatalf("%d write requests, want %d", len(bodies), tc.pieces)
			}
			slices.Sort(bodies) // the pieces arrive in any order; the lines are all the same
			if got := strings.Join(bodies, ""); got != in {
				t.Errorf("the pieces hold %d bytes, want the write's %d", len(got), len(in))
			}
			for _, b := range bodies {
				if tc.pieces > 1 && (len(b) < minSpreadBytes || len(b) > len(in)/tc.pieces+len(in)/(8*tc.pieces)) {
					t.Errorf("a piece of %d bytes, want about %d and at least %d", len(b), len(in)/tc.pieces, minSpreadBytes)
				}
			}
		})
	}
}

func TestBatchCallerStopsWaiting(t *testing.T) {
	h, url := newHoldingInflux(t, nil)
	p := newTestPool(t, url, nil, func(c *Config) { c.Pool.Workers = 1 })
	firstDone := make(chan error, 1)
	go func() { firstDone <- p.Write(context.Background(), []byte("first v=1 1\n")) }()
	<-h.held

	// b and c share the open batch; b's caller gives up and reuses its
	// buffer at once, c's waits.
	b := []byte("m,w=b v=1 1\n")
	ctx, cancel := context.WithCancel(context.Background())
	bDone := make(chan error, 1)
	go func() { bDone <- p.Write(ctx, b) }()
	waitFor(t, "b to be queued", func() bool { return openPoints(p) == 1 })
	cDone := make(chan error, 1)
	go func() { cDone <- p.Write(context.Background(), []byte("m,w=c v=1 1\n")) }()
	waitFor(t, "c to be queued", func() bool { return openPoints(p) == 2 })
	cancel()
	err := <-bDone
	if !errors.Is(err, context.Canceled) || Reason(err) != ReasonCanceled {
		t.Fatalf("canceled write: %v, want context.Canceled", err)
	}
	copy(b, "garbage garbage\n")

	h.unblock()
	if err := <-cDone; err != nil {
		t.Fatalf("c: %v", err)
	}
	if err := <-firstDone; err != nil {
		t.Fatalf("first: %v", err)
	}
	got := h.got()
	if len(got) != 2 || got[1] != "m,w=b v=1 1\nm,w=c v=1 1\n" {
		t.Fatalf("bodies %q: want b's lines as they were when Write was called, then c's", got)
	}
}

func TestBatchAttribution(t *testing.T) {
	refuse := func(body string, _ int) (int, string) {
		return codeIf(strings.Contains(body, "bad"), 400, "partial write: field type conflict: input field \"v\" on measurement \"m\" is type string, already exists as type float dropped=1")
	}
	h, url := newHoldingInflux(t, refuse)
	p := newTestPool(t, url, nil, func(c *Config) { c.Pool.Workers = 1 })
	good1, bad, good2 := lines("good1", 3), []byte("m,writer=bad v=\"bad\" 1\n"), lines("good2", 2)
	errs := coalesce(t, p, h, good1, bad, good2)
	if errs[0] != nil || errs[2] != nil || errs[3] != nil {
		t.Fatalf("innocent writes failed: %v", errs)
	}
	if !IsPermanent(errs[1]) || !strings.Contains(errs[1].Error(), "field type conflict") {
		t.Fatalf("bad write: %v, want the permanent refusal", errs[1])
	}
	// The writes joined the batch in any order; each is sent again alone.
	got := h.got()
	if len(got) != 5 || len(got[1]) != len(good1)+len(bad)+len(good2) {
		t.Fatalf("bodies %q: want the first, the coalesced one, then each write alone", got)
	}
	alone := got[2:]
	slices.Sort(alone)
	want := []string{string(good1), string(good2), string(bad)}
	slices.Sort(want)
	if !slices.Equal(alone, want) {
		t.Fatalf("bodies sent alone %q, want %q", alone, want)
	}
	if got := value(t, p.metrics.pointsWritten); got != 6 {
		t.Errorf("points written %v, want 6 (first, good1, good2)", got)
	}
	if got := value(t, p.metrics.splits); got != 1 {
		t.Errorf("batch splits %v, want 1", got)
	}
}

func TestBatchRetry(t *testing.T) {
	for _, tc := range []struct {
		name        string
		failures    int
		maxAttempts int
		wantErr     string
		wantBodies  int
	}{
		{"503 then success", 1, 3, "", 3},
		{"503 to every writer", 10, 2, "503 Service Unavailable: busy", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fail := func(_ string, n int) (int, string) {
				// The held first body is request 1; the batch's attempts
				// follow.
				return codeIf(n > 1 && n-1 <= tc.failures, 503, "busy")
			}
			h, url := newHoldingInflux(t, fail)
			p := newTestPool(t, url, nil, func(c *Config) {
				c.Pool.Workers = 1
				c.Pool.Retry = RetryConfig{MaxAttempts: tc.maxAttempts, MinBackoff: model.Duration(time.Millisecond), MaxBackoff: model.Duration(time.Millisecond)}
			})
			errs := coalesce(t, p, h, lines("a", 2), lines("b", 2))
			for i, err := range errs[:2] {
				if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || IsPermanent(err) || !strings.Contains(err.Error(), tc.wantErr)) {
					t.Errorf("write %d: %v, want %q", i, err, tc.wantErr)
				}
			}
			got := h.got()
			if len(got) != tc.wantBodies || got[1] != got[len(got)-1] {
				t.Fatalf("bodies %q: want the same coalesced body %d times", got, tc.wantBodies-1)
			}
			if got := value(t, p.metrics.m.retries.WithLabelValues("test", OpWrite)); got != float64(tc.wantBodies-2) {
				t.Errorf("retries %v, want %d", got, tc.wantBodies-2)
			}
		})
	}
}

// TestBatchNoGoroutineLeft: once writes returned, no goroutine of the pool
// remains, with or without linger.
func TestBatchNoGoroutineLeft(t *testing.T) {
	srv := &partServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	p := newTestPool(t, ts.URL, nil, func(c *Config) { c.Pool.Workers = 2 })
	if err := p.Write(context.Background(), []byte("warm v=1 1\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the warm-up batch to be freed", func() bool { return batchesAlive(p) == 0 })
	base := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Write(context.Background(), lines(fmt.Sprint(i), 50)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	waitFor(t, "the batches to be freed", func() bool { return batchesAlive(p) == 0 })
	// Connections of the HTTP transport come and go with their own
	// goroutines; the pool's own are gone once no batch is alive.
	p.Close()
	waitFor(t, "the goroutine count to return to its baseline", func() bool { return runtime.NumGoroutine() <= base })
}

// FuzzEnqueue checks the batches that Writes are cut into: together they
// hold every line once, in order, each ending with '\n'; no batch exceeds
// max_points or max_bytes unless it is a single line; the segments of the
// writers tile the batches.
func FuzzEnqueue(f *testing.F) {
	f.Add([]byte("m v=1 1\nm v=2 2\n"), []byte("x v=1"), uint8(1), uint16(8))
	f.Add([]byte("a\n\n\nbbbbbbbbbbbbbb\nc"), []byte("d\n"), uint8(2), uint16(3))
	f.Add([]byte(""), []byte("e"), uint8(0), uint16(0))
	f.Fuzz(func(t *testing.T, w1, w2 []byte, maxPoints uint8, maxBytes uint16) {
		p := newTestPool(t, "http://127.0.0.1:1", nil, func(c *Config) {
			c.Pool.Workers, c.Pool.Queue = 1, 1<<16
			c.Pool.Batch.MaxPoints = int(maxPoints) + 1
			c.Pool.Batch.MaxBytes = units.Base2Bytes(maxBytes) + 1
		})
		// The only worker is taken: nothing is sent, the batches stay.
		p.workers <- struct{}{}
		var want []byte
		for _, w := range [][]byte{w1, w2} {
			if len(w) == 0 {
				continue
			}
			if err := p.enqueue(context.Background(), &waiter{ctx: context.Background(), pending: 1, done: make(chan struct{})}, w); err != nil {
				t.Fatal(err)
			}
			want = append(want, w...)
			if w[len(w)-1] != '\n' {
				want = append(want, '\n')
			}
		}
		all := slices.Clone(p.batches.ready)
		if p.batches.open != nil {
			all = append(all, p.batches.open)
		}
		var got []byte
		lim := p.batchLimits()
		for i, o := range all {
			got = append(got, o.buf...)
			if len(o.buf) == 0 || o.buf[len(o.buf)-1] != '\n' {
				t.Fatalf("batch %d %q does not end with a newline", i, o.buf)
			}
			if o.points != countLines(o.buf) {
				t.Fatalf("batch %d %q counts %d points", i, o.buf, o.points)
			}
			if o.points > lim.maxPoints || len(o.buf) > lim.maxBytes && o.points > 1 {
				t.Fatalf("batch %d of %d points, %d bytes exceeds %d points, %d bytes", i, o.points, len(o.buf), lim.maxPoints, lim.maxBytes)
			}
			end := 0
			for _, sg := range o.segs {
				if sg.start != end || sg.points != countLines(o.buf[sg.start:sg.end]) {
					t.Fatalf("batch %d: segment %+v after %d", i, sg, end)
				}
				end = sg.end
			}
			if end != len(o.buf) {
				t.Fatalf("batch %d: segments end at %d of %d bytes", i, end, len(o.buf))
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("batches hold %q, want %q", got, want)
		}
		p.batches.mu.Lock()
		if p.batches.linger != nil {
			p.batches.linger.Stop()
		}
		p.batches.mu.Unlock()
	})
}
