# qcow2 overlays (docs/qcow2.md): an ext4 image made in L1 is compressed into a qcow2 base with
# `qemu-img convert -c`; an overlay on it (`qemu-img create -b`, a relative backing path) is the
# guest's disk (format=qcow2,backing=on). The guest deletes a base file (discard), writes files,
# syncs and powers off; `qemu-img check` finds no errors, QEMU's reading of the overlay (converted
# to raw) is byte for byte what the guest read from its disk (MD5) and holds the guest's files
# (debugfs, e2fsck -fn clean), and the base is byte-identical. Then a chain of three: a new
# overlay on that one, through which the guest reads the first run's files and writes its own.
# rig-tools: mke2fs e2fsck debugfs qemu-img
# shellcheck shell=sh
N=qcow2-overlay
W=$RIG_WORK
host_text=host-$(rand_word) guest_text=guest-$(rand_word) top_text=top-$(rand_word)

# qemu-img's view of IMG: check status, then the raw conversion's MD5 in $QI_MD5.
qcow2_view() {
	"$TOOLS/qemu-img" check -f qcow2 "$1" >"$W/check.out" 2>&1
	QI_CHECK=$?
	QI_MD5=
	if "$TOOLS/qemu-img" convert -f qcow2 -O raw "$1" "$W/view.raw" >"$W/convert.out" 2>&1; then
		QI_MD5=$(md5_of "$W/view.raw")
	fi
}

qcow2_run() { # NAME MODE IMAGE ARGS...: boots the guest test on IMAGE; GT_DETAIL
	_n=$1 _mode=$2 _img=$3; shift 3
	vmm_start "$_n" 1 256M "$L2_BASE_CMDLINE phyllome.test=qcow2 qcow2.mode=$_mode qcow2.host_text=$host_text $*" \
		"disk:path=$_img,format=qcow2,backing=on"
	guest_test_end "$_n" qcow2 "$T_TEST"
}

# The first run: base <- ov. Sets OV_MD5 (the guest's guest.bin) on success.
overlay_run() {
	qcow2_run $N write "$W/ov.qcow2" "qcow2.guest_text=$guest_text" || return 1
	OV_MD5=$(echo "$GT_DETAIL" | sed -n 's/.*md5=\([0-9a-f]*\).*/\1/p')
	dev=$(echo "$GT_DETAIL" | sed -n 's/.*dev=\([0-9a-f]*\).*/\1/p')
	qcow2_view "$W/ov.qcow2"
	"$TOOLS/e2fsck" -fn "$W/view.raw" >"$W/e2fsck.out" 2>&1
	fsck=$?
	got=$("$TOOLS/debugfs" -R 'cat /guest.txt' "$W/view.raw" 2>/dev/null)
	"$TOOLS/debugfs" -R "dump /guest.bin $W/guest.bin" "$W/view.raw" >/dev/null 2>&1
	if [ "$QI_CHECK" != 0 ]; then
		sed 's/^/| /' "$W/check.out"
		rig_fail $N "qemu-img check of the overlay: status $QI_CHECK"
	elif [ "$QI_MD5" != "$dev" ]; then
		rig_fail $N "qemu-img reads the overlay as MD5 '$QI_MD5'; the guest read $dev"
	elif [ "$fsck" != 0 ]; then
		sed 's/^/| /' "$W/e2fsck.out"
		rig_fail $N "e2fsck -fn of the overlay's contents: status $fsck"
	elif [ "$got" != "$guest_text" ] || [ "$(md5_of "$W/guest.bin")" != "$OV_MD5" ]; then
		rig_fail $N "the overlay's /guest.txt is '$got' (want $guest_text) or /guest.bin's MD5 differs"
	elif [ "$(md5_of "$W/base.qcow2")" != "$base_md5" ]; then
		rig_fail $N "the base image changed"
	elif ! "$TOOLS/qemu-img" compare -q -f qcow2 -F raw "$W/base.qcow2" "$W/base.ext4"; then
		rig_fail $N "the base no longer reads as the ext4 image it was made from"
	else
		rig_ok $N "base ($(sed -n 's/.*, \([0-9.]*%\) compressed clusters/\1/p' "$W/base.check") of its clusters compressed) $(du -k "$W/base.qcow2" | cut -f1) KiB (ext4 64 MiB); overlay $(du -k "$W/ov.qcow2" | cut -f1) KiB: qemu-img check clean, qemu-img's raw view = the guest's /dev/vda (MD5 $dev), e2fsck -fn clean, guest files there; base byte-identical; userspace after ${GT_T_USER}s"
		return 0
	fi
	return 1
}

chain_run() {
	ov_before=$(md5_of "$W/ov.qcow2")
	(cd "$W" && "$TOOLS/qemu-img" create -q -f qcow2 -b ov.qcow2 -F qcow2 top.qcow2) ||
		{ rig_fail qcow2-chain "qemu-img create of the top image failed"; return; }
	qcow2_run qcow2-chain chain "$W/top.qcow2" "qcow2.guest_text=$guest_text qcow2.md5=$OV_MD5 qcow2.top_text=$top_text" || return
	dev=$(echo "$GT_DETAIL" | sed -n 's/.*dev=\([0-9a-f]*\).*/\1/p')
	qcow2_view "$W/top.qcow2"
	got=$("$TOOLS/debugfs" -R 'cat /top.txt' "$W/view.raw" 2>/dev/null)
	if [ "$QI_CHECK" != 0 ]; then
		sed 's/^/| /' "$W/check.out"
		rig_fail qcow2-chain "qemu-img check of the top image: status $QI_CHECK"
	elif [ "$QI_MD5" != "$dev" ]; then
		rig_fail qcow2-chain "qemu-img reads the chain as MD5 '$QI_MD5'; the guest read $dev"
	elif [ "$got" != "$top_text" ]; then
		rig_fail qcow2-chain "the top image's /top.txt is '$got', expected '$top_text'"
	elif [ "$(md5_of "$W/ov.qcow2")" != "$ov_before" ] || [ "$(md5_of "$W/base.qcow2")" != "$base_md5" ]; then
		rig_fail qcow2-chain "a backing image changed"
	else
		rig_ok qcow2-chain "base (compressed) <- overlay <- top: the first run's files read through the chain, /top.txt written; qemu-img check clean, its view = the guest's (MD5 $dev); both backing images byte-identical"
	fi
}

mkdir -p "$W/fs"
echo "$host_text" >"$W/fs/host.txt"
head -c 4194304 /dev/zero | tr '\0' p >"$W/fs/text.txt" # compresses well
head -c 8388608 /dev/urandom >"$W/fs/big.bin"
if ! need_tools $N mke2fs e2fsck debugfs qemu-img; then
	rig_fail qcow2-chain "tools missing"
elif ! out=$(mkext4 "$W/base.ext4" 64M "$W/fs" 2>&1); then
	rig_fail $N "mke2fs: $out"
	rig_fail qcow2-chain "no base image"
elif ! out=$(cd "$W" && "$TOOLS/qemu-img" convert -c -f raw -O qcow2 base.ext4 base.qcow2 2>&1 &&
	"$TOOLS/qemu-img" create -q -f qcow2 -b base.qcow2 -F qcow2 ov.qcow2 2>&1); then
	rig_fail $N "qemu-img: $out"
	rig_fail qcow2-chain "no base image"
else
	"$TOOLS/qemu-img" check "$W/base.qcow2" >"$W/base.check" 2>&1
	base_md5=$(md5_of "$W/base.qcow2")
	if overlay_run; then
		chain_run
	else
		rig_fail qcow2-chain "the first run failed"
	fi
fi
