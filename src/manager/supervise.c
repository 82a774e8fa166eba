#include "manager/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "manager/http.h"
#include "manager/proc_wait.h"
#include "manager/relay.h"

int sup_find_prog(const char *name, const char *env_name, char *out, size_t len, char *err,
		  size_t errlen)
{
	const char *env = getenv(env_name), *path = getenv("PATH");
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		char abs[PATH_MAX];

		/* Absolute: the supervisor runs from / */
		if (access(env, X_OK) == 0 && realpath(env, abs) &&
		    snprintf(out, len, "%s", abs) < (int)len)
			return 0;
		snprintf(err, errlen, "%s=%s is not an executable", env_name, env);
		return -ENOENT;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash && (size_t)(slash - self) + strlen(name) + 2 < len) {
			snprintf(out, len, "%.*s/%s", (int)(slash - self), self, name);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t dl = colon ? (size_t)(colon - path) : strlen(path);

		if (dl && snprintf(out, len, "%.*s/%s", (int)dl, path, name) < (int)len &&
		    access(out, X_OK) == 0)
			return 0;
		path = colon ? colon + 1 : NULL;
	}
	snprintf(err, errlen, "cannot find %s (not next to phyllome, not on PATH; set %s)", name,
		 env_name);
	return -ENOENT;
}

int sup_find_vmm(char *out, size_t len, char *err, size_t errlen)
{
	return sup_find_prog("phyllome-vmm", "PHYLLOME_VMM", out, len, err, errlen);
}

void sup_argv_add(struct sup_argv *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (b->failed)
		return;
	if (b->n + 2 > b->cap) {
		char **nv = realloc(b->v, (b->cap = b->cap * 2 + 16) * sizeof(*nv));

		if (!nv) {
			b->failed = true;
			return;
		}
		b->v = nv;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		b->failed = true;
		return;
	}
	b->v[b->n++] = s;
	b->v[b->n] = NULL;
}

char **sup_argv_finish(struct sup_argv *b)
{
	if (b->failed) {
		for (size_t i = 0; i < b->n; i++)
			free(b->v[i]);
		free(b->v);
		return NULL;
	}
	return b->v;
}

void sup_free_argv(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* A disk's or the CD's path, or /dev/fd/N for one a jailed VMM is handed by descriptor. */
static const char *disk_name(const struct vm_def *d, unsigned i, bool jailed, char *buf, size_t len)
{
	int fd = jailed ? sup_jail_fd(d, i) : -1;

	if (fd < 0)
		return i < d->ndisks ? d->disks[i].path : d->cdrom;
	snprintf(buf, len, "/dev/fd/%d", fd);
	return buf;
}

static char **vmm_argv(const struct vm_entry *e, const char *vmm, bool jailed)
{
	const struct vm_def *d = &e->def;
	struct sup_argv b = {0};
	char uuid[MGR_UUID_LEN + 1], fdname[32];

	mgr_vm_uuid(d->id, uuid);
	sup_argv_add(&b, "%s", vmm);
	/* Firmware (with the VM's own variable store, if it has one), a kernel, or both: the
	 * firmware then boots the kernel through its EFI stub. */
	if (d->firmware[0]) {
		sup_argv_add(&b, "--firmware");
		if (d->vars[0])
			sup_argv_add(&b, "code=%s,vars=%s", d->firmware, d->vars);
		else
			sup_argv_add(&b, "%s", d->firmware);
	}
	if (d->kernel[0]) {
		sup_argv_add(&b, "--kernel");
		sup_argv_add(&b, "%s", d->kernel);
		if (d->initramfs[0]) {
			sup_argv_add(&b, "--initramfs");
			sup_argv_add(&b, "%s", d->initramfs);
		}
		sup_argv_add(&b, "--cmdline");
		sup_argv_add(&b, "%s", d->cmdline_set ? d->cmdline : "console=ttyS0");
	}
	sup_argv_add(&b, "--uuid");
	sup_argv_add(&b, "%s", uuid);
	sup_argv_add(&b, "--cpus");
	sup_argv_add(&b, "boot=%u%s", d->cpus, d->hyperv ? ",hyperv=on" : "");
	sup_argv_add(&b, "--memory");
	sup_argv_add(&b, "size=%lluM", (unsigned long long)(d->memory >> 20));
	/* The serial line is the VMM's stdin/stdout, a socket pair to the supervisor. */
	sup_argv_add(&b, "--serial");
	sup_argv_add(&b, "tty");
	sup_argv_add(&b, "--api-socket");
	sup_argv_add(&b, "%s/api.sock", e->dir);
	/* The VMM's log (its stderr is vmm.log already) capped at --log-max's default, with one
	 * rotated copy vmm.log.1: a guest that makes the VMM warn cannot fill the disk. */
	sup_argv_add(&b, "--log-file");
	sup_argv_add(&b, "%s/vmm.log", e->dir);
	for (unsigned i = 0; i < d->ndisks; i++) {
		sup_argv_add(&b, "--disk");
		sup_argv_add(
		    &b, "path=%s%s%s%s", disk_name(d, i, jailed, fdname, sizeof(fdname)),
		    d->disks[i].readonly ? ",readonly=on" : "",
		    d->disks[i].qcow2
			? (d->disks[i].backing[0] ? ",format=qcow2,backing=on" : ",format=qcow2")
			: "",
		    d->disk_bus == VMDEF_BUS_NVME ? ",bus=nvme" : "");
	}
	if (d->cdrom[0]) {
		/* The VMM's AHCI CD-ROM drive: installers (Windows PE has no virtio-blk driver) and
		 * firmware find the disc there. */
		sup_argv_add(&b, "--cdrom");
		sup_argv_add(&b, "%s", disk_name(d, d->ndisks, jailed, fdname, sizeof(fdname)));
	}
	if (d->cloud_init[0]) {
		sup_argv_add(&b, "--disk");
		sup_argv_add(&b, "path=%s/seed.img,readonly=on,serial=cidata", e->dir);
	}
	if (d->net != VMDEF_NET_NONE) {
		sup_argv_add(&b, "--net");
		if (d->net == VMDEF_NET_USER)
			sup_argv_add(&b, "passt=%s/passt.sock%s", e->dir,
				     d->nic == VMDEF_NIC_E1000E ? ",model=e1000e" : "");
		else
			sup_argv_add(&b, "tap=%s%s", d->tap,
				     d->nic == VMDEF_NIC_E1000E ? ",model=e1000e" : "");
	}
	if (d->display[0]) {
		sup_argv_add(&b, "--display");
		sup_argv_add(&b, "%s", d->display);
	}
	if (d->sound[0]) {
		/* jailed, libpulse gets no environment: it is told the socket */
		char sock_buf[VMDEF_PATH];
		const char *sock = jailed && !strcmp(d->sound, "pulse")
				       ? mgr_sound_socket(sock_buf, sizeof(sock_buf))
				       : NULL;

		sup_argv_add(&b, "--sound");
		if (sock)
			sup_argv_add(&b, "pulse,server=%s", sock);
		else
			sup_argv_add(&b, "%s", d->sound);
	}
	if (d->usb)
		sup_argv_add(&b, "--usb");
	if (d->tpm) {
		sup_argv_add(&b, "--tpm");
		sup_argv_add(&b, "socket=%s/tpm.sock", e->dir);
	}
	for (unsigned i = 0; i < d->nshares; i++) {
		sup_argv_add(&b, "--fs");
		sup_argv_add(&b, "tag=%s,path=%s%s", d->shares[i].tag, d->shares[i].host,
			     d->shares[i].readonly ? ",readonly=on" : "");
	}
	if (d->rtc_local) {
		sup_argv_add(&b, "--rtc");
		sup_argv_add(&b, "base=localtime");
	}
	sup_argv_add(&b, "--rng");
	return sup_argv_finish(&b);
}

char **sup_vmm_argv(const struct vm_entry *e, const char *vmm)
{
	return vmm_argv(e, vmm, false);
}

char **sup_vmm_argv_jailed(const struct vm_entry *e, const char *vmm)
{
	return vmm_argv(e, vmm, true);
}

char **sup_passt_argv(const struct vm_entry *e, const char *passt)
{
	const struct vm_def *d = &e->def;
	struct sup_argv b = {0};

	sup_argv_add(&b, "%s", passt);
	sup_argv_add(&b, "--foreground");
	sup_argv_add(&b, "--quiet");
	sup_argv_add(&b, "--socket");
	sup_argv_add(&b, "%s/passt.sock", e->dir);
	/* As root, passt would switch to nobody, who cannot create its socket in the VM's
	 * folder (0700): it keeps our user (its own namespaces and seccomp filter still apply). */
	if (geteuid() == 0) {
		sup_argv_add(&b, "--runas");
		sup_argv_add(&b, "0:0");
	}
	for (unsigned i = 0; i < d->nports; i++) {
		sup_argv_add(&b, d->ports[i].udp ? "-u" : "-t");
		sup_argv_add(&b, "%u:%u", d->ports[i].host, d->ports[i].guest);
	}
	return sup_argv_finish(&b);
}

char **sup_swtpm_argv(const struct vm_entry *e, const char *swtpm)
{
	struct sup_argv b = {0};

	sup_argv_add(&b, "%s", swtpm);
	sup_argv_add(&b, "socket");
	sup_argv_add(&b, "--tpm2");
	sup_argv_add(&b, "--ctrl");
	sup_argv_add(&b, "type=unixio,path=%s/tpm.sock", e->dir);
	sup_argv_add(&b, "--tpmstate");
	sup_argv_add(&b, "dir=%s/tpm", e->dir);
	sup_argv_add(&b, "--flags");
	sup_argv_add(&b, "startup-clear");
	return sup_argv_finish(&b);
}

/* What the supervisor tells the starting `phyllome` through a pipe. */
struct ready_msg {
	int rc;
	pid_t sup, vmm, passt, swtpm;
	char err[400];
};

static void send_ready(int fd, const struct ready_msg *m)
{
	ssize_t w;

	do
		w = write(fd, m, sizeof(*m));
	while (w < 0 && errno == EINTR);
	close(fd);
}

static pid_t spawn(char **argv, int in_fd, int out_fd, int err_fd)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (in_fd >= 0)
		dup2(in_fd, 0);
	if (out_fd >= 0)
		dup2(out_fd, 1);
	if (err_fd >= 0)
		dup2(err_fd, 2);
	syscall(SYS_close_range, 3u, ~0u, 0u);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	execv(argv[0], argv);
	dprintf(2, "phyllome: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, rc = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0)
		rc = -errno;
	umask(old);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/* A helper program: $ENV, else on PATH (absolute: the supervisor runs from /). */
static char *find_tool(const char *env_name, const char *name)
{
	const char *env = getenv(env_name), *path = getenv("PATH");
	char buf[PATH_MAX];
	struct stat st;

	if (env && *env)
		return realpath(env, NULL);
	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t dl = colon ? (size_t)(colon - path) : strlen(path);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)dl, path, name);
		/* A file: /usr/lib/x86_64-linux-gnu/swtpm is a folder, and some PATHs hold that. */
		if (dl && access(buf, X_OK) == 0 && stat(buf, &st) == 0 && S_ISREG(st.st_mode))
			return realpath(buf, NULL);
		path = colon ? colon + 1 : NULL;
	}
	return NULL;
}

/* Starts a helper (argv, made by mk for the tool found through env_name or on PATH) and waits
 * (10 s at most) for the socket it creates, sock_name in the VM's folder. */
static int start_helper(const struct vm_entry *e,
			char **(*mk)(const struct vm_entry *, const char *), const char *name,
			const char *env_name, const char *package, const char *sock_name,
			int log_fd, pid_t *pid, char *err, size_t errlen)
{
	char sock[VMDEF_PATH + 16], *tool = find_tool(env_name, name);
	int wfd, pidfd, rc = -ETIMEDOUT;
	struct timespec t0, t;
	char **argv;

	if (!tool) {
		snprintf(err, errlen, "the VM needs %s (Debian package %s; or set %s)", name,
			 package, env_name);
		return -ENOENT;
	}
	argv = mk(e, tool);
	free(tool);
	if (!argv)
		return -ENOMEM;
	snprintf(sock, sizeof(sock), "%s/%s", e->dir, sock_name);
	unlink(sock);
	*pid = spawn(argv, -1, log_fd, log_fd);
	sup_free_argv(argv);
	if (*pid < 0)
		return -errno;
	/* Woken by the socket's creation (inotify) or the helper's end (pidfd); 10 s at most. */
	wfd = mgr_watch_create(e->dir);
	pidfd = mgr_pidfd(*pid, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct stat st;
		int status;
		long ms;

		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode)) {
			rc = 0;
			break;
		}
		if (waitpid(*pid, &status, WNOHANG) == *pid) {
			snprintf(err, errlen, "%s ended at once (status %d): see %.200s/vmm.log",
				 name, WIFEXITED(status) ? WEXITSTATUS(status) : -1, e->dir);
			*pid = 0;
			rc = -EIO;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= 10000)
			break;
		mgr_wait_create(wfd, &pidfd, wfd < 0 ? 50 : (int)(10000 - ms));
	}
	if (wfd >= 0)
		close(wfd);
	if (pidfd >= 0)
		close(pidfd);
	if (rc != -ETIMEDOUT)
		return rc;
	snprintf(err, errlen, "%s did not create its socket within 10 s", name);
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
	return -ETIMEDOUT;
}

static void stop_helper(pid_t pid)
{
	if (pid <= 0)
		return;
	int fd = mgr_pidfd(pid, 0);

	kill(pid, SIGTERM);
	/* 2 s to end, woken by its end (pidfd; without one, looked at every 50 ms). */
	for (int i = 0; i < (fd >= 0 ? 1 : 40); i++) {
		if (fd >= 0)
			mgr_wait_pidfds(&fd, 1, 2000, 2000);
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		if (fd < 0)
			usleep(50000);
	}
	if (fd >= 0)
		close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The VMM has ended: writes its exit status into state.json (if the VM is still ours). */
static void record_exit(const struct vm_entry *e, pid_t vmm, int status)
{
	struct store store, *s = &store;
	struct vm_entry cur;
	char err[256];
	static const char *const files[] = {"api.sock", "console.sock", "passt.sock", "tpm.sock"};

	if (store_open(s, err, sizeof(err)) < 0)
		return;
	if (store_lock(s, true) < 0) {
		store_close(s);
		return;
	}
	if (store_load(s, e->def.id, &cur, err, sizeof(err)) == 0 && cur.st.vmm_pid == vmm) {
		strcpy(cur.st.status, "exited");
		cur.st.has_exit = true;
		cur.st.exit_code = WIFEXITED(status)	 ? WEXITSTATUS(status)
				   : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
							 : -1;
		cur.st.finished = time(NULL);
		cur.st.vmm_pid = cur.st.sup_pid = cur.st.passt_pid = cur.st.swtpm_pid = 0;
		cur.st.vmm_start = cur.st.sup_start = 0;
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char path[VMDEF_PATH + 32];

			snprintf(path, sizeof(path), "%s/%s", cur.dir, files[i]);
			unlink(path);
		}
		store_save_state(&cur);
		if (cur.def.auto_remove) {
			/* For an attached `phyllome run --rm`, which waits for the status. */
			char code[16], vms[VMDEF_PATH + 8], path[64];

			snprintf(path, sizeof(path), ".exit-%s", cur.def.id);
			snprintf(code, sizeof(code), "%d\n", cur.st.exit_code);
			if (snprintf(vms, sizeof(vms), "%s/vms", s->root) < (int)sizeof(vms))
				store_write_file(vms, path, code);
			store_remove(s, &cur);
		}
	}
	store_unlock(s);
	store_close(s);
}

/* The supervisor: never returns. */
static void supervise(const struct vm_entry *e, const char *vmm, const char *jail, int ready_fd)
{
	struct ready_msg m = {.sup = getpid()};
	char path[VMDEF_PATH + 32];
	struct capfile serial_log;
	int log_fd, serial_rc, listen_fd = -1, sv[2] = {-1, -1}, status = 0;
	char **argv = NULL;
	pid_t passt = 0, swtpm = 0, vm;

	prctl(PR_SET_NAME, "phyllome-sup");
	if (chdir("/") < 0) /* not keep the caller's folder busy */
		_exit(1);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	snprintf(path, sizeof(path), "%s/vmm.log", e->dir);
	log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	snprintf(path, sizeof(path), "%s/serial.log", e->dir);
	/* A guest printing forever fills serial.log up to the cap, then serial.log.1 keeps
	 * the previous 64 MiB: the host's disk is not filled. */
	serial_rc = log_fd < 0 ? -errno : capfile_open(&serial_log, path, CAPFILE_DEFAULT_MAX, 1);
	if (serial_rc < 0) {
		m.rc = serial_rc;
		snprintf(m.err, sizeof(m.err), "cannot open the logs in %.200s: %s", e->dir,
			 strerror(-serial_rc));
		goto fail;
	}
	{
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		dup2(null, 0);
		dup2(log_fd, 1);
		dup2(log_fd, 2);
		close(null);
	}
	dprintf(log_fd, "phyllome: starting VM %s (%s)\n", e->def.name, e->def.id);
	if (e->def.net == VMDEF_NET_USER) {
		m.rc = start_helper(e, sup_passt_argv, "passt", "PHYLLOME_PASST", "passt",
				    "passt.sock", log_fd, &passt, m.err, sizeof(m.err));
		if (m.rc < 0)
			goto fail;
	}
	/* The VM's TPM: its own swtpm, state in tpm/ (kept across starts: each start is a TPM
	 * power-on), stopped with the VM. */
	if (e->def.tpm) {
		/* made at create; again if the user cleared the TPM by deleting the folder */
		snprintf(path, sizeof(path), "%s/tpm", e->dir);
		mkdir(path, 0700);
		m.rc = start_helper(e, sup_swtpm_argv, "swtpm", "PHYLLOME_SWTPM", "swtpm",
				    "tpm.sock", log_fd, &swtpm, m.err, sizeof(m.err));
		if (m.rc < 0)
			goto fail;
	}
	snprintf(path, sizeof(path), "%s/console.sock", e->dir);
	listen_fd = listen_unix(path);
	if (listen_fd < 0) {
		m.rc = listen_fd;
		snprintf(m.err, sizeof(m.err), "cannot listen on %s: %s", path, strerror(-m.rc));
		goto fail;
	}
	argv = jail[0] ? sup_vmm_argv_jailed(e, vmm) : sup_vmm_argv(e, vmm);
	if (argv && jail[0]) {
		char **jailed = sup_jail_argv(e, jail, argv, sup_real_path);

		sup_free_argv(argv);
		argv = jailed;
		if (argv)
			sup_log_jail(log_fd, argv);
	}
	if (!argv || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		m.rc = -ENOMEM;
		snprintf(m.err, sizeof(m.err), "out of memory or sockets");
		goto fail;
	}
	vm = spawn(argv, sv[1], sv[1], log_fd);
	sup_free_argv(argv);
	close(sv[1]);
	if (vm < 0) {
		m.rc = -errno;
		snprintf(m.err, sizeof(m.err), "fork: %s", strerror(errno));
		goto fail;
	}
	m.vmm = vm;
	m.passt = passt;
	m.swtpm = swtpm;
	send_ready(ready_fd, &m);
	relay_run(sv[0], listen_fd, &serial_log, vm, &status);
	close(listen_fd);
	close(sv[0]);
	stop_helper(passt);
	stop_helper(swtpm);
	dprintf(log_fd, "phyllome: VM %s ended (%s %d)\n", e->def.name,
		WIFSIGNALED(status) ? "signal" : "status",
		WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	record_exit(e, vm, status);
	_exit(0);
fail:
	stop_helper(passt);
	stop_helper(swtpm);
	send_ready(ready_fd, &m);
	_exit(1);
}

static int read_ready(int fd, struct ready_msg *m)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t got = 0;

	while (got < sizeof(*m)) {
		ssize_t r;

		if (poll(&p, 1, 30000) <= 0)
			return -ETIMEDOUT;
		r = read(fd, (char *)m + got, sizeof(*m) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EPIPE;
		got += (size_t)r;
	}
	return 0;
}

int sup_start(struct store *s, struct vm_entry *e, char *err, size_t errlen)
{
	char vmm[PATH_MAX], jail[PATH_MAX];
	struct ready_msg m = {0};
	int p[2], rc;
	pid_t mid;

	rc = sup_find_vmm(vmm, sizeof(vmm), err, errlen);
	if (rc == 0)
		rc = sup_pick_jail(e, jail, sizeof(jail), err, errlen);
	if (rc < 0)
		return rc;
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	fflush(NULL);
	mid = fork();
	if (mid == 0) {
		/* Twice, so that the supervisor is nobody's child but init's (or a subreaper's),
		 * in a session of its own: it outlives this command and its terminal. */
		close(p[0]);
		store_close(s); /* our fd only: the lock stays with the parent */
		setsid();
		if (fork() == 0)
			supervise(e, vmm, jail, p[1]);
		_exit(0);
	}
	close(p[1]);
	if (mid < 0) {
		close(p[0]);
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
	waitpid(mid, NULL, 0);
	rc = read_ready(p[0], &m);
	close(p[0]);
	if (rc < 0) {
		snprintf(err, errlen, "the VM's supervisor did not start (%s)", strerror(-rc));
		return rc;
	}
	if (m.rc < 0) {
		snprintf(err, errlen, "%s", m.err);
		return m.rc;
	}
	strcpy(e->st.status, "running");
	e->st.sup_pid = m.sup;
	e->st.vmm_pid = m.vmm;
	e->st.passt_pid = m.passt;
	e->st.swtpm_pid = m.swtpm;
	e->st.sup_start = mgr_proc_start(m.sup);
	e->st.vmm_start = mgr_proc_start(m.vmm);
	e->st.started = time(NULL);
	e->st.finished = 0;
	e->st.has_exit = false;
	e->st.exit_code = -1;
	rc = store_save_state(e);
	if (rc < 0)
		snprintf(err, errlen, "cannot write %s/state.json: %s", e->dir, strerror(-rc));
	return rc;
}

/* The last non-empty line of the VM's vmm.log (the VMM's one-line error). */
static void last_log_line(const char *dir, char *out, size_t len)
{
	char path[VMDEF_PATH + 16], *data, *line;
	size_t n;

	out[0] = 0;
	snprintf(path, sizeof(path), "%s/vmm.log", dir);
	if (store_read_file(path, &data, &n) < 0)
		return;
	while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		data[--n] = 0;
	/* Skip our own "VM ... ended" line. */
	for (int k = 0; k < 2 && n; k++) {
		const char *end = data + n;

		line = memrchr(data, '\n', n);
		line = line ? line + 1 : data;
		if (k == 0 && !strncmp(line, "phyllome: VM ", 13)) {
			n = (size_t)(line - data);
			while (n && data[n - 1] == '\n')
				data[--n] = 0;
			continue;
		}
		snprintf(out, len, "%.*s", (int)(end - line), line);
		break;
	}
	free(data);
}

/* Waits (at most timeout_ms) until the supervisor of the VM has ended; true if it has. */
static bool wait_sup_end(const struct vm_entry *e, int timeout_ms)
{
	int fd = mgr_pidfd(e->st.sup_pid, e->st.sup_start);

	if (fd < 0)
		return !mgr_proc_alive(e->st.sup_pid, e->st.sup_start);
	mgr_wait_pidfds(&fd, 1, timeout_ms, timeout_ms);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return true;
}

/*
 * Waits until the VMM answers on its API socket. Event-driven: between tries it sleeps until
 * a new entry appears in the VM's folder (the VMM creating api.sock, inotify) or the VMM ends
 * (pidfd), not on a fixed tick; a last resort of 1 s covers a socket there but not yet
 * listening, and a host without inotify or pidfds.
 */
int sup_wait_ready(struct store *s, struct vm_entry *e, int timeout_ms, char *err, size_t errlen)
{
	char sock[VMDEF_PATH + 16], why[256], line[300];
	struct timespec t0, t;
	int wfd = mgr_watch_create(e->dir), pidfd = mgr_pidfd(e->st.vmm_pid, e->st.vmm_start);
	int rc = 0;

	snprintf(sock, sizeof(sock), "%s/api.sock", e->dir);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct http_response r;
		struct vm_entry cur;
		struct stat st;
		bool loaded;
		long ms;

		if (http_request(sock, "GET", "/api/v1/vmm.ping", NULL, 1000, &r, why,
				 sizeof(why)) == 0) {
			int code = r.status;

			http_response_free(&r);
			if (code == 200)
				break;
		}
		loaded = store_load(s, e->def.id, &cur, why, sizeof(why)) == 0;
		if (!loaded || strcmp(cur.st.status, "running") ||
		    !mgr_proc_alive(cur.st.vmm_pid, cur.st.vmm_start)) {
			/* The supervisor records the status, then ends: wait for that (2 s at
			 * most). */
			if (loaded && !strcmp(cur.st.status, "running"))
				wait_sup_end(&cur, 2000);
			if (store_load(s, e->def.id, &cur, why, sizeof(why)) < 0)
				cur.st.has_exit = false;
			last_log_line(e->dir, line, sizeof(line));
			if (cur.st.has_exit)
				snprintf(err, errlen, "the VMM exited with status %d: %s",
					 cur.st.exit_code, line);
			else
				snprintf(err, errlen, "the VMM is gone: %s", line);
			rc = -ECHILD;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > timeout_ms) {
			snprintf(err, errlen, "the VMM did not answer on %s within %d s", sock,
				 timeout_ms / 1000);
			rc = -ETIMEDOUT;
			break;
		}
		/* No inotify, or the socket is there but refused us (bound, not yet listening):
		 * nothing will wake us, so look again soon. */
		if (wfd < 0 || (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode)))
			mgr_wait_create(-1, &pidfd, wfd < 0 ? 100 : 20);
		else
			mgr_wait_create(wfd, &pidfd, 1000);
	}
	if (wfd >= 0)
		close(wfd);
	if (pidfd >= 0)
		close(pidfd);
	return rc;
}
