/* phyllome: the manager. Each VM is a detached phyllome-vmm process with a small supervisor;
 * no daemon. See docs/manager.md. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "manager/cmds.h"
#include "manager/http.h"

static bool progress_shown;

void mgr_progress_clear(void)
{
	if (progress_shown)
		fputs("\r\033[K", stderr);
	progress_shown = false;
}

void mgr_error(const char *fmt, ...)
{
	va_list ap;

	mgr_progress_clear();
	fputs("phyllome: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void mgr_progress(const char *fmt, ...)
{
	va_list ap;

	if (!isatty(2))
		return;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	progress_shown = true;
}

bool mgr_no_flags(const char *verb, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '-') {
			mgr_error("%s: unknown flag: %s", verb, argv[i]);
			return false;
		}
	}
	return true;
}

int mgr_store(struct store *s)
{
	char err[512];

	if (store_open(s, err, sizeof(err)) < 0) {
		mgr_error("%s", err);
		return -1;
	}
	return 0;
}

int mgr_resolve(struct store *s, const char *ref, struct vm_entry *e)
{
	char err[512];

	if (store_resolve(s, ref, e, err, sizeof(err)) < 0) {
		mgr_error("%s", err);
		return -1;
	}
	store_refresh(s, e);
	return 0;
}

bool mgr_running(const struct vm_entry *e)
{
	return !strcmp(e->st.status, "running") && mgr_proc_alive(e->st.vmm_pid, e->st.vmm_start);
}

int mgr_api(const struct vm_entry *e, const char *method, const char *endpoint, bool quiet,
	    char *why, size_t whylen)
{
	char sock[VMDEF_PATH + 16], path[128], err[512];
	struct http_response r;
	int status;

	snprintf(sock, sizeof(sock), "%s/api.sock", e->dir);
	snprintf(path, sizeof(path), "/api/v1/%s", endpoint);
	if (http_request(sock, method, path, NULL, 10000, &r, err, sizeof(err)) < 0) {
		if (!quiet)
			mgr_error("%s: API: %s", e->def.name, err);
		if (why)
			snprintf(why, whylen, "%s", err);
		return -1;
	}
	status = r.status;
	if (status >= 300) {
		http_error_text(&r, err, sizeof(err));
		if (!quiet)
			mgr_error("%s: %s", e->def.name, err);
		if (why)
			snprintf(why, whylen, "%s", err);
	}
	http_response_free(&r);
	return status;
}

void mgr_api_state(const struct vm_entry *e, char *out, size_t len)
{
	char sock[VMDEF_PATH + 16], err[256];
	struct http_response r;
	const char *p;
	json_t *info;

	out[0] = 0;
	snprintf(sock, sizeof(sock), "%s/api.sock", e->dir);
	if (http_request(sock, "GET", "/api/v1/vm.info", NULL, 2000, &r, err, sizeof(err)) < 0)
		return;
	info = r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
	p = json_string_value(json_object_get(info, "state"));
	if (p)
		snprintf(out, len, "%s", p);
	json_decref(info);
	http_response_free(&r);
}

static void usage(FILE *f)
{
	fputs(
	    "Usage: phyllome COMMAND [OPTIONS] [ARGS]\n\n"
	    "Runs virtual machines as detached phyllome-vmm processes (no daemon).\n\n"
	    "Commands:\n"
	    "  run [OPTIONS] [IMAGE]   create and start a VM (attached unless -d)\n"
	    "  create [OPTIONS] [IMAGE] create a VM without starting it\n"
	    "  start VM...             start VMs\n"
	    "  stop [-t SECS] VM...    press the power button; cut the power after SECS (30)\n"
	    "  restart [-t SECS] VM... stop, then start\n"
	    "  kill [-s SIGNAL] VM...  kill the VMM (default SIGKILL)\n"
	    "  rm [-f] VM...           remove VMs (-f: also running ones)\n"
	    "  ps [-a] [-q] [--format table|json]\n"
	    "                          list running VMs (-a: all)\n"
	    "  inspect VM...           everything about VMs, as JSON\n"
	    "  logs [-f] VM            the guest's serial output (-f: follow)\n"
	    "  console VM              attach to the serial console (Ctrl-] detaches)\n"
	    "  pause VM... / resume VM...\n"
	    "  screenshot VM FILE      the VM's screen as a PNG (needs a display)\n"
	    "  disk create FILE SIZE   a sparse raw disk image\n"
	    "  pull [--catalog FILE|URL] [--from FILE|URL] NAME[:TAG]|URL\n"
	    "                          download and verify an image (see the catalogue)\n"
	    "  images [-q]             the stored images\n"
	    "  rmi NAME[:TAG]...       remove images no VM uses\n"
	    "  commit VM NAME[:TAG]    a new image from a stopped VM's first disk\n"
	    "  update [--cpus N] [--memory SIZE] [--display MODE] [--sound MODE|--no-sound]\n"
	    "         [--disk-size SIZE] VM\n"
	    "                          change a stopped VM's CPUs, memory, display, sound; grow "
	    "its disk\n"
	    "  ssh VM [COMMAND...]     ssh into an image's VM through its forwarded port\n"
	    "  ui [--listen HOST:PORT|unix:PATH] [--open]\n"
	    "     [--tls | --tls-cert FILE --tls-key FILE]\n"
	    "                          the desktop app in a browser (127.0.0.1:7380; HTTPS with\n"
	    "                          a self-signed certificate, or yours)\n"
	    "  ui --folders | --add-folder DIR | --remove-folder DIR\n"
	    "                          the folders whose ISOs and images the app offers\n"
	    "  version\n\n"
	    "Options of run and create:\n"
	    "  -d, --detach            run in the background, print the VM's id (run only)\n"
	    "      --name NAME         a unique name (default: a generated one)\n"
	    "      --os windows|linux|freebsd|other\n"
	    "                          the machine that OS expects (any option below wins);\n"
	    "                          windows: 2 vCPUs, 4G, a 64G NVMe disk, e1000e, USB,\n"
	    "                          TPM, UEFI with its own variables, Hyper-V, local time\n"
	    "  -c, --cpus N            vCPUs (default 1)\n"
	    "  -m, --memory SIZE       RAM, e.g. 512M, 4G (default 512M)\n"
	    "      --disk FILE|SIZE    a raw image, or a new sparse one of SIZE (up to 6)\n"
	    "      --cdrom ISO         an ISO image, read-only\n"
	    "      --kernel PATH, --initramfs PATH, --cmdline STR\n"
	    "                          direct Linux boot (cmdline default: console=ttyS0)\n"
	    "      --firmware PATH|none  UEFI firmware (e.g. OVMF; with --kernel, it boots it);\n"
	    "                          none: no firmware, even with --os\n"
	    "      --firmware-vars FILE  the VM gets its own copy of this UEFI variable store\n"
	    "                          (--firmware is then the code image)\n"
	    "      --disk-bus virtio|nvme  the bus of the --disk disks (default virtio)\n"
	    "      --net user|tap:IF   user-mode networking (passt) or a tap interface\n"
	    "      --net-model virtio|e1000e\n"
	    "                          the NIC: virtio-net (default) or an Intel 82574L\n"
	    "  -p, --publish HOST:GUEST[/udp]\n"
	    "                          forward a host port into the guest (--net user)\n"
	    "      --display MODE      none | vnc=HOST:PORT | vnc=unix:PATH | window\n"
	    "      --sound MODE        pulse | wav=/PATH.wav | none; default: pulse for a VM with\n"
	    "                          a display where a sound server runs ($PULSE_SERVER or\n"
	    "                          $XDG_RUNTIME_DIR/pulse/native); --no-sound: none\n"
	    "      --usb               a USB tablet and keyboard (xHCI), for guests without "
	    "virtio\n"
	    "      --no-usb, --tpm, --no-tpm, --hyperv, --no-hyperv\n"
	    "                          a TPM 2.0 (the VM's own swtpm), Hyper-V enlightenments\n"
	    "      --rtc utc|localtime the guest's clock (Windows keeps local time)\n"
	    "      --no-jail           run the VMM as you, not in phyllome-jail (a user\n"
	    "                          namespace of its own; docs/security.md)\n"
	    "      --cloud-init FILE   user-data for a NoCloud seed (vfat, label cidata)\n"
	    "  -v, --volume HOST_DIR:GUEST_PATH[:ro]  share a host folder (virtio-fs; up to 4)\n"
	    "      --rm                remove the VM when it ends\n"
	    "      --catalog FILE|URL  the catalogue IMAGE is looked up in\n\n"
	    "IMAGE: NAME[:TAG] from the catalogue ($PHYLLOME_CATALOG), a pulled image, or a URL.\n"
	    "The VM gets a qcow2 overlay on it (a cloud image: with a cloud-init user and an\n"
	    "SSH port) or, for an ISO, the ISO in its CD-ROM drive and an empty disk.\n\n"
	    "VM: a name, an id, or a unique prefix of an id. State: $PHYLLOME_STATE, else\n"
	    "/var/lib/phyllome (root) or $XDG_DATA_HOME/phyllome. See docs/manager.md.\n",
	    f);
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("phyllome %s\n", PHYLLOME_VERSION);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
	    {"run", cmd_run},
	    {"create", cmd_create},
	    {"start", cmd_start},
	    {"stop", cmd_stop},
	    {"restart", cmd_restart},
	    {"kill", cmd_kill},
	    {"rm", cmd_rm},
	    {"pause", cmd_pause},
	    {"resume", cmd_resume},
	    {"unpause", cmd_resume},
	    {"ps", cmd_ps},
	    {"ls", cmd_ps},
	    {"inspect", cmd_inspect},
	    {"logs", cmd_logs},
	    {"console", cmd_console},
	    {"attach", cmd_console},
	    {"screenshot", cmd_screenshot},
	    {"disk", cmd_disk},
	    {"pull", cmd_pull},
	    {"images", cmd_images},
	    {"rmi", cmd_rmi},
	    {"commit", cmd_commit},
	    {"ssh", cmd_ssh},
	    {"ui", cmd_ui},
	    {"update", cmd_update},
	    {"version", cmd_version},
	};

	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return cmd_version(0, NULL);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 2, argv + 2);
	mgr_error("'%s' is not a phyllome command (see 'phyllome --help')", argv[1]);
	return EXIT_USAGE;
}
