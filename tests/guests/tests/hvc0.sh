#!/bin/sh
# virtio-console (rig scenario hvc0). hvc.mode=file: writes "PHYLLOME-HVC0 hvc.word" to /dev/hvc0
# (the rig finds it in the VMM's --console file). hvc.mode=socket: prints
# "PHYLLOME-STEP hvc0 waiting", reads a line from /dev/hvc0 (60 s at most), checks it is hvc.word,
# and answers "PHYLLOME-HVC0-REPLY <line>" on /dev/hvc0.
NAME=hvc0
. /tests/lib.sh

mode=$(arg hvc.mode) || fail "hvc.mode= missing from the command line"
word=$(arg hvc.word) || fail "hvc.word= missing from the command line"
wait_path /dev/hvc0 10 || fail "no /dev/hvc0 (virtio ports: $(echo /sys/class/virtio-ports/*))"
case $mode in
file)
	echo "PHYLLOME-HVC0 $word" >/dev/hvc0 || fail "write to /dev/hvc0 failed"
	sleep 1 # let the VMM take it before the power goes
	echo "PHYLLOME-TEST $NAME PASS wrote to /dev/hvc0"
	;;
socket)
	exec 3<>/dev/hvc0 || fail "cannot open /dev/hvc0"
	stty -F /dev/hvc0 -echo 2>/dev/null
	echo "PHYLLOME-STEP $NAME waiting"
	line=
	# shellcheck disable=SC3045 # busybox ash has read -t
	read -r -t 60 line <&3 || fail "nothing read from /dev/hvc0 within 60 s (got '$line')"
	line=$(printf '%s' "$line" | tr -d '\r')
	echo "PHYLLOME-STEP $NAME got '$line'"
	[ "$line" = "$word" ] || fail "read '$line' from /dev/hvc0, expected '$word'"
	echo "PHYLLOME-HVC0-REPLY $line" >&3 || fail "write to /dev/hvc0 failed"
	sleep 1
	exec 3>&-
	echo "PHYLLOME-TEST $NAME PASS read the line from /dev/hvc0 and answered"
	;;
*) fail "unknown hvc.mode=$mode" ;;
esac
poweroff -f
