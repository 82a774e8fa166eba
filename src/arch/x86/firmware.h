/* UEFI firmware images (OVMF) for --firmware: the code image, mapped read-only at the top
 * of 4 GiB where the CPU's reset vector (0xFFFFFFF0) lands in it, and optionally a variable
 * store file placed right below it, which the guest changes through the flash interface
 * (devices/pflash.c) and which is written back to its file. docs/firmware.md has the rest. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FW_MAX_SIZE (16u << 20) /* code + vars: the 16 MiB below 4 GiB */
#define FW_TOP	    0x100000000ull

struct firmware {
	uint8_t *code; /* read-only private mapping */
	size_t code_len;
	uint8_t *vars; /* shared writable mapping of the vars file, or NULL */
	size_t vars_len;
	int vars_fd;
};

/* Where the images go in the guest's physical address space. */
static inline uint64_t firmware_code_gpa(const struct firmware *fw)
{
	return FW_TOP - fw->code_len;
}

static inline uint64_t firmware_vars_gpa(const struct firmware *fw)
{
	return FW_TOP - fw->code_len - fw->vars_len;
}

/* Checks an image: a whole number of 4 KiB pages, not empty, at most FW_MAX_SIZE, and a UEFI
 * firmware volume header ("_FVH") at its start. Returns NULL or why not. */
const char *firmware_check(const uint8_t *img, size_t len);

/* Maps code (read-only) and vars (read-write, locked against a second VM; NULL: none).
 * Returns 0 or a negative errno with one line in err. */
int firmware_open(struct firmware *fw, const char *code, const char *vars, char *err,
		  size_t errlen);
void firmware_close(struct firmware *fw);
