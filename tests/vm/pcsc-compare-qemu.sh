#!/bin/sh
# Runs in the test VM booted with --qemu-ccid --no-gadget: the PC/SC conformance program on
# QEMU's own usb-ccid reader (T=0 CAC card, no echo application: checks that need it record
# SW errors, and transmit.small_recv_buffer fails on both stacks) through our library and
# through pcscd + libccid, then prints the differences. Informational (not in test-usb):
#   CCIDKIT_VM_KEEP_RESULTS=/tmp/r tests/vm/run-in-vm.sh --qemu-ccid --no-gadget -- \
#       sh tests/vm/pcsc-compare-qemu.sh $PWD/build
set -u
build=$1
here=$(cd "$(dirname "$0")" && pwd)
program="$build/tests/conformance/pcsc_conformance"
out=${CCIDKIT_VM_RESULTS:-$(mktemp -d)}
command -v pcscd >/dev/null || { echo "SKIP: pcscd not installed"; exit 77; }
i=0
until grep -qs "^08e6$" /sys/bus/usb/devices/*/idVendor || [ $i -gt 100 ]; do i=$((i + 1)); sleep 0.1; done
env -u CCID_VIRTUAL_READERS LD_LIBRARY_PATH="$build" timeout 300 "$program" > "$out/qemu-ccidkit.txt" 2>&1
echo "ccidkit: $(tail -n 1 "$out/qemu-ccidkit.txt")"
work=$(mktemp -d)
mkdir -p "$work/reader.conf.d" /run/pcscd
pcscd --foreground --error --config "$work/reader.conf.d" > "$work/pcscd.log" 2>&1 &
pcscd_pid=$!
i=0
until [ -S /run/pcscd/pcscd.comm ] || [ $i -gt 100 ]; do i=$((i + 1)); sleep 0.1; done
env -u LD_LIBRARY_PATH timeout 300 "$program" > "$out/qemu-pcsclite.txt" 2>&1
echo "pcsc-lite: $(tail -n 1 "$out/qemu-pcsclite.txt")"
kill $pcscd_pid 2>/dev/null
wait $pcscd_pid 2>/dev/null
rm -rf "$work"
sh "$here/pcsc-diff.sh" "$out/qemu-ccidkit.txt" "$out/qemu-pcsclite.txt" | tee "$out/qemu-differences.txt"
