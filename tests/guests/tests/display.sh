#!/bin/sh
# The display (rig scenario display): waits for the bochs DRM driver's /dev/fb0, unbinds fbcon
# (so no cursor or text draws over the picture), fills the visible screen with four horizontal
# bands (red, green, blue, and 0x804020) and prints "PHYLLOME-STEP display drawn WxH". Then it
# starts a shell reading the first virtual terminal (what the PS/2 keyboard types into), with its
# output on the serial console, prints "PHYLLOME-STEP display kbd-ready", and goes on as the
# console test (lines from the serial port run; poweroff ends it). The virtio-input tablet's
# events are recorded in /tmp/tablet.ev ("PHYLLOME-STEP display tablet eventN").
NAME=display
. /tests/lib.sh

wait_path /dev/fb0 30 || fail "no /dev/fb0 ($(dmesg | grep -i -e bochs -e drm | tail -n 3 | tr '\n' ' '))"
fbname=$(cat /sys/class/graphics/fb0/name)
IFS=, read -r W VH </sys/class/graphics/fb0/virtual_size
stride=$(cat /sys/class/graphics/fb0/stride)
bpp=$(cat /sys/class/graphics/fb0/bits_per_pixel)
H=$(sed -n 's/^U:[0-9]*x\([0-9]*\).*/\1/p' /sys/class/graphics/fb0/modes | head -n 1)
[ -n "$H" ] || H=$VH
[ "$bpp" = 32 ] && [ "$stride" = $((W * 4)) ] || fail "fb0 ($fbname) is ${W}x$VH, $bpp bpp, stride $stride: expected 32 bpp, packed rows"
for v in /sys/class/vtconsole/vtcon*; do
	grep -q 'frame buffer' "$v/name" 2>/dev/null && echo 0 >"$v/bind"
done
echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null

# band BGRX-OCTAL FILE: H/4 rows of one colour, by doubling.
band() {
	printf "$1" >/tmp/px
	n=1
	while [ $n -lt $((W * H / 4)) ]; do cat /tmp/px /tmp/px >/tmp/px2; mv /tmp/px2 /tmp/px; n=$((n * 2)); done
	head -c $((W * H / 4 * 4)) /tmp/px >"$2"
}
band '\000\000\377\000' /tmp/b0
band '\000\377\000\000' /tmp/b1
band '\377\000\000\000' /tmp/b2
band '\040\100\200\000' /tmp/b3
rm -f /tmp/px
cat /tmp/b0 /tmp/b1 /tmp/b2 /tmp/b3 >/dev/fb0 || fail "cannot write /dev/fb0"
rm -f /tmp/b0 /tmp/b1 /tmp/b2 /tmp/b3
echo "PHYLLOME-STEP $NAME drawn ${W}x$H ($fbname)"

# The tablet (virtio-input): its events into /tmp/tablet.ev as they come (dd writes each 24-byte
# struct input_event at once); the rig reads them back through the serial shell.
tab=
for e in /sys/class/input/event*; do
	grep -q 'Phyllome Tablet' "$e/device/name" 2>/dev/null && tab=${e##*/}
done
if [ -n "$tab" ]; then
	dd if="/dev/input/$tab" of=/tmp/tablet.ev bs=24 2>/dev/null &
	echo "PHYLLOME-STEP $NAME tablet $tab"
else
	echo "PHYLLOME-STEP $NAME no-tablet ($(cat /sys/class/input/*/name 2>/dev/null | tr '\n' ','))"
fi

# The PS/2 keyboard's events too (for the rig's diagnostics when a typed line goes missing).
for e in /sys/class/input/event*; do
	grep -q 'AT Translated' "$e/device/name" 2>/dev/null && dd if="/dev/input/${e##*/}" of=/tmp/kbd.ev bs=24 2>/dev/null &
done

# What the keyboard types goes to tty1: each line runs, its output on the serial console.
setsid sh -c 'while IFS= read -r l; do sh -c "$l"; done </dev/tty1 >/dev/console 2>&1' &
sleep 0.5
echo "PHYLLOME-STEP $NAME kbd-ready"
exec sh /tests/console.sh
