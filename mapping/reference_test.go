package mapping

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
)

// refAppendSeries is AppendSeries as it was before the key was built in
// one pass (appendKeyInOrder) and small integers were formatted apart
// (appendFloat): validate everything, then write the key in label order or
// sorted by stored key, then the samples with strconv.AppendFloat. The
// differential tests check that the fast paths write the same bytes and
// return the same errors for any input.
func refAppendSeries(dst []byte, lbls []prompb.Label, samples []prompb.Sample, startTs int64, c *Counts) ([]byte, error) {
	longestField := len(specialFieldKey)
	if startTs != 0 {
		longestField = max(longestField, len(startTimestampFieldKey))
	}
	keyStart := len(dst)
	metricName, sorted, reason := refValidate(lbls)
	if reason != "" {
		return dst, &seriesError{Series: formatSeries(lbls), Reason: reason}
	}
	dst = appendStored(dst, metricName, posMeasurement)
	if sorted && !refAnyTagKeyEncoded(lbls) {
		for i := range lbls {
			l := &lbls[i]
			if l.Value == "" || l.Name == metricNameLabel {
				continue
			}
			dst = append(dst, ',')
			dst = appendStored(dst, l.Name, posTagKey)
			dst = append(dst, '=')
			dst = appendStored(dst, l.Value, posTagValue)
		}
	} else {
		dst = appendTagsSorted(dst, lbls)
	}
	limit := maxKeyLen - len(keyFieldSeparator) - longestField
	if keyLen := len(dst) - keyStart; keyLen > limit {
		return dst[:keyStart], &seriesError{
			Series: formatSeries(lbls),
			Reason: "series key is " + strconv.Itoa(keyLen) + " bytes in line protocol, InfluxDB 1.x allows " + strconv.Itoa(limit),
		}
	}
	keyEnd := len(dst)
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
		key, v := fieldKey, s.Value
		if code, special := specialCode(v); special {
			key, v = specialFieldKey, code
		}
		dst = append(dst, ' ')
		dst = append(dst, key...)
		dst = append(dst, '=')
		dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
		if startTs != 0 {
			dst = append(dst, ","+startTimestampFieldKey+"="...)
			dst = strconv.AppendInt(dst, startTs, 10)
			dst = append(dst, 'i')
		}
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, s.Timestamp, 10)
		dst = append(dst, '\n')
		c.Points++
	}
	if first {
		return dst[:keyStart], nil
	}
	return dst, nil
}

func refValidate(lbls []prompb.Label) (metricName string, sorted bool, reason string) {
	sorted = true
	for i := range lbls {
		l := &lbls[i]
		if l.Name == "" {
			return "", false, "empty label name"
		}
		if !utf8.ValidString(l.Name) {
			return "", false, "invalid UTF-8 in label name " + strconv.Quote(truncate(l.Name, maxQuotedLen))
		}
		if !utf8.ValidString(l.Value) {
			return "", false, "invalid UTF-8 in label value of " + strconv.Quote(truncate(l.Name, maxQuotedLen))
		}
		if i > 0 && lbls[i-1].Name >= l.Name {
			sorted = false
		}
		if l.Name == metricNameLabel {
			metricName = l.Value
		}
	}
	if !sorted {
		for i := 1; i < len(lbls); i++ {
			for j := 0; j < i; j++ {
				if lbls[i].Name == lbls[j].Name {
					return "", false, "duplicate label name " + strconv.Quote(truncate(lbls[i].Name, maxQuotedLen))
				}
			}
		}
	}
	if metricName == "" {
		return "", false, "missing metric name (" + metricNameLabel + ")"
	}
	return metricName, sorted, ""
}

func refAnyTagKeyEncoded(lbls []prompb.Label) bool {
	for i := range lbls {
		if needsEncoding(lbls[i].Name, posTagKey) {
			return true
		}
	}
	return false
}

// checkSameAsReference runs AppendSeries and refAppendSeries on the same
// input after a common prefix and fails unless bytes, error and counts
// agree.
func checkSameAsReference(t *testing.T, ls []prompb.Label, ss []prompb.Sample, startTs int64) {
	t.Helper()
	var c, refC Counts
	got, err := AppendSeries([]byte("previous\n"), ls, ss, startTs, &c)
	want, refErr := refAppendSeries([]byte("previous\n"), ls, ss, startTs, &refC)
	if string(got) != string(want) {
		t.Fatalf("labels %q samples %v: AppendSeries() =\n%q\nreference\n%q", ls, ss, got, want)
	}
	if (err == nil) != (refErr == nil) || err != nil && err.Error() != refErr.Error() {
		t.Fatalf("labels %q: AppendSeries() error = %v, reference %v", ls, err, refErr)
	}
	if c != refC {
		t.Fatalf("labels %q: Counts = %+v, reference %+v", ls, c, refC)
	}
}

func TestAppendSeriesSameAsReference(t *testing.T) {
	stale := math.Float64frombits(value.StaleNaN)
	ss := []prompb.Sample{
		{Value: 0, Timestamp: 1}, {Value: math.Copysign(0, -1), Timestamp: 2}, {Value: 1, Timestamp: 3},
		{Value: -999999, Timestamp: 4}, {Value: 999999.5, Timestamp: 5}, {Value: 1e6, Timestamp: 6},
		{Value: 123456789012, Timestamp: 7}, {Value: 0.1, Timestamp: 8}, {Value: stale, Timestamp: 9},
		{Value: math.NaN(), Timestamp: maxTimestampMs + 1}, {Value: math.Inf(-1), Timestamp: minTimestampMs},
	}
	for _, tc := range []struct {
		name   string
		labels []prompb.Label
	}{
		{"node exporter", nodeExporterLabels()},
		{"upper-case label before __name__", lbls("Zone", "z", "__name__", "up", "job", "x")},
		{"only upper-case labels", lbls("A", "1", "B", "2", "__name__", "up")},
		{"no labels", nil},
		{"no metric name", lbls("job", "x")},
		{"empty metric name", lbls("__name__", "", "job", "x")},
		{"empty first name", lbls("", "x", "__name__", "up")},
		{"empty later name", lbls("__name__", "up", "", "x")},
		{"duplicate name", lbls("__name__", "up", "job", "a", "job", "b")},
		{"duplicate __name__", lbls("__name__", "up", "__name__", "down")},
		{"unsorted", lbls("job", "x", "__name__", "up")},
		{"empty value", lbls("__name__", "up", "a", "", "job", "x")},
		{"time key", lbls("__name__", "up", "time", "t", "u", "x")},
		{"time key with empty value", lbls("__name__", "up", "a b", "1", "a!", "2", "time", "")},
		{"escaped name sorts apart from raw", lbls("__name__", "up", "a b", "1", "a!", "2")},
		{"encoded key", lbls("__name__", "up", "~b64~x", "y")},
		{"escapes", lbls("__name__", "a b,c=d", "k=1", "x y", "l", "a,b=c d")},
		{"encoded values", lbls("__name__", "#m", "a", "two\nlines", "b", `C:\dir\`, "c", "~b64~YQ", "d", `a\,b`)},
		{"measurement with backslash before quote", lbls("__name__", `a\"b`, "k", `a\"b`)},
		{"measurement leading tab", lbls("__name__", "\tm", "k", "\x00v")},
		{"hash inside", lbls("__name__", "m#1", "k#", "#v")},
		{"UTF-8", lbls("__name__", "métrique", "clé", "valeur 😀", "k", "日本")},
		{"invalid UTF-8 metric name", lbls("__name__", "up\xc3", "job", "x")},
		{"invalid UTF-8 name with empty value", lbls("__name__", "up", "j\xff", "")},
		{"invalid UTF-8 value", lbls("__name__", "up", "path", "a\xffb")},
		{"controls", lbls("__name__", "up", "k", "a\rb\x7f\x01")},
		{"key too long", lbls("__name__", "up", "k", strings.Repeat("x", maxSeriesKeyLen))},
		{"key at the limit", lbls("__name__", "up", "k", strings.Repeat("x", maxSeriesKeyLen-len("up,k=")))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkSameAsReference(t, tc.labels, ss, 0)
			checkSameAsReference(t, tc.labels, ss, 1699999999000)
		})
	}
}

// FuzzAppendSeriesReference checks AppendSeries against refAppendSeries
// for arbitrary label sets. spec holds the labels as name, value, name,
// value... separated by 0xfe, a byte that never occurs in UTF-8, so that
// every other byte, 0xff and broken sequences included, can be part of a
// name or value. With sorted the labels are sorted by name first, as
// Prometheus sends them, to reach the in-order path; with name a metric
// name label is added.
func FuzzAppendSeriesReference(f *testing.F) {
	f.Add("job\xfenode\xfeinstance\xfea:9100", "up", true, true, 1.0, int64(1000), int64(0))
	f.Add("Zone\xfez\xfetime\xfet", "m", true, true, 1e6, int64(-1), int64(5))
	f.Add("a b\xfe1\xfea!\xfe2\xfetime\xfe", "m", true, true, math.Copysign(0, -1), int64(2), int64(0))
	f.Add("k=1\xfex y\xfepath\xfeC:\\dir\\\xfemsg\xfetwo\nlines", "a b,c", false, true, math.NaN(), int64(3), int64(0))
	f.Add("~b64~x\xfey\xfe\xfex", "#m", true, true, math.Inf(1), int64(maxTimestampMs), int64(1))
	f.Add("job\xfea\xfejob\xfeb", "up\xff", true, false, 0.5, int64(minTimestampMs-1), int64(0))
	f.Fuzz(func(t *testing.T, spec, metric string, sorted, name bool, v float64, ts, startTs int64) {
		var ls []prompb.Label
		if name {
			ls = append(ls, prompb.Label{Name: metricNameLabel, Value: metric})
		}
		if spec != "" {
			parts := strings.Split(spec, "\xfe")
			for i := 0; i < len(parts); i += 2 {
				l := prompb.Label{Name: parts[i]}
				if i+1 < len(parts) {
					l.Value = parts[i+1]
				}
				ls = append(ls, l)
			}
		}
		if sorted {
			slices.SortStableFunc(ls, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) })
		}
		ss := []prompb.Sample{{Value: v, Timestamp: ts}, {Value: -v, Timestamp: ts + 1}, {Value: math.Trunc(v), Timestamp: 0}}
		checkSameAsReference(t, ls, ss, startTs)
	})
}

func TestAppendFloatSameAsStrconv(t *testing.T) {
	vals := []float64{
		0, math.Copysign(0, -1), 1, -1, 7, 10, 100, 999999, -999999, 999999.5, -999999.5,
		1e6, -1e6, 1e6 + 1, 999999.0000000001, 0.5, -0.5, 1e-7, 5e-324, math.MaxFloat64,
		-math.MaxFloat64, 1 << 53, 1<<53 + 2, math.MaxInt64, math.MinInt64, 123456789012,
		0.1, 2251799813685250, math.Nextafter(1e6, 0), math.Nextafter(-1e6, 0),
	}
	for i := -1000; i <= 1000; i++ {
		vals = append(vals, float64(i), float64(i)/4, float64(i)*997)
	}
	// Values with up to three decimals, next to their neighbours that
	// have many, from 0.001 to the edge of 1e6.
	for _, base := range []float64{0, 0.001, 1, 12.3, 12345.67, 999998.5, -999999} {
		for i := -1500; i <= 1500; i++ {
			for _, v := range []float64{base + float64(i)/1000, base + float64(i)/100, base + float64(i)*0.001} {
				vals = append(vals, v, math.Nextafter(v, 0), math.Nextafter(v, math.Inf(1)))
			}
		}
	}
	vals = append(vals, 0.001, -0.001, 0.0005, 0.0015, 0.00099, 999999.999, 999999.9995, -999999.999, 0.1+0.2)
	for _, v := range vals {
		want := strconv.AppendFloat([]byte("x="), v, 'g', -1, 64)
		if got := appendFloat([]byte("x="), v); string(got) != string(want) {
			t.Errorf("appendFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -999999, 999999.5, 1e6, 0.1, 0.001, 12345.67, -0.125, math.NaN(), math.Inf(-1)} {
		f.Add(math.Float64bits(v), v)
	}
	// The fuzzer mutates bits bit-wise and floats arithmetically; both
	// reach integers, fractions and the edges of the fast path.
	f.Fuzz(func(t *testing.T, bits uint64, v float64) {
		for _, v := range []float64{math.Float64frombits(bits), v} {
			want := strconv.AppendFloat(nil, v, 'g', -1, 64)
			if got := appendFloat(nil, v); string(got) != string(want) {
				t.Fatalf("appendFloat(%v, bits %#x) = %q, want %q", v, math.Float64bits(v), got, want)
			}
		}
	})
}
