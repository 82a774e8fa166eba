#!/bin/sh
# The USB tablet and keyboard (rig scenario usb): waits until the guest's xhci_hcd and usbhid have
# both devices in /proc/bus/input/devices and prints what it says of each ("PHYLLOME-STEP usb
# devices ..."). With phyllome.usb=vnc (the VMM has a display), it reads the screen's size from
# the bochs DRM driver's fb0 ("PHYLLOME-STEP usb ready WxH"), records the events of the USB tablet
# (/tmp/tablet.ev, what the rig's check_tablet reads), the USB keyboard (/tmp/usbkbd.ev), and those
# of the devices the input must not go to while the USB ones are configured: the virtio-input
# tablet (/tmp/vtab.ev) and the PS/2 keyboard (/tmp/kbd.ev); starts a shell reading tty1 and
# prints "PHYLLOME-STEP usb kbd-ready". Then it goes on as the console test.
NAME=usb
. /tests/lib.sh

# ev_of PATTERN: the evdev node of the input device whose name matches PATTERN (a shell glob:
# phyllome-vmm's are "Phyllome USB Tablet" and "Phyllome USB Keyboard", QEMU's "QEMU QEMU USB
# Tablet" and "QEMU QEMU USB Keyboard").
ev_of() {
	for e in /sys/class/input/event*; do
		# shellcheck disable=SC2254 # $1 is a pattern
		case $(cat "$e/device/name" 2>/dev/null) in $1) echo "${e##*/}"; return 0 ;; esac
	done
	return 1
}
# info PATTERN: the Name, Handlers and capability lines /proc/bus/input/devices has for it.
info() {
	e=$(ev_of "$1") || return
	awk -v n="$e" '$0 == "" { if (hit) { print buf; hit = 0; exit } buf = ""; next }
		{ buf = buf $0 " "; h = " " $0 " "; gsub(/=/, " ", h) }
		/^H: / && index(h, " " n " ") { hit = 1 }
		END { if (hit) print buf }' /proc/bus/input/devices
}

i=0
while ! ev_of '*USB Tablet' >/dev/null || ! ev_of '*USB Keyboard' >/dev/null; do
	[ $i -ge 600 ] && fail "no USB tablet and keyboard after 60 s: $(grep Name= /proc/bus/input/devices | tr '\n' ' '); $(dmesg | grep -i -e xhci -e usb | tail -n 5 | tr '\n' ' ')"
	sleep 0.1
	i=$((i + 1))
done
echo "PHYLLOME-STEP $NAME devices tablet: $(info '*USB Tablet')"
echo "PHYLLOME-STEP $NAME devices keyboard: $(info '*USB Keyboard')"

if [ "$(arg phyllome.usb)" = vnc ]; then
	wait_path /dev/fb0 30 || fail "no /dev/fb0"
	IFS=, read -r W H </sys/class/graphics/fb0/virtual_size
	M=$(sed -n 's/^U:[0-9]*x\([0-9]*\).*/\1/p' /sys/class/graphics/fb0/modes | head -n 1)
	[ -n "$M" ] && H=$M
	dd if="/dev/input/$(ev_of '*USB Tablet')" of=/tmp/tablet.ev bs=24 2>/dev/null &
	dd if="/dev/input/$(ev_of '*USB Keyboard')" of=/tmp/usbkbd.ev bs=24 2>/dev/null &
	: >/tmp/vtab.ev
	: >/tmp/kbd.ev
	e=$(ev_of 'Phyllome Tablet') && dd if="/dev/input/$e" of=/tmp/vtab.ev bs=24 2>/dev/null &
	for e in /sys/class/input/event*; do
		grep -q 'AT Translated' "$e/device/name" 2>/dev/null && dd if="/dev/input/${e##*/}" of=/tmp/kbd.ev bs=24 2>/dev/null &
	done
	echo "PHYLLOME-STEP $NAME ready ${W}x$H"
	setsid sh -c 'while IFS= read -r l; do sh -c "$l"; done </dev/tty1 >/dev/console 2>&1' &
	sleep 0.5
	echo "PHYLLOME-STEP $NAME kbd-ready"
fi
exec sh /tests/console.sh
