/* The manager's phyllome-jail: every VMM runs jailed by default (docs/manager.md, "The
 * jail"), handed exactly what its VM needs, each at its own path. The command line is pure
 * (the real path of each file comes from the caller's resolver); then the checks made before
 * a jailed start. */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/path_within.h"
#include "manager/supervise.h"

/* What is handed in: collected first, then each given once, unless it lies inside a folder
 * that is handed in too (the jail refuses a mount inside another; the folder shows it). */
#define HAND_MAX 40

struct handed {
	const char *path[HAND_MAX];
	bool ro[HAND_MAX], dir[HAND_MAX];
	unsigned n;
	bool full;
};

static void hand_in(struct handed *h, const char *path, bool ro, bool dir)
{
	if (!path || !path[0])
		return;
	for (unsigned i = 0; i < h->n; i++) {
		if (!strcmp(h->path[i], path)) {
			h->ro[i] &= ro; /* read-write if either wants it */
			h->dir[i] |= dir;
			return;
		}
	}
	if (h->n >= HAND_MAX) {
		h->full = true;
		return;
	}
	h->path[h->n] = path;
	h->ro[h->n] = ro;
	h->dir[h->n++] = dir;
}

static bool inside_another(const struct handed *h, unsigned k)
{
	for (unsigned i = 0; i < h->n; i++)
		if (i != k && h->dir[i] && path_within(h->path[i], h->path[k]))
			return true;
	return false;
}

/* --file[-ro] REAL:PATH (REAL alone when it is PATH): the jail refuses a symbolic link on a
 * source's path, so the source is the resolved one and the VMM still finds it at PATH. */
static void emit(struct sup_argv *b, const struct handed *h, sup_resolve_fn resolve)
{
	if (h->full)
		b->failed = true;
	for (unsigned i = 0; i < h->n; i++) {
		char buf[VMDEF_PATH];
		const char *real = resolve ? resolve(h->path[i], buf, sizeof(buf)) : h->path[i];

		if (inside_another(h, i))
			continue;
		if (!real)
			real = h->path[i];
		sup_argv_add(b, h->ro[i] ? "--file-ro" : "--file");
		if (strcmp(real, h->path[i]))
			sup_argv_add(b, "%s:%s", real, h->path[i]);
		else
			sup_argv_add(b, "%s", h->path[i]);
	}
}

/* Raw disks (block devices too) and the CD go in by descriptor: phyllome-jail opens each
 * (as the caller, no symbolic link on its path) and the VMM gets only that open file. A qcow2
 * image is bound by path: the VMM finds its backing file by a path beside it. */
int sup_jail_fd(const struct vm_def *d, unsigned i)
{
	int n = 3; /* phyllome-jail's first (JAIL_FD_FIRST) */

	for (unsigned j = 0; j < i && j < d->ndisks; j++)
		n += !d->disks[j].qcow2;
	if (i < d->ndisks)
		return d->disks[i].qcow2 ? -1 : n;
	return i == d->ndisks && d->cdrom[0] ? n : -1;
}

/* --fd[-ro] REAL:N for each disk and the CD handed in by descriptor. */
static void emit_fds(struct sup_argv *b, const struct vm_def *d, sup_resolve_fn resolve)
{
	for (unsigned i = 0; i <= d->ndisks; i++) {
		const char *path = i < d->ndisks ? d->disks[i].path : d->cdrom, *real;
		int fd = sup_jail_fd(d, i);
		char buf[VMDEF_PATH];

		if (fd < 0)
			continue;
		real = resolve ? resolve(path, buf, sizeof(buf)) : path;
		sup_argv_add(b, i == d->ndisks || d->disks[i].readonly ? "--fd-ro" : "--fd");
		sup_argv_add(b, "%s:%d", real ? real : path, fd);
	}
}

/* A qcow2 disk that is a device node (a block device such as /dev/vda, or anything under
 * /dev): the jail's /dev holds only its own nodes, and a file cannot be bound over it. (The
 * VMM refuses format=qcow2 on a block device anyway.) */
static bool is_device(const char *path)
{
	struct stat st;

	if (!path[0])
		return false;
	if (!strncmp(path, "/dev/", 5))
		return true;
	return stat(path, &st) == 0 && (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode));
}

const char *sup_jail_blocker(const struct vm_def *d)
{
	char sock[VMDEF_PATH];
	bool device = false;

	for (unsigned i = 0; i < d->ndisks; i++)
		device |= d->disks[i].qcow2 && is_device(d->disks[i].path);
	if (!strcmp(d->display, "window"))
		return "its window needs the desktop's display server, which the jail does not "
		       "hand in";
	if (!strcmp(d->sound, "pulse") && !mgr_sound_socket(sock, sizeof(sock)))
		return "its sound (--sound pulse) needs the sound server's socket, and none was "
		       "found ($PULSE_SERVER, $XDG_RUNTIME_DIR/pulse/native)";
	if (d->sound[0] && strcmp(d->sound, "pulse"))
		return "its sound (--sound wav=) is a file the VMM creates, which the jail does "
		       "not hand in";
	if (device)
		return "a qcow2 disk of it is a device node, which the jail cannot bind";
	return NULL;
}

void sup_jail_describe(const struct vm_def *d, char *out, size_t len)
{
	const char *why = sup_jail_blocker(d);

	if (d->no_jail)
		snprintf(out, len, "off (--no-jail)");
	else if (why)
		snprintf(out, len, "off: %s", why);
	else
		snprintf(out, len, "on");
}

/* Display words (copied into words, which the handed paths point into): vnc=unix:PATH (the
 * VMM makes its socket in PATH's folder) or vnc=HOST:PORT (TCP: true, the host's network
 * namespace), then password=, tls-cert=, tls-key= files and web=. */
static bool hand_display(struct handed *h, const char *display, char *words, size_t len)
{
	char *save = NULL, *w;
	bool tcp = false;

	if (strncmp(display, "vnc=", 4))
		return false;
	snprintf(words, len, "%s", display + 4);
	for (w = strtok_r(words, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(w, '=');

		if (w == words) {
			char *slash = strrchr(w, '/');

			if (strncmp(w, "unix:", 5)) {
				tcp = true;
			} else if (slash && slash > w + 5) {
				*slash = 0;
				hand_in(h, w + 5, false, true);
			}
		} else if (eq && (!strncmp(w, "password=", 9) || !strncmp(w, "tls-cert=", 9) ||
				  !strncmp(w, "tls-key=", 8))) {
			hand_in(h, eq + 1, true, false);
		} else if (eq && !strncmp(w, "web=", 4)) {
			hand_in(h, !strcmp(eq + 1, "on") ? "/usr/share/novnc" : eq + 1, true, true);
		}
	}
	return tcp;
}

char **sup_jail_argv(const struct vm_entry *e, const char *jail, char *const *vmm_argv,
		     sup_resolve_fn resolve)
{
	const struct vm_def *d = &e->def;
	struct sup_argv b = {0};
	struct handed h = {.n = 0};
	/* words and sock hold what h points to, until emit() */
	// cppcheck-suppress variableScope
	char words[sizeof(d->display)], sock[VMDEF_PATH];
	bool host_net = d->net == VMDEF_NET_TAP;

	sup_argv_add(&b, "%s", jail);
	sup_argv_add(&b, "--userns");
	/* The jail's folder is the VM's own: DIR/jail, its root a tmpfs on DIR/jail/root. */
	sup_argv_add(&b, "--id");
	sup_argv_add(&b, "jail");
	sup_argv_add(&b, "--chroot-base");
	sup_argv_add(&b, "%s", e->dir);
	/* The VM's folder holds the API socket, vmm.log, its own disks, UEFI variables, seed,
	 * passt's and swtpm's sockets. */
	hand_in(&h, e->dir, false, true);
	for (unsigned i = 0; i < d->nshares; i++)
		hand_in(&h, d->shares[i].host, d->shares[i].readonly, true);
	host_net |= hand_display(&h, d->display, words, sizeof(words));
	/* --sound pulse: the server's socket (the VMM is told its path: server=) */
	if (!strcmp(d->sound, "pulse"))
		hand_in(&h, mgr_sound_socket(sock, sizeof(sock)), false, false);
	hand_in(&h, d->kernel, true, false);
	hand_in(&h, d->initramfs, true, false);
	hand_in(&h, d->firmware, true, false);
	hand_in(&h, d->vars, false, false);
	for (unsigned i = 0; i < d->ndisks; i++) {
		if (sup_jail_fd(d, i) >= 0)
			continue;
		hand_in(&h, d->disks[i].path, d->disks[i].readonly, false);
		hand_in(&h, d->disks[i].backing, true, false);
	}
	emit(&b, &h, resolve);
	emit_fds(&b, d, resolve);
	/* A tap and a VNC port on TCP live in the host's network namespace; otherwise the VMM
	 * gets a new, empty one (passt is reached by its socket's path). */
	if (host_net)
		sup_argv_add(&b, "--host-net");
	if (d->net == VMDEF_NET_TAP)
		sup_argv_add(&b, "--tun");
	/* A shared folder's server mounts a /proc of its own: only where one is visible. */
	if (d->nshares)
		sup_argv_add(&b, "--proc");
	sup_argv_add(&b, "--");
	for (size_t i = 0; vmm_argv && vmm_argv[i]; i++)
		sup_argv_add(&b, "%s", vmm_argv[i]);
	return sup_argv_finish(&b);
}

/* --- before a start ------------------------------------------------------------------------ */

/* Whether this host lets us make a user namespace (tried in a child, which then ends): 0, or
 * the errno it got. */
static int userns_try(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) < 0 ? (errno > 0 && errno < 126 ? errno : EPERM) : 0);
	if (pid < 0)
		return errno;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : EPERM;
}

/* The jail VM e runs in: jail gets phyllome-jail's path, or "" for none (--no-jail,
 * PHYLLOME_JAIL=off, or a VM the jail cannot run yet, with a warning on stderr). 0, or a
 * negative errno + err (one line saying how to opt out). */
int sup_pick_jail(const struct vm_entry *e, char *jail, size_t len, char *err, size_t errlen)
{
	const char *env = getenv("PHYLLOME_JAIL"), *why = sup_jail_blocker(&e->def);
	int rc;

	jail[0] = 0;
	if (e->def.no_jail || (env && !strcmp(env, "off")))
		return 0;
	if (why) {
		fprintf(stderr, "phyllome: warning: %s runs without the jail: %s\n", e->def.name,
			why);
		return 0;
	}
	rc = sup_find_prog("phyllome-jail", "PHYLLOME_JAIL", jail, len, err, errlen);
	if (rc < 0) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, "; or run it unjailed: phyllome update --no-jail %s",
			 e->def.name);
		return rc;
	}
	rc = userns_try();
	if (rc) {
		snprintf(err, errlen,
			 "cannot jail the VMM: this host does not let %s create user namespaces "
			 "(%s); run it unjailed: phyllome update --no-jail %s (docs/manager.md)",
			 geteuid() ? "this user" : "root", strerror(rc), e->def.name);
		jail[0] = 0;
		return -EPERM;
	}
	return 0;
}

/* A file's real path for the jail (which refuses a symbolic link on a source's path). */
const char *sup_real_path(const char *path, char *buf, size_t len)
{
	char *r = realpath(path, NULL);
	const char *out = NULL;

	if (r && snprintf(buf, len, "%s", r) < (int)len)
		out = buf;
	free(r);
	return out;
}

/* What the jail is handed, into vmm.log: its options up to "--". */
void sup_log_jail(int fd, char **argv)
{
	dprintf(fd, "phyllome: the VMM runs in phyllome-jail:");
	for (size_t i = 1; argv[i] && strcmp(argv[i], "--"); i++)
		dprintf(fd, " %s", argv[i]);
	dprintf(fd, "\n");
}
