#!/bin/sh
# A guest printing as fast as it can (rig scenario debian-flood): flood.mib MiB into its console,
# /dev/hvc0 (virtio-console; the VMM writes it to a capped --console file=), in 1 MiB writes of
# "PHYLLOME-FLOOD flood.word" lines, stopping early after flood.secs seconds; then the line
# "PHYLLOME-FLOOD-END flood.word" (the newest output: the rig looks for it at the end of the log).
# Progress goes to ttyS0 (the rig's serial output) every 8 MiB. Not in the image: a scenario
# brings it on a disk (tests/guests/README.md).
# shellcheck disable=SC2034,SC1091 # lib.sh (the guest's /tests/lib.sh) reads NAME
NAME=flood
. /tests/lib.sh

mib=$(arg flood.mib) || fail "flood.mib= missing from the command line"
secs=$(arg flood.secs) || fail "flood.secs= missing from the command line"
word=$(arg flood.word) || fail "flood.word= missing from the command line"
wait_path /dev/hvc0 60 || fail "no /dev/hvc0 (virtio-console)"
yes "PHYLLOME-FLOOD $word" | head -c 1048576 >/tmp/block || fail "cannot make the 1 MiB block"
# Raw: the bytes as they are (no \r added to each \n).
stty -F /dev/hvc0 raw -echo 2>/dev/null
exec 3>/dev/hvc0 || fail "cannot open /dev/hvc0"
echo "PHYLLOME-STEP flood started"
# The rig reads the VMM's memory and answers before the flood.
sleep 5
t0=$(date +%s.%N) end=$(($(date +%s) + secs)) n=0
while [ $n -lt "$mib" ] && [ "$(date +%s)" -lt $end ]; do
	cat /tmp/block >&3 || fail "write to /dev/hvc0 failed after $n MiB"
	n=$((n + 1))
	[ $((n % 8)) -eq 0 ] && echo "PHYLLOME-STEP flood progress $n MiB"
done
echo "PHYLLOME-FLOOD-END $word" >&3 || fail "write to /dev/hvc0 failed"
t1=$(date +%s.%N)
exec 3>&-
rate=$(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.1f s, %.2f MiB/s", b - a, n / (b - a) }')
echo "PHYLLOME-TEST flood PASS wrote $n MiB to /dev/hvc0 in $rate"
echo "PHYLLOME-STEP flood ready for the power button"
while :; do sleep 1; done
