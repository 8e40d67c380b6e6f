package main

import (
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/prompb"

	"github.com/promflux/promflux/mapping"
)

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want lpPoint
		err  error
	}{
		{"minimal", "m value=1.5", lpPoint{measurement: "m", fields: []lpField{{"value", 'f', "1.5"}}}, nil},
		{"full", "cpu,host=a,mode=idle value=1,start_ts=17i 1700000000000",
			lpPoint{"cpu", []lpTag{{"host", "a"}, {"mode", "idle"}}, []lpField{{"value", 'f', "1"}, {"start_ts", 'i', "17i"}}, 1700000000000, true}, nil},
		{"negative timestamp and exponent", "m v=-1.5e-3 -1", lpPoint{measurement: "m", fields: []lpField{{"v", 'f', "-1.5e-3"}}, timestamp: -1, hasTime: true}, nil},
		{"escaped measurement", `my\ meas\,ure value=1`, lpPoint{measurement: "my meas,ure", fields: []lpField{{"value", 'f', "1"}}}, nil},
		{"measurement keeps \\= escaped", `m\=x v=1`, lpPoint{measurement: `m\=x`, fields: []lpField{{"v", 'f', "1"}}}, nil},
		{"escaped tags", `m,k\ 1\=\,=v\ 2\,\= f=1`, lpPoint{measurement: "m", tags: []lpTag{{"k 1=,", "v 2,="}}, fields: []lpField{{"f", 'f', "1"}}}, nil},
		{"other backslashes kept", `m,path=C:\dir\x f=1`, lpPoint{measurement: "m", tags: []lpTag{{"path", `C:\dir\x`}}, fields: []lpField{{"f", 'f', "1"}}}, nil},
		{"string field with escapes and separators", `m s="a \"q\" \\ b, c=d" 5`, lpPoint{measurement: "m", fields: []lpField{{"s", 's', `a "q" \ b, c=d`}}, timestamp: 5, hasTime: true}, nil},
		{"booleans and integers", "m a=t,b=FALSE,c=-3i,d=True", lpPoint{measurement: "m", fields: []lpField{{"a", 'b', "t"}, {"b", 'b', "FALSE"}, {"c", 'i', "-3i"}, {"d", 'b', "True"}}}, nil},
		{"escaped field key", `m f\ 1\=x=2`, lpPoint{measurement: "m", fields: []lpField{{"f 1=x", 'f', "2"}}}, nil},
		{"several spaces", "m  v=1   3", lpPoint{measurement: "m", fields: []lpField{{"v", 'f', "1"}}, timestamp: 3, hasTime: true}, nil},

		{"empty measurement", ",t=1 v=1", lpPoint{}, errNoMeasurement},
		{"no fields", "m,t=1", lpPoint{}, errNoFields},
		{"no fields after space", "m ", lpPoint{}, errNoFields},
		{"empty tag key", "m,=v f=1", lpPoint{}, errNoTagKey},
		{"empty tag value", "m,t= f=1", lpPoint{}, errNoTagValue},
		{"tag without equals", "m,t f=1", lpPoint{}, errTagFormat},
		{"unescaped equals in tag value", "m,t=a=b f=1", lpPoint{}, errTagFormat},
		{"empty field key", "m =1", lpPoint{}, errNoFieldKey},
		{"empty field value", "m f=", lpPoint{}, errNoFieldValue},
		{"field without equals", "m f", lpPoint{}, errNoFieldValue},
		{"NaN", "m f=NaN", lpPoint{}, errNumber},
		{"infinity", "m f=+Inf", lpPoint{}, errNumber},
		{"hex float", "m f=0x1p-2", lpPoint{}, errNumber},
		{"bad integer", "m f=1.5i", lpPoint{}, errNumber},
		{"integer overflow", "m f=9223372036854775808i", lpPoint{}, errNumber},
		{"bad boolean", "m f=tru", lpPoint{}, errBoolean},
		{"unbalanced quotes", `m f="abc`, lpPoint{}, errUnbalancedQuote},
		{"escaped closing quote", `m f="abc\"`, lpPoint{}, errUnbalancedQuote},
		{"bad timestamp", "m f=1 12x", lpPoint{}, errTimestamp},
		{"two timestamps", "m f=1 1 2", lpPoint{}, errTimestamp},
		{"garbage after string", `m f="a"b`, lpPoint{}, errNoFieldValue},
		{"trailing comma in fields", "m f=1,", lpPoint{}, errNoFieldKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLine([]byte(tc.line))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("parseLine(%q) error = %v, want %v", tc.line, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseLine(%q): %v", tc.line, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseLine(%q) =\n%+v, want\n%+v", tc.line, got, tc.want)
			}
		})
	}
}

func TestCountAndValidateBody(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		count     int // countLines
		valid     int // validateBody's points
		malformed bool
	}{
		{"empty", "", 0, 0, false},
		{"terminated", "m v=1 1\nm v=2 2\n", 2, 2, false},
		{"last line unterminated", "m v=1 1\nm v=2 2", 2, 2, false},
		{"blank lines and comments are skipped by validation", "# c\nm v=1\n\n  \n", 4, 1, false},
		{"CRLF", "m v=1 1\r\nm v=2 2\r\n", 2, 2, false},
		{"malformed line among valid ones", "m v=1\nm v=\nm v=3\n", 3, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := countLines([]byte(tc.body)); got != tc.count {
				t.Errorf("countLines = %d, want %d", got, tc.count)
			}
			n, err := validateBody([]byte(tc.body))
			if n != tc.valid || (err != nil) != tc.malformed {
				t.Errorf("validateBody = %d, %v; want %d points, malformed=%v", n, err, tc.valid, tc.malformed)
			}
		})
	}
}

// TestParseLineReadsPromfluxLines: what promflux's mapping writes, escapes
// and special values included, parses, and the tags come back as stored.
func TestParseLineReadsPromfluxLines(t *testing.T) {
	lbls := []prompb.Label{
		{Name: "__name__", Value: "http requests,total"},
		{Name: "a b", Value: `x=y, z\`},
		{Name: "path", Value: `C:\dir`},
		{Name: "time", Value: "t"},
	}
	samples := []prompb.Sample{{Value: 1.5, Timestamp: 1}, {Value: -1e-300, Timestamp: 2}}
	body, err := mapping.AppendSeries(nil, lbls, samples, 1700000000000, &mapping.Counts{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := validateBody(body)
	if err != nil || n != len(samples) {
		t.Fatalf("validateBody(%q) = %d, %v; want %d points", body, n, err, len(samples))
	}
	p, err := parseLine(body[:countUntilNewline(body)])
	if err != nil {
		t.Fatal(err)
	}
	if p.measurement != mapping.StoredMeasurement("http requests,total") {
		t.Errorf("measurement %q, want %q", p.measurement, mapping.StoredMeasurement("http requests,total"))
	}
	for _, tag := range p.tags {
		found := false
		for _, l := range lbls[1:] {
			if tag.key == mapping.StoredTagKey(l.Name) && tag.value == mapping.StoredTagValue(l.Value) {
				found = true
			}
		}
		if !found {
			t.Errorf("tag %q=%q is not a stored label of %v", tag.key, tag.value, lbls)
		}
	}
	if len(p.tags) != len(lbls)-1 {
		t.Errorf("%d tags, want %d", len(p.tags), len(lbls)-1)
	}
}

func countUntilNewline(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return len(b)
}

// FuzzParseLine: the parser never panics, and a line it accepts can be
// written again from the parsed point, with the same result.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"m v=1 1", `m\ x,t\=k=v\,w f="s\"q",b=t,i=-1i 17`, "m,t=a=b f=1", `m f="`, `m\`, "m f=1e", "#c",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		p, err := parseLine(line)
		if err != nil {
			return
		}
		again, err := parseLine(formatLine(p))
		if err != nil {
			t.Fatalf("%q parsed as %+v, which formats to %q that does not parse: %v", line, p, formatLine(p), err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("%q: %+v formats to %q, parsed as %+v", line, p, formatLine(p), again)
		}
	})
}

// formatLine writes a point back with escapes, for the fuzz target's round
// trip. Backslashes are written as they are, as InfluxDB's writers do.
func formatLine(p lpPoint) []byte {
	esc := func(s string, equals bool) []byte {
		var out []byte
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == ',' || c == ' ' || (equals && c == '=') {
				out = append(out, '\\')
			}
			out = append(out, s[i])
		}
		return out
	}
	b := esc(p.measurement, false)
	for _, t := range p.tags {
		b = append(b, ',')
		b = append(b, esc(t.key, true)...)
		b = append(b, '=')
		b = append(b, esc(t.value, true)...)
	}
	for i, f := range p.fields {
		b = append(b, " ,"[min(i, 1)])
		b = append(b, esc(f.key, true)...)
		b = append(b, '=')
		if f.kind == 's' {
			b = append(b, '"')
			for k := 0; k < len(f.value); k++ {
				if c := f.value[k]; c == '"' || c == '\\' {
					b = append(b, '\\')
				}
				b = append(b, f.value[k])
			}
			b = append(b, '"')
			continue
		}
		b = append(b, f.value...)
	}
	if p.hasTime {
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.timestamp, 10)
	}
	return b
}

func BenchmarkCountLines(b *testing.B) {
	body := benchBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		countLines(body)
	}
}

func BenchmarkValidateBody(b *testing.B) {
	body := benchBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := validateBody(body); err != nil {
			b.Fatal(err)
		}
	}
}

// benchBody is what promflux writes for 2000 generated samples.
func benchBody(b *testing.B) []byte {
	g := &generator{series: 2000, labels: 10, start: 1700000000000, interval: 15000}
	var body []byte
	c := &mapping.Counts{}
	for i := range g.series {
		var err error
		body, err = mapping.AppendSeries(body, g.labelSet(i), []prompb.Sample{{Value: g.value(i, 0), Timestamp: g.timestamp(0)}}, 0, c)
		if err != nil {
			b.Fatal(err)
		}
	}
	return body
}
