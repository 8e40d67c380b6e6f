package influxworker

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// value returns the value of a single counter or gauge.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatal(err)
	}
	switch {
	case pb.Counter != nil:
		return pb.Counter.GetValue()
	case pb.Gauge != nil:
		return pb.Gauge.GetValue()
	}
	t.Fatalf("metric %s is neither counter nor gauge", m.Desc())
	return 0
}

func TestMetricsRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	// Pools come and go with reloads; they must share the registered vectors.
	for range 2 {
		m.forPool("a").observe(OpWrite, 204, 0.01)
	}
	m.forPool("b").observe(OpPing, 0, 0.5)
	m.forPool("b").writeFailed(&Error{Permanent: true})
	m.forPool("a").pointsWritten.Add(3)
	m.forPool("a").inflight.Set(0)
	m.forPool("a").pinged(time.Now(), true, 3*time.Millisecond)
	m.forPool("b").pinged(time.Now(), false, 2*time.Second)
	m.forPool("a").batchPoints.Observe(2000)
	m.forPool("a").splits.Inc()

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "promflux_influxdb_") || mf.GetHelp() == "" {
			t.Errorf("metric %s: want promflux_influxdb_ prefix and help", mf.GetName())
		}
		got[mf.GetName()] = len(mf.GetMetric())
	}
	want := map[string]int{
		"promflux_influxdb_requests_total":           2,
		"promflux_influxdb_request_duration_seconds": 2,
		// Created with each pool, so that they read 0 rather than absent.
		"promflux_influxdb_inflight_requests":    2,
		"promflux_influxdb_points_written_total": 2,
		// Every reason of every pool, at 0 until it happens.
		"promflux_influxdb_write_errors_total":    10,
		"promflux_influxdb_retries_total":         2,
		"promflux_influxdb_up":                    2,
		"promflux_influxdb_ping_duration_seconds": 2,
		// Histograms and the split counter exist from the pool's creation.
		"promflux_influxdb_write_batch_points":       2,
		"promflux_influxdb_write_batch_bytes":        2,
		"promflux_influxdb_write_wait_seconds":       2,
		"promflux_influxdb_write_batch_splits_total": 2,
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s has %d series, want %d", name, got[name], n)
		}
	}
	if v := value(t, m.requests.WithLabelValues("a", OpWrite, "204")); v != 2 {
		t.Errorf("requests_total{a,write,204} = %v, want 2", v)
	}
	if v := value(t, m.requests.WithLabelValues("b", OpPing, "error")); v != 1 {
		t.Errorf("requests_total{b,ping,error} = %v, want 1", v)
	}
	if v := value(t, m.up.WithLabelValues("a")); v != 1 {
		t.Errorf("up{a} = %v, want 1", v)
	}
	if v := value(t, m.up.WithLabelValues("b")); v != 0 {
		t.Errorf("up{b} = %v, want 0", v)
	}
	if v := value(t, m.pingDuration.WithLabelValues("b")); v != 2 {
		t.Errorf("ping_duration_seconds{b} = %v, want 2", v)
	}
	if v := value(t, m.writeErrors.WithLabelValues("b", ReasonRejected)); v != 1 {
		t.Errorf("write_errors_total{b,rejected} = %v, want 1", v)
	}
}

// TestMetricsRemove: after Remove, a pool of the removed database that is
// still finishing requests (a reload replaced it) records nothing, so its
// series stay gone; a pool created for that name again records anew.
func TestMetricsRemove(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	old := m.forPool("gone")
	old.pinged(time.Now(), true, 0)
	old.observe(OpWrite, 204, 0.01)
	kept := m.forPool("kept")
	kept.pinged(time.Now(), true, 0)

	m.Remove("gone")
	old.pinged(time.Now(), false, 0)
	old.observe(OpPing, 0, 2)
	old.writeFailed(&Error{Permanent: true})
	old.retried(OpWrite)
	series := func(db string) int {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, mf := range mfs {
			for _, metric := range mf.GetMetric() {
				for _, l := range metric.GetLabel() {
					if l.GetName() == "database" && l.GetValue() == db {
						n++
					}
				}
			}
		}
		return n
	}
	if n := series("gone"); n != 0 {
		t.Errorf("%d series of the removed database after its old pool recorded", n)
	}
	if series("kept") == 0 {
		t.Error("the series of the kept database are gone")
	}
	m.forPool("gone").pinged(time.Now(), true, 0)
	if series("gone") == 0 {
		t.Error("a new pool of a removed name records nothing")
	}
}
