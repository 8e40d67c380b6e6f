package influxworker

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-kit/log/level"
)

// pingTimeout bounds a Ping (or pool.timeout when shorter): InfluxDB answers
// /ping without touching its storage, within milliseconds even under a
// heavy write load, so a ping that takes seconds means InfluxDB is hung.
const pingTimeout = 2 * time.Second

// Ping checks that InfluxDB answers GET /ping with 2xx (1.x sends 204) and
// records the outcome in the promflux_influxdb_up and
// promflux_influxdb_ping_duration_seconds gauges, and in the log when it
// changes: the database is up (info), down (warn, with the error), or up
// again (info, with how long it was down).
//
// A ping does not wait for a worker: a pool whose workers are all busy
// writing is alive, and a health check must not report it down. It is
// bounded by 2s (or pool.timeout when shorter) and not retried: the caller
// pings again on its own schedule. A ping the caller canceled is not
// recorded, since it says nothing about InfluxDB.
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
