package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// startPrometheus runs a real Prometheus with config, listening on addr,
// with extra command-line arguments.
func startPrometheus(t *testing.T, name, addr, config string, extra ...string) *process {
	t.Helper()
	bin := lookPath(t, "prometheus")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "prometheus.yml"), []byte(config))
	args := append([]string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
	}, extra...)
	return startProcess(t, name, addr, "/-/ready", bin, args...)
}

// scraperConfig is a Prometheus configuration that scrapes target every
// second as job and remote-writes through the promflux at promfluxAddr;
// remoteWrite adds settings to the remote_write entry.
func scraperConfig(job, target, promfluxAddr string, remoteWrite ...string) string {
	var extra strings.Builder
	for _, r := range remoteWrite {
		extra.WriteString("\n    " + r)
	}
	return fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: %s
    static_configs: [{targets: [%q]}]
remote_write:
  - url: http://%s/api/v1/write%s
    queue_config: {batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}
`, job, target, promfluxAddr, extra.String())
}

// readerConfig is a Prometheus configuration with no targets that reads
// everything through the promflux at promfluxAddr.
func readerConfig(promfluxAddr string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1m
remote_read:
  - url: http://%s/api/v1/read
    read_recent: true
`, promfluxAddr)
}

// startSelfScraper runs a Prometheus that scrapes itself every second and
// remote-writes through the promflux at promfluxAddr.
func startSelfScraper(t *testing.T, name, promfluxAddr string) *process {
	t.Helper()
	addr := freeAddr(t)
	return startPrometheus(t, name, addr, scraperConfig("prometheus", addr, promfluxAddr))
}

// TestRemoteReadPromQLEndToEnd runs two real Prometheus servers: A scrapes
// itself and remote-writes through promflux into influxd; B has no targets
// and reads everything back through promflux's remote read. The same PromQL
// queries, instant and range, must give B exactly A's answers.
func TestRemoteReadPromQLEndToEnd(t *testing.T) {
	influx := influxtest.Start(t)
	pf := startPromflux(t, influxConfig(influx.URL(), "e2e"))

	a := startSelfScraper(t, "prometheus A", pf.addr)
	b := startPrometheus(t, "prometheus B", freeAddr(t), readerConfig(pf.addr))

	// A's API handlers get series of their own once used: use them before
	// the evaluation instant, so that the queries below find them.
	queryProm(t, a.addr, "up", time.Now())
	queryPromRange(t, a.addr, "up", time.Now().Add(-time.Second), time.Now())

	// Let A scrape for a while, then pick an evaluation instant T whose
	// samples have all reached InfluxDB: B's raw view of up equals A's.
	time.Sleep(12 * time.Second)
	at := time.Now().Add(-3 * time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		wa := queryProm(t, a.addr, "up[1m]", at)
		wb := queryProm(t, b.addr, "up[1m]", at)
		if wa == wb && wa != "[]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B never saw A's samples of up through promflux:\nA %s\nB %s", wa, wb)
		}
		time.Sleep(time.Second)
	}

	queries := []string{
		`up`,
		`prometheus_build_info`,
		`{__name__=~"prometheus_tsdb_head_(series|chunks)"}`,
		`{__name__=~"prometheus_tsdb_head_.*", __name__!~".*chunks.*"}`,
		`prometheus_http_requests_total{handler!="/metrics"}`,
		`prometheus_http_requests_total{handler=~"/api/v1/.*", code!~"5.."}`,
		`rate(prometheus_http_requests_total[5s])`,
		`sum by (handler) (rate(prometheus_http_requests_total[5s]))`,
		`histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[5s])))`,
		`topk(3, rate(prometheus_http_requests_total[5s]))`,
		`count by (__name__) ({__name__=~"go_memstats_.*_bytes"})`,
		`absent(nonexistent_metric)`,
		`absent(up{job="nope"})`,
		`max_over_time(scrape_duration_seconds[10s])`,
	}
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			wantInstant, gotInstant := queryProm(t, a.addr, q, at), queryProm(t, b.addr, q, at)
			if wantInstant != gotInstant {
				t.Errorf("instant query at T:\nA: %s\nB: %s", wantInstant, gotInstant)
			}
			wantRange, gotRange := queryPromRange(t, a.addr, q, at.Add(-8*time.Second), at), queryPromRange(t, b.addr, q, at.Add(-8*time.Second), at)
			if wantRange != gotRange {
				t.Errorf("range query over [T-8s, T]:\nA: %s\nB: %s", wantRange, gotRange)
			}
			if wantInstant == "[]" && q[:6] != "absent" {
				t.Errorf("query returned nothing on A: the comparison proves nothing")
			}
		})
	}
}

// queryProm runs an instant query and returns its result in a canonical
// form: series sorted by labels.
func queryProm(t *testing.T, addr, q string, at time.Time) string {
	t.Helper()
	return promAPI(t, addr, "/api/v1/query", url.Values{"query": {q}, "time": {promTime(at)}})
}

func queryPromRange(t *testing.T, addr, q string, start, end time.Time) string {
	t.Helper()
	return promAPI(t, addr, "/api/v1/query_range", url.Values{"query": {q}, "start": {promTime(start)}, "end": {promTime(end)}, "step": {"1s"}})
}

func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

func promAPI(t *testing.T, addr, path string, params url.Values) string {
	t.Helper()
	result := promResult(t, addr, path, params)
	res := make([]string, len(result))
	for i, r := range result {
		res[i] = string(r)
	}
	sort.Strings(res)
	out, _ := json.Marshal(res)
	return string(out)
}

// promResult calls a Prometheus query API and returns data.result.
func promResult(t *testing.T, addr, path string, params url.Values) []json.RawMessage {
	t.Helper()
	resp, err := http.Get("http://" + addr + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct {
			Result []json.RawMessage
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("%s %v: %v %s", path, params, err, body.Error)
	}
	return body.Data.Result
}
