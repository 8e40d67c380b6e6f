#!/usr/bin/env bash
# Runs every fuzz target of promflux for FUZZTIME each (default 3s; a long
# run: FUZZTIME=10m scripts/fuzz.sh), one after the other. Targets may be
# narrowed with a regexp: scripts/fuzz.sh 'Decode'. A failure leaves the
# failing input in the package's testdata/fuzz/<target>/, where every later
# `go test` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

FUZZTIME=${FUZZTIME:-3s}
filter=${1:-.}
n=0
for dir in $(go list -f '{{.Dir}}' ./...); do
  targets=$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$dir"/*_test.go 2>/dev/null | grep -E "$filter" || true)
  for target in $targets; do
    echo "==> $target (${dir#"$PWD"/}, $FUZZTIME)"
    go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" "$dir" >/dev/null
    n=$((n + 1))
  done
done
echo "==> $n fuzz targets, $FUZZTIME each: no failure"
