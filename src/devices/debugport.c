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

void debugcon_init(struct debugcon *d)
{
	d->n = 0;
	d->bytes = 0;
	pthread_mutex_init(&d->lock, NULL);
}

void debugcon_destroy(struct debugcon *d)
{
	pthread_mutex_destroy(&d->lock);
}

/* Caller holds the lock. */
static void debugcon_flush(struct debugcon *d)
{
	d->line[d->n] = 0;
	pr_info("firmware: %s", d->line);
	d->n = 0;
}

void debugcon_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct debugcon *d = opaque;

	(void)off;
	if (!is_write) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = 0xE9;
		return;
	}
	pthread_mutex_lock(&d->lock);
	for (uint32_t i = 0; i < len; i++) {
		char c = (char)data[i];

		d->bytes++;
		if (c == '\r')
			continue;
		if (c == '\n' || d->n == DEBUGCON_LINE - 1) {
			debugcon_flush(d);
			if (c == '\n')
				continue;
		}
		d->line[d->n++] = (c >= 0x20 && c < 0x7F) ? c : '?';
	}
	pthread_mutex_unlock(&d->lock);
}
