// Package mapping translates between the Prometheus data model and the
// InfluxDB 1.x data model.
//
// It owns the storage schema (measurement = metric name, one tag per other
// non-empty label, float field "value", or "special" for NaN and infinite
// values, millisecond timestamps; native histograms, exemplars and metric
// metadata as further fields and points, see AppendHistograms,
// AppendExemplars and AppendMetadata), the
// line-protocol encoding and escaping of that schema, the reversible form
// used for names and values that line protocol cannot carry into InfluxDB
// 1.x unchanged, the routing of series to databases by PromQL series
// selectors, and, for remote read, the translation of Prometheus matchers
// into InfluxQL and into queries of InfluxDB 1.x's own remote-read
// endpoint (Selection), of series keys into stored tags (ParseSeriesKey)
// and of stored series back into labels. docs/schema.md describes the
// schema for operators.
//
// The package is pure: it performs no I/O, knows nothing about HTTP, the
// Prometheus wire protocols or how points reach InfluxDB, and keeps no
// metrics itself. Callers count what it reports (see Counts). An error of
// an Append function refuses one series, which it names: the caller
// answers it with a client error, after writing the rest.
package mapping
