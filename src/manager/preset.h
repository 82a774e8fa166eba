/* `--os windows|linux|freebsd|other`: the machine an operating system expects, as defaults that
 * every explicit option overrides (docs/manager.md "Presets"). Pure but for the environment
 * ($PHYLLOME_FIRMWARE). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "manager/args.h"

/* Debian's OVMF (package ovmf), split: the code image and the template each VM's own variable
 * store is copied from. */
#define PRESET_OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define PRESET_OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"
/* The Secure Boot build (it needs SMM, which phyllome-vmm gives it) and the template with
 * Microsoft's keys enrolled and Secure Boot on. */
#define PRESET_OVMF_SB_CODE "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
#define PRESET_OVMF_SB_VARS "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"

enum preset_uefi {
	PRESET_UEFI_UNLESS_KERNEL, /* UEFI firmware unless --kernel boots Linux directly */
	PRESET_UEFI_ALWAYS,	   /* UEFI firmware; with --kernel, the firmware boots it */
};

struct os_preset {
	const char *name;
	unsigned cpus;	  /* 0: the default (1) */
	uint64_t memory;  /* 0: the default (512M) */
	const char *disk; /* a new sparse disk of this size when no --disk is given, or NULL */
	enum vmdef_disk_bus bus;
	enum vmdef_nic nic;
	bool net_user; /* --net user unless --net is given */
	bool usb, tpm, hyperv, rtc_local;
	bool screen;	       /* a display from the start (VNC on 127.0.0.1 unless --display) */
	enum preset_uefi uefi; /* code + a per-VM copy of the variable store */
	bool secure_boot;      /* the Secure Boot build and the template with Microsoft's keys */
};

/* The preset called name, or NULL. */
const struct os_preset *preset_find(const char *name);
/* "windows, linux, freebsd, other" (for messages). */
const char *preset_names(void);
/* Fills what ro's options did not set from p. from_image: the catalogue entry's CPUs, memory
 * and disk win over the preset's (the entry knows its OS better). */
void preset_apply(struct run_opts *ro, const struct os_preset *p, bool from_image);
