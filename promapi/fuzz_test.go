package promapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/common/model"
)

// FuzzAppendString: every string is escaped exactly as encoding/json
// escapes it, invalid UTF-8 included.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "up", "quote\" backslash\\", "\x00\x1f<>&", "\u2028\u2029", "é\xff\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

// FuzzQuery: whatever the query and its parameters, the answer is valid
// JSON in Prometheus's form, success or a client's error, never a server
// error.
func FuzzQuery(f *testing.F) {
	for _, q := range []string{`requests_total`, `rate(requests_total[1m])`, `label_replace(requests_total, "l", "<&$1>", "job", "(.*)")`,
		`"\u2028"`, `sum by (job) (requests_total) / 0`, `-requests_total @ 100 offset -1m`, `histogram_quantile(0.5, requests_total)`,
		`count_values("v", requests_total)`, `sum(`} {
		f.Add(q, "100", "0", "600", "15")
	}
	cfg := DefaultConfig
	cfg.Timeout = model.Duration(time.Second)
	cfg.MaxSamples = 100_000
	api := NewAPI(NewEngine(cfg, log.NewNopLogger(), nil), testSeries(), log.NewNopLogger())
	f.Fuzz(func(t *testing.T, q, at, start, end, step string) {
		params := url.Values{"query": {q}, "time": {at}, "start": {start}, "end": {end}, "step": {step}}
		req := httptest.NewRequest("GET", "/api/v1/query?"+params.Encode(), nil)
		r := httptest.NewRecorder()
		api.Query(r, req)
		check(t, q, r)
		r = httptest.NewRecorder()
		api.QueryRange(r, req)
		check(t, q, r)
	})
}

func check(t *testing.T, q string, r *httptest.ResponseRecorder) {
	t.Helper()
	var answer struct {
		Status, ErrorType string
	}
	if err := json.Unmarshal(r.Body.Bytes(), &answer); err != nil {
		t.Fatalf("%q: invalid JSON %v: %s", q, err, r.Body.Bytes())
	}
	switch {
	case r.Code == 200 && answer.Status == "success":
	case (r.Code == 400 && answer.ErrorType == "bad_data") || (r.Code == 422 && answer.ErrorType == "execution") ||
		(r.Code == 503 && answer.ErrorType == "timeout"):
	default:
		t.Errorf("%q: %d %s", q, r.Code, r.Body.Bytes())
	}
}
