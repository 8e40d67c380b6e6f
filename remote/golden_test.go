package remote

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files under testdata")

// checkGolden compares rendered with the golden file, which -update
// rewrites.
func checkGolden(t *testing.T, golden, rendered string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(rendered), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if rendered != string(want) {
		t.Fatalf("decoded request differs from %s; rerun with -update and review the diff:\n%s", golden, rendered)
	}
}

// renderWriteRequest prints a decoded request one series or metadata entry per
// line, so that golden files diff readably.
func renderWriteRequest(r *WriteRequest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version %s\n", r.Version)
	for _, s := range r.series {
		b.WriteString("series {")
		for i, l := range s.Labels {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s=%q", l.Name, l.Value)
		}
		b.WriteString("}")
		for _, smp := range s.Samples {
			fmt.Fprintf(&b, " %v@%d", smp.Value, smp.Timestamp)
		}
		fmt.Fprintf(&b, " histograms=%d exemplars=%d\n", len(s.Histograms), len(s.Exemplars))
	}
	for _, m := range r.Metadata {
		fmt.Fprintf(&b, "metadata %s %s unit=%q help=%q\n", m.MetricFamilyName, m.Type, m.Unit, m.Help)
	}
	return b.String()
}

// The bodies under testdata were captured from Prometheus 2.42 remote-writing
// its own metrics; it sent them with the headers set below.
func TestDecodeWritePrometheusGolden(t *testing.T) {
	for _, tc := range []struct {
		file                  string
		wantSeries, wantMetas int
	}{
		{file: "prometheus-2.42-samples.snappy", wantSeries: 353},
		{file: "prometheus-2.42-metadata.snappy", wantMetas: 191},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodPost, "/api/v1/write", strings.NewReader(string(body)))
			r.Header.Set("Content-Type", "application/x-protobuf")
			r.Header.Set("Content-Encoding", "snappy")
			r.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
			got, err := decodeWrite(r, DefaultConfig)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.series) != tc.wantSeries || len(got.Metadata) != tc.wantMetas {
				t.Fatalf("got %d series and %d metadata, want %d and %d", len(got.series), len(got.Metadata), tc.wantSeries, tc.wantMetas)
			}
			for i, s := range got.series {
				if !sort.SliceIsSorted(s.Labels, func(a, b int) bool { return s.Labels[a].Name < s.Labels[b].Name }) {
					t.Errorf("series %d: labels not in the sorted order Prometheus sends: %v", i, s.Labels)
				}
			}

			checkGolden(t, filepath.Join("testdata", strings.TrimSuffix(tc.file, ".snappy")+".golden"), renderWriteRequest(got))
		})
	}
}
