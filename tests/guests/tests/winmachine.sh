#!/bin/sh
# The machine `phyllome run --os windows` makes, seen from a Linux guest (rig scenario
# manager-os): an NVMe disk, an e1000e NIC, the USB tablet and keyboard, a TPM 2.0 on tpm_crb that
# answers TPM2_GetRandom, Hyper-V's CPUID leaves ("Microsoft Hv", "Hv#1"), and an RTC. Prints
# what it found in one PASS line.
NAME=winmachine
. /tests/lib.sh

wait_path /dev/nvme0n1 20 || fail "no NVMe disk /dev/nvme0n1 ($(dmesg | grep -i nvme | tail -n 2 | tr '\n' ' '))"
nvme_model=$(cat /sys/class/nvme/nvme0/model 2>/dev/null | sed 's/ *$//')
nic=
i=0
while [ -z "$nic" ] && [ $i -lt 200 ]; do
	for n in /sys/class/net/*; do
		[ "$(basename "$(readlink "$n/device/driver" 2>/dev/null)")" = e1000e ] && nic=${n##*/}
	done
	[ -n "$nic" ] || sleep 0.1
	i=$((i + 1))
done
[ -n "$nic" ] || fail "no interface on the e1000e driver: $(ls /sys/class/net | tr '\n' ' ')"
i=0
while ! grep -q 'USB Tablet' /proc/bus/input/devices || ! grep -q 'USB Keyboard' /proc/bus/input/devices; do
	[ $i -ge 600 ] && fail "no USB tablet and keyboard: $(grep Name= /proc/bus/input/devices | tr '\n' ' ')"
	sleep 0.1
	i=$((i + 1))
done
wait_path /dev/tpm0 15 || fail "no /dev/tpm0 ($(dmesg | grep -i tpm | tail -n 3 | tr '\n' ' '))"
drv=$(basename "$(readlink /sys/class/tpm/tpm0/device/driver 2>/dev/null)")
[ "$drv" = tpm_crb ] || fail "tpm0's driver is '$drv', not tpm_crb"
[ "$(cat /sys/class/tpm/tpm0/tpm_version_major 2>/dev/null)" = 2 ] || fail "not a TPM 2.0"
get_random /tmp/r1
wait_path /dev/cpu/0/cpuid 10 || fail "no /dev/cpu/0/cpuid (cpuid module)"
set -- $(cpuid_leaf 0x40000000)
[ "$2 $3 $4" = "7263694d 666f736f 76482074" ] || fail "0x40000000 is '$*', not Microsoft Hv"
set -- $(cpuid_leaf 0x40000001)
[ "$1" = 31237648 ] || fail "0x40000001 eax is $1, not Hv#1"
[ -e /dev/rtc0 ] || fail "no /dev/rtc0"
uefi=
[ -d /sys/firmware/efi ] && uefi=", booted by UEFI"
echo "PHYLLOME-TEST $NAME PASS nvme0n1 ($nvme_model), $nic on e1000e, USB tablet + keyboard, /dev/tpm0 on tpm_crb (GetRandom $(od -An -tx1 </tmp/r1.rnd | tr -d ' \n' | cut -c1-8)...), CPUID Microsoft Hv / Hv#1$uefi"
poweroff -f
