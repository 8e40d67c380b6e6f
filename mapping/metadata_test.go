package mapping

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/prompb"
)

func TestAppendMetadata(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    prompb.MetricMetadata
		want string
	}{
		{
			name: "counter",
			m:    prompb.MetricMetadata{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "http_requests_total", Help: "Requests served.", Unit: ""},
			want: `promflux_metadata,metric=http_requests_total type="counter",help="Requests served.",unit="" 1700000000000` + "\n",
		},
		{
			name: "awkward help and name",
			m: prompb.MetricMetadata{Type: prompb.MetricMetadata_GAUGEHISTOGRAM, MetricFamilyName: "a b,c=d",
				Help: "line1\nline2 \"q\" \\ back\\\\slash, =😀\ttab\\", Unit: "seconds"},
			want: "promflux_metadata,metric=a\\ b\\,c\\=d type=\"gaugehistogram\",help=\"line1\nline2 \\\"q\\\" \\\\ back\\\\\\\\slash, =😀\ttab\\\\\",unit=\"seconds\" 1700000000000\n",
		},
		{
			name: "reversible forms: newline in name, invalid UTF-8 and ~b64~ in strings",
			m:    prompb.MetricMetadata{Type: prompb.MetricMetadata_INFO, MetricFamilyName: "x\ny", Help: "\xff bad", Unit: "~b64~x"},
			want: `promflux_metadata,metric=~b64~eAp5 type="info",help="~b64~_yBiYWQ",unit="~b64~fmI2NH54" 1700000000000` + "\n",
		},
		{
			name: "unknown type value",
			m:    prompb.MetricMetadata{Type: 42, MetricFamilyName: "m"},
			want: `promflux_metadata,metric=m type="unknown",help="",unit="" 1700000000000` + "\n",
		},
		{name: "empty family name", m: prompb.MetricMetadata{Help: "h"}, want: ""},
		{name: "invalid UTF-8 family name", m: prompb.MetricMetadata{MetricFamilyName: "\xff"}, want: ""},
		{name: "family name too long", m: prompb.MetricMetadata{MetricFamilyName: strings.Repeat("n", 65535)}, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendMetadata([]byte("x\n"), tc.m, 1700000000000)
			if string(got) != "x\n"+tc.want {
				t.Fatalf("AppendMetadata() =\n%q\nwant\n%q", got, "x\n"+tc.want)
			}
			if tc.want == "" {
				return
			}
			lines := modelSplitLines(got[2:])
			if len(lines) != 1 {
				t.Fatalf("InfluxDB would see %d lines", len(lines))
			}
			p, err := modelParseKey(lines[0])
			if err != nil {
				t.Fatal(err)
			}
			fs, ts, err := modelParseFields(p.fields)
			if err != nil {
				t.Fatal(err)
			}
			// Strings in the reversible form decode like tag values.
			help, err := DecodeTagValue(fs[metadataHelpField].str)
			if err != nil {
				t.Fatal(err)
			}
			unit, err := DecodeTagValue(fs[metadataUnitField].str)
			if err != nil {
				t.Fatal(err)
			}
			if help != tc.m.Help || unit != tc.m.Unit || ts != 1700000000000 {
				t.Errorf("read back help %q unit %q at %d, want %q %q", help, unit, ts, tc.m.Help, tc.m.Unit)
			}
		})
	}
}

func TestMetadataTypeName(t *testing.T) {
	for v, name := range prompb.MetricMetadata_MetricType_name {
		if got, want := metadataTypeName(prompb.MetricMetadata_MetricType(v)), strings.ToLower(name); got != want {
			t.Errorf("metadataTypeName(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestAppendStringFieldValueAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		buf = appendStringFieldValue(buf[:0], "a \"quoted\" \\ help\nline")
	})
	if allocs != 0 {
		t.Errorf("appendStringFieldValue allocates %v times, want 0", allocs)
	}
	if got, want := string(buf), "a \\\"quoted\\\" \\\\ help\nline"; got != want {
		t.Errorf("appendStringFieldValue() = %q, want %q", got, want)
	}
}

// FuzzAppendMetadata checks that any help and unit read back exactly and
// that the line stays one line for InfluxDB.
func FuzzAppendMetadata(f *testing.F) {
	f.Add("m", "line1\nline2 \"q\" \\", "s\\")
	f.Add("a b", "\xff", "~b64~")
	f.Fuzz(func(t *testing.T, name, help, unit string) {
		out := AppendMetadata(nil, prompb.MetricMetadata{MetricFamilyName: name, Help: help, Unit: unit}, 1)
		if len(out) == 0 {
			return
		}
		lines := modelSplitLines(out)
		if len(lines) != 1 {
			t.Fatalf("InfluxDB would see %d lines in %q", len(lines), out)
		}
		p, err := modelParseKey(lines[0])
		if err != nil {
			t.Fatal(err)
		}
		if got, err := DecodeTagValue(p.tags[0][1]); err != nil || got != name {
			t.Fatalf("metric tag read back as %q (%v), want %q", got, err, name)
		}
		fs, _, err := modelParseFields(p.fields)
		if err != nil {
			t.Fatalf("fields %q: %v", p.fields, err)
		}
		h, err1 := DecodeTagValue(fs[metadataHelpField].str)
		u, err2 := DecodeTagValue(fs[metadataUnitField].str)
		if err1 != nil || err2 != nil || h != help || u != unit {
			t.Fatalf("read back %q %q, want %q %q", h, u, help, unit)
		}
	})
}
