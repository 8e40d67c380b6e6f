# The README's commands, and a build with the version stamped.
.PHONY: build test demo

build:
	./scripts/build.sh

test:
	./scripts/test.sh

demo:
	./scripts/demo.sh
