package mapping

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/prompb"
)

// PromReadQuery returns the query of a request to InfluxDB 1.x's
// /api/v1/prom/read for the float samples (field fieldKey) of the given
// stored series of one measurement in the time range. InfluxDB maps the
// __name__ matcher to the measurement and the others to tags.
//
// The series are selected by their stored tags, not the query's matchers:
// each tag key every series has is compared with its one value or an
// anchored regex of its values, so the answer holds the series asked for
// and maybe others of their cross product. Its labels are the stored tags,
// without the measurement: match them to storedTags. Only floats come back,
// not special values, histograms or other writers' integer fields.
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
// named k with the tag k: it keeps __name__, _measurement and _field for
// itself.
func promReadableKey(k string) bool {
	return k != metricNameLabel && k != "_measurement" && k != "_field" && utf8.ValidString(k)
}
