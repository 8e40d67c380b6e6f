package adapter

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

func fakeConfig(urls ...string) string {
	var b strings.Builder
	b.WriteString("databases:\n")
	for i, u := range urls {
		fmt.Fprintf(&b, "  - {name: db%d, url: %q, database: p, pool: {timeout: 2s}}\n", i, u)
	}
	b.WriteString("default_database: db0\nlimits: {max_request_bytes: 4KiB, max_decoded_bytes: 64KiB}\n")
	if len(urls) > 1 {
		b.WriteString("routes:\n  - {match: '{job=\"one\"}', database: db1}\n")
	}
	return b.String()
}

var upSample = series("up", []string{"job", "x"}, prompb.Sample{Value: 1, Timestamp: 1000})

// TestWriteStatusFromDatabase checks the status-code policy for what the
// database answers: 204 only after it acknowledged, 400 with its reason when
// it refused the points for good, 503 with Retry-After otherwise.
func TestWriteStatusFromDatabase(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		body       string
		down       bool
		wantStatus int
		wantBody   string
	}{
		{name: "acknowledged", status: http.StatusNoContent, wantStatus: http.StatusNoContent},
		{name: "field type conflict", status: http.StatusBadRequest,
			body:       `{"error":"partial write: field type conflict: input field \"value\" on measurement \"up\" is type integer, already exists as type float dropped=1"}`,
			wantStatus: http.StatusBadRequest, wantBody: "field type conflict"},
		{name: "server error", status: http.StatusInternalServerError, body: `{"error":"engine: cache-max-memory-size exceeded"}`,
			wantStatus: http.StatusServiceUnavailable, wantBody: "cache-max-memory-size exceeded"},
		{name: "overloaded", status: http.StatusServiceUnavailable, wantStatus: http.StatusServiceUnavailable},
		{name: "unauthorized is a configuration problem, retried", status: http.StatusUnauthorized, body: `{"error":"authorization failed"}`,
			wantStatus: http.StatusServiceUnavailable, wantBody: "authorization failed"},
		{name: "database down", down: true, wantStatus: http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeInflux(t)
			fake.fail(tc.status, tc.body)
			_, ts := startAdapter(t, fakeConfig(fake.URL))
			if tc.down {
				fake.Close()
			}
			r := writeV1(t, ts.URL+"/api/v1/write", upSample)
			if r.status != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, tc.wantStatus)
			}
			if !strings.Contains(r.body, tc.wantBody) || strings.Count(r.body, "\n") > 1 {
				t.Errorf("body %q: want one line containing %q", r.body, tc.wantBody)
			}
			if got := r.header.Get("Retry-After"); (tc.wantStatus == http.StatusServiceUnavailable) != (got != "") {
				t.Errorf("Retry-After %q with status %d", got, r.status)
			}
			if r.header.Get("X-Prometheus-Remote-Write-Samples-Written") != "" {
				t.Error("RW 1.0 answer carries RW 2.0 headers")
			}
		})
	}
}

// TestWriteBadInput sends malformed requests: each gets its 4xx and a
// one-line reason, nothing reaches the database, and the server keeps
// serving.
func TestWriteBadInput(t *testing.T) {
	fake := newFakeInflux(t)
	_, ts := startAdapter(t, fakeConfig(fake.URL))
	url := ts.URL + "/api/v1/write"
	raw, _ := proto.Marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{upSample}})
	good := snappy.Encode(nil, raw)
	// A snappy block whose header claims 1 GiB: refused before decoding.
	huge := append(appendUvarint(nil, 1<<30), 0)

	for _, tc := range []struct {
		name, contentType, encoding string
		body                        []byte
		path                        string
		want                        int
		wantBody                    string
	}{
		{"text content type", "text/plain", "snappy", good, "", http.StatusUnsupportedMediaType, "text/plain"},
		{"unknown proto", "application/x-protobuf;proto=foo.Bar", "snappy", good, "", http.StatusUnsupportedMediaType, "foo.Bar"},
		{"gzip encoding", contentTypeV1, "gzip", good, "", http.StatusUnsupportedMediaType, "gzip"},
		{"body over limit", contentTypeV1, "snappy", make([]byte, 8<<10), "", http.StatusRequestEntityTooLarge, "max_request_bytes"},
		{"decoded length over limit", contentTypeV1, "snappy", huge, "", http.StatusBadRequest, "max_decoded_bytes"},
		{"corrupt snappy", contentTypeV1, "snappy", []byte("\x0anot snappy at all"), "", http.StatusBadRequest, "snappy"},
		{"bad protobuf", contentTypeV1, "snappy", snappy.Encode(nil, []byte("\x0a\xff\xff\xff")), "", http.StatusBadRequest, "prometheus.WriteRequest"},
		{"unknown database", contentTypeV1, "snappy", good, "?db=nope", http.StatusBadRequest, `unknown database "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, url+tc.path, tc.contentType, tc.encoding, tc.body)
			if r.status != tc.want {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, tc.want)
			}
			if !strings.Contains(r.body, tc.wantBody) || strings.Count(strings.TrimSpace(r.body), "\n") > 0 {
				t.Errorf("body %q: want one line containing %q", r.body, tc.wantBody)
			}
		})
	}
	if n := len(fake.written()); n != 0 {
		t.Fatalf("bad requests wrote %d lines", n)
	}
	if r := post(t, url, contentTypeV1, "snappy", good); r.status != http.StatusNoContent {
		t.Fatalf("server stopped serving: good request got %d %s", r.status, r.body)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/v1/write: %d, want 405", resp.StatusCode)
	}
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// TestWritePartiallyInvalid: invalid series and samples of kinds not stored
// yet are named in a 400, while the valid rest of the request is written.
func TestWritePartiallyInvalid(t *testing.T) {
	fake := newFakeInflux(t)
	_, ts := startAdapter(t, fakeConfig(fake.URL))
	noName := prompb.TimeSeries{Labels: []prompb.Label{{Name: "job", Value: "x"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: 1}}}
	dup := series("dup", []string{"a", "1", "a", "2"}, prompb.Sample{Value: 1, Timestamp: 1})
	hist := series("h", nil, prompb.Sample{Value: 7, Timestamp: 5})
	hist.Histograms = []prompb.Histogram{{Count: &prompb.Histogram_CountInt{CountInt: 1}, ZeroCount: &prompb.Histogram_ZeroCountInt{ZeroCountInt: 1}, Sum: 0, Timestamp: 6}}
	hist.Exemplars = []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "abc"}}, Value: 0.5, Timestamp: 7}}
	// Buckets that do not add up to the count: the whole series is refused.
	badHist := series("bad_h", nil, prompb.Sample{Value: 1, Timestamp: 5})
	badHist.Histograms = []prompb.Histogram{{Count: &prompb.Histogram_CountInt{CountInt: 1}, Timestamp: 5}}
	special := series("special", nil,
		prompb.Sample{Value: math.NaN(), Timestamp: 1},
		prompb.Sample{Value: math.Inf(1), Timestamp: 2},
		prompb.Sample{Value: math.Float64frombits(value.StaleNaN), Timestamp: 3},
		prompb.Sample{Value: 2.5, Timestamp: 4})

	r := writeV1(t, ts.URL+"/api/v1/write", noName, upSample, dup, hist, badHist, special)
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d (%s), want 400", r.status, r.body)
	}
	for _, want := range []string{"3 series refused", "__name__", `duplicate label name "a"`, `series {__name__="bad_h"} refused: invalid histogram at 5`, "the other series were written"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("body %q does not contain %q", r.body, want)
		}
	}
	got := strings.Join(fake.written(), "\n")
	want := "up,job=x value=1 1000\nh value=7 5\n" +
		"h h_count=1,h_sum=0,h_zero_count=1,h_zero_threshold=0,h_schema=0i,h_reset_hint=0i,h_float=false 6\n" +
		"h exemplar_value=0.5,exemplar_labels=\"{trace_id=\\\"abc\\\"}\" 7\n" +
		"special special=2.25179981368525e+15 1\nspecial special=1 2\nspecial special=3 3\nspecial value=2.5 4"
	if got != want {
		t.Errorf("written:\n%s\nwant:\n%s", got, want)
	}

	// NaN, Inf and stale markers are stored (docs/schema.md), alone too.
	if r := writeV1(t, ts.URL+"/api/v1/write", special); r.status != http.StatusNoContent {
		t.Errorf("special values: status %d (%s), want 204", r.status, r.body)
	}
}

// TestWriteV2Headers checks the exact written counts on every RW 2.0
// answer, errors included, and their absence on RW 1.0.
func TestWriteV2Headers(t *testing.T) {
	fake0, fake1 := newFakeInflux(t), newFakeInflux(t)
	_, ts := startAdapter(t, fakeConfig(fake0.URL, fake1.URL))
	url := ts.URL + "/api/v1/write"
	two := series("m", []string{"job", "zero"}, prompb.Sample{Value: 1, Timestamp: 1}, prompb.Sample{Value: 2, Timestamp: 2})
	three := series("m", []string{"job", "one"}, prompb.Sample{Value: 1, Timestamp: 1}, prompb.Sample{Value: 2, Timestamp: 2}, prompb.Sample{Value: 3, Timestamp: 3})
	stale := series("m", []string{"job", "zero", "s", "1"}, prompb.Sample{Value: math.Float64frombits(value.StaleNaN), Timestamp: 9})
	noName := prompb.TimeSeries{Labels: []prompb.Label{{Name: "job", Value: "zero"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: 1}}}

	check := func(t *testing.T, r response, status int, samples string) {
		t.Helper()
		if r.status != status {
			t.Fatalf("status %d (%s), want %d", r.status, r.body, status)
		}
		for name, want := range map[string]string{"Samples": samples, "Histograms": "0", "Exemplars": "0"} {
			if got := r.header.Get("X-Prometheus-Remote-Write-" + name + "-Written"); got != want {
				t.Errorf("%s written = %q, want %q", name, got, want)
			}
		}
	}
	t.Run("all written", func(t *testing.T) {
		check(t, writeV2(t, url, v2Request(two, three, stale)), http.StatusNoContent, "6")
	})
	t.Run("histograms and exemplars", func(t *testing.T) {
		req := v2Request(two)
		req.Timeseries[0].Histograms = []writev2.Histogram{
			{Count: &writev2.Histogram_CountInt{CountInt: 2}, ZeroCount: &writev2.Histogram_ZeroCountInt{ZeroCountInt: 2}, Timestamp: 3},
			{Count: &writev2.Histogram_CountInt{CountInt: 3}, ZeroCount: &writev2.Histogram_ZeroCountInt{ZeroCountInt: 3}, Timestamp: 4},
		}
		req.Timeseries[0].Exemplars = []writev2.Exemplar{{Value: 1, Timestamp: 2}}
		r := writeV2(t, url, req)
		if r.status != http.StatusNoContent {
			t.Fatalf("status %d (%s)", r.status, r.body)
		}
		for name, want := range map[string]string{"Samples": "2", "Histograms": "2", "Exemplars": "1"} {
			if got := r.header.Get("X-Prometheus-Remote-Write-" + name + "-Written"); got != want {
				t.Errorf("%s written = %q, want %q", name, got, want)
			}
		}
	})
	t.Run("one series refused", func(t *testing.T) {
		check(t, writeV2(t, url, v2Request(two, noName)), http.StatusBadRequest, "2")
	})
	t.Run("one database down", func(t *testing.T) {
		fake1.fail(http.StatusInternalServerError, "")
		defer fake1.fail(http.StatusNoContent, "")
		check(t, writeV2(t, url, v2Request(two, three)), http.StatusServiceUnavailable, "2")
	})
	t.Run("undecodable", func(t *testing.T) {
		check(t, post(t, url, contentTypeV2, "snappy", []byte("garbage")), http.StatusBadRequest, "0")
	})
}

// TestWriteRoutesToSeveralDatabases: one request whose series go to two
// databases is written to both, and ?db= overrides the routes.
func TestWriteRoutesToSeveralDatabases(t *testing.T) {
	fake0, fake1 := newFakeInflux(t), newFakeInflux(t)
	_, ts := startAdapter(t, fakeConfig(fake0.URL, fake1.URL))
	a := series("a", []string{"job", "zero"}, prompb.Sample{Value: 1, Timestamp: 1})
	b := series("b", []string{"job", "one"}, prompb.Sample{Value: 2, Timestamp: 2})
	if r := writeV1(t, ts.URL+"/api/v1/write", a, b); r.status != http.StatusNoContent {
		t.Fatalf("status %d (%s)", r.status, r.body)
	}
	if got := fake0.written(); fmt.Sprint(got) != "[a,job=zero value=1 1]" {
		t.Errorf("db0 got %v", got)
	}
	if got := fake1.written(); fmt.Sprint(got) != "[b,job=one value=2 2]" {
		t.Errorf("db1 got %v", got)
	}
	if r := writeV1(t, ts.URL+"/api/v1/write?db=db1", a); r.status != http.StatusNoContent {
		t.Fatalf("?db=: status %d (%s)", r.status, r.body)
	}
	if got := fake1.written(); len(got) != 2 || got[1] != "a,job=zero value=1 1" {
		t.Errorf("?db=db1 did not bypass the routes: db1 got %v", got)
	}
}

// TestWriteMetrics checks that what a request did shows up in /metrics.
func TestWriteMetrics(t *testing.T) {
	fake := newFakeInflux(t)
	ts, logs := startAdapterLogging(t, fakeConfig(fake.URL))
	special := series("special", nil,
		prompb.Sample{Value: math.NaN(), Timestamp: 1},
		prompb.Sample{Value: math.Inf(-1), Timestamp: 2},
		prompb.Sample{Value: math.Float64frombits(value.StaleNaN), Timestamp: 3},
		prompb.Sample{Value: 2.5, Timestamp: 4},
		prompb.Sample{Value: 1, Timestamp: math.MaxInt64}) // beyond InfluxDB's time range
	noName := prompb.TimeSeries{Labels: []prompb.Label{{Name: "job", Value: "x"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: 1}}}
	// Out of InfluxDB's time range too: two histograms and an exemplar.
	hist := series("h", nil)
	for _, ts := range []int64{math.MinInt64, math.MaxInt64, 6} {
		hist.Histograms = append(hist.Histograms, prompb.Histogram{Count: &prompb.Histogram_CountInt{CountInt: 1}, ZeroCount: &prompb.Histogram_ZeroCountInt{ZeroCountInt: 1}, Timestamp: ts})
	}
	hist.Exemplars = []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "abc"}}, Value: 0.5, Timestamp: math.MaxInt64}}
	writeV1(t, ts.URL+"/api/v1/write", special, noName, hist)

	body := get(t, ts.URL+"/metrics")
	for _, want := range []string{
		`promflux_samples_received_total{database="db0"} 6`,
		`promflux_samples_skipped_total{reason="out_of_range"} 1`,
		`promflux_histograms_skipped_total{reason="out_of_range"} 2`,
		`promflux_exemplars_skipped_total{reason="out_of_range"} 1`,
		`promflux_series_refused_total 1`,
		`promflux_influxdb_points_written_total{database="db0"} 5`,
		`promflux_http_request_duration_seconds_count{code="400",handler="write"} 1`,
		`promflux_config_last_reload_successful 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// What is not written is logged at the default level too.
	const skipped = `level=warn component=adapter msg="samples not written: InfluxDB cannot store them" reason=out_of_range samples=1 histograms=2 exemplars=1`
	if !strings.Contains(logs.String(), skipped) {
		t.Errorf("log lacks %q:\n%s", skipped, logs)
	}
	// So is the refusal of the series without a name, which Prometheus
	// drops.
	const refused = `level=warn component=adapter msg="request refused, the client will not retry it" status=400 err="`
	if !strings.Contains(logs.String(), refused) || !strings.Contains(logs.String(), "missing metric name") {
		t.Errorf("log lacks %q naming the series:\n%s", refused, logs)
	}
}

func TestLogLimiter(t *testing.T) {
	var l logLimiter
	t0 := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		after  time.Duration
		ok     bool
		missed int
	}{
		{0, true, 0},
		{100 * time.Millisecond, false, 0},
		{900 * time.Millisecond, false, 0},
		{time.Second, true, 2},
		{3 * time.Second, true, 0},
	} {
		if ok, missed := l.allow(t0.Add(tc.after)); ok != tc.ok || missed != tc.missed {
			t.Errorf("at +%v: %v, %d; want %v, %d", tc.after, ok, missed, tc.ok, tc.missed)
		}
	}
}

// TestWriteMetadataOncePerRequest: metadata repeated within one request
// (RW 2.0 carries it on every series of a family) is written once.
func TestWriteMetadataOncePerRequest(t *testing.T) {
	fake := newFakeInflux(t)
	_, ts := startAdapter(t, fakeConfig(fake.URL))
	m := prompb.MetricMetadata{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "http_requests_total", Help: "Requests."}
	raw, err := proto.Marshal(&prompb.WriteRequest{Metadata: []prompb.MetricMetadata{m, m, m}})
	if err != nil {
		t.Fatal(err)
	}
	if r := post(t, ts.URL+"/api/v1/write", contentTypeV1, "snappy", snappy.Encode(nil, raw)); r.status != http.StatusNoContent {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if got := fake.written(); len(got) != 1 || !strings.HasPrefix(got[0], "promflux_metadata,metric=http_requests_total ") {
		t.Errorf("written %q, want one metadata point", got)
	}
}

// TestWriteMetadataWhenChanged: Prometheus resends all metadata every
// minute; promflux writes a family's metadata when it is new or changed,
// and again after a write of it failed.
func TestWriteMetadataWhenChanged(t *testing.T) {
	fake := newFakeInflux(t)
	_, ts := startAdapter(t, fakeConfig(fake.URL))
	send := func(help string) response {
		t.Helper()
		raw, err := proto.Marshal(&prompb.WriteRequest{Metadata: []prompb.MetricMetadata{
			{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "http_requests_total", Help: help},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return post(t, ts.URL+"/api/v1/write", contentTypeV1, "snappy", snappy.Encode(nil, raw))
	}
	metadataLines := func() int {
		n := 0
		for _, l := range fake.written() {
			if strings.HasPrefix(l, "promflux_metadata,") {
				n++
			}
		}
		return n
	}
	for i, step := range []struct {
		help  string
		fail  bool
		lines int
	}{
		{"Requests.", false, 1},
		{"Requests.", false, 1}, // unchanged: not written again
		{"All requests.", true, 1},
		{"All requests.", false, 2}, // the failed write is retried
		{"All requests.", false, 2},
	} {
		if step.fail {
			fake.fail(http.StatusInternalServerError, "")
		}
		r := send(step.help)
		fake.fail(http.StatusNoContent, "")
		if want := map[bool]int{false: http.StatusNoContent, true: http.StatusServiceUnavailable}[step.fail]; r.status != want {
			t.Fatalf("step %d: status %d (%s), want %d", i, r.status, r.body, want)
		}
		if got := metadataLines(); got != step.lines {
			t.Fatalf("step %d: %d metadata lines written, want %d: %v", i, got, step.lines, fake.written())
		}
	}
}

// TestWriteV2ExemplarAndMetadataOnly: RW 2.0 series that carry only
// exemplars or only metadata are stored and acknowledged.
func TestWriteV2ExemplarAndMetadataOnly(t *testing.T) {
	fake := newFakeInflux(t)
	_, ts := startAdapter(t, fakeConfig(fake.URL))
	req := v2Request(series("rpc_seconds", []string{"job", "api"}), series("rpc_total", []string{"job", "api"}))
	req.Timeseries[0].Exemplars = []writev2.Exemplar{{Value: 0.5, Timestamp: 7}}
	req.Symbols = append(req.Symbols, "Total RPCs.")
	req.Timeseries[1].Metadata = writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: uint32(len(req.Symbols) - 1)}
	r := writeV2(t, ts.URL+"/api/v1/write", req)
	if r.status != http.StatusNoContent {
		t.Fatalf("status %d (%s), want 204", r.status, r.body)
	}
	if got := r.header.Get("X-Prometheus-Remote-Write-Exemplars-Written"); got != "1" {
		t.Errorf("exemplars written = %q, want 1", got)
	}
	written := strings.Join(fake.written(), "\n")
	for _, want := range []string{`rpc_seconds,job=api exemplar_value=0.5,exemplar_labels="{}" 7`, `promflux_metadata,metric=rpc_total type="counter",help="Total RPCs."`} {
		if !strings.Contains(written, want) {
			t.Errorf("written lines lack %q:\n%s", want, written)
		}
	}
}

// TestWriteOverloaded: when a database's queue is full, the write is
// answered at once with 503 and Retry-After, or 429 when configured so.
func TestWriteOverloaded(t *testing.T) {
	for _, tc := range []struct {
		config string
		want   int
	}{
		{"", http.StatusServiceUnavailable},
		{"write: {overload_status: 429}\n", http.StatusTooManyRequests},
	} {
		t.Run(fmt.Sprint(tc.want), func(t *testing.T) {
			release := make(chan struct{})
			// A fake InfluxDB that holds every write until released.
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/write" {
					<-release
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer slow.Close()
			defer close(release)
			_, ts := startAdapter(t, fmt.Sprintf("databases:\n  - {name: db0, url: %q, database: p, pool: {workers: 1, queue: 0, timeout: 5s}}\n", slow.URL)+tc.config)

			first := make(chan response, 1)
			go func() { first <- writeV1(t, ts.URL+"/api/v1/write", upSample) }()
			// Wait until the first write holds the only worker.
			for deadline := time.Now().Add(5 * time.Second); !strings.Contains(get(t, ts.URL+"/metrics"), `promflux_influxdb_inflight_requests{database="db0"} 1`); {
				if time.Now().After(deadline) {
					t.Fatal("the first write never reached the database")
				}
				time.Sleep(10 * time.Millisecond)
			}
			r := writeV1(t, ts.URL+"/api/v1/write", upSample)
			if r.status != tc.want || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "overloaded") {
				t.Errorf("second write: %d Retry-After %q %q; want %d with Retry-After", r.status, r.header.Get("Retry-After"), r.body, tc.want)
			}
			release <- struct{}{}
			if r := <-first; r.status != http.StatusNoContent {
				t.Errorf("first write: %d %s", r.status, r.body)
			}
		})
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestExampleAdapterPaths: /write and /read, the paths of Prometheus's
// example remote_storage_adapter, are remote write and read.
func TestExampleAdapterPaths(t *testing.T) {
	fake := newFakeInflux(t)
	_, ts := startAdapter(t, fakeConfig(fake.URL))
	if r := writeV1(t, ts.URL+"/write", upSample); r.status != http.StatusNoContent {
		t.Fatalf("POST /write: %d %s", r.status, r.body)
	}
	if got := fake.written(); fmt.Sprint(got) != "[up,job=x value=1 1000]" {
		t.Errorf("written %v", got)
	}
	// Not a read request: refused by the read handler, not unknown.
	r := post(t, ts.URL+"/read", "application/x-protobuf", "snappy", []byte("not snappy"))
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "snappy") {
		t.Errorf("POST /read: %d %s, want the read handler's 400", r.status, r.body)
	}
}

// TestWriteRequestLimit: a request over a request limit is answered 400
// naming the limit, and nothing of it is written.
func TestWriteRequestLimit(t *testing.T) {
	fake := newFakeInflux(t)
	_, ts := startAdapter(t, strings.Replace(fakeConfig(fake.URL), "limits: {", "limits: {max_series_per_request: 1, ", 1))
	r := writeV1(t, ts.URL+"/api/v1/write", upSample, series("down", []string{"job", "x"}, prompb.Sample{Value: 0, Timestamp: 1000}))
	if r.status != http.StatusBadRequest || strings.TrimSpace(r.body) != "2 series, over limits.max_series_per_request (1)" {
		t.Fatalf("request over the series limit: %d %q, want 400 naming the limit", r.status, r.body)
	}
	if got := fake.written(); len(got) != 0 {
		t.Errorf("InfluxDB got %q, want nothing", got)
	}
}

// TestWriteRefusedWholeAfterSeriesEncoded: series are encoded as they are
// decoded, so a request refused by what comes after its first series (a
// later series over a limit, bytes that are not protobuf) has had series
// encoded already; none of them may reach InfluxDB.
func TestWriteRefusedWholeAfterSeriesEncoded(t *testing.T) {
	fake := newFakeInflux(t)
	_, ts := startAdapter(t, strings.Replace(fakeConfig(fake.URL), "limits: {", "limits: {max_samples_per_series: 1, ", 1))
	two := series("down", []string{"job", "x"}, prompb.Sample{Value: 0, Timestamp: 1000}, prompb.Sample{Value: 0, Timestamp: 2000})
	r := writeV1(t, ts.URL+"/api/v1/write", upSample, two)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "series 1 \"down\": 2 samples, over limits.max_samples_per_series (1)") {
		t.Errorf("a later series over a limit: %d %q, want 400 naming it", r.status, r.body)
	}

	raw, err := proto.Marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{upSample}})
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw, 0x0a, 0x7f, 0x0a) // a timeseries field 127 bytes long, cut short
	r = post(t, ts.URL+"/api/v1/write", contentTypeV1, "snappy", snappy.Encode(nil, raw))
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "cannot unmarshal") {
		t.Errorf("a body cut after its first series: %d %q, want 400", r.status, r.body)
	}
	if got := fake.written(); len(got) != 0 {
		t.Errorf("InfluxDB got %q, want nothing", got)
	}

	// The same server goes on writing good requests.
	if r := writeV1(t, ts.URL+"/api/v1/write", upSample); r.status != http.StatusNoContent {
		t.Fatalf("a good request after: %d %s", r.status, r.body)
	}
	if got := fake.written(); len(got) != 1 {
		t.Errorf("InfluxDB got %q, want the one good line", got)
	}
}
