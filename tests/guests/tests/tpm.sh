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

# TPM2_GetRandom(16): tag 8001 (no sessions), size 12, command code 0000017B, 16 bytes asked for.
# The answer: 8001, size 28 (0000001C), response code 0, a TPM2B of 16 bytes (0010 + 16 bytes).
# /dev/tpm0 takes one open at a time: no busybox timeout here (its watcher process keeps the
# descriptor open for a while after dd ends); the scenario's own timeout bounds a hang.
get_random() {
	command exec 3<>/dev/tpm0 || fail "cannot open /dev/tpm0"
	printf '\200\001\000\000\000\014\000\000\001\173\000\020' >&3 || fail "write to /dev/tpm0 failed"
	dd bs=4096 count=1 <&3 >"$1" 2>/dev/null || fail "reading the answer failed"
	exec 3>&-
	hdr=$(head -c 12 "$1" | od -An -tx1 | tr -d ' \n')
	[ "$hdr" = 80010000001c000000000010 ] || fail "GetRandom answered header $hdr ($(wc -c <"$1") bytes)"
	[ "$(wc -c <"$1")" = 28 ] || fail "GetRandom answered $(wc -c <"$1") bytes, not 28"
	tail -c 16 "$1" >"$1.rnd"
}
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
