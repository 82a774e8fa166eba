#!/bin/bash
# Builds the test guests from Debian's packages (see shared FACTS: "Guests from Debian's packages").
#
# Outputs, under $CACHE/guests (CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}):
#   vmlinuz                 Debian's 6.1 bzImage (the L1 and L2 kernel)
#   vmlinux                 the same kernel uncompressed (ELF with a PVH entry note): boots L1
#                           about 3 s faster, as TCG needn't run the xz decompressor
#   l2-initramfs.cpio.gz    busybox-static initramfs: /init + /tests/*.sh + virtio/ext4/AHCI/CD-ROM modules
#   busybox                 the static busybox binary (the rig's L1 initramfs uses it too)
#   l1-modules/             irqbypass, kvm, ccp, kvm-amd, tun, dummy, virtio_pci, virtio_net, virtio_blk (+ deps) and their load order
#                           (the rig; tun and dummy for the network scenarios)
#   kernel-version          e.g. 6.1.0-56-amd64
#
# Downloads (apt-get download) and extractions are cached; the L2 initramfs is rebuilt only when
# one of its inputs changed. Needs: apt-get, dpkg, cpio, gzip (scripts/setup-deps.sh installs them).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}
DEBS=$CACHE/debs
EXTRACT=$CACHE/extract
OUT=$CACHE/guests

# Modules the L2 guest may need; missing ones (built in, or absent) are not fatal.
# crc32c_generic: ext4's soft dependency ("softdep pre: crypto-crc32c"), not in modules.dep.
# button: the ACPI power button (the API scenario presses it); evdev: /dev/input/event* for
# busybox acpid (phyllome.acpid=1, the manager scenario's clean shutdown by the power button)
# and the input tests; bochs: the display device's DRM driver (with its DRM helpers; fbdev
# emulation gives /dev/fb0). ahci, sr_mod, isofs: the CD-ROM (the VMM's AHCI controller with an
# ATAPI drive: libahci, libata, scsi_mod and cdrom come as their dependencies; all are modules
# in Debian's kernel, none built in) and its ISO 9660 file system. nvme, e1000e: the NVMe disk and
# the 82574L NIC; xhci_pci, usbhid, hid_generic: the USB controller with its tablet and keyboard;
# cpuid: /dev/cpu/N/cpuid (the Hyper-V test reads the hypervisor leaves there); efivarfs: the
# firmware's variables as files (the Secure Boot scenarios read SecureBoot, write a variable).
# virtiofs (with fuse): shared folders (the manager scenario's -v); 9p and 9pnet_virtio: QEMU's
# shared folders, which the shared-folder benchmark (bench/run-fs-bench.sh) measures against.
L2_MODULES="virtio_pci virtio_blk virtio_net virtio_console virtio-rng virtio_input crc32c_generic ext4 button bochs evdev ahci sr_mod isofs nvme e1000e xhci_pci usbhid hid_generic cpuid efivarfs virtiofs 9p 9pnet_virtio"
# Modules L1 needs for a working /dev/kvm on QEMU TCG's emulated SVM, in this order; then tun (tap
# devices) and dummy (the interface passt takes its addresses from) for the network scenarios;
# virtio_pci and virtio_net for L1's own network card (only there when a scenario has a host step
# that reaches into L1, tests/rig/README.md); virtio_blk for L1's disks ("# rig-disk:" lines).
L1_MODULES="irqbypass kvm ccp kvm-amd tun dummy virtio_pci virtio_net virtio_blk"

log() { echo "build-guests: $*" >&2; }
die() { echo "build-guests: error: $*" >&2; exit 1; }

mkdir -p "$DEBS" "$EXTRACT" "$OUT"
# One build at a time (parallel rig tests each call this script).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$CACHE/.build-guests.lock"
	flock 9
fi

# --- which kernel package ----------------------------------------------------------------------
# linux-image-amd64 is a metapackage; its dependency is the real, versioned kernel package.
resolve_kernel_pkg() {
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1) || true
	if [ -z "$pkg" ]; then
		# Offline or no apt lists: use the newest kernel package already in the cache.
		pkg=$(find "$DEBS" -maxdepth 1 -name 'linux-image-[0-9]*-amd64_*.deb' -printf '%f\n' 2>/dev/null |
			sort -V | tail -n1 | cut -d_ -f1) || true
		[ -n "$pkg" ] || die "cannot resolve linux-image-amd64's kernel package (run 'apt-get update' or scripts/setup-deps.sh)"
		log "apt-cache gave no answer; using cached $pkg"
	fi
	echo "$pkg"
}

# fetch PKG: prints the path of PKG's .deb in $DEBS, downloading it unless already cached.
fetch() {
	local pkg=$1 deb
	# "$DEBS/": find follows the folder if it is a symbolic link
	deb=$(find "$DEBS/" -maxdepth 1 -name "${pkg}_*.deb" -printf '%p\n' | sort -V | tail -n1)
	if [ -z "$deb" ]; then
		log "downloading $pkg"
		# apt's _apt user may not be able to write here; the warning about that is harmless.
		(cd "$DEBS" && apt-get download "$pkg" 2> >(grep -v 'unsandboxed as root' >&2)) >&2 ||
			die "apt-get download $pkg failed"
		deb=$(find "$DEBS/" -maxdepth 1 -name "${pkg}_*.deb" -printf '%p\n' | sort -V | tail -n1)
		[ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
	fi
	echo "$deb"
}

# unpack DEB: prints a directory holding DEB's extracted contents (cached by the .deb's name).
unpack() {
	local deb=$1 dir
	# fetch's failure inside $(...) doesn't stop the script: never unpack (rm -rf) "$EXTRACT/"
	[ -f "$deb" ] || die "no .deb to unpack ('$deb')"
	dir=$EXTRACT/$(basename "$deb" .deb)
	if [ ! -e "$dir/.done" ]; then
		log "extracting $(basename "$deb")"
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg -x "$deb" "$dir"
		touch "$dir/.done"
	fi
	echo "$dir"
}

# apt-cache takes a second or two: remember its answer for a day.
if [ -n "$(find "$CACHE/kernel-pkg" -mmin -1440 2>/dev/null)" ] && [ -s "$CACHE/kernel-pkg" ]; then
	KPKG=$(cat "$CACHE/kernel-pkg")
else
	KPKG=$(resolve_kernel_pkg)
	echo "$KPKG" >"$CACHE/kernel-pkg"
fi
KDIR=$(unpack "$(fetch "$KPKG")")
BBDIR=$(unpack "$(fetch busybox-static)")
BUSYBOX=$BBDIR/bin/busybox
[ -x "$BUSYBOX" ] || die "no bin/busybox in busybox-static"

KVER=$(find "$KDIR/lib/modules" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | head -n1)
[ -n "$KVER" ] || die "no lib/modules/<version> in $KPKG"
KERNEL=$KDIR/boot/vmlinuz-$KVER
[ -f "$KERNEL" ] || die "no boot/vmlinuz-$KVER in $KPKG"
MODDIR=$KDIR/lib/modules/$KVER

# The package ships no modules.dep (its postinst runs depmod): generate it, with kmod's depmod if
# installed, else with busybox's, which writes the same format.
if [ ! -s "$MODDIR/modules.dep" ]; then
	log "generating modules.dep for $KVER"
	if command -v depmod >/dev/null 2>&1; then
		depmod -b "$KDIR" "$KVER"
	else
		"$BUSYBOX" depmod -b "$KDIR" "$KVER"
	fi
	[ -s "$MODDIR/modules.dep" ] || die "depmod wrote no modules.dep"
fi

# resolve_modules NAME...: prints the paths (relative to $MODDIR) of NAMEs and all their
# dependencies, each once, in an order that loads every dependency before its users.
# '-' and '_' are the same in a module's name. Unknown names are skipped with a warning.
resolve_modules() {
	awk -v want="$*" '
	function norm(s) { sub(/.*\//, "", s); sub(/\.ko(\.[a-z]+)?$/, "", s); gsub(/-/, "_", s); return s }
	function visit(p,   n, i, d) {
		if (p in seen) return
		seen[p] = 1
		n = split(deps[p], d, " ")
		# modules.dep lists the deepest dependencies last: visit them first.
		for (i = n; i >= 1; i--) visit(d[i])
		print p
	}
	{
		p = $1; sub(/:$/, "", p)
		deps[p] = ""
		for (i = 2; i <= NF; i++) deps[p] = deps[p] " " $i
		byname[norm(p)] = p
	}
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) {
			k = norm(w[i])
			if (k in byname) visit(byname[k])
			else printf("build-guests: warning: module %s not found (built in?)\n", w[i]) > "/dev/stderr"
		}
	}' "$MODDIR/modules.dep"
}

# --- the L2 initramfs ----------------------------------------------------------------------------
L2_MODS=$(resolve_modules "$L2_MODULES")
L1_MODS=$(resolve_modules "$L1_MODULES")

# Inputs of the L2 initramfs: rebuild only if one changed.
stamp=$({
	echo "$KPKG $KVER $(basename "$BBDIR")"
	echo "$L2_MODS"
	cat "$HERE/init.sh" "$HERE/udhcpc.script" "$0"
	for t in "$HERE"/tests/*.sh; do echo "$t"; cat "$t"; done
} | sha256sum | cut -d' ' -f1)

if [ -f "$OUT/l2-initramfs.cpio.gz" ] && [ "$(cat "$OUT/.l2-stamp" 2>/dev/null)" = "$stamp" ]; then
	log "l2-initramfs.cpio.gz is up to date"
else
	log "building l2-initramfs.cpio.gz"
	root=$(mktemp -d "$OUT/.l2root.XXXXXX")
	trap 'rm -rf "$root"' EXIT
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,root,etc,tests,lib/modules,usr/bin,usr/sbin,mnt}
	cp "$BUSYBOX" "$root/bin/busybox"
	install -m 0755 "$HERE/init.sh" "$root/init"
	# udhcpc's event script; Debian's busybox looks for it in /etc/udhcpc (upstream's default is
	# /usr/share/udhcpc).
	install -D -m 0755 "$HERE/udhcpc.script" "$root/usr/share/udhcpc/default.script"
	mkdir -p "$root/etc/udhcpc"
	ln -s /usr/share/udhcpc/default.script "$root/etc/udhcpc/default.script"
	for t in "$HERE"/tests/*.sh; do install -m 0755 "$t" "$root/tests/"; done
	: >"$root/lib/modules/load-order"
	for m in $L2_MODS; do
		cp "$MODDIR/$m" "$root/lib/modules/"
		basename "$m" >>"$root/lib/modules/load-order"
	done
	# The kernel opens /dev/console for /init before devtmpfs is mounted. Debian's kernel has a
	# built-in default initramfs holding it anyway; add it when we can (root).
	mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
	mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null || true
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
		gzip -9n >"$OUT/l2-initramfs.cpio.gz.tmp"
	mv "$OUT/l2-initramfs.cpio.gz.tmp" "$OUT/l2-initramfs.cpio.gz"
	echo "$stamp" >"$OUT/.l2-stamp"
	rm -rf "$root"
	trap - EXIT
fi

# --- what the rig takes from here ---------------------------------------------------------------
# put SRC DST MODE: copy only when the content differs, so that DST's mtime means something (the
# rig keys its L1 initramfs cache on it).
put() {
	if ! cmp -s "$1" "$2"; then
		install -m "$3" "$1" "$2.tmp"
		mv "$2.tmp" "$2"
	fi
}
put "$KERNEL" "$OUT/vmlinuz" 0644
put "$BUSYBOX" "$OUT/busybox" 0755
mkdir -p "$OUT/l1-modules"
order=
for m in $L1_MODS; do
	put "$MODDIR/$m" "$OUT/l1-modules/$(basename "$m")" 0644
	order="$order$(basename "$m")
"
done
printf '%s' "$order" >"$OUT/.l1-load-order.new"
put "$OUT/.l1-load-order.new" "$OUT/l1-modules/load-order" 0644
rm -f "$OUT/.l1-load-order.new"
# vmlinux: the xz stream inside the bzImage, decompressed (what scripts/extract-vmlinux does).
if [ ! -s "$OUT/vmlinux" ] || [ "$(cat "$OUT/.vmlinux-from" 2>/dev/null)" != "$KPKG $KVER" ]; then
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$KERNEL" | head -n1 | cut -d: -f1) || true
	if [ -n "$off" ] && { tail -c +"$((off + 1))" "$KERNEL" || true; } | xz -dc --single-stream >"$OUT/vmlinux.tmp" 2>/dev/null &&
		[ "$(head -c 4 "$OUT/vmlinux.tmp")" = "$(printf '\177ELF')" ]; then
		mv "$OUT/vmlinux.tmp" "$OUT/vmlinux"
		echo "$KPKG $KVER" >"$OUT/.vmlinux-from"
	else
		rm -f "$OUT/vmlinux.tmp" "$OUT/vmlinux"
		log "warning: could not extract vmlinux from the bzImage (the rig will boot the bzImage)"
	fi
fi
echo "$KVER" >"$OUT/kernel-version"

# The hostile test guest (tests/guests/hostile): freestanding, rebuilt when its sources change.
HOSTILE_SRC=$HERE/hostile
if [ ! -s "$OUT/hostile.bzImage" ] || [ -n "$(find "$HOSTILE_SRC" -newer "$OUT/hostile.bzImage" -type f)" ]; then
	"$HOSTILE_SRC/build.sh" "$OUT/hostile.bzImage"
fi

log "ready in $OUT: vmlinuz ($KVER), vmlinux, l2-initramfs.cpio.gz, busybox, l1-modules ($(tr '\n' ' ' <"$OUT/l1-modules/load-order"))"
