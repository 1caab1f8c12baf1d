#!/bin/sh
# Runs in the test VM (bench-usb.sh): one ccid-gadget (short APDU level, T=1 card), then
#   (a) raw libusb bulk ping-pong of the CCID messages an APDU makes (raw_ccid_bench),
#   (b) SCardTransmit through ccidkit's libpcsclite.so.1 (pcsc_bench, LD_LIBRARY_PATH),
#   (c) SCardTransmit through pcsc-lite + pcscd + libccid (the same pcsc_bench binary),
# plus cold start (process start, and pcscd's for (c), to the first APDU answered) and peak
# RSS. Prints bench_stats.h lines, "cold", "rss" lines and a summary with the ratios.
# Usage: bench-usb-guest.sh BUILD_DIR [SECONDS_PER_SIZE_AND_PATH [ROUNDS]]
set -u
build=$1
seconds=${2:-1}
rounds=${3:-5}
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

have_pcscd=0
if command -v pcscd >/dev/null && /usr/bin/python3 "$here/libccid-accept-gadget.py"; then
    have_pcscd=1
    mkdir -p "$work/reader.conf.d" /run/pcscd
else
    echo "bench-usb: pcscd or libccid missing, (c) skipped"
fi
start_pcscd() {
    pcscd --foreground --error --config "$work/reader.conf.d" > "$work/pcscd.log" 2>&1 &
    pcscd_pid=$!
    i=0  # the client refuses to wait for the daemon's socket: the cold start includes this
    until [ -S /run/pcscd/pcscd.comm ] || [ $i -gt 500 ]; do i=$((i + 1)); sleep 0.01; done
}

# Cold start and peak RSS, once per path.
start=$(now_ns)
env -u CCID_VIRTUAL_READERS LD_LIBRARY_PATH="$build" "$build/tests/pcsc_bench" --cold ccidkit > "$work/cold" || exit 1
cold_line ccidkit "$start" "$work/cold"
if [ $have_pcscd = 1 ]; then
    start=$(now_ns)
    start_pcscd
    env -u LD_LIBRARY_PATH "$build/tests/pcsc_bench" --cold pcsclite > "$work/cold" || exit 1
    cold_line pcsclite "$start" "$work/cold"
    kill $pcscd_pid; wait $pcscd_pid 2>/dev/null
fi

# Throughput in interleaved rounds: (a), (b), (c) one after the other, ROUNDS times, so that a
# drift of the host's load hits the three paths alike (run one after another for long, the
# paths meet different loads and single ratios vary 2x on a busy machine). Even rounds run the
# paths in the reverse order (a b c, c b a, ...), so that neither a slow start nor a slow end of
# a round (e.g. what pcscd's start or exit leaves behind) always lands on the same path. pcscd is
# started for (c) only: while it runs it holds the reader's interface.
run_raw() {
    "$build/tests/raw_ccid_bench" "$seconds" | sed -n "s/^bench /bench r$r /p" | tee -a "$out"
}
run_ours() {
    env -u CCID_VIRTUAL_READERS LD_LIBRARY_PATH="$build" "$build/tests/pcsc_bench" ccidkit "$seconds" \
        | sed -n "s/^bench /bench r$r /p" | tee -a "$out"
}
# With CCIDKIT_BENCH_NO_READ_AHEAD=1, also (b) with the no_bulk_in_read_ahead quirk (each reply
# read only after its command went out), labelled ccidkit-no-read-ahead: what the read-ahead
# (docs/design/usb.md) is worth, in the same rounds.
run_ours_no_read_ahead() {
    [ "${CCIDKIT_BENCH_NO_READ_AHEAD:-0}" = 1 ] || return 0
    echo "1209:cc1d no_bulk_in_read_ahead" > "$work/quirks"
    env -u CCID_VIRTUAL_READERS CCIDKIT_QUIRKS_FILE="$work/quirks" LD_LIBRARY_PATH="$build" \
        "$build/tests/pcsc_bench" ccidkit "$seconds" \
        | sed -n "s/^bench \([^ ]*\) /bench r$r ccidkit-no-read-ahead /p" | tee -a "$out"
}
run_pcsclite() {
    [ $have_pcscd = 1 ] || return 0
    start_pcscd
    env -u LD_LIBRARY_PATH "$build/tests/pcsc_bench" pcsclite "$seconds" | sed -n "s/^bench /bench r$r /p" | tee -a "$out"
    [ $r = 1 ] && echo "rss pcscd kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$pcscd_pid/status)" | tee -a "$out"
    kill $pcscd_pid; wait $pcscd_pid 2>/dev/null
}
r=1
while [ $r -le "$rounds" ]; do
    if [ $((r % 2)) = 1 ]; then
        run_raw; run_ours; run_ours_no_read_ahead; run_pcsclite
    else
        run_pcsclite; run_ours_no_read_ahead; run_ours; run_raw
    fi
    r=$((r + 1))
done
kill $gadget_pid; wait $gadget_pid 2>/dev/null

# Per APDU size: the median over rounds of each path's rate, and the medians of the per-round
# ratios b/a (target >= 0.95) and b/c (target >= 2): by rate (APDUs per second, which a burst
# of host load inside one path's second drags down), and by median latency (p50, which such a
# burst moves less: the ratio of the other path's p50 to ours).
echo "---- summary (APDU round trips per second, medians of $rounds interleaved rounds) ----"
awk '
    function median(list,    n, v, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        if (n == 0) return 0
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    $1 == "bench" {
        split($5, x, "="); rate[$2, $3, $4] = x[2] + 0
        split($6, y, "="); p50[$2, $3, $4] = y[2] + 0
        sizes[$4] = 1; rounds[$2] = 1
    }
    END {
        printf "%-16s %10s %10s %10s %8s %8s %10s %10s\n", "apdu", "raw", "ccidkit", "pcsclite", "b/a", "b/c", "b/a(p50)", "b/c(p50)"
        for (s in sizes) {
            la = lb = lc = lba = lbc = pba = pbc = ""
            for (r in rounds) {
                a = rate[r, "raw-libusb", s]; b = rate[r, "ccidkit", s]; c = rate[r, "pcsclite", s]
                la = la " " a; lb = lb " " b; lc = lc " " c
                if (a) lba = lba " " b / a
                if (c) lbc = lbc " " b / c
                pb = p50[r, "ccidkit", s]
                if (pb && p50[r, "raw-libusb", s]) pba = pba " " p50[r, "raw-libusb", s] / pb
                if (pb && p50[r, "pcsclite", s]) pbc = pbc " " p50[r, "pcsclite", s] / pb
            }
            printf "%-16s %10.0f %10.0f %10.0f %8.2f %8.2f %10.2f %10.2f\n", s, median(la), median(lb), median(lc), median(lba), median(lbc), median(pba), median(pbc)
        }
        for (s in sizes) {
            ln = lbn = ""
            for (r in rounds) {
                n = rate[r, "ccidkit-no-read-ahead", s]
                if (!n) continue
                ln = ln " " n; lbn = lbn " " rate[r, "ccidkit", s] / n
            }
            if (ln != "") printf "%-16s ccidkit without read-ahead %.0f/s; ccidkit with / without: %.2f\n", s, median(ln), median(lbn)
        }
    }' "$out" | tee -a "$out"
rm -rf "$work"
