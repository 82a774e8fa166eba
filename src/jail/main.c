/* phyllome-jail: runs phyllome-vmm jailed (see jail.h and docs/security.md). The child that
 * becomes the VMM is pid 1 of a new pid namespace; this process waits for it, passes on the
 * signals that stop a VM, and ends with its exit status (128 + N if signal N killed it). */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/lazylib.h"
#include "common/log.h"
#include "jail/elf.h"
#include "jail/jail.h"
#include "ui/uilib_names.h"

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
/* The jailed child, for the signal handler (this process runs one jail). */
static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

/* Everything that can be checked before a namespace exists: the program and its libraries,
 * the files, and the plan of mounts. */
static int plan_jail(struct jail_config *cfg, struct jail_plan *plan)
{
	static const char *const ui[] = UI_LIB_SONAMES;
	const char *optional[sizeof(ui) / sizeof(ui[0]) + 2];
	struct elf_deps deps = {.n = 0};
	char err[512] = "";
	unsigned n = 0;
	int rc;

	for (; ui[n]; n++)
		optional[n] = ui[n];
	/* --sound pulse's, whose server's socket the manager binds in */
	optional[n++] = LAZYLIB_PULSE_SIMPLE;
	optional[n++] = LAZYLIB_PULSE;
	optional[n] = NULL;
	if (access(cfg->vmm, X_OK) < 0) {
		pr_err("cannot run %s: %s", cfg->vmm, strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i < cfg->nfiles; i++) {
		int fd = jail_source_open(cfg->files[i].src);

		if (fd < 0) {
			pr_err("--file%s %s: %s", cfg->files[i].readonly ? "-ro" : "",
			       cfg->files[i].src,
			       fd == -ELOOP ? "a symbolic link is on its path (give the real path)"
					    : strerror(-fd));
			return -1;
		}
		close(fd);
	}
	/* Opened here, as the caller and before any namespace: the VMM gets no more than the
	 * caller could open, and the jail shows no path to it. */
	for (unsigned i = 0; i < cfg->nfds; i++) {
		struct jail_fd *f = &cfg->fds[i];

		f->open = jail_fd_open(f->src, f->readonly);
		if (f->open < 0) {
			pr_err("--fd%s %s: %s", f->readonly ? "-ro" : "", f->src,
			       f->open == -ELOOP ? "a symbolic link is on its path (give the real "
						   "path)"
			       : f->open == -EINVAL ? "not a regular file or block device"
						    : strerror(-f->open));
			return -1;
		}
	}
	/* What phyllome-vmm loads with dlopen when a display uses it is visible too. */
	rc = elf_deps_collect(cfg->vmm, optional, &deps, err, sizeof(err));
	if (rc == 0)
		rc = jail_plan_build(plan, cfg, deps.paths, deps.n,
				     deps.n > 0 && access("/etc/ld.so.cache", R_OK) == 0, err,
				     sizeof(err));
	if (rc < 0)
		pr_err("%s", err);
	for (unsigned i = 0; rc == 0 && i < deps.n; i++)
		pr_info("library %s", deps.paths[i]);
	elf_deps_free(&deps);
	return rc;
}

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			pr_err("waitpid: %s", strerror(errno));
			return 1;
		}
	}
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static int run(const struct jail_config *cfg, const struct jail_plan *plan, const char *root)
{
	struct sigaction sa;
	sigset_t set, old;
	pid_t pid;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	/* --userns: the user namespace first; it owns the namespaces made next. */
	if (cfg->userns && jail_enter_userns(cfg) < 0)
		return 1;
	/* Only children enter a new pid namespace: the next one is its pid 1. */
	if (unshare(CLONE_NEWPID) < 0) {
		pr_err("cannot create a pid namespace: %s", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		pr_err("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		jail_enter(cfg, plan, root);
		_exit(1);
	}
	child_pid = pid;
	/* The --fd files are the VMM's now: this process keeps none of them open. */
	for (unsigned i = 0; i < cfg->nfds; i++)
		close(cfg->fds[i].open);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return wait_child(pid);
}

int main(int argc, char **argv)
{
	struct jail_config *cfg = calloc(1, sizeof(*cfg));
	struct jail_plan *plan = calloc(1, sizeof(*plan));
	char root[JAIL_PATH_MAX];
	char err[512] = "";
	int status = 1;

	log_init("phyllome-jail");
	if (!cfg || !plan) {
		pr_err("out of memory");
		goto out;
	}
	if (jail_parse(cfg, argc, argv, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		status = 2;
		goto out;
	}
	status = 0;
	if (cfg->action == JAIL_HELP) {
		jail_usage(stdout);
		goto out;
	}
	if (cfg->action == JAIL_VERSION) {
		printf("phyllome-jail %s\n", PHYLLOME_VERSION);
		goto out;
	}
	log_set_level(cfg->verbose ? LOG_INFO : LOG_WARN);
	status = 1;
	if (cfg->userns) {
		cfg->outer_uid = geteuid();
		cfg->outer_gid = getegid();
		cfg->uid = cfg->outer_uid ? cfg->outer_uid : JAIL_ROOT_INNER_ID;
		cfg->gid = cfg->outer_uid ? cfg->outer_gid : JAIL_ROOT_INNER_ID;
	} else if (geteuid() != 0) {
		pr_err("must run as root: it makes namespaces, mounts and device nodes, then runs "
		       "the VMM as --uid (or give --userns: a user namespace, no root needed)");
		goto out;
	}
	if (plan_jail(cfg, plan) < 0 || jail_make_root(cfg, root, sizeof(root)) < 0)
		goto out;
	fflush(NULL);
	status = run(cfg, plan, root);
out:
	if (plan)
		jail_plan_free(plan);
	free(plan);
	free(cfg);
	return status;
}
