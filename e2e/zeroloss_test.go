package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// zeroLossMetrics are the metrics compared by TestZeroLossInfluxKilled: some
// of Prometheus's, some of promflux's, and two both targets have.
var zeroLossMetrics = []string{
	"up",
	"scrape_duration_seconds",
	"go_goroutines",
	"prometheus_tsdb_head_series",
	"promflux_samples_received_total",
	"promflux_config_last_reload_successful",
}

// zeroLossOutage is how long influxd stays dead: several of Prometheus's
// batches (batch_send_deadline 500ms) and retries (backoff up to 1s) fail.
const zeroLossOutage = 6 * time.Second

// TestZeroLossInfluxKilled runs a real Prometheus that scrapes itself and
// promflux every second and remote-writes through promflux into a real
// influxd, which is killed with SIGKILL and restarted while the stream
// flows. Prometheus is answered 503 during the outage and retries; once it
// caught up, every sample of the compared metrics that it holds in its own
// TSDB, up to an instant after the restart, must be in InfluxDB with the
// same value.
func TestZeroLossInfluxKilled(t *testing.T) {
	influx := influxtest.Start(t)
	pf := startPromflux(t, influxConfig(influx.URL(), "zeroloss"))
	promAddr := freeAddr(t)
	startWritingPrometheus(t, promAddr, pf.addr, pf.addr)

	// The stream flows: samples of both targets arrive in InfluxDB.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := influxRaw(t, influx, "zeroloss", []string{"up"}, time.Now())
		if len(got[seriesKey(map[string]string{"__name__": "up", "instance": promAddr, "job": "prometheus"})]) >= 2 &&
			len(got[seriesKey(map[string]string{"__name__": "up", "instance": pf.addr, "job": "promflux"})]) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no samples of up from both targets reached InfluxDB within 30s: %v", got)
		}
		time.Sleep(200 * time.Millisecond)
	}

	influx.Kill()
	killed := time.Now()
	time.Sleep(zeroLossOutage)
	retried := promMetric(t, promAddr, "prometheus_remote_storage_samples_retried_total")
	influx.Restart()
	restarted := time.Now()
	if retried == 0 {
		t.Errorf("Prometheus retried no samples while influxd was down for %s: the outage did not reach the stream", zeroLossOutage)
	}

	// Everything Prometheus scraped up to until must arrive, the samples of
	// the outage included, once Prometheus has resent them.
	want, samples := waitNoLoss(t, promAddr, influx, "zeroloss", zeroLossMetrics, time.Now())

	// The comparison must have covered the outage and every metric.
	inOutage := 0
	for k, ss := range want {
		if !strings.HasPrefix(k, "up{") {
			continue
		}
		for _, s := range ss {
			ms, _ := strconv.ParseInt(s[0], 10, 64)
			if ms >= killed.UnixMilli() && ms < restarted.UnixMilli() {
				inOutage++
			}
		}
	}
	if inOutage < 4 {
		t.Errorf("Prometheus holds %d samples of up scraped while influxd was down, want several from each target", inOutage)
	}
	for _, name := range zeroLossMetrics {
		found := false
		for k := range want {
			found = found || strings.HasPrefix(k, name+"{")
		}
		if !found {
			t.Errorf("Prometheus has no series of %s: the comparison does not cover it", name)
		}
	}
	t.Logf("influxd down for %s; Prometheus retried %.0f samples; %d series, %d samples (%d of up scraped during the outage) all in InfluxDB %s after the restart",
		restarted.Sub(killed).Round(100*time.Millisecond), retried, len(want), samples, inOutage, time.Since(restarted).Round(100*time.Millisecond))
}

// startWritingPrometheus runs a Prometheus at promAddr that scrapes itself
// and the promflux targets every second and remote-writes to writeAddr
// (promflux, or a load balancer in front of it).
func startWritingPrometheus(t *testing.T, promAddr, writeAddr string, promflux ...string) *process {
	t.Helper()
	targets := make([]string, len(promflux))
	for i, a := range promflux {
		targets[i] = strconv.Quote(a)
	}
	return startPrometheus(t, "prometheus", promAddr, fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: [%q]}]
  - job_name: promflux
    static_configs: [{targets: [%s]}]
remote_write:
  - url: http://%s/api/v1/write
    queue_config: {batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}
`, promAddr, strings.Join(targets, ", "), writeAddr))
}

// waitNoLoss waits up to 30s until every sample of metrics that the
// Prometheus at promAddr holds up to until is in database db with its
// value, and returns those samples, keyed by series, and their number.
func waitNoLoss(t *testing.T, promAddr string, influx *influxtest.Server, db string, metrics []string, until time.Time) (map[string][][2]string, int) {
	t.Helper()
	selector := `{__name__=~"` + strings.Join(metrics, "|") + `"}[10m]`
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		want := promRaw(t, promAddr, selector, until)
		lost := lostSamples(want, influxRaw(t, influx, db, metrics, until))
		if len(lost) == 0 {
			samples := 0
			for _, ss := range want {
				samples += len(ss)
			}
			return want, samples
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s on, %d samples that Prometheus scraped are not in InfluxDB, e.g.:\n%s",
				len(lost), strings.Join(lost[:min(len(lost), 20)], "\n"))
		}
	}
}

// lostSamples lists every sample of want that got lacks or holds with
// another value, as "series @timestamp", sorted. Samples only got has are
// not losses.
func lostSamples(want, got map[string][][2]string) []string {
	var lost []string
	for k, ws := range want {
		have := make(map[string]string, len(got[k]))
		for _, g := range got[k] {
			have[g[0]] = g[1]
		}
		for _, w := range ws {
			v, ok := have[w[0]]
			switch {
			case !ok:
				lost = append(lost, fmt.Sprintf("%s @%s missing", k, w[0]))
			case v != w[1]:
				lost = append(lost, fmt.Sprintf("%s @%s = %s in InfluxDB, %s in Prometheus", k, w[0], v, w[1]))
			}
		}
	}
	sort.Strings(lost)
	return lost
}

// promMetric returns the sum of every series of metric on Prometheus's own
// /metrics page, 0 when it has none.
func promMetric(t *testing.T, addr, metric string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, line := range strings.Split(readAll(resp), "\n") {
		rest, ok := strings.CutPrefix(line, metric)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("cannot parse %q from Prometheus's /metrics: %v", line, err)
		}
		sum += v
	}
	return sum
}
