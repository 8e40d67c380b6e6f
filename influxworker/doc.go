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
// The package deals in line protocol bytes and InfluxQL strings only. It must
// not know Prometheus: encoding series into line protocol belongs to mapping,
// turning an Error into an HTTP status code belongs to adapter.
package influxworker
