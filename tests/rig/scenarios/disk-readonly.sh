# virtio-blk readonly=on: the guest sees vdb read-only, its writes fail, reads work; the image is
# unchanged afterwards. vda (writable) takes a write.
# rig-tools: mke2fs
# shellcheck shell=sh
N=disk-readonly
ro=$RIG_WORK/ro.ext4 rw=$RIG_WORK/rw.img
ro_text=ro-$(rand_word) word=$(rand_word)
mkdir -p "$RIG_WORK/fs"
echo "$ro_text" >"$RIG_WORK/fs/ro.txt"
if ! need_tools $N mke2fs; then
	:
elif ! out=$(mkext4 "$ro" 32M "$RIG_WORK/fs" 2>&1); then
	rig_fail $N "mke2fs: $out"
else
	ro_md5=$(md5_of "$ro")
	head -c 8388608 /dev/zero >"$rw"
	vmm_start $N 1 256M "$L2_BASE_CMDLINE phyllome.test=disk-ro ro.text=$ro_text ro.md5=$ro_md5 disk.word=$word" \
		"disk:path=$rw" "disk:path=$ro,readonly=on"
	if guest_test_end $N disk-ro "$T_TEST"; then
		after=$(md5_of "$ro")
		head=$(head -n 1 "$rw")
		if [ "$after" != "$ro_md5" ]; then
			rig_fail $N "the read-only image changed: MD5 $after, was $ro_md5 (guest: $GT_DETAIL)"
		elif [ "$head" != "PHYLLOME-DISK $word" ]; then
			rig_fail $N "the writable image starts with '$head', expected 'PHYLLOME-DISK $word'"
		else
			rig_ok $N "$GT_DETAIL; read-only image unchanged (MD5); userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
		fi
	fi
fi
