# Shell functions shared by the demo and benchmark scripts. Source it after
# setting $dir (a temporary directory for configs, data and logs) and the
# array pids (processes to stop on exit).

# free_port: a loopback port nothing listens on (a refused connection),
# below the kernel's ephemeral range: a client connection's local port
# there, even one in TIME-WAIT after a run with thousands of connections,
# would keep a server from binding it.
free_port() {
  local lo
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$lo" -gt 11000 ] || lo=32768
  while :; do
    p=$((10000 + RANDOM % (lo - 10000)))
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

# shipped_config INFLUX_PORT FILE: writes config.yml, the configuration
# promflux ships, with every database pointed at the influxd on
# 127.0.0.1:INFLUX_PORT, into FILE.
shipped_config() {
  sed "s#url: http://127.0.0.1:8086#url: http://127.0.0.1:$1#" config.yml > "$2"
  [ "$(grep -c "url: http://127.0.0.1:$1" "$2")" -eq "$(grep -c 'url: http://127.0.0.1:8086' config.yml)" ] || {
    echo "cannot point every database of config.yml at influxd" >&2; exit 1; }
}

# start_promflux_as_unit CONFIG PORT: starts the promflux binary $dir/promflux on
# 127.0.0.1:PORT, its log in $dir/promflux.log, with the limit of open
# files the systemd unit sets (LimitNOFILE of docs/systemd/promflux.service),
# or this shell's hard limit when that is lower and cannot be raised (no
# CAP_SYS_RESOURCE, as in many containers), and waits until it is ready.
# Sets PROMFLUX_PID, UNIT_NOFILE and NOFILE (the limit promflux got).
start_promflux_as_unit() {
  UNIT_NOFILE=$(sed -n 's/^LimitNOFILE=//p' docs/systemd/promflux.service)
  [ -n "$UNIT_NOFILE" ] || { echo "docs/systemd/promflux.service sets no LimitNOFILE" >&2; exit 1; }
  NOFILE=$UNIT_NOFILE
  if ! (ulimit -n "$NOFILE") 2>/dev/null; then
    NOFILE=$(ulimit -Hn)
    echo "cannot raise the limit of open files to the systemd unit's $UNIT_NOFILE here; promflux gets the hard limit, $NOFILE" >&2
  fi
  (ulimit -n "$NOFILE" && exec "$dir/promflux" --config.file="$1" --web.listen-address="127.0.0.1:$2") >"$dir/promflux.log" 2>&1 &
  PROMFLUX_PID=$!
  pids+=("$PROMFLUX_PID")
  wait_http "http://127.0.0.1:$2/-/ready" promflux
}
