/* Port I/O and MMIO dispatch: devices register address ranges with one handler
 * signature; vCPU exits are routed here. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

enum iobus_space { IOBUS_PIO, IOBUS_MMIO };

/* addr is the offset from the start of the registered range. For reads the handler
 * fills data[0..len); unhandled bytes read as 0xff. */
typedef void (*iobus_fn)(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

struct iobus_range {
	uint64_t base, len;
	iobus_fn fn;
	void *opaque;
	const char *name;
};

#define IOBUS_MAX 64

struct iobus {
	unsigned n[2];
	struct iobus_range r[2][IOBUS_MAX];
};

int iobus_register(struct iobus *bus, enum iobus_space sp, uint64_t base, uint64_t len, iobus_fn fn,
		   void *opaque, const char *name);
/* Returns true if a device handled the access. */
bool iobus_access(const struct iobus *bus, enum iobus_space sp, uint64_t addr, uint8_t *data,
		  uint32_t len, bool is_write);
