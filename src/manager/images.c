#include "manager/images.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/vmdef.h"

char *image_dump(const struct image *im)
{
	const struct cat_entry *m = &im->meta;
	json_t *o = json_object();
	char *out;

	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "tag", json_string(m->tag));
	json_object_set_new(o, "format", json_string(m->format));
	json_object_set_new(o, "size", json_integer((json_int_t)im->size));
	json_object_set_new(o, "created", json_integer(im->created));
	json_object_set_new(o, "url", json_string(m->url));
	json_object_set_new(o, "digest", json_string(im->digest));
	json_object_set_new(o, "verified", json_string(im->verified));
	json_object_set_new(o, "kind", json_string(cat_kind_name(m->kind)));
	json_object_set_new(o, "boot", json_string(m->boot == CAT_BIOS ? "bios" : "uefi"));
	json_object_set_new(o, "os", json_string(m->os));
	json_object_set_new(o, "cpus", json_integer(m->cpus));
	json_object_set_new(o, "memory", json_integer((json_int_t)m->memory));
	json_object_set_new(o, "disk", json_integer((json_int_t)m->disk));
	json_object_set_new(o, "cloud_init", json_boolean(m->cloud_init));
	json_object_set_new(o, "login", json_string(m->login));
	out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	return out;
}

static int get_s(json_t *o, const char *key, char *dst, size_t n)
{
	return mgr_json_copy_str(json_object_get(o, key), dst, n);
}

int image_load(struct image *im, const char *json, size_t len, char *err, size_t errlen)
{
	struct cat_entry *m = &im->meta;
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL), *ci;
	char kind[16], boot[8];
	int64_t size = 0, created = 0, cpus = 0, mem = 0, disk = 0;
	int rc = -EINVAL;

	memset(im, 0, sizeof(*im));
	if (!json_is_object(o) || get_s(o, "name", m->name, sizeof(m->name)) ||
	    get_s(o, "tag", m->tag, sizeof(m->tag)) || !cat_word_valid(m->name) ||
	    !cat_word_valid(m->tag) || get_s(o, "format", m->format, sizeof(m->format)) ||
	    (strcmp(m->format, "raw") && strcmp(m->format, "qcow2") && strcmp(m->format, "iso")) ||
	    mgr_json_int(o, "size", 0, INT64_MAX, &size) ||
	    mgr_json_int(o, "created", 0, INT64_MAX, &created) ||
	    get_s(o, "url", m->url, sizeof(m->url)) ||
	    get_s(o, "digest", im->digest, sizeof(im->digest)) ||
	    get_s(o, "verified", im->verified, sizeof(im->verified)) ||
	    get_s(o, "kind", kind, sizeof(kind)) || get_s(o, "boot", boot, sizeof(boot)) ||
	    get_s(o, "os", m->os, sizeof(m->os)) ||
	    mgr_json_int(o, "cpus", 1, MGR_MAX_CPUS, &cpus) ||
	    mgr_json_int(o, "memory", (int64_t)MGR_MIN_MEM, (int64_t)MGR_MAX_MEM, &mem) ||
	    (mem & ((1 << 20) - 1)) || mgr_json_int(o, "disk", 0, (int64_t)MGR_MAX_DISK, &disk) ||
	    get_s(o, "login", m->login, sizeof(m->login))) {
		snprintf(err, errlen, "image.json: a member is missing or out of range");
		goto out;
	}
	ci = json_object_get(o, "cloud_init");
	if (!json_is_boolean(ci) || (strcmp(boot, "uefi") && strcmp(boot, "bios")) ||
	    (strcmp(kind, "cloud") && strcmp(kind, "installer") && strcmp(kind, "live"))) {
		snprintf(err, errlen, "image.json: bad kind, boot or cloud_init");
		goto out;
	}
	m->cloud_init = json_is_true(ci);
	m->boot = !strcmp(boot, "bios") ? CAT_BIOS : CAT_UEFI;
	m->kind = !strcmp(kind, "cloud")  ? CAT_CLOUD
		  : !strcmp(kind, "live") ? CAT_LIVE
					  : CAT_INSTALLER;
	im->size = (uint64_t)size;
	im->created = created;
	m->cpus = (unsigned)cpus;
	m->memory = (uint64_t)mem;
	m->disk = (uint64_t)disk;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int image_paths(const struct store *s, struct image *im)
{
	int n = snprintf(im->dir, sizeof(im->dir), "%s/images/%s@%s", s->root, im->meta.name,
			 im->meta.tag);

	if (n < 0 || (size_t)n >= sizeof(im->dir))
		return -ENAMETOOLONG;
	snprintf(im->path, sizeof(im->path), "%s/disk.%s", im->dir, im->meta.format);
	return 0;
}

int image_get(const struct store *s, const char *name, const char *tag, struct image *im, char *err,
	      size_t errlen)
{
	char path[VMDEF_PATH + 64], *data;
	size_t n;
	int rc;

	snprintf(path, sizeof(path), "%s/images/%s@%s/image.json", s->root, name, tag);
	rc = store_read_file(path, &data, &n);
	if (rc < 0) {
		snprintf(err, errlen, "no such image: %s:%s", name, tag);
		return -ENOENT;
	}
	rc = image_load(im, data, n, err, errlen);
	free(data);
	if (rc == 0 && (strcmp(im->meta.name, name) || strcmp(im->meta.tag, tag))) {
		snprintf(err, errlen, "%s: names another image", path);
		rc = -EINVAL;
	}
	return rc < 0 ? rc : image_paths(s, im);
}

static int newest_first(const void *a, const void *b)
{
	const struct image *x = a, *y = b;

	return x->created < y->created ? 1 : x->created > y->created ? -1 : 0;
}

int image_list(const struct store *s, struct image **out, size_t *n)
{
	char path[VMDEF_PATH + 16], err[256];
	struct image *v = NULL;
	size_t cap = 0;
	struct dirent *d;
	DIR *dir;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/images", s->root);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((d = readdir(dir))) {
		char name[CAT_NAME + 1], *at = strchr(d->d_name, '@');

		if (d->d_name[0] == '.' || !at || (size_t)(at - d->d_name) >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(at - d->d_name), d->d_name);
		if (*n == cap) {
			struct image *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				closedir(dir);
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		int rc = image_get(s, name, at + 1, &v[*n], err, sizeof(err));

		if (rc == 0)
			(*n)++;
		else if (rc != -ENOENT)
			fprintf(stderr, "phyllome: warning: images/%s: %s\n", d->d_name, err);
	}
	closedir(dir);
	if (*n)
		qsort(v, *n, sizeof(*v), newest_first);
	*out = v;
	return 0;
}

bool image_in_use(const struct store *s, const struct image *im, char *vm, size_t len)
{
	struct vm_entry *vms;
	size_t n;
	bool used = false;

	if (store_list(s, &vms, &n) < 0)
		return true; /* cannot tell: refuse */
	for (size_t i = 0; i < n && !used; i++) {
		const struct vm_def *d = &vms[i].def;

		used = !strcmp(d->cdrom, im->path);
		for (unsigned k = 0; k < d->ndisks && !used; k++)
			used = !strcmp(d->disks[k].path, im->path) ||
			       !strcmp(d->disks[k].backing, im->path);
		if (used)
			snprintf(vm, len, "%s", d->name);
	}
	free(vms);
	return used;
}
