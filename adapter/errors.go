package adapter

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
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

func badRequest(msg string) *httpError { return &httpError{http.StatusBadRequest, msg} }

func unavailable(msg string) *httpError { return &httpError{http.StatusServiceUnavailable, msg} }

// writeError answers err with its status and a one-line body. Errors that are
// not *httpError are server faults (500); bad input never gets there.
func writeError(w http.ResponseWriter, logger log.Logger, err error) {
	status := http.StatusInternalServerError
	var he *httpError
	if errors.As(err, &he) {
		status = he.status
	}
	msg := oneLine(err.Error())
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	// Debug only: a sender retrying against a database that is down would
	// otherwise log a line per request. The counters tell the rate.
	level.Debug(logger).Log("msg", "request failed", "status", status, "err", msg)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// oneLine keeps an error message on one line, whatever a database or a
// decoder put into it, so that Prometheus logs it as one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
