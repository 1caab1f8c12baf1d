#!/bin/sh
# Runs in the test VM (test-usb.sh): one PC/SC conformance program
# (tests/conformance/pcsc_conformance), the same binary and the same ccid-gadget reader and card,
#   (a) through ccidkit's libpcsclite.so.1 (LD_LIBRARY_PATH, no daemon),
#   (b) through Debian's libpcsclite.so.1 + pcscd + libccid,
# then diffs the two outputs (pcsc-diff.sh) against the checked-in list of expected
# differences, tests/vm/pcsc-compare.expected (each one explained in
# docs/design/pcsc-comparison.md). A new difference, or one that went away, fails; so does a
# hard expectation failing through our library.
#
# Usage: pcsc-compare.sh BUILD_DIR [ccid-gadget options...]   (default: the gadget's default
#        reader, TPDU level with a T=1 card)
# Outputs are left in $CCIDKIT_VM_RESULTS (conformance-ccidkit.txt, conformance-pcsclite.txt,
# differences.txt). Exit 77 when pcscd or libccid is missing.
set -u
build=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
gadget="$build/tools/ccid-gadget"
program="$build/tests/conformance/pcsc_conformance"
expected="$here/pcsc-compare.expected"
plist=/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist

command -v pcscd >/dev/null || { echo "SKIP: pcscd not installed (scripts/vm-deps.sh --pcscd)"; exit 77; }
[ -f "$plist" ] || { echo "SKIP: libccid not installed (scripts/vm-deps.sh --pcscd)"; exit 77; }
[ -x "$program" ] || { echo "pcsc-compare: $program not built"; exit 1; }
/usr/bin/python3 "$here/libccid-accept-gadget.py" "$plist" || exit 1

out=${CCIDKIT_VM_RESULTS:-$(mktemp -d)}
work=$(mktemp -d)
"$gadget" --ready "$work/ready" "$@" &
gadget_pid=$!
i=0
until grep -qs "^1209$" /sys/bus/usb/devices/*/idVendor; do
    i=$((i + 1))
    [ $i -gt 200 ] && { echo "pcsc-compare: the gadget never enumerated"; kill $gadget_pid; exit 1; }
    sleep 0.1
done

echo "---- (a) ccidkit's libpcsclite.so.1 ----"
env -u CCID_VIRTUAL_READERS LD_LIBRARY_PATH="$build" timeout 300 "$program" ccidkit > "$out/conformance-ccidkit.txt" 2>&1
ours_status=$?
tail -n 1 "$out/conformance-ccidkit.txt"

echo "---- (b) pcsc-lite: libpcsclite.so.1 + pcscd + libccid ----"
mkdir -p "$work/reader.conf.d" /run/pcscd
pcscd --foreground --debug --config "$work/reader.conf.d" > "$work/pcscd.log" 2>&1 &
pcscd_pid=$!
i=0
until [ -S /run/pcscd/pcscd.comm ] || [ $i -gt 100 ]; do i=$((i + 1)); sleep 0.1; done
env -u LD_LIBRARY_PATH timeout 300 "$program" ccidkit > "$out/conformance-pcsclite.txt" 2>&1
pcsc_status=$?
tail -n 1 "$out/conformance-pcsclite.txt"
kill $pcscd_pid 2>/dev/null
wait $pcscd_pid 2>/dev/null
kill $gadget_pid 2>/dev/null
wait $gadget_pid 2>/dev/null

sh "$here/pcsc-diff.sh" "$out/conformance-ccidkit.txt" "$out/conformance-pcsclite.txt" > "$out/differences.txt"
grep -v '^#' "$expected" | grep -v '^$' | sort > "$work/expected"
sort "$out/differences.txt" > "$work/actual"
status=0
if [ "$ours_status" -ne 0 ]; then
    echo "pcsc-compare: FAIL: $ours_status hard expectation(s) failed through our library:"
    grep ' FAIL ' "$out/conformance-ccidkit.txt"
    status=1
fi
new=$(comm -13 "$work/expected" "$work/actual")
gone=$(comm -23 "$work/expected" "$work/actual")
if [ -n "$new" ]; then
    echo "pcsc-compare: FAIL: differences not in tests/vm/pcsc-compare.expected (check, ours, pcsc-lite):"
    echo "$new"
    status=1
fi
if [ -n "$gone" ]; then
    echo "pcsc-compare: FAIL: expected differences that did not happen (update pcsc-compare.expected and docs/design/pcsc-comparison.md):"
    echo "$gone"
    status=1
fi
echo "pcsc-compare: $(wc -l < "$work/actual") difference(s), all expected: $([ -z "$new$gone" ] && echo yes || echo no); pcsc-lite run: $pcsc_status hard failure(s)"
if [ $status -ne 0 ] && [ -s "$work/pcscd.log" ]; then
    echo "---- pcscd log ----"
    grep -v '^0000' "$work/pcscd.log" | tail -n 20
fi
cp "$work/pcscd.log" "$out/pcscd.log" 2>/dev/null
rm -rf "$work"
exit $status
