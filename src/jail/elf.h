/* Which shared libraries a program loads, read from ELF headers without running anything
 * (ldd runs the program's own loader, and is a bash script besides): its PT_INTERP, and each
 * DT_NEEDED found the way ld.so looks (DT_RPATH or DT_RUNPATH with $ORIGIN, the folders of
 * /etc/ld.so.conf, the system folders), for every library in turn. x86-64 ELF only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_PATH_MAX   4096
#define ELF_NAME_MAX   256
#define ELF_MAX_NEEDED 64
#define ELF_MAX_DEPS   64

struct elf_info {
	uint16_t machine;
	bool dynamic; /* has a PT_DYNAMIC */
	char interp[ELF_PATH_MAX];
	char rpath[ELF_PATH_MAX];
	char runpath[ELF_PATH_MAX];
	char needed[ELF_MAX_NEEDED][ELF_NAME_MAX];
	unsigned nneeded;
};

/* Reads a 64-bit little-endian ELF image's program headers and dynamic section (every offset
 * and string checked against len). Returns 0, or a negative errno with a message in err. */
int elf_parse(const uint8_t *img, size_t len, struct elf_info *info, char *err, size_t errlen);

struct elf_deps {
	char *paths[ELF_MAX_DEPS]; /* absolute, ".." resolved lexically */
	unsigned n;
};

/* The interpreter and every library that program loads (none for a static program), plus the
 * libraries named in optional (NULL-terminated sonames, or NULL) that it may load with dlopen,
 * those found, with what they need. Returns 0, or a negative errno with a message in err (a
 * library the program or one it loads needs that cannot be found is one). */
int elf_deps_collect(const char *program, const char *const *optional, struct elf_deps *deps,
		     char *err, size_t errlen);
void elf_deps_free(struct elf_deps *deps);
