/* phyllome-vmm: runs one VM. The guest powering off ends the process with status 0; a
 * reboot starts the guest again in a fresh VM; errors end it with one line on stderr. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/log.h"
#include "vmm/config.h"
#include "vmm/console.h"
#include "vmm/seccomp.h"
#include "vmm/vm.h"

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

static int run(const struct vm_config *cfg, int sig_fd)
{
	char err[512] = "";
	struct console con;
	struct vm *vm = malloc(sizeof(*vm));
	int status = 1;

	/* glibc opens /etc/localtime the first time it converts a time (the RTC does):
	 * do it now, before the filters forbid opening files in vCPU threads. */
	tzset();
	if (seccomp_install(SECCOMP_VMM, cfg->seccomp) < 0) {
		pr_err("cannot install the seccomp filter (--seccomp off runs without)");
		free(vm);
		return 1;
	}
	if (!vm || console_open(&con, cfg->serial, cfg->serial_path, err, sizeof(err)) < 0) {
		pr_err("%s", vm ? err : "out of memory");
		free(vm);
		return 1;
	}
	for (;;) {
		enum vm_exit why;

		if (vm_create(vm, cfg, &con, err, sizeof(err)) < 0) {
			vm_destroy(vm);
			pr_err("%s", err);
			break;
		}
		why = vm_run(vm, sig_fd);
		if (why == VM_REBOOT) {
			vm_destroy(vm);
			pr_info("guest rebooted");
			continue;
		}
		if (why == VM_FAILED)
			pr_err("%s", vm->fail_msg);
		else if (why == VM_SIGNAL)
			pr_info("stopped by signal %s", strsignal(vm->exit_signal));
		status = why == VM_FAILED ? 1 : why == VM_SIGNAL ? 128 + vm->exit_signal : 0;
		vm_destroy(vm);
		break;
	}
	console_close(&con);
	free(vm);
	return status;
}

int main(int argc, char **argv)
{
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
	vcpu_signals_init();
	sig_fd = signals_fd();
	if (sig_fd < 0) {
		pr_err("signalfd failed");
		return 1;
	}
	return run(&cfg, sig_fd);
}
