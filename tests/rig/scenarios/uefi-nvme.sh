# OVMF and the NVMe controller (--disk ...,bus=nvme), with OVMF's own NVMe driver
# (NvmExpressDxe) and then Linux's inbox nvme driver:
# uefi-nvme: esp.img (tests/guests/build-esp.sh) as the only disk, on NVMe: OVMF's UEFI shell maps
# the EFI system partition on the NVMe namespace, runs its startup.nsh, which starts Debian's kernel
# through its EFI stub; the kernel reaches userspace and finds /dev/nvme0n1; poweroff: status 0.
# uefi-nvme-bootorder: bootindex= on an NVMe disk: grub.img on virtio-blk with bootindex=1 (the
# lower PCI slot: OVMF's own order would start its GRUB) and grub-b.img on NVMe with bootindex=0;
# the boot order file names the NVMe namespace as QemuBootOrderLib expects, so grub-b.img's GRUB
# (PHYLLOME-GRUB-B, phyllome.boot=b on the kernel's command line) runs and grub.img's never does.
# Needs rig.py --firmware, esp.img, grub.img and grub-b.img.
# shellcheck shell=sh
if [ ! -f /guest/OVMF_CODE.fd ] || [ ! -f /guest/esp.img ]; then
	rig_skip uefi-nvme "no firmware or esp.img in L1 (run the rig with --firmware)"
else
	cp /guest/OVMF_VARS.fd "$RIG_WORK/vars.fd"
	cp /guest/esp.img "$RIG_WORK/esp.img"
	# shellcheck disable=SC2034 # vmm_exec (lib.sh) reads them
	L2_FW_CODE=/guest/OVMF_CODE.fd L2_FW_VARS=$RIG_WORK/vars.fd
	vmm_start uefi-nvme 1 512M "" "disk:path=$RIG_WORK/esp.img,bus=nvme"
	unset L2_FW_CODE L2_FW_VARS
	t_shell=
	if wait_for 'PHYLLOME-UEFI-SHELL' "$VMM_OUT" "$T_BOOT"; then
		t_shell=$(since "$VMM_T0")
	fi
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
		show_fw_output
		rig_fail uefi-nvme "startup.nsh ${t_shell:-not seen} (on the NVMe disk), then no kernel userspace: $WAIT_WHY"
		vmm_kill
	else
		t_user=$(since "$VMM_T0")
		# shellcheck disable=SC2016 # the guest's shell expands it
		blocks=$(guest_val blocks '$(ls /sys/block | tr "\n" " ")')
		vmm_send poweroff
		if expect_exit0 uefi-nvme "$T_EXIT"; then
			case " $blocks " in
			*" nvme0n1 "*) rig_ok uefi-nvme "OVMF ran startup.nsh from the NVMe disk at ${t_shell:-?}s, kernel userspace at ${t_user}s; the kernel's block devices: $blocks" ;;
			*) rig_fail uefi-nvme "booted from the NVMe disk, but the kernel has no nvme0n1 (block devices: ${blocks:-not read})" ;;
			esac
		fi
	fi
fi

if [ ! -f /guest/OVMF.fd ] || [ ! -f /guest/grub.img ] || [ ! -f /guest/grub-b.img ]; then
	rig_skip uefi-nvme-bootorder "no OVMF.fd, grub.img or grub-b.img in L1 (rig.py --firmware; GRUB)"
else
	cp /guest/grub.img "$RIG_WORK/grub.img"
	cp /guest/grub-b.img "$RIG_WORK/grub-b.img"
	# shellcheck disable=SC2034 # vmm_exec (lib.sh) reads it
	L2_FW_CODE=/guest/OVMF.fd
	vmm_start uefi-nvme-bootorder 1 512M "" "disk:path=$RIG_WORK/grub.img,bootindex=1" \
		"disk:path=$RIG_WORK/grub-b.img,bootindex=0,bus=nvme"
	unset L2_FW_CODE
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
		show_fw_output
		rig_fail uefi-nvme-bootorder "no kernel userspace: $WAIT_WHY"
		vmm_kill
	else
		# shellcheck disable=SC2016 # the guest's shell expands it
		cmdline=$(guest_val cmdline '$(cat /proc/cmdline)')
		loaders=$(grep -o 'PHYLLOME-GRUB[-B]* loading' "$VMM_OUT" | tr '\n' ' ')
		vmm_send poweroff
		if expect_exit0 uefi-nvme-bootorder "$T_EXIT"; then
			case "$cmdline" in
			*phyllome.boot=b*)
				if grep -q 'PHYLLOME-GRUB loading' "$VMM_OUT"; then
					rig_fail uefi-nvme-bootorder "grub-b.img (NVMe) booted, but only after grub.img's loader ran: $loaders"
				else
					rig_ok uefi-nvme-bootorder "bootindex=0 on the NVMe disk booted first: loaders seen: $loaders; cmdline=[$cmdline]"
				fi
				;;
			*) rig_fail uefi-nvme-bootorder "not grub-b.img's kernel: loaders seen: ${loaders:-none}; cmdline=[${cmdline:-not read}]" ;;
			esac
		fi
	fi
fi
