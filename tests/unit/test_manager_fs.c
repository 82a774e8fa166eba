/* Shared folders in the manager (`phyllome run -v HOST:GUEST[:ro]`): the option, the tags
 * derived from the guest paths, config.json's "shares", the VMM's --fs words, and the seed's
 * user-data with the mounts (src/manager/shares.c). */
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

#include "manager/args.h"
#include "manager/shares.h"
#include "manager/supervise.h"
#include "manager/vmdef.h"
#include "mgr_words.h"

static int parse(struct run_opts *ro, const char *line, char *err, size_t errlen)
{
	static char **argv;
	int argc;

	if (argv)
		free_words(argv);
	argv = words(line, &argc);
	return args_parse_run(ro, true, argc, argv, err, errlen);
}

#define K "--kernel|/boot/vmlinuz|"

static void test_volume_option(void **state)
{
	struct run_opts *ro = malloc(sizeof(*ro));
	char err[512];

	(void)state;
	assert_int_equal(parse(ro,
			       K "-v|/srv/work:/home/me/work|--volume=photos:/mnt/photos:ro|"
				 "-v|/a:b:/mnt/x:rw",
			       err, sizeof(err)),
			 0);
	assert_int_equal(ro->def.nshares, 3);
	assert_string_equal(ro->def.shares[0].host, "/srv/work");
	assert_string_equal(ro->def.shares[0].guest, "/home/me/work");
	assert_string_equal(ro->def.shares[0].tag, "home-me-work");
	assert_false(ro->def.shares[0].readonly);
	assert_string_equal(ro->def.shares[1].host, "photos"); /* made absolute at create */
	assert_string_equal(ro->def.shares[1].tag, "mnt-photos");
	assert_true(ro->def.shares[1].readonly);
	/* the last ":/" splits: a host path may hold ':' */
	assert_string_equal(ro->def.shares[2].host, "/a:b");
	assert_string_equal(ro->def.shares[2].guest, "/mnt/x");
	assert_false(ro->def.shares[2].readonly);

	/* refused: each with a reason */
	static const char *const bad[] = {
	    K "-v|/srv",				      /* no guest path */
	    K "-v|/srv:mnt",				      /* relative guest path */
	    K "-v|:/mnt",				      /* no host */
	    K "-v|/srv:/",				      /* over the guest's root */
	    K "-v|/srv:/mnt/../etc",			      /* .. */
	    K "-v|/srv:/mnt/./x",			      /* . */
	    K "-v|/srv:/mnt//x",			      /* empty component */
	    K "-v|/srv:/mnt/x/",			      /* trailing / */
	    K "-v|/srv:/mnt/a b",			      /* a space: fstab and YAML */
	    K "-v|/srv:/mnt/a\"b",			      /* a quote */
	    K "-v|/srv:/mnt/a,b",			      /* a comma */
	    K "-v|/a:/m|-v|/b:/m",			      /* the same guest path twice */
	    K "-v|/a:/1|-v|/a:/2|-v|/a:/3|-v|/a:/4|-v|/a:/5", /* five */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(parse(ro, bad[i], err, sizeof(err)), -EINVAL);
		assert_true(err[0] == '-' && err[1] == 'v');
	}
	free(ro);
}

static void test_tags(void **state)
{
	struct vm_def *d = malloc(sizeof(*d));
	char err[256];

	(void)state;
	vmdef_init(d);
	/* non-ASCII and other characters become '_' in the tag (the path keeps them) */
	assert_int_equal(shares_parse(d,
				      "/h:/home/me/Donn\xc3\xa9"
				      "es",
				      err, sizeof(err)),
			 0);
	assert_string_equal(d->shares[0].tag, "home-me-Donn__es");
	assert_string_equal(d->shares[0].guest, "/home/me/Donn\xc3\xa9"
						"es");
	/* too long for 36 bytes: the last component */
	assert_int_equal(
	    shares_parse(d, "/h:/very/long/path/to/somewhere/deep/inside/work", err, sizeof(err)),
	    0);
	assert_string_equal(d->shares[1].tag, "work");
	/* the same tag again: -2 */
	assert_int_equal(shares_parse(d, "/h:/other/place/work", err, sizeof(err)), 0);
	assert_string_equal(d->shares[2].tag, "other-place-work");
	assert_int_equal(
	    shares_parse(d, "/h:/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/work", err, sizeof(err)), 0);
	assert_string_equal(d->shares[3].tag, "work-2");
	/* a last component longer than 36 bytes is cut, and the suffix fits within 36 */
	vmdef_init(d);
	assert_int_equal(
	    shares_parse(d, "/h:/a/0123456789012345678901234567890123456789", err, sizeof(err)), 0);
	assert_string_equal(d->shares[0].tag, "012345678901234567890123456789012345");
	assert_int_equal(
	    shares_parse(d, "/h:/b/0123456789012345678901234567890123456789", err, sizeof(err)), 0);
	assert_string_equal(d->shares[1].tag, "0123456789012345678901234567890123-2");
	for (unsigned i = 0; i < d->nshares; i++)
		assert_true(shares_tag_ok(d->shares[i].tag));
	assert_false(shares_tag_ok(""));
	assert_false(shares_tag_ok("a/b"));
	assert_false(shares_tag_ok("0123456789012345678901234567890123456"));
	free(d);
}

static void test_vmdef_shares(void **state)
{
	struct vm_def *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char err[256], *json, *again, *p;

	(void)state;
	vmdef_init(a);
	strcpy(a->id, "0123456789abcdef");
	strcpy(a->name, "web");
	strcpy(a->kernel, "/boot/vmlinuz");
	assert_int_equal(shares_parse(a, "/srv/work:/home/me/work", err, sizeof(err)), 0);
	assert_int_equal(shares_parse(a, "/srv/ro:/mnt/ro:ro", err, sizeof(err)), 0);
	json = vmdef_dump(a);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"tag\": \"home-me-work\""));
	assert_int_equal(vmdef_load(b, json, strlen(json), err, sizeof(err)), 0);
	again = vmdef_dump(b);
	assert_string_equal(json, again);
	free(again);
	assert_int_equal(b->nshares, 2);
	assert_true(b->shares[1].readonly);
	assert_string_equal(b->shares[1].host, "/srv/ro");

	/* edited into something a dump never holds: refused, the member named */
	static const char *const edits[][2] = {
	    {"\"tag\": \"home-me-work\"", "\"tag\": \"a/b\""},
	    {"\"tag\": \"home-me-work\"", "\"tag\": \"mnt-ro\""}, /* a tag twice */
	    {"\"guest\": \"/home/me/work\"", "\"guest\": \"/home/../etc\""},
	    {"\"guest\": \"/home/me/work\"", "\"guest\": \"/mnt/ro\""}, /* a path twice */
	    {"\"host\": \"/srv/work\"", "\"host\": \"srv\""},
	    {"\"readonly\": true", "\"readonly\": 1"},
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *j = malloc(strlen(json) + 64);

		p = strstr(json, edits[i][0]);
		assert_non_null(p);
		sprintf(j, "%.*s%s%s", (int)(p - json), json, edits[i][1], p + strlen(edits[i][0]));
		assert_int_equal(vmdef_load(b, j, strlen(j), err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "shares"));
		free(j);
	}
	/* a config from before -v (no "shares"): none */
	p = strstr(json, "\"shares\": [");
	assert_non_null(p);
	{
		char *end = strchr(p, ']');

		memmove(p, end + 3, strlen(end + 3) + 1); /* "]," and the newline */
	}
	assert_int_equal(vmdef_load(b, json, strlen(json), err, sizeof(err)), 0);
	assert_int_equal(b->nshares, 0);
	free(json);
	free(a);
	free(b);
}

static void test_vmm_fs_words(void **state)
{
	struct vm_entry *e = calloc(1, sizeof(*e));
	char err[256], **argv;
	size_t nfs = 0;

	(void)state;
	vmdef_init(&e->def);
	strcpy(e->def.id, "0123456789abcdef");
	strcpy(e->def.kernel, "/boot/vmlinuz");
	strcpy(e->dir, "/st/vms/0123456789abcdef");
	assert_int_equal(shares_parse(&e->def, "/srv/work:/home/me/work", err, sizeof(err)), 0);
	assert_int_equal(shares_parse(&e->def, "/srv/ro:/mnt/ro:ro", err, sizeof(err)), 0);
	argv = sup_vmm_argv(e, "vmm");
	assert_non_null(argv);
	assert_true(has_pair(argv, "--fs", "tag=home-me-work,path=/srv/work"));
	assert_true(has_pair(argv, "--fs", "tag=mnt-ro,path=/srv/ro,readonly=on"));
	for (size_t i = 0; argv[i]; i++)
		nfs += !strcmp(argv[i], "--fs");
	assert_int_equal(nfs, 2);
	sup_free_argv(argv);
	free(e);
}

static void test_seed_user_data(void **state)
{
	struct vm_def *d = malloc(sizeof(*d));
	static const char user[] = "#cloud-config\nruncmd:\n  - [touch, /mine]\n";
	char err[256], *out, *p;
	size_t len;

	(void)state;
	vmdef_init(d);
	strcpy(d->id, "0123456789abcdef");
	/* no shares: the user's file as it is */
	assert_int_equal(shares_user_data(d, user, strlen(user), &out, &len, err, sizeof(err)), 0);
	assert_int_equal(len, strlen(user));
	assert_memory_equal(out, user, len);
	free(out);

	assert_int_equal(shares_parse(d, "/srv/work:/home/me/work", err, sizeof(err)), 0);
	assert_int_equal(shares_parse(d, "/srv/ro:/mnt/ro:ro", err, sizeof(err)), 0);
	assert_int_equal(shares_user_data(d, user, strlen(user), &out, &len, err, sizeof(err)), 0);
	assert_int_equal(strlen(out), len);
	{
		static const char head[] =
		    "Content-Type: multipart/mixed; boundary=\"==phyllome-seed-"
		    "0123456789abcdef-0==\"\nMIME-Version: 1.0\n\n";

		assert_memory_equal(out, head, strlen(head));
	}
	/* the user's part, whole and first, kind told by its first line */
	p = strstr(out, "--==phyllome-seed-0123456789abcdef-0==\nContent-Type: text/plain; "
			"charset=\"utf-8\"\n\n#cloud-config\nruncmd:\n  - [touch, /mine]\n--==");
	assert_non_null(p);
	/* then ours, merged into the user's lists */
	p = strstr(p + 1, "--==phyllome-seed-0123456789abcdef-0==\nContent-Type: "
			  "text/cloud-config; charset=\"utf-8\"\n\n#cloud-config\n");
	assert_non_null(p);
	assert_non_null(strstr(p, "merge_how: \"dict(recurse_array,no_replace)+list(append)\"\n"));
	assert_non_null(strstr(p, "  - path: /etc/fstab\n    append: true\n    content: |\n"
				  "      home-me-work /home/me/work virtiofs defaults,nofail 0 0\n"
				  "      mnt-ro /mnt/ro virtiofs ro,nofail 0 0\n"));
	assert_non_null(strstr(p, "runcmd:\n  - [mkdir, -p, \"/home/me/work\"]\n"
				  "  - [mount, \"/home/me/work\"]\n  - [mkdir, -p, \"/mnt/ro\"]\n"
				  "  - [mount, \"/mnt/ro\"]\n"));
	assert_string_equal(out + len - strlen("--==phyllome-seed-0123456789abcdef-0==--\n"),
			    "--==phyllome-seed-0123456789abcdef-0==--\n");
	free(out);

	/* a script without a final newline; a boundary the user's text holds is not used */
	{
		static const char script[] =
		    "#!/bin/sh\necho --==phyllome-seed-0123456789abcdef-0==";

		assert_int_equal(
		    shares_user_data(d, script, strlen(script), &out, &len, err, sizeof(err)), 0);
		assert_non_null(strstr(out, "boundary=\"==phyllome-seed-0123456789abcdef-1==\""));
		assert_non_null(
		    strstr(out, "-0==\n--==phyllome-seed-0123456789abcdef-1==\nContent-Type: "
				"text/cloud-config"));
		free(out);
	}
	/* a MIME message of the user's own: nested as it is, no header added */
	{
		static const char mime[] = "Content-Type: multipart/mixed; boundary=\"X\"\n"
					   "MIME-Version: 1.0\n\n--X\nContent-Type: "
					   "text/x-shellscript\n\n#!/bin/sh\ntrue\n--X--\n";

		assert_int_equal(
		    shares_user_data(d, mime, strlen(mime), &out, &len, err, sizeof(err)), 0);
		assert_non_null(strstr(out, "-0==\nContent-Type: multipart/mixed; boundary=\"X\""));
		free(out);
	}
	/* gzip: refused, with what to do */
	assert_int_equal(shares_user_data(d, "\x1f\x8b\x08\x00", 4, &out, &len, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "gzip"));
	assert_null(out);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_volume_option),  cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_vmdef_shares),   cmocka_unit_test(test_vmm_fs_words),
	    cmocka_unit_test(test_seed_user_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
