package mapping

import (
	"strconv"
	"sync"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
)

// Field keys of a native histogram point. Together they keep every part of
// a prompb.Histogram, so that it can be rebuilt bit for bit; docs/schema.md
// describes each of them.
const (
	// histogramCountField is the float observation count (CountInt as a
	// float for integer histograms, CountFloat for float histograms).
	histogramCountField = "h_count"
	// histogramSumField is the float sum of observations.
	histogramSumField = "h_sum"
	// histogramZeroCountField is the float count of the zero bucket.
	histogramZeroCountField = "h_zero_count"
	// histogramZeroThresholdField is the float width of the zero bucket.
	histogramZeroThresholdField = "h_zero_threshold"
	// histogramSchemaField is the integer schema (-4..8, -53: custom bounds).
	histogramSchemaField = "h_schema"
	// histogramResetHintField is the integer value of the reset hint enum.
	histogramResetHintField = "h_reset_hint"
	// histogramFloatField is true for float histograms, whose bucket lists
	// hold counts; integer histograms store Prometheus's deltas.
	histogramFloatField = "h_float"
	// histogramPositiveSpansField and histogramNegativeSpansField are the
	// spans as "offset:length" joined by ",", left out when there are none.
	histogramPositiveSpansField = "h_pos_spans"
	histogramNegativeSpansField = "h_neg_spans"
	// histogramPositiveField and histogramNegativeField are the bucket
	// deltas or counts joined by ",", left out when there are none.
	histogramPositiveField = "h_pos"
	histogramNegativeField = "h_neg"
	// histogramCustomValuesField is the custom bucket bounds of schema -53
	// joined by ",", left out when there are none.
	histogramCustomValuesField = "h_custom_values"

	// specialSuffix makes the key of a float field holding specialCode of
	// a NaN or infinite value, as specialFieldKey does for samples.
	specialSuffix = "_special"

	// listSpecialPrefix starts an element of a float list field (h_pos,
	// h_neg, h_custom_values) that is NaN or infinite: the prefix followed
	// by specialCode of the value as an integer, e.g. "special:3".
	listSpecialPrefix = "special:"
)

// longestHistogramField is the longest field key of a histogram point, for
// the series key length limit.
const longestHistogramField = len(histogramZeroThresholdField + specialSuffix)

// maxExactCount is the largest integer count a float field holds exactly
// together with every smaller one.
const maxExactCount = 1 << 53

// histScratch holds the model/histogram views that validate a histogram by
// Prometheus's own rules without allocating per histogram.
type histScratch struct {
	ih       histogram.Histogram
	fh       histogram.FloatHistogram
	pos, neg []histogram.Span
}

var histScratchPool = sync.Pool{New: func() any { return new(histScratch) }}

// AppendHistograms appends one line-protocol line per native histogram
// sample of the series to dst, on the series key of AppendSeries at the
// histogram's timestamp, and returns the extended buffer. The line holds
// the histogram fields, and startTimestampFieldKey when startTs is not 0:
//
//	<key> h_count=5,h_sum=12.5,h_zero_count=1,h_zero_threshold=0.001,h_schema=3i,h_reset_hint=0i,h_float=false,h_pos_spans="0:2,3:1",h_pos="1,1,-1" <ms>
//
// NaN and infinite floats are written as specialSuffix fields and
// listSpecialPrefix elements.
//
// The series is refused whole, appending nothing and returning a
// *seriesError, when its labels cannot be stored (see AppendSeries) or one
// of its histograms is invalid: Prometheus's own validation fails, integer
// and float counts are mixed, or an integer count exceeds 2^53, which a
// float field cannot hold exactly. Histograms with a timestamp InfluxDB
// cannot store are skipped and counted in c.HistogramsSkipped; appended
// lines are counted in c.Histograms.
func AppendHistograms(dst []byte, lbls []prompb.Label, hs []prompb.Histogram, startTs int64, c *Counts) ([]byte, error) {
	if len(hs) == 0 {
		return dst, nil
	}
	sc := histScratchPool.Get().(*histScratch)
	defer histScratchPool.Put(sc)
	for i := range hs {
		if reason := sc.validate(&hs[i]); reason != "" {
			return dst, &seriesError{
				Series: formatSeries(lbls),
				Reason: "invalid histogram at " + strconv.FormatInt(hs[i].Timestamp, 10) + ": " + reason,
			}
		}
	}
	keyStart := len(dst)
	dst, keyEnd, err := appendSeriesKey(dst, lbls, longestHistogramField)
	if err != nil {
		return dst, err
	}
	first := true
	for i := range hs {
		h := &hs[i]
		if h.Timestamp < minTimestampMs || h.Timestamp > maxTimestampMs {
			c.HistogramsSkipped[skipOutOfRange]++
			continue
		}
		if !first {
			dst = append(dst, dst[keyStart:keyEnd]...)
		}
		first = false
		dst = appendHistogramFields(dst, h)
		dst = appendStartTs(dst, startTs)
		dst = appendTimestamp(dst, h.Timestamp)
		c.Histograms++
	}
	if first {
		return dst[:keyStart], nil
	}
	return dst, nil
}

// appendHistogramFields appends the fields of h, starting with the space
// that separates them from the key.
func appendHistogramFields(dst []byte, h *prompb.Histogram) []byte {
	isFloat := h.IsFloatHistogram()
	var count, zeroCount float64
	if isFloat {
		count, zeroCount = h.GetCountFloat(), h.GetZeroCountFloat()
	} else {
		count, zeroCount = float64(h.GetCountInt()), float64(h.GetZeroCountInt())
	}
	dst = appendFloatField(dst, ' ', histogramCountField, histogramCountField+specialSuffix, count)
	dst = appendFloatField(dst, ',', histogramSumField, histogramSumField+specialSuffix, h.Sum)
	dst = appendFloatField(dst, ',', histogramZeroCountField, histogramZeroCountField+specialSuffix, zeroCount)
	dst = appendFloatField(dst, ',', histogramZeroThresholdField, histogramZeroThresholdField+specialSuffix, h.ZeroThreshold)
	dst = appendIntField(dst, histogramSchemaField, int64(h.Schema))
	dst = appendIntField(dst, histogramResetHintField, int64(h.ResetHint))
	if isFloat {
		dst = append(dst, ","+histogramFloatField+"=true"...)
	} else {
		dst = append(dst, ","+histogramFloatField+"=false"...)
	}
	dst = appendListField(dst, histogramPositiveSpansField, h.PositiveSpans, appendSpan)
	if isFloat {
		dst = appendListField(dst, histogramPositiveField, h.PositiveCounts, appendListFloat)
	} else {
		dst = appendListField(dst, histogramPositiveField, h.PositiveDeltas, appendInt)
	}
	dst = appendListField(dst, histogramNegativeSpansField, h.NegativeSpans, appendSpan)
	if isFloat {
		dst = appendListField(dst, histogramNegativeField, h.NegativeCounts, appendListFloat)
	} else {
		dst = appendListField(dst, histogramNegativeField, h.NegativeDeltas, appendInt)
	}
	return appendListField(dst, histogramCustomValuesField, h.CustomValues, appendListFloat)
}

// The list fields hold only digits, signs, '.', 'e', ':', ',' and letters,
// so they need no escaping inside the quotes of a string field.

// appendListField appends the string field key holding vs joined by ',',
// each element written by appendElem; nothing when vs is empty.
func appendListField[T any](dst []byte, key string, vs []T, appendElem func([]byte, T) []byte) []byte {
	if len(vs) == 0 {
		return dst
	}
	dst = append(dst, ',')
	dst = append(dst, key...)
	dst = append(dst, '=', '"')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendElem(dst, v)
	}
	return append(dst, '"')
}

func appendSpan(dst []byte, s prompb.BucketSpan) []byte {
	dst = appendInt(dst, int64(s.Offset))
	dst = append(dst, ':')
	return appendUint(dst, uint64(s.Length))
}

// appendListFloat appends v as an element of a float list field: its
// shortest exact form when finite, else listSpecialPrefix and specialCode(v)
// as an integer, which keeps NaN payloads and the sign.
func appendListFloat(dst []byte, v float64) []byte {
	if code, special := specialCode(v); special {
		dst = append(dst, listSpecialPrefix...)
		return appendInt(dst, int64(code))
	}
	return appendFloat(dst, v)
}

// validate returns why h cannot be stored, or "" when it can. It checks the
// rules that keep the stored form exact, then Prometheus's Validate.
func (sc *histScratch) validate(h *prompb.Histogram) string {
	isFloat := h.IsFloatHistogram()
	if isFloat {
		if _, ok := h.ZeroCount.(*prompb.Histogram_ZeroCountInt); ok {
			return "float count with an integer zero count"
		}
		if len(h.PositiveDeltas) > 0 || len(h.NegativeDeltas) > 0 {
			return "float histogram with integer bucket deltas"
		}
	} else {
		if _, ok := h.ZeroCount.(*prompb.Histogram_ZeroCountFloat); ok {
			return "integer count with a float zero count"
		}
		if len(h.PositiveCounts) > 0 || len(h.NegativeCounts) > 0 {
			return "integer histogram with float bucket counts"
		}
		if n := h.GetCountInt(); n > maxExactCount {
			return "count " + strconv.FormatUint(n, 10) + " exceeds 2^53, which a float field cannot store exactly"
		}
		if n := h.GetZeroCountInt(); n > maxExactCount {
			return "zero count " + strconv.FormatUint(n, 10) + " exceeds 2^53, which a float field cannot store exactly"
		}
	}
	sc.pos = appendSpans(sc.pos[:0], h.PositiveSpans)
	sc.neg = appendSpans(sc.neg[:0], h.NegativeSpans)
	// The views are reset after use, so that the pooled scratch keeps no
	// reference to the request.
	var err error
	if isFloat {
		sc.fh = histogram.FloatHistogram{
			CounterResetHint: histogram.CounterResetHint(h.ResetHint),
			Schema:           h.Schema,
			ZeroThreshold:    h.ZeroThreshold,
			ZeroCount:        h.GetZeroCountFloat(),
			Count:            h.GetCountFloat(),
			Sum:              h.Sum,
			PositiveSpans:    sc.pos,
			NegativeSpans:    sc.neg,
			PositiveBuckets:  h.PositiveCounts,
			NegativeBuckets:  h.NegativeCounts,
			CustomValues:     h.CustomValues,
		}
		err = sc.fh.Validate()
		sc.fh = histogram.FloatHistogram{}
	} else {
		sc.ih = histogram.Histogram{
			CounterResetHint: histogram.CounterResetHint(h.ResetHint),
			Schema:           h.Schema,
			ZeroThreshold:    h.ZeroThreshold,
			ZeroCount:        h.GetZeroCountInt(),
			Count:            h.GetCountInt(),
			Sum:              h.Sum,
			PositiveSpans:    sc.pos,
			NegativeSpans:    sc.neg,
			PositiveBuckets:  h.PositiveDeltas,
			NegativeBuckets:  h.NegativeDeltas,
			CustomValues:     h.CustomValues,
		}
		err = sc.ih.Validate()
		sc.ih = histogram.Histogram{}
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func appendSpans(dst []histogram.Span, spans []prompb.BucketSpan) []histogram.Span {
	for _, s := range spans {
		dst = append(dst, histogram.Span{Offset: s.Offset, Length: s.Length})
	}
	return dst
}
