// Package promapi answers Prometheus's HTTP query API, /api/v1/query and
// /api/v1/query_range, with Prometheus's own PromQL engine (the promql
// package, as a library) over any Storage, and the lookups of that API
// that Grafana's query editor, metric browser and hover help make:
// /api/v1/labels, /api/v1/label/{name}/values, /api/v1/series,
// /api/v1/metadata and /api/v1/query_exemplars. The request parameters
// (GET and form POST), the JSON of the answers, the error types and
// status codes are Prometheus's, so that Grafana's Prometheus data source
// and other clients of that API can point at promflux.
//
// It owns the engine and its bounds (Config, the query section of the
// configuration: timeout, max_samples, max_concurrency and lookback_delta,
// with Prometheus's defaults), the parsing of the parameters, the encoding
// of PromQL values and the mapping of errors to Prometheus's error types.
//
// The package must not know where the samples come from: the Storage
// (series, label names and values, exemplars, metadata) is given, and its
// failures reach the answer only through the error types of the promql
// package (ErrTooManySamples, ErrStorage) and UnavailableError. It must not import Prometheus's web/api/v1 or
// storage/remote packages either, which would add hundreds of packages to
// promflux.
package promapi
