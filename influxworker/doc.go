// Package influxworker talks to InfluxDB 1.x databases over HTTP.
//
// A Pool owns one configured database: it pings, runs InfluxQL queries
// (GET and POST /query), streams the results of large ones (chunked /query,
// decoded row by row into typed columns), writes line protocol (POST
// /write, split into bounded bodies), reuses connections, bounds the number
// of concurrent requests, applies a timeout to each request and classifies
// every failure as permanent (InfluxDB refused the data for good) or
// retryable (InfluxDB is down, overloaded or misconfigured), see Error.
//
// Write bodies are gzip-compressed unless pool.gzip is false, once the
// server identified as InfluxDB with its X-Influxdb-Version header. Requests that
// failed for a reason that may heal within the caller's deadline (5xx, an
// attempt's timeout, a refused or reset connection) are repeated up to
// pool.retry.max_attempts times with exponential backoff and full jitter;
// 4xx answers never are, see RetryConfig.
//
// The package deals in line protocol bytes and InfluxQL strings only. It must
// not know Prometheus: encoding series into line protocol belongs to mapping,
// turning an Error into an HTTP status code belongs to adapter.
package influxworker
