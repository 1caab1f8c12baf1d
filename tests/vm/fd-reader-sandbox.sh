#!/bin/sh
# Runs in the test VM (see test-usb.sh): a reader handed over as a usbfs file descriptor, the
# way Android's UsbManager or the Flatpak USB portal hand one over. The parent (this script,
# root) starts ccid-gadget, opens its /dev/bus/usb/BBB/DDD node as descriptor 7, and runs
# each program in a sandbox: a new mount namespace where empty tmpfs hide /dev/bus/usb and
# /sys, privileges dropped to nobody, only CCIDKIT_USB_FD=7 to find the reader. There:
#   a. unmodified pcsc_scan on the drop-in libpcsclite.so.1 lists the reader under the same
#      name as an enumerating (unsandboxed) run gives it, and shows the card's ATR;
#      `ccidctl --fd 7 atr` reads the same ATR;
#   b. t_vm_fd_sandbox_test (plain C API): list, ATR, connect, status, transmit, card
#      removal/insertion through SCardGetStatusChange;
#      then tests/conformance's pcsc_conformance, when built;
#   c. the same program: the gadget unplugged during a loop of transfers ends it with the
#      documented error, promptly, and the reader leaves the list.
#
# Usage: fd-reader-sandbox.sh BUILD_DIR. Exit 77 when pcsc_scan, unshare or setpriv is missing.
set -u
build=$1
gadget="$build/tools/ccid-gadget"
client="$build/tests/t_vm_fd_sandbox_test"
lib=$(dirname "$(find "$build" -maxdepth 3 -name libpcsclite.so.1 | head -n 1)")
for tool in pcsc_scan unshare setpriv; do
    command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -f "$lib/libpcsclite.so.1" ] || { echo "fd-reader-sandbox: libpcsclite.so.1 not built in $build"; exit 1; }

work=$(mktemp -d)
chmod 755 "$work"
"$gadget" --level tpdu --card t1 --control "$work/control" --ack "$work/ack" --ready "$work/ready" &
gadget_pid=$!
finish() {
    kill $gadget_pid 2>/dev/null
    wait $gadget_pid 2>/dev/null
    rm -rf "$work"
    exit "$1"
}
i=0
node=""
while [ -z "$node" ]; do
    i=$((i + 1))
    [ $i -gt 300 ] && { echo "fd-reader-sandbox: the gadget never enumerated"; finish 1; }
    for d in /sys/bus/usb/devices/*; do
        if [ "$(cat "$d/idVendor" 2>/dev/null)" = 1209 ] && grep -qs "^atr " "$work/ready"; then
            node=$(printf /dev/bus/usb/%03d/%03d "$(cat "$d/busnum")" "$(cat "$d/devnum")")
        fi
    done
    [ -z "$node" ] && sleep 0.1
done
atr=$(sed -n 's/^atr //p' "$work/ready")
# The sandboxed programs (nobody) drive the gadget through its FIFO (b, c).
chmod 666 "$work/control"
touch "$work/ack"
chmod 644 "$work/ack"
echo "fd-reader-sandbox: gadget at $node, ATR $atr"

# Enumerated (no sandbox, no descriptor): the name PC/SC programs see normally.
enumerated=$(env -u CCIDKIT_USB_FD LD_LIBRARY_PATH="$lib" CCIDKIT_LOCK_DIR= pcsc_scan -r 2>&1 | sed -n 's/^ *0: //p')
echo "fd-reader-sandbox: enumerated name: '$enumerated'"

exec 7<>"$node"
# sandboxed CMD...: in a fresh mount namespace without USB nodes or sysfs, as nobody, with
# descriptor 7 named in CCIDKIT_USB_FD.
sandboxed() {
    unshare --mount --propagation private -- sh -c '
        mount -t tmpfs -o mode=0755 none /dev/bus/usb && mount -t tmpfs -o mode=0755 none /sys || exit 1
        exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"' sandbox \
        env CCIDKIT_USB_FD=7 LD_LIBRARY_PATH="$lib" CCIDKIT_LOCK_DIR= HOME=/ \
        CCIDKIT_FD_TEST_ATR="$atr" CCIDKIT_FD_TEST_CONTROL="$work/control" CCIDKIT_FD_TEST_ACK="$work/ack" "$@"
}

status=0
# a. pcsc_scan, unmodified: the reader (same name as enumerated) and the card's ATR.
listed=$(sandboxed pcsc_scan -r 2>&1)
echo "$listed"
name=$(echo "$listed" | sed -n 's/^ *0: //p')
if [ -z "$name" ] || [ "$name" != "$enumerated" ]; then
    echo "fd-reader-sandbox: FAIL: pcsc_scan -r lists '$name', enumeration gives '$enumerated'"
    status=1
fi
scan=$(sandboxed timeout 60 pcsc_scan -c -n 2>&1)
echo "$scan" | head -n 20
spaced=$(echo "$atr" | sed 's/../& /g; s/ $//')
if echo "$scan" | grep -q "ATR: $spaced"; then
    echo "fd-reader-sandbox: pcsc_scan shows the ATR"
else
    echo "fd-reader-sandbox: FAIL: pcsc_scan does not show ATR $spaced"
    status=1
fi

# ccidctl --fd: the same reader through the driver directly.
ctl=$(sandboxed "$build/tools/ccidctl" --fd 7 atr 2>&1)
echo "$ctl" | head -n 1
if ! echo "$ctl" | head -n 1 | grep -q "^ATR: $spaced "; then
    echo "fd-reader-sandbox: FAIL: ccidctl --fd 7 atr"
    echo "$ctl"
    status=1
fi

# b, c. The C API program: everything but the unplug, then the unplug (a second process: the
# reader is opened anew from the same descriptor).
# A test that skipped (wrong environment) counts as a failure here.
run_client() {
    out=$(sandboxed "$client" --gtest_color=no --gtest_filter="$1" 2>&1)
    st=$?
    echo "$out"
    if [ $st -ne 0 ] || echo "$out" | grep -q "^\[  SKIPPED \]"; then status=1; fi
}
run_client '-*Unplug*'
# The PC/SC conformance program (tests/conformance), when built, on the same sandboxed reader.
conformance="$build/tests/conformance/pcsc_conformance"
if [ -x "$conformance" ]; then
    sandboxed "$conformance" ccidkit || { echo "fd-reader-sandbox: FAIL: pcsc_conformance"; status=1; }
else
    echo "fd-reader-sandbox: note: $conformance not built (libpcsclite-dev missing?), skipped"
fi
run_client '*Unplug*'

exec 7>&-
finish $status
