#!/usr/bin/env bash
# Installs what promflux's demo and tests need on a Debian machine, and only
# what is missing: InfluxDB 1.x (package influxdb), Prometheus (package
# prometheus) and nginx (the scale-out test). Go must be there already (on PATH or in /usr/local/go). Run as root. The packages' own services are
# not used: the demo and the tests start their own servers on loopback ports.
set -euo pipefail

missing=()
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v nginx >/dev/null 2>&1 || PATH="$PATH:/usr/sbin" command -v nginx >/dev/null 2>&1 || missing+=(nginx) # the scale-out test
command -v curl >/dev/null 2>&1 || missing+=(curl) # the demo and benchmark scripts

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

# Any Go from 1.21 on fetches the toolchain go.mod asks for through the
# module proxy (GOTOOLCHAIN=auto); older ones (Debian 12's golang-go is
# 1.19) cannot build promflux.
export PATH="$PATH:/usr/local/go/bin"
if ! v=$(go env GOVERSION 2>/dev/null) || [ "$(printf '%s\n' go1.21 "$v" | sort -V | head -1)" != go1.21 ]; then
  echo "install-deps: Go 1.21 or newer is needed (found: ${v:-none}); install it into /usr/local/go" >&2
  exit 1
fi
