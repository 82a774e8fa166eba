# The AHCI CD-ROM's INTx: the cdrom scenario with the guest booted pci=nomsi, so Linux's ahci
# driver takes the controller's legacy interrupt (INTA, routed by the DSDT's _PRT to an IOAPIC
# pin) instead of MSI; the reads, the mount and the checks must all complete through it.
# shellcheck shell=sh
CD_NAME=cdrom-intx CD_CMDLINE="pci=nomsi "
. /rig/scenarios/cdrom.sh
