/* The file server's process (docs/shared-folders.md, docs/security.md): forked by the VMM
 * before its own filter goes on, it keeps only the folder, /proc/self/fd and its end of the
 * socket; enters new mount, network and IPC namespaces (and a user namespace when not root)
 * in which the folder, bound nosuid/nodev/noexec (and read-only for readonly=on), is all of
 * "/"; keeps only the capabilities a file server needs; and serves under its own seccomp
 * filter. Guest memory is never mapped in it: the only memory it shares with the VMM is the
 * request and reply buffer (fs_server.h), mapped shared before the fork. */
#include "backends/fs_server.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/log.h"
#include "kvm/seccomp.h"

enum { FD_ROOT = 3, FD_SOCK = 4, FD_PROC = 5 };

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* A user namespace mapping only our own uid and gid (an unprivileged VMM's way to the mount
 * namespace). */
static int enter_userns(void)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (unshare(CLONE_NEWUSER) < 0)
		return -errno;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) < 0 ||
	    write_file("/proc/self/setgroups", "deny") < 0)
		return -EPERM;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return write_file("/proc/self/gid_map", map);
}

/* New user (when not root), mount, PID, network and IPC namespaces; then a fork, so that the
 * server is PID 1 of its own PID namespace (the /proc it mounts shows no other process). The
 * parent stays only to wait for it: the server's parent-death signal is tied to it, and its to
 * the VMM. Returns 0 in the server; the parent never returns. */
static int enter_namespaces(void)
{
	int rc = geteuid() != 0 ? enter_userns() : 0, status;
	pid_t pid;

	if (rc == 0 && unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC) < 0)
		rc = -errno;
	if (rc < 0)
		return rc;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		return prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ? -errno : 0;
	close(FD_ROOT);
	close(FD_SOCK);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* With the current root on an initramfs (rootfs) pivot_root() fails: the folder is then moved
 * over "/" and made the root with chroot() (what switch_root does); the server keeps no
 * capability that could leave it. */
static int make_root(void)
{
	if (syscall(SYS_pivot_root, ".", ".") == 0)
		return umount2(".", MNT_DETACH) < 0 ? -errno : 0;
	if (errno != EINVAL)
		return -errno;
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
		return -errno;
	return 0;
}

/* In the new mount namespace: a /proc of the server's PID namespace (only its own process
 * in it), then the folder becomes "/"; FD_ROOT and FD_PROC then refer to it and to that
 * /proc's self/fd. */
static int enter_folder(const char *path, bool readonly)
{
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	unsigned long pflags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	struct stat a, b;
	int rc = 0, fd;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (mount("proc", "/proc", "proc", pflags, "subset=pid") < 0 &&
	    mount("proc", "/proc", "proc", pflags, NULL) < 0)
		return -errno;
	fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, FD_PROC) < 0)
		return -errno;
	if (fd != FD_PROC)
		close(fd);
	/* Not MS_REC: file systems mounted below the folder are not taken along. */
	if (mount(path, path, NULL, MS_BIND, NULL) < 0)
		rc = -errno;
	if (rc == 0 && mount(NULL, path, NULL, flags | (readonly ? MS_RDONLY : 0), NULL) < 0)
		rc = -errno;
	if (rc == 0 && chdir(path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = make_root();
	if (rc == 0 && chdir("/") < 0)
		rc = -errno;
	if (rc < 0)
		return rc;
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* The folder bound is the folder the VMM opened (not something swapped in at path). */
	if (fstat(fd, &a) < 0 || fstat(FD_ROOT, &b) < 0 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev) {
		close(fd);
		return -ESTALE;
	}
	dup2(fd, FD_ROOT);
	close(fd);
	return 0;
}

/* Only what a file server needs: ownership, permission bypass for the files it serves, and
 * keeping set-group-ID bits; nothing else (no mknod of devices, no mounts, no raw I/O). */
static int drop_caps(void)
{
	const uint64_t keep = (1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) |
			      (1ull << CAP_DAC_READ_SEARCH) | (1ull << CAP_FOWNER) |
			      (1ull << CAP_FSETID);
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	data[0].effective = data[0].permitted &= (uint32_t)keep;
	data[1].effective = data[1].permitted &= (uint32_t)(keep >> 32);
	data[0].inheritable = data[1].inheritable = 0;
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

static void raise_nofile(void)
{
	struct rlimit r;

	/* Each inode the guest holds is a descriptor. */
	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

static int server_main(const struct fs_config *cfg, enum seccomp_mode mode, uint8_t *shm)
{
	const char *path = cfg->path;
	bool readonly = cfg->readonly;
	bool root = geteuid() == 0;
	struct fs_srv *s;
	int rc, fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* stdin may be the VMM's terminal: the server never reads it. */
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	rc = enter_namespaces();
	if (rc == 0)
		rc = enter_folder(path, readonly);
	if (rc < 0) {
		pr_warn("shared folder '%s': no namespaces of its own (%s): it is served beneath "
			"the folder by openat2 alone",
			path, strerror(-rc));
		fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || dup2(fd, FD_PROC) < 0) {
			pr_err("shared folder '%s': cannot open /proc/self/fd", path);
			return 1;
		}
	}
	if (drop_caps() < 0)
		pr_warn("shared folder '%s': cannot drop capabilities", path);
	raise_nofile();
	umask(0);
	if (seccomp_install(SECCOMP_FS_SERVER, mode) < 0) {
		pr_err("shared folder '%s': cannot install the seccomp filter", path);
		return 1;
	}
	rc = fs_srv_open(&s, FD_ROOT, FD_PROC, readonly, root);
	if (rc < 0) {
		pr_err("shared folder '%s': %s", path, strerror(-rc));
		return 1;
	}
	fs_srv_set_direct_io(s, cfg->cache_none);
	rc = fs_srv_serve(s, FD_SOCK, shm);
	fs_srv_close(s);
	return rc < 0 ? 1 : 0;
}

static void child(int root, int sock, pid_t parent, const struct fs_config *cfg,
		  enum seccomp_mode mode, uint8_t *shm)
{
	/* The server ends with the VMM, whatever ends it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	/* Out of the way first, so that neither lands on the other's number. */
	root = fcntl(root, F_DUPFD, 16);
	sock = fcntl(sock, F_DUPFD, 16);
	if (root < 0 || sock < 0 || dup2(root, FD_ROOT) < 0 || dup2(sock, FD_SOCK) < 0)
		_exit(1);
	log_set_file(NULL); /* its lines go to stderr (the VMM's log when it has --log-file) */
	/* Everything else the VMM had open (images, the terminal's state) is not the server's. */
	if (syscall(SYS_close_range, FD_SOCK + 1, ~0u, 0) < 0)
		for (int fd = FD_SOCK + 1; fd < 1024; fd++)
			close(fd);
	_exit(server_main(cfg, mode, shm));
}

int fs_server_spawn(const struct fs_config *cfg, enum seccomp_mode mode, pid_t *pid, uint8_t **shm,
		    char *err, size_t errlen)
{
	const char *path = cfg->path;
	int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC), sv[2] = {-1, -1}, rc;
	pid_t parent = getpid();
	const char *what = "open";
	void *m = MAP_FAILED;

	/* Shared memory of its own, not a file: both processes keep it across the fork, and the
	 * server's own fork into its PID namespace. */
	if (root >= 0)
		m = mmap(NULL, FS_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
			 0);
	if (root >= 0 && m == MAP_FAILED)
		what = "mmap";
	if (m != MAP_FAILED && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		what = "socketpair";
	*pid = sv[0] >= 0 ? fork() : -1;
	if (*pid == 0)
		child(root, sv[1], parent, cfg, mode, m);
	if (sv[0] >= 0 && *pid < 0)
		what = "fork";
	rc = *pid < 0 ? -errno : sv[0];
	if (*pid < 0) {
		snprintf(err, errlen, "--fs path=%s: %s: %s", path, what, strerror(errno));
		if (sv[0] >= 0)
			close(sv[0]);
		if (m != MAP_FAILED)
			munmap(m, FS_SHM_SIZE);
	} else {
		*shm = m;
	}
	if (sv[1] >= 0)
		close(sv[1]);
	if (root >= 0)
		close(root);
	return rc;
}
