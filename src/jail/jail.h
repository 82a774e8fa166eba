/* phyllome-jail: runs phyllome-vmm as an unprivileged user in new namespaces, chrooted
 * (pivot_root) into a folder that holds only what the VM needs. The configuration and the
 * paths are pure functions here (config.c); the privileged steps are in jail.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define JAIL_ID_MAX    64
#define JAIL_PATH_MAX  4096
#define JAIL_MAX_FILES 32
/* The VMM, its libraries, ld.so.cache, /dev and the files (checked as the plan is built). */
#define JAIL_MAX_MOUNTS 128

/* --userns run by root: the VMM's uid and gid in the namespace (root outside). Not 0, which
 * would keep the VMM from making the user namespace its shared folders' servers need (mapping
 * uid 0 there takes CAP_SETFCAP). */
#define JAIL_ROOT_INNER_ID 1000

/* The device tmpfs: the jail makes the nodes itself, so nothing else may go under it. */
#define JAIL_DEV_DIR "/dev"

enum jail_rlimit { JAIL_RL_NOFILE, JAIL_RL_FSIZE, JAIL_RL_NPROC, JAIL_RL_CORE, JAIL_RL_COUNT };
#define JAIL_DEFAULT_NOFILE 4096

struct jail_file {
	char src[JAIL_PATH_MAX];  /* host path, clean and absolute */
	char dest[JAIL_PATH_MAX]; /* path inside the jail, clean and absolute */
	bool readonly;
};

/* --fd SRC:N, --fd-ro SRC:N: SRC opened by the jail (as its caller, no symbolic link on the
 * path) before any namespace, and handed to the VMM as descriptor N, which it names
 * "/dev/fd/N": a disk, a CD image or a block device the jail's mounts never show. */
#define JAIL_FD_FIRST 3
#define JAIL_MAX_FDS  16

struct jail_fd {
	char src[JAIL_PATH_MAX]; /* host path, clean and absolute */
	int num;		 /* JAIL_FD_FIRST .. JAIL_FD_FIRST + JAIL_MAX_FDS - 1 */
	bool readonly;
	int open; /* the jail's own descriptor for it (main.c), -1 before */
};

struct jail_config {
	char id[JAIL_ID_MAX + 1];
	char base[JAIL_PATH_MAX]; /* --chroot-base, clean */
	uid_t uid;
	gid_t gid;
	const char *netns; /* NULL: a new network namespace (unless host_net) */
	bool host_net;	   /* --host-net: stay in the caller's network namespace */
	bool tun;
	/* --userns: no root needed; a new user namespace maps the caller's uid and gid to
	 * themselves (root's to JAIL_ROOT_INNER_ID), the devices are bound from the host's /dev,
	 * the root is a tmpfs. uid and gid are then set by main, not by options. */
	bool userns;
	uid_t outer_uid; /* --userns: the caller's ids, which uid and gid map to */
	gid_t outer_gid;
	bool proc; /* --proc: a /proc of the jail's pid namespace (the shared folders' servers) */
	struct jail_file files[JAIL_MAX_FILES];
	unsigned nfiles;
	struct jail_fd fds[JAIL_MAX_FDS];
	unsigned nfds;
	bool rlimit_set[JAIL_RL_COUNT];
	uint64_t rlimit[JAIL_RL_COUNT];
	int verbose;
	int action;		 /* JAIL_RUN, JAIL_HELP, JAIL_VERSION */
	char vmm[JAIL_PATH_MAX]; /* the program, cmd[0] cleaned: at the same path in the jail */
	char *const *cmd;	 /* its argv (points into argv), NULL-terminated */
	int ncmd;
};

enum { JAIL_RUN, JAIL_HELP, JAIL_VERSION };

/* Parses "phyllome-jail OPTIONS -- /path/to/vmm ARGS...". Returns 0, or a negative errno with
 * a one-line message in err. cfg->cmd points into argv. */
int jail_parse(struct jail_config *cfg, int argc, char *const argv[], char *err, size_t errlen);
void jail_usage(FILE *f);
/* The name of a resource for --rlimit ("nofile"...). */
const char *jail_rlimit_name(enum jail_rlimit r);

/* [A-Za-z0-9_-], 1 to JAIL_ID_MAX characters, starting with a letter or digit. */
bool jail_id_valid(const char *id);
/* Cleans an absolute path: "//" and "/./" collapse, a trailing "/" goes; ".." is refused (a
 * path must not climb out of the jail), as is a relative path. "/" stays "/". Returns 0,
 * -EINVAL or -ENAMETOOLONG. */
int jail_path_clean(const char *in, char *out, size_t outlen);
/* The same, but ".." takes off the last component (stopping at "/"), as it does in the jail,
 * where every folder on a path is a real folder. */
int jail_path_lexical(const char *in, char *out, size_t outlen);
/* True if path is ancestor itself or lies below it (whole components: /a is not above /ab). */
bool jail_path_within(const char *ancestor, const char *path);
/* BASE/ID and BASE/ID/root. Return 0 or -ENAMETOOLONG. */
int jail_dir_path(const char *base, const char *id, char *out, size_t outlen);
int jail_root_path(const char *base, const char *id, char *out, size_t outlen);
/* ROOT + INNER (a clean absolute path inside the jail). 0 or -ENAMETOOLONG. */
int jail_inner_path(const char *root, const char *inner, char *out, size_t outlen);
/* Splits "SRC[:DEST]" (at the last ":/", since DEST is absolute; without DEST, DEST = SRC)
 * into f, both cleaned. Returns 0 or a negative errno with a message in err. */
int jail_file_parse(const char *arg, bool readonly, struct jail_file *f, char *err, size_t errlen);
/* "SRC:N" (split at the last ':') into f: SRC cleaned, N in range and not one that fds[0..n)
 * already has. Returns 0 or -EINVAL with a message in err. */
int jail_fd_parse(const char *arg, bool readonly, const struct jail_fd *fds, unsigned n,
		  struct jail_fd *f, char *err, size_t errlen);

/* What the jail mounts into its root, in order. */
enum jail_mount_kind {
	JAIL_MOUNT_EXEC, /* the VMM and its libraries: read-only bind, may be executed */
	JAIL_MOUNT_RO,	 /* read-only bind, noexec */
	JAIL_MOUNT_RW,	 /* read-write bind, noexec */
	JAIL_MOUNT_DEV,	 /* the device tmpfs (src unused) */
};

struct jail_mount {
	enum jail_mount_kind kind;
	char *src;
	char *dest;
	bool user_file; /* a --file or --file-ro: opened with no symbolic link on its path */
};

struct jail_plan {
	struct jail_mount m[JAIL_MAX_MOUNTS];
	unsigned n;
};

/* Adds one mount. A destination must be a clean absolute path other than "/", and must
 * neither equal nor contain nor lie inside another one (no mount point is ever made inside
 * a host folder bound into the jail); adding the same dest twice with the same kind and src
 * (any src for JAIL_MOUNT_EXEC: programs share libraries) is a no-op. Returns 0 or a negative errno
 * with a message in err. */
int jail_plan_add(struct jail_plan *p, enum jail_mount_kind kind, const char *src, const char *dest,
		  char *err, size_t errlen);
/* The whole plan: the device tmpfs, the VMM at its own path, each library at its path
 * (libs: host paths, as the loader would open them; ".." taken lexically for the jail),
 * /etc/ld.so.cache if have_ldcache, then the --file entries. */
int jail_plan_build(struct jail_plan *p, const struct jail_config *cfg, char *const *libs,
		    unsigned nlibs, bool have_ldcache, char *err, size_t errlen);
void jail_plan_free(struct jail_plan *p);

/* Opens a file handed to the jail (--file, --file-ro) as an O_PATH descriptor, refusing a
 * symbolic link anywhere on its path (openat2 RESOLVE_NO_SYMLINKS; before Linux 5.6, only the
 * last component is checked): whoever can write a folder on the path cannot swap in a link to
 * another file between the check and the bind mount, which is made from the descriptor.
 * Returns the descriptor or -errno (-ELOOP: a link). (source.c) */
int jail_source_open(const char *path);
/* Opens an --fd's SRC the same way, for reading (and writing unless readonly): a regular file
 * or a block device only (-EINVAL otherwise; a FIFO cannot hold the jail up: opened
 * non-blocking, then made blocking). Returns the descriptor (close-on-exec) or -errno. */
int jail_fd_open(const char *path, bool readonly);

/* Privileged steps (jail.c). jail_make_root creates BASE/ID (0755) and BASE/ID/root (0700,
 * root's until jail_enter hands it to the user; with --userns both are the caller's) and
 * refuses a root that is not empty.
 * jail_enter runs in the child that is pid 1 of the new pid namespace: it builds the jail
 * and execs the VMM; it returns only on failure (after printing the one line). */
int jail_make_root(const struct jail_config *cfg, char *root, size_t rootlen);
/* --userns, in the jail's parent before the pid namespace: a new user namespace mapping
 * cfg->uid and cfg->gid to themselves (setgroups denied). 0 or -errno after one line. */
int jail_enter_userns(const struct jail_config *cfg);
int jail_enter(const struct jail_config *cfg, const struct jail_plan *plan, const char *root);
