/* The VM's configuration, parsed from phyllome-vmm's command line. */
#pragma once
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define VM_MAX_CPUS    64
#define VM_MIN_MEM     (32ull << 20)
#define VM_MAX_MEM     (1ull << 40)
#define VM_DEFAULT_MEM (512ull << 20)
#define VM_CMDLINE_MAX 4096

enum serial_mode { SERIAL_TTY, SERIAL_FILE, SERIAL_SOCKET, SERIAL_OFF };

struct vm_config {
	const char *kernel;
	const char *initramfs;
	const char *cmdline;
	unsigned ncpus;
	uint64_t mem_size;
	enum serial_mode serial;
	char serial_path[4096];
	int verbose;
	int action; /* CONFIG_RUN, CONFIG_HELP, CONFIG_VERSION */
};

enum { CONFIG_RUN, CONFIG_HELP, CONFIG_VERSION };

/* Fills cfg from argv. Returns 0, or a negative errno with a one-line message in err.
 * Files are not opened here (the loader reports missing files). */
int config_parse(struct vm_config *cfg, int argc, char *const argv[], char *err, size_t errlen);
void config_usage(FILE *f);
