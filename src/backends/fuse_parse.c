#include "backends/fuse_parse.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* How an operation's body is laid out: a fixed block of `fixed` bytes (at least `min` of it
 * must come: INIT's grew over the protocol's versions), then up to two strings. */
enum fuse_tail { T_NONE, T_NAME, T_TWO_NAMES, T_NAME_LINK, T_DATA, T_FORGETS };

struct fuse_layout {
	uint32_t op;
	uint16_t fixed, min;
	enum fuse_tail tail;
};

#define L(op, type, tail)                                                                          \
	{                                                                                          \
		op, sizeof(type), sizeof(type), tail                                               \
	}

static const struct fuse_layout layouts[] = {
    {FUSE_LOOKUP, 0, 0, T_NAME},
    L(FUSE_FORGET, struct fuse_forget_in, T_NONE),
    L(FUSE_GETATTR, struct fuse_getattr_in, T_NONE),
    L(FUSE_SETATTR, struct fuse_setattr_in, T_NONE),
    {FUSE_READLINK, 0, 0, T_NONE},
    {FUSE_SYMLINK, 0, 0, T_NAME_LINK},
    L(FUSE_MKNOD, struct fuse_mknod_in, T_NAME),
    L(FUSE_MKDIR, struct fuse_mkdir_in, T_NAME),
    {FUSE_UNLINK, 0, 0, T_NAME},
    {FUSE_RMDIR, 0, 0, T_NAME},
    L(FUSE_RENAME, struct fuse_rename_in, T_TWO_NAMES),
    L(FUSE_LINK, struct fuse_link_in, T_NAME),
    L(FUSE_OPEN, struct fuse_open_in, T_NONE),
    L(FUSE_READ, struct fuse_read_in, T_NONE),
    L(FUSE_WRITE, struct fuse_write_in, T_DATA),
    {FUSE_STATFS, 0, 0, T_NONE},
    L(FUSE_RELEASE, struct fuse_release_in, T_NONE),
    L(FUSE_FSYNC, struct fuse_fsync_in, T_NONE),
    L(FUSE_FLUSH, struct fuse_flush_in, T_NONE),
    L(FUSE_INIT, struct fuse_init_in, T_NONE),
    L(FUSE_OPENDIR, struct fuse_open_in, T_NONE),
    L(FUSE_READDIR, struct fuse_read_in, T_NONE),
    L(FUSE_RELEASEDIR, struct fuse_release_in, T_NONE),
    L(FUSE_FSYNCDIR, struct fuse_fsync_in, T_NONE),
    L(FUSE_ACCESS, struct fuse_access_in, T_NONE),
    L(FUSE_CREATE, struct fuse_create_in, T_NAME),
    {FUSE_DESTROY, 0, 0, T_NONE},
    L(FUSE_BATCH_FORGET, struct fuse_batch_forget_in, T_FORGETS),
    L(FUSE_FALLOCATE, struct fuse_fallocate_in, T_NONE),
    L(FUSE_READDIRPLUS, struct fuse_read_in, T_NONE),
    L(FUSE_RENAME2, struct fuse_rename2_in, T_TWO_NAMES),
    L(FUSE_LSEEK, struct fuse_lseek_in, T_NONE),
};

int fuse_name_ok(const char *name, size_t maxlen)
{
	size_t n = strnlen(name, maxlen + 1);

	if (n == 0 || n > maxlen || strchr(name, '/'))
		return 0;
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* A NUL-terminated string of 1..max bytes at the start of [p, end), or NULL. */
static const char *take_string(const uint8_t **p, const uint8_t *end, size_t max)
{
	const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
	const char *s = (const char *)*p;

	if (!nul || nul == *p || (size_t)(nul - *p) > max)
		return NULL;
	*p = nul + 1;
	return s;
}

static int parse_tail(const struct fuse_layout *l, const uint8_t *p, const uint8_t *end,
		      struct fuse_msg *m)
{
	switch (l->tail) {
	case T_NONE:
		return 0;
	case T_NAME:
		m->name = take_string(&p, end, FUSE_NAME_MAX);
		return m->name && fuse_name_ok(m->name, FUSE_NAME_MAX) ? 0 : -EINVAL;
	case T_TWO_NAMES:
		m->name = take_string(&p, end, FUSE_NAME_MAX);
		m->name2 = m->name ? take_string(&p, end, FUSE_NAME_MAX) : NULL;
		return m->name2 && fuse_name_ok(m->name, FUSE_NAME_MAX) &&
			       fuse_name_ok(m->name2, FUSE_NAME_MAX)
			   ? 0
			   : -EINVAL;
	case T_NAME_LINK:
		m->name = take_string(&p, end, FUSE_NAME_MAX);
		m->name2 = m->name ? take_string(&p, end, FUSE_LINK_MAX) : NULL;
		return m->name2 && fuse_name_ok(m->name, FUSE_NAME_MAX) ? 0 : -EINVAL;
	case T_DATA:
		if ((size_t)(end - p) < m->in.write.size)
			return -EINVAL;
		m->data = p;
		m->datalen = m->in.write.size;
		return 0;
	case T_FORGETS:
		if (m->in.batch.count > (size_t)(end - p) / sizeof(struct fuse_forget_one))
			return -EINVAL;
		m->data = p;
		m->datalen = (size_t)m->in.batch.count * sizeof(struct fuse_forget_one);
		return 0;
	}
	return -EINVAL;
}

int fuse_parse(const uint8_t *buf, size_t len, struct fuse_msg *m)
{
	const struct fuse_layout *l = NULL;
	const uint8_t *p = buf + sizeof(m->h), *end = buf + len;
	size_t body;

	memset(m, 0, sizeof(*m));
	if (len < sizeof(m->h))
		return -EBADMSG;
	memcpy(&m->h, buf, sizeof(m->h));
	if (m->h.len != len)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].op == m->h.opcode)
			l = &layouts[i];
	if (!l)
		return -ENOSYS;
	body = (size_t)(end - p);
	if (body < l->min)
		return -EINVAL;
	/* A longer block than we know (a newer INIT) is cut to ours; a shorter one than
	 * ours but at least min leaves the rest zero. */
	memcpy(&m->in, p, body < l->fixed ? body : l->fixed);
	p += body < l->fixed ? body : l->fixed;
	if (l->op == FUSE_INIT)
		p = end; /* the rest of a newer kernel's block */
	return parse_tail(l, p, end, m);
}
