#!/bin/bash
# The phyllome CLI end to end on the host, with tests/manager/fake-vmm.py standing in for
# phyllome-vmm (no KVM needed): exit statuses and messages, bad input changing nothing, eight
# concurrent creates of one name (exactly one wins), run -d/ps/logs/console (detach key),
# pause/resume, stop by the power button and by force, kill, rm, run attached returning the
# VM's status, --rm, a VM whose supervisor and VMM were killed. TAP output.
#   cli-test.sh PHYLLOME FAKE_VMM
set -u
PH=$1
export PHYLLOME_VMM=$2
# The stand-in VMM is a script, which phyllome-jail cannot run (see the jail checks below).
export PHYLLOME_JAIL=off
export PHYLLOME_STATE
PHYLLOME_STATE=$(mktemp -d /tmp/phyllome-cli.XXXXXX)
trap 'for p in $(cat "$PHYLLOME_STATE"/vms/*/state.json 2>/dev/null | sed -n "s/.*\"\(vmm\|supervisor\)_pid\": \([0-9]*\).*/\2/p"); do [ "$p" != 0 ] && kill -9 "$p" 2>/dev/null; done; rm -rf "$PHYLLOME_STATE"' EXIT
K=/bin/true # the kernel only has to exist
N=0 FAILED=0

ok() { N=$((N + 1)); echo "ok $N - $1"; }
nok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; shift; for l in "$@"; do echo "# $l"; done; }
# ph ARGS: runs phyllome; RC, OUT, ERR
ph() { OUT=$("$PH" "$@" 2>/tmp/ph-err.$$); RC=$?; ERR=$(cat /tmp/ph-err.$$); rm -f /tmp/ph-err.$$; }
# expect NAME RC [PATTERN-IN-ERR-OR-OUT]
expect() {
	if [ "$RC" = "$2" ] && { [ -z "${3:-}" ] || echo "$OUT$ERR" | grep -qE -- "$3"; }; then ok "$1"
	else nok "$1" "status $RC (want $2), out: $OUT" "err: $ERR"; fi
}
nvms() { ls "$PHYLLOME_STATE/vms" | grep -c '^[0-9a-f]*$'; }
waitfor() { for _ in $(seq 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }
vmdir() { "$PH" inspect "$1" | sed -n 's/.*"Path": "\(.*\)",/\1/p' | head -n 1; }

ph; expect "no command: usage, 125" 125 "Usage"
ph frobnicate; expect "unknown command: 125" 125 "not a phyllome command"
ph rm nosuch; expect "unknown VM: 1" 1 "no such VM: nosuch"
ph start --bogus vm; expect "unknown flag: 125" 125 "unknown flag: --bogus"
ph create --kernel $K -m 12Q; expect "bad memory size: 125" 125 'invalid memory size "12Q"'
ph create --kernel $K --disk 0; expect "disk '0' is a missing file: 125" 125 "--disk 0"
ph create --kernel /nonexistent; expect "missing kernel: 125" 125 "/nonexistent: No such file"
ph create --kernel $K -p 80; expect "-p without --net user: 125" 125 "needs --net user"
ph create --help; expect "create --help" 0 "Usage: phyllome create"
ph create --kernel $K -v "$K:/mnt/x"; expect "-v of a file: 125" 125 "not a folder"
ph create --kernel $K -v /nonexistent:/mnt/x; expect "-v of a missing folder: 125" 125 "/nonexistent: No such file"
ph create --kernel $K -v /tmp:mnt; expect "-v with a relative guest path: 125" 125 "GUEST_PATH absolute"
[ "$(nvms)" = 0 ] && ok "bad input created nothing" || nok "bad input created nothing" "$(ls "$PHYLLOME_STATE/vms")"

# Eight creates of one name at once: the lock lets exactly one through.
for i in 1 2 3 4 5 6 7 8; do ("$PH" create --name same --kernel $K >/dev/null 2>&1; echo $? >"$PHYLLOME_STATE/rc.$i") & done
wait
WINS=$(cat "$PHYLLOME_STATE"/rc.* | grep -c '^0$') LOSSES=$(cat "$PHYLLOME_STATE"/rc.* | grep -c '^125$')
if [ "$WINS" = 1 ] && [ "$LOSSES" = 7 ] && [ "$(nvms)" = 1 ]; then ok "8 concurrent creates of one name: 1 VM"
else nok "8 concurrent creates of one name: 1 VM" "wins $WINS, losses $LOSSES, VMs $(nvms)"; fi
ph ps -a --format json; expect "ps -a --format json" 0 '"Name":"same".*"State":"created"'
ph rm same; expect "rm a created VM" 0 "same"
# -v: the folder's path made canonical, the tag derived, both in inspect
mkdir "$PHYLLOME_STATE/shared"
ph create --name share --kernel $K -v "$PHYLLOME_STATE/shared/../shared:/home/me/work:ro"
expect "-v HOST:GUEST:ro" 0
ph inspect share; expect "-v: inspect's Mounts" 0 "\"Source\": \"$PHYLLOME_STATE/shared\""
echo "$OUT" | grep -q '"Tag": "home-me-work"' && echo "$OUT" | grep -q '"RW": false' &&
	ok "-v: tag home-me-work, read-only" || nok "-v: tag home-me-work, read-only" "$OUT"
ph rm share; expect "rm the VM with a share" 0 "share"

# The jail: on by default (config.json "jail": true, inspect "Jail": "on"); --no-jail recorded;
# a display window cannot be jailed yet. Without phyllome-jail a jailed start fails in one line
# that names the opt-out; a --no-jail VM needs no jail.
ph create --name jl --kernel $K; expect "create (jailed by default)" 0
ph inspect jl; expect "inspect: Jail on" 0 '"Jail": "on"'
echo "$OUT" | grep -q '"jail": true' && ok "config.json: jail true" || nok "config.json: jail true" "$OUT"
ph create --name nj --kernel $K --no-jail; expect "create --no-jail" 0
ph inspect nj; expect "inspect: Jail off (--no-jail)" 0 '"Jail": "off \(--no-jail\)"'
echo "$OUT" | grep -q '"jail": false' && ok "config.json: jail false" || nok "config.json: jail false" "$OUT"
ph create --name wj --kernel $K --display window; expect "create --display window" 0
ph inspect wj; expect "inspect: a window is not jailed" 0 '"Jail": "off: its window'
ph rm wj; expect "rm wj" 0
PHYLLOME_JAIL=/nonexistent/phyllome-jail ph start jl
expect "start without phyllome-jail: 1, says --no-jail" 1 "PHYLLOME_JAIL=.* is not an executable; or run it unjailed: phyllome update --no-jail jl"
[ "$(echo "$ERR" | wc -l)" = 1 ] && ok "that error is one line" || nok "that error is one line" "$ERR"
PHYLLOME_JAIL=/nonexistent/phyllome-jail ph start nj; expect "start --no-jail without phyllome-jail" 0
# A host without user namespaces, made with a user namespace whose limit for new ones is 0.
if unshare -Ur true 2>/dev/null; then
	OUT=$(env -u PHYLLOME_JAIL unshare -Ur sh -c 'echo 0 >/proc/sys/user/max_user_namespaces && exec "$0" start jl' "$PH" 2>&1)
	RC=$? ERR=
	expect "no user namespaces: start fails, one line naming the opt-out" 1 "^phyllome: cannot start jl: cannot jail the VMM: this host does not let .* create user namespaces \(.*\); run it unjailed: phyllome update --no-jail jl \(docs/manager.md\)$"
else
	ok "# SKIP no unshare -Ur here"
fi
ph update --no-jail jl; expect "update --no-jail" 0 jl
ph inspect jl; expect "inspect after update --no-jail" 0 '"Jail": "off \(--no-jail\)"'
ph update --jail jl; ph inspect jl; expect "update --jail: on again" 0 '"Jail": "on"'
ph rm -f jl nj; expect "rm -f jl nj" 0

# run -d, ps, logs, console, pause/resume
ph run -d --name v1 --kernel $K --disk 64M; expect "run -d prints the id" 0 '^[0-9a-f]{16}$'
ID=$OUT D=$(vmdir v1)
ph ps; expect "ps shows v1 up" 0 "^${ID:0:12}  v1 .* Up "
waitfor '"$PH" logs v1 | grep -q FAKE-READY' && ok "logs: the guest's output" || nok "logs: the guest's output"
[ -f "$D/disk0.img" ] && [ "$(stat -c %s "$D/disk0.img")" = 67108864 ] && [ "$(stat -c %b "$D/disk0.img")" = 0 ] &&
	ok "--disk 64M: a sparse 64 MiB image" || nok "--disk 64M: a sparse 64 MiB image" "$(ls -ls "$D")"
# --disk FILE: a qcow2 image (told by its magic) goes to the VMM as qcow2, a raw one as raw.
if command -v qemu-img >/dev/null; then
	qemu-img create -q -f qcow2 "$PHYLLOME_STATE/given.qcow2" 64M
	head -c 65536 /dev/zero >"$PHYLLOME_STATE/given.img"
	ph create --name given --kernel $K --disk "$PHYLLOME_STATE/given.qcow2" --disk "$PHYLLOME_STATE/given.img"
	F=$("$PH" inspect given | tr -d ' \n')
	echo "$F" | grep -q '"path":"[^"]*given.qcow2","size":0,[^}]*"format":"qcow2"' &&
		echo "$F" | grep -q '"path":"[^"]*given.img","size":0,[^}]*"format":"raw"' &&
		ok "--disk FILE: a qcow2 file as qcow2, a raw one as raw" || nok "--disk FILE formats" "$F" "$ERR"
	"$PH" rm given >/dev/null
fi
CON=$( { printf 'hello console\n'; sleep 1; printf '\035'; } | timeout 10 "$PH" console v1; echo "rc=$?")
echo "$CON" | grep -q 'ECHO: hello console' && echo "$CON" | grep -q 'rc=0' &&
	ok "console: typed line answered, Ctrl-] detaches with 0" || nok "console" "$CON"
ph ps; expect "v1 still up after detaching" 0 "v1 .* Up "
ph pause v1; expect "pause" 0 v1
ph ps; expect "ps shows (Paused)" 0 "v1 .*\(Paused\)"
ph pause v1; expect "pause twice: 1" 1 "already paused"
ph resume v1; expect "resume" 0 v1
ph resume v1; expect "resume twice: 1" 1 "not paused"
ph run -d --name v1 --kernel $K; expect "duplicate name: 125" 125 'name "v1" is already in use'
ph rm v1; expect "rm of a running VM: 1" 1 "it is running"
ph stop v1; expect "stop" 0 v1
grep -q FAKE-POWER-BUTTON "$D/serial.log" && ok "stop pressed the power button" || nok "stop pressed the power button"
ph ps -a; expect "ps -a: Exited (0)" 0 "v1 .*Exited \(0\)"
[ ! -e "$D/api.sock" ] && [ ! -e "$D/console.sock" ] && ok "sockets removed" || nok "sockets removed" "$(ls "$D")"
ph start v1; expect "start again" 0 v1
ph restart -t 5 v1; expect "restart" 0 v1
ph ps -q; expect "ps -q: the short id" 0 "^${ID:0:12}$"
"$PH" logs -f v1 >"$PHYLLOME_STATE/follow.out" 2>&1 &
FOLLOW=$!
ph kill v1; expect "kill" 0 v1
ph ps -a; expect "ps -a: Exited (137)" 0 "v1 .*Exited \(137\)"
waitfor '! kill -0 $FOLLOW 2>/dev/null' && [ "$(grep -c FAKE-READY "$PHYLLOME_STATE/follow.out")" -ge 2 ] &&
	ok "logs -f follows and ends with the VM" || nok "logs -f" "$(cat "$PHYLLOME_STATE/follow.out")"
ph inspect v1; expect "inspect: ExitCode 137" 0 '"ExitCode": 137'
# The machine UUID: derived from the id (its first 12 hex digits lead), the same in inspect and
# in what the VMM was given, on every boot (run, start, restart).
UUID=$(echo "$OUT" | sed -n 's/.*"Uuid": "\(.*\)",*/\1/p')
BOOT_UUIDS=$(grep -o 'FAKE-BOOT uuid=[0-9a-f-]*' "$D/serial.log" | sort | uniq -c | sed 's/^ *//')
BOOTS=$(grep -c 'FAKE-BOOT' "$D/serial.log")
if echo "$UUID" | grep -qE "^${ID:0:8}-${ID:8:4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$" &&
	[ "$BOOTS" -ge 2 ] && [ "$BOOT_UUIDS" = "$BOOTS FAKE-BOOT uuid=$UUID" ]; then ok "inspect's Uuid is the one the VMM got (--uuid), stable across starts"
else nok "inspect's Uuid is the one the VMM got" "Uuid '$UUID', id $ID" "serial: $BOOT_UUIDS"; fi
ph rm v1; expect "rm" 0 v1
[ ! -d "$D" ] && ok "rm removed the folder" || nok "rm removed the folder"

# A guest that ignores the power button: stop cuts the power after -t.
ph run -d --name deaf --kernel $K --cmdline fake.ignore_button; expect "run -d deaf" 0
ph stop -t 1 deaf; expect "stop -t 1 of a deaf guest" 0 deaf
ph ps -a; expect "deaf: Exited (0) after the power cut" 0 "deaf .*Exited \(0\)"
ph rm -f deaf; expect "rm -f" 0

# The network libraries are loaded when a command needs them: a VM's supervisor (a fork of
# `phyllome run -d`) maps none of them.
ph run -d --name lean --kernel $K; expect "run -d lean" 0
SUP=$("$PH" inspect lean | sed -n 's/.*"SupervisorPid": \([0-9]*\),.*/\1/p' | head -n 1)
if [ -n "$SUP" ] && [ -r "/proc/$SUP/maps" ] && grep -q libjansson "/proc/$SUP/maps"; then
	grep -qE 'libcurl|libmicrohttpd|libgnutls' "/proc/$SUP/maps" &&
		nok "the supervisor maps no libcurl, libmicrohttpd or GnuTLS" "$(grep -oE '[^ /]*(curl|microhttpd|gnutls)[^ ]*' "/proc/$SUP/maps" | sort -u)" ||
		ok "the supervisor maps no libcurl, libmicrohttpd or GnuTLS"
else nok "the supervisor maps no libcurl, libmicrohttpd or GnuTLS" "no maps for supervisor '$SUP'"; fi
ph rm -f lean; expect "rm -f lean" 0

# A guest that powers off only when told (fake.off_hold): stop waits for it as long as it takes,
# and when stop returns the VM has ended and its exit is recorded (stop wakes on the end of the
# VM's processes, not on a tick).
HOLD=$PHYLLOME_STATE/hold
ph run -d --name slow --kernel $K --cmdline "fake.off_hold=$HOLD"; expect "run -d slow" 0
SD=$(vmdir slow)
"$PH" stop -t 600 slow >"$PHYLLOME_STATE/slow.out" 2>"$PHYLLOME_STATE/slow.err" &
STOP=$!
waitfor 'grep -q FAKE-POWER-BUTTON "$SD/serial.log"' && sleep 1.5
kill -0 $STOP 2>/dev/null && ok "stop waits while the guest shuts down" ||
	nok "stop waits while the guest shuts down" "$(cat "$PHYLLOME_STATE/slow.err")"
ph ps; expect "slow still up while it shuts down" 0 "slow .* Up "
touch "$HOLD"
wait $STOP
SRC=$?
ph ps -a
[ $SRC = 0 ] && echo "$OUT" | grep -qE "slow .*Exited \(0\)" && ! grep -q 'did not power off' "$PHYLLOME_STATE/slow.err" &&
	ok "stop returned 0 once the guest powered off, exit recorded" ||
	nok "stop returned once the guest powered off" "status $SRC" "$OUT" "$(cat "$PHYLLOME_STATE/slow.err")"
ph rm slow; expect "rm slow" 0
# Eight VMs stopped at once, each by its own `phyllome stop`: all power off cleanly.
for i in 1 2 3 4 5 6 7 8; do "$PH" run -d --name par$i --kernel $K --cmdline fake.off_delay=0.5 >/dev/null 2>&1; done
for i in 1 2 3 4 5 6 7 8; do ("$PH" stop par$i >/dev/null 2>"$PHYLLOME_STATE/par$i.err"; echo $? >"$PHYLLOME_STATE/par$i.rc") & done
wait
ph ps -a
PAROK=0
for i in 1 2 3 4 5 6 7 8; do
	[ "$(cat "$PHYLLOME_STATE/par$i.rc")" = 0 ] && ! grep -q 'did not power off' "$PHYLLOME_STATE/par$i.err" &&
		echo "$OUT" | grep -qE "par$i .*Exited \(0\)" && PAROK=$((PAROK + 1))
done
[ $PAROK = 8 ] && ok "8 parallel stops: all powered off, all Exited (0)" || nok "8 parallel stops" "$PAROK of 8" "$OUT"
for i in 1 2 3 4 5 6 7 8; do "$PH" rm par$i >/dev/null; done

# A VMM that fails: its error line, status 125 for run, the VM kept as exited.
ph run -d --name broken --kernel $K --cmdline fake.fail; expect "run of a failing VMM: 125 + its error" 125 "fake failure"
ph ps -a; expect "broken: Exited (1)" 0 "broken .*Exited \(1\)"
ph rm broken; expect "rm broken" 0

# run attached returns the VM's status; --rm removes it.
OUTA=$( { sleep 1; printf 'exit 7\n'; } | timeout 20 "$PH" run --rm --name att --kernel $K 2>&1; echo "rc=$?")
echo "$OUTA" | grep -q 'rc=7' && ok "run (attached) exits with the VM's status 7" || nok "run attached" "$OUTA"
waitfor '[ "$(nvms)" = 0 ]' && ok "--rm removed the VM" || nok "--rm removed the VM" "$(ls "$PHYLLOME_STATE/vms")"

# The supervisor and the VMM killed behind phyllome's back: exited (unknown), cleaned up.
ph run -d --name orphan --kernel $K; expect "run -d orphan" 0
D=$(vmdir orphan)
SUP=$(sed -n 's/.*"supervisor_pid": \([0-9]*\).*/\1/p' "$D/state.json")
VMM=$(sed -n 's/.*"vmm_pid": \([0-9]*\).*/\1/p' "$D/state.json")
kill -9 "$SUP" "$VMM"
waitfor '! kill -0 '"$VMM"' 2>/dev/null' || true
sleep 0.3
ph ps -a; expect "killed supervisor: Exited (unknown)" 0 "orphan .*Exited \(unknown\)"
[ ! -e "$D/api.sock" ] && ok "stale sockets removed" || nok "stale sockets removed" "$(ls "$D")"
ph rm orphan; expect "rm orphan" 0

# --rm with -d: gone once stopped.
ph run -d --rm --name gone --kernel $K; expect "run -d --rm" 0
ph stop gone; expect "stop gone" 0
waitfor '[ "$(nvms)" = 0 ]' && ok "run -d --rm: removed when stopped" || nok "run -d --rm" "$(ls "$PHYLLOME_STATE/vms")"

# The cloud-init seed: vfat, label CIDATA, user-data as given, meta-data with id and name.
if command -v mtype >/dev/null && command -v mkfs.vfat >/dev/null; then
	printf '#cloud-config\nhostname: seeded\n' >"$PHYLLOME_STATE/ud.yaml"
	ph create --name seeded --kernel $K --cloud-init "$PHYLLOME_STATE/ud.yaml"; expect "create --cloud-init" 0
	ID=$OUT D=$(vmdir seeded)
	UD=$(mtype -i "$D/seed.img" ::user-data 2>&1) MD=$(mtype -i "$D/seed.img" ::meta-data 2>&1)
	LABEL=$(mlabel -i "$D/seed.img" -s :: 2>&1)
	if [ "$UD" = "$(cat "$PHYLLOME_STATE/ud.yaml")" ] && echo "$MD" | grep -q "instance-id: $ID" &&
		echo "$MD" | grep -q "local-hostname: seeded" && echo "$LABEL" | grep -q CIDATA; then
		ok "cloud-init seed: label, user-data, meta-data"
	else
		nok "cloud-init seed" "user-data: $UD" "meta-data: $MD" "label: $LABEL"
	fi
	ph rm seeded; expect "rm seeded" 0
else
	N=$((N + 1)); echo "ok $N - cloud-init seed # SKIP mtools or dosfstools missing"
fi

# A guest printing without end: 10 GiB through the supervisor (at the speed of a pipe: the
# stand-in writes 1 MiB at a time) leave serial.log and one rotated serial.log.1, each at most
# 64 MiB, and nothing else in the VM's folder grows.
ph run -d --name flood --kernel $K --cmdline fake.flood=10240; expect "run -d (flood)" 0
FD=$(vmdir flood) CAP=$((64 << 20)) T0=$SECONDS
for _ in $(seq 3000); do tail -c 100 "$FD/serial.log" 2>/dev/null | grep -q FAKE-FLOOD-DONE && break; sleep 0.1; done
S0=$(stat -c %s "$FD/serial.log" 2>/dev/null || echo none) S1=$(stat -c %s "$FD/serial.log.1" 2>/dev/null || echo none)
DU=$(du -sk "$FD" | cut -f1)
if tail -c 100 "$FD/serial.log" | grep -q FAKE-FLOOD-DONE && [ "$S0" -le "$CAP" ] && [ "$S1" -le "$CAP" ] &&
	[ "$S1" -gt $((CAP - (1 << 20))) ] && [ "$DU" -le $((2 * CAP / 1024 + 4096)) ]; then
	ok "10 GiB of guest output in $((SECONDS - T0)) s: serial.log $S0 and serial.log.1 $S1 bytes, the VM's folder $DU KiB"
else nok "10 GiB of guest output: capped serial.log" "serial.log $S0, serial.log.1 $S1 (cap $CAP), folder $DU KiB"; fi
ph rm -f flood; expect "rm -f flood" 0

# update of a stopped VM: its display, sound and its own raw disk (grown, never shrunk); a
# disk the VM was given is not grown.
ph create --name upd --kernel $K --disk 64M --sound wav=/tmp/upd.wav; expect "create with --sound wav=" 0
ph inspect upd; expect "inspect shows the sound" 0 '"sound": "wav=/tmp/upd.wav"'
ph update --display window --no-sound --disk-size 128M upd; expect "update --display --no-sound --disk-size" 0 upd
UD=$(vmdir upd)
ph inspect upd
if echo "$OUT" | grep -q '"display": "window"' && echo "$OUT" | grep -q '"sound": null' &&
	[ "$(stat -c %s "$UD/disk0.img")" = $((128 << 20)) ]; then ok "update: display window, no sound, disk0.img 128 MiB"
else nok "update: display, sound, disk" "$OUT" "disk0.img: $(stat -c %s "$UD/disk0.img")"; fi
ph update --disk-size 64M upd; expect "update --disk-size smaller: 1" 1 "it only grows"
ph update --sound alsa upd; expect "update --sound alsa: 1" 1 "is not pulse, none or wav="
ph update --display sdl upd; expect "update --display sdl: 1" 1 "is not none, window or vnc="
ph rm upd; expect "rm upd" 0
truncate -s 64M "$PHYLLOME_STATE/given.img"
ph create --name given --kernel $K --disk "$PHYLLOME_STATE/given.img"
ph update --disk-size 1G given; expect "update --disk-size of a given disk: 1" 1 "a file it was given"
ph rm given; expect "rm given" 0

ph disk create "$PHYLLOME_STATE/d.img" 1G; expect "disk create" 0 "sparse raw"
ph disk create "$PHYLLOME_STATE/d.img" 1G; expect "disk create over a file: 1" 1 "File exists"
ph disk create "$PHYLLOME_STATE/e.img" lots; expect "disk create bad size: 125" 125 "invalid size"

echo "1..$N"
