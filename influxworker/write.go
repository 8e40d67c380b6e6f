package influxworker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-kit/log/level"
)

// writeContentType is what InfluxDB 1.x expects for line protocol.
const writeContentType = "text/plain; charset=utf-8"

// Write sends line protocol (one point per '\n'-terminated line, timestamps
// in milliseconds) and returns once InfluxDB acknowledged every line, or
// with the error that prevents it.
//
// The lines of concurrent Writes are coalesced into batches (BatchConfig),
// each sent as one request; a Write's lines may span several batches.
// Write copies lines: the caller may reuse them once it returns, also when
// it returns early because ctx ended (with ctx's error as an *Error; the
// lines may still be written).
//
// Memory is bounded: at most pool.workers + pool.queue batches of
// max_bytes (a longer line makes a batch of its own size), plus a
// compressed copy per batch being sent. A Write that needs more fails at
// once with an *Error wrapping ErrOverloaded.
//
// Errors are *Error: a retryable one if any batch holding its lines failed
// retryably, else the permanent one. The caller may answer a retryable
// error by sending everything again: rewriting a point overwrites it, so
// resending points already stored is harmless. A batch is retried
// (RetryConfig) while any of its Writes waits; one of several Writes
// refused for good is resent one Write at a time, so that only the Writes
// with refused points see the error. With create_database, a database
// InfluxDB reports missing is created and the batch sent once more.
func (p *Pool) Write(ctx context.Context, lines []byte) error {
	if len(lines) == 0 {
		return nil
	}
	start := time.Now()
	err := p.write(ctx, lines)
	p.metrics.writeWait.Observe(time.Since(start).Seconds())
	if err != nil {
		p.metrics.writeFailed(err)
	}
	return err
}

func (p *Pool) write(ctx context.Context, lines []byte) error {
	if p.udp != nil {
		return p.writeUDP(ctx, lines)
	}
	if ctx.Err() != nil {
		return p.gaveUp(ctx, lines)
	}
	w := &waiter{ctx: ctx, pending: 1, done: make(chan struct{})}
	err := p.enqueue(ctx, w, lines)
	w.finish(nil)
	if err != nil {
		return err
	}
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		select {
		case <-w.done:
			if w.err == nil {
				// Acknowledged just as the caller gave up: say so, rather
				// than have the request sent again for nothing.
				return nil
			}
		default:
		}
		return p.gaveUp(ctx, lines)
	}
}

// gaveUp is the error of a Write whose caller stopped waiting.
func (p *Pool) gaveUp(ctx context.Context, lines []byte) error {
	return &Error{
		Op: OpWrite, Name: p.cfg.Name, Err: ctx.Err(),
		Message: fmt.Sprintf("stopped waiting for InfluxDB to acknowledge %d bytes of line protocol: %v", len(lines), ctx.Err()),
	}
}

// sender sends the bodies of one batch with a worker that it holds unless
// held is false; then err is why it lost it, the answer for every further
// body.
type sender struct {
	p    *Pool
	held bool
	err  error
}

// write sends one body, retried as RetryConfig says, and with
// create_database creates a missing database and sends the body again.
func (s *sender) write(ctx context.Context, body []byte, points int) error {
	p := s.p
	if !s.held {
		return s.err
	}
	r := request{
		op:          OpWrite,
		method:      http.MethodPost,
		url:         p.writeURL,
		body:        body,
		contentType: writeContentType,
		singleLine:  points == 1,
		worker:      holdsWorker,
	}
	if p.gzip && p.isInflux.Load() {
		// Compressed once and sent as it is by every attempt.
		buf, err := compress(body)
		if err != nil {
			return &Error{Op: OpWrite, Name: p.cfg.Name, Err: err, Message: err.Error()}
		}
		defer releaseBuffer(buf)
		r.body, r.contentEncoding = buf.Bytes(), "gzip"
	}
	err := p.doRetry(ctx, r, nil)
	var e *Error
	if p.cfg.CreateDatabase && errors.As(err, &e) && e.StatusCode == http.StatusNotFound && isDatabaseNotFound(e) {
		// EnsureDatabase takes a worker of its own: give this one back
		// meanwhile, so that a pool of one worker cannot wait for itself.
		p.releaseWorker()
		s.held = false
		if s.err = p.EnsureDatabase(ctx); s.err != nil {
			return s.err
		}
		select {
		case p.workers <- struct{}{}:
			p.metrics.inflight.Inc()
			s.held = true
		case <-ctx.Done():
			s.err = s.noWorker(ctx)
			return s.err
		}
		// Rare enough to log (InfluxDB lost its data directory).
		level.Info(p.logger).Log("msg", "Created database missing on write", "influxdb_database", p.cfg.Database)
		err = p.doRetry(ctx, r, nil)
	}
	return err
}

// noWorker is the error of a body not sent because ctx ended before a
// worker was free again after creating the database.
func (s *sender) noWorker(ctx context.Context) error {
	return &Error{
		Op: OpWrite, Name: s.p.cfg.Name, Err: ctx.Err(),
		Message: fmt.Sprintf("no free worker among %d: %v", cap(s.p.workers), ctx.Err()),
	}
}
