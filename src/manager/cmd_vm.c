/* run, create, start, stop, restart, kill, rm, pause, resume. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/opts.h"
#include "manager/args.h"
#include "manager/attach.h"
#include "manager/cmds.h"
#include "manager/proc_wait.h"
#include "manager/supervise.h"

#define START_TIMEOUT_MS 60000

int mgr_make_image(const char *path, unsigned long long size, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = errno;

		snprintf(err, errlen, "cannot make %s %llu bytes long: %s", path, size,
			 strerror(e));
		close(fd);
		unlink(path);
		return -e;
	}
	close(fd);
	return 0;
}

/* An existing file or folder, made absolute; no commas (the VMM's --disk and --fs syntax). */
static int resolve_file(const char *flag, char *path, size_t len, bool no_comma)
{
	char abs[PATH_MAX];

	if (!realpath(path, abs)) {
		mgr_error("%s %s: %s", flag, path, strerror(errno));
		return -1;
	}
	if (strlen(abs) >= len || (no_comma && strchr(abs, ','))) {
		mgr_error("%s %s: the path is too long or holds a comma", flag, path);
		return -1;
	}
	strcpy(path, abs);
	return 0;
}

/* A file that starts with qcow2's magic ("QFI\xfb") is given to the VMM as format=qcow2. */
static bool is_qcow2(const char *path)
{
	char h[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool q =
	    fd >= 0 && pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) && !memcmp(h, "QFI\xfb", 4);

	if (fd >= 0)
		close(fd);
	return q;
}

int mgr_shares_resolve(struct vm_def *d)
{
	for (unsigned i = 0; i < d->nshares; i++) {
		struct vmdef_share *sh = &d->shares[i];
		struct stat st;

		if (resolve_file("-v", sh->host, sizeof(sh->host), true))
			return -1;
		if (stat(sh->host, &st) < 0 || !S_ISDIR(st.st_mode)) {
			mgr_error("-v %s: not a folder (a shared folder is a whole folder)",
				  sh->host);
			return -1;
		}
	}
	return 0;
}

static int resolve_paths(struct run_opts *ro)
{
	struct vm_def *d = &ro->def;

	if ((d->kernel[0] && resolve_file("--kernel", d->kernel, sizeof(d->kernel), false)) ||
	    (d->initramfs[0] &&
	     resolve_file("--initramfs", d->initramfs, sizeof(d->initramfs), false)) ||
	    (d->firmware[0] &&
	     resolve_file("--firmware", d->firmware, sizeof(d->firmware), false)) ||
	    (d->cdrom[0] && resolve_file("--cdrom", d->cdrom, sizeof(d->cdrom), true)) ||
	    (d->cloud_init[0] &&
	     resolve_file("--cloud-init", d->cloud_init, sizeof(d->cloud_init), false)))
		return -1;
	if (ro->vars_template && access(ro->vars_template, R_OK) < 0) {
		mgr_error("--firmware-vars %s: %s (Debian's ovmf has OVMF_VARS_4M.fd)",
			  ro->vars_template, strerror(errno));
		return -1;
	}
	if (mgr_shares_resolve(d) < 0)
		return -1;
	for (unsigned i = 0; i < ro->ndisk_specs; i++) {
		struct vmdef_disk *k = &d->disks[d->ndisks++];

		if (args_disk_is_size(ro->disk_specs[i], &k->size))
			continue; /* made in the VM's folder once it has one */
		snprintf(k->path, sizeof(k->path), "%s", ro->disk_specs[i]);
		if (resolve_file("--disk", k->path, sizeof(k->path), true))
			return -1;
		k->qcow2 = is_qcow2(k->path);
	}
	return 0;
}

/* Unique name: the given one, or a generated one. Under the lock. */
static int pick_name(struct store *s, struct vm_def *d)
{
	if (d->name[0]) {
		char other[MGR_ID_LEN + 1];

		if (store_name_taken(s, d->name, other)) {
			mgr_error("the name \"%s\" is already in use by VM %.12s: remove or "
				  "rename that VM, or choose another name",
				  d->name, other);
			return -1;
		}
		return 0;
	}
	for (unsigned a = 0; a < 100; a++) {
		mgr_auto_name(d->id, a, d->name, sizeof(d->name));
		if (!store_name_taken(s, d->name, NULL))
			return 0;
	}
	mgr_error("cannot find a free name; give one with --name");
	return -1;
}

/* One disk made from SIZE: a sparse raw image, or a qcow2 image (an image's overlay, or an
 * empty one for an installer). */
static int make_disk(struct vm_entry *e, unsigned i, char *err, size_t errlen)
{
	struct vmdef_disk *k = &e->def.disks[i];
	const char *fmt = strrchr(k->backing, '.'); /* the store's disk.FORMAT */

	if (snprintf(k->path, sizeof(k->path), "%s/disk%u.%s", e->dir, i,
		     k->qcow2 ? "qcow2" : "img") >= (int)sizeof(k->path))
		return -1;
	k->owned = true;
	if (!k->qcow2)
		return mgr_make_image(k->path, k->size, err, errlen);
	return mgr_make_qcow2(k->path, k->backing[0] ? k->backing : NULL, fmt ? fmt + 1 : "raw",
			      k->size, err, errlen);
}

/* Images from SIZE and the cloud-init seed, in the VM's new folder. */
static int make_files(struct vm_entry *e, const struct run_opts *ro)
{
	char err[512];

	if (mgr_make_machine(e, ro) < 0)
		return -1;

	for (unsigned i = 0; i < e->def.ndisks; i++) {
		struct vmdef_disk *k = &e->def.disks[i];

		if (!k->size || k->path[0])
			continue;
		if (make_disk(e, i, err, sizeof(err)) < 0) {
			mgr_error("%s", err);
			return -1;
		}
	}
	if (ro->user_data) { /* made for an image's VM: its cloud-init user */
		if (store_write_file(e->dir, "user-data", ro->user_data) < 0 ||
		    snprintf(e->def.cloud_init, sizeof(e->def.cloud_init), "%s/user-data",
			     e->dir) >= (int)sizeof(e->def.cloud_init)) {
			mgr_error("cannot write %s/user-data", e->dir);
			return -1;
		}
	}
	if (e->def.cloud_init[0]) {
		mgr_progress("Building the cloud-init seed...");
		if (mgr_make_seed(e->dir, &e->def, err, sizeof(err)) < 0) {
			mgr_error("%s", err);
			return -1;
		}
		mgr_progress_clear();
	}
	return 0;
}

/* The definition must load back from its JSON (paths that are not UTF-8 don't). */
static int check_dump(const struct vm_def *d)
{
	struct vm_def *copy = malloc(sizeof(*copy));
	char *json = vmdef_dump(d), err[256];
	int rc = -1;

	if (copy && json && vmdef_load(copy, json, strlen(json), err, sizeof(err)) == 0)
		rc = 0;
	else
		mgr_error("paths and the command line must be UTF-8 text");
	free(copy);
	free(json);
	return rc;
}

/* create's work, shared with run: returns 0 and fills e, or an exit status. */
static int create_vm(struct store *s, struct run_opts *ro, struct vm_entry *e)
{
	int rc = EXIT_USAGE;

	if (ro->image && (rc = mgr_image_setup(s, ro)) != 0)
		return rc;
	rc = EXIT_USAGE;
	if (resolve_paths(ro) < 0)
		return EXIT_USAGE;
	memset(e, 0, sizeof(*e));
	e->def = ro->def;
	if (mgr_new_id(e->def.id) < 0) {
		mgr_error("no random bytes for an id");
		return EXIT_FAIL;
	}
	e->def.created = time(NULL);
	if (store_lock(s, true) < 0) {
		mgr_error("cannot lock the state folder: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (pick_name(s, &e->def) < 0)
		goto out;
	rc = EXIT_FAIL;
	if (store_path(s, e->def.id, NULL, e->dir, sizeof(e->dir)) < 0 ||
	    strlen(e->dir) + sizeof("/console.sock") > 108) {
		mgr_error("the state folder's path is too long for Unix sockets (108 bytes): "
			  "set PHYLLOME_STATE to a shorter one");
		goto out;
	}
	if (mkdir(e->dir, 0700) < 0) {
		mgr_error("cannot create %s: %s", e->dir, strerror(errno));
		goto out;
	}
	vmstate_init(&e->st);
	if (make_files(e, ro) < 0 || check_dump(&e->def) < 0) {
		rc = EXIT_USAGE;
		store_remove(s, e);
		goto out;
	}
	if (store_save_state(e) < 0 || store_save_def(e) < 0) {
		mgr_error("cannot write the VM's files in %s", e->dir);
		store_remove(s, e);
		goto out;
	}
	rc = 0;
out:
	store_unlock(s);
	return rc;
}

int cmd_create(int argc, char **argv)
{
	struct run_opts *ro = malloc(sizeof(*ro));
	struct vm_entry *e = malloc(sizeof(*e));
	struct store s;
	char err[512];
	int rc = EXIT_USAGE;

	if (!ro || !e)
		return EXIT_FAIL;
	if (args_parse_run(ro, false, argc, argv, err, sizeof(err)) < 0) {
		mgr_error("create: %s", err);
		goto out;
	}
	if (ro->help) {
		printf("Usage: phyllome create [OPTIONS] (see phyllome --help)\n");
		rc = EXIT_OK;
		goto out;
	}
	rc = EXIT_FAIL;
	if (mgr_store(&s) < 0)
		goto out;
	rc = create_vm(&s, ro, e);
	if (rc == 0) {
		printf("%s\n", e->def.id);
		mgr_say_screen(e, ro, false);
	}
	store_close(&s);
out:
	if (ro)
		free(ro->user_data);
	free(ro);
	free(e);
	return rc;
}

int mgr_start_one(struct store *s, const char *ref, bool quiet, struct vm_entry *out)
{
	struct vm_entry *e = malloc(sizeof(*e));
	char err[512];
	int rc = -1;

	if (!e)
		return -1;
	store_lock(s, true);
	if (mgr_resolve(s, ref, e) < 0) {
		store_unlock(s);
		goto out;
	}
	if (mgr_running(e)) {
		store_unlock(s);
		rc = 0;
		goto done;
	}
	mgr_progress("Starting %s...", e->def.name);
	if (sup_start(s, e, err, sizeof(err)) < 0) {
		store_unlock(s);
		mgr_error("cannot start %s: %s", e->def.name, err);
		goto out;
	}
	store_unlock(s);
	if (sup_wait_ready(s, e, START_TIMEOUT_MS, err, sizeof(err)) < 0) {
		mgr_error("%s did not start: %s", e->def.name, err);
		goto out;
	}
	mgr_progress_clear();
	rc = 0;
done:
	if (!quiet)
		printf("%s\n", ref);
	if (out)
		*out = *e;
out:
	free(e);
	return rc;
}

/* Reads where the VM's exit was recorded after --rm removed it (see record_exit). */
static int removed_exit_code(const struct store *s, const char *id)
{
	char path[VMDEF_PATH + 64], *data;
	size_t n;
	int code = -1;

	snprintf(path, sizeof(path), "%s/vms/.exit-%s", s->root, id);
	if (store_read_file(path, &data, &n) == 0) {
		code = atoi(data);
		free(data);
		unlink(path);
	}
	return code;
}

/* Waits until the VM's exit is recorded; its exit code, or -1 (-2: not within timeout_ms).
 * Event-driven: it sleeps on pidfds of the supervisor (which records the exit, then ends) and
 * the VMM, and looks at the state when one of them ends; with no pidfd at all (an old kernel),
 * it looks every 100 ms. */
static int wait_exited(struct store *s, struct vm_entry *e, int timeout_ms)
{
	char err[256];
	int fds[2] = {-1, -1}, rc = -2;
	bool opened = false;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int r = store_load(s, e->def.id, e, err, sizeof(err));
		long left;

		if (r == -ENOENT) {
			rc = removed_exit_code(s, e->def.id);
			break;
		}
		if (r == 0) {
			store_refresh(s, e);
			if (strcmp(e->st.status, "running")) {
				rc = e->st.has_exit ? e->st.exit_code : -1;
				break;
			}
			if (!opened) {
				/* The supervisor first: it ends after writing the exit down. */
				fds[0] = mgr_pidfd(e->st.sup_pid, e->st.sup_start);
				fds[1] = mgr_pidfd(e->st.vmm_pid, e->st.vmm_start);
				opened = true;
				continue; /* either may have ended between the look and the open */
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = timeout_ms -
		       ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		/* The VMM's end wakes us once; then the supervisor's (the exit is written). */
		if (mgr_wait_pidfds(fds, 2, (int)left, 100) < 0)
			break;
	}
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts *ro = malloc(sizeof(*ro));
	struct vm_entry *e = malloc(sizeof(*e));
	char err[512], sock[VMDEF_PATH + 16];
	struct store s;
	int rc = EXIT_USAGE;

	if (!ro || !e)
		return EXIT_FAIL;
	if (args_parse_run(ro, true, argc, argv, err, sizeof(err)) < 0) {
		mgr_error("run: %s", err);
		goto out;
	}
	if (ro->help) {
		printf("Usage: phyllome run [OPTIONS] (see phyllome --help)\n");
		rc = EXIT_OK;
		goto out;
	}
	rc = EXIT_FAIL;
	if (mgr_store(&s) < 0)
		goto out;
	rc = create_vm(&s, ro, e);
	if (rc == 0 && mgr_start_one(&s, e->def.id, true, e) < 0)
		rc = EXIT_USAGE; /* Docker's "the container could not start" */
	if (rc == 0)
		mgr_say_screen(e, ro, true);
	if (rc == 0 && ro->detach) {
		printf("%s\n", e->def.id);
	} else if (rc == 0) {
		int a;

		snprintf(sock, sizeof(sock), "%s/console.sock", e->dir);
		a = attach_console(sock, e->def.name, err, sizeof(err));
		if (a < 0) {
			mgr_error("%s runs, but: %s", e->def.name, err);
			rc = EXIT_FAIL;
		} else if (a == 1) {
			rc = wait_exited(&s, e, 15000);
			if (rc < 0) {
				mgr_error("%s ended; its exit status is unknown", e->def.name);
				rc = EXIT_FAIL;
			}
		}
	}
	store_close(&s);
out:
	if (ro)
		free(ro->user_data);
	free(ro);
	free(e);
	return rc;
}

static int kill_vmm(struct vm_entry *e, int sig)
{
	if (!mgr_running(e))
		return -ESRCH;
	return kill(e->st.vmm_pid, sig) < 0 ? -errno : 0;
}

int mgr_stop_one(struct store *s, struct vm_entry *e, int timeout_s)
{
	char state[32];

	if (!mgr_running(e))
		return 0;
	mgr_api_state(e, state, sizeof(state));
	if (!strcmp(state, "Paused"))
		mgr_api(e, "PUT", "vm.resume", true, NULL, 0);
	if (mgr_api(e, "PUT", "vm.power-button", true, NULL, 0) == 204) {
		/* Returns as soon as the VM has ended (wait_exited wakes on its processes' end). */
		for (int t = 0; t < timeout_s; t++) {
			mgr_progress("Waiting for %s to power off (%d s left)...", e->def.name,
				     timeout_s - t);
			if (wait_exited(s, e, 1000) != -2) {
				mgr_progress_clear();
				return 0;
			}
		}
	}
	/* The guest did not power off: cut the power, then kill. */
	mgr_progress("%s did not power off: stopping it", e->def.name);
	mgr_api(e, "PUT", "vm.shutdown", true, NULL, 0);
	/* Generous: on a loaded host the VMM and the supervisor may take a while to wake. */
	if (wait_exited(s, e, 15000) != -2) {
		mgr_progress_clear();
		return 0;
	}
	kill_vmm(e, SIGKILL);
	mgr_progress_clear();
	return wait_exited(s, e, 10000) == -2 ? -1 : 0;
}

static int parse_secs(const char *v, int *out)
{
	uint64_t n;

	if (opts_parse_u64(v, 86400, &n) < 0) {
		mgr_error("invalid time \"%s\" (seconds, 0 to 86400)", v);
		return -1;
	}
	*out = (int)n;
	return 0;
}

/*
 * The frame of the verbs that act on a list of VMs: opens the store, resolves each of
 * argv[first..argc) (name, id or id prefix), runs act on it and prints the reference when act
 * succeeds. act reports its own errors. EXIT_FAIL if any VM failed, else EXIT_OK.
 */
typedef int (*vm_action)(struct store *s, struct vm_entry *e, const char *ref, void *ctx);

static int for_each_vm(int argc, char **argv, int first, vm_action act, void *ctx)
{
	struct vm_entry *e = malloc(sizeof(*e));
	int rc = EXIT_OK;
	struct store s;

	if (!e)
		return EXIT_FAIL;
	if (mgr_store(&s) < 0) {
		free(e);
		return EXIT_FAIL;
	}
	for (int i = first; i < argc; i++) {
		if (mgr_resolve(&s, argv[i], e) < 0 || act(&s, e, argv[i], ctx) < 0) {
			rc = EXIT_FAIL;
			continue;
		}
		printf("%s\n", argv[i]);
	}
	store_close(&s);
	free(e);
	return rc;
}

static int start_action(struct store *s, struct vm_entry *e, const char *ref, void *ctx)
{
	(void)ref;
	(void)ctx;
	return mgr_start_one(s, e->def.id, true, NULL);
}

int cmd_start(int argc, char **argv)
{
	if (argc < 1) {
		mgr_error("start: give at least one VM");
		return EXIT_USAGE;
	}
	if (!mgr_no_flags("start", argc, argv))
		return EXIT_USAGE;
	return for_each_vm(argc, argv, 0, start_action, NULL);
}

struct stop_ctx {
	int timeout;
	bool restart;
};

static int stop_action(struct store *s, struct vm_entry *e, const char *ref, void *ctx)
{
	const struct stop_ctx *c = ctx;

	if (mgr_stop_one(s, e, c->timeout) < 0) {
		mgr_error("cannot stop %s", ref);
		return -1;
	}
	if (c->restart && mgr_start_one(s, e->def.id, true, NULL) < 0)
		return -1;
	return 0;
}

/* stop and restart: [-t SECS] VM... */
static int stop_or_restart(int argc, char **argv, bool restart)
{
	struct stop_ctx c = {.timeout = 30, .restart = restart};
	int first = 0;

	while (first < argc && argv[first][0] == '-') {
		if ((!strcmp(argv[first], "-t") || !strcmp(argv[first], "--time")) &&
		    first + 1 < argc && !parse_secs(argv[first + 1], &c.timeout)) {
			first += 2;
			continue;
		}
		if (!strncmp(argv[first], "--time=", 7) &&
		    !parse_secs(argv[first] + 7, &c.timeout)) {
			first++;
			continue;
		}
		mgr_error("%s: bad flag %s (usage: [-t SECONDS] VM...)",
			  restart ? "restart" : "stop", argv[first]);
		return EXIT_USAGE;
	}
	if (first == argc) {
		mgr_error("%s: give at least one VM", restart ? "restart" : "stop");
		return EXIT_USAGE;
	}
	return for_each_vm(argc, argv, first, stop_action, &c);
}

int cmd_stop(int argc, char **argv)
{
	return stop_or_restart(argc, argv, false);
}

int cmd_restart(int argc, char **argv)
{
	return stop_or_restart(argc, argv, true);
}

static int parse_signal(const char *v)
{
	static const struct {
		const char *name;
		int sig;
	} sigs[] = {{"KILL", SIGKILL}, {"TERM", SIGTERM}, {"INT", SIGINT},  {"HUP", SIGHUP},
		    {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}};
	uint64_t n;

	if (!strncmp(v, "SIG", 3))
		v += 3;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!strcmp(v, sigs[i].name))
			return sigs[i].sig;
	if (opts_parse_u64(v, 64, &n) == 0 && n > 0)
		return (int)n;
	return -1;
}

static int kill_action(struct store *s, struct vm_entry *e, const char *ref, void *ctx)
{
	int sig = *(int *)ctx, k = kill_vmm(e, sig);

	if (k < 0) {
		mgr_error("cannot kill %s: %s", ref,
			  k == -ESRCH ? "it is not running" : strerror(-k));
		return -1;
	}
	if (sig == SIGKILL || sig == SIGTERM)
		wait_exited(s, e, 10000);
	return 0;
}

int cmd_kill(int argc, char **argv)
{
	int sig = SIGKILL, first = 0;

	if (first + 1 < argc && (!strcmp(argv[0], "-s") || !strcmp(argv[0], "--signal"))) {
		sig = parse_signal(argv[1]);
		first = 2;
		if (sig < 0) {
			mgr_error("kill: invalid signal \"%s\"", argv[1]);
			return EXIT_USAGE;
		}
	}
	if (first >= argc || argv[first][0] == '-') {
		mgr_error("kill: usage: phyllome kill [-s SIGNAL] VM...");
		return EXIT_USAGE;
	}
	return for_each_vm(argc, argv, first, kill_action, &sig);
}

/* The machine state rm deletes with the VM: its TPM (with any keys BitLocker sealed to it) and
 * its UEFI variables. */
static void say_machine_removed(const struct vm_entry *e)
{
	if (e->def.tpm)
		fprintf(stderr,
			"phyllome: %s: deleted its TPM state (%s/tpm): keys sealed to this TPM "
			"(BitLocker's) are gone\n",
			e->def.name, e->dir);
	if (e->def.vars[0])
		fprintf(stderr, "phyllome: %s: deleted its UEFI variable store (%s)\n", e->def.name,
			e->def.vars);
}

static int rm_action(struct store *s, struct vm_entry *e, const char *ref, void *ctx)
{
	bool force = *(bool *)ctx;
	int r;

	if (mgr_running(e)) {
		if (!force) {
			mgr_error("cannot remove %s: it is running (stop it first, or use rm -f)",
				  ref);
			return -1;
		}
		kill_vmm(e, SIGKILL);
		if (wait_exited(s, e, 10000) == -2) {
			mgr_error("cannot remove %s: its VMM did not end", ref);
			return -1;
		}
	}
	store_lock(s, true);
	r = store_load(s, e->def.id, e, (char[256]){0}, 256);
	if (r == 0 && !mgr_running(e)) {
		r = store_remove(s, e);
		if (r == 0)
			say_machine_removed(e);
	}
	store_unlock(s);
	if (r < 0 && r != -ENOENT) {
		mgr_error("cannot remove %s: %s", ref, strerror(-r));
		return -1;
	}
	return 0;
}

int cmd_rm(int argc, char **argv)
{
	bool force = false;
	int first = 0;

	if (argc && (!strcmp(argv[0], "-f") || !strcmp(argv[0], "--force"))) {
		force = true;
		first = 1;
	}
	if (first >= argc || argv[first][0] == '-') {
		mgr_error("rm: usage: phyllome rm [-f] VM...");
		return EXIT_USAGE;
	}
	return for_each_vm(argc, argv, first, rm_action, &force);
}

static int pause_action(struct store *s, struct vm_entry *e, const char *ref, void *ctx)
{
	bool pause = *(bool *)ctx;
	const char *verb = pause ? "pause" : "resume";
	char why[256];
	int st;

	(void)s;
	if (!mgr_running(e)) {
		mgr_error("cannot %s %s: it is not running", verb, ref);
		return -1;
	}
	st = mgr_api(e, "PUT", pause ? "vm.pause" : "vm.resume", true, why, sizeof(why));
	if (st == 409) {
		mgr_error("cannot %s %s: it is %s", verb, ref,
			  pause ? "already paused" : "not paused");
		return -1;
	}
	if (st != 204) {
		mgr_error("cannot %s %s: %s", verb, ref, why);
		return -1;
	}
	return 0;
}

static int pause_resume(int argc, char **argv, bool pause)
{
	const char *verb = pause ? "pause" : "resume";

	if (argc < 1 || !mgr_no_flags(verb, argc, argv)) {
		if (argc < 1)
			mgr_error("%s: give at least one VM", verb);
		return EXIT_USAGE;
	}
	return for_each_vm(argc, argv, 0, pause_action, &pause);
}

int cmd_pause(int argc, char **argv)
{
	return pause_resume(argc, argv, true);
}

int cmd_resume(int argc, char **argv)
{
	return pause_resume(argc, argv, false);
}
