#!/bin/sh
# Runs in the test VM (run-in-vm.sh): where our SCardTransmit spends compared with raw libusb,
# on one ccid-gadget (short APDU level, T=1 card). ROUNDS rounds of (a) raw_ccid_bench,
# (b) pcsc_bench on our libpcsclite.so.1, (b') the same with the interrupt endpoint ignored
# (a quirks-file row), then one more (b) under `strace -f -tt` whose per-thread counts are
# printed (SUBMITURB, REAPURBNDELAY, poll, futex, fcntl, openat).
# Usage: tests/vm/run-in-vm.sh --timeout 300 -- sh tests/vm/apdu-syscalls-guest.sh ABS_BUILD_DIR [ROUNDS]
set -u
build=$1
rounds=${2:-4}
work=$(mktemp -d)
"$build/tools/ccid-gadget" --level short --card t1 --ready "$work/ready" &
gadget_pid=$!
i=0
until grep -qs "^1209$" /sys/bus/usb/devices/*/idVendor; do
    i=$((i + 1))
    [ $i -gt 200 ] && { echo "apdu-syscalls: the gadget never enumerated"; kill $gadget_pid; exit 1; }
    sleep 0.1
done
echo "1209:cc1d ignore_interrupt_endpoint" > "$work/quirks"
r=1
while [ $r -le "$rounds" ]; do
    "$build/tests/raw_ccid_bench" 1 | grep -v prepost | sed "s/^/r$r /"
    env -u CCID_VIRTUAL_READERS LD_LIBRARY_PATH="$build" "$build/tests/pcsc_bench" ccidkit 1 | sed "s/^/r$r /"
    env -u CCID_VIRTUAL_READERS CCIDKIT_QUIRKS_FILE="$work/quirks" LD_LIBRARY_PATH="$build" \
        "$build/tests/pcsc_bench" no-interrupt 1 | sed "s/^/r$r /"
    r=$((r + 1))
done
if command -v strace >/dev/null; then
    env -u CCID_VIRTUAL_READERS LD_LIBRARY_PATH="$build" strace -f -tt -o "$work/strace" \
        "$build/tests/pcsc_bench" ccidkit-strace 1
    echo "---- system calls per thread (strace -f, whole run) ----"
    for k in SUBMITURB REAPURBNDELAY 'poll(' 'futex(' 'fcntl(' 'openat('; do
        awk -v k="$k" 'index($0, k) { n[$1]++ } END { for (t in n) printf "%s thread %s: %d\n", k, t, n[t] }' "$work/strace"
    done
else
    echo "apdu-syscalls: strace not installed, profile skipped"
fi
kill $gadget_pid; wait $gadget_pid 2>/dev/null
rm -rf "$work"
