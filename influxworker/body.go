package influxworker

import (
	"errors"
	"io"
	"sync"
)

// errBodyReleased is what the transport reads from a request body after
// the request returned.
var errBodyReleased = errors.New("request body released after the request returned")

// requestBody lends a byte slice to the HTTP transport for one request.
// The transport may read a body after RoundTrip returned (InfluxDB answered
// before reading it all); release makes such late reads fail, so that the
// slice, a pooled gzip buffer or a batch, can be reused once the request
// returns.
type requestBody struct {
	mu sync.Mutex
	b  []byte
}

// reader returns a new reader of the body from its start, for the request
// and for GetBody, which the transport calls to resend on a fresh
// connection.
func (rb *requestBody) reader() io.ReadCloser { return &bodyReader{rb: rb} }

// release ends the loan: it waits for a Read in progress to finish.
func (rb *requestBody) release() {
	rb.mu.Lock()
	rb.b = nil
	rb.mu.Unlock()
}

type bodyReader struct {
	rb  *requestBody
	off int
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.rb.mu.Lock()
	defer r.rb.mu.Unlock()
	if r.rb.b == nil {
		return 0, errBodyReleased
	}
	if r.off >= len(r.rb.b) {
		return 0, io.EOF
	}
	n := copy(p, r.rb.b[r.off:])
	r.off += n
	return n, nil
}

func (r *bodyReader) Close() error { return nil }
