package remote

import (
	"fmt"

	"github.com/prometheus/prometheus/prompb"
)

// over reports whether n passes limit, 0 being no limit.
func over(n, limit int) bool { return limit > 0 && n > limit }

// seriesOver is the error of a request of n series, over limit.
func seriesOver(n, limit int) error {
	return newError(ErrInvalid, "%d series, over limits.max_series_per_request (%d)", n, limit)
}

// checkSeries refuses series number i, s, over one of c's series limits.
func (c Config) checkSeries(i int, s *Series) error {
	if n := len(s.Samples) + len(s.Histograms); over(n, c.MaxSamplesPerSeries) {
		return newError(ErrInvalid, "series %d %s: %d samples, over limits.max_samples_per_series (%d)", i, labelsText(s.Labels), n, c.MaxSamplesPerSeries)
	}
	if err := c.checkLabels(s.Labels); err != nil {
		return newError(ErrInvalid, "series %d: %w", i, err)
	}
	return nil
}

// checkLabels refuses a label set over the label limits of c.
func (c Config) checkLabels(lbls []prompb.Label) error {
	if n := len(lbls); over(n, c.MaxLabelsPerSeries) {
		return fmt.Errorf("%s: %d labels, over limits.max_labels_per_series (%d)", labelsText(lbls), n, c.MaxLabelsPerSeries)
	}
	for _, l := range lbls {
		if over(len(l.Name), c.MaxLabelNameLength) {
			return fmt.Errorf("label name %.64q: %d bytes, over limits.max_label_name_length (%d)", l.Name, len(l.Name), c.MaxLabelNameLength)
		}
		if over(len(l.Value), c.MaxLabelValueLength) {
			return fmt.Errorf("value of label %.64q: %d bytes, over limits.max_label_value_length (%d)", l.Name, len(l.Value), c.MaxLabelValueLength)
		}
	}
	return nil
}

// checkRead refuses a remote-read request over one of c's request limits.
func (c Config) checkRead(req *prompb.ReadRequest) error {
	if n := len(req.Queries); over(n, c.MaxQueriesPerRead) {
		return newError(ErrInvalid, "%d queries, over limits.max_queries_per_read (%d)", n, c.MaxQueriesPerRead)
	}
	for i, q := range req.Queries {
		if n := len(q.Matchers); over(n, c.MaxMatchersPerQuery) {
			return newError(ErrInvalid, "query %d: %d matchers, over limits.max_matchers_per_query (%d)", i, n, c.MaxMatchersPerQuery)
		}
	}
	return nil
}

// labelsText names a series in an error: its metric name, or its first
// label when it has none.
func labelsText(lbls []prompb.Label) string {
	for _, l := range lbls {
		if l.Name == "__name__" {
			return fmt.Sprintf("%.64q", l.Value)
		}
	}
	if len(lbls) > 0 {
		return fmt.Sprintf("{%.64s=%.64q, ...}", lbls[0].Name, lbls[0].Value)
	}
	return "{}"
}
