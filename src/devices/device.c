#include "devices/device.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/bootorder.h"

int board_add_pio(struct board *b, uint64_t base, uint64_t len, iobus_fn fn, void *opaque,
		  const char *name)
{
	return iobus_register(b->bus, IOBUS_PIO, base, len, fn, opaque, name);
}

int board_boot_order_add(struct board *b, int bootindex, const char *ofw_path, char *err,
			 size_t errlen)
{
	int rc;

	if (!b->boot)
		return 0; /* a Linux guest boots its kernel; there is no boot order */
	rc = boot_order_add(b->boot, bootindex, ofw_path);
	if (rc < 0)
		snprintf(err, errlen, "boot order: cannot add %s with bootindex %d: %s", ofw_path,
			 bootindex,
			 rc == -EEXIST ? "another device has that index" : strerror(-rc));
	return rc;
}
