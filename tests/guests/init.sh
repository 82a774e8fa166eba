#!/bin/busybox sh
# /init of the L2 test guest (built into l2-initramfs.cpio.gz by build-guests.sh).
# Kernel command line: phyllome.test=NAME runs /tests/NAME.sh; without it, an interactive shell.
# PHYLLOME-USERSPACE comes first: the boot-time benchmark measures up to it.
/bin/busybox echo PHYLLOME-USERSPACE
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM="${TERM:-linux}"
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp

# Modules in dependency order (resolved from modules.dep at build time). Missing or failing ones
# (built in, no such device) are not fatal.
while read -r m; do
	[ -f "/lib/modules/$m" ] || continue
	insmod "/lib/modules/$m" 2>/dev/null || echo "init: insmod $m failed (ignored)"
done </lib/modules/load-order

# busybox's poweroff/reboot/halt without -f signal PID 1: honour them. A trap runs when 'wait'
# returns, which is why the shell below runs in the background.
trap 'poweroff -f' USR2 USR1
trap 'reboot -f' TERM

TEST= ACPID=
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case $arg in
	phyllome.test=*) TEST=${arg#phyllome.test=} ;;
	phyllome.acpid=1) ACPID=1 ;;
	esac
done

# phyllome.acpid=1: busybox acpid turns the ACPI power button (button.ko -> evdev KEY_POWER)
# into a clean poweroff: it runs /etc/acpi/PWRF/00000080, which says so on the console and
# runs poweroff (init's trap below). Off by default: the API scenario presses the button and
# expects the guest to stay up.
if [ -n "$ACPID" ]; then
	mkdir -p /etc/acpi/PWRF
	printf '#!/bin/sh\necho PHYLLOME-POWER-BUTTON >/dev/console\npoweroff\n' >/etc/acpi/PWRF/00000080
	chmod 755 /etc/acpi/PWRF/00000080
	acpid -c /etc/acpi -l /tmp/acpid.log || echo "init: acpid failed"
fi

if [ -n "$TEST" ]; then
	if [ -f "/tests/$TEST.sh" ]; then
		sh "/tests/$TEST.sh" </dev/console >/dev/console 2>&1 &
		wait $!
		echo "PHYLLOME-TEST $TEST FAIL test ended without powering off (status $?)"
	else
		echo "PHYLLOME-TEST $TEST FAIL no such test /tests/$TEST.sh"
	fi
	poweroff -f
fi

echo "PHYLLOME-SHELL busybox sh on $(cat /sys/class/tty/console/active 2>/dev/null); 'poweroff' stops the VM"
cd /root || cd /
# setsid + cttyhack: a session of its own, with the console as controlling tty (job control, ^C).
setsid cttyhack sh -l </dev/console >/dev/console 2>&1 &
wait $!
poweroff -f
