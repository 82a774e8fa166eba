/* libFuzzer: bytes as a guest driving the TPM's CRB block (src/devices/tpm_crb.c): any
 * offset in the five localities, any width up to 8, reads and writes, and whole commands
 * whose header size is the guest's, on a back end whose answers (length, size field,
 * failure) come from the input too. Traps when a command reaches the back end with a size
 * outside 10..buffer, when START does not read back 0 after a command, or when the device
 * leaves its buffer (ASan).
 *
 * Each operation is 1 + 2 + 8 bytes: op, offset (le16), value (le64).
 *   op & 7: width 1..8; op & 0x08: write
 *   op & 0x30 == 0x30: a command: the value's low 32 bits as its header size, the driver's
 *            locality request, cmdReady and START
 *   op & 0xC0: the back end's next answer: 0x40 fail, 0x80 a response of (value >> 32)
 *            bytes, 0xC0 a response whose size field disagrees with its length */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/bytes.h"
#include "devices/tpm_crb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

struct fake {
	uint8_t mode;
	uint32_t rsp_len;
	unsigned calls;
};

static ssize_t fake_exec(void *opaque, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap)
{
	struct fake *f = opaque;
	size_t n = f->rsp_len % (cap + 8);

	check(len >= TPM_HDR_LEN && len <= TPM_CRB_BUF_SIZE && cap == TPM_CRB_BUF_SIZE);
	check(get_be32(cmd + 2) == len);
	f->calls++;
	if (f->mode == 1)
		return -5;
	if (n > cap)
		n = cap;
	memset(rsp, 0x3C, n);
	if (n >= TPM_HDR_LEN) {
		put_be16(rsp, TPM2_ST_NO_SESSIONS);
		put_be32(rsp + 2, (uint32_t)n + (f->mode == 3 ? 1 : 0));
		put_be32(rsp + 6, 0);
	}
	return (ssize_t)n;
}

static void command(struct tpm_crb *c, uint32_t hdr_size)
{
	uint8_t b[8];

	put_be16(b, TPM2_ST_NO_SESSIONS);
	put_be32(b + 2, hdr_size);
	put_be16(b + 6, 0x0000);
	tpm_crb_mmio(c, CRB_DATA_BUFFER, b, 8, true);
	put_le32(b, CRB_LOC_CTRL_REQUEST);
	tpm_crb_mmio(c, CRB_LOC_CTRL, b, 4, true);
	put_le32(b, CRB_CTRL_REQ_CMD_READY);
	tpm_crb_mmio(c, CRB_CTRL_REQ, b, 4, true);
	put_le32(b, CRB_START);
	tpm_crb_mmio(c, CRB_CTRL_START, b, 4, true);
	tpm_crb_mmio(c, CRB_CTRL_START, b, 4, false);
	check(get_le32(b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake f = {0};
	struct tpm_crb *c = malloc(sizeof(*c));

	if (!c)
		return 0;
	tpm_crb_init(c, TPM_CRB_BASE, (struct tpm_backend){fake_exec, &f});
	for (size_t i = 0; i + 11 <= size; i += 11) {
		uint8_t op = data[i];
		uint64_t off = get_le16(data + i + 1) % TPM_CRB_SIZE;
		uint64_t v = get_le64(data + i + 3);
		uint8_t b[8];

		if (op & 0xC0) {
			f.mode = (uint8_t)(op >> 6);
			f.rsp_len = (uint32_t)(v >> 32);
		}
		if ((op & 0x30) == 0x30) {
			command(c, (uint32_t)v);
			continue;
		}
		put_le64(b, v);
		tpm_crb_mmio(c, off, b, (op & 7) + 1, (op & 0x08) != 0);
	}
	check(c->commands >= f.calls);
	tpm_crb_destroy(c);
	free(c);
	return 0;
}
