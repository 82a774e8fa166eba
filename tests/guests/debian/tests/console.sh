#!/bin/sh
# As the busybox guest's console test: PHYLLOME-BOOT, PHYLLOME-READY, then each line read from
# the serial port runs in sh; 'poweroff' and 'reboot' go through systemd (a clean shutdown).
NAME=console
. /tests/lib.sh
echo PHYLLOME-BOOT
echo PHYLLOME-READY
while IFS= read -r line; do
	case $line in
	poweroff) systemctl poweroff ;;
	reboot) systemctl reboot ;;
	'') ;;
	*) sh -c "$line" ;;
	esac
done
fail "console input ended"
