# The hostile guest and the firmware's flash: a Linux guest writes CFI program commands straight
# to the variable store's MMIO (busybox devmem on /dev/mem; Secure Boot is off in these stores, so
# there is no lockdown), at a byte that is erased (0xFF) in the store file.
#  - uefi-smm-flash: OVMF's SMM build (which closes SMRAM before any disk code runs): the write
#    is dropped (the store file's byte stays 0xFF; phyllome-vmm logs "outside SMM");
#  - uefi-smm-flash-control: the same with the non-SMM build (OVMF_CODE.fd: the flash is the
#    guest's, as on QEMU without a secure flash): the byte becomes 0x00, which shows the write
#    reaches the chip when nothing forbids it.
# The disk is build-esp.sh's grub.img (an unsigned GRUB: fine with Secure Boot off).
# shellcheck shell=sh
# flash_poke NAME CODE VARS_TEMPLATE BASE OFF SMM: boots, pokes BASE+OFF, powers off; sets
# FLASH_BEFORE / FLASH_AFTER (the store file's byte) or returns 1.
flash_poke() {
	cp "$3" "$RIG_WORK/$1.fd"
	FLASH_BEFORE=$(od -An -tx1 -j "$5" -N1 "$RIG_WORK/$1.fd" | tr -d ' ')
	# shellcheck disable=SC2034 # read by vmm_exec (lib.sh)
	L2_FW_CODE=$2 L2_FW_VARS=$RIG_WORK/$1.fd L2_FW_SMM=$6
	[ -n "$6" ] || unset L2_FW_SMM
	vmm_start "$1" 1 512M "" "disk:path=$RIG_WORK/grub.img"
	unset L2_FW_CODE L2_FW_VARS L2_FW_SMM
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
		show_fw_output
		rig_fail "$1" "no kernel userspace: $WAIT_WHY"
		vmm_kill
		return 1
	fi
	_a=$(printf '0x%x' $(($4 + $5)))
	vmm_send "devmem $_a 8 0x40; devmem $_a 8 0x00; devmem $(printf '0x%x' "$4") 8 0xFF"
	_v=$(guest_val poke "\$(devmem $_a 8)")
	vmm_send poweroff
	expect_exit0 "$1" "$T_EXIT" || return 1
	FLASH_AFTER=$(od -An -tx1 -j "$5" -N1 "$RIG_WORK/$1.fd" | tr -d ' ')
	FLASH_READ=$_v
	return 0
}
if [ ! -f /guest/OVMF_CODE_4M.secboot.fd ] || [ ! -f /guest/OVMF_VARS_4M.fd ] ||
	[ ! -f /guest/grub.img ]; then
	rig_skip uefi-smm-flash "no secboot OVMF or grub.img in L1 (rig.py --firmware)"
else
	cp /guest/grub.img "$RIG_WORK/grub.img"
	# The 4 MiB layout: the store (528 KiB) at 0xFFC00000, its variable area the first 256 KiB.
	if flash_poke uefi-smm-flash /guest/OVMF_CODE_4M.secboot.fd /guest/OVMF_VARS_4M.fd \
		0xFFC00000 $((0x3F000)) 1; then
		logged=$(grep -c 'outside SMM' "$VMM_ERR")
		if [ "$FLASH_BEFORE" = ff ] && [ "$FLASH_AFTER" = ff ]; then
			rig_ok uefi-smm-flash "the guest's write from outside SMM was dropped: store byte $FLASH_BEFORE -> $FLASH_AFTER, guest reads [$FLASH_READ], $logged log line(s)"
		else
			rig_fail uefi-smm-flash "store byte $FLASH_BEFORE -> $FLASH_AFTER (guest reads [$FLASH_READ])"
		fi
	fi
	# The 2 MiB non-SMM build: the store (128 KiB) at 0xFFE00000, variables in its first 56 KiB.
	if flash_poke uefi-smm-flash-control /guest/OVMF_CODE.fd /guest/OVMF_VARS.fd \
		0xFFE00000 $((0xD000)) ""; then
		if [ "$FLASH_BEFORE" = ff ] && [ "$FLASH_AFTER" = 00 ]; then
			rig_ok uefi-smm-flash-control "without SMM the same write lands: store byte $FLASH_BEFORE -> $FLASH_AFTER"
		else
			rig_fail uefi-smm-flash-control "store byte $FLASH_BEFORE -> $FLASH_AFTER (guest reads [$FLASH_READ])"
		fi
	fi
fi
