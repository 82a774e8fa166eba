/* The virtio-pci transport with its real I/O thread (no KVM: IRQ_NO_VM routes, notifies through
 * the BAR) and virtio-blk on an image file, driven as a guest's vCPUs would: this test's main
 * thread is the driver's vCPU (bring-up, requests, notifies, resets through BAR 0) and a second
 * thread is another vCPU reading the ISR and the device configuration all the while. Built also
 * under ThreadSanitizer (scripts/test.sh), which is what it is for: a reset that lands while
 * the I/O thread has requests in flight, and register reads racing the I/O thread. Checks: a
 * reset returns only when no request of the old queue can still write guest memory (buffers
 * refilled after it stay as they are), and the rounds that are not reset complete every request
 * with the image's bytes. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/bytes.h"
#include "common/log.h"
#include "devices/pci.h"
#include "filters.h"
#include "kvm/guest_mem.h"
#include "kvm/irq.h"
#include "virtio/devices.h"
#include "virtio/virtio_pci.h"

#define RAM	    (1u << 20)
#define QSIZE	    128u /* 3 descriptors per request */
#define NREQ	    32u
#define DESC_GPA    0x1000u
#define AVAIL_GPA   0x2000u
#define USED_GPA    0x3000u
#define HDR_GPA	    0x4000u /* 16 bytes per request */
#define STATUS_GPA  0x5000u /* 1 byte per request */
#define DATA_GPA    0x10000u
#define DATA_LEN    16384u
#define REQ_SECTORS (DATA_LEN / SECTOR)
#define SECTOR	    512u
#define IMG_SECTORS 1024u
#define FILL	    0xEE

struct env {
	uint8_t *ram;
	struct guest_mem gm;
	struct irq_routes routes;
	struct pci_bus bus;
	struct virtio_transport *t;
	struct virtio_dev *d;
	char path[64];
	unsigned irqs;	  /* INTx edges seen (atomic) */
	unsigned bad_cfg; /* wrong capacities the second vCPU read (atomic) */
	bool stop;	  /* the second vCPU ends (atomic) */
	pthread_t other;
	bool other_running;
};

static void set_irq(void *opaque, unsigned irq, int level)
{
	struct env *e = opaque;

	(void)irq;
	if (level)
		__atomic_add_fetch(&e->irqs, 1, __ATOMIC_RELAXED);
}

static void bar(struct env *e, uint32_t off, uint8_t *b, uint32_t len, bool wr)
{
	uint64_t base = virtio_pci_dev(e->t)->bar[0].decoded;

	pci_mmio_io(&e->bus, base - e->bus.mmio32_base + off, b, len, wr);
}

static void bar_w(struct env *e, uint32_t off, uint64_t v, uint32_t len)
{
	uint8_t b[8];

	put_le64(b, v);
	bar(e, off, b, len, true);
}

static uint64_t bar_r(struct env *e, uint32_t off, uint32_t len)
{
	uint8_t b[8] = {0};

	bar(e, off, b, len, false);
	return get_le64(b);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct disk_config cfg = {0};
	struct virtio_pci_env env;
	uint8_t sector[SECTOR], cmd[2] = {0x06, 0};
	char err[256] = "";
	int fd;

	assert_non_null(e);
	log_set_level(LOG_ERR);
	e->ram = aligned_alloc(4096, RAM);
	assert_non_null(e->ram);
	memset(e->ram, 0, RAM);
	gm_init_buffer(&e->gm, e->ram, RAM);
	snprintf(e->path, sizeof(e->path), "/tmp/phyllome-test-vthreads-XXXXXX");
	fd = mkstemp(e->path);
	assert_true(fd >= 0);
	for (unsigned i = 0; i < IMG_SECTORS; i++) {
		memset(sector, (int)(i & 0x7F) | 0x80, sizeof(sector)); /* never FILL, never 0 */
		assert_int_equal(pwrite(fd, sector, SECTOR, (off_t)i * SECTOR), SECTOR);
	}
	close(fd);
	snprintf(cfg.path, sizeof(cfg.path), "%s", e->path);
	assert_int_equal(irq_routes_init(&e->routes, IRQ_NO_VM), 0);
	pci_bus_init(&e->bus, NULL, NULL);
	env = (struct virtio_pci_env){.vm_fd = IRQ_NO_VM,
				      .routes = &e->routes,
				      .gm = &e->gm,
				      .set_irq = set_irq,
				      .irq_opaque = e,
				      .seccomp_mode = FILTERS};
	e->t = virtio_pci_alloc(&env, &e->d);
	assert_non_null(e->t);
	assert_int_equal(virtio_blk_init(e->d, &cfg, 0, err, sizeof(err)), 0);
	assert_int_equal(virtio_pci_plug(e->t, &e->bus, err, sizeof(err)), 0);
	pci_ecam_io(&e->bus, virtio_pci_slot(e->t) << 15 | 0x04, cmd, 2, true);
	assert_int_not_equal(virtio_pci_dev(e->t)->bar[0].decoded, 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (e->other_running) { /* also when a check failed with it running */
		__atomic_store_n(&e->stop, true, __ATOMIC_RELEASE);
		pthread_join(e->other, NULL);
	}
	virtio_pci_free(e->t);
	pci_bus_destroy(&e->bus);
	irq_routes_destroy(&e->routes);
	unlink(e->path);
	free(e->ram);
	free(e);
	return 0;
}

/* A driver's bring-up of queue 0 (rings zeroed), through the common configuration. */
static void bring_up(struct env *e)
{
	bar_w(e, 0x14, 0, 1);
	assert_int_equal(bar_r(e, 0x14, 1), 0);
	memset(e->ram + DESC_GPA, 0, 0x3000); /* the device is reset: its rings are the driver's */
	bar_w(e, 0x14, 1 | 2, 1);
	bar_w(e, 0x08, 0, 4);
	bar_w(e, 0x0C, 1u << 29, 4); /* EVENT_IDX: avail_event shows what the device took */
	bar_w(e, 0x08, 1, 4);
	bar_w(e, 0x0C, 1, 4); /* VERSION_1 */
	bar_w(e, 0x14, 1 | 2 | 8, 1);
	assert_int_equal(bar_r(e, 0x14, 1), 1 | 2 | 8);
	bar_w(e, 0x16, 0, 2);
	bar_w(e, 0x18, QSIZE, 2);
	bar_w(e, 0x20, DESC_GPA, 8);
	bar_w(e, 0x28, AVAIL_GPA, 8);
	bar_w(e, 0x30, USED_GPA, 8);
	bar_w(e, 0x1C, 1, 2);
	bar_w(e, 0x14, 1 | 2 | 8 | 4, 1);
	assert_int_equal(bar_r(e, 0x14, 1), 1 | 2 | 8 | 4);
}

/* The first sector request i of a round reads. */
static uint64_t req_sector(unsigned i, unsigned round)
{
	return (uint64_t)REQ_SECTORS * ((i + round) % (IMG_SECTORS / REQ_SECTORS));
}

/* NREQ reads of DATA_LEN each, published at once, then the notify. */
static void post_reads(struct env *e, unsigned round)
{
	for (unsigned i = 0; i < NREQ; i++) {
		uint8_t *d = e->ram + DESC_GPA + 16u * 3 * i;
		uint8_t *h = e->ram + HDR_GPA + 16u * i;

		put_le32(h, 0); /* VIRTIO_BLK_T_IN */
		put_le32(h + 4, 0);
		put_le64(h + 8, req_sector(i, round));
		put_le64(d, HDR_GPA + 16u * i);
		put_le32(d + 8, 16);
		put_le16(d + 12, 1); /* NEXT */
		put_le16(d + 14, (uint16_t)(3 * i + 1));
		put_le64(d + 16, DATA_GPA + (uint64_t)DATA_LEN * i);
		put_le32(d + 24, DATA_LEN);
		put_le16(d + 28, 1 | 2); /* NEXT, WRITE */
		put_le16(d + 30, (uint16_t)(3 * i + 2));
		put_le64(d + 32, STATUS_GPA + i);
		put_le32(d + 40, 1);
		put_le16(d + 44, 2); /* WRITE */
		e->ram[STATUS_GPA + i] = 0xFF;
		put_le16(e->ram + AVAIL_GPA + 4 + 2 * i, (uint16_t)(3 * i));
	}
	__atomic_store_n((uint16_t *)(void *)(e->ram + AVAIL_GPA + 2), (uint16_t)NREQ,
			 __ATOMIC_RELEASE);
	bar_w(e, 0x3000, 0, 2); /* queue 0's notify */
}

static uint16_t used_idx(struct env *e)
{
	return __atomic_load_n((uint16_t *)(void *)(e->ram + USED_GPA + 2), __ATOMIC_ACQUIRE);
}

/* The used ring's avail_event: with EVENT_IDX, how far the device has taken requests. */
static uint16_t avail_event(struct env *e)
{
	return __atomic_load_n((uint16_t *)(void *)(e->ram + USED_GPA + 4 + 8 * QSIZE),
			       __ATOMIC_ACQUIRE);
}

static void *other_vcpu(void *arg)
{
	struct env *e = arg;
	unsigned n = 0;

	while (!__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
		(void)bar_r(e, 0x1000, 1);		/* ISR (acknowledges) */
		if (bar_r(e, 0x2000, 8) != IMG_SECTORS) /* the capacity */
			__atomic_add_fetch(&e->bad_cfg, 1, __ATOMIC_RELAXED);
		(void)bar_r(e, 0x14, 1);
		if (++n % 64 == 0)
			usleep(100);
	}
	return NULL;
}

/* 200 rounds: every other one is reset right after its notify, with requests in flight; the
 * others run to completion and are checked. */
static void test_reset_in_flight_threads(void **state)
{
	struct env *e = *state;
	unsigned completed = 0, taken = 0;

	assert_int_equal(pthread_create(&e->other, NULL, other_vcpu, e), 0);
	e->other_running = true;
	for (unsigned round = 0; round < 200; round++) {
		bring_up(e);
		post_reads(e, round);
		if (round % 2 == 0) {
			/* Once the I/O thread has taken requests (some are still being read). */
			for (int spin = 0; spin < 1000000 && !avail_event(e); spin++)
				sched_yield();
			taken += avail_event(e) != 0;
			bar_w(e, 0x14, 0, 1); /* reset: returns once nothing is in flight */
			memset(e->ram + DATA_GPA, FILL, (size_t)DATA_LEN * NREQ);
			memset(e->ram + STATUS_GPA, FILL, NREQ);
			usleep(round % 8 == 0 ? 2000 : 0);
			for (unsigned i = 0; i < DATA_LEN * NREQ; i++)
				assert_int_equal(e->ram[DATA_GPA + i], FILL);
			for (unsigned i = 0; i < NREQ; i++)
				assert_int_equal(e->ram[STATUS_GPA + i], FILL);
			continue;
		}
		for (int tries = 0; tries < 5000 && used_idx(e) != NREQ; tries++)
			usleep(1000);
		assert_int_equal(used_idx(e), NREQ);
		for (unsigned i = 0; i < NREQ; i++) {
			uint64_t s = req_sector(i, round);

			assert_int_equal(e->ram[STATUS_GPA + i], 0);
			assert_int_equal(e->ram[DATA_GPA + (uint64_t)DATA_LEN * i],
					 (s & 0x7F) | 0x80);
			assert_int_equal(e->ram[DATA_GPA + (uint64_t)DATA_LEN * i + DATA_LEN - 1],
					 ((s + REQ_SECTORS - 1) & 0x7F) | 0x80);
		}
		completed++;
	}
	__atomic_store_n(&e->stop, true, __ATOMIC_RELEASE);
	pthread_join(e->other, NULL);
	e->other_running = false;
	assert_int_equal(completed, 100);
	assert_true(taken > 50); /* most resets came with requests taken */
	assert_int_equal(__atomic_load_n(&e->bad_cfg, __ATOMIC_RELAXED), 0);
	assert_true(__atomic_load_n(&e->irqs, __ATOMIC_RELAXED) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reset_in_flight_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
