# Display benchmark, run inside the rig's L1 (bench/run-display-bench.sh puts it there as an
# extra scenario). For phyllome-vmm and QEMU (q35 + bochs-display + its VNC server on a Unix
# socket), in turn, the same guest (tests/guests/tests/display-bench.sh) redraws the whole
# 1280x800 screen as fast as it can for BENCH_SECS; meanwhile one VNC client (rfbtool) asks for
# incremental updates and counts them. Then the guest and the screen are idle for BENCH_IDLE
# seconds with a client connected (asking for updates), then as long with none. Reported as "BENCH-DISPLAY vmm=... phase=busy|idle
# secs= updates= screens= cpu_total= cpu_vcpu= cpu_rest=" (CPU in clock ticks: cpu_rest is every
# thread but the vCPUs, i.e. the display/VNC side and the rest of the VMM). Not a test.
# shellcheck shell=sh

BENCH_SECS=${BENCH_SECS:-20}
BENCH_IDLE=${BENCH_IDLE:-10}
BENCH_ROUNDS=${BENCH_ROUNDS:-1}
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

bench_one() {
	_vmm=$1 _round=$2
	_sock=$RIG_WORK/$_vmm-$_round.vnc
	rm -f "$_sock"
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
		bench_failed=1; vmm_kill; return
	fi
	# shellcheck disable=SC2046 # two numbers
	set -- $(ticks)
	_t0=$1 _v0=$2
	_out=$("$RFB" "unix:$_sock" count-updates $((BENCH_SECS - 2)) 2>&1 | tail -n 1)
	# shellcheck disable=SC2046
	set -- $(ticks)
	echo "BENCH-DISPLAY vmm=$_vmm round=$_round phase=busy secs=$((BENCH_SECS - 2)) $_out cpu_total=$(($1 - _t0)) cpu_vcpu=$(($2 - _v0)) cpu_rest=$(($1 - _t0 - $2 + _v0))"
	wait_for 'PHYLLOME-STEP display-bench done' "$VMM_OUT" "$T_CMD" || { bench_failed=1; vmm_kill; return; }
	grep 'display-bench done' "$VMM_OUT" | sed "s/^.*done/BENCH-DISPLAY vmm=$_vmm round=$_round guest/"
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
}

echo "BENCH-INFO l1_kernel=$(uname -r) qemu=$(qemu-system-x86_64 --version | head -n 1 | tr ' ' _) secs=$BENCH_SECS idle=$BENCH_IDLE rounds=$BENCH_ROUNDS clk_tck=100"
_r=1
while [ $_r -le "$BENCH_ROUNDS" ]; do
	bench_one phyllome $_r
	bench_one qemu $_r
	_r=$((_r + 1))
done
if [ $bench_failed = 0 ]; then rig_ok display-bench; else rig_fail display-bench "a run failed (BENCH-DISPLAY lines)"; fi
