#!/bin/sh
# Prints PHYLLOME-BOOT then PHYLLOME-READY, then runs each line read from the console with sh.
# 'poweroff' powers off, 'reboot' reboots (on the next boot this test runs again).
echo PHYLLOME-BOOT
echo PHYLLOME-READY
while IFS= read -r line; do
	case $line in
	poweroff) poweroff -f ;;
	reboot) reboot -f ;;
	'') ;;
	*) sh -c "$line" ;;
	esac
done
echo "PHYLLOME-TEST console FAIL console input ended"
poweroff -f
