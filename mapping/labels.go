package mapping

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/prompb"
)

// SeriesLabels turns a measurement and the tags of a series, as InfluxDB
// returns them with GROUP BY *, into the Prometheus labels the series was
// written from: names and values decoded from the reversible form, empty
// values dropped (GROUP BY * reports keys a series lacks as ""), a
// "__name__" tag dropped (InfluxDB's own /api/v1/prom/write stores the
// metric name as a tag as well), __name__ set to the decoded measurement,
// and the labels sorted by name. It returns an error if a stored name is
// not valid in the reversible form or two tags decode to the same name.
func SeriesLabels(storedMeasurement string, storedTags map[string]string) ([]prompb.Label, error) {
	name, err := DecodeMeasurement(storedMeasurement)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("cannot read series: empty measurement name")
	}
	lbls := make([]prompb.Label, 1, len(storedTags)+1)
	lbls[0] = prompb.Label{Name: MetricNameLabel, Value: name}
	for k, v := range storedTags {
		if v == "" || k == MetricNameLabel {
			continue
		}
		ln, err := DecodeTagKey(k)
		if err != nil {
			return nil, fmt.Errorf("measurement %q: %w", truncate(storedMeasurement, maxQuotedLen), err)
		}
		lv, err := DecodeTagValue(v)
		if err != nil {
			return nil, fmt.Errorf("measurement %q, tag %q: %w", truncate(storedMeasurement, maxQuotedLen), truncate(k, maxQuotedLen), err)
		}
		if lv == "" || ln == MetricNameLabel {
			continue
		}
		lbls = append(lbls, prompb.Label{Name: ln, Value: lv})
	}
	slices.SortFunc(lbls, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(lbls); i++ {
		if lbls[i].Name == lbls[i-1].Name {
			return nil, fmt.Errorf("measurement %q: two tags decode to label name %s", truncate(storedMeasurement, maxQuotedLen), strconv.Quote(truncate(lbls[i].Name, maxQuotedLen)))
		}
	}
	return lbls, nil
}

// CompareLabels orders label sets as Prometheus does (labels.Compare) for
// label lists sorted by name: by the first differing name, then value; a
// set that is a prefix of the other comes first. It returns -1, 0 or 1.
func CompareLabels(a, b []prompb.Label) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if c := strings.Compare(a[i].Name, b[i].Name); c != 0 {
			return c
		}
		if c := strings.Compare(a[i].Value, b[i].Value); c != 0 {
			return c
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}
