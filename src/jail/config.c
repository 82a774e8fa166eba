#include "jail/jail.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/opts.h"
#include "common/path_within.h"

enum {
	OPT_ID,
	OPT_BASE,
	OPT_UID,
	OPT_GID,
	OPT_NETNS,
	OPT_TUN,
	OPT_USERNS,
	OPT_HOST_NET,
	OPT_PROC,
	OPT_FILE,
	OPT_FILE_RO,
	OPT_FD,
	OPT_FD_RO,
	OPT_RLIMIT,
	OPT_VERBOSE,
	OPT_HELP,
	OPT_VERSION,
};

static const struct opt_def jail_opts[] = {
    {"id", 0, "NAME", "the jail's name (letters, digits, '-', '_'; up to 64)", OPT_ID},
    {"chroot-base", 0, "DIR", "the jail is DIR/NAME/root (DIR absolute; must exist)", OPT_BASE},
    {"uid", 0, "UID", "user the VMM runs as (a number, not 0)", OPT_UID},
    {"gid", 0, "GID", "group the VMM runs as (a number, not 0)", OPT_GID},
    {"netns", 0, "PATH", "join this network namespace instead of a new, empty one", OPT_NETNS},
    {"tun", 0, NULL, "also /dev/net/tun (--net tap=IF; the tap must be in --netns)", OPT_TUN},
    {"userns", 0, NULL, "no root needed: a user namespace, the VMM as the caller (no --uid/--gid)",
     OPT_USERNS},
    {"host-net", 0, NULL, "stay in the caller's network namespace (a tap, a TCP VNC port)",
     OPT_HOST_NET},
    {"proc", 0, NULL, "a /proc of the jail's own processes (--fs: the shared folders' servers)",
     OPT_PROC},
    {"file", 0, "SRC[:DEST]", "bind SRC read-write at DEST in the jail (default: at SRC)",
     OPT_FILE},
    {"file-ro", 0, "SRC[:DEST]", "the same, read-only (kernel, initramfs, read-only disks)",
     OPT_FILE_RO},
    {"fd", 0, "SRC:N",
     "open SRC (a file or block device) read-write; the VMM gets it as fd N (/dev/fd/N)", OPT_FD},
    {"fd-ro", 0, "SRC:N", "the same, read-only (a CD image, a read-only disk)", OPT_FD_RO},
    {"rlimit", 0, "RES=N", "nofile, fsize, nproc or core; N or 'unlimited' (nofile=4096)",
     OPT_RLIMIT},
    {"verbose", 'v', NULL, "say what the jail does, step by step", OPT_VERBOSE},
    {"help", 'h', NULL, "show this help and exit", OPT_HELP},
    {"version", 'V', NULL, "show the version and exit", OPT_VERSION},
    {NULL, 0, NULL, NULL, 0},
};

static const char *const rlimit_names[JAIL_RL_COUNT] = {"nofile", "fsize", "nproc", "core"};

const char *jail_rlimit_name(enum jail_rlimit r)
{
	return (unsigned)r < JAIL_RL_COUNT ? rlimit_names[r] : "?";
}

void jail_usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: phyllome-jail --id NAME --chroot-base DIR (--uid UID --gid GID | --userns)\n"
	    "                     [--netns PATH | --host-net] [--tun] [--proc]\n"
	    "                     [--file SRC[:DEST]]...\n"
	    "                     [--file-ro SRC[:DEST]]... [--fd[-ro] SRC:N]...\n"
	    "                     [--rlimit RES=N]...\n"
	    "                     -- /path/to/phyllome-vmm ARGS...\n\n"
	    "Run as root: makes DIR/NAME/root holding only the VMM, the libraries it loads,\n"
	    "/dev/kvm, /dev/urandom (and /dev/net/tun) and the given files, each at its path;\n"
	    "then, in new mount, pid, network, IPC and UTS namespaces, makes it the root, drops\n"
	    "every capability, becomes UID:GID with no_new_privs and runs the VMM there. Paths\n"
	    "in ARGS are paths inside the jail. The exit status is the VMM's.\n"
	    "With --userns, any user can run it: a user namespace maps the caller to itself\n"
	    "(root to 1000); the VMM keeps the caller's groups (e.g. kvm), no capabilities.\n\n"
	    "Options:\n");
	opts_usage(f, jail_opts);
	fprintf(f, "\nSee docs/security.md (\"Running without root\").\n");
}

bool jail_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > JAIL_ID_MAX || id[0] == '-' || id[0] == '_')
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

/* Cleans an absolute path; ".." is refused, or with climb, takes off the last component. */
static int path_clean(const char *in, char *out, size_t outlen, bool climb)
{
	size_t o = 1;

	if (!in || in[0] != '/')
		return -EINVAL;
	if (outlen < 2)
		return -ENAMETOOLONG;
	out[0] = '/';
	while (*in) {
		const char *end;
		size_t n;

		while (*in == '/')
			in++;
		if (!*in)
			break;
		end = strchrnul(in, '/');
		n = (size_t)(end - in);
		if (n == 2 && in[0] == '.' && in[1] == '.') {
			if (!climb)
				return -EINVAL;
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
		} else if (!(n == 1 && in[0] == '.')) {
			size_t sep = o > 1;

			if (o + sep + n + 1 > outlen)
				return -ENAMETOOLONG;
			if (sep)
				out[o++] = '/';
			memcpy(out + o, in, n);
			o += n;
		}
		in = end;
	}
	out[o] = 0;
	return 0;
}

int jail_path_clean(const char *in, char *out, size_t outlen)
{
	return path_clean(in, out, outlen, false);
}

int jail_path_lexical(const char *in, char *out, size_t outlen)
{
	return path_clean(in, out, outlen, true);
}

bool jail_path_within(const char *ancestor, const char *path)
{
	return path_within(ancestor, path);
}

static int join(const char *a, const char *b, const char *c, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s%s", a, b, c);

	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int jail_dir_path(const char *base, const char *id, char *out, size_t outlen)
{
	return join(base, strcmp(base, "/") ? "/" : "", id, out, outlen);
}

int jail_root_path(const char *base, const char *id, char *out, size_t outlen)
{
	int rc = jail_dir_path(base, id, out, outlen);
	size_t n = strlen(out);

	return rc < 0 ? rc : join("", "", "/root", out + n, outlen - n);
}

int jail_inner_path(const char *root, const char *inner, char *out, size_t outlen)
{
	return join(root, strcmp(inner, "/") ? inner : "", "", out, outlen);
}

/* The last ":/" splits SRC from DEST: a source path may contain ':' but DEST is absolute. */
static const char *dest_split(const char *arg)
{
	const char *last = NULL, *p = arg;

	while ((p = strstr(p, ":/"))) {
		last = p;
		p++;
	}
	return last;
}

int jail_file_parse(const char *arg, bool readonly, struct jail_file *f, char *err, size_t errlen)
{
	const char *opt = readonly ? "--file-ro" : "--file";
	const char *colon = dest_split(arg);
	size_t srclen = colon ? (size_t)(colon - arg) : strlen(arg);
	char src[JAIL_PATH_MAX];
	int rc;

	if (srclen == 0 || srclen >= sizeof(src)) {
		snprintf(err, errlen, "%s '%.64s': %s", opt, arg,
			 srclen ? "path too long" : "no SRC");
		return -EINVAL;
	}
	memcpy(src, arg, srclen);
	src[srclen] = 0;
	rc = jail_path_clean(src, f->src, sizeof(f->src));
	if (rc == 0)
		rc = jail_path_clean(colon ? colon + 1 : src, f->dest, sizeof(f->dest));
	if (rc == -ENAMETOOLONG) {
		snprintf(err, errlen, "%s '%.64s...': path too long", opt, arg);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errlen,
			 "%s '%.200s': SRC and DEST must be absolute paths without '..'", opt, arg);
		return rc;
	}
	if (!strcmp(f->dest, "/")) {
		snprintf(err, errlen, "%s '%.200s': DEST cannot be the jail's root", opt, arg);
		return -EINVAL;
	}
	f->readonly = readonly;
	return 0;
}

int jail_fd_parse(const char *arg, bool readonly, const struct jail_fd *fds, unsigned n,
		  struct jail_fd *f, char *err, size_t errlen)
{
	const char *opt = readonly ? "--fd-ro" : "--fd", *colon = strrchr(arg, ':');
	char src[JAIL_PATH_MAX];
	uint64_t num;

	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(src) ||
	    opts_parse_u64(colon + 1, JAIL_FD_FIRST + JAIL_MAX_FDS - 1, &num) < 0 ||
	    num < JAIL_FD_FIRST) {
		snprintf(err, errlen, "%s '%.200s': want SRC:N, N from %d to %d", opt, arg,
			 JAIL_FD_FIRST, JAIL_FD_FIRST + JAIL_MAX_FDS - 1);
		return -EINVAL;
	}
	memcpy(src, arg, (size_t)(colon - arg));
	src[colon - arg] = 0;
	if (jail_path_clean(src, f->src, sizeof(f->src)) < 0) {
		snprintf(err, errlen, "%s '%.200s': SRC must be an absolute path without '..'", opt,
			 arg);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (fds[i].num == (int)num) {
			snprintf(err, errlen, "%s '%.200s': descriptor %d given twice", opt, arg,
				 (int)num);
			return -EINVAL;
		}
	}
	f->num = (int)num;
	f->readonly = readonly;
	f->open = -1;
	return 0;
}

static int parse_fd(struct jail_config *cfg, int id, const char *arg, char *err, size_t errlen)
{
	int rc;

	if (cfg->nfds >= JAIL_MAX_FDS) {
		snprintf(err, errlen, "too many --fd and --fd-ro (at most %d)", JAIL_MAX_FDS);
		return -EINVAL;
	}
	rc = jail_fd_parse(arg, id == OPT_FD_RO, cfg->fds, cfg->nfds, &cfg->fds[cfg->nfds], err,
			   errlen);
	if (rc == 0)
		cfg->nfds++;
	return rc;
}

static int parse_rlimit(struct jail_config *cfg, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	uint64_t v = RLIM_INFINITY;

	for (int r = 0; eq && r < JAIL_RL_COUNT; r++) {
		if (strlen(rlimit_names[r]) != (size_t)(eq - arg) ||
		    strncmp(arg, rlimit_names[r], (size_t)(eq - arg)))
			continue;
		if (strcmp(eq + 1, "unlimited") && opts_parse_size(eq + 1, &v) < 0) {
			snprintf(err, errlen, "--rlimit %.200s: N must be a number or 'unlimited'",
				 arg);
			return -EINVAL;
		}
		cfg->rlimit[r] = v;
		cfg->rlimit_set[r] = true;
		return 0;
	}
	snprintf(err, errlen, "--rlimit '%.200s': want RES=N with RES nofile, fsize, nproc or core",
		 arg);
	return -EINVAL;
}

/* --uid and --gid: a number; 0 (root) and -1 (which the kernel reads as "unchanged") are
 * refused. */
static int parse_id(const char *opt, const char *arg, uint32_t *out, char *err, size_t errlen)
{
	uint64_t v;

	if (opts_parse_u64(arg, UINT32_MAX - 1, &v) < 0 || v == 0) {
		snprintf(err, errlen, "--%s '%.64s': want a number other than 0 (root)", opt, arg);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

struct parse_state {
	struct jail_config *cfg;
	bool have_id, have_base, have_uid, have_gid;
};

static int once(bool *seen, const char *opt, char *err, size_t errlen)
{
	if (*seen) {
		snprintf(err, errlen, "--%s given twice", opt);
		return -EINVAL;
	}
	*seen = true;
	return 0;
}

static int on_path_opt(struct parse_state *st, int id, const char *arg, char *err, size_t errlen)
{
	struct jail_config *cfg = st->cfg;
	int rc;

	if (id == OPT_ID) {
		if (once(&st->have_id, "id", err, errlen) < 0)
			return -EINVAL;
		if (!jail_id_valid(arg)) {
			snprintf(err, errlen,
				 "--id '%.80s': use 1 to %d letters, digits, '-' or '_'", arg,
				 JAIL_ID_MAX);
			return -EINVAL;
		}
		strcpy(cfg->id, arg);
		return 0;
	}
	if (id == OPT_BASE) {
		if (once(&st->have_base, "chroot-base", err, errlen) < 0)
			return -EINVAL;
		rc = jail_path_clean(arg, cfg->base, sizeof(cfg->base));
		if (rc < 0)
			snprintf(err, errlen, "--chroot-base '%.200s': %s", arg,
				 rc == -ENAMETOOLONG ? "too long"
						     : "want an absolute path without '..'");
		return rc;
	}
	if (cfg->nfiles >= JAIL_MAX_FILES) {
		snprintf(err, errlen, "too many --file and --file-ro (at most %d)", JAIL_MAX_FILES);
		return -EINVAL;
	}
	rc = jail_file_parse(arg, id == OPT_FILE_RO, &cfg->files[cfg->nfiles], err, errlen);
	if (rc == 0)
		cfg->nfiles++;
	return rc;
}

static int on_opt(void *ctx, int id, const char *arg, char *err, size_t errlen)
{
	struct parse_state *st = ctx;
	struct jail_config *cfg = st->cfg;

	switch (id) {
	case OPT_ID:
	case OPT_BASE:
	case OPT_FILE:
	case OPT_FILE_RO:
		return on_path_opt(st, id, arg, err, errlen);
	case OPT_UID:
		if (once(&st->have_uid, "uid", err, errlen) < 0)
			return -EINVAL;
		return parse_id("uid", arg, &cfg->uid, err, errlen);
	case OPT_GID:
		if (once(&st->have_gid, "gid", err, errlen) < 0)
			return -EINVAL;
		return parse_id("gid", arg, &cfg->gid, err, errlen);
	case OPT_NETNS:
		if (cfg->netns) {
			snprintf(err, errlen, "--netns given twice");
			return -EINVAL;
		}
		if (!*arg) {
			snprintf(err, errlen, "--netns: empty path");
			return -EINVAL;
		}
		cfg->netns = arg;
		return 0;
	case OPT_TUN:
		cfg->tun = true;
		return 0;
	case OPT_USERNS:
		cfg->userns = true;
		return 0;
	case OPT_HOST_NET:
		cfg->host_net = true;
		return 0;
	case OPT_PROC:
		cfg->proc = true;
		return 0;
	case OPT_FD:
	case OPT_FD_RO:
		return parse_fd(cfg, id, arg, err, errlen);
	case OPT_RLIMIT:
		return parse_rlimit(cfg, arg, err, errlen);
	case OPT_VERBOSE:
		cfg->verbose++;
		return 0;
	case OPT_HELP:
		cfg->action = JAIL_HELP;
		return 0;
	default:
		cfg->action = JAIL_VERSION;
		return 0;
	}
}

/* What must be there once every option is read. */
static int check_complete(const struct parse_state *st, char *err, size_t errlen)
{
	const struct jail_config *cfg = st->cfg;
	const char *missing = !st->have_id		      ? "--id NAME"
			      : !st->have_base		      ? "--chroot-base DIR"
			      : !st->have_uid && !cfg->userns ? "--uid UID (or --userns)"
			      : !st->have_gid && !cfg->userns ? "--gid GID (or --userns)"
							      : NULL;

	if (cfg->userns && (st->have_uid || st->have_gid)) {
		snprintf(err, errlen, "--userns runs the VMM as the caller: no --uid or --gid");
		return -EINVAL;
	}
	if (cfg->host_net && cfg->netns) {
		snprintf(err, errlen, "--host-net and --netns: give one");
		return -EINVAL;
	}
	if (missing) {
		snprintf(err, errlen, "%s is required (see --help)", missing);
		return -EINVAL;
	}
	return 0;
}

static int parse_cmd(struct jail_config *cfg, int argc, char *const argv[], int sep, char *err,
		     size_t errlen)
{
	int rc;

	if (sep >= argc - 1) {
		snprintf(err, errlen,
			 "no program to run: end the options with '-- /path/to/vmm ...'");
		return -EINVAL;
	}
	rc = jail_path_clean(argv[sep + 1], cfg->vmm, sizeof(cfg->vmm));
	if (rc < 0 || !strcmp(cfg->vmm, "/")) {
		snprintf(err, errlen, "the program '%.200s' must be an absolute path without '..'",
			 argv[sep + 1]);
		return -EINVAL;
	}
	cfg->cmd = argv + sep + 1;
	cfg->ncmd = argc - sep - 1;
	return 0;
}

int jail_parse(struct jail_config *cfg, int argc, char *const argv[], char *err, size_t errlen)
{
	struct parse_state st = {.cfg = cfg};
	int sep = argc, rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->action = JAIL_RUN;
	cfg->rlimit[JAIL_RL_NOFILE] = JAIL_DEFAULT_NOFILE;
	cfg->rlimit_set[JAIL_RL_NOFILE] = true;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			sep = i;
			break;
		}
	}
	rc = opts_parse(jail_opts, sep, argv, on_opt, &st, err, errlen);
	if (rc < 0 || cfg->action != JAIL_RUN)
		return rc;
	rc = check_complete(&st, err, errlen);
	if (rc == 0)
		rc = parse_cmd(cfg, argc, argv, sep, err, errlen);
	return rc;
}

/* --- the mount plan ---------------------------------------------------------------------- */

static const char *kind_name(enum jail_mount_kind k)
{
	return k == JAIL_MOUNT_DEV    ? "the jail's devices"
	       : k == JAIL_MOUNT_EXEC ? "program"
				      : "--file";
}

int jail_plan_add(struct jail_plan *p, enum jail_mount_kind kind, const char *src, const char *dest,
		  char *err, size_t errlen)
{
	char clean[JAIL_PATH_MAX];
	struct jail_mount *m;

	if (jail_path_clean(dest, clean, sizeof(clean)) < 0 || strcmp(clean, dest) ||
	    !strcmp(dest, "/")) {
		snprintf(err, errlen,
			 "cannot place '%.200s' in the jail: not a clean absolute path", dest);
		return -EINVAL;
	}
	for (unsigned i = 0; i < p->n; i++) {
		m = &p->m[i];
		/* The same library may be reached by two spellings of its path. */
		if (!strcmp(m->dest, dest) && m->kind == kind &&
		    (kind == JAIL_MOUNT_EXEC || !strcmp(m->src, src)))
			return 0;
		if (jail_path_within(m->dest, dest) || jail_path_within(dest, m->dest)) {
			snprintf(err, errlen, "%.200s (%s) would be over or inside %.200s (%s)",
				 dest, kind_name(kind), m->dest, kind_name(m->kind));
			return -EINVAL;
		}
	}
	if (p->n >= JAIL_MAX_MOUNTS) {
		snprintf(err, errlen, "more than %d things to put in the jail", JAIL_MAX_MOUNTS);
		return -E2BIG;
	}
	m = &p->m[p->n];
	m->kind = kind;
	m->user_file = false;
	m->src = strdup(src);
	m->dest = strdup(dest);
	if (!m->src || !m->dest) {
		free(m->src);
		free(m->dest);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->n++;
	return 0;
}

int jail_plan_build(struct jail_plan *p, const struct jail_config *cfg, char *const *libs,
		    unsigned nlibs, bool have_ldcache, char *err, size_t errlen)
{
	int rc = jail_plan_add(p, JAIL_MOUNT_DEV, "tmpfs", JAIL_DEV_DIR, err, errlen);

	if (rc == 0)
		rc = jail_plan_add(p, JAIL_MOUNT_EXEC, cfg->vmm, cfg->vmm, err, errlen);
	for (unsigned i = 0; rc == 0 && i < nlibs; i++) {
		/* The loader opens the path as written; in the jail every folder on it is a real
		 * one, so its ".." are those of the written path. */
		char dest[JAIL_PATH_MAX];

		rc = jail_path_lexical(libs[i], dest, sizeof(dest));
		if (rc < 0)
			snprintf(err, errlen, "library path '%.200s': not absolute or too long",
				 libs[i]);
		else
			rc = jail_plan_add(p, JAIL_MOUNT_EXEC, libs[i], dest, err, errlen);
	}
	if (rc == 0 && have_ldcache)
		rc = jail_plan_add(p, JAIL_MOUNT_RO, "/etc/ld.so.cache", "/etc/ld.so.cache", err,
				   errlen);
	for (unsigned i = 0; rc == 0 && i < cfg->nfiles; i++) {
		const struct jail_file *f = &cfg->files[i];

		rc = jail_plan_add(p, f->readonly ? JAIL_MOUNT_RO : JAIL_MOUNT_RW, f->src, f->dest,
				   err, errlen);
		for (unsigned j = 0; rc == 0 && j < p->n; j++)
			if (!strcmp(p->m[j].dest, f->dest))
				p->m[j].user_file = true;
	}
	return rc;
}

void jail_plan_free(struct jail_plan *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		free(p->m[i].src);
		free(p->m[i].dest);
	}
	p->n = 0;
}
