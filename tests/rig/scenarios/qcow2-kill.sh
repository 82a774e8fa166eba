# A qcow2 overlay SIGKILLed in the middle of heavy guest writes (files written, synced and
# deleted with discard, in a loop): `qemu-img check` must find no corruption (leaked clusters
# are allowed: status 0 or 3), the ext4 inside must need no more than a journal replay, and the
# compressed base must be byte-identical.
# rig-tools: mke2fs e2fsck qemu-img
# shellcheck shell=sh
N=qcow2-kill
W=$RIG_WORK
host_text=host-$(rand_word)
mkdir -p "$W/fs"
echo "$host_text" >"$W/fs/host.txt"
head -c 4194304 /dev/zero | tr '\0' p >"$W/fs/text.txt" # compresses well
if ! need_tools $N mke2fs e2fsck qemu-img; then
	:
elif ! out=$(mkext4 "$W/base.ext4" 64M "$W/fs" 2>&1); then
	rig_fail $N "mke2fs: $out"
elif ! out=$(cd "$W" && "$TOOLS/qemu-img" convert -c -f raw -O qcow2 base.ext4 base.qcow2 2>&1 &&
	"$TOOLS/qemu-img" create -q -f qcow2 -b base.qcow2 -F qcow2 ov.qcow2 2>&1); then
	rig_fail $N "qemu-img: $out"
else
	base_md5=$(md5_of "$W/base.qcow2")
	vmm_start $N 1 256M "$L2_BASE_CMDLINE phyllome.test=qcow2 qcow2.mode=heavy qcow2.host_text=$host_text" \
		"disk:path=$W/ov.qcow2,format=qcow2,backing=on"
	if step_wait $N qcow2 writing "$T_TEST"; then
		sleep 8 # heavy writes meanwhile
		kill -KILL "$VMM_PID"
		wait_exit 20
		"$TOOLS/qemu-img" check -f qcow2 "$W/ov.qcow2" >"$W/check.out" 2>&1
		check=$?
		leaks=$(sed -n 's/^\([0-9]*\) leaked clusters.*/\1/p' "$W/check.out")
		"$TOOLS/qemu-img" convert -f qcow2 -O raw "$W/ov.qcow2" "$W/view.raw" 2>"$W/convert.out"
		"$TOOLS/e2fsck" -fy "$W/view.raw" >"$W/e2fsck.out" 2>&1
		fsck=$?
		if [ "$check" != 0 ] && [ "$check" != 3 ]; then
			sed 's/^/| /' "$W/check.out"
			rig_fail $N "qemu-img check after the kill: status $check"
		elif [ "$fsck" -gt 1 ]; then
			sed 's/^/| /' "$W/e2fsck.out"
			rig_fail $N "e2fsck -fy of the overlay's contents: status $fsck"
		elif [ "$(md5_of "$W/base.qcow2")" != "$base_md5" ]; then
			rig_fail $N "the base image changed"
		else
			rig_ok $N "VMM killed (status $VMM_STATUS) during writes; qemu-img check status $check (${leaks:-0} leaked clusters, no corruption); e2fsck -fy status $fsck; overlay $(du -k "$W/ov.qcow2" | cut -f1) KiB; base byte-identical"
		fi
	fi
fi
