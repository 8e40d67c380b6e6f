package mapping

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/prompb"
)

// HistogramColumns are the fields HistogramFetchQuery selects and
// DecodeHistogram reads, in order: every field of a histogram point, each
// float field followed by its specialSuffix variant.
var HistogramColumns = []string{
	histogramCountField, histogramCountField + specialSuffix,
	histogramSumField, histogramSumField + specialSuffix,
	histogramZeroCountField, histogramZeroCountField + specialSuffix,
	histogramZeroThresholdField, histogramZeroThresholdField + specialSuffix,
	histogramSchemaField,
	histogramResetHintField,
	histogramFloatField,
	histogramPositiveSpansField, histogramPositiveField,
	histogramNegativeSpansField, histogramNegativeField,
	histogramCustomValuesField,
	startTimestampFieldKey,
}

// Positions in HistogramColumns.
const (
	colCount = iota
	colCountSpecial
	colSum
	colSumSpecial
	colZeroCount
	colZeroCountSpecial
	colZeroThreshold
	colZeroThresholdSpecial
	colSchema
	colResetHint
	colFloat
	colPosSpans
	colPos
	colNegSpans
	colNeg
	colCustomValues
	colStartTs
	numHistogramColumns
)

// DecodeHistogram rebuilds the histogram stored at ts (milliseconds) from
// one row of a HistogramFetchQuery result: nums[i] is column i of
// HistogramColumns as a number (NaN when null or not a number, booleans 1
// or 0), text[i] as a string ("" when not one). It returns exactly the
// prompb.Histogram AppendHistograms was given, NaN payloads included, with
// Timestamp ts; the start timestamp is not read.
//
// ok is false, with a nil error, for a row without h_schema, such as a
// float sample's. A row with h_schema and a missing or malformed other
// field is an error.
func DecodeHistogram(ts int64, nums []float64, text []string) (h prompb.Histogram, ok bool, err error) {
	if len(nums) != numHistogramColumns || len(text) != numHistogramColumns {
		return h, false, fmt.Errorf("cannot decode histogram at %d: got %d numbers and %d strings, want %d columns", ts, len(nums), len(text), numHistogramColumns)
	}
	if math.IsNaN(nums[colSchema]) {
		return h, false, nil
	}
	d := histDecoder{nums: nums, text: text}
	h.Timestamp = ts
	schema := d.integer(colSchema, math.MinInt32, math.MaxInt32)
	// Any int32: enum values AppendHistograms does not know are stored too.
	hint := d.integer(colResetHint, math.MinInt32, math.MaxInt32)
	isFloat := d.boolean(colFloat)
	count := d.float(colCount)
	zeroCount := d.float(colZeroCount)
	h.Schema = int32(schema)
	h.ResetHint = prompb.Histogram_ResetHint(hint)
	h.Sum = d.float(colSum)
	h.ZeroThreshold = d.float(colZeroThreshold)
	h.PositiveSpans = d.spans(colPosSpans)
	h.NegativeSpans = d.spans(colNegSpans)
	h.CustomValues = d.floats(colCustomValues)
	if isFloat {
		h.Count = &prompb.Histogram_CountFloat{CountFloat: count}
		h.ZeroCount = &prompb.Histogram_ZeroCountFloat{ZeroCountFloat: zeroCount}
		h.PositiveCounts = d.floats(colPos)
		h.NegativeCounts = d.floats(colNeg)
	} else {
		h.Count = &prompb.Histogram_CountInt{CountInt: d.count(colCount, count)}
		h.ZeroCount = &prompb.Histogram_ZeroCountInt{ZeroCountInt: d.count(colZeroCount, zeroCount)}
		h.PositiveDeltas = d.ints(colPos)
		h.NegativeDeltas = d.ints(colNeg)
	}
	if d.err != nil {
		return prompb.Histogram{}, false, fmt.Errorf("cannot decode histogram at %d: %w", ts, d.err)
	}
	return h, true, nil
}

// histDecoder reads the columns of one row and keeps the first error.
type histDecoder struct {
	nums []float64
	text []string
	err  error
}

func (d *histDecoder) fail(col int, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("field %q: %s", HistogramColumns[col], fmt.Sprintf(format, args...))
	}
}

// float returns the float field at col, or when it is null the value of its
// special variant at col+1; with both stored, the finite value wins, as for
// samples.
func (d *histDecoder) float(col int) float64 {
	if v := d.nums[col]; !math.IsNaN(v) {
		return v
	}
	code := d.nums[col+1]
	if math.IsNaN(code) {
		d.fail(col, "missing, and no %q", HistogramColumns[col+1])
		return 0
	}
	v, err := SpecialValue(code)
	if err != nil {
		d.fail(col+1, "%v", err)
	}
	return v
}

// integer returns the integer field at col, which must be in [lo, hi].
func (d *histDecoder) integer(col int, lo, hi int64) int64 {
	v := d.nums[col]
	if !(v >= float64(lo) && v <= float64(hi) && v == math.Trunc(v)) {
		d.fail(col, "value %v is not an integer in [%d, %d]", v, lo, hi)
		return 0
	}
	return int64(v)
}

func (d *histDecoder) boolean(col int) bool {
	switch d.nums[col] {
	case 1:
		return true
	case 0:
		return false
	}
	d.fail(col, "value %v is not a boolean", d.nums[col])
	return false
}

// count converts the float v read from col to the count of an integer
// histogram, which AppendHistograms only writes up to 2^53.
func (d *histDecoder) count(col int, v float64) uint64 {
	if !(v >= 0 && v <= maxExactCount && v == math.Trunc(v)) {
		d.fail(col, "value %v is not an integer count in [0, 2^53]", v)
		return 0
	}
	return uint64(v)
}

// list calls fn for every element of the list field at col; an absent
// field is the empty list.
func (d *histDecoder) list(col int, fn func(elem string) error) {
	s := d.text[col]
	if s == "" {
		return
	}
	for i := 0; ; i++ {
		elem, rest, more := strings.Cut(s, ",")
		if err := fn(elem); err != nil {
			d.fail(col, "element %d %q: %v", i, truncate(elem, maxQuotedLen), err)
			return
		}
		if !more {
			return
		}
		s = rest
	}
}

func (d *histDecoder) spans(col int) []prompb.BucketSpan {
	var out []prompb.BucketSpan
	d.list(col, func(elem string) error {
		o, l, ok := strings.Cut(elem, ":")
		if !ok {
			return fmt.Errorf("not offset:length")
		}
		off, err := strconv.ParseInt(o, 10, 32)
		if err != nil {
			return err
		}
		n, err := strconv.ParseUint(l, 10, 32)
		if err != nil {
			return err
		}
		out = append(out, prompb.BucketSpan{Offset: int32(off), Length: uint32(n)})
		return nil
	})
	return out
}

func (d *histDecoder) ints(col int) []int64 {
	var out []int64
	d.list(col, func(elem string) error {
		v, err := strconv.ParseInt(elem, 10, 64)
		out = append(out, v)
		return err
	})
	return out
}

func (d *histDecoder) floats(col int) []float64 {
	var out []float64
	d.list(col, func(elem string) error {
		v, err := parseListFloat(elem)
		out = append(out, v)
		return err
	})
	return out
}

// parseListFloat parses an element of a float list field as appendListFloat
// writes it, bit for bit.
func parseListFloat(s string) (float64, error) {
	if code, ok := strings.CutPrefix(s, listSpecialPrefix); ok {
		c, err := strconv.ParseInt(code, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid special code %q: %w", code, err)
		}
		return SpecialValue(float64(c))
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	// ParseFloat accepts "NaN" and "Inf", which appendListFloat never writes.
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("invalid float %q: NaN and infinities are written as %s<code>", s, listSpecialPrefix)
	}
	return v, nil
}
