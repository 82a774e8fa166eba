/* phyllome-vmm: runs one VM. The guest powering off ends the process with status 0; a
 * reboot starts the guest again in a fresh VM; errors end it with one line on stderr. The API
 * server (--api-socket) lives across reboots; each VM loop answers its requests. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "api/api_server.h"
#include "backends/fs_server.h"
#include "common/capfile.h"
#include "common/log.h"
#include "ui/display.h"
#include "ui/uilibs.h"
#include "machine/config.h"
#include "backends/audio.h"
#include "backends/audio_tap.h"
#include "backends/console.h"
#include "kvm/seccomp.h"
#include "devices/bochs_display.h"
#include "devices/i8042.h"
#include "devices/xhci.h"
#include "machine/vm.h"
#include "virtio/devices.h"
#include "virtio/virtio_pci.h"

/* The display's sources are the board's display device, keyboard, tablet and USB controller. */
static void display_attach_vm(struct display *disp, struct vm *vm)
{
	struct bochs_card *card = board_state(vm, &bochs_display_device);
	struct virtio_set *tablet = board_state(vm, &virtio_input_device);
	struct display_src src = {.dev = &card->dev,
				  .kbd = board_state(vm, &i8042_device),
				  .tablet = tablet ? tablet->dev[0] : NULL,
				  .usb = board_state(vm, &xhci_device),
				  .get_dirty = memslot_dirty_get,
				  .opaque = &card->slot};

	display_attach(disp, &src);
}

static int signals_fd(void)
{
	sigset_t set;

	/* Blocked here, so every thread created later inherits the mask and only the
	 * VM loop sees these, through the signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigdelset(&set, SIGUSR1);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Starts the API server (--api-socket) and its channel to the VM loop. */
static int start_api(const struct vm_config *cfg, struct ctl_channel *ctl, struct api_server **api)
{
	char err[512];
	int rc = ctl_init(ctl);

	if (rc < 0) {
		pr_err("cannot create the API's control channel: %s", strerror(-rc));
		return rc;
	}
	rc = api_server_start(api, cfg->api_socket, ctl, cfg->seccomp, err, sizeof(err));
	if (rc < 0) {
		pr_err("%s", err);
		ctl_destroy(ctl);
	}
	return rc;
}

/* The VM has stopped for good: requests still queued are answered from it (state
 * Shutdown), later ones are refused, and the server ends once its answers have gone out. */
static void stop_api(struct api_server *api, struct ctl_channel *ctl, struct vm *vm)
{
	struct ctl_request *r;

	if (!api)
		return;
	ctl_close(ctl);
	while ((r = ctl_take(ctl)))
		vm_answer(vm, ctl, r);
	api_server_stop(api);
	ctl_destroy(ctl);
}

/* The browser console's pages get the guest's sound through a ring of about a second. */
#define SOUND_TAP_BYTES (256u << 10)

static int run(const struct vm_config *cfg, int sig_fd)
{
	char err[512] = "";
	struct console con;
	struct ctl_channel ctl;
	struct api_server *api = NULL;
	struct display *disp = NULL;
	struct vm_host host = {.con = &con, .sig_fd = sig_fd};
	struct vm *vm = malloc(sizeof(*vm));
	int status = 1;

	/* glibc opens /etc/localtime the first time it converts a time (the RTC does):
	 * do it now, before the filters forbid opening files in vCPU threads. */
	tzset();
	/* The display's libraries (VNC, TLS, PNG), only if there is a display, and libpulse for
	 * --sound pulse: now, before the filter, which forbids mapping code. */
	if (ui_libs_load(ui_libs_for(&cfg->display), err, sizeof(err)) < 0 ||
	    (cfg->sound.kind == SOUND_PULSE && audio_pulse_load(err, sizeof(err)) < 0)) {
		pr_err("%s", err);
		free(vm);
		return 1;
	}
	if (seccomp_install(cfg->display.kind == DISPLAY_WINDOW ? SECCOMP_VMM_WINDOW : SECCOMP_VMM,
			    cfg->seccomp) < 0) {
		pr_err("cannot install the seccomp filter (--seccomp off runs without)");
		free(vm);
		return 1;
	}
	if (!vm || console_open(&con, cfg->serial, cfg->serial_path, err, sizeof(err)) < 0) {
		pr_err("%s", vm ? err : "out of memory");
		free(vm);
		return 1;
	}
	/* Console pages hear the guest (the browser console's, the desktop app's through the VNC
	 * socket): a second of its sound for them. */
	if (cfg->sound.kind != SOUND_NONE && cfg->display.kind == DISPLAY_VNC &&
	    !(host.sound_tap = audio_tap_new(SOUND_TAP_BYTES))) {
		pr_err("out of memory");
		console_close(&con);
		free(vm);
		return 1;
	}
	if (cfg->display.kind != DISPLAY_OFF) {
		disp = malloc(sizeof(*disp));
		if (!disp || display_start(disp, &cfg->display, host.sound_tap, cfg->seccomp, err,
					   sizeof(err)) < 0) {
			pr_err("%s", disp ? err : "out of memory");
			if (disp)
				display_stop(disp);
			free(disp);
			console_close(&con);
			audio_tap_free(host.sound_tap);
			free(vm);
			return 1;
		}
	}
	if (cfg->api_socket && start_api(cfg, &ctl, &api) < 0) {
		if (disp)
			display_stop(disp);
		free(disp);
		console_close(&con);
		audio_tap_free(host.sound_tap);
		free(vm);
		return 1;
	}
	if (api)
		api_server_set_display(api, disp);
	host.ctl = api ? &ctl : NULL;
	for (host.boots = 1;; host.boots++) {
		enum vm_exit why = VM_FAILED;

		if (vm_create(vm, cfg, &host, err, sizeof(err)) < 0) {
			pr_err("%s", err);
		} else {
			if (disp) {
				display_attach_vm(disp, vm);
			}
			why = vm_run(vm);
			if (disp)
				display_detach(disp);
		}
		if (why == VM_REBOOT) {
			vm_destroy(vm);
			pr_info("guest rebooted");
			continue;
		}
		if (why == VM_FAILED && vm->fail_msg[0])
			pr_err("%s", vm->fail_msg);
		else if (why == VM_SIGNAL)
			pr_info("stopped by signal %s", strsignal(vm->exit_signal));
		status = why == VM_FAILED ? 1 : why == VM_SIGNAL ? 128 + vm->exit_signal : 0;
		stop_api(api, &ctl, vm);
		vm_destroy(vm);
		break;
	}
	if (disp)
		display_stop(disp);
	free(disp);
	console_close(&con);
	audio_tap_free(host.sound_tap);
	free(vm);
	return status;
}

/* --log-file: our lines through the capped file, and stderr onto it too (libraries' lines,
 * an abort's message), before anything runs. */
static int open_log(const struct vm_config *cfg, struct capfile *f)
{
	int rc;

	if (!cfg->log_file)
		return 0;
	rc = capfile_open(f, cfg->log_file, cfg->log_max, 1);
	if (rc < 0) {
		pr_err("--log-file %s: %s", cfg->log_file, strerror(-rc));
		return rc;
	}
	if (dup2(f->fd, STDERR_FILENO) < 0) {
		rc = -errno;
		pr_err("--log-file %s: %s", cfg->log_file, strerror(errno));
		capfile_close(f);
		return rc;
	}
	log_set_file(f);
	return 0;
}

/* Every thread the VMM starts gets a 1 MiB stack instead of glibc's 8 MiB: less than the 2 MiB
 * of a transparent huge page, so that on a host whose THP setting is "always" (Debian's kernel)
 * a thread's first stack page does not take 2 MiB of RAM. The VMM's own deepest frame is a
 * 64 KiB buffer. Not with --display window: Mesa's shader compiler runs in threads it starts
 * and may want deep stacks. */
static void small_thread_stacks(const struct vm_config *cfg)
{
	pthread_attr_t a;

	if (cfg->display.kind == DISPLAY_WINDOW || pthread_attr_init(&a))
		return;
	if (pthread_attr_setstacksize(&a, 1 << 20) == 0)
		pthread_setattr_default_np(&a);
	pthread_attr_destroy(&a);
}

/* --fs: each shared folder's file server, forked now, while the VMM has one thread and no
 * filter yet (the server installs its own); they live across reboots and end with the VMM. */
static int start_fs_servers(struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->nfs; i++) {
		char err[512];
		pid_t pid;
		int fd = fs_server_spawn(&cfg->fs[i], cfg->seccomp, &pid, &cfg->fs[i].shm, err,
					 sizeof(err));

		if (fd < 0) {
			pr_err("%s", err);
			return fd;
		}
		cfg->fs[i].server_fd = fd;
		pr_info("shared folder '%s' (%s%s%s): file server pid %d", cfg->fs[i].tag,
			cfg->fs[i].path, cfg->fs[i].readonly ? ", read-only" : "",
			cfg->fs[i].cache_none ? ", cache=none" : "", (int)pid);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct capfile log_file; /* lives until the process ends */
	struct vm_config cfg;
	char err[512] = "";
	int sig_fd;

	log_init("phyllome-vmm");
	if (config_parse(&cfg, argc, argv, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		return 2;
	}
	if (cfg.action == CONFIG_HELP) {
		config_usage(stdout);
		return 0;
	}
	if (cfg.action == CONFIG_VERSION) {
		printf("phyllome-vmm %s\n", PHYLLOME_VERSION);
		return 0;
	}
	if (vm_check_files(&cfg, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		return 1;
	}
	log_set_level(cfg.verbose >= 2 ? LOG_DEBUG : cfg.verbose ? LOG_INFO : LOG_WARN);
	log_set_file_max(cfg.log_max);
	if (open_log(&cfg, &log_file) < 0)
		return 1;
	small_thread_stacks(&cfg);
	if (start_fs_servers(&cfg) < 0)
		return 1;
	vcpu_signals_init();
	sig_fd = signals_fd();
	if (sig_fd < 0) {
		pr_err("signalfd failed");
		return 1;
	}
	return run(&cfg, sig_fd);
}
