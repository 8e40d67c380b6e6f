package adapter

import (
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// TestQuerySeries: the series a Select collects iterate as the engine
// expects: floats, integer and float histograms in time order, Seek
// forward only, and histograms handed out as copies.
func TestQuerySeries(t *testing.T) {
	c := &collector{q: &querier{queryable: &queryable{maxSamples: 100}}}
	if err := c.StartSeries(&readSeries{labels: labels.FromStrings("__name__", "x")}); err != nil {
		t.Fatal(err)
	}
	intH := prompb.Histogram{Count: &prompb.Histogram_CountInt{CountInt: 2}, ZeroCount: &prompb.Histogram_ZeroCountInt{ZeroCountInt: 2}, Sum: 1, Timestamp: 3000}
	floatH := prompb.Histogram{Count: &prompb.Histogram_CountFloat{CountFloat: 1.5}, ZeroCount: &prompb.Histogram_ZeroCountFloat{ZeroCountFloat: 1.5}, Sum: 2, Timestamp: 4000}
	for _, err := range []error{c.Append(1000, 1), c.Append(2000, 2), c.AppendHistogram(3000, &intH), c.AppendHistogram(4000, &floatH), c.Append(5000, 5), c.EndSeries()} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var s storage.Series = c.series[0]
	if s.Labels().String() != `{__name__="x"}` {
		t.Errorf("labels %s", s.Labels())
	}
	it := s.Iterator(nil)
	var got []string
	for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
		switch typ {
		case chunkenc.ValFloat:
			ts, v := it.At()
			got = append(got, "float", num(ts), num(int64(v)))
		case chunkenc.ValHistogram:
			ts, h := it.AtHistogram(nil)
			got = append(got, "int", num(ts), num(int64(h.Count)))
			h.Count = 99 // a copy
			_, fh := it.AtFloatHistogram(nil)
			got = append(got, "as float", num(int64(fh.Count)))
		case chunkenc.ValFloatHistogram:
			ts, fh := it.AtFloatHistogram(&histogram.FloatHistogram{})
			got = append(got, "float histogram", num(ts), num(int64(fh.Sum)))
			fh.Sum = 99
		}
	}
	if want := "float 1000 1 float 2000 2 int 3000 2 as float 2 float histogram 4000 2 float 5000 5"; strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	it = s.Iterator(it)
	if typ := it.Seek(2500); typ != chunkenc.ValHistogram || it.AtT() != 3000 {
		t.Errorf("Seek(2500): %v at %d", typ, it.AtT())
	}
	if _, h := it.AtHistogram(nil); h.Count != 2 {
		t.Errorf("the stored histogram changed: %v", h)
	}
	if typ := it.Seek(1000); typ != chunkenc.ValHistogram || it.AtT() != 3000 {
		t.Errorf("Seek back: %v at %d", typ, it.AtT())
	}
	if typ := it.Seek(4000); typ != chunkenc.ValFloatHistogram {
		t.Errorf("Seek(4000): %v", typ)
	} else if _, fh := it.AtFloatHistogram(nil); fh.Sum != 2 {
		t.Errorf("the stored float histogram changed: %v", fh)
	}
	if typ := it.Seek(6000); typ != chunkenc.ValNone || it.Next() != chunkenc.ValNone {
		t.Errorf("past the end: %v", typ)
	}

	// The budget is the querier's, across its series and selects.
	if err := c.StartSeries(&readSeries{labels: labels.FromStrings("__name__", "y")}); err != nil {
		t.Fatal(err)
	}
	for i := range 95 {
		if err := c.Append(int64(6000+i), 1); err != nil {
			t.Fatalf("sample %d: %v", 6+i, err)
		}
	}
	if err := c.Append(7000, 1); err == nil || err.Error() != "query processing would load too many samples into memory in query execution" {
		t.Errorf("sample 101: %v", err)
	}
}

// num formats n for TestQuerySeries's transcript.
func num(n int64) string { return strconv.FormatInt(n, 10) }

// TestQueryDatabaseDown: a query that needs a database promflux cannot
// reach is unavailable (503), not Prometheus's execution error.
func TestQueryDatabaseDown(t *testing.T) {
	_, ts := startAdapter(t, "databases:\n  - {name: a, url: \"http://127.0.0.1:1\", database: p, pool: {timeout: 1s, retry: {max_attempts: 1}}}\n")
	got := queryAnswer(t, ts.URL+"/api/v1/query", url.Values{"query": {`up`}})
	if !strings.HasPrefix(got, `503 {"status":"error","errorType":"unavailable","error":"expanding series: cannot read from the database, retry later: `) {
		t.Errorf("database down: %s", got)
	}
	got = queryAnswer(t, ts.URL+"/api/v1/query", url.Values{"query": {`1+1`}})
	if !strings.HasPrefix(got, `200 {"status":"success","data":{"resultType":"scalar","result":[`) {
		t.Errorf("no selector: %s", got)
	}
}

// TestQueryEngineReload: a reload keeps the query engine while the query
// section is the same, and replaces it, metrics included, when it
// changed.
func TestQueryEngineReload(t *testing.T) {
	fake := newFakeInflux(t)
	srv, ts := startAdapter(t, fakeConfig(fake.URL))
	reload := func(config string) {
		t.Helper()
		if err := os.WriteFile(srv.configFile, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := post(t, ts.URL+"/-/reload", "", "", nil); r.status != http.StatusOK {
			t.Fatalf("reload: %d %s", r.status, r.body)
		}
	}
	first := srv.state.Load().engine
	reload(fakeConfig(fake.URL) + "read: {max_concurrency: 3}\n")
	if srv.state.Load().engine != first {
		t.Error("the engine was replaced though its bounds did not change")
	}
	if !strings.Contains(get(t, ts.URL+"/metrics"), "prometheus_engine_queries_concurrent_max 20\n") {
		t.Error("the engine's metrics are not exported")
	}
	reload(fakeConfig(fake.URL) + "query: {max_concurrency: 4, timeout: 10s}\n")
	if e := srv.state.Load().engine; e == first || e.Config().MaxConcurrency != 4 {
		t.Errorf("engine after a change of the query section: %+v", e.Config())
	}
	if m := get(t, ts.URL+"/metrics"); !strings.Contains(m, "prometheus_engine_queries_concurrent_max 4\n") {
		t.Error("the new engine's metrics are not exported")
	}
	if got := queryAnswer(t, ts.URL+"/api/v1/query", url.Values{"query": {`1+1`}, "time": {"10"}}); got != `200 {"status":"success","data":{"resultType":"scalar","result":[10,"2"]}}` {
		t.Errorf("query after reload: %s", got)
	}
}
