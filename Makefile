# Parley: the two commands of the README, and the checks around them.
#
#   make run           install missing packages, build, start parleyd on 127.0.0.1:7443
#                      with its data in run/ (Ctrl-C stops it)
#   make demo          the protocol core's demo: two devices, X3DH and the Double Ratchet
#   make test          install missing packages, build with -Werror and run every test,
#                      then again under AddressSanitizer + UndefinedBehaviorSanitizer,
#                      then the format check and the fuzz smoke run
#   make fuzz-smoke    build the libFuzzer targets with clang and run each briefly
#   make format        reformat the code with clang-format
#   make format-check  fail if any file differs from clang-format's output
#   make bench         build and run the protocol benchmark (Release)
#   make loadgen       build and run parleyd's load generator: throughput, latency at a fixed
#                      rate, memory per idle connection (docs/BENCHMARKS.md)
#   make kt-bench-server  key transparency on the server, in-process: the sequencer's updates
#                      per second by batch size, store growth, lookup proofs (docs/BENCHMARKS.md)
#   make kt-bench-device  a new device's time until a contact's verified lookup shows it, end to
#                      end with parleyd (quorum 0, then quorum 1 with parley-audit as witness)
#   make kt-bench-audit   parley-audit's replay checker over a recorded feed of 10^5 updates
#   make install       install libparley, its headers and parley.pc (PREFIX=/usr/local)

MAKEFLAGS   += --no-print-directory
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX      ?= /usr/local
FUZZ_SECONDS ?= 30
BUILD       := build
BUILD_ASAN  := build-asan
BUILD_FUZZ  := build-fuzz
BUILD_BENCH := build-bench

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find include src tests fuzz bench examples -name '*.[ch]')

.PHONY: loadgen kt-bench-server kt-bench-device kt-bench-audit all deps build run demo test test-plain test-asan fuzz-build fuzz-smoke bench format \
        format-check install clean

all: build

deps:
	@scripts/deps

$(BUILD)/CMakeCache.txt: | deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_WERROR=ON >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/run-server $(BUILD)

demo: build
	@$(BUILD)/examples/parley-demo

test-plain: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --output-log ctest.log

test-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DPARLEY_WERROR=ON \
	    -DPARLEY_SANITIZE=address,undefined -DPARLEY_BENCH=OFF >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	@cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) \
	    --output-log ctest.log

test: test-plain test-asan format-check fuzz-smoke
	@scripts/test-summary $(BUILD)/ctest.log $(BUILD_ASAN)/ctest.log $(BUILD_FUZZ)/fuzz/smoke/summary

fuzz-build: deps
	@CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_FUZZ=ON \
	    -DBUILD_TESTING=OFF >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS)

fuzz-smoke: fuzz-build
	@scripts/fuzz-smoke $(BUILD_FUZZ)/fuzz $(FUZZ_SECONDS)

bench: deps
	@cmake -S . -B $(BUILD_BENCH) -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
	@cmake --build $(BUILD_BENCH) -j $(JOBS)
	@$(BUILD_BENCH)/bench/parley-bench

LOADGEN_RATE ?= 38000
LOADGEN_IDLE ?= 10000

loadgen: deps
	@cmake -S . -B $(BUILD_BENCH) -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
	@cmake --build $(BUILD_BENCH) -j $(JOBS) --target loadgen parleyd
	@$(BUILD_BENCH)/bench/loadgen
	@$(BUILD_BENCH)/bench/loadgen --rate $(LOADGEN_RATE)
	@$(BUILD_BENCH)/bench/loadgen --idle $(LOADGEN_IDLE)

KT_BENCH_CONFIGURE = cmake -S . -B $(BUILD_BENCH) -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
                     -DPARLEY_WERROR=ON >/dev/null

kt-bench-server: deps
	@$(KT_BENCH_CONFIGURE)
	@cmake --build $(BUILD_BENCH) -j $(JOBS) --target kt-bench-server
	@$(BUILD_BENCH)/bench/kt-bench-server

kt-bench-device: deps
	@$(KT_BENCH_CONFIGURE)
	@cmake --build $(BUILD_BENCH) -j $(JOBS) --target kt-bench-device
	@$(BUILD_BENCH)/bench/kt-bench-device

kt-bench-audit: deps
	@$(KT_BENCH_CONFIGURE)
	@cmake --build $(BUILD_BENCH) -j $(JOBS) --target kt-bench-audit
	@$(BUILD_BENCH)/bench/kt-bench-audit

format: deps
	@clang-format -i $(FORMAT_FILES)

format-check: deps
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: ok"

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	@rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) $(BUILD_BENCH)
