#!/bin/sh
# --rtc base=localtime (rig scenario rtc-localtime): the VMM runs with TZ=JST-9, so the guest's
# CMOS clock, which Linux reads as UTC, is 9 hours ahead of the host's UTC (L1 passes its
# epoch at start as phyllome.host_epoch; the boot in between takes seconds to minutes).
NAME=rtc-local
. /tests/lib.sh

wait_path /sys/class/rtc/rtc0/since_epoch 10 || fail "no /sys/class/rtc/rtc0"
host=$(arg phyllome.host_epoch) || fail "no phyllome.host_epoch= on the command line"
want=$(arg phyllome.rtc_ahead) || fail "no phyllome.rtc_ahead= on the command line"
rtc=$(cat /sys/class/rtc/rtc0/since_epoch)
ahead=$((rtc - host))
# At most 10 minutes between L1's date and this read, whatever the rig's load.
if [ "$ahead" -lt "$want" ] || [ "$ahead" -gt $((want + 600)) ]; then
	fail "the RTC is $ahead s ahead of the host's UTC at start, expected $want s (+ the boot)"
fi
echo "PHYLLOME-TEST $NAME PASS the RTC reads $ahead s ahead of the host's UTC at start (zone offset $want s)"
poweroff -f
