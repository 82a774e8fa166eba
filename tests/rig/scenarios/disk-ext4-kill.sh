# virtio-blk, ext4, and a VMM killed with SIGKILL: the guest reads a file L1 put in an ext4 image,
# writes its own files and runs sync; L1 then kills the VMM (no clean shutdown) and finds the
# guest's files in the image with debugfs (after e2fsck -fy has replayed the journal, as a mount
# would).
# nvme-ext4-kill runs it with the disk on an NVMe controller (EXT4_BUS=nvme; /dev/nvme0n1),
# nvme-intx the same booted pci=nomsi (EXT4_CMDLINE), the controller on its INTx line.
# rig-tools: mke2fs e2fsck debugfs
# shellcheck shell=sh
N=${EXT4_NAME:-disk-ext4-kill}
img=$RIG_WORK/disk.ext4
host_text=host-$(rand_word) guest_text=guest-$(rand_word)
mkdir -p "$RIG_WORK/fs"
echo "$host_text" >"$RIG_WORK/fs/host.txt"
if ! need_tools $N mke2fs e2fsck debugfs; then
	:
elif ! out=$(mkext4 "$img" 64M "$RIG_WORK/fs" 2>&1); then
	rig_fail $N "mke2fs: $out"
else
	vmm_start $N 1 256M "$L2_BASE_CMDLINE phyllome.test=disk-ext4 disk.host_text=$host_text disk.guest_text=$guest_text${EXT4_DEV:+ disk.dev=$EXT4_DEV}${EXT4_CMDLINE:+ $EXT4_CMDLINE}" \
		"disk:path=$img${EXT4_BUS:+,bus=$EXT4_BUS}"
	if step_wait $N disk-ext4 synced "$T_TEST"; then
		t_sync=$(since "$VMM_T0")
		md5=$(step_line disk-ext4 synced | sed -n 's/.*md5=\([0-9a-f]*\).*/\1/p')
		kill -KILL "$VMM_PID"
		wait_exit 20
		# What a reader sees before any journal replay (for the report only).
		if [ "$("$TOOLS/debugfs" -R 'cat /guest.txt' "$img" 2>/dev/null)" = "$guest_text" ]; then
			raw="already readable before journal replay"
		else
			raw="not readable before journal replay"
		fi
		"$TOOLS/e2fsck" -fy "$img" >"$RIG_WORK/e2fsck.out" 2>&1
		fsck=$?
		# what e2fsck fixed: each "...? yes" line with the line before it
		fixes=$(awk '/\? yes/ { printf "%s %s; ", prev, $0 } { prev = $0 }' "$RIG_WORK/e2fsck.out")
		got=$("$TOOLS/debugfs" -R 'cat /guest.txt' "$img" 2>"$RIG_WORK/debugfs.err")
		"$TOOLS/debugfs" -R "dump /guest.bin $RIG_WORK/guest.bin" "$img" >/dev/null 2>&1
		got_md5=$(md5_of "$RIG_WORK/guest.bin" 2>/dev/null)
		# ext4 does not journal the superblock's free block and inode counts: after a crash
		# e2fsck corrects them, and that is all it may have to do.
		others=$(awk '/\? yes/ && prev !~ /^Free (blocks|inodes) count wrong \(/ { print prev } { prev = $0 }' "$RIG_WORK/e2fsck.out")
		if [ "$fsck" -gt 1 ] || [ -n "$others" ]; then
			sed 's/^/| /' "$RIG_WORK/e2fsck.out"
			rig_fail $N "e2fsck -fy status $fsck after the kill; it found: ${others:-errors it left}"
		elif [ "$got" != "$guest_text" ]; then
			sed 's/^/| /' "$RIG_WORK/e2fsck.out" "$RIG_WORK/debugfs.err"
			rig_fail $N "/guest.txt in the image: '$got', expected '$guest_text' (e2fsck status $fsck)"
		elif [ "$got_md5" != "$md5" ]; then
			rig_fail $N "/guest.bin in the image has MD5 '$got_md5', the guest wrote $md5"
		else
			rig_ok $N "${EXT4_BUS:-virtio} disk: userspace after ${GT_T_USER}s, guest synced after ${t_sync}s; VMM killed (status $VMM_STATUS); files $raw; e2fsck -fy status $fsck${fixes:+ (fixed: ${fixes%; })}; /guest.txt and /guest.bin (1 MiB, MD5 ok) in the image"
		fi
	fi
fi
