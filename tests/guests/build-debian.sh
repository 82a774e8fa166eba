#!/bin/bash
# Builds a Debian 12 system from Debian's packages as a test guest (mmdebstrap; shared FACTS.md,
# "Whole systems"), cached like the kernel: rebuilt only when the recipe changes.
#   build-debian.sh [--cloud]
#
# Outputs, under $CACHE/guests (CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}); NAME is debian,
# or debian-cloud with --cloud:
#   NAME.img            ext4 image (label phyllome-debian) of the whole system, root=/dev/vda
#   NAME-vmlinuz        its kernel (the same package as build-guests.sh's L2 kernel)
#   NAME-initrd.img     its initramfs-tools initrd (virtio-blk, NVMe, AHCI, ext4; zstd)
#   .NAME-stamp         the recipe's hash (this script without its comments, tests/guests/debian/,
#                       with --cloud tests/guests/debian-cloud/ too, the apt sources, the kernel
#                       package)
#
# --cloud: the same system as a cloud image (tests/guests/build-debian-cloud.sh makes the qcow2
# that the catalogue serves): cloud-init with the NoCloud datasource only (the manager's seed),
# openssh-server without host keys (cloud-init makes an ed25519 one at the first boot), sudo, and
# tests/guests/debian-cloud/rootfs over the system.
#
# The system: systemd + udev + dbus (logind handles the ACPI power button), systemd-networkd (DHCP
# on every wired NIC), a root without password logged in on ttyS0, and phyllome-test.service,
# which runs /tests/NAME.sh on ttyS0 for phyllome.test=NAME on the kernel command line
# (tests/guests/README.md, "The Debian system"). Needs: mmdebstrap, mke2fs (e2fsprogs), and root
# or unprivileged user namespaces (mmdebstrap's unshare mode). Downloads from the mirrors in
# /etc/apt/sources.list.d/debian.sources only.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}
OUT=$CACHE/guests
FILES=$HERE/debian
SOURCES=${DEBIAN_SOURCES:-/etc/apt/sources.list.d/debian.sources}

log() { echo "build-debian: $*" >&2; }
die() { echo "build-debian: error: $*" >&2; exit 1; }

command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (scripts/setup-deps.sh installs it)"
[ -f "$SOURCES" ] || die "no $SOURCES (set DEBIAN_SOURCES to an apt sources file)"
# customize ROOT WORK: mmdebstrap's customize hook (see below). Writes WORK/debian.img,
# WORK/debian-vmlinuz and WORK/debian-initrd.img.
customize() {
	local root=$1 work=$2 name=$3 tree=$2/tree used
	cp -R --preserve=mode "$FILES/rootfs/." "$root/"
	[ "$name" = debian ] || cp -R --preserve=mode "$HERE/$name/rootfs/." "$root/"
	mkdir -p "$root/tests"
	install -m 0755 "$FILES"/tests/*.sh "$HERE/tests/lib.sh" "$root/tests/"
	echo phyllome-debian >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tphyllome-debian\n' >"$root/etc/hosts"
	# By label: the same line works with the root on virtio-blk, NVMe or SATA.
	echo 'LABEL=phyllome-debian / ext4 defaults,errors=remount-ro 0 1' >"$root/etc/fstab"
	chroot "$root" passwd -q -d root
	chroot "$root" systemctl enable -q systemd-networkd phyllome-shutdown
	# Timers that would start work in the middle of a test or a benchmark.
	chroot "$root" systemctl mask -q apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer
	cp "$root"/boot/vmlinuz-* "$work/$name-vmlinuz"
	cp "$root"/boot/initrd.img-* "$work/$name-initrd.img"
	# The tree without what mmdebstrap mounted (/proc, /sys, /dev) and without apt's caches and
	# the build host's resolv.conf; an empty machine-id: systemd makes one at each boot.
	mkdir "$tree"
	cp -a --one-file-system "$root/." "$tree/"
	rm -rf "$tree"/var/cache/apt/* "$tree"/var/lib/apt/lists/* "$tree"/var/log/apt/* "$tree/etc/resolv.conf" \
		"$tree"/usr/share/doc/* "$tree"/usr/share/man/* "$tree"/usr/share/info/* "$tree"/usr/share/locale/*
	: >"$tree/etc/machine-id"
	# A cloud image's VMs each get their own host keys (cloud-init), never the image's.
	[ "$name" = debian ] || rm -f "$tree"/etc/ssh/ssh_host_*
	used=$(du -sm "$tree" | cut -f1)
	# Room for the guest's own writes (the image is sparse: unused space costs nothing).
	mke2fs -q -t ext4 -L phyllome-debian -d "$tree" "$work/$name.img" "$((used * 5 / 4 + 512))M"
	rm -rf "$tree"
}

if [ "${1:-}" = --customize ]; then
	customize "$2" "$3" "$4"
	exit 0
fi
NAME=debian
[ "${1:-}" = --cloud ] && NAME=debian-cloud

mkdir -p "$OUT"

# The kernel: build-guests.sh's choice (the rig's L2 kernel), so both guests run one kernel.
KPKG=$(cat "$CACHE/kernel-pkg" 2>/dev/null || true)
[ -n "$KPKG" ] || KPKG=linux-image-amd64

# systemd-sysv: /sbin/init, poweroff. dbus: systemd-logind needs it (the power button).
# util-linux-extra: hwclock. pciutils, usbutils: lspci, lsusb for the device tests. iperf3: network
# benchmarks; alsa-utils: aplay, arecord, speaker-test for sound. Not fio: its Ceph, GlusterFS
# and NBD libraries and Python would add about 100 MiB. usr-is-merged: else apt satisfies
# init-system-helpers' "usrmerge | usr-is-merged" with usrmerge, which brings Perl (50 MiB).
PACKAGES="systemd systemd-sysv udev dbus $KPKG initramfs-tools zstd e2fsprogs iproute2 kmod procps
util-linux-extra pciutils usbutils iperf3 alsa-utils usr-is-merged"
# The cloud image: cloud-init reads the seed (a vfat disk labelled CIDATA: dosfstools' fsck is not
# needed to mount it), makes the user and the host keys; sshd and sudo for that user.
[ "$NAME" = debian ] || PACKAGES="$PACKAGES cloud-init openssh-server sudo"
# The kernel's modules for hardware no VMM here emulates. (Documentation goes from the image's
# tree: dpkg's path-exclude fails on Multi-Arch: same packages' arch-qualified files in
# /usr/share/doc.)
EXCLUDE="/lib/modules/*/kernel/drivers/gpu/drm/amd/* /lib/modules/*/kernel/drivers/gpu/drm/nouveau/*
/lib/modules/*/kernel/drivers/gpu/drm/i915/* /lib/modules/*/kernel/drivers/gpu/drm/radeon/*
/lib/modules/*/kernel/drivers/net/wireless/* /lib/modules/*/kernel/drivers/media/*
/lib/modules/*/kernel/drivers/infiniband/* /lib/modules/*/kernel/drivers/staging/*
/lib/modules/*/kernel/drivers/net/ethernet/mellanox/* /lib/modules/*/kernel/drivers/bluetooth/*
/lib/modules/*/kernel/net/bluetooth/* /lib/modules/*/kernel/net/mac80211/* /lib/modules/*/kernel/net/wireless/*
/lib/modules/*/kernel/sound/soc/* /lib/modules/*/kernel/drivers/iio/* /lib/modules/*/kernel/drivers/isdn/*
/lib/modules/*/kernel/drivers/scsi/*/* /lib/modules/*/kernel/drivers/net/ethernet/* /lib/modules/*/kernel/drivers/net/can/*
/lib/modules/*/kernel/drivers/net/usb/* /lib/modules/*/kernel/fs/ocfs2/* /lib/modules/*/kernel/fs/gfs2/*
/lib/modules/*/kernel/drivers/hwmon/* /lib/modules/*/kernel/drivers/input/touchscreen/*"
# Of the Ethernet drivers, Intel's (e1000e; also e1000, igb) stay.
INCLUDE="/lib/modules/*/kernel/drivers/net/ethernet/intel/*"

stamp=$({
	echo "$KPKG $NAME"
	grep -v '^[[:space:]]*#' "$0" # comments don't change the image
	cat "$SOURCES"
	for d in "$FILES" "$HERE/$NAME"; do [ -d "$d" ] && (cd "$d" && find . -type f -o -type l | LC_ALL=C sort | while read -r f; do
		echo "$f $(stat -c %a "$f")"
		cat "$f"
	done); done
	cat "$HERE/tests/lib.sh"
} | sha256sum | cut -d' ' -f1)

if [ -s "$OUT/$NAME.img" ] && [ -s "$OUT/$NAME-vmlinuz" ] && [ -s "$OUT/$NAME-initrd.img" ] &&
	[ "$(cat "$OUT/.$NAME-stamp" 2>/dev/null)" = "$stamp" ]; then
	log "$NAME.img is up to date"
	exit 0
fi

# One build at a time (parallel rig tests may each ask for it).
exec 9>"$CACHE/.build-$NAME.lock"
flock 9
[ "$(cat "$OUT/.$NAME-stamp" 2>/dev/null)" = "$stamp" ] && [ -s "$OUT/$NAME.img" ] && exit 0

rm -f "$OUT/.$NAME-stamp"
work=$(mktemp -d "$OUT/.$NAME.XXXXXX")
trap 'rm -rf "$work"' EXIT

excl=()
for p in $EXCLUDE; do excl+=("--dpkgopt=path-exclude=$p"); done
for p in $INCLUDE; do excl+=("--dpkgopt=path-include=$p"); done

# The setup hook puts the initramfs-tools configuration in before any package, so that the
# kernel's postinst builds the small initrd. The customize hook (outside the chroot, in
# mmdebstrap's namespace: files are owned by root there in unshare mode too): our files in, the
# system configured, then a copy of the tree without the mounted /proc, /sys, /dev becomes the
# ext4 image. The target /dev/null: mmdebstrap builds in a temporary folder and removes it.
# shellcheck disable=SC2016 # expanded by the hooks' shell
mmdebstrap --variant=minbase --include="$(printf %s "$PACKAGES" | tr -s " \n" ",")" "${excl[@]}" \
	--setup-hook='mkdir -p "$1/etc/initramfs-tools" && cp -a '"$FILES"'/rootfs/etc/initramfs-tools/. "$1/etc/initramfs-tools/"' \
	--customize-hook='"'"$HERE/build-debian.sh"'" --customize "$1" '"$work $NAME" \
	bookworm /dev/null "$SOURCES" >&2 || die "mmdebstrap failed"

for f in $NAME.img $NAME-vmlinuz $NAME-initrd.img; do
	[ -s "$work/$f" ] || die "the customize hook made no $f"
	mv "$work/$f" "$OUT/$f"
done
echo "$stamp" >"$OUT/.$NAME-stamp"
log "ready in $OUT: $NAME.img ($(du -h --apparent-size "$OUT/$NAME.img" | cut -f1), $(du -h "$OUT/$NAME.img" | cut -f1) used), $NAME-vmlinuz, $NAME-initrd.img ($(du -h "$OUT/$NAME-initrd.img" | cut -f1))"
