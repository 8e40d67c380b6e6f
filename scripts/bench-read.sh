#!/usr/bin/env bash
# Remote-read benchmark, from scratch, in one run: starts a throwaway influxd
# and promflux on loopback ports, loads the same generated data through
# promflux (database "promflux") and through InfluxDB's own
# /api/v1/prom/write (database "native"), then reads it back through
# promflux (SAMPLES and STREAMED_XOR_CHUNKS) and through InfluxDB's own
# /api/v1/prom/read, reporting samples/s and each server's peak RSS.
#
#   SERIES=1000 SAMPLES=1000 RUNS=3 scripts/bench-read.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-1000}
SAMPLES=${SAMPLES:-1000}
RUNS=${RUNS:-3}
./scripts/install-deps.sh
export PATH="$PATH:/usr/local/go/bin"

dir=$(mktemp -d /tmp/promflux-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

. scripts/lib.sh

influx_port=$(free_port); rpc_port=$(free_port); promflux_port=$(free_port)
start_influxd "$influx_port" "$rpc_port"
influx_pid=$INFLUXD_PID
curl -fsS -XPOST "http://127.0.0.1:$influx_port/query" --data-urlencode 'q=CREATE DATABASE native' >/dev/null

go build -o "$dir/promflux" .
go build -o "$dir/bench" ./bench
cat > "$dir/promflux.yml" <<CONF
databases:
  - {name: promflux, url: "http://127.0.0.1:$influx_port", database: promflux, create_database: true}
CONF
"$dir/promflux" --config.file="$dir/promflux.yml" --web.listen-address="127.0.0.1:$promflux_port" >"$dir/promflux.log" 2>&1 &
promflux_pid=$!; pids+=($promflux_pid)
wait_http "http://127.0.0.1:$promflux_port/-/ready" promflux

gen=(--series="$SERIES" --samples="$SAMPLES")
echo "==> loading $SERIES series x $SAMPLES samples through promflux and through InfluxDB's /api/v1/prom/write"
"$dir/bench" write "${gen[@]}" --url="http://127.0.0.1:$promflux_port/api/v1/write"
"$dir/bench" write "${gen[@]}" --url="http://127.0.0.1:$influx_port/api/v1/prom/write?db=native"

echo "==> reading back (best of $RUNS runs; promflux, the reader and influxd share this machine's $(nproc) cores)"
printf 'reader\tresponse\tseries\tsamples\tseconds\tsamples/s\tpeak RSS of the reader'"'"'s server\n'
# Streamed first: a process's peak RSS cannot be reset below what it holds,
# and the Go runtime returns the memory of a SAMPLES answer only slowly.
"$dir/bench" read "${gen[@]}" --runs="$RUNS" --label=promflux --type=streamed --pid="$promflux_pid" --url="http://127.0.0.1:$promflux_port/api/v1/read"
"$dir/bench" read "${gen[@]}" --runs="$RUNS" --label=promflux --type=samples --pid="$promflux_pid" --url="http://127.0.0.1:$promflux_port/api/v1/read"
"$dir/bench" read "${gen[@]}" --runs="$RUNS" --label=influxdb-prom-read --type=samples --pid="$influx_pid" --url="http://127.0.0.1:$influx_port/api/v1/prom/read?db=native"
