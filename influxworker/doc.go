// Package influxworker talks to InfluxDB: each Pool to one database, over
// HTTP (the 1.x API, or with api: v2 the write API of InfluxDB 2.x, Cloud
// and 3.x), or write-only to an InfluxDB 1.x UDP listener.
//
// A Pool pings (Ping), runs InfluxQL (Query, GET /query; Post, POST /query
// for statements that change data or schema), streams large results
// (QueryStream), reads float samples through InfluxDB 1.x's
// /api/v1/prom/read (PromRead, whose remote-read bodies it passes through
// undecoded) and writes line protocol (Write), coalescing concurrent writes
// into batches. It bounds the requests in flight and the memory of queued
// writes, times out and retries requests (RetryConfig), compresses write
// bodies (PoolConfig.Gzip) and returns every failure as an *Error, either
// permanent or retryable.
//
// The package deals in line protocol, InfluxQL and opaque remote-read
// bodies only: encoding series belongs to mapping, turning an Error into
// an HTTP status to adapter.
package influxworker
