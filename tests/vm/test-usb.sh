#!/usr/bin/env bash
# `make test-usb`: every proof of ccidkit's USB stack against real kernel USB, in throw-away
# VMs (tests/vm/run-in-vm.sh). One VM boot per session:
#   1. high speed   ccid-gadget on dummy_hcd (512-byte bulk packets): all gadget tests, the
#                   round-trip measurements, a sample of corpus readers impersonated
#   2. full speed   the same gadget tests at 64-byte packets (dummy_hcd is_high_speed=0)
#   3. qemu-ccid    QEMU's own usb-ccid reader and emulated CAC card on UHCI
#   4. pcscd        unmodified pcscd + libccid drive ccid-gadget (skipped unless pcscd,
#                   libccid and python3-pyscard are installed: scripts/vm-deps.sh --pcscd)
#   5. fd reader    a sandboxed, unprivileged program gets the gadget only as an inherited
#                   usbfs descriptor ($CCIDKIT_USB_FD): pcsc_scan, C API, unplug
#   6. multi-process  three processes share the gadget's reader (no daemon): transactions stay
#                   exclusive, a SIGKILLed transaction holder stops nobody, card events reach
#                   every waiter, sharing off keeps the second process out (multi-process-usb.sh)
#
# Usage: tests/vm/test-usb.sh [BUILD_DIR]   (default build; needs ccid-gadget and the
#        t_vm_* tests built there). An ASan build works too (CCIDKIT_VM_SLOWDOWN=3 is set
#        for it automatically when the directory name contains "asan").
# Ends with "test-usb: N passed, N failed, N skipped" (sessions); exit 1 if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "test-usb: no build directory ${1:-build}" >&2; exit 1; }
t="$build/tests"
for f in "$build/tools/ccid-gadget" "$t/t_vm_usb_gadget_test" "$t/t_vm_usb_throughput_test" \
         "$t/t_vm_usb_corpus_test" "$t/t_vm_qemu_ccid_test" "$t/t_vm_fd_sandbox_test"; do
    [ -x "$f" ] || { echo "test-usb: $f not built" >&2; exit 1; }
done
export CCIDKIT_GADGET="$build/tools/ccid-gadget"
case "$build" in *asan*) export CCIDKIT_VM_SLOWDOWN=${CCIDKIT_VM_SLOWDOWN:-3} ;; esac
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0; failed=0; skipped=0
summary=""

# session NAME [run-in-vm options] -- CMD...
session() {
    local name=$1
    shift
    echo "==== test-usb: $name ===="
    local start=$(date +%s)
    "$here/run-in-vm.sh" "$@"
    local status=$?
    local took=$(( $(date +%s) - start ))
    case $status in
        0) passed=$((passed + 1)); summary="$summary\n  $name: passed (${took} s)" ;;
        77) skipped=$((skipped + 1)); summary="$summary\n  $name: SKIPPED" ;;
        124) failed=$((failed + 1)); summary="$summary\n  $name: FAILED (VM timed out after ${took} s)" ;;
        *) failed=$((failed + 1)); summary="$summary\n  $name: FAILED (status $status, ${took} s)" ;;
    esac
}

# Runs each quoted command in the guest, all of them even when one fails.
all_of() {
    local script="st=0"
    for c in "$@"; do script="$script; $c || st=1"; done
    echo "$script; exit \$st"
}

gtest="--gtest_color=no"
session "high speed" --timeout 1500 -- sh -c "$(all_of \
    "'$t/t_vm_usb_gadget_test' $gtest" \
    "'$t/t_vm_usb_throughput_test' $gtest" \
    "'$t/t_vm_usb_corpus_test' $gtest")"

session "full speed" --full-speed --timeout 900 -- sh -c "$(all_of \
    "'$t/t_vm_usb_gadget_test' $gtest" \
    "'$t/t_vm_usb_throughput_test' $gtest --gtest_filter='*Raw*'")"

session "qemu-ccid" --qemu-ccid --no-gadget --timeout 300 -- \
    env CCIDKIT_VM_QEMU_CCID=1 "$t/t_vm_qemu_ccid_test" $gtest

session "pcscd + libccid" --timeout 300 -- sh "$here/pcscd-gadget.sh" "$build" --level tpdu --card t1

# The PC/SC conformance program through our library and through pcscd + libccid, diffed
# against tests/vm/pcsc-compare.expected (docs/design/pcsc-comparison.md).
if [ -x "$build/tests/conformance/pcsc_conformance" ]; then
    session "pcsc compare" --timeout 400 -- sh "$here/pcsc-compare.sh" "$build"
else
    skipped=$((skipped + 1)); summary="$summary\n  pcsc compare: SKIPPED (pcsc_conformance not built: libpcsclite-dev)"
fi

session "fd reader (sandbox)" --timeout 300 -- sh "$here/fd-reader-sandbox.sh" "$build"

# Several processes sharing the gadget's reader through our libpcsclite.so.1 (no daemon).
if [ -x "$build/tests/multi_process_client" ]; then
    session "multi-process" --timeout 900 -- sh "$here/multi-process-usb.sh" "$build"
else
    skipped=$((skipped + 1)); summary="$summary\n  multi-process: SKIPPED (multi_process_client not built: libpcsclite-dev)"
fi

printf "test-usb sessions:$summary\n"
echo "test-usb: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
