package mapping

import (
	"fmt"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
)

// SeriesLabels turns a measurement and the tags of a series, as InfluxDB
// returns them with GROUP BY *, into the labels the series was written
// from, built with b: names and values decoded, empty values (keys the
// series lacks) dropped, and a "__name__" tag dropped (InfluxDB's own
// /api/v1/prom/write stores one), __name__ being the measurement. It fails
// on an invalid reversible form or two tags decoding to the same name.
func SeriesLabels(b *labels.ScratchBuilder, storedMeasurement string, storedTags map[string]string) (labels.Labels, error) {
	name, err := DecodeMeasurement(storedMeasurement)
	if err != nil {
		return labels.EmptyLabels(), err
	}
	if name == "" {
		return labels.EmptyLabels(), fmt.Errorf("cannot read series: empty measurement name")
	}
	b.Reset()
	b.Add(metricNameLabel, name)
	for k, v := range storedTags {
		if v == "" || k == metricNameLabel {
			continue
		}
		ln, err := DecodeTagKey(k)
		if err != nil {
			return labels.EmptyLabels(), fmt.Errorf("measurement %q: %w", truncate(storedMeasurement, maxQuotedLen), err)
		}
		lv, err := DecodeTagValue(v)
		if err != nil {
			return labels.EmptyLabels(), fmt.Errorf("measurement %q, tag %q: %w", truncate(storedMeasurement, maxQuotedLen), truncate(k, maxQuotedLen), err)
		}
		if lv == "" || ln == metricNameLabel {
			continue
		}
		b.Add(ln, lv)
	}
	b.Sort()
	lbls := b.Labels()
	if dup, ok := lbls.HasDuplicateLabelNames(); ok {
		return labels.EmptyLabels(), fmt.Errorf("measurement %q: two tags decode to label name %s", truncate(storedMeasurement, maxQuotedLen), strconv.Quote(truncate(dup, maxQuotedLen)))
	}
	return lbls, nil
}
