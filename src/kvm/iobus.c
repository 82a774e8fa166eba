#include "kvm/iobus.h"

#include <errno.h>
#include <string.h>

int iobus_register(struct iobus *bus, enum iobus_space sp, uint64_t base, uint64_t len, iobus_fn fn,
		   void *opaque, const char *name)
{
	if (len == 0 || base + len < base)
		return -EINVAL;
	if (bus->n[sp] >= IOBUS_MAX)
		return -ENOSPC;
	for (unsigned i = 0; i < bus->n[sp]; i++) {
		const struct iobus_range *r = &bus->r[sp][i];

		if (base < r->base + r->len && r->base < base + len)
			return -EBUSY;
	}
	bus->r[sp][bus->n[sp]++] = (struct iobus_range){base, len, fn, opaque, name};
	return 0;
}

bool iobus_access(const struct iobus *bus, enum iobus_space sp, uint64_t addr, uint8_t *data,
		  uint32_t len, bool is_write)
{
	for (unsigned i = 0; i < bus->n[sp]; i++) {
		const struct iobus_range *r = &bus->r[sp][i];

		if (addr < r->base || addr - r->base >= r->len)
			continue;
		if (len > r->len - (addr - r->base))
			break; /* straddles the end of the device: treat as unhandled */
		r->fn(r->opaque, addr - r->base, data, len, is_write);
		return true;
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
