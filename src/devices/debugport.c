#include "devices/debugport.h"

#include "common/log.h"

void debugport_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct debugport *d = opaque;
	uint64_t ns;

	(void)off;
	if (!is_write) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = 0xFF;
		return;
	}
	__atomic_add_fetch(&d->count, 1, __ATOMIC_RELAXED);
	if (log_get_level() < LOG_DEBUG)
		return;
	ns = log_elapsed_ns();
	pr_debug("debug port: 0x%02x at %llu.%06llu ms", data[0],
		 (unsigned long long)(ns / 1000000), (unsigned long long)(ns % 1000000));
}
