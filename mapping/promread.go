package mapping

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/prompb"
)

// PromReadQuery returns the query of a request to InfluxDB 1.x's own
// /api/v1/prom/read that reads the float samples (field fieldKey) of the
// given stored series of one measurement in the time range. InfluxDB maps
// the __name__ matcher to the measurement and the others to tags, and reads
// its storage engine without InfluxQL.
//
// The series are selected by their stored tags, not by the query's
// matchers: a tag key every series has is compared with its one value or
// with an anchored regex of its values, so the answer holds at least the
// series asked for, and the others of their cross product. Its series'
// labels are their stored tags (InfluxDB leaves out the measurement):
// match them to storedTags by key and value. InfluxDB answers floats only,
// so stored NaN, ±Inf and stale markers (specialFieldKey), histograms and
// fields written as integers by other writers do not come back.
func (s *Selection) PromReadQuery(storedMeasurement string, storedTags []map[string]string) *prompb.Query {
	q := &prompb.Query{
		StartTimestampMs: s.start,
		EndTimestampMs:   s.end,
		Matchers:         []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: metricNameLabel, Value: storedMeasurement}},
	}
	if len(storedTags) == 0 {
		return q
	}
	var keys []string
	for k := range storedTags[0] {
		if promReadableKey(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		var values []string
		ok := true
		for _, tags := range storedTags {
			v, has := tags[k]
			if !has || v == "" || !utf8.ValidString(v) {
				ok = false
				break
			}
			values = append(values, v)
		}
		if !ok {
			continue
		}
		slices.Sort(values)
		values = slices.Compact(values)
		if len(values) == 1 {
			q.Matchers = append(q.Matchers, &prompb.LabelMatcher{Type: prompb.LabelMatcher_EQ, Name: k, Value: values[0]})
			continue
		}
		for i, v := range values {
			values[i] = regexp.QuoteMeta(v)
		}
		q.Matchers = append(q.Matchers, &prompb.LabelMatcher{Type: prompb.LabelMatcher_RE, Name: k, Value: "^(?:" + strings.Join(values, "|") + ")$"})
	}
	return q
}

// promReadableKey reports whether /api/v1/prom/read compares a matcher
// named k with the tag k: it maps __name__ to the measurement and keeps
// _measurement and _field for itself.
func promReadableKey(k string) bool {
	return k != metricNameLabel && k != "_measurement" && k != "_field" && utf8.ValidString(k)
}
