#!/usr/bin/env bash
# Remote-write benchmark, from scratch, in one run: starts a throwaway
# influxd, promflux in front of it, a fake InfluxDB ("bench sink", which
# counts lines and stores nothing) with a second promflux in front of it
# and, with VM=1, VictoriaMetrics, all on loopback ports; then sends the
# same generated node_exporter-like traffic, one measurement per
# concurrency, to
#   (b) InfluxDB's own /api/v1/prom/write (database "native"),
#   (a) promflux -> influxd (database "promflux"),
#   (c) promflux -> fake sink (promflux alone),
#   (d) VictoriaMetrics' own /api/v1/write (VM=1),
# measuring the CPU and peak RSS of each target (and of influxd for a and
# b). influxd is restarted with empty storage before (a) and before (b), so
# that both start from the same state. Writes the CSV, the SVG plot
# and the tables into $OUT and prints promflux's throughput relative to
# InfluxDB's own endpoint per concurrency.
#
#   scripts/bench-write.sh                                   # defaults, about 5 minutes
#   SERIES=1000 DURATION=3s CONCURRENCY=1,4 scripts/bench-write.sh
#   VM=1 PROTOCOL=2 scripts/bench-write.sh
#
# Knobs: SERIES (10000), LABELS per series (10), DURATION per step (15s:
# influxd's compactions come every few seconds, and 5-s steps of the same
# target varied by 10 to 40 %) or SAMPLES per series per step (instead of
# DURATION), WARMUP (2s), PRECOMPUTE (1GiB: memory for the request bodies
# encoded before each step, enough for 15 s at 1.2M samples/s),
# CONCURRENCY (1,2,4,8), PROTOCOL of promflux's writes (1 or 2; InfluxDB's
# and VictoriaMetrics' endpoints always get RW 1.0), WORKERS, QUEUE and GZIP
# (promflux's pool), SINK_VALIDATE=1 (the fake parses every line), VM=1,
# OUT (output directory).
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-10000}
LABELS=${LABELS:-10}
DURATION=${DURATION:-15s}
SAMPLES=${SAMPLES:-}
WARMUP=${WARMUP:-2s}
PRECOMPUTE=${PRECOMPUTE:-1GiB}
CONCURRENCY=${CONCURRENCY:-1,2,4,8}
PROTOCOL=${PROTOCOL:-1}
WORKERS=${WORKERS:-8}
QUEUE=${QUEUE:-16}
GZIP=${GZIP:-}
SINK_VALIDATE=${SINK_VALIDATE:-0}
VM=${VM:-0}
OUT=${OUT:-/tmp/promflux-bench-write.$(date +%Y%m%d-%H%M%S)}

./scripts/install-deps.sh
export PATH="$PATH:/usr/local/go/bin"
vm_bin=
if [ "$VM" = 1 ]; then
  if ! dpkg -s victoria-metrics >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || { echo "bench-write: need root to install victoria-metrics" >&2; exit 1; }
    echo "==> installing victoria-metrics"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends victoria-metrics >/dev/null
  fi
  vm_bin=$(dpkg -L victoria-metrics | grep -E '^/usr/bin/victoria-?metrics[^/]*$' | head -1)
  [ -x "$vm_bin" ] || { echo "bench-write: no victoria-metrics binary in the package" >&2; exit 1; }
fi

dir=$(mktemp -d /tmp/promflux-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

. scripts/lib.sh

mkdir -p "$OUT"
csv="$OUT/results.csv"
rm -f "$csv"

go build -o "$dir/promflux" .
go build -o "$dir/bench" ./bench

influx_port=$(free_port); rpc_port=$(free_port)
start_influxd "$influx_port" "$rpc_port"
influx_pid=$INFLUXD_PID

# fresh_influxd: replaces influxd by one with empty storage on the same
# ports, so that each target starts from the same state: an influxd that
# already ingested a run is slower (more series, compactions running), which
# would favour whichever target goes first. promflux, pointed at the same
# port, reconnects and creates its database again on its first write.
fresh_influxd() {
  kill "$influx_pid"; wait "$influx_pid" 2>/dev/null || true
  rm -rf "$dir/influxdb"
  start_influxd "$influx_port" "$rpc_port"
  influx_pid=$INFLUXD_PID
  curl -fsS -XPOST "http://127.0.0.1:$influx_port/query" --data-urlencode 'q=CREATE DATABASE native' >/dev/null
}

# start_promflux NAME INFLUX_URL DATABASE: a promflux on a free port writing
# to DATABASE at INFLUX_URL; sets PORT and PID.
start_promflux() {
  PORT=$(free_port)
  cat > "$dir/$1.yml" <<CONF
databases:
  - name: $3
    url: "$2"
    database: $3
    create_database: true
    pool: {workers: $WORKERS, queue: $QUEUE${GZIP:+, gzip: $GZIP}}
default_database: $3
CONF
  "$dir/promflux" --config.file="$dir/$1.yml" --web.listen-address="127.0.0.1:$PORT" >"$dir/$1.log" 2>&1 &
  PID=$!; pids+=("$PID")
  wait_http "http://127.0.0.1:$PORT/-/ready" "$1"
}

start_promflux promflux "http://127.0.0.1:$influx_port" promflux
promflux_port=$PORT; promflux_pid=$PID

sink_port=$(free_port)
sink_flags=()
[ "$SINK_VALIDATE" = 1 ] && sink_flags+=(--validate)
"$dir/bench" sink --listen="127.0.0.1:$sink_port" "${sink_flags[@]}" >"$dir/sink.log" 2>&1 &
sink_pid=$!; pids+=("$sink_pid")
wait_http "http://127.0.0.1:$sink_port/ping" sink
start_promflux promflux-sink "http://127.0.0.1:$sink_port" sink
sink_promflux_port=$PORT; sink_promflux_pid=$PID

if [ -n "$vm_bin" ]; then
  vm_port=$(free_port)
  # A retention long enough for the generated timestamps, which start in
  # November 2023.
  "$vm_bin" -storageDataPath="$dir/vm" -httpListenAddr="127.0.0.1:$vm_port" -retentionPeriod=100y >"$dir/vm.log" 2>&1 &
  vm_pid=$!; pids+=("$vm_pid")
  wait_http "http://127.0.0.1:$vm_port/health" vm
fi

gen=(--series="$SERIES" --labels="$LABELS" --concurrency="$CONCURRENCY" --warmup="$WARMUP" --precompute="$PRECOMPUTE")
if [ -n "$SAMPLES" ]; then gen+=(--samples="$SAMPLES"); else gen+=(--duration="$DURATION"); fi
amount=${SAMPLES:+$SAMPLES samples per series}
amount=${amount:-$DURATION}

{
  echo "# bench-write: $SERIES series x $LABELS labels, $amount per step after $WARMUP of warm-up, 2000 samples per request,"
  echo "# concurrency $CONCURRENCY; promflux RW $PROTOCOL; promflux pool: $WORKERS workers, queue $QUEUE, gzip ${GZIP:-default}; influxd $(influxd version 2>/dev/null | head -1)"
  echo "# $(nproc) cores shared by the load generator, the targets and the databases; $(date -u +%FT%TZ)"
} | tee "$OUT/tables.txt"

# bench_write LABEL URL PROTOCOL PID[,PID] PIDLABEL[,PIDLABEL]
bench_write() {
  echo "==> $1" | tee -a "$OUT/tables.txt"
  "$dir/bench" write "${gen[@]}" --csv="$csv" --label="$1" --url="$2" --protocol="$3" --pid="$4" --pid-label="$5" | tee -a "$OUT/tables.txt"
  sleep 2 # let the database's background work after a run settle
}

"$dir/bench" write "${gen[@]}" --dry-run --csv="$dir/generator.csv" --protocol="$PROTOCOL" --label=generator | tee -a "$OUT/tables.txt"
fresh_influxd
bench_write influxdb-native "http://127.0.0.1:$influx_port/api/v1/prom/write?db=native" 1 "$influx_pid" influxd
fresh_influxd
bench_write promflux "http://127.0.0.1:$promflux_port/api/v1/write" "$PROTOCOL" "$promflux_pid,$influx_pid" promflux,influxd
bench_write promflux-sink "http://127.0.0.1:$sink_promflux_port/api/v1/write" "$PROTOCOL" "$sink_promflux_pid,$sink_pid" promflux,sink
if [ -n "$vm_bin" ]; then
  bench_write victoria-metrics "http://127.0.0.1:$vm_port/api/v1/write" 1 "$vm_pid" victoria-metrics
fi

echo "==> the fake sink received: $(curl -fsS "http://127.0.0.1:$sink_port/debug/sink")" | tee -a "$OUT/tables.txt"
echo "==> all results" | tee -a "$OUT/tables.txt"
"$dir/bench" plot --csv="$csv" --svg="$OUT/throughput.svg" --baseline=influxdb-native | tee -a "$OUT/tables.txt"
if [ -n "$vm_bin" ]; then
  "$dir/bench" plot --csv="$csv" --baseline=victoria-metrics | sed -n '/^# samples\/s relative/,$p' | tee -a "$OUT/tables.txt"
fi
echo "==> results in $OUT: results.csv, throughput.svg, tables.txt"
