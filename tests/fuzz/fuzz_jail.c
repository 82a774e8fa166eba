/* libFuzzer: phyllome-jail's command line and its ELF reader. Input starting with "\x7fELF"
 * goes to elf_parse; anything else is split on NUL into argv for jail_parse, whose result (and
 * the mount plan built from it) must hold what the privileged half relies on: clean absolute
 * paths that never climb out of the jail, no uid or gid 0 (none at all with --userns), no two
 * mounts inside each other. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jail/elf.h"
#include "jail/jail.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

/* A path the jail may use: absolute, and cleaning it changes nothing. */
static void check_clean(const char *p)
{
	char again[JAIL_PATH_MAX];

	check(p[0] == '/');
	check(jail_path_clean(p, again, sizeof(again)) == 0 && !strcmp(again, p));
}

/* The path helpers on one word: cleaning is idempotent and ".." never survives. */
static void check_word(const char *w)
{
	char a[JAIL_PATH_MAX], b[JAIL_PATH_MAX];
	int rc = jail_path_clean(w, a, sizeof(a));

	check(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG);
	if (rc == 0) {
		check_clean(a);
		check(jail_path_within("/", a) && jail_path_within(a, a));
	}
	if (jail_path_lexical(w, b, sizeof(b)) == 0) {
		check_clean(b);
		check(!strstr(b, "/../") &&
		      strcmp(b + (strlen(b) >= 3 ? strlen(b) - 3 : 0), "/.."));
	}
	check(!jail_id_valid(w) || (strlen(w) <= JAIL_ID_MAX && !strchr(w, '/') && w[0] != '.'));
}

static void check_config(const struct jail_config *cfg)
{
	static struct jail_plan plan_buf; /* kept between runs: big, and empty after each */
	struct jail_plan *plan = &plan_buf;
	char err[256] = "";

	check(jail_id_valid(cfg->id));
	check_clean(cfg->base);
	/* --userns: no ids from the options (main fills in the caller's); otherwise never root. */
	if (cfg->userns)
		check(cfg->uid == 0 && cfg->gid == 0);
	else
		check(cfg->uid != 0 && cfg->gid != 0 && cfg->uid != (uid_t)-1 &&
		      cfg->gid != (gid_t)-1);
	check(!(cfg->host_net && cfg->netns));
	check(cfg->ncmd >= 1 && cfg->cmd[0] && !cfg->cmd[cfg->ncmd]);
	check_clean(cfg->vmm);
	check(strcmp(cfg->vmm, "/") != 0);
	check(cfg->nfiles <= JAIL_MAX_FILES);
	for (unsigned i = 0; i < cfg->nfiles; i++) {
		check_clean(cfg->files[i].src);
		check_clean(cfg->files[i].dest);
		check(strcmp(cfg->files[i].dest, "/") != 0);
	}
	if (jail_plan_build(plan, cfg, NULL, 0, true, err, sizeof(err)) < 0) {
		check(err[0] != 0);
	} else {
		for (unsigned i = 0; i < plan->n; i++) {
			check_clean(plan->m[i].dest);
			for (unsigned j = 0; j < i; j++)
				check(!jail_path_within(plan->m[i].dest, plan->m[j].dest) &&
				      !jail_path_within(plan->m[j].dest, plan->m[i].dest));
		}
	}
	jail_plan_free(plan);
}

static void fuzz_elf(const uint8_t *data, size_t size)
{
	struct elf_info *info = malloc(sizeof(*info));
	char err[256] = "";

	if (!info)
		return;
	if (elf_parse(data, size, info, err, sizeof(err)) < 0) {
		check(err[0] != 0 && strlen(err) < sizeof(err));
	} else {
		check(info->nneeded <= ELF_MAX_NEEDED);
		check(!info->interp[0] || info->interp[0] == '/');
		for (unsigned i = 0; i < info->nneeded; i++)
			check(info->needed[i][0] && strlen(info->needed[i]) < ELF_NAME_MAX);
		check(strlen(info->runpath) < ELF_PATH_MAX && strlen(info->rpath) < ELF_PATH_MAX);
	}
	free(info);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jail_config cfg_buf; /* 130 KiB: not allocated anew for every input */
	struct jail_config *cfg = &cfg_buf;
	char *argv[MAX_ARGS + 2];
	char prog[] = "phyllome-jail";
	char err[256];
	char *buf;
	int argc = 1;
	size_t i = 0;

	if (size >= 4 && !memcmp(data,
				 "\x7f"
				 "ELF",
				 4)) {
		fuzz_elf(data, size);
		return 0;
	}
	buf = malloc(size + 1);
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
		check_word(argv[a]);
	err[0] = 0;
	if (jail_parse(cfg, argc, argv, err, sizeof(err)) < 0)
		check(err[0] != 0 && strlen(err) < sizeof(err));
	else if (cfg->action == JAIL_RUN)
		check_config(cfg);
	free(buf);
	return 0;
}
