# The phyllome manager (docs/manager.md) driving real VMs: run -d, ps, logs, console (a typed
# command, then the detach key), pause/resume (the guest's output stops and goes on), the API
# with curl, two VMs at once, bad input refused with nothing changed, kill (exit 137 in ps -a),
# stop through the ACPI power button ending in the guest's own poweroff (busybox acpid in the
# test guest, phyllome.acpid=1), ps -a showing "Exited (0)", rm. vm1 has a shared folder
# (-v L1_DIR:/mnt/host): inspect shows its tag, the guest mounts it by hand (the busybox guest has
# no cloud-init) and reads L1's file, L1 reads the guest's. The VMMs run in phyllome-jail (the
# manager's default): vm1's VMM is checked to be in a user and a mount namespace other than L1's,
# and its guest writes its --disk, a file of L1's handed into the jail by descriptor (the VMM's
# fd 3; no mount in the jail names it).
# rig-tools: curl
# shellcheck shell=sh

PH=/rig/bin/phyllome
export PHYLLOME_STATE=$RIG_WORK/st
CMDL="console=ttyS0 quiet phyllome.test=console phyllome.acpid=1"
M=manager

# ph ARGS...: runs phyllome; PH_RC, PH_OUT (stdout), PH_ERR (stderr).
ph() {
	"$PH" "$@" >"$RIG_WORK/ph.out" 2>"$RIG_WORK/ph.err"
	PH_RC=$?
	PH_OUT=$(cat "$RIG_WORK/ph.out") PH_ERR=$(cat "$RIG_WORK/ph.err")
	echo "ph: $* -> $PH_RC: $(echo "$PH_OUT" | head -c 300) $(echo "$PH_ERR" | head -c 300)" >>"$RIG_WORK/ph.log"
}

# diag: what the manager and the VMs left, for a failure's log.
diag() {
	echo "---- $M: phyllome commands:"
	tail -n 30 "$RIG_WORK/ph.log" | sed 's/^/| /'
	for d in "$PHYLLOME_STATE"/vms/*/; do
		[ -d "$d" ] || continue
		echo "---- $M: $d state: $(tr -d ' \n' <"$d/state.json" 2>/dev/null)"
		tail -n 15 "$d/serial.log" 2>/dev/null | sed 's/^/| /'
		tail -n 10 "$d/vmm.log" 2>/dev/null | sed 's/^/! /'
	done
}

fail() {
	diag
	rig_fail "$M" "$*"
	"$PH" rm -f vm1 vm2 >/dev/null 2>&1
	exit 0
}

# vm_dir NAME: the VM's folder (from inspect).
vm_dir() { "$PH" inspect "$1" | sed -n 's/.*"Path": "\(.*\)",/\1/p' | head -n 1; }

# log_wait NAME PATTERN TIMEOUT [COUNT]: until the VM's serial log has COUNT lines matching.
log_wait() {
	_end=$(($(now_cs) + $3 * 100))
	while [ "$(grep -c -- "$2" "$(vm_dir "$1")/serial.log" 2>/dev/null)" -lt "${4:-1}" ]; do
		[ "$(now_cs)" -ge "$_end" ] && return 1
		sleep 0.3
	done
	return 0
}

# file_wait FILE PATTERN TIMEOUT [COUNT]

nvms() { ls "$PHYLLOME_STATE/vms" 2>/dev/null | grep -c '^[0-9a-f]*$'; }

# run_vm NAME [OPTIONS...]
run_vm() {
	_name=$1
	shift
	ph run -d --name "$_name" --cpus 1 --memory 256M --kernel "$L2_KERNEL" --initramfs "$L2_INITRD" \
		--cmdline "$CMDL" "$@"
}

# --- one VM: run -d, ps, logs ---
mkdir -p "$RIG_WORK/share"
echo from-L1 >"$RIG_WORK/share/hello.txt"
T0=$(now_cs)
head -c 1048576 /dev/zero >"$RIG_WORK/d1.img"
run_vm vm1 -v "$RIG_WORK/share:/mnt/host" --disk "$RIG_WORK/d1.img"
[ "$PH_RC" = 0 ] || fail "run -d: status $PH_RC: $PH_ERR"
echo "$PH_OUT" | grep -qE '^[0-9a-f]{16}$' || fail "run -d printed '$PH_OUT', not an id"
ID1=$PH_OUT
ph ps
echo "$PH_OUT" | grep -E "^${ID1%????}  vm1 .* Up " >/dev/null || fail "ps does not show vm1 up: $PH_OUT"
log_wait vm1 PHYLLOME-READY "$T_BOOT" || fail "vm1: no PHYLLOME-READY in its serial log within $T_BOOT s"
T_READY=$(since "$T0")
ph logs vm1
echo "$PH_OUT" | grep -q PHYLLOME-BOOT || fail "logs vm1 lacks the guest's boot output"

# --- console: a typed command, kept attached for what follows ---
mkfifo "$RIG_WORK/con.in"
exec 8<>"$RIG_WORK/con.in"
"$PH" console vm1 <"$RIG_WORK/con.in" >"$RIG_WORK/con.out" 2>"$RIG_WORK/con.err" &
CON_PID=$!
sleep 1
# shellcheck disable=SC2016 # the guest's shell expands it
printf 'echo CONSOLE-$((6 * 7))\n' >&8
file_wait "$RIG_WORK/con.out" '^CONSOLE-42' "$T_CMD" || fail "console: no CONSOLE-42 back: $(tail -c 300 "$RIG_WORK/con.out")"
log_wait vm1 '^CONSOLE-42' 10 || fail "the console's output is not in logs"

# --- the shared folder: the tag inspect shows, mounted by hand as docs/manager.md says ---
TAG=$("$PH" inspect vm1 | sed -n 's/.*"Tag": "\(.*\)",/\1/p' | head -n 1)
[ "$TAG" = mnt-host ] || fail "inspect vm1: tag '$TAG', not mnt-host"
"$PH" inspect vm1 | grep -q '"MountCommand": "mkdir -p /mnt/host && mount -t virtiofs mnt-host /mnt/host"' ||
	fail "inspect vm1: no MountCommand"
printf 'mkdir -p /mnt/host && mount -t virtiofs mnt-host /mnt/host && cat /mnt/host/hello.txt && echo guest-wrote >/mnt/host/from-guest.txt && echo SHARE-OK\n' >&8
file_wait "$RIG_WORK/con.out" '^SHARE-OK' "$T_CMD" || fail "the shared folder: no SHARE-OK: $(tail -c 300 "$RIG_WORK/con.out")"
grep -q '^from-L1' "$RIG_WORK/con.out" || fail "the guest did not read L1's file"
[ "$(cat "$RIG_WORK/share/from-guest.txt" 2>/dev/null)" = guest-wrote ] || fail "L1 does not see the guest's file"

# --- the jail: vm1's VMM (the child of the jail, whose pid ps and inspect show) has a user and a
# mount namespace of its own; its guest writes its disk ---
"$PH" inspect vm1 | grep -q '"Jail": "on"' || fail "inspect vm1: Jail is not on: $("$PH" inspect vm1 | grep Jail)"
grep -q 'the VMM runs in phyllome-jail' "$(vm_dir vm1)/vmm.log" || fail "vmm.log does not say the VMM runs in phyllome-jail"
JPID=$("$PH" inspect vm1 | sed -n 's/.*"Pid": \([0-9]*\),.*/\1/p' | head -n 1)
VPID=''
for _d in /proc/[0-9]*; do
	[ "$(sed -n 's/^PPid:[[:space:]]*//p' "$_d/status" 2>/dev/null)" = "$JPID" ] && VPID=${_d#/proc/} && break
done
[ -n "$VPID" ] || fail "no child of the jail (pid '$JPID') found"
[ "$(cat "/proc/$VPID/comm")" = phyllome-vmm ] || fail "the jail's child $VPID is $(cat "/proc/$VPID/comm"), not phyllome-vmm"
for _ns in user mnt; do
	[ "$(readlink "/proc/$VPID/ns/$_ns")" != "$(readlink "/proc/$$/ns/$_ns")" ] ||
		fail "the VMM (pid $VPID) shares L1's $_ns namespace ($(readlink "/proc/$$/ns/$_ns"))"
done
[ -e "/proc/$VPID/root/rig/scenarios" ] && fail "the jailed VMM sees L1's /rig/scenarios"
JAIL_IDS=$(sed -n 's/^Uid:[[:space:]]*//p' "/proc/$VPID/status" | tr -s '\t ' '  ')
JAIL_CAPS=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$VPID/status")
[ "$JAIL_CAPS" = 0000000000000000 ] || fail "the jailed VMM has capabilities: CapEff $JAIL_CAPS"
# the raw --disk is handed in by descriptor (fd 3), not bound: no mount names it
[ "$(readlink "/proc/$VPID/fd/3")" = "$(readlink -f "$RIG_WORK/d1.img")" ] ||
	fail "the VMM's fd 3 is '$(readlink "/proc/$VPID/fd/3")', not d1.img"
grep -q d1.img "/proc/$VPID/mountinfo" && fail "d1.img is mounted in the jail: $(grep d1.img "/proc/$VPID/mountinfo")"
# shellcheck disable=SC2016 # the guest's shell expands it
printf 'printf "JAIL-DISK-%%s\\n" $((40 + 2)) | dd of=/dev/vda conv=fsync 2>/dev/null && echo DISK-$((40 + 2))-OK\n' >&8
file_wait "$RIG_WORK/con.out" '^DISK-42-OK' "$T_CMD" || fail "the guest could not write its disk: $(tail -c 300 "$RIG_WORK/con.out")"
[ "$(head -n 1 "$RIG_WORK/d1.img")" = JAIL-DISK-42 ] || fail "d1.img starts with '$(head -c 20 "$RIG_WORK/d1.img")', not JAIL-DISK-42"

# --- pause / resume: a ticker stops while paused ---
# shellcheck disable=SC2016 # the guest's shell expands it
printf 'while :; do echo TICK; sleep 0.2; done >/dev/console 2>&1 & echo $! >/tmp/tick.pid\n' >&8
log_wait vm1 '^TICK' "$T_CMD" 3 || fail "no ticks"
ph pause vm1
[ "$PH_RC" = 0 ] || fail "pause: status $PH_RC: $PH_ERR"
ph ps
echo "$PH_OUT" | grep -q 'vm1 .*(Paused)' || fail "ps does not show vm1 paused: $PH_OUT"
ph pause vm1
[ "$PH_RC" = 1 ] && echo "$PH_ERR" | grep -q 'already paused' || fail "pause twice: status $PH_RC, '$PH_ERR'"
D1=$(vm_dir vm1)
S0=$(wc -c <"$D1/serial.log")
sleep 3
S1=$(wc -c <"$D1/serial.log")
[ "$S0" = "$S1" ] || fail "serial output went on while paused ($S0 -> $S1 bytes)"
ph resume vm1
[ "$PH_RC" = 0 ] || fail "resume: status $PH_RC: $PH_ERR"
N=$(grep -c '^TICK' "$D1/serial.log")
log_wait vm1 '^TICK' "$T_CMD" $((N + 3)) || fail "no ticks after resume"
# shellcheck disable=SC2016 # the guest's shell expands it
printf 'kill $(cat /tmp/tick.pid)\n' >&8

# --- the API with curl, through the socket the manager made ---
API=$("$TOOLS/curl" -sS --max-time 30 --unix-socket "$D1/api.sock" http://localhost/api/v1/vm.info)
echo "$API" | grep -q '"state":"Running"' || fail "curl vm.info: $API"
CODE=$("$TOOLS/curl" -sS -o /dev/null -w '%{http_code}' --max-time 30 --unix-socket "$D1/api.sock" \
	-X PUT --data '{"x":' http://localhost/api/v1/vm.pause)
[ "$CODE" = 400 ] || fail "curl broken JSON: HTTP $CODE, expected 400"

# --- bad input: clear errors, non-zero status, nothing changed ---
N0=$(nvms)
run_vm vm1
[ "$PH_RC" = 125 ] && echo "$PH_ERR" | grep -q 'already in use' || fail "duplicate name: status $PH_RC, '$PH_ERR'"
ph run -d --name bad --memory 12Q --kernel "$L2_KERNEL"
[ "$PH_RC" = 125 ] && echo "$PH_ERR" | grep -q 'invalid memory size' || fail "bad size: status $PH_RC, '$PH_ERR'"
ph run -d --name bad/name --kernel "$L2_KERNEL"
[ "$PH_RC" = 125 ] && echo "$PH_ERR" | grep -q 'invalid VM name' || fail "bad name: status $PH_RC, '$PH_ERR'"
ph stop nosuch
[ "$PH_RC" = 1 ] && echo "$PH_ERR" | grep -q 'no such VM: nosuch' || fail "unknown VM: status $PH_RC, '$PH_ERR'"
[ "$(nvms)" = "$N0" ] || fail "bad input changed the number of VMs: $N0 -> $(nvms)"

# --- a second VM at once, with a display; screenshot; rm refuses it while it runs; kill ---
ph run -d --name vm2 --cpus 1 --memory 256M --kernel "$L2_KERNEL" --initramfs "$L2_INITRD" \
	--cmdline "$CMDL" --display "vnc=unix:$RIG_WORK/vm2-vnc.sock"
[ "$PH_RC" = 0 ] || fail "run -d vm2: status $PH_RC: $PH_ERR"
log_wait vm2 PHYLLOME-READY "$T_BOOT" || fail "vm2: no PHYLLOME-READY within $T_BOOT s"
ph screenshot vm2 "$RIG_WORK/vm2.png"
[ "$PH_RC" = 0 ] || fail "screenshot vm2: status $PH_RC: $PH_ERR"
PNGSIG=$(head -c 8 "$RIG_WORK/vm2.png" | od -An -tx1 | tr -d ' \n')
[ "$PNGSIG" = 89504e470d0a1a0a ] || fail "screenshot vm2: not a PNG (signature '$PNGSIG')"
PNGW=$(dd if="$RIG_WORK/vm2.png" bs=1 skip=16 count=4 2>/dev/null | od -An -tu1 | awk '{print $1*16777216+$2*65536+$3*256+$4}')
[ "${PNGW:-0}" -gt 0 ] || fail "screenshot vm2: PNG width '$PNGW'"
ph screenshot vm1 "$RIG_WORK/vm1.png"
[ "$PH_RC" = 1 ] && [ ! -s "$RIG_WORK/vm1.png" ] || fail "screenshot of a VM without a display: status $PH_RC, '$PH_ERR'"
ph ps
[ "$(echo "$PH_OUT" | grep -c ' Up ')" = 2 ] || fail "ps does not show two VMs up: $PH_OUT"
ph rm vm2
[ "$PH_RC" = 1 ] && echo "$PH_ERR" | grep -q 'running' || fail "rm of a running VM: status $PH_RC, '$PH_ERR'"
ph kill vm2
[ "$PH_RC" = 0 ] || fail "kill vm2: status $PH_RC: $PH_ERR"
ph ps -a
echo "$PH_OUT" | grep -q 'vm2 .*Exited (137)' || fail "ps -a after kill: $PH_OUT"
ph rm vm2
[ "$PH_RC" = 0 ] || fail "rm vm2: status $PH_RC: $PH_ERR"

# --- detach key, then stop through the power button ---
printf '\035' >&8
wait_pid "$CON_PID" 10
CON_RC=$?
[ "$CON_RC" = 0 ] || fail "console did not detach on Ctrl-] (status $CON_RC)"
exec 8>&-
T1=$(now_cs)
ph stop -t "$T_EXIT" vm1
[ "$PH_RC" = 0 ] || fail "stop: status $PH_RC: $PH_ERR"
T_STOP=$(since "$T1")
grep -q PHYLLOME-POWER-BUTTON "$D1/serial.log" || fail "stop: the guest never saw the power button (no PHYLLOME-POWER-BUTTON)"
grep -q 'did not power off' "$RIG_WORK/ph.err" && fail "stop had to cut the power"
ph ps -a
echo "$PH_OUT" | grep -q 'vm1 .*Exited (0)' || fail "ps -a after stop: $PH_OUT"
[ -e "$D1/api.sock" ] && fail "the API socket is still there after the VM ended"
ph rm vm1
[ "$PH_RC" = 0 ] || fail "rm vm1: status $PH_RC: $PH_ERR"
[ -d "$D1" ] && fail "rm left $D1"
ph ps -a
[ "$(echo "$PH_OUT" | wc -l)" = 1 ] || fail "ps -a after rm: $PH_OUT"
rig_ok "$M" "run -d -> guest ready in ${T_READY}s; ps, logs, console command + Ctrl-] detach, -v shared folder (tag from inspect, mounted in the guest, files both ways), jailed VMM (own user+mnt namespaces, Uid $JAIL_IDS, CapEff 0, guest wrote its --disk, handed in as fd 3, not mounted), pause/resume (no output while paused), curl vm.info/400, duplicate name/bad size/bad name 125 and unknown VM 1 with nothing changed, two VMs at once, screenshot (PNG ${PNGW} wide; refused without a display), kill -> Exited (137), stop by power button -> guest poweroff in ${T_STOP}s, Exited (0), rm"
