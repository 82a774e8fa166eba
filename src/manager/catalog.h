/* The catalogue of operating systems (data/catalog.json, docs/manager.md "The catalogue"): what
 * `phyllome pull NAME[:TAG]` downloads, how it is verified, and how `run NAME` sets a VM up.
 * Also image references (NAME[:TAG]) and relative URLs. Pure: no files, no network. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAT_NAME 64 /* name and tag: [a-z0-9][a-z0-9._-]*, at most 63 characters */
#define CAT_URL	 1024
#define CAT_TEXT 512
#define CAT_FMT	 8

enum cat_kind { CAT_CLOUD, CAT_INSTALLER, CAT_LIVE };
enum cat_boot { CAT_UEFI, CAT_BIOS };
/* What the signature signs: the checksum file (detached, or "inline": clearsigned), or the
 * image itself (detached). */
enum cat_signed { CAT_SIG_NONE, CAT_SIG_CHECKSUMS, CAT_SIG_INLINE, CAT_SIG_IMAGE };

struct cat_entry {
	char name[CAT_NAME], tag[CAT_NAME];
	bool is_default;	 /* the tag NAME alone means */
	char url[CAT_URL];	 /* "": not downloadable (the user's own, see get) */
	char file[CAT_TEXT];	 /* the name in the checksum file (default: the URL's) */
	char checksums[CAT_URL]; /* checksum file, absolute or relative to url */
	char checksum[136];	 /* or a checksum in the catalogue: "sha256:HEX" */
	char signature[CAT_URL]; /* detached signature (relative to url) or "inline" */
	enum cat_signed sig_of;
	char keyring[CAT_URL]; /* absolute, a URL, or relative to the catalogue */
	char format[CAT_FMT];  /* raw, qcow2 or iso */
	enum cat_boot boot;
	enum cat_kind kind;
	char os[32]; /* the --os preset name */
	unsigned cpus;
	uint64_t memory, disk; /* bytes; disk 0: none */
	bool cloud_init;
	char login[CAT_TEXT]; /* how to log in */
	char get[CAT_TEXT];   /* where the user gets it (entries without url) */
};

struct catalog {
	struct cat_entry *e;
	size_t n;
};

/* Parses the catalogue's JSON. 0, or -EINVAL / -ENOMEM with one line in err (naming the
 * entry and field). */
int catalog_parse(struct catalog *c, const char *json, size_t len, char *err, size_t errlen);
void catalog_free(struct catalog *c);
/* The entry name:tag; tag "" picks the entry marked default, else the name's first. */
const struct cat_entry *catalog_find(const struct catalog *c, const char *name, const char *tag);

/* A name or tag: [a-z0-9][a-z0-9._-]*, 1..63 characters. */
bool cat_word_valid(const char *s);
/* "NAME[:TAG]" into name and tag (tag "" if none given). 0 or -EINVAL. */
int cat_parse_ref(const char *ref, char name[CAT_NAME], char tag[CAT_NAME]);
/* rel made absolute against base (a URL or a file path): rel itself when it holds "://" or
 * starts with '/', else base's folder + rel. 0 or -ENAMETOOLONG. */
int cat_join(const char *base, const char *rel, char *out, size_t len);
/* The last path component of a URL (before any '?' or '#'). */
void cat_url_basename(const char *url, char *out, size_t len);
const char *cat_kind_name(enum cat_kind k);
