/* qcow2: guest reads and writes, zeroes, discard and flush (see qcow2.h and docs/qcow2.md).
 * A request is cut at cluster boundaries; each piece is looked up through L1 and L2. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "backends/qcow2.h"
#include "backends/qcow2_int.h"
#include "common/bytes.h"
#include "common/iov.h"

enum q2_kind { Q2_UNALLOC, Q2_ZEROES, Q2_DATA, Q2_COMP };

struct q2_map {
	enum q2_kind kind;
	uint64_t entry; /* the L2 entry */
	uint64_t host;	/* DATA, ZEROES: the cluster; COMP: the compressed bytes' offset */
	uint64_t clen;	/* COMP: the compressed bytes' length (as the refcounts count it) */
};

/* ---- the file, through the test hook ---- */

/* Writes iov at off on fd; after a short write (a full disk, say) the rest goes through the
 * buffered descriptor, whose offsets need no alignment. */
static int q2_writev_on(struct qcow2 *q, int fd, const char *kind, const struct iovec *iov,
			unsigned niov, uint64_t off)
{
	if (q->hook && q->hook(q->hook_arg, kind, off, iov, niov))
		return -EIO;
	for (unsigned i = 0; i < niov; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left) {
			ssize_t n = pwrite(fd, p, left, (off_t)off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			if ((size_t)n < left)
				fd = q->fd;
			p += n;
			left -= (size_t)n;
			off += (uint64_t)n;
		}
	}
	return 0;
}

int q2_pwritev(struct qcow2 *q, const char *kind, const struct iovec *iov, unsigned niov,
	       uint64_t off)
{
	return q2_writev_on(q, q->fd, kind, iov, niov, off);
}

int q2_pwrite(struct qcow2 *q, const char *kind, const void *buf, uint64_t len, uint64_t off)
{
	struct iovec v = {.iov_base = (void *)(uintptr_t)buf, .iov_len = (size_t)len};

	return q2_pwritev(q, kind, &v, 1, off);
}

int q2_data_writev(struct qcow2 *q, const struct iovec *iov, unsigned niov, uint64_t off)
{
	return q2_writev_on(q, dio_fd(&q->dio, off, iov, niov), "data", iov, niov, off);
}

/* Reads len bytes at off from fd; after a short read (the end of the file, whose offset an
 * O_DIRECT descriptor may not take) the rest comes from fd_rest. */
static int fd_pread(int fd, int fd_rest, uint8_t *p, uint64_t len, uint64_t off, bool zero_past_eof)
{
	while (len) {
		ssize_t n = pread(fd, p, (size_t)len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (!zero_past_eof)
				return -EIO;
			memset(p, 0, (size_t)len);
			return 0;
		}
		fd = fd_rest;
		p += n;
		len -= (uint64_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int q2_pread(struct qcow2 *q, void *buf, uint64_t len, uint64_t off, bool zero_past_eof)
{
	return fd_pread(q->fd, q->fd, buf, len, off, zero_past_eof);
}

/* Data reads: what lies past the end of the file reads as zeroes. */
static int fd_preadv(int fd, int fd_rest, const struct iovec *iov, unsigned n, uint64_t off)
{
	for (unsigned i = 0; i < n; i++) {
		int rc = fd_pread(fd, fd_rest, iov[i].iov_base, iov[i].iov_len, off, true);

		if (rc < 0)
			return rc;
		off += iov[i].iov_len;
	}
	return 0;
}

int q2_data_readv(struct qcow2 *q, const struct iovec *iov, unsigned niov, uint64_t off)
{
	return fd_preadv(dio_fd(&q->dio, off, iov, niov), q->fd, iov, niov, off);
}

int q2_sync(struct qcow2 *q)
{
	int rc;

	if (q->hook && q->hook(q->hook_arg, "sync", 0, NULL, 0))
		return -EIO;
	do
		rc = fdatasync(q->fd);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

/* ---- slices of a request's iovecs ---- */

static int q2_slice(struct qcow2 *q, const struct iovec *iov, unsigned niov, uint64_t skip,
		    uint64_t len, unsigned *cnt)
{
	unsigned n = 0;

	if (q->sl_cap < niov) {
		struct iovec *s = realloc(q->sl, niov * sizeof(*s));

		if (!s)
			return -ENOMEM;
		q->sl = s;
		q->sl_cap = niov;
	}
	for (unsigned i = 0; i < niov && len; i++) {
		uint64_t seg = iov[i].iov_len, take;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		take = seg - skip < len ? seg - skip : len;
		q->sl[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
		q->sl[n].iov_len = (size_t)take;
		n++;
		len -= take;
		skip = 0;
	}
	if (len)
		return -EINVAL; /* the iovecs are shorter than the request */
	*cnt = n;
	return 0;
}

static void iov_zero(const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		memset(iov[i].iov_base, 0, iov[i].iov_len);
}

/* ---- lookups ---- */

static int q2_classify(struct qcow2 *q, uint64_t e, struct q2_map *m)
{
	m->entry = e;
	m->host = e & Q2_OFF_MASK;
	if (e & Q2_COMPRESSED) {
		unsigned x = 62 - (q->cluster_bits - 8);
		uint64_t nsec = (e >> x) & ((1ull << (q->cluster_bits - 8)) - 1);

		m->kind = Q2_COMP;
		m->host = e & ((1ull << x) - 1);
		m->clen = (nsec + 1) * 512 - (m->host & 511);
		return 0;
	}
	if (e & Q2_L2_RSVD)
		return q2_bad(q, "reserved bits set in an L2 entry", e);
	if (e & Q2_ZERO) {
		if (q->version < 3)
			return q2_bad(q, "zero flag in a version 2 image", e);
		m->kind = Q2_ZEROES;
	} else {
		m->kind = m->host ? Q2_DATA : Q2_UNALLOC;
	}
	if (m->host & (q->cluster_size - 1))
		return q2_bad(q, "unaligned data cluster", e);
	return 0;
}

/* The L1 index of a virtual offset, and its L2 table's host offset (0: none). */
static int q2_l2_of(struct qcow2 *q, uint64_t voff, uint32_t *i1, uint64_t *l2off)
{
	uint64_t i = voff >> (q->cluster_bits + q->l2_bits), e;

	if (i >= q->l1_size)
		return q2_bad(q, "offset past the L1 table", voff);
	e = q->l1[i];
	if (e & Q2_L1_RSVD)
		return q2_bad(q, "reserved bits set in an L1 entry", e);
	*i1 = (uint32_t)i;
	*l2off = e & Q2_OFF_MASK;
	return 0;
}

static size_t q2_l2_index(const struct qcow2 *q, uint64_t voff)
{
	return (size_t)((voff >> q->cluster_bits) & ((1ull << q->l2_bits) - 1));
}

static int q2_lookup(struct qcow2 *q, uint64_t voff, struct q2_map *m)
{
	uint64_t l2off;
	uint32_t i1;
	uint8_t *t;
	int rc = q2_l2_of(q, voff, &i1, &l2off);

	if (rc < 0)
		return rc;
	if (!l2off)
		return q2_classify(q, 0, m);
	t = q2_l2_get(q, l2off, &rc);
	if (!t)
		return rc;
	return q2_classify(q, get_be64(t + q2_l2_index(q, voff) * 8), m);
}

/* Sets the L2 entry of voff in the cache (a new L2 table first if it has none). */
static int q2_set_entry(struct qcow2 *q, uint64_t voff, uint64_t entry)
{
	uint64_t l2off;
	uint32_t i1;
	uint8_t *t;
	int rc = q2_l2_of(q, voff, &i1, &l2off);

	if (rc == 0 && l2off && !(q->l1[i1] & Q2_COPIED))
		return q2_bad(q, "shared L2 table (internal snapshot)", q->l1[i1]);
	if (rc == 0 && !l2off) {
		rc = q2_l2_new(q, i1);
		l2off = q->l1[i1] & Q2_OFF_MASK;
	}
	if (rc < 0)
		return rc;
	t = q2_l2_get(q, l2off, &rc);
	if (!t)
		return rc;
	put_be64(t + q2_l2_index(q, voff) * 8, entry);
	q2_l2_mark_dirty(q, l2off);
	return 0;
}

/* ---- reads ---- */

static int q2_inflate(struct qcow2 *q, const struct q2_map *m)
{
	z_stream z = {0};
	int rc, zr;

	if (q->zkey == m->entry)
		return 0;
	q->zkey = 0;
	rc = q2_pread(q, q->cbuf, m->clen, m->host, true);
	if (rc < 0)
		return rc;
	if (inflateInit2(&z, -12) != Z_OK)
		return -ENOMEM;
	z.next_in = q->cbuf;
	z.avail_in = (uInt)m->clen;
	z.next_out = q->zbuf;
	z.avail_out = (uInt)q->cluster_size;
	zr = inflate(&z, Z_FINISH);
	rc = (zr == Z_STREAM_END || zr == Z_BUF_ERROR) && z.avail_out == 0 ? 0 : -EIO;
	inflateEnd(&z);
	if (rc < 0)
		return q2_bad(q, "compressed cluster does not inflate", m->entry);
	q->zkey = m->entry;
	return 0;
}

/* len bytes of the backing file at voff into buf; past its end (or without one): zeroes. */
static int q2_backing_buf(struct qcow2 *q, uint8_t *buf, uint64_t voff, uint64_t len)
{
	struct iovec v = {.iov_base = buf, .iov_len = (size_t)len};
	uint64_t avail;

	if (q->back.fd < 0 || voff >= q->back.size) {
		memset(buf, 0, (size_t)len);
		return 0;
	}
	if (!q->back.q) /* raw: what lies past its end reads as zeroes */
		return fd_pread(dio_fd(&q->back.dio, voff, &v, 1), q->back.fd, buf, len, voff,
				true);
	avail = q->back.size - voff < len ? q->back.size - voff : len;
	memset(buf + avail, 0, (size_t)(len - avail));
	v.iov_len = (size_t)avail;
	return qcow2_read(q->back.q, &v, 1, voff, avail);
}

static int q2_read_backing(struct qcow2 *q, const struct iovec *sl, unsigned cnt, uint64_t voff,
			   uint64_t len)
{
	int rc;

	if (q->back.fd < 0 || voff >= q->back.size) {
		iov_zero(sl, cnt);
		return 0;
	}
	if (!q->back.q)
		return fd_preadv(dio_fd(&q->back.dio, voff, sl, cnt), q->back.fd, sl, cnt, voff);
	if (len <= q->back.size - voff)
		return qcow2_read(q->back.q, sl, cnt, voff, len);
	/* Straddles the backing image's end (len is at most a cluster): bounce. */
	rc = q2_backing_buf(q, q->cow, voff, len);
	if (rc == 0)
		iov_from_buf(sl, cnt, 0, q->cow, (size_t)len);
	return rc;
}

static int q2_read_piece(struct qcow2 *q, const struct iovec *sl, unsigned cnt, uint64_t voff,
			 uint64_t len)
{
	uint64_t coff = voff & (q->cluster_size - 1);
	struct q2_map m;
	int rc = q2_lookup(q, voff, &m);

	if (rc < 0)
		return rc;
	switch (m.kind) {
	case Q2_UNALLOC:
		return q2_read_backing(q, sl, cnt, voff, len);
	case Q2_ZEROES:
		iov_zero(sl, cnt);
		return 0;
	case Q2_COMP:
		rc = q2_inflate(q, &m);
		if (rc == 0)
			iov_from_buf(sl, cnt, 0, q->zbuf + coff, (size_t)len);
		return rc;
	case Q2_DATA:
		break;
	}
	return q2_data_readv(q, sl, cnt, m.host + coff);
}

/* Calls fn for each piece of [off, off+len) that stays within one cluster. */
typedef int (*q2_piece_fn)(struct qcow2 *q, const struct iovec *sl, unsigned cnt, uint64_t voff,
			   uint64_t len);

static int q2_each_piece(struct qcow2 *q, const struct iovec *iov, unsigned niov, uint64_t off,
			 uint64_t len, q2_piece_fn fn)
{
	uint64_t done = 0;

	if (off > q->size || len > q->size - off)
		return -EINVAL;
	while (done < len) {
		uint64_t voff = off + done;
		uint64_t n = q->cluster_size - (voff & (q->cluster_size - 1));
		unsigned cnt = 0;
		int rc;

		if (n > len - done)
			n = len - done;
		rc = iov ? q2_slice(q, iov, niov, done, n, &cnt) : 0;
		if (rc == 0)
			rc = fn(q, q->sl, cnt, voff, n);
		if (rc < 0)
			return rc;
		done += n;
	}
	return 0;
}

int qcow2_read(struct qcow2 *q, const struct iovec *iov, unsigned niov, uint64_t off, uint64_t len)
{
	return q2_each_piece(q, iov, niov, off, len, q2_read_piece);
}

int qcow2_map(struct qcow2 *q, uint64_t off, uint64_t len, bool write, uint64_t *host)
{
	uint64_t done = 0, start = 0;

	if (len == 0 || off > q->size || len > q->size - off || (write && q->readonly))
		return -ENOENT;
	while (done < len) {
		uint64_t voff = off + done, coff = voff & (q->cluster_size - 1);
		struct q2_map m;
		int rc = q2_lookup(q, voff, &m);

		if (rc < 0)
			return rc;
		if (m.kind != Q2_DATA || (write && !(m.entry & Q2_COPIED)) ||
		    q2_overlaps_meta(q, m.host, q->cluster_size))
			return -ENOENT;
		if (done == 0)
			start = m.host + coff;
		else if (m.host != start + done) /* the next cluster, on the file too */
			return -ENOENT;
		done += q->cluster_size - coff;
	}
	*host = start;
	return 0;
}

/* ---- writes ---- */

/* The whole old content of the cluster at voff (a cluster boundary) into buf. */
static int q2_old_content(struct qcow2 *q, const struct q2_map *m, uint64_t voff, uint8_t *buf)
{
	struct iovec cl = {.iov_len = (size_t)q->cluster_size};
	int rc;

	switch (m->kind) {
	case Q2_UNALLOC:
		return q2_backing_buf(q, buf, voff, q->cluster_size);
	case Q2_ZEROES:
		memset(buf, 0, (size_t)q->cluster_size);
		return 0;
	case Q2_COMP:
		rc = q2_inflate(q, m);
		if (rc == 0)
			memcpy(buf, q->zbuf, (size_t)q->cluster_size);
		return rc;
	case Q2_DATA:
		break;
	}
	cl.iov_base = buf;
	return q2_data_readv(q, &cl, 1, m->host);
}

/* The old cluster's references once the new entry is in place: compressed bytes and
 * preallocated zero clusters are ours alone; a data cluster without COPIED is shared. */
static int q2_drop_old(struct qcow2 *q, const struct q2_map *m)
{
	if (m->kind == Q2_COMP) {
		q->zkey = 0;
		return q2_free_later(q, m->host & ~511ull,
				     ALIGN_UP(m->clen + (m->host & 511), 512));
	}
	if ((m->kind == Q2_ZEROES || m->kind == Q2_DATA) && m->host && (m->entry & Q2_COPIED))
		return q2_free_later(q, m->host, q->cluster_size);
	return 0;
}

static int q2_write_piece(struct qcow2 *q, const struct iovec *sl, unsigned cnt, uint64_t voff,
			  uint64_t len)
{
	uint64_t coff = voff & (q->cluster_size - 1), host;
	struct q2_map m;
	int rc = q2_lookup(q, voff, &m);

	if (rc < 0)
		return rc;
	if (m.kind == Q2_DATA && (m.entry & Q2_COPIED)) {
		if (q2_overlaps_meta(q, m.host, q->cluster_size))
			return q2_bad(q, "data cluster over the image's tables", m.host);
		return q2_data_writev(q, sl, cnt, m.host + coff);
	}
	/* A new cluster: the old content around the written bytes, then the entry. */
	rc = q2_alloc_cluster(q, &host);
	if (rc < 0)
		return rc;
	if (len == q->cluster_size) {
		rc = q2_data_writev(q, sl, cnt, host);
	} else {
		rc = q2_old_content(q, &m, voff - coff, q->cow);
		if (rc == 0) {
			iov_to_buf(sl, cnt, 0, q->cow + coff, (size_t)len);
			struct iovec cl = {.iov_base = q->cow, .iov_len = (size_t)q->cluster_size};

			rc = q2_data_writev(q, &cl, 1, host);
		}
	}
	if (rc == 0)
		rc = q2_set_entry(q, voff, host | Q2_COPIED);
	if (rc == 0)
		rc = q2_drop_old(q, &m);
	return rc;
}

int qcow2_write(struct qcow2 *q, const struct iovec *iov, unsigned niov, uint64_t off, uint64_t len)
{
	if (q->readonly)
		return -EROFS;
	return q2_each_piece(q, iov, niov, off, len, q2_write_piece);
}

/* ---- zeroes and discard ---- */

static int q2_zero_write(struct qcow2 *q, uint64_t voff, uint64_t len)
{
	struct iovec v = {.iov_base = q->zeroes, .iov_len = (size_t)len};

	return q2_write_piece(q, &v, 1, voff, len);
}

/* A whole cluster to `entry` (0 or Q2_ZERO), dropping what it had. */
static int q2_set_cluster(struct qcow2 *q, uint64_t voff, uint64_t entry)
{
	struct q2_map m;
	int rc = q2_lookup(q, voff, &m);

	if (rc < 0)
		return rc;
	if ((m.kind == Q2_UNALLOC && entry == 0) || (m.kind == Q2_ZEROES && !m.host && entry))
		return 0;
	rc = q2_set_entry(q, voff, entry);
	return rc < 0 ? rc : q2_drop_old(q, &m);
}

static int q2_zero_piece(struct qcow2 *q, const struct iovec *sl, unsigned cnt, uint64_t voff,
			 uint64_t len)
{
	(void)sl;
	(void)cnt;
	if (len < q->cluster_size)
		return q2_zero_write(q, voff, len);
	if (q->back.fd < 0) /* unallocated clusters read as zeroes */
		return q2_set_cluster(q, voff, 0);
	if (q->version >= 3)
		return q2_set_cluster(q, voff, Q2_ZERO);
	return q2_zero_write(q, voff, len); /* v2 over a backing file: real zeroes */
}

static int q2_discard_piece(struct qcow2 *q, const struct iovec *sl, unsigned cnt, uint64_t voff,
			    uint64_t len)
{
	(void)sl;
	(void)cnt;
	if (len < q->cluster_size)
		return 0;
	if (q->back.fd < 0)
		return q2_set_cluster(q, voff, 0);
	if (q->version >= 3) /* reads as zeroes, not as the backing file */
		return q2_set_cluster(q, voff, Q2_ZERO);
	return 0;
}

int qcow2_write_zeroes(struct qcow2 *q, uint64_t off, uint64_t len)
{
	if (q->readonly)
		return -EROFS;
	return q2_each_piece(q, NULL, 0, off, len, q2_zero_piece);
}

int qcow2_discard(struct qcow2 *q, uint64_t off, uint64_t len)
{
	if (q->readonly)
		return -EROFS;
	return q2_each_piece(q, NULL, 0, off, len, q2_discard_piece);
}

int qcow2_flush(struct qcow2 *q)
{
	return q->readonly ? 0 : q2_commit(q);
}
