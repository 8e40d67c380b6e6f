package main

import (
	"slices"
	"strings"
	"testing"
)

func TestCostTable(t *testing.T) {
	variants := []costVariant{{name: "base"}, {name: "lines=2000"}, {name: "none"}}
	runs := []costRun{
		// The machine is slower in run 2: per-run ratios cancel it.
		{variant: "base", run: 1, points: 2e6, writes: 200, bytes: 200 << 10, cpuAck: 8, cpuAll: 10, wall: 4, alloc: 2e9, mallocs: 2e7},
		{variant: "lines=2000", run: 1, points: 2e6, writes: 1000, bytes: 200 << 10, cpuAck: 6, cpuAll: 8, wall: 2},
		{variant: "base", run: 2, points: 2e6, writes: 200, bytes: 200 << 10, cpuAck: 16, cpuAll: 20, wall: 8, alloc: 4e9, mallocs: 3e7},
		{variant: "lines=2000", run: 2, points: 2e6, writes: 1000, bytes: 200 << 10, cpuAck: 12, cpuAll: 15, wall: 4},
		{variant: "base", run: 3, points: 2e6, writes: 200, bytes: 200 << 10, cpuAck: 10, cpuAll: 10, wall: 5},
		{variant: "lines=2000", run: 3, points: 2e6, writes: 1000, bytes: 200 << 10, cpuAck: 9, cpuAll: 9, wall: 5},
	}
	got := costTable(variants, runs)
	want := []string{
		"| variant | lines/write | KiB/write | influxd CPU s per M points | vs base | until idle | vs base | allocated B/point | allocs/point | wall s | points/s |",
		"|---|---|---|---|---|---|---|---|---|---|---|",
		"| base | 10000 | 1 | 5.00 (4.00-8.00) | 1.00 | 5.00 (5.00-10.00) | 1.00 | 1500 | 12.5 | 5.0 (4.0-8.0) | 400k |",
		// ack ratios 0.75, 0.75, 0.9; until idle 0.8, 0.75, 0.9.
		"| lines=2000 | 2000 | 0 | 4.50 (3.00-6.00) | 0.75 | 4.50 (4.00-7.50) | 0.80 |  |  | 4.0 (2.0-5.0) | 500k |",
		"",
	}
	if got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %g, want %g", tc.xs, got, tc.want)
		}
	}
}

func TestParseProcStatBusy(t *testing.T) {
	b := []byte("cpu  100 5 50 1000 20 3 2 10 0 0\ncpu0 50 2 25 500 10 1 1 5 0 0\n")
	if got, want := parseProcStatBusy(b), float64(100+5+50+3+2+10)/100; got != want {
		t.Errorf("busy = %g, want %g", got, want)
	}
	if got := parseProcStatBusy([]byte("intr 1 2 3\n")); got != 0 {
		t.Errorf("no cpu line: %g", got)
	}
}

func TestCostCSVRoundTrip(t *testing.T) {
	path := t.TempDir() + "/runs.csv"
	in := []costRun{
		{variant: "base", run: 1, points: 1000, writes: 10, bytes: 2048, cpuAck: 1.25, cpuAll: 1.5, wall: 2.125, others: 0.5, alloc: 123456, mallocs: 789, gcs: 3},
		{variant: "lines=2000,bytes=1MiB", run: 1, points: 1000, writes: 1, bytes: 2048, cpuAck: 2, cpuAll: 2, wall: 1, others: 1.25},
		{variant: "base", run: 2, err: "write: 500 Internal Server Error: timeout"},
	}
	for _, cr := range in {
		if err := appendCostCSV(path, cr); err != nil {
			t.Fatal(err)
		}
	}
	variants, out, err := readCostCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(variants) != 2 || variants[0].name != "base" || variants[1].name != "lines=2000,bytes=1MiB" {
		t.Errorf("variants %+v", variants)
	}
	if len(out) != len(in) {
		t.Fatalf("%d runs, want %d", len(out), len(in))
	}
	for k := range in {
		if out[k] != in[k] {
			t.Errorf("run %d: %+v, want %+v", k, out[k], in[k])
		}
	}
	if table := costTable(variants, out); !strings.Contains(table, "| base (1 of 2 runs failed) | 100 | 0 | 1250.00 (1250.00-1250.00) | 1.00 |") {
		t.Errorf("table:\n%s", table)
	}
}

func TestRunOrder(t *testing.T) {
	if got := runOrder(3, 1); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("run 1: %v", got)
	}
	if got := runOrder(3, 2); !slices.Equal(got, []int{2, 1, 0}) {
		t.Errorf("run 2: %v", got)
	}
	if got := runOrder(1, 4); !slices.Equal(got, []int{0}) {
		t.Errorf("one variant: %v", got)
	}
}
