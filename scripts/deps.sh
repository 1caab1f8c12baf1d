#!/bin/sh
# Installs the Debian packages the build and the tests need. Idempotent: does nothing
# when everything is present. As root it installs; otherwise it prints the apt command.
set -eu

PACKAGES="g++ cmake make pkg-config libusb-1.0-0-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev \
libbenchmark-dev libpcsclite-dev pcsc-tools opensc python3 python3-pyscard tshark clang-16 libclang-rt-16-dev"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages:$missing" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi

echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# tshark (pcapng trace tests) would otherwise ask whether non-root users may capture.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
if ! apt-get install -y --no-install-recommends $missing; then
    apt-get update
    apt-get install -y --no-install-recommends $missing
fi
