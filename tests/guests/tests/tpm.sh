#!/bin/sh
# TPM 2.0 (rig scenario tpm): /dev/tpm0 is there, bound to tpm_crb, a TPM 2.0; two TPM2_GetRandom
# commands written to /dev/tpm0 each answer success with 16 bytes, and the two differ. With
# phyllome.tpmlog=1 (booted by firmware), the firmware's event log in securityfs is not empty.
NAME=tpm
. /tests/lib.sh

wait_path /dev/tpm0 15 || fail "no /dev/tpm0 ($(dmesg | grep -i tpm | tail -n 3 | tr '\n' ' '))"
drv=$(readlink /sys/class/tpm/tpm0/device/driver 2>/dev/null)
drv=${drv##*/}
[ "$drv" = tpm_crb ] || fail "tpm0's driver is '$drv', not tpm_crb"
major=$(cat /sys/class/tpm/tpm0/tpm_version_major 2>/dev/null)
[ "$major" = 2 ] || fail "tpm_version_major is '$major'"

get_random /tmp/r1
get_random /tmp/r2
cmp -s /tmp/r1.rnd /tmp/r2.rnd && fail "two GetRandom calls gave the same 16 bytes"
r1=$(od -An -tx1 </tmp/r1.rnd | tr -d ' \n')

log=
if [ "$(arg phyllome.tpmlog)" = 1 ]; then
	mkdir -p /sys/kernel/security
	mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
	f=/sys/kernel/security/tpm0/binary_bios_measurements
	[ -e $f ] || fail "no $f (the firmware handed over no event log)"
	n=$(wc -c <$f)
	[ "$n" -gt 0 ] || fail "$f is empty"
	log="; firmware event log $n bytes"
fi
echo "PHYLLOME-TEST $NAME PASS /dev/tpm0 on tpm_crb, TPM $major; GetRandom x2 differ ($r1...)$log"
poweroff -f
