#!/bin/sh
# Coverage-guided fuzzing of the byte-reading code (libFuzzer, clang 16, ASan + UBSan).
#
#   scripts/fuzz.sh build        configure and build fuzz/ into $FUZZ_BUILD
#   scripts/fuzz.sh run          build, replay fuzz/regressions, then fuzz each target for
#                                $FUZZ_SECONDS seconds and print executions / exec/s / coverage
#   scripts/fuzz.sh replay       build and replay fuzz/regressions only
#   scripts/fuzz.sh coverage     edge coverage of src/ reached by the corpora (committed seeds
#                                plus what earlier runs found), per target and per file
#   scripts/fuzz.sh smoke        what `make test` runs: `run` with FUZZ_SECONDS defaulting to
#                                FUZZ_SMOKE_SECONDS (10), but printing SKIP and succeeding when
#                                clang 16 or its libFuzzer runtime is not installed
#
# Environment: FUZZ_SECONDS (default 300), FUZZ_TARGETS (default: all), FUZZ_BUILD (default
# build-fuzz), FUZZ_JOBS (build parallelism, default 2), FUZZ_RUNS (stop a target after that
# many executions even before FUZZ_SECONDS; default: no limit), FUZZ_VALUE_PROFILE (0 or 1:
# libFuzzer's -use_value_profile for every target; default 1, except 0 for fuzz_scard_api,
# where the bookkeeping of its many value-profile features cost libFuzzer more than the
# target itself: 5 times fewer executions), FUZZ_SKIP_BUILD (1: `run` uses the binaries as
# they are, so that several `run`s can share one build, e.g. one per core). New corpus entries go to
# $FUZZ_BUILD/corpus/<target> (the committed seeds in fuzz/corpus are only read); crashes to
# $FUZZ_BUILD/artifacts. Exit status 1 when any target crashed or a reproducer still fails.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
if [ "${1:-run}" = smoke ]; then
    FUZZ_SECONDS=${FUZZ_SECONDS:-${FUZZ_SMOKE_SECONDS:-10}}
fi
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_JOBS=${FUZZ_JOBS:-2}
FUZZ_RUNS=${FUZZ_RUNS:--1}
ALL_TARGETS="fuzz_atr fuzz_pps fuzz_ccid_descriptor fuzz_usb_config fuzz_ccid_response fuzz_ccid_command
fuzz_t1_engine fuzz_t0_exchange fuzz_t0_transfer fuzz_t0_card fuzz_apdu fuzz_apdu_transfer
fuzz_scard_api fuzz_usb_strings fuzz_quirks_file"
FUZZ_TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}

build() {
    if ! command -v clang++-16 >/dev/null 2>&1; then
        echo "fuzz.sh: clang++-16 not found; run scripts/deps.sh (Debian: clang-16 libclang-rt-16-dev)" >&2
        exit 1
    fi
    if [ ! -f "$FUZZ_BUILD/CMakeCache.txt" ]; then
        CC=clang-16 CXX=clang++-16 cmake -S fuzz -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    fi
    # shellcheck disable=SC2086
    cmake --build "$FUZZ_BUILD" -j "$FUZZ_JOBS" --target $FUZZ_TARGETS
}

# Why the fuzz build cannot be made here (empty when it can): clang 16 missing, or present
# without libFuzzer (Debian splits it into libclang-rt-16-dev). A one-line probe links it.
missing_toolchain() {
    if ! command -v clang++-16 >/dev/null 2>&1; then
        echo "clang++-16 not found"
        return
    fi
    probe=$(mktemp -d)
    printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$probe/p.cpp"
    if ! clang++-16 -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" >/dev/null 2>&1; then
        echo "clang++-16 cannot link a libFuzzer target (libFuzzer runtime missing?)"
    fi
    rm -rf "$probe"
}

# Each reproducer must now pass (run once, no fuzzing).
replay() {
    failed=0
    for t in $FUZZ_TARGETS; do
        dir="fuzz/regressions/$t"
        [ -d "$dir" ] || continue
        for f in "$dir"/*; do
            [ -f "$f" ] || continue
            case "$f" in *.md) continue ;; esac
            if "$FUZZ_BUILD/$t" "$f" >"$FUZZ_BUILD/replay.log" 2>&1; then
                echo "replay $f: ok"
            else
                echo "replay $f: FAILS (see docs/SECURITY.md)"
                grep -E 'invariant violated|ERROR: (AddressSanitizer|libFuzzer)|runtime error' "$FUZZ_BUILD/replay.log" | head -3
                failed=1
            fi
        done
    done
    return $failed
}

run() {
    mkdir -p "$FUZZ_BUILD/artifacts"
    total=0
    crashed=""
    summary="$FUZZ_BUILD/fuzz-summary.txt"
    printf '%-22s %12s %10s %8s %8s %s\n' target executions exec/s cov ft result >"$summary"
    for t in $FUZZ_TARGETS; do
        work="$FUZZ_BUILD/corpus/$t"
        mkdir -p "$work"
        log="$FUZZ_BUILD/$t.log"
        status=ok
        case "$t" in
            fuzz_scard_api) vp=${FUZZ_VALUE_PROFILE:-0} ;;
            *) vp=${FUZZ_VALUE_PROFILE:-1} ;;
        esac
        if ! "$FUZZ_BUILD/$t" "$work" "fuzz/corpus/$t" -max_total_time="$FUZZ_SECONDS" -runs="$FUZZ_RUNS" \
            -print_final_stats=1 -timeout=25 -rss_limit_mb=2048 -use_value_profile="$vp" \
            -artifact_prefix="$FUZZ_BUILD/artifacts/$t-" >"$log" 2>&1; then
            status=CRASH
            crashed="$crashed $t"
        fi
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
        ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
        total=$((total + ${execs:-0}))
        printf '%-22s %12s %10s %8s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$status" | tee -a "$summary"
        if [ "$status" = CRASH ]; then
            grep -E 'invariant violated|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|Test unit written' "$log" | head -4
        fi
    done
    echo "total executions: $total (at most $FUZZ_SECONDS s per target)" | tee -a "$summary"
    if [ -n "$crashed" ]; then
        echo "fuzz.sh: crashes in:$crashed (inputs in $FUZZ_BUILD/artifacts, logs in $FUZZ_BUILD/*.log)" >&2
        return 1
    fi
}

# libFuzzer's -print_coverage lists every instrumented function of the binary with
# "edges: covered/total", and each uncovered PC with its source line. Edge totals include
# compiler-made exception cleanup paths (source line 0) and sanitizer checks that never fire,
# so the function count and the uncovered source lines say more than the edge ratio.
coverage() {
    sym=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)
    [ -n "$sym" ] || { echo "fuzz.sh: llvm-symbolizer not found (Debian package llvm)" >&2; exit 1; }
    for t in $FUZZ_TARGETS; do
        mkdir -p "$FUZZ_BUILD/corpus/$t"
        ASAN_SYMBOLIZER_PATH=$sym "$FUZZ_BUILD/$t" -runs=0 -print_coverage=1 "$FUZZ_BUILD/corpus/$t" "fuzz/corpus/$t" 2>&1 |
            awk -v target="$t" '
                function src(path) { sub(/:[0-9]+$/, "", path); sub(/.*\/src\//, "src/", path); return path }
                /^(UN)?COVERED_FUNC/ && $NF ~ /\/src\// {
                    f = src($NF); split($5, e, "/")
                    edges[f] += e[1]; total[f] += e[2]; funcs[f]++
                    if ($1 == "COVERED_FUNC:") hit[f]++
                }
                $1 == "UNCOVERED_PC:" && $NF ~ /\/src\// && $NF !~ /:0$/ { if (!seen[$NF]++) lines[src($NF)]++ }
                END {
                    n = 0; c = 0; a = 0; fh = 0; ft = 0; ul = 0
                    for (f in hit) {
                        n++; c += edges[f]; a += total[f]; fh += hit[f]; ft += funcs[f]; ul += lines[f]
                        printf "  %-40s functions %3d/%-3d edges %5d/%-5d uncovered lines %d\n", f, hit[f], funcs[f], edges[f], total[f], lines[f] | "sort"
                    }
                    close("sort")
                    printf "%-22s %d src files: functions %d/%d, edges %d/%d, uncovered source lines %d\n", target, n, fh, ft, c, a, ul
                }'
    done
}

case "${1:-run}" in
    build) build ;;
    replay) build; replay ;;
    coverage) build; coverage ;;
    smoke)
        reason=$(missing_toolchain)
        if [ -n "$reason" ]; then
            echo "fuzz.sh: SKIP fuzz smoke test: $reason; run scripts/deps.sh (Debian: clang-16 libclang-rt-16-dev)"
            exit 0
        fi
        start=$(date +%s)
        build
        built=$(date +%s)
        replay_status=0
        replay || replay_status=1
        run_status=0
        run || run_status=1
        echo "fuzz smoke: build $((built - start)) s, replay + fuzzing $(($(date +%s) - built)) s"
        [ $replay_status -eq 0 ] && [ $run_status -eq 0 ]
        ;;
    run)
        [ "${FUZZ_SKIP_BUILD:-0}" = 1 ] || build
        replay_status=0
        replay || replay_status=1
        run_status=0
        run || run_status=1
        [ $replay_status -eq 0 ] && [ $run_status -eq 0 ]
        ;;
    *) echo "usage: $0 [build|run|replay|coverage|smoke]" >&2; exit 2 ;;
esac
