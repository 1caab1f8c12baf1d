#!/usr/bin/env bash
# `make vm-smoke`: the short proof that ccidkit's libusb transport and CCID driver work against
# a real kernel USB stack: one VM boot, the GadgetSmoke tests (enumeration, raw power-on and
# XfrBlocks, class requests, driver APDUs, unplug mid-transfer). About 15 s on an idle machine.
#
# Usage: tests/vm/vm-smoke.sh [BUILD_DIR]   (default: build; ccid-gadget and
#        t_vm_usb_gadget_test must be built there)
# Exit 0 with a SKIP line when qemu or the kernel is missing and cannot be installed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "vm-smoke: no build directory ${1:-build}" >&2; exit 1; }
test_bin="$build/tests/t_vm_usb_gadget_test"
for f in "$test_bin" "$build/tools/ccid-gadget"; do
    [ -x "$f" ] || { echo "vm-smoke: $f not built" >&2; exit 1; }
done

start=$(date +%s)
CCIDKIT_GADGET="$build/tools/ccid-gadget" "$here/run-in-vm.sh" --timeout "${CCIDKIT_VM_SMOKE_TIMEOUT:-110}" -- \
    "$test_bin" --gtest_filter='GadgetSmoke.*' --gtest_color=no
status=$?
case $status in
    0) echo "vm-smoke: passed in $(( $(date +%s) - start )) s" ;;
    77) echo "SKIP: vm-smoke (no qemu or no cached kernel, see scripts/vm-deps.sh)"; exit 0 ;;
    124) echo "vm-smoke: FAILED: the VM timed out" ;;
    *) echo "vm-smoke: FAILED (status $status)" ;;
esac
exit $status
