# UEFI Secure Boot: Debian's SMM build of OVMF (OVMF_CODE_4M.secboot.fd) with a copy of the store
# that has Microsoft's keys enrolled and Secure Boot on (OVMF_VARS_4M.ms.fd):
#  - uefi-secboot: Debian's signed chain from sb.img (tests/guests/build-sb-esp.sh): shim (signed
#    by Microsoft) -> GRUB (signed by Debian) -> Debian's signed kernel; the kernel says "Secure
#    boot enabled" and efivarfs' SecureBoot variable is 1; the guest writes a variable of its own
#    (non-volatile) and powers off;
#  - uefi-secboot-persist: the VMM started again on the same store: the guest reads its variable
#    back (the firmware wrote it to flash from SMM, the store file kept it);
#  - uefi-secboot-unsigned: a fresh store, the disk grub.img whose \EFI\BOOT\BOOTX64.EFI is an
#    unsigned GRUB (grub-mkstandalone): the firmware refuses it (no GRUB marker; the boot
#    manager's "Access Denied").
# Needs rig.py --firmware (which builds sb.img when shim-signed and grub-efi-amd64-signed can be
# downloaded). Runs with QEMU as the L2 VMM too (--l2-vmm qemu: smm=on, a secure flash).
# shellcheck shell=sh
SB_VARS=/guest/OVMF_VARS_4M.ms.fd
SB_GUID=5c3a9f2e-1b4d-4e6a-8f0c-2d7b9e1a3c55
if [ ! -f "$SB_CODE" ] || [ ! -f "$SB_VARS" ] || [ ! -f /guest/sb.img ]; then
	rig_skip uefi-secboot "no secboot OVMF or sb.img in L1 (rig.py --firmware, build-sb-esp.sh)"
else
	cp /guest/sb.img "$RIG_WORK/sb.img"
	cp "$SB_VARS" "$RIG_WORK/vars.fd"
	sb_boot uefi-secboot "$RIG_WORK/sb.img" "$RIG_WORK/vars.fd"
	if sb_ready uefi-secboot; then
		t_grub=$(grep -q PHYLLOME-SB-GRUB "$VMM_OUT" && echo seen || echo "not seen")
		# shellcheck disable=SC2016 # the guest's shell expands it
		sb_msg=$(guest_val sbmsg '$(dmesg | grep -c "Secure boot enabled")')
		sb_var=$(guest_val sbvar "\$(od -An -tu1 $EFIVARS/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c | tr -s ' ')")
		vmm_send "printf '\\007\\000\\000\\000PHYLLOME-VAR-OK' >$EFIVARS/PhyllomeTest-$SB_GUID"
		wr=$(guest_val wr "\$(cat $EFIVARS/PhyllomeTest-$SB_GUID | tr -dc A-Z-)")
		vmm_send poweroff
		if expect_exit0 uefi-secboot "$T_EXIT"; then
			if [ "$sb_msg" = 1 ] && [ "$sb_var" = " 6 0 0 0 1" ] && [ "$t_grub" = seen ]; then
				rig_ok uefi-secboot "shim -> signed GRUB ($t_grub) -> signed kernel, userspace at ${SB_T_USER}s; 'Secure boot enabled'; SecureBoot var [$sb_var]; guest's variable [$wr]"
			else
				rig_fail uefi-secboot "GRUB marker $t_grub, 'Secure boot enabled' x[$sb_msg], SecureBoot var [$sb_var]"
			fi
		fi
	fi
	if cmp -s "$SB_VARS" "$RIG_WORK/vars.fd"; then
		rig_fail uefi-secboot-persist "the store file is unchanged"
	else
		sb_boot uefi-secboot-persist "$RIG_WORK/sb.img" "$RIG_WORK/vars.fd"
		if sb_ready uefi-secboot-persist; then
			back=$(guest_val back "\$(cat $EFIVARS/PhyllomeTest-$SB_GUID | tr -dc A-Z-)")
			vmm_send poweroff
			if expect_exit0 uefi-secboot-persist "$T_EXIT"; then
				if [ "$back" = PHYLLOME-VAR-OK ]; then
					rig_ok uefi-secboot-persist "the guest's variable read back after a VMM restart [$back]; userspace at ${SB_T_USER}s"
				else
					rig_fail uefi-secboot-persist "the guest's variable reads [$back] after a VMM restart"
				fi
			fi
		fi
	fi
	if [ ! -f /guest/grub.img ]; then
		rig_skip uefi-secboot-unsigned "no grub.img (GRUB on the host)"
	else
		cp /guest/grub.img "$RIG_WORK/grub.img"
		cp "$SB_VARS" "$RIG_WORK/vars2.fd"
		sb_boot uefi-secboot-unsigned "$RIG_WORK/grub.img" "$RIG_WORK/vars2.fd"
		# The firmware's "Access Denied" for the boot option, or GRUB's marker if it ran.
		wait_for 'Access Denied\|PHYLLOME-GRUB' "$VMM_OUT" "$T_BOOT" || true
		sleep 5
		vmm_kill
		if grep -q PHYLLOME-GRUB "$VMM_OUT"; then
			rig_fail uefi-secboot-unsigned "the unsigned GRUB ran under Secure Boot"
		elif grep -q 'Access Denied' "$VMM_OUT"; then
			rig_ok uefi-secboot-unsigned "the firmware refused the unsigned BOOTX64.EFI: $(grep -m1 -o '[^|]*Access Denied' "$VMM_OUT" | tr -d '\r' | tail -c 120)"
		else
			show_fw_output
			rig_fail uefi-secboot-unsigned "no 'Access Denied' and no GRUB marker within ${T_BOOT}s"
		fi
	fi
fi
