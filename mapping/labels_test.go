package mapping

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
)

func TestSeriesLabels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		m       string
		tags    map[string]string
		want    []prompb.Label
		wantErr string
	}{
		{"plain", "up", map[string]string{"job": "a", "instance": "h:1"}, lbls("__name__", "up", "instance", "h:1", "job", "a"), ""},
		{"empty tags are absent", "up", map[string]string{"job": "a", "l": "", "value": ""}, lbls("__name__", "up", "job", "a"), ""},
		{"no tags", "up", nil, lbls("__name__", "up"), ""},
		{"name tag dropped", "up", map[string]string{"__name__": "up", "job": "a"}, lbls("__name__", "up", "job", "a"), ""},
		{"encoded measurement", "~b64~I3JlcQ", nil, lbls("__name__", "#req"), ""},
		{"encoded key sorts by name", "up", map[string]string{"~b64~dGltZQ": "t", "zone": "z", "a": "1"}, lbls("__name__", "up", "a", "1", "time", "t", "zone", "z"), ""},
		{"encoded value", "up", map[string]string{"msg": "~b64~YQpi"}, lbls("__name__", "up", "msg", "a\nb"), ""},
		{"value tag", "up", map[string]string{"value": "v"}, lbls("__name__", "up", "value", "v"), ""},
		{"raw bytes from other writers", `a\b`, map[string]string{`k\`: "x\ny"}, lbls("__name__", `a\b`, `k\`, "x\ny"), ""},
		{"bad measurement", "~b64~!", nil, nil, "cannot decode measurement"},
		{"bad key", "up", map[string]string{"~b64~!": "x"}, nil, "cannot decode tag key"},
		{"bad value", "up", map[string]string{"k": "~b64~!"}, nil, "cannot decode tag value"},
		{"duplicate after decoding", "up", map[string]string{"x": "1", "~b64~eA": "2"}, nil, `two tags decode to label name "x"`},
		{"empty measurement", "", nil, nil, "empty measurement name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SeriesLabels(&labels.ScratchBuilder{}, tc.m, tc.tags)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("SeriesLabels() error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SeriesLabels() error = %v", err)
			}
			if !labels.Equal(got, promLabels(tc.want)) {
				t.Errorf("SeriesLabels() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSeriesLabelsRoundTrip reads back what AppendSeries stores.
func TestSeriesLabelsRoundTrip(t *testing.T) {
	in := lbls("__name__", "#m", "a", "x\ny", "time", "t", "value", "~b64~", "z", `C:\`)
	tags := map[string]string{}
	for _, l := range in[1:] {
		tags[StoredTagKey(l.Name)] = StoredTagValue(l.Value)
	}
	got, err := SeriesLabels(&labels.ScratchBuilder{}, StoredMeasurement(in[0].Value), tags)
	if err != nil || !labels.Equal(got, promLabels(in)) {
		t.Fatalf("SeriesLabels() = %v, %v, want %v", got, err, in)
	}
}

func BenchmarkSeriesLabels(b *testing.B) {
	tags := map[string]string{"cpu": "0", "instance": "host-1:9100", "job": "node", "mode": "idle", "~b64~dGltZQ": "x", "l": ""}
	size := len("node_cpu_seconds_total")
	for k, v := range tags {
		size += len(k) + len(v)
	}
	var sb labels.ScratchBuilder
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		if _, err := SeriesLabels(&sb, "node_cpu_seconds_total", tags); err != nil {
			b.Fatal(err)
		}
	}
}

// promLabels is ps as labels.Labels.
func promLabels(ps []prompb.Label) labels.Labels {
	b := labels.NewScratchBuilder(len(ps))
	for _, p := range ps {
		b.Add(p.Name, p.Value)
	}
	return b.Labels()
}
