#!/bin/busybox sh
# /init of the test VM's initramfs (built by run-in-vm.sh). Runs as PID 1 under busybox:
#  1. loads the few modules needed to reach the host's root over virtio-9p;
#  2. mounts the host's / read-only with a tmpfs overlay on top (the guest can write anywhere,
#     everything is forgotten at power-off), plus the read-write results share at the same
#     path as on the host;
#  3. inside that root: proc/sys/dev, the cached kernel's modules at /lib/modules/VERSION,
#     the USB modules the run asked for (dummy_hcd + FunctionFS, and/or uhci for QEMU's reader);
#  4. runs the host's command script (RESULTS/cmd) in a chroot with the serial console as
#     stdio, writes its exit status to RESULTS/status and the kernel log to RESULTS/dmesg;
#  5. powers off at once (qemu runs with -no-reboot, so the VM ends).
# Parameters come from the kernel command line: ccidkit_results=DIR ccidkit_kdir=DIR
# ccidkit_usb=gadget,uhci ccidkit_hcd="dummy_hcd module parameters, comma-separated".

/bin/busybox mkdir -p /proc /sys /dev /bin /sbin
/bin/busybox --install -s /bin
export PATH=/bin:/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The kernel found no /dev/console in the initramfs: take the console now.
exec </dev/console >/dev/console 2>&1
# Keep kernel chatter (USB connect/disconnect lines) off the console the command writes to;
# it is all saved to RESULTS/dmesg.
echo "1 4 1 7" > /proc/sys/kernel/printk

die() {
    echo "ccidkit-vm: $*"
    poweroff -f
}

results=""; kdir=""; usb=""; hcd=""
for word in $(cat /proc/cmdline); do
    case "$word" in
        ccidkit_results=*) results=${word#*=} ;;
        ccidkit_kdir=*) kdir=${word#*=} ;;
        ccidkit_usb=*) usb=${word#*=} ;;
        ccidkit_hcd=*) hcd=${word#*=} ;;
    esac
done
[ -n "$results" ] && [ -n "$kdir" ] || die "missing ccidkit_results/ccidkit_kdir on the command line"

for m in $(cat /modules/order); do
    insmod "/modules/$m" || die "insmod $m failed"
done

mkdir -p /lower /rw /root
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /lower ||
    die "cannot mount the host root"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /root ||
    die "cannot mount the overlay"

r=/root
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount -t devtmpfs devtmpfs $r/dev
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts devpts $r/dev/pts
mount -t tmpfs tmpfs $r/dev/shm
mount -t tmpfs tmpfs $r/run
mkdir -p "$r$results"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results "$r$results" ||
    die "cannot mount the results share"

version=${kdir##*/kernel-}
mkdir -p "$r/lib/modules/$version"
mount --bind "$r$kdir/lib/modules/$version" "$r/lib/modules/$version"

# USB modules, with the chroot's own modprobe (kmod) and the cached kernel's modules.dep.
case ",$usb," in
    *,gadget,*)
        chroot $r modprobe dummy_hcd $(echo "$hcd" | tr ',' ' ') || die "modprobe dummy_hcd failed"
        chroot $r modprobe libcomposite || die "modprobe libcomposite failed"
        chroot $r modprobe usb_f_fs || die "modprobe usb_f_fs failed"
        grep -q configfs /proc/filesystems || chroot $r modprobe configfs
        mount -t configfs configfs $r/sys/kernel/config || die "cannot mount configfs"
        ;;
esac
case ",$usb," in
    *,uhci,*) chroot $r modprobe uhci_hcd || die "modprobe uhci_hcd failed" ;;
esac
chroot $r modprobe usbmon 2>/dev/null || true

chroot $r /bin/sh "$results/cmd"
status=$?
echo "$status" > "$r$results/status"
dmesg > "$r$results/dmesg" 2>/dev/null
sync
umount "$r$results" 2>/dev/null
poweroff -f
