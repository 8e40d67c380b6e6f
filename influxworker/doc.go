// Package influxworker talks to InfluxDB databases over HTTP (the 1.x API,
// or the 2.x API of InfluxDB 2.x, Cloud and 3.x for writes), or sends writes
// to an InfluxDB 1.x UDP listener.
//
// A Pool owns one configured database: it pings, runs InfluxQL queries
// (GET and POST /query), streams the results of large ones (chunked /query,
// decoded row by row into typed columns), writes line protocol (POST
// /write, the lines of concurrent writes coalesced into bounded batches, see
// Pool.Write), reads float samples through InfluxDB 1.x's own
// /api/v1/prom/read where the server offers it (Pool.PromRead,
// Pool.PromReadable: the bytes of a Prometheus remote-read request and
// answer, which the package does not decode), records its health from
// pings, reuses connections, bounds
// the number of concurrent requests and the memory of queued writes,
// applies a timeout to each request and classifies
// every failure as permanent (InfluxDB refused the data for good) or
// retryable (InfluxDB is down, overloaded or misconfigured), see Error.
//
// The package's interface is a Pool's four operations, one for each kind
// of request: Ping (is the database up), Query (a read-only InfluxQL query,
// GET /query), Post (a statement that changes data or schema, POST /query)
// and Write (line protocol). QueryStream and PromRead serve large reads,
// EnsureDatabase creates the database, Gzip, WriteOnly and PromReadable
// tell how the pool is set up, and Close closes it.
//
// Write bodies are gzip-compressed unless pool.gzip is false, once the
// server identified as InfluxDB with its X-Influxdb-Version header. Requests that
// failed for a reason that may heal within the caller's deadline (5xx, an
// attempt's timeout, a refused or reset connection) are repeated up to
// pool.retry.max_attempts times with exponential backoff and full jitter;
// 4xx answers never are, see RetryConfig.
//
// Config.API v2 writes to /api/v2/write with org and bucket and reads
// through the 1.x-compatible /query. Credentials (token, username and
// password, from the configuration, environment variables or files) and
// http_client_config (TLS, proxy, basic_auth, authorization, oauth2, from
// prometheus/common) apply to every HTTP request; secrets never appear in
// errors or logs. Config.Transport udp packs writes into datagrams: a
// write-only, fire-and-forget pool, see Pool.WriteOnly.
//
// The package deals in line protocol bytes, InfluxQL strings and opaque
// remote-read bodies only. It must not know Prometheus: encoding series
// into line protocol belongs to mapping, turning an Error into an HTTP
// status code belongs to adapter.
package influxworker
