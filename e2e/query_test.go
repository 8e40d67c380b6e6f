package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// TestQueryAPIEndToEnd: Prometheus A scrapes itself, a target that goes
// away and a target exposing a native histogram every second, and
// remote-writes everything through promflux into influxd. The same
// PromQL queries, instant and range, asked of A's API and of promflux's
// give the same results, value for value, over a window whose samples
// have all been written.
func TestQueryAPIEndToEnd(t *testing.T) {
	influx := influxtest.Start(t)
	pf := startPromflux(t, influxConfig(influx.URL(), "e2e"))

	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "# TYPE demo_gauge gauge")
		fmt.Fprintln(w, `demo_gauge{kind="a"} 1.5`)
		fmt.Fprintln(w, `demo_gauge{kind="b"} 2.5`)
	}))
	defer gone.Close()
	native := startHistogramTarget(t, false)

	addr := freeAddr(t)
	a := startPrometheus(t, "prometheus A", addr, fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: [%q]}]
  - job_name: gone
    static_configs: [{targets: [%q]}]
  - job_name: native
    static_configs: [{targets: [%q]}]
remote_write:
  - url: http://%s/api/v1/write
    send_native_histograms: true
    queue_config: {batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}
`, addr, strings.TrimPrefix(gone.URL, "http://"), native, pf.addr),
		"--enable-feature=native-histograms")

	// A's API handlers get series of their own once used: use them before
	// the window, so that the queries below find them.
	for _, path := range []string{"/api/v1/query", "/api/v1/query_range"} {
		queryAPI(t, a.addr, path, url.Values{"query": {"up"}, "time": {promTime(time.Now())}, "start": {promTime(time.Now())}, "end": {promTime(time.Now())}, "step": {"1"}})
	}
	// Long enough that the ranges of the window (12s, and 10s before it)
	// begin after the series: Prometheus 2.42 and the engine of
	// Prometheus 3 extrapolate rate() differently at the start of a series.
	time.Sleep(24 * time.Second)
	gone.Close() // A's next scrape of it fails: its series end with stale markers
	time.Sleep(4 * time.Second)

	// The window ends in the past, at an instant as far as can be from
	// the scrapes (every target is scraped at its own offset within the
	// second): the ranges of Prometheus 3's engine exclude their start,
	// 2.42's include it, and the two differ only for a sample exactly there.
	at := farFromScrapes(t, a.addr, time.Now().Add(-1500*time.Millisecond))
	start := at.Add(-12 * time.Second)

	// Within the window only A's scrapes of itself move its counters, so
	// that a sum has one term that is not 0, and Prometheus 3's
	// compensated summation gives 2.42's sums to the bit.

	// Wait until every sample of the window is in InfluxDB: the raw
	// samples of every series are the same.
	ready := url.Values{"query": {`{job=~".+"}[15s]`}, "time": {promTime(at)}}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		want, got := queryAPI(t, a.addr, "/api/v1/query", ready), queryAPI(t, pf.addr, "/api/v1/query", ready)
		if want == got && want != "matrix []" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("promflux never held A's samples:\nA        %.2000s\npromflux %.2000s", want, got)
		}
	}

	queries := []string{
		`up`,
		`prometheus_build_info`,
		`{__name__=~"prometheus_tsdb_head_(series|chunks)"}`,
		`prometheus_http_requests_total{handler=~"/api/v1/.*", code!~"5.."}`,
		`rate(prometheus_http_requests_total[5s])`,
		`sum by (handler) (rate(prometheus_http_requests_total[5s]))`,
		`sum by (code) (prometheus_http_requests_total)`,
		`histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[5s])))`,
		`histogram_quantile(0.5, rate(prometheus_tsdb_compaction_chunk_range_seconds_bucket[10s]))`,
		`prometheus_tsdb_head_samples_appended_total offset 3s`,
		`prometheus_tsdb_head_samples_appended_total offset -2s`,
		fmt.Sprintf(`prometheus_tsdb_head_samples_appended_total @ %s`, promTime(at.Add(-5*time.Second))),
		`rate(prometheus_tsdb_head_samples_appended_total[4s] @ end())`,
		`count_over_time(up[10s])`,
		`count_over_time(demo_gauge[10s])`,
		`max_over_time(scrape_duration_seconds[10s])`,
		`absent(nonexistent_metric)`,
		`absent(up{job="nope"})`,
		`scalar(sum(up))`,
		`scalar(up{job="prometheus"}) * 2`,
		`demo_gauge`,
		`up{job="gone"}`,
		`timestamp(up)`,
		`demo_latency_seconds`,
		`histogram_count(rate(demo_latency_seconds[5s]))`,
		`histogram_sum(demo_latency_seconds)`,
		`go_gc_duration_seconds`,
	}
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			instant := url.Values{"query": {q}, "time": {promTime(at)}}
			want := queryAPI(t, a.addr, "/api/v1/query", instant)
			if got := queryAPI(t, pf.addr, "/api/v1/query", instant); got != want {
				t.Errorf("instant query at %s:\nA        %s\npromflux %s", promTime(at), want, got)
			}
			for _, step := range []string{"1", "2.5"} {
				params := url.Values{"query": {q}, "start": {promTime(start)}, "end": {promTime(at)}, "step": {step}}
				wantRange := queryAPI(t, a.addr, "/api/v1/query_range", params)
				if got := queryAPI(t, pf.addr, "/api/v1/query_range", params); got != wantRange {
					t.Errorf("range query every %s over [%s, %s]:\nA        %s\npromflux %s", step, promTime(start), promTime(at), wantRange, got)
				}
				if wantRange == `matrix []` && !strings.HasPrefix(q, "absent(nonexistent") && q != `absent(up{job="nope"})` {
					t.Errorf("A has no result: the comparison proves nothing")
				}
			}
		})
	}
	// The bounds, with Prometheus's errors: a promflux that may load fewer
	// samples than the raw samples of the window, and a query that may
	// take no time.
	small := startPromflux(t, influxConfig(influx.URL(), "e2e")+"query: {max_samples: 1000}\n")
	for _, tc := range []struct {
		addr   string
		params url.Values
		want   string
	}{
		{small.addr, url.Values{"query": {`{job=~".+"}[15s]`}, "time": {promTime(at)}},
			`422 {"status":"error","errorType":"execution","error":"expanding series: query processing would load too many samples into memory in query execution"}`},
		{small.addr, url.Values{"query": {`count_over_time({job=~".+"}[15s])`}, "time": {promTime(at)}},
			`422 {"status":"error","errorType":"execution","error":"expanding series: query processing would load too many samples into memory in query execution"}`},
		{pf.addr, url.Values{"query": {`count_over_time({job=~".+"}[15s])`}, "time": {promTime(at)}, "timeout": {"0.001"}},
			`503 {"status":"error","errorType":"timeout","error":"query timed out in `},
	} {
		resp, err := http.PostForm("http://"+tc.addr+"/api/v1/query", tc.params)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := fmt.Sprintf("%d %s", resp.StatusCode, body); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%v: %s\nwant %s", tc.params, got, tc.want)
		}
	}

	// The target that went away: its series end in both, within the window.
	for name, addr := range map[string]string{"A": a.addr, "promflux": pf.addr} {
		if got := queryAPI(t, addr, "/api/v1/query", url.Values{"query": {`demo_gauge`}, "time": {promTime(at)}}); got != "vector []" {
			t.Errorf("%s still shows demo_gauge after its target went away: %s", name, got)
		}
	}
}

// farFromScrapes returns the instant at or before t whose offset within
// the second is farthest from the offsets of the samples of up in A,
// that is from every target's scrapes.
func farFromScrapes(t *testing.T, addr string, at time.Time) time.Time {
	t.Helper()
	var answer struct {
		Data struct {
			Result []struct {
				Values [][2]any
			}
		}
	}
	getJSON(t, "http://"+addr+"/api/v1/query?"+url.Values{"query": {"up[10s]"}, "time": {promTime(at)}}.Encode(), &answer)
	var offsets []int64
	for _, r := range answer.Data.Result {
		for _, v := range r.Values {
			ts, _ := v[0].(float64)
			offsets = append(offsets, int64(ts*1000+0.5)%1000)
		}
	}
	if len(offsets) == 0 {
		t.Fatal("A has no samples of up")
	}
	best, bestDist := int64(0), int64(-1)
	for o := range int64(1000) {
		dist := int64(1000)
		for _, s := range offsets {
			d := (o - s + 1000) % 1000
			dist = min(dist, d, 1000-d)
		}
		if dist > bestDist {
			best, bestDist = o, dist
		}
	}
	ms := at.UnixMilli()
	ms -= ((ms%1000-best)%1000 + 1000) % 1000
	return time.UnixMilli(ms)
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// queryAPI asks a query endpoint, by POST, and returns its result in a
// canonical form: "resultType result", the series or samples of a matrix
// or vector sorted by their labels, numbers decoded, so that two servers
// that encode the same values the same way give the same string.
func queryAPI(t *testing.T, addr, path string, params url.Values) string {
	t.Helper()
	resp, err := http.PostForm("http://"+addr+path, params)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var answer struct {
		Status string
		Error  string
		Data   struct {
			ResultType string
			Result     json.RawMessage
		}
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Status != "success" {
		t.Fatalf("%s %s %v: %s: %v %s", addr, path, params, resp.Status, err, body)
	}
	var result any
	if err := json.Unmarshal(answer.Data.Result, &result); err != nil {
		t.Fatal(err)
	}
	if list, ok := result.([]any); ok && answer.Data.ResultType != "scalar" && answer.Data.ResultType != "string" {
		keys := make([]string, len(list))
		for i, e := range list {
			k, _ := json.Marshal(e.(map[string]any)["metric"])
			keys[i] = string(k) + strconv.Itoa(i)
		}
		sort.Sort(byKey{keys, list})
	}
	canonical, _ := json.Marshal(result)
	return answer.Data.ResultType + " " + string(canonical)
}

// byKey sorts list by keys.
type byKey struct {
	keys []string
	list []any
}

func (b byKey) Len() int           { return len(b.keys) }
func (b byKey) Less(i, j int) bool { return b.keys[i] < b.keys[j] }
func (b byKey) Swap(i, j int) {
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
	b.list[i], b.list[j] = b.list[j], b.list[i]
}
