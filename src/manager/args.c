#include "manager/args.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "manager/preset.h"
#include "manager/shares.h"
#include "manager/util.h"

static const struct mgr_opt *find_long(const struct mgr_opt *defs, const char *name, size_t n)
{
	for (; defs->name; defs++)
		if (strlen(defs->name) == n && !memcmp(defs->name, name, n))
			return defs;
	return NULL;
}

static const struct mgr_opt *find_short(const struct mgr_opt *defs, char c)
{
	for (; defs->name; defs++)
		if (defs->short_name == c)
			return defs;
	return NULL;
}

static int long_opt(const struct mgr_opt *defs, int argc, char *const argv[], int *i, mgr_opt_cb cb,
		    void *ctx, char *err, size_t errlen)
{
	const char *word = argv[*i] + 2, *eq = strchr(word, '=');
	const struct mgr_opt *d = find_long(defs, word, eq ? (size_t)(eq - word) : strlen(word));

	if (!d) {
		snprintf(err, errlen, "unknown flag: --%.*s", eq ? (int)(eq - word) : 64, word);
		return -EINVAL;
	}
	if (!d->has_arg) {
		if (eq) {
			snprintf(err, errlen, "flag --%s takes no value", d->name);
			return -EINVAL;
		}
		return cb(ctx, d->id, NULL, err, errlen);
	}
	if (eq)
		return cb(ctx, d->id, eq + 1, err, errlen);
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "flag needs an argument: --%s", d->name);
		return -EINVAL;
	}
	return cb(ctx, d->id, argv[++*i], err, errlen);
}

/* "-af", "-p8080:80", "-p 8080:80", "-dp 80:80" */
static int short_opts(const struct mgr_opt *defs, int argc, char *const argv[], int *i,
		      mgr_opt_cb cb, void *ctx, char *err, size_t errlen)
{
	const char *word = argv[*i];

	for (size_t k = 1; word[k]; k++) {
		const struct mgr_opt *d = find_short(defs, word[k]);

		if (!d) {
			snprintf(err, errlen, "unknown shorthand flag: '%c' in %.64s", word[k],
				 word);
			return -EINVAL;
		}
		if (!d->has_arg) {
			int rc = cb(ctx, d->id, NULL, err, errlen);

			if (rc < 0)
				return rc;
			continue;
		}
		if (word[k + 1])
			return cb(ctx, d->id, word + k + 1, err, errlen);
		if (*i + 1 >= argc) {
			snprintf(err, errlen, "flag needs an argument: '%c' in %.64s", word[k],
				 word);
			return -EINVAL;
		}
		return cb(ctx, d->id, argv[++*i], err, errlen);
	}
	return 0;
}

int args_parse(const struct mgr_opt *defs, int argc, char *const argv[], mgr_opt_cb cb, void *ctx,
	       const char **pos, int maxpos, int *npos, char *err, size_t errlen)
{
	bool opts_done = false;

	*npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		int rc = 0;

		if (!opts_done && !strcmp(w, "--")) {
			opts_done = true;
			continue;
		}
		if (!opts_done && w[0] == '-' && w[1] == '-')
			rc = long_opt(defs, argc, argv, &i, cb, ctx, err, errlen);
		else if (!opts_done && w[0] == '-' && w[1])
			rc = short_opts(defs, argc, argv, &i, cb, ctx, err, errlen);
		else if (*npos < maxpos)
			pos[(*npos)++] = w;
		else {
			snprintf(err, errlen, "unexpected argument \"%.64s\"", w);
			return -EINVAL;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

bool args_disk_is_size(const char *word, uint64_t *size)
{
	if (strchr(word, '/') || strchr(word, '.'))
		return false;
	return mgr_parse_size(word, MGR_MAX_DISK, size) == 0;
}

enum {
	RO_DETACH,
	RO_NAME,
	RO_CPUS,
	RO_MEMORY,
	RO_DISK,
	RO_CDROM,
	RO_KERNEL,
	RO_INITRAMFS,
	RO_CMDLINE,
	RO_FIRMWARE,
	RO_NET,
	RO_NET_MODEL,
	RO_PUBLISH,
	RO_DISPLAY,
	RO_SOUND,
	RO_NO_SOUND,
	RO_USB,
	RO_RM,
	RO_CLOUD_INIT,
	RO_DISK_BUS,
	RO_CATALOG,
	RO_OS,
	RO_TPM,
	RO_NO_TPM,
	RO_HYPERV,
	RO_NO_HYPERV,
	RO_NO_USB,
	RO_NO_JAIL,
	RO_RTC,
	RO_FIRMWARE_VARS,
	RO_VOLUME,
	RO_HELP,
};

static const struct mgr_opt run_defs[] = {
    {"detach", 'd', false, RO_DETACH},
    {"name", 0, true, RO_NAME},
    {"cpus", 'c', true, RO_CPUS},
    {"memory", 'm', true, RO_MEMORY},
    {"disk", 0, true, RO_DISK},
    {"cdrom", 0, true, RO_CDROM},
    {"kernel", 0, true, RO_KERNEL},
    {"initramfs", 0, true, RO_INITRAMFS},
    {"initrd", 0, true, RO_INITRAMFS},
    {"cmdline", 0, true, RO_CMDLINE},
    {"firmware", 0, true, RO_FIRMWARE},
    {"net", 0, true, RO_NET},
    {"net-model", 0, true, RO_NET_MODEL},
    {"publish", 'p', true, RO_PUBLISH},
    {"display", 0, true, RO_DISPLAY},
    {"sound", 0, true, RO_SOUND},
    {"no-sound", 0, false, RO_NO_SOUND},
    {"usb", 0, false, RO_USB},
    {"rm", 0, false, RO_RM},
    {"cloud-init", 0, true, RO_CLOUD_INIT},
    {"disk-bus", 0, true, RO_DISK_BUS},
    {"catalog", 0, true, RO_CATALOG},
    {"os", 0, true, RO_OS},
    {"tpm", 0, false, RO_TPM},
    {"no-tpm", 0, false, RO_NO_TPM},
    {"hyperv", 0, false, RO_HYPERV},
    {"no-hyperv", 0, false, RO_NO_HYPERV},
    {"no-usb", 0, false, RO_NO_USB},
    {"no-jail", 0, false, RO_NO_JAIL},
    {"rtc", 0, true, RO_RTC},
    {"firmware-vars", 0, true, RO_FIRMWARE_VARS},
    {"volume", 'v', true, RO_VOLUME},
    {"help", 'h', false, RO_HELP},
    {NULL, 0, false, 0},
};

static int copy_arg(const char *flag, char *dst, size_t n, const char *v, char *err, size_t errlen)
{
	if (!*v || strlen(v) >= n) {
		snprintf(err, errlen, "%s: empty or too long (at most %zu bytes)", flag, n - 1);
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

int args_sound(struct vm_def *d, const char *v, char *err, size_t errlen)
{
	d->sound[0] = 0;
	if (!strcmp(v, "none"))
		return 0;
	if (strcmp(v, "pulse") && (strncmp(v, "wav=/", 5) || strchr(v, ','))) {
		snprintf(err, errlen,
			 "--sound: \"%.60s\" is not pulse, none or wav=/ABSOLUTE/PATH.wav", v);
		return -EINVAL;
	}
	return copy_arg("--sound", d->sound, sizeof(d->sound), v, err, errlen);
}

int args_display(struct vm_def *d, const char *v, char *err, size_t errlen)
{
	d->display[0] = 0;
	if (!strcmp(v, "none"))
		return 0;
	if (strcmp(v, "window") && strncmp(v, "vnc=", 4)) {
		snprintf(err, errlen, "--display: \"%.60s\" is not none, window or vnc=...", v);
		return -EINVAL;
	}
	return copy_arg("--display", d->display, sizeof(d->display), v, err, errlen);
}

static int run_net(struct run_opts *ro, const char *v, char *err, size_t errlen)
{
	struct vm_def *d = &ro->def;

	if (ro->net_spec) {
		snprintf(err, errlen, "--net: only one network (given twice)");
		return -EINVAL;
	}
	ro->net_spec = v;
	if (!strcmp(v, "user")) {
		d->net = VMDEF_NET_USER;
		return 0;
	}
	if (!strncmp(v, "tap:", 4) && v[4] && strlen(v + 4) < sizeof(d->tap)) {
		d->net = VMDEF_NET_TAP;
		strcpy(d->tap, v + 4);
		return 0;
	}
	if (!strcmp(v, "none")) {
		d->net = VMDEF_NET_NONE;
		return 0;
	}
	snprintf(err, errlen, "--net: \"%s\" is not user, tap:IFNAME (up to 15 characters) or none",
		 v);
	return -EINVAL;
}

static int run_cb(void *ctx, int id, const char *v, char *err, size_t errlen)
{
	struct run_opts *ro = ctx;
	struct vm_def *d = &ro->def;

	switch (id) {
	case RO_DETACH:
		ro->detach = true;
		return 0;
	case RO_NAME:
		if (!mgr_name_valid(v)) {
			snprintf(err, errlen,
				 "invalid VM name \"%.80s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
				 "allowed, at most %d characters",
				 v, MGR_NAME_MAX);
			return -EINVAL;
		}
		strcpy(d->name, v);
		return 0;
	case RO_CPUS:
		ro->cpus_set = true;
		return mgr_parse_cpus(v, &d->cpus, err, errlen);
	case RO_MEMORY:
		ro->memory_set = true;
		return mgr_parse_memory(v, &d->memory, err, errlen);
	case RO_CATALOG:
		ro->catalog = v;
		return 0;
	case RO_DISK:
		if (ro->ndisk_specs == VMDEF_MAX_DISKS - 2) { /* room for the ISO and the seed */
			snprintf(err, errlen, "--disk: at most %d disks", VMDEF_MAX_DISKS - 2);
			return -EINVAL;
		}
		if (!*v) {
			snprintf(err, errlen, "--disk: empty value (FILE or SIZE)");
			return -EINVAL;
		}
		ro->disk_specs[ro->ndisk_specs++] = v;
		return 0;
	case RO_CDROM:
		return copy_arg("--cdrom", d->cdrom, sizeof(d->cdrom), v, err, errlen);
	case RO_KERNEL:
		return copy_arg("--kernel", d->kernel, sizeof(d->kernel), v, err, errlen);
	case RO_INITRAMFS:
		return copy_arg("--initramfs", d->initramfs, sizeof(d->initramfs), v, err, errlen);
	case RO_CMDLINE:
		if (strlen(v) >= sizeof(d->cmdline)) {
			snprintf(err, errlen, "--cmdline: longer than %zu bytes",
				 sizeof(d->cmdline) - 1);
			return -EINVAL;
		}
		strcpy(d->cmdline, v);
		d->cmdline_set = true;
		return 0;
	case RO_FIRMWARE:
		/* none: no firmware even where a preset has it (a kernel booted directly) */
		ro->no_firmware = !strcmp(v, "none");
		if (ro->no_firmware) {
			d->firmware[0] = 0;
			return 0;
		}
		return copy_arg("--firmware", d->firmware, sizeof(d->firmware), v, err, errlen);
	case RO_NET:
		return run_net(ro, v, err, errlen);
	case RO_NET_MODEL:
		if (strcmp(v, "virtio") && strcmp(v, "e1000e")) {
			snprintf(err, errlen, "--net-model: \"%s\" is not virtio or e1000e", v);
			return -EINVAL;
		}
		d->nic = !strcmp(v, "e1000e") ? VMDEF_NIC_E1000E : VMDEF_NIC_VIRTIO;
		ro->nic_set = true;
		return 0;
	case RO_PUBLISH:
		if (d->nports == VMDEF_MAX_PORTS) {
			snprintf(err, errlen, "-p: at most %d port forwards", VMDEF_MAX_PORTS);
			return -EINVAL;
		}
		return mgr_parse_port(v, &d->ports[d->nports++], err, errlen);
	case RO_DISPLAY:
		return copy_arg("--display", d->display, sizeof(d->display), v, err, errlen);
	case RO_SOUND:
	case RO_NO_SOUND:
		ro->sound_set = true;
		return args_sound(d, id == RO_NO_SOUND ? "none" : v, err, errlen);
	case RO_USB:
	case RO_NO_USB:
		d->usb = id == RO_USB;
		ro->usb_set = true;
		return 0;
	case RO_TPM:
	case RO_NO_TPM:
		d->tpm = id == RO_TPM;
		ro->tpm_set = true;
		return 0;
	case RO_HYPERV:
	case RO_NO_HYPERV:
		d->hyperv = id == RO_HYPERV;
		ro->hyperv_set = true;
		return 0;
	case RO_RTC:
		if (strcmp(v, "utc") && strcmp(v, "localtime")) {
			snprintf(err, errlen, "--rtc: \"%.40s\" is not utc or localtime", v);
			return -EINVAL;
		}
		d->rtc_local = !strcmp(v, "localtime");
		ro->rtc_set = true;
		return 0;
	case RO_OS:
		if (!preset_find(v)) {
			snprintf(err, errlen, "--os: \"%.40s\" is not one of %s", v,
				 preset_names());
			return -EINVAL;
		}
		ro->os = v;
		return 0;
	case RO_FIRMWARE_VARS:
		if (!*v) {
			snprintf(err, errlen, "--firmware-vars: empty value");
			return -EINVAL;
		}
		ro->vars_template = v;
		return 0;
	case RO_VOLUME:
		return shares_parse(d, v, err, errlen);
	case RO_RM:
		d->auto_remove = true;
		return 0;
	case RO_NO_JAIL:
		d->no_jail = true;
		return 0;
	case RO_CLOUD_INIT:
		return copy_arg("--cloud-init", d->cloud_init, sizeof(d->cloud_init), v, err,
				errlen);
	case RO_DISK_BUS:
		if (strcmp(v, "virtio") && strcmp(v, "nvme")) {
			snprintf(err, errlen, "--disk-bus: \"%.40s\" is not virtio or nvme", v);
			return -EINVAL;
		}
		d->disk_bus = !strcmp(v, "nvme") ? VMDEF_BUS_NVME : VMDEF_BUS_VIRTIO;
		ro->bus_set = true;
		return 0;
	case RO_HELP:
		ro->help = true;
		return 0;
	default:
		snprintf(err, errlen, "internal error: option %d", id);
		return -EINVAL;
	}
}

int args_parse_run(struct run_opts *ro, bool allow_detach, int argc, char *const argv[], char *err,
		   size_t errlen)
{
	const char *pos[1];
	int npos, rc;

	memset(ro, 0, sizeof(*ro));
	vmdef_init(&ro->def);
	rc = args_parse(run_defs, argc, argv, run_cb, ro, pos, 1, &npos, err, errlen);
	if (rc < 0 || ro->help)
		return rc;
	ro->image = npos ? pos[0] : NULL;
	if (ro->image && !ro->image[0]) {
		snprintf(err, errlen, "an empty IMAGE name");
		return -EINVAL;
	}
	/* An image's VM has user-mode networking unless told otherwise (as Docker's bridge). */
	if (ro->image && !ro->net_spec)
		ro->def.net = VMDEF_NET_USER;
	/* An image's preset is applied once its catalogue entry is known (mgr_image_setup). */
	if (ro->os && !ro->image)
		preset_apply(ro, preset_find(ro->os), false);
	if (ro->vars_template && !ro->def.firmware[0] && !ro->image) {
		snprintf(err, errlen, "--firmware-vars needs --firmware CODE (or an --os preset)");
		return -EINVAL;
	}
	if (ro->detach && !allow_detach) {
		snprintf(err, errlen, "unknown shorthand flag: 'd' (create never attaches)");
		return -EINVAL;
	}
	if (ro->def.nic != VMDEF_NIC_VIRTIO && ro->def.net == VMDEF_NET_NONE) {
		snprintf(err, errlen, "--net-model needs a network (--net user or tap:IFNAME)");
		return -EINVAL;
	}
	if (ro->def.nports && ro->def.net != VMDEF_NET_USER) {
		snprintf(err, errlen, "-p needs --net user (passt forwards the ports)");
		return -EINVAL;
	}
	if (!ro->def.kernel[0] && !ro->def.firmware[0] && !ro->image) {
		snprintf(err, errlen,
			 "nothing to boot: give an IMAGE, --kernel PATH or --firmware PATH");
		return -EINVAL;
	}
	if ((ro->def.initramfs[0] || ro->def.cmdline_set) && !ro->def.kernel[0]) {
		snprintf(err, errlen, "--initramfs and --cmdline need --kernel");
		return -EINVAL;
	}
	return 0;
}
