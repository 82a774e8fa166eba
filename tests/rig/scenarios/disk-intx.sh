# INTx instead of MSI-X: the two-disks scenario with the guest booted pci=nomsi, so virtio-pci
# falls back to its legacy interrupt (the ISR status register, a PCI INTx line routed by the
# DSDT's _PRT to an IOAPIC pin); the guest (intx=1) checks that the disks' interrupts arrived
# there, and none as MSI.
# shellcheck shell=sh
TD_NAME=disk-intx TD_CMDLINE="pci=nomsi intx=1 "
. /rig/scenarios/two-disks.sh
