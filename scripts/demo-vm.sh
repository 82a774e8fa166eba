#!/bin/sh
# The demo's VM and app (scripts/demo.sh): the Debian system (tests/guests/build-debian.sh) with a
# screen, run by the manager, shown in `phyllome ui`. POSIX sh: it runs on the host (hardware KVM)
# and, under busybox, in the rig's L1 (tests/rig/l1/demo.sh).
#   demo-vm.sh PHYLLOME WORK KERNEL INITRD ROOTDISK LISTEN TESTSDIR RFBTOOL
# PHYLLOME: the manager (its state folder: $PHYLLOME_STATE); WORK: a folder for the tests' disk,
# the screen's socket and logs; ROOTDISK: the system's disk (writable; a copy or an overlay: the
# guest writes to it); LISTEN: `phyllome ui --listen`'s address; TESTSDIR: tests/guests/debian-extra
# (its demo.sh goes onto the tests' disk); RFBTOOL: the VNC client the screen is checked with.
# Prints "demo: ... [Ns]" progress lines (N: seconds since the start), "DEMO-URL URL" once the app answers, and "DEMO-READY ..."
# once tty1's login prompt is on the screen (the guest found it in tty1's text; here its text row
# has lit pixels in the VMM's screen and the rows below it none, and `phyllome screenshot`, what
# the app's thumbnail shows, is a PNG of the screen's size). Then it waits for SIGINT or SIGTERM
# and tears down: the app, the VM (the power button: systemd shuts down; then rm -f). Status 0,
# or 1 with "demo: error: ..." when a step failed (it tears down then too).
set -u
PH=$1 WORK=$2 KERNEL=$3 INITRD=$4 ROOT=$5 LISTEN=$6 TESTS=$7 RFB=$8
VM=phyllome-demo
PATH=$PATH:/usr/sbin:/sbin
T_WAIT=${DEMO_T_WAIT:-600} # seconds for each wait (the rig's emulated L1 is slow)
# e2fsprogs' mke2fs (-d); busybox's ash would run its own applet of that name: L1 names the path.
MKE2FS=${MKE2FS:-mke2fs}

# Seconds since the demo started ($DEMO_T0, date +%s.%N, from scripts/demo.sh), else since this.
if [ -n "${DEMO_T0:-}" ]; then
	now() { date +%s.%N; }
	T0=$DEMO_T0
else
	now() { cut -d' ' -f1 /proc/uptime; }
	T0=$(now)
fi
el() { awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%.0fs", b - a }'; }
say() { echo "demo: $* [$(el)]"; }
UI_PID='' STOPPING=''
teardown() {
	[ -n "$STOPPING" ] && return
	STOPPING=1
	[ -z "$UI_PID" ] || kill "$UI_PID" 2>/dev/null
	if "$PH" inspect "$VM" >/dev/null 2>&1; then
		say "stopping the VM (the ACPI power button: systemd shuts Debian down)"
		"$PH" stop -t 60 "$VM" >/dev/null 2>&1 || say "stop failed; removing it anyway"
		"$PH" rm -f "$VM" >/dev/null 2>&1
	fi
	[ -z "$UI_PID" ] || wait "$UI_PID" 2>/dev/null
	say "stopped: the VM and the app are gone"
}
die() {
	echo "demo: error: $*"
	[ -z "${VMDIR:-}" ] || tail -n 15 "$VMDIR/serial.log" "$VMDIR/vmm.log" 2>/dev/null | sed 's/^/demo: | /'
	teardown
	exit 1
}
trap 'teardown; exit 0' INT TERM HUP

# wait_serial PATTERN WHAT: waits for PATTERN in the guest's serial log.
wait_serial() {
	_end=$(($(cut -d. -f1 /proc/uptime) + T_WAIT))
	until grep -q "$1" "$VMDIR/serial.log" 2>/dev/null; do
		grep -q 'PHYLLOME-TEST demo FAIL' "$VMDIR/serial.log" 2>/dev/null &&
			die "the guest: $(grep -o 'PHYLLOME-TEST demo FAIL.*' "$VMDIR/serial.log" | head -n 1 | tr -d '\r')"
		"$PH" ps --format json | grep -q "\"Name\":\"$VM\"" || die "the VM ended while $2"
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$_end" ] || die "no '$1' from the guest in $T_WAIT s ($2)"
		sleep 0.5
	done
}

# ppm_band_lit FILE Y0 ROWS: whether pixel rows Y0..Y0+ROWS-1 of the binary PPM FILE (rfbtool's
# "P6\nW H\n255\n") have any non-black pixel.
ppm_band_lit() {
	_h=$(head -n 3 "$1" | wc -c) _w=$(head -n 2 "$1" | tail -n 1 | cut -d' ' -f1)
	[ "$(dd if="$1" iflag=skip_bytes skip=$((_h + 3 * _w * $2)) bs=$((3 * _w)) count="$3" 2>/dev/null |
		tr -d '\000' | wc -c)" -gt 0 ]
}

mkdir -p "$WORK/tests"
"$PH" rm -f "$VM" >/dev/null 2>&1 # a demo left behind by a killed run
cp "$TESTS/demo.sh" "$WORK/tests/demo.sh"
rm -f "$WORK/tests.img"
"$MKE2FS" -q -t ext4 -L phyllome-tests -d "$WORK/tests" "$WORK/tests.img" 4M >/dev/null ||
	die "mke2fs of the tests' disk failed"
say "guest booting: Debian 12 (systemd, udev, its own initrd) with a screen, as the VM '$VM' of the manager"
"$PH" run -d --name "$VM" --cpus 2 --memory 1G --kernel "$KERNEL" --initramfs "$INITRD" \
	--cmdline "console=ttyS0 root=/dev/vda quiet phyllome.test=demo phyllome.tests=LABEL=phyllome-tests" \
	--disk "$ROOT" --disk "$WORK/tests.img" --display "vnc=unix:$WORK/screen.sock" >"$WORK/run.out" 2>&1 ||
	die "phyllome run: $(cat "$WORK/run.out")"
VMDIR=$("$PH" inspect "$VM" | sed -n 's/.*"Path": "\(.*\)",/\1/p' | head -n 1)
[ -d "$VMDIR" ] || die "phyllome inspect $VM names no folder"

# DEMO_OPEN=1: `phyllome ui --open` opens the link in the desktop's browser (scripts/demo.sh).
"$PH" ui --listen "$LISTEN" ${DEMO_OPEN:+--open} >"$WORK/ui.out" 2>"$WORK/ui.err" &
UI_PID=$!
URL=
for _ in $(seq 100); do
	URL=$(sed -n 's/^phyllome ui: open \(http:[^ ]*\).*/\1/p' "$WORK/ui.out")
	[ -n "$URL" ] && break
	kill -0 "$UI_PID" 2>/dev/null || break
	sleep 0.1
done
[ -n "$URL" ] || die "phyllome ui printed no link: $(cat "$WORK/ui.err")"
# The app answers (without the cookie: 401), before anyone uses the one-time link.
BASE=${URL%%/login*}
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/vms")
[ "$code" = 401 ] || die "the app at $BASE answered $code without the cookie, not 401"
say "phyllome ui answers at $BASE"
echo "DEMO-URL $URL"

wait_serial PHYLLOME-USERSPACE "the kernel booted"
say "guest: the kernel runs the initrd's userspace (initramfs-tools)"
wait_serial 'PHYLLOME-STEP demo started' "systemd started"
say "guest: systemd runs the real root's services (udev loads the display's bochs DRM driver)"
wait_serial 'PHYLLOME-STEP demo login-prompt' "tty1's getty"
step=$(grep -o 'PHYLLOME-STEP demo login-prompt.*' "$VMDIR/serial.log" | head -n 1 | tr -d '\r')
row=$(echo "$step" | sed -n 's/.* row=\([0-9]*\).*/\1/p')
lines=$(echo "$step" | sed -n 's/.* lines=\([0-9]*\).*/\1/p')
fb=$(echo "$step" | sed -n 's/.* fb=\([0-9]*x[0-9]*\).*/\1/p')
say "guest: tty1 shows the login prompt (text row $row of $lines, fb $fb); checking the screen"

# The screen itself: the prompt's text row has lit pixels, the rows below it none (fbcon may
# still be drawing: a few tries).
ok=
for _ in 1 2 3 4 5 6 7 8 9 10; do
	if "$RFB" "unix:$WORK/screen.sock" shot "$WORK/screen.ppm" >"$WORK/rfb.out" 2>&1; then
		size=$(sed -n 's/^size=//p' "$WORK/rfb.out")
		w=${size%x*} h=${size#*x}
		ch=$((h / lines))
		if [ "$size" = "$fb" ] && ppm_band_lit "$WORK/screen.ppm" $((row * ch)) "$ch" &&
			! ppm_band_lit "$WORK/screen.ppm" $(((row + 1) * ch)) $((h - (row + 1) * ch)); then
			ok=1
			break
		fi
	fi
	sleep 1
done
[ -n "$ok" ] || die "the screen ($(tr '\n' ' ' <"$WORK/rfb.out")) does not show tty1's text row $row of $lines (fb $fb)"
"$PH" screenshot "$VM" "$WORK/screen.png" >/dev/null 2>&1 || die "phyllome screenshot $VM failed"
png=$(head -c 24 "$WORK/screen.png" | od -An -tx1 | tr -d ' \n')
pw=$((0x$(echo "$png" | cut -c33-40))) ph=$((0x$(echo "$png" | cut -c41-48)))
case $png in 89504e470d0a1a0a*) ;; *) die "phyllome screenshot $VM wrote no PNG" ;; esac
[ "${pw}x$ph" = "$fb" ] || die "phyllome screenshot $VM is ${pw}x$ph, the screen $fb"
echo "DEMO-READY the login prompt is on the screen (${w}x$h, row $row lit in the VMM's screen; phyllome screenshot ${pw}x$ph) [$(el)]"

while :; do
	sleep 1
	if ! kill -0 "$UI_PID" 2>/dev/null; then
		say "phyllome ui ended: $(tail -n 1 "$WORK/ui.err")"
		UI_PID=
		teardown
		exit 1
	fi
	if ! "$PH" ps --format json | grep -q "\"Name\":\"$VM\""; then
		say "the VM ended (poweroff in the guest?); the app keeps running until Ctrl-C"
		while kill -0 "$UI_PID" 2>/dev/null; do sleep 1; done
	fi
done
