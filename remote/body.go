package remote

import (
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/golang/snappy"
)

// maxPooledBuffer caps the buffers kept for reuse: ordinary remote-write
// requests are well below it, and one burst of huge requests should not pin
// their memory for the life of the process.
const maxPooledBuffer = 8 << 20

// bufferPool recycles the byte buffers of one use.
type bufferPool struct{ p sync.Pool }

// get returns an empty buffer, nil when the pool has none.
func (bp *bufferPool) get() []byte {
	if p, ok := bp.p.Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return nil
}

// put keeps b for reuse, unless it is nil or over maxPooledBuffer.
func (bp *bufferPool) put(b []byte) {
	if b == nil || cap(b) > maxPooledBuffer {
		return
	}
	b = b[:0]
	bp.p.Put(&b)
}

// The buffers of each use have a pool of their own, so that a buffer is
// reused for what it was sized for: a remote-write body waiting for its
// turn to be decoded (write.max_concurrency) would otherwise hold a buffer
// the size of a decoded one, several times its size, and hundreds of
// senders waiting would hold that many.
var (
	// compressedBuffers holds the bodies read by readLimited, returned once
	// decoded (WriteBody.Release for remote write).
	compressedBuffers bufferPool
	// decodedBuffers holds the bodies decodeSnappy decompressed: a
	// remote-write body is returned by WriteRequest.Release, as the
	// request's strings alias it; the others once decoded, as the generated
	// unmarshallers of remote read copy what they keep.
	decodedBuffers bufferPool
	// answerBuffers holds the buffers a SamplesWriter encodes its answer
	// into.
	answerBuffers bufferPool
)

// readBody reads the whole body into a pooled buffer, failing with ErrTooLarge
// as soon as more than limit bytes arrive. A declared Content-Length over the
// limit fails before anything is read. The caller must put the result into
// compressedBuffers.
func readBody(body io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength > limit {
		return nil, newError(ErrTooLarge, "request body of %d bytes exceeds limits.max_request_bytes (%d)", contentLength, limit)
	}
	buf, n, err := readLimited(body, contentLength, limit)
	switch {
	case errors.Is(err, errOverLimit):
		return nil, newError(ErrTooLarge, "request body exceeds limits.max_request_bytes (%d)", limit)
	case errors.Is(err, ErrTooSlow):
		return nil, err
	case err != nil:
		return nil, newError(ErrIncomplete, "cannot read request body after %d bytes: %w", n, err)
	}
	return buf, nil
}

// errOverLimit is readLimited's error past its limit.
var errOverLimit = errors.New("over the limit")

// readLimited reads r to its end into a pooled buffer, sized from
// sizeHint when it is known (> 0), and fails with errOverLimit as soon as
// more than limit bytes arrive, or with the read error and the number of
// bytes read before it. The caller must put the result into
// compressedBuffers.
func readLimited(r io.Reader, sizeHint, limit int64) ([]byte, int, error) {
	buf := compressedBuffers.get()
	if sizeHint > 0 && int64(cap(buf)) <= sizeHint {
		// One spare byte lets the final read observe EOF without growing.
		buf = make([]byte, 0, sizeHint+1)
	}
	// Reading limit+1 bytes is enough to tell "at the limit" from "over it".
	lr := io.LimitReader(r, limit+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			compressedBuffers.put(buf)
			return nil, 0, errOverLimit
		}
		if errors.Is(err, io.EOF) {
			return buf, len(buf), nil
		}
		if err != nil {
			n := len(buf)
			compressedBuffers.put(buf)
			return nil, n, err
		}
	}
}

// decodeSnappy decompresses a snappy block-format body into a pooled buffer.
// The decoded length announced in the block header is checked against limit
// before any memory is allocated for it. The caller must put the result into
// decodedBuffers.
func decodeSnappy(compressed []byte, limit int64) ([]byte, error) {
	if len(compressed) == 0 {
		return nil, newError(ErrInvalid, "empty request body: expected a snappy-compressed protobuf message")
	}
	n, err := snappy.DecodedLen(compressed)
	if err != nil {
		return nil, newError(ErrInvalid, "cannot decode snappy block header of %d-byte body: %w", len(compressed), err)
	}
	if int64(n) > limit {
		return nil, newError(ErrInvalid, "decoded body of %d bytes exceeds limits.max_decoded_bytes (%d)", n, limit)
	}
	dst := decodedBuffers.get()
	if cap(dst) < n {
		// Too small: dropped, not put back, or the pool would gather one
		// such buffer per request larger than the one it handed out. The
		// new one has room for the next bodies of about this size.
		dst = make([]byte, n, n+n/8)
	}
	decoded, err := snappy.Decode(dst[:cap(dst)], compressed)
	if err != nil {
		decodedBuffers.put(dst)
		return nil, newError(ErrInvalid, "cannot decode snappy body of %d bytes (%d decoded): %w", len(compressed), n, err)
	}
	return decoded, nil
}

// readSnappyBody reads r's body within cfg's limits and decompresses it. The
// caller must put the result into decodedBuffers.
func readSnappyBody(r *http.Request, cfg Config) ([]byte, error) {
	compressed, err := readBody(r.Body, r.ContentLength, int64(cfg.MaxRequestBytes))
	if err != nil {
		return nil, err
	}
	decoded, err := decodeSnappy(compressed, int64(cfg.MaxDecodedBytes))
	compressedBuffers.put(compressed)
	return decoded, err
}
