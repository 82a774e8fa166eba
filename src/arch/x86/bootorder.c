#include "arch/x86/bootorder.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void boot_order_init(struct boot_order *b)
{
	memset(b, 0, sizeof(*b));
}

static int path_ok(const char *p)
{
	size_t n = p ? strlen(p) : 0;

	if (n < 2 || n >= BOOT_PATH_MAX || p[0] != '/')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= ' ' || p[i] > '~')
			return 0;
	return 1;
}

int boot_order_add(struct boot_order *b, int bootindex, const char *path)
{
	if (bootindex < 0 || !path_ok(path))
		return -EINVAL;
	for (unsigned i = 0; i < b->n; i++)
		if (b->e[i].bootindex == bootindex)
			return -EEXIST;
	if (b->n == BOOT_ORDER_MAX)
		return -ENOSPC;
	b->e[b->n].bootindex = bootindex;
	strcpy(b->e[b->n].path, path);
	b->n++;
	return 0;
}

long boot_order_build(const struct boot_order *b, char *buf, size_t cap)
{
	unsigned order[BOOT_ORDER_MAX];
	size_t used = 0;

	if (b->n == 0)
		return 0;
	/* Entries come in device order: sort their positions by index (insertion, n is small). */
	for (unsigned k = 0; k < b->n; k++) {
		unsigned j = k;

		for (; j > 0 && b->e[order[j - 1]].bootindex > b->e[k].bootindex; j--)
			order[j] = order[j - 1];
		order[j] = k;
	}
	for (unsigned k = 0; k < b->n; k++) {
		const char *path = b->e[order[k]].path;
		size_t len = strlen(path);

		if (cap - used < len + 1)
			return -ENOSPC;
		memcpy(buf + used, path, len);
		used += len;
		buf[used++] = k + 1 < b->n ? '\n' : '\0';
	}
	return (long)used;
}

static int fits(size_t cap, int n)
{
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

/* "@S" or "@S,F": QEMU leaves out function 0. */
static int unit(char *buf, size_t cap, unsigned slot, unsigned fn)
{
	if (slot > 31 || fn > 7)
		return -EINVAL;
	return fits(cap,
		    fn ? snprintf(buf, cap, "%x,%x", slot, fn) : snprintf(buf, cap, "%x", slot));
}

int boot_ofw_virtio_blk(char *buf, size_t cap, unsigned slot, unsigned fn)
{
	char u[8];
	int rc = unit(u, sizeof(u), slot, fn);

	return rc < 0 ? rc
		      : fits(cap, snprintf(buf, cap, BOOT_OFW_PCI_ROOT "/scsi@%s/disk@0,0", u));
}

int boot_ofw_nvme(char *buf, size_t cap, unsigned slot, unsigned fn, unsigned nsid)
{
	char u[8];
	int rc = unit(u, sizeof(u), slot, fn);

	if (rc == 0 && nsid == 0)
		rc = -EINVAL;
	return rc < 0 ? rc
		      : fits(cap,
			     snprintf(buf, cap, BOOT_OFW_PCI_ROOT "/pci8086,5845@%s/namespace@%x,0",
				      u, nsid));
}

int boot_ofw_sata(char *buf, size_t cap, unsigned slot, unsigned fn, unsigned port)
{
	char u[8];
	int rc = unit(u, sizeof(u), slot, fn);

	if (rc == 0 && port > 31)
		rc = -EINVAL;
	return rc < 0 ? rc
		      : fits(cap, snprintf(buf, cap,
					   BOOT_OFW_PCI_ROOT "/pci8086,2922@%s/drive@%x/disk@0", u,
					   port));
}
