package influxworker

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// gzipLevel favours speed: compression is on the hot path of every write,
// and a fast level already shrinks line protocol many times (see
// PoolConfig.Gzip). klauspost/compress level 2 takes 30% less CPU than the
// standard library's fastest level for a slightly better ratio
// (BenchmarkCompress).
const gzipLevel = 2

// gzipWriters and gzipBuffers keep the writers (whose compression state is
// about 800KB to allocate) and the compressed bodies for reuse.
var (
	gzipWriters = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzipLevel) // gzipLevel is valid
		return w
	}}
	gzipBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// maxPooledBuffer keeps an outsized buffer, e.g. of one huge line, from
// being held by the pool forever.
const maxPooledBuffer = 8 << 20

// compress returns b gzip-compressed in a pooled buffer, which the caller
// hands back with releaseBuffer once the request is done.
func compress(b []byte) (*bytes.Buffer, error) {
	buf := gzipBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(buf)
	if _, err := w.Write(b); err != nil {
		releaseBuffer(buf)
		return nil, fmt.Errorf("cannot gzip %d bytes of line protocol: %w", len(b), err)
	}
	if err := w.Close(); err != nil {
		releaseBuffer(buf)
		return nil, fmt.Errorf("cannot gzip %d bytes of line protocol: %w", len(b), err)
	}
	return buf, nil
}

// releaseBuffer returns a buffer of compress to the pool.
func releaseBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		gzipBuffers.Put(buf)
	}
}
