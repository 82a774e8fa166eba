#!/bin/busybox sh
# /init of the rig's L1 guest: Debian's kernel on QEMU TCG with an emulated AMD SVM CPU.
# Loads kvm-amd, reports whether /dev/kvm works, then runs the scenarios named on the kernel
# command line (rig.scenarios=a,b,c) or the demo (rig.mode=demo), and powers off.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
export PATH=/rig/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /tmp /run /var/tmp /tmp/cores
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /tmp/cores
# L2 RAM is allocated lazily: a 5 GiB guest must not be refused by L1's 4 GiB.
echo 1 >/proc/sys/vm/overcommit_memory
echo '/tmp/cores/core.%e.%p' >/proc/sys/kernel/core_pattern
# shellcheck disable=SC3045 # busybox ash has ulimit -c
ulimit -c unlimited

while read -r m; do
	insmod "/lib/modules/l1/$m" || echo "rig: insmod $m failed"
done </lib/modules/l1/load-order

read -r cmdline </proc/cmdline
RIG_MODE=test RIG_SCENARIOS='' RIG_L2_VMM=phyllome RIG_INTERACTIVE=0 RIG_DEMO_GUEST=busybox
for arg in $cmdline; do
	case $arg in
	rig.mode=*) RIG_MODE=${arg#*=} ;;
	rig.scenarios=*) RIG_SCENARIOS=${arg#*=} ;;
	rig.l2vmm=*) RIG_L2_VMM=${arg#*=} ;;
	rig.interactive=*) RIG_INTERACTIVE=${arg#*=} ;;
	rig.demo_guest=*) RIG_DEMO_GUEST=${arg#*=} ;;
	# rig.env.NAME=VALUE: sets NAME for the scenarios, e.g. rig.env.T_BOOT=30 (run-rig.sh
	# --l1-append rig.env.T_BOOT=30).
	rig.env.*=*)
		kv=${arg#rig.env.}
		case ${kv%%=*} in
		*[!A-Za-z0-9_]* | '') echo "rig: ignoring $arg" ;;
		*) export "${kv%%=*}=${kv#*=}" ;;
		esac
		;;
	esac
done
export RIG_L2_VMM RIG_VMM=/rig/bin/phyllome-vmm L2_KERNEL=/guest/vmlinuz L2_INITRD=/guest/initramfs.cpio.gz

# What this L1 is, and whether its /dev/kvm works: the line tells the user where KVM comes from.
svm=no
grep -qw svm /proc/cpuinfo && svm=yes
if [ ! -c /dev/kvm ]; then
	kvm="absent"
elif grep -q '^kvm_amd ' /proc/modules; then
	kvm="kvm-amd"
elif grep -q '^kvm_intel ' /proc/modules; then
	kvm="kvm-intel"
else
	kvm="present (no vendor module)"
fi
if [ "$svm" = yes ]; then
	echo "rig: L1 is QEMU TCG with emulated AMD SVM; /dev/kvm: $kvm"
else
	echo "rig: L1 is QEMU TCG, but its CPU shows no SVM; /dev/kvm: $kvm"
fi
read -r up _ </proc/uptime
echo "rig: L1 userspace at ${up}s of L1 uptime; L2 VMM: $RIG_L2_VMM"
# Huge pages for the VMMs' guest RAM (phyllome-vmm's and QEMU's ask with MADV_HUGEPAGE) only
# when one is free, never by compacting memory in the page fault: under TCG, compaction of a
# memory full of disk images' page cache took minutes on L1's one CPU, with L1 silent and busy
# (seen twice in rig-debian after a few Debian boots). kcompactd compacts in the background.
THP_DEFRAG=/sys/kernel/mm/transparent_hugepage/defrag
[ -w $THP_DEFRAG ] && echo defer >$THP_DEFRAG

# shellcheck source=SCRIPTDIR/lib.sh
. /rig/lib.sh

if [ "$kvm" = absent ]; then
	echo "rig: no /dev/kvm in L1: every scenario fails"
fi

case $RIG_MODE in
demo)
	dmesg -n 1
	RIG_WORK=/tmp/rig/demo
	mkdir -p "$RIG_WORK"
	if [ "$RIG_DEMO_GUEST" = desktop ]; then
		# shellcheck source=SCRIPTDIR/demo.sh
		. /rig/demo.sh
		demo_desktop
	elif [ "$RIG_DEMO_GUEST" = debian ]; then
		debian_demo
	elif [ "$RIG_INTERACTIVE" = 1 ]; then
		echo "rig: demo: L2 shell through $RIG_L2_VMM on this console; 'poweroff' in it ends the demo (Ctrl-A x quits QEMU)"
		(vmm_exec 2 1G "$L2_BASE_CMDLINE") </dev/console >/dev/console 2>&1
		echo "rig: demo: VMM exit status $?"
	else
		echo "rig: demo: stdin is not a terminal; typing a few commands into the L2 shell"
		vmm_start demo 2 1G "$L2_BASE_CMDLINE"
		tail -f "$VMM_OUT" &
		tailpid=$!
		if wait_for PHYLLOME-SHELL "$VMM_OUT" "$T_BOOT"; then
			sleep 2
			vmm_send 'uname -a; grep -c ^processor /proc/cpuinfo; poweroff'
			wait_exit "$T_EXIT" || echo "rig: demo: $WAIT_WHY"
		else
			echo "rig: demo: $WAIT_WHY"
			vmm_kill
		fi
		sleep 0.5
		kill "$tailpid"
		echo
		echo "rig: demo: VMM exit status ${VMM_STATUS:-?} after $(since "$VMM_T0")s"
		cat "$VMM_ERR"
	fi
	;;
*)
	IFS=,
	# shellcheck disable=SC2086 # split on commas
	set -- $RIG_SCENARIOS
	unset IFS
	for s in "$@"; do
		echo "RIG-SCENARIO-START $s"
		RIG_WORK=/tmp/rig/$s
		mkdir -p "$RIG_WORK"
		t0=$(now_cs)
		audit0=$(dmesg | grep -c 'type=1326')
		if [ -f "/rig/scenarios/$s.sh" ]; then
			# shellcheck disable=SC1090
			(cd "$RIG_WORK" && . "/rig/scenarios/$s.sh") </dev/null
		else
			echo "RIG-RESULT not ok $s no such scenario (/rig/scenarios/$s.sh)"
		fi
		# Anything the scenario left running goes now.
		for p in "$RIG_WORK"/*/pid; do
			[ -f "$p" ] && [ ! -e "${p%pid}status" ] && kill -KILL "$(cat "$p")" 2>/dev/null
		done
		# System calls a seccomp filter logged or killed for (type=1326 audit lines), e.g. with
		# rig.env.RIG_VMM_EXTRA=--seccomp=log: which threads need which calls.
		dmesg | grep 'type=1326' | tail -n +$((audit0 + 1)) |
			sed -n 's/.*comm="\([^"]*\)".* syscall=\([0-9]*\).*/comm=\1 syscall=\2/p' | sort | uniq -c |
			while read -r cnt what; do echo "rig: seccomp in $s: $what ($cnt times)"; done
		echo "RIG-SCENARIO-END $s $(since "$t0")"
	done
	echo "RIG-DONE"
	;;
esac
sync
poweroff -f
