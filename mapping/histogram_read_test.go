package mapping

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/prompb"
)

// rowFromFields turns the fields of a histogram line, as InfluxDB stores
// them, into the row of a HistogramFetchQuery result that DecodeHistogram
// takes: numbers and booleans in nums, strings in text, NaN and "" for
// fields the line lacks.
func rowFromFields(t testing.TB, fs map[string]modelField) ([]float64, []string) {
	t.Helper()
	nums := make([]float64, len(HistogramColumns))
	text := make([]string, len(HistogramColumns))
	for i, col := range HistogramColumns {
		nums[i] = math.NaN()
		f, ok := fs[col]
		switch {
		case !ok:
		case f.isStr:
			text[i] = f.str
		case f.raw == "true":
			nums[i] = 1
		case f.raw == "false":
			nums[i] = 0
		default:
			v, err := strconv.ParseFloat(f.raw, 64)
			if err != nil {
				t.Fatalf("field %s=%q: %v", col, f.raw, err)
			}
			nums[i] = v
		}
	}
	return nums, text
}

// checkDecodeHistogram decodes the line fields with DecodeHistogram and
// compares the protobuf encoding with want.
func checkDecodeHistogram(t testing.TB, fields string, want prompb.Histogram) {
	t.Helper()
	fs, ts, err := modelParseFields(fields)
	if err != nil {
		t.Fatalf("line %q: %v", fields, err)
	}
	nums, text := rowFromFields(t, fs)
	got, ok, err := DecodeHistogram(ts, nums, text)
	if err != nil || !ok {
		t.Fatalf("DecodeHistogram(%q) = ok %v, error %v", fields, ok, err)
	}
	wantPB, _ := want.Marshal()
	gotPB, _ := got.Marshal()
	if !bytes.Equal(wantPB, gotPB) {
		t.Fatalf("DecodeHistogram(%q) =\n%v\nwant\n%v", fields, got.String(), want.String())
	}
}

// TestDecodeHistogramRoundTrip stores histograms of every kind with
// AppendHistograms and rebuilds them with DecodeHistogram;
// checkHistogramRoundTrip compares the protobuf bytes.
func TestDecodeHistogramRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		hs      []prompb.Histogram
		startTs int64
	}{
		{"integer, both sides, zero bucket", []prompb.Histogram{intHist(1000, 12, 2, 18.5, 3, spans(-2, 2, 3, 1), []int64{2, 1, -2}, spans(0, 1), []int64{4})}, 0},
		{"float, both sides, start timestamp", []prompb.Histogram{floatHist(2000, 7.5, 0.5, -3.25, -4, spans(1, 2), []float64{2.5, 1e-300}, spans(0, 1), []float64{4.5})}, 1700000000123},
		{"negative side only", []prompb.Histogram{intHist(3, 4, 0, -1, 1, nil, nil, spans(-5, 1, 2, 1), []int64{3, -2})}, 0},
		{"empty", []prompb.Histogram{intHist(1, 0, 0, 0, 0, nil, nil, nil, nil)}, 0},
		{"integer custom buckets", []prompb.Histogram{{
			Count: &prompb.Histogram_CountInt{CountInt: 3}, Sum: 1.5, Schema: -53,
			ZeroCount:     &prompb.Histogram_ZeroCountInt{},
			PositiveSpans: spans(0, 2, 1, 1), PositiveDeltas: []int64{1, 0, 0},
			CustomValues: []float64{5e-324, 0.1, 0.25, 1e+06}, Timestamp: 3000,
		}}, -1},
		{"float custom buckets", []prompb.Histogram{{
			Count: &prompb.Histogram_CountFloat{CountFloat: 2.5}, Sum: 1.5, Schema: -53,
			ZeroCount:     &prompb.Histogram_ZeroCountFloat{},
			PositiveSpans: spans(0, 2), PositiveCounts: []float64{1, 1.5},
			CustomValues: []float64{-0.5, 0.5}, Timestamp: 3000,
		}}, 0},
		{"NaN sum", []prompb.Histogram{intHist(4000, 5, 0, math.NaN(), 0, spans(0, 1), []int64{3}, nil, nil)}, 0},
		{"stale integer histogram", []prompb.Histogram{intHist(5000, 0, 0, staleNaN, 0, nil, nil, nil, nil)}, 0},
		{"stale float histogram", []prompb.Histogram{floatHist(5000, 0, 0, staleNaN, 2, nil, nil, nil, nil)}, 0},
		{"float specials and -0", []prompb.Histogram{floatHist(6000, math.Inf(1), math.NaN(), math.Inf(-1), 0, spans(0, 3),
			[]float64{staleNaN, math.Inf(1), math.Copysign(0, -1)}, nil, nil)}, 0},
		{"largest exact count", []prompb.Histogram{intHist(7, maxExactCount, maxExactCount, 1e308, 0, spans(0, 1), []int64{0}, nil, nil)}, 0},
		{"every reset hint", []prompb.Histogram{
			withHint(intHist(1, 0, 0, 0, 8, nil, nil, nil, nil), prompb.Histogram_UNKNOWN),
			withHint(intHist(2, 0, 0, 0, 8, nil, nil, nil, nil), prompb.Histogram_YES),
			withHint(intHist(3, 0, 0, 0, 8, nil, nil, nil, nil), prompb.Histogram_NO),
			withHint(floatHist(4, 0, 0, 0, -4, nil, nil, nil, nil), prompb.Histogram_GAUGE),
			withHint(intHist(5, 0, 0, 0, 0, nil, nil, nil, nil), 7), // unknown to this version, kept as sent
		}, 1700000000000},
		{"zero threshold 0", []prompb.Histogram{func() prompb.Histogram {
			h := floatHist(8, 1, 1, 1, 0, nil, nil, nil, nil)
			h.ZeroThreshold = 0
			return h
		}()}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Counts
			out, err := AppendHistograms(nil, lbls("__name__", "h", "job", "x"), tc.hs, tc.startTs, &c)
			if err != nil {
				t.Fatal(err)
			}
			if c.Histograms != len(tc.hs) {
				t.Fatalf("%d histograms written, want %d", c.Histograms, len(tc.hs))
			}
			checkHistogramRoundTrip(t, out, tc.hs, tc.startTs)
		})
	}
}

// histRow returns the row of a stored integer histogram with overrides:
// col=value sets a number, col="text" a string, col=nil a null.
func histRow(overrides map[string]any) ([]float64, []string) {
	base := map[string]any{
		histogramCountField: 3.0, histogramSumField: 1.5, histogramZeroCountField: 1.0,
		histogramZeroThresholdField: 0.001, histogramSchemaField: 0.0, histogramResetHintField: 0.0,
		histogramFloatField: 0.0, histogramPositiveSpansField: "0:2", histogramPositiveField: "1,0",
	}
	for k, v := range overrides {
		base[k] = v
	}
	nums := make([]float64, len(HistogramColumns))
	text := make([]string, len(HistogramColumns))
	for i, col := range HistogramColumns {
		nums[i] = math.NaN()
		switch v := base[col].(type) {
		case float64:
			nums[i] = v
		case string:
			text[i] = v
		}
	}
	return nums, text
}

func TestDecodeHistogramRow(t *testing.T) {
	nums, text := histRow(nil)
	h, ok, err := DecodeHistogram(42, nums, text)
	if err != nil || !ok {
		t.Fatalf("DecodeHistogram() = ok %v, error %v", ok, err)
	}
	want := intHist(42, 3, 1, 1.5, 0, spans(0, 2), []int64{1, 0}, nil, nil)
	if h.String() != want.String() {
		t.Errorf("DecodeHistogram() =\n%v\nwant\n%v", h.String(), want.String())
	}

	// Both a finite and a special value at one timestamp: the finite one
	// wins, as for float samples.
	nums, text = histRow(map[string]any{histogramSumField + specialSuffix: 3.0})
	if h, _, err := DecodeHistogram(1, nums, text); err != nil || h.Sum != 1.5 {
		t.Errorf("sum with both fields = %v, %v; want 1.5", h.Sum, err)
	}
}

func TestDecodeHistogramNoHistogram(t *testing.T) {
	for _, tc := range []struct {
		name string
		row  map[string]any
	}{
		{"all null (a float sample point)", map[string]any{
			histogramCountField: nil, histogramSumField: nil, histogramZeroCountField: nil, histogramZeroThresholdField: nil,
			histogramSchemaField: nil, histogramResetHintField: nil, histogramFloatField: nil,
			histogramPositiveSpansField: nil, histogramPositiveField: nil,
		}},
		{"schema null", map[string]any{histogramSchemaField: nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nums, text := histRow(tc.row)
			h, ok, err := DecodeHistogram(1, nums, text)
			if ok || err != nil {
				t.Errorf("DecodeHistogram() = %v, ok %v, error %v; want no histogram", h.String(), ok, err)
			}
		})
	}
}

func TestDecodeHistogramErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		row  map[string]any
		want string
	}{
		{"count missing", map[string]any{histogramCountField: nil}, `field "h_count": missing, and no "h_count_special"`},
		{"bad special code", map[string]any{histogramSumField: nil, histogramSumField + specialSuffix: 0.5}, `field "h_sum_special": invalid "special" field value 0.5`},
		{"fractional integer count", map[string]any{histogramCountField: 2.5}, `field "h_count": value 2.5 is not an integer count in [0, 2^53]`},
		{"negative integer count", map[string]any{histogramZeroCountField: -1.0}, `field "h_zero_count": value -1 is not an integer count`},
		{"count above 2^53", map[string]any{histogramCountField: float64(1 << 54)}, `field "h_count": value 1.8014398509481984e+16 is not an integer count`},
		{"schema out of range", map[string]any{histogramSchemaField: float64(1 << 40)}, `field "h_schema": value 1.099511627776e+12 is not an integer in [-2147483648, 2147483647]`},
		{"fractional reset hint", map[string]any{histogramResetHintField: 1.5}, `field "h_reset_hint": value 1.5 is not an integer in [-2147483648, 2147483647]`},
		{"float flag missing", map[string]any{histogramFloatField: nil}, `field "h_float": value NaN is not a boolean`},
		{"bad span", map[string]any{histogramPositiveSpansField: "0:2,x"}, `field "h_pos_spans": element 1 "x": not offset:length`},
		{"span length negative", map[string]any{histogramPositiveSpansField: "0:-2"}, `field "h_pos_spans": element 0 "0:-2": strconv.ParseUint`},
		{"empty element", map[string]any{histogramPositiveField: "1,"}, `field "h_pos": element 1 "": strconv.ParseInt`},
		{"float delta in integer histogram", map[string]any{histogramPositiveField: "1,0.5"}, `field "h_pos": element 1 "0.5"`},
		{"NaN as text", map[string]any{histogramFloatField: 1.0, histogramPositiveField: "1,NaN"}, `field "h_pos": element 1 "NaN": invalid float "NaN"`},
		{"bad list special", map[string]any{histogramCustomValuesField: "special:0"}, `field "h_custom_values": element 0 "special:0": invalid "special" field value 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nums, text := histRow(tc.row)
			_, ok, err := DecodeHistogram(7, nums, text)
			if err == nil || ok {
				t.Fatalf("DecodeHistogram() = ok %v, error %v; want error", ok, err)
			}
			want := "cannot decode histogram at 7: " + tc.want
			if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error = %q, want one line starting with %q", err, want)
			}
		})
	}
	if _, _, err := DecodeHistogram(7, []float64{1}, []string{""}); err == nil || !strings.Contains(err.Error(), "want 17 columns") {
		t.Errorf("short row: error = %v, want a column count error", err)
	}
}

func TestParseListFloat(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1e-300, 5e-324, -1.7976931348623157e308, 0.1, math.NaN(), staleNaN, math.Inf(1), math.Inf(-1), math.Float64frombits(0xfff0000000000001)} {
		s := string(appendListFloat(nil, v))
		got, err := parseListFloat(s)
		if err != nil || math.Float64bits(got) != math.Float64bits(v) {
			t.Errorf("parseListFloat(%q) = %v (%#x), %v; want %#x", s, got, math.Float64bits(got), err, math.Float64bits(v))
		}
	}
	for _, s := range []string{"", "Inf", "nan", "1e400", "special:", "special:x", "special:0", "special:4503599627370497"} {
		if v, err := parseListFloat(s); err == nil {
			t.Errorf("parseListFloat(%q) = %v, want error", s, v)
		}
	}
}

func BenchmarkDecodeHistogram(b *testing.B) {
	h := intHist(1000, 12, 2, 18.5, 3, spans(-2, 2, 3, 1), []int64{2, 1, -2}, spans(0, 1), []int64{4})
	var c Counts
	line, err := AppendHistograms(nil, lbls("__name__", "h"), []prompb.Histogram{h}, 1, &c)
	if err != nil {
		b.Fatal(err)
	}
	p, err := modelParseKey(modelSplitLines(line)[0])
	if err != nil {
		b.Fatal(err)
	}
	fs, ts, err := modelParseFields(p.fields)
	if err != nil {
		b.Fatal(err)
	}
	nums, text := rowFromFields(b, fs)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok, err := DecodeHistogram(ts, nums, text); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// FuzzDecodeHistogram feeds arbitrary rows: DecodeHistogram must not
// panic, and any histogram it returns that AppendHistograms accepts must
// come back from the stored line bit for bit.
func FuzzDecodeHistogram(f *testing.F) {
	f.Add(3.0, 1.5, 3.0, 0.0, false, "0:2", "1,0", "", "", "")
	f.Add(2.5, math.NaN(), -53.0, 3.0, true, "0:2", "1,1.5", "", "", "0.1,special:3")
	f.Add(0.0, 0.0, 8.0, 1.0, false, "", "", "-5:1", "4", "")
	f.Fuzz(func(t *testing.T, count, sum, schema, hint float64, isFloat bool, posSpans, pos, negSpans, neg, cv string) {
		nums, text := histRow(map[string]any{
			histogramCountField: count, histogramSumField: sum, histogramSchemaField: schema,
			histogramResetHintField: hint, histogramFloatField: map[bool]float64{true: 1, false: 0}[isFloat],
			histogramPositiveSpansField: posSpans, histogramPositiveField: pos,
			histogramNegativeSpansField: negSpans, histogramNegativeField: neg, histogramCustomValuesField: cv,
		})
		if math.IsNaN(sum) {
			nums[colSumSpecial] = 2
		}
		h, ok, err := DecodeHistogram(9, nums, text)
		if err != nil || !ok {
			if ok {
				t.Fatal("ok with an error")
			}
			return
		}
		var c Counts
		out, err := AppendHistograms(nil, lbls("__name__", "h"), []prompb.Histogram{h}, 0, &c)
		if err != nil {
			return // decoded, but not a valid histogram
		}
		checkHistogramRoundTrip(t, out, []prompb.Histogram{h}, 0)
	})
}
