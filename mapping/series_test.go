package mapping

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
)

// lbls builds labels from name, value pairs, in the given order.
func lbls(kv ...string) []prompb.Label {
	out := make([]prompb.Label, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

func samples(vt ...float64) []prompb.Sample {
	out := make([]prompb.Sample, 0, len(vt)/2)
	for i := 0; i+1 < len(vt); i += 2 {
		out = append(out, prompb.Sample{Value: vt[i], Timestamp: int64(vt[i+1])})
	}
	return out
}

// readBack is what a reader gets back from InfluxDB for one written line,
// according to the line model, with stored names decoded.
type readBack struct {
	labels    map[string]string
	value     float64
	timestamp int64
}

// modelReadBack parses buf with the InfluxDB line model and decodes the
// stored names.
func modelReadBack(buf []byte) ([]readBack, error) {
	if len(buf) > 0 && buf[len(buf)-1] != '\n' {
		return nil, errors.New("output does not end with a newline")
	}
	var out []readBack
	for _, line := range modelSplitLines(buf) {
		p, err := modelParseKey(line)
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", line, err)
		}
		m, err := DecodeMeasurement(p.measurement)
		if err != nil {
			return nil, err
		}
		rb := readBack{labels: map[string]string{metricNameLabel: m}}
		for _, kv := range p.tags {
			k, err := DecodeTagKey(kv[0])
			if err != nil {
				return nil, err
			}
			v, err := DecodeTagValue(kv[1])
			if err != nil {
				return nil, err
			}
			rb.labels[k] = v
		}
		v, ts, ok := strings.Cut(p.fields, " ")
		field, f, fok := strings.Cut(v, "=")
		if !ok || !fok || (field != fieldKey && field != specialFieldKey) {
			return nil, fmt.Errorf("line %q: fields %q are not %s|%s=<float> <ms>", line, p.fields, fieldKey, specialFieldKey)
		}
		if rb.value, err = strconv.ParseFloat(f, 64); err != nil {
			return nil, fmt.Errorf("line %q: %w", line, err)
		}
		if math.IsNaN(rb.value) || math.IsInf(rb.value, 0) {
			return nil, fmt.Errorf("line %q: InfluxDB 1.x refuses NaN and infinite fields", line)
		}
		if field == specialFieldKey {
			if rb.value, err = SpecialValue(rb.value); err != nil {
				return nil, fmt.Errorf("line %q: %w", line, err)
			}
		}
		if rb.timestamp, err = strconv.ParseInt(ts, 10, 64); err != nil {
			return nil, fmt.Errorf("line %q: %w", line, err)
		}
		out = append(out, rb)
	}
	return out, nil
}

func wantLabels(ls []prompb.Label) map[string]string {
	m := map[string]string{}
	for _, l := range ls {
		if l.Value != "" {
			m[l.Name] = l.Value
		}
	}
	return m
}

func TestAppendSeriesLines(t *testing.T) {
	for _, tc := range []struct {
		name    string
		labels  []prompb.Label
		samples []prompb.Sample
		want    string
	}{
		{
			name:    "node exporter series",
			labels:  lbls("__name__", "node_cpu_seconds_total", "cpu", "0", "instance", "host:9100", "job", "node", "mode", "idle"),
			samples: samples(12.5, 1700000000000, 13, 1700000015000),
			want: "node_cpu_seconds_total,cpu=0,instance=host:9100,job=node,mode=idle value=12.5 1700000000000\n" +
				"node_cpu_seconds_total,cpu=0,instance=host:9100,job=node,mode=idle value=13 1700000015000\n",
		},
		{
			name:    "no tags",
			labels:  lbls("__name__", "up"),
			samples: samples(1, 1000),
			want:    "up value=1 1000\n",
		},
		{
			name:    "empty values are not stored",
			labels:  lbls("__name__", "up", "a", "", "job", "x"),
			samples: samples(1, 1000),
			want:    "up,job=x value=1 1000\n",
		},
		{
			name:    "unsorted labels are sorted",
			labels:  lbls("zone", "z", "__name__", "up", "az", "a"),
			samples: samples(1, 1000),
			want:    "up,az=a,zone=z value=1 1000\n",
		},
		{
			name:    "tags sort by stored key",
			labels:  lbls("__name__", "up", "time", "t", "u", "x", "~a", "y"),
			samples: samples(1, 1000),
			want:    "up,u=x,~a=y,~b64~dGltZQ=t value=1 1000\n",
		},
		{
			name:    "label named value",
			labels:  lbls("__name__", "up", "value", "v"),
			samples: samples(1, 1000),
			want:    "up,value=v value=1 1000\n",
		},
		{
			name:    "escaping and encoding",
			labels:  lbls("__name__", "a b,c", "k=1", "x y", "path", "C:\\dir\\", "msg", "two\nlines"),
			samples: samples(1, 1000),
			want:    "a\\ b\\,c,k\\=1=x\\ y,msg=~b64~dHdvCmxpbmVz,path=~b64~QzpcZGlyXA value=1 1000\n",
		},
		{
			name:   "float formatting",
			labels: lbls("__name__", "m"),
			samples: []prompb.Sample{
				{Value: 1e6, Timestamp: 1}, {Value: math.Copysign(0, -1), Timestamp: 2},
				{Value: 5e-324, Timestamp: 3}, {Value: math.MaxFloat64, Timestamp: 4},
				{Value: 0.1, Timestamp: 5}, {Value: -1e-7, Timestamp: 6},
			},
			want: "m value=1e+06 1\nm value=-0 2\nm value=5e-324 3\nm value=1.7976931348623157e+308 4\nm value=0.1 5\nm value=-1e-07 6\n",
		},
		{
			name:    "timestamp range edges",
			labels:  lbls("__name__", "m"),
			samples: []prompb.Sample{{Value: 1, Timestamp: minTimestampMs}, {Value: 2, Timestamp: maxTimestampMs}},
			want:    "m value=1 -9223372036854\nm value=2 9223372036854\n",
		},
		{
			name:   "special values",
			labels: lbls("__name__", "up", "job", "x"),
			samples: []prompb.Sample{
				{Value: 1, Timestamp: 1000}, {Value: math.Float64frombits(value.StaleNaN), Timestamp: 2000},
				{Value: math.Inf(1), Timestamp: 3000}, {Value: math.Inf(-1), Timestamp: 4000},
				{Value: math.NaN(), Timestamp: 5000}, {Value: math.Float64frombits(0xfff8000000000001), Timestamp: 6000},
				{Value: math.Float64frombits(0x7fffffffffffffff), Timestamp: 7000},
			},
			// 2.25179981368525e+15 is 2251799813685250, written in the
			// shortest form like every value.
			want: "up,job=x value=1 1000\nup,job=x special=3 2000\nup,job=x special=1 3000\nup,job=x special=-1 4000\n" +
				"up,job=x special=2.25179981368525e+15 5000\nup,job=x special=-2.25179981368525e+15 6000\n" +
				"up,job=x special=4.503599627370496e+15 7000\n",
		},
		{
			name:    "only a stale marker",
			labels:  lbls("__name__", "up"),
			samples: []prompb.Sample{{Value: math.Float64frombits(value.StaleNaN), Timestamp: 1}},
			want:    "up special=3 1\n",
		},
		{
			name:    "all samples skipped",
			labels:  lbls("__name__", "m", "job", "x"),
			samples: []prompb.Sample{{Value: 1, Timestamp: maxTimestampMs + 1}},
			want:    "",
		},
		{
			name:    "no samples",
			labels:  lbls("__name__", "m"),
			samples: nil,
			want:    "",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Counts
			prefix := "previous\n"
			got, err := AppendSeries([]byte(prefix), tc.labels, tc.samples, 0, &c)
			if err != nil {
				t.Fatalf("AppendSeries() error = %v", err)
			}
			if string(got) != prefix+tc.want {
				t.Fatalf("AppendSeries() =\n%q\nwant\n%q", got, prefix+tc.want)
			}
			if want := strings.Count(tc.want, "\n"); c.Points != want {
				t.Errorf("Points = %d, want %d", c.Points, want)
			}
			rbs, err := modelReadBack(got[len(prefix):])
			if err != nil {
				t.Fatalf("InfluxDB line model: %v", err)
			}
			for i, rb := range rbs {
				if want := wantLabels(tc.labels); !mapsEqual(rb.labels, want) {
					t.Errorf("read back labels %q, want %q", rb.labels, want)
				}
				if s := tc.samples[i]; math.Float64bits(rb.value) != math.Float64bits(s.Value) || rb.timestamp != s.Timestamp {
					t.Errorf("line %d read back as %v@%d (%#x), want %v@%d (%#x)", i, rb.value, rb.timestamp, math.Float64bits(rb.value), s.Value, s.Timestamp, math.Float64bits(s.Value))
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestAppendSeriesRefused(t *testing.T) {
	long := strings.Repeat("x", maxSeriesKeyLen)
	for _, tc := range []struct {
		name       string
		labels     []prompb.Label
		wantReason string
		wantSeries string
	}{
		{"no labels", nil, "missing metric name (__name__)", "{}"},
		{"no name", lbls("job", "x"), "missing metric name (__name__)", `{job="x"}`},
		{"empty name", lbls("__name__", "", "job", "x"), "missing metric name (__name__)", `{__name__="", job="x"}`},
		{"empty label name", lbls("__name__", "up", "", "x"), "empty label name", `{__name__="up", ""="x"}`},
		{"duplicate sorted", lbls("__name__", "up", "job", "a", "job", "b"), `duplicate label name "job"`, `{__name__="up", job="a", job="b"}`},
		{"duplicate unsorted", lbls("job", "a", "__name__", "up", "job", "a"), `duplicate label name "job"`, `{job="a", __name__="up", job="a"}`},
		{"duplicate with empty value", lbls("__name__", "up", "job", "", "job", "b"), `duplicate label name "job"`, `{__name__="up", job="", job="b"}`},
		{"invalid UTF-8 value", lbls("__name__", "up", "path", "a\xffb"), `invalid UTF-8 in label value of "path"`, `{__name__="up", path="a\xffb"}`},
		{"invalid UTF-8 name", lbls("__name__", "up", "p\xff", "v"), `invalid UTF-8 in label name "p\xff"`, `{__name__="up", "p\xff"="v"}`},
		{"invalid UTF-8 metric name", lbls("__name__", "up\xc3"), `invalid UTF-8 in label value of "__name__"`, `{__name__="up\xc3"}`},
		{"UTF-8 label name printed quoted", lbls("__name__", "up", "a.b", "\xff"), `invalid UTF-8 in label value of "a.b"`, `{__name__="up", "a.b"="\xff"}`},
		{"key too long", lbls("__name__", "up", "k", long), "series key is 65529 bytes in line protocol, InfluxDB 1.x allows 65524", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Counts
			dst := []byte("previous\n")
			got, err := AppendSeries(dst, tc.labels, samples(1, 1000), 0, &c)
			var se *seriesError
			if !errors.As(err, &se) {
				t.Fatalf("AppendSeries() error = %v, want *seriesError", err)
			}
			if se.Reason != tc.wantReason {
				t.Errorf("Reason = %q, want %q", se.Reason, tc.wantReason)
			}
			if tc.wantSeries != "" && se.Series != tc.wantSeries {
				t.Errorf("Series = %s, want %s", se.Series, tc.wantSeries)
			}
			if !utf8.ValidString(se.Error()) || len(se.Series) > 1024 {
				t.Errorf("Error() = %q is not short valid UTF-8", se.Error())
			}
			if string(got) != "previous\n" || c.Points != 0 {
				t.Errorf("refused series appended %q, Points = %d", got[len(dst):], c.Points)
			}
		})
	}
}

func TestAppendSeriesKeyLengthLimit(t *testing.T) {
	// "up,k=" is 5 bytes; a key of exactly maxSeriesKeyLen bytes is accepted.
	var c Counts
	ok := strings.Repeat("x", maxSeriesKeyLen-5)
	if _, err := AppendSeries(nil, lbls("__name__", "up", "k", ok), samples(1, 1), 0, &c); err != nil {
		t.Errorf("key of %d bytes refused: %v", maxSeriesKeyLen, err)
	}
	// Escaping counts: a space takes two bytes.
	tooLong := strings.Repeat(" ", (maxSeriesKeyLen-5)/2+1)
	if _, err := AppendSeries(nil, lbls("__name__", "up", "k", tooLong), samples(1, 1), 0, &c); err == nil {
		t.Error("escaped key over the limit accepted")
	}
}

func TestAppendSeriesSkips(t *testing.T) {
	stale := math.Float64frombits(value.StaleNaN)
	in := []prompb.Sample{
		{Value: 1, Timestamp: 1},
		{Value: math.NaN(), Timestamp: 2},
		{Value: stale, Timestamp: 3},
		{Value: math.Inf(1), Timestamp: 4},
		{Value: 2, Timestamp: maxTimestampMs + 1},
		{Value: 3, Timestamp: minTimestampMs - 1},
		{Value: 4, Timestamp: math.MaxInt64},
		{Value: stale, Timestamp: math.MinInt64},
		{Value: math.Inf(-1), Timestamp: maxTimestampMs + 1},
		{Value: 5, Timestamp: 6},
	}
	var c Counts
	got, err := AppendSeries(nil, lbls("__name__", "m"), in, 0, &c)
	if err != nil {
		t.Fatal(err)
	}
	want := "m value=1 1\nm special=2.25179981368525e+15 2\nm special=3 3\nm special=1 4\nm value=5 6\n"
	if string(got) != want {
		t.Errorf("AppendSeries() = %q, want %q", got, want)
	}
	wantCounts := Counts{Points: 5}
	wantCounts.Skipped[skipOutOfRange] = 5
	if c != wantCounts {
		t.Errorf("Counts = %+v, want %+v", c, wantCounts)
	}
	// Counts accumulate across calls.
	if _, err := AppendSeries(nil, lbls("__name__", "m"), in, 0, &c); err != nil {
		t.Fatal(err)
	}
	if c.Points != 10 || c.Skipped[skipOutOfRange] != 10 {
		t.Errorf("Counts after two calls = %+v", c)
	}
}

func TestSkipReasonString(t *testing.T) {
	want := []string{"out_of_range"}
	if int(NumSkipReasons) != len(want) {
		t.Fatalf("NumSkipReasons = %d, want %d", NumSkipReasons, len(want))
	}
	for r := SkipReason(0); r < NumSkipReasons; r++ {
		if got := r.String(); got != want[r] {
			t.Errorf("SkipReason(%d).String() = %q, want %q", r, got, want[r])
		}
	}
	if got := NumSkipReasons.String(); got != "unknown" {
		t.Errorf("out of range reason = %q", got)
	}
}

func TestTimestampBounds(t *testing.T) {
	// InfluxDB keeps nanoseconds in [MinInt64+2, MaxInt64-1].
	const minNano, maxNano = math.MinInt64 + 2, math.MaxInt64 - 1
	if maxTimestampMs*1e6 > maxNano || (maxTimestampMs+1)*1e6 <= maxNano {
		t.Errorf("maxTimestampMs = %d is not the largest ms that fits", int64(maxTimestampMs))
	}
	if minTimestampMs*1e6 < minNano || (minTimestampMs-1)*1e6 >= minNano {
		t.Errorf("minTimestampMs = %d is not the smallest ms that fits", int64(minTimestampMs))
	}
}

func TestAppendSeriesAllocs(t *testing.T) {
	ls := nodeExporterLabels()
	unsorted := slices.Clone(ls)
	slices.Reverse(unsorted)
	ss := make([]prompb.Sample, 100)
	for i := range ss {
		ss[i] = prompb.Sample{Value: float64(i) * 1.5, Timestamp: 1700000000000 + int64(i)*15000}
	}
	// Special values take their own path.
	ss[10].Value = math.Float64frombits(value.StaleNaN)
	ss[20].Value = math.NaN()
	ss[30].Value = math.Inf(-1)
	for _, tc := range []struct {
		name   string
		labels []prompb.Label
	}{
		{"sorted", ls},
		{"unsorted", unsorted},
		{"upper-case label before the name", append(lbls("Zone", "z"), ls...)},
		{"escaped values", lbls("__name__", "m x", "k", "a b,c=d", "path", "/mnt/My Disk")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if raceEnabled && tc.name == "unsorted" {
				t.Skip("the race detector makes sync.Pool drop items")
			}
			buf := make([]byte, 0, 64<<10)
			var c Counts
			allocs := testing.AllocsPerRun(100, func() {
				var err error
				buf, err = AppendSeries(buf[:0], tc.labels, ss, 0, &c)
				if err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("AppendSeries allocates %.1f times per series", allocs)
			}
		})
	}
}

func nodeExporterLabels() []prompb.Label {
	return lbls(
		"__name__", "node_filesystem_avail_bytes",
		"device", "/dev/nvme0n1p2",
		"env", "production",
		"fstype", "ext4",
		"instance", "node-17.example.internal:9100",
		"job", "node",
		"mountpoint", "/var/lib/docker",
		"region", "eu-west-1",
		"team", "platform",
		"zone", "eu-west-1b",
	)
}

func FuzzAppendSeries(f *testing.F) {
	f.Add("up", "job", "node", "instance", "a:1", 1.0, int64(1000))
	f.Add("a b,c", "k=1", "x y", "path", "C:\\dir\\", 0.5, int64(-1))
	f.Add("#x", "time", "t", "value", "two\nlines", math.Inf(1), int64(2))
	f.Add("~b64~YQ", "a\\", "\\,", "a\\=", "\"", math.NaN(), int64(maxTimestampMs))
	f.Add("\tm\\\"", "\\ ", "\\=\\ \"", "k", "\\ \\=,\"", math.Copysign(0, -1), int64(3))
	f.Add("up", "", "x", "job", "\xff", 1.0, int64(4))
	f.Fuzz(func(t *testing.T, name, k1, v1, k2, v2 string, v float64, ts int64) {
		in := lbls("__name__", name, k1, v1, k2, v2)
		var c Counts
		out, err := AppendSeries(nil, in, []prompb.Sample{{Value: v, Timestamp: ts}, {Value: 1, Timestamp: 0}}, 0, &c)
		if err != nil {
			var se *seriesError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *seriesError", err)
			}
			if len(out) != 0 {
				t.Fatalf("refused series appended %q", out)
			}
			valid := name != "" && k1 != "" && k2 != "" && k1 != k2 && k1 != "__name__" && k2 != "__name__"
			for _, s := range []string{name, k1, v1, k2, v2} {
				valid = valid && utf8.ValidString(s)
			}
			if valid && !strings.HasPrefix(se.Reason, "series key is ") {
				t.Fatalf("valid series refused: %v", err)
			}
			return
		}
		rbs, err := modelReadBack(out)
		if err != nil {
			t.Fatalf("InfluxDB would not store %q as written: %v", out, err)
		}
		if len(rbs) != c.Points {
			t.Fatalf("InfluxDB sees %d lines, AppendSeries counted %d", len(rbs), c.Points)
		}
		want := wantLabels(in)
		for _, rb := range rbs {
			if !mapsEqual(rb.labels, want) {
				t.Fatalf("read back %q, want %q (output %q)", rb.labels, want, out)
			}
		}
		last := rbs[len(rbs)-1]
		if last.value != 1 || last.timestamp != 0 {
			t.Fatalf("last sample read back as %v@%d", last.value, last.timestamp)
		}
		if len(rbs) == 2 && (math.Float64bits(rbs[0].value) != math.Float64bits(v) || rbs[0].timestamp != ts) {
			t.Fatalf("sample %v@%d read back as %v@%d", v, ts, rbs[0].value, rbs[0].timestamp)
		}
	})
}

func TestAppendSeriesStartTimestamp(t *testing.T) {
	var c Counts
	in := samples(1.5, 1000, math.Float64frombits(value.StaleNaN), 2000)
	got, err := AppendSeries(nil, lbls("__name__", "m", "job", "x"), in, 1699999999000, &c)
	if err != nil {
		t.Fatal(err)
	}
	want := "m,job=x value=1.5,start_ts=1699999999000i 1000\nm,job=x special=3,start_ts=1699999999000i 2000\n"
	if string(got) != want {
		t.Fatalf("AppendSeries() =\n%q\nwant\n%q", got, want)
	}

	// start_ts is one byte longer than special, so the key limit shrinks
	// by one when the series has a start timestamp.
	long := lbls("__name__", "m", "k", strings.Repeat("v", maxSeriesKeyLen-len("m,k=")))
	if _, err := AppendSeries(nil, long, in, 0, &c); err != nil {
		t.Fatalf("key of maxSeriesKeyLen without start timestamp: %v", err)
	}
	var se *seriesError
	if _, err := AppendSeries(nil, long, in, 1, &c); !errors.As(err, &se) ||
		se.Reason != "series key is 65524 bytes in line protocol, InfluxDB 1.x allows 65523" {
		t.Fatalf("key of maxSeriesKeyLen with start timestamp: error = %v", err)
	}
}
