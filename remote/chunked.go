package remote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// DefaultMaxFrameBytes is the frame size ChunkedWriter aims for, the default
// of Prometheus's --storage.remote.read-max-bytes-in-frame. Prometheus reads
// frames up to its remote_read chunked_read_limit (50 MB by default).
const DefaultMaxFrameBytes = 1 << 20

// MaxSamplesPerChunk is the number of samples at which ChunkedWriter cuts a
// chunk of any kind, the chunk size the Prometheus TSDB head cuts at, which its
// chunk iterators and memory estimates are tuned for.
const MaxSamplesPerChunk = 120

// frameHeaderBytes bounds the header before each message: the uvarint
// length and the CRC32.
const frameHeaderBytes = binary.MaxVarintLen64 + 4

// minArenaBytes is the first allocation for chunk data, room for a few
// dozen chunks of typical series.
const minArenaBytes = 8 << 10

// castagnoli is the table of the frame checksums, built once for writers and
// readers.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errNoSeries and errSeriesOpen report calls out of order, a bug in the caller.
var (
	errNoSeries   = errors.New("no series started: call StartSeries first")
	errSeriesOpen = errors.New("series still open: call EndSeries first")
)

// ChunkedWriter writes a STREAMED_XOR_CHUNKS remote-read response: frames of
// prompb.ChunkedReadResponse, each holding one series, each preceded by the
// uvarint length of the message and its big-endian CRC32 (Castagnoli).
//
// Samples are encoded as they arrive into a chunk of their kind: XOR for
// floats, HISTOGRAM and FLOAT_HISTOGRAM for native histograms. A chunk is cut
// at MaxSamplesPerChunk samples, when the kind of sample changes and when the
// histogram chunk appender starts a new chunk (see AppendHistogram); the cut
// chunk joins the pending frame. The frame is sent when the next chunk would
// make its message larger than maxFrameBytes, and at EndSeries; a long
// series thus spans several frames with the same labels and query index. A
// frame always holds at least one chunk, so one whose labels plus a single
// chunk exceed maxFrameBytes goes out over the limit, as with Prometheus's
// own writer (with DefaultMaxFrameBytes, labels of about a megabyte).
//
// The writer holds at most one frame's chunks and the open chunk, so the
// length of a series does not matter: its buffers stay within a few times
// maxFrameBytes and are reused from frame to frame. Every frame is flushed
// when w is an http.Flusher so that the client receives data as it is
// produced. After a failed write every call returns that error. A
// ChunkedWriter is not safe for concurrent use.
type ChunkedWriter struct {
	w             http.ResponseWriter
	flusher       http.Flusher
	maxFrameBytes int
	err           error // sticky write error
	written       bool  // a frame was handed to w

	// The open series.
	open       bool
	queryIndex int64
	labels     []prompb.Label
	labelBytes int // encoded size of labels inside a ChunkedSeries
	hasSamples bool
	lastT      int64

	// The open chunk: cur is either chunk, the XOR chunk reused from chunk
	// to chunk, or a histogram chunk, allocated for each chunk because the
	// histogram appender may replace it when it recodes.
	cur        chunkenc.Chunk
	chunk      *chunkenc.XORChunk
	chunkBuf   []byte
	app        chunkenc.Appender
	samples    int
	minT, maxT int64

	// The pending frame: cut chunks whose data live in arena.
	chunks     []prompb.Chunk
	chunkBytes int // encoded size of chunks inside a ChunkedSeries
	arena      []byte

	frame []byte // reused marshalling buffer
}

// NewChunkedWriter sets the streamed content type on w and returns a writer of
// ChunkedReadResponse frames. maxFrameBytes bounds the marshalled
// ChunkedReadResponse of a frame (the size the reader checks), not counting
// the length and CRC before it; values below 1 mean DefaultMaxFrameBytes.
// The status code is left to the first write, so the caller can still
// answer with an error before the first sample.
func NewChunkedWriter(w http.ResponseWriter, maxFrameBytes int) *ChunkedWriter {
	if maxFrameBytes < 1 {
		maxFrameBytes = DefaultMaxFrameBytes
	}
	w.Header().Set("Content-Type", ContentTypeStreamedReadResponse)
	f, _ := w.(http.Flusher)
	return &ChunkedWriter{
		w:             w,
		flusher:       f,
		maxFrameBytes: maxFrameBytes,
		chunk:         chunkenc.NewXORChunk(),
	}
}

// StartSeries opens a series of the query with index queryIndex in the
// request. lbls must be sorted by name, as Prometheus expects series labels;
// they are referenced, not copied, and must not change until EndSeries
// returns.
func (c *ChunkedWriter) StartSeries(queryIndex int64, lbls []prompb.Label) error {
	if c.err != nil {
		return c.err
	}
	if c.open {
		return errSeriesOpen
	}
	c.open = true
	c.queryIndex = queryIndex
	c.labels = lbls
	c.labelBytes = 0
	c.hasSamples = false
	for i := range lbls {
		c.labelBytes += fieldBytes(lbls[i].Size())
	}
	c.resetChunk()
	return nil
}

// Append adds a float sample to the open series. Timestamps must increase
// strictly within a series, as in Prometheus's storage; a sample that does not
// is rejected, because chunks would carry it but readers would misbehave. A
// float sample after histogram samples cuts the open chunk and starts an XOR
// chunk.
func (c *ChunkedWriter) Append(t int64, v float64) error {
	if err := c.checkAppend(t); err != nil {
		return err
	}
	if c.samples == MaxSamplesPerChunk || (c.samples > 0 && c.cur.Encoding() != chunkenc.EncXOR) {
		if err := c.cutChunk(); err != nil {
			return err
		}
	}
	if c.samples == 0 {
		c.minT = t
	}
	c.app.Append(0, t, v)
	c.maxT, c.lastT, c.hasSamples = t, t, true
	c.samples++
	return nil
}

// checkAppend reports whether a sample at t may join the open series.
func (c *ChunkedWriter) checkAppend(t int64) error {
	if c.err != nil {
		return c.err
	}
	if !c.open {
		return errNoSeries
	}
	if c.hasSamples && t <= c.lastT {
		return fmt.Errorf("sample at %d ms does not follow the previous one at %d ms in series %s", t, c.lastT, labelsString(c.labels))
	}
	return nil
}

// Written reports whether a frame was handed to the ResponseWriter, which
// sends the status line: until then the caller may still answer with an
// error status instead.
func (c *ChunkedWriter) Written() bool { return c.written }

// EndSeries closes the open series and sends its last frame. A series without
// samples sends nothing.
func (c *ChunkedWriter) EndSeries() error {
	if c.err != nil {
		return c.err
	}
	if !c.open {
		return errNoSeries
	}
	if c.samples > 0 {
		if err := c.cutChunk(); err != nil {
			return err
		}
	}
	if len(c.chunks) > 0 {
		if err := c.writeFrame(); err != nil {
			return err
		}
	}
	c.open = false
	c.labels = nil
	return nil
}

// resetChunk makes the reused XOR chunk the open one, empty, keeping its
// buffer. A two-byte zero sample count is the state NewXORChunk starts from.
func (c *ChunkedWriter) resetChunk() {
	c.chunkBuf = append(c.chunkBuf[:0], 0, 0)
	c.chunk.Reset(c.chunkBuf)
	c.cur = c.chunk
	// An empty chunk's appender is built without decoding anything.
	c.app, _ = c.chunk.Appender()
	c.samples = 0
}

// cutChunk moves the open chunk into the pending frame, sending the frame
// first when the chunk would push it over maxFrameBytes.
func (c *ChunkedWriter) cutChunk() error {
	data := c.cur.Bytes()
	entry := fieldBytes(prompbChunkSize(c.minT, c.maxT, len(data)))
	if len(c.chunks) > 0 && c.frameBytes(c.chunkBytes+entry) > c.maxFrameBytes {
		if err := c.writeFrame(); err != nil {
			return err
		}
	}
	// The frame's chunks refer to arena, not to the chunk's buffer, so that
	// the buffer can take the next chunk. A full arena is replaced rather
	// than grown: the chunks already cut keep the old array alive until the
	// frame is written, so copying them over would be wasted work.
	if cap(c.arena)-len(c.arena) < len(data) {
		c.arena = make([]byte, 0, max(2*cap(c.arena), minArenaBytes, len(data)))
	}
	start := len(c.arena)
	c.arena = append(c.arena, data...)
	c.chunks = append(c.chunks, prompb.Chunk{
		MinTimeMs: c.minT,
		MaxTimeMs: c.maxT,
		Type:      chunkType(c.cur.Encoding()),
		Data:      c.arena[start:len(c.arena):len(c.arena)],
	})
	c.chunkBytes += entry
	if c.cur == chunkenc.Chunk(c.chunk) {
		// Bytes may have grown the chunk's stream beyond chunkBuf.
		c.chunkBuf = data
	}
	c.resetChunk()
	return nil
}

// frameBytes is the marshalled size of a ChunkedReadResponse holding the open
// series with chunks of chunkBytes encoded bytes.
func (c *ChunkedWriter) frameBytes(chunkBytes int) int {
	n := fieldBytes(c.labelBytes + chunkBytes)
	if c.queryIndex != 0 {
		n += 1 + uvarintBytes(uint64(c.queryIndex))
	}
	return n
}

// writeFrame sends the pending frame and empties it.
func (c *ChunkedWriter) writeFrame() error {
	series := prompb.ChunkedSeries{Labels: c.labels, Chunks: c.chunks}
	msg := prompb.ChunkedReadResponse{ChunkedSeries: []*prompb.ChunkedSeries{&series}, QueryIndex: c.queryIndex}
	size := msg.Size()
	if n := frameHeaderBytes + size; cap(c.frame) < n {
		c.frame = make([]byte, n)
	}
	buf := c.frame[:frameHeaderBytes+size]
	body := buf[frameHeaderBytes:]
	if _, err := msg.MarshalToSizedBuffer(body); err != nil {
		return fmt.Errorf("cannot marshal frame of series %s (%d bytes): %w", labelsString(c.labels), size, err)
	}
	// The header goes right before the message so that one Write sends the frame.
	var lenBuf [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(lenBuf[:], uint64(size))
	start := frameHeaderBytes - 4 - n
	copy(buf[start:], lenBuf[:n])
	binary.BigEndian.PutUint32(buf[frameHeaderBytes-4:], crc32.Checksum(body, castagnoli))

	c.chunks = c.chunks[:0]
	c.chunkBytes = 0
	c.arena = c.arena[:0]

	c.written = true
	if _, err := c.w.Write(buf[start:]); err != nil {
		c.err = fmt.Errorf("cannot write frame of %d bytes: %w", len(buf)-start, err)
		return c.err
	}
	if c.flusher != nil {
		c.flusher.Flush()
	}
	return nil
}

// chunkType is the prompb type of the chunks ChunkedWriter builds.
func chunkType(e chunkenc.Encoding) prompb.Chunk_Encoding {
	switch e {
	case chunkenc.EncHistogram:
		return prompb.Chunk_HISTOGRAM
	case chunkenc.EncFloatHistogram:
		return prompb.Chunk_FLOAT_HISTOGRAM
	default:
		return prompb.Chunk_XOR
	}
}

// prompbChunkSize is prompb.Chunk.Size for a chunk ChunkedWriter builds,
// computed without building the struct.
func prompbChunkSize(minT, maxT int64, dataLen int) int {
	n := 2 // Type XOR, HISTOGRAM or FLOAT_HISTOGRAM: tag and one-byte varint
	if minT != 0 {
		n += 1 + uvarintBytes(uint64(minT))
	}
	if maxT != 0 {
		n += 1 + uvarintBytes(uint64(maxT))
	}
	if dataLen > 0 {
		n += fieldBytes(dataLen)
	}
	return n
}

// fieldBytes is the encoded size of a length-delimited field with a one-byte
// tag and a payload of n bytes.
func fieldBytes(n int) int { return 1 + uvarintBytes(uint64(n)) + n }

func uvarintBytes(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// labelsString formats lbls for error messages, like {job="node", mode="idle"}.
func labelsString(lbls []prompb.Label) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range lbls {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}
