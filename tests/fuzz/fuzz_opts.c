/* libFuzzer: bytes split on NUL into argv -> config_parse; each word also goes through
 * opts_parse_size. A parse that succeeds must leave a configuration the VMM can use, and the
 * disks' boot indexes must make a well-formed firmware boot order (fw_cfg "bootorder"). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/bootorder.h"
#include "common/opts.h"
#include "machine/config.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

/* opts_parse_size against a plain reading of the digits, for words of digits only. */
static void check_size(const char *s)
{
	uint64_t v = 0, want = 0;
	size_t n = strlen(s);
	int rc = opts_parse_size(s, &v);

	check(rc == 0 || rc == -EINVAL || rc == -ERANGE);
	if (n == 0 || n > 19 || strspn(s, "0123456789") != n)
		return;
	for (size_t i = 0; i < n; i++)
		want = want * 10 + (uint64_t)(s[i] - '0');
	check(rc == 0 && v == want);
}

/* The boot order the VMM would build from the disks (each in its own slot): every disk with
 * an index listed once, by ascending index, one path a line, NUL-terminated. */
static void check_boot_order(const struct vm_config *cfg)
{
	struct boot_order b;
	char path[BOOT_PATH_MAX], file[BOOT_ORDER_MAX * BOOT_PATH_MAX];
	unsigned listed = 0, lines = 1;
	long n;

	boot_order_init(&b);
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		int bi = cfg->disks[i].bootindex;

		check(bi >= -1 && bi <= VM_BOOTINDEX_MAX);
		if (bi < 0)
			continue;
		check(boot_ofw_virtio_blk(path, sizeof(path), 1 + i, 0) == 0);
		check(boot_order_add(&b, bi, path) == 0);
		listed++;
	}
	n = boot_order_build(&b, file, sizeof(file));
	if (!listed) {
		check(n == 0);
		return;
	}
	check(n > 0 && file[n - 1] == 0 && strlen(file) == (size_t)n - 1);
	for (long i = 0; i < n - 1; i++)
		lines += file[i] == '\n';
	check(lines == listed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	char *argv[MAX_ARGS + 2];
	char prog[] = "phyllome-vmm";
	char err[256];
	struct vm_config cfg;
	int argc = 1, rc;
	size_t i = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	argv[0] = prog;
	while (i < size && argc <= MAX_ARGS) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	for (int a = 1; a < argc; a++)
		check_size(argv[a]);

	err[0] = 0;
	rc = config_parse(&cfg, argc, argv, err, sizeof(err));
	if (rc < 0) {
		check(err[0] != 0 && strlen(err) < sizeof(err));
	} else if (cfg.action == CONFIG_RUN) {
		/* A firmware VM has a code image, and maybe a kernel for it to boot; a Linux VM a
		 * kernel. An initramfs or a command line come with a kernel only. */
		if (cfg.firmware)
			check(cfg.fw_code[0] != 0);
		else
			check(cfg.kernel != NULL);
		check(cfg.cmdline != NULL && strlen(cfg.cmdline) < VM_CMDLINE_MAX);
		check(cfg.kernel || (!cfg.initramfs && !cfg.cmdline[0]));
		check_boot_order(&cfg);
		check(cfg.ncpus >= 1 && cfg.ncpus <= VM_MAX_CPUS);
		check(cfg.mem_size >= VM_MIN_MEM && cfg.mem_size <= VM_MAX_MEM);
		check(cfg.mem_size % (1u << 20) == 0);
		check(cfg.serial <= SERIAL_OFF);
		check(cfg.serial == SERIAL_TTY || cfg.serial == SERIAL_OFF || cfg.serial_path[0]);
		check(!cfg.initramfs || cfg.initramfs[0]);
	}
	free(buf);
	return 0;
}
