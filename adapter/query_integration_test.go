package adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/promflux/promflux/influxworker/influxtest"
	"github.com/promflux/promflux/promapi"
)

// querySet is what the query API tests write: readSet's floats, special
// values and stale markers, native histograms (a counter of integer
// histograms every second, float and custom-bucket ones, a series mixing
// floats and histograms), classic histogram buckets, and a series stored
// in two databases.
func querySet() []prompb.TimeSeries {
	set := readSet()
	counter := series("hist_seconds", []string{"job", "api"})
	for i := range 60 {
		n := int64(i)
		counter.Histograms = append(counter.Histograms, prompb.Histogram{
			Count: &prompb.Histogram_CountInt{CountInt: uint64(7 * n)}, ZeroCount: &prompb.Histogram_ZeroCountInt{ZeroCountInt: uint64(n)},
			Sum: float64(n) * 1.5, Schema: 1, ZeroThreshold: 1e-128,
			PositiveSpans: []prompb.BucketSpan{{Offset: 0, Length: 3}}, PositiveDeltas: []int64{n, n, -n},
			NegativeSpans: []prompb.BucketSpan{{Offset: 2, Length: 1}}, NegativeDeltas: []int64{2 * n},
			ResetHint: prompb.Histogram_UNKNOWN, Timestamp: 1_000_000 + n*1000,
		})
	}
	mixed := series("mixed", []string{"job", "api"}, prompb.Sample{Value: 1, Timestamp: 1_000_000}, prompb.Sample{Value: 5, Timestamp: 1_005_000})
	mixed.Histograms = []prompb.Histogram{{
		Count: &prompb.Histogram_CountInt{CountInt: 3}, ZeroCount: &prompb.Histogram_ZeroCountInt{ZeroCountInt: 1}, Sum: 1.5, Schema: 2,
		PositiveSpans: []prompb.BucketSpan{{Offset: 1, Length: 2}}, PositiveDeltas: []int64{1, 0}, Timestamp: 1_003_000,
	}, {
		Count: &prompb.Histogram_CountInt{CountInt: 3}, ZeroCount: &prompb.Histogram_ZeroCountInt{ZeroCountInt: 1},
		Sum: math.Float64frombits(value.StaleNaN), Schema: 2,
		PositiveSpans: []prompb.BucketSpan{{Offset: 1, Length: 2}}, PositiveDeltas: []int64{1, 0}, Timestamp: 1_006_000,
	}}
	floatH := series("float_hist", []string{"job", "api"})
	floatH.Histograms = []prompb.Histogram{{
		Count: &prompb.Histogram_CountFloat{CountFloat: 3.5}, ZeroCount: &prompb.Histogram_ZeroCountFloat{ZeroCountFloat: 0.5},
		Sum: -1.25, Schema: -1, ZeroThreshold: 0.001,
		NegativeSpans: []prompb.BucketSpan{{Offset: 0, Length: 2}}, NegativeCounts: []float64{1, 2},
		ResetHint: prompb.Histogram_GAUGE, Timestamp: 1_001_500,
	}}
	custom := series("custom_buckets", []string{"job", "api"})
	for i := range 20 {
		n := int64(i)
		custom.Histograms = append(custom.Histograms, prompb.Histogram{
			Count: &prompb.Histogram_CountInt{CountInt: uint64(6 * n)}, ZeroCount: &prompb.Histogram_ZeroCountInt{}, Sum: 2.5 * float64(n), Schema: -53,
			PositiveSpans: []prompb.BucketSpan{{Offset: 0, Length: 3}}, PositiveDeltas: []int64{n, n, n},
			CustomValues: []float64{0.1, 0.5, 1}, Timestamp: 1_000_000 + n*2000,
		})
	}
	var buckets []prompb.TimeSeries
	for j, le := range []string{"0.1", "0.5", "+Inf"} {
		var samples []prompb.Sample
		for i := range 60 {
			samples = append(samples, prompb.Sample{Timestamp: 1_000_000 + int64(i)*1000, Value: float64(i * (j + 1))})
		}
		buckets = append(buckets, series("latency_seconds_bucket", []string{"job", "web", "le", le}, samples...))
	}
	return append(append(set, counter, mixed, floatH, custom), buckets...)
}

// TestIntegrationQueryAPI writes querySet through promflux into a real
// influxd and asks promflux's query API and, as the oracle, the same
// engine over the same series in memory: every answer, instant and range,
// must be the same, byte for byte.
func TestIntegrationQueryAPI(t *testing.T) {
	influx := influxtest.Start(t)
	config := influxConfig(influx.URL(), "prom", "node")
	_, w := startAdapter(t, config)
	set := querySet()
	if r := writeV1(t, w.URL+"/api/v1/write", set...); r.status != http.StatusNoContent {
		t.Fatalf("write: %d %s", r.status, r.body)
	}
	// load{job="node"} is routed to node, and partly written to prom too.
	inNode := series("load", []string{"job", "node"}, prompb.Sample{Value: 1, Timestamp: 1_000_000}, prompb.Sample{Value: 2, Timestamp: 1_002_000})
	inProm := series("load", []string{"job", "node"}, prompb.Sample{Value: 2, Timestamp: 1_002_000}, prompb.Sample{Value: 3, Timestamp: 1_004_000})
	writeV1(t, w.URL+"/api/v1/write", inNode)
	writeV1(t, w.URL+"/api/v1/write?db=prom", inProm)
	set = append(set, series("load", []string{"job", "node"}, prompb.Sample{Value: 1, Timestamp: 1_000_000},
		prompb.Sample{Value: 2, Timestamp: 1_002_000}, prompb.Sample{Value: 3, Timestamp: 1_004_000}))

	oracle := startOracle(t, set)
	queries := []string{
		`http_requests_total`,
		`http_requests_total{code=~"2..", path!=""}`,
		`{__name__=~"http_.*", job="web"}`,
		`rate(http_requests_total[1m])`,
		`sum by (job) (rate(http_requests_total[30s]))`,
		`histogram_quantile(0.9, sum by (le) (rate(latency_seconds_bucket[30s])))`,
		`count_over_time({job="api"}[1m])`,
		`http_requests_total offset 10s`,
		`http_requests_total offset -5s`,
		`http_requests_total @ 1005`,
		`up`,
		`scalar(sum(up))`,
		`absent(nonexistent)`,
		`absent(up{job="nope"})`,
		`special`,
		`only_stale`,
		`odd`,
		`hist_seconds`,
		`rate(hist_seconds[10s])`,
		`histogram_count(rate(hist_seconds[10s]))`,
		`histogram_quantile(0.5, rate(hist_seconds[20s]))`,
		`mixed`,
		`float_hist`,
		`custom_buckets`,
		`histogram_quantile(0.9, rate(custom_buckets[10s]))`,
		`load`,
		`max_over_time(load[10s])`,
		`sum(rate(http_requests_total[5s])) + scalar(up{job="api"})`,
	}
	for _, endpoint := range readEndpoints {
		t.Run(endpoint, func(t *testing.T) {
			ts := startReader(t, config, endpoint)
			for _, q := range queries {
				found := false
				for _, at := range []string{"1001", "1002.5", "1005.5", "1030", "1299", "1400", "1700"} {
					params := url.Values{"query": {q}, "time": {at}}
					got, want := queryAnswer(t, ts.URL+"/api/v1/query", params), queryAnswer(t, oracle.URL+"/api/v1/query", params)
					if got != want {
						t.Errorf("%s at %s:\npromflux %s\noracle   %s", q, at, got, want)
					}
					found = found || strings.Contains(got, `"metric"`) || strings.Contains(got, `"scalar"`)
				}
				for _, step := range []string{"1", "15s"} {
					params := url.Values{"query": {q}, "start": {"995"}, "end": {"1310"}, "step": {step}}
					if got, want := queryAnswer(t, ts.URL+"/api/v1/query_range", params), queryAnswer(t, oracle.URL+"/api/v1/query_range", params); got != want {
						t.Errorf("%s every %s:\npromflux %s\noracle   %s", q, step, got, want)
					}
				}
				if !found && q != `only_stale` {
					t.Errorf("%s: no answer has a result: the comparison proves nothing", q)
				}
			}
			// Range vectors as they are stored: without the stale markers.
			for _, q := range []string{`special[10s]`, `hist_seconds[5s]`, `mixed[10s]`, `{job="api"}[3s]`} {
				params := url.Values{"query": {q}, "time": {"1005"}}
				if got, want := queryAnswer(t, ts.URL+"/api/v1/query", params), queryAnswer(t, oracle.URL+"/api/v1/query", params); got != want {
					t.Errorf("%s:\npromflux %s\noracle   %s", q, got, want)
				}
			}
		})
	}
	// The oracle is no trivial one: the answers hold what was written.
	for q, want := range map[string]string{
		`special`:                       `"value":[1299,"NaN"]`, // a NaN that is no stale marker, last
		`only_stale`:                    `"result":[]`,
		`mixed`:                         `"result":[]`, // a stale histogram, last
		`mixed @ 1005.5`:                `"value":[1299,"5"]`,
		`hist_seconds`:                  `"histogram":[1299,{"count":"413"`,
		`load`:                          `"value":[1299,"3"]`,
		`rate(hist_seconds[1m] @ 1030)`: `"histogram":[1299,{"count":"3.5"`,
	} {
		if got := queryAnswer(t, oracle.URL+"/api/v1/query", url.Values{"query": {q}, "time": {"1299"}}); !strings.Contains(got, want) {
			t.Errorf("oracle: %s: %s, want %s", q, got, want)
		}
	}
}

// queryAnswer is the status and body of a query API answer.
func queryAnswer(t *testing.T, u string, params url.Values) string {
	t.Helper()
	resp, err := http.PostForm(u, params)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

// startOracle serves the query API of the default bounds over set, held
// in memory as Prometheus's storage would hold it: empty labels dropped,
// floats and histograms of a series in one time order.
func startOracle(t *testing.T, set []prompb.TimeSeries) *httptest.Server {
	t.Helper()
	var st memQueryable
	for _, ts := range set {
		var samples []chunks.Sample
		for _, s := range ts.Samples {
			samples = append(samples, oracleSample{t: s.Timestamp, f: s.Value})
		}
		for _, h := range ts.Histograms {
			if h.IsFloatHistogram() {
				samples = append(samples, oracleSample{t: h.Timestamp, fh: h.ToFloatHistogram()})
			} else {
				samples = append(samples, oracleSample{t: h.Timestamp, h: h.ToIntHistogram()})
			}
		}
		slices.SortStableFunc(samples, func(a, b chunks.Sample) int { return int(a.T() - b.T()) })
		b := labels.NewBuilder(labels.EmptyLabels())
		for _, l := range ts.Labels {
			b.Set(l.Name, l.Value)
		}
		st = append(st, storage.NewListSeries(b.Labels(), samples))
	}
	slices.SortFunc(st, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	e := promapi.NewEngine(promapi.DefaultConfig, log.NewNopLogger(), prometheus.NewRegistry())
	api := promapi.NewAPI(e, st, log.NewNopLogger())
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/query", api.Query)
	mux.HandleFunc("/api/v1/query_range", api.QueryRange)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// memQueryable is a promapi.Storage over series in memory, sorted, for
// the query endpoints.
type memQueryable []storage.Series

var errNotImplemented = errors.New("not implemented")

func (memQueryable) ExemplarQuerier(context.Context) (storage.ExemplarQuerier, error) {
	return nil, errNotImplemented
}

func (memQueryable) Metadata(context.Context, string) (map[string][]metadata.Metadata, error) {
	return nil, errNotImplemented
}

func (m memQueryable) Querier(int64, int64) (storage.Querier, error) { return m, nil }

func (m memQueryable) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	var out memQueryable
	for _, s := range m {
		if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches(s.Labels().Get(m.Name)) }) {
			out = append(out, s)
		}
	}
	return &memSet{series: out, i: -1}
}

func (memQueryable) LabelValues(context.Context, string, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, errNotImplemented
}

func (memQueryable) LabelNames(context.Context, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, errNotImplemented
}

func (memQueryable) Close() error { return nil }

type memSet struct {
	series memQueryable
	i      int
}

func (s *memSet) Next() bool                        { s.i++; return s.i < len(s.series) }
func (s *memSet) At() storage.Series                { return s.series[s.i] }
func (s *memSet) Err() error                        { return nil }
func (s *memSet) Warnings() annotations.Annotations { return nil }

// oracleSample is a sample of the oracle, handing out copies of its
// histograms.
type oracleSample struct {
	t  int64
	f  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

func (s oracleSample) T() int64   { return s.t }
func (s oracleSample) ST() int64  { return 0 }
func (s oracleSample) F() float64 { return s.f }
func (s oracleSample) H() *histogram.Histogram {
	if s.h == nil {
		return nil
	}
	return s.h.Copy()
}

func (s oracleSample) FH() *histogram.FloatHistogram {
	switch {
	case s.h != nil:
		return s.h.ToFloat(nil)
	case s.fh != nil:
		return s.fh.Copy()
	}
	return nil
}

func (s oracleSample) Type() chunkenc.ValueType {
	switch {
	case s.h != nil:
		return chunkenc.ValHistogram
	case s.fh != nil:
		return chunkenc.ValFloatHistogram
	}
	return chunkenc.ValFloat
}

func (s oracleSample) Copy() chunks.Sample { return s }

// TestIntegrationQueryBounds: a query over query.max_samples or
// read.max_samples, the lower of which bounds what its selectors hold,
// fails with Prometheus's error; a database slower than the query's
// timeout makes it time out.
func TestIntegrationQueryBounds(t *testing.T) {
	influx := influxtest.Start(t)
	config := influxConfig(influx.URL(), "prom")
	_, w := startAdapter(t, config)
	writeV1(t, w.URL+"/api/v1/write", readSet()...)
	const tooMany = `422 {"status":"error","errorType":"execution","error":"expanding series: query processing would load too many samples into memory in query execution"}`
	for _, bounds := range []string{"query: {max_samples: 100}\n", "read: {max_samples: 100}\n"} {
		_, ts := startAdapter(t, config+bounds)
		// 300 samples in the last 5 minutes, then 20.
		if got := queryAnswer(t, ts.URL+"/api/v1/query", url.Values{"query": {`http_requests_total[5m]`}, "time": {"1299"}}); got != tooMany {
			t.Errorf("%s: %s\nwant %s", bounds, got, tooMany)
		}
		if got := queryAnswer(t, ts.URL+"/api/v1/query", url.Values{"query": {`up[1m]`}, "time": {"1010"}}); !strings.HasPrefix(got, `200 {"status":"success","data":{"resultType":"matrix","result":[{`) {
			t.Errorf("%s: 20 samples: %s", bounds, got)
		}
	}

	_, ts := startAdapter(t, config)
	influx.Pause()
	got := queryAnswer(t, ts.URL+"/api/v1/query_range", url.Values{"query": {`up`}, "start": {"1000"}, "end": {"1100"}, "step": {"10"}, "timeout": {"1s"}})
	influx.Resume()
	if !strings.HasPrefix(got, `503 {"status":"error","errorType":"timeout","error":"`) || !strings.Contains(got, "query timed out in") {
		t.Errorf("database slower than the timeout: %s", got)
	}
}
