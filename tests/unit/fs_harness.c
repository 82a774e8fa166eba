#include "fs_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

const char *fsh_tmpdir = "/tmp";

void fsh_setup(struct fsh *h, bool readonly)
{
	struct fuse_init_in init = {
	    .major = 7, .minor = 38, .max_readahead = 1 << 20, .flags = 0xffffffffu};
	struct fsh_part p = FSH_ARG(init);
	int root, proc;

	memset(h, 0, sizeof(*h));
	snprintf(h->base, sizeof(h->base), "%s/phyllome-fs-XXXXXX", fsh_tmpdir);
	assert_non_null(mkdtemp(h->base));
	snprintf(h->share, sizeof(h->share), "%s/share", h->base);
	snprintf(h->outside, sizeof(h->outside), "%s/outside", h->base);
	assert_int_equal(mkdir(h->share, 0755), 0);
	assert_int_equal(mkdir(h->outside, 0755), 0);
	fsh_put(h, "outside/secret", "secret");
	root = open(h->share, O_PATH | O_DIRECTORY | O_CLOEXEC);
	proc = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0 && proc >= 0);
	assert_int_equal(fs_srv_open(&h->srv, root, proc, readonly, false), 0);
	assert_int_equal(fsh_call(h, FUSE_INIT, 0, &p, 1), 0);
}

void fsh_teardown(struct fsh *h)
{
	char cmd[128];

	fs_srv_close(h->srv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->base);
	assert_int_equal(system(cmd), 0);
}

int fsh_call(struct fsh *h, uint32_t op, uint64_t node, const struct fsh_part *parts, unsigned n)
{
	struct fuse_in_header ih = {.opcode = op,
				    .nodeid = node,
				    .unique = ++h->unique,
				    .uid = (uint32_t)getuid(),
				    .gid = (uint32_t)getgid()};
	struct fuse_out_header oh;
	size_t len = sizeof(ih);

	for (unsigned i = 0; i < n; i++) {
		assert_true(len + parts[i].len <= sizeof(h->req));
		memcpy(h->req + len, parts[i].p, parts[i].len);
		len += parts[i].len;
	}
	ih.len = (uint32_t)len;
	memcpy(h->req, &ih, sizeof(ih));
	h->outlen = fs_srv_handle(h->srv, h->req, len, h->out, sizeof(h->out));
	if (op == FUSE_FORGET || op == FUSE_BATCH_FORGET) {
		assert_int_equal(h->outlen, 0);
		return 0;
	}
	assert_true(h->outlen >= sizeof(oh));
	memcpy(&oh, h->out, sizeof(oh));
	assert_int_equal(oh.len, h->outlen);
	assert_int_equal(oh.unique, ih.unique);
	if (oh.error)
		assert_int_equal(oh.len, sizeof(oh));
	return oh.error;
}

const void *fsh_payload(const struct fsh *h, size_t *len)
{
	*len = h->outlen - sizeof(struct fuse_out_header);
	return h->out + sizeof(struct fuse_out_header);
}

uint64_t fsh_lookup(struct fsh *h, uint64_t node, const char *name, int *err)
{
	struct fsh_part p = FSH_STR(name);
	struct fuse_entry_out e;
	size_t len;
	int rc = fsh_call(h, FUSE_LOOKUP, node, &p, 1);

	if (err)
		*err = rc;
	if (rc)
		return 0;
	memcpy(&e, fsh_payload(h, &len), sizeof(e));
	assert_int_equal(len, sizeof(e));
	return e.nodeid;
}

uint64_t fsh_open(struct fsh *h, uint64_t node, uint32_t flags, bool dir, int *err)
{
	struct fuse_open_in in = {.flags = flags};
	struct fsh_part p = FSH_ARG(in);
	struct fuse_open_out o;
	size_t len;
	int rc = fsh_call(h, dir ? FUSE_OPENDIR : FUSE_OPEN, node, &p, 1);

	if (err)
		*err = rc;
	if (rc)
		return 0;
	memcpy(&o, fsh_payload(h, &len), sizeof(o));
	assert_int_equal(len, sizeof(o));
	return o.fh;
}

uint64_t fsh_create(struct fsh *h, uint64_t node, const char *name, uint32_t flags, uint64_t *fh,
		    int *err)
{
	struct fuse_create_in in = {.flags = flags, .mode = 0644};
	struct fsh_part p[2] = {FSH_ARG(in), FSH_STR(name)};
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} o;
	size_t len;
	int rc = fsh_call(h, FUSE_CREATE, node, p, 2);

	if (err)
		*err = rc;
	if (rc)
		return 0;
	memcpy(&o, fsh_payload(h, &len), sizeof(o));
	assert_int_equal(len, sizeof(o));
	*fh = o.o.fh;
	return o.e.nodeid;
}

long fsh_write(struct fsh *h, uint64_t node, uint64_t fh, uint64_t off, const void *data, size_t n)
{
	struct fuse_write_in in = {.fh = fh, .offset = off, .size = (uint32_t)n};
	struct fsh_part p[2] = {FSH_ARG(in), {data, n}};
	struct fuse_write_out o;
	size_t len;
	int rc = fsh_call(h, FUSE_WRITE, node, p, 2);

	if (rc)
		return rc;
	memcpy(&o, fsh_payload(h, &len), sizeof(o));
	return o.size;
}

long fsh_read(struct fsh *h, uint64_t node, uint64_t fh, uint64_t off, void *buf, size_t n)
{
	struct fuse_read_in in = {.fh = fh, .offset = off, .size = (uint32_t)n};
	struct fsh_part p = FSH_ARG(in);
	size_t len;
	const void *data;
	int rc = fsh_call(h, FUSE_READ, node, &p, 1);

	if (rc)
		return rc;
	data = fsh_payload(h, &len);
	assert_true(len <= n);
	memcpy(buf, data, len);
	return (long)len;
}

void fsh_put(const struct fsh *h, const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", h->base, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

const char *fsh_get(const struct fsh *h, const char *rel, char *buf, size_t len)
{
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", h->base, rel);
	buf[0] = 0;
	f = fopen(path, "r");
	if (!f)
		return buf;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}
