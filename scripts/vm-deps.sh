#!/bin/sh
# Prepares what the USB-in-a-VM tests (tests/vm/, `make vm-smoke`, `make test-usb`) need:
#  - Debian packages on the host: qemu-system-x86, busybox-static, cpio, kmod, xz-utils, and
#    libnss3-tools (certificates for QEMU's emulated smart card);
#  - Debian's kernel (linux-image-amd64), fetched with `apt-get download` and unpacked with
#    `dpkg -x` into the cache folder, never installed on the host; `depmod` is run on the copy
#    and the uncompressed vmlinux is extracted from the bzImage (it boots twice as fast under
#    TCG through its PVH entry point).
#
# Usage: scripts/vm-deps.sh [--check] [--pcscd]
#   --check  install nothing: exit 0 when everything is there, 1 otherwise
#   --pcscd  also install pcscd + libccid + pcsc-tools (comparison against libccid in the guest)
#
# The cache folder is $CCIDKIT_VM_CACHE, default /var/cache/ccidkit-vm as root and
# ~/.cache/ccidkit-vm otherwise. Idempotent; needs the network only on the first run.
# On success it prints the kernel folder (CACHE/kernel-VERSION) on its last line.
set -eu

check_only=0
want_pcscd=0
for arg in "$@"; do
    case "$arg" in
        --check) check_only=1 ;;
        --pcscd) want_pcscd=1 ;;
        *) echo "usage: $0 [--check] [--pcscd]" >&2; exit 2 ;;
    esac
done

if [ -n "${CCIDKIT_VM_CACHE:-}" ]; then
    cache="$CCIDKIT_VM_CACHE"
elif [ "$(id -u)" -eq 0 ]; then
    cache=/var/cache/ccidkit-vm
else
    cache="$HOME/.cache/ccidkit-vm"
fi

packages="qemu-system-x86 busybox-static cpio kmod xz-utils libnss3-tools"
[ "$want_pcscd" -eq 1 ] && packages="$packages pcscd libccid pcsc-tools"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

# The newest unpacked kernel in the cache, if any (a folder with a vmlinuz and modules.dep).
cached_kernel() {
    for d in $(ls -d "$cache"/kernel-* 2>/dev/null | sort -V -r); do
        v=${d##*/kernel-}
        if [ -f "$d/boot/vmlinuz-$v" ] && [ -f "$d/lib/modules/$v/modules.dep" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

if [ "$check_only" -eq 1 ]; then
    if [ -z "$missing" ] && kdir=$(cached_kernel); then
        echo "$kdir"
        exit 0
    fi
    [ -n "$missing" ] && echo "missing packages:$missing" >&2
    cached_kernel >/dev/null || echo "no kernel cached in $cache" >&2
    exit 1
fi

if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "Missing Debian packages:$missing" >&2
        echo "Install them with: sudo apt-get install -y --no-install-recommends$missing" >&2
        exit 1
    fi
    echo "Installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    # --no-install-recommends keeps qemu's GUI extras out.
    if ! apt-get install -y --no-install-recommends $missing >&2; then
        apt-get update >&2
        apt-get install -y --no-install-recommends $missing >&2
    fi
fi

if kdir=$(cached_kernel); then
    echo "$kdir"
    exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/download.XXXXXX")
trap 'rm -rf "$work"' EXIT

# linux-image-amd64 is a metapackage; the kernel itself is the linux-image-VERSION-amd64 it
# depends on (unsigned flavour preferred: same kernel, no signature wrapper needed here).
meta_dep() {
    apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1
}
image=$(meta_dep)
if [ -z "$image" ]; then
    apt-get update >&2 || true
    image=$(meta_dep)
fi
if [ -z "$image" ]; then
    echo "cannot resolve linux-image-amd64 (no apt lists?)" >&2
    exit 1
fi
unsigned=$(echo "$image" | sed 's/-amd64$/-amd64-unsigned/')
if apt-cache show "$unsigned" >/dev/null 2>&1; then
    image="$unsigned"
fi
echo "Fetching $image into $cache" >&2
(cd "$work" && apt-get download "$image" >&2)
deb=$(ls "$work"/*.deb | head -n 1)
dpkg -x "$deb" "$work/root"

version=$(ls "$work/root/lib/modules" | head -n 1)
[ -n "$version" ] && [ -f "$work/root/boot/vmlinuz-$version" ] || { echo "unexpected package layout in $deb" >&2; exit 1; }

# Debian ships no modules.dep in the package (postinst makes it): build it on the copy.
depmod -b "$work/root" "$version"

# The bzImage carries the kernel as an xz stream: cut from its magic and decompress. xz stops
# with an error at the trailing garbage after the stream; what it wrote before is complete.
vmlinuz="$work/root/boot/vmlinuz-$version"
offset=$(LC_ALL=C grep -abo "$(printf '\3757zXZ')" "$vmlinuz" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
if [ -n "$offset" ]; then
    tail -c +"$((offset + 1))" "$vmlinuz" | xz -dc > "$work/root/boot/vmlinux-$version" 2>/dev/null || true
    if [ "$(head -c 4 "$work/root/boot/vmlinux-$version" | od -An -c | tr -d ' ')" != "177ELF" ]; then
        rm -f "$work/root/boot/vmlinux-$version"
        echo "note: could not extract vmlinux; the VM will boot the slower vmlinuz" >&2
    fi
fi

rm -rf "$cache/kernel-$version"
mv "$work/root" "$cache/kernel-$version"
echo "$cache/kernel-$version"
