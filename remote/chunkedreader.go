package remote

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/prometheus/prometheus/prompb"
)

// ChunkedReader reads the frames of a STREAMED_XOR_CHUNKS remote-read
// response, the client side of ChunkedWriter. It holds one frame at a time.
type ChunkedReader struct {
	r             *bufio.Reader
	maxFrameBytes int
	frames        int
	buf           []byte
}

// NewChunkedReader returns a reader of the frames in r. A frame whose message
// is larger than maxFrameBytes is an error, as for Prometheus's
// chunked_read_limit; values below 1 mean DefaultMaxFrameBytes. r is wrapped
// in a bufio.Reader unless it already is one.
func NewChunkedReader(r io.Reader, maxFrameBytes int) *ChunkedReader {
	if maxFrameBytes < 1 {
		maxFrameBytes = DefaultMaxFrameBytes
	}
	return &ChunkedReader{r: bufio.NewReader(r), maxFrameBytes: maxFrameBytes}
}

// Next reads and decodes the next frame. It returns io.EOF, unwrapped, when
// the stream ends cleanly between frames. A frame over the size limit wraps
// ErrTooLarge; a truncated frame (wrapping io.ErrUnexpectedEOF), a checksum
// mismatch or a message that does not unmarshal wrap ErrInvalid; other read
// errors are returned wrapped as they come. The returned message does not
// share memory with the reader.
func (c *ChunkedReader) Next() (*prompb.ChunkedReadResponse, error) {
	frame := c.frames
	size, err := c.readLength(frame)
	if err != nil {
		return nil, err
	}
	if size > uint64(c.maxFrameBytes) {
		return nil, newError(ErrTooLarge, "frame %d of %d bytes exceeds the limit of %d bytes", frame, size, c.maxFrameBytes)
	}
	var crcBuf [4]byte
	if _, err := io.ReadFull(c.r, crcBuf[:]); err != nil {
		return nil, c.truncated(err, "checksum", frame)
	}
	if cap(c.buf) < int(size) {
		c.buf = make([]byte, size)
	}
	body := c.buf[:size]
	if _, err := io.ReadFull(c.r, body); err != nil {
		return nil, c.truncated(err, fmt.Sprintf("%d-byte message", size), frame)
	}
	if want, got := binary.BigEndian.Uint32(crcBuf[:]), crc32.Checksum(body, castagnoli); want != got {
		return nil, newError(ErrInvalid, "frame %d of %d bytes is corrupt: CRC32 %08x, header says %08x", frame, size, got, want)
	}
	var msg prompb.ChunkedReadResponse
	if err := msg.Unmarshal(body); err != nil {
		return nil, newError(ErrInvalid, "cannot unmarshal frame %d of %d bytes: %w", frame, size, err)
	}
	c.frames++
	return &msg, nil
}

// readLength reads the uvarint length of a frame. Unlike
// binary.ReadUvarint it tells a broken stream (ErrInvalid) from a failing
// reader (no sentinel) and from the clean end (io.EOF).
func (c *ChunkedReader) readLength(frame int) (uint64, error) {
	var x uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		b, err := c.r.ReadByte()
		if err != nil {
			if i == 0 && errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, c.truncated(err, "length", frame)
		}
		if i == binary.MaxVarintLen64-1 && b > 1 {
			break
		}
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return x, nil
		}
	}
	return 0, newError(ErrInvalid, "length of frame %d overflows 64 bits", frame)
}

// truncated classifies an error met while reading part of a frame: an early
// end of the stream makes the frame invalid, anything else is the reader's.
func (c *ChunkedReader) truncated(err error, part string, frame int) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return newError(ErrInvalid, "cannot read %s of frame %d: stream ends early: %w", part, frame, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("cannot read %s of frame %d: %w", part, frame, err)
}
