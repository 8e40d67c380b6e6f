package promapi

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
)

// maxPointsPerSeries bounds the steps of a range query, as Prometheus
// does: 60s steps for a week, 1h steps for a year.
const maxPointsPerSeries = 11000

// The earliest and latest times the API takes, as Prometheus's own
// (MinTime and MaxTime of its web/api/v1): those Go's time can format
// with a four-digit year, within int64 milliseconds.
var (
	minTime          = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime          = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()
	minTimeFormatted = minTime.Format(time.RFC3339Nano)
	maxTimeFormatted = maxTime.Format(time.RFC3339Nano)
)

// query is the parameters of one instant or range query.
type query struct {
	expr       string
	start, end time.Time
	// step is 0 for an instant query.
	step time.Duration
	// limit caps the series of the answer; 0 is no limit.
	limit int
	// timeout is the timeout parameter, 0 when absent.
	timeout time.Duration
	opts    promql.QueryOpts
}

// parseInstantQuery reads the parameters of /api/v1/query, in the order
// Prometheus checks them; time defaults to now.
func parseInstantQuery(r *http.Request, now time.Time) (query, *apiError) {
	q := query{expr: r.FormValue("query")}
	var err error
	if q.limit, err = parseLimit(r.FormValue("limit")); err != nil {
		return q, invalidParam(err, "limit")
	}
	q.start = now
	if s := r.FormValue("time"); s != "" {
		t, err := parseTime(s)
		if err != nil {
			return q, invalidParam(fmt.Errorf("invalid time value for 'time': %w", err), "time")
		}
		q.start = t
	}
	q.end = q.start
	return q, q.parseCommon(r)
}

// parseRangeQuery reads the parameters of /api/v1/query_range, in the
// order Prometheus checks them.
func parseRangeQuery(r *http.Request) (query, *apiError) {
	q := query{expr: r.FormValue("query")}
	var err error
	if q.limit, err = parseLimit(r.FormValue("limit")); err != nil {
		return q, invalidParam(err, "limit")
	}
	if q.start, err = parseTime(r.FormValue("start")); err != nil {
		return q, invalidParam(err, "start")
	}
	if q.end, err = parseTime(r.FormValue("end")); err != nil {
		return q, invalidParam(err, "end")
	}
	if q.end.Before(q.start) {
		return q, invalidParam(errors.New("end timestamp must not be before start time"), "end")
	}
	if q.step, err = parseDuration(r.FormValue("step")); err != nil {
		return q, invalidParam(err, "step")
	}
	if q.step <= 0 {
		return q, invalidParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step")
	}
	if q.end.Sub(q.start)/q.step > maxPointsPerSeries {
		return q, &apiError{errorBadData, errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")}
	}
	return q, q.parseCommon(r)
}

// parseCommon reads the parameters both endpoints share, after their own:
// timeout, lookback_delta and the X-Prometheus-Use-Start-Timestamps
// header.
func (q *query) parseCommon(r *http.Request) *apiError {
	if s := r.FormValue("timeout"); s != "" {
		d, err := parseDuration(s)
		if err != nil {
			return invalidParam(err, "timeout")
		}
		if d <= 0 {
			return invalidParam(fmt.Errorf("timeout must be positive, got %s", d), "timeout")
		}
		q.timeout = d
	}
	// 0 (or less) leaves the engine's lookback delta, query.lookback_delta.
	var lookback time.Duration
	if s := r.FormValue("lookback_delta"); s != "" {
		d, err := parseDuration(s)
		if err != nil {
			return &apiError{errorBadData, fmt.Errorf("error parsing lookback delta duration: %w", err)}
		}
		lookback = d
	}
	var useStartTimestamps *bool
	if s := r.Header.Get("X-Prometheus-Use-Start-Timestamps"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return &apiError{errorBadData, fmt.Errorf("error parsing X-Prometheus-Use-Start-Timestamps header: %w", err)}
		}
		useStartTimestamps = &b
	}
	q.opts = promql.NewPrometheusQueryOpts(false, lookback, useStartTimestamps)
	return nil
}

// parseTime reads a time as Prometheus's API does: Unix seconds with up
// to millisecond precision (1435781451.781), or RFC 3339
// (2015-07-01T20:10:51.781Z).
func parseTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		s, ns := math.Modf(t)
		ns = math.Round(ns*1000) / 1000
		return time.Unix(int64(s), int64(ns*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// time.Parse takes four-digit years only; the bounds have more.
	switch s {
	case minTimeFormatted:
		return minTime, nil
	case maxTimeFormatted:
		return maxTime, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseDuration reads a duration as Prometheus's API does: seconds as a
// float (1.5), or a Prometheus duration (1m30s).
func parseDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ns := d * float64(time.Second)
		// float64(math.MaxInt64) is 2^63, which int64 cannot hold, and
		// NaN passes no comparison.
		if math.IsNaN(ns) || ns >= float64(math.MaxInt64) || ns < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ns), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// parseLimit reads the limit parameter: the most series an answer
// holds, 0 (or absent) for no limit.
func parseLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	limit, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if limit < 0 {
		return 0, errors.New("limit must be non-negative")
	}
	return limit, nil
}
