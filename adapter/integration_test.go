package adapter

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/influxworker/influxtest"
	"github.com/promflux/promflux/mapping"
)

// These tests write through promflux into a real influxd and read every
// value, timestamp and tag back with InfluxQL.

func influxConfig(url string, dbs ...string) string {
	var b strings.Builder
	b.WriteString("databases:\n")
	for _, db := range dbs {
		fmt.Fprintf(&b, "  - {name: %s, url: %q, database: %s, create_database: true, pool: {timeout: 2s}}\n", db, url, db)
	}
	b.WriteString("default_database: " + dbs[0] + "\n")
	if len(dbs) > 1 {
		fmt.Fprintf(&b, "routes:\n  - {match: '{job=\"node\"}', database: %s}\n", dbs[1])
	}
	return b.String()
}

// stored is a series as read back from InfluxDB, with labels decoded.
type stored struct {
	labels  string
	samples []prompb.Sample
}

// readBack returns every series of the measurements from selects in db
// (an identifier or a regex), as Prometheus labels.
func readBack(t *testing.T, influx *influxtest.Server, db, from string) []stored {
	t.Helper()
	var out []stored
	q := fmt.Sprintf(`SELECT "value"::field FROM %s GROUP BY *`, from)
	for _, s := range influx.Query(t, db, q) {
		name, err := mapping.DecodeMeasurement(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		lbls := []prompb.Label{{Name: "__name__", Value: name}}
		for k, v := range s.Tags {
			if v == "" {
				continue // InfluxDB reports tags of other series of the measurement as empty
			}
			dk, err := mapping.DecodeTagKey(k)
			if err != nil {
				t.Fatal(err)
			}
			dv, err := mapping.DecodeTagValue(v)
			if err != nil {
				t.Fatal(err)
			}
			lbls = append(lbls, prompb.Label{Name: dk, Value: dv})
		}
		st := stored{labels: labelString(lbls)}
		for _, row := range s.Values {
			ts, _ := row[0].(json.Number).Int64()
			v, _ := row[1].(json.Number).Float64()
			st.samples = append(st.samples, prompb.Sample{Timestamp: ts, Value: v})
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].labels < out[j].labels })
	return out
}

func labelString(lbls []prompb.Label) string {
	sorted := append([]prompb.Label(nil), lbls...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	parts := make([]string, len(sorted))
	for i, l := range sorted {
		parts[i] = fmt.Sprintf("%q=%q", l.Name, l.Value)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// wantStored is what readBack must return for series written to one
// measurement.
func wantStored(series ...prompb.TimeSeries) []stored {
	var out []stored
	for _, s := range series {
		var lbls []prompb.Label
		for _, l := range s.Labels {
			if l.Value != "" {
				lbls = append(lbls, l)
			}
		}
		out = append(out, stored{labels: labelString(lbls), samples: s.Samples})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].labels < out[j].labels })
	return out
}

func compareStored(t *testing.T, got, want []stored) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read back %d series, want %d:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range want {
		if got[i].labels != want[i].labels {
			t.Errorf("series %d: labels\n got %s\nwant %s", i, got[i].labels, want[i].labels)
			continue
		}
		if len(got[i].samples) != len(want[i].samples) {
			t.Errorf("series %s: %d samples, want %d", want[i].labels, len(got[i].samples), len(want[i].samples))
			continue
		}
		for j, w := range want[i].samples {
			g := got[i].samples[j]
			if g.Timestamp != w.Timestamp || math.Float64bits(g.Value) != math.Float64bits(w.Value) {
				t.Errorf("series %s sample %d: got %v@%d, want %v@%d", want[i].labels, j, g.Value, g.Timestamp, w.Value, w.Timestamp)
			}
		}
	}
}

func TestIntegrationWriteV1AndV2(t *testing.T) {
	influx := influxtest.Start(t)
	_, ts := startAdapter(t, influxConfig(influx.URL(), "prom"))
	samples := []prompb.Sample{
		{Value: 1, Timestamp: 1_700_000_000_000},
		{Value: -0.000123456789, Timestamp: 1_700_000_000_001},
		{Value: 1e300, Timestamp: 1_700_000_015_000},
		{Value: 5e-324, Timestamp: 1_700_000_030_000},
		{Value: -12345678901234567890, Timestamp: 1_700_000_045_999},
		{Value: 0.1 + 0.2, Timestamp: 1_700_000_060_000},
	}
	for _, tc := range []struct {
		version string
		write   func(*testing.T, string, ...prompb.TimeSeries) response
	}{
		{"v1", writeV1},
		{"v2", func(t *testing.T, url string, s ...prompb.TimeSeries) response {
			return writeV2(t, url, v2Request(s...))
		}},
	} {
		t.Run(tc.version, func(t *testing.T) {
			metric := "node_cpu_seconds_total_" + tc.version
			var all []prompb.TimeSeries
			for cpu := 0; cpu < 3; cpu++ {
				all = append(all, series(metric, []string{"cpu", fmt.Sprint(cpu), "instance", "host-1:9100", "job", "node", "mode", "idle", "empty", ""}, samples...))
			}
			if r := tc.write(t, ts.URL+"/api/v1/write", all...); r.status != http.StatusNoContent {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			compareStored(t, readBack(t, influx, "prom", metric), wantStored(all...))
		})
	}
}

// TestIntegrationLabelsRoundTrip writes metric names, label names and
// label values that line protocol cannot carry as they are, or that InfluxDB
// treats specially, and checks that every one reads back as the original.
func TestIntegrationLabelsRoundTrip(t *testing.T) {
	influx := influxtest.Start(t)
	_, ts := startAdapter(t, influxConfig(influx.URL(), "prom"))
	awkward := []string{
		"plain", "with space", "a b,c=d", `"quoted"`, "'v\"x😀", "emoji 🦀 ünïcödé", `C:\dir`, `a\\b`, `ab\`, `\`,
		`a\,b`, `a\ b`, `a\=b`, `\ \=,"`, "a\nb", "a\tb\rc", "x\x00y", "~b64~YQ", "time", "value", "#x",
		" lead", "trail ", strings.Repeat("long", 1000),
	}
	var all []prompb.TimeSeries
	for i, v := range awkward {
		smp := prompb.Sample{Value: float64(i), Timestamp: int64(1000 + i)}
		all = append(all,
			series("m_value", []string{"i", fmt.Sprint(i), "k", v}, smp),
			series("m_name", []string{"i", fmt.Sprint(i), v, "v"}, smp),
			series(v, []string{"i", fmt.Sprint(i), "value", "a tag named value"}, smp),
		)
	}
	if r := writeV1(t, ts.URL+"/api/v1/write", all...); r.status != http.StatusNoContent {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	compareStored(t, readBack(t, influx, "prom", "/.*/"), wantStored(all...))
}

// TestIntegrationRoutesAndDBParameter writes one request whose series go to
// two databases, then uses ?db= to bypass the routes.
func TestIntegrationRoutesAndDBParameter(t *testing.T) {
	influx := influxtest.Start(t)
	_, ts := startAdapter(t, influxConfig(influx.URL(), "main", "node"))
	nodeSeries := series("node_load1", []string{"job", "node"}, prompb.Sample{Value: 0.5, Timestamp: 10})
	promSeries := series("up", []string{"job", "prometheus"}, prompb.Sample{Value: 1, Timestamp: 10})
	if r := writeV1(t, ts.URL+"/api/v1/write", nodeSeries, promSeries); r.status != http.StatusNoContent {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	compareStored(t, readBack(t, influx, "node", "node_load1"), wantStored(nodeSeries))
	compareStored(t, readBack(t, influx, "main", "up"), wantStored(promSeries))
	compareStored(t, readBack(t, influx, "main", "node_load1"), nil)

	forced := series("node_load5", []string{"job", "node"}, prompb.Sample{Value: 0.7, Timestamp: 20})
	if r := writeV1(t, ts.URL+"/api/v1/write?db=main", forced); r.status != http.StatusNoContent {
		t.Fatalf("?db=main: status %d: %s", r.status, r.body)
	}
	compareStored(t, readBack(t, influx, "main", "node_load5"), wantStored(forced))
	compareStored(t, readBack(t, influx, "node", "node_load5"), nil)
}

// TestIntegrationDatabaseDown: with influxd stopped promflux answers 503;
// the same request retried after the restart lands.
func TestIntegrationDatabaseDown(t *testing.T) {
	influx := influxtest.Start(t)
	_, ts := startAdapter(t, influxConfig(influx.URL(), "prom"))
	s := series("retried", []string{"job", "x"}, prompb.Sample{Value: 3, Timestamp: 1234})

	influx.Stop()
	r := writeV1(t, ts.URL+"/api/v1/write", s)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("influxd down: status %d Retry-After %q (%s), want 503 with Retry-After", r.status, r.header.Get("Retry-After"), r.body)
	}
	if rr, err := http.Get(ts.URL + "/-/ready"); err != nil || rr.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/-/ready with influxd down: %v %v, want 503", rr.StatusCode, err)
	}
	if m := get(t, ts.URL+"/metrics"); !strings.Contains(m, `promflux_influxdb_up{database="prom"} 0`) {
		t.Errorf("/metrics with influxd down lacks promflux_influxdb_up 0:\n%s", grepLines(m, "promflux_influxdb_up"))
	}

	influx.Restart()
	if r := writeV1(t, ts.URL+"/api/v1/write", s); r.status != http.StatusNoContent {
		t.Fatalf("after restart: status %d: %s", r.status, r.body)
	}
	compareStored(t, readBack(t, influx, "prom", "retried"), wantStored(s))
	if rr, err := http.Get(ts.URL + "/-/ready"); err != nil || rr.StatusCode != http.StatusOK {
		t.Errorf("/-/ready with influxd up: %v %v, want 200", rr.StatusCode, err)
	}
	if m := get(t, ts.URL+"/metrics"); !strings.Contains(m, `promflux_influxdb_up{database="prom"} 1`) {
		t.Errorf("/metrics with influxd up lacks promflux_influxdb_up 1:\n%s", grepLines(m, "promflux_influxdb_up"))
	}
}

// grepLines returns the lines of text that contain s.
func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestIntegrationFieldTypeConflict: InfluxDB refusing points for good is a
// 400 that carries its reason.
func TestIntegrationFieldTypeConflict(t *testing.T) {
	influx := influxtest.Start(t)
	influx.CreateDatabase(t, "prom")
	influx.Write(t, "prom", "conflict,job=x value=\"a string\" 1\n")
	_, ts := startAdapter(t, influxConfig(influx.URL(), "prom"))
	r := writeV1(t, ts.URL+"/api/v1/write", series("conflict", []string{"job", "x"}, prompb.Sample{Value: 1, Timestamp: 2}))
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "field type conflict") {
		t.Fatalf("status %d %q, want 400 naming the field type conflict", r.status, r.body)
	}
}

// TestIntegrationHistogramsExemplarsMetadata writes a native histogram, an
// exemplar and metadata through promflux into a real influxd and reads the
// stored fields back with InfluxQL (docs/schema.md).
func TestIntegrationHistogramsExemplarsMetadata(t *testing.T) {
	influx := influxtest.Start(t)
	_, ts := startAdapter(t, influxConfig(influx.URL(), "prom"))
	h := series("rpc_duration_seconds", []string{"job", "api"})
	h.Histograms = []prompb.Histogram{{
		Count: &prompb.Histogram_CountInt{CountInt: 6}, Sum: 12.5, Schema: 3,
		ZeroThreshold: 1e-128, ZeroCount: &prompb.Histogram_ZeroCountInt{ZeroCountInt: 1},
		PositiveSpans: []prompb.BucketSpan{{Offset: 0, Length: 2}, {Offset: 3, Length: 1}}, PositiveDeltas: []int64{1, 1, -1},
		NegativeSpans: []prompb.BucketSpan{{Offset: -2, Length: 1}}, NegativeDeltas: []int64{1},
		ResetHint: prompb.Histogram_NO, Timestamp: 1000,
	}}
	h.Exemplars = []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: `a "quoted", \ id`}}, Value: 0.25, Timestamp: 900}}
	if r := writeV1(t, ts.URL+"/api/v1/write", h); r.status != http.StatusNoContent {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	meta := writeV1Metadata(t, prompb.MetricMetadata{Type: prompb.MetricMetadata_HISTOGRAM, MetricFamilyName: "rpc_duration_seconds", Help: "RPC latency,\nin seconds.", Unit: "seconds"})
	if r := post(t, ts.URL+"/api/v1/write", contentTypeV1, "snappy", meta); r.status != http.StatusNoContent {
		t.Fatalf("metadata: status %d: %s", r.status, r.body)
	}

	rows := influx.Query(t, "prom", `SELECT * FROM rpc_duration_seconds`)
	if len(rows) != 1 {
		t.Fatalf("got %v", rows)
	}
	got := map[string]string{}
	for _, row := range rows[0].Values {
		for i, col := range rows[0].Columns {
			if row[i] != nil {
				got[fmt.Sprint(row[0])+" "+col] = fmt.Sprint(row[i])
			}
		}
	}
	for k, want := range map[string]string{
		"1000 h_count": "6", "1000 h_sum": "12.5", "1000 h_schema": "3", "1000 h_zero_count": "1", "1000 h_zero_threshold": "1e-128",
		"1000 h_pos_spans": "0:2,3:1", "1000 h_pos": "1,1,-1", "1000 h_neg_spans": "-2:1", "1000 h_neg": "1",
		"1000 h_reset_hint": "2", "1000 h_float": "false", "1000 job": "api",
		"900 exemplar_value": "0.25", "900 exemplar_labels": `{trace_id="a \"quoted\", \\ id"}`,
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	md := influx.Query(t, "prom", `SELECT "type", "help", "unit" FROM promflux_metadata WHERE "metric"::tag = 'rpc_duration_seconds'`)
	if len(md) != 1 || len(md[0].Values) != 1 || fmt.Sprint(md[0].Values[0][1:]) != "[histogram RPC latency,\nin seconds. seconds]" {
		t.Errorf("metadata stored as %v", md)
	}
}

func writeV1Metadata(t *testing.T, ms ...prompb.MetricMetadata) []byte {
	t.Helper()
	raw, err := proto.Marshal(&prompb.WriteRequest{Metadata: ms})
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}
