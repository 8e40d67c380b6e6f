package main

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// TestGeneratorSeriesAreDistinct: every index is its own series, so that
// "--series N" loads N series and reads find N.
func TestGeneratorSeriesAreDistinct(t *testing.T) {
	for _, g := range []generator{
		{series: 20000},
		{series: 20000, labelsExtra: 3},
		{series: 20000, labels: minLabels},
		{series: 20000, labels: 30},
	} {
		t.Run(fmt.Sprintf("labels=%d,extra=%d", g.labels, g.labelsExtra), func(t *testing.T) {
			seen := map[string]int{}
			for i := 0; i < g.series; i++ {
				k := fmt.Sprint(g.labelSet(i))
				if j, dup := seen[k]; dup {
					t.Fatalf("series %d and %d are both %s", j, i, k)
				}
				seen[k] = i
			}
		})
	}
}

// TestGeneratorLabels: --labels gives every series exactly that many
// labels, sorted by name, without repeated names; 0 keeps node_exporter's
// own sets.
func TestGeneratorLabels(t *testing.T) {
	for _, n := range []int{0, minLabels, 10, len(targetLabels) + 3, maxLabels} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			g := generator{series: 100, labels: n, interval: 15000}
			if err := g.validate(); err != nil {
				t.Fatal(err)
			}
			sizes := map[int]bool{}
			for i := range g.series {
				lbls := g.labelSet(i)
				sizes[len(lbls)] = true
				if !slices.IsSortedFunc(lbls, func(a, b prompb.Label) int {
					if a.Name == b.Name {
						t.Fatalf("series %d repeats label %q", i, a.Name)
					}
					return cmpString(a.Name, b.Name)
				}) {
					t.Fatalf("series %d labels not sorted: %v", i, lbls)
				}
				if lbls[0].Name != "__name__" {
					t.Fatalf("series %d has no metric name first: %v", i, lbls)
				}
			}
			if n == 0 {
				if !sizes[3] || !sizes[minLabels] {
					t.Fatalf("label counts %v, want node_exporter's own sets from 3 to %d", sizes, minLabels)
				}
			} else if len(sizes) != 1 || !sizes[n] {
				t.Fatalf("label counts %v, want all %d", sizes, n)
			}
		})
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestGeneratorValidate(t *testing.T) {
	for _, tc := range []struct {
		g  generator
		ok bool
	}{
		{generator{series: 1, interval: 1}, true},
		{generator{series: 1, interval: 1, labels: minLabels}, true},
		{generator{series: 1, interval: 1, labels: minLabels - 1}, false},
		{generator{series: 1, interval: 1, labels: maxLabels + 1}, false},
		{generator{series: 1, interval: 1, labels: 8, labelsExtra: 1}, false},
		{generator{series: 0, interval: 1}, false},
		{generator{series: 1, interval: 0}, false},
	} {
		if err := tc.g.validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: validate() = %v, want ok=%v", tc.g, err, tc.ok)
		}
	}
}

// sent is one decoded sample of a generated request.
type sent struct {
	key string
	ts  int64
}

func decodeRequest(t *testing.T, body []byte, protocol string) []sent {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	var out []sent
	if protocol == "2" {
		var req writev2.Request
		if err := proto.Unmarshal(raw, &req); err != nil {
			t.Fatal(err)
		}
		for _, ts := range req.Timeseries {
			var key string
			for k := 0; k < len(ts.LabelsRefs); k += 2 {
				key += req.Symbols[ts.LabelsRefs[k]] + "=" + req.Symbols[ts.LabelsRefs[k+1]] + ","
			}
			for _, s := range ts.Samples {
				out = append(out, sent{key, s.Timestamp})
			}
		}
		return out
	}
	var req prompb.WriteRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	for _, ts := range req.Timeseries {
		if len(ts.Samples) != 1 {
			t.Fatalf("series with %d samples, want one per entry as Prometheus sends", len(ts.Samples))
		}
		var key string
		for _, l := range ts.Labels {
			key += l.Name + "=" + l.Value + ","
		}
		out = append(out, sent{key, ts.Samples[0].Timestamp})
	}
	return out
}

// TestEncoderRequests: requests hold batch samples (the last of a shard
// fewer), every series' timestamps strictly increase across requests, and
// steps that start at nextRound never repeat a timestamp, whatever the
// shard count.
func TestEncoderRequests(t *testing.T) {
	for _, protocol := range []string{"1", "2"} {
		t.Run("RW"+protocol, func(t *testing.T) {
			g := &generator{series: 1234, labels: 8, start: 1700000000000, interval: 15000}
			labels := make([][]prompb.Label, g.series)
			for i := range labels {
				labels[i] = g.labelSet(i)
			}
			const batch, samples = 500, 7
			last := map[string]int64{}
			perSeries := map[string]int{}
			round := 0
			for _, c := range []int{1, 3, 2} {
				shards := newShards(g.series, c, round, round+samples)
				for _, sh := range shards {
					enc := newEncoder(g, labels, batch, protocol)
					for {
						r, ok := enc.next(sh)
						if !ok {
							break
						}
						got := decodeRequest(t, r.body, protocol)
						if len(got) != r.samples || (r.samples != batch && !sh.done()) {
							t.Fatalf("request of %d samples (reported %d) before the shard's end, want %d", len(got), r.samples, batch)
						}
						for _, s := range got {
							if prev, ok := last[s.key]; ok && s.ts <= prev {
								t.Fatalf("series %s: timestamp %d after %d", s.key, s.ts, prev)
							}
							last[s.key] = s.ts
							perSeries[s.key]++
						}
					}
				}
				round = nextRound(shards)
			}
			if len(perSeries) != g.series {
				t.Fatalf("%d distinct series sent, want %d", len(perSeries), g.series)
			}
			for k, n := range perSeries {
				if n != 3*samples {
					t.Fatalf("series %s got %d samples, want %d", k, n, 3*samples)
				}
			}
		})
	}
}

func BenchmarkEncoder(b *testing.B) {
	for _, protocol := range []string{"1", "2"} {
		b.Run("RW"+protocol, func(b *testing.B) {
			g := &generator{series: 10000, labels: 10, start: 1700000000000, interval: 15000}
			labels := make([][]prompb.Label, g.series)
			for i := range labels {
				labels[i] = g.labelSet(i)
			}
			enc := newEncoder(g, labels, 2000, protocol)
			sh := newShards(g.series, 1, 0, -1)[0]
			r, _ := enc.next(sh)
			b.SetBytes(int64(len(r.body)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				enc.next(sh)
			}
			b.ReportMetric(float64(b.N*2000)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
