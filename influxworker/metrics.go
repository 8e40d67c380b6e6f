package influxworker

import (
	"strconv"

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
//   - promflux_influxdb_queue_length{database}: requests waiting for a
//     worker; reaching pool.queue means requests are refused as overloaded.
//   - promflux_influxdb_points_written_total{database}: lines InfluxDB
//     acknowledged with 2xx.
//   - promflux_influxdb_write_errors_total{database,reason}: write requests
//     that failed for good, by Reason (rejected, overloaded, timeout,
//     canceled, unavailable).
//   - promflux_influxdb_retries_total{database,operation}: attempts that
//     repeated a failed request (see RetryConfig); each also counts in
//     requests_total.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
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
			Help:      "Requests to InfluxDB waiting for a free worker (at most pool.queue).",
		}, []string{"database"}),
		pointsWritten: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "points_written_total",
			Help:      "Line-protocol points acknowledged by InfluxDB.",
		}, []string{"database"}),
		writeErrors: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "write_errors_total",
			Help:      "Write requests to InfluxDB that failed, by reason (rejected, timeout, canceled, unavailable).",
		}, []string{"database", "reason"}),
		retries: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Subsystem: "influxdb",
			Name:      "retries_total",
			Help:      "Repeated attempts of HTTP requests to InfluxDB after a 5xx answer, a timeout or a connection error.",
		}, []string{"database", "operation"}),
	}
}

// poolMetrics are the metrics curried with one pool's database label, so
// that the hot path does not look up label values it already knows.
type poolMetrics struct {
	m             *Metrics
	database      string
	inflight      prometheus.Gauge
	queued        prometheus.Gauge
	pointsWritten prometheus.Counter
}

func (m *Metrics) forPool(database string) *poolMetrics {
	return &poolMetrics{
		m:             m,
		database:      database,
		inflight:      m.inflight.WithLabelValues(database),
		queued:        m.queued.WithLabelValues(database),
		pointsWritten: m.pointsWritten.WithLabelValues(database),
	}
}

// observe records one finished HTTP request; code is 0 when no answer came.
func (pm *poolMetrics) observe(op string, code int, seconds float64) {
	c := "error"
	if code != 0 {
		c = strconv.Itoa(code)
	}
	pm.m.requests.WithLabelValues(pm.database, op, c).Inc()
	pm.m.duration.WithLabelValues(pm.database, op).Observe(seconds)
}

func (pm *poolMetrics) writeFailed(err error) {
	pm.m.writeErrors.WithLabelValues(pm.database, Reason(err)).Inc()
}

// retried records one repeated attempt of op.
func (pm *poolMetrics) retried(op string) {
	pm.m.retries.WithLabelValues(pm.database, op).Inc()
}
