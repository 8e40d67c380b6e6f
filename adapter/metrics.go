package adapter

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/promflux/promflux/mapping"
)

// metrics are the adapter's own series. The database workers add theirs
// (promflux_influxdb_*) to the same registry.
type metrics struct {
	requestDuration *prometheus.HistogramVec
	samplesReceived *prometheus.CounterVec
	writeRequests   *prometheus.CounterVec
	samplesSkipped  *prometheus.CounterVec
	histsSkipped    *prometheus.CounterVec
	exemplarsSkip   *prometheus.CounterVec
	seriesRefused   prometheus.Counter
	bodiesTooSlow   prometheus.Counter
	headersCut      prometheus.Counter
	connsOpen       prometheus.Gauge
	writesWaiting   prometheus.Gauge
	readsWaiting    prometheus.Gauge
	readsAborted    prometheus.Counter
	reloadSuccess   prometheus.Gauge
	reloadTime      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		requestDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "promflux",
			Name:      "http_request_duration_seconds",
			Help:      "Duration of HTTP requests to promflux, by handler and status code.",
			Buckets:   []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"handler", "code"}),
		samplesReceived: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Name:      "samples_received_total",
			Help:      "Float samples received by remote write, by the database they were routed to.",
		}, []string{"database"}),
		writeRequests: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Name:      "write_requests_total",
			Help:      "Remote-write requests received, by the protocol version their headers declare (1.0 or 2.0), whatever their answer.",
		}, []string{"protocol"}),
		samplesSkipped: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Name:      "samples_skipped_total",
			Help:      "Float samples received but not written because InfluxDB cannot store them, by reason.",
		}, []string{"reason"}),
		histsSkipped: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Name:      "histograms_skipped_total",
			Help:      "Native histogram samples received but not written because InfluxDB cannot store them, by reason.",
		}, []string{"reason"}),
		exemplarsSkip: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "promflux",
			Name:      "exemplars_skipped_total",
			Help:      "Exemplars received but not written because InfluxDB cannot store them, by reason.",
		}, []string{"reason"}),
		seriesRefused: f.NewCounter(prometheus.CounterOpts{
			Namespace: "promflux",
			Name:      "series_refused_total",
			Help:      "Series refused because their labels are invalid (no metric name, empty or repeated label name, invalid UTF-8).",
		}),
		bodiesTooSlow: f.NewCounter(prometheus.CounterOpts{
			Namespace: "promflux",
			Name:      "request_bodies_too_slow_total",
			Help:      "Request bodies cut because they arrived slower than limits.body_timeout and limits.min_body_rate allow.",
		}),
		headersCut: f.NewCounter(prometheus.CounterOpts{
			Namespace: "promflux",
			Name:      "request_headers_cut_total",
			Help:      "Connections closed while a request's header section was arriving: slower than 10s, malformed or too large.",
		}),
		connsOpen: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "promflux",
			Name:      "http_connections_open",
			Help:      "Client connections open to promflux's listener.",
		}),
		writesWaiting: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "promflux",
			Name:      "write_requests_waiting",
			Help:      "Remote-write requests whose body has arrived, waiting for their turn to be decoded (write.max_concurrency).",
		}),
		readsWaiting: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "promflux",
			Name:      "read_requests_waiting",
			Help:      "Remote-read requests, and selectors of PromQL queries, waiting for their turn (read.max_concurrency).",
		}),
		readsAborted: f.NewCounter(prometheus.CounterOpts{
			Namespace: "promflux",
			Name:      "reads_aborted_total",
			Help:      "Remote-read answers broken off after they started: the client went away, a database failed mid-stream, or the query passed read.max_samples.",
		}),
		reloadSuccess: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "promflux",
			Name:      "config_last_reload_successful",
			Help:      "Whether the last configuration reload attempt was successful.",
		}),
		reloadTime: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "promflux",
			Name:      "config_last_reload_success_timestamp_seconds",
			Help:      "Timestamp of the last successful configuration reload.",
		}),
	}
	// Exported at 0 from the start, so that rate() and increase() count
	// the first refusal, failure or skip, which they miss when a series
	// appears with it: the answers of the status-code policy, and the
	// skip reasons.
	for handler, codes := range map[string][]string{"write": {"204", "400", "503"}, "read": {"200", "400", "503"}} {
		for _, code := range codes {
			m.requestDuration.WithLabelValues(handler, code)
		}
	}
	for reason := range mapping.NumSkipReasons {
		m.samplesSkipped.WithLabelValues(reason.String())
		m.histsSkipped.WithLabelValues(reason.String())
		m.exemplarsSkip.WithLabelValues(reason.String())
	}
	return m
}
