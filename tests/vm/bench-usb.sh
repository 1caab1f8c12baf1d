#!/usr/bin/env bash
# `make bench-usb`: APDU round trips over real kernel USB in one VM boot (run-in-vm.sh), see
# bench-usb-guest.sh for what is measured. Results: the guest's output, and
# $CCIDKIT_VM_KEEP_RESULTS/bench-usb.txt when that is set.
# Usage: tests/vm/bench-usb.sh [BUILD_DIR] [SECONDS_PER_SIZE_AND_PATH (1)] [ROUNDS (5)]
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "bench-usb: no build directory ${1:-build}" >&2; exit 1; }
for f in "$build/tools/ccid-gadget" "$build/tests/raw_ccid_bench" "$build/tests/pcsc_bench" "$build/libpcsclite.so.1"; do
    [ -e "$f" ] || { echo "bench-usb: $f not built" >&2; exit 1; }
done
exec "$here/run-in-vm.sh" --timeout 600 -- sh "$here/bench-usb-guest.sh" "$build" "${2:-1}" "${3:-5}"
