/* libFuzzer: the manager's HTTP response parser (what a VMM, or anything listening on a VM's
 * API socket path, answers), and the manager's argument parser for run/create (the words are
 * the input split on NUL). A parsed response's body lies within the input; a parse that
 * succeeds leaves a definition within create's rules (a kernel, a firmware or an image name). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manager/args.h"
#include "manager/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void fuzz_response(const char *buf, size_t len, bool eof)
{
	struct http_response r;
	char err[256];
	int rc = http_parse_response(buf, len, eof, &r, err, sizeof(err));

	check(rc == 0 || rc == -EAGAIN || rc == -EINVAL || rc == -ENOMEM);
	if (rc < 0)
		return;
	check(r.status >= 100 && r.status <= 999);
	check(r.body_len <= len && r.body[r.body_len] == 0);
	check(!memcmp(r.body, buf + len - r.body_len, r.body_len));
	http_response_free(&r);
}

static void fuzz_args(const char *buf, size_t len)
{
	static struct run_opts ro;
	char *copy = malloc(len + 1), *argv[64];
	char err[256];
	int argc = 0;

	memcpy(copy, buf, len);
	copy[len] = 0;
	for (size_t i = 0; i <= len && argc < 64;) {
		argv[argc++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	if (args_parse_run(&ro, true, argc, argv, err, sizeof(err)) == 0 && !ro.help) {
		check(ro.def.cpus >= 1 && ro.def.cpus <= MGR_MAX_CPUS);
		check(ro.def.memory >= MGR_MIN_MEM && ro.def.memory <= MGR_MAX_MEM);
		check(!ro.def.name[0] || mgr_name_valid(ro.def.name));
		check(ro.def.kernel[0] || ro.def.firmware[0] || (ro.image && ro.image[0]));
		check(ro.def.nports == 0 || ro.def.net == VMDEF_NET_USER);
		/* a variable store is a copy for a code image */
		check(!ro.vars_template || ro.def.firmware[0] || ro.image);
		check(ro.ndisk_specs <= VMDEF_MAX_DISKS - 2);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_response((const char *)data + 1, size - 1, false);
		break;
	case 1:
		fuzz_response((const char *)data + 1, size - 1, true);
		break;
	default:
		fuzz_args((const char *)data + 1, size - 1);
	}
	return 0;
}
