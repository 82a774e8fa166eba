/* The privileged half of phyllome-jail: the jail's folder, its mounts, the switch of root,
 * and the drop to the unprivileged user. Every step that fails says which and why, once. */
#include "jail/jail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"

/* Device numbers fixed by the kernel's ABI (include/linux/miscdevice.h, devices.txt). */
#define KVM_MAJOR     10
#define KVM_MINOR     232
#define TUN_MAJOR     10
#define TUN_MINOR     200
#define URANDOM_MAJOR 1
#define URANDOM_MINOR 9

#define DEV_TMPFS_OPTS	"mode=0755,size=64k,nr_inodes=16"
#define ROOT_TMPFS_OPTS "mode=0700,size=1m,nr_inodes=1024"

static int fail(const char *what, const char *path)
{
	int e = errno;

	pr_err("%s%s%s: %s", what, path ? " " : "", path ? path : "", strerror(e));
	return -e;
}

/* --- the jail's folder (in the parent, before the namespaces) ------------------------------ */

static bool dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return false;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

int jail_make_root(const struct jail_config *cfg, char *root, size_t rootlen)
{
	/* --userns: the caller's, who is not root; otherwise root's. */
	uid_t owner = cfg->userns ? cfg->outer_uid : 0;
	gid_t group = cfg->userns ? cfg->outer_gid : 0;
	char dir[JAIL_PATH_MAX];
	struct stat st;

	if (stat(cfg->base, &st) < 0)
		return fail("--chroot-base", cfg->base);
	if (!S_ISDIR(st.st_mode)) {
		pr_err("--chroot-base %s is not a folder", cfg->base);
		return -ENOTDIR;
	}
	if (jail_dir_path(cfg->base, cfg->id, dir, sizeof(dir)) < 0 ||
	    jail_root_path(cfg->base, cfg->id, root, rootlen) < 0) {
		pr_err("--chroot-base %s: path too long", cfg->base);
		return -ENAMETOOLONG;
	}
	/* BASE/ID stays root's and 0755: the user owns only what is inside root/, so nobody but
	 * root can swap root/ for something else while the jail is being built. */
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return fail("cannot create", dir);
	if (lstat(dir, &st) < 0)
		return fail("cannot stat", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != owner || (st.st_mode & 022)) {
		pr_err("%s exists but is not a folder that only %s can write to", dir,
		       cfg->userns ? "its user" : "root");
		return -EPERM;
	}
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return fail("cannot create", root);
	if (lstat(root, &st) < 0)
		return fail("cannot stat", root);
	if (!S_ISDIR(st.st_mode) || !dir_is_empty(root)) {
		pr_err(
		    "%s exists and is not an empty folder (left by an earlier jail with this --id? "
		    "remove %s)",
		    root, dir);
		return -EEXIST;
	}
	/* Root's until everything is in place; jail_enter hands it to the user. */
	if (chown(root, owner, group) < 0 || chmod(root, 0700) < 0)
		return fail("cannot chown/chmod", root);
	return 0;
}

/* --- the user namespace (--userns, in the parent) ----------------------------------------- */

static int write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(text);
	ssize_t w;

	if (fd < 0)
		return fail("cannot open", path);
	w = write(fd, text, n);
	if (w != (ssize_t)n) {
		int rc = fail("cannot write", path);

		close(fd);
		return rc;
	}
	close(fd);
	return 0;
}

int jail_enter_userns(const struct jail_config *cfg)
{
	char map[64];
	int rc;

	if (unshare(CLONE_NEWUSER) < 0)
		return fail("cannot create a user namespace (this host may not allow them: see "
			    "sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone)",
			    NULL);
	rc = write_proc("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)cfg->uid, (unsigned)cfg->outer_uid);
	if (rc == 0)
		rc = write_proc("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)cfg->gid, (unsigned)cfg->outer_gid);
	if (rc == 0)
		rc = write_proc("/proc/self/gid_map", map);
	if (rc == 0)
		pr_info("user namespace: uid %u and gid %u are %u and %u outside",
			(unsigned)cfg->uid, (unsigned)cfg->gid, (unsigned)cfg->outer_uid,
			(unsigned)cfg->outer_gid);
	return rc;
}

/* --- building the jail (in the child, in its own mount namespace) -------------------------- */

/* The folders on the way to inner (not inner itself), real folders, root's, 0755. */
static int make_parents(const char *root, const char *inner)
{
	char p[JAIL_PATH_MAX];
	size_t rl = strlen(root);

	if (jail_inner_path(root, inner, p, sizeof(p)) < 0) {
		pr_err("path too long in the jail: %s", inner);
		return -ENAMETOOLONG;
	}
	for (char *s = strchr(p + rl + 1, '/'); s; s = strchr(s + 1, '/')) {
		struct stat st;

		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return fail("cannot create", p);
		if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
			pr_err("%s is not a folder", p);
			return -ENOTDIR;
		}
		*s = '/';
	}
	return 0;
}

/* An empty file or folder (like the source) for a bind mount to cover. */
static int make_mount_point(const char *path, bool dir)
{
	int fd;

	if (dir)
		return mkdir(path, 0755) < 0 ? fail("cannot create", path) : 0;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail("cannot create", path);
	close(fd);
	return 0;
}

/* A bind mount of what fd names (open_tree + move_mount: no path is looked up again). */
static int bind_fd(int fd, const char *target)
{
	int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	int rc;

	if (tree < 0)
		return -errno;
	rc = move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0 ? -errno : 0;
	close(tree);
	return rc;
}

/* Binds the source at p; a --file's source is opened without following links first and
 * bound from that descriptor. */
static int bind_source(const struct jail_mount *m, const char *root, char *p, size_t plen)
{
	struct stat st;
	int fd = -1, rc;

	if (m->user_file) {
		fd = jail_source_open(m->src);
		if (fd < 0) {
			errno = -fd;
			return fail(fd == -ELOOP ? "a symbolic link is on the path of"
						 : "cannot put into the jail:",
				    m->src);
		}
	}
	if (fd >= 0 ? fstat(fd, &st) < 0 : stat(m->src, &st) < 0)
		rc = fail("cannot put into the jail:", m->src);
	else if ((rc = make_parents(root, m->dest)) == 0) {
		jail_inner_path(root, m->dest, p, plen); /* fits: make_parents checked it */
		rc = make_mount_point(p, S_ISDIR(st.st_mode));
	}
	if (rc == 0 && fd >= 0 && (rc = bind_fd(fd, p)) < 0) {
		errno = -rc;
		rc = fail("cannot bind-mount", m->src);
	} else if (rc == 0 && fd < 0 && mount(m->src, p, NULL, MS_BIND, NULL) < 0) {
		rc = fail("cannot bind-mount", m->src);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The flags a bind mount has from its source: a remount must keep them (in a user namespace,
 * the kernel refuses to clear a flag the source's mount was locked with, atime ones too). */
static unsigned long kept_flags(const char *path)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {{ST_RDONLY, MS_RDONLY},    {ST_NOSUID, MS_NOSUID},
		   {ST_NODEV, MS_NODEV},      {ST_NOEXEC, MS_NOEXEC},
		   {ST_NOATIME, MS_NOATIME},  {ST_NODIRATIME, MS_NODIRATIME},
		   {ST_RELATIME, MS_RELATIME}};
	unsigned long ms = 0;
	struct statvfs sv;

	if (statvfs(path, &sv) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (sv.f_flag & map[i].st)
			ms |= map[i].ms;
	return ms;
}

static int bind_one(const struct jail_mount *m, const char *root)
{
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV;
	char p[JAIL_PATH_MAX];
	int rc = bind_source(m, root, p, sizeof(p));

	if (rc < 0)
		return rc;
	if (m->kind != JAIL_MOUNT_RW)
		flags |= MS_RDONLY;
	if (m->kind != JAIL_MOUNT_EXEC)
		flags |= MS_NOEXEC;
	if (mount(NULL, p, NULL, flags | kept_flags(p), NULL) < 0)
		return fail("cannot set the mount flags of", p);
	pr_info("%s %s at %s", m->kind == JAIL_MOUNT_RW ? "read-write" : "read-only", m->src,
		m->dest);
	return 0;
}

static int make_node(const char *dev, const char *name, mode_t mode, unsigned major, unsigned minor,
		     uid_t uid, gid_t gid)
{
	char p[JAIL_PATH_MAX];

	if (jail_inner_path(dev, name, p, sizeof(p)) < 0) {
		pr_err("path too long: %s%s", dev, name);
		return -ENAMETOOLONG;
	}
	if (mknod(p, S_IFCHR | mode, makedev(major, minor)) < 0)
		return fail("cannot create the device node", p);
	if (chown(p, uid, gid) < 0 || chmod(p, mode) < 0)
		return fail("cannot chown/chmod", p);
	return 0;
}

/* --userns: no mknod in a user namespace; the host's node is bound instead (read-only mount,
 * nosuid, noexec; the node itself stays writable). */
static int bind_node(const char *dev, const char *name, const char *src)
{
	char p[JAIL_PATH_MAX];
	int rc;

	if (jail_inner_path(dev, name, p, sizeof(p)) < 0) {
		pr_err("path too long: %s%s", dev, name);
		return -ENAMETOOLONG;
	}
	rc = make_mount_point(p, false);
	if (rc < 0)
		return rc;
	if (mount(src, p, NULL, MS_BIND, NULL) < 0)
		return fail("cannot bind-mount", src);
	if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC | kept_flags(p),
		  NULL) < 0)
		return fail("cannot set the mount flags of", p);
	return 0;
}

/* The node name in dev (the jail's /dev or /dev/net), host (the same node on the host). */
static int add_node(const struct jail_config *cfg, const char *dev, const char *name,
		    const char *host, mode_t mode, unsigned major, unsigned minor, bool users)
{
	if (cfg->userns)
		return bind_node(dev, name, host);
	return make_node(dev, name, mode, major, minor, users ? cfg->uid : 0, users ? cfg->gid : 0);
}

/* /dev: a small tmpfs of our own (so nodes work even where the jail's folder is on a nodev
 * mount), with only the nodes the VMM opens, then made read-only. */
static int make_dev(const struct jail_config *cfg, const struct jail_mount *m, const char *root)
{
	char dev[JAIL_PATH_MAX];
	int rc = make_parents(root, m->dest);

	if (rc < 0)
		return rc;
	jail_inner_path(root, m->dest, dev, sizeof(dev));
	rc = make_mount_point(dev, true);
	if (rc < 0)
		return rc;
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, DEV_TMPFS_OPTS) < 0)
		return fail("cannot mount a tmpfs on", dev);
	rc = add_node(cfg, dev, "/kvm", "/dev/kvm", 0600, KVM_MAJOR, KVM_MINOR, true);
	if (rc == 0)
		rc = add_node(cfg, dev, "/urandom", "/dev/urandom", 0666, URANDOM_MAJOR,
			      URANDOM_MINOR, false);
	if (rc == 0 && cfg->tun) {
		char net[JAIL_PATH_MAX];

		if (jail_inner_path(dev, "/net", net, sizeof(net)) < 0 || mkdir(net, 0755) < 0)
			return fail("cannot create", net);
		rc = add_node(cfg, net, "/tun", "/dev/net/tun", 0600, TUN_MAJOR, TUN_MINOR, true);
	}
	if (rc == 0 && mount(NULL, dev, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
			     DEV_TMPFS_OPTS) < 0)
		return fail("cannot make read-only:", dev);
	if (rc == 0)
		pr_info("/dev with kvm, urandom%s", cfg->tun ? ", net/tun" : "");
	return rc;
}

/* --proc: the jail's pid namespace's /proc (this child is its pid 1: only the VMM and what it
 * starts are in it). A shared folder's server mounts a /proc of its own, which the kernel
 * allows in a user namespace only where a /proc is already visible. */
static int make_proc(const char *root)
{
	char p[JAIL_PATH_MAX];

	if (jail_inner_path(root, "/proc", p, sizeof(p)) < 0 || mkdir(p, 0555) < 0)
		return fail("cannot create", p);
	if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return fail("cannot mount a /proc on", p);
	pr_info("/proc of the jail's processes");
	return 0;
}

static int enter_namespaces(const struct jail_config *cfg)
{
	int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;

	if (cfg->netns) {
		int fd = open(cfg->netns, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return fail("--netns", cfg->netns);
		if (setns(fd, CLONE_NEWNET) < 0) {
			int rc = fail("cannot join the network namespace", cfg->netns);

			close(fd);
			return rc;
		}
		close(fd);
	} else if (!cfg->host_net) {
		flags |= CLONE_NEWNET;
	}
	if (unshare(flags) < 0)
		return fail("cannot create the mount, IPC, UTS and network namespaces", NULL);
	if (sethostname(cfg->id, strlen(cfg->id)) < 0)
		return fail("cannot set the host name in the jail to", cfg->id);
	/* Nothing mounted from now on propagates back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(errno == EINVAL
				? "cannot make the mounts private (a chroot's / is no mount "
				  "point; run the jail from the real root)"
				: "cannot make the mounts private",
			    NULL);
	return 0;
}

static int build(const struct jail_config *cfg, const struct jail_plan *plan, const char *root)
{
	int rc = 0;

	/* root becomes a mount point (pivot_root wants one); everything else goes on it. With
	 * --userns it is a small tmpfs: the mount points made in it leave nothing on the host. */
	if (cfg->userns) {
		if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, ROOT_TMPFS_OPTS) < 0)
			return fail("cannot mount a tmpfs on", root);
	} else if (mount(root, root, NULL, MS_BIND, NULL) < 0) {
		return fail("cannot bind-mount the jail onto itself:", root);
	}
	for (unsigned i = 0; rc == 0 && i < plan->n; i++)
		rc = plan->m[i].kind == JAIL_MOUNT_DEV ? make_dev(cfg, &plan->m[i], root)
						       : bind_one(&plan->m[i], root);
	if (rc == 0 && cfg->proc)
		rc = make_proc(root);
	if (rc < 0)
		return rc;
	if (mount(NULL, root, NULL,
		  MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | kept_flags(root),
		  NULL) < 0)
		return fail("cannot set the mount flags of", root);
	if (chown(root, cfg->uid, cfg->gid) < 0)
		return fail("cannot hand the jail's root to --uid/--gid:", root);
	return 0;
}

static bool root_is_initramfs(void)
{
	struct statfs sf;

	if (statfs("/", &sf) < 0)
		return false;
	return (unsigned long)sf.f_type == RAMFS_MAGIC || (unsigned long)sf.f_type == TMPFS_MAGIC;
}

/* pivot_root(".", ".") puts the old root on top of the new one, where it is detached. An
 * initramfs root (rootfs) cannot be pivoted away from: there, as switch_root does, the jail
 * is moved over "/" and chrooted into (the host's mounts stay in the namespace, unreachable
 * without CAP_SYS_CHROOT, which goes below). */
static int switch_root(const char *root)
{
	if (chdir(root) < 0)
		return fail("cannot enter", root);
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return fail("cannot detach the old root", NULL);
		pr_info("pivot_root into %s", root);
	} else if (errno == EINVAL && root_is_initramfs()) {
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
			return fail("cannot move the jail over the initramfs root:", root);
		pr_info("the root is an initramfs: %s moved over it and chrooted into", root);
	} else {
		return fail("cannot pivot_root into", root);
	}
	return chdir("/") < 0 ? fail("cannot enter the jail's /", NULL) : 0;
}

static int set_rlimits(const struct jail_config *cfg)
{
	static const int res[JAIL_RL_COUNT] = {RLIMIT_NOFILE, RLIMIT_FSIZE, RLIMIT_NPROC,
					       RLIMIT_CORE};

	for (int r = 0; r < JAIL_RL_COUNT; r++) {
		struct rlimit rl = {cfg->rlimit[r], cfg->rlimit[r]}, cur;

		/* In a user namespace a hard limit cannot be raised: a lower one stays. */
		if (cfg->userns && getrlimit(res[r], &cur) == 0 && cur.rlim_max < rl.rlim_max)
			rl.rlim_cur = rl.rlim_max = cur.rlim_max;
		if (cfg->rlimit_set[r] && setrlimit(res[r], &rl) < 0)
			return fail("cannot set --rlimit", jail_rlimit_name((enum jail_rlimit)r));
	}
	return 0;
}

/* Root's powers go before the user change (the bounding set needs CAP_SETPCAP); the user
 * change empties the permitted set, and capset empties whatever could remain. */
static int drop_privileges(const struct jail_config *cfg)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail("cannot clear the ambient capabilities", NULL);
	for (unsigned long cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL && cap > 0)
			break; /* past the kernel's last capability */
		return fail("cannot drop from the capability bounding set", NULL);
	}
	/* uid 0 (root's jail with --userns) gets no capabilities back from an exec. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) < 0)
		return fail("cannot set the securebits", NULL);
	/* --userns: setgroups is denied; the caller's groups (kvm) stay, as for its own VMM. */
	if (!cfg->userns && setgroups(0, NULL) < 0)
		return fail("cannot clear the supplementary groups", NULL);
	if (setresgid(cfg->gid, cfg->gid, cfg->gid) < 0)
		return fail("cannot change to --gid", NULL);
	if (setresuid(cfg->uid, cfg->uid, cfg->uid) < 0)
		return fail("cannot change to --uid", NULL);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return fail("cannot empty the capability sets", NULL);
	if (cfg->uid != 0 && setresuid(0, 0, 0) == 0) {
		pr_err("still able to become root after dropping privileges");
		return -EPERM;
	}
	/* Cleared by the user change: the VMM must not outlive the jail's parent. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return fail("cannot set the parent-death signal", NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail("cannot set no_new_privs", NULL);
	pr_info("running as %u:%u, no capabilities, no_new_privs", (unsigned)cfg->uid,
		(unsigned)cfg->gid);
	return 0;
}

/* The --fd descriptors at their numbers (each first moved above them all, so that none lands
 * on another's), open across the exec; everything else the jail inherited is closed. */
static int hand_fds(const struct jail_config *cfg)
{
	const int top = JAIL_FD_FIRST + JAIL_MAX_FDS;
	bool kept[JAIL_MAX_FDS] = {false};
	int tmp[JAIL_MAX_FDS];

	for (unsigned i = 0; i < cfg->nfds; i++) {
		tmp[i] = fcntl(cfg->fds[i].open, F_DUPFD_CLOEXEC, top);
		if (tmp[i] < 0)
			return fail("cannot move the descriptor of", cfg->fds[i].src);
	}
	for (unsigned i = 0; i < cfg->nfds; i++) {
		if (dup2(tmp[i], cfg->fds[i].num) < 0)
			return fail("cannot hand in the descriptor of", cfg->fds[i].src);
		kept[cfg->fds[i].num - JAIL_FD_FIRST] = true;
	}
	if (close_range((unsigned)top, ~0u, 0) < 0)
		return fail("cannot close the inherited file descriptors", NULL);
	for (int n = JAIL_FD_FIRST; n < top; n++)
		if (!kept[n - JAIL_FD_FIRST])
			close(n);
	return 0;
}

int jail_enter(const struct jail_config *cfg, const struct jail_plan *plan, const char *root)
{
	static char *const empty_env[] = {NULL};
	mode_t old_umask = umask(0);
	int rc;

	/* Should the parent die while the jail is built. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* A session of its own: the VMM has no controlling terminal, so it cannot push input
	 * into the terminal it was started from (TIOCSTI) nor be signalled from it; the jail's
	 * parent passes SIGINT, SIGTERM, SIGHUP and SIGQUIT on. */
	if (setsid() < 0)
		return fail("cannot start a session", NULL);
	rc = enter_namespaces(cfg);
	if (rc == 0)
		rc = build(cfg, plan, root);
	if (rc == 0)
		rc = switch_root(root);
	if (rc == 0)
		rc = set_rlimits(cfg);
	if (rc == 0)
		rc = drop_privileges(cfg);
	if (rc < 0)
		return rc;
	umask(old_umask);
	if (hand_fds(cfg) < 0)
		return -1;
	execve(cfg->vmm, cfg->cmd, empty_env);
	return fail("cannot run", cfg->vmm);
}
