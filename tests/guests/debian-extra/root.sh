#!/bin/sh
# The Debian system with its root on a given disk (rig scenarios debian-nvme: NVMe; debian-qcow2:
# a qcow2 overlay over a compressed base). Not in the image: a scenario brings it on a disk
# (phyllome.tests=LABEL=phyllome-tests; tests/guests/README.md), so changing it does not rebuild
# the system. Command line: debian.root=DEV (the disk the root must be on, e.g. /dev/nvme0n1),
# debian.text=WORD (written to /var/lib/phyllome-root.txt and synced: the scenario reads it back
# from the disk image after the power-off).
# systemd reaches "running" (not "degraded"), / is mounted read-write from DEV, udev made DEV's
# ID_PATH and the by-label link to it; then PHYLLOME-TEST root PASS, and the guest waits for the
# ACPI power button (as the boot test).
NAME=root
. /tests/lib.sh
export SYSTEMD_PAGER=

echo "PHYLLOME-STEP root started"
want=$(arg debian.root) || fail "no debian.root= on the command line"
text=$(arg debian.text) || fail "no debian.text= on the command line"
state=$(timeout 300 systemctl is-system-running --wait 2>&1)
case $state in
running) ;;
degraded) fail "systemd is degraded: $(systemctl --failed --plain --no-legend | awk '{ print $1 }' | tr '\n' ' ')" ;;
*) fail "systemd state '$state'" ;;
esac
times=$(systemd-analyze time 2>&1 | head -n 1 | sed 's/^Startup finished in //')

src=$(findmnt -n -o SOURCE /)
[ "$src" = "$want" ] || fail "/ is mounted from '$src', expected $want"
opts=$(findmnt -n -o OPTIONS /)
case ,$opts, in *,rw,*) ;; *) fail "/ is mounted '$opts', not rw" ;; esac
[ -b "$want" ] || fail "no block device $want"
udevadm info --query=property --name="$want" | grep -q '^ID_PATH=' || fail "udev has no ID_PATH for $want"
label=$(readlink -f /dev/disk/by-label/phyllome-debian 2>/dev/null)
[ "$label" = "$want" ] || fail "/dev/disk/by-label/phyllome-debian -> '$label', expected $want"
size=$(cat "/sys/class/block/${want#/dev/}/size")

echo "$text" >/var/lib/phyllome-root.txt || fail "cannot write to the root file system"
sync /var/lib/phyllome-root.txt || fail "sync failed"
got=$(cat /var/lib/phyllome-root.txt)
[ "$got" = "$text" ] || fail "read back '$got', wrote '$text'"

systemctl is-active -q systemd-logind || fail "systemd-logind is not active"
echo "PHYLLOME-TEST root PASS $state; $times; / on $src ($((size / 2048)) MiB, $(udevadm info --query=property --name="$want" | sed -n 's/^ID_PATH=//p'))"
echo "PHYLLOME-STEP root ready for the power button"
while :; do sleep 1; done
