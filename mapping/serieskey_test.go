package mapping

import (
	"maps"
	"testing"
)

// TestParseSeriesKey: the cases of InfluxDB's own parser; that both agree
// on what influxd stores is tested against influxd in adapter.
func TestParseSeriesKey(t *testing.T) {
	for _, tc := range []struct {
		key, m string
		tags   map[string]string
	}{
		{"up", "up", map[string]string{}},
		{"up,job=a", "up", map[string]string{"job": "a"}},
		{"up,instance=h:9100,job=node", "up", map[string]string{"instance": "h:9100", "job": "node"}},
		{`a\,b\ c,k\=1\ x=v\,w\=z\ y`, "a,b c", map[string]string{"k=1 x": "v,w=z y"}},
		{`m,k=a\\,l=b`, "m", map[string]string{"k": `a\,l=b`}}, // a backslash before a comma escapes it, as in InfluxDB
		{`m,k=a\b`, "m", map[string]string{"k": `a\b`}},
		{`m,k==v`, "m", map[string]string{"k": "=v"}},
		{`m,q='),x=1`, "m", map[string]string{"q": "')", "x": "1"}},
		{`m\"x,k="q"`, `m\"x`, map[string]string{"k": `"q"`}},
		{`~b64~I3JlcQ,~b64~dGltZQ=t`, "~b64~I3JlcQ", map[string]string{"~b64~dGltZQ": "t"}},
		{"m,k=", "m", map[string]string{}},
	} {
		m, tags, err := ParseSeriesKey(tc.key)
		if err != nil || m != tc.m || !maps.Equal(tags, tc.tags) {
			t.Errorf("ParseSeriesKey(%q) = %q, %v, %v; want %q, %v", tc.key, m, tags, err, tc.m, tc.tags)
		}
	}
	for _, bad := range []string{"", ",k=v", "m,k"} {
		if _, _, err := ParseSeriesKey(bad); err == nil {
			t.Errorf("ParseSeriesKey(%q): no error", bad)
		}
	}
}

func FuzzParseSeriesKey(f *testing.F) {
	for _, s := range []string{"up,job=a", `a\,b\ c,k\=1\ x=v\,w\=z\ y`, `m,k=a\\,l=b`, "m,k="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		m, tags, err := ParseSeriesKey(key)
		if err != nil {
			return
		}
		if m == "" {
			t.Fatalf("ParseSeriesKey(%q): empty measurement without error", key)
		}
		for k, v := range tags {
			if v == "" {
				t.Fatalf("ParseSeriesKey(%q): tag %q without value", key, k)
			}
		}
	})
}
