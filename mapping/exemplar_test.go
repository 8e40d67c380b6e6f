package mapping

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/prompb"
)

func TestAppendExemplars(t *testing.T) {
	for _, tc := range []struct {
		name string
		es   []prompb.Exemplar
		want string
	}{
		{
			name: "trace and span id, sorted on output",
			es:   []prompb.Exemplar{{Labels: lbls("trace_id", "abc", "span_id", "x"), Value: 0.25, Timestamp: 1000}},
			want: `m,job=x exemplar_value=0.25,exemplar_labels="{span_id=\"x\",trace_id=\"abc\"}" 1000` + "\n",
		},
		{
			name: "no labels",
			es:   []prompb.Exemplar{{Value: 1, Timestamp: 1}},
			want: `m,job=x exemplar_value=1,exemplar_labels="{}" 1` + "\n",
		},
		{
			name: "awkward labels: quotes, backslash, comma, newline, emoji, UTF-8 name, invalid UTF-8",
			es:   []prompb.Exemplar{{Labels: lbls("trace_id", "a,\"b\"\\ c\n😀", "span.id", "x=y", "b", "\xff\x00"), Value: -2, Timestamp: 2}},
			want: `m,job=x exemplar_value=-2,exemplar_labels="{b=\"\\xff\\x00\",\"span.id\"=\"x=y\",trace_id=\"a,\\\"b\\\"\\\\ c\\n😀\"}" 2` + "\n",
		},
		{
			name: "special values, out-of-range skipped",
			es: []prompb.Exemplar{
				{Value: math.Inf(-1), Timestamp: 1},
				{Value: 1, Timestamp: minTimestampMs - 1},
				{Value: staleNaN, Timestamp: 2},
			},
			want: `m,job=x exemplar_value_special=-1,exemplar_labels="{}" 1` + "\n" +
				`m,job=x exemplar_value_special=3,exemplar_labels="{}" 2` + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Counts
			got, err := AppendExemplars([]byte("x\n"), lbls("__name__", "m", "job", "x"), tc.es, &c)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "x\n"+tc.want {
				t.Fatalf("AppendExemplars() =\n%s\nwant\n%s", got, "x\n"+tc.want)
			}
			lines := strings.Count(tc.want, "\n")
			if c.Exemplars != lines || c.ExemplarsSkipped[skipOutOfRange] != len(tc.es)-lines {
				t.Errorf("counts = %+v", c)
			}
			// What InfluxDB stores must give the labels back exactly.
			for i, line := range modelSplitLines(got[2:]) {
				p, err := modelParseKey(line)
				if err != nil {
					t.Fatal(err)
				}
				fs, _, err := modelParseFields(p.fields)
				if err != nil {
					t.Fatal(err)
				}
				back, err := parseLabelsText(fs[exemplarLabelsField].str)
				if err != nil {
					t.Fatalf("line %d: %v", i, err)
				}
				want := map[string]string{}
				for _, l := range tc.es[i].Labels {
					want[l.Name] = l.Value
				}
				if !mapsEqual(back, want) {
					t.Errorf("line %d: labels read back as %q, want %q", i, back, want)
				}
			}
		})
	}
}

// parseLabelsText parses the text form appendLabelsText writes.
func parseLabelsText(s string) (map[string]string, error) {
	out := map[string]string{}
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, errors.New("not in braces: " + s)
	}
	s = s[1 : len(s)-1]
	for s != "" {
		var name string
		if s[0] == '"' {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, err
			}
			name, _ = strconv.Unquote(q)
			s = s[len(q):]
		} else {
			i := strings.IndexByte(s, '=')
			if i < 0 {
				return nil, errors.New("no '=' in " + s)
			}
			name, s = s[:i], s[i:]
		}
		if !strings.HasPrefix(s, "=") {
			return nil, errors.New("no '=' in " + s)
		}
		q, err := strconv.QuotedPrefix(s[1:])
		if err != nil {
			return nil, err
		}
		out[name], _ = strconv.Unquote(q)
		s = strings.TrimPrefix(s[1+len(q):], ",")
	}
	return out, nil
}

func TestAppendExemplarsRefused(t *testing.T) {
	var c Counts
	out, err := AppendExemplars(nil, lbls("job", "x"), []prompb.Exemplar{{Value: 1}}, &c)
	var se *seriesError
	if !errors.As(err, &se) || se.Reason != "missing metric name (__name__)" || len(out) != 0 || c.Exemplars != 0 {
		t.Fatalf("AppendExemplars() = %q, %v, want nothing and a missing metric name", out, err)
	}
	long := lbls("__name__", "m", "k", strings.Repeat("v", maxSeriesKeyLen-len("m,k=")))
	if _, err := AppendExemplars(nil, long, []prompb.Exemplar{{Value: 1}}, &c); !errors.As(err, &se) ||
		se.Reason != "series key is 65524 bytes in line protocol, InfluxDB 1.x allows 65509" {
		t.Fatalf("AppendExemplars() error = %v, want a key length refusal", err)
	}
}

func TestAppendLabelsTextUnsortedDoesNotModifyInput(t *testing.T) {
	in := lbls("z", "1", "a", "2", "a", "0")
	got := string(appendLabelsText(nil, in))
	if want := `{a="2",a="0",z="1"}`; got != want {
		t.Errorf("appendLabelsText() = %s, want %s", got, want)
	}
	if in[0].Name != "z" {
		t.Errorf("input reordered: %v", in)
	}
}

func BenchmarkAppendExemplars(b *testing.B) {
	ls := nodeExporterLabels()
	es := []prompb.Exemplar{{Labels: lbls("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736", "span_id", "00f067aa0ba902b7"), Value: 0.042, Timestamp: 1700000000000}}
	var c Counts
	buf, _ := AppendExemplars(nil, ls, es, &c)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf, _ = AppendExemplars(buf[:0], ls, es, &c)
	}
}

// FuzzAppendExemplars checks that any exemplar labels and value read back
// exactly from what InfluxDB stores.
func FuzzAppendExemplars(f *testing.F) {
	f.Add("trace_id", "abc", "span.id", "a,\"b\"\\ c\n😀", 0.25)
	f.Add("", "\xff\x00", "x", "", math.NaN())
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, v float64) {
		es := []prompb.Exemplar{{Labels: lbls(k1, v1, k2, v2), Value: v, Timestamp: 1}}
		var c Counts
		out, err := AppendExemplars(nil, lbls("__name__", "m"), es, &c)
		if err != nil {
			t.Fatal(err)
		}
		lines := modelSplitLines(out)
		if len(lines) != 1 {
			t.Fatalf("InfluxDB would see %d lines in %q", len(lines), out)
		}
		p, err := modelParseKey(lines[0])
		if err != nil {
			t.Fatal(err)
		}
		fs, ts, err := modelParseFields(p.fields)
		if err != nil || ts != 1 {
			t.Fatalf("fields %q: %v, timestamp %d", p.fields, err, ts)
		}
		back, err := parseLabelsText(fs[exemplarLabelsField].str)
		if err != nil {
			t.Fatal(err)
		}
		// A repeated name keeps its order (stable sort), so the second
		// value wins in the map.
		want := map[string]string{k1: v1}
		want[k2] = v2
		if !mapsEqual(back, want) {
			t.Fatalf("labels read back as %q, want %q", back, want)
		}
		got, err := readFloatField(fs, exemplarValueField)
		if err != nil || math.Float64bits(got) != math.Float64bits(v) {
			t.Fatalf("value read back as %v (%v), want %v", got, err, v)
		}
	})
}

// readFloatField reads key, or key+specialSuffix as a specialCode.
func readFloatField(fs map[string]modelField, key string) (float64, error) {
	if f, ok := fs[key+specialSuffix]; ok {
		code, err := strconv.ParseFloat(f.raw, 64)
		if err != nil {
			return 0, err
		}
		return SpecialValue(code)
	}
	return strconv.ParseFloat(fs[key].raw, 64)
}
