# NVMe with INTx instead of MSI-X: nvme-ext4-kill with the guest booted pci=nomsi, so Linux's
# nvme driver takes the controller's INTx line (a level the controller holds while a completion
# queue has entries, routed by the DSDT's _PRT to an IOAPIC pin), with shadow doorbells on.
# rig-tools: mke2fs e2fsck debugfs
# shellcheck shell=sh
EXT4_NAME=nvme-intx EXT4_BUS=nvme EXT4_DEV=nvme0n1 EXT4_CMDLINE=pci=nomsi
. /rig/scenarios/disk-ext4-kill.sh
