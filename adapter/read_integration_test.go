package adapter

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gogo/protobuf/proto"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	"github.com/promflux/promflux/mapping"

	"github.com/promflux/promflux/influxworker"
	"github.com/promflux/promflux/influxworker/influxtest"
)

// readSet is the data the read tests write: series with and without some
// labels, awkward values, and samples over a range of timestamps.
func readSet() []prompb.TimeSeries {
	samples := func(base float64, n int) []prompb.Sample {
		out := make([]prompb.Sample, n)
		for i := range out {
			out[i] = prompb.Sample{Timestamp: 1_000_000 + int64(i)*1000, Value: base + float64(i)*0.1}
		}
		return out
	}
	return []prompb.TimeSeries{
		series("http_requests_total", []string{"job", "api", "code", "200", "path", "/users"}, samples(1, 300)...),
		series("http_requests_total", []string{"job", "api", "code", "500", "path", "/users"}, samples(2, 10)...),
		series("http_requests_total", []string{"job", "web", "code", "200"}, samples(3, 10)...),
		series("http_requests_total", []string{"job", "web", "code", "404", "env", ""}, samples(4, 10)...),
		series("http_request_duration_seconds_bucket", []string{"job", "api", "le", "0.1"}, samples(5, 10)...),
		series("http_request_duration_seconds_bucket", []string{"job", "api", "le", "+Inf"}, samples(6, 10)...),
		series("up", []string{"job", "api", "instance", "a:1"}, samples(1, 10)...),
		series("up", []string{"job", "web", "instance", "b:1", "value", "a tag named value"}, samples(0, 10)...),
		series("odd", []string{"q", `it's "quoted" \ / slash`, "nl", "a\nb", "time", "t"}, samples(7, 10)...),
		series("odd", []string{"q", "') OR 1=1 --", "slash", "/.*/"}, samples(8, 10)...),
		series("special", []string{"job", "api"},
			prompb.Sample{Timestamp: 1_000_000, Value: 1},
			prompb.Sample{Timestamp: 1_001_000, Value: math.NaN()},
			prompb.Sample{Timestamp: 1_002_000, Value: math.Inf(1)},
			prompb.Sample{Timestamp: 1_003_000, Value: math.Inf(-1)},
			prompb.Sample{Timestamp: 1_004_000, Value: math.Float64frombits(value.StaleNaN)},
			prompb.Sample{Timestamp: 1_005_000, Value: math.Float64frombits(0xfff4000000000abc)}),
		series("only_stale", []string{"job", "api"}, prompb.Sample{Timestamp: 1_000_500, Value: math.Float64frombits(value.StaleNaN)}),
	}
}

// expect evaluates selector over set with Prometheus's own matchers: the
// oracle the answers are compared with.
func expect(t *testing.T, set []prompb.TimeSeries, selector string, start, end int64) []prompb.TimeSeries {
	t.Helper()
	ms, err := mapping.ParseSelector(selector)
	if err != nil {
		t.Fatal(err)
	}
	var out []prompb.TimeSeries
	for _, s := range set {
		lbls := labels.New()
		b := labels.NewBuilder(lbls)
		for _, l := range s.Labels {
			if l.Value != "" {
				b.Set(l.Name, l.Value)
			}
		}
		lbls = b.Labels()
		ok := true
		for _, m := range ms {
			ok = ok && m.Matches(lbls.Get(m.Name))
		}
		if !ok {
			continue
		}
		var kept []prompb.Sample
		for _, smp := range s.Samples {
			if smp.Timestamp >= start && smp.Timestamp <= end {
				kept = append(kept, smp)
			}
		}
		if len(kept) == 0 {
			continue
		}
		var pl []prompb.Label
		lbls.Range(func(l labels.Label) { pl = append(pl, prompb.Label{Name: l.Name, Value: l.Value}) })
		out = append(out, prompb.TimeSeries{Labels: pl, Samples: kept})
	}
	sort.Slice(out, func(i, j int) bool {
		return labels.Compare(toLabels(out[i].Labels), toLabels(out[j].Labels)) < 0
	})
	return out
}

func toLabels(pl []prompb.Label) labels.Labels {
	b := labels.NewScratchBuilder(len(pl))
	for _, l := range pl {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	return b.Labels()
}

// sameSeries compares answers exactly: order, labels, timestamps and float
// bits.
func sameSeries(got, want []prompb.TimeSeries) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d series, want %d:\ngot  %v\nwant %v", len(got), len(want), names(got), names(want))
	}
	for i := range want {
		if g, w := labelString(got[i].Labels), labelString(want[i].Labels); g != w || fmt.Sprint(got[i].Labels) != fmt.Sprint(want[i].Labels) {
			return fmt.Sprintf("series %d: labels %v, want %v", i, got[i].Labels, want[i].Labels)
		}
		if len(got[i].Samples) != len(want[i].Samples) {
			return fmt.Sprintf("series %d %v: %d samples, want %d", i, want[i].Labels, len(got[i].Samples), len(want[i].Samples))
		}
		for j, w := range want[i].Samples {
			g := got[i].Samples[j]
			if g.Timestamp != w.Timestamp || math.Float64bits(g.Value) != math.Float64bits(w.Value) {
				return fmt.Sprintf("series %d %v sample %d: %v, want %v", i, want[i].Labels, j, g, w)
			}
		}
	}
	return ""
}

func names(ss []prompb.TimeSeries) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = labelString(s.Labels)
	}
	return out
}

// TestIntegrationReadMatchers writes a set of series through promflux and
// reads it back with every kind of matcher, through both response types,
// comparing with what Prometheus's own matchers select.
func TestIntegrationReadMatchers(t *testing.T) {
	influx := influxtest.Start(t)
	_, w := startAdapter(t, influxConfig(influx.URL(), "prom"))
	set := readSet()
	if r := writeV1(t, w.URL+"/api/v1/write", set...); r.status != http.StatusNoContent {
		t.Fatalf("write: %d %s", r.status, r.body)
	}
	for _, endpoint := range readEndpoints {
		t.Run(endpoint, func(t *testing.T) {
			ts := startReader(t, influxConfig(influx.URL(), "prom"), endpoint)
			readMatchers(t, ts.URL, set)
		})
	}
}

// readEndpoints are the values of read_endpoint the read tests run with:
// auto reads floats through InfluxDB's /api/v1/prom/read (influxd 1.6),
// query reads everything through /query.
var readEndpoints = []string{influxworker.ReadAuto, influxworker.ReadQuery}

// startReader starts an adapter of config with every database's
// read_endpoint set, and checks after the test that reads went through the
// endpoint it names.
func startReader(t *testing.T, config, endpoint string) *httptest.Server {
	t.Helper()
	_, ts := startAdapter(t, strings.ReplaceAll(config, "create_database: true,", "create_database: true, read_endpoint: "+endpoint+","))
	t.Cleanup(func() {
		used := strings.Contains(get(t, ts.URL+"/metrics"), `operation="prom_read"`)
		if want := endpoint != influxworker.ReadQuery; used != want {
			t.Errorf("read_endpoint %s: /api/v1/prom/read used: %v, want %v", endpoint, used, want)
		}
	})
	return ts
}

// readMatchers reads set back from the adapter at url with every kind of
// matcher.
func readMatchers(t *testing.T, url string, set []prompb.TimeSeries) {
	t.Helper()
	const start, end = 1_000_000, 1_000_000 + 299_000
	selectors := []string{
		`http_requests_total`,
		`http_requests_total{job="api"}`,
		`http_requests_total{job!="api"}`,
		`http_requests_total{code=~"2.."}`,
		`http_requests_total{code!~"2..|5.."}`,
		`http_requests_total{path=""}`,
		`http_requests_total{path!=""}`,
		`http_requests_total{path!="/users"}`,
		`http_requests_total{path=~"/users|"}`,
		`http_requests_total{path!~"/u.*"}`,
		`http_requests_total{env=""}`,
		`{__name__=~"http_.*"}`,
		`{__name__=~"http_requests_total|up", job="web"}`,
		`{__name__!="http_requests_total", job="api"}`,
		`{__name__!~"http.*", job=~".+"}`,
		`{__name__=~"http_request_duration_seconds_bucket", le="+Inf"}`,
		`up{value="a tag named value"}`,
		`up{value!="a tag named value"}`,
		`{__name__="odd", q=~".*quoted.*"}`,
		`{__name__="odd", q="it's \"quoted\" \\ / slash"}`,
		`{__name__="odd", nl="a\nb"}`,
		`{__name__="odd", nl=~"a.b"}`,
		`{__name__="odd", time="t"}`,
		`{__name__="odd", q="') OR 1=1 --"}`,
		`{__name__="odd", slash="/.*/"}`,
		`{__name__="odd", q=~"'\\) OR.*"}`,
		`{job="nope"}`,
		`special`,
		`only_stale`,
		`{__name__=~"special|only_stale|up"}`,
	}
	for _, sel := range selectors {
		for _, rt := range [][]prompb.ReadRequest_ResponseType{samplesOnly, streamedOnly} {
			t.Run(fmt.Sprintf("%s/%v", sel, rt[0]), func(t *testing.T) {
				r := read(t, url+"/api/v1/read", rt, query(t, sel, start, end))
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				if diff := sameSeries(r.results[0], expect(t, set, sel, start, end)); diff != "" {
					t.Error(diff)
				}
			})
		}
	}

	t.Run("time range inclusive", func(t *testing.T) {
		sel := `http_requests_total{code="200",job="api"}`
		r := read(t, url+"/api/v1/read", samplesOnly, query(t, sel, 1_005_000, 1_007_000))
		want := expect(t, set, sel, 1_005_000, 1_007_000)
		if len(want) != 1 || len(want[0].Samples) != 3 {
			t.Fatalf("oracle: %v", want)
		}
		if diff := sameSeries(r.results[0], want); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("one result per query, in order", func(t *testing.T) {
		sels := []string{`up`, `{job="nope"}`, `http_requests_total{job="web"}`}
		var qs []*prompb.Query
		for _, s := range sels {
			qs = append(qs, query(t, s, start, end))
		}
		for _, rt := range [][]prompb.ReadRequest_ResponseType{samplesOnly, streamedOnly} {
			r := read(t, url+"/api/v1/read", rt, qs...)
			if len(r.results) != len(sels) {
				t.Fatalf("%v: %d results for %d queries", rt, len(r.results), len(sels))
			}
			for i, s := range sels {
				if diff := sameSeries(r.results[i], expect(t, set, s, start, end)); diff != "" {
					t.Errorf("%v query %d %s: %s", rt, i, s, diff)
				}
			}
		}
	})
}

// TestIntegrationReadNegotiation checks the response type chosen from the
// client's list, and the refusals.
func TestIntegrationReadNegotiation(t *testing.T) {
	influx := influxtest.Start(t)
	_, ts := startAdapter(t, influxConfig(influx.URL(), "prom"))
	writeV1(t, ts.URL+"/api/v1/write", readSet()...)
	q := query(t, "up", 0, 2_000_000)
	for _, tc := range []struct {
		name  string
		types []prompb.ReadRequest_ResponseType
		want  string
	}{
		{"empty list means samples", nil, "application/x-protobuf"},
		{"streamed first", []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS, prompb.ReadRequest_SAMPLES}, "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"},
		{"samples first", []prompb.ReadRequest_ResponseType{prompb.ReadRequest_SAMPLES, prompb.ReadRequest_STREAMED_XOR_CHUNKS}, "application/x-protobuf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := read(t, ts.URL+"/api/v1/read", tc.types, q)
			if r.status != http.StatusOK || r.header.Get("Content-Type") != tc.want {
				t.Fatalf("status %d Content-Type %q, want 200 %q (%s)", r.status, r.header.Get("Content-Type"), tc.want, r.body)
			}
			if len(r.results) != 1 || len(r.results[0]) != 2 {
				t.Errorf("got %v", r.results)
			}
		})
	}
	r := read(t, ts.URL+"/api/v1/read", []prompb.ReadRequest_ResponseType{99}, q)
	if r.status != http.StatusBadRequest {
		t.Errorf("unknown response type only: status %d, want 400", r.status)
	}
}

// TestIntegrationReadNativeSchema reads data written by InfluxDB's own
// /api/v1/prom/write (which also stores a __name__ tag).
func TestIntegrationReadNativeSchema(t *testing.T) {
	influx := influxtest.Start(t)
	influx.CreateDatabase(t, "native")
	set := []prompb.TimeSeries{
		series("native_metric", []string{"job", "x", "instance", "i:1"}, prompb.Sample{Value: 1.5, Timestamp: 1000}, prompb.Sample{Value: 2.5, Timestamp: 2000}),
		series("native_metric", []string{"job", "y"}, prompb.Sample{Value: -3, Timestamp: 1500}),
	}
	if r := writeV1(t, influx.URL()+"/api/v1/prom/write?db=native", set...); r.status/100 != 2 {
		t.Fatalf("InfluxDB's own prom write: %d %s", r.status, r.body)
	}
	for _, endpoint := range readEndpoints {
		ts := startReader(t, influxConfig(influx.URL(), "native"), endpoint)
		for _, sel := range []string{`native_metric`, `native_metric{job="x"}`, `{__name__=~"native_.*", instance=""}`} {
			for _, rt := range [][]prompb.ReadRequest_ResponseType{samplesOnly, streamedOnly} {
				r := read(t, ts.URL+"/api/v1/read", rt, query(t, sel, 0, 10_000))
				if r.status != http.StatusOK {
					t.Fatalf("%s %s: status %d: %s", endpoint, sel, r.status, r.body)
				}
				if diff := sameSeries(r.results[0], expect(t, set, sel, 0, 10_000)); diff != "" {
					t.Errorf("%s %s %v: %s", endpoint, sel, rt[0], diff)
				}
			}
		}
	}
}

// TestIntegrationReadTwoDatabases: a query goes to every database that can
// hold matching series; the same series in two databases is merged, and the
// same timestamp from both is one sample.
func TestIntegrationReadTwoDatabases(t *testing.T) {
	influx := influxtest.Start(t)
	_, ts := startAdapter(t, influxConfig(influx.URL(), "main", "node"))
	inNode := series("load", []string{"job", "node"}, prompb.Sample{Value: 1, Timestamp: 1000}, prompb.Sample{Value: 2, Timestamp: 2000})
	inMain := series("load", []string{"job", "node"}, prompb.Sample{Value: 2, Timestamp: 2000}, prompb.Sample{Value: 3, Timestamp: 3000})
	other := series("load", []string{"job", "other"}, prompb.Sample{Value: 9, Timestamp: 1000})
	writeV1(t, ts.URL+"/api/v1/write", inNode, other) // routed: node and main
	writeV1(t, ts.URL+"/api/v1/write?db=main", inMain)

	merged := series("load", []string{"job", "node"}, prompb.Sample{Value: 1, Timestamp: 1000}, prompb.Sample{Value: 2, Timestamp: 2000}, prompb.Sample{Value: 3, Timestamp: 3000})
	for _, rt := range [][]prompb.ReadRequest_ResponseType{samplesOnly, streamedOnly} {
		r := read(t, ts.URL+"/api/v1/read", rt, query(t, `load`, 0, 10_000))
		if diff := sameSeries(r.results[0], expect(t, []prompb.TimeSeries{merged, other}, `load`, 0, 10_000)); diff != "" {
			t.Errorf("%v: %s", rt[0], diff)
		}
		// ?db= reads one database only.
		r = read(t, ts.URL+"/api/v1/read?db=main", rt, query(t, `load`, 0, 10_000))
		if diff := sameSeries(r.results[0], expect(t, []prompb.TimeSeries{inMain, other}, `load`, 0, 10_000)); diff != "" {
			t.Errorf("?db=main %v: %s", rt[0], diff)
		}
	}
}

// TestIntegrationReadLimits: max_samples refuses a query with 400 before it
// reads; a database slower than read.timeout gets 503.
func TestIntegrationReadLimits(t *testing.T) {
	influx := influxtest.Start(t)
	_, ts := startAdapter(t, influxConfig(influx.URL(), "prom")+"read: {max_samples: 100, timeout: 1s}\n")
	writeV1(t, ts.URL+"/api/v1/write", readSet()...)
	for _, rt := range [][]prompb.ReadRequest_ResponseType{samplesOnly, streamedOnly} {
		r := read(t, ts.URL+"/api/v1/read", rt, query(t, `http_requests_total`, 0, 2_000_000))
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "read.max_samples (100)") {
			t.Errorf("%v over max_samples: %d %q, want 400 naming the limit", rt[0], r.status, r.body)
		}
		if r := read(t, ts.URL+"/api/v1/read", rt, query(t, `up`, 0, 2_000_000)); r.status != http.StatusOK {
			t.Errorf("%v under max_samples: %d %s", rt[0], r.status, r.body)
		}
	}
	influx.Pause()
	r := read(t, ts.URL+"/api/v1/read", samplesOnly, query(t, `up`, 0, 2_000_000))
	influx.Resume()
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("database slower than read.timeout: %d %q, want 503", r.status, r.body)
	}
}

// TestReadBadInput: malformed and misdirected read requests get a 4xx with
// a plain reason.
func TestReadBadInput(t *testing.T) {
	fake := newFakeInflux(t)
	_, ts := startAdapter(t, fakeConfig(fake.URL))
	writeBody := writeV1Body(t, upSample)
	for _, tc := range []struct {
		name, path, contentType string
		body                    []byte
		want                    int
		wantBody                string
	}{
		{"write request to read", "/api/v1/read", "application/x-protobuf", writeBody, http.StatusBadRequest, "/api/v1/write"},
		{"corrupt snappy", "/api/v1/read", "application/x-protobuf", []byte("\x0anonsense"), http.StatusBadRequest, "snappy"},
		{"bad content type", "/api/v1/read", "text/plain", writeBody, http.StatusUnsupportedMediaType, "text/plain"},
		{"read request to write", "/api/v1/write", contentTypeV1, readBody(t, nil, query(t, "up", 0, 1)), http.StatusBadRequest, "/api/v1/read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, ts.URL+tc.path, tc.contentType, "snappy", tc.body)
			if r.status != tc.want || !strings.Contains(r.body, tc.wantBody) {
				t.Errorf("status %d %q, want %d containing %q", r.status, r.body, tc.want, tc.wantBody)
			}
		})
	}
}

// TestIntegrationReadHistograms writes native histograms (integer and
// float, custom buckets, a stale one, in series mixed with floats) through promflux into a
// real influxd and reads them back through both response types.
func TestIntegrationReadHistograms(t *testing.T) {
	influx := influxtest.Start(t)
	_, ts := startAdapter(t, influxConfig(influx.URL(), "prom"))
	intHist := func(ts int64, zero uint64, deltas ...int64) prompb.Histogram {
		count := zero
		var c int64
		for _, d := range deltas {
			c += d
			count += uint64(c)
		}
		return prompb.Histogram{
			Count: &prompb.Histogram_CountInt{CountInt: count}, ZeroCount: &prompb.Histogram_ZeroCountInt{ZeroCountInt: zero},
			Sum: float64(count) * 0.5, Schema: 2, ZeroThreshold: 1e-128,
			PositiveSpans: []prompb.BucketSpan{{Offset: 1, Length: uint32(len(deltas))}}, PositiveDeltas: deltas,
			ResetHint: prompb.Histogram_NO, Timestamp: ts,
		}
	}
	mixed := series("mixed", []string{"job", "api"}, prompb.Sample{Value: 1, Timestamp: 1000}, prompb.Sample{Value: 2, Timestamp: 2000}, prompb.Sample{Value: 5, Timestamp: 5000})
	mixed.Histograms = []prompb.Histogram{intHist(3000, 1, 2, 1), intHist(4000, 2, 3, 1, -2)}
	stale := intHist(6000, 2, 3, 1, -2)
	stale.Sum = math.Float64frombits(value.StaleNaN)
	mixed.Histograms = append(mixed.Histograms, stale)
	floatH := series("float_hist", []string{"job", "api"})
	floatH.Histograms = []prompb.Histogram{{
		Count: &prompb.Histogram_CountFloat{CountFloat: 3.5}, ZeroCount: &prompb.Histogram_ZeroCountFloat{ZeroCountFloat: 0.5},
		Sum: -1.25, Schema: -1, ZeroThreshold: 0.001,
		NegativeSpans: []prompb.BucketSpan{{Offset: 0, Length: 2}}, NegativeCounts: []float64{1, 2},
		ResetHint: prompb.Histogram_GAUGE, Timestamp: 1500,
	}}
	custom := series("custom_buckets", []string{"job", "api"})
	custom.Histograms = []prompb.Histogram{{
		Count: &prompb.Histogram_CountInt{CountInt: 6}, ZeroCount: &prompb.Histogram_ZeroCountInt{}, Sum: 2.5, Schema: -53,
		PositiveSpans: []prompb.BucketSpan{{Offset: 0, Length: 3}}, PositiveDeltas: []int64{1, 1, 1},
		CustomValues: []float64{0.1, 0.5, 1}, Timestamp: 2500,
	}}
	if r := writeV1(t, ts.URL+"/api/v1/write", mixed, floatH, custom); r.status != http.StatusNoContent {
		t.Fatalf("write: %d %s", r.status, r.body)
	}
	ordered := []prompb.TimeSeries{custom, floatH, mixed}

	for _, rt := range [][]prompb.ReadRequest_ResponseType{samplesOnly, streamedOnly} {
		chunked := rt[0] == prompb.ReadRequest_STREAMED_XOR_CHUNKS
		r := read(t, ts.URL+"/api/v1/read", rt, query(t, `{job="api"}`, 0, 10_000))
		if r.status != http.StatusOK || len(r.results[0]) != len(ordered) {
			t.Fatalf("%v: %d %s %v", rt[0], r.status, r.body, r.results)
		}
		for i, want := range ordered {
			got := r.results[0][i]
			if diff := sameSeries([]prompb.TimeSeries{{Labels: got.Labels, Samples: got.Samples}}, []prompb.TimeSeries{{Labels: want.Labels, Samples: want.Samples}}); diff != "" {
				t.Errorf("%v floats: %s", rt[0], diff)
			}
			if g, w := histogramBytes(t, got.Histograms, chunked), histogramBytes(t, want.Histograms, chunked); g != w {
				t.Errorf("%v histograms of %v:\n got %s\nwant %s", rt[0], want.Labels, g, w)
			}
		}
	}
}

// histogramBytes renders histograms for comparison: their protobuf bytes,
// or, for chunks, the form Prometheus's chunk formats keep: buckets
// compacted, no reset hint, and of a stale histogram only its stale sum.
func histogramBytes(t *testing.T, hs []prompb.Histogram, chunked bool) string {
	t.Helper()
	var b strings.Builder
	for _, h := range hs {
		if chunked && value.IsStaleNaN(h.Sum) {
			h = prompb.Histogram{Sum: h.Sum, Timestamp: h.Timestamp}
			if h.IsFloatHistogram() {
				h.Count = &prompb.Histogram_CountFloat{}
			}
		} else if chunked {
			if h.IsFloatHistogram() {
				h = prompb.FromFloatHistogram(h.Timestamp, h.ToFloatHistogram().Compact(0))
			} else {
				h = prompb.FromIntHistogram(h.Timestamp, h.ToIntHistogram().Compact(0))
			}
			h.ResetHint = 0
		}
		raw, err := proto.Marshal(&h)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%x\n", raw)
	}
	return b.String()
}

// TestIntegrationReadOrder: the series of one measurement come back in
// Prometheus's order although InfluxDB sends them in its own (a series
// lacking a tag first, "10" before "1 0"), with every sample.
func TestIntegrationReadOrder(t *testing.T) {
	influx := influxtest.Start(t)
	_, w := startAdapter(t, influxConfig(influx.URL(), "prom"))
	samples := func(base float64) []prompb.Sample {
		out := make([]prompb.Sample, 50)
		for i := range out {
			out[i] = prompb.Sample{Timestamp: 1_000_000 + int64(i)*1000, Value: base + float64(i)}
		}
		return out
	}
	var set []prompb.TimeSeries
	for i, kv := range [][]string{
		{"host", "a"},
		{"cpu", "1", "host", "a"},
		{"cpu", "10", "host", "a"},
		{"cpu", "1 0", "host", "a"},
		{"cpu", "1", "host", "a", "zone", "z"},
		{"cpu", "2"},
		{"A", "x", "cpu", "3"},
		{"cpu", "1", "host", "b"},
	} {
		set = append(set, series("order", kv, samples(float64(100*i))...))
	}
	if r := writeV1(t, w.URL+"/api/v1/write", set...); r.status != http.StatusNoContent {
		t.Fatalf("write: %d %s", r.status, r.body)
	}
	for _, endpoint := range readEndpoints {
		ts := startReader(t, influxConfig(influx.URL(), "prom"), endpoint)
		for _, sel := range []string{`order`, `{__name__="order",cpu=~"1.*"}`, `{__name__=~"ord.*",host!="b"}`} {
			for _, rt := range [][]prompb.ReadRequest_ResponseType{samplesOnly, streamedOnly} {
				r := read(t, ts.URL+"/api/v1/read", rt, query(t, sel, 1_010_000, 1_040_000))
				if r.status != http.StatusOK {
					t.Fatalf("%s %s %v: %d %s", endpoint, sel, rt[0], r.status, r.body)
				}
				if diff := sameSeries(r.results[0], expect(t, set, sel, 1_010_000, 1_040_000)); diff != "" {
					t.Errorf("%s %s %v: %s", endpoint, sel, rt[0], diff)
				}
			}
		}
	}
}

// TestIntegrationReadPromReadFallbacks: what /api/v1/prom/read cannot
// answer is read through /query: a "value" field another writer stored as
// an integer (the endpoint skips it), and a server without the endpoint
// (here a proxy that answers 404 for it), after which the endpoint is not
// asked again.
func TestIntegrationReadPromReadFallbacks(t *testing.T) {
	influx := influxtest.Start(t)
	influx.CreateDatabase(t, "other")
	writeLines(t, influx.URL(), "other", "intval,job=a value=5i 1000\nfloatval,job=b value=7.5 2000\n")
	want := []prompb.TimeSeries{
		series("floatval", []string{"job", "b"}, prompb.Sample{Value: 7.5, Timestamp: 2000}),
		series("intval", []string{"job", "a"}, prompb.Sample{Value: 5, Timestamp: 1000}),
	}
	check := func(t *testing.T, url string) {
		t.Helper()
		for _, rt := range [][]prompb.ReadRequest_ResponseType{samplesOnly, streamedOnly} {
			r := read(t, url+"/api/v1/read", rt, query(t, `{__name__=~"intval|floatval"}`, 0, 10_000))
			if r.status != http.StatusOK {
				t.Fatalf("%v: %d %s", rt[0], r.status, r.body)
			}
			if diff := sameSeries(r.results[0], want); diff != "" {
				t.Errorf("%v: %s", rt[0], diff)
			}
		}
	}
	t.Run("integer field", func(t *testing.T) {
		check(t, startReader(t, influxConfig(influx.URL(), "other"), influxworker.ReadAuto).URL)
	})
	t.Run("escaped series keys", func(t *testing.T) {
		// Found through SHOW SERIES, whose keys promflux splits as
		// InfluxDB does, and read through /query, which reports the tags.
		writeLines(t, influx.URL(), "other", `esc\,m\ x,k=a\,b,l=c\ d value=1 1000`+"\n"+`esc\,m\ x,k=a\=b,l=e value=2 1000`+"\n"+`esc\,m\ x,k=f\\g,l=h value=3 1000`+"\n")
		want := []prompb.TimeSeries{
			series("esc,m x", []string{"k", "a,b", "l", "c d"}, prompb.Sample{Value: 1, Timestamp: 1000}),
			series("esc,m x", []string{"k", "a=b", "l", "e"}, prompb.Sample{Value: 2, Timestamp: 1000}),
			series("esc,m x", []string{"k", `f\\g`, "l", "h"}, prompb.Sample{Value: 3, Timestamp: 1000}),
		}
		for _, endpoint := range readEndpoints {
			ts := startReader(t, influxConfig(influx.URL(), "other"), endpoint)
			for _, rt := range [][]prompb.ReadRequest_ResponseType{samplesOnly, streamedOnly} {
				r := read(t, ts.URL+"/api/v1/read", rt, query(t, `{__name__="esc,m x"}`, 0, 10_000))
				if r.status != http.StatusOK {
					t.Fatalf("%s %v: %d %s", endpoint, rt[0], r.status, r.body)
				}
				if diff := sameSeries(r.results[0], want); diff != "" {
					t.Errorf("%s %v: %s", endpoint, rt[0], diff)
				}
			}
		}
	})
	t.Run("no endpoint", func(t *testing.T) {
		// A fake for the one fault: InfluxDB behind a front that has no
		// /api/v1/prom/read. It copies whole answers: Go's ReverseProxy
		// sometimes breaks influxd 1.6's chunked answers off.
		var promReads atomic.Int64
		noPromRead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1/prom/read" {
				promReads.Add(1)
				http.NotFound(w, r)
				return
			}
			req, err := http.NewRequestWithContext(r.Context(), r.Method, influx.URL()+r.URL.RequestURI(), r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			req.Header = r.Header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			for k, v := range resp.Header {
				if k != "Content-Length" && k != "Transfer-Encoding" {
					w.Header()[k] = v
				}
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = w.Write(body)
		}))
		t.Cleanup(noPromRead.Close)
		_, ts := startAdapter(t, influxConfig(noPromRead.URL, "other"))
		check(t, ts.URL)
		check(t, ts.URL) // the endpoint is not asked again
		if n := promReads.Load(); n != 1 {
			t.Errorf("/api/v1/prom/read asked %d times, want once", n)
		}
	})
}

// TestIntegrationReadLimitMidStream: a streamed answer that passes
// read.max_samples after its first frame left is broken off, so that the
// client sees an error and never a short answer that looks complete, and
// the abort is counted.
func TestIntegrationReadLimitMidStream(t *testing.T) {
	influx := influxtest.Start(t)
	for _, endpoint := range readEndpoints {
		t.Run(endpoint, func(t *testing.T) {
			// The first series of http_requests_total in label order has
			// 300 samples, the next 10.
			config := strings.ReplaceAll(influxConfig(influx.URL(), "prom"), "create_database: true,", "create_database: true, read_endpoint: "+endpoint+",")
			_, ts := startAdapter(t, config+"read: {max_samples: 305}\n")
			if r := writeV1(t, ts.URL+"/api/v1/write", readSet()...); r.status != http.StatusNoContent {
				t.Fatalf("write: %d %s", r.status, r.body)
			}
			resp := postRead(t, ts.URL+"/api/v1/read", streamedOnly, query(t, `http_requests_total`, 0, 2_000_000))
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || err == nil {
				t.Fatalf("status %d, body read error %v (%d bytes): want 200 and a broken body", resp.StatusCode, err, len(body))
			}
			if !strings.Contains(get(t, ts.URL+"/metrics"), "promflux_reads_aborted_total 1") {
				t.Error("promflux_reads_aborted_total is not 1")
			}
		})
	}
}

// writeLines writes line protocol with millisecond timestamps straight to
// InfluxDB, as another writer would.
func writeLines(t *testing.T, influxURL, db, lines string) {
	t.Helper()
	resp, err := http.Post(influxURL+"/write?db="+db+"&precision=ms", "text/plain", strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %d", resp.StatusCode)
	}
}

// TestIntegrationReadManyGroups: with groups of a few series read through
// /api/v1/prom/read, each asked for while the last is answered and cut
// where blocks of series begin, the answer holds every series once, in
// Prometheus's order, with every sample.
func TestIntegrationReadManyGroups(t *testing.T) {
	old := promReadSamples
	promReadSamples = 25 // two or three series of 10 samples a group
	t.Cleanup(func() { promReadSamples = old })
	influx := influxtest.Start(t)
	_, w := startAdapter(t, influxConfig(influx.URL(), "prom"))
	var set []prompb.TimeSeries
	for cpu := range 4 {
		for host := range 7 {
			var samples []prompb.Sample
			for i := range 10 {
				samples = append(samples, prompb.Sample{Timestamp: 1_000_000 + int64(i)*1000, Value: float64(100*cpu + 10*host + i)})
			}
			set = append(set, series("groups", []string{"cpu", fmt.Sprint(cpu), "host", fmt.Sprint("h", host), "job", "node"}, samples...))
		}
	}
	if r := writeV1(t, w.URL+"/api/v1/write", set...); r.status != http.StatusNoContent {
		t.Fatalf("write: %d %s", r.status, r.body)
	}
	ts := startReader(t, influxConfig(influx.URL(), "prom"), influxworker.ReadAuto)
	for _, sel := range []string{`groups`, `groups{host=~"h[1-5]"}`} {
		for _, rt := range [][]prompb.ReadRequest_ResponseType{samplesOnly, streamedOnly} {
			r := read(t, ts.URL+"/api/v1/read", rt, query(t, sel, 1_000_000, 1_009_000))
			if r.status != http.StatusOK {
				t.Fatalf("%s %v: %d %s", sel, rt[0], r.status, r.body)
			}
			if diff := sameSeries(r.results[0], expect(t, set, sel, 1_000_000, 1_009_000)); diff != "" {
				t.Errorf("%s %v: %s", sel, rt[0], diff)
			}
		}
	}
}
