#include "manager/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int mkdirs(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int pick_root(char *out, size_t len)
{
	const char *env = getenv("PHYLLOME_STATE"), *xdg = getenv("XDG_DATA_HOME"),
		   *home = getenv("HOME");
	int n;

	if (env && *env == '/') {
		n = snprintf(out, len, "%s", env);
	} else if (env && *env) {
		/* Made absolute: the supervisor runs from / and sockets need full paths. */
		char cwd[VMDEF_PATH];

		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		n = snprintf(out, len, "%s/%s", cwd, env);
	} else if (geteuid() == 0)
		n = snprintf(out, len, "/var/lib/phyllome");
	else if (xdg && xdg[0] == '/')
		n = snprintf(out, len, "%s/phyllome", xdg);
	else if (home && home[0] == '/')
		n = snprintf(out, len, "%s/.local/share/phyllome", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int store_open(struct store *s, char *err, size_t errlen)
{
	char path[VMDEF_PATH + 8];
	int rc;

	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	rc = pick_root(s->root, sizeof(s->root) - 64);
	if (rc < 0) {
		snprintf(err, errlen, "cannot find a state folder: set PHYLLOME_STATE or HOME");
		return rc;
	}
	snprintf(path, sizeof(path), "%s/vms", s->root);
	rc = mkdirs(path, 0700);
	if (rc < 0) {
		snprintf(err, errlen, "cannot create the state folder %s: %s", path, strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/lock", s->root);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the lock file %s: %s", path, strerror(errno));
		return rc;
	}
	return 0;
}

void store_close(struct store *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
}

int store_lock(struct store *s, bool exclusive)
{
	if (s->lock_depth++ > 0)
		return 0;
	while (flock(s->lock_fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EINTR) {
			s->lock_depth--;
			return -errno;
		}
	}
	return 0;
}

void store_unlock(struct store *s)
{
	if (s->lock_depth > 0 && --s->lock_depth == 0)
		flock(s->lock_fd, LOCK_UN);
}

int store_path(const struct store *s, const char *id, const char *file, char *out, size_t len)
{
	int n = file ? snprintf(out, len, "%s/vms/%s/%s", s->root, id, file)
		     : snprintf(out, len, "%s/vms/%s", s->root, id);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int store_write_file(const char *dir, const char *file, const char *data)
{
	char tmp[VMDEF_PATH + 64], path[VMDEF_PATH + 64];
	size_t n = strlen(data), off = 0;
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, file);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (off < n) {
		ssize_t w = write(fd, data + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)w;
	}
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int store_read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	char *buf;

	if (fd < 0)
		return -errno;
	buf = malloc(cap + 1);
	while (buf) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			buf = NULL;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			char *nb = cap >= (1u << 20) ? NULL : realloc(buf, cap * 2 + 1);

			if (!nb) {
				free(buf);
				buf = NULL;
				errno = EFBIG;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	if (!buf)
		return -(errno ? errno : ENOMEM);
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

int store_load(const struct store *s, const char *id, struct vm_entry *e, char *err, size_t errlen)
{
	char path[VMDEF_PATH + 64], why[256];
	char *data;
	size_t len;
	int rc;

	if (store_path(s, id, NULL, e->dir, sizeof(e->dir)) < 0)
		return -ENAMETOOLONG;
	snprintf(path, sizeof(path), "%s/config.json", e->dir);
	rc = store_read_file(path, &data, &len);
	if (rc < 0)
		return rc == -ENOENT ? -ENOENT : rc;
	rc = vmdef_load(&e->def, data, len, why, sizeof(why));
	free(data);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return rc;
	}
	if (strcmp(e->def.id, id)) {
		snprintf(err, errlen, "%s: id %s does not match its folder", path, e->def.id);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/state.json", e->dir);
	rc = store_read_file(path, &data, &len);
	if (rc == -ENOENT) {
		vmstate_init(&e->st);
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = vmstate_load(&e->st, data, len, why, sizeof(why));
	free(data);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	return rc;
}

int store_save_def(const struct vm_entry *e)
{
	char *json = vmdef_dump(&e->def);
	int rc;

	if (!json)
		return -ENOMEM;
	rc = store_write_file(e->dir, "config.json", json);
	free(json);
	return rc;
}

int store_save_state(const struct vm_entry *e)
{
	char *json = vmstate_dump(&e->st);
	int rc;

	if (!json)
		return -ENOMEM;
	rc = store_write_file(e->dir, "state.json", json);
	free(json);
	return rc;
}

static int by_created(const void *a, const void *b)
{
	const struct vm_entry *x = a, *y = b;

	if (x->def.created != y->def.created)
		return x->def.created > y->def.created ? -1 : 1;
	return strcmp(x->def.id, y->def.id);
}

/* An exit status left for an attached `run --rm` (supervise.c) that nobody read in 10 minutes
 * (the VM ran detached) goes away. */
static void forget_exit(const char *vms, const char *name)
{
	char p[VMDEF_PATH + 300];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", vms, name);
	if (stat(p, &st) == 0 && st.st_mtime + 600 < time(NULL))
		unlink(p);
}

int store_list(const struct store *s, struct vm_entry **out, size_t *n)
{
	char path[VMDEF_PATH + 8], err[512];
	struct vm_entry *v = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	*n = 0;
	snprintf(path, sizeof(path), "%s/vms", s->root);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int rc;

		if (!strncmp(de->d_name, ".exit-", 6)) {
			forget_exit(path, de->d_name);
			continue;
		}
		if (strlen(de->d_name) != MGR_ID_LEN || !mgr_hex_ref(de->d_name))
			continue;
		if (*n == cap) {
			struct vm_entry *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		rc = store_load(s, de->d_name, &v[*n], err, sizeof(err));
		if (rc == 0)
			(*n)++;
		else if (rc != -ENOENT) /* a folder being created or removed has no config yet */
			fprintf(stderr, "phyllome: warning: skipping %s\n", err);
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), by_created);
	*out = v;
	return 0;
}

int store_resolve(const struct store *s, const char *ref, struct vm_entry *e, char *err,
		  size_t errlen)
{
	struct vm_entry *all;
	size_t n, found = 0, match = 0;
	int rc = store_list(s, &all, &n);

	if (rc < 0) {
		snprintf(err, errlen, "cannot list VMs: %s", strerror(-rc));
		return rc;
	}
	/* A name wins over an id prefix, an exact id over both. */
	for (size_t i = 0; i < n && !found; i++)
		if (!strcmp(all[i].def.id, ref))
			found = 1, match = i;
	for (size_t i = 0; i < n && !found; i++)
		if (!strcmp(all[i].def.name, ref))
			found = 1, match = i;
	if (!found && mgr_hex_ref(ref)) {
		for (size_t i = 0; i < n; i++)
			if (!strncmp(all[i].def.id, ref, strlen(ref)))
				found++, match = i;
	}
	if (found == 1)
		*e = all[match];
	free(all);
	if (found == 0) {
		snprintf(err, errlen, "no such VM: %.100s", ref);
		return -ENOENT;
	}
	if (found > 1) {
		snprintf(err, errlen, "\"%.100s\" matches %zu VMs: give more of the id", ref,
			 found);
		return -EINVAL;
	}
	return 0;
}

bool store_name_taken(const struct store *s, const char *name, char *id_out)
{
	struct vm_entry *all;
	size_t n;
	bool taken = false;

	if (store_list(s, &all, &n) < 0)
		return false;
	for (size_t i = 0; i < n && !taken; i++) {
		if (!strcmp(all[i].def.name, name)) {
			taken = true;
			if (id_out)
				strcpy(id_out, all[i].def.id);
		}
	}
	free(all);
	return taken;
}

/* Stops a helper (passt, swtpm) left behind, if pid is still that program (its comm). */
static void stop_stale(pid_t pid, const char *comm_want)
{
	char comm[64] = "", cpath[64];
	FILE *f;

	if (pid <= 0 || !mgr_proc_alive(pid, 0))
		return;
	snprintf(cpath, sizeof(cpath), "/proc/%d/comm", (int)pid);
	f = fopen(cpath, "re");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
	}
	if (!strncmp(comm, comm_want, strlen(comm_want)))
		kill(pid, SIGTERM);
}

static void cleanup_runtime(struct vm_entry *e)
{
	static const char *const files[] = {"api.sock", "console.sock", "passt.sock", "tpm.sock"};
	char path[VMDEF_PATH + 32];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", e->dir, files[i]);
		unlink(path);
	}
	/* Their pid files are their own; we only stop one that is still that program. */
	stop_stale(e->st.passt_pid, "passt");
	stop_stale(e->st.swtpm_pid, "swtpm");
	e->st.passt_pid = e->st.swtpm_pid = 0;
}

bool store_refresh(struct store *s, struct vm_entry *e)
{
	char err[256];

	if (strcmp(e->st.status, "running") || mgr_proc_alive(e->st.vmm_pid, e->st.vmm_start))
		return false;
	/* The VMM is gone. A live supervisor records the exit itself, soon. */
	if (e->st.sup_pid > 0 && mgr_proc_alive(e->st.sup_pid, e->st.sup_start))
		return false;
	if (store_lock(s, true) < 0)
		return false;
	/* Someone may have written meanwhile: decide on the current files. */
	if (store_load(s, e->def.id, e, err, sizeof(err)) == 0 &&
	    !strcmp(e->st.status, "running") && !mgr_proc_alive(e->st.vmm_pid, e->st.vmm_start) &&
	    !(e->st.sup_pid > 0 && mgr_proc_alive(e->st.sup_pid, e->st.sup_start))) {
		strcpy(e->st.status, "exited");
		e->st.has_exit = false;
		e->st.exit_code = -1;
		e->st.finished = time(NULL);
		cleanup_runtime(e);
		e->st.vmm_pid = e->st.sup_pid = 0;
		store_save_state(e);
	}
	store_unlock(s);
	return true;
}

static int remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char p[VMDEF_PATH + 300];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rc = remove_tree(p);
		else if (unlink(p) < 0)
			rc = -errno;
	}
	closedir(d);
	if (rmdir(path) < 0)
		rc = -errno;
	return rc;
}

int store_remove(const struct store *s, const struct vm_entry *e)
{
	char path[VMDEF_PATH + 64];

	/* Rename first: a reader never sees a half-removed VM. */
	snprintf(path, sizeof(path), "%s/vms/.rm-%s", s->root, e->def.id);
	if (rename(e->dir, path) < 0)
		return -errno;
	return remove_tree(path);
}
