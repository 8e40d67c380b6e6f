package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v2"

	"github.com/promflux/promflux/influxworker/influxtest"
)

// dashboardExprs returns the PromQL of every panel of the Grafana dashboard
// at path, with Grafana's $__rate_interval replaced by rateInterval.
func dashboardExprs(t *testing.T, path, rateInterval string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var exprs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, strings.ReplaceAll(tg.Expr, "$__rate_interval", rateInterval))
		}
	}
	return exprs
}

// ruleExprs returns the expression of every rule of the rules file at path.
func ruleExprs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct{ Expr string }
		}
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var exprs []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	return exprs
}

// promQuery evaluates q at Prometheus's now, failing on an error answer
// (a query that does not parse or cannot be evaluated), and returns the
// number of series or samples in the result.
func promQuery(t *testing.T, addr, q string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v1/query?" + url.Values{"query": {q}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status, Error string
		Data          struct{ Result []json.RawMessage }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	if body.Status != "success" {
		t.Errorf("query %s: %s", q, body.Error)
		return -1
	}
	return len(body.Data.Result)
}

// TestDashboardAndAlertExpressions runs every expression of the shipped
// Grafana dashboard and alerting rules against a real Prometheus that
// scrapes a real promflux while it remote-writes and remote-reads through
// it, and while a client sends promflux a series it refuses and a sample
// InfluxDB cannot store. Every expression must evaluate; every metric it
// names must exist (a metric that appears only when something goes wrong
// makes rate() and increase() miss the first time it does); and every
// panel must show data.
func TestDashboardAndAlertExpressions(t *testing.T) {
	influx := influxtest.Start(t)
	pf := startPromflux(t, influxConfig(influx.URL(), "dashboard"))
	promAddr := freeAddr(t)
	rules, err := filepath.Abs(filepath.Join(root, "docker", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	startPrometheus(t, "prometheus", promAddr, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: [%q]}]
  - job_name: promflux
    static_configs: [{targets: [%q]}]
remote_write:
  - url: http://%s/api/v1/write
    queue_config: {batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}
remote_read:
  - url: http://%s/api/v1/read
    read_recent: true
`, rules, promAddr, pf.addr, pf.addr, pf.addr))

	// What an operator's dashboard shows besides the stream: a refused
	// series, a sample out of InfluxDB's range, reads.
	writeURL := "http://" + pf.addr + "/api/v1/write"
	for _, bad := range []prompb.TimeSeries{
		{Labels: []prompb.Label{{Name: "job", Value: "no-name"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: time.Now().UnixMilli()}}},
		{Labels: []prompb.Label{{Name: "__name__", Value: "far_future"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: 10_000_000_000_000}}},
	} {
		status, _, err := postWrite(t.Context(), http.DefaultClient, writeURL, encodeV1(t, bad))
		if err != nil || status/100 == 5 {
			t.Fatalf("write of %v: %d %v", bad.Labels, status, err)
		}
	}
	// Long enough for rates over 15s, with reads through promflux along
	// the way.
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(2 * time.Second) {
		promQuery(t, promAddr, `count_over_time(up{job="promflux"}[10s])`)
	}

	exprs := dashboardExprs(t, filepath.Join(root, "docker", "grafana", "dashboards", "promflux.json"), "15s")
	panels := len(exprs)
	exprs = append(exprs, ruleExprs(t, filepath.Join(root, "docker", "alerts.yml"))...)
	if panels < 20 || len(exprs) < panels+10 {
		t.Fatalf("%d dashboard and %d rule expressions: the files were not read whole", panels, len(exprs)-panels)
	}
	for i, q := range exprs {
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		if n := promQuery(t, promAddr, q); n == 0 && i < panels {
			t.Errorf("dashboard query returns nothing under load: %s", q)
		}
		parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
			if vs, ok := node.(*parser.VectorSelector); ok {
				if promQuery(t, promAddr, "count("+vs.String()+")") == 0 {
					t.Errorf("%s names %s, which Prometheus has no series of", q, vs)
				}
			}
			return nil
		})
	}
}
