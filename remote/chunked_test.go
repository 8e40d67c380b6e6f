package remote

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// staleNaN is Prometheus's stale marker (model/value.StaleNaN).
const staleNaN = 0x7ff0000000000002

// recorder is a ResponseWriter that keeps the body and notes the body length
// at every flush, to check that each frame is flushed as it is written.
type recorder struct {
	httptest.ResponseRecorder
	flushedAt []int
}

func newRecorder() *recorder { return &recorder{ResponseRecorder: *httptest.NewRecorder()} }

func (r *recorder) Flush() { r.flushedAt = append(r.flushedAt, r.Body.Len()) }

// seriesIn is one series as the test feeds it to the writer.
type seriesIn struct {
	query   int64
	labels  []prompb.Label
	samples []prompb.Sample
}

func writeSeries(t testing.TB, cw *ChunkedWriter, in []seriesIn) {
	t.Helper()
	for _, s := range in {
		if err := cw.StartSeries(s.query, s.labels); err != nil {
			t.Fatal(err)
		}
		for _, smp := range s.samples {
			if err := cw.Append(smp.Timestamp, smp.Value); err != nil {
				t.Fatal(err)
			}
		}
		if err := cw.EndSeries(); err != nil {
			t.Fatal(err)
		}
	}
}

// promFrame is one frame as decoded by promDecode.
type promFrame struct {
	offset, end int // where the frame lies in the body
	size        int // message size from the header
	msg         prompb.ChunkedReadResponse
}

// promDecode decodes a streamed response the way Prometheus's remote-read
// client does (storage/remote ChunkedReader, then chunkenc.FromData and an
// iterator per chunk), independently of ChunkedReader. It also checks what
// the client relies on: the CRC of every frame, one series per frame, XOR
// chunks whose header times match their samples.
func promDecode(t *testing.T, body []byte) (frames []promFrame, series []seriesIn) {
	t.Helper()
	for off := 0; off < len(body); {
		size, n := binary.Uvarint(body[off:])
		if n <= 0 || off+n+4+int(size) > len(body) {
			t.Fatalf("frame at offset %d: broken header or truncated", off)
		}
		crc := binary.BigEndian.Uint32(body[off+n:])
		msg := body[off+n+4 : off+n+4+int(size)]
		if crc != crc32.Checksum(msg, crc32.MakeTable(crc32.Castagnoli)) {
			t.Fatalf("frame at offset %d: checksum mismatch", off)
		}
		f := promFrame{offset: off, end: off + n + 4 + int(size), size: int(size)}
		if err := f.msg.Unmarshal(msg); err != nil {
			t.Fatalf("frame at offset %d: %v", off, err)
		}
		if len(f.msg.ChunkedSeries) != 1 {
			t.Fatalf("frame at offset %d holds %d series, want 1", off, len(f.msg.ChunkedSeries))
		}
		cs := f.msg.ChunkedSeries[0]
		if len(cs.Chunks) == 0 {
			t.Fatalf("frame at offset %d holds no chunks", off)
		}
		// Consecutive frames of the same query and labels continue a series.
		if k := len(series); k == 0 || series[k-1].query != f.msg.QueryIndex || labelsString(series[k-1].labels) != labelsString(cs.Labels) {
			series = append(series, seriesIn{query: f.msg.QueryIndex, labels: cs.Labels})
		}
		s := &series[len(series)-1]
		for i, c := range cs.Chunks {
			if c.Type != prompb.Chunk_XOR {
				t.Fatalf("frame at offset %d, chunk %d: type %v", off, i, c.Type)
			}
			chk, err := chunkenc.FromData(chunkenc.EncXOR, c.Data)
			if err != nil {
				t.Fatalf("frame at offset %d, chunk %d: %v", off, i, err)
			}
			it := chk.Iterator(nil)
			var first, last int64
			n := 0
			for it.Next() == chunkenc.ValFloat {
				ts, v := it.At()
				if n == 0 {
					first = ts
				}
				last = ts
				n++
				s.samples = append(s.samples, prompb.Sample{Timestamp: ts, Value: v})
			}
			if err := it.Err(); err != nil {
				t.Fatalf("frame at offset %d, chunk %d: %v", off, i, err)
			}
			if n == 0 || n != chk.NumSamples() || c.MinTimeMs != first || c.MaxTimeMs != last {
				t.Fatalf("frame at offset %d, chunk %d: %d samples (header %d) from %d to %d, chunk says %d to %d",
					off, i, n, chk.NumSamples(), first, last, c.MinTimeMs, c.MaxTimeMs)
			}
		}
		frames = append(frames, f)
		off = f.end
	}
	return frames, series
}

// assertSameSeries compares timestamps and the exact bits of every value, so
// that NaN payloads such as the stale marker count.
func assertSameSeries(t *testing.T, got, want []seriesIn) {
	t.Helper()
	var nonEmpty []seriesIn
	for _, s := range want {
		if len(s.samples) > 0 {
			nonEmpty = append(nonEmpty, s)
		}
	}
	if len(got) != len(nonEmpty) {
		t.Fatalf("got %d series, want %d", len(got), len(nonEmpty))
	}
	for i := range got {
		g, w := got[i], nonEmpty[i]
		if g.query != w.query || labelsString(g.labels) != labelsString(w.labels) || len(g.samples) != len(w.samples) {
			t.Fatalf("series %d: query %d %s with %d samples, want query %d %s with %d",
				i, g.query, labelsString(g.labels), len(g.samples), w.query, labelsString(w.labels), len(w.samples))
		}
		for j := range g.samples {
			gs, ws := g.samples[j], w.samples[j]
			if gs.Timestamp != ws.Timestamp || math.Float64bits(gs.Value) != math.Float64bits(ws.Value) {
				t.Fatalf("series %d sample %d: %x@%d, want %x@%d", i, j,
					math.Float64bits(gs.Value), gs.Timestamp, math.Float64bits(ws.Value), ws.Timestamp)
			}
		}
	}
}

// readAll decodes body with ChunkedReader into series, joining frames the
// same way promDecode does.
func readAll(t *testing.T, body []byte, maxFrameBytes int) []seriesIn {
	t.Helper()
	var out []seriesIn
	cr := NewChunkedReader(bytes.NewReader(body), maxFrameBytes)
	for {
		msg, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, cs := range msg.ChunkedSeries {
			if k := len(out); k == 0 || out[k-1].query != msg.QueryIndex || labelsString(out[k-1].labels) != labelsString(cs.Labels) {
				out = append(out, seriesIn{query: msg.QueryIndex, labels: cs.Labels})
			}
			s := &out[len(out)-1]
			for _, c := range cs.Chunks {
				chk, err := chunkenc.FromData(chunkenc.EncXOR, c.Data)
				if err != nil {
					t.Fatal(err)
				}
				it := chk.Iterator(nil)
				for it.Next() == chunkenc.ValFloat {
					ts, v := it.At()
					s.samples = append(s.samples, prompb.Sample{Timestamp: ts, Value: v})
				}
			}
		}
	}
}

func lbls(kv ...string) []prompb.Label {
	out := make([]prompb.Label, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		out = append(out, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// ramp returns n samples every step ms from start, with values from value.
func ramp(n int, start, step int64, value func(i int) float64) []prompb.Sample {
	out := make([]prompb.Sample, n)
	for i := range out {
		out[i] = prompb.Sample{Timestamp: start + int64(i)*step, Value: value(i)}
	}
	return out
}

func TestChunkedWriterRoundTrip(t *testing.T) {
	special := []float64{
		0, math.Copysign(0, -1), 1, -1.5, math.NaN(), math.Float64frombits(staleNaN),
		math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64, 1e-300, 42,
	}
	for _, tc := range []struct {
		name   string
		series []seriesIn
	}{
		{name: "special values", series: []seriesIn{{
			labels:  lbls("__name__", "up", "job", "node"),
			samples: ramp(len(special), 1700000000000, 15000, func(i int) float64 { return special[i] }),
		}}},
		{name: "irregular and negative timestamps", series: []seriesIn{{
			labels: lbls("__name__", "x"),
			samples: []prompb.Sample{
				{Timestamp: math.MinInt64 / 2, Value: 1}, {Timestamp: -1000, Value: 2}, {Timestamp: -1, Value: 3},
				{Timestamp: 0, Value: 4}, {Timestamp: 1, Value: 5}, {Timestamp: 1 << 40, Value: 6}, {Timestamp: math.MaxInt64 / 2, Value: 7},
			},
		}}},
		{name: "several queries and series", series: []seriesIn{
			{query: 0, labels: lbls("__name__", "a", "i", "1"), samples: ramp(3, 1000, 1000, func(i int) float64 { return float64(i) })},
			{query: 0, labels: lbls("__name__", "a", "i", "2"), samples: ramp(300, 1000, 1000, func(i int) float64 { return float64(i) * 0.1 })},
			{query: 0, labels: lbls("__name__", "a", "i", "3")}, // no samples: nothing sent
			{query: 1},
			{query: 3, labels: lbls("__name__", "b", "long", strings.Repeat("v", 1000)), samples: ramp(1, 5, 1, func(int) float64 { return 9 })},
		}},
		{name: "only empty series"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			cw := NewChunkedWriter(rec, DefaultMaxFrameBytes)
			writeSeries(t, cw, tc.series)

			body := rec.Body.Bytes()
			if got := rec.Header().Get("Content-Type"); got != "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse" {
				t.Fatalf("Content-Type %q", got)
			}
			frames, got := promDecode(t, body)
			assertSameSeries(t, got, tc.series)
			assertSameSeries(t, readAll(t, body, DefaultMaxFrameBytes), tc.series)

			// Every frame is flushed as soon as it is complete.
			if len(rec.flushedAt) != len(frames) {
				t.Fatalf("%d flushes for %d frames", len(rec.flushedAt), len(frames))
			}
			for i, f := range frames {
				if rec.flushedAt[i] != f.end {
					t.Fatalf("flush %d after %d bytes, frame ends at %d", i, rec.flushedAt[i], f.end)
				}
			}
		})
	}
}

func TestChunkedWriterChunkCut(t *testing.T) {
	for _, tc := range []struct {
		samples   int
		wantSizes []int
	}{
		{samples: 1, wantSizes: []int{1}},
		{samples: 119, wantSizes: []int{119}},
		{samples: 120, wantSizes: []int{120}},
		{samples: 121, wantSizes: []int{120, 1}},
		{samples: 250, wantSizes: []int{120, 120, 10}},
	} {
		t.Run(itoa(tc.samples), func(t *testing.T) {
			rec := newRecorder()
			cw := NewChunkedWriter(rec, DefaultMaxFrameBytes)
			in := []seriesIn{{query: 2, labels: lbls("__name__", "m"), samples: ramp(tc.samples, 10_000, 10, func(i int) float64 { return float64(i % 7) })}}
			writeSeries(t, cw, in)

			frames, got := promDecode(t, rec.Body.Bytes())
			assertSameSeries(t, got, in)
			if len(frames) != 1 || frames[0].msg.QueryIndex != 2 {
				t.Fatalf("%d frames, want one of query 2", len(frames))
			}
			chunks := frames[0].msg.ChunkedSeries[0].Chunks
			if len(chunks) != len(tc.wantSizes) {
				t.Fatalf("%d chunks, want %d", len(chunks), len(tc.wantSizes))
			}
			first := 0
			for i, c := range chunks {
				chk, _ := chunkenc.FromData(chunkenc.EncXOR, c.Data)
				last := first + tc.wantSizes[i] - 1
				if chk.NumSamples() != tc.wantSizes[i] || c.MinTimeMs != in[0].samples[first].Timestamp || c.MaxTimeMs != in[0].samples[last].Timestamp {
					t.Fatalf("chunk %d: %d samples from %d to %d, want %d from %d to %d", i, chk.NumSamples(), c.MinTimeMs, c.MaxTimeMs,
						tc.wantSizes[i], in[0].samples[first].Timestamp, in[0].samples[last].Timestamp)
				}
				first = last + 1
			}
		})
	}
}

func TestChunkedWriterFrameSplit(t *testing.T) {
	labels := lbls("__name__", "node_cpu_seconds_total", "cpu", "0", "instance", "node-001:9100", "job", "node", "mode", "idle")
	long := ramp(10_000, 1700000000000, 15000, func(i int) float64 { return float64(i) * 1.25 })
	in := []seriesIn{
		{query: 1, labels: labels, samples: long},
		{query: 1, labels: lbls("__name__", "z"), samples: ramp(5, 0, 1, func(i int) float64 { return float64(i) })},
	}
	const chunks = (10_000 + MaxSamplesPerChunk - 1) / MaxSamplesPerChunk

	for _, tc := range []struct {
		name          string
		maxFrameBytes int
		minFrames     int // of the long series
		maxFrames     int
	}{
		{name: "limit below a single chunk", maxFrameBytes: 10, minFrames: chunks, maxFrames: chunks},
		{name: "a few chunks per frame", maxFrameBytes: 1000, minFrames: 10, maxFrames: chunks / 2},
		{name: "default", maxFrameBytes: DefaultMaxFrameBytes, minFrames: 1, maxFrames: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			cw := NewChunkedWriter(rec, tc.maxFrameBytes)
			writeSeries(t, cw, in)

			frames, got := promDecode(t, rec.Body.Bytes())
			assertSameSeries(t, got, in)
			assertSameSeries(t, readAll(t, rec.Body.Bytes(), DefaultMaxFrameBytes), in)
			longFrames := frames[:len(frames)-1]
			if n := len(longFrames); n < tc.minFrames || n > tc.maxFrames {
				t.Fatalf("long series in %d frames, want %d to %d", n, tc.minFrames, tc.maxFrames)
			}
			if len(rec.flushedAt) != len(frames) {
				t.Fatalf("%d flushes for %d frames", len(rec.flushedAt), len(frames))
			}
			for i, f := range longFrames {
				cs := f.msg.ChunkedSeries[0]
				if f.msg.QueryIndex != 1 || labelsString(cs.Labels) != labelsString(labels) {
					t.Fatalf("frame %d: query %d, labels %s", i, f.msg.QueryIndex, labelsString(cs.Labels))
				}
				// Over the limit only with a single chunk that alone exceeds it.
				if f.size > tc.maxFrameBytes && len(cs.Chunks) > 1 {
					t.Fatalf("frame %d: %d bytes with %d chunks, over the limit of %d", i, f.size, len(cs.Chunks), tc.maxFrameBytes)
				}
				// A frame is sent early only when the next chunk does not fit.
				if i+1 < len(longFrames) {
					next := longFrames[i+1].msg.ChunkedSeries[0].Chunks[0]
					grown := prompb.ChunkedReadResponse{QueryIndex: 1, ChunkedSeries: []*prompb.ChunkedSeries{
						{Labels: cs.Labels, Chunks: append(cs.Chunks[:len(cs.Chunks):len(cs.Chunks)], next)},
					}}
					if grown.Size() <= tc.maxFrameBytes {
						t.Fatalf("frame %d of %d bytes sent although the next chunk fits (%d bytes with it)", i, f.size, grown.Size())
					}
				}
			}
		})
	}
}

// The size arithmetic that decides frame cuts must match the marshalled size.
func TestChunkedWriterSizes(t *testing.T) {
	for _, tc := range []struct {
		minT, maxT int64
		dataLen    int
	}{
		{0, 0, 2}, {1, 2, 20}, {-1, 0, 200}, {math.MinInt64, math.MaxInt64, 1 << 20}, {1700000000000, 1700001785000, 127}, {5, 5, 128},
	} {
		c := prompb.Chunk{MinTimeMs: tc.minT, MaxTimeMs: tc.maxT, Type: prompb.Chunk_XOR, Data: make([]byte, tc.dataLen)}
		if got, want := prompbChunkSize(tc.minT, tc.maxT, tc.dataLen), c.Size(); got != want {
			t.Errorf("prompbChunkSize(%d, %d, %d) = %d, want %d", tc.minT, tc.maxT, tc.dataLen, got, want)
		}
	}
	for _, q := range []int64{0, 1, 127, 128, 1 << 40} {
		cw := &ChunkedWriter{queryIndex: q}
		labels := lbls("__name__", "up", "job", strings.Repeat("j", 200))
		for i := range labels {
			cw.labelBytes += fieldBytes(labels[i].Size())
		}
		cw.labels = labels
		chunks := []prompb.Chunk{{MinTimeMs: 1, MaxTimeMs: 2, Type: prompb.Chunk_XOR, Data: make([]byte, 300)}}
		msg := prompb.ChunkedReadResponse{QueryIndex: q, ChunkedSeries: []*prompb.ChunkedSeries{{Labels: labels, Chunks: chunks}}}
		if got, want := cw.frameBytes(fieldBytes(chunks[0].Size())), msg.Size(); got != want {
			t.Errorf("query %d: frameBytes = %d, want %d", q, got, want)
		}
	}
}

func TestChunkedWriterClientGone(t *testing.T) {
	fw := &failingWriter{}
	cw := NewChunkedWriter(fw, DefaultMaxFrameBytes)
	if err := cw.StartSeries(0, lbls("__name__", "up")); err != nil {
		t.Fatal(err)
	}
	// The first frame is written only at EndSeries or when a chunk does not
	// fit; appending alone must not fail.
	for i := range 10 {
		if err := cw.Append(int64(i), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := cw.EndSeries(); !errors.Is(err, errClientGone) {
		t.Fatalf("EndSeries error %v, want it to wrap %v", err, errClientGone)
	}
	if fw.flushes != 0 {
		t.Fatalf("%d flushes after a failed write", fw.flushes)
	}
	// Once failed, every call fails, so the caller stops fetching samples.
	if err := cw.StartSeries(0, lbls("__name__", "up")); !errors.Is(err, errClientGone) {
		t.Fatalf("StartSeries after failure: %v", err)
	}
	if err := cw.Append(100, 1); !errors.Is(err, errClientGone) {
		t.Fatalf("Append after failure: %v", err)
	}
}

// A long series fails at the frame that cannot be written, mid-series.
func TestChunkedWriterClientGoneMidSeries(t *testing.T) {
	cw := NewChunkedWriter(&failingWriter{}, 200)
	if err := cw.StartSeries(0, lbls("__name__", "up")); err != nil {
		t.Fatal(err)
	}
	var err error
	n := 0
	for ; n < 100_000 && err == nil; n++ {
		err = cw.Append(int64(n)*1000, float64(n)*0.37)
	}
	if !errors.Is(err, errClientGone) || n > 10*MaxSamplesPerChunk {
		t.Fatalf("after %d samples: error %v, want %v within a few chunks", n, err, errClientGone)
	}
}

func TestChunkedWriterMisuse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		run     func(cw *ChunkedWriter) error
		wantErr string
	}{
		{name: "append without series", run: func(cw *ChunkedWriter) error { return cw.Append(1, 1) }, wantErr: "no series started"},
		{name: "end without series", run: func(cw *ChunkedWriter) error { return cw.EndSeries() }, wantErr: "no series started"},
		{name: "start twice", run: func(cw *ChunkedWriter) error {
			_ = cw.StartSeries(0, lbls("a", "b"))
			return cw.StartSeries(0, lbls("a", "c"))
		}, wantErr: "series still open"},
		{name: "time going back", run: func(cw *ChunkedWriter) error {
			_ = cw.StartSeries(0, lbls("__name__", "up", "job", "x"))
			_ = cw.Append(2000, 1)
			return cw.Append(1000, 1)
		}, wantErr: `sample at 1000 ms does not follow the previous one at 2000 ms in series {__name__="up", job="x"}`},
		{name: "duplicate timestamp", run: func(cw *ChunkedWriter) error {
			_ = cw.StartSeries(0, lbls("__name__", "up"))
			_ = cw.Append(2000, 1)
			return cw.Append(2000, 2)
		}, wantErr: "sample at 2000 ms does not follow"},
		{name: "time going back across a chunk cut", run: func(cw *ChunkedWriter) error {
			_ = cw.StartSeries(0, lbls("__name__", "up"))
			for i := range MaxSamplesPerChunk {
				_ = cw.Append(int64(i), 1)
			}
			return cw.Append(0, 1)
		}, wantErr: "sample at 0 ms does not follow the previous one at 119 ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(NewChunkedWriter(newRecorder(), DefaultMaxFrameBytes))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// The status code is left to the first frame so that the caller can still
// answer an error before any data.
func TestNewChunkedWriterLeavesStatus(t *testing.T) {
	rec := httptest.NewRecorder()
	NewChunkedWriter(rec, 0)
	http.Error(rec, "too many samples", http.StatusBadRequest)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", rec.Code)
	}
}
