package influxworker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ErrNoPromRead is the Err of the *Error PromRead returns when the server
// has no /api/v1/prom/read (404): PromReadable is false from then on, and
// the caller should read through /query.
var ErrNoPromRead = errors.New("the server has no /api/v1/prom/read")

// PromReadable reports whether reads of this database go through PromRead,
// until it answered 404: read_endpoint says so, or it is auto and the
// server's X-Influxdb-Version said 1.5 or a later 1.x, whose endpoint reads
// the storage engine directly (1.4's ran InfluxQL; 2.x and 3.x have none).
func (p *Pool) PromReadable() bool {
	switch {
	case p.udp != nil || p.cfg.ReadEndpoint == ReadQuery || p.noPromRead.Load():
		return false
	case p.cfg.ReadEndpoint == ReadPromRead:
		return true
	case p.cfg.API == APIv2:
		return false
	}
	v := p.version.Load()
	return v != nil && storageReadVersion(*v)
}

// storageReadVersion reports whether an X-Influxdb-Version, such as
// "1.6.7~rc0" or "1.8.10-c1.8.10" (Enterprise), is 1.5 or a later 1.x.
func storageReadVersion(v string) bool {
	major, rest, ok := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	if !ok || major != "1" {
		return false
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	minor, err := strconv.Atoi(rest[:end])
	return err == nil && minor >= 5
}

// PromRead posts body, a snappy-compressed Prometheus remote-read request,
// to InfluxDB 1.x's /api/v1/prom/read of the database and retention
// policy, and calls read with the answer (a snappy-compressed SAMPLES
// response). InfluxDB reads field "value" of the measurement the __name__
// matcher names (the other matchers compare tags) and builds the whole
// answer in memory: keep each request's series few.
//
// As QueryStream, it holds a worker, pool.timeout does not apply, errors
// are *Error and are not retried. A 404 marks the pool as having no such
// endpoint (ErrNoPromRead).
func (p *Pool) PromRead(ctx context.Context, body []byte, read func(io.Reader) error) error {
	err := p.do(ctx, request{
		op:              OpPromRead,
		method:          http.MethodPost,
		url:             p.promReadURL,
		body:            body,
		contentType:     "application/x-protobuf",
		contentEncoding: "snappy",
		stream:          true,
	}, read)
	var e *Error
	if errors.As(err, &e) && e.StatusCode == http.StatusNotFound {
		p.noPromRead.Store(true)
		e.Err = ErrNoPromRead
	}
	return err
}
