#include "manager/catalog.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/sums.h"
#include "manager/util.h"
#include "manager/vmdef.h"

bool cat_word_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CAT_NAME ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

int cat_parse_ref(const char *ref, char name[CAT_NAME], char tag[CAT_NAME])
{
	const char *colon = strchr(ref, ':');
	size_t n = colon ? (size_t)(colon - ref) : strlen(ref);

	if (n >= CAT_NAME)
		return -EINVAL;
	memcpy(name, ref, n);
	name[n] = 0;
	tag[0] = 0;
	if (colon) {
		if (strlen(colon + 1) >= CAT_NAME)
			return -EINVAL;
		strcpy(tag, colon + 1);
		if (!cat_word_valid(tag))
			return -EINVAL;
	}
	return cat_word_valid(name) ? 0 : -EINVAL;
}

int cat_join(const char *base, const char *rel, char *out, size_t len)
{
	const char *slash = strrchr(base, '/');
	int n;

	if (strstr(rel, "://") || rel[0] == '/' || !slash)
		n = snprintf(out, len, "%s", rel);
	else
		n = snprintf(out, len, "%.*s/%s", (int)(slash - base), base, rel);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void cat_url_basename(const char *url, char *out, size_t len)
{
	size_t n = strcspn(url, "?#");
	const char *start = url;

	for (size_t i = 0; i < n; i++)
		if (url[i] == '/')
			start = url + i + 1;
	snprintf(out, len, "%.*s", (int)(n - (size_t)(start - url)), start);
}

const char *cat_kind_name(enum cat_kind k)
{
	return k == CAT_CLOUD ? "cloud" : k == CAT_INSTALLER ? "installer" : "live";
}

/* One optional string member into dst; -EINVAL if it is not a string or too long. */
static int get_str(json_t *o, const char *key, char *dst, size_t n, const char **bad)
{
	json_t *v = json_object_get(o, key);

	dst[0] = 0;
	if (!v)
		return 0;
	if (mgr_json_copy_str(v, dst, n)) {
		*bad = key;
		return -EINVAL;
	}
	return 0;
}

static int pick(const char *v, const char *const *names, int n, int dflt)
{
	if (!v[0])
		return dflt;
	for (int i = 0; i < n; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

static int get_size(json_t *o, const char *key, uint64_t dflt, uint64_t *out, const char **bad)
{
	json_t *v = json_object_get(o, key);

	*out = dflt;
	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) == 0) {
		*out = 0;
		return 0;
	}
	if (!json_is_string(v) || mgr_parse_size(json_string_value(v), MGR_MAX_DISK, out) < 0) {
		*bad = key;
		return -EINVAL;
	}
	return 0;
}

static int parse_entry(json_t *o, struct cat_entry *e, const char **bad)
{
	static const char *const kinds[] = {"cloud", "installer", "live"};
	static const char *const boots[] = {"uefi", "bios"};
	static const char *const sigs[] = {"none", "checksums", "inline", "image"};
	static const char *const fmts[] = {"raw", "qcow2", "iso"};
	char kind[16], boot[16], sig_of[16];
	struct sums_hit sum;
	json_t *v;
	int k;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(o)) {
		*bad = "(not an object)";
		return -EINVAL;
	}
	if (get_str(o, "name", e->name, sizeof(e->name), bad) ||
	    get_str(o, "tag", e->tag, sizeof(e->tag), bad) ||
	    get_str(o, "url", e->url, sizeof(e->url), bad) ||
	    get_str(o, "file", e->file, sizeof(e->file), bad) ||
	    get_str(o, "checksums", e->checksums, sizeof(e->checksums), bad) ||
	    get_str(o, "checksum", e->checksum, sizeof(e->checksum), bad) ||
	    get_str(o, "signature", e->signature, sizeof(e->signature), bad) ||
	    get_str(o, "signed", sig_of, sizeof(sig_of), bad) ||
	    get_str(o, "keyring", e->keyring, sizeof(e->keyring), bad) ||
	    get_str(o, "format", e->format, sizeof(e->format), bad) ||
	    get_str(o, "boot", boot, sizeof(boot), bad) ||
	    get_str(o, "kind", kind, sizeof(kind), bad) ||
	    get_str(o, "os", e->os, sizeof(e->os), bad) ||
	    get_str(o, "login", e->login, sizeof(e->login), bad) ||
	    get_str(o, "get", e->get, sizeof(e->get), bad) ||
	    get_size(o, "memory", 1ull << 30, &e->memory, bad) ||
	    get_size(o, "disk", 0, &e->disk, bad))
		return -EINVAL;
	*bad = !cat_word_valid(e->name) ? "name" : !cat_word_valid(e->tag) ? "tag" : NULL;
	if (*bad)
		return -EINVAL;
	*bad = "format";
	if (pick(e->format, fmts, 3, -1) < 0)
		return -EINVAL;
	*bad = "kind";
	if ((k = pick(kind, kinds, 3, -1)) < 0)
		return -EINVAL;
	e->kind = (enum cat_kind)k;
	*bad = "boot";
	if ((k = pick(boot, boots, 2, 0)) < 0)
		return -EINVAL;
	e->boot = (enum cat_boot)k;
	*bad = "memory";
	if (e->memory < MGR_MIN_MEM || e->memory > MGR_MAX_MEM || e->memory % (1 << 20))
		return -EINVAL;
	*bad = "cpus";
	v = json_object_get(o, "cpus");
	e->cpus = 1;
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 ||
		  json_integer_value(v) > MGR_MAX_CPUS))
		return -EINVAL;
	if (v)
		e->cpus = (unsigned)json_integer_value(v);
	*bad = "default";
	v = json_object_get(o, "default");
	if (v && !json_is_boolean(v))
		return -EINVAL;
	e->is_default = json_is_true(v);
	*bad = "cloud_init";
	v = json_object_get(o, "cloud_init");
	if (v && !json_is_boolean(v))
		return -EINVAL;
	e->cloud_init = json_is_true(v);
	*bad = "url";
	if (!e->url[0] && !e->get[0]) /* either a download or where to get it */
		return -EINVAL;
	*bad = "checksum";
	if (e->checksum[0] && sums_parse_inline(e->checksum, &sum) < 0)
		return -EINVAL;
	*bad = "checksums";
	/* Nothing downloaded unverified (a file:// URL: a file a Debian package installed) */
	if (e->url[0] && strncmp(e->url, "file://", 7) && !e->checksums[0] && !e->checksum[0])
		return -EINVAL;
	*bad = "signed";
	if ((k = pick(sig_of, sigs, 4, e->signature[0] ? 1 : 0)) < 0)
		return -EINVAL;
	e->sig_of = (enum cat_signed)k;
	if (!strcmp(e->signature, "inline"))
		e->sig_of = CAT_SIG_INLINE;
	*bad = "signature";
	if ((e->sig_of != CAT_SIG_NONE) != (e->signature[0] != 0) ||
	    (e->sig_of == CAT_SIG_INLINE && strcmp(e->signature, "inline")) ||
	    ((e->sig_of == CAT_SIG_CHECKSUMS || e->sig_of == CAT_SIG_INLINE) && !e->checksums[0]))
		return -EINVAL;
	*bad = "keyring";
	if ((e->sig_of != CAT_SIG_NONE) != (e->keyring[0] != 0))
		return -EINVAL;
	*bad = NULL;
	return 0;
}

int catalog_parse(struct catalog *c, const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je), *arr;
	const char *bad = NULL;
	size_t i;
	int rc = -EINVAL;

	c->e = NULL;
	c->n = 0;
	if (!root) {
		snprintf(err, errlen, "not JSON (line %d: %s)", je.line, je.text);
		return -EINVAL;
	}
	arr = json_object_get(root, "images");
	if (!json_is_object(root) || !json_is_array(arr) || json_array_size(arr) > 4096) {
		snprintf(err, errlen, "no \"images\" array (of at most 4096 entries)");
		goto out;
	}
	c->e = calloc(json_array_size(arr) + 1, sizeof(*c->e));
	if (!c->e) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < json_array_size(arr); i++) {
		struct cat_entry *e = &c->e[i];

		if (parse_entry(json_array_get(arr, i), e, &bad) < 0) {
			snprintf(err, errlen, "entry %zu (%s%s%s): bad or missing \"%s\"", i + 1,
				 e->name, e->tag[0] ? ":" : "", e->tag, bad);
			goto out;
		}
		if (catalog_find(c, e->name, e->tag)) {
			snprintf(err, errlen, "entry %zu: %s:%s is listed twice", i + 1, e->name,
				 e->tag);
			goto out;
		}
		c->n++;
	}
	rc = 0;
out:
	if (rc < 0)
		catalog_free(c);
	json_decref(root);
	return rc;
}

void catalog_free(struct catalog *c)
{
	free(c->e);
	c->e = NULL;
	c->n = 0;
}

const struct cat_entry *catalog_find(const struct catalog *c, const char *name, const char *tag)
{
	const struct cat_entry *first = NULL;

	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->e[i].name, name))
			continue;
		if (tag[0] ? !strcmp(c->e[i].tag, tag) : c->e[i].is_default)
			return &c->e[i];
		if (!first)
			first = &c->e[i];
	}
	return tag[0] ? NULL : first;
}
