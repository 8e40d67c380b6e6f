#!/usr/bin/env bash
# Runs every fuzz target of promflux for FUZZTIME each (default 3s; a long
# run: FUZZTIME=10m scripts/fuzz.sh), one after the other. Targets may be
# narrowed with a regexp: scripts/fuzz.sh 'Decode'. A failure leaves the
# failing input in the package's testdata/fuzz/<target>/, where every later
# `go test` runs it.
#
# Go's fuzzing engine sometimes reports a worker as hung and writes the
# input it was running, which then passes (golang/go#56238), or fails
# with "context deadline exceeded" at the end of FUZZTIME without any
# input (golang/go#51484). A failure counts only if its input fails again
# when run alone; otherwise the run goes on, saying so (and removing the
# input).
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
    corpus="$dir/testdata/fuzz/$target"
    before=$(ls "$corpus" 2>/dev/null || true)
    if ! out=$(go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" "$dir" 2>&1); then
      new=$(comm -13 <(echo "$before") <(ls "$corpus" 2>/dev/null || true) | grep . || true)
      if [ -z "$new" ] && grep -q 'context deadline exceeded' <<<"$out"; then
        echo "    the engine stopped at the end of FUZZTIME with no failing input (golang/go#51484): ignored"
      elif [ -z "$new" ]; then
        echo "$out" >&2
        exit 1
      fi
      for input in $new; do
        if ! go test -count=1 -run "^$target/$input\$" "$dir" >/dev/null 2>&1; then
          echo "$out" >&2
          echo "failing input kept: ${corpus#"$PWD"/}/$input" >&2
          exit 1
        fi
        echo "    the engine reported $input, which passes alone: removed (golang/go#56238)"
        rm "$corpus/$input"
      done
      rmdir "$corpus" 2>/dev/null || true
    fi
    n=$((n + 1))
  done
done
echo "==> $n fuzz targets, $FUZZTIME each: no failure"
