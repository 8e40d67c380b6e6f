#!/usr/bin/env bash
# Remote-read benchmark, from scratch, in one run: starts a throwaway influxd
# and promflux (shipped defaults) on loopback ports, loads each shape's data
# through promflux and through InfluxDB's own /api/v1/prom/write (each into
# its own database), then reads it back through promflux (SAMPLES and
# STREAMED_XOR_CHUNKS) and through InfluxDB's own /api/v1/prom/read, and
# prints the ratios of samples/s, promflux over InfluxDB, per selector.
#
# Shapes (SHAPES, default all, wide last: a SAMPLES answer of 10M samples
# leaves promflux's RSS high, which would show in the next peaks):
#   grid       1000 series x 1000 samples, one selector over all of them
#   fleet      50 node_exporter hosts, 1 h at 15 s: selectors matching 1,
#              100, 400 and 3200 series of one metric
#   wide       100000 series x 100 samples (10M samples): series discovery
#              dominates
#   dashboard  the fleet read as dashboards do: 16 concurrent readers of
#              selectors matching 50 to 200 series, for DURATION
#
#   RUNS=5 DURATION=60s SHAPES="grid fleet dashboard wide" scripts/bench-read.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SHAPES=${SHAPES:-grid fleet dashboard wide}
RUNS=${RUNS:-5}
DURATION=${DURATION:-60s}
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
influx="http://127.0.0.1:$influx_port"
promflux="http://127.0.0.1:$promflux_port"

go build -o "$dir/promflux" .
go build -o "$dir/bench" ./bench
cat > "$dir/promflux.yml" <<CONF
databases:
  - {name: grid, url: "$influx", database: grid, create_database: true}
  - {name: fleet, url: "$influx", database: fleet, create_database: true}
  - {name: wide, url: "$influx", database: wide, create_database: true}
default_database: grid
CONF
"$dir/promflux" --config.file="$dir/promflux.yml" --web.listen-address="127.0.0.1:$promflux_port" >"$dir/promflux.log" 2>&1 &
promflux_pid=$!; pids+=($promflux_pid)
wait_http "$promflux/-/ready" promflux

# load DB GENERATOR-FLAGS...: the same data through promflux into DB and
# through InfluxDB's own endpoint into native_DB.
loaded=""
load() {
  local db=$1; shift
  case " $loaded " in *" $db "*) return ;; esac
  curl -fsS -XPOST "$influx/query" --data-urlencode "q=CREATE DATABASE native_$db" >/dev/null
  echo "==> loading $db ($*) through promflux and through InfluxDB's /api/v1/prom/write" >&2
  "$dir/bench" write "$@" --warmup=0s --concurrency=4 --url="$promflux/api/v1/write?db=$db" >/dev/null
  "$dir/bench" write "$@" --warmup=0s --concurrency=4 --url="$influx/api/v1/prom/write?db=native_$db" >/dev/null
  loaded="$loaded $db"
}

# reads SHAPE DB GENERATOR-FLAGS... -- SELECTORS...: every selector through
# promflux (streamed, samples) and InfluxDB, one after the other, each
# RUNS times; prints a row per selector with the median runs' ratios.
reads() {
  local shape=$1 db=$2; shift 2
  local gen=()
  while [ "$1" != -- ]; do gen+=("$1"); shift; done; shift
  local m=()
  for s in "$@"; do m+=(--match="$s"); done
  {
    "$dir/bench" read "${gen[@]}" "${m[@]}" --runs="$RUNS" --label=streamed --type=streamed --pid="$promflux_pid" --url="$promflux/api/v1/read?db=$db" 2>/dev/null
    "$dir/bench" read "${gen[@]}" "${m[@]}" --runs="$RUNS" --label=samples --type=samples --pid="$promflux_pid" --url="$promflux/api/v1/read?db=$db" 2>/dev/null
    "$dir/bench" read "${gen[@]}" "${m[@]}" --runs="$RUNS" --label=influxdb --type=samples --pid="$influx_pid" --url="$influx/api/v1/prom/read?db=native_$db" 2>/dev/null
  } | awk -F'\t' -v shape="$shape" '
    { key = $3; sel[key] = 1; if (!(key in order)) { order[key] = ++n; keys[n] = key }
      rate[$1, key] = $7; secs[$1, key] = $6; series[key] = $4; samples[key] = $5; rss[$1, key] = $8 }
    END {
      for (i = 1; i <= n; i++) {
        k = keys[i]
        printf "%s\t%s\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.2fx\t%.2fx\t%s\t%s\n", shape, k, series[k], samples[k],
          rate["streamed", k], rate["samples", k], rate["influxdb", k],
          rate["streamed", k] / rate["influxdb", k], rate["samples", k] / rate["influxdb", k],
          rss["streamed", k], rss["influxdb", k]
      }
    }'
}

echo "==> promflux (shipped defaults), the load generator and influxd share this machine's $(nproc) cores; median of $RUNS reads" >&2
printf 'shape\tselector\tseries\tsamples\tpromflux streamed samples/s\tpromflux SAMPLES samples/s\tInfluxDB samples/s\tstreamed/InfluxDB\tSAMPLES/InfluxDB\tpromflux peak RSS\tinfluxd peak RSS\n'
fleet=(--fleet=50 --samples=240)
for shape in $SHAPES; do
  case $shape in
  grid)
    load grid --series=1000 --samples=1000
    reads grid grid --series=1000 --samples=1000 -- '{job="node"}'
    ;;
  fleet)
    load fleet "${fleet[@]}"
    reads fleet fleet "${fleet[@]}" -- 'node_load1{instance="host-07.example.org:9100"}' 'node_network_receive_bytes_total{job="node"}' \
      'node_cpu_seconds_total{job="node",mode="user"}' 'node_cpu_seconds_total{job="node"}'
    ;;
  wide)
    load wide --series=100000 --samples=100
    reads wide wide --series=100000 --samples=100 -- '{job="node"}'
    ;;
  dashboard)
    load fleet "${fleet[@]}"
    dash=(--match='node_load1' --match='node_network_receive_bytes_total'
      --match='node_cpu_seconds_total{cpu="0",mode=~"user|system|idle"}' --match='node_cpu_seconds_total{mode="user",cpu=~"[01]"}'
      --match='node_cpu_seconds_total{instance=~"host-0[0-2].*"}' --match='node_cpu_seconds_total{cpu="3",mode=~"user|system|iowait|idle"}')
    echo "==> dashboard: 16 readers of 6 selectors (50 to 200 series, 1 h), $DURATION each" >&2
    printf 'dashboard\treader\ttype\tconcurrency\treads\treads/s\tp50 ms\tp99 ms\terrors\tpeak RSS\n'
    for t in streamed samples; do
      "$dir/bench" read "${fleet[@]}" "${dash[@]}" --concurrency=16 --duration="$DURATION" --label=promflux --type=$t --pid="$promflux_pid" --url="$promflux/api/v1/read?db=fleet" 2>/dev/null | sed 's/^/dashboard\t/'
    done
    "$dir/bench" read "${fleet[@]}" "${dash[@]}" --concurrency=16 --duration="$DURATION" --label=influxdb --type=samples --pid="$influx_pid" --url="$influx/api/v1/prom/read?db=native_fleet" 2>/dev/null | sed 's/^/dashboard\t/'
    ;;
  *) echo "unknown shape $shape" >&2; exit 2 ;;
  esac
done
