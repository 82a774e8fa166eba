# The Debian system as a compressed qcow2 base (tests/guests/build-debian-qcow2.sh: qemu-img
# convert -c on the host; L1's disk rig-debian-qcow2 holds its bytes, copied into a file here and
# checked against the recipe's MD5) boots through a thin overlay (qemu-img create -b, relative
# backing path; --disk ...,format=qcow2,backing=on): systemd reaches "running" with / from
# /dev/vda (guest test root), the guest writes and syncs a file; the power button makes systemd
# power it off in order, and the VMM ends with status 0. Then qemu-img check finds the overlay
# free of errors, qemu-img's reading of the chain holds the guest's file (debugfs), and the base
# is byte-identical (its MD5 still the recipe's).
# rig-disk: debian-qcow2
# rig-tools: curl socat mke2fs debugfs qemu-img
# shellcheck shell=sh
N=debian-qcow2
W=$RIG_WORK
text=qcow2-$(rand_word)
read -r md5 size </guest/debian-qcow2.md5
if ! dev=$(rig_disk debian-qcow2); then
	rig_fail $N "no qcow2 Debian disk in L1 (rig-disk debian-qcow2)"
elif need_tools $N mke2fs debugfs qemu-img; then
	# The recipe's SIZE bytes (the image, padded to whole sectors: L1's disk is that long).
	head -c "$size" "$dev" >"$W/debian.qcow2"
	"$TOOLS/qemu-img" check -f qcow2 "$W/debian.qcow2" >"$W/base.check" 2>&1
	if [ "$(md5_of "$W/debian.qcow2")" != "$md5" ]; then
		rig_fail $N "the base copied from $dev does not have the recipe's MD5 $md5"
	elif ! (cd "$W" && "$TOOLS/qemu-img" create -q -f qcow2 -b debian.qcow2 -F qcow2 ov.qcow2) >"$W/create.out" 2>&1; then
		sed 's/^/| /' "$W/create.out"
		rig_fail $N "qemu-img create of the overlay failed"
	else
		# shellcheck disable=SC2034 # debian_start reads it
		DEBIAN_DISK="$W/ov.qcow2,format=qcow2,backing=on"
		if debian_root_test $N "$W/api.sock" /dev/vda "$text"; then
			"$TOOLS/qemu-img" check -f qcow2 "$W/ov.qcow2" >"$W/check.out" 2>&1
			check=$?
			"$TOOLS/qemu-img" convert -f qcow2 -O raw "$W/ov.qcow2" "$W/view.raw" >"$W/convert.out" 2>&1
			got=$("$TOOLS/debugfs" -R 'cat /var/lib/phyllome-root.txt' "$W/view.raw" 2>/dev/null)
			rm -f "$W/view.raw"
			if [ "$check" != 0 ]; then
				sed 's/^/| /' "$W/check.out"
				rig_fail $N "qemu-img check of the overlay: status $check"
			elif [ "$got" != "$text" ]; then
				sed 's/^/| /' "$W/convert.out"
				rig_fail $N "qemu-img's view of the overlay has /var/lib/phyllome-root.txt '$got', the guest wrote '$text'"
			elif [ "$(md5_of "$W/debian.qcow2")" != "$md5" ]; then
				rig_fail $N "the base image changed"
			else
				rig_ok $N "$RT_DETAIL; base $((size / 1048576)) MiB ($(grep -o '[0-9.]*% compressed clusters' "$W/base.check" || true)), overlay $(du -k "$W/ov.qcow2" | cut -f1) KiB: qemu-img check clean, the guest's file read back through qemu-img, base MD5 unchanged"
			fi
		fi
	fi
fi
