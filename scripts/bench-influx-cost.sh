#!/usr/bin/env bash
# influxd's CPU per point for the same data written in different ways, from
# scratch: runs `bench influx-cost`, which encodes node_exporter-like points
# with promflux's encoding, in the order promflux's pool receives them
# (Prometheus requests of 2000 samples from 4 shards, one after the other),
# and writes all of them to /write once per variant, each time into a
# throwaway influxd that it starts with empty storage on loopback ports and
# warms up with a quarter of the points, measuring influxd's CPU time
# (utime + stime) and the bytes and objects it allocated, per point.
# Variants differ from "base" (10000 lines per /write, one writer, lines
# as sent, precision=ms, tags sorted, plain bodies) in one respect each,
# but "lines=10000", which is base again: the noise. Every variant runs
# RUNS times, interleaved, in reverse order every other run.
#
#   scripts/bench-influx-cost.sh                            # 10 to 40 minutes, with the machine's other load
#   RUNS=5 SAMPLES=200 scripts/bench-influx-cost.sh
#   VARIANTS="base;lines=50000;order=key" RUNS=3 scripts/bench-influx-cost.sh
#   INDEX=tsi1 scripts/bench-influx-cost.sh                 # influxd's disk-based index
#
# Knobs: SERIES (10000), LABELS per series (10), SAMPLES per series (100),
# RUNS (3), VARIANTS (';'-separated, the first is the baseline; default:
# the command's list), INDEX (inmem, influxd 1.6's default, or tsi1), OUT
# (output directory).
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-10000}
LABELS=${LABELS:-10}
SAMPLES=${SAMPLES:-100}
RUNS=${RUNS:-3}
VARIANTS=${VARIANTS:-}
INDEX=${INDEX:-inmem}
OUT=${OUT:-/tmp/promflux-bench-influx-cost.$(date +%Y%m%d-%H%M%S)}

./scripts/install-deps.sh
export PATH="$PATH:/usr/local/go/bin"

dir=$(mktemp -d /tmp/promflux-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT

mkdir -p "$OUT"
rm -f "$OUT/runs.csv"
go build -o "$dir/bench" ./bench

{
  echo "# bench-influx-cost: $SERIES series x $LABELS labels x $SAMPLES samples, $RUNS runs; influxd $(influxd version 2>/dev/null | head -1), index $INDEX"
  echo "# $(nproc) cores shared by the load generator and influxd; $(date -u +%FT%TZ)"
} | tee "$OUT/tables.txt"

flags=(--series="$SERIES" --labels="$LABELS" --samples="$SAMPLES" --runs="$RUNS"
  --influxd="$(command -v influxd)" --index="$INDEX" --csv="$OUT/runs.csv")
[ -n "$VARIANTS" ] && flags+=(--variant="$VARIANTS")
# The throwaway influxds keep their data under TMPDIR.
TMPDIR=$dir "$dir/bench" influx-cost "${flags[@]}" | tee -a "$OUT/tables.txt"
echo "==> results in $OUT: runs.csv (every run), tables.txt"
