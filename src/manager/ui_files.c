/* The desktop app's folders and the files under them (ui_files.h). */
#include "manager/ui_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manager/store.h"

#define LIST_DEPTH 4	/* folders below a listed one that are searched */
#define LIST_MAX   2000 /* files listed in all */

static const char refused[] = "not a file of the folders in the settings: pick one from the list";

int ui_settings_parse(const char *json, size_t len, struct ui_folders *f, char *err, size_t errlen)
{
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL), *a, *v;
	size_t i;
	int rc = -EINVAL;

	memset(f, 0, sizeof(*f));
	a = json_object_get(o, "folders");
	if (!json_is_object(o) || !json_is_array(a)) {
		snprintf(err, errlen, "the settings are not {\"folders\": [...]}");
		goto out;
	}
	if (json_array_size(a) > UI_MAX_FOLDERS) {
		snprintf(err, errlen, "at most %d folders", UI_MAX_FOLDERS);
		goto out;
	}
	json_array_foreach(a, i, v)
	{
		const char *p = json_string_value(v);
		size_t n = p ? strlen(p) : 0;

		if (!p || n < 1 || p[0] != '/' || n >= UI_FOLDER_MAX || strpbrk(p, ",:\n\r\t")) {
			snprintf(err, errlen,
				 "a folder is a full path (starting with /) without ',' or ':' "
				 "(at most %d bytes)",
				 UI_FOLDER_MAX - 1);
			goto out;
		}
		for (unsigned k = 0; k < f->n; k++) {
			if (!strcmp(f->path[k], p)) {
				snprintf(err, errlen, "the folder %.200s is listed twice", p);
				goto out;
			}
		}
		memcpy(f->path[f->n++], p, n + 1);
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

char *ui_settings_dump(const struct ui_folders *f)
{
	json_t *a = json_array(), *o = json_object();
	char *s = NULL;

	for (unsigned i = 0; a && i < f->n; i++)
		json_array_append_new(a, json_string(f->path[i]));
	if (a && o && json_object_set_new(o, "folders", a) == 0) {
		a = NULL;
		s = json_dumps(o, JSON_INDENT(2));
	}
	json_decref(a);
	json_decref(o);
	return s;
}

int ui_settings_load(const char *root, struct ui_folders *f, char *err, size_t errlen)
{
	char path[PATH_MAX], *data = NULL, why[256];
	size_t n = 0;
	int rc;

	memset(f, 0, sizeof(*f));
	snprintf(path, sizeof(path), "%s/ui-settings.json", root);
	rc = store_read_file(path, &data, &n);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		snprintf(err, errlen, "cannot read %.300s: %s", path, strerror(-rc));
		return -1;
	}
	rc = ui_settings_parse(data, n, f, why, sizeof(why));
	free(data);
	if (rc < 0) {
		snprintf(err, errlen, "%.300s: %s (fix or remove it)", path, why);
		return -1;
	}
	return 0;
}

int ui_settings_save(const char *root, struct ui_folders *f, char *err, size_t errlen)
{
	char *s;
	int rc;

	for (unsigned i = 0; i < f->n; i++) {
		char real[PATH_MAX];
		struct stat st;

		if (!realpath(f->path[i], real) || stat(real, &st) < 0) {
			snprintf(err, errlen, "the folder %.300s: %s", f->path[i], strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%.300s is not a folder", f->path[i]);
			return -1;
		}
		if (strlen(real) >= UI_FOLDER_MAX || strpbrk(real, ",:")) {
			snprintf(err, errlen,
				 "the folder %.300s is really %.300s: too long, or with ',' or ':'",
				 f->path[i], real);
			return -1;
		}
		strcpy(f->path[i], real);
		for (unsigned k = 0; k < i; k++) {
			if (!strcmp(f->path[k], real)) {
				snprintf(err, errlen, "the folder %.300s is listed twice", real);
				return -1;
			}
		}
	}
	s = ui_settings_dump(f);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = store_write_file(root, "ui-settings.json", s);
	free(s);
	if (rc < 0) {
		snprintf(err, errlen, "cannot write %.300s/ui-settings.json: %s", root,
			 strerror(-rc));
		return -1;
	}
	return 0;
}

bool ui_path_under(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (n && dir[n - 1] == '/') /* "/" itself */
		n--;
	return !strncmp(dir, path, n) && (path[n] == 0 || path[n] == '/');
}

int ui_file_kind_of(const char *name)
{
	static const struct {
		const char *end;
		int kind;
	} ends[] = {{".iso", UI_FILE_ISO},
		    {".img", UI_FILE_DISK},
		    {".raw", UI_FILE_DISK},
		    {".qcow2", UI_FILE_DISK}};
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		size_t e = strlen(ends[i].end);

		if (n > e && !strcasecmp(name + n - e, ends[i].end))
			return ends[i].kind;
	}
	return -1;
}

int ui_file_id_parse(const char *id, unsigned *folder, char rel[UI_FILE_MAX])
{
	const char *p = id, *c;
	unsigned long v = 0;
	size_t n;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != ':'))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v >= UI_MAX_FOLDERS)
			return -EINVAL;
	}
	if (*p++ != ':')
		return -EINVAL;
	n = strlen(p);
	if (!n || n >= UI_FILE_MAX || p[0] == '/')
		return -EINVAL;
	for (c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return -EINVAL;
	/* each component: not empty, not "." or ".." */
	for (c = p; c;) {
		const char *e = strchr(c, '/');
		size_t l = e ? (size_t)(e - c) : strlen(c);

		if (!l || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
			return -EINVAL;
		c = e ? e + 1 : NULL;
	}
	*folder = (unsigned)v;
	memcpy(rel, p, n + 1);
	return 0;
}

int ui_folder_resolve(const struct ui_folders *f, long long idx, char *out, size_t outlen,
		      char *err, size_t errlen)
{
	char real[PATH_MAX];
	struct stat st;

	if (idx < 0 || idx >= (long long)f->n) {
		snprintf(err, errlen, "not a folder of the settings: pick one from the list");
		return -EINVAL;
	}
	if (!realpath(f->path[idx], real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    strlen(real) >= outlen) {
		snprintf(err, errlen, "the folder %.300s of the settings is gone or unreadable",
			 f->path[idx]);
		return -EINVAL;
	}
	strcpy(out, real);
	return 0;
}

int ui_file_resolve(const struct ui_folders *f, const char *id, enum ui_file_kind kind, char *out,
		    size_t outlen, char *err, size_t errlen)
{
	static const char *const what[] = {"an ISO (*.iso)",
					   "a disk image (*.img, *.raw, *.qcow2)"};
	char rel[UI_FILE_MAX], dir[PATH_MAX], joined[PATH_MAX + UI_FILE_MAX], real[PATH_MAX];
	unsigned folder;
	struct stat st;

	if (ui_file_id_parse(id, &folder, rel) < 0 || folder >= f->n) {
		snprintf(err, errlen, "%s", refused);
		return -EINVAL;
	}
	if (ui_folder_resolve(f, folder, dir, sizeof(dir), err, errlen) < 0)
		return -EINVAL;
	snprintf(joined, sizeof(joined), "%s/%s", dir, rel);
	if (!realpath(joined, real) || !ui_path_under(dir, real) || stat(real, &st) < 0 ||
	    !S_ISREG(st.st_mode) || strlen(real) >= outlen) {
		snprintf(err, errlen, "%s", refused);
		return -EINVAL;
	}
	if (ui_file_kind_of(real) != (int)kind) {
		snprintf(err, errlen, "%.200s is not %s", rel, what[kind]);
		return -EINVAL;
	}
	strcpy(out, real);
	return 0;
}

struct lister {
	json_t *a;
	unsigned folder, count;
	const char *root; /* the folder's real path */
};

static void list_one(struct lister *l, const char *rel, const char *full, const struct stat *st)
{
	int kind = ui_file_kind_of(rel);
	char id[UI_FILE_MAX + 8];

	if (kind < 0 || strchr(full, ',') || strlen(full) >= UI_FILE_MAX ||
	    snprintf(id, sizeof(id), "%u:%s", l->folder, rel) >= (int)sizeof(id))
		return;
	json_array_append_new(l->a, json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", id, "name", rel,
					      "folder", l->root, "kind",
					      kind == UI_FILE_ISO ? "iso" : "disk", "size",
					      (json_int_t)st->st_size));
	l->count++;
}

/* The folder open as fd (its path full, relative rel), depth levels down. */
static void list_dir(struct lister *l, int fd, const char *full, const char *rel, int depth)
{
	DIR *dp = fdopendir(fd);
	struct dirent *d;

	if (!dp) {
		close(fd);
		return;
	}
	while (l->count < LIST_MAX && (d = readdir(dp))) {
		char f2[PATH_MAX], r2[UI_FILE_MAX];
		struct stat st;

		if (d->d_name[0] == '.' ||
		    snprintf(f2, sizeof(f2), "%s/%s", full, d->d_name) >= (int)sizeof(f2) ||
		    snprintf(r2, sizeof(r2), "%s%s%s", rel, *rel ? "/" : "", d->d_name) >=
			(int)sizeof(r2) ||
		    fstatat(dirfd(dp), d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth > 0) {
			int sub = openat(dirfd(dp), d->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0)
				list_dir(l, sub, f2, r2, depth - 1);
		} else if (S_ISREG(st.st_mode)) {
			list_one(l, r2, f2, &st);
		} else if (S_ISLNK(st.st_mode)) { /* a link to a file that stays in the folder */
			char real[PATH_MAX];

			if (realpath(f2, real) && ui_path_under(l->root, real) &&
			    stat(real, &st) == 0 && S_ISREG(st.st_mode))
				list_one(l, r2, f2, &st);
		}
	}
	closedir(dp);
}

void ui_files_list(const struct ui_folders *f, json_t *a)
{
	struct lister l = {.a = a};

	for (unsigned i = 0; i < f->n; i++) {
		char real[PATH_MAX], err[8];
		int fd;

		if (ui_folder_resolve(f, i, real, sizeof(real), err, sizeof(err)) < 0)
			continue;
		fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		l.folder = i;
		l.root = real;
		list_dir(&l, fd, real, "", LIST_DEPTH);
	}
}
