/* qcow2's internals, shared by qcow2.c (header, lookups, reads, writes) and qcow2_meta.c
 * (the L2 cache, refcounts, allocation, flush). Not for other modules. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backends/dio.h"
#include "backends/qcow2.h"
#include "common/bytes.h" /* big-endian: qcow2 stores everything so */

#define Q2_MAGIC 0x514649fbu /* "QFI\xfb" */

/* L1/L2 entry fields (the qcow2 specification). */
#define Q2_COPIED     (1ull << 63) /* refcount is exactly one: may be written in place */
#define Q2_COMPRESSED (1ull << 62)
#define Q2_ZERO	      1ull		    /* v3: reads as zeroes */
#define Q2_OFF_MASK   0x00fffffffffffe00ull /* bits 9-55 */
#define Q2_L1_RSVD    0x7f000000000001ffull
#define Q2_L2_RSVD    0x3f000000000001feull

#define Q2_L2_CACHE	 32 /* tables */
#define Q2_RB_CACHE	 8  /* refcount blocks */
#define Q2_POOL		 32 /* clusters reserved (refcounts made durable) at a time */
#define Q2_MAX_FREES	 256
#define Q2_MAX_RT_BYTES	 (8u << 20) /* the largest refcount table opened or grown to */
#define Q2_BUF_ALIGN	 4096u	    /* cow, zeroes; the least cluster size for direct=on */
#define Q2_H_RT_OFF	 48	    /* header: refcount_table_offset (be64; qcow2.c has the rest) */
#define Q2_H_RT_CLUSTERS 56	    /* header: refcount_table_clusters (be32) */

struct q2_table {      /* one cached cluster of metadata: an L2 table or a refcount block */
	uint64_t off;  /* host offset; 0: slot empty */
	uint64_t used; /* LRU tick */
	bool dirty;    /* L2 only: changed in memory, not yet written */
	uint8_t *buf;  /* cluster_size bytes, as on disk (big-endian) */
};

struct q2_backing { /* the read-only image under this one */
	int fd;
	struct qcow2 *q; /* NULL: raw */
	uint64_t size;
	char *path;	/* where it was opened: direct=on opens it again with O_DIRECT */
	int dfd;	/* that O_DIRECT descriptor, or -1 */
	struct dio dio; /* raw: its reads (O_DIRECT where aligned, with dfd) */
};

struct qcow2 {
	int fd;		/* buffered: the header, tables, refcounts; syncs */
	struct dio dio; /* guest data: O_DIRECT where aligned (qcow2_set_direct), else fd */
	bool readonly;
	char name[64];
	unsigned version, cluster_bits, l2_bits, rb_bits, refcount_order;
	uint64_t cluster_size, size, file_end; /* file_end: cluster-aligned allocation end */
	uint64_t l1_off, rt_off;
	uint32_t l1_size, rt_entries;
	uint64_t *l1;	       /* host order */
	uint64_t *rt;	       /* host order */
	uint64_t *l1_dirty;    /* bitmap: L1 entries changed in memory only */
	unsigned hdr_clusters; /* the header and its extensions */
	struct q2_table l2c[Q2_L2_CACHE], rbc[Q2_RB_CACHE];
	uint64_t tick;
	uint64_t pool_next, pool_end;	 /* reserved clusters, host offsets */
	uint64_t free_hint;		 /* first cluster index that may be free */
	uint64_t frees[Q2_MAX_FREES][2]; /* (offset, length) freed once the next sync is done */
	unsigned nfrees;
	uint8_t *zbuf;	  /* one decompressed cluster */
	uint8_t *cbuf;	  /* compressed bytes (two clusters) */
	uint8_t *cow;	  /* one cluster: copy-on-write merges */
	uint8_t *zeroes;  /* one cluster of zeroes (writable images) */
	uint64_t zkey;	  /* the L2 entry whose data is in zbuf; 0: none */
	struct iovec *sl; /* a slice of a request's iovecs */
	unsigned sl_cap;
	struct q2_backing back;
	qcow2_hook_fn hook;
	void *hook_arg;
	bool warned;
};

/* The file's I/O, through the test hook. */
int q2_pwritev(struct qcow2 *q, const char *kind, const struct iovec *iov, unsigned niov,
	       uint64_t off);
int q2_pwrite(struct qcow2 *q, const char *kind, const void *buf, uint64_t len, uint64_t off);
/* Guest data in data clusters, at file offsets: through q->dio. */
int q2_data_writev(struct qcow2 *q, const struct iovec *iov, unsigned niov, uint64_t off);
int q2_data_readv(struct qcow2 *q, const struct iovec *iov, unsigned niov, uint64_t off);
int q2_pread(struct qcow2 *q, void *buf, uint64_t len, uint64_t off, bool zero_past_eof);
int q2_sync(struct qcow2 *q);
int q2_bad(struct qcow2 *q, const char *what, uint64_t value); /* -EIO, one warning */

/* qcow2_meta.c */
int q2_meta_init(struct qcow2 *q);
void q2_meta_free(struct qcow2 *q);
/* The L2 table at host offset off (checked), cached; NULL with *rc set on failure. */
uint8_t *q2_l2_get(struct qcow2 *q, uint64_t off, int *rc);
void q2_l2_mark_dirty(struct qcow2 *q, uint64_t off);
/* A new L2 table for L1 index i: a copy of the old one (or zeroes), entry set in memory. */
int q2_l2_new(struct qcow2 *q, uint32_t i);
int q2_alloc_cluster(struct qcow2 *q, uint64_t *off);
/* Queues clusters covering [off, off+len) to lose one reference after the next sync. */
int q2_free_later(struct qcow2 *q, uint64_t off, uint64_t len);
/* Dirty L2 tables, then L1 entries, each after a sync, then a sync and the queued frees. */
int q2_commit(struct qcow2 *q);
int q2_release_pool(struct qcow2 *q);
bool q2_overlaps_meta(const struct qcow2 *q, uint64_t off, uint64_t len);
