#include "devices/debugport.h"

#include "common/log.h"
#include <errno.h>
#include <stdlib.h>
#include "devices/device.h"
#include "kvm/control.h"

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

/* ---- on the board: port 0x80 always; port 0x402 for firmware at -v ---- */

static int debugport_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct debugport *d = calloc(1, sizeof(*d));

	(void)err;
	(void)errlen;
	*state = d;
	if (!d)
		return -ENOMEM;
	return board_add_pio(b, DEBUGPORT_PORT, 1, debugport_io, d, "debug-port");
}

static void debugport_counters(void *state, struct ctl_counters *k)
{
	struct debugport *d = state;

	k->debug_port = __atomic_load_n(&d->count, __ATOMIC_RELAXED);
}

const struct device_model debugport_device = {
    .name = "debug-port",
    .plug = debugport_plug,
    .unplug = free,
    .counters = debugport_counters,
};

/* The firmware's log lines are only shown at -v: without it, nothing answers at 0x402, and
 * firmware that looks for the port (it reads back 0xE9) does not slow its boot by printing. */
static bool debugcon_wanted(const struct vm_config *cfg)
{
	return cfg->firmware && cfg->verbose;
}

static int debugcon_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct debugcon *d = calloc(1, sizeof(*d));

	(void)err;
	(void)errlen;
	*state = d;
	if (!d)
		return -ENOMEM;
	debugcon_init(d);
	return board_add_pio(b, DEBUGCON_PORT, 1, debugcon_io, d, "debugcon");
}

static void debugcon_unplug(void *state)
{
	debugcon_destroy(state);
	free(state);
}

const struct device_model debugcon_device = {
    .name = "debugcon",
    .wanted = debugcon_wanted,
    .plug = debugcon_plug,
    .unplug = debugcon_unplug,
};
