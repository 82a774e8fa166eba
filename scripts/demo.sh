#!/bin/bash
# The README's first command: Phyllome as a desktop VMM. Boots a real OS with a screen (the Debian
# 12 system tests/guests/build-debian.sh builds once and caches: systemd, udev, its own initrd)
# as a VM of the manager, and shows it in the desktop app, `phyllome ui` (docs/ui.md): the link
# opens in the desktop's browser, or is printed where no browser can be started. Runs until
# Ctrl-C, which stops the VM and the app.
#   scripts/demo.sh            the demo
#   scripts/demo.sh --check    exits 0 once the app answers and the guest's login prompt is on
#                              its screen (1 if not): a test of this script
# On a host with hardware virtualization, the manager runs the VM on this host's KVM. Where
# /dev/kvm cannot run an ordinary guest (absent, or PVM as on these build machines), it all runs
# in the project's nested rig instead, this script says so, and the app is reached through a port
# the rig's outer QEMU forwards from 127.0.0.1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DEMO_T0=$(date +%s.%N)
export DEMO_T0
check=no
case ${1:-} in
--check) check=yes ;;
'') ;;
*) echo "usage: scripts/demo.sh [--check]" >&2; exit 2 ;;
esac
scripts/setup.sh

cache=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}/guests
hw_kvm=no
if [ -c /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
	hw_kvm=yes
fi
echo "demo: the guest: the Debian 12 system (built once from Debian's packages, cached in $cache)"
bash tests/guests/build-debian.sh

if [ "$hw_kvm" = no ]; then
	echo "demo: no hardware virtualization on this host (/dev/kvm is $([ -c /dev/kvm ] && echo 'not kvm-intel/kvm-amd (PVM?)' || echo absent))."
	echo "demo: so it runs in the nested rig: emulated, slower than it would be here with KVM."
	opts=()
	[ "$check" = no ] || opts=(--demo-check)
	exec tests/rig/run-rig.sh --vmm build/phyllome-vmm --demo --demo-guest desktop \
		--no-build-guests "${opts[@]}"
fi

echo "demo: hardware virtualization found: the manager runs the VM on this host's KVM."
work=$(mktemp -d "${TMPDIR:-/tmp}/phyllome-demo.XXXXXX")
# The demo's own state folder: its VM does not mix with the user's.
export PHYLLOME_STATE=$work/state
# The guest writes to its disk: a copy of the cached image (sparse).
cp --sparse=always "$cache/debian.img" "$work/root.img"
ui_listen=127.0.0.1:7380
if (exec 3<>/dev/tcp/127.0.0.1/7380) 2>/dev/null; then ui_listen=127.0.0.1:0; fi
vm=
# On any exit: the VM and the app stopped (demo-vm.sh's teardown), then the folder removed.
cleanup() {
	if [ -n "$vm" ] && kill -TERM "$vm" 2>/dev/null; then wait "$vm" || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
mkfifo "$work/out"
# `phyllome ui --open` where there is a desktop to open the link in.
DEMO_OPEN=
[ "$check" = yes ] || [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || DEMO_OPEN=1
export DEMO_OPEN
# In the background, demo-vm.sh ignores the terminal's Ctrl-C: this script turns it into SIGTERM,
# on which demo-vm.sh stops the VM and the app, and goes on showing its lines until it ends.
scripts/demo-vm.sh build/phyllome "$work" "$cache/debian-vmlinuz" "$cache/debian-initrd.img" \
	"$work/root.img" "$ui_listen" tests/guests/debian-extra build/tests/rfbtool >"$work/out" 2>&1 &
vm=$!
trap 'kill -TERM "$vm" 2>/dev/null' INT TERM HUP
exec 3<"$work/out"
while :; do
	if IFS= read -r line <&3; then
		case $line in
		"DEMO-URL "*)
			url=${line#DEMO-URL }
			if [ "$check" = yes ]; then
				continue
			elif [ -n "${DEMO_OPEN:-}" ]; then
				echo "demo: opened $url in the desktop's browser (phyllome ui --open; the link signs it in once)"
			else
				echo "demo: open $url  (no desktop here to open it in; the link signs a browser in once)"
			fi
			;;
		"DEMO-READY "*)
			echo "demo: ready: ${line#DEMO-READY }"
			if [ "$check" = yes ]; then
				# As a browser would: the link sets the cookie; with it, the app lists the VM.
				base=${url%%/login*}
				cookie=$(curl -s -D - -o /dev/null "$url" | sed -n 's/^set-cookie: \([^;]*\).*/\1/Ip' | tr -d '\r') || true
				if curl -s -H "Cookie: $cookie" "$base/api/vms" | grep -q '"Name":"phyllome-demo"[^}]*"State":"running"'; then
					echo "demo-check: ok: signed in with the link; the app lists phyllome-demo running"
				else
					echo "demo-check: FAILED: the link gave no cookie, or the app does not list phyllome-demo running"
					failed=1
				fi
				kill -TERM "$vm" 2>/dev/null || true
			else
				echo "demo: Ctrl-C ends the demo (the VM and the app)"
			fi
			;;
		*) echo "$line" ;;
		esac
	elif [ $? -le 128 ]; then
		break # end of demo-vm.sh's output (a signal's trap interrupts read: status > 128)
	fi
done
rc=0
wait "$vm" || rc=$?
vm=
[ -z "${failed:-}" ] || rc=1
exit "$rc"
