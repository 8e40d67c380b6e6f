package influxworker

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// doRetry sends r like do, repeating it as RetryConfig describes. read must
// be safe to call again after a failed attempt, i.e. overwrite what a
// previous call produced.
func (p *Pool) doRetry(ctx context.Context, r request, read func(io.Reader) error) error {
	rc := p.cfg.Pool.Retry
	for attempt := 1; ; attempt++ {
		err := p.do(ctx, r, read)
		if err == nil || attempt >= rc.MaxAttempts || !retryable(ctx, err) {
			return err
		}
		wait := p.jitter(backoffCeiling(rc, attempt))
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		p.metrics.retried(r.op)
	}
}

// retryable reports whether err of one attempt may heal by itself soon:
// no answer (connection refused or reset, the attempt's pool.timeout) or a
// 5xx answer, while the caller still waits. A 2xx answer whose body could
// not be decoded is not retried: the same server would send it again.
func retryable(ctx context.Context, err error) bool {
	var e *Error
	if ctx.Err() != nil || !errors.As(err, &e) || e.Permanent || IsOverloaded(err) {
		// An overloaded pool sheds load: trying again at once would add
		// to it.
		return false
	}
	return e.StatusCode == 0 || e.StatusCode >= http.StatusInternalServerError
}

// backoffCeiling is the longest wait before retry n (1-based):
// MinBackoff doubled n-1 times, at most MaxBackoff.
func backoffCeiling(rc RetryConfig, n int) time.Duration {
	ceil, limit := time.Duration(rc.MinBackoff), time.Duration(rc.MaxBackoff)
	for i := 1; i < n && ceil < limit; i++ {
		ceil *= 2
	}
	return min(ceil, limit)
}

// jitter returns a uniformly random duration in [0, ceil].
func jitter(ceil time.Duration) time.Duration {
	if ceil <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}
