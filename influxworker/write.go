package influxworker

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/go-kit/log/level"
)

// writeContentType is what InfluxDB 1.x expects for line protocol.
const writeContentType = "text/plain; charset=utf-8"

// Write sends line protocol (one point per '\n'-terminated line, timestamps
// in milliseconds) to the database. The body is split at line boundaries
// into parts of at most pool.max_body_bytes, which are sent concurrently
// within the worker bound. Write succeeds only when InfluxDB acknowledged
// every part.
//
// On failure it returns an *Error: a retryable one if any part failed
// retryably (the caller should answer so that the whole batch is sent again,
// which InfluxDB absorbs because rewriting a point overwrites it), else the
// first permanent one. After a retryable failure the parts not yet sent are
// abandoned; after a permanent one the other parts are still written.
//
// When create_database is set and InfluxDB answers that the database does
// not exist, Write creates it and sends the part once more.
func (p *Pool) Write(ctx context.Context, lines []byte) error {
	err := p.write(ctx, lines)
	if err != nil {
		p.metrics.writeFailed(err)
	}
	return err
}

func (p *Pool) write(ctx context.Context, lines []byte) error {
	parts := splitLines(lines, int(p.cfg.Pool.MaxBodyBytes))
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return p.writePart(ctx, parts[0])
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg        sync.WaitGroup
		once      sync.Once
		retryable error
		errs      = make([]error, len(parts))
	)
	for i, part := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.writePart(ctx, part)
			errs[i] = err
			if err != nil && !IsPermanent(err) {
				// The batch will be sent again anyway: stop the other
				// parts, and report this cause rather than the
				// cancellations it triggers.
				once.Do(func() {
					retryable = err
					cancel()
				})
			}
		}()
	}
	wg.Wait()
	if retryable != nil {
		return retryable
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writePart sends one part, creating the database and sending it again when
// create_database is set and InfluxDB does not know the database.
// Writes are retried as RetryConfig says: rewriting a point overwrites it,
// so a part InfluxDB stored before the attempt failed is harmless to resend.
func (p *Pool) writePart(ctx context.Context, part []byte) error {
	r := request{
		op:          OpWrite,
		method:      http.MethodPost,
		url:         p.writeURL,
		body:        part,
		contentType: writeContentType,
		singleLine:  bytes.IndexByte(bytes.TrimRight(part, "\n"), '\n') < 0,
	}
	if p.cfg.Pool.Gzip && p.isInflux.Load() {
		// Compressed once, before waiting for a worker, and sent as it is
		// by every attempt.
		buf, err := compress(part)
		if err != nil {
			return &Error{Op: OpWrite, Database: p.cfg.Name, Err: err, Message: err.Error()}
		}
		defer releaseBuffer(buf)
		r.body, r.contentEncoding = buf.Bytes(), "gzip"
	}
	err := p.doRetry(ctx, r, nil)
	var e *Error
	if p.cfg.CreateDatabase && errors.As(err, &e) && e.StatusCode == http.StatusNotFound && isDatabaseNotFound(e) {
		if cerr := p.EnsureDatabase(ctx); cerr != nil {
			return cerr
		}
		// Happens after InfluxDB lost its data directory, rarely enough to
		// log; a failing creation is returned instead, once per write.
		level.Info(p.logger).Log("msg", "Created database missing on write", "influxdb_database", p.cfg.Database)
		err = p.doRetry(ctx, r, nil)
	}
	if err != nil {
		return err
	}
	p.metrics.pointsWritten.Add(float64(countLines(part)))
	return nil
}

// splitLines cuts b after '\n' into parts of at most max bytes. A line longer
// than max becomes a part of its own, so that InfluxDB can refuse just that
// line. The parts share b's memory.
func splitLines(b []byte, max int) [][]byte {
	if len(b) == 0 {
		return nil
	}
	parts := make([][]byte, 0, len(b)/max+1)
	for len(b) > max {
		cut := bytes.LastIndexByte(b[:max], '\n')
		if cut < 0 {
			next := bytes.IndexByte(b[max:], '\n')
			if next < 0 {
				break
			}
			cut = max + next
		}
		parts = append(parts, b[:cut+1])
		b = b[cut+1:]
	}
	if len(b) > 0 {
		parts = append(parts, b)
	}
	return parts
}

// countLines counts the lines of a part, the last one possibly without '\n'.
func countLines(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}
