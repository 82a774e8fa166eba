# Display benchmark, run inside the rig's L1 (bench/run-display-bench.sh puts it there as an
# extra scenario). For phyllome-vmm and QEMU (q35 + bochs-display + its VNC server on a Unix
# socket), in turn, the same guest (tests/guests/tests/display-bench.sh) redraws the whole
# 1280x800 screen as fast as it can for BENCH_SECS; meanwhile one VNC client (rfbtool) asks for
# incremental updates and counts them. Then the guest and the screen are idle for BENCH_IDLE
# seconds with a client connected (asking for updates), then as long with none. Reported as "BENCH-DISPLAY vmm=... phase=busy|idle
# secs= updates= screens= cpu_total= cpu_vcpu= cpu_rest=" (CPU in clock ticks: cpu_rest is every
# thread but the vCPUs, i.e. the display/VNC side and the rest of the VMM), followed by what
# L1's KVM counted meanwhile (debugfs /sys/kernel/debug/kvm: exits, fast and fixed page faults;
# L1's context switches and interrupts from /proc/stat). Not a test.
#
# BENCH_CLIENT=0: no VNC client during the busy phase (the guest draws with nobody watching;
# reported with updates=0 screens=0), to see what the display costs a guest that nobody watches.
#
# BENCH_VMMS (comma-separated, default phyllome,qemu): the VMMs, in this order each round;
# a NAME other than phyllome and qemu is another phyllome-vmm binary, /rig/bin/phyllome-vmm-NAME
# (run-display-bench.sh --also NAME=PATH puts it there), reported as vmm=phyllome-NAME.
# NAME+thp / NAME+advise: the same VMM with L1's shmem transparent huge pages
# (transparent_hugepage/shmem_enabled) "always" / "advise" for its run, reported with
# "-shmem-thp" / "-shmem-advise". phyllome-vmm's guest RAM is a memfd, i.e. shmem, which
# Debian's default "never" keeps at 4 KiB pages ("advise" gives huge pages to a VMM that asks
# with MADV_HUGEPAGE); QEMU's is anonymous memory with MADV_HUGEPAGE.
# shellcheck shell=sh

BENCH_SECS=${BENCH_SECS:-20}
BENCH_IDLE=${BENCH_IDLE:-10}
BENCH_ROUNDS=${BENCH_ROUNDS:-1}
BENCH_VMMS=${BENCH_VMMS:-phyllome,qemu}
BENCH_CLIENT=${BENCH_CLIENT:-1}
RFB=/rig/bin/rfbtool
bench_failed=0

# ticks: "total vcpu" clock ticks of the VMM's threads (vCPU threads: phyllome's vcpuN, QEMU's
# "CPU N/KVM", named with -name debug-threads=on).
ticks() {
	_tot=0 _vc=0
	for _t in /proc/"$VMM_PID"/task/*; do
		_comm=$(cat "$_t/comm" 2>/dev/null)
		_v=$(sed 's/.*) //' "$_t/stat" 2>/dev/null | awk '{print $12 + $13}')
		[ -n "$_v" ] || continue
		_tot=$((_tot + _v))
		case $_comm in vcpu* | CPU*) _vc=$((_vc + _v)) ;; esac
	done
	echo "$_tot $_vc"
}

# kvmstat: L1's KVM counters (all VMs; one runs at a time), then L1's context switches and
# interrupts (/proc/stat): one number each, in the order of KVM_STATS then intr ctxt.
KVMDBG=/sys/kernel/debug/kvm
THP=/sys/kernel/mm/transparent_hugepage
[ -e "$KVMDBG/exits" ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
KVM_STATS="exits pf_fast pf_fixed io_exits mmio_exits halt_exits irq_exits"
kvmstat() {
	for _f in $KVM_STATS; do
		if [ -r "$KVMDBG/$_f" ]; then cat "$KVMDBG/$_f"; else echo 0; fi
	done | tr '\n' ' '
	awk '$1 == "ctxt" || $1 == "intr" {printf "%s ", $2}' /proc/stat
}
# kvmdelta "BEFORE" "AFTER": the counters' differences as NAME=N words (l1_intr, l1_ctxt last).
kvmdelta() {
	echo "$1 $2" | awk -v names="$KVM_STATS l1_intr l1_ctxt" '{
		n = split(names, nm, " "); out = ""
		for (i = 1; i <= n; i++) out = out nm[i] "=" ($(i + n) - $i) " "
		print out }'
}
# npt: L1's KVM's nested page table mappings now, by size.
npt() {
	echo "npt_4k=$(cat "$KVMDBG/pages_4k" 2>/dev/null) npt_2m=$(cat "$KVMDBG/pages_2m" 2>/dev/null)"
}

bench_one() {
	_vmm=$1 _round=$2 _thp='' _label=''
	case $_vmm in
	*+thp) _vmm=${_vmm%+thp} _shmem=always _label=-shmem-thp ;;
	*+advise) _vmm=${_vmm%+advise} _shmem=advise _label=-shmem-advise ;;
	esac
	if [ -n "$_label" ]; then
		_thp=$(sed 's/.*\[\(.*\)\].*/\1/' "$THP/shmem_enabled")
		echo "$_shmem" >"$THP/shmem_enabled"
	fi
	_sock=$RIG_WORK/$_vmm-$_round.vnc
	rm -f "$_sock"
	case $_vmm in
	qemu | phyllome) ;;
	*)
		RIG_VMM=/rig/bin/phyllome-vmm-$_vmm
		_vmm=phyllome-$_vmm ;;
	esac
	_vmm=$_vmm$_label
	if [ "$_vmm" = qemu ]; then
		RIG_L2_VMM=qemu RIG_QEMU_EXTRA="-device bochs-display -vnc unix:$_sock -name bench,debug-threads=on"
		vmm_start "qemu-$_round" 1 256M "console=ttyS0 quiet phyllome.test=display-bench bench.secs=$BENCH_SECS"
	else
		RIG_L2_VMM=phyllome RIG_QEMU_EXTRA=
		vmm_start "phyllome-$_round" 1 256M "console=ttyS0 quiet phyllome.test=display-bench bench.secs=$BENCH_SECS" \
			"display:vnc=unix:$_sock"
	fi
	if ! wait_for 'PHYLLOME-STEP display-bench animating' "$VMM_OUT" "$T_BOOT"; then
		echo "BENCH-DISPLAY vmm=$_vmm round=$_round error=$(echo "$WAIT_WHY" | tr ' ' _)"
		bench_failed=1; vmm_kill; [ -z "$_thp" ] || echo "$_thp" >"$THP/shmem_enabled"; return
	fi
	# shellcheck disable=SC2046 # two numbers
	set -- $(ticks)
	_t0=$1 _v0=$2 _k0=$(kvmstat)
	# Marks for the host (bench/hostcpu.py stamps them): the outer QEMU's CPU time in between.
	echo "BENCH-IO-MARK begin cfg=$_vmm round=$_round phase=busy"
	if [ "$BENCH_CLIENT" = 0 ]; then
		sleep $((BENCH_SECS - 2))
		_out="updates=0 rects=0 pixels=0 screens=0"
	else
		_out=$("$RFB" "unix:$_sock" count-updates $((BENCH_SECS - 2)) 2>&1 | tail -n 1)
	fi
	echo "BENCH-IO-MARK end cfg=$_vmm round=$_round phase=busy"
	# shellcheck disable=SC2046
	set -- $(ticks)
	_cpu="cpu_total=$(($1 - _t0)) cpu_vcpu=$(($2 - _v0)) cpu_rest=$(($1 - _t0 - $2 + _v0))"
	echo "BENCH-DISPLAY vmm=$_vmm round=$_round phase=busy secs=$((BENCH_SECS - 2)) $_out $_cpu $(kvmdelta "$_k0" "$(kvmstat)")$(npt)"
	if ! wait_for 'PHYLLOME-STEP display-bench done' "$VMM_OUT" "$T_CMD"; then
		bench_failed=1; vmm_kill; [ -z "$_thp" ] || echo "$_thp" >"$THP/shmem_enabled"; return
	fi
	grep 'display-bench done' "$VMM_OUT" | sed "s/^.*done/BENCH-DISPLAY vmm=$_vmm round=$_round guest/"
	grep -e 'display-bench cpu' -e 'display-bench vulns' "$VMM_OUT" |
		sed "s/^.*display-bench /BENCH-GUEST vmm=$_vmm round=$_round /"
	sleep 2
	# Idle, with a client connected and asking.
	# shellcheck disable=SC2046
	set -- $(ticks)
	_t0=$1 _v0=$2
	_out=$("$RFB" "unix:$_sock" count-updates "$BENCH_IDLE" 2>&1 | tail -n 1)
	# shellcheck disable=SC2046
	set -- $(ticks)
	echo "BENCH-DISPLAY vmm=$_vmm round=$_round phase=idle secs=$BENCH_IDLE $_out cpu_total=$(($1 - _t0)) cpu_vcpu=$(($2 - _v0)) cpu_rest=$(($1 - _t0 - $2 + _v0))"
	# Idle with no client at all.
	sleep 1
	# shellcheck disable=SC2046
	set -- $(ticks)
	_t0=$1 _v0=$2
	sleep "$BENCH_IDLE"
	# shellcheck disable=SC2046
	set -- $(ticks)
	echo "BENCH-DISPLAY vmm=$_vmm round=$_round phase=idle-noclient secs=$BENCH_IDLE cpu_total=$(($1 - _t0)) cpu_vcpu=$(($2 - _v0)) cpu_rest=$(($1 - _t0 - $2 + _v0))"
	vmm_send poweroff
	wait_exit "$T_EXIT" || bench_failed=1
	[ -z "$_thp" ] || echo "$_thp" >"$THP/shmem_enabled"
}

echo "BENCH-INFO l1_kernel=$(uname -r) qemu=$(qemu-system-x86_64 --version | head -n 1 | tr ' ' _) secs=$BENCH_SECS client=$BENCH_CLIENT idle=$BENCH_IDLE rounds=$BENCH_ROUNDS vmms=$BENCH_VMMS clk_tck=100 thp=$(sed 's/.*\[\(.*\)\].*/\1/' "$THP/enabled") shmem_thp=$(sed 's/.*\[\(.*\)\].*/\1/' "$THP/shmem_enabled") kvm_debugfs=$([ -r "$KVMDBG/exits" ] && echo yes || echo no)"
_r=1
_default_vmm=$RIG_VMM
while [ $_r -le "$BENCH_ROUNDS" ]; do
	for _v in $(echo "$BENCH_VMMS" | tr ',' ' '); do
		RIG_VMM=$_default_vmm
		bench_one "$_v" $_r
	done
	_r=$((_r + 1))
done
if [ $bench_failed = 0 ]; then rig_ok display-bench; else rig_fail display-bench "a run failed (BENCH-DISPLAY lines)"; fi
