#!/usr/bin/python3
"""Decode ATRs with pyscard's smartcard.ATR.ATR, as an independent reference for our parser.

Reads one ATR per line on stdin (hex, spaces allowed) and prints one JSON object per line:
  {"atr": "3B ...", "ok": true,
   "TA": [v or null per index i=1..n], "TB": [...], "TC": [...], "TD": [...],
   "historical": "80 73 ...", "protocols": [0, 1, 15], "has_tck": true,
   "tck_ok": true (null without TCK)}
or {"atr": "...", "ok": false, "error": "IndexError: ..."} when pyscard raises.
Exits with status 3 when pyscard is not importable (run it with Debian's /usr/bin/python3).
"""
import json
import sys

try:
    from smartcard.ATR import ATR
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(f"pyscard not available: {exc}", file=sys.stderr)
    sys.exit(3)


def hexstr(values):
    return " ".join(f"{v:02X}" for v in values)


def decode(line):
    values = [int(tok, 16) for tok in line.split()]
    out = {"atr": hexstr(values)}
    try:
        atr = ATR(values)
        protocols = sorted(int(p.split("=")[1]) for p in atr.getSupportedProtocols())
        out.update({
            "ok": True,
            "TA": list(atr.TA),
            "TB": list(atr.TB),
            "TC": list(atr.TC),
            "TD": list(atr.TD),
            "historical": hexstr(atr.getHistoricalBytes()),
            "protocols": protocols,
            "has_tck": bool(atr.hasChecksum),
            "tck_ok": bool(atr.checksumOK) if atr.hasChecksum else None,
        })
    except Exception as exc:  # pyscard raises IndexError, SmartcardException, ...
        out.update({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return out


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        print(json.dumps(decode(line)))


if __name__ == "__main__":
    main()
