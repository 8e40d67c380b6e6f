package influxworker

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/promflux/promflux/internal/oneline"
)

// The operations of a Pool, as found in Error.Op and in the `operation`
// label of the metrics.
const (
	OpPing           = "ping"
	OpQuery          = "query"
	OpQueryStream    = "query_stream"
	OpPromRead       = "prom_read"
	OpPost           = "post"
	OpWrite          = "write"
	OpCreateDatabase = "create_database"
)

// The reasons of a failed request, as returned by Reason and found in the
// `reason` label of promflux_influxdb_write_errors_total.
const (
	// ReasonRejected: InfluxDB refused the data for good (IsPermanent).
	ReasonRejected = "rejected"
	// ReasonTimeout: the request or the wait for a worker ran out of time.
	ReasonTimeout = "timeout"
	// ReasonCanceled: the caller gave up, e.g. Prometheus closed the request.
	ReasonCanceled = "canceled"
	// ReasonOverloaded: the pool's bound was reached (IsOverloaded).
	ReasonOverloaded = "overloaded"
	// ReasonUnavailable: anything else that may succeed later, such as
	// connection errors, 5xx and configuration problems (401, 403, 404).
	ReasonUnavailable = "unavailable"
)

// maxMessageBytes caps Error.Message, which ends up in HTTP answers and
// logs: InfluxDB lists every line it could not parse, and the first few
// show the cause.
const maxMessageBytes = 1024

// Error is the error type of a Pool's requests. Permanent tells whether
// InfluxDB refused the request for good or it may succeed later.
//
// Permanent errors are a 400 (partial write, field type conflict, unable
// to parse, beyond retention policy, a query InfluxDB cannot parse) unless
// the database or retention policy is missing, the 2.x API's 422, a 413
// for a single line, lines that cannot go over UDP, and any request but a
// ping or write to a write-only pool. Everything else is retryable, 401,
// 403 and 404 included: configuration problems must not make the sender
// drop data.
type Error struct {
	// Op is the operation, one of the Op constants.
	Op string
	// Name is the Name of the pool's Config, promflux's name for the
	// database, not the InfluxDB database.
	Name string
	// StatusCode is InfluxDB's HTTP status, 0 when there was no answer.
	StatusCode int
	// Permanent is true when repeating the request cannot succeed.
	Permanent bool
	// Message is InfluxDB's reason or the transport error, on one line.
	Message string
	// Err is the underlying error, if any: the transport or context error
	// when no (complete) answer came, ErrOverloaded, ErrNoPromRead, or why
	// a 2xx body could not be read. It is nil when InfluxDB gave the reason.
	Err error
}

// Error returns one line such as
// `influxdb "default": write: 400 Bad Request: partial write: ...`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("influxdb ")
	b.WriteString(strconv.Quote(e.Name))
	b.WriteString(": ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.StatusCode != 0 {
		b.WriteString(strconv.Itoa(e.StatusCode))
		if text := http.StatusText(e.StatusCode); text != "" {
			b.WriteString(" ")
			b.WriteString(text)
		}
		if e.Message != "" {
			b.WriteString(": ")
		}
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap returns the underlying transport or context error, so that
// errors.Is(err, context.DeadlineExceeded) works.
func (e *Error) Unwrap() error { return e.Err }

// ErrOverloaded is wrapped by the errors of requests refused at once
// because the pool's bound was reached: pool.queue queries waiting for a
// worker, or pool.workers + pool.queue write batches in memory.
var ErrOverloaded = errors.New("overloaded")

// IsOverloaded reports whether err wraps ErrOverloaded.
func IsOverloaded(err error) bool { return errors.Is(err, ErrOverloaded) }

// IsPermanent reports whether err contains a permanent *Error: repeating
// the request cannot succeed. It is false for nil and other error types.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// IsTimeout reports whether err is a request timeout or a deadline that ran
// out while waiting for a worker.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}

// Reason classifies err for metrics: one of the Reason constants, or "" for
// nil.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case IsPermanent(err):
		return ReasonRejected
	case IsOverloaded(err):
		return ReasonOverloaded
	case IsTimeout(err):
		return ReasonTimeout
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	default:
		return ReasonUnavailable
	}
}

// The beginnings of InfluxDB's reasons that tell a configuration problem,
// retried, from bad data; the other 400 answers are permanent.
const (
	// msgDatabaseNotFound: 404 on /write, or 400 where a proxy or version
	// maps it so.
	msgDatabaseNotFound = "database not found"
	// msgRetentionPolicyNotFound: the retention policy of a write does not
	// exist.
	msgRetentionPolicyNotFound = "retention policy not found"
)

// isDatabaseNotFound reports whether InfluxDB answered that the database
// does not exist (404 on /write, a statement error on /query).
func isDatabaseNotFound(e *Error) bool {
	return strings.HasPrefix(e.Message, msgDatabaseNotFound)
}

// isRetentionPolicyNotFound reports whether InfluxDB answered that the
// retention policy of a write does not exist.
func isRetentionPolicyNotFound(e *Error) bool {
	return strings.HasPrefix(e.Message, msgRetentionPolicyNotFound)
}

// message turns InfluxDB's reason or a transport error into an
// Error.Message: on one line (oneline.Of) and at most maxMessageBytes long.
func message(s string) string {
	s = oneline.Of(s)
	if len(s) > maxMessageBytes {
		cut := maxMessageBytes
		// Do not split a UTF-8 sequence.
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "... (" + strconv.Itoa(len(s)-cut) + " more bytes)"
	}
	return s
}
