#!/usr/bin/env bash
# Runs one command inside a throw-away VM that has a real Linux USB stack: Debian's kernel
# under qemu-system-x86_64, the host's / mounted read-only (tmpfs overlay on top), dummy_hcd +
# FunctionFS loaded for gadget tests, optionally QEMU's own emulated CCID reader on UHCI.
# See docs/design/usb-vm.md and /work/shared/notes/usb-vm-rig.md.
#
# Usage: tests/vm/run-in-vm.sh [options] -- CMD [ARGS...]
#   --qemu-ccid        add QEMU's usb-ccid reader with an emulated card (ccid-card-emulated)
#   --no-gadget        do not load dummy_hcd/libcomposite/usb_f_fs
#   --full-speed       dummy_hcd at full speed (64-byte bulk packets) instead of high speed
#   --timeout SECONDS  kill the VM after this long (default 300)
#   --mem MB           guest memory (default 1024)
#   --smp N            virtual CPUs (default 1: under TCG a second vCPU makes every
#                      cross-thread wake-up an inter-processor interrupt; ping-pong is 3-4x slower)
#   --dmesg            print the guest's kernel log after the command
#   --accel kvm|tcg    default tcg, or $CCIDKIT_VM_ACCEL
#
# CMD runs as root in the guest, in the current directory (same path as on the host), with
# PATH, CCIDKIT_*, GTEST_*, ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS and LIBUSB_DEBUG passed through, plus
# CCIDKIT_VM_GUEST=1 and CCIDKIT_VM_RESULTS=DIR (a folder shared read-write with the host;
# files written there are left in $CCIDKIT_VM_KEEP_RESULTS when that is set). Its output goes
# to this script's stdout through the serial console (stdout and stderr are merged).
#
# $CCIDKIT_VM_CACHE: where scripts/vm-deps.sh keeps the kernel; $CCIDKIT_VM_KERNEL: boot this
# image instead of the cached vmlinux (e.g. its vmlinuz).
#
# Exit status: CMD's, or 124 when the VM timed out, 125 when the VM failed before reporting a
# status, 77 (SKIP) when qemu or the cached kernel is missing and cannot be installed
# (scripts/vm-deps.sh; set CCIDKIT_VM_NO_INSTALL=1 to never try installing).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

qemu_ccid=0
gadget=1
full_speed=0
timeout_s=300
mem=1024
smp=1
show_dmesg=0
accel=${CCIDKIT_VM_ACCEL:-}
while [ $# -gt 0 ]; do
    case "$1" in
        --qemu-ccid) qemu_ccid=1 ;;
        --no-gadget) gadget=0 ;;
        --full-speed) full_speed=1 ;;
        --timeout) timeout_s=$2; shift ;;
        --mem) mem=$2; shift ;;
        --smp) smp=$2; shift ;;
        --dmesg) show_dmesg=1 ;;
        --accel) accel=$2; shift ;;
        --) shift; break ;;
        *) echo "run-in-vm: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ $# -gt 0 ] || { echo "usage: $0 [options] -- CMD [ARGS...]" >&2; exit 2; }

skip() {
    echo "SKIP: run-in-vm: $*" >&2
    exit 77
}

# ---- Ingredients: qemu, busybox, the cached kernel ----
kdir=$("$repo/scripts/vm-deps.sh" --check 2>/dev/null | tail -n 1)
if [ -z "$kdir" ]; then
    if [ "${CCIDKIT_VM_NO_INSTALL:-0}" = 1 ]; then
        skip "qemu or the cached kernel is missing (scripts/vm-deps.sh installs them)"
    fi
    kdir=$("$repo/scripts/vm-deps.sh" 2>/tmp/ccidkit-vm-deps.$$.log | tail -n 1)
    if [ -z "$kdir" ] || [ ! -d "$kdir" ]; then
        tail -n 5 /tmp/ccidkit-vm-deps.$$.log >&2
        rm -f /tmp/ccidkit-vm-deps.$$.log
        skip "qemu or the kernel could not be installed (scripts/vm-deps.sh failed)"
    fi
    rm -f /tmp/ccidkit-vm-deps.$$.log
fi
qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 not found"
busybox=$(command -v busybox) || skip "busybox not found"
[ -x /bin/busybox ] && busybox=/bin/busybox
version=${kdir##*/kernel-}
cache=$(dirname "$kdir")

# Boot the uncompressed vmlinux through its PVH entry when it was extracted: under TCG this
# saves the ~3 s of xz decompression the bzImage does.
# $CCIDKIT_VM_KERNEL picks another image of the same version (e.g. the vmlinuz, to compare).
kernel=${CCIDKIT_VM_KERNEL:-$kdir/boot/vmlinux-$version}
[ -f "$kernel" ] || kernel="$kdir/boot/vmlinuz-$version"

# ---- initramfs: static busybox + the modules to reach the root over 9p (cached) ----
root_modules="virtio_pci 9pnet_virtio 9p overlay"
stamp=$(cat "$here/guest-init.sh" "$busybox" | cksum | cut -d' ' -f1)
initrd="$cache/initramfs-$version-$stamp.cpio"
if [ ! -f "$initrd" ]; then
    stage=$(mktemp -d "${TMPDIR:-/tmp}/ccidkit-initrd.XXXXXX")
    mkdir -p "$stage/bin" "$stage/modules" "$stage/proc" "$stage/sys" "$stage/dev"
    cp "$busybox" "$stage/bin/busybox"
    cp "$here/guest-init.sh" "$stage/init"
    chmod 755 "$stage/init" "$stage/bin/busybox"
    : > "$stage/modules/order"
    for m in $root_modules; do
        # Dependencies first, each module once (insmod does not resolve them).
        modprobe -d "$kdir" -S "$version" --show-depends "$m" | while read -r cmd path _; do
            [ "$cmd" = insmod ] || continue
            name=$(basename "$path")
            grep -qx "$name" "$stage/modules/order" && continue
            cp "$path" "$stage/modules/$name"
            echo "$name" >> "$stage/modules/order"
        done
    done
    if ! grep -q '^9p.ko$' "$stage/modules/order"; then
        rm -rf "$stage"
        skip "cannot resolve the 9p modules of kernel $version"
    fi
    (cd "$stage" && find . | cpio -o -H newc --quiet) > "$initrd.tmp.$$" && mv "$initrd.tmp.$$" "$initrd"
    rm -rf "$stage"
    # Images made from an older guest-init.sh or busybox are of no further use.
    for old in "$cache"/initramfs-"$version"-*.cpio; do
        [ "$old" = "$initrd" ] || rm -f "$old"
    done
fi

# ---- NSS database for QEMU's emulated card (three self-signed certificates, cached) ----
qemu_ccid_args=()
if [ "$qemu_ccid" = 1 ]; then
    command -v certutil >/dev/null || skip "certutil (libnss3-tools) not found"
    nssdb="$cache/nssdb"
    if [ ! -f "$nssdb/done" ]; then
        rm -rf "$nssdb"; mkdir -p "$nssdb"
        certutil -N -d "sql:$nssdb" --empty-password >/dev/null || skip "certutil -N failed"
        head -c 64 /dev/urandom > "$nssdb/noise"
        for i in 1 2 3; do
            certutil -S -d "sql:$nssdb" -s "CN=ccidkit test cert $i" -n "cert$i" -x -t "CT,C,C" \
                -v 240 -z "$nssdb/noise" -m "$i" >/dev/null 2>&1 || skip "certutil -S failed"
        done
        touch "$nssdb/done"
    fi
    qemu_ccid_args=(-device piix3-usb-uhci,id=uhci
                    -device usb-ccid,bus=uhci.0,id=ccid
                    -device "ccid-card-emulated,backend=certificates,db=sql:$nssdb,cert1=cert1,cert2=cert2,cert3=cert3")
fi

# ---- Results share and the command script ----
results=$(mktemp -d "${TMPDIR:-/tmp}/ccidkit-vm.XXXXXX")
cleanup() {
    if [ -n "${CCIDKIT_VM_KEEP_RESULTS:-}" ]; then
        mkdir -p "$CCIDKIT_VM_KEEP_RESULTS" && cp -r "$results"/. "$CCIDKIT_VM_KEEP_RESULTS"/
    fi
    rm -rf "$results"
}
trap cleanup EXIT
{
    echo "# written by run-in-vm.sh"
    printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
    printf 'export PATH=%q\n' "$PATH"
    echo "export HOME=/root TERM=dumb CCIDKIT_VM_GUEST=1"
    printf 'export CCIDKIT_VM_RESULTS=%q\n' "$results"
    while IFS='=' read -r name _; do
        case "$name" in
            CCIDKIT_*|GTEST_*|ASAN_OPTIONS|UBSAN_OPTIONS|LSAN_OPTIONS|LIBUSB_DEBUG)
                printf 'export %s=%q\n' "$name" "${!name}" ;;
        esac
    done < <(env)
    printf 'exec'
    printf ' %q' "$@"
    printf ' 2>&1\n'
} > "$results/cmd"

usb=""
[ "$gadget" = 1 ] && usb="gadget"
[ "$qemu_ccid" = 1 ] && usb="$usb,uhci"
hcd=""
[ "$full_speed" = 1 ] && hcd="is_high_speed=0"

# TCG by default: on this kind of machine /dev/kvm exists but a nested KVM guest either aborts
# (MSR 0x10a with -cpu host/max) or never boots, so KVM is only used when asked for.
[ -n "$accel" ] || accel=tcg
if [ "$accel" = kvm ]; then
    accel_args=(-accel kvm -cpu host)
else
    accel_args=(-accel tcg -cpu max)
fi

append="console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init ccidkit_results=$results ccidkit_kdir=$kdir"
[ -n "$usb" ] && append="$append ccidkit_usb=$usb"
[ -n "$hcd" ] && append="$append ccidkit_hcd=$hcd"

# The console is a serial line: drop the carriage returns of its CRLF line ends, and the
# kernel's own last word.
timeout --kill-after=5 "$timeout_s" "$qemu" -M q35 "${accel_args[@]}" -m "$mem" -smp "$smp" \
    -nodefaults -display none -no-reboot -serial stdio \
    -kernel "$kernel" -initrd "$initrd" -append "$append" \
    -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
    -fsdev local,id=results,path="$results",security_model=none \
    -device virtio-9p-pci,fsdev=results,mount_tag=results \
    "${qemu_ccid_args[@]}" </dev/null | tr -d '\r' | grep --line-buffered -v '^\[ *[0-9.]*\] reboot: Power down$'
qemu_status=${PIPESTATUS[0]}

if [ "$show_dmesg" = 1 ] && [ -f "$results/dmesg" ]; then
    echo "---- guest dmesg ----"
    cat "$results/dmesg"
fi
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
    echo "run-in-vm: TIMEOUT after ${timeout_s}s (VM killed)" >&2
    exit 124
fi
if [ ! -f "$results/status" ]; then
    echo "run-in-vm: the VM stopped without reporting a status (qemu exit $qemu_status)" >&2
    exit 125
fi
exit "$(cat "$results/status")"
