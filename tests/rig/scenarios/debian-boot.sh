# A real Debian 12 system (tests/guests/build-debian.sh: systemd, udev, Debian's kernel with its
# initramfs-tools initrd, the root on virtio-blk) boots to systemd's "running"; its test (guest
# test boot) checks udev's /dev/vda, the RTC and the clocks against L1's time; then the ACPI power
# button (the API's, or QEMU's monitor) makes systemd-logind power it off, and the VMM ends with
# status 0. The detail has the boot times: to the initrd's userspace (the VMM's start to the
# initrd's first line) and systemd-analyze's kernel + initrd + userspace, to "running".
# rig-disk: debian
# rig-tools: curl socat
# shellcheck shell=sh

SOCK=$RIG_WORK/api.sock
if debian_start debian-boot 2 1G "phyllome.test=boot debian.now=$(date +%s)" "api-socket:$SOCK" &&
	step_wait debian-boot boot started "$T_DEBIAN"; then
	if ! wait_for 'PHYLLOME-TEST boot ' "$VMM_OUT" "$T_DEBIAN"; then
		rig_fail debian-boot "$WAIT_WHY"
		vmm_kill
	elif ! grep -q 'PHYLLOME-TEST boot PASS' "$VMM_OUT"; then
		wait_exit "$T_EXIT"
		rig_fail debian-boot "$(guest_why boot) (VMM exit status $VMM_STATUS)"
	else
		t_pass=$(since "$VMM_T0")
		detail=$(grep -o 'PHYLLOME-TEST boot PASS.*' "$VMM_OUT" | head -n 1 | tr -d '\r' | sed 's/^PHYLLOME-TEST boot PASS //')
		clocks=$(step_line boot clocks)
		if debian_power_off debian-boot "$SOCK" boot; then
			rig_ok debian-boot "$detail; $clocks; initrd userspace after ${GT_T_USER}s, test passed after ${t_pass}s (VMM start), power button to exit 0 in ${DPO_T}s"
		fi
	fi
fi
