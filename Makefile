# swift-resumable-stream: the project's entry points. `make test` is what CI runs.
SWIFT ?= swift
SWIFT_TEST_FLAGS ?=

.PHONY: setup build test demo bench soak clean

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

test: setup
	$(SWIFT) test $(SWIFT_TEST_FLAGS)

demo:
	@scripts/demo.sh

# QUICK=1 runs a tenth of every scenario (under a minute); BENCHMARKS.md is only written by full runs.
bench: setup
	QUICK=$(QUICK) $(SWIFT) run -c release bench

# 1,000 streams x 3 followers x 1,000 chunks through one process, then what is left behind.
soak: setup
	BENCH_ONLY=soak QUICK=$(QUICK) $(SWIFT) run -c release bench

clean:
	rm -rf .build
