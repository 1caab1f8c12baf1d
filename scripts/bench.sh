#!/bin/sh
# Runs the google benchmark suite from a Release build and keeps the raw results next to
# docs/PERFORMANCE.md (which quotes them together with this command).
set -eu
build="${1:-build-bench}"
out_dir="docs/perf"
mkdir -p "$out_dir"
"$build/bench/ccidkit_bench" --benchmark_min_time=0.2 \
    --benchmark_out="$out_dir/bench-latest.json" --benchmark_out_format=json \
    --benchmark_counters_tabular=true | tee "$out_dir/bench-latest.txt"
echo "Raw results: $out_dir/bench-latest.json, $out_dir/bench-latest.txt"
