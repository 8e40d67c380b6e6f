#!/usr/bin/env bash
# PromQL compliance of promflux's query API, measured with the public PromQL
# compliance tester (github.com/prometheus/compliance, promql/): a reference
# Prometheus 3 scrapes three instances of the PromLabs demo service and
# itself (its request durations are native histograms) and remote-writes
# everything (Remote-Write 2.0) through promflux, shipped defaults, into a
# throwaway influxd. After COLLECT, scraping stops and, once Prometheus has
# sent all it holds, the tester runs its standard query set, plus the
# native-histogram queries of scripts/compliance-native.yml, against both:
# the reference's own /api/v1 and promflux's, over the window of data
# written to both. Everything listens on 127.0.0.1 and is stopped at the
# end.
#
# The reference is Prometheus 3.16 (scripts/prometheus3.sh builds it, about
# 8 minutes, once), the version of the PromQL engine promflux embeds: any
# difference is promflux's storage, not a change of PromQL between
# versions.
#
#   COLLECT=30m              how long to scrape before comparing
#   COMPLIANCE_SRC=DIR       a checkout of github.com/prometheus/compliance
#                            (default: cloned into ~/.cache/promflux)
#   DEMO_SERVICE=BIN         prometheus_demo_service (default: go install
#                            github.com/juliusv/prometheus_demo_service)
#   OUT=DIR                  keep the tester's output and the logs there
set -euo pipefail
cd "$(dirname "$0")/.."

COLLECT=${COLLECT:-30m}
./scripts/install-deps.sh
export PATH="$PATH:/usr/local/go/bin"
cache="$HOME/.cache/promflux"
mkdir -p "$cache"

prom3="$(./scripts/prometheus3.sh)/prometheus"
if [ -z "${COMPLIANCE_SRC:-}" ]; then
  COMPLIANCE_SRC="$cache/compliance"
  [ -d "$COMPLIANCE_SRC/promql" ] || git clone --depth 1 https://github.com/prometheus/compliance "$COMPLIANCE_SRC"
fi
tester="$cache/promql-compliance-tester"
[ -x "$tester" ] || (cd "$COMPLIANCE_SRC/promql" && go build -o "$tester" ./cmd/promql-compliance-tester)
if [ -z "${DEMO_SERVICE:-}" ]; then
  DEMO_SERVICE="$cache/prometheus_demo_service"
  [ -x "$DEMO_SERVICE" ] || GOBIN="$cache" go install github.com/juliusv/prometheus_demo_service@latest
fi

dir=$(mktemp -d /tmp/promflux-compliance.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${OUT:-}" ]; then mkdir -p "$OUT" && cp "$dir"/*.log "$dir"/*.yml "$dir"/*.txt "$OUT"/ 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
. scripts/lib.sh

influx_port=$(free_port); rpc_port=$(free_port); promflux_port=$(free_port); prom_port=$(free_port)
start_influxd "$influx_port" "$rpc_port"
go build -o "$dir/promflux" .
shipped_config "$influx_port" "$dir/promflux.yml"
"$dir/promflux" --config.file="$dir/promflux.yml" --web.listen-address="127.0.0.1:$promflux_port" >"$dir/promflux.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$promflux_port/-/ready" promflux

# The standard queries name the instances demo.promlabs.com:10000 to 10002:
# each local instance gets that instance label.
demo_targets=""
for i in 0 1 2; do
  p=$(free_port)
  "$DEMO_SERVICE" -listen-address="127.0.0.1:$p" >"$dir/demo$i.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$p/metrics" "demo$i"
  demo_targets+="
      - targets: ['127.0.0.1:$p']
        labels: {instance: 'demo.promlabs.com:1000$i'}"
done

cat >"$dir/prometheus.yml" <<CONF
global:
  scrape_interval: 5s
  scrape_native_histograms: true
scrape_configs:
  - job_name: demo
    static_configs:$demo_targets
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:$prom_port']}]
remote_write:
  - url: http://127.0.0.1:$promflux_port/api/v1/write
    protobuf_message: io.prometheus.write.v2.Request
    send_native_histograms: true
CONF
touch "$dir/prometheus.yml.start"
"$prom3" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prometheus" \
  --web.listen-address="127.0.0.1:$prom_port" >"$dir/prometheus.log" 2>&1 &
prom_pid=$!; pids+=($prom_pid)
wait_http "http://127.0.0.1:$prom_port/-/ready" prometheus

echo "==> scraping for $COLLECT (Prometheus 3 on :$prom_port, promflux on :$promflux_port)" >&2
sleep "$COLLECT"

# metric NAME: the sum of a metric of the reference Prometheus's own.
metric() { curl -fsS "http://127.0.0.1:$prom_port/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%.0f\n", s }'; }
# count QUERY: how many series an instant query of the reference returns.
count() { curl -fsS "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" | grep -o '"metric"' | wc -l; }

# Both must hold the same data, the newest included: negative offsets
# look past the end of the window. Scraping stops (a reload without scrape
# jobs: Prometheus marks every series stale as the reload ends), and the
# comparison waits until Prometheus has sent everything it appended.
demo_series=$(count demo_memory_usage_bytes); native_series=$(count 'histogram_count(prometheus_http_request_duration_seconds)')
[ "$demo_series" -gt 0 ] && [ "$native_series" -gt 0 ] || {
  echo "the reference holds $demo_series series of demo_memory_usage_bytes and $native_series native histograms: nothing to compare" >&2; exit 1; }
reloads=$(metric prometheus_config_last_reload_success_timestamp_seconds)
sed -i '/^scrape_configs:/,/^remote_write:/{/^remote_write:/!d}' "$dir/prometheus.yml"
kill -HUP "$prom_pid"
for i in $(seq 1 100); do
  [ "$(metric prometheus_config_last_reload_success_timestamp_seconds)" != "$reloads" ] && break
  [ "$i" -lt 100 ] || { echo "Prometheus did not reload its configuration within 30 s" >&2; exit 1; }
  sleep 0.3
done
end=$(date +%s)
for i in $(seq 1 120); do
  sent=$(metric prometheus_remote_storage_queue_highest_sent_timestamp_seconds)
  if [ "$(metric prometheus_remote_storage_samples_pending)" = 0 ] && [ "$(metric prometheus_remote_storage_histograms_pending)" = 0 ] &&
     [ "$sent" -ge "$(metric prometheus_remote_storage_highest_timestamp_in_seconds)" ]; then
    break
  fi
  [ "$i" -lt 120 ] || { echo "Prometheus did not send everything to promflux within 60 s" >&2; exit 1; }
  sleep 0.5
done
[ "$(metric prometheus_remote_storage_samples_failed_total)" = 0 ] || { echo "Prometheus failed to send samples to promflux" >&2; exit 1; }

# The window: from two minutes after the first scrape to when scraping
# stopped.
range=$(( end - $(stat -c %Y "$dir/prometheus.yml.start") - 120 ))
[ "$range" -ge 60 ] || { echo "COLLECT=$COLLECT is too short for a window" >&2; exit 1; }
cat >"$dir/targets.yml" <<CONF
reference_target_config:
  query_url: 'http://127.0.0.1:$prom_port'
test_target_config:
  query_url: 'http://127.0.0.1:$promflux_port'
query_time_parameters:
  end_time: '$(date -u -d "@$end" +%Y-%m-%dT%H:%M:%SZ)'
  range_in_seconds: $range
  resolution_in_seconds: 10
CONF
# Prometheus 3 takes any UTF-8 label name: label_replace and label_join
# into "~invalid", which the standard set expects to fail (Prometheus 2's
# names), succeed on the reference and are compared as other queries.
awk '/"~invalid"/ { print; getline; if ($0 ~ /should_fail: true/) next } { print }' \
  "$COMPLIANCE_SRC/promql/promql-test-queries.yml" >"$dir/queries.yml"
cat scripts/compliance-native.yml >>"$dir/queries.yml"
echo "==> $demo_series demo series, $native_series native histograms; comparing $range s up to the end of scraping, 10 s steps" >&2
status=0
"$tester" -config-file="$dir/queries.yml" -config-file="$dir/targets.yml" -query-parallelism=4 >"$dir/result.txt" 2>&1 || status=$?
grep -v '^\s*$' "$dir/result.txt" | tail -40
exit "$status"
