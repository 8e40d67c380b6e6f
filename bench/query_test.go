package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestQueryRange: the points of a matrix are counted; an error answer, an
// answer of another type and an empty matrix are errors.
func TestQueryRange(t *testing.T) {
	for _, c := range []struct {
		name, answer string
		code, points int
		err          string
	}{
		{"matrix", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"2"]]},{"metric":{},"histograms":[[1,{"count":"1"}]]}]}}`, 200, 3, ""},
		{"error", `{"status":"error","errorType":"bad_data","error":"parse error"}`, 400, 0, "400 Bad Request"},
		{"vector", `{"status":"success","data":{"resultType":"vector","result":[]}}`, 200, 0, "result type"},
		{"empty", `{"status":"success","data":{"resultType":"matrix","result":[]}}`, 200, 0, "no point"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var form url.Values
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/api/v1/query_range" {
					http.Error(w, "wrong request", http.StatusNotFound)
					return
				}
				_ = r.ParseForm()
				form = r.PostForm
				w.WriteHeader(c.code)
				_, _ = w.Write([]byte(c.answer))
			}))
			defer ts.Close()
			points, err := queryRange(ts.Client(), ts.URL+"/api/v1/query_range", "query=up&step=15")
			if c.err == "" && (err != nil || points != c.points) {
				t.Fatalf("got %d points, %v; want %d", points, err, c.points)
			}
			if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("got %d points, %v; want an error with %q", points, err, c.err)
			}
			if form.Get("query") != "up" || form.Get("step") != "15" {
				t.Errorf("form sent: %v", form)
			}
		})
	}
}
