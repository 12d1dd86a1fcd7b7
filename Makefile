# swift-resumable-stream: the project's entry points. `make test` is what CI runs.
SWIFT ?= swift
SWIFT_TEST_FLAGS ?=

.PHONY: setup build test test-tsan test-asan fuzz chaos demo example-vapor bench soak format lint docs clean

# Every Swift file of the repository that swift-format keeps in shape (.swift-format: the anchors' line length,
# 150, and four spaces).
FORMATTED = Sources Tests Benchmarks Fuzz Package.swift Examples/StreamServer/Sources Examples/StreamServer/Package.swift \
	Examples/VaporStreamServer/Sources Examples/VaporStreamServer/Package.swift Examples/DemoSupport/Sources Examples/DemoSupport/Package.swift

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

# The suites that start whole deployments (TLS servers, Sentinel groups, clusters: dozens of redis-server
# processes) run after the others, so that they do not load the two cores while timing-bound tests run.
DEPLOYMENT_SUITES = RedisBridgeIntegrationTests.(TLSTests|SentinelTests|ClusterCommandTests)|ResumableStreamIntegrationTests.(TLSStreamTests|SentinelFailoverTests|ClusterStreamTests)
# The model of reused ids runs one fixed seed here (MODEL_SEED, so that a red run is a regression, not a new
# finding), Redis restarts included; `make chaos` explores random seeds.
MODEL_SEED ?= 1
test: setup
	MODEL_SEED=$(MODEL_SEED) $(SWIFT) test $(SWIFT_TEST_FLAGS) --skip '$(DEPLOYMENT_SUITES)'
	$(SWIFT) test $(SWIFT_TEST_FLAGS) --filter '$(DEPLOYMENT_SUITES)'

# The sanitizers build into folders of their own and run the tests one at a time: a sanitized build is several
# times slower, and the handshake's timeouts are real time (the chaos test runs 200 streams there, the model of
# reused ids 300 operations without Redis restarts).
test-tsan: setup
	SANITIZER=thread CHAOS_STREAMS=200 MODEL_OPERATIONS=300 MODEL_RESTARTS=0 $(SWIFT) test --sanitize=thread --build-path .build-tsan --no-parallel $(SWIFT_TEST_FLAGS)

test-asan: setup
	SANITIZER=address CHAOS_STREAMS=200 MODEL_OPERATIONS=300 MODEL_RESTARTS=0 LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp $(SWIFT) test --sanitize=address --build-path .build-asan --no-parallel $(SWIFT_TEST_FLAGS)

# libFuzzer over what the library reads from channels: FUZZ_SECONDS (60) of coverage-guided inputs, seeded
# from Fuzz/seeds; new inputs go to .build/fuzz/corpus, a crashing one to .build/fuzz/crash-*.
FUZZ_SECONDS ?= 60
FUZZ_SOURCES = $(addprefix Sources/ResumableStream/Protocol/,WireProtocol.swift RequestMessage.swift StreamEnding.swift \
	String+JSON.swift String+JSSlice.swift ChunkFrame.swift StreamIdentity.swift StreamGeneration.swift StreamKeys.swift FrameRequest.swift) \
	Sources/ResumableStream/ResumableStreamError.swift
fuzz: setup
	@mkdir -p .build/fuzz/corpus
	@swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name RequestParserFuzz \
		Fuzz/RequestParser/main.swift $(FUZZ_SOURCES) \
		-o .build/fuzz/request-parser > .build/fuzz/build.log 2>&1 || { cat .build/fuzz/build.log; exit 1; }
	.build/fuzz/request-parser -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -dict=Fuzz/request.dict \
		-artifact_prefix=.build/fuzz/ .build/fuzz/corpus Fuzz/seeds

# 10,000 streams with followers through a proxy that injects seeded random faults (CHAOS_SEED repeats a run),
# and 100,000 operations of the model of reused stream ids (GenerationModelTests; MODEL_SEED repeats a run,
# MODEL_REPLAY runs a printed operation list). `make test` runs 1,000 streams and 1,000 operations.
CHAOS_STREAMS ?= 10000
MODEL_OPERATIONS ?= 100000
chaos: setup
	CHAOS_STREAMS=$(CHAOS_STREAMS) MODEL_OPERATIONS=$(MODEL_OPERATIONS) $(SWIFT) test --filter 'ChaosTests|GenerationModelTests'

demo:
	@scripts/demo.sh

# The Vapor example server (Examples/VaporStreamServer): resume across two instances, stop, hostile numbers,
# the exported spans, and SIGTERM while a stream runs.
example-vapor:
	@scripts/vapor-example.sh

# QUICK=1 runs a tenth of every scenario (under a minute), BENCH_ONLY=N only scenario N (and the bridge
# rows, its baselines); BENCHMARKS.md is only written by full runs of everything. The
# Python peer (scenario 9) goes into .build/peer-venv from PyPI; without it, its row says so and the rest runs.
bench: setup
	-Benchmarks/Peer/setup.sh .build/peer-venv
	BENCH_ONLY=$(BENCH_ONLY) QUICK=$(QUICK) $(SWIFT) run -c release bench

# 1,000 streams x 3 followers x 1,000 chunks through one process, then what is left behind.
soak: setup
	BENCH_ONLY=soak QUICK=$(QUICK) $(SWIFT) run -c release bench

# Rewrites the code in the project's format; `make lint` (CI) fails if anything is not.
format:
	$(SWIFT) format --in-place --recursive $(FORMATTED)

lint:
	@scripts/check-snippets.sh
	$(SWIFT) format lint --strict --recursive $(FORMATTED)

# The DocC archives of the library's targets (the ones .spi.yml names), warnings as errors.
DOC_TARGETS = ResumableStream RedisBridge ResumableStreamServiceLifecycle ResumableStreamAISDK
docs: setup
	$(SWIFT) package --disable-sandbox generate-documentation $(addprefix --target ,$(DOC_TARGETS)) --warnings-as-errors

clean:
	rm -rf .build .build-tsan .build-asan
