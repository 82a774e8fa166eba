# Measurement (not a test; docs/firmware.md "CD-ROM"): does OVMF boot the EFI ISOs of
# tests/guests/build-iso.sh attached as a read-only virtio-blk disk (512-byte blocks), which is
# what `phyllome run --cdrom` did before the AHCI CD-ROM? Reports ok when the kernel reached
# userspace (the cdrom guest test then fails: no /dev/sr0), and dumps OVMF's serial output.
#   tests/rig/run-rig.sh --vmm build/phyllome-vmm --firmware --extra-scenario tests/rig/measure/iso-virtio.sh
# shellcheck shell=sh
for iso in efi efi-hybrid; do
	N=iso-virtio-$iso
	if [ ! -f /guest/$iso.iso ]; then rig_skip $N "no /guest/$iso.iso"; continue; fi
	cp /guest/OVMF_VARS.fd "$RIG_WORK/vars-$iso.fd"
	L2_FW_CODE=/guest/OVMF_CODE.fd L2_FW_VARS=$RIG_WORK/vars-$iso.fd
	vmm_start $N 1 512M "" "disk:path=/guest/$iso.iso,readonly=on"
	unset L2_FW_CODE L2_FW_VARS
	t_shell='' t_user=''
	if wait_for 'PHYLLOME-UEFI-CDROM' "$VMM_OUT" "$T_BOOT"; then t_shell=$(since "$VMM_T0"); fi
	if [ -n "$t_shell" ] && wait_for 'PHYLLOME-USERSPACE' "$VMM_OUT" "$T_BOOT"; then t_user=$(since "$VMM_T0"); fi
	wait_for 'PHYLLOME-TEST cdrom' "$VMM_OUT" 60
	echo "---- $N: serial output (escape sequences removed):"
	sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$VMM_OUT" | tr -d '\r' | grep -v '^ *$' | grep -v '^\[ ' | head -n 60 | sed 's/^/| /'
	vmm_kill
	if [ -n "$t_user" ]; then
		rig_ok $N "startup.nsh at ${t_shell}s, kernel userspace at ${t_user}s; $(grep -o 'PHYLLOME-TEST cdrom.*' "$VMM_OUT" | tr -d '\r')"
	else
		rig_fail $N "startup.nsh ${t_shell:-not seen}, no kernel userspace"
	fi
done
