package promapi

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{in: "1435781451.781", want: time.UnixMilli(1435781451781).UTC()},
		{in: "1435781451", want: time.Unix(1435781451, 0).UTC()},
		{in: "1435781451.7816", want: time.UnixMilli(1435781451782).UTC()}, // milliseconds, rounded
		{in: "-1.5", want: time.UnixMilli(-1500).UTC()},
		{in: "1e9", want: time.Unix(1e9, 0).UTC()},
		{in: "2015-07-01T20:10:51.781Z", want: time.UnixMilli(1435781451781).UTC()},
		{in: "2015-07-01T22:10:51+02:00", want: time.Unix(1435781451, 0).UTC()},
		{in: minTimeFormatted, want: minTime},
		{in: maxTimeFormatted, want: maxTime},
		{in: "", err: `cannot parse "" to a valid timestamp`},
		{in: "yesterday", err: `cannot parse "yesterday" to a valid timestamp`},
		{in: "2015-07-01", err: `cannot parse "2015-07-01" to a valid timestamp`},
	} {
		got, err := parseTime(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("parseTime(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "15", want: 15 * time.Second},
		{in: "1.5", want: 1500 * time.Millisecond},
		{in: "0.001", want: time.Millisecond},
		{in: "-3", want: -3 * time.Second}, // refused by the callers
		{in: "30s", want: 30 * time.Second},
		{in: "1m30s", want: 90 * time.Second},
		{in: "2h", want: 2 * time.Hour},
		{in: "1d", want: 24 * time.Hour},
		{in: "1e10", err: `cannot parse "1e10" to a valid duration. It overflows int64`},
		{in: "NaN", err: `cannot parse "NaN" to a valid duration. It overflows int64`},
		{in: "", err: `cannot parse "" to a valid duration`},
		{in: "1x", err: `cannot parse "1x" to a valid duration`},
	} {
		got, err := parseDuration(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("parseDuration(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestParseQueries: the parameters of both endpoints, from the URL and
// from a form body, and the errors Prometheus answers bad ones with.
func TestParseQueries(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_123).UTC()
	for _, tc := range []struct {
		name, params string
		isRange      bool
		post         bool
		header       map[string]string
		want         query
		lookback     time.Duration
		err          string
	}{
		{name: "instant at now", params: "query=up", want: query{expr: "up", start: now, end: now}},
		{name: "instant at time", params: "query=up&time=1435781451.781", want: query{expr: "up", start: time.UnixMilli(1435781451781), end: time.UnixMilli(1435781451781)}},
		{name: "instant posted", params: "query=sum(up)&time=2015-07-01T20:10:51.781Z&limit=3&timeout=10s", post: true,
			want: query{expr: "sum(up)", start: time.UnixMilli(1435781451781), end: time.UnixMilli(1435781451781), limit: 3, timeout: 10 * time.Second}},
		{name: "instant lookback", params: "query=up&lookback_delta=30s", want: query{expr: "up", start: now, end: now}, lookback: 30 * time.Second},
		{name: "range", params: "query=rate(x[5m])&start=1000&end=2000.5&step=15", isRange: true,
			want: query{expr: "rate(x[5m])", start: time.Unix(1000, 0), end: time.UnixMilli(2000500), step: 15 * time.Second}},
		{name: "range posted", params: "query=up&start=1000&end=1000&step=1m&timeout=1.5", isRange: true, post: true,
			want: query{expr: "up", start: time.Unix(1000, 0), end: time.Unix(1000, 0), step: time.Minute, timeout: 1500 * time.Millisecond}},
		{name: "range of 11000 points", params: "query=up&start=0&end=11000&step=1", isRange: true,
			want: query{expr: "up", start: time.Unix(0, 0), end: time.Unix(11000, 0), step: time.Second}},

		{name: "bad time", params: "query=up&time=noon", err: `bad_data: invalid parameter "time": invalid time value for 'time': cannot parse "noon" to a valid timestamp`},
		{name: "bad limit", params: "query=up&limit=-1", err: `bad_data: invalid parameter "limit": limit must be non-negative`},
		{name: "bad timeout", params: "query=up&timeout=soon", err: `bad_data: invalid parameter "timeout": cannot parse "soon" to a valid duration`},
		{name: "zero timeout", params: "query=up&timeout=0", err: `bad_data: invalid parameter "timeout": timeout must be positive, got 0s`},
		{name: "bad lookback", params: "query=up&lookback_delta=far", err: `bad_data: error parsing lookback delta duration: cannot parse "far" to a valid duration`},
		{name: "bad start-timestamps header", params: "query=up", header: map[string]string{"X-Prometheus-Use-Start-Timestamps": "maybe"},
			err: `bad_data: error parsing X-Prometheus-Use-Start-Timestamps header: strconv.ParseBool: parsing "maybe": invalid syntax`},
		{name: "no start", params: "query=up&end=1&step=1", isRange: true, err: `bad_data: invalid parameter "start": cannot parse "" to a valid timestamp`},
		{name: "no end", params: "query=up&start=1&step=1", isRange: true, err: `bad_data: invalid parameter "end": cannot parse "" to a valid timestamp`},
		{name: "end before start", params: "query=up&start=2&end=1&step=1", isRange: true, err: `bad_data: invalid parameter "end": end timestamp must not be before start time`},
		{name: "no step", params: "query=up&start=1&end=2", isRange: true, err: `bad_data: invalid parameter "step": cannot parse "" to a valid duration`},
		{name: "zero step", params: "query=up&start=1&end=2&step=0", isRange: true,
			err: `bad_data: invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer`},
		{name: "too many points", params: "query=up&start=0&end=11001&step=1", isRange: true,
			err: `bad_data: exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/query?"+tc.params, nil)
			if tc.post {
				r = httptest.NewRequest("POST", "/api/v1/query", strings.NewReader(tc.params))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			if err := r.ParseForm(); err != nil {
				t.Fatal(err)
			}
			var got query
			var apiErr *apiError
			if tc.isRange {
				got, apiErr = parseRangeQuery(r)
			} else {
				got, apiErr = parseInstantQuery(r, now)
			}
			if tc.err != "" {
				if apiErr == nil || apiErr.Error() != tc.err {
					t.Fatalf("error %v, want %q", apiErr, tc.err)
				}
				if apiErr.status() != 400 {
					t.Errorf("status %d, want 400", apiErr.status())
				}
				return
			}
			if apiErr != nil {
				t.Fatal(apiErr)
			}
			if got.expr != tc.want.expr || !got.start.Equal(tc.want.start) || !got.end.Equal(tc.want.end) ||
				got.step != tc.want.step || got.limit != tc.want.limit || got.timeout != tc.want.timeout {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if got.opts.LookbackDelta() != tc.lookback {
				t.Errorf("lookback delta %v, want %v", got.opts.LookbackDelta(), tc.lookback)
			}
		})
	}
}
