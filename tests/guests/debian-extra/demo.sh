#!/bin/sh
# The README's demo (scripts/demo.sh, scripts/demo-vm.sh): the Debian system's screen with a login
# prompt on tty1, what `phyllome ui` shows. Not in the image: the demo brings it on a disk
# (phyllome.tests=LABEL=phyllome-tests), so changing it does not rebuild the system.
# Waits for the bochs DRM driver's /dev/fb0 (fbcon then draws tty1 on the screen), puts a banner
# saying what this is into /etc/issue, restarts tty1's getty on a cleared screen, and waits until
# tty1's text (/dev/vcs1) has the login prompt. Then "PHYLLOME-STEP demo login-prompt row=R
# cols=C lines=L fb=WxH" (R: the prompt's text row, 0-based), which the demo checks against the
# screen's pixels, and systemd's state once it settles. It then idles: the power button
# (phyllome stop) shuts the system down in order.
NAME=demo
. /tests/lib.sh
export SYSTEMD_PAGER=

echo "PHYLLOME-STEP demo started"
wait_path /dev/fb0 120 || fail "no /dev/fb0 ($(dmesg | grep -i -e bochs -e drm | tail -n 3 | tr '\n' ' '))"
kernel=$(uname -r)
cat >/etc/issue <<EOF

  Phyllome demo: Debian 12 (systemd, udev, Linux $kernel)
  in a phyllome-vmm virtual machine, on its display device (Linux's bochs DRM driver),
  shown live in \`phyllome ui\`.

  Log in as root (no password). \`poweroff\` ends this VM; Ctrl-C in the demo ends it all.

EOF
# A clean screen for the new prompt (Debian's getty@tty1 runs agetty --noclear).
printf '\033[H\033[2J' >/dev/tty1
systemctl restart getty@tty1.service || fail "systemctl restart getty@tty1 failed"
i=0
until tr -s ' ' </dev/vcs1 | grep -q 'phyllome-debian login:'; do
	[ $i -ge 1200 ] && fail "no login prompt on tty1 in 120 s: '$(tr -s ' ' </dev/vcs1 | head -c 300)'"
	sleep 0.1
	i=$((i + 1))
done
# /dev/vcsa1's header: lines, columns, cursor x, cursor y (one byte each). The prompt's row is
# the cursor's (agetty waits for the name after it).
# shellcheck disable=SC2046 # four numbers
set -- $(head -c 4 /dev/vcsa1 | od -An -tu1)
lines=$1 cols=$2 row=$4
mode=$(sed -n 's/^U:\([0-9]*x[0-9]*\).*/\1/p' /sys/class/graphics/fb0/modes | head -n 1)
echo "PHYLLOME-STEP demo login-prompt row=$row cols=$cols lines=$lines fb=$mode fb0=$(cat /sys/class/graphics/fb0/name)"
state=$(timeout 300 systemctl is-system-running --wait 2>&1)
times=$(systemd-analyze time 2>&1 | head -n 1 | sed 's/^Startup finished in //')
echo "PHYLLOME-STEP demo systemd state=$state; $times"
while :; do sleep 60; done
