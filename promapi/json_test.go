package promapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

var update = flag.Bool("update", false, "rewrite the golden answers in testdata")

// exponential is a native histogram with negative, zero and positive
// buckets, one of them empty.
func exponential() *histogram.FloatHistogram {
	return &histogram.FloatHistogram{
		Schema:          0,
		ZeroThreshold:   0.001,
		ZeroCount:       2,
		Count:           12,
		Sum:             -3.25,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 1}},
		PositiveBuckets: []float64{1, 0, 5},
		NegativeSpans:   []histogram.Span{{Offset: 1, Length: 1}},
		NegativeBuckets: []float64{4},
	}
}

// custom is a native histogram with custom buckets (schema -53).
func custom() *histogram.FloatHistogram {
	return &histogram.FloatHistogram{
		Schema:          histogram.CustomBucketsSchema,
		Count:           7,
		Sum:             1e-7,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 3}},
		PositiveBuckets: []float64{1, 2, 4},
		CustomValues:    []float64{0.1, 1},
	}
}

// TestWriteSuccessGolden compares the answers of every result type with
// the files in testdata, whose form is that of Prometheus's own API.
// go test -run Golden -update rewrites them.
func TestWriteSuccessGolden(t *testing.T) {
	odd := labels.FromStrings("__name__", "odd", "q", "quote\" backslash\\ newline\n tab\t control\x01 html<&> separator\u2028 invalid\xff é")
	up := labels.FromStrings("__name__", "up", "instance", "a:1", "job", "api")
	for _, tc := range []struct {
		name     string
		v        parser.Value
		warnings []string
		infos    []string
	}{
		{name: "vector", v: promql.Vector{
			{Metric: up, T: 1435781451781, F: 1},
			{Metric: up, T: 1435781451000, F: 0},
			{Metric: up, T: 1435781451100, F: -0.5},
			{Metric: up, T: 1435781451001, F: 123456.789},
			{Metric: up, T: -1500, F: 1e-7},
			{Metric: up, T: 0, F: 1e21},
			{Metric: up, T: 1, F: 1e20},
			{Metric: odd, T: 1435781451781, F: math.NaN()},
			{Metric: odd, T: 1435781451781, F: math.Float64frombits(value.StaleNaN)},
			{Metric: odd, T: 1435781451781, F: math.Inf(1)},
			{Metric: odd, T: 1435781451781, F: math.Inf(-1)},
			{Metric: labels.EmptyLabels(), T: 1435781451781, F: 2},
			{Metric: up, T: 1435781451781, H: exponential()},
			{Metric: up, T: 1435781451781, H: custom()},
			{Metric: up, T: 1435781451781, H: &histogram.FloatHistogram{}},
		}},
		{name: "vector_empty", v: promql.Vector{}},
		{name: "matrix", v: promql.Matrix{
			{Metric: up, Floats: []promql.FPoint{{T: 1000, F: 1}, {T: 2500, F: math.NaN()}, {T: 4000, F: 3e-9}}},
			{Metric: odd, Histograms: []promql.HPoint{{T: 1000, H: exponential()}, {T: 2000, H: custom()}}},
			{Metric: labels.FromStrings("kind", "both"), Floats: []promql.FPoint{{T: 1000, F: 1}}, Histograms: []promql.HPoint{{T: 2000, H: custom()}}},
		}},
		{name: "matrix_empty", v: promql.Matrix{}},
		{name: "scalar", v: promql.Scalar{T: 1435781451781, V: 1e-7}},
		{name: "scalar_nan", v: promql.Scalar{T: 1435781451000, V: math.NaN()}},
		{name: "scalar_large", v: promql.Scalar{T: 100, V: 1e22}},
		{name: "string", v: promql.String{T: 1435781451781, V: "a <b> & \"c\"\n"}},
		{name: "annotations", v: promql.Vector{{Metric: up, T: 1000, F: 1}},
			warnings: []string{`PromQL warning: encountered a mix of histograms and floats for metric name "x"`},
			infos:    []string{`PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "up"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeSuccess(&buf, tc.v, tc.warnings, tc.infos); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, buf.Bytes())
		})
	}
}

// TestAppendErrorGolden: an error answer.
func TestAppendErrorGolden(t *testing.T) {
	got := appendError(nil, &apiError{errorExec, errors.New(`expanding series: query processing would load too many samples into memory in query execution`)})
	checkGolden(t, "error", got)
	got = appendError(nil, invalidParam(errors.New(`1:3: parse error: unexpected "<"`), "query"))
	checkGolden(t, "error_bad_data", got)
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	if !json.Valid(got) {
		t.Fatalf("invalid JSON: %s", got)
	}
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.TrimSuffix(want, []byte("\n"))) {
		t.Errorf("answer differs from %s:\ngot  %s\nwant %s", path, got, want)
	}
}

// TestWriteSuccessFlushes: a matrix larger than flushBytes is written in
// several writes, and whole.
func TestWriteSuccessFlushes(t *testing.T) {
	m := make(promql.Matrix, 100)
	for i := range m {
		m[i].Metric = labels.FromStrings("__name__", "x", "i", string(rune('a'+i%26)))
		for j := range 200 {
			m[i].Floats = append(m[i].Floats, promql.FPoint{T: int64(j) * 1000, F: float64(i * j)})
		}
	}
	w := &countingWriter{}
	if err := writeSuccess(w, m, nil, nil); err != nil {
		t.Fatal(err)
	}
	if w.writes < 2 {
		t.Errorf("%d bytes in %d writes", w.buf.Len(), w.writes)
	}
	var answer struct {
		Data struct{ Result []json.RawMessage }
	}
	if err := json.Unmarshal(w.buf.Bytes(), &answer); err != nil || len(answer.Data.Result) != len(m) {
		t.Errorf("%d series, %v", len(answer.Data.Result), err)
	}
}

type countingWriter struct {
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.buf.Write(p)
}

// TestAppendString: escaping as encoding/json does it.
func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" backslash\\", "\x00\x1f\x7f", "<html>&amp;", "é ü 日本", "\u2028\u2029", "\b\f\n\r\t"} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
	// Invalid UTF-8 becomes U+FFFD, as encoding/json writes it.
	if got := string(appendString(nil, "a\xffb\xc3")); got != `"a\ufffdb\ufffd"` {
		t.Errorf("invalid UTF-8: %s", got)
	}
}

// TestAppendJSONFloat: numbers as encoding/json writes them.
func TestAppendJSONFloat(t *testing.T) {
	for _, f := range []float64{0, 1, -1.5, 1435781451.781, 1e-7, 1.5e-10, 1e21, 1e20, 123e300, -1e-300} {
		want, _ := json.Marshal(f)
		if got := appendJSONFloat(nil, f); !bytes.Equal(got, want) {
			t.Errorf("appendJSONFloat(%v) = %s, want %s", f, got, want)
		}
	}
}
