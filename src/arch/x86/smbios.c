#include "arch/x86/smbios.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/bytes.h"

#define MANUFACTURER "Phyllome"
#define PRODUCT	     "Phyllome VM"

struct out {
	uint8_t *p;
	size_t cap, used;
	bool full;
	uint16_t handle;
};

/* One structure: the formatted part (len bytes, header filled here) then its strings, each
 * NUL-terminated, and the set's closing NUL (two NULs when there are no strings). */
static void put_struct(struct out *o, uint8_t *fmt, uint8_t type, uint8_t len, const char **str,
		       unsigned nstr)
{
	size_t need = len + 1;
	uint8_t *d;

	for (unsigned i = 0; i < nstr; i++)
		need += strlen(str[i]) + 1;
	if (nstr == 0)
		need++;
	if (o->cap - o->used < need) {
		o->full = true;
		return;
	}
	fmt[0] = type;
	fmt[1] = len;
	put_le16(fmt + 2, o->handle++);
	d = o->p + o->used;
	memcpy(d, fmt, len);
	d += len;
	for (unsigned i = 0; i < nstr; i++) {
		size_t n = strlen(str[i]) + 1;

		memcpy(d, str[i], n);
		d += n;
	}
	*d++ = 0;
	if (nstr == 0)
		*d = 0;
	o->used += need;
}

long smbios_build(const uint8_t *uuid, uint8_t *buf, size_t cap, uint8_t anchor[SMBIOS_ANCHOR_LEN])
{
	struct out o = {.p = buf, .cap = buf ? cap : 0, .handle = 0x100};
	const char *sys[] = {MANUFACTURER, PRODUCT, PHYLLOME_VERSION};
	const char *chassis[] = {MANUFACTURER};
	uint8_t t1[27] = {0}, t3[21] = {0}, t127[4] = {0};
	uint8_t sum = 0;

	/* Type 1: manufacturer, product, version (strings 1..3), UUID, wake-up: power switch. */
	t1[4] = 1;
	t1[5] = 2;
	t1[6] = 3;
	if (uuid) {
		/* time_low (4 bytes), time_mid, time_hi_and_version (2 each) reversed; the
		 * rest as it is. */
		for (unsigned i = 0; i < 4; i++)
			t1[8 + i] = uuid[3 - i];
		t1[12] = uuid[5];
		t1[13] = uuid[4];
		t1[14] = uuid[7];
		t1[15] = uuid[6];
		memcpy(t1 + 16, uuid + 8, 8);
	}
	t1[24] = 0x06;
	put_struct(&o, t1, 1, sizeof(t1), sys, 3);
	/* Type 3: manufacturer (string 1), type "other", states "safe", no security. */
	t3[4] = 1;
	t3[5] = 0x01;
	t3[9] = t3[10] = t3[11] = 0x03;
	t3[12] = 0x03;
	put_struct(&o, t3, 3, sizeof(t3), chassis, 1);
	put_struct(&o, t127, 127, sizeof(t127), NULL, 0);
	if (o.full)
		return -ENOSPC;
	memset(anchor, 0, SMBIOS_ANCHOR_LEN);
	memcpy(anchor, "_SM3_", 5);
	anchor[6] = SMBIOS_ANCHOR_LEN;
	anchor[7] = 3; /* SMBIOS 3.0.0 */
	anchor[8] = 0;
	anchor[10] = 1; /* entry point revision */
	put_le32(anchor + 12, (uint32_t)o.used);
	for (unsigned i = 0; i < SMBIOS_ANCHOR_LEN; i++)
		sum = (uint8_t)(sum + anchor[i]);
	anchor[5] = (uint8_t)-sum;
	return (long)o.used;
}
