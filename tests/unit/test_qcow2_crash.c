/* qcow2 crash consistency: a writer (a forked child) works on an overlay over a compressed
 * qcow2 base and is stopped at each write or sync of the image file in turn, through
 * qcow2's I/O hook. Two ways to stop:
 * - kill: the child ends right there (what SIGKILL does: what it wrote is in the page cache);
 * - power cut: of the writes since the last sync, a pseudo-random subset is kept and the
 *   others are undone (what a power cut may leave: only synced writes are sure to be there).
 * Then `qemu-img check` must find no corruption (leaked clusters are allowed), and the
 * data, read back by qemu-img, must be: for each 512-byte sector, what it held at the last
 * flush the child finished, or one of the values written to it after that flush.
 * A second overlay (512-byte clusters, 64-bit refcounts: its one-cluster refcount table covers
 * 2 MiB) is first filled close to that with the base's own bytes, so that the same workload
 * makes it outgrow its refcount table (a new table, then the header switched to it): there
 * the child is stopped at every event near those writes (each near the move three ways: a
 * random subset of the unsynced writes kept, only the newest, all but the newest), and at one
 * in 16 elsewhere.
 * Both stops are also run with direct=on (the first overlay, copied to a file system that
 * takes O_DIRECT: $PHYLLOME_DIRECT_DIR, else /var/tmp): guest data whose offset, buffer and
 * length are 4 KiB-aligned then goes O_DIRECT, the rest and all metadata buffered, as in the
 * VMM; the run checks that aligned data writes did happen. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "backends/dio.h"
#include "qcow2_harness.h"

#define MIB		(1ull << 20)
#define SIZE		(8 * MIB)
#define NREG		16
#define NOPS		24
#define GROUP		4 /* ops between flushes */
#define MAX_LOG		4096
#define MAX_EV		65536 /* events whose kind the parent learns */
#define Q2_DIRECT_ALIGN 4096u

enum op_kind { OP_WRITE, OP_ZEROES, OP_DISCARD };
/* Which unsynced writes a power cut keeps: a pseudo-random subset; only the newest (a write
 * reordered before all the others); all but the newest. */
enum { KEEP_RANDOM, KEEP_NEWEST, KEEP_ALL_BUT_NEWEST, KEEP_WAYS };

struct op {
	uint64_t off, len;
	enum op_kind kind;
	uint32_t seed;
};

static struct op ops[NOPS];
static uint8_t *base_data; /* the base's content */

static void make_ops(void)
{
	static const uint64_t lens[] = {512, 4096, 12288 + 512, 65536, 131072 + 1024, 7 * 4096};

	for (unsigned i = 0; i < NOPS; i++) {
		unsigned r = i < NREG ? i : i - NREG;
		struct op *o = &ops[i];

		o->off = r * 320 * 1024ull + (r % 3) * 512;
		o->len = lens[r % 6];
		o->seed = 100 + i;
		o->kind = OP_WRITE;
		if (i < NREG && r % 8 == 5)
			o->kind = OP_ZEROES;
		if ((i < NREG && r % 8 == 7) || (i >= NREG && i % 4 == 3))
			o->kind = OP_DISCARD;
		if (i >= NREG && i % 4 == 1)
			o->kind = OP_ZEROES;
		if (o->kind == OP_DISCARD) { /* whole clusters: it then reads as zeroes */
			o->off &= ~4095ull;
			o->len = (o->len + 4095) & ~4095ull;
		}
	}
}

/* ---- the child ---- */

struct wlog {
	uint64_t off, len;
	uint8_t *old, *new;
};

struct crash {
	uint64_t at, n;
	bool powercut;
	unsigned keep; /* power cut: KEEP_RANDOM, KEEP_NEWEST or KEEP_ALL_BUT_NEWEST */
	int fd;
	struct wlog log[MAX_LOG];
	unsigned nlog;
	volatile uint64_t *events;
	volatile uint32_t *flushes;
	volatile uint8_t *growth;   /* [event]: 1 when it wrote the header or refcount table */
	volatile uint32_t *aligned; /* data writes that direct=on sends O_DIRECT */
};

static bool direct; /* this test's child opens the overlay with direct=on */

/* The overlay each child works on, and its base (named relative to it): beside the others,
 * or copied to an O_DIRECT file system. */
static const char *ov_path(void)
{
	return direct ? q2t_dpath("ov.qcow2") : q2t_path("ov.qcow2");
}

static const char *base_path(void)
{
	return direct ? q2t_dpath("base.qcow2") : q2t_path("base.qcow2");
}

static void powercut(struct crash *c)
{
	uint32_t x = (uint32_t)c->at * 2654435761u + 7;

	for (unsigned i = c->nlog; i-- > 0;)
		if (pwrite(c->fd, c->log[i].old, c->log[i].len, (off_t)c->log[i].off) < 0)
			_exit(3);
	for (unsigned i = 0; i < c->nlog; i++) {
		bool keep;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		keep =
		    c->keep == KEEP_RANDOM ? x & 1 : (i == c->nlog - 1) == (c->keep == KEEP_NEWEST);
		if (keep && pwrite(c->fd, c->log[i].new, c->log[i].len, (off_t)c->log[i].off) < 0)
			_exit(3);
	}
}

static void log_write(struct crash *c, uint64_t off, const struct iovec *iov, unsigned niov)
{
	struct wlog *w = &c->log[c->nlog++];
	uint64_t len = 0, at = 0;
	ssize_t got;

	if (c->nlog > MAX_LOG)
		_exit(4);
	for (unsigned i = 0; i < niov; i++)
		len += iov[i].iov_len;
	w->off = off;
	w->len = len;
	w->old = calloc(1, len);
	w->new = malloc(len);
	if (!w->old || !w->new)
		_exit(5);
	got = pread(c->fd, w->old, len, (off_t)off); /* past the end: zeroes */
	(void)got;
	for (unsigned i = 0; i < niov; i++) {
		memcpy(w->new + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
}

static int crash_hook(void *arg, const char *kind, uint64_t off, const struct iovec *iov,
		      unsigned niov)
{
	struct crash *c = arg;

	if (c->n < MAX_EV && (!strcmp(kind, "header") || !strcmp(kind, "reftable")))
		c->growth[c->n] = kind[0] == 'h' ? 2 : 1;
	*c->events = ++c->n;
	if (iov && !strcmp(kind, "data") && dio_aligned(Q2_DIRECT_ALIGN, off, iov, niov))
		(*c->aligned)++;
	if (c->n - 1 == c->at) {
		if (c->powercut)
			powercut(c);
		_exit(0);
	}
	if (!c->powercut)
		return 0;
	if (!iov) { /* a sync: what came before is durable */
		for (unsigned i = 0; i < c->nlog; i++) {
			free(c->log[i].old);
			free(c->log[i].new);
		}
		c->nlog = 0;
		return 0;
	}
	log_write(c, off, iov, niov);
	return 0;
}

static int do_op(struct qcow2 *q, const struct op *o)
{
	uint8_t *buf;
	int rc;

	if (o->kind == OP_ZEROES)
		return qcow2_write_zeroes(q, o->off, o->len);
	if (o->kind == OP_DISCARD)
		return qcow2_discard(q, o->off, o->len);
	buf =
	    aligned_alloc(Q2_DIRECT_ALIGN, (o->len + Q2_DIRECT_ALIGN - 1) & ~(Q2_DIRECT_ALIGN - 1));
	if (!buf)
		return -1;
	q2t_fill(buf, o->len, o->seed);
	rc = q2t_rw(q, true, buf, o->off, o->len);
	free(buf);
	return rc;
}

static void child(const char *img, struct crash *c)
{
	char err[256];
	struct qcow2 *q;
	int fd;

	c->fd = open(img, O_RDWR);
	q = q2t_open(img, false, true, &fd, err, sizeof(err));
	if (!q || c->fd < 0)
		_exit(2);
	if (direct) {
		int dfd = open(img, O_RDWR | O_DIRECT | O_CLOEXEC);

		if (dfd < 0 || qcow2_set_direct(q, dfd, Q2_DIRECT_ALIGN, err, sizeof(err)) < 0)
			_exit(8);
	}
	qcow2_set_hook(q, crash_hook, c);
	for (unsigned i = 0; i < NOPS; i++) {
		if (do_op(q, &ops[i]) < 0)
			_exit(6);
		if ((i + 1) % GROUP == 0) {
			if (qcow2_flush(q) < 0)
				_exit(7);
			(*c->flushes)++;
		}
	}
	q2t_close(q, fd);
	_exit(0);
}

/* ---- the parent ---- */

static uint8_t *content[NOPS]; /* what each op leaves in its range */

static void make_contents(void)
{
	for (unsigned i = 0; i < NOPS; i++) {
		content[i] = calloc(1, ops[i].len);
		assert_non_null(content[i]);
		if (ops[i].kind == OP_WRITE)
			q2t_fill(content[i], ops[i].len, ops[i].seed);
	}
}

static bool op_covers(unsigned j, uint64_t s)
{
	return s >= ops[j].off && s < ops[j].off + ops[j].len;
}

/* Each sector the ops touch holds its value at the last finished flush (the last durable
 * op over it, or the base), or the value of an op after that flush. Offsets and lengths
 * are whole sectors. */
static int check_data(const uint8_t *got, uint32_t flushes)
{
	unsigned done = flushes * GROUP; /* ops made durable */

	for (unsigned i = 0; i < NOPS; i++) {
		for (uint64_t s = ops[i].off; s < ops[i].off + ops[i].len; s += 512) {
			const uint8_t *durable = base_data + s;
			bool ok;

			for (unsigned j = 0; j < done && j < NOPS; j++)
				if (op_covers(j, s))
					durable = content[j] + (s - ops[j].off);
			ok = !memcmp(got + s, durable, 512);
			for (unsigned j = done; j < NOPS && !ok; j++)
				ok = op_covers(j, s) &&
				     !memcmp(got + s, content[j] + (s - ops[j].off), 512);
			if (!ok) {
				print_message(
				    "sector at %llu (op %u): neither its durable value nor a "
				    "later one\n",
				    (unsigned long long)s, i);
				return -1;
			}
		}
	}
	return 0;
}

/* The rest of the disk (never touched) must still read as the base. */
static int check_untouched(const uint8_t *got)
{
	for (uint64_t s = 0; s < SIZE; s += 512) {
		bool touched = false;

		for (unsigned j = 0; j < NOPS && !touched; j++)
			touched = op_covers(j, s);
		if (!touched && memcmp(got + s, base_data + s, 512)) {
			print_message("# untouched sector at %llu changed\n",
				      (unsigned long long)s);
			return -1;
		}
	}
	return 0;
}

struct shared {
	uint64_t events;
	uint32_t flushes;
	uint8_t growth[MAX_EV]; /* 2: a header write, 1: a refcount table write */
	uint32_t aligned;
};

static const char *template = "ov0.qcow2"; /* the overlay each child starts from */

/* Runs the child on a fresh copy of the overlay, stopped at event `at` (UINT64_MAX: never).
 * Returns the flushes it finished. */
static uint32_t run_child(struct shared *sh, uint64_t at, bool pc, unsigned keep)
{
	static struct crash c; /* big: not on the stack */
	int st;
	pid_t pid;

	assert_int_equal(q2t_sh("cp '%s' '%s'", q2t_path(template), ov_path()), 0);
	sh->events = 0;
	sh->flushes = 0;
	sh->aligned = 0;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		memset(&c, 0, sizeof(c));
		c.at = at;
		c.powercut = pc;
		c.keep = keep;
		c.events = &sh->events;
		c.flushes = &sh->flushes;
		c.growth = sh->growth;
		c.aligned = &sh->aligned;
		child(ov_path(), &c);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		print_message("# child stopped at %llu: status 0x%x\n", (unsigned long long)at, st);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return sh->flushes;
}

static int read_back(uint8_t *got)
{
	const char *raw = q2t_path("out.raw");
	int fd, rc;

	rc = q2t_sh("qemu-img convert -q -U -f qcow2 -O raw '%s' '%s'", ov_path(), raw);
	if (rc)
		return -1;
	fd = open(raw, O_RDONLY);
	rc = fd >= 0 && pread(fd, got, SIZE, 0) == (ssize_t)SIZE ? 0 : -1;
	if (fd >= 0)
		close(fd);
	return rc;
}

static void setup_images(void)
{
	const char *braw = q2t_path("base.raw");
	int fd;

	base_data = malloc(SIZE);
	assert_non_null(base_data);
	q2t_fill(base_data, 4096, 1); /* compressible: 4 KiB repeated */
	for (uint64_t o = 4096; o < SIZE; o += 4096)
		memcpy(base_data + o, base_data, 4096);
	memset(base_data + MIB, 0, 64 * 1024);
	assert_int_equal(q2t_sh("rm -f '%s' && truncate -s %llu '%s'", braw, SIZE, braw), 0);
	q2t_ref_write(braw, base_data, 0, SIZE);
	assert_int_equal(q2t_sh("cd '%s' && qemu-img convert -q -c -f raw -O qcow2 base.raw "
				"base.qcow2 && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "
				"-o cluster_size=4096 ov0.qcow2",
				q2t_dir()),
			 0);
	fd = open(q2t_path("base.qcow2"), O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	make_ops();
	make_contents();
}

/* The growth overlay: 512-byte clusters, 64-bit refcounts, and [6, 7.75) MiB (no op goes
 * there) written with the base's bytes: about 1.8 MiB of its 2 MiB allocated. */
static void setup_growth(void)
{
	char err[256];
	struct qcow2 *q;
	int fd;

	assert_int_equal(q2t_sh("cd '%s' && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "
				"-o cluster_size=512,refcount_bits=64 ovg0.qcow2",
				q2t_dir()),
			 0);
	q = q2t_open(q2t_path("ovg0.qcow2"), false, true, &fd, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(q2t_rw(q, true, base_data + 6 * MIB, 6 * MIB, 7 * MIB / 4), 0);
	assert_int_equal(qcow2_flush(q), 0);
	q2t_close(q, fd);
	assert_int_equal(q2t_check(q2t_path("ovg0.qcow2")), 0);
}

/* How many ways to stop at event `at`: every event once, or (growth) those within 8 of a
 * header write (the table's move) in each KEEP_ way, those within 2 of a refcount table write
 * (a new refcount block) and one in 16 of the rest once. */
static unsigned stop_ways(const struct shared *sh, uint64_t at, bool growth)
{
	unsigned ways = 0;

	if (!growth)
		return 1;
	for (uint64_t e = at > 8 ? at - 8 : 0; e <= at + 8 && e < MAX_EV; e++) {
		if (sh->growth[e] == 2)
			return KEEP_WAYS;
		if (sh->growth[e] == 1 && e + 2 >= at && e <= at + 2)
			ways = 1;
	}
	return ways || at % 16 == 0;
}

static void crash_all(bool pc, bool growth)
{
	struct shared *sh =
	    mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t *got = malloc(SIZE);
	uint64_t total, stops = 0;
	unsigned leaks = 0, switches = 0;

	assert_true(sh != MAP_FAILED && got);
	template = growth ? "ovg0.qcow2" : "ov0.qcow2";
	memset(sh->growth, 0, sizeof(sh->growth));
	assert_int_equal(q2t_sh("md5sum < '%s' > '%s'", base_path(), q2t_path("base.md5")), 0);
	run_child(sh, UINT64_MAX, pc, KEEP_RANDOM);
	total = sh->events;
	assert_true(total > 50); /* the workload does write metadata */
	for (uint64_t e = 0; e < total && e < MAX_EV; e++)
		switches += sh->growth[e] == 2;
	if (growth) /* the table did move (its header switch seen), and only where expected */
		assert_true(switches > 0);
	else
		assert_int_equal(switches, 0);
	assert_int_equal(q2t_check(ov_path()), 0);
	if (direct) /* some data did go O_DIRECT */
		assert_true(sh->aligned > 0);
	assert_int_equal(read_back(got), 0);
	assert_int_equal(check_data(got, NOPS / GROUP), 0);
	for (uint64_t stop = 0; stop < total * KEEP_WAYS; stop++) {
		uint64_t at = stop / KEEP_WAYS;
		unsigned keep = (unsigned)(stop % KEEP_WAYS);
		uint32_t flushes;
		int rc;

		if (keep >= stop_ways(sh, at, growth) || (keep && !pc))
			continue;
		stops++;
		flushes = run_child(sh, at, pc, keep);
		rc = q2t_check(ov_path());

		if (rc != 0 && rc != 3)
			print_message(
			    "# stopped at event %llu of %llu (power cut way %u): qemu-img "
			    "check says %d\n",
			    (unsigned long long)at, (unsigned long long)total, keep, rc);
		assert_true(rc == 0 || rc == 3);
		leaks += rc == 3;
		assert_int_equal(read_back(got), 0);
		if (check_data(got, flushes) || check_untouched(got))
			print_message("# stopped at event %llu after %u flushes\n",
				      (unsigned long long)at, flushes);
		assert_int_equal(check_data(got, flushes), 0);
		assert_int_equal(check_untouched(got), 0);
	}
	print_message(
	    "# %s%s%s: %llu stops of %llu events (%u refcount table moves), %u left leaked "
	    "clusters, none corrupt\n",
	    pc ? "power cut" : "kill", growth ? " (refcount table growth)" : "",
	    direct ? " (direct=on)" : "", (unsigned long long)stops, (unsigned long long)total,
	    switches, leaks);
	assert_int_equal(q2t_sh("md5sum < '%s' | cmp -s - '%s'", base_path(), q2t_path("base.md5")),
			 0);
	munmap(sh, sizeof(*sh));
	free(got);
}

static int group_setup(void **state)
{
	(void)state;
	if (q2t_have_qemu_img()) {
		setup_images();
		setup_growth();
	}
	return 0;
}

static void test_kill_at_each_write(void **state)
{
	(void)state;
	if (!q2t_have_qemu_img())
		skip();
	crash_all(false, false);
}

static void test_power_cut_at_each_write(void **state)
{
	(void)state;
	if (!q2t_have_qemu_img())
		skip();
	crash_all(true, false);
}

static void test_growth_kill(void **state)
{
	(void)state;
	if (!q2t_have_qemu_img())
		skip();
	crash_all(false, true);
}

static void test_growth_power_cut(void **state)
{
	(void)state;
	if (!q2t_have_qemu_img())
		skip();
	crash_all(true, true);
}

/* direct=on: the same stops, the overlay on a file system that takes O_DIRECT. */
static void crash_direct(bool pc)
{
	char why[400];

	if (!q2t_have_qemu_img())
		skip();
	if (!q2t_direct_dir(why, sizeof(why))) {
		print_message("# skipped: %s; set PHYLLOME_DIRECT_DIR to a folder on ext4 or xfs\n",
			      why);
		skip();
	}
	assert_int_equal(q2t_sh("cp '%s' '%s'", q2t_path("base.qcow2"), q2t_dpath("base.qcow2")),
			 0);
	direct = true;
	crash_all(pc, false);
	direct = false;
}

static void test_kill_direct(void **state)
{
	(void)state;
	crash_direct(false);
}

static void test_power_cut_direct(void **state)
{
	(void)state;
	crash_direct(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kill_at_each_write),
	    cmocka_unit_test(test_power_cut_at_each_write),
	    cmocka_unit_test(test_growth_kill),
	    cmocka_unit_test(test_growth_power_cut),
	    cmocka_unit_test(test_kill_direct),
	    cmocka_unit_test(test_power_cut_direct),
	};
	int rc;

	if (getenv("QCOW2_CRASH_TESTS")) /* e.g. "test_growth*": only those */
		cmocka_set_test_filter(getenv("QCOW2_CRASH_TESTS"));
	rc = cmocka_run_group_tests(tests, group_setup, NULL);

	q2t_sh("rm -rf '%s'", q2t_dir());
	q2t_direct_cleanup();
	return rc;
}
