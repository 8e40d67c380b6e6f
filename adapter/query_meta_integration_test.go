package adapter

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// metaT0 is the first timestamp of what TestIntegrationMetadataEndpoints
// writes; oldT is a month before, in another of InfluxDB's shards.
const (
	metaT0 = 1_700_000_000_000
	oldT   = 1_600_000_000_000
)

// metaSet is what TestIntegrationMetadataEndpoints writes: series in both
// databases (job="node" is routed to node), names and values in the
// reversible form, a label named metric (the tag promflux's metadata
// uses), a native histogram, exemplars and an old series.
func metaSet() []prompb.TimeSeries {
	samples := func(start int64) []prompb.Sample {
		var out []prompb.Sample
		for i := range 10 {
			out = append(out, prompb.Sample{Timestamp: start + int64(i)*1000, Value: float64(i)})
		}
		return out
	}
	web := series("http_requests_total", []string{"job", "web", "code", "200"}, samples(metaT0)...)
	web.Exemplars = []prompb.Exemplar{
		{Labels: []prompb.Label{{Name: "trace_id", Value: "abc"}}, Value: 0.5, Timestamp: metaT0 + 1000},
		{Value: math.Inf(1), Timestamp: metaT0 + 2000},
		{Labels: []prompb.Label{{Name: "span", Value: "<&>"}, {Name: "odd name", Value: "x\ny"}}, Value: 1.25, Timestamp: metaT0 + 3000},
	}
	node := series("http_requests_total", []string{"job", "node", "code", "500"}, samples(metaT0)...)
	node.Exemplars = []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "n"}}, Value: 2, Timestamp: metaT0 + 1500}}
	hist := series("hist_seconds", []string{"job", "web"})
	hist.Histograms = []prompb.Histogram{{
		Count: &prompb.Histogram_CountInt{CountInt: 1}, ZeroCount: &prompb.Histogram_ZeroCountInt{ZeroCountInt: 1}, Timestamp: metaT0,
	}}
	return []prompb.TimeSeries{
		series("up", []string{"job", "web", "instance", "a:1"}, samples(metaT0)...),
		series("up", []string{"job", "node", "instance", "n:1"}, samples(metaT0)...),
		web, node, hist,
		series("#odd", []string{"time", "t", "msg", "two\nlines", "metric", "m1"}, samples(metaT0)...),
		series("old_metric", []string{"job", "web"}, samples(oldT)...),
	}
}

// writeWithMetadata posts series and metadata as one snappy RW 1.0
// request.
func writeWithMetadata(t *testing.T, url string, series []prompb.TimeSeries, md ...prompb.MetricMetadata) {
	t.Helper()
	raw, err := proto.Marshal(&prompb.WriteRequest{Timeseries: series, Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	if r := post(t, url, contentTypeV1, "snappy", snappy.Encode(nil, raw)); r.status != http.StatusNoContent {
		t.Fatalf("write: %d %s", r.status, r.body)
	}
}

// TestIntegrationMetadataEndpoints writes metaSet and metadata through
// promflux into a real influxd, into two databases, and asks the label,
// series, metadata and exemplar endpoints, with either read endpoint:
// every answer byte for byte.
func TestIntegrationMetadataEndpoints(t *testing.T) {
	influx := influxtest.Start(t)
	config := influxConfig(influx.URL(), "prom", "node")
	_, w := startAdapter(t, config)
	writeWithMetadata(t, w.URL+"/api/v1/write", metaSet(),
		prompb.MetricMetadata{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "up", Help: "1 if the target is up."},
		prompb.MetricMetadata{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "http_requests_total", Help: "Requests."},
		prompb.MetricMetadata{Type: prompb.MetricMetadata_INFO, MetricFamilyName: "#odd", Help: "odd\n\"help\"", Unit: "~b64~u"})
	// The same family, described otherwise in the other database.
	writeWithMetadata(t, w.URL+"/api/v1/write?db=node", nil,
		prompb.MetricMetadata{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "http_requests_total", Help: "Requests (node)."})

	t0 := fmt.Sprint(metaT0 / 1000)
	t60 := fmt.Sprint(metaT0/1000 + 60)
	const (
		webCounter  = `{"__name__":"http_requests_total","code":"200","job":"web"}`
		nodeCounter = `{"__name__":"http_requests_total","code":"500","job":"node"}`
		webExemplar = `{"seriesLabels":` + webCounter + `,"exemplars":[` +
			`{"labels":{"trace_id":"abc"},"value":"0.5","timestamp":1700000001},` +
			`{"labels":{},"value":"+Inf","timestamp":1700000002},` +
			`{"labels":{"odd name":"x\ny","span":"\u003c\u0026\u003e"},"value":"1.25","timestamp":1700000003}]}`
		odd = `{"__name__":"#odd","metric":"m1","msg":"two\nlines","time":"t"}`
	)
	for _, endpoint := range readEndpoints {
		t.Run(endpoint, func(t *testing.T) {
			_, ts := startAdapter(t, strings.ReplaceAll(config, "create_database: true,", "create_database: true, read_endpoint: "+endpoint+","))
			for _, tc := range []struct {
				path   string
				params url.Values
				want   string
			}{
				// Without match[], InfluxDB's index, of all time.
				{"/api/v1/labels", url.Values{"start": {t0}, "end": {t60}},
					`["__name__","code","instance","job","metric","msg","time"]`},
				{"/api/v1/label/__name__/values", url.Values{"start": {t0}, "end": {t60}},
					`["#odd","hist_seconds","http_requests_total","old_metric","up"]`},
				{"/api/v1/label/job/values", nil, `["node","web"]`},
				{"/api/v1/label/msg/values", nil, `["two\nlines"]`},
				{"/api/v1/label/time/values", nil, `["t"]`},
				{"/api/v1/label/metric/values", nil, `["m1"]`},
				{"/api/v1/label/nothing/values", nil, `[]`},
				{"/api/v1/labels", url.Values{"limit": {"2"}}, `["__name__","code"],"warnings":["results truncated due to limit"]`},
				// With match[], the series found as a read finds them.
				{"/api/v1/labels", url.Values{"match[]": {`{job="node"}`}}, `["__name__","code","instance","job"]`},
				{"/api/v1/labels", url.Values{"match[]": {`{job="node"}`, `{__name__="#odd"}`}}, `["__name__","code","instance","job","metric","msg","time"]`},
				{"/api/v1/label/job/values", url.Values{"match[]": {`up`}}, `["node","web"]`},
				{"/api/v1/label/job/values", url.Values{"match[]": {`http_requests_total{code="500"}`}}, `["node"]`},
				{"/api/v1/label/__name__/values", url.Values{"match[]": {`{job="web"}`}, "start": {t0}, "end": {t60}}, `["hist_seconds","http_requests_total","up"]`},
				{"/api/v1/label/metric/values", url.Values{"match[]": {`{metric=~".+"}`}}, `["m1"]`},

				{"/api/v1/series", url.Values{"match[]": {`{job="web"}`}, "start": {t0}, "end": {t60}},
					`[{"__name__":"hist_seconds","job":"web"},` + webCounter + `,{"__name__":"up","instance":"a:1","job":"web"}]`},
				{"/api/v1/series", url.Values{"match[]": {`{job="web"}`}},
					`[{"__name__":"hist_seconds","job":"web"},` + webCounter + `,{"__name__":"old_metric","job":"web"},{"__name__":"up","instance":"a:1","job":"web"}]`},
				{"/api/v1/series", url.Values{"match[]": {`up`, `{__name__="#odd"}`, `up{job="node"}`}, "start": {t0}, "end": {t60}},
					`[` + odd + `,{"__name__":"up","instance":"a:1","job":"web"},{"__name__":"up","instance":"n:1","job":"node"}]`},
				{"/api/v1/series", url.Values{"match[]": {`{metric!=""}`}}, `[` + odd + `]`},
				{"/api/v1/series", url.Values{"match[]": {`promflux_metadata`}}, `[]`},
				{"/api/v1/series", url.Values{"match[]": {`{__name__=~".+"}`}, "start": {t0}, "end": {t60}, "limit": {"1"}},
					`[` + odd + `],"warnings":["results truncated due to limit"]`},

				{"/api/v1/metadata", nil, `{"#odd":[{"type":"info","unit":"~b64~u","help":"odd\n\"help\""}],` +
					`"http_requests_total":[{"type":"counter","unit":"","help":"Requests (node)."},{"type":"counter","unit":"","help":"Requests."}],` +
					`"up":[{"type":"gauge","unit":"","help":"1 if the target is up."}]}`},
				{"/api/v1/metadata", url.Values{"metric": {"up"}}, `{"up":[{"type":"gauge","unit":"","help":"1 if the target is up."}]}`},
				{"/api/v1/metadata", url.Values{"metric": {"#odd"}}, `{"#odd":[{"type":"info","unit":"~b64~u","help":"odd\n\"help\""}]}`},
				{"/api/v1/metadata", url.Values{"metric": {"nothing"}}, `{}`},
				{"/api/v1/metadata", url.Values{"limit_per_metric": {"1"}, "limit": {"2"}}, `{"#odd":[{"type":"info","unit":"~b64~u","help":"odd\n\"help\""}],` +
					`"http_requests_total":[{"type":"counter","unit":"","help":"Requests (node)."}]}`},

				{"/api/v1/query_exemplars", url.Values{"query": {`sum(rate(http_requests_total[1m]))`}, "start": {t0}, "end": {t60}},
					`[` + webExemplar + `,{"seriesLabels":` + nodeCounter + `,"exemplars":[{"labels":{"trace_id":"n"},"value":"2","timestamp":1700000001.500}]}]`},
				{"/api/v1/query_exemplars", url.Values{"query": {`http_requests_total{job="web"} / on() group_left http_requests_total{code="200"}`}, "start": {t0}, "end": {t60}},
					`[` + webExemplar + `]`},
				{"/api/v1/query_exemplars", url.Values{"query": {`http_requests_total`}, "start": {fmt.Sprint(metaT0/1000 + 2)}, "end": {t60}},
					`[{"seriesLabels":` + webCounter + `,"exemplars":[{"labels":{},"value":"+Inf","timestamp":1700000002},` +
						`{"labels":{"odd name":"x\ny","span":"\u003c\u0026\u003e"},"value":"1.25","timestamp":1700000003}]}]`},
				{"/api/v1/query_exemplars", url.Values{"query": {`up`}, "start": {t0}, "end": {t60}}, `[]`},
			} {
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					got := ask(t, method, ts.URL+tc.path, tc.params)
					if want := `200 {"status":"success","data":` + tc.want + `}`; got != want {
						t.Errorf("%s %s %v:\n got %s\nwant %s", method, tc.path, tc.params, got, want)
					}
				}
			}
		})
	}
}

// TestIntegrationMetadataEndpointsErrors: a database that is down, or
// only write-only ones, are answered with Prometheus's error types.
func TestIntegrationMetadataEndpointsErrors(t *testing.T) {
	_, down := startAdapter(t, "databases:\n  - {name: a, url: \"http://127.0.0.1:1\", database: p, pool: {timeout: 1s, retry: {max_attempts: 1}}}\n")
	_, udp := startAdapter(t, "databases:\n  - {name: a, url: \"udp://127.0.0.1:1\", transport: udp}\n")
	for _, tc := range []struct {
		url, path string
		params    url.Values
		want      string
	}{
		{down.URL, "/api/v1/labels", nil, `503 {"status":"error","errorType":"unavailable","error":"cannot read from the database, retry later: `},
		{down.URL, "/api/v1/label/job/values", nil, `503 {"status":"error","errorType":"unavailable","error":"cannot read from the database, retry later: `},
		{down.URL, "/api/v1/series", url.Values{"match[]": {"up"}}, `503 {"status":"error","errorType":"unavailable","error":"cannot read from the database, retry later: `},
		{down.URL, "/api/v1/metadata", nil, `503 {"status":"error","errorType":"unavailable","error":"cannot read from the database, retry later: `},
		{down.URL, "/api/v1/query_exemplars", url.Values{"query": {"up"}}, `503 {"status":"error","errorType":"unavailable","error":"cannot read from the database, retry later: `},
		{udp.URL, "/api/v1/labels", nil, `422 {"status":"error","errorType":"execution","error":"the databases are write-only (transport: udp) and cannot be read: a"}`},
		{udp.URL, "/api/v1/series", url.Values{"match[]": {"up"}}, `422 {"status":"error","errorType":"execution","error":"the selector's series are stored only in write-only databases (transport: udp), which cannot be read: a"}`},
		{udp.URL, "/api/v1/query_exemplars", url.Values{"query": {"up"}}, `422 {"status":"error","errorType":"execution","error":"the databases are write-only (transport: udp) and cannot be read: a"}`},
	} {
		if got := ask(t, http.MethodGet, tc.url+tc.path, tc.params); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s %v: %s\nwant %s...", tc.path, tc.params, got, tc.want)
		}
	}
}

// ask sends params by GET, or as a form by POST, and returns the status
// and the body.
func ask(t *testing.T, method, u string, params url.Values) string {
	t.Helper()
	if method == http.MethodPost {
		return queryAnswer(t, u, params)
	}
	resp, err := http.Get(u + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}
