package adapter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// These tests break a real influxd while promflux writes to it: killed,
// frozen past pool.timeout, refusing points. Whatever happens, promflux
// must answer with the documented status code, never acknowledge what was
// not stored, and keep serving once InfluxDB is healthy again.

// Fault-test timing: short enough that every fault is answered within a
// second or two, long enough that a loaded machine running the race
// detector does not time out a healthy influxd.
const (
	faultPoolTimeout = time.Second
	faultAttempts    = 2
	faultReadTimeout = 2 * time.Second
)

// faultConfig is a one-database configuration with the fault-test timing.
func faultConfig(url string) string {
	return fmt.Sprintf(`databases:
  - name: prom
    url: %q
    database: prom
    create_database: true
    pool: {timeout: %s, retry: {max_attempts: %d, min_backoff: 20ms, max_backoff: 100ms}}
read: {timeout: %s}
`, url, faultPoolTimeout, faultAttempts, faultReadTimeout)
}

// faultClient bounds every request of the fault tests: a handler that hangs
// fails the test with a timeout instead of hanging the test binary.
var faultClient = &http.Client{Timeout: 30 * time.Second}

// send posts a snappy RW 1.0 or read body and returns the answer. Unlike
// post it returns errors, so that writer goroutines can use it.
func send(ctx context.Context, url, contentType string, body []byte) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Encoding", "snappy")
	resp, err := faultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("cannot read the answer (%s): %w", resp.Status, err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}, nil
}

// sendV1 posts series as a snappy RW 1.0 request, like writeV1, but returns
// errors, so that writer goroutines can use it.
func sendV1(url string, series ...prompb.TimeSeries) (response, error) {
	raw, err := proto.Marshal(&prompb.WriteRequest{Timeseries: series})
	if err != nil {
		return response{}, err
	}
	return send(context.Background(), url, contentTypeV1, snappy.Encode(nil, raw))
}

// isRetryLater reports whether r is the answer that makes Prometheus keep
// the samples and send them again: 503 with Retry-After.
func isRetryLater(r response) bool {
	return r.status == http.StatusServiceUnavailable && r.header.Get("Retry-After") != ""
}

// sampleKey names one stored float sample of a test series.
type sampleKey struct {
	series string // labelString of the series
	ts     int64
}

// storedSamples reads every float sample of measurement from db.
func storedSamples(t *testing.T, influx *influxtest.Server, db, measurement string) map[sampleKey]float64 {
	t.Helper()
	out := map[sampleKey]float64{}
	for _, s := range readBack(t, influx, db, influxtest.QuoteIdent(measurement)) {
		for _, smp := range s.samples {
			out[sampleKey{s.labels, smp.Timestamp}] = smp.Value
		}
	}
	return out
}

// missing lists the samples of series that stored lacks or holds with
// another value.
func missing(stored map[sampleKey]float64, series ...prompb.TimeSeries) []string {
	var out []string
	for _, s := range series {
		lbls := labelString(s.Labels)
		for _, smp := range s.Samples {
			got, ok := stored[sampleKey{lbls, smp.Timestamp}]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("%s @%d missing", lbls, smp.Timestamp))
			case got != smp.Value:
				out = append(out, fmt.Sprintf("%s @%d = %v, want %v", lbls, smp.Timestamp, got, smp.Value))
			}
		}
	}
	return out
}

// killAnswer is one write of TestFaultInfluxKilledMidStream.
type killAnswer struct {
	series     []prompb.TimeSeries
	start, end time.Time
	resp       response
	err        error
}

// killLog collects the answers of every writer.
type killLog struct {
	mu      sync.Mutex
	answers [][]killAnswer // by writer
}

func (l *killLog) add(w int, a killAnswer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers[w] = append(l.answers[w], a)
}

// each reports whether every writer has at least n answers started at or
// after since that satisfy ok.
func (l *killLog) each(n int, since time.Time, ok func(killAnswer) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, as := range l.answers {
		c := 0
		for _, a := range as {
			if !a.start.Before(since) && ok(a) {
				c++
			}
		}
		if c < n {
			return false
		}
	}
	return true
}

// waitFor polls cond every 20ms until it holds, failing the test after
// timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

// TestFaultInfluxKilledMidStream: writers keep sending while influxd is
// killed with SIGKILL and restarted on the same data directory. During the
// outage every answer is 503 with Retry-After; afterwards the writers get
// 204 again; and every request that was answered 204, before, during or
// after the crash, is in InfluxDB with all its samples.
func TestFaultInfluxKilledMidStream(t *testing.T) {
	influx := influxtest.Start(t)
	_, ts := startAdapter(t, faultConfig(influx.URL()))
	const (
		writers          = 4
		seriesPerRequest = 5
		// pace keeps the writers from spinning on fast 503s, which would
		// only load the shared machine.
		pace = 10 * time.Millisecond
	)
	log := &killLog{answers: make([][]killAnswer, writers)}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ctx.Err() == nil; k++ {
				// Distinct timestamps per request: a request answered 503
				// and never resent cannot hide a loss of another one.
				var req []prompb.TimeSeries
				for s := 0; s < seriesPerRequest; s++ {
					req = append(req, series("fault_kill", []string{"writer", fmt.Sprint(w), "s", fmt.Sprint(s)},
						prompb.Sample{Value: float64(w*1_000_000 + k*10 + s), Timestamp: 1_700_000_000_000 + int64(k)*1000}))
				}
				a := killAnswer{series: req, start: time.Now()}
				a.resp, a.err = sendV1(ts.URL+"/api/v1/write", req...)
				a.end = time.Now()
				log.add(w, a)
				time.Sleep(pace)
			}
		}()
	}
	stored := func(a killAnswer) bool { return a.err == nil && a.resp.status == http.StatusNoContent }
	answered := func(killAnswer) bool { return true }

	waitFor(t, 15*time.Second, "3 writes per writer stored before the crash", func() bool { return log.each(3, time.Time{}, stored) })
	influx.Kill()
	killed := time.Now()
	waitFor(t, 15*time.Second, "3 writes per writer answered during the outage", func() bool { return log.each(3, killed, answered) })
	restarting := time.Now()
	influx.Restart()
	restarted := time.Now()
	waitFor(t, 30*time.Second, "3 writes per writer stored after the restart", func() bool { return log.each(3, restarted, stored) })
	stop()
	wg.Wait()

	var acked []prompb.TimeSeries
	var total, outage, refused int
	for w, as := range log.answers {
		for i, a := range as {
			total++
			during := !a.start.Before(killed) && a.end.Before(restarting)
			switch {
			case a.err != nil:
				t.Errorf("writer %d request %d: %v", w, i, a.err)
			case a.resp.status == http.StatusNoContent:
				if during {
					t.Errorf("writer %d request %d sent while influxd was down: 204", w, i)
				}
				acked = append(acked, a.series...)
			case isRetryLater(a.resp):
				refused++
				if during {
					outage++
				}
			default:
				t.Errorf("writer %d request %d (during the outage: %v): status %d Retry-After %q %q, want 204 or 503 with Retry-After",
					w, i, during, a.resp.status, a.resp.header.Get("Retry-After"), a.resp.body)
			}
		}
	}
	if outage < writers {
		t.Errorf("only %d requests were sent and answered entirely within the outage: the test did not exercise it", outage)
	}
	if lost := missing(storedSamples(t, influx, "prom", "fault_kill"), acked...); len(lost) > 0 {
		t.Errorf("%d samples answered 204 are not in InfluxDB, e.g. %v", len(lost), lost[:min(len(lost), 10)])
	}
	t.Logf("%d requests: %d acknowledged (%d samples, all stored), %d answered 503 (%d within the outage)", total, total-refused, len(acked), refused, outage)
}

// TestFaultInfluxPausedPastTimeout: influxd frozen with SIGSTOP accepts
// connections but never answers. A write must be answered 503 once
// pool.timeout ran out for each attempt, a read once read.timeout ran out,
// neither may hang; after SIGCONT the same write is stored.
func TestFaultInfluxPausedPastTimeout(t *testing.T) {
	influx := influxtest.Start(t)
	_, ts := startAdapter(t, faultConfig(influx.URL()))
	before := series("fault_pause", []string{"job", "x"}, prompb.Sample{Value: 1, Timestamp: 1_700_000_000_000})
	paused := series("fault_pause", []string{"job", "x"}, prompb.Sample{Value: 2, Timestamp: 1_700_000_001_000})
	// A write before the pause proves the setup, and leaves a kept-alive
	// connection that the paused server will not answer on.
	if r := writeV1(t, ts.URL+"/api/v1/write", before); r.status != http.StatusNoContent {
		t.Fatalf("write before the pause: status %d: %s", r.status, r.body)
	}

	influx.Pause()
	// Attempts of pool.timeout plus backoffs of at most 100ms; the margin
	// covers a loaded machine. Only an answer that never comes fails.
	writeBound := 3 * (faultAttempts*faultPoolTimeout + time.Second)
	start := time.Now()
	r, err := send(context.Background(), ts.URL+"/api/v1/write", contentTypeV1, writeV1Body(t, paused))
	if took := time.Since(start); err != nil || !isRetryLater(r) || took > writeBound {
		t.Errorf("write to paused influxd: status %d Retry-After %q %q, err %v, after %s; want 503 with Retry-After within %s",
			r.status, r.header.Get("Retry-After"), r.body, err, took.Round(time.Millisecond), writeBound)
	}
	readBound := 3 * faultReadTimeout
	for _, types := range [][]prompb.ReadRequest_ResponseType{samplesOnly, streamedOnly} {
		start := time.Now()
		r, err := send(context.Background(), ts.URL+"/api/v1/read", "application/x-protobuf",
			readBody(t, types, query(t, `{__name__="fault_pause"}`, 0, 2_000_000_000_000)))
		if took := time.Since(start); err != nil || !isRetryLater(r) || took > readBound {
			t.Errorf("read %v from paused influxd: status %d Retry-After %q %q, err %v, after %s; want 503 with Retry-After within %s",
				types, r.status, r.header.Get("Retry-After"), r.body, err, took.Round(time.Millisecond), readBound)
		}
	}

	influx.Resume()
	// The sender retries, as Prometheus would, until the write is stored.
	var last response
	waitFor(t, 15*time.Second, "the write to be stored after SIGCONT", func() bool {
		last, err = send(context.Background(), ts.URL+"/api/v1/write", contentTypeV1, writeV1Body(t, paused))
		if err == nil && last.status != http.StatusNoContent && !isRetryLater(last) {
			t.Fatalf("write after SIGCONT: status %d %q, want 204 or 503", last.status, last.body)
		}
		return err == nil && last.status == http.StatusNoContent
	})
	compareStored(t, readBack(t, influx, "prom", "fault_pause"), wantStored(series("fault_pause", []string{"job", "x"}, before.Samples[0], paused.Samples[0])))
}

// TestFaultFieldTypeConflict: InfluxDB types a field per shard, so once
// another client stored a string "value" in a shard, promflux's float
// samples of that measurement falling into it are refused for good. The
// request is answered 400 with InfluxDB's reason on one line, its other
// series are written, concurrent writers of good series are unaffected
// (even when their lines share an InfluxDB request with the refused ones),
// and promflux keeps serving.
func TestFaultFieldTypeConflict(t *testing.T) {
	influx := influxtest.Start(t)
	_, ts := startAdapter(t, faultConfig(influx.URL()))
	const (
		t0 = 1_700_000_000_000
		// t1 is four weeks later, in another shard of the default
		// retention policy (shards of 7 days).
		t1 = t0 + 28*24*3600*1000
	)
	first := series("fault_conflict", []string{"job", "x"}, prompb.Sample{Value: 1.5, Timestamp: t0})
	if r := writeV1(t, ts.URL+"/api/v1/write", first); r.status != http.StatusNoContent {
		t.Fatalf("first write: status %d: %s", r.status, r.body)
	}
	influx.Write(t, "prom", fmt.Sprintf("fault_conflict,job=other value=\"a string\" %d\n", t1))

	// Good writers run while the refused requests are sent, with samples in
	// the same shard.
	const goodWriters = 3
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		good []prompb.TimeSeries
		errs []string
	)
	for w := 0; w < goodWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ctx.Err() == nil; k++ {
				s := series("fault_good", []string{"writer", fmt.Sprint(w)}, prompb.Sample{Value: float64(k), Timestamp: t1 + int64(k)})
				r, err := sendV1(ts.URL+"/api/v1/write", s)
				mu.Lock()
				if err != nil || r.status != http.StatusNoContent {
					errs = append(errs, fmt.Sprintf("writer %d request %d: status %d %q, err %v", w, k, r.status, r.body, err))
				} else {
					good = append(good, s)
				}
				mu.Unlock()
			}
		}()
	}

	var refused, rest []prompb.TimeSeries
	for i := 0; i < 10; i++ {
		bad := series("fault_conflict", []string{"job", "x"}, prompb.Sample{Value: float64(i), Timestamp: t1 + int64(i)})
		others := []prompb.TimeSeries{
			series("fault_rest", []string{"job", "a"}, prompb.Sample{Value: float64(i), Timestamp: t1 + int64(i)}),
			series("fault_rest", []string{"job", "b"}, prompb.Sample{Value: -float64(i), Timestamp: t1 + int64(i)}),
		}
		r := writeV1(t, ts.URL+"/api/v1/write", others[0], bad, others[1])
		body := strings.TrimSuffix(r.body, "\n")
		if r.status != http.StatusBadRequest || !strings.Contains(body, "field type conflict") || strings.ContainsAny(body, "\r\n") {
			t.Errorf("request %d with a conflicting series: status %d %q, want 400 with a one-line reason naming the field type conflict", i, r.status, r.body)
		}
		refused, rest = append(refused, bad), append(rest, others...)
	}
	waitFor(t, 10*time.Second, "each good writer to be answered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(good)+len(errs) >= goodWriters
	})
	stop()
	wg.Wait()
	for _, e := range errs {
		t.Errorf("good write during the refusals: %s, want 204", e)
	}

	// promflux still serves: a good write of the same series, in the shard
	// where "value" is a float, is stored.
	after := series("fault_conflict", []string{"job", "x"}, prompb.Sample{Value: 2.5, Timestamp: t0 + 1000})
	if r := writeV1(t, ts.URL+"/api/v1/write", after); r.status != http.StatusNoContent {
		t.Errorf("good write after the refusals: status %d: %s", r.status, r.body)
	}

	if lost := missing(storedSamples(t, influx, "prom", "fault_rest"), rest...); len(lost) > 0 {
		t.Errorf("series sent with the refused ones are not stored: %v", lost)
	}
	if lost := missing(storedSamples(t, influx, "prom", "fault_good"), good...); len(lost) > 0 {
		t.Errorf("%d samples of good writers answered 204 are not stored, e.g. %v", len(lost), lost[:min(len(lost), 10)])
	}
	conflict := storedSamples(t, influx, "prom", "fault_conflict")
	if lost := missing(conflict, first, after); len(lost) > 0 {
		t.Errorf("float samples of the conflicting measurement: %v", lost)
	}
	for _, s := range refused {
		if _, ok := conflict[sampleKey{labelString(s.Labels), s.Samples[0].Timestamp}]; ok {
			t.Errorf("refused sample %s @%d is stored", labelString(s.Labels), s.Samples[0].Timestamp)
		}
	}
	t.Logf("%d refused requests answered 400; %d concurrent good writes answered 204 and stored", len(refused), len(good))
}
