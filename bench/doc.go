// Command bench measures promflux and its peers: it generates realistic
// remote-write traffic and sends it to any remote-write URL (promflux,
// InfluxDB's own /api/v1/prom/write, another receiver), and it measures
// remote-read throughput of any remote-read URL.
//
//	go run ./bench write --url=http://127.0.0.1:9201/api/v1/write --series=1000 --samples=100
//	go run ./bench read --url=http://127.0.0.1:9201/api/v1/read --type=streamed --pid=$(pidof promflux)
//
// scripts/bench-read.sh runs the read comparison of docs/benchmarks.md from
// scratch. The numbers depend on the machine; compare ratios measured in one
// run, never figures from different runs.
package main
