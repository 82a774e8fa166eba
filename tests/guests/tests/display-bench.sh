#!/bin/sh
# The display benchmark's guest (bench/l1/display-bench.sh): waits for /dev/fb0, unbinds fbcon,
# makes two full-screen frames (different colours on every pixel), then prints
# "PHYLLOME-STEP display-bench animating WxH" and writes them to /dev/fb0 in turn for
# bench.secs= seconds (default 20), then its CPU flags and mitigations ("PHYLLOME-STEP
# display-bench cpu|vulns ...") and "PHYLLOME-STEP display-bench done frames=N secs=S
# clocksource=C" (the guest's clock source), and goes on as the console test (idle; poweroff
# ends it).
NAME=display-bench
. /tests/lib.sh

secs=$(arg bench.secs) || secs=20
wait_path /dev/fb0 30 || fail "no /dev/fb0"
IFS=, read -r W VH </sys/class/graphics/fb0/virtual_size
H=$(sed -n 's/^U:[0-9]*x\([0-9]*\).*/\1/p' /sys/class/graphics/fb0/modes | head -n 1)
[ -n "$H" ] || H=$VH
for v in /sys/class/vtconsole/vtcon*; do
	grep -q 'frame buffer' "$v/name" 2>/dev/null && echo 0 >"$v/bind"
done
frame() {
	printf "$1" >/tmp/px
	n=1
	while [ $n -lt $((W * H)) ]; do cat /tmp/px /tmp/px >/tmp/px2; mv /tmp/px2 /tmp/px; n=$((n * 2)); done
	head -c $((W * H * 4)) /tmp/px >"$2"
	rm -f /tmp/px
}
frame '\020\040\300\000' /tmp/fa
frame '\300\200\020\000' /tmp/fb
echo "PHYLLOME-STEP $NAME animating ${W}x$H"
end=$(($(cut -d. -f1 /proc/uptime) + secs))
frames=0
while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
	cat /tmp/fa >/dev/fb0
	cat /tmp/fb >/dev/fb0
	frames=$((frames + 2))
done
# What the guest's kernel made of the virtual CPU: its flags and mitigations (they decide the
# cost of the system calls and copies that drawing is made of).
echo "PHYLLOME-STEP $NAME cpu flags=$(grep -m 1 '^flags' /proc/cpuinfo | cut -d: -f2 | tr -s ' ' ',')"
v=
for f in /sys/devices/system/cpu/vulnerabilities/*; do v="$v ${f##*/}=$(tr ' ' _ <"$f")"; done
echo "PHYLLOME-STEP $NAME vulns$v"
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)
echo "PHYLLOME-STEP $NAME done frames=$frames secs=$secs clocksource=${cs:-unknown}"
exec sh /tests/console.sh
