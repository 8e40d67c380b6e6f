package remote

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// LimitBodyRate makes r's body fail with ErrTooSlow once it arrives slower
// than cfg allows: within cfg.BodyTimeout, plus one second for every
// cfg.MinBodyRate bytes received, as Apache's mod_reqtimeout does. The
// server's connection is given a read deadline that moves as the bytes
// arrive, so that a stalled sender is cut when the deadline passes, not
// when it sends its next byte.
//
// It replaces r.Body and must be called before the body is read. Where the
// request has no body (net/http then already reads ahead on the
// connection, and a deadline would end the request's context), the
// connection has no read deadline to set (a ResponseWriter that does not
// support it), or cfg sets no timeout or rate, the body is left as it is.
func LimitBodyRate(w http.ResponseWriter, r *http.Request, cfg Config) {
	if cfg.BodyTimeout <= 0 || cfg.MinBodyRate <= 0 || r.Body == nil || r.Body == http.NoBody {
		return
	}
	rc := http.NewResponseController(w)
	start := time.Now()
	g := &rateGuard{body: r.Body, rc: rc, start: start, grace: time.Duration(cfg.BodyTimeout), rate: int64(cfg.MinBodyRate)}
	if rc.SetReadDeadline(g.deadline()) != nil {
		return
	}
	r.Body = g
}

// rateGuard is a request body whose connection's read deadline grows with
// the bytes received.
type rateGuard struct {
	body     io.ReadCloser
	rc       *http.ResponseController
	start    time.Time
	grace    time.Duration
	rate     int64 // bytes per second
	received int64
}

// deadline is when the body must have arrived, counting what has.
func (g *rateGuard) deadline() time.Time {
	return g.start.Add(g.grace + time.Duration(g.received*int64(time.Second)/g.rate))
}

func (g *rateGuard) Read(p []byte) (int, error) {
	n, err := g.body.Read(p)
	g.received += int64(n)
	if n > 0 && err == nil {
		err = g.rc.SetReadDeadline(g.deadline())
	}
	var timeout interface{ Timeout() bool }
	if err != nil && errors.As(err, &timeout) && timeout.Timeout() {
		took := time.Since(g.start).Round(time.Millisecond)
		return n, &slowBodyError{received: g.received, took: took, grace: g.grace, rate: g.rate}
	}
	return n, err
}

func (g *rateGuard) Close() error { return g.body.Close() }

// slowBodyError is a body cut by rateGuard.
type slowBodyError struct {
	received int64
	took     time.Duration
	grace    time.Duration
	rate     int64
}

func (e *slowBodyError) Error() string {
	return fmt.Sprintf("request body arrived too slowly and was cut: %d bytes in %s, allowed %s plus 1s per %d bytes (limits.body_timeout, limits.min_body_rate)",
		e.received, e.took, e.grace, e.rate)
}

func (e *slowBodyError) Is(target error) bool { return target == ErrTooSlow }
