#!/usr/bin/env bash
# Builds ./promflux (or OUT) with its version, revision, branch, build user
# and date stamped, as `promflux --version` and promflux_build_info show
# them. VERSION defaults to `git describe` of the checkout (0.0.0-dev
# outside a git checkout). LDFLAGS are added to the linker flags (the
# Dockerfile strips symbols with "-s -w"); other go build flags go in
# GOFLAGS (e.g. GOFLAGS=-trimpath).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

git_or() { git "$@" 2>/dev/null || true; }
VERSION=${VERSION:-$(git_or describe --tags --always --dirty)}
VERSION=${VERSION:-0.0.0-dev}
REVISION=${REVISION:-$(git_or rev-parse HEAD)}
BRANCH=${BRANCH:-$(git_or rev-parse --abbrev-ref HEAD)}
BUILD_USER=${BUILD_USER:-$(id -un)@$(hostname)}
BUILD_DATE=${BUILD_DATE:-$(date -u +%Y%m%d-%H:%M:%S)}

v=github.com/prometheus/common/version
go build -ldflags "${LDFLAGS:-} -X $v.Version=$VERSION -X $v.Revision=$REVISION -X $v.Branch=$BRANCH -X $v.BuildUser=$BUILD_USER -X $v.BuildDate=$BUILD_DATE" \
  -o "${OUT:-promflux}" .
echo "built ${OUT:-promflux} $VERSION ($BRANCH, $REVISION)" >&2
