# Helpers for rig scenarios (busybox sh, sourced by L1's /init before each scenario runs).
#
# A scenario is tests/rig/scenarios/NAME.sh, run in a subshell in its own work dir, and reports
# one or more results with rig_ok / rig_fail / rig_skip (lines "RIG-RESULT ok|not ok|skip NAME
# [detail]" on L1's console, which the host turns into TAP).
#
# Environment set by /init:
#   RIG_L2_VMM   phyllome | qemu: which L2 VMM vmm_exec runs
#   RIG_VMM      path of phyllome-vmm inside L1
#   L2_KERNEL    L2 bzImage;  L2_INITRD: L2 initramfs (tests/guests)
#   RIG_WORK     this scenario's work dir (tmpfs)
# shellcheck shell=sh

L2_BASE_CMDLINE=${L2_BASE_CMDLINE:-console=ttyS0 quiet}
# Timeouts in seconds (rig time: TCG-emulated L1). QEMU as L2 VMM reaches L2 userspace in 11 to
# 23 s (1 to 4 vCPUs); these leave room without letting a hung VMM eat CI's time.
T_BOOT=${T_BOOT:-120}    # VMM start to a test's first marker
T_EXIT=${T_EXIT:-60}     # guest powering off to the VMM's exit
T_CMD=${T_CMD:-60}       # one command typed into the guest

# --- results ------------------------------------------------------------------------------------
rig_ok() { n=$1; shift; echo "RIG-RESULT ok $n $*"; }
rig_skip() { n=$1; shift; echo "RIG-RESULT skip $n $*"; }
# rig_fail NAME DETAIL: reports a failure and copies the last VMM's output tails to L1's console
# (so they land in the rig's log file).
rig_fail() {
	n=$1; shift
	if [ -n "${VMM_DIR:-}" ] && [ -d "$VMM_DIR" ]; then
		echo "---- $n: VMM command: $(cat "$VMM_DIR/cmd" 2>/dev/null)"
		echo "---- $n: last serial output ($VMM_OUT):"
		tail -n 40 "$VMM_OUT" 2>/dev/null | sed 's/^/| /'
		echo "---- $n: VMM stderr:"
		tail -n 20 "$VMM_ERR" 2>/dev/null | sed 's/^/! /'
		echo "---- $n: end"
	fi
	echo "RIG-RESULT not ok $n $*"
}

# --- time ---------------------------------------------------------------------------------------
# now_cs: L1's uptime in centiseconds.
now_cs() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}" | sed 's/^0*//;s/^$/0/'; }
# since T0_CS: seconds elapsed since T0_CS, as S.CC
since() { d=$(($(now_cs) - $1)); printf '%d.%02d' $((d / 100)) $((d % 100)); }

# --- the L2 VMM ---------------------------------------------------------------------------------
# vmm_exec CPUS MEM CMDLINE: replaces the shell with the L2 VMM booting $L2_KERNEL + $L2_INITRD with
# CPUS vCPUs, MEM of RAM (256M, 1G, 5G...) and kernel command line CMDLINE; the guest's serial
# port is the VMM's stdin/stdout (a tty or not). The one place that knows each VMM's syntax.
vmm_exec() {
	case $RIG_L2_VMM in
	qemu)
		# shellcheck disable=SC2086 # RIG_QEMU_EXTRA is a list of words
		exec qemu-system-x86_64 -enable-kvm -cpu host -M q35 -m "$2" -smp "$1" \
			-kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$3" \
			-nodefaults -no-user-config -display none \
			-chardev stdio,id=ser0,signal=off -serial chardev:ser0 ${RIG_QEMU_EXTRA:-}
		;;
	*)
		exec "$RIG_VMM" --kernel "$L2_KERNEL" --initramfs "$L2_INITRD" --cmdline "$3" \
			--cpus "boot=$1" --memory "size=$2" --serial tty
		;;
	esac
}

# vmm_start NAME CPUS MEM CMDLINE: runs vmm_exec in the background. Sets:
#   VMM_DIR   $RIG_WORK/NAME;  VMM_OUT: serial output;  VMM_ERR: stderr
#   VMM_PID   the VMM's pid;   VMM_T0: start time (now_cs)
# The guest's input is the FIFO $VMM_DIR/in, held open on fd 7 so that the VMM never reads EOF:
# vmm_send writes to it. When the VMM ends, its exit status goes to $VMM_DIR/status.
vmm_start() {
	VMM_NAME=$1; shift
	VMM_DIR=$RIG_WORK/$VMM_NAME
	rm -rf "$VMM_DIR"
	mkdir -p "$VMM_DIR"
	VMM_OUT=$VMM_DIR/serial.out VMM_ERR=$VMM_DIR/stderr VMM_STATUS=
	: >"$VMM_OUT"
	echo "vmm_exec $*" >"$VMM_DIR/cmd"
	mkfifo "$VMM_DIR/in"
	exec 7<>"$VMM_DIR/in"
	VMM_T0=$(now_cs)
	(
		vmm_exec "$@" <"$VMM_DIR/in" >"$VMM_OUT" 2>"$VMM_ERR" 7>&- &
		echo $! >"$VMM_DIR/pid"
		wait $!
		echo $? >"$VMM_DIR/status"
	) 7>&- &
	while [ ! -s "$VMM_DIR/pid" ]; do sleep 0.05; done
	VMM_PID=$(cat "$VMM_DIR/pid")
}

# vmm_send LINE: types LINE and a newline into the guest's serial port.
vmm_send() { printf '%s\n' "$*" >&7; }

# vmm_running: true while the last started VMM has not exited.
vmm_running() { [ -n "${VMM_DIR:-}" ] && [ ! -e "$VMM_DIR/status" ]; }

# wait_for PATTERN FILE TIMEOUT [COUNT]: waits until FILE has COUNT (default 1) lines matching the
# basic regex PATTERN. Fails at TIMEOUT seconds, or at once when the VMM has exited or the guest
# kernel panicked.
wait_for() {
	_pat=$1 _file=$2 _count=${4:-1}
	_end=$(($(now_cs) + $3 * 100))
	while :; do
		_n=$(grep -c -- "$_pat" "$_file" 2>/dev/null)
		[ "${_n:-0}" -ge "$_count" ] && return 0
		if ! vmm_running; then
			_n=$(grep -c -- "$_pat" "$_file" 2>/dev/null)
			[ "${_n:-0}" -ge "$_count" ] && return 0
			WAIT_WHY="VMM exited (status $(cat "$VMM_DIR/status")) before '$_pat'"
			return 1
		fi
		if grep -q 'Kernel panic' "$_file" 2>/dev/null; then
			WAIT_WHY="guest kernel panic before '$_pat'"
			return 1
		fi
		if [ "$(now_cs)" -ge "$_end" ]; then
			WAIT_WHY="no '$_pat' within $3 s"
			return 1
		fi
		sleep 0.2
	done
}

# wait_exit TIMEOUT: waits for the VMM to exit; sets VMM_STATUS (its exit status, 128+N if killed
# by signal N). On timeout kills it (TERM, then KILL), sets VMM_STATUS=timeout and fails.
wait_exit() {
	_end=$(($(now_cs) + $1 * 100))
	while vmm_running; do
		if [ "$(now_cs)" -ge "$_end" ]; then
			vmm_kill
			VMM_STATUS=timeout
			WAIT_WHY="VMM still running after $1 s (killed)"
			return 1
		fi
		sleep 0.2
	done
	VMM_STATUS=$(cat "$VMM_DIR/status")
	return 0
}

# vmm_kill: stops the last started VMM, if it still runs.
vmm_kill() {
	vmm_running || return 0
	kill -TERM "$VMM_PID" 2>/dev/null
	_i=0
	while vmm_running && [ $_i -lt 25 ]; do sleep 0.2; _i=$((_i + 1)); done
	vmm_running && kill -KILL "$VMM_PID" 2>/dev/null
	while vmm_running; do sleep 0.1; done
}

# expect_exit0 NAME TIMEOUT: waits for the VMM's exit and fails NAME unless its status is 0.
# Returns non-zero after reporting the failure.
expect_exit0() {
	if ! wait_exit "$2"; then rig_fail "$1" "$WAIT_WHY"; return 1; fi
	if [ "$VMM_STATUS" != 0 ]; then rig_fail "$1" "VMM exit status $VMM_STATUS, expected 0"; return 1; fi
	return 0
}

# --- building blocks shared by several scenarios -------------------------------------------------
# smp_mem_scenario NAME CPUS MEM MEM_MB: boots the smp-mem test and expects PASS and exit 0.
smp_mem_scenario() {
	vmm_start "$1" "$2" "$3" "$L2_BASE_CMDLINE phyllome.test=smp-mem expect_cpus=$2 expect_mem_mb=$4"
	if ! wait_for PHYLLOME-USERSPACE "$VMM_OUT" "$T_BOOT"; then rig_fail "$1" "$WAIT_WHY"; vmm_kill; return; fi
	_t_user=$(since "$VMM_T0")
	if ! wait_for 'PHYLLOME-TEST smp-mem' "$VMM_OUT" "$T_CMD"; then rig_fail "$1" "$WAIT_WHY"; vmm_kill; return; fi
	_t_test=$(since "$VMM_T0")
	expect_exit0 "$1" "$T_EXIT" || return
	_t_exit=$(since "$VMM_T0")
	if grep -q 'PHYLLOME-TEST smp-mem PASS' "$VMM_OUT"; then
		rig_ok "$1" "userspace after ${_t_user}s, result after ${_t_test}s, exit 0 after ${_t_exit}s; $(grep -o 'smp-mem: .*' "$VMM_OUT" | tr -d '\r')"
	else
		rig_fail "$1" "$(grep -o 'PHYLLOME-TEST smp-mem FAIL.*' "$VMM_OUT" | tr -d '\r')"
	fi
}

# console_boot NAME [CPUS MEM]: boots the console test and waits for PHYLLOME-READY; sets
# CONSOLE_T_READY (seconds from the VMM's start).
console_boot() {
	vmm_start "$1" "${2:-1}" "${3:-256M}" "$L2_BASE_CMDLINE phyllome.test=console"
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then rig_fail "$1" "$WAIT_WHY"; vmm_kill; return 1; fi
	# shellcheck disable=SC2034 # used by scenarios
	CONSOLE_T_READY=$(since "$VMM_T0")
}
