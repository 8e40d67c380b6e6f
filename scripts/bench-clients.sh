#!/usr/bin/env bash
# Many connections, from scratch, in one run: starts a throwaway influxd and
# promflux (built from this tree, the shipped config.yml with only the
# database URLs changed) on loopback ports, with promflux's limit of open
# files raised to what docs/systemd/promflux.service sets (LimitNOFILE);
# then `bench clients` holds IDLE idle keep-alive connections and adds
# WRITERS concurrent remote-write senders for DURATION, while it probes
# GET /-/healthy every 100 ms from a process of its own (each answer
# within 100 ms) and scrapes promflux's /metrics every second. Fails when bench clients does (a slow
# or failed probe, an answer other than 204, 503 or 429, an idle connection
# lost), or when promflux's maxima pass the bounds computed below from its
# running configuration (GET /config) and its own figures before any
# client connected ("base").
#
#   scripts/bench-clients.sh                         # 2000 idle, 200 writers, 60s: about 2 minutes
#   IDLE=500 WRITERS=50 DURATION=20s scripts/bench-clients.sh
#
# The bounds, with C the client connections: IDLE + WRITERS + 2 (bench
# clients' health probe and scraper each have a connection of their own),
# or promflux_http_connections_open at its largest if that is more (a
# connection replaced by its client); the sums over the configured
# databases' pools; and GOGC (100 unless set):
#
#   goroutines <= base + 2 x C + sum(3 x pool.workers)
#     net/http serves each connection with one goroutine, plus one that
#     reads ahead for the duration of a handler; each busy pool worker is a
#     goroutine sending a batch, and its connection to InfluxDB two more
#     (the transport's read and write loops).
#
#   open fds <= base + C + sum(pool.workers + 1)
#     one descriptor per client connection, and per connection to InfluxDB:
#     one per worker and one for the health ping, which runs outside the
#     workers.
#
#   RSS <= base + (1 + GOGC/100) x (
#            C x CONN_KIB KiB
#          + WRITERS x largest body
#          + write.max_concurrency x 4 x largest decoded body
#          + sum(2 x (pool.workers + pool.queue) x pool.batch.max_bytes))
#     A connection: net/http's 4 KiB bufio reader and 4 KiB writer, and
#     the stacks of its two goroutines, 8 KiB each (2000 idle connections
#     measured 21 KiB each). A writer has one body in flight, held until it
#     is answered. A request being decoded holds its decoded body, the
#     arenas of its series (about twice that) and its line protocol (about
#     as much again). A pool holds at most workers + queue batches of
#     max_bytes, and the requests whose lines they are keep their own copy.
#     Live memory may grow to (1 + GOGC/100) times itself before the
#     garbage collector runs, hence the factor; max_concurrency 0 is twice
#     GOMAXPROCS.
#
# Knobs: IDLE (2000), WRITERS (200), DURATION (60s), SERIES (20000),
# CONN_KIB (24), WRITE_MAX_CONCURRENCY (write.max_concurrency instead of
# the shipped 0), OUT (output directory).
set -euo pipefail
cd "$(dirname "$0")/.."

IDLE=${IDLE:-2000}
WRITERS=${WRITERS:-200}
DURATION=${DURATION:-60s}
SERIES=${SERIES:-20000}
CONN_KIB=${CONN_KIB:-24}
WRITE_MAX_CONCURRENCY=${WRITE_MAX_CONCURRENCY:-}
OUT=${OUT:-/tmp/promflux-bench-clients.$(date +%Y%m%d-%H%M%S)}

./scripts/install-deps.sh
export PATH="$PATH:/usr/local/go/bin"

dir=$(mktemp -d /tmp/promflux-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

. scripts/lib.sh
mkdir -p "$OUT"

go build -o "$dir/promflux" .
go build -o "$dir/bench" ./bench

influx_port=$(free_port); rpc_port=$(free_port); promflux_port=$(free_port)
start_influxd "$influx_port" "$rpc_port"
promflux="http://127.0.0.1:$promflux_port"

shipped_config "$influx_port" "$dir/promflux.yml"
if [ -n "$WRITE_MAX_CONCURRENCY" ]; then
  sed -i "s/^  max_concurrency: 0\$/  max_concurrency: $WRITE_MAX_CONCURRENCY/" "$dir/promflux.yml"
  grep -q "^  max_concurrency: $WRITE_MAX_CONCURRENCY\$" "$dir/promflux.yml" || { echo "bench-clients: cannot set write.max_concurrency" >&2; exit 1; }
fi
start_promflux_as_unit "$dir/promflux.yml" "$promflux_port"

# gauge NAME FILE: the value of an unlabelled sample of a /metrics page.
gauge() { awk -v n="$1" '$1 == n { print $2 }' "$2"; }
# num X: X in plain decimal (Prometheus prints large values as 1.2e+07).
num() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }

# Base: promflux after its start, no client but this scrape. A few seconds
# for the health checks of its databases to have run.
sleep 6
curl -fsS "$promflux/metrics" > "$dir/base.metrics"
curl -fsS "$promflux/config" > "$OUT/config.yml"
base_goroutines=$(gauge go_goroutines "$dir/base.metrics")
base_fds=$(gauge process_open_fds "$dir/base.metrics")
base_rss=$(num "$(gauge process_resident_memory_bytes "$dir/base.metrics")")
max_fds=$(num "$(gauge process_max_fds "$dir/base.metrics")")
gomaxprocs=$(gauge go_sched_gomaxprocs_threads "$dir/base.metrics")
gogc=$(gauge go_gc_gogc_percent "$dir/base.metrics")

# From the running configuration: per pool, workers, queue and
# batch.max_bytes; write.max_concurrency (absent: 0).
read -r pools sum_workers pool_bytes max_conc < <(awk '
  function bytes(s,   n, u) {
    n = s + 0; u = s; sub(/^[0-9.]+/, "", u)
    if (u == "KiB") n *= 1024; else if (u == "MiB") n *= 1048576; else if (u == "GiB") n *= 1073741824
    else if (u == "KB") n *= 1000; else if (u == "MB") n *= 1000000; else if (u == "GB") n *= 1000000000
    return n
  }
  /^[a-z_]+:/ { section = $1 }
  section == "databases:" && /^- name:/ { pools++ }
  section == "databases:" && $1 == "workers:" { w[pools] = $2 }
  section == "databases:" && $1 == "queue:" { q[pools] = $2 }
  section == "databases:" && $1 == "max_bytes:" { b[pools] = bytes($2) }
  section == "write:" && $1 == "max_concurrency:" { mc = $2 }
  END {
    for (i = 1; i <= pools; i++) { sw += w[i]; pb += 2 * (w[i] + q[i]) * b[i] }
    printf "%d %d %.0f %d\n", pools, sw, pb, mc
  }' "$OUT/config.yml")
[ "$max_conc" -gt 0 ] || max_conc=$((2 * gomaxprocs))

{
  echo "# bench-clients: $IDLE idle connections, then $WRITERS writers for $DURATION; promflux (shipped config.yml: $pools pools, $sum_workers workers in all, write.max_concurrency $max_conc)"
  echo "# promflux may open $max_fds files (the unit's LimitNOFILE=$UNIT_NOFILE); $(nproc) cores shared by promflux, influxd and bench; $(date -u +%FT%TZ)"
  echo "# base, before any client: $base_goroutines goroutines, $base_fds open fds, RSS $((base_rss >> 20)) MiB"
} | tee "$OUT/report.txt"

status=0
"$dir/bench" clients --url="$promflux" --idle="$IDLE" --writers="$WRITERS" --duration="$DURATION" \
  --series="$SERIES" --csv="$OUT/gauges.csv" > "$OUT/clients.txt" 2> "$OUT/clients.log" || status=$?
grep -v -E '^[a-z0-9_]+=' "$OUT/clients.txt" | tee -a "$OUT/report.txt"
val() { awk -F= -v k="$1" '$1 == k { print $2 }' "$OUT/clients.txt"; }
[ -n "$(val max_go_goroutines)" ] || { echo "bench-clients: bench clients reported nothing (exit $status)" >&2; exit 1; }

max_goroutines=$(num "$(val max_go_goroutines)")
max_open_fds=$(num "$(val max_process_open_fds)")
max_rss=$(num "$(val max_process_resident_memory_bytes)")
max_conns=$(num "$(val max_promflux_http_connections_open)")
opened=$((IDLE + WRITERS + 2))
conns=$((max_conns > opened ? max_conns : opened))
body=$(val write_body_max_bytes)
decoded=$(val write_decoded_max_bytes)

bound_goroutines=$((base_goroutines + 2 * conns + 3 * sum_workers))
bound_fds=$((base_fds + conns + sum_workers + pools))
live=$((conns * CONN_KIB * 1024 + WRITERS * body + max_conc * 4 * decoded + pool_bytes))
bound_rss=$(awk -v b="$base_rss" -v l="$live" -v g="$gogc" 'BEGIN { printf "%.0f", b + (1 + g / 100) * l }')

failed=0
# check NAME MEASURED BOUND UNIT-DIVISOR UNIT
check() {
  local verdict=ok
  [ "$2" -le "$3" ] || { verdict="OVER THE BOUND"; failed=1; }
  printf '%-12s max %8s  bound %8s  (%s of the bound)  %s\n' "$1" "$(($2 / $4))$5" "$(($3 / $4))$5" \
    "$(awk -v m="$2" -v b="$3" 'BEGIN { printf "%.1f%%", 100 * m / b }')" "$verdict"
}
{
  echo "# bounds: C = $conns connections; goroutines <= base + 2C + 3 x $sum_workers workers; fds <= base + C + $sum_workers workers + $pools pings;"
  echo "#   RSS <= base + $(awk -v g="$gogc" 'BEGIN { print 1 + g / 100 }') x (C x $CONN_KIB KiB + $WRITERS x $body B bodies + $max_conc x 4 x $decoded B decoded + $((pool_bytes >> 20)) MiB of pools) = base + $(awk -v g="$gogc" -v l="$live" 'BEGIN { printf "%.0f", (1 + g / 100) * l / 1048576 }') MiB"
  check goroutines "$max_goroutines" "$bound_goroutines" 1 ""
  check "open fds" "$max_open_fds" "$bound_fds" 1 ""
  check RSS "$max_rss" "$bound_rss" 1048576 " MiB"
  echo "connections  max $max_conns (bench clients opened $opened); promflux may open $max_fds files"
} | tee -a "$OUT/report.txt"
if [ "$max_open_fds" -ge "$max_fds" ]; then
  echo "bench-clients: promflux ran out of file descriptors" | tee -a "$OUT/report.txt"; failed=1
fi
if [ "$status" -ne 0 ]; then
  echo "bench-clients: bench clients failed (exit $status): $(grep '^bench:' "$OUT/clients.log" || tail -1 "$OUT/clients.log")" | tee -a "$OUT/report.txt"
  failed=1
fi
"$dir/bench" plot-series --csv="$OUT/gauges.csv" --svg="$OUT/gauges.svg" --title="promflux under $IDLE idle connections and $WRITERS writers" >/dev/null
echo "==> results in $OUT: report.txt, clients.txt and clients.log (bench clients' output), gauges.csv, gauges.svg, config.yml"
exit "$failed"
