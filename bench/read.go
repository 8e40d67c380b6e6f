package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/promflux/promflux/mapping"
	"github.com/promflux/promflux/remote"
)

type readOptions struct {
	url         string
	matches     []string
	samples     int
	respType    string
	runs        int
	label       string
	procs       procFlags
	csvPath     string
	concurrency int
	duration    time.Duration
}

// dashboard reports whether the options ask for the dashboard load:
// concurrent reads for a while instead of runs one after the other.
func (o *readOptions) dashboard() bool { return o.concurrency > 1 || o.duration > 0 }

// readBody is the snappy body of a read of one selector over the whole
// range written.
func readBody(g *generator, o *readOptions, selector string) ([]byte, error) {
	ms, err := mapping.ParseSelector(selector)
	if err != nil {
		return nil, fmt.Errorf("--match %s: %w", selector, err)
	}
	q := &prompb.Query{StartTimestampMs: g.start, EndTimestampMs: g.timestamp(o.samples - 1)}
	for _, m := range ms {
		q.Matchers = append(q.Matchers, &prompb.LabelMatcher{Type: matchType(m.Type), Name: m.Name, Value: m.Value})
	}
	req := &prompb.ReadRequest{Queries: []*prompb.Query{q}}
	if o.respType == "streamed" {
		req.AcceptedResponseTypes = []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS}
	}
	raw, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	return snappy.Encode(nil, raw), nil
}

func runRead(g *generator, o *readOptions) error {
	bodies := make([][]byte, len(o.matches))
	for i, m := range o.matches {
		var err error
		if bodies[i], err = readBody(g, o, m); err != nil {
			return err
		}
	}
	pids, names, err := o.procs.resolve()
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Minute}
	if o.dashboard() {
		return runDashboard(client, o, bodies, pids, names)
	}
	for i, body := range bodies {
		if err := readRuns(client, o, o.matches[i], body, pids, names); err != nil {
			return err
		}
	}
	return nil
}

// readRuns reads one selector o.runs times, one read after the other, and
// prints the median run.
func readRuns(client *http.Client, o *readOptions, selector string, body []byte, pids []int, names []string) error {
	ws, err := watchProcs(pids, names)
	if err != nil {
		return err
	}
	var (
		runs            []time.Duration
		samples, series int
	)
	t0 := time.Now()
	for run := 0; run < o.runs; run++ {
		t := time.Now()
		series, samples, err = readOnce(client, o.url, body)
		if err != nil {
			_, _ = ws.finish()
			return fmt.Errorf("%s: %w", selector, err)
		}
		runs = append(runs, time.Since(t))
		fmt.Fprintf(os.Stderr, "read %s %s run %d: %d series, %d samples in %v\n", o.label, selector, run+1, series, samples, runs[run].Round(time.Millisecond))
	}
	elapsed := time.Since(t0)
	usage, err := ws.finish()
	if err != nil {
		return err
	}
	if samples == 0 {
		return fmt.Errorf("%s: the read returned no samples: is the data loaded?", selector)
	}
	slices.Sort(runs)
	median := percentile(runs, 0.5)
	fmt.Printf("%s\t%s\t%s\t%d\t%d\t%.4f\t%.0f\t%s\n", o.label, o.respType, selector, series, samples, median.Seconds(), float64(samples)/median.Seconds(), peakRSS(usage))
	if o.csvPath == "" {
		return nil
	}
	// One row per selector: throughput of the median run, like the table;
	// CPU over all runs.
	return appendCSV(o.csvPath, []result{{
		Target:      o.label,
		Protocol:    "read-" + o.respType,
		Concurrency: 1,
		Samples:     int64(samples),
		Seconds:     median.Seconds(),
		SamplesPerS: float64(samples) / median.Seconds(),
		RequestsPS:  float64(len(runs)) / elapsed.Seconds(),
		P50ms:       millis(median),
		P99ms:       millis(percentile(runs, 0.99)),
		Errors:      map[string]int{},
		Procs:       usage,
	}})
}

func peakRSS(usage []procUsage) string {
	if len(usage) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fMiB", usage[0].PeakMiB)
}

// runDashboard plays the load of dashboards being looked at: o.concurrency
// readers, each reading the selectors in turn (reader k starting at the
// k-th) until o.duration has passed, and prints reads/s and the latency
// percentiles of all reads.
func runDashboard(client *http.Client, o *readOptions, bodies [][]byte, pids []int, names []string) error {
	l, err := playLoad(o.concurrency, o.duration, len(bodies), pids, names, func(i int) (int, error) {
		_, n, err := readOnce(client, o.url, bodies[i])
		return n, err
	})
	if err != nil {
		return err
	}
	return l.report(o.label, o.respType, "dashboard-"+o.respType, o.csvPath)
}

// load is what playLoad measured: the latencies of the requests that
// succeeded, sorted, the samples they returned and the failures by the
// first word of their error.
type load struct {
	concurrency int
	latencies   []time.Duration
	samples     int64
	errs        map[string]int
	elapsed     time.Duration
	usage       []procUsage
}

// playLoad runs concurrency clients, client k sending request k, k+1, ...
// (modulo n) with do until duration has passed (at least one each), while
// watching the processes pids.
func playLoad(concurrency int, duration time.Duration, n int, pids []int, names []string, do func(i int) (samples int, err error)) (*load, error) {
	ws, err := watchProcs(pids, names)
	if err != nil {
		return nil, err
	}
	l := &load{concurrency: max(1, concurrency), errs: map[string]int{}}
	var mu sync.Mutex
	deadline := time.Now().Add(duration)
	t0 := time.Now()
	var wg sync.WaitGroup
	for k := 0; k < l.concurrency; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; time.Now().Before(deadline) || i == k; i++ {
				t := time.Now()
				samples, err := do(i % n)
				d := time.Since(t)
				mu.Lock()
				if err != nil {
					l.errs[firstWord(err.Error())]++
				} else {
					l.latencies = append(l.latencies, d)
					l.samples += int64(samples)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	l.elapsed = time.Since(t0)
	if l.usage, err = ws.finish(); err != nil {
		return nil, err
	}
	if len(l.latencies) == 0 {
		return nil, fmt.Errorf("no request succeeded: %v", l.errs)
	}
	slices.Sort(l.latencies)
	return l, nil
}

// report prints a row of the load (label, kind, concurrency, requests,
// requests/s, p50 and p99 in ms, errors, peak RSS) and appends it to the
// CSV file at csvPath, if any, as protocol.
func (l *load) report(label, kind, protocol, csvPath string) error {
	p50, p99 := percentile(l.latencies, 0.5), percentile(l.latencies, 0.99)
	errText := "0"
	if len(l.errs) > 0 {
		errText = formatPairs(l.errs, strconv.Itoa)
	}
	fmt.Printf("%s\t%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%s\t%s\n", label, kind, l.concurrency, len(l.latencies),
		float64(len(l.latencies))/l.elapsed.Seconds(), millis(p50), millis(p99), errText, peakRSS(l.usage))
	if csvPath == "" {
		return nil
	}
	return appendCSV(csvPath, []result{{
		Target:      label,
		Protocol:    protocol,
		Concurrency: l.concurrency,
		Samples:     l.samples,
		Seconds:     l.elapsed.Seconds(),
		SamplesPerS: float64(l.samples) / l.elapsed.Seconds(),
		RequestsPS:  float64(len(l.latencies)) / l.elapsed.Seconds(),
		P50ms:       millis(p50),
		P99ms:       millis(p99),
		Errors:      l.errs,
		Procs:       l.usage,
	}})
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

// readOnce sends one read request and decodes the whole answer, as
// Prometheus would, returning the series and samples it held.
func readOnce(client *http.Client, url string, body []byte) (series, samples int, err error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Read-Version", "0.1.0")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, 0, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-streamed-protobuf") {
		return countStreamed(resp.Body)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	rr, err := remote.DecodeReadResponse(b)
	if err != nil {
		return 0, 0, err
	}
	for _, r := range rr.Results {
		for _, ts := range r.Timeseries {
			series++
			samples += len(ts.Samples)
		}
	}
	return series, samples, nil
}

func countStreamed(r io.Reader) (series, samples int, err error) {
	cr := remote.NewChunkedReader(bufio.NewReader(r), remote.DefaultMaxFrameBytes)
	var last string
	for {
		msg, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return series, samples, nil
		}
		if err != nil {
			return 0, 0, err
		}
		for _, cs := range msg.ChunkedSeries {
			if key := fmt.Sprint(cs.Labels); key != last {
				series++
				last = key
			}
			for _, c := range cs.Chunks {
				chk, err := chunkenc.FromData(chunkenc.EncXOR, c.Data)
				if err != nil {
					return 0, 0, err
				}
				it := chk.Iterator(nil)
				for it.Next() != chunkenc.ValNone {
					samples++
				}
				if it.Err() != nil {
					return 0, 0, it.Err()
				}
			}
		}
	}
}

func matchType(t labels.MatchType) prompb.LabelMatcher_Type {
	switch t {
	case labels.MatchNotEqual:
		return prompb.LabelMatcher_NEQ
	case labels.MatchRegexp:
		return prompb.LabelMatcher_RE
	case labels.MatchNotRegexp:
		return prompb.LabelMatcher_NRE
	default:
		return prompb.LabelMatcher_EQ
	}
}
