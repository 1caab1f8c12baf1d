#!/usr/bin/python3
"""PC/SC client side of tests/vm/pcscd-gadget.sh: through pyscard -> pcscd -> libccid ->
libusb -> dummy_hcd -> FunctionFS -> ccid-gadget. Waits for a reader whose name contains
NAME, connects, checks the ATR, echoes APDUs of several sizes through the simulated card's
echo application (CLA 80, INS 10; sim/card/echo_app.h) and times a run of them.
Exit status 0 when everything matched."""
import sys
import time

from smartcard.System import readers
from smartcard.scard import SCARD_PROTOCOL_T1

name = sys.argv[1] if len(sys.argv) > 1 else "ccidkit"
expected_atr = sys.argv[2].replace(" ", "").upper() if len(sys.argv) > 2 else None

deadline = time.time() + 60
found = []
while time.time() < deadline:
    try:
        found = [r for r in readers() if name in str(r)]
    except Exception:  # pcscd not up yet
        found = []
    if found:
        break
    time.sleep(0.2)
if not found:
    print(f"pcsc_client: no reader named *{name}* appeared", flush=True)
    sys.exit(1)
reader = found[0]
print(f"pcsc_client: reader {reader}", flush=True)

connection = reader.createConnection()
connection.connect(SCARD_PROTOCOL_T1)
atr = "".join(f"{b:02X}" for b in connection.getATR())
print(f"pcsc_client: ATR {atr}", flush=True)
failures = 0
if expected_atr and atr != expected_atr:
    print(f"pcsc_client: FAIL: expected ATR {expected_atr}", flush=True)
    failures += 1


def echo(n):
    data = [(i * 13 + n) & 0xFF for i in range(n)]
    apdu = [0x80, 0x10, 0x00, 0x00]
    if n:
        apdu += [n] + data
    apdu += [n & 0xFF] if n else []
    response, sw1, sw2 = connection.transmit(apdu)
    return response == data and (sw1, sw2) == (0x90, 0x00)


for n in (0, 1, 16, 100, 200, 255):
    if not echo(n):
        print(f"pcsc_client: FAIL: echo of {n} bytes", flush=True)
        failures += 1

start = time.time()
count = 0
while time.time() - start < 2.0:
    if not echo(16):
        failures += 1
        break
    count += 1
rate = count / (time.time() - start)
print(f"[ MEASURE  ] pyscard -> pcscd -> libccid -> ccid-gadget, 16-byte echo APDU: {rate:.0f} APDU/s", flush=True)
connection.disconnect()
print("pcsc_client: " + ("OK" if failures == 0 else f"{failures} failure(s)"), flush=True)
sys.exit(0 if failures == 0 else 1)
