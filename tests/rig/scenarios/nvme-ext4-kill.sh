# NVMe: disk-ext4-kill with the ext4 image on an NVMe controller (--disk ...,bus=nvme): Linux's
# inbox nvme driver finds /dev/nvme0n1, the guest mounts it, writes and syncs, and the data is in
# the image after a SIGKILL of the VMM.
# rig-tools: mke2fs e2fsck debugfs
# shellcheck shell=sh
EXT4_NAME=nvme-ext4-kill EXT4_BUS=nvme EXT4_DEV=nvme0n1
. /rig/scenarios/disk-ext4-kill.sh
