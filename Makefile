# The README's commands, a build with the version stamped, and the habits:
# benchmarks per stage, fuzzing (FUZZTIME per target), and lint: gofmt, go
# vet and golangci-lint with .golangci.yml, built once (a few minutes) into
# $(go env GOPATH)/bin.
.PHONY: build test demo bench fuzz lint

build:
	./scripts/build.sh

test:
	./scripts/test.sh

demo:
	./scripts/demo.sh

bench:
	go test -run='^$$' -bench=. -benchmem ./remote ./mapping ./influxworker ./adapter

fuzz:
	./scripts/fuzz.sh

lint:
	LINT_INSTALL=1 ./scripts/lint.sh
