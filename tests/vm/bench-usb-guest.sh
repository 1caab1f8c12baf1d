#!/bin/sh
# Runs in the test VM (bench-usb.sh): one ccid-gadget (short APDU level, T=1 card), then
#   (a) raw libusb bulk ping-pong of the CCID messages an APDU makes (raw_ccid_bench),
#   (b) SCardTransmit through ccidkit's libpcsclite.so.1 (pcsc_bench, LD_LIBRARY_PATH),
#   (c) SCardTransmit through pcsc-lite + pcscd + libccid (the same pcsc_bench binary),
# plus cold start (process start, and pcscd's for (c), to the first APDU answered) and peak
# RSS. Prints bench_stats.h lines, "cold", "rss" lines and a summary with the ratios.
# Usage: bench-usb-guest.sh BUILD_DIR [SECONDS_PER_SIZE]
set -u
build=$1
seconds=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
out=${CCIDKIT_VM_RESULTS:-$(mktemp -d)}/bench-usb.txt
work=$(mktemp -d)
: > "$out"

"$build/tools/ccid-gadget" --level short --card t1 --ready "$work/ready" &
gadget_pid=$!
i=0
until grep -qs "^1209$" /sys/bus/usb/devices/*/idVendor; do
    i=$((i + 1))
    [ $i -gt 200 ] && { echo "bench-usb: the gadget never enumerated"; kill $gadget_pid; exit 1; }
    sleep 0.1
done

now_ns() { date +%s%N; }
# cold LABEL START_NS OUTPUT_OF_pcsc_bench_--cold
cold_line() {
    answered=$(sed -n 's/^cold .* answered_ns=//p' "$3")
    [ -n "$answered" ] && echo "cold $1 ms=$(( (answered - $2) / 1000000 ))" | tee -a "$out"
    grep '^rss' "$3" | tee -a "$out"
}

"$build/tests/raw_ccid_bench" "$seconds" | tee -a "$out" || exit 1

start=$(now_ns)
env -u CCID_VIRTUAL_READERS LD_LIBRARY_PATH="$build" "$build/tests/pcsc_bench" --cold ccidkit > "$work/cold" || exit 1
cold_line ccidkit "$start" "$work/cold"
env -u CCID_VIRTUAL_READERS LD_LIBRARY_PATH="$build" "$build/tests/pcsc_bench" ccidkit "$seconds" | tee -a "$out" || exit 1

if command -v pcscd >/dev/null && /usr/bin/python3 "$here/libccid-accept-gadget.py"; then
    mkdir -p "$work/reader.conf.d" /run/pcscd
    start=$(now_ns)
    pcscd --foreground --error --config "$work/reader.conf.d" > "$work/pcscd.log" 2>&1 &
    pcscd_pid=$!
    i=0  # the client refuses to wait for the daemon's socket: the cold start includes this
    until [ -S /run/pcscd/pcscd.comm ] || [ $i -gt 500 ]; do i=$((i + 1)); sleep 0.01; done
    env -u LD_LIBRARY_PATH "$build/tests/pcsc_bench" --cold pcsclite > "$work/cold" || exit 1
    cold_line pcsclite "$start" "$work/cold"
    env -u LD_LIBRARY_PATH "$build/tests/pcsc_bench" pcsclite "$seconds" | tee -a "$out" || exit 1
    echo "rss pcscd kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$pcscd_pid/status)" | tee -a "$out"
    kill $pcscd_pid; wait $pcscd_pid 2>/dev/null
else
    echo "bench-usb: pcscd or libccid missing, (c) skipped"
fi
kill $gadget_pid; wait $gadget_pid 2>/dev/null

# Ratios per APDU size: b/a (target >= 0.95) and b/c (target >= 2).
echo "---- summary (APDU round trips per second) ----"
awk '
    $1 == "bench" { split($4, r, "="); rate[$2, $3] = r[2] + 0; sizes[$3] = 1 }
    END {
        printf "%-16s %10s %10s %10s %8s %8s\n", "apdu", "raw", "ccidkit", "pcsclite", "b/a", "b/c"
        for (s in sizes) {
            a = rate["raw-libusb", s]; b = rate["ccidkit", s]; c = rate["pcsclite", s]
            printf "%-16s %10.0f %10.0f %10.0f %8.2f %8.2f\n", s, a, b, c, a ? b / a : 0, c ? b / c : 0
        }
    }' "$out" | tee -a "$out"
rm -rf "$work"
