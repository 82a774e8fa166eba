/* The manager's image parsers: the catalogue (every member broken in turn, defaults, tags,
 * duplicates), image references and relative URLs, publishers' checksum files (GNU and BSD
 * forms, clearsigned armour, CRLF, conflicting and unusable lines), and image.json. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "manager/catalog.h"
#include "manager/images.h"
#include "manager/sums.h"

#define H64  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H128 H64 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static const char good_entry[] =
    "{\"name\": \"debian\", \"tag\": \"12\", \"url\": \"https://h/d/debian-12.qcow2\", "
    "\"checksums\": \"SHA512SUMS\", \"signature\": \"SHA512SUMS.sign\", \"keyring\": \"k.gpg\", "
    "\"format\": \"qcow2\", \"boot\": \"uefi\", \"kind\": \"cloud\", \"os\": \"linux\", "
    "\"cpus\": 2, \"memory\": \"2G\", \"disk\": \"20G\", \"cloud_init\": true, \"login\": \"ssh\"}";

static int parse1(const char *entry, struct catalog *c, char *err, size_t errlen)
{
	char json[4096];

	snprintf(json, sizeof(json), "{\"images\": [%s]}", entry);
	return catalog_parse(c, json, strlen(json), err, errlen);
}

static void test_catalog_good(void **state)
{
	struct catalog c;
	char err[256];
	const struct cat_entry *e;

	(void)state;
	assert_int_equal(parse1(good_entry, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 1);
	e = catalog_find(&c, "debian", "12");
	assert_non_null(e);
	assert_string_equal(e->url, "https://h/d/debian-12.qcow2");
	assert_int_equal(e->sig_of, CAT_SIG_CHECKSUMS);
	assert_int_equal(e->kind, CAT_CLOUD);
	assert_int_equal(e->boot, CAT_UEFI);
	assert_int_equal(e->cpus, 2);
	assert_int_equal(e->memory, 2ull << 30);
	assert_int_equal(e->disk, 20ull << 30);
	assert_true(e->cloud_init);
	assert_ptr_equal(catalog_find(&c, "debian", ""), e); /* the name's first */
	assert_null(catalog_find(&c, "debian", "13"));
	assert_null(catalog_find(&c, "ubuntu", ""));
	catalog_free(&c);
}

static void test_catalog_defaults_and_tags(void **state)
{
	const char *json =
	    "{\"images\": ["
	    "{\"name\": \"a\", \"tag\": \"1\", \"url\": \"http://x/a.iso\", \"checksum\": "
	    "\"sha256:" H64 "\", \"format\": \"iso\", \"kind\": \"installer\"},"
	    "{\"name\": \"a\", \"tag\": \"2\", \"default\": true, \"url\": \"http://x/i.img\", "
	    "\"checksums\": \"S\", \"signature\": \"inline\", \"keyring\": \"/k\", \"format\": "
	    "\"raw\", \"kind\": \"live\"},"
	    "{\"name\": \"w\", \"tag\": \"11\", \"get\": \"the vendor\", \"format\": \"iso\", "
	    "\"kind\": \"installer\"},"
	    "{\"name\": \"m\", \"tag\": \"1\", \"url\": \"file:///usr/lib/m.iso\", \"format\": "
	    "\"iso\", \"kind\": \"live\", \"disk\": 0},"
	    "{\"name\": \"s\", \"tag\": \"1\", \"url\": \"http://x/s.iso\", \"checksums\": \"S\", "
	    "\"signature\": \"s.sig\", \"signed\": \"image\", \"keyring\": \"k\", \"format\": "
	    "\"iso\", \"kind\": \"live\"}]}";
	struct catalog c;
	char err[256];
	const struct cat_entry *e;

	(void)state;
	assert_int_equal(catalog_parse(&c, json, strlen(json), err, sizeof(err)), 0);
	assert_int_equal(c.n, 5);
	e = catalog_find(&c, "a", "");
	assert_string_equal(e->tag, "2"); /* the default, not the first */
	assert_int_equal(e->sig_of, CAT_SIG_INLINE);
	assert_int_equal(e->kind, CAT_LIVE);
	e = catalog_find(&c, "a", "1");
	assert_int_equal(e->sig_of, CAT_SIG_NONE);
	assert_int_equal(e->cpus, 1);
	assert_int_equal(e->memory, 1ull << 30);
	assert_int_equal(e->disk, 0);
	assert_false(e->cloud_init);
	e = catalog_find(&c, "w", "11");
	assert_string_equal(e->url, "");
	assert_string_equal(e->get, "the vendor");
	assert_int_equal(catalog_find(&c, "s", "1")->sig_of, CAT_SIG_IMAGE);
	catalog_free(&c);
}

/* The good entry with one member replaced (or removed, val NULL). */
static void entry_with(const char *key, const char *val, char *out, size_t len)
{
	char pat[64];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(good_entry, pat);
	assert_non_null(p);
	end = p + strlen(pat);
	if (*end == '"')
		end = strchr(end + 1, '"') + 1;
	else
		end += strcspn(end, ",}");
	if (val)
		snprintf(out, len, "%.*s%s%s", (int)(p - good_entry + (long)strlen(pat)),
			 good_entry, val, end);
	else /* drop "key": value, */
		snprintf(out, len, "%.*s%s", (int)(p - good_entry), good_entry,
			 *end == ',' ? end + 2 : end);
}

static void test_catalog_rejects(void **state)
{
	static const struct {
		const char *key, *val, *msg;
	} bad[] = {
	    {"name", "\"Debian\"", "\"name\""},
	    {"name", NULL, "\"name\""},
	    {"tag", "\"\"", "\"tag\""},
	    {"tag", "\"a/b\"", "\"tag\""},
	    {"url", NULL, "\"url\""},		  /* neither url nor get */
	    {"checksums", NULL, "\"checksums\""}, /* an http url and nothing to verify it */
	    {"format", "\"vmdk\"", "\"format\""},
	    {"format", NULL, "\"format\""},
	    {"kind", "\"container\"", "\"kind\""},
	    {"boot", "\"coreboot\"", "\"boot\""},
	    {"cpus", "0", "\"cpus\""},
	    {"cpus", "65", "\"cpus\""},
	    {"cpus", "\"2\"", "\"cpus\""},
	    {"memory", "\"16M\"", "\"memory\""},
	    {"memory", "\"1Q\"", "\"memory\""},
	    {"disk", "\"-1\"", "\"disk\""},
	    {"cloud_init", "\"yes\"", "\"cloud_init\""},
	    {"keyring", NULL, "\"keyring\""},	/* a signature needs a keyring */
	    {"signature", NULL, "\"keyring\""}, /* and a keyring a signature */
	    {"login", "7", "\"login\""},
	};
	struct catalog c;
	char entry[2048], err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		entry_with(bad[i].key, bad[i].val, entry, sizeof(entry));
		assert_int_equal(parse1(entry, &c, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].msg))
			fail_msg("%s=%s: \"%s\"", bad[i].key, bad[i].val ? bad[i].val : "(none)",
				 err);
		assert_null(c.e);
	}
	/* inline checksums of the wrong length or algorithm, "signed" out of its set */
	entry_with("checksums", "\"S\", \"checksum\": \"sha256:" H128 "\"", entry, sizeof(entry));
	assert_int_equal(parse1(entry, &c, err, sizeof(err)), -EINVAL);
	entry_with("checksums", "\"S\", \"checksum\": \"md5:" H64 "\"", entry, sizeof(entry));
	assert_int_equal(parse1(entry, &c, err, sizeof(err)), -EINVAL);
	entry_with("signature", "\"s\", \"signed\": \"everything\"", entry, sizeof(entry));
	assert_int_equal(parse1(entry, &c, err, sizeof(err)), -EINVAL);
	/* listed twice; not JSON; no images array */
	snprintf(entry, sizeof(entry), "%s, %s", good_entry, good_entry);
	assert_int_equal(parse1(entry, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "listed twice"));
	assert_int_equal(catalog_parse(&c, "{", 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(catalog_parse(&c, "{\"images\": 3}", 13, err, sizeof(err)), -EINVAL);
	assert_int_equal(catalog_parse(&c, "[]", 2, err, sizeof(err)), -EINVAL);
}

static void test_refs_and_urls(void **state)
{
	char name[CAT_NAME], tag[CAT_NAME], out[128];

	(void)state;
	assert_int_equal(cat_parse_ref("debian:12", name, tag), 0);
	assert_string_equal(name, "debian");
	assert_string_equal(tag, "12");
	assert_int_equal(cat_parse_ref("ubuntu", name, tag), 0);
	assert_string_equal(tag, "");
	assert_int_equal(cat_parse_ref("Debian", name, tag), -EINVAL);
	assert_int_equal(cat_parse_ref("debian:", name, tag), -EINVAL);
	assert_int_equal(cat_parse_ref(":12", name, tag), -EINVAL);
	assert_int_equal(cat_parse_ref("a:b:c", name, tag), -EINVAL);
	assert_int_equal(cat_parse_ref("../x", name, tag), -EINVAL);
	assert_true(cat_word_valid("24.04-desktop"));
	assert_false(cat_word_valid(".hidden"));
	assert_false(cat_word_valid("a@b"));

	assert_int_equal(cat_join("https://h/a/b/img.qcow2", "SHA512SUMS", out, sizeof(out)), 0);
	assert_string_equal(out, "https://h/a/b/SHA512SUMS");
	assert_int_equal(cat_join("https://h/a/img", "http://o/k.gpg", out, sizeof(out)), 0);
	assert_string_equal(out, "http://o/k.gpg");
	assert_int_equal(cat_join("/etc/phyllome/catalog.json", "keys/k.gpg", out, sizeof(out)), 0);
	assert_string_equal(out, "/etc/phyllome/keys/k.gpg");
	assert_int_equal(cat_join("/x/c.json", "/usr/share/keyrings/k.gpg", out, sizeof(out)), 0);
	assert_string_equal(out, "/usr/share/keyrings/k.gpg");
	assert_int_equal(cat_join("http://h/", "a-very-long-name", out, 10), -ENAMETOOLONG);
	cat_url_basename("https://h/p/debian-12.qcow2?x=/y#z", out, sizeof(out));
	assert_string_equal(out, "debian-12.qcow2");
	cat_url_basename("file:///a.iso", out, sizeof(out));
	assert_string_equal(out, "a.iso");
}

static void test_sums(void **state)
{
	struct sums_hit h;
	const char *gnu = "# comment\n" H64 "  other.iso\n" H64 " *img.qcow2\r\n";
	const char *bsd = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
			  "# Fedora-Cloud-Base.qcow2: 500 bytes\n"
			  "SHA512 (./Fedora (x).qcow2) = " H128 "\n"
			  "-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n";
	char upper[200];

	(void)state;
	assert_int_equal(sums_find(gnu, strlen(gnu), "img.qcow2", &h), 0);
	assert_int_equal(h.algo, SUMS_SHA256);
	assert_string_equal(h.hex, H64);
	assert_int_equal(sums_find(gnu, strlen(gnu), "other.iso", &h), 0);
	assert_int_equal(sums_find(gnu, strlen(gnu), "img", &h), -ENOENT);
	assert_int_equal(sums_find(gnu, strlen(gnu), "", &h), -ENOENT);
	assert_int_equal(sums_find(bsd, strlen(bsd), "Fedora (x).qcow2", &h), 0);
	assert_int_equal(h.algo, SUMS_SHA512);
	assert_string_equal(h.hex, H128);
	/* one space, no mode character; uppercase hex is lowercased; no final newline */
	snprintf(upper, sizeof(upper), "%s a.img", H64);
	for (char *p = upper; *p != ' '; p++)
		*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
	assert_int_equal(sums_find(upper, strlen(upper), "a.img", &h), 0);
	assert_string_equal(h.hex, H64);
	/* SHA-1 / MD5 only: refused, not "not listed" */
	assert_int_equal(
	    sums_find("da39a3ee5e6b4b0d3255bfef95601890afd80709  a.img\n", 48, "a.img", &h),
	    -EINVAL);
	assert_int_equal(
	    sums_find("MD5 (a.img) = d41d8cd98f00b204e9800998ecf8427e\n", 46, "a.img", &h),
	    -EINVAL);
	/* a tag that disagrees with the length; two different sums for one file */
	snprintf(upper, sizeof(upper), "SHA512 (a.img) = %s\n", H64);
	assert_int_equal(sums_find(upper, strlen(upper), "a.img", &h), -EINVAL);
	snprintf(upper, sizeof(upper), "%s  a.img\n%.63s0  a.img\n", H64, H64);
	assert_int_equal(sums_find(upper, strlen(upper), "a.img", &h), -EINVAL);
	/* the same sum twice is fine */
	snprintf(upper, sizeof(upper), "%s  a.img\n%s  ./a.img\n", H64, H64);
	assert_int_equal(sums_find(upper, strlen(upper), "a.img", &h), 0);
	/* inline */
	assert_int_equal(sums_parse_inline("sha512:" H128, &h), 0);
	assert_int_equal(h.algo, SUMS_SHA512);
	assert_int_equal(sums_parse_inline("sha512:" H64, &h), -EINVAL);
	assert_int_equal(sums_parse_inline("sha256:" H64 "0", &h), -EINVAL);
	assert_int_equal(sums_parse_inline(H64, &h), -EINVAL);
}

static void test_image_json(void **state)
{
	struct image a, b;
	char err[256], *j1, *j2;

	(void)state;
	memset(&a, 0, sizeof(a));
	strcpy(a.meta.name, "debian");
	strcpy(a.meta.tag, "12");
	strcpy(a.meta.format, "qcow2");
	strcpy(a.meta.url, "https://h/d.qcow2");
	strcpy(a.meta.os, "linux");
	strcpy(a.meta.login, "ssh");
	a.meta.kind = CAT_INSTALLER;
	a.meta.cpus = 2;
	a.meta.memory = 2ull << 30;
	a.meta.disk = 20ull << 30;
	a.meta.cloud_init = true;
	a.size = 12345;
	a.created = 1700000000;
	strcpy(a.digest, "sha512:" H128);
	strcpy(a.verified, "SHA-512 + signature");
	j1 = image_dump(&a);
	assert_non_null(j1);
	assert_int_equal(image_load(&b, j1, strlen(j1), err, sizeof(err)), 0);
	j2 = image_dump(&b);
	assert_string_equal(j1, j2);
	assert_int_equal(b.meta.kind, CAT_INSTALLER);
	assert_int_equal(b.size, 12345);
	free(j2);
	/* a name that would leave images/, an unknown format */
	strcpy(a.meta.name, "../x");
	j2 = image_dump(&a);
	assert_int_equal(image_load(&b, j2, strlen(j2), err, sizeof(err)), -EINVAL);
	free(j2);
	strcpy(a.meta.name, "debian");
	strcpy(a.meta.format, "vmdk");
	j2 = image_dump(&a);
	assert_int_equal(image_load(&b, j2, strlen(j2), err, sizeof(err)), -EINVAL);
	free(j2);
	assert_int_equal(image_load(&b, j1, strlen(j1) - 2, err, sizeof(err)), -EINVAL);
	free(j1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_catalog_good),
	    cmocka_unit_test(test_catalog_defaults_and_tags),
	    cmocka_unit_test(test_catalog_rejects),
	    cmocka_unit_test(test_refs_and_urls),
	    cmocka_unit_test(test_sums),
	    cmocka_unit_test(test_image_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
