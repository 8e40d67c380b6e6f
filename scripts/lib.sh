# Shell functions shared by the demo and benchmark scripts. Source it after
# setting $dir (a temporary directory for configs, data and logs) and the
# array pids (processes to stop on exit).

# free_port: a loopback port nothing listens on (a refused connection),
# from the range above the usual ephemeral ports' start.
free_port() {
  while :; do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# wait_http URL NAME: waits until URL answers 2xx; on failure prints the
# tail of $dir/NAME.log and exits.
wait_http() {
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.3
  done
  echo "$2 did not come up; its log:" >&2
  tail -20 "$dir/$2.log" >&2
  exit 1
}

# start_influxd HTTP_PORT RPC_PORT: starts a throwaway influxd listening on
# 127.0.0.1 with its data under $dir/influxdb and its log in
# $dir/influxd.log, and waits until it answers. Sets INFLUXD_PID.
start_influxd() {
  cat > "$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$2"
[meta]
  dir = "$dir/influxdb/meta"
[data]
  dir = "$dir/influxdb/data"
  wal-dir = "$dir/influxdb/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$1"
  log-enabled = false
CONF
  influxd -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
  INFLUXD_PID=$!
  pids+=("$INFLUXD_PID")
  wait_http "http://127.0.0.1:$1/ping" influxd
}
