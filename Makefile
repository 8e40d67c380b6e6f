# The README's commands, a build with the version stamped, and the habits:
# benchmarks per stage, fuzzing (FUZZTIME per target), formatting and vet.
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
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...
