# UEFI Secure Boot with the test's own keys (tests/guests/build-sb-own.sh): Debian's SMM build of
# OVMF on a copy of OVMF_VARS_4M.own.fd, Debian's empty store with a PK, KEK and db made by the
# test (openssl) enrolled and Secure Boot on, none of Microsoft's keys:
#  - uefi-secboot-own: sb-own.img, whose \EFI\BOOT\BOOTX64.EFI is systemd-boot signed with the
#    test's db key (sbsign), which starts the L2 kernel, also signed with the db key only: the
#    kernel's EFI stub says "UEFI Secure Boot is enabled", the kernel "Secure boot enabled",
#    efivarfs' SecureBoot is 1 and SetupMode 0, and PK and db hold the test's certificates; the
#    guest powers off;
#  - uefi-secboot-other: sb-other.img, the same systemd-boot signed with another key, which the
#    store does not know: the firmware refuses it (the boot manager's "Access Denied", no kernel).
# Needs rig.py --firmware (which runs build-sb-own.sh: sbsigntool, python3-virt-firmware,
# systemd-boot-efi). Runs with QEMU as the L2 VMM too (--l2-vmm qemu).
# shellcheck shell=sh
OWN_VARS=/guest/OVMF_VARS_4M.own.fd
GV=8be4df61-93ca-11d2-aa0d-00e098032b8c # EFI_GLOBAL_VARIABLE
DBV=d719b2cb-3d3a-4596-a3bc-dad00e67656f # EFI_IMAGE_SECURITY_DATABASE_GUID (db)
if [ ! -f "$SB_CODE" ] || [ ! -f "$OWN_VARS" ] || [ ! -f /guest/sb-own.img ] ||
	[ ! -f /guest/sb-other.img ]; then
	rig_skip uefi-secboot-own "no secboot OVMF, own-key store or disks in L1 (rig.py --firmware, build-sb-own.sh)"
	rig_skip uefi-secboot-other "no secboot OVMF, own-key store or disks in L1"
else
	cp /guest/sb-own.img "$RIG_WORK/own.img"
	cp "$OWN_VARS" "$RIG_WORK/own.fd"
	sb_boot uefi-secboot-own "$RIG_WORK/own.img" "$RIG_WORK/own.fd"
	if sb_ready uefi-secboot-own; then
		stub=$(grep -c 'EFI stub: UEFI Secure Boot is enabled' "$VMM_OUT")
		# shellcheck disable=SC2016 # the guest's shell expands it
		sb_msg=$(guest_val sbmsg '$(dmesg | grep -c "Secure boot enabled")')
		sb_var=$(guest_val sbvar "\$(od -An -tu1 $EFIVARS/SecureBoot-$GV | tr -s ' ')")
		setup=$(guest_val setup "\$(od -An -tu1 $EFIVARS/SetupMode-$GV | tr -s ' ')")
		pk=$(guest_val pk "\$(grep -q 'Phyllome test PK' $EFIVARS/PK-$GV && echo yes || echo no)")
		db=$(guest_val db "\$(grep -q 'Phyllome test db' $EFIVARS/db-$DBV && echo yes || echo no)")
		ms=$(guest_val ms "\$(cat $EFIVARS/KEK-$GV $EFIVARS/db-$DBV | grep -q Microsoft && echo yes || echo no)")
		vmm_send poweroff
		if expect_exit0 uefi-secboot-own "$T_EXIT"; then
			if [ "$stub" -ge 1 ] && [ "$sb_msg" = 1 ] && [ "$sb_var" = " 6 0 0 0 1" ] &&
				[ "$setup" = " 6 0 0 0 0" ] && [ "$pk" = yes ] && [ "$db" = yes ] && [ "$ms" = no ]; then
				rig_ok uefi-secboot-own "systemd-boot -> kernel, both signed with the test's db key, userspace at ${SB_T_USER}s; EFI stub and kernel say Secure Boot enabled; SecureBoot [$sb_var], SetupMode [$setup]; the test's PK and db enrolled, no Microsoft key"
			else
				rig_fail uefi-secboot-own "EFI stub x[$stub], 'Secure boot enabled' x[$sb_msg], SecureBoot [$sb_var], SetupMode [$setup], test PK [$pk], test db [$db], a Microsoft key [$ms]"
			fi
		fi
	fi
	cp /guest/sb-other.img "$RIG_WORK/other.img"
	cp "$OWN_VARS" "$RIG_WORK/other.fd"
	sb_boot uefi-secboot-other "$RIG_WORK/other.img" "$RIG_WORK/other.fd"
	# The boot manager's "Access Denied" for the disk's loader, or the kernel's stub if it ran.
	wait_for 'Access Denied\|EFI stub' "$VMM_OUT" "$T_BOOT" || true
	sleep 5
	vmm_kill
	if grep -q 'EFI stub' "$VMM_OUT"; then
		rig_fail uefi-secboot-other "the loader signed with the unenrolled key ran"
	elif grep -q 'Access Denied' "$VMM_OUT"; then
		rig_ok uefi-secboot-other "the firmware refused the loader signed with another key: $(grep -m1 -o '[^|]*Access Denied' "$VMM_OUT" | tr -d '\r' | tail -c 120)"
	else
		show_fw_output
		rig_fail uefi-secboot-other "no 'Access Denied' and no kernel within ${T_BOOT}s"
	fi
fi
