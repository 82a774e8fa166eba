#include "manager/preset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct os_preset presets[] = {
    /* What Windows 10/11 drive with the drivers they ship (stornvme, e1000e's Intel driver,
     * USB HID), what Windows 11 Setup checks (TPM 2.0, UEFI), and what Windows expects of a
     * PC (its clock in local time) and of a hypervisor (Hyper-V's enlightenments). */
    {.name = "windows",
     .cpus = 2,
     .memory = 4ull << 30,
     .disk = "64G",
     .bus = VMDEF_BUS_NVME,
     .nic = VMDEF_NIC_E1000E,
     .net_user = true,
     .usb = true,
     .tpm = true,
     .hyperv = true,
     .rtc_local = true,
     .screen = true,
     .uefi = PRESET_UEFI_ALWAYS,
     .secure_boot = true},
    /* Today's virtio machine. */
    {.name = "linux", .bus = VMDEF_BUS_VIRTIO, .nic = VMDEF_NIC_VIRTIO},
    /* FreeBSD has virtio-blk and vtnet in its GENERIC kernel. */
    {.name = "freebsd", .bus = VMDEF_BUS_VIRTIO, .nic = VMDEF_NIC_VIRTIO},
    /* Devices every OS (and firmware tool) drives without virtio drivers. */
    {.name = "other",
     .memory = 1ull << 30,
     .bus = VMDEF_BUS_NVME,
     .nic = VMDEF_NIC_E1000E,
     .usb = true,
     .uefi = PRESET_UEFI_ALWAYS},
};

const struct os_preset *preset_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(presets) / sizeof(presets[0]); i++)
		if (!strcmp(presets[i].name, name))
			return &presets[i];
	return NULL;
}

const char *preset_names(void)
{
	return "windows, linux, freebsd, other";
}

static void apply_firmware(struct run_opts *ro, const struct os_preset *p)
{
	struct vm_def *d = &ro->def;
	const char *single = getenv("PHYLLOME_FIRMWARE");

	if (d->firmware[0] || ro->no_firmware ||
	    (p->uefi == PRESET_UEFI_UNLESS_KERNEL && d->kernel[0]))
		return;
	if (single && *single && !ro->vars_template) {
		/* One image (code and variables together): variables live in RAM. */
		snprintf(d->firmware, sizeof(d->firmware), "%s", single);
		return;
	}
	snprintf(d->firmware, sizeof(d->firmware), "%s",
		 p->secure_boot ? PRESET_OVMF_SB_CODE : PRESET_OVMF_CODE);
	if (!ro->vars_template)
		ro->vars_template = p->secure_boot ? PRESET_OVMF_SB_VARS : PRESET_OVMF_VARS;
}

void preset_apply(struct run_opts *ro, const struct os_preset *p, bool from_image)
{
	struct vm_def *d = &ro->def;

	snprintf(d->os, sizeof(d->os), "%s", p->name);
	if (!from_image) {
		if (!ro->cpus_set && p->cpus)
			d->cpus = p->cpus;
		if (!ro->memory_set && p->memory)
			d->memory = p->memory;
		if (!ro->ndisk_specs && p->disk)
			ro->disk_specs[ro->ndisk_specs++] = p->disk;
	}
	if (!ro->bus_set)
		d->disk_bus = p->bus;
	if (!ro->net_spec && p->net_user)
		d->net = VMDEF_NET_USER;
	if (!ro->nic_set && d->net != VMDEF_NET_NONE)
		d->nic = p->nic;
	if (!ro->usb_set)
		d->usb = p->usb;
	if (!ro->tpm_set)
		d->tpm = p->tpm;
	if (!ro->hyperv_set)
		d->hyperv = p->hyperv;
	if (!ro->rtc_set)
		d->rtc_local = p->rtc_local;
	if (!d->display[0] && p->screen)
		ro->want_screen = true;
	apply_firmware(ro, p);
}
