package remote

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// mixedSample is a sample of any kind: h or fh is set for histograms.
type mixedSample struct {
	t  int64
	v  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

func floatSample(t int64, v float64) mixedSample { return mixedSample{t: t, v: v} }

func intHist(t int64, h *histogram.Histogram) mixedSample { return mixedSample{t: t, h: h} }

func floatHist(t int64, fh *histogram.FloatHistogram) mixedSample {
	return mixedSample{t: t, fh: fh}
}

// chunkOut describes a decoded chunk.
type chunkOut struct {
	typ     prompb.Chunk_Encoding
	samples int
	header  chunkenc.CounterResetHeader // histogram chunks only
}

// testHist is an exponential histogram with two positive buckets and one
// negative one; count grows with n so that consecutive values are no reset.
func testHist(n int) *histogram.Histogram {
	c := uint64(n)
	return &histogram.Histogram{
		Schema:          1,
		ZeroThreshold:   0.001,
		ZeroCount:       c,
		Count:           4*c + 3,
		Sum:             float64(n) * 1.5,
		PositiveSpans:   []histogram.Span{{Offset: -1, Length: 2}},
		PositiveBuckets: []int64{int64(c) + 1, int64(c)}, // deltas: c+1, 2c+1
		NegativeSpans:   []histogram.Span{{Offset: 2, Length: 1}},
		NegativeBuckets: []int64{int64(c) + 1},
	}
}

func appendMixed(t *testing.T, cw *ChunkedWriter, samples []mixedSample) {
	t.Helper()
	for _, s := range samples {
		var err error
		switch {
		case s.h != nil:
			p := prompb.FromIntHistogram(s.t, s.h)
			err = cw.AppendHistogram(s.t, &p)
		case s.fh != nil:
			p := prompb.FromFloatHistogram(s.t, s.fh)
			err = cw.AppendHistogram(s.t, &p)
		default:
			err = cw.Append(s.t, s.v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// writeMixed writes one series of samples and returns the response body.
func writeMixed(t *testing.T, maxFrameBytes int, samples []mixedSample) []byte {
	t.Helper()
	rec := newRecorder()
	cw := NewChunkedWriter(rec, maxFrameBytes)
	if err := cw.StartSeries(0, lbls("__name__", "rpc_seconds")); err != nil {
		t.Fatal(err)
	}
	appendMixed(t, cw, samples)
	if err := cw.EndSeries(); err != nil {
		t.Fatal(err)
	}
	return rec.Body.Bytes()
}

// decodeMixed reads body as Prometheus does, decoding every chunk with the
// chunkenc encoding of its type, and checks the chunk time ranges.
func decodeMixed(t *testing.T, body []byte, maxFrameBytes int) (frames int, chunks []chunkOut, samples []mixedSample) {
	t.Helper()
	cr := NewChunkedReader(bytes.NewReader(body), maxFrameBytes)
	for {
		msg, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return frames, chunks, samples
		}
		if err != nil {
			t.Fatal(err)
		}
		frames++
		if len(msg.ChunkedSeries) != 1 || len(msg.ChunkedSeries[0].Chunks) == 0 {
			t.Fatalf("frame %d: want one series with chunks, got %v", frames, msg.ChunkedSeries)
		}
		for i, c := range msg.ChunkedSeries[0].Chunks {
			enc := map[prompb.Chunk_Encoding]chunkenc.Encoding{
				prompb.Chunk_XOR:             chunkenc.EncXOR,
				prompb.Chunk_HISTOGRAM:       chunkenc.EncHistogram,
				prompb.Chunk_FLOAT_HISTOGRAM: chunkenc.EncFloatHistogram,
			}[c.Type]
			chk, err := chunkenc.FromData(enc, c.Data)
			if err != nil {
				t.Fatalf("frame %d chunk %d: %v", frames, i, err)
			}
			out := chunkOut{typ: c.Type, samples: chk.NumSamples()}
			switch hc := chk.(type) {
			case *chunkenc.HistogramChunk:
				out.header = hc.GetCounterResetHeader()
			case *chunkenc.FloatHistogramChunk:
				out.header = hc.GetCounterResetHeader()
			}
			chunks = append(chunks, out)
			it := chk.Iterator(nil)
			n := 0
			var first, last int64
			for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
				var s mixedSample
				switch vt {
				case chunkenc.ValFloat:
					s.t, s.v = it.At()
				case chunkenc.ValHistogram:
					s.t, s.h = it.AtHistogram(nil)
				case chunkenc.ValFloatHistogram:
					s.t, s.fh = it.AtFloatHistogram(nil)
				}
				if n == 0 {
					first = s.t
				}
				last = s.t
				n++
				samples = append(samples, s)
			}
			if err := it.Err(); err != nil {
				t.Fatalf("frame %d chunk %d: %v", frames, i, err)
			}
			if n != out.samples || c.MinTimeMs != first || c.MaxTimeMs != last {
				t.Fatalf("frame %d chunk %d: %d samples (header %d) from %d to %d, chunk says %d to %d",
					frames, i, n, out.samples, first, last, c.MinTimeMs, c.MaxTimeMs)
			}
		}
	}
}

// assertSameMixed compares kinds, timestamps and values bit for bit; bucket
// layouts are compacted first, since a recoded chunk adds empty buckets.
func assertSameMixed(t *testing.T, got, want []mixedSample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d samples, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		ok := g.t == w.t
		switch {
		case w.h != nil && math.Float64bits(w.h.Sum) == staleNaN:
			// Chunks keep only the stale marker of a stale histogram.
			ok = ok && g.h != nil && math.Float64bits(g.h.Sum) == staleNaN
		case w.h != nil:
			ok = ok && g.h != nil && g.h.Copy().Compact(0).Equals(w.h.Copy().Compact(0))
		case w.fh != nil:
			ok = ok && g.fh != nil && g.fh.Copy().Compact(0).Equals(w.fh.Copy().Compact(0))
		default:
			ok = ok && g.h == nil && g.fh == nil && math.Float64bits(g.v) == math.Float64bits(w.v)
		}
		if !ok {
			t.Fatalf("sample %d: got %+v (h %v, fh %v), want %+v (h %v, fh %v)", i, g, g.h, g.fh, w, w.h, w.fh)
		}
	}
}

func TestChunkedWriterHistograms(t *testing.T) {
	stale := testHist(3)
	stale.Sum = math.Float64frombits(staleNaN)
	schemaChange := testHist(4)
	schemaChange.Schema = 0
	wider := testHist(3)
	wider.PositiveSpans = []histogram.Span{{Offset: -1, Length: 3}}
	wider.PositiveBuckets = []int64{4, 3, -6} // 4, 7, 1
	wider.Count = 3 + 4 + 7 + 1 + 4
	// A bucket that disappears is a counter reset unless it was empty.
	widerStill := testHist(4)
	widerStill.PositiveSpans = wider.PositiveSpans
	widerStill.PositiveBuckets = []int64{5, 4, -8} // 5, 9, 1
	widerStill.Count = 4 + 5 + 9 + 1 + 5
	gauge := func(n int) *histogram.Histogram {
		h := testHist(n)
		h.CounterResetHint = histogram.GaugeType
		return h
	}
	reset := testHist(1)
	custom := &histogram.Histogram{
		Schema: histogram.CustomBucketsSchema, Count: 5, Sum: 2,
		PositiveSpans: []histogram.Span{{Length: 2}}, PositiveBuckets: []int64{2, 1},
		CustomValues: []float64{0.1, 1},
	}

	ramp := func(n int, start int64) []mixedSample {
		out := make([]mixedSample, n)
		for i := range out {
			out[i] = intHist(start+int64(i)*15, testHist(i))
		}
		return out
	}
	unknown, notReset, counterReset := chunkenc.UnknownCounterReset, chunkenc.NotCounterReset, chunkenc.CounterReset
	xor := func(n int) chunkOut { return chunkOut{typ: prompb.Chunk_XOR, samples: n} }
	hist := func(n int, h chunkenc.CounterResetHeader) chunkOut {
		return chunkOut{typ: prompb.Chunk_HISTOGRAM, samples: n, header: h}
	}
	fhist := func(n int, h chunkenc.CounterResetHeader) chunkOut {
		return chunkOut{typ: prompb.Chunk_FLOAT_HISTOGRAM, samples: n, header: h}
	}

	for _, tc := range []struct {
		name       string
		samples    []mixedSample
		wantChunks []chunkOut
	}{
		{
			name:       "integer histograms and stale marker",
			samples:    []mixedSample{intHist(1, testHist(1)), intHist(2, testHist(2)), intHist(3, stale)},
			wantChunks: []chunkOut{hist(3, unknown)},
		},
		{
			name: "float, histogram, float",
			samples: []mixedSample{
				floatSample(1, 1), floatSample(2, 2),
				intHist(3, testHist(1)), intHist(4, testHist(2)),
				floatSample(5, math.Float64frombits(staleNaN)),
			},
			wantChunks: []chunkOut{xor(2), hist(2, unknown), xor(1)},
		},
		{
			name: "integer to float histogram",
			samples: []mixedSample{
				intHist(1, testHist(1)), floatHist(2, testHist(2).ToFloat(nil)), floatHist(3, testHist(3).ToFloat(nil)),
				intHist(4, testHist(4)),
			},
			wantChunks: []chunkOut{hist(1, unknown), fhist(2, unknown), hist(1, unknown)},
		},
		{
			name:       "counter reset cuts",
			samples:    []mixedSample{intHist(1, testHist(5)), intHist(2, testHist(6)), intHist(3, reset), intHist(4, testHist(2))},
			wantChunks: []chunkOut{hist(2, unknown), hist(2, counterReset)},
		},
		{
			name: "float histogram counter reset cuts",
			samples: []mixedSample{
				floatHist(1, testHist(5).ToFloat(nil)), floatHist(2, reset.ToFloat(nil)), floatHist(3, testHist(2).ToFloat(nil)),
			},
			wantChunks: []chunkOut{fhist(1, unknown), fhist(2, counterReset)},
		},
		{
			name:       "schema change cuts",
			samples:    []mixedSample{intHist(1, testHist(2)), intHist(2, testHist(3)), intHist(3, schemaChange)},
			wantChunks: []chunkOut{hist(2, unknown), hist(1, unknown)},
		},
		{
			name:       "new bucket is recoded in place",
			samples:    []mixedSample{intHist(1, testHist(2)), intHist(2, wider), intHist(3, widerStill)},
			wantChunks: []chunkOut{hist(3, unknown)},
		},
		{
			name:       "gauge histograms",
			samples:    []mixedSample{intHist(1, gauge(5)), intHist(2, gauge(1)), intHist(3, gauge(7))},
			wantChunks: []chunkOut{hist(3, chunkenc.GaugeType)},
		},
		{
			name:       "custom buckets",
			samples:    []mixedSample{intHist(1, custom), floatHist(2, custom.ToFloat(nil))},
			wantChunks: []chunkOut{hist(1, unknown), fhist(1, unknown)},
		},
		{
			name:       "250 histograms make 3 chunks",
			samples:    ramp(250, 1000),
			wantChunks: []chunkOut{hist(120, unknown), hist(120, notReset), hist(10, notReset)},
		},
		{
			name:       "reset right at the chunk limit",
			samples:    append(ramp(120, 0), intHist(5000, reset)),
			wantChunks: []chunkOut{hist(120, unknown), hist(1, counterReset)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := writeMixed(t, 0, tc.samples)
			_, chunks, got := decodeMixed(t, body, DefaultMaxFrameBytes)
			if len(chunks) != len(tc.wantChunks) {
				t.Fatalf("got chunks %+v, want %+v", chunks, tc.wantChunks)
			}
			for i := range chunks {
				if chunks[i] != tc.wantChunks[i] {
					t.Errorf("chunk %d: got %+v, want %+v", i, chunks[i], tc.wantChunks[i])
				}
			}
			assertSameMixed(t, got, tc.samples)
		})
	}
}

func TestChunkedWriterAppendHistogramKeepsInput(t *testing.T) {
	wider := testHist(3)
	wider.PositiveSpans = []histogram.Span{{Offset: -2, Length: 3}}
	wider.PositiveBuckets = []int64{1, 3, 3} // 1, 4, 7
	wider.Count = 3 + 1 + 4 + 7 + 4
	for _, p := range []prompb.Histogram{prompb.FromIntHistogram(2, wider), prompb.FromFloatHistogram(2, wider.ToFloat(nil))} {
		before, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder()
		cw := NewChunkedWriter(rec, 0)
		if err := cw.StartSeries(0, lbls("a", "b")); err != nil {
			t.Fatal(err)
		}
		first := prompb.FromIntHistogram(1, testHist(2))
		if p.IsFloatHistogram() {
			first = prompb.FromFloatHistogram(1, testHist(2).ToFloat(nil))
		}
		// wider adds a bucket in front, so the chunk is recoded.
		if err := cw.AppendHistogram(1, &first); err != nil {
			t.Fatal(err)
		}
		if err := cw.AppendHistogram(2, &p); err != nil {
			t.Fatal(err)
		}
		if err := cw.EndSeries(); err != nil {
			t.Fatal(err)
		}
		after, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Errorf("float %v: AppendHistogram modified its input", p.IsFloatHistogram())
		}
		_, chunks, _ := decodeMixed(t, rec.Body.Bytes(), 0)
		if len(chunks) != 1 || chunks[0].samples != 2 {
			t.Errorf("float %v: got chunks %+v, want one recoded chunk of 2 samples", p.IsFloatHistogram(), chunks)
		}
	}
}

func TestChunkedWriterHistogramFrameSplit(t *testing.T) {
	var samples []mixedSample
	for i := range 600 {
		if i%2 == 0 {
			samples = append(samples, intHist(int64(i), testHist(i)))
		} else {
			samples = append(samples, floatHist(int64(i), testHist(i).ToFloat(nil)))
		}
	}
	for _, maxFrame := range []int{1, 256, 4 << 10, DefaultMaxFrameBytes} {
		body := writeMixed(t, maxFrame, samples)
		frames, chunks, got := decodeMixed(t, body, 0)
		assertSameMixed(t, got, samples)
		// Every sample switches kind, so every sample is a chunk.
		if len(chunks) != len(samples) {
			t.Fatalf("max frame %d: %d chunks, want %d", maxFrame, len(chunks), len(samples))
		}
		switch {
		case maxFrame == DefaultMaxFrameBytes && frames != 1:
			t.Errorf("max frame %d: %d frames, want 1", maxFrame, frames)
		case maxFrame == 1 && frames != len(samples):
			t.Errorf("max frame %d: %d frames, want one per chunk", maxFrame, frames)
		case maxFrame == 4<<10 && (frames < 2 || frames >= len(samples)):
			t.Errorf("max frame %d: %d frames, want several chunks in each of several frames", maxFrame, frames)
		}
		// Frames other than single-chunk ones stay within the limit.
		cr := NewChunkedReader(bytes.NewReader(body), 0)
		for {
			msg, err := cr.Next()
			if err != nil {
				break
			}
			if n := msg.Size(); n > maxFrame && len(msg.ChunkedSeries[0].Chunks) > 1 {
				t.Errorf("max frame %d: frame of %d bytes with %d chunks", maxFrame, n, len(msg.ChunkedSeries[0].Chunks))
			}
		}
	}
}

func TestChunkedWriterAppendHistogramErrors(t *testing.T) {
	good := prompb.FromIntHistogram(10, testHist(1))
	badPos := prompb.FromIntHistogram(10, testHist(1))
	badPos.PositiveDeltas = badPos.PositiveDeltas[:1]
	badNeg := prompb.FromFloatHistogram(10, testHist(1).ToFloat(nil))
	badSchema := prompb.FromIntHistogram(10, testHist(1))
	badSchema.Schema = -10
	badNeg.NegativeSpans = append(badNeg.NegativeSpans, prompb.BucketSpan{Offset: 1, Length: 1})

	for _, tc := range []struct {
		name    string
		prepare func(cw *ChunkedWriter) error
		h       *prompb.Histogram
		wantErr string
		wantIs  error
	}{
		{name: "no series", h: &good, wantIs: errNoSeries},
		{name: "nil", h: nil, wantErr: "cannot append nil histogram at 10 ms"},
		{name: "positive spans mismatch", h: &badPos, wantErr: "positive spans cover 2 buckets, histogram has 1",
			wantIs: histogram.ErrHistogramSpansBucketsMismatch},
		{name: "negative spans mismatch", h: &badNeg, wantErr: "negative spans cover 2 buckets, histogram has 1",
			wantIs: histogram.ErrHistogramSpansBucketsMismatch},
		{name: "unknown schema", h: &badSchema, wantErr: "schema -10:", wantIs: histogram.ErrHistogramsInvalidSchema},
		{name: "after a later float", prepare: func(cw *ChunkedWriter) error { return cw.Append(10, 1) }, h: &good,
			wantErr: "sample at 10 ms does not follow the previous one at 10 ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			cw := NewChunkedWriter(rec, 0)
			if !errors.Is(tc.wantIs, errNoSeries) {
				if err := cw.StartSeries(0, lbls("a", "b")); err != nil {
					t.Fatal(err)
				}
			}
			if tc.prepare != nil {
				if err := tc.prepare(cw); err != nil {
					t.Fatal(err)
				}
			}
			err := cw.AppendHistogram(10, tc.h)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %q is not %v", err, tc.wantIs)
			}
		})
	}

	// A rejected histogram leaves the series usable.
	rec := newRecorder()
	cw := NewChunkedWriter(rec, 0)
	if err := cw.StartSeries(0, lbls("a", "b")); err != nil {
		t.Fatal(err)
	}
	if err := cw.AppendHistogram(10, &badPos); err == nil {
		t.Fatal("no error")
	}
	if err := cw.AppendHistogram(10, &good); err != nil {
		t.Fatal(err)
	}
	if err := cw.EndSeries(); err != nil {
		t.Fatal(err)
	}
	_, _, got := decodeMixed(t, rec.Body.Bytes(), 0)
	assertSameMixed(t, got, []mixedSample{intHist(10, testHist(1))})
}

func BenchmarkChunkedWriterHistograms(b *testing.B) {
	const n = 10000
	for _, float := range []bool{false, true} {
		hs := make([]prompb.Histogram, n)
		size := 0
		for i := range hs {
			if float {
				hs[i] = prompb.FromFloatHistogram(int64(i)*15000, testHist(i).ToFloat(nil))
			} else {
				hs[i] = prompb.FromIntHistogram(int64(i)*15000, testHist(i))
			}
			size += hs[i].Size()
		}
		b.Run(map[bool]string{false: "integer", true: "float"}[float], func(b *testing.B) {
			w := &discardWriter{header: http.Header{}}
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				cw := NewChunkedWriter(w, DefaultMaxFrameBytes)
				if err := cw.StartSeries(0, lbls("__name__", "rpc_seconds")); err != nil {
					b.Fatal(err)
				}
				for i := range hs {
					if err := cw.AppendHistogram(hs[i].Timestamp, &hs[i]); err != nil {
						b.Fatal(err)
					}
				}
				if err := cw.EndSeries(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
