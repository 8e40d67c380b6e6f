package influxworker

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the self-metrics of all pools. They are created once and
// shared, because pools are recreated on every configuration reload and a
// collector can be registered only once. Every series carries the pool's
// `database` label (the Config name).
type Metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inflight      *prometheus.GaugeVec
	queued        *prometheus.GaugeVec
	pointsWritten *prometheus.CounterVec
	writeErrors   *prometheus.CounterVec
	retries       *prometheus.CounterVec
	up            *prometheus.GaugeVec
	pingDuration  *prometheus.GaugeVec
	batchPoints   *prometheus.HistogramVec
	batchBytes    *prometheus.HistogramVec
	writeWait     *prometheus.HistogramVec
	splits        *prometheus.CounterVec
	udpDatagrams  *prometheus.CounterVec

	// mu guards removed, the databases Remove deleted: the pools of a
	// removed database may still be finishing requests, and must not bring
	// its series back.
	mu      sync.RWMutex
	removed map[string]bool
}

// NewMetrics creates the metrics and registers them with reg; a nil reg
// leaves them unregistered. The metrics are:
//
//   - promflux_influxdb_requests_total{database,operation,code}: HTTP
//     requests sent to InfluxDB by status code, "error" when no answer came.
//   - promflux_influxdb_request_duration_seconds{database,operation}: time
//     from sending a request to reading its answer, without the wait for a
//     worker.
//   - promflux_influxdb_inflight_requests{database}: requests holding a
//     worker; reaching pool.workers means callers are queueing.
//   - promflux_influxdb_queue_length{database}: write batches not yet sent
//     (filling, or cut and waiting for a worker) plus queries waiting for a
//     worker. Writes are refused as overloaded once pool.workers +
//     pool.queue batches are in memory, sent or not.
//   - promflux_influxdb_points_written_total{database}: lines InfluxDB
//     acknowledged with 2xx, or sent in a datagram with transport: udp.
//   - promflux_influxdb_write_errors_total{database,reason}: Write calls
//     that failed, by Reason (rejected, overloaded, timeout,
//     canceled, unavailable).
//   - promflux_influxdb_retries_total{database,operation}: attempts that
//     repeated a failed request (see RetryConfig); each also counts in
//     requests_total.
//   - promflux_influxdb_up{database}: 1 after a successful Ping, 0 after a
//     failed one; absent before the first.
//   - promflux_influxdb_ping_duration_seconds{database}: duration of the
//     last Ping.
//   - promflux_influxdb_write_batch_points{database} and
//     promflux_influxdb_write_batch_bytes{database}: lines and bytes
//     (before gzip) of the batches sent; near pool.batch.max_points or
//     max_bytes when writes are coalesced.
//   - promflux_influxdb_write_wait_seconds{database}: time from a Write
//     call to its return, acknowledged or not: batching, waiting for a
//     worker, retries and the requests themselves.
//   - promflux_influxdb_write_batch_splits_total{database}: batches of
//     several Writes refused for good and sent again one Write at a time,
//     so that only the Writes with refused points fail.
//   - promflux_influxdb_udp_datagrams_sent_total{database}: datagrams
//     handed to the kernel by pools with transport: udp, whose lines count
//     in points_written_total although nothing acknowledges them.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		up: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "up",
			Help:      "1 if the last ping of InfluxDB succeeded, 0 if it failed.",
		}, []string{"database"}),
		pingDuration: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "ping_duration_seconds",
			Help:      "Duration of the last ping of InfluxDB.",
		}, []string{"database"}),
		batchPoints: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "write_batch_points",
			Help:      "Lines of line protocol per write request sent to InfluxDB, after coalescing concurrent writes.",
			Buckets:   []float64{1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000, 50000},
		}, []string{"database"}),
		batchBytes: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "write_batch_bytes",
			Help:      "Bytes of line protocol (before gzip) per write request sent to InfluxDB, after coalescing concurrent writes.",
			Buckets:   prometheus.ExponentialBuckets(1024, 4, 9), // 1KiB to 64MiB
		}, []string{"database"}),
		writeWait: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "write_wait_seconds",
			Help:      "Time from a write call to its acknowledgement by InfluxDB or its failure, including batching, waiting for a worker and retries.",
			Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"database"}),
		splits: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "write_batch_splits_total",
			Help:      "Batches holding several writes that InfluxDB refused for good, sent again one write at a time so that only the writes with refused points fail.",
		}, []string{"database"}),
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "requests_total",
			Help:      "HTTP requests sent to InfluxDB, by operation and status code (\"error\" when no answer came).",
		}, []string{"database", "operation", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "request_duration_seconds",
			Help:      "Duration of HTTP requests to InfluxDB, from sending to reading the answer, without waiting for a worker.",
			Buckets:   []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"database", "operation"}),
		inflight: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "inflight_requests",
			Help:      "HTTP requests to InfluxDB currently holding a worker.",
		}, []string{"database"}),
		queued: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "queue_length",
			Help:      "Write batches to InfluxDB not yet sent (filling or waiting for a worker), plus queries waiting for a worker.",
		}, []string{"database"}),
		pointsWritten: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "points_written_total",
			Help:      "Line-protocol points acknowledged by InfluxDB, or sent to its UDP listener (transport: udp).",
		}, []string{"database"}),
		writeErrors: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "write_errors_total",
			Help:      "Write calls that failed, by reason (rejected, overloaded, timeout, canceled, unavailable).",
		}, []string{"database", "reason"}),
		retries: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "retries_total",
			Help:      "Repeated attempts of HTTP requests to InfluxDB after a 5xx answer, a timeout or a connection error.",
		}, []string{"database", "operation"}),
		udpDatagrams: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "udp_datagrams_sent_total",
			Help:      "Datagrams of line protocol handed to the kernel for an InfluxDB UDP listener (transport: udp); UDP does not tell whether they arrived.",
		}, []string{"database"}),
	}
}

// Remove deletes every series of database, for a database that a
// configuration reload removed: its last promflux_influxdb_up would
// otherwise be exported, and alerted on, for the rest of the process's life.
func (m *Metrics) Remove(database string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.removed == nil {
		m.removed = map[string]bool{}
	}
	m.removed[database] = true
	l := prometheus.Labels{"database": database}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.requests, m.duration, m.inflight, m.queued, m.pointsWritten, m.writeErrors, m.retries,
		m.up, m.pingDuration, m.batchPoints, m.batchBytes, m.writeWait, m.splits, m.udpDatagrams,
	} {
		v.DeletePartialMatch(l)
	}
}

// poolMetrics are the metrics curried with one pool's database label, so
// that the hot path does not look up label values it already knows. The
// curried children stay usable after Remove without coming back into the
// export; the vectors looked up per call check Metrics.removed first.
type poolMetrics struct {
	m             *Metrics
	database      string
	inflight      prometheus.Gauge
	queued        prometheus.Gauge
	pointsWritten prometheus.Counter
	batchPoints   prometheus.Observer
	batchBytes    prometheus.Observer
	writeWait     prometheus.Observer
	splits        prometheus.Counter

	// pingMu guards lastPing, when the last recorded ping was sent.
	pingMu   sync.Mutex
	lastPing time.Time
}

func (m *Metrics) forPool(database string) *poolMetrics {
	m.mu.Lock()
	delete(m.removed, database)
	m.mu.Unlock()
	// Failures are exported at 0 from the start: rate() and increase()
	// then count the first one, which they miss when a series appears
	// with it.
	for _, reason := range []string{ReasonRejected, ReasonTimeout, ReasonCanceled, ReasonOverloaded, ReasonUnavailable} {
		m.writeErrors.WithLabelValues(database, reason)
	}
	m.retries.WithLabelValues(database, OpWrite)
	return &poolMetrics{
		m:             m,
		database:      database,
		inflight:      m.inflight.WithLabelValues(database),
		queued:        m.queued.WithLabelValues(database),
		pointsWritten: m.pointsWritten.WithLabelValues(database),
		batchPoints:   m.batchPoints.WithLabelValues(database),
		batchBytes:    m.batchBytes.WithLabelValues(database),
		writeWait:     m.writeWait.WithLabelValues(database),
		splits:        m.splits.WithLabelValues(database),
	}
}

// observe records one finished HTTP request; code is 0 when no answer came.
func (pm *poolMetrics) observe(op string, code int, seconds float64) {
	c := "error"
	if code != 0 {
		c = strconv.Itoa(code)
	}
	pm.m.mu.RLock()
	defer pm.m.mu.RUnlock()
	if pm.m.removed[pm.database] {
		return
	}
	pm.m.requests.WithLabelValues(pm.database, op, c).Inc()
	pm.m.duration.WithLabelValues(pm.database, op).Observe(seconds)
}

func (pm *poolMetrics) writeFailed(err error) {
	pm.m.mu.RLock()
	defer pm.m.mu.RUnlock()
	if !pm.m.removed[pm.database] {
		pm.m.writeErrors.WithLabelValues(pm.database, Reason(err)).Inc()
	}
}

// retried records one repeated attempt of op.
func (pm *poolMetrics) retried(op string) {
	pm.m.mu.RLock()
	defer pm.m.mu.RUnlock()
	if !pm.m.removed[pm.database] {
		pm.m.retries.WithLabelValues(pm.database, op).Inc()
	}
}

// pinged records the outcome of a ping sent at start. Pings run
// concurrently (a health loop, readiness probes): one that finishes after a
// newer one is not recorded, so that a slow failure cannot overwrite a
// later success.
func (pm *poolMetrics) pinged(start time.Time, up bool, latency time.Duration) {
	pm.pingMu.Lock()
	defer pm.pingMu.Unlock()
	if start.Before(pm.lastPing) {
		return
	}
	pm.lastPing = start
	v := 0.0
	if up {
		v = 1
	}
	pm.m.mu.RLock()
	defer pm.m.mu.RUnlock()
	if pm.m.removed[pm.database] {
		return
	}
	pm.m.up.WithLabelValues(pm.database).Set(v)
	pm.m.pingDuration.WithLabelValues(pm.database).Set(latency.Seconds())
}
