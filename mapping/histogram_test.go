package mapping

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
)

var staleNaN = math.Float64frombits(value.StaleNaN)

func intHist(ts int64, count, zero uint64, sum float64, schema int32, pos []prompb.BucketSpan, posD []int64, neg []prompb.BucketSpan, negD []int64) prompb.Histogram {
	return prompb.Histogram{
		Count: &prompb.Histogram_CountInt{CountInt: count}, Sum: sum, Schema: schema, ZeroThreshold: 0.001,
		ZeroCount:     &prompb.Histogram_ZeroCountInt{ZeroCountInt: zero},
		PositiveSpans: pos, PositiveDeltas: posD, NegativeSpans: neg, NegativeDeltas: negD, Timestamp: ts,
	}
}

func floatHist(ts int64, count, zero, sum float64, schema int32, pos []prompb.BucketSpan, posC []float64, neg []prompb.BucketSpan, negC []float64) prompb.Histogram {
	return prompb.Histogram{
		Count: &prompb.Histogram_CountFloat{CountFloat: count}, Sum: sum, Schema: schema, ZeroThreshold: 0.001,
		ZeroCount:     &prompb.Histogram_ZeroCountFloat{ZeroCountFloat: zero},
		PositiveSpans: pos, PositiveCounts: posC, NegativeSpans: neg, NegativeCounts: negC, Timestamp: ts,
	}
}

func spans(ol ...int) []prompb.BucketSpan {
	var out []prompb.BucketSpan
	for i := 0; i+1 < len(ol); i += 2 {
		out = append(out, prompb.BucketSpan{Offset: int32(ol[i]), Length: uint32(ol[i+1])})
	}
	return out
}

func withHint(h prompb.Histogram, hint prompb.Histogram_ResetHint) prompb.Histogram {
	h.ResetHint = hint
	return h
}

// histogramCases are valid histograms with the exact lines they are
// stored as; the round-trip test rebuilds each from its line.
var histogramCases = []struct {
	name    string
	hs      []prompb.Histogram
	startTs int64
	want    string
}{
	{
		name: "integer with positive and negative spans and a zero bucket",
		hs:   []prompb.Histogram{intHist(1000, 12, 2, 18.5, 3, spans(-2, 2, 3, 1), []int64{2, 1, -2}, spans(0, 1), []int64{4})},
		want: `h,job=x h_count=12,h_sum=18.5,h_zero_count=2,h_zero_threshold=0.001,h_schema=3i,h_reset_hint=0i,h_float=false,h_pos_spans="-2:2,3:1",h_pos="2,1,-2",h_neg_spans="0:1",h_neg="4" 1000` + "\n",
	},
	{
		name:    "float with counts, start timestamp",
		hs:      []prompb.Histogram{floatHist(2000, 7.5, 0.5, -3.25, -4, spans(1, 2), []float64{2.5, 1e-300}, spans(0, 1), []float64{4.5})},
		startTs: 1700000000123,
		want:    `h,job=x h_count=7.5,h_sum=-3.25,h_zero_count=0.5,h_zero_threshold=0.001,h_schema=-4i,h_reset_hint=0i,h_float=true,h_pos_spans="1:2",h_pos="2.5,1e-300",h_neg_spans="0:1",h_neg="4.5",start_ts=1700000000123i 2000` + "\n",
	},
	{
		name: "empty histogram",
		hs:   []prompb.Histogram{intHist(1, 0, 0, 0, 0, nil, nil, nil, nil)},
		want: `h,job=x h_count=0,h_sum=0,h_zero_count=0,h_zero_threshold=0.001,h_schema=0i,h_reset_hint=0i,h_float=false 1` + "\n",
	},
	{
		name: "custom buckets schema -53",
		hs: []prompb.Histogram{{
			Count: &prompb.Histogram_CountInt{CountInt: 3}, Sum: 1.5, Schema: -53,
			ZeroCount:     &prompb.Histogram_ZeroCountInt{},
			PositiveSpans: spans(0, 3), PositiveDeltas: []int64{1, 0, 0},
			CustomValues: []float64{0.1, 0.25, 1e+06}, Timestamp: 3000,
		}},
		want: `h,job=x h_count=3,h_sum=1.5,h_zero_count=0,h_zero_threshold=0,h_schema=-53i,h_reset_hint=0i,h_float=false,h_pos_spans="0:3",h_pos="1,0,0",h_custom_values="0.1,0.25,1e+06" 3000` + "\n",
	},
	{
		name: "NaN sum allows a larger count",
		hs:   []prompb.Histogram{intHist(4000, 5, 0, math.NaN(), 0, spans(0, 1), []int64{3}, nil, nil)},
		want: `h,job=x h_count=5,h_sum_special=2.25179981368525e+15,h_zero_count=0,h_zero_threshold=0.001,h_schema=0i,h_reset_hint=0i,h_float=false,h_pos_spans="0:1",h_pos="3" 4000` + "\n",
	},
	{
		name: "stale histogram",
		hs:   []prompb.Histogram{intHist(5000, 0, 0, staleNaN, 0, nil, nil, nil, nil)},
		want: `h,job=x h_count=0,h_sum_special=3,h_zero_count=0,h_zero_threshold=0.001,h_schema=0i,h_reset_hint=0i,h_float=false 5000` + "\n",
	},
	{
		name: "float histogram with infinite and NaN values",
		hs: []prompb.Histogram{floatHist(6000, math.Inf(1), math.NaN(), math.Inf(-1), 0, spans(0, 3),
			[]float64{staleNaN, math.Inf(1), math.Copysign(0, -1)}, nil, nil)},
		want: `h,job=x h_count_special=1,h_sum_special=-1,h_zero_count_special=2.25179981368525e+15,h_zero_threshold=0.001,h_schema=0i,h_reset_hint=0i,h_float=true,h_pos_spans="0:3",h_pos="special:3,special:1,-0" 6000` + "\n",
	},
	{
		name: "reset hints, key repeated per histogram, out-of-range skipped",
		hs: []prompb.Histogram{
			withHint(intHist(1, 0, 0, 0, 8, nil, nil, nil, nil), prompb.Histogram_YES),
			withHint(intHist(maxTimestampMs+1, 0, 0, 0, 8, nil, nil, nil, nil), prompb.Histogram_YES),
			withHint(intHist(2, 0, 0, 0, 8, nil, nil, nil, nil), prompb.Histogram_NO),
			withHint(floatHist(3, 0, 0, 0, 8, nil, nil, nil, nil), prompb.Histogram_GAUGE),
		},
		want: `h,job=x h_count=0,h_sum=0,h_zero_count=0,h_zero_threshold=0.001,h_schema=8i,h_reset_hint=1i,h_float=false 1` + "\n" +
			`h,job=x h_count=0,h_sum=0,h_zero_count=0,h_zero_threshold=0.001,h_schema=8i,h_reset_hint=2i,h_float=false 2` + "\n" +
			`h,job=x h_count=0,h_sum=0,h_zero_count=0,h_zero_threshold=0.001,h_schema=8i,h_reset_hint=3i,h_float=true 3` + "\n",
	},
}

func TestAppendHistograms(t *testing.T) {
	for _, tc := range histogramCases {
		t.Run(tc.name, func(t *testing.T) {
			var c Counts
			prefix := "previous\n"
			got, err := AppendHistograms([]byte(prefix), lbls("__name__", "h", "job", "x"), tc.hs, tc.startTs, &c)
			if err != nil {
				t.Fatalf("AppendHistograms() error = %v", err)
			}
			if string(got) != prefix+tc.want {
				t.Fatalf("AppendHistograms() =\n%s\nwant\n%s", got, prefix+tc.want)
			}
			lines := strings.Count(tc.want, "\n")
			if c.Histograms != lines || c.HistogramsSkipped[skipOutOfRange] != len(tc.hs)-lines || c.Points != 0 {
				t.Errorf("counts = %+v, want %d histograms, %d skipped", c, lines, len(tc.hs)-lines)
			}
		})
	}
}

// TestAppendHistogramsRoundTrip rebuilds every histogram from what InfluxDB
// stores for its line and compares the protobuf encodings, which catches any
// lost bit (NaN payloads, -0, the count kinds).
func TestAppendHistogramsRoundTrip(t *testing.T) {
	for _, tc := range histogramCases {
		t.Run(tc.name, func(t *testing.T) {
			var c Counts
			out, err := AppendHistograms(nil, lbls("__name__", "h", "job", "x"), tc.hs, tc.startTs, &c)
			if err != nil {
				t.Fatal(err)
			}
			checkHistogramRoundTrip(t, out, tc.hs, tc.startTs)
		})
	}
}

func checkHistogramRoundTrip(t *testing.T, out []byte, hs []prompb.Histogram, startTs int64) {
	t.Helper()
	lines := modelSplitLines(out)
	i := 0
	for _, h := range hs {
		if h.Timestamp < minTimestampMs || h.Timestamp > maxTimestampMs {
			continue
		}
		if i >= len(lines) {
			t.Fatalf("histogram at %d has no line in %q", h.Timestamp, out)
		}
		p, err := modelParseKey(lines[i])
		if err != nil {
			t.Fatalf("line %q: %v", lines[i], err)
		}
		i++
		got, gotStart, err := decodeHistogramLine(p.fields)
		if err != nil {
			t.Fatalf("line %q: %v", p.fields, err)
		}
		if gotStart != startTs {
			t.Errorf("start_ts = %d, want %d", gotStart, startTs)
		}
		wantPB, _ := h.Marshal()
		gotPB, _ := got.Marshal()
		if !bytes.Equal(wantPB, gotPB) {
			t.Fatalf("line %q read back as\n%v\nwant\n%v", p.fields, got.String(), h.String())
		}
		checkDecodeHistogram(t, p.fields, h)
	}
	if i != len(lines) {
		t.Fatalf("%d lines for %d histograms", len(lines), i)
	}
}

// decodeHistogramLine rebuilds a histogram from the fields of its line, as
// a reader of the schema must.
func decodeHistogramLine(fields string) (prompb.Histogram, int64, error) {
	var h prompb.Histogram
	fs, ts, err := modelParseFields(fields)
	if err != nil {
		return h, 0, err
	}
	h.Timestamp = ts
	float := func(key string) (float64, error) {
		if f, ok := fs[key+specialSuffix]; ok {
			code, err := strconv.ParseFloat(f.raw, 64)
			if err != nil {
				return 0, err
			}
			return SpecialValue(code)
		}
		f, ok := fs[key]
		if !ok || f.isStr || f.integer {
			return 0, fmt.Errorf("no float field %s", key)
		}
		return strconv.ParseFloat(f.raw, 64)
	}
	integer := func(key string) (int64, error) {
		f, ok := fs[key]
		if !ok || !f.integer {
			return 0, fmt.Errorf("no integer field %s", key)
		}
		return strconv.ParseInt(f.raw, 10, 64)
	}
	list := func(key string) []string {
		if f, ok := fs[key]; ok && f.isStr {
			return strings.Split(f.str, ",")
		}
		return nil
	}
	floats := func(key string) ([]float64, error) {
		var out []float64
		for _, s := range list(key) {
			if code, ok := strings.CutPrefix(s, listSpecialPrefix); ok {
				c, err := strconv.ParseInt(code, 10, 64)
				if err != nil {
					return nil, err
				}
				v, err := SpecialValue(float64(c))
				if err != nil {
					return nil, err
				}
				out = append(out, v)
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	ints := func(key string) ([]int64, error) {
		var out []int64
		for _, s := range list(key) {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	spansOf := func(key string) ([]prompb.BucketSpan, error) {
		var out []prompb.BucketSpan
		for _, s := range list(key) {
			o, l, ok := strings.Cut(s, ":")
			off, err1 := strconv.ParseInt(o, 10, 32)
			n, err2 := strconv.ParseUint(l, 10, 32)
			if !ok || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("bad span %q", s)
			}
			out = append(out, prompb.BucketSpan{Offset: int32(off), Length: uint32(n)})
		}
		return out, nil
	}
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	count, err := float(histogramCountField)
	add(err)
	zero, err := float(histogramZeroCountField)
	add(err)
	h.Sum, err = float(histogramSumField)
	add(err)
	h.ZeroThreshold, err = float(histogramZeroThresholdField)
	add(err)
	schema, err := integer(histogramSchemaField)
	add(err)
	h.Schema = int32(schema)
	hint, err := integer(histogramResetHintField)
	add(err)
	h.ResetHint = prompb.Histogram_ResetHint(hint)
	h.PositiveSpans, err = spansOf(histogramPositiveSpansField)
	add(err)
	h.NegativeSpans, err = spansOf(histogramNegativeSpansField)
	add(err)
	h.CustomValues, err = floats(histogramCustomValuesField)
	add(err)
	if fs[histogramFloatField].raw == "true" {
		h.Count = &prompb.Histogram_CountFloat{CountFloat: count}
		h.ZeroCount = &prompb.Histogram_ZeroCountFloat{ZeroCountFloat: zero}
		h.PositiveCounts, err = floats(histogramPositiveField)
		add(err)
		h.NegativeCounts, err = floats(histogramNegativeField)
		add(err)
	} else {
		h.Count = &prompb.Histogram_CountInt{CountInt: uint64(count)}
		h.ZeroCount = &prompb.Histogram_ZeroCountInt{ZeroCountInt: uint64(zero)}
		h.PositiveDeltas, err = ints(histogramPositiveField)
		add(err)
		h.NegativeDeltas, err = ints(histogramNegativeField)
		add(err)
	}
	var start int64
	if f, ok := fs[startTimestampFieldKey]; ok {
		start, err = strconv.ParseInt(f.raw, 10, 64)
		add(err)
	}
	return h, start, errors.Join(errs...)
}

func TestAppendHistogramsRefused(t *testing.T) {
	valid := intHist(1, 1, 0, 1, 0, spans(0, 1), []int64{1}, nil, nil)
	for _, tc := range []struct {
		name   string
		labels []prompb.Label
		h      prompb.Histogram
		reason string
	}{
		{"span lengths do not match the buckets", nil, intHist(7, 3, 0, 1, 0, spans(0, 2), []int64{1, 0, 1}, nil, nil),
			"invalid histogram at 7: positive side: spans need 2 buckets, have 3 buckets: histogram spans specify different number of buckets than provided"},
		{"negative spans do not match", nil, floatHist(7, 3, 0, 1, 0, nil, nil, spans(0, 2), []float64{1}),
			"invalid histogram at 7: negative side: spans need 2 buckets, have 1 buckets: histogram spans specify different number of buckets than provided"},
		{"count does not match the buckets", nil, intHist(7, 5, 1, 1, 0, spans(0, 2), []int64{1, 1}, nil, nil),
			"invalid histogram at 7: 4 observations found in buckets, but the Count field is 5: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)"},
		{"NaN sum with too small a count", nil, intHist(7, 1, 1, math.NaN(), 0, spans(0, 1), []int64{1}, nil, nil),
			"invalid histogram at 7: 2 observations found in buckets, but the Count field is 1: histogram's observation count should be at least the number of observations found in the buckets"},
		{"negative absolute bucket count", nil, intHist(7, 0, 0, 1, 0, spans(0, 2), []int64{1, -2}, nil, nil),
			"invalid histogram at 7: positive side: bucket number 2 has observation count of -1: histogram has a bucket whose observation count is negative"},
		{"schema out of range", nil, intHist(7, 0, 0, 0, 9, nil, nil, nil, nil),
			"invalid histogram at 7: histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema 9"},
		{"custom buckets without bounds", nil, prompb.Histogram{Count: &prompb.Histogram_CountInt{CountInt: 1}, Schema: -53, PositiveSpans: spans(0, 2), PositiveDeltas: []int64{1, -1}, Timestamp: 7},
			"invalid histogram at 7: custom buckets: only 0 custom bounds defined which is insufficient to cover total span length of 2: histogram custom bounds are too few"},
		{"custom bounds with an exponential schema", nil, prompb.Histogram{Count: &prompb.Histogram_CountInt{}, CustomValues: []float64{1}, Timestamp: 7},
			"invalid histogram at 7: histogram with exponential schema must not have custom bounds"},
		{"mixed count kinds", nil, prompb.Histogram{Count: &prompb.Histogram_CountInt{}, ZeroCount: &prompb.Histogram_ZeroCountFloat{}, Timestamp: 7},
			"invalid histogram at 7: integer count with a float zero count"},
		{"float count with integer zero count", nil, prompb.Histogram{Count: &prompb.Histogram_CountFloat{}, ZeroCount: &prompb.Histogram_ZeroCountInt{}, Timestamp: 7},
			"invalid histogram at 7: float count with an integer zero count"},
		{"float histogram with deltas", nil, prompb.Histogram{Count: &prompb.Histogram_CountFloat{CountFloat: 1}, PositiveSpans: spans(0, 1), PositiveDeltas: []int64{1}, Timestamp: 7},
			"invalid histogram at 7: float histogram with integer bucket deltas"},
		{"integer histogram with counts", nil, prompb.Histogram{Count: &prompb.Histogram_CountInt{CountInt: 1}, PositiveSpans: spans(0, 1), PositiveCounts: []float64{1}, Timestamp: 7},
			"invalid histogram at 7: integer histogram with float bucket counts"},
		{"count beyond 2^53", nil, intHist(7, 1<<53+1, 1<<53+1, math.NaN(), 0, nil, nil, nil, nil),
			"invalid histogram at 7: count 9007199254740993 exceeds 2^53, which a float field cannot store exactly"},
		{"missing metric name", lbls("job", "x"), valid, "missing metric name (__name__)"},
		{"series key too long for the histogram fields", lbls("__name__", "h", "k", strings.Repeat("v", maxSeriesKeyLen-len("h,k="))), valid,
			"series key is 65524 bytes in line protocol, InfluxDB 1.x allows 65507"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			labels := tc.labels
			if labels == nil {
				labels = lbls("__name__", "h", "job", "x")
			}
			var c Counts
			// A valid histogram before the invalid one: the series is
			// refused as a whole.
			out, err := AppendHistograms([]byte("x\n"), labels, []prompb.Histogram{valid, tc.h}, 0, &c)
			if tc.labels != nil {
				out, err = AppendHistograms([]byte("x\n"), labels, []prompb.Histogram{tc.h}, 0, &c)
			}
			var se *seriesError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want *seriesError", err)
			}
			if se.Reason != tc.reason {
				t.Errorf("reason =\n%s\nwant\n%s", se.Reason, tc.reason)
			}
			if string(out) != "x\n" || c.Histograms != 0 {
				t.Errorf("refused series appended %q, counted %d", out, c.Histograms)
			}
		})
	}
}

func TestAppendHistogramsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	hs := []prompb.Histogram{histogramCases[0].hs[0], histogramCases[1].hs[0]}
	ls := nodeExporterLabels()
	var c Counts
	buf, _ := AppendHistograms(nil, ls, hs, 1, &c)
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = AppendHistograms(buf[:0], ls, hs, 1, &c)
	})
	if allocs != 0 {
		t.Errorf("AppendHistograms allocates %v times per call, want 0", allocs)
	}
}

func BenchmarkAppendHistograms(b *testing.B) {
	ls := nodeExporterLabels()
	const perSeries = 10
	hs := make([]prompb.Histogram, perSeries)
	for i := range hs {
		hs[i] = intHist(1700000000000+int64(i)*15000, 100, 4, 1234.5, 3,
			spans(-5, 8, 2, 8), []int64{1, 2, 3, 4, 5, 6, 7, 8, -8, -7, -6, -5, -4, -3, -2, 0}, nil, nil)
		hs[i].Count = &prompb.Histogram_CountInt{CountInt: 4 + 1 + 3 + 6 + 10 + 15 + 21 + 28 + 36 + 28 + 21 + 15 + 10 + 6 + 3 + 1 + 1}
	}
	var c Counts
	buf, err := AppendHistograms(nil, ls, hs, 1700000000000, &c)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf, _ = AppendHistograms(buf[:0], ls, hs, 1700000000000, &c)
	}
	b.ReportMetric(float64(b.N*perSeries)/b.Elapsed().Seconds(), "histograms/s")
}

// FuzzAppendHistograms builds histograms from arbitrary input; whatever is
// accepted must read back bit for bit, and whatever is refused must be
// refused with a *seriesError and nothing appended.
func FuzzAppendHistograms(f *testing.F) {
	f.Add(int32(3), false, 12.5, 0.001, uint64(12), []byte{0, 2, 2, 1, 3, 1, 0xfe})
	f.Add(int32(-53), true, math.NaN(), 0.0, uint64(3), []byte{0, 3, 1, 2, 3})
	f.Add(int32(0), true, math.Inf(1), 1e-128, uint64(0), []byte{0xff, 0x80, 0x7f, 1})
	f.Add(int32(8), false, staleNaN, 0.0, uint64(0), []byte{})
	f.Fuzz(func(t *testing.T, schema int32, isFloat bool, sum, zt float64, count uint64, raw []byte) {
		h := prompb.Histogram{Schema: schema, Sum: sum, ZeroThreshold: zt, Timestamp: int64(count % 1000), ResetHint: prompb.Histogram_ResetHint(count % 5)}
		// raw: span offset, span length, then values, repeated; odd bytes
		// go negative, and for float histograms 8-byte chunks are float64s.
		var sp []prompb.BucketSpan
		var ds []int64
		var fs []float64
		var cv []float64
		for len(raw) >= 2 {
			n := int(raw[1] % 4)
			sp = append(sp, prompb.BucketSpan{Offset: int32(int8(raw[0])), Length: uint32(n)})
			raw = raw[2:]
			for j := 0; j < n && len(raw) > 0; j++ {
				ds = append(ds, int64(int8(raw[0])))
				if len(raw) >= 8 {
					fs = append(fs, math.Float64frombits(binary.LittleEndian.Uint64(raw)))
				} else {
					fs = append(fs, float64(raw[0]))
				}
				cv = append(cv, float64(len(cv))+float64(raw[0])/256)
				raw = raw[1:]
			}
		}
		if schema == -53 {
			h.CustomValues = cv
		}
		if isFloat {
			h.Count = &prompb.Histogram_CountFloat{CountFloat: float64(count) / 3}
			h.ZeroCount = &prompb.Histogram_ZeroCountFloat{ZeroCountFloat: zt}
			if count%2 == 0 {
				h.NegativeSpans, h.NegativeCounts = sp, fs
			} else {
				h.PositiveSpans, h.PositiveCounts = sp, fs
			}
		} else {
			h.Count = &prompb.Histogram_CountInt{CountInt: count}
			h.ZeroCount = &prompb.Histogram_ZeroCountInt{ZeroCountInt: count / 4}
			if count%2 == 0 {
				h.NegativeSpans, h.NegativeDeltas = sp, ds
			} else {
				h.PositiveSpans, h.PositiveDeltas = sp, ds
			}
		}
		var c Counts
		hs := []prompb.Histogram{h}
		out, err := AppendHistograms(nil, lbls("__name__", "h", "job", "x"), hs, int64(schema), &c)
		if err != nil {
			var se *seriesError
			if !errors.As(err, &se) || !strings.HasPrefix(se.Reason, "invalid histogram at ") {
				t.Fatalf("error %v is not a *seriesError for an invalid histogram", err)
			}
			if len(out) != 0 {
				t.Fatalf("refused series appended %q", out)
			}
			return
		}
		checkHistogramRoundTrip(t, out, hs, int64(schema))
	})
}
