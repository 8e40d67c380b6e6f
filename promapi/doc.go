// Package promapi answers Prometheus's HTTP query API, /api/v1/query and
// /api/v1/query_range, with Prometheus's own PromQL engine (the promql
// package, as a library) over any storage.Queryable: the request
// parameters (GET and form POST), the JSON of the answers, the error
// types and status codes are Prometheus's, so that Grafana's Prometheus
// data source and other clients of that API can point at promflux.
//
// It owns the engine and its bounds (Config, the query section of the
// configuration: timeout, max_samples, max_concurrency and lookback_delta,
// with Prometheus's defaults), the parsing of the parameters, the encoding
// of PromQL values and the mapping of errors to Prometheus's error types.
//
// The package must not know where the samples come from: the queryable
// is given, and the storage's failures reach the answer only through the
// error types of the promql package (ErrTooManySamples, ErrStorage) and
// UnavailableError. It must not import Prometheus's web/api/v1 or
// storage/remote packages either, which would add hundreds of packages to
// promflux.
package promapi
