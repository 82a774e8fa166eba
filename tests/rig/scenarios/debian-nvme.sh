# The Debian system (tests/guests/build-debian.sh) with its root on the NVMe controller
# (--disk ...,bus=nvme; root=LABEL=phyllome-debian: Debian's initrd finds it with its inbox nvme
# driver): systemd reaches "running", / is mounted read-write from /dev/nvme0n1 (guest test root,
# tests/guests/debian-extra/root.sh, on a read-only virtio-blk disk of its own), the guest writes
# and syncs a file; the power button makes systemd power it off in order, the VMM ends with status
# 0, and L1 finds the guest's file on the disk image (debugfs).
# rig-disk: debian
# rig-tools: curl socat mke2fs debugfs
# shellcheck shell=sh
N=debian-nvme
text=nvme-$(rand_word)
# debian_start reads these two.
# shellcheck disable=SC2034
DEBIAN_DISK_OPTS=,bus=nvme DEBIAN_CMDLINE="console=ttyS0 root=LABEL=phyllome-debian quiet"
if ! disk=$(rig_disk debian); then
	rig_fail $N "no Debian disk in L1 (rig-disk debian)"
elif need_tools $N mke2fs debugfs &&
	debian_root_test $N "$RIG_WORK/api.sock" /dev/nvme0n1 "$text"; then
	got=$("$TOOLS/debugfs" -R 'cat /var/lib/phyllome-root.txt' "$disk" 2>/dev/null)
	if [ "$got" = "$text" ]; then
		rig_ok $N "$RT_DETAIL; the guest's file read back from the disk image"
	else
		rig_fail $N "the disk image's /var/lib/phyllome-root.txt is '$got', the guest wrote '$text'"
	fi
fi
