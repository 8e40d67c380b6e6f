// Command bench measures promflux and its peers.
//
// bench write generates realistic remote-write traffic (node_exporter-like
// series, 2000 samples per request as Prometheus's max_samples_per_send,
// RW 1.0 or 2.0, one sender per shard so that each series' timestamps
// arrive in order) and sends it to any remote-write URL: promflux,
// InfluxDB's own /api/v1/prom/write, VictoriaMetrics, another receiver. It
// sweeps a list of concurrencies, each step warmed up and sent fresh
// timestamps, encodes the request bodies before measuring, and reports
// samples/s, requests/s, latency p50/p99, errors by status and the CPU and
// peak RSS of local processes (--pid); as a table, appended CSV rows and an
// SVG plot of throughput against concurrency. --dry-run measures the
// generator alone; --rate sends a steady load below the target's capacity
// instead of as much as it takes.
//
// bench read measures the remote-read throughput of any remote-read URL,
// or the latency of remote reads under a dashboard-like load.
//
// bench query plays the same dashboards on a Prometheus query API:
// concurrent clients sending PromQL range queries, as Grafana's panels do,
// reporting queries/s and latency percentiles; promflux's own API and a
// Prometheus remote-reading promflux answer the same queries.
//
// bench sink is a fake InfluxDB 1.x: it answers /ping, CREATE DATABASE and
// SHOW queries, and counts the lines written to /write at memory speed (or
// parses them with --validate), storing nothing, so that promflux alone can
// be measured. /debug/sink reports what arrived as JSON.
//
// bench plot prints the rows of a CSV file with ratios to a baseline and
// plots them.
//
// bench clients plays hostile clients to a promflux: it holds many idle
// keep-alive connections (each sent one request, and another before
// promflux's idle timeout), then adds many concurrent remote-write senders,
// each on a connection of its own, while it probes /-/healthy every 100ms
// (from a process of its own, so that the senders' goroutines do not
// delay the probe's) and scrapes the target's RSS, goroutines, file
// descriptors and connections from /metrics. It reports the latencies, the answers by
// status and the maxima, and fails when a probe failed or was slow or a
// write got an answer other than 204 or the documented backpressure (503,
// 429).
//
// bench watch scrapes those gauges at an interval into a CSV file, for a
// long run; bench plot-series plots such a file against time, one panel
// per gauge, and checks that the gauges stayed flat: the largest value of
// the last third within a ratio and a slack of the middle third's.
//
// bench influx-cost writes the same points, encoded as promflux encodes
// them and in the order its pool receives them, to InfluxDB 1.x's /write
// in several ways (lines per request, concurrent writers, line order
// within a request, precision, tag order, gzip), each into a fresh
// influxd (--influxd) or a fresh database (--url, --pid), runs interleaved,
// and reports the median CPU seconds influxd spent per million points.
//
//	go run ./bench write --url=http://127.0.0.1:9201/api/v1/write --series=10000 --labels=10 --duration=10s --concurrency=1,2,4,8 --pid=$(pidof promflux) --csv=out.csv --svg=out.svg
//	go run ./bench read --url=http://127.0.0.1:9201/api/v1/read --type=streamed --pid=$(pidof promflux)
//	go run ./bench query --url=http://127.0.0.1:9201 --fleet=50 --samples=240 --query='rate(node_cpu_seconds_total{cpu="0"}[5m])'
//	go run ./bench sink --listen=127.0.0.1:18087 --validate
//	go run ./bench clients --url=http://127.0.0.1:9201 --idle=2000 --writers=200 --duration=60s
//	go run ./bench watch --url=http://127.0.0.1:9201/metrics --every=10s --csv=gauges.csv
//	go run ./bench influx-cost --influxd=/usr/bin/influxd --series=10000 --labels=10 --runs=5
//
// scripts/bench-write.sh, scripts/bench-read.sh, scripts/bench-query.sh and
// scripts/bench-influx-cost.sh run the comparisons of docs/benchmarks.md
// from scratch, scripts/bench-clients.sh and scripts/soak.sh the hostile
// clients and the long run. The load generator shares the machine's
// cores with the targets: the numbers depend on the machine; compare ratios
// measured in one run, never figures from different runs.
package main
