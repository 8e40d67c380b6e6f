package mapping

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/prometheus/prompb"
)

// Field keys of an exemplar point.
const (
	// exemplarValueField is the float exemplar value; a NaN or infinite
	// value is stored as exemplarValueField+specialSuffix with its
	// specialCode.
	exemplarValueField = "exemplar_value"
	// exemplarLabelsField is the string field with the exemplar's labels in
	// Prometheus text form, e.g. {span_id="x",trace_id="abc"}.
	exemplarLabelsField = "exemplar_labels"
)

// longestExemplarField is the longest field key of an exemplar point, for
// the series key length limit.
const longestExemplarField = len(exemplarValueField + specialSuffix)

// labelSorter sorts exemplar labels that arrive unsorted without
// allocating per exemplar.
type labelSorter struct{ lbls []prompb.Label }

var labelSorterPool = sync.Pool{New: func() any { return new(labelSorter) }}

// AppendExemplars appends one line-protocol line per exemplar of the series
// to dst, on the series key of AppendSeries at the exemplar's timestamp, and
// returns the extended buffer:
//
//	<key> exemplar_value=0.25,exemplar_labels="{trace_id=\"abc\"}" <ms>
//
// A NaN or infinite value goes to exemplarValueField+specialSuffix, and the
// labels are written by appendLabelsText, so that any bytes round-trip.
//
// A series whose labels cannot be stored (see AppendSeries) appends nothing
// and returns a *seriesError naming it. Exemplars with a timestamp InfluxDB
// cannot store are skipped and counted in c.ExemplarsSkipped; appended
// lines are counted in c.Exemplars.
func AppendExemplars(dst []byte, lbls []prompb.Label, es []prompb.Exemplar, c *Counts) ([]byte, error) {
	if len(es) == 0 {
		return dst, nil
	}
	keyStart := len(dst)
	dst, keyEnd, err := appendSeriesKey(dst, lbls, longestExemplarField)
	if err != nil {
		return dst, err
	}
	first := true
	for i := range es {
		e := &es[i]
		if e.Timestamp < minTimestampMs || e.Timestamp > maxTimestampMs {
			c.ExemplarsSkipped[skipOutOfRange]++
			continue
		}
		if !first {
			dst = append(dst, dst[keyStart:keyEnd]...)
		}
		first = false
		dst = appendFloatField(dst, ' ', exemplarValueField, exemplarValueField+specialSuffix, e.Value)
		dst = append(dst, ","+exemplarLabelsField+"=\""...)
		// The text form is valid UTF-8 by construction (strconv.Quote
		// escapes invalid bytes), so it needs only the string escapes.
		textStart := len(dst)
		dst = appendLabelsText(dst, e.Labels)
		dst = escapeStringInPlace(dst, textStart)
		dst = append(dst, '"')
		dst = appendTimestamp(dst, e.Timestamp)
		c.Exemplars++
	}
	if first {
		return dst[:keyStart], nil
	}
	return dst, nil
}

// appendLabelsText appends lbls in Prometheus text form, {a="1",b="2"},
// stably sorted by name, names bare when classic and quoted otherwise,
// values quoted with strconv.Quote, so that strconv.Unquote gives back any
// bytes.
func appendLabelsText(dst []byte, lbls []prompb.Label) []byte {
	sorted := slices.IsSortedFunc(lbls, compareLabelNames)
	var ls *labelSorter
	if !sorted {
		ls = labelSorterPool.Get().(*labelSorter)
		ls.lbls = append(ls.lbls[:0], lbls...)
		slices.SortStableFunc(ls.lbls, compareLabelNames)
		lbls = ls.lbls
	}
	dst = append(dst, '{')
	for i := range lbls {
		if i > 0 {
			dst = append(dst, ',')
		}
		if isLegacyName(lbls[i].Name) {
			dst = append(dst, lbls[i].Name...)
		} else {
			dst = strconv.AppendQuote(dst, lbls[i].Name)
		}
		dst = append(dst, '=')
		dst = strconv.AppendQuote(dst, lbls[i].Value)
	}
	dst = append(dst, '}')
	if ls != nil {
		clear(ls.lbls)
		labelSorterPool.Put(ls)
	}
	return dst
}

func compareLabelNames(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) }
