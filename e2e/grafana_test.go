package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// startExemplarTarget serves, on a free loopback port, OpenMetrics text
// with an exemplar of a new trace on a counter and on a histogram bucket
// at every scrape, and the metadata of both families. It returns its
// address.
func startExemplarTarget(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var scrapes atomic.Int64
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := scrapes.Add(1)
			w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
			fmt.Fprintf(w, `# HELP demo_requests Requests served, with the trace of one.
# TYPE demo_requests counter
demo_requests_total{path="/a"} %d # {trace_id="req-%d"} %d.5
# HELP demo_latency_seconds Latency of the requests.
# TYPE demo_latency_seconds histogram
# UNIT demo_latency_seconds seconds
demo_latency_seconds_bucket{le="0.1"} %d # {trace_id="lat-%d",span_id="s"} 0.05
demo_latency_seconds_bucket{le="1"} %d
demo_latency_seconds_bucket{le="+Inf"} %d
demo_latency_seconds_sum %g
demo_latency_seconds_count %d
# EOF
`, 3*n, n, n, n, n, 2*n, 3*n, 0.35*float64(n), 3*n)
		}),
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// grafanaRequest is a request Grafana's Prometheus data source sends, and
// how its answer is compared.
type grafanaRequest struct {
	what         string
	method, path string
	params       url.Values
}

// TestGrafanaEndToEnd: a real Prometheus scrapes itself and a target of
// OpenMetrics with exemplars every second, stores the exemplars, and
// remote-writes samples, exemplars and metadata through promflux into
// influxd. The requests Grafana's Prometheus data source sends (label
// names and values for the metric browser and the query editor, series,
// metadata for hover help, exemplars, range queries with start and end
// aligned to the step, the instant query of "Save & test") get the same
// answers from promflux as from that Prometheus.
func TestGrafanaEndToEnd(t *testing.T) {
	influx := influxtest.Start(t)
	pf := startPromflux(t, influxConfig(influx.URL(), "grafana"))
	target := startExemplarTarget(t)
	addr := freeAddr(t)
	prom := startPrometheus(t, "prometheus", addr, fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: [%q]}]
  - job_name: demo
    static_configs: [{targets: [%q]}]
remote_write:
  - url: http://%s/api/v1/write
    send_exemplars: true
    metadata_config: {send: true, send_interval: 2s}
    queue_config: {batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}
`, addr, target, pf.addr), "--enable-feature=exemplar-storage")

	// Prometheus's API handlers get series of their own once used: send
	// each request before the comparison, so that both servers hold them.
	now := time.Now().Unix() / grafanaStep * grafanaStep
	for _, r := range grafanaRequests(now-10, now, true) {
		grafanaAnswer(t, prom.addr, r)
	}
	// Long enough that the ranges of the window begin 20s after the
	// series: Prometheus 2.42 and the engine of Prometheus 3 extrapolate
	// rate() differently near the start of a series.
	time.Sleep(45 * time.Second)

	// The window ends in the past, so that all of it has been written.
	end := time.Now().Add(-3*time.Second).Unix() / grafanaStep * grafanaStep
	start := end - 16
	withRate := !sampleAtWholeSecond(t, prom.addr, end)
	if !withRate {
		// A range query's ranges include their start in 2.42, not in the
		// engine of Prometheus 3: a sample at a whole second makes rate()
		// differ.
		t.Log("a target is scraped at a whole second: range queries of rate() left out")
	}
	requests := grafanaRequests(start, end, withRate)

	// promflux answers once it holds what Prometheus remote-wrote.
	pending := requests
	for deadline := time.Now().Add(60 * time.Second); len(pending) > 0; time.Sleep(time.Second) {
		var diffs []string
		var still []grafanaRequest
		for _, r := range pending {
			want, got := grafanaAnswer(t, prom.addr, r), grafanaAnswer(t, pf.addr, r)
			if want != got {
				still = append(still, r)
				diffs = append(diffs, fmt.Sprintf("%s: %s %s %v:\nPrometheus %.3000s\npromflux   %.3000s", r.what, r.method, r.path, r.params, want, got))
			}
		}
		pending = still
		if len(pending) > 0 && time.Now().After(deadline) {
			t.Fatalf("promflux never answered as Prometheus:\n%s", strings.Join(diffs, "\n"))
		}
	}

	// The comparisons prove something: Prometheus had what Grafana shows.
	with := func(kv ...string) url.Values { return inWindow(start, end, kv...) }
	for _, c := range []struct {
		r    grafanaRequest
		want string
	}{
		{grafanaRequest{"metric names", "GET", "/api/v1/label/__name__/values", with()}, `"demo_requests_total"`},
		{grafanaRequest{"metadata", "GET", "/api/v1/metadata", url.Values{"metric": {"demo_latency_seconds"}}}, `{"help":"Latency of the requests.","type":"histogram","unit":"seconds"}`},
		{grafanaRequest{"exemplars", "POST", "/api/v1/query_exemplars", with("query", `demo_latency_seconds_bucket`)}, `"trace_id":"lat-`},
		{grafanaRequest{"range query", "POST", "/api/v1/query_range", with("query", `demo_requests_total`, "step", "2")}, `"demo_requests_total"`},
	} {
		if got := grafanaAnswer(t, prom.addr, c.r); !strings.Contains(got, c.want) {
			t.Errorf("%s: Prometheus's answer lacks %s, the comparison proves nothing: %.1000s", c.r.what, c.want, got)
		}
	}

	// "Save & test" reads the version of the build information to choose
	// the requests it sends: promflux answers with every field Prometheus
	// has, version being a release of Prometheus.
	want, got := buildInfo(t, prom.addr), buildInfo(t, pf.addr)
	for key := range want {
		if _, ok := got[key]; !ok {
			t.Errorf("build information: no %q in promflux's %v (Prometheus's: %v)", key, got, want)
		}
	}
	if v, _ := got["version"].(string); !regexp.MustCompile(`^[23]\.\d+\.\d+`).MatchString(v) {
		t.Errorf("build information: version %q is no release of Prometheus", v)
	}
}

// buildInfo is the data of the answer to /api/v1/status/buildinfo.
func buildInfo(t *testing.T, addr string) map[string]any {
	t.Helper()
	var answer struct {
		Status string         `json:"status"`
		Data   map[string]any `json:"data"`
	}
	got := grafanaAnswer(t, addr, grafanaRequest{"build information", "GET", "/api/v1/status/buildinfo", nil})
	status, body, _ := strings.Cut(got, " ")
	if err := json.Unmarshal([]byte(body), &answer); status != "200" || err != nil || answer.Status != "success" {
		t.Fatalf("build information from %s: %s", addr, got)
	}
	return answer.Data
}

// grafanaStep is the step of the range queries, in seconds.
const grafanaStep = 2

// grafanaRequests are the requests Grafana's Prometheus data source sends
// for a dashboard over [start, end] (Unix seconds, aligned to
// grafanaStep, as Grafana aligns them), range queries of rate() only
// withRate.
func grafanaRequests(start, end int64, withRate bool) []grafanaRequest {
	with := func(kv ...string) url.Values { return inWindow(start, end, kv...) }
	requests := []grafanaRequest{
		// The metric browser and the query editor.
		{"label names", "GET", "/api/v1/labels", with()},
		{"metric names", "GET", "/api/v1/label/__name__/values", with()},
		{"values of job", "GET", "/api/v1/label/job/values", nil},
		{"values of instance of a metric", "GET", "/api/v1/label/instance/values", with("match[]", `up{job="demo"}`)},
		{"label names of a metric", "GET", "/api/v1/labels", with("match[]", `demo_latency_seconds_bucket`)},
		{"series of up", "GET", "/api/v1/series", with("match[]", "up")},
		{"series of a selector", "GET", "/api/v1/series", with("match[]", `{__name__=~"demo_.*", job="demo"}`)},
		{"series by POST", "POST", "/api/v1/series", with("match[]", `prometheus_http_requests_total{handler="/api/v1/series"}`, "match[]", "up")},
		// Hover help.
		{"metadata", "GET", "/api/v1/metadata", nil},
		{"metadata of up", "GET", "/api/v1/metadata", url.Values{"metric": {"up"}}},
		{"metadata of a counter", "GET", "/api/v1/metadata", url.Values{"metric": {"demo_requests"}}},
		{"metadata of a histogram", "GET", "/api/v1/metadata", url.Values{"metric": {"demo_latency_seconds"}}},
		// Exemplars of the panel's query.
		{"exemplars of a histogram_quantile", "POST", "/api/v1/query_exemplars",
			with("query", `histogram_quantile(0.9, sum by (le) (rate(demo_latency_seconds_bucket[5s])))`)},
		{"exemplars of a rate", "POST", "/api/v1/query_exemplars", with("query", `sum(rate(demo_requests_total[5s]))`)},
		{"exemplars of two selectors", "GET", "/api/v1/query_exemplars", with("query", `demo_requests_total / on() group_left demo_latency_seconds_count`)},
		// "Save & test".
		{"save and test", "GET", "/api/v1/query", url.Values{"query": {"1+1"}, "time": {fmt.Sprint(end)}}},
	}
	queries := []string{
		`up`,
		`sum by (job) (up)`,
		`demo_requests_total`,
		`sum by (handler) (prometheus_http_requests_total{handler=~"/api/v1/.*"})`,
	}
	if withRate {
		queries = append(queries,
			`rate(demo_requests_total[5s])`,
			`histogram_quantile(0.9, sum by (le) (rate(demo_latency_seconds_bucket[5s])))`)
	}
	for _, q := range queries {
		requests = append(requests, grafanaRequest{"range query " + q, "POST", "/api/v1/query_range", with("query", q, "step", fmt.Sprint(grafanaStep))})
	}
	return requests
}

// inWindow is the parameters start and end, and the pairs of kv.
func inWindow(start, end int64, kv ...string) url.Values {
	v := url.Values{"start": {fmt.Sprint(start)}, "end": {fmt.Sprint(end)}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// sampleAtWholeSecond reports whether a sample of up in the minute before
// end (Unix seconds) is at a whole second.
func sampleAtWholeSecond(t *testing.T, addr string, end int64) bool {
	t.Helper()
	var answer struct {
		Data struct {
			Result []struct {
				Values [][2]any
			}
		}
	}
	getJSON(t, "http://"+addr+"/api/v1/query?"+url.Values{"query": {"up[1m]"}, "time": {fmt.Sprint(end)}}.Encode(), &answer)
	for _, r := range answer.Data.Result {
		for _, v := range r.Values {
			if ts, _ := v[0].(float64); int64(math.Round(ts*1000))%1000 == 0 {
				return true
			}
		}
	}
	return false
}

// grafanaAnswer sends r to addr and returns the status and the answer in
// a canonical form: a query's as queryAPI gives it, any other's data with
// every array sorted (label names and values, series, metadata and
// exemplars are sets), warnings and infos kept.
func grafanaAnswer(t *testing.T, addr string, r grafanaRequest) string {
	t.Helper()
	if r.path == "/api/v1/query_range" || r.path == "/api/v1/query" {
		return queryAPI(t, addr, r.path, r.params)
	}
	var resp *http.Response
	var err error
	if r.method == "POST" {
		resp, err = http.PostForm("http://"+addr+r.path, r.params)
	} else {
		resp, err = http.Get("http://" + addr + r.path + "?" + r.params.Encode())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var answer map[string]any
	if err := json.Unmarshal(body, &answer); err != nil {
		return fmt.Sprintf("%d %s", resp.StatusCode, body)
	}
	canonical, _ := json.Marshal(sortArrays(answer))
	return fmt.Sprintf("%d %s", resp.StatusCode, canonical)
}

// sortArrays sorts every array inside v by the JSON of its elements.
func sortArrays(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = sortArrays(e)
		}
	case []any:
		keys := make([]string, len(v))
		for i, e := range v {
			v[i] = sortArrays(e)
			b, _ := json.Marshal(v[i])
			keys[i] = string(b)
		}
		sort.Sort(byKey{keys, v})
	}
	return v
}
