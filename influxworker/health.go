package influxworker

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-kit/log/level"
)

// pingTimeout bounds a Ping: InfluxDB answers /ping without touching its
// storage, in milliseconds even under load, so a slower ping means it hangs.
const pingTimeout = 2 * time.Second

// Ping checks that InfluxDB answers GET /ping with 2xx, records the outcome
// in promflux_influxdb_up and promflux_influxdb_ping_duration_seconds, and
// logs when it changes (up, down with the error, up again with how long it
// was down).
//
// A ping takes no worker, so that a pool busy writing is not reported
// down. It is bounded by pingTimeout (or pool.timeout when shorter) and not
// retried. A ping the caller canceled is not recorded.
func (p *Pool) Ping(ctx context.Context) error {
	start := time.Now()
	err := p.do(ctx, request{
		op:      OpPing,
		method:  http.MethodGet,
		url:     p.pingURL,
		worker:  noWorker,
		timeout: min(pingTimeout, p.timeout),
	}, nil)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return err
	}
	p.metrics.pinged(start, err == nil, time.Since(start))
	p.logHealth(start, err)
	return err
}

// Health states of the last recorded ping, for logHealth.
const (
	healthUnknown int64 = iota
	healthUp
	healthDown
)

// logHealth logs a change of the database's health at the ping started at
// start.
func (p *Pool) logHealth(start time.Time, err error) {
	next := healthUp
	if err != nil {
		next = healthDown
	}
	prev := p.health.Swap(next)
	switch {
	case prev == next:
		return
	case next == healthDown:
		p.downSince.Store(start.UnixNano())
		level.Warn(p.logger).Log("msg", "database is down: ping failed", "err", err)
	case prev == healthDown:
		down := start.Sub(time.Unix(0, p.downSince.Load())).Round(time.Second)
		level.Info(p.logger).Log("msg", "database is up again", "down_for", down, "version", p.serverVersion())
	default:
		level.Info(p.logger).Log("msg", "database is up", "version", p.serverVersion())
	}
}

// serverVersion is the last X-Influxdb-Version the server sent, "" before
// or if none.
func (p *Pool) serverVersion() string {
	if v := p.version.Load(); v != nil {
		return *v
	}
	return ""
}
