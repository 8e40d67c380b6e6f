#!/usr/bin/env bash
# Installs what promflux's demo and tests need on a Debian machine, and only
# what is missing: Go (when absent), InfluxDB 1.x (package influxdb) and
# Prometheus (package prometheus). Run as root. The packages' own services are
# not used: the demo and the tests start their own servers on loopback ports.
set -euo pipefail

missing=()
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  missing+=(golang-go)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d-less machines would start the packaged services; they are
  # harmless (other ports than the demo's) but not needed.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A Debian Go older than go.mod asks for fetches the right toolchain through
# the module proxy (GOTOOLCHAIN=auto, Go >= 1.21).
export PATH="$PATH:/usr/local/go/bin"
go version >/dev/null
