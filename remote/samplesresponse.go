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
// series come, encoding each at once into the bytes gogo's generated code
// would write for the same response: a large answer is held as about 18
// bytes of protobuf per sample, instead of as prompb structs (48 bytes per
// sample) and then their encoding too.
//
// Call StartResult, then StartSeries, Append or AppendHistogram and
// EndSeries for each series, then EndResult, once per query in order;
// then WriteTo. The zero value is ready to use.
type SamplesWriter struct {
	// buf is the ReadResponse so far. The open QueryResult and the open
	// TimeSeries start with lengthGap bytes for their key and length,
	// which End* fill and close up.
	buf                      []byte
	resultStart, seriesStart int
	// hists holds the open series' histograms, which gogo writes after
	// its samples.
	hists []byte
	// samples counts those of the open series, histograms included.
	samples int
}

// lengthGap is room for the key and length of an embedded message: one
// byte of key (field 1, 2 or 4) and a varint of up to five bytes (35 bits,
// far over any answer this package writes).
const lengthGap = 1 + 5

// StartResult opens the QueryResult of the next query.
func (w *SamplesWriter) StartResult() {
	if w.buf == nil {
		w.buf = getBuffer()
	}
	w.resultStart = len(w.buf)
	w.buf = append(w.buf, make([]byte, lengthGap)...)
}

// EndResult closes the open QueryResult.
func (w *SamplesWriter) EndResult() {
	w.buf = closeMessage(w.buf, w.resultStart, 1)
}

// StartSeries opens a TimeSeries of labels in the open result.
func (w *SamplesWriter) StartSeries(labels []prompb.Label) {
	w.seriesStart = len(w.buf)
	w.buf = append(w.buf, make([]byte, lengthGap)...)
	for _, l := range labels {
		size := 0
		if len(l.Name) > 0 {
			size += 1 + uvarintLen(uint64(len(l.Name))) + len(l.Name)
		}
		if len(l.Value) > 0 {
			size += 1 + uvarintLen(uint64(len(l.Value))) + len(l.Value)
		}
		w.buf = append(w.buf, 1<<3|wireBytes)
		w.buf = binary.AppendUvarint(w.buf, uint64(size))
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
		size += 1 + uvarintLen(uint64(t))
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
	w.hists = append(w.hists, 4<<3|wireBytes)
	w.hists = binary.AppendUvarint(w.hists, uint64(size))
	start := len(w.hists)
	w.hists = append(w.hists, make([]byte, size)...)
	if _, err := hh.MarshalToSizedBuffer(w.hists[start:]); err != nil {
		w.hists = w.hists[:start]
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
	w.buf = closeMessage(w.buf, w.seriesStart, 1)
}

// WriteTo answers with the response: snappy-compressed, with status 200.
// The error, if any, is the client's: it went away mid-body. w is empty
// after it.
func (w *SamplesWriter) WriteTo(rw http.ResponseWriter) error {
	compressed := getBuffer()
	defer func() { putBuffer(compressed) }()
	if n := snappy.MaxEncodedLen(len(w.buf)); cap(compressed) < n {
		compressed = make([]byte, n)
	}
	compressed = snappy.Encode(compressed[:cap(compressed)], w.buf)
	putBuffer(w.buf)
	*w = SamplesWriter{}

	h := rw.Header()
	h.Set("Content-Type", ContentTypeReadResponse)
	h.Set("Content-Encoding", "snappy")
	h.Set("Content-Length", strconv.Itoa(len(compressed)))
	rw.WriteHeader(http.StatusOK)
	if _, err := rw.Write(compressed); err != nil {
		return fmt.Errorf("cannot write read response of %d bytes: %w", len(compressed), err)
	}
	return nil
}

// closeMessage writes the key of field num and the length of the message
// that starts lengthGap bytes after start in buf, and moves the message
// up against them.
func closeMessage(buf []byte, start int, num byte) []byte {
	body := start + lengthGap
	head := binary.AppendUvarint(append(buf[start:start:start+lengthGap], num<<3|wireBytes), uint64(len(buf)-body))
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

// uvarintLen is the length of v as a varint.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
