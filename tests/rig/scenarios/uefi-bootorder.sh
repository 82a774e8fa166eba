# The firmware's boot order from --disk bootindex=N (fw_cfg "bootorder", OVMF's
# QemuBootOrderLib): two disks that both boot, grub.img (its GRUB prints PHYLLOME-GRUB and boots
# the kernel) in the lower PCI slot with bootindex=1, and grub-b.img (another GRUB: PHYLLOME-GRUB-B,
# and phyllome.boot=b on the kernel's command line) in the next slot with bootindex=0. OVMF's own
# order (PCI order) would start grub.img's loader; with the boot order it starts grub-b.img's,
# which the guest shows in /proc/cmdline. uefi-uuid: --uuid reaches the guest through SMBIOS
# type 1 (/sys/class/dmi/id/product_uuid). uefi-bootorder-none, the control: the same disks
# without bootindex boot grub.img's loader (so the first result is bootindex's doing).
# uefi-bootorder-cdrom: grub.img with bootindex=1 and the AHCI CD-ROM with efi-grub.iso
# (tests/guests/build-iso.sh) and bootindex=0: the disc's GRUB (PHYLLOME-ISO-GRUB) boots, the
# disk's never runs, and the kernel's cdrom guest test passes.
# Needs rig.py --firmware and grub.img + grub-b.img (tests/guests/build-esp.sh, with GRUB).
# shellcheck shell=sh
UEFI_UUID=5c3a9f2e-1b4d-4e6a-8f0c-2d7b9e1a3c55
if [ ! -f /guest/OVMF.fd ] || [ ! -f /guest/grub.img ] || [ ! -f /guest/grub-b.img ]; then
	rig_skip uefi-bootorder "no OVMF.fd, grub.img or grub-b.img in L1 (rig.py --firmware; GRUB)"
else
	cp /guest/grub.img "$RIG_WORK/grub.img"
	cp /guest/grub-b.img "$RIG_WORK/grub-b.img"
	# shellcheck disable=SC2034 # vmm_exec (lib.sh) reads them
	L2_FW_CODE=/guest/OVMF.fd
	vmm_start uefi-bootorder 1 512M "" "disk:path=$RIG_WORK/grub.img,bootindex=1" \
		"disk:path=$RIG_WORK/grub-b.img,bootindex=0" "uuid:$UEFI_UUID"
	unset L2_FW_CODE
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
		show_fw_output
		rig_fail uefi-bootorder "no kernel userspace: $WAIT_WHY"
		rig_fail uefi-uuid "no kernel userspace"
		vmm_kill
	else
		t_user=$(since "$VMM_T0")
		# shellcheck disable=SC2016 # the guest's shell expands them
		cmdline=$(guest_val cmdline '$(cat /proc/cmdline)')
		# shellcheck disable=SC2016
		uuid=$(guest_val uuid '$(cat /sys/class/dmi/id/product_uuid)')
		loaders=$(grep -o 'PHYLLOME-GRUB[-B]* loading' "$VMM_OUT" | tr '\n' ' ')
		vmm_send poweroff
		if expect_exit0 uefi-bootorder "$T_EXIT"; then
			case "$cmdline" in
			*phyllome.boot=b*)
				if grep -q 'PHYLLOME-GRUB loading' "$VMM_OUT"; then
					rig_fail uefi-bootorder "grub-b.img booted, but only after grub.img's loader ran: $loaders"
				else
					rig_ok uefi-bootorder "bootindex=0 (second disk) booted first: loaders seen: $loaders; kernel userspace at ${t_user}s; cmdline=[$cmdline]"
				fi
				;;
			*) rig_fail uefi-bootorder "not grub-b.img's kernel: loaders seen: ${loaders:-none}; cmdline=[${cmdline:-not read}]" ;;
			esac
			if [ "$uuid" = "$UEFI_UUID" ]; then
				rig_ok uefi-uuid "product_uuid is --uuid's $UEFI_UUID"
			else
				rig_fail uefi-uuid "product_uuid: '${uuid:-not read}', --uuid $UEFI_UUID"
			fi
		fi
	fi
	# The control: no bootindex, no bootorder file: OVMF's own order starts grub.img's GRUB.
	cp /guest/grub.img "$RIG_WORK/grub.img"
	# shellcheck disable=SC2034 # vmm_exec (lib.sh) reads them
	L2_FW_CODE=/guest/OVMF.fd
	vmm_start uefi-bootorder-none 1 512M "" "disk:path=$RIG_WORK/grub.img" \
		"disk:path=$RIG_WORK/grub-b.img"
	unset L2_FW_CODE
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
		rig_fail uefi-bootorder-none "no kernel userspace: $WAIT_WHY"
		vmm_kill
	else
		loaders=$(grep -o 'PHYLLOME-GRUB[-B]* loading' "$VMM_OUT" | tr '\n' ' ')
		vmm_send poweroff
		if expect_exit0 uefi-bootorder-none "$T_EXIT"; then
			if [ "$loaders" = "PHYLLOME-GRUB loading " ]; then
				rig_ok uefi-bootorder-none "without bootindex the first disk's loader ran: $loaders"
			else
				rig_fail uefi-bootorder-none "without bootindex, loaders seen: ${loaders:-none} (wanted grub.img's only)"
			fi
		fi
	fi
	# The CD-ROM's place in the boot order: the disc before a bootable disk.
	if [ ! -f /guest/efi-grub.iso ]; then
		rig_skip uefi-bootorder-cdrom "no efi-grub.iso in L1 (xorriso on the host)"
	else
		cp /guest/grub.img "$RIG_WORK/grub.img"
		cp /guest/efi-grub.iso "$RIG_WORK/efi-grub.iso"
		# shellcheck disable=SC2034 # vmm_exec (lib.sh) reads them
		L2_FW_CODE=/guest/OVMF.fd
		vmm_start uefi-bootorder-cdrom 1 512M "" "disk:path=$RIG_WORK/grub.img,bootindex=1" \
			"cdrom:path=$RIG_WORK/efi-grub.iso,bootindex=0"
		unset L2_FW_CODE
		if ! wait_for PHYLLOME-ISO-GRUB "$VMM_OUT" "$T_BOOT"; then
			loaders=$(grep -o 'PHYLLOME-GRUB[-B]* loading' "$VMM_OUT" | tr '\n' ' ')
			rig_fail uefi-bootorder-cdrom "the disc's GRUB never ran: $WAIT_WHY; loaders seen: ${loaders:-none}"
			vmm_kill
		elif grep -q 'PHYLLOME-GRUB loading' "$VMM_OUT"; then
			rig_fail uefi-bootorder-cdrom "the disk's GRUB ran before the disc's (bootindex=0 on the CD-ROM)"
			vmm_kill
		elif guest_test_end uefi-bootorder-cdrom cdrom "$T_TEST"; then
			rig_ok uefi-bootorder-cdrom "bootindex=0 on the CD-ROM: the disc's GRUB booted, not the disk's (bootindex=1); guest: $GT_DETAIL"
		fi
	fi
fi
