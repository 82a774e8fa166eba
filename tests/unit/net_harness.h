/* A guest driver for virtio-net's tests over the shared fake transport (tests/common/
 * virtio_fake.c): pump() plays the I/O thread's
 * epoll loop for the one fd the device watches, split rings live in a buffer of guest
 * memory, and a listening Unix socket stands in for passt. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "virtio/devices.h"
#include "virtio_fake.h"

#define GM_SIZE	 (8u << 20)
#define QSIZE	 64
#define BUF_BASE 0x10000u
#define RXQ	 0
#define TXQ	 1
#define HDR	 12

/* Feature bits, from the spec (5.1.3). */
#define F_CSUM	     0
#define F_GUEST_CSUM 1
#define F_MAC	     5
#define F_GUEST_TSO4 7
#define F_HOST_TSO4  11
#define F_MRG_RXBUF  15
#define F_STATUS     16
#define BIT(b)	     (1ull << (b))

/* The fake transport's one watched fd (virtio-net watches at most one): whether there is one. */
bool net_watched(void);

struct fixture {
	uint8_t *mem;
	struct guest_mem gm;
	struct virtio_dev d;
	uint16_t qsize[2], next_desc[2], avail_idx[2], used_seen[2];
	uint64_t next_buf;
	uint64_t rx_gpa[QSIZE]; /* rx buffer of each head (single-segment chains) */
	char dir[64], path[128];
	int listen_fd, peer;
	bool has_dev;
	int passt_pid; /* a real passt, ended at teardown */
};

/* cmocka fixtures: 8 MiB of guest RAM, a passt socket path in a fresh folder. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

uint64_t desc_gpa(unsigned q);
uint64_t avail_gpa(unsigned q);
uint64_t used_gpa(unsigned q);
/* Rings of size entries for queue q at fixed addresses, zeroed, enabled. */
void setup_queue(struct fixture *f, unsigned q, uint16_t size);
/* Makes a chain of n segments available: lens[i] bytes each, writable from index
 * first_write on, readable ones filled from data in order; gpas gets their addresses. */
uint16_t add_chain(struct fixture *f, unsigned q, const uint32_t *lens, unsigned n,
		   unsigned first_write, const uint8_t *data, uint64_t *gpas);
/* A receive chain of one writable segment; returns its head. */
uint16_t add_rx(struct fixture *f, uint32_t len);
uint16_t used_idx(const struct fixture *f, unsigned q);
void used_elem(const struct fixture *f, unsigned q, unsigned i, uint32_t *id, uint32_t *len);
/* Checks the next used rx element: its head, its length, and returns its buffer. */
const uint8_t *next_rx(struct fixture *f, uint16_t head, uint32_t len);
void pattern(uint8_t *p, size_t len, unsigned seed);
/* Runs the callback while the watched fd has the watched events; returns the calls. */
unsigned pump(struct fixture *f);

void write_all(int fd, const void *buf, size_t len);
void read_full(int fd, uint8_t *p, size_t len);
/* passt's end: one length-prefixed frame each way, and whether anything is waiting. */
void host_send(struct fixture *f, const uint8_t *frame, uint32_t len);
uint32_t host_recv(struct fixture *f, uint8_t *buf, size_t cap);
bool host_readable(const struct fixture *f);

/* A device on the fixture's passt socket (mac NULL: the default one), accepted. */
void net_create(struct fixture *f, const uint8_t *mac, unsigned index);
/* Queues set up (rx of rx_size entries) and DRIVER_OK with these features. */
void net_start(struct fixture *f, uint64_t features, uint16_t rx_size);
/* Both: the device reads from passt. */
void net_up(struct fixture *f, uint64_t features);
