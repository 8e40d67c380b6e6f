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

// Ping checks that InfluxDB answers GET /ping with 2xx (1.x sends 204) and
// records the outcome in the promflux_influxdb_up and
// promflux_influxdb_ping_duration_seconds gauges.
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
	return err
}
