#!/bin/sh
# The Debian system's boot (rig scenario debian-boot): systemd reaches "running" ("degraded" fails:
# it names the failed units), udev made /dev/vda and its by-label link, the RTC and the system
# clock agree with each other and with the host's time (debian.now=EPOCH on the command line: L1's
# clock when the VMM started), the clock source is a paravirtual or TSC one that the kernel did not
# mark unstable. Then PHYLLOME-TEST boot PASS, and the guest waits for the ACPI power button: the
# scenario presses it, systemd-logind powers the guest off in order (phyllome-shutdown.service
# prints PHYLLOME-SHUTDOWN poweroff.target) and the VMM must end with status 0.
NAME=boot
. /tests/lib.sh
export SYSTEMD_PAGER=

echo "PHYLLOME-STEP boot started"
state=$(timeout 300 systemctl is-system-running --wait 2>&1)
case $state in
running) ;;
degraded) fail "systemd is degraded: $(systemctl --failed --plain --no-legend | awk '{ print $1 }' | tr '\n' ' ')" ;;
*) fail "systemd state '$state'" ;;
esac
# "Startup finished in 1.2s (kernel) + 3.4s (initrd) + 5.6s (userspace) = 10.2s ..."
times=$(systemd-analyze time 2>&1 | head -n 1 | sed 's/^Startup finished in //')
echo "PHYLLOME-STEP boot state=$state systemd-analyze: $times"

# udev: the root disk's node and the by-label link udev's blkid rule makes.
[ -b /dev/vda ] || fail "no /dev/vda"
udevadm info --query=property --name=/dev/vda | grep -q '^ID_PATH=' || fail "udev has no ID_PATH for /dev/vda"
label=$(readlink -f /dev/disk/by-label/phyllome-debian 2>/dev/null)
[ "$label" = /dev/vda ] || fail "/dev/disk/by-label/phyllome-debian -> '$label', expected /dev/vda"

# The RTC (rtc_cmos) and the clocks.
[ -c /dev/rtc0 ] || fail "no /dev/rtc0"
rtc_name=$(cat /sys/class/rtc/rtc0/name)
rtc=$(cat /sys/class/rtc/rtc0/since_epoch) || fail "cannot read the RTC"
now=$(date +%s)
d=$((now - rtc))
# The system clock starts from the RTC at boot and runs on the clock source after. In the rig
# (L1 is TCG: its time and the TSC that L2's clocks run on need not agree) they drifted apart by
# 4 s in 8 minutes of a slow boot (0.8 %): within 2 s plus 2 % of the uptime passes.
up=$(cut -d. -f1 /proc/uptime)
[ ${d#-} -le $((2 + up / 50)) ] || fail "system clock $now and RTC $rtc differ by $d s after $up s of uptime (clock source $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource))"
# hwclock waits for the RTC's update interrupt (the RTC core makes it from the alarm, IRQ 8);
# without one it says "select() ... timed out" after 10 s and reads the time anyway.
hw=$(hwclock --show --utc 2>&1) || fail "hwclock --show: $hw"
case $hw in *'timed out'*) fail "hwclock --show: no RTC interrupt: $(echo "$hw" | tr '\n' ' ')" ;; esac
host=$(arg debian.now) || fail "no debian.now= on the command line"
# The guest's clock runs from the host's time at the VMM's start; nested boots take minutes.
[ "$now" -ge $((host - 2)) ] && [ "$now" -le $((host + 1800)) ] ||
	fail "guest time $now is not within [-2 s, 30 min] of L1's $host at the VMM's start"
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
case $cs in kvm-clock | tsc) ;; *) fail "clock source '$cs' (available: $(cat /sys/devices/system/clocksource/clocksource0/available_clocksource))" ;; esac
unstable=$(dmesg | grep -i 'clocksource.*unstable' | head -n 1)
[ -z "$unstable" ] || fail "kernel: $unstable"
m0=$(cut -d' ' -f1 /proc/uptime)
sleep 1
m1=$(cut -d' ' -f1 /proc/uptime)
[ "$(echo "$m1 > $m0" | awk '{ print ($1 > $3) }')" = 1 ] || fail "uptime did not advance across sleep 1 ($m0 -> $m1)"
echo "PHYLLOME-STEP boot clocks rtc=$rtc_name system-rtc=${d}s after ${up}s guest-L1=$((now - host))s clocksource=$cs"

# The power button: systemd-logind handles KEY_POWER from the ACPI button's input device.
wait_path /dev/input/by-path 1 || true
btn=$(grep -l -i 'power button' /sys/class/input/input*/name 2>/dev/null | head -n 1)
[ -n "$btn" ] || fail "no power button input device ($(cat /sys/class/input/input*/name 2>/dev/null | tr '\n' ','))"
systemctl is-active -q systemd-logind || fail "systemd-logind is not active"
echo "PHYLLOME-TEST boot PASS $state; $times; $(cat "$btn")"
echo "PHYLLOME-STEP boot ready for the power button"
while :; do sleep 1; done
