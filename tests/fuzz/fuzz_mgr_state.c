/* libFuzzer: the manager's state files. The first byte picks config.json (vmdef_load) or
 * state.json (vmstate_load); the rest is the file. Whatever loads must dump to JSON that loads
 * again to the same dump (the manager rewrites these files), and the name and sizes must be
 * within the rules create enforces. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manager/util.h"
#include "manager/vmdef.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void fuzz_def(const char *json, size_t len)
{
	static struct vm_def a, b;
	char err[256], *d1, *d2;

	if (vmdef_load(&a, json, len, err, sizeof(err)) < 0) {
		check(err[0] != 0);
		return;
	}
	check(mgr_name_valid(a.name) && strlen(a.id) == MGR_ID_LEN);
	check(a.cpus >= 1 && a.cpus <= MGR_MAX_CPUS);
	check(a.memory >= MGR_MIN_MEM && a.memory <= MGR_MAX_MEM);
	check(a.ndisks <= VMDEF_MAX_DISKS && a.nports <= VMDEF_MAX_PORTS);
	d1 = vmdef_dump(&a);
	check(d1 != NULL);
	check(vmdef_load(&b, d1, strlen(d1), err, sizeof(err)) == 0);
	d2 = vmdef_dump(&b);
	check(d2 != NULL && !strcmp(d1, d2));
	free(d1);
	free(d2);
}

static void fuzz_state(const char *json, size_t len)
{
	struct vm_state a, b;
	char err[256], *d1, *d2;

	if (vmstate_load(&a, json, len, err, sizeof(err)) < 0)
		return;
	check(a.exit_code >= -1 && a.exit_code <= 255);
	d1 = vmstate_dump(&a);
	check(d1 != NULL);
	check(vmstate_load(&b, d1, strlen(d1), err, sizeof(err)) == 0);
	d2 = vmstate_dump(&b);
	check(d2 != NULL && !strcmp(d1, d2));
	free(d1);
	free(d2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_state((const char *)data + 1, size - 1);
	else
		fuzz_def((const char *)data + 1, size - 1);
	return 0;
}
