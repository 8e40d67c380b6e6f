package mapping

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/prometheus/prompb"
)

const (
	// metricNameLabel is the label that carries the metric name; it becomes
	// the measurement and is not stored as a tag.
	metricNameLabel = "__name__"

	// fieldKey is the name of the float field that holds each finite
	// sample value; NaN and infinite values go to specialFieldKey instead.
	fieldKey = "value"

	// maxSeriesKeyLen is the longest escaped series key InfluxDB 1.x
	// accepts for every sample: it limits key + "#!~#" + field key to 65535
	// bytes, and specialFieldKey is a sample's longer field key, so a series
	// whose stale marker would not fit is refused whole. Longer field keys
	// (start_ts, histograms, exemplars) shrink the limit further.
	maxSeriesKeyLen = maxKeyLen - len(keyFieldSeparator) - len(specialFieldKey)

	// minTimestampMs and maxTimestampMs bound the sample timestamps
	// (milliseconds since the epoch) that InfluxDB 1.x can store: it keeps
	// nanoseconds in an int64 and reserves the two values at each end.
	minTimestampMs = -9223372036854 // ceil((math.MinInt64+2) / 1e6)
	maxTimestampMs = 9223372036854  // floor((math.MaxInt64-1) / 1e6)
)

// SkipReason says why a sample was not written.
type SkipReason int

// Reasons for skipping a sample; NaN and infinities are stored (specialCode).
const (
	// skipOutOfRange is a timestamp outside InfluxDB's time range.
	skipOutOfRange SkipReason = iota
	// NumSkipReasons is the number of skip reasons, for sizing arrays.
	NumSkipReasons
)

// String returns the reason as used for the "reason" label of
// promflux_samples_skipped_total.
func (r SkipReason) String() string {
	if r == skipOutOfRange {
		return "out_of_range"
	}
	return "unknown"
}

// Counts accumulates what the Append functions did across calls.
type Counts struct {
	// Points is the number of float sample lines appended by AppendSeries,
	// those with the field specialFieldKey included.
	Points int
	// Skipped is the number of float samples not appended, by reason.
	Skipped [NumSkipReasons]int
	// Histograms is the number of native histogram lines appended by
	// AppendHistograms.
	Histograms int
	// HistogramsSkipped is the number of histogram samples not appended,
	// by reason.
	HistogramsSkipped [NumSkipReasons]int
	// Exemplars is the number of exemplar lines appended by
	// AppendExemplars.
	Exemplars int
	// ExemplarsSkipped is the number of exemplars not appended, by reason.
	ExemplarsSkipped [NumSkipReasons]int
}

// seriesError reports a series that an Append function refused. The caller
// should answer the request with a client error naming it, after writing
// the rest.
type seriesError struct {
	// Series is the label set in Prometheus text form, quoted so that any
	// bytes are safe to print and truncated to a few hundred bytes.
	Series string
	// Reason says why the series was refused, e.g. "empty label name".
	Reason string
}

// Error implements error: "series <Series> refused: <Reason>".
func (e *seriesError) Error() string { return "series " + e.Series + " refused: " + e.Reason }

// startTimestampFieldKey is the integer field that carries the RW 2.0
// start (created) timestamp of a series, in milliseconds, on every float
// sample and histogram point of the series when the sender knows it.
const startTimestampFieldKey = "start_ts"

// AppendSeries appends one line-protocol line per sample of the series to
// dst and returns the extended buffer:
//
//	<measurement>[,<tag key>=<tag value>...] value=<float>[,start_ts=<ms>i] <milliseconds>\n
//
// A NaN (stale markers included) or infinite value, which InfluxDB 1.x
// cannot store as a float, is written as special=<specialCode(value)>.
// Labels with empty values are left out, names and values escaped or, where
// line protocol cannot carry them, in the reversible form (encodedPrefix).
// startTs is the series' start timestamp in milliseconds (RW 2.0's created
// timestamp), 0 for unknown and no start_ts field.
//
// A series that cannot be stored (no metric name, an empty or repeated label
// name, invalid UTF-8, a key too long, see maxSeriesKeyLen) appends nothing
// and returns a *seriesError naming it. Samples with a timestamp InfluxDB
// cannot store are skipped and counted in c.Skipped; appended lines are
// counted in c.Points. It allocates only by growing dst.
func AppendSeries(dst []byte, lbls []prompb.Label, samples []prompb.Sample, startTs int64, c *Counts) ([]byte, error) {
	longestField := len(specialFieldKey)
	if startTs != 0 {
		longestField = max(longestField, len(startTimestampFieldKey))
	}
	keyStart := len(dst)
	dst, keyEnd, err := appendSeriesKey(dst, lbls, longestField)
	if err != nil {
		return dst, err
	}

	// The key is copied for each further sample; appending a slice of dst
	// to dst is safe even when append reallocates.
	first := true
	for _, s := range samples {
		if s.Timestamp < minTimestampMs || s.Timestamp > maxTimestampMs {
			c.Skipped[skipOutOfRange]++
			continue
		}
		if !first {
			dst = append(dst, dst[keyStart:keyEnd]...)
		}
		first = false
		dst = appendFloatField(dst, ' ', fieldKey, specialFieldKey, s.Value)
		dst = appendStartTs(dst, startTs)
		dst = appendTimestamp(dst, s.Timestamp)
		c.Points++
	}
	if first {
		// Every sample was skipped: drop the key written up front.
		return dst[:keyStart], nil
	}
	return dst, nil
}

// appendSeriesKey validates the series and appends its key (measurement
// and tags) to dst, returning the end of the key. longestField is the
// length of the longest field key the caller may write after it (see
// maxSeriesKeyLen).
// On error dst is returned unchanged.
func appendSeriesKey(dst []byte, lbls []prompb.Label, longestField int) ([]byte, int, error) {
	keyStart := len(dst)
	dst, ok := appendKeyInOrder(dst, lbls)
	if !ok {
		// The series is invalid, or its tags must be sorted by their
		// stored keys.
		dst = dst[:keyStart]
		metricName, reason := validate(lbls)
		if reason != "" {
			return dst, 0, &seriesError{Series: formatSeries(lbls), Reason: reason}
		}
		dst = appendStored(dst, metricName, posMeasurement)
		dst = appendTagsSorted(dst, lbls)
	}
	limit := maxKeyLen - len(keyFieldSeparator) - longestField
	if keyLen := len(dst) - keyStart; keyLen > limit {
		return dst[:keyStart], 0, &seriesError{
			Series: formatSeries(lbls),
			Reason: "series key is " + strconv.Itoa(keyLen) + " bytes in line protocol, InfluxDB 1.x allows " + strconv.Itoa(limit),
		}
	}
	return dst, len(dst), nil
}

// maxKeyLen and keyFieldSeparator describe how InfluxDB 1.x stores each
// field: under the series key, the separator and the field key, which
// together may be at most maxKeyLen bytes.
const (
	maxKeyLen         = 65535
	keyFieldSeparator = "#!~#"
)

// appendFloatField appends sep, then key=<v>, or specialKey=<specialCode(v)>
// for a NaN or infinite v.
func appendFloatField(dst []byte, sep byte, key, specialKey string, v float64) []byte {
	dst = append(dst, sep)
	if code, special := specialCode(v); special {
		dst = append(dst, specialKey...)
		dst = append(dst, '=')
		return appendFloat(dst, code)
	}
	dst = append(dst, key...)
	dst = append(dst, '=')
	return appendFloat(dst, v)
}

// appendFloat appends v exactly as strconv.AppendFloat(dst, v, 'g', -1, 64)
// does: the shortest form that parses back to v. Below 1e6 in magnitude
// ('g' switches to an exponent from 1e6 on) two common kinds of value take
// a faster path:
//
//   - integers (up, counts, sizes, special codes) are their digits;
//   - values with at most three decimals (CPU seconds, milliseconds) are
//     the digits of k/1000 without trailing zeros: when k/1000, rounded as
//     parsing does, is v, no shorter decimal parses to v, since two
//     decimals 0.001 apart cannot both round to v (its ulp is below 2^-33)
//     and a shorter one would be another multiple of 0.001.
//
// Negative zero is left to AppendFloat, which writes "-0".
func appendFloat(dst []byte, v float64) []byte {
	if !(v > -1e6 && v < 1e6) || v == 0 && math.Signbit(v) {
		return strconv.AppendFloat(dst, v, 'g', -1, 64)
	}
	if i := int64(v); float64(i) == v {
		return appendInt(dst, i)
	}
	// k and 1000 are exact, so k/1000 is rounded once, as parsing rounds.
	k := math.Round(v * 1000)
	if k/1000 != v {
		return strconv.AppendFloat(dst, v, 'g', -1, 64)
	}
	return appendMilli(dst, int64(k))
}

// appendMilli appends k/1000 for a k that is not a multiple of 1000, with
// the fraction's trailing zeros dropped: -1500 is "-1.5", 5 is "0.005".
func appendMilli(dst []byte, k int64) []byte {
	if k < 0 {
		dst = append(dst, '-')
		k = -k
	}
	dst = appendInt(dst, k/1000)
	dst = append(dst, '.')
	f := k % 1000
	dst = append(dst, byte('0'+f/100))
	if f%100 != 0 {
		dst = append(dst, byte('0'+f/10%10))
		if f%10 != 0 {
			dst = append(dst, byte('0'+f%10))
		}
	}
	return dst
}

// appendIntField appends ",key=<v>i".
func appendIntField(dst []byte, key string, v int64) []byte {
	dst = append(dst, ',')
	dst = append(dst, key...)
	dst = append(dst, '=')
	dst = appendInt(dst, v)
	return append(dst, 'i')
}

func appendStartTs(dst []byte, startTs int64) []byte {
	if startTs == 0 {
		return dst
	}
	return appendIntField(dst, startTimestampFieldKey, startTs)
}

// appendTimestamp ends a line with " <ms>\n".
func appendTimestamp(dst []byte, ts int64) []byte {
	dst = append(dst, ' ')
	dst = appendInt(dst, ts)
	return append(dst, '\n')
}

// validate checks that the series can be stored and returns its metric
// name, or the reason to refuse it. It does not allocate unless it refuses
// the series.
func validate(lbls []prompb.Label) (metricName, reason string) {
	sorted := true
	for i := range lbls {
		l := &lbls[i]
		if l.Name == "" {
			return "", "empty label name"
		}
		if !utf8.ValidString(l.Name) {
			return "", "invalid UTF-8 in label name " + strconv.Quote(truncate(l.Name, maxQuotedLen))
		}
		if !utf8.ValidString(l.Value) {
			return "", "invalid UTF-8 in label value of " + strconv.Quote(truncate(l.Name, maxQuotedLen))
		}
		if i > 0 && lbls[i-1].Name >= l.Name {
			sorted = false
		}
		if l.Name == metricNameLabel {
			metricName = l.Value
		}
	}
	if !sorted {
		// Unsorted input is rare, so the quadratic search costs little and
		// needs no scratch memory.
		for i := 1; i < len(lbls); i++ {
			for j := 0; j < i; j++ {
				if lbls[i].Name == lbls[j].Name {
					return "", "duplicate label name " + strconv.Quote(truncate(lbls[i].Name, maxQuotedLen))
				}
			}
		}
	}
	if metricName == "" {
		return "", "missing metric name (" + metricNameLabel + ")"
	}
	return metricName, ""
}

// appendKeyInOrder appends the key of a series in the form Prometheus sends
// almost every one: labels strictly sorted by name, a metric name, valid
// UTF-8 and no label name needing the reversible form, so that tags go out
// in label order, each plain string (see plainByte) checked and written in
// one pass. For any other series it reports false, having appended a
// partial key the caller must drop.
func appendKeyInOrder(dst []byte, lbls []prompb.Label) ([]byte, bool) {
	// __name__ is the first label unless upper-case names sort before it.
	name := 0
	if len(lbls) == 0 || lbls[0].Name != metricNameLabel {
		name = slices.IndexFunc(lbls, func(l prompb.Label) bool { return l.Name == metricNameLabel })
		if name < 0 {
			return dst, false
		}
	}
	if lbls[name].Value == "" {
		return dst, false
	}
	if m := lbls[name].Value; isPlain(m) {
		dst = append(dst, m...)
	} else if utf8.ValidString(m) {
		dst = appendStored(dst, m, posMeasurement)
	} else {
		return dst, false
	}
	for i := range lbls {
		l := &lbls[i]
		if l.Name == "" || i > 0 && !before(lbls[i-1].Name, l.Name) {
			return dst, false
		}
		// Names of labels not stored are checked too, so that whether a
		// series takes the sorting path depends on its names alone.
		plainName := isPlain(l.Name)
		if plainName {
			if l.Name == "time" {
				return dst, false
			}
		} else if !utf8.ValidString(l.Name) || needsEncoding(l.Name, posTagKey) {
			return dst, false
		}
		if i == name || l.Value == "" {
			continue
		}
		dst = append(dst, ',')
		if plainName {
			dst = append(dst, l.Name...)
		} else {
			dst = appendEscaped(dst, l.Name, posTagKey)
		}
		dst = append(dst, '=')
		if v := l.Value; isPlain(v) {
			dst = append(dst, v...)
		} else if utf8.ValidString(v) {
			dst = appendStored(dst, v, posTagValue)
		} else {
			return dst, false
		}
	}
	return dst, true
}

// before reports whether a sorts before b. Sorted label names mostly
// differ in their first byte, which decides without the runtime's string
// comparison.
func before(a, b string) bool {
	if len(a) > 0 && len(b) > 0 && a[0] != b[0] {
		return a[0] < b[0]
	}
	return a < b
}

// tagSorter orders labels by their stored tag key, pooled so that the slow
// path of AppendSeries does not allocate per series either.
type tagSorter struct {
	keys  []byte    // stored keys, back to back
	order []tagSpan // one per label, sorted by stored key
}

type tagSpan struct {
	start, end int // stored key within keys
	label      int // index into the labels
}

var tagSorterPool = sync.Pool{New: func() any { return new(tagSorter) }}

// appendTagsSorted appends the tags of lbls sorted by their stored key, for
// labels that arrive unsorted or whose names need the reversible form.
// (InfluxDB sorts tags itself; sorted labels needing only escapes keep
// their order.)
func appendTagsSorted(dst []byte, lbls []prompb.Label) []byte {
	ts := tagSorterPool.Get().(*tagSorter)
	ts.keys, ts.order = ts.keys[:0], ts.order[:0]
	for i := range lbls {
		if lbls[i].Value == "" || lbls[i].Name == metricNameLabel {
			continue
		}
		start := len(ts.keys)
		ts.keys = appendStored(ts.keys, lbls[i].Name, posTagKey)
		ts.order = append(ts.order, tagSpan{start: start, end: len(ts.keys), label: i})
	}
	keys := ts.keys
	slices.SortFunc(ts.order, func(a, b tagSpan) int {
		return bytes.Compare(keys[a.start:a.end], keys[b.start:b.end])
	})
	for _, o := range ts.order {
		dst = append(dst, ',')
		dst = append(dst, ts.keys[o.start:o.end]...)
		dst = append(dst, '=')
		dst = appendStored(dst, lbls[o.label].Value, posTagValue)
	}
	tagSorterPool.Put(ts)
	return dst
}

// maxQuotedLen bounds how much of a name or series goes into an error.
const maxQuotedLen = 256

// formatSeries renders labels for error messages, {__name__="up",
// job="node"}, quoted so that any bytes print safely, and truncated.
func formatSeries(lbls []prompb.Label) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range lbls {
		if i > 0 {
			b.WriteString(", ")
		}
		if b.Len() > maxQuotedLen {
			b.WriteString("...")
			break
		}
		writeName(&b, lbls[i].Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(truncate(lbls[i].Value, maxQuotedLen)))
	}
	b.WriteByte('}')
	return b.String()
}

// writeName writes a label name bare when it is a classic Prometheus label
// name and quoted otherwise, as Prometheus 3 prints UTF-8 names.
func writeName(b *strings.Builder, name string) {
	if isLegacyName(name) {
		b.WriteString(name)
		return
	}
	b.WriteString(strconv.Quote(truncate(name, maxQuotedLen)))
}

func isLegacyName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// truncate shortens s to at most n bytes plus "...", on a UTF-8 boundary
// when s is valid UTF-8.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}
