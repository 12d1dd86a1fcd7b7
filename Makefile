# swift-resumable-stream: the project's entry points. `make test` is what CI runs.
SWIFT ?= swift
SWIFT_TEST_FLAGS ?=

.PHONY: setup build test demo bench bench-bridge bench-stream clean

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

test: setup
	$(SWIFT) test $(SWIFT_TEST_FLAGS)

demo:
	@scripts/demo.sh

bench: bench-bridge bench-stream

bench-bridge: setup
	$(SWIFT) run -c release bridge-bench

bench-stream: setup
	$(SWIFT) run -c release stream-bench

clean:
	rm -rf .build
