/* The debug port (0x80): each byte written is logged with the time since the VMM
 * started, so a guest can mark boot stages (Cloud Hypervisor's convention). Linux also
 * writes here as an I/O delay, so the log is at debug level (-vv). */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define DEBUGPORT_PORT 0x80

struct debugport {
	uint64_t count; /* bytes written, for counters */
};

void debugport_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

/* The firmware's debug console (QEMU's isa-debugcon at 0x402, where OVMF's DEBUG builds write
 * their log): lines go to the VMM's log at -v, prefixed "firmware:". Reads return 0xE9, which
 * tells OVMF the port is there. */
#define DEBUGCON_PORT 0x402
#define DEBUGCON_LINE 160

struct debugcon {
	pthread_mutex_t lock;
	char line[DEBUGCON_LINE];
	unsigned n;
	uint64_t bytes;
};

void debugcon_init(struct debugcon *d);
void debugcon_destroy(struct debugcon *d);
void debugcon_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

/* On the board (devices/device.h): port 0x80 always, port 0x402 for firmware at -v. */
extern const struct device_model debugport_device;
extern const struct device_model debugcon_device;
