#!/bin/bash
# Phyllome's main job: boot a real guest (Debian's kernel + a busybox userspace) to a shell.
# On a host with hardware virtualization, phyllome-vmm runs the guest directly. Where /dev/kvm
# cannot run an ordinary guest (absent, or PVM as on these build machines), the guest runs in
# the project's nested rig instead, and this script says so.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh

cache=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}/guests
hw_kvm=no
if [ -c /dev/kvm ] && grep -qE '^(kvm_intel|kvm_amd) ' /proc/modules 2>/dev/null; then
	hw_kvm=yes
fi

if [ "$hw_kvm" = yes ]; then
	echo "demo: hardware virtualization found: phyllome-vmm runs the guest on this host's KVM."
	echo "demo: press Ctrl-A then x to quit, or type 'poweroff' in the guest."
	exec build/phyllome-vmm --kernel "$cache/vmlinuz" --initramfs "$cache/l2-initramfs.cpio.gz" \
		--cmdline "console=ttyS0 quiet" --cpus boot=2 --memory size=1G --serial tty
fi

echo "demo: no hardware virtualization on this host (/dev/kvm is $([ -c /dev/kvm ] && echo 'not kvm-intel/kvm-amd (PVM?)' || echo absent))."
echo "demo: booting in the nested rig: QEMU TCG emulates an AMD CPU with SVM, Debian's kernel"
echo "demo: runs kvm-amd on it, and phyllome-vmm runs the guest on that KVM. Emulated, so slow."
exec tests/rig/run-rig.sh --vmm build/phyllome-vmm --demo
