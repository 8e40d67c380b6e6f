package influxworker

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// pingTimeout bounds a Ping (or pool.timeout when shorter): InfluxDB answers
// /ping without touching its storage, within milliseconds even under a
// heavy write load, so a ping that takes seconds means InfluxDB is hung.
const pingTimeout = 2 * time.Second

// Health is the outcome of the last Ping of a Pool.
type Health struct {
	// Up is true when the last ping was answered with 2xx.
	Up bool
	// Checked is when the last ping was sent; zero before the first one.
	Checked time.Time
	// Latency is how long the last ping took.
	Latency time.Duration
	// Err is why the last ping failed, an *Error; nil when Up.
	Err error
}

// Ping checks that InfluxDB answers GET /ping with 2xx (1.x sends 204) and
// records the outcome for Health and the promflux_influxdb_up gauge.
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
	h := &Health{Up: err == nil, Checked: start, Latency: time.Since(start), Err: err}
	p.health.Store(h)
	p.metrics.pinged(h)
	return err
}

// Health returns the outcome of the last Ping; the zero Health, with Up
// false, before the first one.
func (p *Pool) Health() Health {
	if h := p.health.Load(); h != nil {
		return *h
	}
	return Health{}
}
