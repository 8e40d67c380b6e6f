package adapter

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-kit/log/level"

	"github.com/promflux/promflux/internal/oneline"
)

// retryAfterSeconds is what a 503 asks the client to wait. Prometheus
// honours Retry-After on 5xx answers, so one second keeps its queue moving
// while a database restarts without hammering it.
const retryAfterSeconds = 1

// httpError is an error that knows the status code it should be answered
// with. Everything the handlers refuse goes through it, so the status-code
// policy lives in one place: the constructors below.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// badRequest: the request, or what the database refused for good;
// Prometheus drops it.
func badRequest(msg string) *httpError { return &httpError{http.StatusBadRequest, msg} }

// unavailable: retry later (with Retry-After); Prometheus retries it.
func unavailable(msg string) *httpError { return &httpError{http.StatusServiceUnavailable, msg} }

// overloaded: retry later, with status write.overload_status (503, or 429
// for senders set up to retry it).
func overloaded(status int, msg string) *httpError { return &httpError{status, msg} }

// unsupportedMediaType: a content type, encoding or message promflux does
// not read.
func unsupportedMediaType(msg string) *httpError {
	return &httpError{http.StatusUnsupportedMediaType, msg}
}

// tooLarge: a body over limits.max_request_bytes.
func tooLarge(msg string) *httpError { return &httpError{http.StatusRequestEntityTooLarge, msg} }

// serverError: promflux's fault, or data it cannot read back.
func serverError(msg string) *httpError { return &httpError{http.StatusInternalServerError, msg} }

// writeError answers err with its status and a one-line body. Errors that are
// not *httpError are server faults (500); bad input never gets there.
//
// A refusal Prometheus does not retry (4xx but 429) loses what it carried,
// so it is logged at warn, at most once per logInterval with the number of
// refusals left out; the others, retried, at debug, since a sender retrying
// against a database that is down would log a line per request.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var he *httpError
	if errors.As(err, &he) {
		status = he.status
	}
	msg := oneline.Of(err.Error())
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
		if ok, left := s.refusals.allow(time.Now()); ok {
			level.Warn(s.logger).Log("msg", "request refused, the client will not retry it", "status", status, "err", msg, "refusals_not_logged", left)
		}
	} else {
		level.Debug(s.logger).Log("msg", "request failed", "status", status, "err", msg)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// logInterval is the least time between two log lines of a logLimiter.
const logInterval = time.Second

// logLimiter lets one log line through per logInterval, and counts the
// others, so that a flood of bad requests cannot fill a disk.
type logLimiter struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

// allow reports whether a line may be logged at now, and how many were
// not since the last one that was.
func (l *logLimiter) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < logInterval {
		l.skipped++
		return false, 0
	}
	skipped := l.skipped
	l.last, l.skipped = now, 0
	return true, skipped
}
