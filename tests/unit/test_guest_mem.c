/* Guest memory: the layout around the 32-bit hole, and the bounds of the one accessor
 * (gm_ptr) at every edge, including sums that would overflow. */
#include <errno.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "kvm/guest_mem.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void assert_region(const struct gm_region *r, uint64_t gpa, uint64_t size, uint64_t offset)
{
	assert_int_equal(r->gpa, gpa);
	assert_int_equal(r->size, size);
	assert_int_equal(r->offset, offset);
}

static void test_layout(void **state)
{
	struct guest_mem gm;

	(void)state;
	memset(&gm, 0x55, sizeof(gm)); /* gm_layout must set everything */
	gm_layout(&gm, 256 * MiB);
	assert_int_equal(gm.nregions, 1);
	assert_int_equal(gm.size, 256 * MiB);
	assert_false(gm.owned);
	assert_null(gm.host);
	assert_region(&gm.regions[0], 0, 256 * MiB, 0);
	assert_region(&gm.regions[1], 0, 0, 0);

	gm_layout(&gm, 3 * GiB);
	assert_int_equal(gm.nregions, 1);
	assert_region(&gm.regions[0], 0, 3 * GiB, 0);

	gm_layout(&gm, 3 * GiB + MiB);
	assert_int_equal(gm.nregions, 2);
	assert_region(&gm.regions[0], 0, 3 * GiB, 0);
	assert_region(&gm.regions[1], 4 * GiB, MiB, 3 * GiB);

	gm_layout(&gm, 5 * GiB);
	assert_int_equal(gm.nregions, 2);
	assert_int_equal(gm.size, 5 * GiB);
	assert_region(&gm.regions[0], 0, 3 * GiB, 0);
	assert_region(&gm.regions[1], 4 * GiB, 2 * GiB, 3 * GiB);
}

/* A 5 GiB layout over an inaccessible reservation: gm_ptr only computes addresses. */
struct big {
	uint8_t *base;
	struct guest_mem gm;
};

static int big_setup(void **state)
{
	struct big *b = calloc(1, sizeof(*b));
	void *p;

	if (!b)
		return -1;
	p = mmap(NULL, 5 * GiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		free(b);
		return -1;
	}
	b->base = p;
	gm_init_buffer(&b->gm, p, 5 * GiB);
	*state = b;
	return 0;
}

static int big_teardown(void **state)
{
	struct big *b = *state;

	munmap(b->base, 5 * GiB);
	free(b);
	return 0;
}

static void test_ptr_edges(void **state)
{
	struct big *b = *state;
	const struct guest_mem *gm = &b->gm;
	const uint64_t low_end = 3 * GiB, high = 4 * GiB, high_end = 6 * GiB;

	/* Low region: first byte, last byte, whole region, one past the end. */
	assert_ptr_equal(gm_ptr(gm, 0, 1), b->base);
	assert_ptr_equal(gm_ptr(gm, 0, low_end), b->base);
	assert_null(gm_ptr(gm, 0, low_end + 1));
	assert_ptr_equal(gm_ptr(gm, low_end - 1, 1), b->base + low_end - 1);
	assert_ptr_equal(gm_ptr(gm, low_end - 16, 16), b->base + low_end - 16);
	assert_null(gm_ptr(gm, low_end - 1, 2)); /* spans the end */
	assert_null(gm_ptr(gm, low_end - 16, 17));
	assert_null(gm_ptr(gm, low_end, 1));
	/* len 0: fine inside, not at or past the end. */
	assert_ptr_equal(gm_ptr(gm, low_end - 1, 0), b->base + low_end - 1);
	assert_ptr_equal(gm_ptr(gm, 12345, 0), b->base + 12345);
	assert_null(gm_ptr(gm, low_end, 0));
	assert_null(gm_ptr(gm, high_end, 0));
	/* The hole between 3 and 4 GiB, and an access spanning it. */
	assert_null(gm_ptr(gm, low_end + 1, 1));
	assert_null(gm_ptr(gm, 3 * GiB + GiB / 2, 4));
	assert_null(gm_ptr(gm, high - 1, 1));
	assert_null(gm_ptr(gm, high - 1, 2));
	assert_null(gm_ptr(gm, low_end - 1, GiB + 2));
	/* High region: it is the mapping from offset 3 GiB. */
	assert_ptr_equal(gm_ptr(gm, high, 1), b->base + low_end);
	assert_ptr_equal(gm_ptr(gm, high, 2 * GiB), b->base + low_end);
	assert_null(gm_ptr(gm, high, 2 * GiB + 1));
	assert_ptr_equal(gm_ptr(gm, high_end - 1, 1), b->base + 5 * GiB - 1);
	assert_null(gm_ptr(gm, high_end - 1, 2));
	assert_null(gm_ptr(gm, high_end, 1));
	/* gpa + len overflowing 64 bits. */
	assert_null(gm_ptr(gm, UINT64_MAX, 1));
	assert_null(gm_ptr(gm, UINT64_MAX, 0));
	assert_null(gm_ptr(gm, UINT64_MAX - 10, 100));
	assert_null(gm_ptr(gm, 0, UINT64_MAX));
	assert_null(gm_ptr(gm, 1, UINT64_MAX)); /* sum wraps to 0 */
	assert_null(gm_ptr(gm, 4096, UINT64_MAX - 4095));
	assert_null(gm_ptr(gm, high + 1, UINT64_MAX - high)); /* wraps to 0 */
	assert_null(gm_ptr(gm, high_end - 1, UINT64_MAX));
}

static void test_read_write(void **state)
{
	struct guest_mem gm;
	uint8_t *buf = calloc(1, 64 * MiB);
	uint8_t out[16], in[16];

	(void)state;
	assert_non_null(buf);
	gm_init_buffer(&gm, buf, 64 * MiB);
	assert_int_equal(gm.nregions, 1);
	for (unsigned i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(0xA0 + i);

	assert_int_equal(gm_write(&gm, 0x1000, out, sizeof(out)), 0);
	assert_memory_equal(buf + 0x1000, out, sizeof(out));
	memset(in, 0, sizeof(in));
	assert_int_equal(gm_read(&gm, 0x1000, in, sizeof(in)), 0);
	assert_memory_equal(in, out, sizeof(in));

	/* The last 16 bytes, then one byte too many: nothing is written or read. */
	assert_int_equal(gm_write(&gm, 64 * MiB - 16, out, 16), 0);
	assert_memory_equal(buf + 64 * MiB - 16, out, 16);
	memset(buf + 64 * MiB - 16, 0, 16);
	assert_int_equal(gm_write(&gm, 64 * MiB - 15, out, 16), -EFAULT);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(buf[64 * MiB - 16 + i], 0);
	memset(in, 0x77, sizeof(in));
	assert_int_equal(gm_read(&gm, 64 * MiB - 15, in, 16), -EFAULT);
	assert_int_equal(in[0], 0x77);
	assert_int_equal(gm_read(&gm, 64 * MiB, in, 1), -EFAULT);
	assert_int_equal(gm_write(&gm, 64 * MiB, out, 1), -EFAULT);
	assert_int_equal(gm_write(&gm, 3 * GiB, out, 1), -EFAULT);
	assert_int_equal(gm_write(&gm, UINT64_MAX, out, 1), -EFAULT);
	assert_int_equal(gm_read(&gm, UINT64_MAX - 3, in, 8), -EFAULT);
	/* len 0 inside RAM succeeds and touches nothing. */
	assert_int_equal(gm_read(&gm, 0, in, 0), 0);
	assert_int_equal(gm_write(&gm, 64 * MiB - 1, out, 0), 0);
	assert_int_equal(in[0], 0x77);

	gm_destroy(&gm); /* not ours: the buffer stays the caller's */
	assert_null(gm.host);
	assert_false(gm.owned);
	free(buf);
}

/* Whether /proc/self/smaps lists flag (a two-letter VmFlags name) for the mapping at addr. */
static bool vma_has_flag(const void *addr, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		} else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			char *t, *save = NULL;

			for (t = strtok_r(line + 8, " \n", &save); t;
			     t = strtok_r(NULL, " \n", &save))
				found |= strcmp(t, flag) == 0;
			break;
		}
	}
	fclose(f);
	return found;
}

static void test_anon(void **state)
{
	struct guest_mem gm;
	uint8_t b = 0;

	(void)state;
	assert_int_equal(gm_init(&gm, 64 * MiB), 0);
	assert_true(gm.owned);
	assert_non_null(gm.host);
	assert_int_equal(gm.nregions, 1);
	/* 2 MiB-aligned, so that huge pages of the host line up with the guest's. */
	assert_int_equal((uintptr_t)gm.host & (2 * MiB - 1), 0);
	assert_int_equal(gm_write(&gm, 64 * MiB - 1, "\x5A", 1), 0);
	assert_int_equal(gm.host[64 * MiB - 1], 0x5A);
	assert_int_equal(gm_read(&gm, 0, &b, 1), 0);
	assert_int_equal(b, 0); /* fresh memory is zero */
	assert_int_equal(gm_write(&gm, 64 * MiB, &b, 1), -EFAULT);
	/* Private memory ("sh" absent), asking for transparent huge pages ("hg", on kernels that
	 * have them), kept out of core dumps ("dd") and out of forked children ("dc"). */
	assert_false(vma_has_flag(gm.host, "sh"));
	if (access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0) {
		assert_true(vma_has_flag(gm.host + 2 * MiB, "hg"));
		assert_true(vma_has_flag(gm.host + 64 * MiB - 1, "hg"));
		assert_true(vma_has_flag(gm.host, "nh")); /* the first 2 MiB: small pages */
		assert_true(vma_has_flag(gm.host + 2 * MiB - 1, "nh"));
	}
	assert_true(vma_has_flag(gm.host, "dd"));
	assert_true(vma_has_flag(gm.host, "dc"));
	assert_true(vma_has_flag(gm.host + 64 * MiB - 1, "dc"));
	gm_destroy(&gm);
	assert_false(gm.owned);
	assert_null(gm.host);
	gm_destroy(&gm); /* twice is harmless */
}

/* A child forked after guest RAM is mapped does not get it (MADV_DONTFORK): a helper process
 * such as a file server never sees guest memory. */
static void test_anon_not_forked(void **state)
{
	struct guest_mem gm;
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(gm_init(&gm, 8 * MiB), 0);
	gm.host[0] = 1;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Reading the address in the child must fault: the mapping is not there. */
		signal(SIGSEGV, SIG_DFL);
		_exit(*(volatile uint8_t *)gm.host == 1 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	gm_destroy(&gm);
}

/* 5 GiB (sparse: only two pages are touched); the high region is the mapping from 3 GiB on. */
static void test_anon_high(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_int_equal(gm_init(&gm, 5 * GiB), 0);
	assert_int_equal(gm.nregions, 2);
	assert_int_equal(gm_write(&gm, 4 * GiB, "\xA5", 1), 0);
	assert_int_equal(gm.host[3 * GiB], 0xA5);
	assert_int_equal(gm_write(&gm, 6 * GiB - 1, "\x3C", 1), 0);
	assert_int_equal(gm.host[5 * GiB - 1], 0x3C);
	assert_int_equal(gm_write(&gm, 3 * GiB, "\x00", 1), -EFAULT);
	gm_destroy(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout),
	    cmocka_unit_test_setup_teardown(test_ptr_edges, big_setup, big_teardown),
	    cmocka_unit_test(test_read_write),
	    cmocka_unit_test(test_anon),
	    cmocka_unit_test(test_anon_not_forked),
	    cmocka_unit_test(test_anon_high),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
