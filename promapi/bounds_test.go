package promapi

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
)

// TestMaxSamples: a query loading more than max_samples fails with
// Prometheus's error, and so does a storage that refuses to hold more.
func TestMaxSamples(t *testing.T) {
	cfg := DefaultConfig
	cfg.MaxSamples = 50
	ts, _ := startAPI(t, cfg, testSeries())
	const want = `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}`
	// 3 series x 30 samples of the last 5 minutes.
	if got := get(t, ts, "/api/v1/query", url.Values{"query": {`requests_total[5m]`}, "time": {"300"}}); got.status != 422 || got.body != want {
		t.Errorf("%d %s\nwant 422 %s", got.status, got.body, want)
	}
	if got := get(t, ts, "/api/v1/query", url.Values{"query": {`requests_total{code="500"}[5m]`}, "time": {"300"}}); got.status != 200 {
		t.Errorf("30 samples: %d %s", got.status, got.body)
	}

	st := testSeries()
	st.selectHook = func(context.Context) error { return promql.ErrTooManySamples("query execution") }
	ts, _ = startAPI(t, DefaultConfig, st)
	const wantStorage = `{"status":"error","errorType":"execution","error":"expanding series: query processing would load too many samples into memory in query execution"}`
	if got := get(t, ts, "/api/v1/query", url.Values{"query": {`requests_total`}}); got.status != 422 || got.body != wantStorage {
		t.Errorf("%d %s\nwant 422 %s", got.status, got.body, wantStorage)
	}
}

// TestStorageErrors: the storage's errors get the error types
// Prometheus gives them, and unavailable its own.
func TestStorageErrors(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		body   string
	}{
		{UnavailableError{errors.New("database down")}, 503, `{"status":"error","errorType":"unavailable","error":"expanding series: database down"}`},
		{promql.ErrStorage{Err: errors.New("corrupt")}, 500, `{"status":"error","errorType":"internal","error":"expanding series: corrupt"}`},
		{errors.New("refused"), 422, `{"status":"error","errorType":"execution","error":"expanding series: refused"}`},
	} {
		st := testSeries()
		st.selectHook = func(context.Context) error { return tc.err }
		ts, _ := startAPI(t, DefaultConfig, st)
		for _, path := range []string{"/api/v1/query", "/api/v1/query_range"} {
			got := get(t, ts, path, url.Values{"query": {`sum(requests_total)`}, "start": {"0"}, "end": {"10"}, "step": {"5"}})
			if got.status != tc.status || got.body != tc.body {
				t.Errorf("%s: %d %s\nwant %d %s", path, got.status, got.body, tc.status, tc.body)
			}
		}
	}
}

// TestTimeout: a query that outlasts query.timeout, or a shorter timeout
// parameter, fails with Prometheus's timeout error, whatever error the
// storage gives for the reads cut short.
func TestTimeout(t *testing.T) {
	st := testSeries()
	st.selectHook = func(ctx context.Context) error {
		<-ctx.Done()
		return errors.New("read cut: " + ctx.Err().Error())
	}
	cfg := DefaultConfig
	cfg.Timeout = model.Duration(300 * time.Millisecond)
	ts, _ := startAPI(t, cfg, st)
	// The engine notices first, where it checks its context.
	const want = `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`
	for _, params := range []url.Values{
		{"query": {`requests_total`}},
		{"query": {`sum(rate(requests_total[1m]))`}, "start": {"0"}, "end": {"100"}, "step": {"10"}},
	} {
		path := "/api/v1/query"
		if params.Has("step") {
			path = "/api/v1/query_range"
		}
		start := time.Now()
		got := get(t, ts, path, params)
		if took := time.Since(start); got.status != 503 || got.body != want || took > 5*time.Second {
			t.Errorf("%s: %d %s after %v\nwant 503 %s", path, got.status, got.body, took, want)
		}
	}

	ts, _ = startAPI(t, DefaultConfig, st)
	start := time.Now()
	got := get(t, ts, "/api/v1/query", url.Values{"query": {`requests_total`}, "timeout": {"200ms"}})
	if took := time.Since(start); got.status != 503 || got.body != want || took > 5*time.Second {
		t.Errorf("timeout parameter: %d %s after %v", got.status, got.body, took)
	}
}

// TestMaxConcurrency: past max_concurrency queries wait for a turn,
// within their timeout; one that outwaits it fails with a timeout.
func TestMaxConcurrency(t *testing.T) {
	st := testSeries()
	release := make(chan struct{})
	blocked := make(chan struct{}, 1)
	st.selectHook = func(ctx context.Context) error {
		select {
		case blocked <- struct{}{}:
		default:
		}
		<-release
		return nil
	}
	cfg := DefaultConfig
	cfg.MaxConcurrency = 1
	ts, reg := startAPI(t, cfg, st)
	if got := testutil.ToFloat64(gauge(t, reg, "prometheus_engine_queries_concurrent_max")); got != 1 {
		t.Errorf("prometheus_engine_queries_concurrent_max = %v", got)
	}

	first := make(chan answer, 1)
	go func() {
		first <- get(t, ts, "/api/v1/query", url.Values{"query": {`sum(requests_total)`}, "time": {"100"}})
	}()
	<-blocked // the first query holds the only turn

	// A second one waits for it, until its timeout.
	start := time.Now()
	got := get(t, ts, "/api/v1/query", url.Values{"query": {`requests_total`}, "timeout": {"300ms"}})
	const want = `{"status":"error","errorType":"timeout","error":"query timed out in query queue"}`
	if took := time.Since(start); got.status != 503 || got.body != want || took < 300*time.Millisecond {
		t.Errorf("waiting query: %d %s after %v\nwant 503 %s", got.status, got.body, took, want)
	}
	// A third waits for its turn, and gets it.
	third := make(chan answer, 1)
	go func() {
		third <- get(t, ts, "/api/v1/query_range", url.Values{"query": {`sum(requests_total)`}, "start": {"100"}, "end": {"100"}, "step": {"1"}})
	}()
	select {
	case a := <-third:
		t.Fatalf("third query answered while the first holds the turn: %d %s", a.status, a.body)
	case <-time.After(200 * time.Millisecond):
	}
	if n := st.selects.Load(); n != 1 {
		t.Errorf("%d selects while one query may run", n)
	}
	close(release)
	for name, ch := range map[string]chan answer{"first": first, "third": third} {
		if a := <-ch; a.status != 200 || !strings.Contains(a.body, `"1130"`) {
			t.Errorf("%s: %d %s", name, a.status, a.body)
		}
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "copy"})
			g.Set(mf.GetMetric()[0].GetGauge().GetValue())
			return g
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

// TestEngineMetricsReplaced: an engine's Close takes its metrics out of
// the registry, so that the engine of a new configuration can register
// its own.
func TestEngineMetricsReplaced(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := NewEngine(DefaultConfig, log.NewNopLogger(), reg)
	e.Close()
	cfg := DefaultConfig
	cfg.MaxConcurrency = 3
	e = NewEngine(cfg, log.NewNopLogger(), reg)
	defer e.Close()
	if got := testutil.ToFloat64(gauge(t, reg, "prometheus_engine_queries_concurrent_max")); got != 3 {
		t.Errorf("prometheus_engine_queries_concurrent_max = %v", got)
	}
	if e.Config() != cfg {
		t.Errorf("Config() = %+v", e.Config())
	}
}
