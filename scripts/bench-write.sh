#!/usr/bin/env bash
# Remote-write benchmark, from scratch, in one run: starts promflux in
# front of a throwaway influxd, a fake InfluxDB ("bench sink", which
# counts lines and stores nothing) with a second promflux in front of it
# and, with VM=1, VictoriaMetrics, all on loopback ports; then sends the
# same generated node_exporter-like traffic, one step per target, concurrency
# and round, to
#   (b) InfluxDB's own /api/v1/prom/write (database "native"),
#   (a) promflux -> influxd (database "promflux"),
#   (c) promflux -> fake sink (promflux alone),
#   (d) VictoriaMetrics' own /api/v1/write (VM=1),
# measuring the CPU and peak RSS of each target (and of influxd for a and
# b). The targets are measured side by side: at each concurrency, one step
# of each, one after the other, in ROUNDS rounds (the order reversed in
# every other round). Each step has the machine to itself: influxd and
# VictoriaMetrics are started with empty storage for their step and
# stopped after it, so that none carries the data or the background work
# of an earlier step into the next. Writes the CSV, the SVG plot and the
# tables into $OUT and prints promflux's throughput relative to InfluxDB's
# own endpoint per concurrency: each round's step divided by the
# baseline's step of the same round, and the median of those ratios.
#
#   scripts/bench-write.sh                                   # defaults, about 11 minutes (15 with VM=1)
#   SERIES=1000 DURATION=3s ROUNDS=1 CONCURRENCY=1,4 scripts/bench-write.sh
#   VM=1 PROTOCOL=2 scripts/bench-write.sh
#
# Knobs: SERIES (10000), LABELS per series (10), DURATION per step (10s:
# influxd's compactions come every few seconds, and a single 5-s step of
# the same target varied by 10 to 40 %) or SAMPLES per series per step
# (instead of DURATION), ROUNDS (3: a single 15-s step of the same code
# varied by up to 30 % from run to run on a shared 2-core machine; the
# median of three adjacent pairs does not follow one slow step), WARMUP
# (2s), PRECOMPUTE (1GiB: memory for the request bodies encoded before
# each step, enough for 10 s at 1.6M samples/s), CONCURRENCY (1,2,4,8),
# PROTOCOL of promflux's writes (1 or 2; InfluxDB's and VictoriaMetrics'
# endpoints always get RW 1.0), WORKERS, QUEUE and GZIP (promflux's pool),
# SINK_VALIDATE=1 (the fake parses every line), VM=1, OUT (output
# directory).
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-10000}
LABELS=${LABELS:-10}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
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
influx_pid=

# fresh_influxd: starts an influxd with empty storage, always on the same
# ports, so that each of its steps starts from the same state: an influxd
# that already ingested a step is slower (more series, compactions
# running), which would favour whichever target goes first. promflux,
# pointed at the same port, reconnects and creates its database again on
# its first write.
fresh_influxd() {
  rm -rf "$dir/influxdb"
  start_influxd "$influx_port" "$rpc_port"
  influx_pid=$INFLUXD_PID
  curl -fsS -XPOST "http://127.0.0.1:$influx_port/query" --data-urlencode 'q=CREATE DATABASE native' >/dev/null
}

# stop PID: stops a database after its step, so that its background work
# (compactions, merges) does not fall into the next step.
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

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

fresh_influxd
start_promflux promflux "http://127.0.0.1:$influx_port" promflux
promflux_port=$PORT; promflux_pid=$PID
stop "$influx_pid"

sink_port=$(free_port)
sink_flags=()
[ "$SINK_VALIDATE" = 1 ] && sink_flags+=(--validate)
"$dir/bench" sink --listen="127.0.0.1:$sink_port" "${sink_flags[@]}" >"$dir/sink.log" 2>&1 &
sink_pid=$!; pids+=("$sink_pid")
wait_http "http://127.0.0.1:$sink_port/ping" sink
start_promflux promflux-sink "http://127.0.0.1:$sink_port" sink
sink_promflux_port=$PORT; sink_promflux_pid=$PID

vm_port=$(free_port)
gen=(--series="$SERIES" --labels="$LABELS" --warmup="$WARMUP" --precompute="$PRECOMPUTE")
if [ -n "$SAMPLES" ]; then gen+=(--samples="$SAMPLES"); else gen+=(--duration="$DURATION"); fi
amount=${SAMPLES:+$SAMPLES samples per series}
amount=${amount:-$DURATION}

{
  echo "# bench-write: $SERIES series x $LABELS labels, $amount per step after $WARMUP of warm-up, 2000 samples per request,"
  echo "# concurrency $CONCURRENCY, $ROUNDS rounds; promflux RW $PROTOCOL; promflux pool: $WORKERS workers, queue $QUEUE, gzip ${GZIP:-default}; influxd $(influxd version 2>/dev/null | head -1)"
  echo "# $(nproc) cores shared by the load generator, the targets and the databases; $(date -u +%FT%TZ)"
} | tee "$OUT/tables.txt"

# bench_write LABEL CONCURRENCY URL PROTOCOL PID[,PID] PIDLABEL[,PIDLABEL]
bench_write() {
  echo "==> $1, concurrency $2" | tee -a "$OUT/tables.txt"
  "$dir/bench" write "${gen[@]}" --concurrency="$2" --csv="$csv" --label="$1" --url="$3" --protocol="$4" --pid="$5" --pid-label="$6" | tee -a "$OUT/tables.txt"
  sleep 2 # let the target's background work after a step settle
}

# One step of each target at concurrency $1.
step_native() {
  fresh_influxd
  bench_write influxdb-native "$1" "http://127.0.0.1:$influx_port/api/v1/prom/write?db=native" 1 "$influx_pid" influxd
  stop "$influx_pid"
}
step_promflux() {
  fresh_influxd
  wait_http "http://127.0.0.1:$promflux_port/-/ready" promflux
  bench_write promflux "$1" "http://127.0.0.1:$promflux_port/api/v1/write" "$PROTOCOL" "$promflux_pid,$influx_pid" promflux,influxd
  stop "$influx_pid"
}
step_sink() {
  bench_write promflux-sink "$1" "http://127.0.0.1:$sink_promflux_port/api/v1/write" "$PROTOCOL" "$sink_promflux_pid,$sink_pid" promflux,sink
}
step_vm() {
  rm -rf "$dir/vm"
  # A retention long enough for the generated timestamps, which start in
  # November 2023.
  "$vm_bin" -storageDataPath="$dir/vm" -httpListenAddr="127.0.0.1:$vm_port" -retentionPeriod=100y >"$dir/vm.log" 2>&1 &
  local vm_pid=$!; pids+=("$vm_pid")
  wait_http "http://127.0.0.1:$vm_port/health" vm
  bench_write victoria-metrics "$1" "http://127.0.0.1:$vm_port/api/v1/write" 1 "$vm_pid" victoria-metrics
  stop "$vm_pid"
}

"$dir/bench" write "${gen[@]}" --concurrency="$CONCURRENCY" --dry-run --csv="$dir/generator.csv" --protocol="$PROTOCOL" --label=generator | tee -a "$OUT/tables.txt"
steps=(native promflux sink)
[ -n "$vm_bin" ] && steps+=(vm)
for round in $(seq 1 "$ROUNDS"); do
  order=("${steps[@]}")
  if [ $((round % 2)) = 0 ]; then
    # Reversed, so that no target is always measured first.
    order=(); for ((k = ${#steps[@]} - 1; k >= 0; k--)); do order+=("${steps[k]}"); done
  fi
  for c in ${CONCURRENCY//,/ }; do
    echo "==> round $round of $ROUNDS, concurrency $c: ${order[*]}" | tee -a "$OUT/tables.txt"
    for step in "${order[@]}"; do "step_$step" "$c"; done
  done
done

echo "==> the fake sink received: $(curl -fsS "http://127.0.0.1:$sink_port/debug/sink")" | tee -a "$OUT/tables.txt"
echo "==> all results" | tee -a "$OUT/tables.txt"
"$dir/bench" plot --csv="$csv" --svg="$OUT/throughput.svg" --baseline=influxdb-native | tee -a "$OUT/tables.txt"
if [ -n "$vm_bin" ]; then
  "$dir/bench" plot --csv="$csv" --baseline=victoria-metrics | sed -n '/^# samples\/s relative/,$p' | tee -a "$OUT/tables.txt"
fi
echo "==> results in $OUT: results.csv, throughput.svg, tables.txt"
