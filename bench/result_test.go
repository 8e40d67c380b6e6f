package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ds := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n))
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ds(7), 0.99, 7},
		{"median of four is the second", ds(1, 2, 3, 4), 0.5, 2},
		{"median of five", ds(1, 2, 3, 4, 5), 0.5, 3},
		{"p99 of 100", hundred, 0.99, 99},
		{"p50 of 100", hundred, 0.5, 50},
		{"p100", hundred, 1, 100},
		{"p99 of ten is the max", ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("percentile(%v, %g) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

var testRows = []result{
	{Target: "promflux", Protocol: "1", Concurrency: 1, Samples: 100000, Seconds: 2.5, SamplesPerS: 40000, RequestsPS: 20, P50ms: 12.5, P99ms: 40.25,
		Errors: map[string]int{}, Procs: []procUsage{{"promflux", 0.85, 42.5}, {"influxd", 0.5, 200.1}}},
	{Target: "promflux", Protocol: "1", Concurrency: 4, Samples: 200000, Seconds: 2, SamplesPerS: 100000, RequestsPS: 50, P50ms: 20, P99ms: 80,
		Errors: map[string]int{"503": 3, "transport": 1}, Procs: []procUsage{{"promflux", 1.2, 60}, {"influxd", 0.7, 210}}},
	{Target: "influxdb, native", Protocol: "1", Concurrency: 1, Samples: 50000, Seconds: 2, SamplesPerS: 25000, RequestsPS: 12.5, P50ms: 30, P99ms: 90,
		Errors: map[string]int{}},
	{Target: "influxdb, native", Protocol: "1", Concurrency: 4, Samples: 80000, Seconds: 2, SamplesPerS: 40000, RequestsPS: 20, P50ms: 30, P99ms: 90,
		Errors: map[string]int{}},
}

// TestCSVRoundTrip: rows appended in two runs read back equal, with one
// header.
func TestCSVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.csv")
	if err := appendCSV(path, testRows[:2]); err != nil {
		t.Fatal(err)
	}
	if err := appendCSV(path, testRows[2:]); err != nil {
		t.Fatal(err)
	}
	got, err := readCSVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, testRows) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, testRows)
	}
	raw, _ := os.ReadFile(path)
	if n := strings.Count(string(raw), "target,protocol"); n != 1 {
		t.Fatalf("%d headers in\n%s", n, raw)
	}
	if !strings.Contains(string(raw), `,503=3 transport=1,promflux=1.20 influxd=0.70,promflux=60.0 influxd=210.0`) {
		t.Fatalf("unexpected cells in\n%s", raw)
	}
}

func TestAppendCSVRefusesOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.csv")
	if err := os.WriteFile(path, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := appendCSV(path, testRows); err == nil {
		t.Fatal("appended to a CSV file with another header")
	}
}

// TestSVG: the plot is well-formed XML with one polyline per target and a
// marker per point; target names are escaped.
func TestSVG(t *testing.T) {
	rows := append([]result(nil), testRows...)
	rows = append(rows, result{Target: "<vm> & co", Protocol: "1", Concurrency: 8, SamplesPerS: 1.5e6})
	for _, tc := range []struct {
		name      string
		rows      []result
		polylines int
		circles   int
		legend    string
	}{
		{"three targets", rows, 3, 5, "&lt;vm&gt; &amp; co"},
		{"one point", rows[:1], 1, 1, "promflux"},
		{"repeated run replaces the point", append(rows[:2:2], testRows[0]), 1, 2, "promflux"},
		{"protocols are told apart", append(rows[:1:1], result{Target: "promflux", Protocol: "2", Concurrency: 1, SamplesPerS: 5}), 2, 2, "promflux (RW 2.0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeSVG(&b, tc.rows, "title"); err != nil {
				t.Fatal(err)
			}
			counts := map[string]int{}
			d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
			for {
				tok, err := d.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed XML: %v\n%s", err, b.String())
				}
				if se, ok := tok.(xml.StartElement); ok {
					counts[se.Name.Local]++
				}
			}
			if counts["svg"] != 1 || counts["polyline"] != tc.polylines || counts["circle"] != tc.circles {
				t.Fatalf("elements %v, want 1 svg, %d polylines, %d circles", counts, tc.polylines, tc.circles)
			}
			if !strings.Contains(b.String(), ">"+tc.legend+"<") {
				t.Fatalf("no legend %q in\n%s", tc.legend, b.String())
			}
		})
	}
}

func TestNiceScale(t *testing.T) {
	for _, tc := range []struct{ top, step, max float64 }{
		{0, 1, 5},
		{1.5e6, 200e3, 1.6e6},
		{95000, 10000, 100000},
		{100000, 10000, 100000},
		{120000, 20000, 120000},
		{7, 1, 7},
		{0.3, 0.05, 0.3},
	} {
		step, top := niceScale(tc.top)
		if !near(step, tc.step) || !near(top, tc.max) {
			t.Errorf("niceScale(%g) = %g, %g; want %g, %g", tc.top, step, top, tc.step, tc.max)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9*max(1, b) && b-a < 1e-9*max(1, b) }

func TestPrintRatios(t *testing.T) {
	var b bytes.Buffer
	if err := printRatios(&b, testRows, "influxdb, native"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"promflux                         1        40000        25000   1.60x  1.60\n", "promflux                         4       100000        40000   2.50x  2.50\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("no %q in\n%s", want, out)
		}
	}
	if err := printRatios(&b, testRows, "nobody"); err == nil {
		t.Fatal("no error for a missing baseline")
	}
}

// TestPrintRatiosRounds: with rounds, each of a target's rows is divided
// by the baseline's row of the same round, and the ratio printed is their
// median, not the ratio of medians nor of the last rows.
func TestPrintRatiosRounds(t *testing.T) {
	row := func(target string, conc int, perS float64) result {
		return result{Target: target, Protocol: "1", Concurrency: conc, SamplesPerS: perS, Errors: map[string]int{}}
	}
	rows := []result{
		row("native", 1, 100), row("promflux", 1, 150), row("native", 2, 200), row("promflux", 2, 300),
		row("promflux", 1, 100), row("native", 1, 50), row("promflux", 2, 500), row("native", 2, 250),
		row("native", 1, 120), row("promflux", 1, 240), row("promflux", 2, 330), row("native", 2, 300),
	}
	var b bytes.Buffer
	if err := printRatios(&b, rows, "native"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		// 1.5, 2.0, 2.0: median 2.0; medians of samples/s 150 and 100.
		"promflux                         1          150          100   2.00x  1.50 2.00 2.00\n",
		// 1.5, 2.0, 1.1: median 1.5.
		"promflux                         2          330          250   1.50x  1.50 2.00 1.10\n",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("no %q in\n%s", want, out)
		}
	}
	// A round whose baseline stored nothing has no ratio.
	b.Reset()
	zero := append(slices.Clone(rows[:4]), row("native", 1, 0), row("promflux", 1, 90))
	if err := printRatios(&b, zero, "native"); err != nil {
		t.Fatal(err)
	}
	if want := "promflux                         1          120           50   1.50x  1.50 -\n"; !strings.Contains(b.String(), want) {
		t.Fatalf("no %q in\n%s", want, b.String())
	}
	lines := plotLines(rows)
	if len(lines) != 2 || lines[1].points[1] != 150 || lines[1].points[2] != 330 || lines[0].points[2] != 250 {
		t.Fatalf("plotted %+v, want the medians of the rounds", lines)
	}
}
