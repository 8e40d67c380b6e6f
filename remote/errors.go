package remote

import (
	"errors"
	"fmt"
)

// Errors returned by ReadWriteBody, WriteBody.Decode and
// DecodeRead (and by the response decoders), to be matched with errors.Is.
// Every error they return wraps exactly one of them.
var (
	// ErrUnsupported means the request asks for a protocol variant remote does
	// not speak: media type, proto parameter or content encoding (HTTP 415).
	ErrUnsupported = errors.New("unsupported")
	// ErrTooLarge means the compressed body exceeds limits.max_request_bytes,
	// or its decoded request would take too much memory (HTTP 413); for the
	// client-side readers, an answer or frame over the caller's limit.
	ErrTooLarge = errors.New("request too large")
	// ErrInvalid means the body cannot be decoded into a valid request:
	// decoded size over limits.max_decoded_bytes, corrupt snappy, malformed
	// protobuf, dangling symbol references, a read query that cannot be
	// answered, a read request sent to the write endpoint or the other way
	// round, no acceptable read response type (HTTP 400).
	ErrInvalid = errors.New("invalid request")
	// ErrIncomplete means the body could not be read whole: the connection
	// broke. Nothing in it was found wrong, so the sender may send it again
	// (HTTP 503).
	ErrIncomplete = errors.New("request body incomplete")
	// ErrTooSlow means the body arrived slower than limits.min_body_rate
	// allows after limits.body_timeout (LimitBodyRate). Nothing in it was
	// found wrong: a sender on a slow link may send it again (HTTP 503).
	ErrTooSlow = errors.New("request body too slow")
)

// decodeError classifies err under one of the sentinels while keeping the
// message free of the sentinel's text, so callers can show it verbatim.
type decodeError struct {
	kind error
	err  error
}

func (e *decodeError) Error() string   { return e.err.Error() }
func (e *decodeError) Unwrap() []error { return []error{e.kind, e.err} }

// newError formats a message like fmt.Errorf (so %w keeps causes reachable)
// and classifies it under kind.
func newError(kind error, format string, args ...any) error {
	return &decodeError{kind: kind, err: fmt.Errorf(format, args...)}
}
