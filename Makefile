# Front door. `make run` runs the main job, `make test` runs every test (plain and
# ASan+UBSan builds), `make bench` runs the benchmarks. Each installs what it needs first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
BENCH_BUILD ?= build-bench
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build build-asan run test test-fast test-asan bench clean

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCCIDKIT_SANITIZE=ON -DCCIDKIT_BUILD_BENCH=OFF $(CMAKE_FLAGS)

$(BENCH_BUILD)/CMakeCache.txt:
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DCCIDKIT_BUILD_TESTS=OFF $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	./$(BUILD)/tools/ccidkit-demo

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# ThreadSanitizer on the API tests only (contexts, handles, waits and backends run on many
# threads there); halt_on_error makes any report fail the run.
TSAN_BUILD ?= build-tsan
API_TEST_TARGETS = $(patsubst tests/api/%.cpp,t_api_%,$(wildcard tests/api/*_test.cpp))
.PHONY: test-tsan
$(TSAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCCIDKIT_TSAN=ON -DCCIDKIT_BUILD_BENCH=OFF $(CMAKE_FLAGS)

test-tsan: deps $(TSAN_BUILD)/CMakeCache.txt
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target $(API_TEST_TARGETS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $$TSAN_OPTIONS" \
		ctest --output-on-failure -j $(JOBS) -L '^api$$'

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

test: test-fast test-asan vm-smoke fuzz-smoke

bench: deps $(BENCH_BUILD)/CMakeCache.txt
	cmake --build $(BENCH_BUILD) -j $(JOBS) --target ccidkit_bench
	./scripts/bench.sh $(BENCH_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD) $(TSAN_BUILD)

# Coverage-guided fuzzing (clang 16 + libFuzzer, ASan+UBSan; see docs/SECURITY.md). `fuzz` runs
# every target FUZZ_SECONDS (default 300) each; `fuzz-smoke` (part of `make test`) replays the
# reproducers and fuzzes each target FUZZ_SMOKE_SECONDS, and prints SKIP when clang 16 is missing.
FUZZ_SMOKE_SECONDS ?= 10
.PHONY: fuzz fuzz-smoke
fuzz: deps
	./scripts/fuzz.sh run

fuzz-smoke: deps
	FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) ./scripts/fuzz.sh smoke

# Real kernel USB in a throw-away VM (qemu + Debian's kernel, see docs/design/usb-vm.md).
# `vm-smoke` is the short proof (one boot, < 2 min); `test-usb` runs every session. Both
# print SKIP and succeed when qemu or the kernel cannot be had (scripts/vm-deps.sh).
VM_TARGETS = ccid-gadget t_vm_usb_gadget_test t_vm_usb_throughput_test t_vm_usb_corpus_test t_vm_qemu_ccid_test \
             t_vm_fd_sandbox_test ccidkit_pcsclite pcsc_conformance multi_process_client
.PHONY: vm-smoke test-usb
vm-smoke: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target ccid-gadget t_vm_usb_gadget_test
	./tests/vm/vm-smoke.sh $(BUILD)

test-usb: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target $(VM_TARGETS)
	./tests/vm/test-usb.sh $(BUILD)

# APDU round trips over real kernel USB in one VM boot: raw libusb vs our SCardTransmit vs
# pcscd + libccid, latency percentiles, cold start, peak RSS (docs/PERFORMANCE.md).
.PHONY: bench-usb
bench-usb: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target ccid-gadget ccidkit_pcsclite raw_ccid_bench pcsc_bench
	./tests/vm/bench-usb.sh $(BUILD)

# docs/READERS.md: every reader of the corpus (shared/corpus/ccid-readers) impersonated by the
# simulator and driven by the host driver (tools/readers-report; the same run as the test
# t_ccid_corpus_emulation_test, which pins its numbers).
.PHONY: readers-doc
readers-doc: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target readers-report
	./$(BUILD)/tools/readers-report --corpus ../shared/corpus/ccid-readers --output docs/READERS.md

# Installs libccidkit, the drop-in libpcsclite.so.1 (under lib/ccidkit/, so it never shadows the
# system's), headers, pkg-config/CMake files, ccidctl, ccid-simd, udev rules and the diag unit.
PREFIX ?= /usr/local
.PHONY: install
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)
