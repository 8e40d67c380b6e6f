package adapter

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/prompb"
)

// holdWriteSlot takes one of srv's write slots, as a request being
// decoded does, until the returned function is called.
func holdWriteSlot(srv *Server) func() {
	slots := srv.state.Load().writeSlots
	slots <- struct{}{}
	return func() { <-slots }
}

// writeWaiting posts body to url in the background, waits until it waits
// for its turn to be decoded (the only request to), checks that it is
// still unanswered a moment later, and returns where its answer comes.
func writeWaiting(t *testing.T, srv *Server, url string, body []byte) <-chan response {
	t.Helper()
	answer := make(chan response, 1)
	go func() {
		r, err := postOverload(http.DefaultClient, url, body)
		if err != nil {
			r.body = err.Error()
		}
		answer <- r
	}()
	waitFor(t, 5*time.Second, "the request to wait for its turn", func() bool { return testutil.ToFloat64(srv.metrics.writesWaiting) == 1 })
	time.Sleep(50 * time.Millisecond)
	select {
	case r := <-answer:
		t.Fatalf("request answered %d (%s) while it should wait for its turn", r.status, r.body)
	default:
	}
	return answer
}

// TestWriteMaxConcurrency holds the only write slot (write.max_concurrency
// 1): a request waits, counted in promflux_write_requests_waiting, and is
// stored once the slot is free.
func TestWriteMaxConcurrency(t *testing.T) {
	fake := newFakeInflux(t)
	srv, ts := startAdapter(t, fakeConfig(fake.URL)+"write: {max_concurrency: 1}\n")
	url := ts.URL + "/api/v1/write"
	release := holdWriteSlot(srv)

	second := writeWaiting(t, srv, url, writeV1Body(t, series("second", []string{"job", "x"}, prompb.Sample{Value: 2, Timestamp: 2000})))

	release()
	if r := <-second; r.status != http.StatusNoContent {
		t.Fatalf("second request: status %d (%s), want 204", r.status, r.body)
	}
	got := fake.written()
	want := []string{"second,job=x value=2 2000"}
	if !slices.Equal(got, want) {
		t.Errorf("InfluxDB got %q, want %q", got, want)
	}
	if n := testutil.ToFloat64(srv.metrics.writesWaiting); n != 0 {
		t.Errorf("promflux_write_requests_waiting = %v after every request, want 0", n)
	}
}

// TestWriteMaxWait: a request that waits longer than write.max_wait for
// the only slot is answered as overloaded, with write.overload_status and
// Retry-After, and stores nothing; the next one after the slot is free
// gets its turn.
func TestWriteMaxWait(t *testing.T) {
	fake := newFakeInflux(t)
	srv, ts := startAdapter(t, fakeConfig(fake.URL)+"write: {max_concurrency: 1, max_wait: 200ms, overload_status: 429}\n")
	url := ts.URL + "/api/v1/write"
	release := holdWriteSlot(srv)

	start := time.Now()
	// A client that gives up, so that a wait that never ends fails the test.
	client := &http.Client{Timeout: 5 * time.Second}
	r, err := postOverload(client, url, writeV1Body(t, series("late", []string{"job", "x"}, prompb.Sample{Value: 2, Timestamp: 2000})))
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" ||
		!strings.Contains(r.body, "waited 200ms for one of the 1 requests decoded at once (write.max_concurrency)") {
		t.Fatalf("request past max_wait: status %d, Retry-After %q, body %q; want 429 with Retry-After saying why", r.status, r.header.Get("Retry-After"), r.body)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("answered after %s, before max_wait", waited)
	}
	release()
	if r := writeV1(t, url, series("next", []string{"job", "x"}, prompb.Sample{Value: 3, Timestamp: 3000})); r.status != http.StatusNoContent {
		t.Fatalf("request after the slot was freed: status %d (%s), want 204", r.status, r.body)
	}
	got := fake.written()
	if slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "late,") }) || !slices.Contains(got, "next,job=x value=3 3000") {
		t.Errorf("InfluxDB got %q: want the request after the slot was freed and not the one that gave up", got)
	}
}

// TestWriteBodyCutOff: a body that stops arriving (a broken connection,
// the server's read timeout) is answered 503 with Retry-After, so that the
// sender sends it again rather than dropping it as invalid.
func TestWriteBodyCutOff(t *testing.T) {
	fake := newFakeInflux(t)
	srv, _ := startAdapter(t, fakeConfig(fake.URL))
	req := httptest.NewRequest(http.MethodPost, "/api/v1/write", iotest.ErrReader(os.ErrDeadlineExceeded))
	req.Header.Set("Content-Type", contentTypeV1)
	req.Header.Set("Content-Encoding", "snappy")
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "cannot read request body") {
		t.Fatalf("cut-off body: status %d, Retry-After %q, body %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

// TestWriteRefusedUnreadWhenPoolFull: when the one database a write can go
// to holds all the batches its pool may (pool.workers + pool.queue), the
// write is answered as overloaded before its body is read: a request whose
// body never arrives gets its answer.
func TestWriteRefusedUnreadWhenPoolFull(t *testing.T) {
	held, release := newHeldInflux(t)
	defer release()
	srv, ts := startAdapter(t, fmt.Sprintf("databases:\n  - {name: db0, url: %q, database: p, pool: {workers: 1, queue: 1, batch: {max_points: 1}, timeout: 30s}}\n", held.URL))
	url := ts.URL + "/api/v1/write"
	fillPool(t, srv, url, "db0")
	waitFor(t, 5*time.Second, "both batches of the pool in memory", func() bool {
		return srv.state.Load().pools["db0"].Admit() != nil
	})

	bodyR, bodyW := io.Pipe() // a body that never arrives
	defer bodyW.Close()
	req, _ := http.NewRequest(http.MethodPost, url, bodyR)
	req.Header.Set("Content-Type", contentTypeV1)
	req.Header.Set("Content-Encoding", "snappy")
	client := &http.Client{Timeout: 10 * time.Second} // fails the test rather than hang
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("a write to a full pool got no answer before its body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), "all 2 batches allowed (pool.workers 1 + pool.queue 1) are in memory and full") {
		t.Fatalf("write to a full pool: %d %q, want 503 with Retry-After saying why", resp.StatusCode, body)
	}
}

// newHeldInflux starts a fake InfluxDB (named so: it stands in for a slow
// server) that holds every write until release is called. The test defers
// release, so that the writes end before the cleanups close promflux.
func newHeldInflux(t *testing.T) (held *httptest.Server, release func()) {
	ch := make(chan struct{})
	held = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/write" {
			<-ch
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(held.Close)
	return held, func() { close(ch) }
}

// fillPool sends two writes of {job="x"} in the background: against
// newHeldInflux and a pool of 1 worker, 1 queued batch and 1 point per
// batch, they hold every batch the pool db may hold.
func fillPool(t *testing.T, srv *Server, url, db string) {
	t.Helper()
	for i := range 2 {
		body := writeV1Body(t, series("held", []string{"job", "x"}, prompb.Sample{Value: 1, Timestamp: int64(i)}))
		go func() { _, _ = postOverload(http.DefaultClient, url, body) }()
	}
	waitFor(t, 5*time.Second, "every batch of pool "+db+" in memory", func() bool {
		return srv.state.Load().pools[db].Saturated()
	})
}

// TestWriteOneAtATimeWhileAPoolIsSaturated: while a database's pool holds
// every batch it may, requests are decoded one at a time, whatever
// write.max_concurrency (the pool refuses what is decoded for it, and
// decoding more at once would only take the CPU everything else needs);
// a request for another database still gets its turn and is stored.
func TestWriteOneAtATimeWhileAPoolIsSaturated(t *testing.T) {
	held, release := newHeldInflux(t)
	defer release()
	other := newFakeInflux(t)
	srv, ts := startAdapter(t, fmt.Sprintf(`databases:
  - {name: db0, url: %q, database: p, pool: {workers: 1, queue: 1, batch: {max_points: 1}, timeout: 30s}}
  - {name: db1, url: %q, database: q}
routes:
  - {match: '{job="other"}', database: db1}
default_database: db0
write: {max_concurrency: 4}
`, held.URL, other.URL))
	url := ts.URL + "/api/v1/write"
	fillPool(t, srv, url, "db0")

	// The one request decoded at a time while db0 is saturated.
	st := srv.state.Load()
	st.congestedSlot <- struct{}{}
	answer := writeWaiting(t, srv, url, writeV1Body(t, series("other", []string{"job", "other"}, prompb.Sample{Value: 3, Timestamp: 3000})))
	if n := len(st.writeSlots); n != 1 {
		t.Errorf("%d of the 4 write slots taken, want 1: the waiting request's", n)
	}

	<-st.congestedSlot
	if r := <-answer; r.status != http.StatusNoContent {
		t.Fatalf("write for db1: status %d (%s), want 204", r.status, r.body)
	}
	if got, want := other.written(), []string{"other,job=other value=3 3000"}; !slices.Equal(got, want) {
		t.Errorf("db1 got %q, want %q", got, want)
	}
	if len(st.writeSlots) != 0 || len(st.congestedSlot) != 0 {
		t.Errorf("slots still taken after the answer: %d write, %d congested", len(st.writeSlots), len(st.congestedSlot))
	}
}

// trickleWrites starts n writes whose bodies stop after their first bytes
// until the test ends, and waits until they are in flight
// (state.writesInFlight): their bodies are being read, and they hold no
// turn to be decoded.
func trickleWrites(t *testing.T, srv *Server, url string, n int) {
	t.Helper()
	st := srv.state.Load()
	want := st.writesInFlight.Load() + int64(n)
	body := writeV1Body(t, series("trickled", []string{"job", "x"}, prompb.Sample{Value: 1, Timestamp: 1000}))
	for range n {
		bodyR, bodyW := io.Pipe()
		// Before the server closes (cleanups run last first): the request
		// ends with its body.
		t.Cleanup(func() { _ = bodyW.CloseWithError(io.ErrUnexpectedEOF) })
		req, err := http.NewRequest(http.MethodPost, url, bodyR)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentTypeV1)
		req.Header.Set("Content-Encoding", "snappy")
		go func() { _, _ = bodyW.Write(body[:len(body)/2]) }()
		go func() {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	waitFor(t, 5*time.Second, fmt.Sprintf("%d writes in flight", want), func() bool { return st.writesInFlight.Load() == want })
}

// TestWriteBacklogLeavesACore: while more write requests are in flight
// than write.max_concurrency, at most GOMAXPROCS - 1 of them (at least
// one) are decoded at once: decoding runs for milliseconds without
// blocking, and with every core at it the goroutines the network readies
// (the bodies of the others, a health check) wait behind the decoders.
// With no more in flight than write.max_concurrency, a request is decoded
// beside the others as before.
func TestWriteBacklogLeavesACore(t *testing.T) {
	fake := newFakeInflux(t)
	srv, ts := startAdapter(t, fakeConfig(fake.URL)+"write: {max_concurrency: 2}\n")
	url := ts.URL + "/api/v1/write"
	st := srv.state.Load()
	if want := max(1, min(2, runtime.GOMAXPROCS(0)-1)); cap(st.backlogSlots) != want {
		t.Fatalf("%d turns while backlogged, want %d: GOMAXPROCS %d - 1, at least 1, at most max_concurrency 2", cap(st.backlogSlots), want, runtime.GOMAXPROCS(0))
	}
	// Every turn of a backlog taken, as by requests being decoded.
	for range cap(st.backlogSlots) {
		st.backlogSlots <- struct{}{}
	}

	// 2 in flight, the trickled one and this one: no backlog.
	trickleWrites(t, srv, url, 1)
	if r := writeV1(t, url, series("beside", []string{"job", "x"}, prompb.Sample{Value: 1, Timestamp: 1000})); r.status != http.StatusNoContent {
		t.Fatalf("write with 2 in flight: status %d (%s), want 204", r.status, r.body)
	}

	// 3 in flight, over max_concurrency: the request waits for a turn of
	// the backlog, with a write slot.
	trickleWrites(t, srv, url, 1)
	answer := writeWaiting(t, srv, url, writeV1Body(t, series("backlogged", []string{"job", "x"}, prompb.Sample{Value: 2, Timestamp: 2000})))
	if n := len(st.writeSlots); n != 1 {
		t.Errorf("%d of the 2 write slots taken, want 1: the waiting request's", n)
	}

	for range cap(st.backlogSlots) {
		<-st.backlogSlots
	}
	if r := <-answer; r.status != http.StatusNoContent {
		t.Fatalf("backlogged write: status %d (%s), want 204", r.status, r.body)
	}
	if got, want := fake.written(), []string{"beside,job=x value=1 1000", "backlogged,job=x value=2 2000"}; !slices.Equal(got, want) {
		t.Errorf("InfluxDB got %q, want %q", got, want)
	}
	if len(st.writeSlots) != 0 || len(st.backlogSlots) != 0 {
		t.Errorf("slots still taken after the answer: %d write, %d backlog", len(st.writeSlots), len(st.backlogSlots))
	}
}
