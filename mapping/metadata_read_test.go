package mapping

import (
	"testing"

	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/prompb"
)

func TestMetadataQuery(t *testing.T) {
	const sel = `SELECT last("type"::field), last("help"::field), last("unit"::field) FROM `
	for _, tc := range []struct{ rp, metric, want string }{
		{"", "", sel + `"promflux_metadata" GROUP BY "metric"`},
		{"rp", "up", sel + `"rp"."promflux_metadata" WHERE "metric"::tag = 'up' GROUP BY "metric"`},
		{"", "it's", sel + `"promflux_metadata" WHERE "metric"::tag = 'it\'s' GROUP BY "metric"`},
		{"", "a\nb", sel + `"promflux_metadata" WHERE ("metric"::tag = '~b64~YQpi' OR "metric"::tag = 'a\nb') GROUP BY "metric"`},
	} {
		got := MetadataQuery(tc.rp, tc.metric)
		if got != tc.want {
			t.Errorf("MetadataQuery(%q, %q)\n got %s\nwant %s", tc.rp, tc.metric, got, tc.want)
		}
		if _, err := modelTokenize(got); err != nil {
			t.Errorf("%s does not scan: %v", got, err)
		}
	}
}

// TestReadMetadata: what AppendMetadata stores reads back as it was
// sent, names and strings in the reversible form included.
func TestReadMetadata(t *testing.T) {
	for _, tc := range []struct {
		stored, typ, help, unit string
		name                    string
		want                    metadata.Metadata
	}{
		{"http_requests_total", "counter", "Requests served.", "", "http_requests_total", metadata.Metadata{Type: "counter", Help: "Requests served."}},
		{"~b64~eAp5", "info", "~b64~_yBiYWQ", "~b64~fmI2NH54", "x\ny", metadata.Metadata{Type: "info", Help: "\xff bad", Unit: "~b64~x"}},
		{"m", "unknown", "", "seconds", "m", metadata.Metadata{Type: "unknown", Unit: "seconds"}},
	} {
		name, md, err := ReadMetadata(tc.stored, tc.typ, tc.help, tc.unit)
		if err != nil || name != tc.name || md != tc.want {
			t.Errorf("ReadMetadata(%q, ...) = %q, %+v, %v; want %q, %+v", tc.stored, name, md, err, tc.name, tc.want)
		}
	}
	for _, bad := range [][4]string{{"~b64~!", "gauge", "", ""}, {"m", "gauge", "~b64~!", ""}, {"m", "gauge", "", "~b64~="}} {
		if _, _, err := ReadMetadata(bad[0], bad[1], bad[2], bad[3]); err == nil {
			t.Errorf("ReadMetadata(%q) succeeded", bad)
		}
	}
	// The stored form is the one AppendMetadata writes.
	line := string(AppendMetadata(nil, prompb.MetricMetadata{MetricFamilyName: "x\ny", Help: "\xff bad", Unit: "~b64~x", Type: prompb.MetricMetadata_INFO}, 1))
	if want := `promflux_metadata,metric=~b64~eAp5 type="info",help="~b64~_yBiYWQ",unit="~b64~fmI2NH54" 1` + "\n"; line != want {
		t.Errorf("AppendMetadata = %q, want %q", line, want)
	}
}
