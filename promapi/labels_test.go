package promapi

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/promql"
)

// metaSeries are testSeries with exemplars and metadata.
func metaSeries() *memStorage {
	st := testSeries()
	st.exemplars = []exemplar.QueryResult{{
		SeriesLabels: labels.FromStrings("__name__", "requests_total", "code", "200", "job", "api"),
		Exemplars: []exemplar.Exemplar{
			{Labels: labels.FromStrings("trace_id", "abc"), Value: 1.5, Ts: 10_000},
			{Labels: labels.FromStrings("span", "<&>", "trace_id", "def"), Value: 2, Ts: 20_500},
		},
	}, {
		SeriesLabels: labels.FromStrings("__name__", "requests_total", "code", "200", "job", "web"),
		Exemplars:    []exemplar.Exemplar{{Labels: labels.EmptyLabels(), Value: 1e-7, Ts: 30_001}},
	}}
	st.metadata = map[string][]metadata.Metadata{
		"requests_total": {{Type: model.MetricTypeCounter, Help: "Requests \"served\".", Unit: ""}},
		"latency":        {{Type: model.MetricTypeHistogram, Help: "Latency.", Unit: "seconds"}, {Type: model.MetricTypeGauge, Help: "Other.", Unit: ""}, {Type: model.MetricTypeGauge, Help: "Other.", Unit: ""}},
		"empty":          nil,
	}
	return st
}

// TestMetadataEndpoints: answers and error answers of the label, series,
// metadata and exemplar endpoints, GET and POST, byte for byte.
func TestMetadataEndpoints(t *testing.T) {
	ts, _ := startAPI(t, DefaultConfig, metaSeries())
	for _, tc := range []struct {
		name, path string
		params     url.Values
		status     int
		body       string
	}{
		{"labels", "/api/v1/labels", url.Values{}, 200, `{"status":"success","data":["__name__","code","job"]}`},
		{"labels in a range", "/api/v1/labels", url.Values{"start": {"0"}, "end": {"2023-11-14T22:13:20Z"}}, 200, `{"status":"success","data":["__name__","code","job"]}`},
		{"labels of selectors", "/api/v1/labels", url.Values{"match[]": {`{job="web"}`, `requests_total{code="500"}`}}, 200, `{"status":"success","data":["__name__","code","job"]}`},
		{"labels of no series", "/api/v1/labels", url.Values{"match[]": {`nothing`}}, 200, `{"status":"success","data":[]}`},
		{"labels limit", "/api/v1/labels", url.Values{"limit": {"2"}}, 200, `{"status":"success","data":["__name__","code"],"warnings":["results truncated due to limit"]}`},
		{"labels limit not reached", "/api/v1/labels", url.Values{"limit": {"3"}}, 200, `{"status":"success","data":["__name__","code","job"]}`},
		{"labels bad limit", "/api/v1/labels", url.Values{"limit": {"-1"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"limit\": limit must be non-negative"}`},
		{"labels bad start", "/api/v1/labels", url.Values{"start": {"yesterday"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"start\": invalid time value for 'start': cannot parse \"yesterday\" to a valid timestamp"}`},
		{"labels bad end", "/api/v1/labels", url.Values{"end": {"x"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"end\": invalid time value for 'end': cannot parse \"x\" to a valid timestamp"}`},
		{"labels empty selector", "/api/v1/labels", url.Values{"match[]": {`{job=~".*"}`}}, 400,
			`{"status":"error","errorType":"bad_data","error":"match[] must contain at least one non-empty matcher"}`},
		{"labels bad selector", "/api/v1/labels", url.Values{"match[]": {`up{`}}, 400,
			`{"status":"error","errorType":"bad_data","error":"1:4: parse error: unexpected end of input inside braces"}`},

		{"label values", "/api/v1/label/job/values", url.Values{}, 200, `{"status":"success","data":["api","web"]}`},
		{"metric names", "/api/v1/label/__name__/values", url.Values{"start": {"0"}, "end": {"600"}}, 200, `{"status":"success","data":["requests_total"]}`},
		{"label values of selectors", "/api/v1/label/code/values", url.Values{"match[]": {`{job="web"}`, `{code="500"}`}}, 200, `{"status":"success","data":["200","500"]}`},
		{"label values limit", "/api/v1/label/code/values", url.Values{"limit": {"1"}}, 200, `{"status":"success","data":["200"],"warnings":["results truncated due to limit"]}`},
		{"label values of an unknown label", "/api/v1/label/U__a_2e_b/values", url.Values{}, 200, `{"status":"success","data":[]}`},
		{"label values bad name", "/api/v1/label/%FF/values", url.Values{}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid label name: \"\\xff\""}`},
		{"label values bad limit", "/api/v1/label/job/values", url.Values{"limit": {"x"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"limit\": strconv.Atoi: parsing \"x\": invalid syntax"}`},

		{"series", "/api/v1/series", url.Values{"match[]": {`requests_total{code="200"}`}, "start": {"0"}, "end": {"600"}}, 200,
			`{"status":"success","data":[{"__name__":"requests_total","code":"200","job":"api"},{"__name__":"requests_total","code":"200","job":"web"}]}`},
		{"series of selectors", "/api/v1/series", url.Values{"match[]": {`{job="api"}`, `{code="200"}`}}, 200,
			`{"status":"success","data":[{"__name__":"requests_total","code":"200","job":"api"},{"__name__":"requests_total","code":"200","job":"web"},{"__name__":"requests_total","code":"500","job":"api"}]}`},
		{"series limit", "/api/v1/series", url.Values{"match[]": {`requests_total`}, "limit": {"1"}}, 200,
			`{"status":"success","data":[{"__name__":"requests_total","code":"200","job":"api"}],"warnings":["results truncated due to limit"]}`},
		{"no series", "/api/v1/series", url.Values{"match[]": {`nothing`}}, 200, `{"status":"success","data":[]}`},
		{"series without selector", "/api/v1/series", url.Values{"start": {"0"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"no match[] parameter provided"}`},
		{"series bad selector", "/api/v1/series", url.Values{"match[]": {`{}`}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"match[]\": match[] must contain at least one non-empty matcher"}`},

		{"metadata", "/api/v1/metadata", url.Values{}, 200,
			`{"status":"success","data":{"latency":[{"type":"gauge","unit":"","help":"Other."},{"type":"histogram","unit":"seconds","help":"Latency."}],` +
				`"requests_total":[{"type":"counter","unit":"","help":"Requests \"served\"."}]}}`},
		{"metadata of a metric", "/api/v1/metadata", url.Values{"metric": {"requests_total"}}, 200,
			`{"status":"success","data":{"requests_total":[{"type":"counter","unit":"","help":"Requests \"served\"."}]}}`},
		{"metadata of an unknown metric", "/api/v1/metadata", url.Values{"metric": {"up"}}, 200, `{"status":"success","data":{}}`},
		{"metadata limit", "/api/v1/metadata", url.Values{"limit": {"1"}, "limit_per_metric": {"1"}}, 200,
			`{"status":"success","data":{"latency":[{"type":"gauge","unit":"","help":"Other."}]}}`},
		{"metadata limit 0", "/api/v1/metadata", url.Values{"limit": {"0"}}, 200, `{"status":"success","data":{}}`},
		{"metadata negative limits", "/api/v1/metadata", url.Values{"limit": {"-1"}, "limit_per_metric": {"-5"}, "metric": {"latency"}}, 200,
			`{"status":"success","data":{"latency":[{"type":"gauge","unit":"","help":"Other."},{"type":"histogram","unit":"seconds","help":"Latency."}]}}`},
		{"metadata bad limit", "/api/v1/metadata", url.Values{"limit": {"a"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"limit must be a number"}`},
		{"metadata bad limit_per_metric", "/api/v1/metadata", url.Values{"limit_per_metric": {"1.5"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"limit_per_metric must be a number"}`},

		{"exemplars", "/api/v1/query_exemplars", url.Values{"query": {`sum(rate(requests_total{code="200"}[1m]))`}, "start": {"0"}, "end": {"600"}}, 200,
			`{"status":"success","data":[` +
				`{"seriesLabels":{"__name__":"requests_total","code":"200","job":"api"},"exemplars":[{"labels":{"trace_id":"abc"},"value":"1.5","timestamp":10},{"labels":{"span":"\u003c\u0026\u003e","trace_id":"def"},"value":"2","timestamp":20.500}]},` +
				`{"seriesLabels":{"__name__":"requests_total","code":"200","job":"web"},"exemplars":[{"labels":{},"value":"1e-07","timestamp":30.001}]}]}`},
		{"exemplars in a range", "/api/v1/query_exemplars", url.Values{"query": {`requests_total{job="api"} / requests_total{job="web"}`}, "start": {"15"}, "end": {"30.001"}}, 200,
			`{"status":"success","data":[` +
				`{"seriesLabels":{"__name__":"requests_total","code":"200","job":"api"},"exemplars":[{"labels":{"span":"\u003c\u0026\u003e","trace_id":"def"},"value":"2","timestamp":20.500}]},` +
				`{"seriesLabels":{"__name__":"requests_total","code":"200","job":"web"},"exemplars":[{"labels":{},"value":"1e-07","timestamp":30.001}]}]}`},
		{"no exemplars", "/api/v1/query_exemplars", url.Values{"query": {`requests_total{code="500"}`}}, 200, `{"status":"success","data":[]}`},
		{"exemplars bad end", "/api/v1/query_exemplars", url.Values{"query": {`up`}, "start": {"10"}, "end": {"5"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"end timestamp must not be before start timestamp"}`},
		{"exemplars bad query", "/api/v1/query_exemplars", url.Values{"query": {`sum(`}}, 400,
			`{"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"}`},
		{"exemplars bad start", "/api/v1/query_exemplars", url.Values{"query": {`up`}, "start": {"a"}}, 400,
			`{"status":"error","errorType":"bad_data","error":"invalid parameter \"start\": invalid time value for 'start': cannot parse \"a\" to a valid timestamp"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			askBoth(t, ts, tc.path, tc.params, tc.status, tc.body)
		})
	}
}

// TestQueryExemplarsWithoutSelector: a query without a selector has no
// exemplars, answered 204 without a body, as Prometheus does.
func TestQueryExemplarsWithoutSelector(t *testing.T) {
	ts, _ := startAPI(t, DefaultConfig, metaSeries())
	for _, ask := range []func(*testing.T, *httptest.Server, string, url.Values) answer{get, postForm} {
		if got := ask(t, ts, "/api/v1/query_exemplars", url.Values{"query": {`1 + 1`}}); got.status != 204 || got.body != "" {
			t.Errorf("%d %q, want 204 without a body", got.status, got.body)
		}
	}
}

// TestSeriesAsksForSeriesAlone: /api/v1/series tells the storage that it
// wants no samples, and the range, as Prometheus's API does.
func TestSeriesAsksForSeriesAlone(t *testing.T) {
	st := metaSeries()
	ts, _ := startAPI(t, DefaultConfig, st)
	get(t, ts, "/api/v1/series", url.Values{"match[]": {`requests_total`}, "start": {"10"}, "end": {"20.5"}, "limit": {"5"}})
	h := st.hints.Load()
	if h == nil || h.Func != "series" || h.Start != 10_000 || h.End != 20_500 || h.Limit != 6 {
		t.Errorf("hints %+v, want Func series, Start 10000, End 20500, Limit 6", h)
	}
}

// TestMetadataEndpointsStorageErrors: the storage's failures are answered
// as those of a query.
func TestMetadataEndpointsStorageErrors(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		body   string
	}{
		{UnavailableError{errors.New("database down")}, 503, `{"status":"error","errorType":"unavailable","error":"database down"}`},
		{promql.ErrStorage{Err: errors.New("bad stored value")}, 500, `{"status":"error","errorType":"internal","error":"bad stored value"}`},
		{errors.New("refused"), 422, `{"status":"error","errorType":"execution","error":"refused"}`},
		{context.DeadlineExceeded, 503, `{"status":"error","errorType":"timeout","error":"query timed out in query execution"}`},
	} {
		st := metaSeries()
		st.selectHook = func(ctx context.Context) error {
			if errors.Is(tc.err, context.DeadlineExceeded) {
				<-ctx.Done()
			}
			return tc.err
		}
		cfg := DefaultConfig
		cfg.Timeout = model.Duration(50_000_000) // 50ms
		ts, _ := startAPI(t, cfg, st)
		for _, req := range []struct {
			path   string
			params url.Values
		}{
			{"/api/v1/labels", url.Values{}},
			{"/api/v1/labels", url.Values{"match[]": {"up", "down"}}},
			{"/api/v1/label/job/values", url.Values{"match[]": {"up"}}},
			{"/api/v1/series", url.Values{"match[]": {"up"}}},
			{"/api/v1/metadata", url.Values{}},
			{"/api/v1/query_exemplars", url.Values{"query": {"up"}}},
		} {
			if got := get(t, ts, req.path, req.params); got.status != tc.status || got.body != tc.body {
				t.Errorf("%v %s %v: %d %s\nwant %d %s", tc.err, req.path, req.params, got.status, got.body, tc.status, tc.body)
			}
		}
	}
}
