/* qcow2: the header, its checks, the backing chain, open and close (see qcow2.h). */
#include "backends/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/qcow2_int.h"
#include "common/bytes.h"
#include "common/log.h"

/* Header fields (byte offsets; big-endian). */
enum {
	H_MAGIC = 0,
	H_VERSION = 4,
	H_BACKING_OFF = 8,
	H_BACKING_LEN = 16,
	H_CLUSTER_BITS = 20,
	H_SIZE = 24,
	H_CRYPT = 32,
	H_L1_SIZE = 36,
	H_L1_OFF = 40,
	H_RT_OFF = Q2_H_RT_OFF,
	H_RT_CLUSTERS = Q2_H_RT_CLUSTERS,
	H_NB_SNAPSHOTS = 60,
	H_V2_END = 72,
	H_INCOMPAT = 72,
	H_COMPAT = 80,
	H_AUTOCLEAR = 88,
	H_REFCOUNT_ORDER = 96,
	H_HEADER_LEN = 100,
	H_V3_MIN = 104,
};

#define EXT_BACKING_FMT 0xe2792acau
#define MAX_L1_BYTES	(32u << 20)
#define MAX_BACKING_LEN 1023

/* Incompatible feature bits and why each is refused. */
static const struct {
	uint64_t bit;
	const char *why;
} q2_incompat[] = {
    {1ull << 0, "was not closed cleanly (dirty bit set): run 'qemu-img check -r all' on it"},
    {1ull << 1, "is marked corrupt: run 'qemu-img check -r all' on it"},
    {1ull << 2, "uses an external data file, which is not supported"},
    {1ull << 3, "uses a compression type other than zlib, which is not supported"},
    {1ull << 4, "uses extended L2 entries (subclusters), which are not supported"},
};

static int q2_open_depth(struct qcow2 **out, int fd, const char *path, bool readonly,
			 bool allow_backing, unsigned depth, char *err, size_t errlen);

static bool range_in(uint64_t off, uint64_t len, uint64_t limit)
{
	return off <= limit && len <= limit - off;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

bool q2_overlaps_meta(const struct qcow2 *q, uint64_t off, uint64_t len)
{
	return ranges_overlap(off, len, 0, (uint64_t)q->hdr_clusters << q->cluster_bits) ||
	       ranges_overlap(off, len, q->l1_off, (uint64_t)q->l1_size * 8) ||
	       ranges_overlap(off, len, q->rt_off, (uint64_t)q->rt_entries * 8);
}

static int q2_refuse(char *err, size_t errlen, const char *path, const char *why)
{
	snprintf(err, errlen, "disk '%s': qcow2 image %s", path, why);
	return -EINVAL;
}

static int q2_check_features(const uint8_t *h, unsigned version, const char *path, char *err,
			     size_t errlen)
{
	uint64_t incompat = version >= 3 ? get_be64(h + H_INCOMPAT) : 0;

	if (get_be32(h + H_CRYPT))
		return q2_refuse(err, errlen, path, "is encrypted, which is not supported");
	for (size_t i = 0; i < ARRAY_SIZE(q2_incompat); i++) {
		if (incompat & q2_incompat[i].bit)
			return q2_refuse(err, errlen, path, q2_incompat[i].why);
		incompat &= ~q2_incompat[i].bit;
	}
	if (incompat) {
		snprintf(err, errlen,
			 "disk '%s': qcow2 image has unknown incompatible features 0x%llx", path,
			 (unsigned long long)incompat);
		return -EINVAL;
	}
	return 0;
}

/* Geometry: cluster size, refcount width, virtual size. */
static int q2_parse_geometry(struct qcow2 *q, const uint8_t *h, const char *path, char *err,
			     size_t errlen)
{
	uint64_t l2_span, need;

	q->version = get_be32(h + H_VERSION);
	if (q->version != 2 && q->version != 3) {
		snprintf(err, errlen, "disk '%s': qcow2 version %u is not supported (2 or 3)", path,
			 q->version);
		return -EINVAL;
	}
	q->cluster_bits = get_be32(h + H_CLUSTER_BITS);
	if (q->cluster_bits < 9 || q->cluster_bits > 21)
		return q2_refuse(err, errlen, path, "has a cluster size outside 512 B to 2 MiB");
	q->cluster_size = 1ull << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	q->refcount_order = q->version >= 3 ? get_be32(h + H_REFCOUNT_ORDER) : 4;
	if (q->refcount_order > 6)
		return q2_refuse(err, errlen, path, "has a refcount order above 6");
	q->rb_bits = q->cluster_bits + 3 - q->refcount_order;
	q->size = get_be64(h + H_SIZE);
	q->l1_size = get_be32(h + H_L1_SIZE);
	l2_span = q->cluster_size << q->l2_bits;
	if (q->size > (1ull << 56) || q->l1_size > MAX_L1_BYTES / 8)
		return q2_refuse(err, errlen, path, "is too large");
	need = (q->size + l2_span - 1) / l2_span;
	if (q->l1_size < need)
		return q2_refuse(err, errlen, path, "has an L1 table too small for its size");
	return 0;
}

/* Where the tables are: aligned, inside the file, not over each other or the header. */
static int q2_parse_tables(struct qcow2 *q, const uint8_t *h, uint64_t fsize, const char *path,
			   char *err, size_t errlen)
{
	uint64_t cmask = q->cluster_size - 1, rt_clusters = get_be32(h + H_RT_CLUSTERS);
	uint64_t l1_bytes = (uint64_t)q->l1_size * 8, rt_bytes = rt_clusters << q->cluster_bits;

	q->l1_off = get_be64(h + H_L1_OFF);
	q->rt_off = get_be64(h + H_RT_OFF);
	if ((q->l1_off & cmask) || (q->rt_off & cmask))
		return q2_refuse(err, errlen, path, "has a table that is not cluster-aligned");
	if (rt_clusters == 0 || rt_bytes > Q2_MAX_RT_BYTES)
		return q2_refuse(err, errlen, path, "has a refcount table of a bad size");
	if ((l1_bytes && (!q->l1_off || !range_in(q->l1_off, l1_bytes, fsize))) || !q->rt_off ||
	    !range_in(q->rt_off, rt_bytes, fsize))
		return q2_refuse(err, errlen, path, "has a table outside the file");
	q->rt_entries = (uint32_t)(rt_bytes / 8);
	if (ranges_overlap(q->l1_off, l1_bytes, q->rt_off, rt_bytes) ||
	    ranges_overlap(q->l1_off, l1_bytes, 0, q->cluster_size) ||
	    ranges_overlap(q->rt_off, rt_bytes, 0, q->cluster_size))
		return q2_refuse(err, errlen, path, "has overlapping tables");
	q->hdr_clusters = 1;
	return 0;
}

/* Header extensions (up to the end of the first cluster): the backing file's format. */
static int q2_parse_extensions(struct qcow2 *q, const uint8_t *h, char *fmt, size_t fmtlen,
			       const char *path, char *err, size_t errlen)
{
	uint64_t pos = H_V2_END;

	if (q->version >= 3) {
		pos = get_be32(h + H_HEADER_LEN);
		if (pos < H_V3_MIN || pos > q->cluster_size - 8)
			return q2_refuse(err, errlen, path, "has a bad header length");
	}
	while (pos + 8 <= q->cluster_size) {
		uint32_t type = get_be32(h + pos), len = get_be32(h + pos + 4);

		if (type == 0)
			return 0;
		if (len > q->cluster_size - pos - 8)
			return q2_refuse(err, errlen, path,
					 "has a header extension past its cluster");
		if (type == EXT_BACKING_FMT) {
			if (len >= fmtlen)
				return q2_refuse(err, errlen, path, "has a bad backing format");
			memcpy(fmt, h + pos + 8, len);
			fmt[len] = 0;
		}
		pos += 8 + ((len + 7ull) & ~7ull);
	}
	return 0;
}

static int q2_read_table(struct qcow2 *q, uint64_t **tab, uint64_t off, uint32_t n, char *err,
			 size_t errlen)
{
	uint8_t *raw = malloc((size_t)n * 8 + 1);
	int rc;

	*tab = calloc((size_t)n + 1, 8);
	if (!raw || !*tab) {
		free(raw);
		snprintf(err, errlen, "disk '%s': out of memory", q->name);
		return -ENOMEM;
	}
	rc = q2_pread(q, raw, (uint64_t)n * 8, off, false);
	if (rc < 0) {
		snprintf(err, errlen, "disk '%s': cannot read its tables: %s", q->name,
			 strerror(-rc));
	} else {
		for (uint32_t i = 0; i < n; i++)
			(*tab)[i] = get_be64(raw + (size_t)i * 8);
	}
	free(raw);
	return rc;
}

/* Image-relative backing paths are taken from the image's own folder. */
static int q2_backing_path(char *out, size_t outlen, const char *path, const char *name)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (name[0] == '/' || !slash)
		n = snprintf(out, outlen, "%s", name);
	else
		n = snprintf(out, outlen, "%.*s/%s", (int)(slash - path), path, name);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

static int q2_open_backing_file(struct qcow2 *q, const char *bpath, const char *fmt, unsigned depth,
				char *err, size_t errlen)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	struct stat st;
	int rc;

	q->back.fd = open(bpath, O_RDONLY | O_CLOEXEC);
	q->back.dio = (struct dio){.fd = q->back.fd, .fd_buffered = q->back.fd, .align = 0};
	q->back.path = strdup(bpath);
	if (!q->back.path) {
		snprintf(err, errlen, "disk '%s': out of memory", q->name);
		return -ENOMEM;
	}
	if (q->back.fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "disk '%s': backing file '%s': %s", q->name, bpath,
			 strerror(-rc));
		return rc;
	}
	if (fcntl(q->back.fd, F_OFD_SETLK, &fl) < 0 && (errno == EAGAIN || errno == EACCES)) {
		snprintf(err, errlen, "disk '%s': backing file '%s' is being written by another VM",
			 q->name, bpath);
		return -EBUSY;
	}
	if (!strcmp(fmt, "qcow2")) {
		rc = q2_open_depth(&q->back.q, q->back.fd, bpath, true, true, depth + 1, err,
				   errlen);
		if (rc == 0)
			q->back.size = q->back.q->size;
		return rc;
	}
	if (fstat(q->back.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "disk '%s': backing file '%s' is not a regular file", q->name,
			 bpath);
		return -EINVAL;
	}
	q->back.size = (uint64_t)st.st_size;
	return 0;
}

static int q2_open_backing(struct qcow2 *q, const uint8_t *h, const char *fmt, const char *path,
			   bool allow, unsigned depth, char *err, size_t errlen)
{
	uint64_t boff = get_be64(h + H_BACKING_OFF);
	uint32_t blen = get_be32(h + H_BACKING_LEN);
	char name[MAX_BACKING_LEN + 1], bpath[4096];

	if (!boff)
		return 0;
	if (!allow)
		return q2_refuse(err, errlen, path,
				 "has a backing file; add backing=on to --disk to open it");
	if (blen == 0 || blen > MAX_BACKING_LEN || !range_in(boff, blen, q->cluster_size))
		return q2_refuse(err, errlen, path, "has a bad backing file name");
	memcpy(name, h + boff, blen);
	name[blen] = 0;
	if (strlen(name) != blen)
		return q2_refuse(err, errlen, path, "has a bad backing file name");
	if (!fmt[0])
		return q2_refuse(err, errlen, path,
				 "records no backing format (set one: qemu-img rebase -u -F FMT)");
	if (strcmp(fmt, "qcow2") && strcmp(fmt, "raw")) {
		snprintf(err, errlen,
			 "disk '%s': backing format '%s' is not supported (qcow2, raw)", path, fmt);
		return -EINVAL;
	}
	if (depth + 1 >= QCOW2_MAX_CHAIN) {
		snprintf(err, errlen, "disk '%s': backing chain longer than %d images", path,
			 QCOW2_MAX_CHAIN);
		return -ELOOP;
	}
	if (q2_backing_path(bpath, sizeof(bpath), path, name) < 0)
		return q2_refuse(err, errlen, path, "has a backing file path too long");
	return q2_open_backing_file(q, bpath, fmt, depth, err, errlen);
}

/* Writable images: autoclear features we don't keep up to date are cleared, as the
 * specification asks of an implementation that doesn't know them. */
static int q2_clear_autoclear(struct qcow2 *q, const uint8_t *h)
{
	uint8_t zero[8] = {0};
	int rc;

	if (q->readonly || q->version < 3 || !get_be64(h + H_AUTOCLEAR))
		return 0;
	rc = q2_pwrite(q, "header", zero, 8, H_AUTOCLEAR);
	return rc < 0 ? rc : q2_sync(q);
}

static int q2_read_header(struct qcow2 *q, uint8_t **hp, uint64_t fsize, const char *path,
			  char *err, size_t errlen)
{
	uint8_t first[H_V3_MIN] = {0};
	unsigned bits;
	int rc = q2_pread(q, first, sizeof(first), 0, true);

	if (rc < 0 || get_be32(first + H_MAGIC) != Q2_MAGIC)
		return q2_refuse(err, errlen, path, "has no qcow2 header");
	bits = get_be32(first + H_CLUSTER_BITS);
	if (bits < 9 || bits > 21)
		return q2_refuse(err, errlen, path, "has a cluster size outside 512 B to 2 MiB");
	*hp = calloc(1, 1ull << bits);
	if (!*hp)
		return -ENOMEM;
	rc = q2_pread(q, *hp, 1ull << bits, 0, true);
	if (rc < 0 || fsize < H_V3_MIN)
		return q2_refuse(err, errlen, path, "is truncated");
	return 0;
}

static int q2_setup(struct qcow2 *q, const char *path, bool allow_backing, unsigned depth,
		    char *err, size_t errlen)
{
	char fmt[16] = "";
	struct stat st;
	uint8_t *h = NULL;
	int rc;

	if (fstat(q->fd, &st) < 0)
		return -errno;
	rc = q2_read_header(q, &h, (uint64_t)st.st_size, path, err, errlen);
	if (rc == 0)
		rc = q2_parse_geometry(q, h, path, err, errlen);
	if (rc == 0)
		rc = q2_check_features(h, q->version, path, err, errlen);
	if (rc == 0)
		rc = q2_parse_tables(q, h, (uint64_t)st.st_size, path, err, errlen);
	if (rc == 0)
		rc = q2_parse_extensions(q, h, fmt, sizeof(fmt), path, err, errlen);
	if (rc == 0 && !q->readonly && get_be32(h + H_NB_SNAPSHOTS))
		rc = q2_refuse(err, errlen, path,
			       "has internal snapshots: open it with readonly=on");
	if (rc == 0 && q->l1_size)
		rc = q2_read_table(q, &q->l1, q->l1_off, q->l1_size, err, errlen);
	if (rc == 0)
		rc = q2_read_table(q, &q->rt, q->rt_off, q->rt_entries, err, errlen);
	if (rc == 0)
		rc = q2_open_backing(q, h, fmt, path, allow_backing, depth, err, errlen);
	if (rc == 0)
		rc = q2_clear_autoclear(q, h);
	q->file_end = ALIGN_UP((uint64_t)st.st_size, q->cluster_size);
	free(h);
	return rc;
}

static int q2_alloc_buffers(struct qcow2 *q)
{
	size_t cs = (size_t)q->cluster_size;

	/* Page-aligned: what is written from cow and zeroes can go O_DIRECT. */
	q->zbuf = malloc(cs);
	q->cbuf = malloc(2 * cs);
	if (posix_memalign((void **)&q->cow, Q2_BUF_ALIGN, cs))
		q->cow = NULL;
	if (posix_memalign((void **)&q->zeroes, Q2_BUF_ALIGN, cs))
		q->zeroes = NULL;
	else
		memset(q->zeroes, 0, cs);
	q->l1_dirty = calloc((q->l1_size + 63) / 64 + 1, 8);
	if (!q->zbuf || !q->cbuf || !q->cow || !q->zeroes || !q->l1_dirty)
		return -ENOMEM;
	return q2_meta_init(q);
}

static void q2_free(struct qcow2 *q)
{
	if (q->back.q)
		qcow2_close(q->back.q);
	if (q->back.fd >= 0)
		close(q->back.fd);
	if (q->back.dfd >= 0)
		close(q->back.dfd);
	free(q->back.path);
	q2_meta_free(q);
	free(q->l1);
	free(q->rt);
	free(q->l1_dirty);
	free(q->zbuf);
	free(q->cbuf);
	free(q->cow);
	free(q->zeroes);
	free(q->sl);
	free(q);
}

static int q2_open_depth(struct qcow2 **out, int fd, const char *path, bool readonly,
			 bool allow_backing, unsigned depth, char *err, size_t errlen)
{
	struct qcow2 *q = calloc(1, sizeof(*q));
	int rc;

	*out = NULL;
	if (!q) {
		snprintf(err, errlen, "disk '%s': out of memory", path);
		return -ENOMEM;
	}
	q->fd = fd;
	q->dio = (struct dio){.fd = fd, .fd_buffered = fd, .align = 0};
	q->back.fd = -1;
	q->back.dfd = -1;
	q->readonly = readonly;
	snprintf(q->name, sizeof(q->name), "%s", path);
	err[0] = 0;
	rc = q2_setup(q, path, allow_backing, depth, err, errlen);
	if (rc == 0) {
		rc = q2_alloc_buffers(q);
		if (rc < 0)
			snprintf(err, errlen, "disk '%s': out of memory", path);
	}
	if (rc < 0) {
		if (!err[0])
			snprintf(err, errlen, "disk '%s': %s", path, strerror(-rc));
		q2_free(q);
		return rc;
	}
	q->free_hint = 0;
	*out = q;
	return 0;
}

int qcow2_open(struct qcow2 **out, int fd, const char *path, bool readonly, bool allow_backing,
	       char *err, size_t errlen)
{
	return q2_open_depth(out, fd, path, readonly, allow_backing, 0, err, errlen);
}

/* direct=on reaches down the chain, as QEMU's cache=none does: each backing file is opened
 * again with O_DIRECT (the same file: device and inode compared), a qcow2 one takes it for
 * its data clusters, a raw one for its aligned reads. A backing file that cannot be read
 * O_DIRECT (a file system without it: EINVAL) or a qcow2 one with clusters under a page is
 * read through the page cache, as before. */
static int q2_direct_backing(struct qcow2 *q, unsigned align, char *err, size_t errlen)
{
	struct stat a, b;
	int dfd;

	if (q->back.fd < 0 || !q->back.path)
		return 0;
	dfd = open(q->back.path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (dfd < 0 && errno == EINVAL)
		return 0;
	if (dfd < 0 || fstat(dfd, &a) < 0 || fstat(q->back.fd, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino) {
		int rc = dfd < 0 ? -errno : -ESTALE;

		snprintf(err, errlen, "disk '%s': backing file '%s': %s", q->name, q->back.path,
			 dfd < 0 ? strerror(-rc) : "changed since it was opened");
		if (dfd >= 0)
			close(dfd);
		return rc;
	}
	q->back.dfd = dfd;
	if (!q->back.q) {
		q->back.dio.fd = dfd;
		q->back.dio.align = align;
		return 0;
	}
	if (q->back.q->cluster_size < (align > Q2_BUF_ALIGN ? align : Q2_BUF_ALIGN))
		return 0;
	return qcow2_set_direct(q->back.q, dfd, align, err, errlen);
}

int qcow2_set_direct(struct qcow2 *q, int fd, unsigned align, char *err, size_t errlen)
{
	uint64_t need = align > Q2_BUF_ALIGN ? align : Q2_BUF_ALIGN;

	if (!align || (align & (align - 1)) || q->cluster_size < need) {
		snprintf(err, errlen,
			 "disk '%s': direct=on needs qcow2 clusters of at least %llu bytes (these "
			 "are %llu)",
			 q->name, (unsigned long long)need, (unsigned long long)q->cluster_size);
		return -EINVAL;
	}
	q->dio = (struct dio){.fd = fd, .fd_buffered = q->fd, .align = align};
	return q2_direct_backing(q, align, err, errlen);
}

void qcow2_close(struct qcow2 *q)
{
	if (!q)
		return;
	if (!q->readonly) {
		int rc = q2_commit(q);

		if (rc == 0)
			rc = q2_release_pool(q);
		if (rc == 0)
			rc = q2_sync(q);
		if (rc < 0)
			pr_warn("disk '%s': closing: %s (the image may leak clusters)", q->name,
				strerror(-rc));
	}
	q2_free(q);
}

uint64_t qcow2_size(const struct qcow2 *q)
{
	return q->size;
}

void qcow2_set_hook(struct qcow2 *q, qcow2_hook_fn fn, void *arg)
{
	q->hook = fn;
	q->hook_arg = arg;
}

int q2_bad(struct qcow2 *q, const char *what, uint64_t value)
{
	if (!q->warned)
		pr_warn_limited(
		    "disk '%s': corrupt qcow2 metadata: %s (0x%llx); failing the request", q->name,
		    what, (unsigned long long)value);
	q->warned = true;
	return -EIO;
}
