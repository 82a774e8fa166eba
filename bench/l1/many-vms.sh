# Many VMs at once, run inside the rig's L1 (bench/run-many-vms.sh puts it there as an extra
# scenario). In each round: MANY_N Linux guests (the rig's L2 kernel + busybox initramfs, 1 vCPU,
# MANY_MEM MiB, no display) started by `phyllome run -d`, then as many Debian QEMUs started
# directly (-M q35 by default, the same kernel, initramfs and command line); for each set the
# time from the first launch until every guest printed PHYLLOME-USERSPACE (its /init's first line)
# and PHYLLOME-SHELL (/init done: modules loaded, acpid up), the memory per VM once all are
# ready (the VMM processes' Rss and Pss from /proc/PID/smaps_rollup, summed, and L1's
# MemAvailable drop since before the launch), then all stopped at once through the ACPI power
# button (`phyllome stop`, QEMU's QMP system_powerdown; the guest's acpid powers off) and each
# checked to have ended cleanly (the guest saw the button, exit status 0, `ps -a` Exited (0)).
# Not a test: one RIG-RESULT (ok if every VM came up and stopped cleanly) and BENCH-MANY lines
# that bench/many-report.py turns into tables.
#
# Settings (rig.env.NAME=VALUE on L1's command line):
#   MANY_N (16)            VMs per set
#   MANY_MEM (256)         guest RAM in MiB
#   MANY_RUNS (3)          rounds; the order of the two sets alternates from round to round
#   MANY_BUDGET (0)        seconds: no new round starts once this much has passed since the first
#                          (0: no limit); a round takes as long as the one before it
#   MANY_QEMU_MACHINE (q35)  QEMU's -M: q35 or microvm (microvm,x-option-roms=off,rtc=off,acpi=on)
#   MANY_T_UP (1500)       seconds for every guest of a set to be ready
#   MANY_T_STOP (300)      seconds for every guest of a set to power off after the button
# rig-tools: socat
# shellcheck shell=sh

MANY_N=${MANY_N:-16}
MANY_MEM=${MANY_MEM:-256}
MANY_RUNS=${MANY_RUNS:-3}
MANY_BUDGET=${MANY_BUDGET:-0}
MANY_QEMU_MACHINE=${MANY_QEMU_MACHINE:-q35}
MANY_T_UP=${MANY_T_UP:-1500}
MANY_T_STOP=${MANY_T_STOP:-300}
PH=/rig/bin/phyllome
export PHYLLOME_STATE="$RIG_WORK/st"
CMDL="console=ttyS0 quiet phyllome.acpid=1"
case $MANY_QEMU_MACHINE in
microvm) QMACHINE=microvm,x-option-roms=off,rtc=off,acpi=on ;;
*) QMACHINE=$MANY_QEMU_MACHINE ;;
esac
many_failed=0

echo "BENCH-MANY-INFO l1_kernel=$(uname -r) l1_cpus=$(grep -c ^processor /proc/cpuinfo) l1_mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) qemu=$(qemu-system-x86_64 --version | head -n 1 | tr ' ' _) qemu_machine=$MANY_QEMU_MACHINE n=$MANY_N mem_mib=$MANY_MEM runs=$MANY_RUNS thp=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled)"

memavail() { sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
# rollup PID: "RSS PSS" in kB of that process (0 0 if it is gone).
rollup() {
	awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { print r + 0, p + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null ||
		echo "0 0"
}
# cs2s CENTISECONDS: as S.CC
cs2s() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }

# Each set's VM i has a folder $SET/i with: log (the guest's serial output), pid (the VMM), and
# what the set's functions leave there. SET and KIND are set by the round.

# wait_all MARKER VAR: until every VM's log has MARKER (or MANY_T_UP from T0); VAR_i gets the
# time since T0 in centiseconds at which VM i was first seen with it (-1: never). Prints a line
# every 30 s (the rig takes a silent L1 for a stuck one). Returns the number that never did.
wait_all() {
	_end=$((T0 + MANY_T_UP * 100)) _next=$(($(now_cs) + 3000))
	while :; do
		_left=0 _upn=0
		_i=1
		while [ $_i -le "$MANY_N" ]; do
			eval "_v=\${${2}_$_i:-}"
			if [ -z "$_v" ]; then
				if grep -q "$1" "$SET/$_i/log" 2>/dev/null; then
					eval "${2}_$_i=$(($(now_cs) - T0))"
					_upn=$((_upn + 1))
				else
					_left=$((_left + 1))
				fi
			else
				_upn=$((_upn + 1))
			fi
			_i=$((_i + 1))
		done
		[ $_left = 0 ] && return 0
		_now=$(now_cs)
		if [ "$_now" -ge "$_end" ]; then
			_i=1
			while [ $_i -le "$MANY_N" ]; do
				eval "_v=\${${2}_$_i:-}"
				[ -n "$_v" ] || eval "${2}_$_i=-1"
				_i=$((_i + 1))
			done
			return $_left
		fi
		if [ "$_now" -ge "$_next" ]; then
			echo "BENCH-MANY-WAIT $KIND round=$ROUND $1: $_upn of $MANY_N after $(since "$T0") s"
			_next=$((_now + 3000))
		fi
		sleep 1
	done
}

# --- phyllome: run -d, stop ---------------------------------------------------------------------
ph_launch() {
	"$PH" run -d --name "m$1" --cpus 1 --memory "${MANY_MEM}M" --kernel "$L2_KERNEL" \
		--initramfs "$L2_INITRD" --cmdline "$CMDL" >"$SET/$1/run.out" 2>"$SET/$1/run.err"
	echo $? >"$SET/$1/run.rc"
	_id=$(head -n 1 "$SET/$1/run.out")
	# The VM's folder (its serial log) and its processes, from inspect.
	"$PH" inspect "m$1" >"$SET/$1/inspect.json" 2>/dev/null
	_dir=$(sed -n 's/.*"Path": "\(.*\)",/\1/p' "$SET/$1/inspect.json" | head -n 1)
	[ -n "$_dir" ] || _dir=$PHYLLOME_STATE/vms/$_id
	ln -sf "$_dir/serial.log" "$SET/$1/log"
	echo "$_dir" >"$SET/$1/dir"
	_pid=$(sed -n 's/.*"Pid": \([0-9]*\),.*/\1/p' "$SET/$1/inspect.json" | head -n 1)
	# A jailed VM's Pid is phyllome-jail's; the VMM is its only child: measure that one.
	if [ -n "$_pid" ] && [ "$(cat "/proc/$_pid/comm" 2>/dev/null)" = phyllome-jail ]; then
		_child=$(cat /proc/"$_pid"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -m1 .)
		[ -n "$_child" ] && _pid=$_child
	fi
	echo "$_pid" >"$SET/$1/pid"
	sed -n 's/.*"SupervisorPid": \([0-9]*\),.*/\1/p' "$SET/$1/inspect.json" | head -n 1 >"$SET/$1/sup"
}
ph_stop() {
	"$PH" stop -t "$MANY_T_STOP" "m$1" >"$SET/$1/stop.out" 2>"$SET/$1/stop.err"
	echo $? >"$SET/$1/stop.rc"
}
# ph_clean I: 0 if VM i ended cleanly: stop said 0 without cutting the power, the guest saw the
# button, `ps -a` says Exited (0). Else the reason in $WHY.
ph_clean() {
	WHY=
	[ "$(cat "$SET/$1/stop.rc" 2>/dev/null)" = 0 ] || WHY="stop status $(cat "$SET/$1/stop.rc" 2>/dev/null)"
	grep -q 'did not power off' "$SET/$1/stop.err" && WHY="$WHY; stop cut the power"
	grep -q PHYLLOME-POWER-BUTTON "$SET/$1/log" || WHY="$WHY; no PHYLLOME-POWER-BUTTON"
	grep -qE "^[0-9a-f]+ +m$1 .*Exited \(0\)" "$SET/ps-a.txt" ||
		WHY="$WHY; ps -a: $(grep -E " m$1 " "$SET/ps-a.txt" | sed 's/  */ /g')"
	[ -z "$WHY" ]
}

# --- QEMU: started directly, stopped through QMP ------------------------------------------------
q_launch() {
	_d=$SET/$1
	(
		qemu-system-x86_64 -M "$QMACHINE" -enable-kvm -cpu host -smp 1 -m "${MANY_MEM}M" \
			-nodefaults -no-user-config -display none \
			-chardev "file,id=ser0,path=$_d/log" -serial chardev:ser0 \
			-qmp "unix:$_d/qmp.sock,server=on,wait=off" -pidfile "$_d/pid" \
			-kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$CMDL" \
			</dev/null >"$_d/out" 2>"$_d/err"
		echo $? >"$_d/status"
	) &
}
q_stop() {
	_d=$SET/$1
	printf '{"execute":"qmp_capabilities"}\n{"execute":"system_powerdown"}\n' |
		"$TOOLS/socat" -t 5 - "UNIX-CONNECT:$_d/qmp.sock" >"$_d/qmp.out" 2>&1
	_end=$(($(now_cs) + MANY_T_STOP * 100))
	while [ ! -e "$_d/status" ] && [ "$(now_cs)" -lt "$_end" ]; do sleep 0.5; done
	if [ ! -e "$_d/status" ]; then
		kill -KILL "$(cat "$_d/pid")" 2>/dev/null
		echo timeout >"$_d/stop.rc"
	else
		echo 0 >"$_d/stop.rc"
	fi
}
q_clean() {
	WHY=
	[ "$(cat "$SET/$1/stop.rc" 2>/dev/null)" = 0 ] || WHY="did not power off within $MANY_T_STOP s"
	[ "$(cat "$SET/$1/status" 2>/dev/null)" = 0 ] || WHY="$WHY; exit status $(cat "$SET/$1/status" 2>/dev/null)"
	grep -q PHYLLOME-POWER-BUTTON "$SET/$1/log" || WHY="$WHY; no PHYLLOME-POWER-BUTTON"
	[ -z "$WHY" ]
}

# show_vm I: a VM's serial and VMM output tails, for a failure's log.
show_vm() {
	echo "---- $KIND round $ROUND VM $1: serial tail:"
	tail -n 12 "$SET/$1/log" 2>/dev/null | tr -d '\r' | sed 's/^/| /'
	for f in run.err stop.err err; do
		[ -s "$SET/$1/$f" ] && tail -n 6 "$SET/$1/$f" | sed "s/^/! $f: /"
	done
	[ -f "$SET/$1/dir" ] && tail -n 10 "$(cat "$SET/$1/dir")/vmm.log" 2>/dev/null | sed 's/^/! vmm.log: /'
}

# run_set KIND ROUND: one set of MANY_N VMs, launched one after the other, up, measured, stopped.
run_set() {
	KIND=$1 ROUND=$2
	SET=$RIG_WORK/$KIND-$ROUND
	rm -rf "$SET" "$PHYLLOME_STATE"
	mkdir -p "$SET"
	_i=1
	while [ $_i -le "$MANY_N" ]; do
		mkdir -p "$SET/$_i"
		unset "up_$_i" "ready_$_i"
		_i=$((_i + 1))
	done
	sync
	sleep 2
	_m0=$(memavail)
	T0=$(now_cs)
	_i=1
	while [ $_i -le "$MANY_N" ]; do
		if [ "$KIND" = phyllome ]; then ph_launch $_i; else q_launch $_i; fi
		_i=$((_i + 1))
	done
	_launch=$(($(now_cs) - T0))
	wait_all PHYLLOME-USERSPACE up
	_noup=$?
	wait_all PHYLLOME-SHELL ready
	_noready=$?
	# Memory once every guest is ready (or given up on): the VMMs' own view and L1's.
	sleep 3
	_m1=$(memavail)
	_rss=0 _pss=0 _srss=0 _spss=0 _max=0 _maxr=0 _i=1
	while [ $_i -le "$MANY_N" ]; do
		_u=-1 _r=-1
		eval "_u=\$up_$_i _r=\$ready_$_i"
		[ "$_u" -gt "$_max" ] && _max=$_u
		[ "$_r" -gt "$_maxr" ] && _maxr=$_r
		# shellcheck disable=SC2046 # two numbers
		set -- $(rollup "$(cat "$SET/$_i/pid" 2>/dev/null)")
		_rss=$((_rss + $1)) _pss=$((_pss + $2))
		_vr=$1 _vp=$2 _sr=0 _sp=0
		if [ -s "$SET/$_i/sup" ]; then
			# shellcheck disable=SC2046
			set -- $(rollup "$(cat "$SET/$_i/sup")")
			_sr=$1 _sp=$2 _srss=$((_srss + $1)) _spss=$((_spss + $2))
		fi
		echo "BENCH-MANY-VM vmm=$KIND round=$ROUND vm=$_i up_cs=$_u ready_cs=$_r rss_kb=$_vr pss_kb=$_vp sup_rss_kb=$_sr sup_pss_kb=$_sp"
		_i=$((_i + 1))
	done
	[ "$KIND" = phyllome ] && "$PH" ps >"$SET/ps.txt" 2>&1
	_psup=$(grep -c ' Up ' "$SET/ps.txt" 2>/dev/null)
	# Stop all at once: one stop per VM, in parallel, as a user's script would.
	_t1=$(now_cs)
	_i=1
	while [ $_i -le "$MANY_N" ]; do
		if [ "$KIND" = phyllome ]; then ph_stop $_i & else q_stop $_i & fi
		_i=$((_i + 1))
	done
	wait
	_stop=$(($(now_cs) - _t1))
	_clean=0 _i=1
	[ "$KIND" = phyllome ] && "$PH" ps -a >"$SET/ps-a.txt" 2>&1
	while [ $_i -le "$MANY_N" ]; do
		if [ "$KIND" = phyllome ]; then ph_clean $_i; else q_clean $_i; fi && _clean=$((_clean + 1))
		[ -z "$WHY" ] || echo "BENCH-MANY-UNCLEAN vmm=$KIND round=$ROUND vm=$_i $WHY"
		_i=$((_i + 1))
	done
	_shown=0 _i=1
	while [ $_i -le "$MANY_N" ]; do
		eval "_r=\$ready_$_i"
		if { [ "$_r" = -1 ] || { [ "$KIND" = phyllome ] && ! ph_clean $_i; } ||
			{ [ "$KIND" != phyllome ] && ! q_clean $_i; }; } && [ $_shown -lt 3 ]; then
			show_vm $_i
			_shown=$((_shown + 1))
		fi
		_i=$((_i + 1))
	done
	echo "BENCH-MANY vmm=$KIND round=$ROUND n=$MANY_N launch_cs=$_launch up=$((MANY_N - _noup)) all_up_cs=$_max ready=$((MANY_N - _noready)) all_ready_cs=$_maxr rss_kb=$_rss pss_kb=$_pss sup_rss_kb=$_srss sup_pss_kb=$_spss memavail_before_kb=$_m0 memavail_drop_kb=$((_m0 - _m1)) ps_up=${_psup:-0} stop_cs=$_stop clean=$_clean"
	[ $_noup = 0 ] && [ $_noready = 0 ] && [ $_clean = "$MANY_N" ] || many_failed=$((many_failed + 1))
	if [ "$KIND" = phyllome ]; then
		_i=1
		while [ $_i -le "$MANY_N" ]; do
			"$PH" rm -f "m$_i" >/dev/null 2>&1
			_i=$((_i + 1))
		done
	else
		_i=1
		while [ $_i -le "$MANY_N" ]; do
			[ -e "$SET/$_i/status" ] || kill -KILL "$(cat "$SET/$_i/pid" 2>/dev/null)" 2>/dev/null
			_i=$((_i + 1))
		done
		wait
	fi
}

t_start=$(now_cs)
r=1 last=0
while [ $r -le "$MANY_RUNS" ]; do
	if [ "$MANY_BUDGET" -gt 0 ] && [ $r -gt 1 ] &&
		[ $(($(now_cs) - t_start + last)) -gt $((MANY_BUDGET * 100)) ]; then
		echo "BENCH-MANY-INFO budget: round $r not started ($(since "$t_start") s gone, a round took $(cs2s $last) s)"
		break
	fi
	t_r=$(now_cs)
	if [ $((r % 2)) = 1 ]; then
		run_set phyllome $r
		run_set qemu $r
	else
		run_set qemu $r
		run_set phyllome $r
	fi
	last=$(($(now_cs) - t_r))
	r=$((r + 1))
done

if [ $many_failed -eq 0 ]; then
	rig_ok many-vms "every set of $MANY_N VMs came up and stopped cleanly ($(since "$t_start") s)"
else
	rig_fail many-vms "$many_failed set(s) with a VM that did not come up or stop cleanly"
fi
