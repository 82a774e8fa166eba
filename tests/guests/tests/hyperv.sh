#!/bin/sh
# Hyper-V enlightenments (rig scenario hyperv): CPUID says "Microsoft Hv" / "Hv#1" at 0x40000000
# with the enlightenments offered (read through /dev/cpu/0/cpuid), KVM's leaves sit at 0x40000100
# (phyllome.hv_kvm=1) or nowhere (=0), and the kernel picks its clock source to match: kvm-clock
# beside Hyper-V, Hyper-V's reference TSC page when KVM is hidden.
NAME=hyperv
. /tests/lib.sh

wait_path /dev/cpu/0/cpuid 10 || fail "no /dev/cpu/0/cpuid (cpuid module)"
want_kvm=$(arg phyllome.hv_kvm) || fail "no phyllome.hv_kvm= on the command line"
set -- $(cpuid_leaf 0x40000000)
[ "$2 $3 $4" = "7263694d 666f736f 76482074" ] || fail "0x40000000 is '$*', not Microsoft Hv"
max=$1
set -- $(cpuid_leaf 0x40000001)
[ "$1" = 31237648 ] || fail "0x40000001 eax is $1, not Hv#1"
set -- $(cpuid_leaf 0x40000003)
feat=$1 feat_edx=$4
# Hypercall page, VP index, reference counter and TSC page are what every Hyper-V guest uses.
for bit in 1 5 6 9; do
	[ $((0x$feat >> bit & 1)) = 1 ] || fail "0x40000003 eax $feat lacks bit $bit"
done
set -- $(cpuid_leaf 0x40000004)
enl=$1 spins=$2
[ $((0x$enl >> 5 & 1)) = 1 ] || fail "0x40000004 eax $enl: relaxed timing not recommended"
set -- $(cpuid_leaf 0x40000100)
kvm_sig="$2 $3 $4"
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
if [ "$want_kvm" = 1 ]; then
	[ "$kvm_sig" = "4b4d564b 564b4d56 0000004d" ] || fail "no KVM signature at 0x40000100 ('$kvm_sig')"
	[ "$cs" = kvm-clock ] || fail "clock source $cs, expected kvm-clock beside Hyper-V"
else
	[ "$kvm_sig" != "4b4d564b 564b4d56 0000004d" ] || fail "KVM signature at 0x40000100 with kvm=off"
	case $cs in
	hyperv_clocksource_tsc_page | hyperv_clocksource_msr) ;;
	*) fail "clock source $cs, expected Hyper-V's ($(cat /sys/devices/system/clocksource/clocksource0/available_clocksource))" ;;
	esac
	dmesg | grep -q 'Hyper-V' || fail "the kernel did not say it found Hyper-V"
fi
echo "PHYLLOME-TEST $NAME PASS max leaf 0x$max, features eax 0x$feat edx 0x$feat_edx, recommendations 0x$enl, spinlock retries 0x$spins; KVM at 0x40000100: $( [ "$want_kvm" = 1 ] && echo yes || echo no); clocksource $cs"
poweroff -f
