#!/usr/bin/env bash
# Query API benchmark, from scratch, in one run: Grafana-like dashboards of
# PromQL range queries answered by promflux's own query API, and the same
# queries answered by a Prometheus (the Debian package, 2.42) that has no
# data of its own and remote-reads promflux: the two-hop route that the
# query API replaces. Starts a throwaway influxd and promflux (shipped
# defaults) on loopback ports, loads 50 node_exporter-like hosts (1 h at
# 15 s) through promflux, then plays 16 concurrent clients sending six
# panels' range queries (1 h, 15 s steps, 50 to 200 series each) for
# DURATION against promflux, then against Prometheus, RUNS times in turn.
#
#   RUNS=1 DURATION=60s CONCURRENCY=16 scripts/bench-query.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-1}
DURATION=${DURATION:-60s}
CONCURRENCY=${CONCURRENCY:-16}
./scripts/install-deps.sh
export PATH="$PATH:/usr/local/go/bin"

dir=$(mktemp -d /tmp/promflux-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
. scripts/lib.sh

influx_port=$(free_port); rpc_port=$(free_port); promflux_port=$(free_port); prom_port=$(free_port)
start_influxd "$influx_port" "$rpc_port"
go build -o "$dir/promflux" .
go build -o "$dir/bench" ./bench
shipped_config "$influx_port" "$dir/promflux.yml"
"$dir/promflux" --config.file="$dir/promflux.yml" --web.listen-address="127.0.0.1:$promflux_port" >"$dir/promflux.log" 2>&1 &
promflux_pid=$!; pids+=($promflux_pid)
wait_http "http://127.0.0.1:$promflux_port/-/ready" promflux

cat >"$dir/prometheus.yml" <<CONF
remote_read:
  - url: http://127.0.0.1:$promflux_port/api/v1/read
    read_recent: true
CONF
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prometheus" \
  --web.listen-address="127.0.0.1:$prom_port" >"$dir/prometheus.log" 2>&1 &
prom_pid=$!; pids+=($prom_pid)
wait_http "http://127.0.0.1:$prom_port/-/ready" prometheus

fleet=(--fleet=50 --samples=240)
echo "==> loading 50 hosts, 1 h at 15 s, through promflux" >&2
"$dir/bench" write "${fleet[@]}" --warmup=0s --concurrency=4 --url="http://127.0.0.1:$promflux_port/api/v1/write" >/dev/null 2>&1

# Six panels: 50 to 200 series each, the selectors of bench-read.sh's
# dashboard shape.
panels=(
  --query='node_load1'
  --query='rate(node_network_receive_bytes_total[5m])'
  --query='sum by (mode) (rate(node_cpu_seconds_total{cpu="0",mode=~"user|system|idle"}[5m]))'
  --query='rate(node_cpu_seconds_total{mode="user",cpu=~"[01]"}[5m])'
  --query='sum by (instance) (rate(node_cpu_seconds_total{instance=~"host-0[0-2].*"}[5m]))'
  --query='avg by (mode) (rate(node_cpu_seconds_total{cpu="3",mode=~"user|system|iowait|idle"}[5m]))'
)
echo "==> $CONCURRENCY clients, 6 panels of range queries over 1 h at 15 s steps, $DURATION each; promflux and Prometheus share this machine's $(nproc) cores with influxd and the clients" >&2
printf 'run\ttarget\tkind\tconcurrency\tqueries\tqueries/s\tp50 ms\tp99 ms\terrors\tpeak RSS\n'
for run in $(seq 1 "$RUNS"); do
  "$dir/bench" query "${fleet[@]}" "${panels[@]}" --concurrency="$CONCURRENCY" --duration="$DURATION" \
    --label=promflux --pid="$promflux_pid" --url="http://127.0.0.1:$promflux_port" 2>/dev/null | sed "s/^/$run\t/"
  "$dir/bench" query "${fleet[@]}" "${panels[@]}" --concurrency="$CONCURRENCY" --duration="$DURATION" \
    --label=prometheus-remote-read --pid="$prom_pid" --url="http://127.0.0.1:$prom_port" 2>/dev/null | sed "s/^/$run\t/"
done
