package remote

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// SamplesWriter builds a SAMPLES response (a prompb.ReadResponse) as its
// series come: each is encoded at once into the bytes gogo's generated
// code would write for it, and every samplesPiece of those is
// snappy-compressed on the spot. A large answer is held compressed (about
// a dozen bytes a sample in the benchmarks), not as prompb structs (48
// bytes a sample), then their encoding, then its compression; and the
// compression is done while the series are read.
//
// Call StartResult, then StartSeries, Append or AppendHistogram and
// EndSeries for each series, then EndResult, once per query in order;
// then WriteTo. The zero value is ready to use.
type SamplesWriter struct {
	// pieces are the compressed response so far: snappy's encoding of
	// consecutive parts of the ReadResponse, less its length header.
	// Snappy compresses in independent blocks of 64 KiB, so these
	// concatenate into the encoding of the whole.
	pieces [][]byte
	// size is the length of the ReadResponse so far.
	size int
	// buf holds the encoded series not yet in pieces. The open series
	// starts at seriesStart with lengthGap bytes for its key and length,
	// which EndSeries fills and closes up.
	buf         []byte
	seriesStart int
	// result is the index in pieces of the open result's key and length,
	// and resultSize its length so far.
	result, resultSize int
	// hists holds the open series' histograms, which gogo writes after
	// its samples.
	hists []byte
	// samples counts those of the open series, histograms included.
	samples int
	// scratch is snappy's output before it is copied to its exact size.
	scratch []byte
}

// samplesPiece is how much of the encoded response is compressed at once.
const samplesPiece = 1 << 20

// lengthGap is room for the key and length of a TimeSeries: one byte of
// key and a varint of up to five bytes (35 bits, far over any series a
// response can hold).
const lengthGap = 1 + 5

// StartResult opens the QueryResult of the next query.
func (w *SamplesWriter) StartResult() {
	w.compress()
	w.result = len(w.pieces)
	w.pieces = append(w.pieces, nil) // its key and length, at EndResult
	w.resultSize = 0
}

// EndResult closes the open QueryResult.
func (w *SamplesWriter) EndResult() {
	w.compress()
	head := binary.AppendUvarint([]byte{1<<3 | wireBytes}, uint64(w.resultSize))
	w.size += len(head)
	w.pieces[w.result] = w.encode(head)
}

// compress moves buf into pieces.
func (w *SamplesWriter) compress() {
	if len(w.buf) == 0 {
		return
	}
	w.size += len(w.buf)
	w.resultSize += len(w.buf)
	w.pieces = append(w.pieces, w.encode(w.buf))
	w.buf = w.buf[:0]
}

// encode returns snappy's encoding of b without its length header.
func (w *SamplesWriter) encode(b []byte) []byte {
	if n := snappy.MaxEncodedLen(len(b)); cap(w.scratch) < n {
		w.scratch = make([]byte, n)
	}
	enc := snappy.Encode(w.scratch[:cap(w.scratch)], b)
	return append([]byte(nil), enc[uvarintBytes(uint64(len(b))):]...)
}

// StartSeries opens a TimeSeries of labels in the open result.
func (w *SamplesWriter) StartSeries(labels []prompb.Label) {
	if w.buf == nil {
		w.buf = answerBuffers.get()
	}
	w.seriesStart = len(w.buf)
	w.buf = append(w.buf, make([]byte, lengthGap)...)
	for _, l := range labels {
		w.buf = append(w.buf, 1<<3|wireBytes)
		w.buf = binary.AppendUvarint(w.buf, uint64(l.Size()))
		w.buf = appendString(w.buf, 1, l.Name)
		w.buf = appendString(w.buf, 2, l.Value)
	}
	w.hists = w.hists[:0]
	w.samples = 0
}

// Append adds a float sample to the open series. As in the generated
// code, a zero timestamp or value (-0 included) is left out of the wire
// form and reads as 0.
func (w *SamplesWriter) Append(t int64, v float64) {
	size := 0
	if v != 0 {
		size += 1 + 8
	}
	if t != 0 {
		size += 1 + uvarintBytes(uint64(t))
	}
	w.buf = append(w.buf, 2<<3|wireBytes, byte(size))
	if v != 0 {
		w.buf = append(w.buf, 1<<3|wireFixed64)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(v))
	}
	if t != 0 {
		w.buf = append(w.buf, 2<<3|wireVarint)
		w.buf = binary.AppendUvarint(w.buf, uint64(t))
	}
	w.samples++
}

// AppendHistogram adds a native histogram sample at t to the open series.
func (w *SamplesWriter) AppendHistogram(t int64, h *prompb.Histogram) error {
	hh := *h
	hh.Timestamp = t
	size := hh.Size()
	before := len(w.hists)
	w.hists = append(w.hists, 4<<3|wireBytes)
	w.hists = binary.AppendUvarint(w.hists, uint64(size))
	start := len(w.hists)
	w.hists = append(w.hists, make([]byte, size)...)
	if _, err := hh.MarshalToSizedBuffer(w.hists[start:]); err != nil {
		w.hists = w.hists[:before]
		return fmt.Errorf("cannot marshal histogram at %d: %w", t, err)
	}
	w.samples++
	return nil
}

// EndSeries closes the open series; one without samples is left out of
// the response, as Prometheus leaves out series without samples in range.
func (w *SamplesWriter) EndSeries() {
	if w.samples == 0 {
		w.buf = w.buf[:w.seriesStart]
		return
	}
	w.buf = append(w.buf, w.hists...)
	w.buf = closeSeries(w.buf, w.seriesStart)
	if len(w.buf) >= samplesPiece {
		w.compress()
	}
}

// WriteTo answers with the response: snappy-compressed, with status 200.
// The error, if any, is the client's: it went away mid-body. w is empty
// after it.
func (w *SamplesWriter) WriteTo(rw http.ResponseWriter) error {
	head := binary.AppendUvarint(nil, uint64(w.size))
	n := len(head)
	for _, p := range w.pieces {
		n += len(p)
	}
	pieces := w.pieces
	answerBuffers.put(w.buf)
	*w = SamplesWriter{}

	h := rw.Header()
	h.Set("Content-Type", ContentTypeReadResponse)
	h.Set("Content-Encoding", "snappy")
	h.Set("Content-Length", strconv.Itoa(n))
	rw.WriteHeader(http.StatusOK)
	for _, p := range append([][]byte{head}, pieces...) {
		if _, err := rw.Write(p); err != nil {
			return fmt.Errorf("cannot write read response of %d bytes: %w", n, err)
		}
	}
	return nil
}

// closeSeries writes the key and length of the TimeSeries that starts
// lengthGap bytes after start in buf, and moves it up against them.
func closeSeries(buf []byte, start int) []byte {
	body := start + lengthGap
	head := binary.AppendUvarint(append(buf[start:start:start+lengthGap], 1<<3|wireBytes), uint64(len(buf)-body))
	n := copy(buf[start+len(head):], buf[body:])
	return buf[:start+len(head)+n]
}

// appendString appends field num of a string, unless it is empty (proto3
// leaves those out).
func appendString(b []byte, num byte, s string) []byte {
	if len(s) == 0 {
		return b
	}
	b = append(b, num<<3|wireBytes)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
