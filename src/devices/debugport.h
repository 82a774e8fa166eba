/* The debug port (0x80): each byte written is logged with the time since the VMM
 * started, so a guest can mark boot stages (Cloud Hypervisor's convention). Linux also
 * writes here as an I/O delay, so the log is at debug level (-vv). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define DEBUGPORT_PORT 0x80

struct debugport {
	uint64_t count; /* bytes written, for counters */
};

void debugport_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
