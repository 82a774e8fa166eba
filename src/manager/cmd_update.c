/* update: changes a stopped VM's CPUs and memory (Docker's `update`), for the CLI and the
 * desktop app's Edit dialog alike. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/cmds.h"
#include "manager/util.h"

#define UPDATE_USAGE "update: usage: phyllome update [--cpus N] [--memory SIZE] VM"

/* Reads the options; ref is the VM. EXIT_OK or EXIT_USAGE (printed). */
static int update_args(int argc, char **argv, unsigned *cpus, uint64_t *memory, const char **ref)
{
	char err[256];

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if ((!strcmp(a, "--cpus") || !strcmp(a, "-c")) && i + 1 < argc) {
			if (mgr_parse_cpus(argv[++i], cpus, err, sizeof(err)) < 0) {
				mgr_error("%s", err);
				return EXIT_USAGE;
			}
		} else if ((!strcmp(a, "--memory") || !strcmp(a, "-m")) && i + 1 < argc) {
			if (mgr_parse_memory(argv[++i], memory, err, sizeof(err)) < 0) {
				mgr_error("%s", err);
				return EXIT_USAGE;
			}
		} else if (a[0] != '-' && !*ref) {
			*ref = a;
		} else {
			mgr_error(UPDATE_USAGE);
			return EXIT_USAGE;
		}
	}
	if (!*ref || (!*cpus && !*memory)) {
		mgr_error(UPDATE_USAGE);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cmd_update(int argc, char **argv)
{
	struct vm_entry *e = malloc(sizeof(*e));
	const char *ref = NULL;
	uint64_t memory = 0;
	unsigned cpus = 0;
	struct store s;
	int rc;

	if (!e)
		return EXIT_FAIL;
	rc = update_args(argc, argv, &cpus, &memory, &ref);
	if (rc != EXIT_OK || mgr_store(&s) < 0) {
		free(e);
		return rc != EXIT_OK ? rc : EXIT_FAIL;
	}
	store_lock(&s, true);
	rc = EXIT_FAIL;
	if (mgr_resolve(&s, ref, e) < 0) {
		/* said */
	} else if (mgr_running(e)) {
		mgr_error("cannot update %s: it is running (stop it first)", ref);
	} else {
		if (cpus)
			e->def.cpus = cpus;
		if (memory)
			e->def.memory = memory;
		if (store_save_def(e) < 0)
			mgr_error("cannot update %s: cannot write its config.json", ref);
		else
			rc = EXIT_OK;
	}
	store_unlock(&s);
	store_close(&s);
	if (rc == EXIT_OK)
		printf("%s\n", ref);
	free(e);
	return rc;
}
