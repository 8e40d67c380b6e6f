// Package mapping translates between the Prometheus data model and the
// InfluxDB 1.x data model.
//
// It owns the storage schema, which docs/schema.md describes: measurement =
// metric name, one tag per other non-empty label, float field "value"
// ("special" for NaN and infinities), millisecond timestamps, and further
// fields and points for native histograms, exemplars and metadata. It
// encodes series into line protocol (AppendSeries and the other Append
// functions), with a reversible form for names line protocol cannot carry
// (see encodedPrefix); routes series to databases by PromQL selectors
// (Router); and, for remote read, turns matchers into InfluxQL and
// /api/v1/prom/read queries (Selection) and stored series back into labels
// (SeriesLabels, ParseSeriesKey).
//
// The package is pure: no I/O, HTTP, wire protocols or metrics; callers
// count what it reports (Counts). An error of an Append function refuses
// one series, which it names: the caller answers it with a client error,
// after writing the rest.
package mapping
