#!/usr/bin/python3
"""Adds ccid-gadget's identity (1209:CC1D) to libccid's Info.plist so that pcscd opens it:
libccid only drives the VID:PIDs listed there. Run in the test VM only (the guest's copy of
the file is a throw-away overlay). Usage: libccid-accept-gadget.py [PLIST]. Idempotent."""
import re
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist"
text = open(path).read()
marker = "<!-- ccidkit gadget -->"
if marker in text:  # already added (the arrays are parallel: look for our marker, not the IDs)
    sys.exit(0)
for key, value in (("ifdVendorID", "0x1209"), ("ifdProductID", "0xCC1D"), ("ifdFriendlyName", "ccidkit simulated reader")):
    text, n = re.subn(r"(<key>%s</key>\s*<array>)" % key, r"\1\n\t\t<string>%s</string>" % value, text, count=1)
    if n != 1:
        sys.exit("Info.plist: no %s array" % key)
open(path, "w").write(marker + "\n" + text if not text.startswith("<?xml") else text.replace("?>", "?>\n" + marker, 1))
