#!/bin/sh
# Runs in the test VM (see test-usb.sh): unmodified pcscd + libccid drive ccid-gadget, i.e.
# libccid accepts ccidkit's simulated reader as a CCID reader. libccid only opens VID:PIDs its
# Info.plist lists, so the guest's (overlay, throw-away) copy gets the gadget's identity added.
# pcscd starts after the gadget has enumerated: no udev daemon runs here to tell it later.
#
# Usage: pcscd-gadget.sh BUILD_DIR [ccid-gadget options...]
# Exit 77 when pcscd, libccid or pyscard is missing.
set -u
build=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
gadget="$build/tools/ccid-gadget"
plist=/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist
py=/usr/bin/python3

command -v pcscd >/dev/null || { echo "SKIP: pcscd not installed (scripts/vm-deps.sh --pcscd)"; exit 77; }
[ -f "$plist" ] || { echo "SKIP: libccid not installed (scripts/vm-deps.sh --pcscd)"; exit 77; }
$py -c 'import smartcard' 2>/dev/null || { echo "SKIP: python3-pyscard not installed"; exit 77; }

# Add 1209:CC1D to the three parallel arrays of the Info.plist.
$py - "$plist" <<'EOF' || exit 1
import re, sys
path = sys.argv[1]
text = open(path).read()
for key, value in (("ifdVendorID", "0x1209"), ("ifdProductID", "0xCC1D"), ("ifdFriendlyName", "ccidkit simulated reader")):
    text, n = re.subn(r"(<key>%s</key>\s*<array>)" % key, r"\1\n\t\t<string>%s</string>" % value, text, count=1)
    if n != 1:
        sys.exit("Info.plist: no %s array" % key)
open(path, "w").write(text)
EOF

work=$(mktemp -d)
"$gadget" --ready "$work/ready" "$@" &
gadget_pid=$!
i=0
until grep -qs "^1209$" /sys/bus/usb/devices/*/idVendor; do
    i=$((i + 1))
    [ $i -gt 200 ] && { echo "pcscd-gadget: the gadget never enumerated"; kill $gadget_pid; exit 1; }
    sleep 0.1
done

mkdir -p "$work/reader.conf.d" /run/pcscd
pcscd --foreground --error --config "$work/reader.conf.d" > "$work/pcscd.log" 2>&1 &
pcscd_pid=$!

# The gadget's ready file names the ATR of its card: pcscd must report the same one.
$py "$here/pcsc_client.py" "ccidkit" "$(sed -n 's/^atr //p' "$work/ready")"
status=$?

kill $pcscd_pid 2>/dev/null
wait $pcscd_pid 2>/dev/null
kill $gadget_pid 2>/dev/null
wait $gadget_pid 2>/dev/null
if [ $status -ne 0 ]; then
    echo "---- pcscd log ----"
    tail -n 40 "$work/pcscd.log"
fi
rm -rf "$work"
exit $status
