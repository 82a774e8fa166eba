/* The shared folder's FUSE request parser and file server (backends/fuse_parse.c, fs_*.c):
 * requests as Linux's virtiofs driver sends them, on a temporary folder; and the escapes a
 * hostile guest or a racing host could try (docs/shared-folders.md). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "backends/fs_int.h"
#include "backends/fuse_parse.h"
#include "fs_harness.h"

/* ---- the parser ---- */

static size_t build(uint8_t *buf, uint32_t op, const void *body, size_t len)
{
	struct fuse_in_header h = {.len = (uint32_t)(sizeof(h) + len), .opcode = op, .unique = 7};

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), body, len);
	return sizeof(h) + len;
}

static void test_parse_header(void **state)
{
	uint8_t buf[256];
	struct fuse_msg m;
	size_t n = build(buf, FUSE_GETATTR, (uint8_t[16]){0}, 16);

	(void)state;
	assert_int_equal(fuse_parse(buf, 39, &m), -EBADMSG);
	assert_int_equal(fuse_parse(buf, n, &m), 0);
	assert_int_equal(m.h.unique, 7);
	assert_int_equal(fuse_parse(buf, n - 1, &m), -EINVAL); /* len says more than came */
	n = build(buf, 9999, "", 0);
	assert_int_equal(fuse_parse(buf, n, &m), -ENOSYS);
	assert_int_equal(m.h.unique, 7); /* the error can be addressed */
	n = build(buf, 22 /* GETXATTR */, (uint8_t[8]){0}, 8);
	assert_int_equal(fuse_parse(buf, n, &m), -ENOSYS);
	n = build(buf, FUSE_GETATTR, (uint8_t[8]){0}, 8); /* short fixed block */
	assert_int_equal(fuse_parse(buf, n, &m), -EINVAL);
}

static void test_parse_names(void **state)
{
	uint8_t buf[600], body[300];
	struct fuse_msg m;

	(void)state;
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_LOOKUP, "a\0", 2), &m), 0);
	assert_string_equal(m.name, "a");
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_LOOKUP, "abc", 3), &m), -EINVAL);
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_LOOKUP, "", 1), &m), -EINVAL);
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_LOOKUP, "..", 3), &m), -EINVAL);
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_LOOKUP, ".", 2), &m), -EINVAL);
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_LOOKUP, "a/b", 4), &m), -EINVAL);
	memset(body, 'x', 256);
	body[256] = 0;
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_LOOKUP, body, 257), &m), -EINVAL);
	body[255] = 0;
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_LOOKUP, body, 256), &m), 0);
	/* SYMLINK: a name, then a target that may hold '/' and "..". */
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_SYMLINK, "l\0../../etc", 12), &m), 0);
	assert_string_equal(m.name2, "../../etc");
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_SYMLINK, "l/x\0t", 6), &m), -EINVAL);
	/* RENAME: fixed block, two names, both checked. */
	memset(body, 0, 8);
	memcpy(body + 8, "a\0b", 4);
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_RENAME, body, 12), &m), 0);
	assert_string_equal(m.name2, "b");
	memcpy(body + 8, "a\0..", 5);
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_RENAME, body, 13), &m), -EINVAL);
}

static void test_parse_bodies(void **state)
{
	uint8_t buf[600], body[300] = {0};
	struct fuse_write_in w = {.size = 10};
	struct fuse_batch_forget_in b = {.count = 2};
	struct fuse_msg m;

	(void)state;
	memcpy(body, &w, sizeof(w));
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_WRITE, body, sizeof(w) + 10), &m), 0);
	assert_int_equal(m.datalen, 10);
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_WRITE, body, sizeof(w) + 9), &m), -EINVAL);
	memcpy(body, &b, sizeof(b));
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_BATCH_FORGET, body, 8 + 32), &m), 0);
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_BATCH_FORGET, body, 8 + 31), &m), -EINVAL);
	b.count = 0xffffffffu;
	memcpy(body, &b, sizeof(b));
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_BATCH_FORGET, body, 8 + 32), &m), -EINVAL);
	/* INIT: 7.31's 16 bytes, or a newer kernel's 64. */
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_INIT, body, 16), &m), 0);
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_INIT, body, 64), &m), 0);
	assert_int_equal(fuse_parse(buf, build(buf, FUSE_INIT, body, 12), &m), -EINVAL);
}

/* ---- the server's operations ---- */

static int setup_rw(void **state)
{
	struct fsh *h = malloc(sizeof(*h));

	fsh_setup(h, false);
	*state = h;
	return 0;
}

static int setup_ro(void **state)
{
	struct fsh *h = malloc(sizeof(*h));

	fsh_setup(h, true);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	fsh_teardown(*state);
	free(*state);
	return 0;
}

static void test_init_reply(void **state)
{
	struct fsh *h = *state;
	struct fuse_init_in in = {.major = 7, .minor = 38, .flags = FUSE_MAX_PAGES | (1u << 30)};
	struct fsh_part p = FSH_ARG(in);
	struct fuse_init_out o;
	size_t len;

	assert_int_equal(fsh_call(h, FUSE_INIT, 0, &p, 1), 0);
	memcpy(&o, fsh_payload(h, &len), sizeof(o));
	assert_int_equal(len, 64);
	assert_int_equal(o.major, 7);
	assert_int_equal(o.minor, 31);
	assert_int_equal(o.flags, FUSE_MAX_PAGES); /* only what both sides know */
	assert_int_equal(o.max_write, FS_MAX_WRITE);
	in.major = 8;
	assert_int_equal(fsh_call(h, FUSE_INIT, 0, &p, 1), -EPROTO);
	assert_int_equal(fsh_call(h, 9999, 1, NULL, 0), -ENOSYS);
}

static void test_files(void **state)
{
	struct fsh *h = *state;
	char buf[64];
	uint64_t fh, node;
	int err;

	node = fsh_create(h, FUSE_ROOT_ID, "f.txt", O_RDWR, &fh, &err);
	assert_int_equal(err, 0);
	assert_int_equal(fsh_write(h, node, fh, 0, "hello world", 11), 11);
	assert_string_equal(fsh_get(h, "share/f.txt", buf, sizeof(buf)), "hello world");
	assert_int_equal(fsh_read(h, node, fh, 6, buf, 5), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(fsh_read(h, node, fh, 100, buf, 5), 0);
	/* The same file looked up again is the same node. */
	assert_int_equal(fsh_lookup(h, FUSE_ROOT_ID, "f.txt", NULL), node);
	/* Host-side changes are seen. */
	fsh_put(h, "share/host.txt", "from the host");
	node = fsh_lookup(h, FUSE_ROOT_ID, "host.txt", &err);
	assert_int_equal(err, 0);
	fh = fsh_open(h, node, O_RDONLY, false, &err);
	assert_int_equal(fsh_read(h, node, fh, 0, buf, sizeof(buf)), 13);
	/* A handle is for its kind only, and goes with RELEASE. */
	{
		struct fuse_release_in r = {.fh = fh};
		struct fsh_part p = FSH_ARG(r);
		struct fuse_read_in rd = {.fh = fh, .size = 4};
		struct fsh_part q = FSH_ARG(rd);

		assert_int_equal(fsh_call(h, FUSE_READDIR, node, &q, 1), -EBADF);
		assert_int_equal(fsh_call(h, FUSE_RELEASE, node, &p, 1), 0);
		assert_int_equal(fsh_call(h, FUSE_READ, node, &q, 1), -EBADF);
	}
	fsh_lookup(h, FUSE_ROOT_ID, "nope", &err);
	assert_int_equal(err, -ENOENT);
}

static void test_names(void **state)
{
	struct fsh *h = *state;
	struct fuse_mkdir_in mk = {.mode = 0755};
	struct fsh_part p[2] = {FSH_ARG(mk), FSH_STR("d")};
	struct fuse_rename_in rn;
	struct stat st;
	char path[160];
	uint64_t d, fh;
	int err;

	assert_int_equal(fsh_call(h, FUSE_MKDIR, FUSE_ROOT_ID, p, 2), 0);
	d = fsh_lookup(h, FUSE_ROOT_ID, "d", NULL);
	assert_true(d > 1);
	fsh_create(h, d, "a", O_WRONLY, &fh, &err);
	assert_int_equal(err, 0);
	rn.newdir = FUSE_ROOT_ID;
	{
		struct fsh_part q[3] = {FSH_ARG(rn), FSH_STR("a"), FSH_STR("b")};

		assert_int_equal(fsh_call(h, FUSE_RENAME, d, q, 3), 0);
	}
	snprintf(path, sizeof(path), "%s/b", h->share);
	assert_int_equal(stat(path, &st), 0);
	{
		struct fsh_part q[2] = {FSH_STR("s"), FSH_STR("../b")};
		struct fsh_part r = FSH_STR("s");
		size_t len;
		const char *t;

		assert_int_equal(fsh_call(h, FUSE_SYMLINK, FUSE_ROOT_ID, q, 2), 0);
		assert_int_equal(
		    fsh_call(h, FUSE_READLINK, fsh_lookup(h, FUSE_ROOT_ID, "s", NULL), NULL, 0), 0);
		t = fsh_payload(h, &len);
		assert_int_equal(len, 4);
		assert_memory_equal(t, "../b", 4);
		assert_int_equal(fsh_call(h, FUSE_UNLINK, FUSE_ROOT_ID, &r, 1), 0);
	}
	{
		struct fuse_link_in ln = {.oldnodeid = fsh_lookup(h, FUSE_ROOT_ID, "b", NULL)};
		struct fsh_part q[2] = {FSH_ARG(ln), FSH_STR("b2")};

		assert_int_equal(fsh_call(h, FUSE_LINK, d, q, 2), 0);
		snprintf(path, sizeof(path), "%s/d/b2", h->share);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_nlink, 2);
	}
	{
		struct fsh_part r = FSH_STR("d");

		assert_int_equal(fsh_call(h, FUSE_RMDIR, FUSE_ROOT_ID, &r, 1), -ENOTEMPTY);
	}
	{
		struct fuse_setattr_in sa = {
		    .valid = FATTR_SIZE | FATTR_MODE, .size = 3, .mode = 0600};
		struct fsh_part q = FSH_ARG(sa);
		struct fuse_attr_out ao;
		size_t len;

		assert_int_equal(
		    fsh_call(h, FUSE_SETATTR, fsh_lookup(h, FUSE_ROOT_ID, "b", NULL), &q, 1), 0);
		memcpy(&ao, fsh_payload(h, &len), sizeof(ao));
		assert_int_equal(ao.attr.size, 3);
		assert_int_equal(ao.attr.mode & 07777, 0600);
	}
	assert_int_equal(fsh_call(h, FUSE_STATFS, FUSE_ROOT_ID, NULL, 0), 0);
}

/* READDIRPLUS lists every entry, and each but "." and ".." comes with a node. */
static void test_readdir(void **state)
{
	struct fsh *h = *state;
	struct fuse_read_in rd = {.size = 4096};
	struct fsh_part p = FSH_ARG(rd);
	unsigned seen = 0, with_node = 0;
	const uint8_t *b;
	size_t len, off = 0;
	int err;

	fsh_put(h, "share/one", "1");
	fsh_put(h, "share/two", "2");
	rd.fh = fsh_open(h, FUSE_ROOT_ID, O_RDONLY, true, &err);
	assert_int_equal(err, 0);
	assert_int_equal(fsh_call(h, FUSE_READDIRPLUS, FUSE_ROOT_ID, &p, 1), 0);
	b = fsh_payload(h, &len);
	while (off < len) {
		struct fuse_direntplus e;

		memcpy(&e, b + off, sizeof(e));
		seen++;
		with_node += e.entry_out.nodeid != 0;
		off += (sizeof(e) + e.dirent.namelen + 7) & ~7ul;
		rd.offset = e.dirent.off;
	}
	assert_int_equal(off, len);
	assert_int_equal(seen, 4);
	assert_int_equal(with_node, 2);
	/* From the last offset on, nothing more. */
	assert_int_equal(fsh_call(h, FUSE_READDIR, FUSE_ROOT_ID, &p, 1), 0);
	fsh_payload(h, &len);
	assert_int_equal(len, 0);
	/* A small buffer gets what fits and no more. */
	rd.offset = 0;
	rd.size = 40;
	assert_int_equal(fsh_call(h, FUSE_READDIR, FUSE_ROOT_ID, &p, 1), 0);
	fsh_payload(h, &len);
	assert_int_equal(len, 32);
}

/* rm -r: each entry READDIR returns is unlinked before the next READDIR, which goes on from the
 * last offset. On tmpfs a seek to that offset counts entries from the start, so a server that
 * seeks on every READDIR skips as many entries as were deleted (the rig's rm -r of 2,000 files
 * failed with ENOTEMPTY so). Run on /dev/shm (tmpfs) where there is one, else /tmp. */
static void test_readdir_while_deleting(void **state)
{
	struct fsh *h = malloc(sizeof(*h));
	struct fuse_read_in rd = {.size = 512};
	struct fsh_part p = FSH_ARG(rd);
	struct stat st;
	unsigned deleted = 0, calls = 0;
	uint64_t d;
	int err;

	(void)state;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
		fsh_tmpdir = "/dev/shm";
	fsh_setup(h, false);
	fsh_tmpdir = "/tmp";
	assert_int_equal(mkdir(strcat(strcpy((char[160]){0}, h->share), "/d"), 0755), 0);
	for (unsigned i = 0; i < 200; i++) {
		char rel[32];

		snprintf(rel, sizeof(rel), "share/d/f%u", i);
		fsh_put(h, rel, "x");
	}
	d = fsh_lookup(h, FUSE_ROOT_ID, "d", NULL);
	assert_true(d != 0);
	rd.fh = fsh_open(h, d, O_RDONLY, true, &err);
	assert_int_equal(err, 0);
	for (;;) {
		char names[32][64];
		unsigned n = 0;
		const uint8_t *b;
		size_t len, off = 0;

		assert_int_equal(fsh_call(h, FUSE_READDIR, d, &p, 1), 0);
		b = fsh_payload(h, &len);
		calls++;
		if (!len)
			break;
		while (off < len) {
			struct fuse_dirent e;

			memcpy(&e, b + off, sizeof(e));
			if (e.namelen &&
			    !(e.namelen <= 2 && !memcmp(b + off + sizeof(e), "..", e.namelen))) {
				assert_true(n < 32);
				snprintf(names[n++], sizeof(names[0]), "%.*s", (int)e.namelen,
					 (const char *)b + off + sizeof(e));
			}
			rd.offset = e.off;
			off += (sizeof(e) + e.namelen + 7) & ~7ul;
		}
		for (unsigned i = 0; i < n; i++, deleted++)
			assert_int_equal(
			    fsh_call(h, FUSE_UNLINK, d, (struct fsh_part[]){FSH_STR(names[i])}, 1),
			    0);
	}
	assert_true(calls > 10); /* many READDIRs, each after deletions */
	assert_int_equal(deleted, 200);
	assert_int_equal(
	    fsh_call(h, FUSE_RMDIR, FUSE_ROOT_ID, (struct fsh_part[]){FSH_STR("d")}, 1), 0);
	fsh_teardown(h);
	free(h);
}

static void test_forget(void **state)
{
	struct fsh *h = *state;
	uint64_t n;
	struct fuse_forget_in f = {.nlookup = 2};
	struct fsh_part p = FSH_ARG(f);

	fsh_put(h, "share/x", "x");
	n = fsh_lookup(h, FUSE_ROOT_ID, "x", NULL);
	assert_int_equal(fsh_lookup(h, FUSE_ROOT_ID, "x", NULL), n);
	assert_int_equal(
	    fsh_call(h, FUSE_GETATTR, n, (struct fsh_part[]){{(uint8_t[16]){0}, 16}}, 1), 0);
	assert_int_equal(fsh_call(h, FUSE_FORGET, n, &p, 1), 0);
	assert_int_equal(
	    fsh_call(h, FUSE_GETATTR, n, (struct fsh_part[]){{(uint8_t[16]){0}, 16}}, 1), -ESTALE);
	/* Slots of forgotten nodes are used again: a guest walking a big tree over and over does
	 * not grow the table. */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 100; i++) {
			char name[16], rel[32];
			uint64_t id;

			snprintf(name, sizeof(name), "f%d", i);
			snprintf(rel, sizeof(rel), "share/%s", name);
			if (round == 0)
				fsh_put(h, rel, "");
			id = fsh_lookup(h, FUSE_ROOT_ID, name, NULL);
			f.nlookup = 1;
			assert_int_equal(fsh_call(h, FUSE_FORGET, id, &p, 1), 0);
		}
	}
	assert_true(h->srv->ninodes <= 3);
	f.nlookup = 2;
	/* The root is never forgotten. */
	assert_int_equal(fsh_call(h, FUSE_FORGET, FUSE_ROOT_ID, &p, 1), 0);
	assert_int_equal(
	    fsh_call(h, FUSE_GETATTR, FUSE_ROOT_ID, (struct fsh_part[]){{(uint8_t[16]){0}, 16}}, 1),
	    0);
}

static void test_readonly(void **state)
{
	struct fsh *h = *state;
	struct fuse_mkdir_in mk = {.mode = 0755};
	struct fsh_part p[2] = {FSH_ARG(mk), FSH_STR("d")};
	char buf[16];
	uint64_t n, fh;
	int err;

	fsh_put(h, "share/r", "read me");
	n = fsh_lookup(h, FUSE_ROOT_ID, "r", NULL);
	fh = fsh_open(h, n, O_RDONLY, false, &err);
	assert_int_equal(fsh_read(h, n, fh, 0, buf, 7), 7);
	fsh_open(h, n, O_RDWR, false, &err);
	assert_int_equal(err, -EROFS);
	fsh_create(h, FUSE_ROOT_ID, "new", O_WRONLY, &fh, &err);
	assert_int_equal(err, -EROFS);
	assert_int_equal(fsh_call(h, FUSE_MKDIR, FUSE_ROOT_ID, p, 2), -EROFS);
	assert_int_equal(
	    fsh_call(h, FUSE_UNLINK, FUSE_ROOT_ID, (struct fsh_part[]){FSH_STR("r")}, 1), -EROFS);
	assert_string_equal(fsh_get(h, "share/r", buf, sizeof(buf)), "read me");
}

/* cache=none: OPEN and CREATE tell the guest to keep no page cache for the file
 * (FOPEN_DIRECT_IO); by default they do not. */
static void test_direct_io(void **state)
{
	struct fsh *h = *state;
	struct fuse_open_out o;
	const uint8_t *p;
	uint64_t n, fh;
	size_t len;
	int err;

	fsh_put(h, "share/f", "text");
	n = fsh_lookup(h, FUSE_ROOT_ID, "f", NULL);
	fsh_open(h, n, O_RDONLY, false, &err);
	memcpy(&o, fsh_payload(h, &len), sizeof(o));
	assert_int_equal(o.open_flags, 0);
	fs_srv_set_direct_io(h->srv, true);
	fh = fsh_open(h, n, O_RDWR, false, &err);
	assert_true(fh != 0);
	memcpy(&o, fsh_payload(h, &len), sizeof(o));
	assert_int_equal(o.open_flags, FOPEN_DIRECT_IO);
	fsh_create(h, FUSE_ROOT_ID, "g", O_WRONLY, &fh, &err);
	assert_true(fh != 0);
	p = fsh_payload(h, &len);
	assert_int_equal(len, sizeof(struct fuse_entry_out) + sizeof(o));
	memcpy(&o, p + sizeof(struct fuse_entry_out), sizeof(o));
	assert_int_equal(o.open_flags, FOPEN_DIRECT_IO);
	fs_srv_set_direct_io(h->srv, false);
	fsh_open(h, n, O_RDONLY, false, &err);
	memcpy(&o, fsh_payload(h, &len), sizeof(o));
	assert_int_equal(o.open_flags, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_header),
	    cmocka_unit_test(test_parse_names),
	    cmocka_unit_test(test_parse_bodies),
	    cmocka_unit_test_setup_teardown(test_init_reply, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_files, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_names, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_readdir, setup_rw, teardown),
	    cmocka_unit_test(test_readdir_while_deleting),
	    cmocka_unit_test_setup_teardown(test_forget, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_readonly, setup_ro, teardown),
	    cmocka_unit_test_setup_teardown(test_direct_io, setup_rw, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
