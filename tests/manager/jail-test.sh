#!/bin/bash
# The manager's jail on the host with the real phyllome-vmm and phyllome-jail (TAP): the tiny
# guest (built to halt, so it stays up) run by `phyllome run -d` with a shared folder, a disk file
# and a VNC port on TCP, by default jailed. Checked: inspect says "Jail": "on" and shows the VM's
# API answers; the VMM is the jail's only child, in a user, mount and pid namespace other than
# ours, with no capabilities, no_new_privs and its seccomp filters; its root holds the share but
# not the host's /etc/passwd; the disk, given by a symbolic link, is handed in by descriptor:
# the VMM's fd 3 is the real file, its argv says path=/dev/fd/3, and neither the disk's path
# nor the link is in its root or its mountinfo; the share's file server runs with namespaces of
# its own (no warning); the VNC port listens; kill -> Exited (137). phyllome-jail refuses an
# --fd through a symbolic link. A VM with passt and swtpm: their sockets reach the VMM in its
# own network namespace. As root, a VM whose disk is a block device (a loop device) and whose
# CD is an image runs jailed, both by descriptor. --sound pulse, against a private PulseAudio:
# pulsecheck (the VMM's sound back end under its seccomp filters) run in phyllome-jail with
# only the server's socket bound in and an empty environment plays and records 1 kHz through
# it; and a VM with --sound pulse runs jailed, its VMM told the socket (server=), which is in
# its root, with libpulse loaded. Then the first VM as an unprivileged user
# (uid 65534, group kvm, with setpriv). Needs /dev/kvm (this machine's PVM one runs the tiny
# guest) and user namespaces; skips without them.
#   jail-test.sh BUILD-DIR TINY-STAY-BZIMAGE
build=$1
tiny=$2
if [ ! -w /dev/kvm ] || [ ! -r "$tiny" ] || ! unshare -U true 2>/dev/null; then
	echo "1..0 # SKIP no usable /dev/kvm, tiny guest or user namespaces"
	exit 0
fi
# A sanitizer build of the VMM (the CI's ASan + UBSan one) does not run jailed: ASan wants /proc
# (not in the jail without shares) and LeakSanitizer stops the world with calls that the VMM's
# seccomp filters kill (SIGSYS). The plain build runs this test; the sanitizers run the others.
if grep -aq __asan_init "$build/phyllome-vmm" 2>/dev/null; then
	echo "1..0 # SKIP a sanitizer build of the VMM (ASan cannot run under the jail's seccomp and without /proc)"
	exit 0
fi
W=$(mktemp -d /tmp/phyllome-jail.XXXXXX)
chmod 755 "$W"
LOOP= PA=
cleanup() {
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	[ -n "$PA" ] && kill "$PA" 2>/dev/null
	for p in $(cat "$W"/*/vms/*/state.json 2>/dev/null | sed -n 's/.*"\(vmm\|supervisor\)_pid": \([0-9]*\).*/\2/p'); do
		[ "$p" != 0 ] && kill -9 "$p" 2>/dev/null
	done
	rm -rf "$W"
}
trap cleanup EXIT
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
nok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }
field() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$2/status"; }

# one_vm WHO RUNAS...: a jailed VM run by RUNAS (empty: us), checked, killed, removed.
one_vm() {
	local who=$1 st=$W/$1 rc port=$((20000 + ($$ + ${#1} * 7919) % 10000)) out jpid vpid d
	shift
	mkdir -p "$st/share"
	echo from-host >"$st/share/hello.txt"
	head -c 1048576 /dev/zero >"$st/disk.img"
	ln -s disk.img "$st/link.img"
	[ $# -gt 0 ] && chown -R 65534:65534 "$st"
	out=$(env PHYLLOME_STATE="$st/state" "$@" "$build/phyllome" run -d --name j1 --memory 64M \
		--kernel "$tiny" -v "$st/share:/mnt/host" --disk "$st/link.img" \
		--display "vnc=127.0.0.1:$port" 2>&1)
	rc=$?
	check "$who: run -d, jailed by default" '[ $rc = 0 ] && echo "$out" | grep -qE "^[0-9a-f]{16}$"' "$out"
	d=$(ls -d "$st"/state/vms/*/ 2>/dev/null | head -n 1)
	for _ in $(seq 50); do grep -q PHYLLOME-TINY-READY "$d/serial.log" 2>/dev/null && break; sleep 0.1; done
	check "$who: the guest is up" 'grep -q PHYLLOME-TINY-READY "$d/serial.log"' "$(cat "$d/vmm.log" 2>/dev/null)"
	out=$(env PHYLLOME_STATE="$st/state" "$@" "$build/phyllome" inspect j1)
	check "$who: inspect: Jail on" 'echo "$out" | grep -q "\"Jail\": \"on\""' "$out"
	check "$who: inspect: the VM's API answers through the jail" 'echo "$out" | grep -q "\"Vm\": {"' "$out"
	check "$who: vmm.log names the jail" 'grep -q "the VMM runs in phyllome-jail: --userns" "$d/vmm.log"' "$(cat "$d/vmm.log")"
	jpid=$(echo "$out" | sed -n 's/.*"Pid": \([0-9]*\),.*/\1/p' | head -n 1)
	vpid=$(cat /proc/"$jpid"/task/*/children 2>/dev/null | tr -d ' ')
	check "$who: the VMM is the jail's only child" '[ -n "$vpid" ] && [ "$(cat /proc/$vpid/comm)" = phyllome-vmm ]' "jail $jpid, children '$vpid'"
	for ns in user mnt pid; do
		check "$who: the VMM's $ns namespace is its own" '[ "$(readlink /proc/$vpid/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ]'
	done
	check "$who: no capabilities, no_new_privs, seccomp" '[ "$(field CapEff $vpid)$(field CapBnd $vpid)$(field NoNewPrivs $vpid)$(field Seccomp $vpid)" = 0000000000000000000000000000000012 ]' "$(grep -E "Cap|NoNew|Seccomp" /proc/$vpid/status)"
	check "$who: its root holds the share, not /etc/passwd" \
		'[ -r /proc/$vpid/root$st/share/hello.txt ] && [ ! -e /proc/$vpid/root/etc/passwd ]' "$(ls /proc/$vpid/root)"
	check "$who: the disk (given by a link) is handed in: fd 3 is the real file" \
		'[ "$(readlink /proc/$vpid/fd/3)" = "$st/disk.img" ] && grep -q -- "--fd $st/disk.img:3" "$d/vmm.log"' \
		"fd 3: $(readlink /proc/$vpid/fd/3); $(grep phyllome-jail "$d/vmm.log")"
	check "$who: the VMM names it /dev/fd/3, not by a path" \
		'tr "\0" " " </proc/$vpid/cmdline | grep -q "path=/dev/fd/3 " && ! tr "\0" " " </proc/$vpid/cmdline | grep -q "\.img"' \
		"$(tr '\0' ' ' </proc/$vpid/cmdline)"
	check "$who: neither the disk nor its link is in the jail or its mounts" \
		'[ ! -e /proc/$vpid/root$st/disk.img ] && [ ! -e /proc/$vpid/root$st/link.img ] && ! grep -q "\.img" /proc/$vpid/mountinfo' \
		"$(grep img /proc/$vpid/mountinfo)"
	check "$who: the share's server has namespaces of its own" '! grep -q "no namespaces of its own" "$d/vmm.log"' "$(cat "$d/vmm.log")"
	check "$who: the VNC port listens (the host's network)" '(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null'
	env PHYLLOME_STATE="$st/state" "$@" "$build/phyllome" kill j1 >/dev/null 2>&1
	out=$(env PHYLLOME_STATE="$st/state" "$@" "$build/phyllome" ps -a)
	check "$who: kill -> Exited (137)" 'echo "$out" | grep -q "Exited (137)"' "$out"
	check "$who: the VMM is gone with the jail" '[ ! -e /proc/$vpid ] || [ "$(field State $vpid | cut -c1)" = Z ]'
	env PHYLLOME_STATE="$st/state" "$@" "$build/phyllome" rm j1 >/dev/null 2>&1
	check "$who: rm" '[ ! -d "$d" ]'
}

one_vm "$(id -un)"
# phyllome-jail itself: an --fd whose path holds a symbolic link is refused before anything runs.
mkdir -p "$W/fdj"
ln -s "$W/$(id -un)/disk.img" "$W/fdj/link.img" 2>/dev/null
head -c 4096 /dev/zero >"$W/$(id -un)/disk.img"
out=$("$build/phyllome-jail" --userns --id t --chroot-base "$W/fdj" --fd "$W/fdj/link.img:3" -- /bin/true 2>&1)
rc=$?
check "phyllome-jail: --fd through a symbolic link is refused" '[ $rc != 0 ] && echo "$out" | grep -q "symbolic link"' "rc $rc: $out"
# A disk that is a block device (a loop device here) and a CD image, both by descriptor: jailed.
if [ "$(id -u)" = 0 ] && head -c 1048576 /dev/zero >"$W/dev.img" && LOOP=$(losetup -f --show "$W/dev.img" 2>/dev/null); then
	st=$W/blk
	mkdir -p "$st"
	head -c 8192 /dev/zero >"$W/cd.iso"
	out=$(PHYLLOME_STATE=$st "$build/phyllome" run -d --name b1 --memory 64M --kernel "$tiny" --disk "$LOOP" --cdrom "$W/cd.iso" 2>&1)
	rc=$?
	check "block device disk: run -d, jailed (no warning)" '[ $rc = 0 ] && ! echo "$out" | grep -q "without the jail"' "$out"
	check "block device disk: inspect: Jail on" 'PHYLLOME_STATE=$st "$build/phyllome" inspect b1 | grep -q "\"Jail\": \"on\""'
	jpid=$(sed -n 's/.*"vmm_pid": \([0-9]*\).*/\1/p' "$st"/vms/*/state.json)
	vpid=$(cat /proc/"$jpid"/task/*/children 2>/dev/null | tr -d ' ')
	check "block device disk: the VMM's fd 3 is $LOOP, fd 4 the CD" \
		'[ -n "$vpid" ] && [ "$(readlink /proc/$vpid/fd/3)" = "$LOOP" ] && [ "$(readlink /proc/$vpid/fd/4)" = "$W/cd.iso" ]' \
		"vmm $vpid: $(ls -l /proc/$vpid/fd 2>&1) $(cat "$st"/vms/*/vmm.log)"
	check "block device disk: the API answers" 'PHYLLOME_STATE=$st "$build/phyllome" inspect b1 | grep -q "\"Vm\": {"'
	PHYLLOME_STATE=$st "$build/phyllome" rm -f b1 >/dev/null 2>&1
else
	ok "# SKIP not root or no loop device"
fi
# passt and swtpm: their sockets in the VM's folder reach the jailed VMM, which gets a network
# namespace of its own (no tap, no TCP port).
if command -v passt >/dev/null && command -v swtpm >/dev/null; then
	st=$W/net
	mkdir -p "$st"
	out=$(PHYLLOME_STATE=$st "$build/phyllome" run -d --name n1 --memory 64M --kernel "$tiny" --net user --tpm 2>&1)
	# shellcheck disable=SC2034 # check evaluates it
	rc=$?
	check "passt + swtpm: run -d, jailed" '[ $rc = 0 ]' "$out $(cat "$st"/vms/*/vmm.log)"
	jpid=$(sed -n 's/.*"vmm_pid": \([0-9]*\).*/\1/p' "$st"/vms/*/state.json)
	vpid=$(cat /proc/"$jpid"/task/*/children 2>/dev/null | tr -d ' ')
	check "passt + swtpm: the VMM's network namespace is its own" '[ -n "$vpid" ] && [ "$(readlink /proc/$vpid/ns/net)" != "$(readlink /proc/self/ns/net)" ]'
	check "passt + swtpm: the API answers" 'PHYLLOME_STATE=$st "$build/phyllome" inspect n1 | grep -q "\"Vm\": {"'
	PHYLLOME_STATE=$st "$build/phyllome" rm -f n1 >/dev/null 2>&1
else
	ok "# SKIP no passt or swtpm"
fi

# --sound pulse, jailed: a private PulseAudio with a null sink (as tests/pulse/run.sh).
if command -v pulseaudio >/dev/null && [ -x "$build/tests/pulsecheck" ]; then
	pa=$W/pa
	mkdir -p "$pa" "$W/pj/out"
	chmod 755 "$W/pj/out"
	(export XDG_RUNTIME_DIR=$pa HOME=$pa; exec pulseaudio -n --daemonize=no --exit-idle-time=-1 \
		--disallow-exit --use-pid-file=no -L "module-native-protocol-unix socket=$pa/native" \
		-L "module-null-sink sink_name=null" >"$pa/pa.log" 2>&1) &
	PA=$!
	for _ in $(seq 100); do [ -S "$pa/native" ] && break; sleep 0.1; done
	"$build/phyllome-jail" --userns --id pc --chroot-base "$W/pj" --file "$pa/native" --file "$W/pj/out" \
		-- "$build/tests/pulsecheck" "$W/pj/out/rec.wav" 1000 5 "$pa/native" >"$W/pj/check.err" 2>&1
	m=$("$build/tests/wavtool" measure "$W/pj/out/rec.wav" 2>&1)
	check "pulse: the back end in phyllome-jail plays and records 1 kHz through the bound socket" \
		'echo "$m" | awk '"'"'{ for (i = 1; i <= NF; i++) { if ($i ~ /^hz_median=/) h = substr($i, 11); if ($i ~ /^active_ms=/) a = substr($i, 11) } } END { d = h - 1000; if (d < 0) d = -d; exit !(d <= 20 && a + 0 >= 2000) }'"'" \
		"$m; $(tr '\n' ' ' <"$W/pj/check.err" | cut -c1-600)"
	st=$W/snd
	mkdir -p "$st"
	out=$(PHYLLOME_STATE=$st PULSE_SERVER=unix:$pa/native "$build/phyllome" run -d --name s1 --memory 64M --kernel "$tiny" --sound pulse 2>&1)
	rc=$?
	check "pulse: a --sound pulse VM runs jailed (no warning)" '[ $rc = 0 ] && ! echo "$out" | grep -q "without the jail"' "$out"
	jpid=$(sed -n 's/.*"vmm_pid": \([0-9]*\).*/\1/p' "$st"/vms/*/state.json)
	vpid=$(cat /proc/"$jpid"/task/*/children 2>/dev/null | tr -d ' ')
	check "pulse: its VMM is told the socket, which is in its root, and has libpulse loaded" \
		'[ -n "$vpid" ] && tr "\0" " " </proc/$vpid/cmdline | grep -q "pulse,server=$pa/native" && [ -S /proc/$vpid/root$pa/native ] && grep -q libpulse-simple /proc/$vpid/maps' \
		"vmm $vpid: $(tr '\0' ' ' </proc/$vpid/cmdline 2>&1); $(cat "$st"/vms/*/vmm.log)"
	PHYLLOME_STATE=$st "$build/phyllome" rm -f s1 >/dev/null 2>&1
else
	ok "# SKIP no pulseaudio"
fi

# An unprivileged user (where the build folder is open to it).
KVM_GID=$(getent group kvm | cut -d: -f3)
AS_USER="setpriv --reuid=65534 --regid=65534 --groups=$KVM_GID"
if [ "$(id -u)" = 0 ] && [ -n "$KVM_GID" ] && $AS_USER test -x "$build/phyllome" 2>/dev/null; then
	# shellcheck disable=SC2086 # the words of the command
	one_vm user $AS_USER
fi
echo "1..$N"
[ "$FAILED" = 0 ]
