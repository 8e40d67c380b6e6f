#!/usr/bin/env bash
# promflux demo: installs what is missing, starts InfluxDB, promflux and two
# Prometheus servers on loopback ports, and shows data flowing both ways:
# Prometheus "A" scrapes itself and remote-writes through promflux into
# InfluxDB; Prometheus "B" has no targets and answers PromQL from what it
# remote-reads through promflux. Everything runs from a temporary directory
# and is stopped at the end (or on Ctrl-C).
#
#   DEMO_SECONDS=60   how long to keep the demo running (0: until Ctrl-C)
#   INFLUX_PORT=18086 PROMETHEUS_PORT=19090 READER_PORT=19091 PROMFLUX_PORT=19201
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_SECONDS=${DEMO_SECONDS:-60}
INFLUX_PORT=${INFLUX_PORT:-18086}
PROMETHEUS_PORT=${PROMETHEUS_PORT:-19090}
READER_PORT=${READER_PORT:-19091}
PROMFLUX_PORT=${PROMFLUX_PORT:-19201}
INFLUX_RPC_PORT=$((INFLUX_PORT + 2))

./scripts/install-deps.sh
export PATH="$PATH:/usr/local/go/bin"

for port in "$INFLUX_PORT" "$INFLUX_RPC_PORT" "$PROMETHEUS_PORT" "$READER_PORT" "$PROMFLUX_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port on 127.0.0.1 is taken; set INFLUX_PORT, PROMETHEUS_PORT, READER_PORT or PROMFLUX_PORT" >&2
    exit 1
  fi
done

echo "==> building promflux"
./scripts/build.sh

dir=$(mktemp -d /tmp/promflux-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "==> stopped; logs were in $dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. scripts/lib.sh

influx_query() { # db query
  curl -fsS -G "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode "db=$1" --data-urlencode "q=$2" --data-urlencode "epoch=ms"
  echo
}

echo "==> starting influxd on 127.0.0.1:$INFLUX_PORT (data in $dir/influxdb)"
start_influxd "$INFLUX_PORT" "$INFLUX_RPC_PORT"

echo "==> starting promflux on 127.0.0.1:$PROMFLUX_PORT"
cat > "$dir/promflux.yml" <<CONF
databases:
  - name: default
    url: http://127.0.0.1:$INFLUX_PORT
    database: prometheus
    create_database: true
  - name: promflux
    url: http://127.0.0.1:$INFLUX_PORT
    database: promflux_self
    create_database: true
routes:
  - match: '{job="promflux"}'
    database: promflux
default_database: default
CONF
./promflux --config.file="$dir/promflux.yml" --web.listen-address="127.0.0.1:$PROMFLUX_PORT" >"$dir/promflux.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$PROMFLUX_PORT/-/ready" promflux

echo "==> starting prometheus A on 127.0.0.1:$PROMETHEUS_PORT, remote-writing to promflux"
cat > "$dir/prometheus.yml" <<CONF
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:$PROMETHEUS_PORT"]}]
  - job_name: promflux
    static_configs: [{targets: ["127.0.0.1:$PROMFLUX_PORT"]}]
remote_write:
  - url: http://127.0.0.1:$PROMFLUX_PORT/api/v1/write
    queue_config: {batch_send_deadline: 1s}
CONF
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prometheus" \
  --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" >"$dir/prometheus.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" prometheus

echo "==> starting prometheus B on 127.0.0.1:$READER_PORT: no targets, remote-reading from promflux"
cat > "$dir/reader.yml" <<CONF
remote_read:
  - url: http://127.0.0.1:$PROMFLUX_PORT/api/v1/read
    read_recent: true
CONF
prometheus --config.file="$dir/reader.yml" --storage.tsdb.path="$dir/reader" \
  --web.listen-address="127.0.0.1:$READER_PORT" >"$dir/reader.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$READER_PORT/-/ready" reader

echo "==> waiting 25s for a few scrapes to flow through promflux"
sleep 25

echo
echo "--- InfluxDB database 'prometheus' (the default route): how many measurements (metric names)"
influx_query prometheus 'SHOW MEASUREMENTS' | grep -o '"values":\[.*' | grep -o '\["' | wc -l
echo "--- prometheus_build_info as InfluxDB stores it"
influx_query prometheus 'SELECT * FROM prometheus_build_info ORDER BY time DESC LIMIT 1'
echo "--- the same series in Prometheus"
curl -fsS "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query?query=prometheus_build_info"; echo
# Both Prometheus servers evaluate at the same instant, a few seconds ago,
# so that the samples in flight to InfluxDB do not make them differ.
at=$(( $(date +%s) - 5 ))
prom_query() { # port query
  curl -fsS -G "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2" --data-urlencode "time=$at"; echo
}
q='count by (job) ({__name__=~"prometheus_http_.*"})'
echo "--- remote read: Prometheus B (no local data) answers PromQL through promflux: $q"
prom_query "$READER_PORT" "$q"
echo "--- the same query on Prometheus A (local data)"
prom_query "$PROMETHEUS_PORT" "$q"
echo "--- database 'promflux_self' (route {job=\"promflux\"}): promflux's own samples counter"
influx_query promflux_self 'SELECT last(value) FROM promflux_samples_received_total GROUP BY "database"'
echo "--- promflux's metrics"
curl -fsS "http://127.0.0.1:$PROMFLUX_PORT/metrics" | grep -E '^promflux_(samples_received_total|influxdb_points_written_total|influxdb_up)'

echo
echo "InfluxDB:   http://127.0.0.1:$INFLUX_PORT   (curl -G .../query --data-urlencode db=prometheus --data-urlencode q='SHOW MEASUREMENTS')"
echo "Prometheus A (writes): http://127.0.0.1:$PROMETHEUS_PORT"
echo "Prometheus B (reads):  http://127.0.0.1:$READER_PORT"
echo "promflux:   http://127.0.0.1:$PROMFLUX_PORT/metrics"
if [ "$DEMO_SECONDS" = 0 ]; then
  echo "==> running until Ctrl-C"
  wait
else
  echo "==> running $DEMO_SECONDS more seconds (DEMO_SECONDS=0 keeps it running until Ctrl-C)"
  sleep "$DEMO_SECONDS"
fi
