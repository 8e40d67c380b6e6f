package promapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// memStorage is a Storage over series, exemplars and metadata in memory;
// selectHook, when set, runs first in every Select, LabelNames,
// LabelValues and exemplar Select, and in Metadata, and may fail them.
type memStorage struct {
	series     []storage.Series
	exemplars  []exemplar.QueryResult
	metadata   map[string][]metadata.Metadata
	selectHook func(ctx context.Context) error
	selects    atomic.Int64
	// hints are the hints of the last Select.
	hints atomic.Pointer[storage.SelectHints]
}

func (m *memStorage) ExemplarQuerier(ctx context.Context) (storage.ExemplarQuerier, error) {
	return memExemplars{m, ctx}, nil
}

type memExemplars struct {
	m   *memStorage
	ctx context.Context
}

func (e memExemplars) Select(start, end int64, sets ...[]*labels.Matcher) ([]exemplar.QueryResult, error) {
	if h := e.m.selectHook; h != nil {
		if err := h(e.ctx); err != nil {
			return nil, err
		}
	}
	out := []exemplar.QueryResult{}
	for _, r := range e.m.exemplars {
		if !slices.ContainsFunc(sets, func(ms []*labels.Matcher) bool { return matchAll(ms, r.SeriesLabels) }) {
			continue
		}
		var es []exemplar.Exemplar
		for _, ex := range r.Exemplars {
			if ex.Ts >= start && ex.Ts <= end {
				es = append(es, ex)
			}
		}
		if len(es) > 0 {
			out = append(out, exemplar.QueryResult{SeriesLabels: r.SeriesLabels, Exemplars: es})
		}
	}
	return out, nil
}

func (m *memStorage) Metadata(ctx context.Context, metric string) (map[string][]metadata.Metadata, error) {
	if h := m.selectHook; h != nil {
		if err := h(ctx); err != nil {
			return nil, err
		}
	}
	out := map[string][]metadata.Metadata{}
	for name, ms := range m.metadata {
		if metric == "" || metric == name {
			out[name] = slices.Clone(ms)
		}
	}
	return out, nil
}

func (m *memStorage) Querier(int64, int64) (storage.Querier, error) { return memQuerier{m}, nil }

type memQuerier struct{ m *memStorage }

func (q memQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	q.m.selects.Add(1)
	q.m.hints.Store(hints)
	if h := q.m.selectHook; h != nil {
		if err := h(ctx); err != nil {
			return storage.ErrSeriesSet(err)
		}
	}
	var out []storage.Series
	for _, s := range q.m.series {
		if matchAll(ms, s.Labels()) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	return &listSet{series: out, i: -1}
}

func matchAll(ms []*labels.Matcher, lbls labels.Labels) bool {
	for _, m := range ms {
		if !m.Matches(lbls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// LabelValues answers the values of name, sorted and merged, as a storage
// does.
func (q memQuerier) LabelValues(ctx context.Context, name string, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	var out []string
	err := q.each(ctx, ms, func(lbls labels.Labels) {
		if v := lbls.Get(name); v != "" {
			out = append(out, v)
		}
	})
	slices.Sort(out)
	return slices.Compact(out), nil, err
}

// LabelNames answers the names of the series' labels, sorted and merged,
// as a storage does.
func (q memQuerier) LabelNames(ctx context.Context, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	var out []string
	err := q.each(ctx, ms, func(lbls labels.Labels) {
		lbls.Range(func(l labels.Label) { out = append(out, l.Name) })
	})
	slices.Sort(out)
	return slices.Compact(out), nil, err
}

// each calls fn with the labels of every series ms match (every series
// without matchers).
func (q memQuerier) each(ctx context.Context, ms []*labels.Matcher, fn func(labels.Labels)) error {
	if h := q.m.selectHook; h != nil {
		if err := h(ctx); err != nil {
			return err
		}
	}
	for _, s := range q.m.series {
		if matchAll(ms, s.Labels()) {
			fn(s.Labels())
		}
	}
	return nil
}

func (memQuerier) Close() error { return nil }

type listSet struct {
	series []storage.Series
	i      int
}

func (s *listSet) Next() bool                        { s.i++; return s.i < len(s.series) }
func (s *listSet) At() storage.Series                { return s.series[s.i] }
func (s *listSet) Err() error                        { return nil }
func (s *listSet) Warnings() annotations.Annotations { return nil }

// floatSeries is a series with a float sample every 10s from 0 to
// 590s: i, i+1, ...
func floatSeries(lbls labels.Labels, first float64) storage.Series {
	var samples []chunks.Sample
	for i := range 60 {
		samples = append(samples, fSample{t: int64(i) * 10_000, f: first + float64(i)})
	}
	return storage.NewListSeries(lbls, samples)
}

type fSample struct {
	t int64
	f float64
}

func (s fSample) T() int64                      { return s.t }
func (s fSample) ST() int64                     { return 0 }
func (s fSample) F() float64                    { return s.f }
func (s fSample) H() *histogram.Histogram       { return nil }
func (s fSample) FH() *histogram.FloatHistogram { return nil }
func (s fSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s fSample) Copy() chunks.Sample           { return s }

// testSeries are the series of the API tests.
func testSeries() *memStorage {
	return &memStorage{series: []storage.Series{
		floatSeries(labels.FromStrings("__name__", "requests_total", "job", "api", "code", "200"), 0),
		floatSeries(labels.FromStrings("__name__", "requests_total", "job", "api", "code", "500"), 100),
		floatSeries(labels.FromStrings("__name__", "requests_total", "job", "web", "code", "200"), 1000),
	}}
}

// startAPI serves the query endpoints of an engine with cfg over st.
func startAPI(t *testing.T, cfg Config, st Storage) (*httptest.Server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	e := NewEngine(cfg, log.NewNopLogger(), reg)
	t.Cleanup(e.Close)
	api := NewAPI(e, st, log.NewNopLogger())
	api.now = func() time.Time { return time.Unix(300, 0) }
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/query", api.Query)
	mux.HandleFunc("/api/v1/query_range", api.QueryRange)
	mux.HandleFunc("/api/v1/labels", api.Labels)
	mux.HandleFunc("/api/v1/label/{name}/values", api.LabelValues)
	mux.HandleFunc("/api/v1/series", api.Series)
	mux.HandleFunc("/api/v1/metadata", api.Metadata)
	mux.HandleFunc("/api/v1/query_exemplars", api.QueryExemplars)
	mux.HandleFunc("/api/v1/status/buildinfo", api.BuildInfo)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts, reg
}

type answer struct {
	status      int
	contentType string
	body        string
}

func get(t *testing.T, ts *httptest.Server, path string, params url.Values) answer {
	t.Helper()
	resp, err := http.Get(ts.URL + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return readAnswer(t, resp)
}

func postForm(t *testing.T, ts *httptest.Server, path string, params url.Values) answer {
	t.Helper()
	resp, err := http.PostForm(ts.URL+path, params)
	if err != nil {
		t.Fatal(err)
	}
	return readAnswer(t, resp)
}

// askBoth sends params to path by GET and by form POST and checks that
// each is answered status and body, as JSON.
func askBoth(t *testing.T, ts *httptest.Server, path string, params url.Values, status int, body string) {
	t.Helper()
	for method, ask := range map[string]func(*testing.T, *httptest.Server, string, url.Values) answer{"GET": get, "POST": postForm} {
		got := ask(t, ts, path, params)
		if got.status != status || got.body != body {
			t.Errorf("%s: %d %s\nwant %d %s", method, got.status, got.body, status, body)
		}
		if got.contentType != "application/json" {
			t.Errorf("%s: Content-Type %q", method, got.contentType)
		}
	}
}

func readAnswer(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

// TestQueryAPI: answers and error answers of both endpoints, GET and
// POST, byte for byte.
func TestQueryAPI(t *testing.T) {
	ts, _ := startAPI(t, DefaultConfig, testSeries())
	for _, tc := range []struct {
		name, path string
		params     url.Values
		status     int
		body       string
	}{
		{"instant vector", "/api/v1/query", url.Values{"query": {`requests_total{code="200"}`}, "time": {"95"}}, 200,
			`{"status":"success","data":{"resultType":"vector","result":[` +
				`{"metric":{"__name__":"requests_total","code":"200","job":"api"},"value":[95,"9"]},` +
				`{"metric":{"__name__":"requests_total","code":"200","job":"web"},"value":[95,"1009"]}]}}`},
		{"instant at now", "/api/v1/query", url.Values{"query": {`sum(requests_total)`}}, 200,
			`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[300,"1190"]}]}}`},
		{"instant scalar", "/api/v1/query", url.Values{"query": {`scalar(sum(requests_total{job="web"}))`}, "time": {"100.5"}}, 200,
			`{"status":"success","data":{"resultType":"scalar","result":[100.5,"1010"]}}`},
		{"instant string", "/api/v1/query", url.Values{"query": {`"a<b>"`}, "time": {"1"}}, 200,
			`{"status":"success","data":{"resultType":"string","result":[1,"a\u003cb\u003e"]}}`},
		{"instant matrix", "/api/v1/query", url.Values{"query": {`requests_total{code="500"}[25s]`}, "time": {"100"}}, 200,
			`{"status":"success","data":{"resultType":"matrix","result":[` +
				`{"metric":{"__name__":"requests_total","code":"500","job":"api"},"values":[[80,"108"],[90,"109"],[100,"110"]]}]}}`},
		{"instant limit", "/api/v1/query", url.Values{"query": {`requests_total`}, "time": {"100"}, "limit": {"1"}}, 200,
			`{"status":"success","data":{"resultType":"vector","result":[` +
				`{"metric":{"__name__":"requests_total","code":"200","job":"api"},"value":[100,"10"]}]},"warnings":["results truncated due to limit"]}`},
		{"instant @ and offset", "/api/v1/query", url.Values{"query": {`requests_total{code="500"} @ 50 offset -10s`}, "time": {"300"}}, 200,
			`{"status":"success","data":{"resultType":"vector","result":[` +
				`{"metric":{"__name__":"requests_total","code":"500","job":"api"},"value":[300,"106"]}]}}`},
		{"instant lookback", "/api/v1/query", url.Values{"query": {`requests_total{code="500"}`}, "time": {"1000"}, "lookback_delta": {"30s"}}, 200,
			`{"status":"success","data":{"resultType":"vector","result":[]}}`},
		{"instant info", "/api/v1/query", url.Values{"query": {`rate(requests_total{job="web"}[1m])`}, "time": {"100"}}, 200,
			`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"code":"200","job":"web"},"value":[100,"0.1"]}]}}`},
		{"range", "/api/v1/query_range", url.Values{"query": {`sum by (job) (requests_total)`}, "start": {"0"}, "end": {"20"}, "step": {"10s"}}, 200,
			`{"status":"success","data":{"resultType":"matrix","result":[` +
				`{"metric":{"job":"api"},"values":[[0,"100"],[10,"102"],[20,"104"]]},` +
				`{"metric":{"job":"web"},"values":[[0,"1000"],[10,"1001"],[20,"1002"]]}]}}`},
		{"range scalar", "/api/v1/query_range", url.Values{"query": {`1+1`}, "start": {"0"}, "end": {"2"}, "step": {"1"}}, 200,
			`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[0,"2"],[1,"2"],[2,"2"]]}]}}`},

		{"parse error", "/api/v1/query", url.Values{"query": {`sum(`}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}`},
		{"no query", "/api/v1/query", url.Values{}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": unknown position: parse error: no expression found in input"}`},
		{"range of a matrix", "/api/v1/query_range", url.Values{"query": {`up[1m]`}, "start": {"0"}, "end": {"2"}, "step": {"1"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"}`},
		{"bad step", "/api/v1/query_range", url.Values{"query": {`up`}, "start": {"0"}, "end": {"2"}, "step": {"0"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"}`},
		{"execution error", "/api/v1/query", url.Values{"query": {`label_replace(requests_total, "x", "$1", "job", "(")`}, "time": {"100"}}, 422,
			`{"status":"error","errorType":"execution","error":"invalid regular expression in label_replace(): ("}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			askBoth(t, ts, tc.path, tc.params, tc.status, tc.body)
		})
	}
}
