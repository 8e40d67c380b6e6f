#!/usr/bin/env bash
# Lints promflux: gofmt, go vet, then golangci-lint with .golangci.yml
# (staticcheck, errcheck, revive's exported rule, misspell, govet,
# ineffassign, unused).
#
# Building golangci-lint takes minutes of two cores (once per machine and
# version), so only LINT_INSTALL=1 (make lint) builds it. Without it, as in
# scripts/test.sh, a machine that has no build of it runs staticcheck alone,
# which builds in about a minute. Both are pinned below and kept in GOBIN
# (default $(go env GOPATH)/bin), built again only when the pin or the Go
# toolchain changes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

GOLANGCI_LINT_VERSION=v2.15.0
STATICCHECK_VERSION=v0.8.2

gobin=$(go env GOBIN)
gobin=${gobin:-$(go env GOPATH)/bin}
goversion=$(go env GOVERSION)

# installed BIN MODULE VERSION: gobin holds BIN built from MODULE at VERSION
# by this Go (a linter built by an older Go cannot load newer code).
installed() {
  local info
  info=$(go version -m "$gobin/$1" 2>/dev/null) || return 1
  [ "$(head -1 <<<"$info" | cut -d' ' -f2)" = "$goversion" ] || return 1
  awk -v m="$2" -v v="$3" '$1 == "mod" && $2 == m && $3 == v { ok = 1 } END { exit !ok }' <<<"$info"
}

# ensure BIN PACKAGE MODULE VERSION: builds BIN into gobin unless it is there.
ensure() {
  installed "$1" "$3" "$4" && return 0
  echo "==> go install $2@$4"
  local start=$SECONDS
  GOBIN=$gobin go install "$2@$4"
  echo "lint: built $1 $4 in $((SECONDS - start)) s"
}

echo "==> gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi

echo "==> go vet"
go vet ./...

golangci=(golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint github.com/golangci/golangci-lint/v2 "$GOLANGCI_LINT_VERSION")
if [ "${LINT_INSTALL:-0}" = 1 ]; then
  ensure "${golangci[@]}"
fi
if installed "${golangci[@]:0:1}" "${golangci[@]:2:2}"; then
  echo "==> golangci-lint $GOLANGCI_LINT_VERSION"
  "$gobin/golangci-lint" run ./...
else
  ensure staticcheck honnef.co/go/tools/cmd/staticcheck honnef.co/go/tools "$STATICCHECK_VERSION"
  echo "==> staticcheck $STATICCHECK_VERSION (make lint builds and runs golangci-lint)"
  # ST1005 (capitalised error strings) is off: remote's decoding errors begin
  # with the protobuf message they fail in, "Sample: ...". .golangci.yml
  # excludes it for that file only; staticcheck alone cannot.
  "$gobin/staticcheck" -checks inherit,-ST1005 ./...
fi
