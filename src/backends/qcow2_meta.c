/* qcow2 metadata: the L2 and refcount block caches, cluster allocation, frees, and the
 * order in which changes reach the file (docs/qcow2.md, "Crash consistency"):
 * - a cluster's refcount is written before anything points to it, and made durable by the
 *   sync that precedes every table write (clusters are reserved Q2_POOL at a time, so a crash
 *   leaks at most those, never corrupts);
 * - L2 tables are written back (on flush, or when the cache needs room) only after a sync
 *   has made the data they point to durable; new L1 entries only after a sync has made
 *   their new L2 tables durable;
 * - a cluster loses its reference only after a sync has made the entries that no longer
 *   point to it durable. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/qcow2.h"
#include "backends/qcow2_int.h"
#include "common/bytes.h"
#include "common/log.h"

int q2_meta_init(struct qcow2 *q)
{
	for (unsigned i = 0; i < Q2_L2_CACHE; i++)
		if (!(q->l2c[i].buf = malloc((size_t)q->cluster_size)))
			return -ENOMEM;
	for (unsigned i = 0; i < Q2_RB_CACHE; i++)
		if (!(q->rbc[i].buf = malloc((size_t)q->cluster_size)))
			return -ENOMEM;
	return 0;
}

void q2_meta_free(struct qcow2 *q)
{
	for (unsigned i = 0; i < Q2_L2_CACHE; i++)
		free(q->l2c[i].buf);
	for (unsigned i = 0; i < Q2_RB_CACHE; i++)
		free(q->rbc[i].buf);
}

/* ---- the caches ---- */

static struct q2_table *q2_cache_find(struct qcow2 *q, struct q2_table *c, unsigned n, uint64_t off)
{
	for (unsigned i = 0; i < n; i++)
		if (c[i].off == off) {
			c[i].used = ++q->tick;
			return &c[i];
		}
	return NULL;
}

/* A slot for off: the least recently used one, written back first if dirty. */
static struct q2_table *q2_cache_slot(struct qcow2 *q, struct q2_table *c, unsigned n, uint64_t off,
				      int *rc)
{
	struct q2_table *v = &c[0];

	for (unsigned i = 1; i < n; i++)
		if (c[i].used < v->used)
			v = &c[i];
	if (v->dirty) {
		*rc = q2_commit(q);
		if (*rc < 0)
			return NULL;
	}
	/* A hostile image's refcounts may hand out a cluster it already uses as a table:
	 * never two slots for one offset. */
	for (unsigned i = 0; i < n; i++)
		if (c[i].off == off && &c[i] != v) {
			c[i].off = 0;
			c[i].dirty = false;
		}
	v->off = off;
	v->used = ++q->tick;
	v->dirty = false;
	return v;
}

static uint8_t *q2_cache_get(struct qcow2 *q, struct q2_table *c, unsigned n, uint64_t off,
			     const char *what, int *rc)
{
	struct q2_table *t;

	if (!off || (off & (q->cluster_size - 1)) || q2_overlaps_meta(q, off, q->cluster_size)) {
		*rc = q2_bad(q, what, off);
		return NULL;
	}
	t = q2_cache_find(q, c, n, off);
	if (t)
		return t->buf;
	t = q2_cache_slot(q, c, n, off, rc);
	if (!t)
		return NULL;
	*rc = q2_pread(q, t->buf, q->cluster_size, off, false);
	if (*rc < 0) {
		t->off = 0;
		t->used = 0;
		if (*rc == -EIO)
			*rc = q2_bad(q, what, off);
		return NULL;
	}
	return t->buf;
}

uint8_t *q2_l2_get(struct qcow2 *q, uint64_t off, int *rc)
{
	return q2_cache_get(q, q->l2c, Q2_L2_CACHE, off, "bad L2 table offset", rc);
}

void q2_l2_mark_dirty(struct qcow2 *q, uint64_t off)
{
	struct q2_table *t = q2_cache_find(q, q->l2c, Q2_L2_CACHE, off);

	if (t)
		t->dirty = true;
}

int q2_l2_new(struct qcow2 *q, uint32_t i1)
{
	struct q2_table *t;
	uint64_t off;
	int rc = q2_alloc_cluster(q, &off);

	if (rc < 0)
		return rc;
	t = q2_cache_slot(q, q->l2c, Q2_L2_CACHE, off, &rc);
	if (!t)
		return rc;
	memset(t->buf, 0, (size_t)q->cluster_size);
	t->dirty = true;
	q->l1[i1] = off | Q2_COPIED;
	q->l1_dirty[i1 / 64] |= 1ull << (i1 % 64);
	return 0;
}

/* ---- refcounts ---- */

static uint64_t rb_get(const struct qcow2 *q, const uint8_t *b, uint64_t i)
{
	unsigned o = q->refcount_order;

	switch (o) {
	case 3:
		return b[i];
	case 4:
		return get_be16(b + i * 2);
	case 5:
		return get_be32(b + i * 4);
	case 6:
		return get_be64(b + i * 8);
	default: /* 1, 2 or 4 bits, least significant first */
		return (b[(i << o) / 8] >> ((i << o) % 8)) & ((1u << (1u << o)) - 1);
	}
}

/* Stores v and returns the byte that holds (the first byte of) the entry. */
static size_t rb_set(const struct qcow2 *q, uint8_t *b, uint64_t i, uint64_t v)
{
	unsigned o = q->refcount_order, shift, mask;

	switch (o) {
	case 3:
		b[i] = (uint8_t)v;
		return (size_t)i;
	case 4:
		put_be16(b + i * 2, (uint16_t)v);
		return (size_t)i * 2;
	case 5:
		put_be32(b + i * 4, (uint32_t)v);
		return (size_t)i * 4;
	case 6:
		put_be64(b + i * 8, v);
		return (size_t)i * 8;
	default:
		shift = (unsigned)((i << o) % 8);
		mask = ((1u << (1u << o)) - 1) << shift;
		b[(i << o) / 8] = (uint8_t)((b[(i << o) / 8] & ~mask) | ((v << shift) & mask));
		return (size_t)((i << o) / 8);
	}
}

static uint64_t rb_max(const struct qcow2 *q)
{
	return q->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << q->refcount_order)) - 1;
}

static int q2_unref_range(struct qcow2 *q, uint64_t off, uint64_t len);

/* How many clusters a refcount table that has an entry ri needs when it must grow: twice the
 * entries it has (or ri + 1, if more), no larger than Q2_MAX_RT_BYTES, and small enough to
 * share range ri with its refcount block (q2_new_refblock); 0 if ri cannot fit. */
static uint64_t q2_rt_grown(const struct qcow2 *q, uint64_t ri)
{
	uint64_t per = q->cluster_size / 8, need = ri / per + 1;
	uint64_t want = ((uint64_t)q->rt_entries * 2 + per - 1) / per;
	uint64_t most = Q2_MAX_RT_BYTES >> q->cluster_bits, room = (1ull << q->rb_bits) - 1;

	if (most > room)
		most = room;
	if (want < need)
		want = need;
	if (want > most)
		want = most;
	return need <= want ? want : 0;
}

/* Moves the refcount table to tclusters clusters at toff, with entry ri pointing to the
 * refcount block at rb (which counts toff's clusters, and is durable): the new table is
 * written and synced, then the header points to it and is synced (one sector: the switch
 * is atomic), then the old table's clusters lose their reference. A crash before the header
 * write leaves the old table in force and the new clusters unreferenced; after it, the old
 * table's clusters leak at most. */
static int q2_move_reftable(struct qcow2 *q, uint64_t ri, uint64_t rb, uint64_t toff,
			    uint64_t tclusters)
{
	uint64_t bytes = tclusters << q->cluster_bits, old = q->rt_off;
	uint64_t old_bytes = (uint64_t)q->rt_entries * 8;
	uint32_t n = (uint32_t)(bytes / 8);
	uint64_t *rt = calloc((size_t)n + 1, 8); /* as q2_read_table allocates */
	uint8_t *raw = calloc(1, (size_t)bytes), h[12];
	int rc = -ENOMEM;

	if (rt && raw) {
		memcpy(rt, q->rt, old_bytes);
		rt[ri] = rb;
		for (uint32_t i = 0; i < n; i++)
			put_be64(raw + (size_t)i * 8, rt[i]);
		rc = q2_pwrite(q, "reftable", raw, bytes, toff);
	}
	if (rc == 0)
		rc = q2_sync(q);
	put_be64(h, toff);
	put_be32(h + 8, (uint32_t)tclusters);
	if (rc == 0)
		rc = q2_pwrite(q, "header", h, sizeof(h), Q2_H_RT_OFF);
	if (rc == 0)
		rc = q2_sync(q);
	free(raw);
	if (rc < 0) {
		free(rt);
		return rc;
	}
	free(q->rt);
	q->rt = rt;
	q->rt_off = toff;
	q->rt_entries = n;
	/* The header's sync made the switch durable: nothing points to the old table now. If
	 * its clusters cannot be given back they leak; the new table stands either way. */
	if (q2_unref_range(q, old, old_bytes) < 0)
		pr_debug("disk '%s': the old refcount table's clusters leak", q->name);
	return 0;
}

/* A new, self-describing refcount block for refcount table index ri: at the first cluster
 * of the range it covers (the whole range is free, having no block), counting itself.
 * The block is durable before the table points to it. When the table has no entry ri, a
 * larger table is made right after the block, in the same range (the block counts its
 * clusters too), and replaces the old one (q2_move_reftable). */
static int q2_new_refblock(struct qcow2 *q, uint64_t ri)
{
	uint64_t off = ri << (q->rb_bits + q->cluster_bits), be, grow = 0;
	struct q2_table *t;
	uint8_t raw[8];
	int rc;

	if (ri >= (1ull << (56 - q->rb_bits - q->cluster_bits)))
		return -ENOSPC; /* past the largest offset an entry can hold */
	if (ri >= q->rt_entries && !(grow = q2_rt_grown(q, ri))) {
		pr_warn("disk '%s': the refcount table cannot grow to %llu entries", q->name,
			(unsigned long long)ri + 1);
		return -ENOSPC;
	}
	if (!off || q2_overlaps_meta(q, off, (1 + grow) << q->cluster_bits))
		return q2_bad(q, "refcount block over the image's tables", off);
	t = q2_cache_slot(q, q->rbc, Q2_RB_CACHE, off, &rc);
	if (!t)
		return rc;
	memset(t->buf, 0, (size_t)q->cluster_size);
	for (uint64_t i = 0; i <= grow; i++)
		rb_set(q, t->buf, i, 1);
	rc = q2_pwrite(q, "refblock", t->buf, q->cluster_size, off);
	if (rc == 0)
		rc = q2_sync(q);
	be = off;
	put_be64(raw, be);
	if (rc == 0 && grow)
		rc = q2_move_reftable(q, ri, off, off + q->cluster_size, grow);
	else if (rc == 0)
		rc = q2_pwrite(q, "reftable", raw, 8, q->rt_off + ri * 8);
	if (rc == 0 && !grow)
		rc = q2_sync(q);
	if (rc < 0) {
		t->off = 0;
		return rc;
	}
	q->rt[ri] = off;
	if (off + ((1 + grow) << q->cluster_bits) > q->file_end)
		q->file_end = off + ((1 + grow) << q->cluster_bits);
	return 0;
}

/* The refcount block covering cluster ci, and the entry's index in it; with `create`, a
 * missing block is made. NULL with *rc = 0: no block (refcount 0). */
static uint8_t *q2_rb_of(struct qcow2 *q, uint64_t ci, bool create, uint64_t *idx, int *rc)
{
	uint64_t ri = ci >> q->rb_bits;

	*rc = 0;
	*idx = ci & ((1ull << q->rb_bits) - 1);
	if (ri >= q->rt_entries || !(q->rt[ri] & ~511ull)) {
		if (!create)
			return NULL;
		*rc = q2_new_refblock(q, ri);
		if (*rc < 0)
			return NULL;
	}
	if (q->rt[ri] & 511)
		*rc = q2_bad(q, "reserved bits in a refcount table entry", q->rt[ri]);
	if (*rc < 0)
		return NULL;
	return q2_cache_get(q, q->rbc, Q2_RB_CACHE, q->rt[ri], "bad refcount block offset", rc);
}

static int q2_refcount(struct qcow2 *q, uint64_t ci, bool create, uint64_t *v)
{
	uint64_t idx;
	int rc;
	uint8_t *b = q2_rb_of(q, ci, create, &idx, &rc);

	*v = b ? rb_get(q, b, idx) : 0;
	return rc;
}

/* Adds delta (+1 or -1) to cluster ci's refcount and writes the entry through. */
static int q2_ref_add(struct qcow2 *q, uint64_t ci, int delta, uint64_t *now)
{
	uint64_t idx, v;
	int rc;
	uint8_t *b = q2_rb_of(q, ci, delta > 0, &idx, &rc);
	size_t at, len = q->refcount_order > 3 ? 1u << (q->refcount_order - 3) : 1;

	if (!b)
		return rc < 0 ? rc : q2_bad(q, "freeing a cluster with no refcount", ci);
	v = rb_get(q, b, idx);
	if ((delta < 0 && v == 0) || (delta > 0 && v == rb_max(q)))
		return q2_bad(q, "refcount out of range", ci);
	v = delta < 0 ? v - 1 : v + 1;
	at = rb_set(q, b, idx, v);
	*now = v;
	return q2_pwrite(q, "refblock", b + at, len, q->rt[ci >> q->rb_bits] + at);
}

/* ---- allocation ---- */

/* The first run of free clusters from free_hint (up to Q2_POOL long) gets refcount 1 and
 * becomes the pool new clusters are taken from. */
static int q2_refill(struct qcow2 *q)
{
	uint64_t ci = q->free_hint, hint0 = q->free_hint, start = 0, run = 0, v;
	/* Past the file's end every cluster is free in a sound image (new refcount blocks
	 * aside): a hostile one that says otherwise gets no space, not a scan of 2^56 bytes. */
	uint64_t limit = (q->file_end >> q->cluster_bits) + Q2_POOL + 2;
	int rc;

	while (run < Q2_POOL && ci < limit) {
		rc = q2_refcount(q, ci, true, &v);
		if (rc < 0)
			return rc;
		if (q2_overlaps_meta(q, ci << q->cluster_bits, q->cluster_size))
			v = 1; /* a hostile image's refcounts may call its own tables free */
		if (v && run)
			break;
		if (!v && !run++)
			start = ci;
		ci++;
	}
	if (!run)
		return -ENOSPC;
	for (uint64_t i = 0; i < run; i++) {
		rc = q2_ref_add(q, start + i, 1, &v);
		if (rc < 0)
			return rc;
	}
	/* No sync here: nothing points to these clusters before q2_commit, whose first sync
	 * makes these refcounts durable along with the data. */
	/* (A refcount table that moved while scanning freed its old clusters below start.) */
	if (q->free_hint >= hint0)
		q->free_hint = start + run;
	q->pool_next = start << q->cluster_bits;
	q->pool_end = (start + run) << q->cluster_bits;
	if (q->pool_end > q->file_end)
		q->file_end = q->pool_end;
	return 0;
}

int q2_alloc_cluster(struct qcow2 *q, uint64_t *off)
{
	if (q->pool_next == q->pool_end) {
		int rc = q2_refill(q);

		if (rc < 0)
			return rc;
	}
	*off = q->pool_next;
	q->pool_next += q->cluster_size;
	return 0;
}

static int q2_unref_range(struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t first = off >> q->cluster_bits, last = (off + len - 1) >> q->cluster_bits, now;

	for (uint64_t ci = first; ci <= last; ci++) {
		int rc = q2_ref_add(q, ci, -1, &now);

		if (rc < 0)
			return rc;
		if (now)
			continue;
		if (ci < q->free_hint)
			q->free_hint = ci;
		/* Give the space back to the host; the cluster reads as zeroes when reused. */
		(void)fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)(ci << q->cluster_bits), (off_t)q->cluster_size);
	}
	return 0;
}

int q2_release_pool(struct qcow2 *q)
{
	int rc = 0;

	if (q->pool_next < q->pool_end)
		rc = q2_unref_range(q, q->pool_next, q->pool_end - q->pool_next);
	q->pool_next = q->pool_end = 0;
	return rc;
}

int q2_free_later(struct qcow2 *q, uint64_t off, uint64_t len)
{
	if (!len)
		return 0;
	if (q->nfrees && q->frees[q->nfrees - 1][0] + q->frees[q->nfrees - 1][1] == off &&
	    !(off & (q->cluster_size - 1))) {
		q->frees[q->nfrees - 1][1] += len; /* clusters freed in a row: one range */
		return 0;
	}
	if (q->nfrees == Q2_MAX_FREES) {
		int rc = q2_commit(q);

		if (rc < 0)
			return rc;
	}
	q->frees[q->nfrees][0] = off;
	q->frees[q->nfrees][1] = len;
	q->nfrees++;
	return 0;
}

/* ---- write-back ---- */

static int q2_write_l1(struct qcow2 *q)
{
	for (uint32_t w = 0; w < (q->l1_size + 63) / 64; w++) {
		while (q->l1_dirty[w]) {
			uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(q->l1_dirty[w]);
			uint8_t raw[8];
			int rc;

			put_be64(raw, q->l1[i]);
			rc = q2_pwrite(q, "l1", raw, 8, q->l1_off + (uint64_t)i * 8);
			if (rc < 0)
				return rc;
			q->l1_dirty[w] &= q->l1_dirty[w] - 1;
		}
	}
	return 0;
}

static bool q2_l1_dirty(const struct qcow2 *q)
{
	for (uint32_t w = 0; w < (q->l1_size + 63) / 64; w++)
		if (q->l1_dirty[w])
			return true;
	return false;
}

int q2_commit(struct qcow2 *q)
{
	bool wrote = q->nfrees > 0;
	int rc;

	if (q->readonly)
		return 0;
	rc = q2_sync(q); /* data (and fresh refcounts) before the tables that point to them */
	for (unsigned i = 0; rc == 0 && i < Q2_L2_CACHE; i++) {
		struct q2_table *t = &q->l2c[i];

		if (!t->dirty)
			continue;
		rc = q2_pwrite(q, "l2", t->buf, q->cluster_size, t->off);
		t->dirty = rc < 0;
		wrote = true;
	}
	if (rc == 0 && q2_l1_dirty(q)) {
		rc = q2_sync(q); /* new L2 tables before the L1 entries that point to them */
		if (rc == 0)
			rc = q2_write_l1(q);
		wrote = true;
	}
	if (rc == 0 && wrote)
		rc = q2_sync(q); /* and cleared entries before their clusters' refcounts drop */
	while (rc == 0 && q->nfrees) {
		rc = q2_unref_range(q, q->frees[q->nfrees - 1][0], q->frees[q->nfrees - 1][1]);
		q->nfrees--; /* even on failure: never drop a reference twice */
	}
	return rc;
}
