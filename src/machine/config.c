#include "machine/config.h"

#include <errno.h>
#include <string.h>

#include "common/capfile.h"
#include "common/opts.h"

enum {
	OPT_KERNEL,
	OPT_FIRMWARE,
	OPT_INITRAMFS,
	OPT_CMDLINE,
	OPT_UUID,
	OPT_CPUS,
	OPT_MEMORY,
	OPT_SERIAL,
	OPT_CONSOLE,
	OPT_DISK,
	OPT_NET,
	OPT_RNG,
	OPT_FS,
	OPT_USB,
	OPT_CDROM,
	OPT_TPM,
	OPT_RTC,
	OPT_SOUND,
	OPT_API_SOCKET,
	OPT_DISPLAY,
	OPT_SECCOMP,
	OPT_LOG_FILE,
	OPT_LOG_MAX,
	OPT_VERBOSE,
	OPT_HELP,
	OPT_VERSION,
};

static const struct opt_def vmm_opts[] = {
    {"kernel", 0, "PATH", "Linux bzImage to boot (64-bit boot protocol)", OPT_KERNEL},
    {"firmware", 0, "PATH|code=PATH[,vars=PATH][,smm=on|off]",
     "UEFI firmware (OVMF.fd, or OVMF_CODE.fd + a per-VM copy of OVMF_VARS.fd); SMM (Secure "
     "Boot builds) is on where KVM has it",
     OPT_FIRMWARE},
    {"initramfs", 0, "PATH", "initial ramdisk for the kernel", OPT_INITRAMFS},
    {"cmdline", 0, "STR", "kernel command line", OPT_CMDLINE},
    {"uuid", 0, "UUID", "the machine's UUID (SMBIOS system UUID), e.g. from uuidgen", OPT_UUID},
    {"cpus", 0, "boot=N[,hyperv=on][,kvm=off]",
     "number of vCPUs, 1..64 (default 1); hyperv=on: Hyper-V enlightenments for Windows; "
     "kvm=off: hide KVM's paravirt leaves",
     OPT_CPUS},
    {"memory", 0, "size=SIZE", "guest RAM, e.g. 512M or 5G (default 512M)", OPT_MEMORY},
    {"serial", 0, "MODE", "COM1: tty | file=PATH | socket=PATH | off (default tty)", OPT_SERIAL},
    {"console", 0, "MODE", "virtio-console (hvc0): off | tty | file=PATH | socket=PATH",
     OPT_CONSOLE},
    {"disk", 0,
     "path=FILE[,format=raw|qcow2][,backing=on][,readonly=on][,direct=on][,serial=ID]"
     "[,bootindex=N][,bus=nvme]",
     "disk (up to 8): virtio-blk, or an NVMe controller with bus=nvme; bootindex: firmware "
     "boot order, lower first",
     OPT_DISK},
    {"net", 0, "tap=IF|passt=SOCK[,mac=MAC][,model=virtio|e1000e]",
     "a NIC (up to 4): virtio-net, or an Intel 82574L (e1000e)", OPT_NET},
    {"rng", 0, NULL, "virtio-rng entropy device (host getrandom)", OPT_RNG},
    {"fs", 0, "tag=TAG,path=DIR[,readonly=on][,cache=none]",
     "share a host folder (up to 4) over virtio-fs; the guest mounts it with "
     "`mount -t virtiofs TAG DIR` (docs/shared-folders.md)",
     OPT_FS},
    {"usb", 0, NULL, "xHCI USB controller with a USB tablet and a USB keyboard", OPT_USB},
    {"cdrom", 0, "PATH|path=PATH",
     "ISO image (read-only) on an AHCI SATA controller's ATAPI CD/DVD drive", OPT_CDROM},
    {"tpm", 0, "socket=PATH",
     "TPM 2.0 (CRB) backed by swtpm: PATH is the control socket of `swtpm socket --tpm2 "
     "--ctrl type=unixio,path=PATH --tpmstate dir=DIR --flags startup-clear`",
     OPT_TPM},
    {"rtc", 0, "base=utc|localtime",
     "what the guest's CMOS clock keeps: UTC (default) or the host's local time (Windows)",
     OPT_RTC},
    {"sound", 0, "pulse[,server=PATH]|wav=PATH[,in=PATH]|none",
     "HD Audio (ICH9) with a duplex codec: pulse plays and records through the desktop's sound "
     "server (PulseAudio or PipeWire; server=PATH: its socket); wav=PATH records the guest's "
     "output as a WAV file, "
     "in=PATH plays a 16-bit WAV file (looped) into its microphone; none: no sound device "
     "(the default; docs/sound.md)",
     OPT_SOUND},
    {"api-socket", 0, "PATH", "HTTP API on this Unix socket (docs/api.md)", OPT_API_SOCKET},
    {"display", 0,
     "none|window|vnc=HOST:PORT|vnc=unix:PATH[,password=FILE][,web=on|DIR]"
     "[,tls-cert=FILE,tls-key=FILE]",
     "display device and its front end (docs/display.md)", OPT_DISPLAY},
    {"seccomp", 0, "on|log|off", "system call filters per thread (default on)", OPT_SECCOMP},
    {"log-file", 0, "PATH", "the VMM's log (and stderr) into PATH, capped at --log-max",
     OPT_LOG_FILE},
    {"log-max", 0, "SIZE",
     "cap of --log-file and of file= outputs, each with one rotated copy PATH.1 "
     "(default 64M; 0: no cap)",
     OPT_LOG_MAX},
    {"verbose", 'v', NULL, "more log output (twice: debug, incl. port 0x80 timings)", OPT_VERBOSE},
    {"help", 'h', NULL, "show this help and exit", OPT_HELP},
    {"version", 'V', NULL, "show the version and exit", OPT_VERSION},
    {NULL, 0, NULL, NULL, 0},
};

void config_usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: phyllome-vmm [--firmware PATH|code=PATH[,vars=PATH][,smm=on|off]]\n"
	    "                    [--kernel PATH [--initramfs PATH] [--cmdline STR]] [--uuid UUID]\n"
	    "                    [--cpus boot=N[,hyperv=on]] [--memory size=SIZE] [--serial MODE]\n"
	    "                    [--disk path=FILE]... [--net tap=IF|passt=SOCK]... [--rng]\n"
	    "                    [--cdrom PATH] [--usb] [--tpm socket=PATH] [--sound SPEC]\n"
	    "                    [--fs tag=TAG,path=DIR[,readonly=on][,cache=none]]...\n"
	    "                    [--console MODE] [--api-socket PATH] [--display SPEC]\n\n"
	    "Runs one virtual machine on KVM: a Linux kernel, or UEFI firmware (which, given\n"
	    "--kernel too, boots that kernel). The guest powering off ends the process\n"
	    "with status 0; a guest reboot restarts the guest in the same process.\n\n"
	    "Options:\n");
	opts_usage(f, vmm_opts);
	fprintf(f, "\nOn an interactive serial terminal, press Ctrl-A then x to quit "
		   "(Ctrl-A Ctrl-A sends Ctrl-A).\n");
}

/* Runs fn on each key=value of a sub-option list. */
static int kv_each(const char *opt, const char *arg, struct vm_config *cfg,
		   int (*fn)(struct vm_config *, const char *, const char *, char *, size_t),
		   char *err, size_t errlen)
{
	char buf[4200];
	char *cur = buf, *k, *v;

	if (strlen(arg) >= sizeof(buf)) {
		snprintf(err, errlen, "--%s: value too long", opt);
		return -EINVAL;
	}
	strcpy(buf, arg);
	if (!*buf) {
		snprintf(err, errlen, "--%s: empty value", opt);
		return -EINVAL;
	}
	while (opts_kv_next(&cur, &k, &v)) {
		int rc = fn(cfg, k, v, err, errlen);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* v is "on" or "off": 1 or 0, else -1. */
static int on_off(const char *v)
{
	return !v ? -1 : !strcmp(v, "on") ? 1 : !strcmp(v, "off") ? 0 : -1;
}

static int cpus_kv(struct vm_config *cfg, const char *k, const char *v, char *err, size_t errlen)
{
	uint64_t n;

	if ((!strcmp(k, "hyperv") || !strcmp(k, "kvm")) && on_off(v) >= 0) {
		*(!strcmp(k, "hyperv") ? &cfg->hyperv : &cfg->kvm_leaves) = on_off(v) == 1;
		return 0;
	}
	if (strcmp(k, "boot") || !v) {
		snprintf(
		    err, errlen,
		    "--cpus: unknown parameter '%s' (expected boot=N, hyperv=on|off, kvm=on|off)",
		    k);
		return -EINVAL;
	}
	if (opts_parse_u64(v, UINT64_MAX, &n) < 0 || n < 1 || n > VM_MAX_CPUS) {
		snprintf(err, errlen, "--cpus: boot=%s is out of range (1..%d)", v, VM_MAX_CPUS);
		return -ERANGE;
	}
	cfg->ncpus = (unsigned)n;
	return 0;
}

static int rtc_kv(struct vm_config *cfg, const char *k, const char *v, char *err, size_t errlen)
{
	if (strcmp(k, "base") || !v || (strcmp(v, "utc") && strcmp(v, "localtime"))) {
		snprintf(err, errlen, "--rtc: '%s%s%s' (expected base=utc or base=localtime)", k,
			 v ? "=" : "", v ? v : "");
		return -EINVAL;
	}
	cfg->rtc_localtime = !strcmp(v, "localtime");
	return 0;
}

static int memory_kv(struct vm_config *cfg, const char *k, const char *v, char *err, size_t errlen)
{
	uint64_t sz;

	if (strcmp(k, "size") || !v) {
		snprintf(err, errlen, "--memory: unknown parameter '%s' (expected size=SIZE)", k);
		return -EINVAL;
	}
	if (opts_parse_size(v, &sz) < 0) {
		snprintf(err, errlen, "--memory: size=%s is not a size (e.g. 512M, 4G)", v);
		return -EINVAL;
	}
	if (sz < VM_MIN_MEM || sz > VM_MAX_MEM) {
		snprintf(err, errlen, "--memory: size=%s is out of range (32M..1T)", v);
		return -ERANGE;
	}
	if (sz & ((1u << 20) - 1)) {
		snprintf(err, errlen, "--memory: size=%s is not a whole number of MiB", v);
		return -EINVAL;
	}
	cfg->mem_size = sz;
	return 0;
}

static int parse_chardev(const char *opt, enum serial_mode *mode, char *path, const char *arg,
			 char *err, size_t errlen)
{
	static const struct {
		const char *word;
		enum serial_mode mode;
		int has_path;
	} modes[] = {{"tty", SERIAL_TTY, 0},
		     {"off", SERIAL_OFF, 0},
		     {"file=", SERIAL_FILE, 1},
		     {"socket=", SERIAL_SOCKET, 1}};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		size_t n = strlen(modes[i].word);

		if (modes[i].has_path ? strncmp(arg, modes[i].word, n) : strcmp(arg, modes[i].word))
			continue;
		if (modes[i].has_path) {
			if (!arg[n] || strlen(arg + n) >= VM_PATH_MAX) {
				snprintf(err, errlen, "--%s: bad path in '%s'", opt, arg);
				return -EINVAL;
			}
			strcpy(path, arg + n);
		}
		*mode = modes[i].mode;
		return 0;
	}
	snprintf(err, errlen, "--%s: unknown mode '%s' (tty, file=PATH, socket=PATH, off)", opt,
		 arg);
	return -EINVAL;
}

static int copy_path(const char *opt, char *dst, const char *v, char *err, size_t errlen)
{
	if (!v || !*v || strlen(v) >= VM_PATH_MAX) {
		snprintf(err, errlen, "--%s: missing or too long path", opt);
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

/* bootindex=N of --disk and --cdrom: the firmware's boot order, lower first. */
static int parse_bootindex(const char *opt, const char *v, int *out, char *err, size_t errlen)
{
	uint64_t n;

	if (opts_parse_u64(v, VM_BOOTINDEX_MAX, &n) < 0) {
		snprintf(err, errlen, "--%s: bootindex=%s is not a number 0..%d", opt, v ? v : "",
			 VM_BOOTINDEX_MAX);
		return -EINVAL;
	}
	*out = (int)n;
	return 0;
}

static int disk_kv(struct vm_config *cfg, const char *k, const char *v, char *err, size_t errlen)
{
	struct disk_config *d = &cfg->disks[cfg->ndisks];

	if (!strcmp(k, "path"))
		return copy_path("disk", d->path, v, err, errlen);
	if (!strcmp(k, "readonly") && v && (!strcmp(v, "on") || !strcmp(v, "off"))) {
		d->readonly = !strcmp(v, "on");
		return 0;
	}
	if (!strcmp(k, "direct") && v && (!strcmp(v, "on") || !strcmp(v, "off"))) {
		d->direct = !strcmp(v, "on");
		return 0;
	}
	if (!strcmp(k, "format") && v && (!strcmp(v, "raw") || !strcmp(v, "qcow2"))) {
		d->qcow2 = !strcmp(v, "qcow2");
		return 0;
	}
	if (!strcmp(k, "backing") && v && (!strcmp(v, "on") || !strcmp(v, "off"))) {
		d->backing = !strcmp(v, "on");
		return 0;
	}
	if (!strcmp(k, "serial") && v && strlen(v) < sizeof(d->serial)) {
		strcpy(d->serial, v);
		return 0;
	}
	if (!strcmp(k, "bootindex"))
		return parse_bootindex("disk", v, &d->bootindex, err, errlen);
	if (!strcmp(k, "bus") && v && (!strcmp(v, "virtio") || !strcmp(v, "nvme"))) {
		d->bus = !strcmp(v, "nvme") ? DISK_BUS_NVME : DISK_BUS_VIRTIO;
		return 0;
	}
	snprintf(err, errlen,
		 "--disk: bad parameter '%s' (path=FILE, format=raw|qcow2, backing=on|off, "
		 "readonly=on|off, direct=on|off, serial=ID of up to 20 characters, bootindex=N, "
		 "bus=virtio|nvme)",
		 k);
	return -EINVAL;
}

static int fs_kv(struct vm_config *cfg, const char *k, const char *v, char *err, size_t errlen)
{
	struct fs_config *f = &cfg->fs[cfg->nfs];

	if (!strcmp(k, "path"))
		return copy_path("fs", f->path, v, err, errlen);
	if (!strcmp(k, "tag") && v && *v && strlen(v) <= VM_FS_TAG_MAX) {
		strcpy(f->tag, v);
		return 0;
	}
	if (!strcmp(k, "readonly") && v && (!strcmp(v, "on") || !strcmp(v, "off"))) {
		f->readonly = !strcmp(v, "on");
		return 0;
	}
	if (!strcmp(k, "cache") && v && (!strcmp(v, "auto") || !strcmp(v, "none"))) {
		f->cache_none = !strcmp(v, "none");
		return 0;
	}
	snprintf(err, errlen,
		 "--fs: bad parameter '%s' (tag=TAG of 1 to %d bytes, path=DIR, readonly=on|off, "
		 "cache=auto|none)",
		 k, VM_FS_TAG_MAX);
	return -EINVAL;
}

static int parse_fs(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct fs_config *f = &cfg->fs[cfg->nfs];
	int rc;

	if (cfg->nfs == VM_MAX_FS) {
		snprintf(err, errlen, "--fs: at most %d shared folders", VM_MAX_FS);
		return -E2BIG;
	}
	memset(f, 0, sizeof(*f));
	f->server_fd = -1;
	rc = kv_each("fs", arg, cfg, fs_kv, err, errlen);
	if (rc < 0)
		return rc;
	if (!f->tag[0] || !f->path[0]) {
		snprintf(err, errlen, "--fs: tag=TAG and path=DIR are required");
		return -EINVAL;
	}
	for (unsigned i = 0; i < cfg->nfs; i++) {
		if (!strcmp(cfg->fs[i].tag, f->tag)) {
			snprintf(err, errlen, "--fs: tag '%s' is given twice", f->tag);
			return -EINVAL;
		}
	}
	cfg->nfs++;
	return 0;
}

static int parse_disk(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	int rc;

	if (cfg->ndisks == VM_MAX_DISKS) {
		snprintf(err, errlen, "--disk: at most %d disks", VM_MAX_DISKS);
		return -E2BIG;
	}
	memset(&cfg->disks[cfg->ndisks], 0, sizeof(cfg->disks[0]));
	cfg->disks[cfg->ndisks].bootindex = -1;
	rc = kv_each("disk", arg, cfg, disk_kv, err, errlen);
	if (rc < 0)
		return rc;
	if (!cfg->disks[cfg->ndisks].path[0]) {
		snprintf(err, errlen, "--disk: path=FILE is required");
		return -EINVAL;
	}
	cfg->ndisks++;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

int config_parse_uuid(const char *s, uint8_t out[16])
{
	static const unsigned groups[] = {8, 4, 4, 4, 12};
	unsigned n = 0;

	if (!s || strlen(s) != 36)
		return -EINVAL;
	for (unsigned g = 0; g < 5; g++) {
		if (g > 0 && *s++ != '-')
			return -EINVAL;
		for (unsigned i = 0; i < groups[g]; i += 2) {
			int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

			if (lo < 0)
				return -EINVAL;
			out[n++] = (uint8_t)(hi << 4 | lo);
			s += 2;
		}
	}
	return 0;
}

/* "52:54:00:12:34:56"; refuses multicast addresses. */
static int parse_mac(const char *v, uint8_t mac[6])
{
	unsigned b[6];
	char end;

	if (!v ||
	    sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6 ||
	    strlen(v) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return (mac[0] & 1) ? -EINVAL : 0;
}

static int net_kv(struct vm_config *cfg, const char *k, const char *v, char *err, size_t errlen)
{
	struct net_config *n = &cfg->nets[cfg->nnets];

	if (!strcmp(k, "tap") || !strcmp(k, "passt")) {
		if (n->target[0]) {
			snprintf(err, errlen, "--net: give one of tap=IF or passt=SOCK");
			return -EINVAL;
		}
		n->backend = !strcmp(k, "tap") ? NET_TAP : NET_PASST;
		if (n->backend == NET_TAP && v && strlen(v) >= 16) {
			snprintf(err, errlen, "--net: tap interface name '%s' is too long", v);
			return -EINVAL;
		}
		return copy_path("net", n->target, v, err, errlen);
	}
	if (!strcmp(k, "mac")) {
		if (parse_mac(v, n->mac) < 0) {
			snprintf(err, errlen,
				 "--net: mac=%s is not a unicast MAC like 52:54:00:12:34:56",
				 v ? v : "");
			return -EINVAL;
		}
		n->mac_set = true;
		return 0;
	}
	if (!strcmp(k, "model")) {
		if (v && !strcmp(v, "virtio"))
			n->model = NET_VIRTIO;
		else if (v && !strcmp(v, "e1000e"))
			n->model = NET_E1000E;
		else {
			snprintf(err, errlen, "--net: model=%s is not virtio or e1000e",
				 v ? v : "");
			return -EINVAL;
		}
		return 0;
	}
	snprintf(err, errlen,
		 "--net: bad parameter '%s' (tap=IF, passt=SOCK, mac=MAC, model=virtio|e1000e)", k);
	return -EINVAL;
}

static int parse_net(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	int rc;

	if (cfg->nnets == VM_MAX_NETS) {
		snprintf(err, errlen, "--net: at most %d network devices", VM_MAX_NETS);
		return -E2BIG;
	}
	memset(&cfg->nets[cfg->nnets], 0, sizeof(cfg->nets[0]));
	rc = kv_each("net", arg, cfg, net_kv, err, errlen);
	if (rc < 0)
		return rc;
	if (!cfg->nets[cfg->nnets].target[0]) {
		snprintf(err, errlen, "--net: tap=IF or passt=SOCK is required");
		return -EINVAL;
	}
	cfg->nnets++;
	return 0;
}

static int cdrom_kv(struct vm_config *cfg, const char *k, const char *v, char *err, size_t errlen)
{
	if (!strcmp(k, "path"))
		return copy_path("cdrom", cfg->cdrom, v, err, errlen);
	if (!strcmp(k, "bootindex"))
		return parse_bootindex("cdrom", v, &cfg->cdrom_bootindex, err, errlen);
	snprintf(err, errlen, "--cdrom: bad parameter '%s' (PATH, or path=PATH[,bootindex=N])", k);
	return -EINVAL;
}

/* "--cdrom PATH" or "--cdrom path=PATH[,bootindex=N]" (the --disk style). */
static int parse_cdrom(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	int rc;

	if (cfg->cdrom[0]) {
		snprintf(err, errlen, "--cdrom: one CD-ROM image only");
		return -E2BIG;
	}
	if (strncmp(arg, "path=", 5))
		return copy_path("cdrom", cfg->cdrom, arg, err, errlen);
	rc = kv_each("cdrom", arg, cfg, cdrom_kv, err, errlen);
	if (rc == 0 && !cfg->cdrom[0]) {
		snprintf(err, errlen, "--cdrom: path=PATH is required");
		rc = -EINVAL;
	}
	return rc;
}

/* --tpm socket=PATH: swtpm's control socket, a sockaddr_un path (107 bytes at most). */
static int tpm_kv(struct vm_config *cfg, const char *k, const char *v, char *err, size_t errlen)
{
	if (strcmp(k, "socket")) {
		snprintf(err, errlen, "--tpm: bad parameter '%s' (socket=PATH)", k);
		return -EINVAL;
	}
	if (!*v || strlen(v) > 107) {
		snprintf(err, errlen, "--tpm: socket path must be 1 to 107 bytes");
		return -EINVAL;
	}
	strcpy(cfg->tpm_socket, v);
	return 0;
}

/* --sound wav=PATH[,in=PATH] | none */
static int sound_kv(struct vm_config *cfg, const char *k, const char *v, char *err, size_t errlen)
{
	struct sound_config *s = &cfg->sound;

	if (!strcmp(k, "none") && !v) {
		memset(s, 0, sizeof(*s));
		return 0;
	}
	if (!strcmp(k, "pulse") && !v) {
		s->kind = SOUND_PULSE;
		return 0;
	}
	if (!strcmp(k, "server") && v && v[0] == '/')
		return copy_path("sound", s->server, v, err, errlen);
	if (!strcmp(k, "wav") || !strcmp(k, "in")) {
		if (!v || !*v) {
			snprintf(err, errlen, "--sound: %s= needs a path", k);
			return -EINVAL;
		}
		if (!strcmp(k, "wav"))
			s->kind = SOUND_WAV;
		return copy_path("sound", !strcmp(k, "wav") ? s->out : s->in, v, err, errlen);
	}
	snprintf(err, errlen,
		 "--sound: bad parameter '%s' (pulse[,server=/PATH], wav=PATH[,in=PATH] or none)",
		 k);
	return -EINVAL;
}

static int parse_sound(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	int rc;

	memset(&cfg->sound, 0, sizeof(cfg->sound));
	rc = kv_each("sound", arg, cfg, sound_kv, err, errlen);
	if (rc == 0 && cfg->sound.in[0] && cfg->sound.kind != SOUND_WAV) {
		snprintf(err, errlen, "--sound: in= goes with wav=PATH");
		rc = -EINVAL;
	}
	return rc;
}

static int firmware_kv(struct vm_config *cfg, const char *k, const char *v, char *err,
		       size_t errlen)
{
	if (!strcmp(k, "code"))
		return copy_path("firmware", cfg->fw_code, v, err, errlen);
	if (!strcmp(k, "vars"))
		return copy_path("firmware", cfg->fw_vars, v, err, errlen);
	if (!strcmp(k, "smm") && on_off(v) >= 0) {
		cfg->fw_smm = on_off(v) ? 1 : -1;
		return 0;
	}
	snprintf(err, errlen,
		 "--firmware: bad parameter '%s' (PATH, or code=PATH[,vars=PATH][,smm=on|off])", k);
	return -EINVAL;
}

/* "--firmware PATH" (one image, e.g. OVMF.fd: read-only, variables not kept) or
 * "--firmware code=PATH[,vars=PATH]" (the split images; vars is written). */
static int parse_firmware(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	int rc;

	cfg->firmware = true;
	cfg->fw_code[0] = cfg->fw_vars[0] = 0;
	cfg->fw_smm = 0;
	if (strncmp(arg, "code=", 5) && strncmp(arg, "vars=", 5))
		return copy_path("firmware", cfg->fw_code, arg, err, errlen);
	rc = kv_each("firmware", arg, cfg, firmware_kv, err, errlen);
	if (rc == 0 && !cfg->fw_code[0]) {
		snprintf(err, errlen, "--firmware: code=PATH is required");
		rc = -EINVAL;
	}
	return rc;
}

static int display_vnc(struct display_config *d, const char *v, char *err, size_t errlen)
{
	const char *colon = v ? strrchr(v, ':') : NULL;
	uint64_t port;

	if (v && !strncmp(v, "unix:", 5)) {
		if (!v[5] || strlen(v + 5) >= sizeof(d->vnc_unix)) {
			snprintf(err, errlen,
				 "--display: vnc=unix:PATH needs a path of 1 to 107 bytes");
			return -EINVAL;
		}
		strcpy(d->vnc_unix, v + 5);
		d->kind = DISPLAY_VNC;
		return 0;
	}
	if (!colon || colon == v || (size_t)(colon - v) >= sizeof(d->vnc_host) ||
	    opts_parse_u64(colon + 1, 65535, &port) < 0) {
		snprintf(err, errlen, "--display: vnc=%s is not HOST:PORT or unix:PATH",
			 v ? v : "");
		return -EINVAL;
	}
	memcpy(d->vnc_host, v, (size_t)(colon - v));
	d->vnc_host[colon - v] = 0;
	d->vnc_port = (unsigned)port;
	d->kind = DISPLAY_VNC;
	return 0;
}

static int display_kv(struct vm_config *cfg, const char *k, const char *v, char *err, size_t errlen)
{
	struct display_config *d = &cfg->display;

	if (!strcmp(k, "none") && !v) {
		d->kind = DISPLAY_NONE;
		return 0;
	}
	if (!strcmp(k, "window") && !v) {
		d->kind = DISPLAY_WINDOW;
		return 0;
	}
	if (!strcmp(k, "vnc"))
		return display_vnc(d, v, err, errlen);
	if (!strcmp(k, "password"))
		return copy_path("display", d->password_file, v, err, errlen);
	if (!strcmp(k, "web"))
		return copy_path("display", d->web_dir,
				 v && !strcmp(v, "on") ? "/usr/share/novnc" : v, err, errlen);
	if (!strcmp(k, "tls-cert"))
		return copy_path("display", d->tls_cert, v, err, errlen);
	if (!strcmp(k, "tls-key"))
		return copy_path("display", d->tls_key, v, err, errlen);
	snprintf(err, errlen,
		 "--display: bad parameter '%s' (none, window, vnc=HOST:PORT, vnc=unix:PATH, "
		 "password=FILE, web=on|DIR, tls-cert=FILE, tls-key=FILE)",
		 k);
	return -EINVAL;
}

static int config_opt(void *ctx, int id, const char *arg, char *err, size_t errlen)
{
	struct vm_config *cfg = ctx;

	switch (id) {
	case OPT_KERNEL:
		cfg->kernel = arg;
		return 0;
	case OPT_FIRMWARE:
		return parse_firmware(cfg, arg, err, errlen);
	case OPT_INITRAMFS:
		cfg->initramfs = arg;
		return 0;
	case OPT_CMDLINE:
		if (strlen(arg) >= VM_CMDLINE_MAX) {
			snprintf(err, errlen, "--cmdline: longer than %d bytes",
				 VM_CMDLINE_MAX - 1);
			return -EINVAL;
		}
		cfg->cmdline = arg;
		return 0;
	case OPT_UUID:
		if (config_parse_uuid(arg, cfg->uuid) < 0) {
			snprintf(err, errlen,
				 "--uuid: '%s' is not a UUID like "
				 "12345678-9abc-def0-1234-56789abcdef0",
				 arg);
			return -EINVAL;
		}
		cfg->uuid_set = true;
		return 0;
	case OPT_CPUS:
		return kv_each("cpus", arg, cfg, cpus_kv, err, errlen);
	case OPT_MEMORY:
		return kv_each("memory", arg, cfg, memory_kv, err, errlen);
	case OPT_SERIAL:
		return parse_chardev("serial", &cfg->serial, cfg->serial_path, arg, err, errlen);
	case OPT_CONSOLE:
		return parse_chardev("console", &cfg->console, cfg->console_path, arg, err, errlen);
	case OPT_DISK:
		return parse_disk(cfg, arg, err, errlen);
	case OPT_NET:
		return parse_net(cfg, arg, err, errlen);
	case OPT_RNG:
		cfg->rng = true;
		return 0;
	case OPT_FS:
		return parse_fs(cfg, arg, err, errlen);
	case OPT_USB:
		cfg->usb = true;
		return 0;
	case OPT_CDROM:
		return parse_cdrom(cfg, arg, err, errlen);
	case OPT_TPM:
		return kv_each("tpm", arg, cfg, tpm_kv, err, errlen);
	case OPT_RTC:
		return kv_each("rtc", arg, cfg, rtc_kv, err, errlen);
	case OPT_SOUND:
		return parse_sound(cfg, arg, err, errlen);
	case OPT_API_SOCKET:
		/* sockaddr_un's sun_path holds 108 bytes with the NUL */
		if (!*arg || strlen(arg) > 107) {
			snprintf(err, errlen, "--api-socket: path must be 1 to 107 bytes");
			return -EINVAL;
		}
		cfg->api_socket = arg;
		return 0;
	case OPT_DISPLAY:
		memset(&cfg->display, 0, sizeof(cfg->display));
		return kv_each("display", arg, cfg, display_kv, err, errlen);
	case OPT_SECCOMP:
		if (!strcmp(arg, "on") || !strcmp(arg, "log") || !strcmp(arg, "off")) {
			cfg->seccomp = !strcmp(arg, "on")    ? SECCOMP_ON
				       : !strcmp(arg, "log") ? SECCOMP_LOG
							     : SECCOMP_OFF;
			return 0;
		}
		snprintf(err, errlen, "--seccomp: '%s' is not on, log or off", arg);
		return -EINVAL;
	case OPT_LOG_FILE:
		if (!*arg) {
			snprintf(err, errlen, "--log-file: empty path");
			return -EINVAL;
		}
		cfg->log_file = arg;
		return 0;
	case OPT_LOG_MAX:
		if (opts_parse_size(arg, &cfg->log_max) < 0 ||
		    (cfg->log_max && cfg->log_max < CAPFILE_MIN_MAX)) {
			snprintf(err, errlen, "--log-max: '%s' is not 0 or a size of at least 64K",
				 arg);
			return -EINVAL;
		}
		return 0;
	case OPT_VERBOSE:
		cfg->verbose++;
		return 0;
	case OPT_HELP:
		cfg->action = CONFIG_HELP;
		return 0;
	case OPT_VERSION:
		cfg->action = CONFIG_VERSION;
		return 0;
	default:
		snprintf(err, errlen, "internal error: option id %d", id);
		return -EINVAL;
	}
}

/* Each bootindex at most once over all devices that take one (the disks, then the CD-ROM). */
static int check_bootindexes(const struct vm_config *cfg, char *err, size_t errlen)
{
	int idx[VM_MAX_DISKS + 1];
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->ndisks; i++)
		idx[n++] = cfg->disks[i].bootindex;
	idx[n++] = cfg->cdrom_bootindex;
	for (unsigned i = 1; i < n; i++) {
		for (unsigned j = 0; j < i && idx[i] >= 0; j++) {
			if (idx[j] == idx[i]) {
				snprintf(err, errlen, "--%s: bootindex=%d is given twice",
					 i < cfg->ndisks ? "disk" : "cdrom", idx[i]);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int config_parse(struct vm_config *cfg, int argc, char *const argv[], char *err, size_t errlen)
{
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ncpus = 1;
	cfg->kvm_leaves = true;
	cfg->mem_size = VM_DEFAULT_MEM;
	cfg->serial = SERIAL_TTY;
	cfg->console = SERIAL_OFF;
	cfg->cmdline = "";
	cfg->cdrom_bootindex = -1;
	cfg->log_max = CAPFILE_DEFAULT_MAX;
	rc = opts_parse(vmm_opts, argc, argv, config_opt, cfg, err, errlen);
	if (rc < 0 || cfg->action != CONFIG_RUN)
		return rc;
	if (!cfg->kernel && !cfg->firmware) {
		snprintf(err, errlen,
			 "no guest to boot: give --kernel PATH or --firmware PATH (see --help)");
		return -EINVAL;
	}
	if (!cfg->kernel && (cfg->initramfs || *cfg->cmdline)) {
		snprintf(err, errlen, "--initramfs and --cmdline need --kernel");
		return -EINVAL;
	}
	if (cfg->serial == SERIAL_TTY && cfg->console == SERIAL_TTY) {
		snprintf(err, errlen, "--serial and --console cannot both use the terminal");
		return -EINVAL;
	}
	if ((cfg->display.password_file[0] || cfg->display.web_dir[0] || cfg->display.tls_cert[0] ||
	     cfg->display.tls_key[0]) &&
	    cfg->display.kind != DISPLAY_VNC) {
		snprintf(err, errlen, "--display: password=, web= and tls-*= are for vnc= only");
		return -EINVAL;
	}
	if (!cfg->display.tls_cert[0] != !cfg->display.tls_key[0]) {
		snprintf(err, errlen, "--display: tls-cert= and tls-key= go together");
		return -EINVAL;
	}
	if (cfg->initramfs && !*cfg->initramfs) {
		snprintf(err, errlen, "--initramfs: empty path");
		return -EINVAL;
	}
	return check_bootindexes(cfg, err, errlen);
}
