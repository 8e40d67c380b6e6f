package remote

import (
	"sort"
	"testing"

	"github.com/prometheus/prometheus/prompb"
)

// FuzzChunkedWriterHistograms feeds the writer the float and histogram
// samples of a protobuf TimeSeries, in time order, and checks that whatever
// it accepts reads back with the same timestamps and kinds.
func FuzzChunkedWriterHistograms(f *testing.F) {
	seed := prompb.TimeSeries{Samples: []prompb.Sample{{Timestamp: 5, Value: 1}}}
	for i := range 5 {
		seed.Histograms = append(seed.Histograms, prompb.FromIntHistogram(int64(i), testHist(5-i)))
		seed.Histograms = append(seed.Histograms, prompb.FromFloatHistogram(int64(10+i), testHist(i).ToFloat(nil)))
	}
	b, err := seed.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var ts prompb.TimeSeries
		if ts.Unmarshal(data) != nil || len(ts.Samples)+len(ts.Histograms) > 1000 {
			return
		}
		type in struct {
			t     int64
			h     *prompb.Histogram
			float bool
		}
		var all []in
		for _, s := range ts.Samples {
			all = append(all, in{t: s.Timestamp})
		}
		for i := range ts.Histograms {
			h := &ts.Histograms[i]
			all = append(all, in{t: h.Timestamp, h: h, float: h.IsFloatHistogram()})
		}
		sort.SliceStable(all, func(i, j int) bool { return all[i].t < all[j].t })

		rec := newRecorder()
		cw := NewChunkedWriter(rec, 512)
		if err := cw.StartSeries(0, lbls("a", "b")); err != nil {
			t.Fatal(err)
		}
		var want []in
		for _, s := range all {
			var err error
			if s.h == nil {
				err = cw.Append(s.t, 0)
			} else {
				err = cw.AppendHistogram(s.t, s.h)
			}
			if err == nil {
				want = append(want, s)
			}
		}
		if err := cw.EndSeries(); err != nil {
			t.Fatal(err)
		}
		_, _, got := decodeMixed(t, rec.Body.Bytes(), 0)
		if len(got) != len(want) {
			t.Fatalf("got %d samples, want %d", len(got), len(want))
		}
		for i, g := range got {
			w := want[i]
			if g.t != w.t || (g.h != nil) != (w.h != nil && !w.float) || (g.fh != nil) != w.float {
				t.Fatalf("sample %d: got %+v, want at %d histogram %v float %v", i, g, w.t, w.h != nil, w.float)
			}
		}
	})
}
