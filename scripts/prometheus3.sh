#!/usr/bin/env bash
# Builds Prometheus 3 (prometheus and promtool, module version v0.316.0:
# Prometheus 3.16) with `go install` into ~/.cache/promflux, once, and
# prints the directory. No Debian package has it; building takes about 8
# minutes on 2 cores. The end-to-end tests that need a Prometheus 3 (a
# Remote-Write 2.0 sender, a remote-read client that takes native
# histograms, the compose stack's configuration) use it when it is there
# and skip otherwise.
set -euo pipefail
export PATH="$PATH:/usr/local/go/bin"
version=v0.316.0
dir="${HOME}/.cache/promflux/prometheus-$version"
if [ ! -x "$dir/prometheus" ] || [ ! -x "$dir/promtool" ]; then
  echo "prometheus3: building Prometheus $version into $dir (about 8 minutes)" >&2
  mkdir -p "$dir"
  GOBIN="$dir" GOFLAGS=-buildvcs=false go install \
    "github.com/prometheus/prometheus/cmd/prometheus@$version" \
    "github.com/prometheus/prometheus/cmd/promtool@$version"
fi
echo "$dir"
