#!/usr/bin/env bash
# Runs every check and test of promflux: formatting, go vet and a linter
# (scripts/lint.sh: golangci-lint where `make lint` built it, staticcheck
# alone otherwise), and the unit, integration and end-to-end tests (the
# latter start real influxd and prometheus servers on loopback ports).
# Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
export PATH="$PATH:/usr/local/go/bin:/usr/sbin" # nginx is in /usr/sbin

./scripts/lint.sh

# PROMFLUX_E2E_REQUIRE=1: the end-to-end tests fail, instead of skipping,
# when prometheus or promtool is missing.
echo "==> go test"
PROMFLUX_E2E_REQUIRE=1 go test -race -count=1 -timeout 12m ./...

# The race detector makes sync.Pool drop objects on purpose, so the tests
# that count allocations of pooled code paths skip under it: run them
# without.
echo "==> allocation tests"
go test -count=1 -run 'Alloc' ./remote ./mapping

# Every fuzz target for a moment (FUZZTIME, default 2s; 0 skips them): new
# inputs each run, on top of the seed corpora the tests above ran.
if [ "${FUZZTIME:-2s}" != 0 ]; then
  echo "==> fuzz"
  FUZZTIME=${FUZZTIME:-2s} ./scripts/fuzz.sh
fi
