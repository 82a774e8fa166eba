/* pull: from a catalogue entry (or a URL) to a verified image in the state folder. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "manager/catalog.h"
#include "manager/cmds.h"
#include "manager/fetch.h"
#include "manager/images.h"
#include "manager/sums.h"
#include "manager/verify.h"

#define SUMS_MAX (4u << 20)

/* Where the catalogue is: --catalog, $PHYLLOME_CATALOG, data/catalog.json of the source tree the
 * binary was built in (build/phyllome -> data/), else the installed one. */
void mgr_catalog_source(const char *opt, char *out, size_t len)
{
	const char *env = getenv("PHYLLOME_CATALOG");

	if (opt || (env && *env))
		snprintf(out, len, "%s", opt ? opt : env);
	else if (!mgr_beside_exe("catalog.json", out, len))
		snprintf(out, len, "%s", PHYLLOME_CATALOG_DEFAULT);
}

/* Loads the catalogue from src (a file or a URL). 0 or -1 (printed). */
int mgr_catalog_load(const char *src, struct catalog *c)
{
	char err[512], *data;
	size_t n;
	int rc;

	if (strstr(src, "://"))
		rc = fetch_mem(src, SUMS_MAX, &data, &n, err, sizeof(err));
	else if ((rc = store_read_file(src, &data, &n)) < 0)
		snprintf(err, sizeof(err), "%s", strerror(-rc));
	if (rc < 0) {
		mgr_error("cannot read the catalogue %s: %s", src, err);
		return -1;
	}
	rc = catalog_parse(c, data, n, err, sizeof(err));
	free(data);
	if (rc < 0) {
		mgr_error("the catalogue %s: %s", src, err);
		return -1;
	}
	return 0;
}

/* A catalogue entry for `pull URL`: named after the file, format from its extension. */
static int entry_from_url(const char *url, struct cat_entry *e)
{
	static const char *const ext[][2] = {{".qcow2", "qcow2"}, {".iso", "iso"}, {".raw", "raw"}};
	char base[CAT_TEXT];
	size_t n;

	memset(e, 0, sizeof(*e));
	cat_url_basename(url, base, sizeof(base));
	if (strlen(url) >= sizeof(e->url))
		return -1;
	strcpy(e->url, url);
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t bl = strlen(base), el = strlen(ext[i][0]);

		if (bl > el && !strcmp(base + bl - el, ext[i][0])) {
			strcpy(e->format, ext[i][1]);
			base[bl - el] = 0;
		}
	}
	if (!e->format[0]) {
		mgr_error("pull %s: the format is not known from the name (.qcow2, .raw or .iso)",
			  url);
		return -1;
	}
	n = 0;
	for (char *p = base; *p && n < CAT_NAME - 1; p++) {
		char ch = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    (n && (ch == '.' || ch == '_' || ch == '-')))
			e->name[n++] = ch;
	}
	if (!n)
		strcpy(e->name, "image");
	strcpy(e->tag, "latest");
	e->kind = !strcmp(e->format, "iso") ? CAT_INSTALLER : CAT_CLOUD;
	e->cpus = 1;
	e->memory = 1ull << 30;
	e->disk = !strcmp(e->format, "iso") ? 20ull << 30 : 0;
	return 0;
}

struct pull {
	struct store *s;
	const struct cat_entry *e;
	const char *catalog; /* where the entry came from (relative keyrings) */
	char label[2 * CAT_NAME + 2];
	char part[VMDEF_PATH + 64], sums[VMDEF_PATH + 64], sig[VMDEF_PATH + 64],
	    keyring[VMDEF_PATH + 64], plain[VMDEF_PATH + 64], urlfile[VMDEF_PATH + 64];
	char image_url[CAT_URL];
	struct sums_hit want;
	bool has_sum;
};

static void drop(struct pull *p, bool partial_too)
{
	unlink(p->sums);
	unlink(p->sig);
	unlink(p->plain);
	if (strstr(p->keyring, "/.partial/"))
		unlink(p->keyring);
	if (partial_too) {
		unlink(p->part);
		unlink(p->urlfile);
	}
}

/* The keyring as a local file (fetched into .partial when it is a URL). */
static int get_keyring(struct pull *p, char *err, size_t errlen)
{
	char where[CAT_URL];

	if (cat_join(p->catalog, p->e->keyring, where, sizeof(where)) < 0) {
		snprintf(err, errlen, "the keyring's path is too long");
		return -1;
	}
	if (!strstr(where, "://")) {
		char abs[PATH_MAX];

		if (!realpath(where, abs) || strlen(abs) >= sizeof(p->keyring)) {
			snprintf(err, errlen, "keyring %.200s: %s", where, strerror(errno));
			return -1;
		}
		if (strchr(abs, ':')) { /* gpgv would read "a:b" as a resource URL */
			snprintf(err, errlen, "keyring %.200s: gpgv cannot take a path with ':'",
				 abs);
			return -1;
		}
		strcpy(p->keyring, abs);
		return 0;
	}
	if (snprintf(p->keyring, sizeof(p->keyring), "%s/images/.partial/%s@%s.keyring", p->s->root,
		     p->e->name, p->e->tag) >= (int)sizeof(p->keyring)) {
		snprintf(err, errlen, "the state folder's path is too long");
		return -1;
	}
	return fetch_file(where, p->keyring, false, false, p->label, err, errlen) < 0 ? -1 : 0;
}

static int check_sig(struct pull *p, const char *sig, const char *data, const char *out,
		     const char *what)
{
	char err[512];
	int rc;

	if (get_keyring(p, err, sizeof(err)) < 0) {
		mgr_error("%s: %s", p->label, err);
		return -1;
	}
	rc = verify_signature(p->keyring, sig, data, out);
	if (rc == -ENOENT)
		mgr_error("%s: checking the signature needs gpgv (Debian package gpgv)", p->label);
	else if (rc < 0)
		mgr_error("%s: bad signature on %s: refused, nothing stored", p->label, what);
	return rc < 0 ? -1 : 0;
}

/* The publisher's checksum for the image, its signature checked first. */
static int get_checksum(struct pull *p)
{
	const struct cat_entry *e = p->e;
	char url[CAT_URL], err[512], file[CAT_TEXT], *text;
	size_t n;
	int rc;

	if (e->checksum[0]) {
		p->has_sum = sums_parse_inline(e->checksum, &p->want) == 0;
		return p->has_sum ? 0 : -1;
	}
	if (!e->checksums[0])
		return 0;
	if (cat_join(e->url, e->checksums, url, sizeof(url)) < 0 ||
	    fetch_file(url, p->sums, false, false, p->label, err, sizeof(err)) < 0) {
		mgr_error("%s: cannot get the checksums: %s", p->label, err);
		return -1;
	}
	if (e->sig_of == CAT_SIG_CHECKSUMS || e->sig_of == CAT_SIG_INLINE) {
		if (e->sig_of == CAT_SIG_CHECKSUMS &&
		    (cat_join(e->url, e->signature, url, sizeof(url)) < 0 ||
		     fetch_file(url, p->sig, false, false, p->label, err, sizeof(err)) < 0)) {
			mgr_error("%s: cannot get the signature: %s", p->label, err);
			return -1;
		}
		if (check_sig(p, e->sig_of == CAT_SIG_CHECKSUMS ? p->sig : NULL, p->sums,
			      e->sig_of == CAT_SIG_INLINE ? p->plain : NULL, e->checksums) < 0)
			return -1;
	}
	rc = store_read_file(e->sig_of == CAT_SIG_INLINE ? p->plain : p->sums, &text, &n);
	if (rc < 0) {
		mgr_error("%s: cannot read the checksums: %s", p->label, strerror(-rc));
		return -1;
	}
	if (e->file[0])
		snprintf(file, sizeof(file), "%s", e->file);
	else
		cat_url_basename(p->image_url, file, sizeof(file));
	rc = sums_find(text, n, file, &p->want);
	free(text);
	if (rc < 0) {
		mgr_error("%s: %s %s in %s", p->label, file,
			  rc == -ENOENT ? "is not listed" : "has no usable SHA-256/SHA-512 sum",
			  e->checksums);
		return -1;
	}
	p->has_sum = true;
	return 0;
}

/* The partial download is resumed only if it came from the same URL. */
static bool same_source(struct pull *p)
{
	char *old;
	size_t n;
	bool same;

	if (store_read_file(p->urlfile, &old, &n) < 0)
		return false;
	same = !strcmp(old, p->image_url);
	free(old);
	return same;
}

static int store_image(struct pull *p, const char *verified, struct image *out)
{
	struct image im = {.meta = *p->e};
	char *json;
	struct stat st;
	int rc = -1;

	im.created = time(NULL);
	snprintf(im.verified, sizeof(im.verified), "%s", verified);
	if (p->has_sum)
		snprintf(im.digest, sizeof(im.digest), "%s:%s",
			 p->want.algo == SUMS_SHA512 ? "sha512" : "sha256", p->want.hex);
	if (image_paths(p->s, &im) < 0 || stat(p->part, &st) < 0)
		return -1;
	im.size = (uint64_t)st.st_size;
	store_lock(p->s, true);
	if (mkdir(im.dir, 0700) < 0 && errno != EEXIST) {
		mgr_error("cannot create %s: %s", im.dir, strerror(errno));
		goto out;
	}
	json = image_dump(&im);
	if (!json || rename(p->part, im.path) < 0 || store_write_file(im.dir, "image.json", json)) {
		mgr_error("cannot store %s in %s", p->label, im.dir);
		unlink(im.path);
		free(json);
		goto out;
	}
	free(json);
	*out = im;
	rc = 0;
out:
	store_unlock(p->s);
	return rc;
}

static int pull_entry(struct store *s, const struct cat_entry *e, const char *catalog,
		      struct image *out)
{
	struct pull p = {.s = s, .e = e, .catalog = catalog};
	char err[512], dir[VMDEF_PATH + 32], hex[129], verified[64];
	bool show = isatty(2);
	int rc = EXIT_FAIL;

	snprintf(p.label, sizeof(p.label), "%s:%s", e->name, e->tag);
	snprintf(p.image_url, sizeof(p.image_url), "%s", e->url);
	snprintf(dir, sizeof(dir), "%s/images/.partial", s->root);
#define PART(f, ext)                                                                               \
	(snprintf(p.f, sizeof(p.f), "%s/%s@%s." ext, dir, e->name, e->tag) >= (int)sizeof(p.f))
	if (PART(part, "part") || PART(urlfile, "url") || PART(sums, "sums") || PART(sig, "sig") ||
	    PART(plain, "plain")) {
		mgr_error("the state folder's path is too long");
		return EXIT_FAIL;
	}
#undef PART
	p.keyring[0] = 0;
	if (get_checksum(&p) < 0) {
		drop(&p, true);
		return EXIT_FAIL;
	}
	if (!p.has_sum)
		fprintf(stderr, "phyllome: warning: %s has no checksum to verify it against\n",
			p.label);
	if (!same_source(&p))
		unlink(p.part);
	if (store_write_file(dir, strrchr(p.urlfile, '/') + 1, p.image_url) < 0 ||
	    fetch_file(p.image_url, p.part, true, show, p.label, err, sizeof(err)) < 0) {
		mgr_error("%s: %s (run pull again to resume)", p.label, err);
		drop(&p, false);
		return EXIT_FAIL;
	}
	if (p.has_sum) {
		if (verify_digest(p.part, p.want.algo, hex) < 0 || strcmp(hex, p.want.hex)) {
			mgr_error(
			    "%s: the download does not match its %s checksum: refused, nothing "
			    "stored",
			    p.label, sums_algo_name(p.want.algo));
			goto out;
		}
	}
	if (e->sig_of == CAT_SIG_IMAGE) {
		if (cat_join(e->url, e->signature, dir, sizeof(dir)) < 0 ||
		    fetch_file(dir, p.sig, false, false, p.label, err, sizeof(err)) < 0) {
			mgr_error("%s: cannot get the signature: %s", p.label, err);
			goto out;
		}
		if (check_sig(&p, p.sig, p.part, NULL, "the image") < 0)
			goto out;
	}
	snprintf(verified, sizeof(verified), "%s%s",
		 p.has_sum ? sums_algo_name(p.want.algo) : "not verified",
		 e->sig_of != CAT_SIG_NONE ? " + signature" : "");
	if (store_image(&p, verified, out) == 0)
		rc = 0;
out:
	drop(&p, true);
	return rc;
}

/* --from FILE|URL: the entry's settings on the user's own copy (checked by nothing here). */
static int use_from(struct cat_entry *e, const char *from)
{
	char abs[PATH_MAX];
	int n;

	if (strstr(from, "://"))
		n = snprintf(e->url, sizeof(e->url), "%s", from);
	else if (realpath(from, abs))
		n = snprintf(e->url, sizeof(e->url), "file://%s", abs);
	else {
		mgr_error("--from %s: %s", from, strerror(errno));
		return -1;
	}
	if (n < 0 || (size_t)n >= sizeof(e->url)) {
		mgr_error("--from %s: too long", from);
		return -1;
	}
	e->checksums[0] = e->checksum[0] = e->signature[0] = e->keyring[0] = e->file[0] = 0;
	e->sig_of = CAT_SIG_NONE;
	return 0;
}

/* One pull at a time (a flock on images/.partial): a second pull of the same image waits, then
 * finds it stored. */
static int pull_once(struct store *s, const struct cat_entry *e, const char *catalog, FILE *report,
		     struct image *out)
{
	char dir[VMDEF_PATH + 32], err[512];
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s/images", s->root);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/images/.partial", s->root);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		mgr_error("cannot create %s: %s", dir, strerror(errno));
		return EXIT_FAIL;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (flock(fd, LOCK_EX | LOCK_NB) < 0 &&
		       (fprintf(stderr, "phyllome: waiting for another pull to finish\n"),
			flock(fd, LOCK_EX) < 0))) {
		mgr_error("cannot lock %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_FAIL;
	}
	if (image_get(s, e->name, e->tag, out, err, sizeof(err)) == 0) { /* stored once */
		if (report == stdout)
			fprintf(report, "%s:%s: up to date\n", e->name, e->tag);
		rc = EXIT_OK;
	} else {
		rc = pull_entry(s, e, catalog, out);
		if (rc == 0)
			fprintf(report, "%s:%s: pulled (%s)\n", e->name, e->tag, out->verified);
	}
	close(fd);
	return rc;
}

int mgr_pull(struct store *s, const char *ref, const char *catalog, const char *from, FILE *report,
	     struct image *out)
{
	char src[VMDEF_PATH], name[CAT_NAME], tag[CAT_NAME], err[512];
	struct cat_entry *e = malloc(sizeof(*e));
	struct catalog c = {0};
	const struct cat_entry *ce = NULL;
	int rc = EXIT_USAGE;

	if (!e)
		return EXIT_FAIL;
	mgr_catalog_source(catalog, src, sizeof(src));
	if (strstr(ref, "://")) {
		if (entry_from_url(ref, e) < 0)
			goto out;
		ce = e;
	} else {
		if (cat_parse_ref(ref, name, tag) < 0) {
			mgr_error("invalid image reference \"%s\": NAME[:TAG], lowercase "
				  "[a-z0-9._-]",
				  ref);
			goto out;
		}
		/* stored already (NAME alone: as "latest", from a URL or a commit) */
		if (image_get(s, name, tag[0] ? tag : "latest", out, err, sizeof(err)) == 0) {
			if (report == stdout)
				fprintf(report, "%s:%s: up to date\n", out->meta.name,
					out->meta.tag);
			rc = 0;
			goto out;
		}
		rc = EXIT_FAIL;
		if (mgr_catalog_load(src, &c) < 0)
			goto out;
		ce = catalog_find(&c, name, tag);
		if (!ce) {
			mgr_error("%s is not in the catalogue %s", ref, src);
			goto out;
		}
		if (from) {
			*e = *ce;
			if (use_from(e, from) < 0)
				goto out;
			ce = e;
		} else if (!ce->url[0]) {
			mgr_error("%s:%s is not downloaded by phyllome: %s; then: phyllome pull "
				  "--from FILE %s:%s",
				  ce->name, ce->tag, ce->get, ce->name, ce->tag);
			goto out;
		}
	}
	rc = pull_once(s, ce, src, report, out);
out:
	catalog_free(&c);
	free(e);
	return rc;
}
