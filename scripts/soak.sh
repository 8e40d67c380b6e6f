#!/usr/bin/env bash
# Soak test, from scratch, in one run (a benchmark, not part of CI):
# starts a throwaway influxd, promflux (built from this tree, the shipped
# config.yml with only the database URLs changed, and the systemd unit's
# limit of open files) and a real Prometheus on loopback ports. For
# DURATION, at once:
#   - Prometheus scrapes itself and promflux every 5 s and remote-writes
#     through promflux (into the database "prometheus");
#   - `bench write` sends node_exporter-like series at a steady RATE
#     samples/s, below capacity (they are routed to the database "node");
#   - `bench read` reads 400 of those series back through promflux every
#     10 s;
#   - `bench watch` samples promflux's RSS, goroutines, open descriptors and
#     client connections every 10 s into gauges.csv.
# Then it checks, and fails unless:
#   - RSS, goroutines and open descriptors stayed flat: the largest value of
#     the run's last third at most 20 % above the largest of its middle
#     third, plus 16 MiB, 25 goroutines, 10 descriptors (the first third,
#     where promflux warms up, is not compared); gauges.svg plots them;
#   - Prometheus failed to send no sample
#     (prometheus_remote_storage_samples_failed_total is 0);
#   - bench write got no answer but 204 and the documented backpressure
#     (503, 429), and every read succeeded (or got a 503);
#   - no sample was lost: InfluxDB holds as many points in "node" as bench
#     write had acknowledged with 204 (and no more than it sent), and for
#     each series of `up`, as many samples as Prometheus's own TSDB over the
#     whole run.
#
#   scripts/soak.sh                    # 30 minutes
#   DURATION=3m scripts/soak.sh        # a short run of the same
#
# Knobs: DURATION (30m), RATE (10000 samples/s), SERIES (2000), SENDERS
# (2), OUT (output directory).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-30m}
RATE=${RATE:-10000}
SERIES=${SERIES:-2000}
SENDERS=${SENDERS:-2}
OUT=${OUT:-/tmp/promflux-soak.$(date +%Y%m%d-%H%M%S)}

./scripts/install-deps.sh
export PATH="$PATH:/usr/local/go/bin"
for p in prometheus jq; do
  command -v "$p" >/dev/null || { echo "soak: $p is not installed" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/promflux-soak.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

. scripts/lib.sh
mkdir -p "$OUT"

go build -o "$dir/promflux" .
go build -o "$dir/bench" ./bench

influx_port=$(free_port); rpc_port=$(free_port); promflux_port=$(free_port); prom_port=$(free_port)
start_influxd "$influx_port" "$rpc_port"
influx="http://127.0.0.1:$influx_port"
promflux="http://127.0.0.1:$promflux_port"
prom="http://127.0.0.1:$prom_port"
shipped_config "$influx_port" "$dir/promflux.yml"
start_promflux_as_unit "$dir/promflux.yml" "$promflux_port"

cat > "$dir/prometheus.yml" <<CONF
global:
  scrape_interval: 5s
  scrape_timeout: 4s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:$prom_port"]}]
  - job_name: promflux
    static_configs: [{targets: ["127.0.0.1:$promflux_port"]}]
remote_write:
  - url: $promflux/api/v1/write
CONF
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prometheus" \
  --web.listen-address="127.0.0.1:$prom_port" >"$dir/prometheus.log" 2>&1 &
pids+=($!)
wait_http "$prom/-/ready" prometheus
prom_start=$(date +%s)

{
  echo "# soak: $DURATION; Prometheus $(prometheus --version 2>&1 | awk 'NR == 1 { print $3 }') scraping itself and promflux every 5s and remote-writing through it;"
  echo "#   bench write $RATE samples/s ($SERIES series, $SENDERS senders); bench read of 400 series every 10s; promflux sampled every 10s"
  echo "# promflux: shipped config.yml, may open $NOFILE files (the unit's LimitNOFILE=$UNIT_NOFILE); influxd $(influxd version 2>/dev/null | awk '{ print $2 }');"
  echo "#   $(nproc) cores shared by promflux, influxd, Prometheus and bench; $(date -u +%FT%TZ)"
} | tee "$OUT/report.txt"

rm -f "$OUT/write.csv"
"$dir/bench" watch --url="$promflux/metrics" --every=10s --csv="$OUT/gauges.csv" 2>"$dir/watch.log" &
watch_pid=$!; pids+=("$watch_pid")

# --max-error-ratio=1: the answers are checked below, where 503 and 429
# are allowed.
"$dir/bench" write --url="$promflux/api/v1/write" --series="$SERIES" --concurrency="$SENDERS" --rate="$RATE" \
  --duration="$DURATION" --warmup=0s --label=soak --csv="$OUT/write.csv" --max-error-ratio=1 \
  >"$OUT/write.txt" 2>"$dir/write.log" &
write_pid=$!; pids+=("$write_pid")

# Reads of the series written so far: 400 series (one metric of five) over
# the first hour of their timestamps (240 samples each).
reads=0; read_failed=0; read_503=0
: > "$OUT/reads.log"
while kill -0 "$write_pid" 2>/dev/null; do
  sleep 10
  kill -0 "$write_pid" 2>/dev/null || break
  reads=$((reads + 1))
  if ! "$dir/bench" read --url="$promflux/api/v1/read?db=node" --series="$SERIES" --samples=240 --runs=1 \
    --match='{__name__="node_memory_MemAvailable_bytes"}' --label=soak >>"$OUT/reads.log" 2>"$dir/read.err"; then
    if grep -q ' 503 ' "$dir/read.err"; then read_503=$((read_503 + 1)); else read_failed=$((read_failed + 1)); fi
    tail -1 "$dir/read.err" >>"$OUT/reads.log"
  fi
done
write_status=0
wait "$write_pid" || write_status=$?
end_ms=$(($(date +%s%3N) - 1000))
kill "$watch_pid"; wait "$watch_pid" 2>/dev/null || true

failed=0
fail() { echo "FAILED: $*" | tee -a "$OUT/report.txt"; failed=1; }

# Flatness of promflux's resources.
echo "==> promflux every 10s: gauges.csv, gauges.svg" | tee -a "$OUT/report.txt"
"$dir/bench" plot-series --csv="$OUT/gauges.csv" --svg="$OUT/gauges.svg" --title="promflux during a $DURATION soak" \
  --flat=rss_mib=16 --flat=goroutines=25 --flat=open_fds=10 --flat-ratio=0.2 | tee -a "$OUT/report.txt" ||
  fail "promflux's RSS, goroutines or open descriptors grew (see above)"

# bench write's answers and acknowledged samples (one CSV row: target,
# protocol, concurrency, samples, ..., errors as "503=2 429=1").
echo "==> bench write" | tee -a "$OUT/report.txt"
[ "$write_status" -eq 0 ] || fail "bench write exited with $write_status: $(tail -1 "$dir/write.log")"
grep -v '^#' "$OUT/write.txt" | tee -a "$OUT/report.txt"
acked=$(awk -F, 'NR == 2 { print $4 }' "$OUT/write.csv")
errors=$(awk -F, 'NR == 2 { print $10 }' "$OUT/write.csv")
requests=$(awk -F, 'NR == 2 { printf "%.0f", $7 * $5 }' "$OUT/write.csv")
refused=0
for kv in $errors; do
  case ${kv%%=*} in
  503 | 429) refused=$((refused + ${kv#*=})) ;;
  *) fail "bench write got answers other than 204, 503 and 429: $errors" ;;
  esac
done
echo "bench write: $acked samples acknowledged in about $requests requests; refused (503, 429): $refused requests" | tee -a "$OUT/report.txt"

# Reads.
echo "==> bench read every 10s: $reads reads, $read_503 answered 503, $read_failed failed otherwise" | tee -a "$OUT/report.txt"
[ "$reads" -gt 0 ] || fail "no read ran"
[ "$read_failed" -eq 0 ] || fail "$read_failed reads failed: see reads.log"

# Prometheus's remote write.
promsum() { curl -fsS "$prom/metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%.0f", s }'; }
sent=$(promsum prometheus_remote_storage_samples_total)
prom_failed=$(promsum prometheus_remote_storage_samples_failed_total)
retried=$(promsum prometheus_remote_storage_samples_retried_total)
dropped=$(promsum prometheus_remote_storage_samples_dropped_total)
echo "==> Prometheus: $sent samples sent, $prom_failed failed, $retried retried, $dropped dropped" | tee -a "$OUT/report.txt"
[ "$prom_failed" -eq 0 ] || fail "Prometheus failed to send $prom_failed samples"

# No sample lost, bench write: every acknowledged sample is in "node", and
# nothing more than was sent (a refused request's samples may have been
# stored in part).
influxq() { curl -fsS --max-time 600 -G "$influx/query" --data-urlencode "db=$1" --data-urlencode "epoch=ms" --data-urlencode "q=$2"; }
stored=$(influxq node 'SELECT count(value) FROM /.*/' | jq '[.results[0].series[]?.values[0][1]] | add // 0')
echo "==> InfluxDB \"node\": $stored points; bench write acknowledged $acked" | tee -a "$OUT/report.txt"
if [ "$stored" -lt "$acked" ]; then
  fail "$((acked - stored)) samples bench write had acknowledged are not in InfluxDB"
elif [ "$stored" -gt $((acked + refused * 2000)) ]; then
  fail "InfluxDB holds $stored points, more than bench write sent"
fi

# No sample lost, Prometheus: `up` of each target, in Prometheus's TSDB and
# in InfluxDB, over the whole run up to end_ms; Prometheus may still be
# sending the last ones, so this is tried for a minute.
range=$(((end_ms / 1000) - prom_start + 60))
lo_ms=$((end_ms - range * 1000))
end_s=$(awk -v t="$end_ms" 'BEGIN { printf "%.3f", t / 1000 }')
for _ in $(seq 1 30); do
  curl -fsS -G "$prom/api/v1/query" --data-urlencode "query=count_over_time(up[${range}s])" --data-urlencode "time=$end_s" |
    jq -r '.data.result[] | "\(.metric.job) \(.metric.instance) \(.value[1])"' | sort > "$OUT/up-prometheus.txt"
  influxq prometheus "SELECT count(value) FROM up WHERE time > ${lo_ms}ms AND time <= ${end_ms}ms GROUP BY *" |
    jq -r '.results[0].series[]? | "\(.tags.job) \(.tags.instance) \(.values[0][1])"' | sort > "$OUT/up-influxdb.txt"
  cmp -s "$OUT/up-prometheus.txt" "$OUT/up-influxdb.txt" && break
  sleep 2
done
echo "==> samples of up (job instance count), Prometheus's TSDB | InfluxDB \"prometheus\"" | tee -a "$OUT/report.txt"
paste -d'|' "$OUT/up-prometheus.txt" "$OUT/up-influxdb.txt" | tee -a "$OUT/report.txt"
[ "$(wc -l < "$OUT/up-prometheus.txt")" -eq 2 ] || fail "Prometheus does not hold up of both targets"
cmp -s "$OUT/up-prometheus.txt" "$OUT/up-influxdb.txt" || fail "InfluxDB does not hold every sample of up that Prometheus scraped"

if [ "$failed" -eq 0 ]; then
  echo "==> soak passed" | tee -a "$OUT/report.txt"
fi
echo "==> results in $OUT: report.txt, gauges.csv, gauges.svg, write.csv, write.txt, reads.log, up-*.txt"
exit "$failed"
