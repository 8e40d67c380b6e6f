package adapter

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// Overload scenario: many more concurrent writers than the pool can serve,
// against a sink that takes its time over every write.
const (
	overloadWriters     = 200
	overloadRequests    = 3   // per writer
	overloadSeries      = 100 // per request, one sample each
	overloadWorkers     = 2
	overloadQueue       = 4
	overloadSinkLatency = 20 * time.Millisecond
	// overloadBodyBytes is pool.max_body_bytes: writes may be coalesced
	// into bodies up to this size, so it bounds the line protocol each of
	// the workers+queue bodies holds.
	overloadBodyBytes = 128 << 10
	// overloadPad is a label value that makes every line long. It is the
	// same in every series, so snappy shrinks it to almost nothing: the
	// bodies in flight on the client side stay small while the line
	// protocol promflux holds per request is large, which is what makes an
	// unbounded queue visible in the heap.
	overloadPadBytes = 800
)

// slowSink is a fake InfluxDB for overload tests: every /write takes
// latency, and the points it accepted are counted per request id (the
// value of the id tag). Everything else answers 204, like InfluxDB's /ping.
type slowSink struct {
	*httptest.Server
	latency time.Duration

	mu     sync.Mutex
	points map[string]int
	writes int
}

func newSlowSink(t *testing.T, latency time.Duration) *slowSink {
	s := &slowSink{latency: latency, points: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *slowSink) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/write" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	counts := map[string]int{}
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		counts[tagValue(sc.Bytes(), "id")]++
	}
	if err := sc.Err(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	time.Sleep(s.latency)
	s.mu.Lock()
	for id, n := range counts {
		s.points[id] += n
	}
	s.writes++
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// tagValue returns the value of tag key in a line-protocol line whose tags
// need no escaping.
func tagValue(line []byte, key string) string {
	i := bytes.Index(line, []byte(","+key+"="))
	if i < 0 {
		return ""
	}
	v := line[i+len(key)+2:]
	if end := bytes.IndexAny(v, ", "); end >= 0 {
		v = v[:end]
	}
	return string(v)
}

func (s *slowSink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.points[id]
}

// overloadBody is the RW 1.0 request id: overloadSeries series with one
// sample each, labelled with id.
func overloadBody(id string, pad string) ([]byte, error) {
	series := make([]prompb.TimeSeries, overloadSeries)
	for i := range series {
		series[i] = prompb.TimeSeries{
			Labels: []prompb.Label{
				{Name: "__name__", Value: "overload_test"},
				{Name: "id", Value: id},
				{Name: "pad", Value: pad},
				{Name: "s", Value: fmt.Sprint(i)},
			},
			Samples: []prompb.Sample{{Value: float64(i), Timestamp: 1_700_000_000_000}},
		}
	}
	raw, err := proto.Marshal(&prompb.WriteRequest{Timeseries: series})
	if err != nil {
		return nil, err
	}
	// Encode allocates for the worst case, many times the compressed size.
	return bytes.Clone(snappy.Encode(nil, raw)), nil
}

// heapPeak samples the heap in use every few milliseconds until stopped.
type heapPeak struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func sampleHeap() *heapPeak {
	h := &heapPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > h.peak.Load() {
				h.peak.Store(ms.HeapInuse)
			}
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

func (h *heapPeak) end() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestOverload runs many concurrent writers against a pool of few workers
// in front of a slow sink. Every answer must be 204 or the configured
// overload status with Retry-After, never an error or another code; every
// 204 must mean that the sink holds the whole request; the heap must stay
// bounded by what the pool admits rather than by what is offered; and no
// goroutine may outlive the load.
func TestOverload(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config string
		status int
	}{
		{"503", "", http.StatusServiceUnavailable},
		{"429", "write: {overload_status: 429}\n", http.StatusTooManyRequests},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() {
				t.Skip("skipping the overload test in -short mode")
			}
			sink := newSlowSink(t, overloadSinkLatency)
			// pool.timeout is far above the sink's latency: every refusal
			// must come from the full queue, not from a slow answer.
			_, ts := startAdapter(t, fmt.Sprintf("databases:\n  - {name: db0, url: %q, database: p, pool: {workers: %d, queue: %d, max_body_bytes: %dKiB, timeout: 10s}}\n",
				sink.URL, overloadWorkers, overloadQueue, overloadBodyBytes>>10)+tc.config)
			// The bodies are built before the load, so that the heap
			// measured during it is promflux's, not the writers'.
			pad := strings.Repeat("x", overloadPadBytes)
			bodies := make([][][]byte, overloadWriters)
			wire := 0
			for w := range bodies {
				for k := 0; k < overloadRequests; k++ {
					b, err := overloadBody(fmt.Sprintf("w%d-r%d", w, k), pad)
					if err != nil {
						t.Fatal(err)
					}
					bodies[w] = append(bodies[w], b)
					wire = max(wire, len(b))
				}
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: overloadWriters}, Timeout: 60 * time.Second}

			// A low GOGC keeps the heap close to the live data, so that the
			// peak measures what promflux holds rather than when the
			// collector last ran.
			defer debug.SetGCPercent(debug.SetGCPercent(25))
			runtime.GC()
			goroutines := runtime.NumGoroutine()
			heapBefore := heapInuse()
			heap := sampleHeap()

			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				acked  []string
				counts = map[int]int{}
				errs   []string
			)
			for w := 0; w < overloadWriters; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := 0; k < overloadRequests; k++ {
						id := fmt.Sprintf("w%d-r%d", w, k)
						r, err := postOverload(client, ts.URL+"/api/v1/write", bodies[w][k])
						mu.Lock()
						counts[r.status]++
						switch {
						case err != nil:
							errs = append(errs, fmt.Sprintf("%s: %v", id, err))
						case r.status == http.StatusNoContent:
							acked = append(acked, id)
						case r.status == tc.status && r.header.Get("Retry-After") != "":
						default:
							errs = append(errs, fmt.Sprintf("%s: status %d Retry-After %q %q", id, r.status, r.header.Get("Retry-After"), r.body))
						}
						mu.Unlock()
						if r.status == tc.status {
							// Back off as Prometheus does after a refusal:
							// Retry-After, with jitter so that the writers
							// do not come back together.
							after, _ := strconv.Atoi(r.header.Get("Retry-After"))
							time.Sleep(time.Duration(float64(after) * (0.5 + rand.Float64()) * float64(time.Second)))
						}
					}
				}()
			}
			loadStart := time.Now()
			wg.Wait()
			peak := heap.end()
			loadTime := time.Since(loadStart)

			for _, e := range errs[:min(len(errs), 10)] {
				t.Errorf("want 204 or %d with Retry-After: %s", tc.status, e)
			}
			if len(errs) > 10 {
				t.Errorf("and %d more unexpected answers", len(errs)-10)
			}
			if counts[http.StatusNoContent] == 0 || counts[tc.status] == 0 {
				t.Errorf("answers by status %v: want both 204 and %d, or the test proves nothing", counts, tc.status)
			}
			for _, id := range acked {
				if n := sink.count(id); n != overloadSeries {
					t.Errorf("request %s answered 204, but the sink holds %d of its %d points", id, n, overloadSeries)
				}
			}

			// The bound follows from the configuration and the number of
			// writers. The pool admits workers+queue bodies of at most
			// max_body_bytes each, and each body holds lines of at most
			// max_body_bytes/lineBytes+2 requests (whether requests are
			// coalesced into bodies or sent one by one); each admitted
			// request also keeps, until it is acknowledged, its decoded
			// request and its own line protocol, about lineBytes each.
			// Every other request is refused right after decoding, but all
			// writers may be decoding and encoding at once (they all start
			// together), and the decoder and encoder keep such buffers
			// pooled: the decoded request, its line protocol and the pool's
			// copy of it, three lineBytes per writer. Each client connection holds the read and write
			// buffers of both ends, 32KiB. The collector runs at GOGC=25,
			// so the heap may exceed the live data by a quarter, and 16MiB
			// cover the runtime, the race detector and the test's own
			// bookkeeping. That the queue is bounded at all shows in the
			// refusals, which an unbounded queue never answers.
			lineBytes := uint64(overloadSeries * (len("overload_test,id=w000-r0,pad=,s=000 value=000 1700000000000\n") + overloadPadBytes))
			inPool := uint64(overloadWorkers + overloadQueue)
			admitted := inPool*overloadBodyBytes + inPool*(overloadBodyBytes/lineBytes+2)*2*lineBytes
			decoding := uint64(overloadWriters) * 3 * lineBytes
			conns := uint64(overloadWriters) * 32 << 10
			bound := (admitted+decoding+conns)*5/4 + 16<<20
			t.Logf("answers by status %v in %s; sink writes %d; heap in use %d MiB before, peak %d MiB, bound %d MiB (one request: %d KiB of lines, %d KiB on the wire)",
				counts, loadTime.Round(time.Millisecond), sink.writes, heapBefore>>20, peak>>20, bound>>20, lineBytes>>10, wire>>10)
			if peak > heapBefore+bound {
				t.Errorf("heap in use peaked at %d MiB, %d MiB over the %d MiB before the load, bound %d MiB",
					peak>>20, (peak-heapBefore)>>20, heapBefore>>20, bound>>20)
			}

			// Once the clients are gone, nothing the load started may stay.
			client.CloseIdleConnections()
			ts.CloseClientConnections()
			sink.CloseClientConnections()
			const slack = 2
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > goroutines+slack && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > goroutines+slack {
				var dump strings.Builder
				_ = pprof.Lookup("goroutine").WriteTo(&dump, 2)
				t.Errorf("%d goroutines 5s after the load, %d before: leaked\n%s", n, goroutines, dump.String())
			}
		})
	}
}

// postOverload sends an overload request body and returns the answer.
func postOverload(client *http.Client, url string, body []byte) (response, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", contentTypeV1)
	req.Header.Set("Content-Encoding", "snappy")
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}, err
}
