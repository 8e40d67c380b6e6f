package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// prometheus3 returns the path of a Prometheus 3 binary: $PROMETHEUS3, or
// the one scripts/prometheus3.sh builds and caches. Building it takes
// minutes, so a run without it skips the test, unless
// PROMFLUX_E2E_REQUIRE_PROMETHEUS3=1.
func prometheus3(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PROMETHEUS3")
	if path == "" {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".cache", "promflux", "prometheus-v0.316.0", "prometheus")
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}
	msg := fmt.Sprintf("no Prometheus 3 at %s: scripts/prometheus3.sh builds it (about 8 minutes), or set PROMETHEUS3", path)
	if os.Getenv("PROMFLUX_E2E_REQUIRE_PROMETHEUS3") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestPrometheus3RemoteWrite2 runs two real Prometheus 3 servers: A scrapes
// itself and a target with a native histogram and an exemplar every second,
// and remote-writes them with Remote-Write 2.0 through promflux into a real
// influxd; B has no targets and reads everything back through promflux's
// remote read. B's float samples and native histograms are A's, and
// promflux saw only 2.0 requests.
func TestPrometheus3RemoteWrite2(t *testing.T) {
	bin := prometheus3(t)
	influx := influxtest.Start(t)
	pf := startPromflux(t, influxConfig(influx.URL(), "rw2"))

	target := startHistogramTarget(t, true)

	aAddr, bAddr := freeAddr(t), freeAddr(t)
	run := func(name, addr, config string, extra ...string) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "prometheus.yml"), []byte(config))
		startProcess(t, name, addr, "/-/ready", bin, append([]string{"--config.file=" + filepath.Join(dir, "prometheus.yml"),
			"--storage.tsdb.path=" + filepath.Join(dir, "data"), "--web.listen-address=" + addr}, extra...)...)
	}
	run("prometheus-3-writer", aAddr, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_native_histograms: true
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: [%q]}]
  - job_name: target
    static_configs: [{targets: [%q]}]
remote_write:
  - url: http://%s/api/v1/write
    protobuf_message: io.prometheus.write.v2.Request
    send_native_histograms: true
    send_exemplars: true
    queue_config: {batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}
`, aAddr, target, pf.addr), "--enable-feature=exemplar-storage")
	run("prometheus-3-reader", bAddr, readerConfig(pf.addr))

	deadline := time.Now().Add(60 * time.Second)
	for {
		at := time.Now().Add(-3 * time.Second)
		wantH, gotH := promHistograms(t, aAddr, "demo_latency_seconds[20s]", at), promHistograms(t, bAddr, "demo_latency_seconds[20s]", at)
		sel := `{__name__=~"up|scrape_duration_seconds|prometheus_tsdb_head_series"}[20s]`
		diff := compareRaw(promRaw(t, aAddr, sel, at), promRaw(t, bAddr, sel, at))
		if strings.Count(wantH, "\n") >= 5 && wantH == gotH && diff == "" {
			t.Logf("%d native histogram samples and the float samples identical through Remote-Write 2.0 and remote read", strings.Count(wantH, "\n"))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: floats: %s\nA's histograms:\n%s\nB's:\n%s", diff, wantH, gotH)
		}
		time.Sleep(time.Second)
	}
	if v1, v2 := promMetric(t, pf.addr, `promflux_write_requests_total{protocol="1.0"}`), promMetric(t, pf.addr, `promflux_write_requests_total{protocol="2.0"}`); v1 != 0 || v2 == 0 {
		t.Errorf("promflux got %.0f Remote-Write 1.0 and %.0f 2.0 requests, want only 2.0", v1, v2)
	}
	// The exemplars Prometheus sent with the histogram are stored with it.
	rows := influx.Query(t, "rw2", `SELECT count("exemplar_value") FROM "demo_latency_seconds"`)
	if len(rows) == 0 || len(rows[0].Values) == 0 || fmt.Sprint(rows[0].Values[0][1]) == "0" {
		t.Errorf("no exemplar of demo_latency_seconds in InfluxDB: %v", rows)
	}
}
