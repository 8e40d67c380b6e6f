package influxworker

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the self-metrics of all pools, created once and shared,
// since pools are recreated on every reload and a collector registers only
// once. Every series has the pool's `database` label (Config.Name).
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
// leaves them unregistered. Each metric's Help says what it counts;
// retries also count in requests_total, and promflux_influxdb_up is absent
// before the first ping.
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

// Remove deletes every series of database, which a reload removed: its
// last promflux_influxdb_up must not be exported, and alerted on, forever.
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

// poolMetrics are the metrics of one pool, with its database label. The
// children looked up here stay usable after Remove without being exported
// again; the vectors looked up per call check Metrics.removed first.
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
	// At 0 from the start, so that rate() and increase() count the first
	// failure.
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

// pinged records the outcome of a ping sent at start, unless a newer ping
// was recorded: pings run concurrently (health loop, readiness probes), and
// a slow failure must not overwrite a later success.
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
