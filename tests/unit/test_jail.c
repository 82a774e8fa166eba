/* phyllome-jail's pure half: its command line, the paths it builds, the mount plan, and the
 * ELF reader that finds the VMM's libraries (no privileges needed for any of it). */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "jail/elf.h"
#include "jail/jail.h"

#define MAX_ARGS (2 * JAIL_MAX_FILES + 8)
/* ends run()'s list of words (a plain NULL may be an int in a variadic call) */
#define END ((const char *)NULL)

static char *argv_buf[MAX_ARGS + 1];
static char err[512];
static struct jail_config cfg;

static void assert_one_line(int rc)
{
	if (rc >= 0)
		return;
	if (!err[0])
		fail_msg("rc %d with an empty message", rc);
	if (strchr(err, '\n'))
		fail_msg("message has a newline: '%s'", err);
}

/* jail_parse on "phyllome-jail" followed by the NULL-terminated words (string literals:
 * jail_parse never writes into argv). */
static int run(const char *first, ...)
{
	va_list ap;
	const char *w = first;
	int argc = 0, rc;

	argv_buf[argc++] = (char *)"phyllome-jail";
	va_start(ap, first);
	for (; w; w = va_arg(ap, const char *)) {
		assert_true(argc < MAX_ARGS);
		argv_buf[argc++] = (char *)w;
	}
	va_end(ap);
	argv_buf[argc] = NULL;
	err[0] = 0;
	rc = jail_parse(&cfg, argc, argv_buf, err, sizeof(err));
	assert_one_line(rc);
	return rc;
}

static void assert_err_has(const char *word)
{
	if (!strstr(err, word))
		fail_msg("message '%s' does not mention '%s'", err, word);
}

#define REQUIRED "--id", "vm1", "--chroot-base", "/srv/jail", "--uid", "1000", "--gid", "1001"

/* --userns: no --uid/--gid (the caller's, filled in by main); --host-net keeps the network. */
static void test_parse_userns(void **state)
{
	(void)state;
	assert_int_equal(run("--id", "a", "--chroot-base", "/j", "--userns", "--host-net", "--tun",
			     "--", "/usr/bin/phyllome-vmm", "--rng", NULL),
			 0);
	assert_true(cfg.userns);
	assert_true(cfg.host_net);
	assert_true(cfg.tun);
	assert_null(cfg.netns);
	assert_int_equal(cfg.uid, 0); /* not from the options */
	assert_int_equal(cfg.ncmd, 2);
	assert_int_equal(run("--id", "a", "--chroot-base", "/j", "--", "/v", NULL), -EINVAL);
	assert_err_has("--userns");
	assert_int_equal(run(REQUIRED, "--", "/v", NULL), 0);
	assert_false(cfg.userns);
	assert_false(cfg.host_net);
}

static void test_parse_minimal(void **state)
{
	(void)state;
	assert_int_equal(run(REQUIRED, "--", "/usr/bin/phyllome-vmm", "--kernel", "/k", END), 0);
	assert_int_equal(cfg.action, JAIL_RUN);
	assert_string_equal(cfg.id, "vm1");
	assert_string_equal(cfg.base, "/srv/jail");
	assert_int_equal(cfg.uid, 1000);
	assert_int_equal(cfg.gid, 1001);
	assert_null(cfg.netns);
	assert_false(cfg.tun);
	assert_int_equal(cfg.nfiles, 0);
	assert_string_equal(cfg.vmm, "/usr/bin/phyllome-vmm");
	assert_int_equal(cfg.ncmd, 3);
	assert_ptr_equal(cfg.cmd, &argv_buf[10]);
	assert_string_equal(cfg.cmd[1], "--kernel");
	assert_null(cfg.cmd[3]);
	/* nofile has a default; the others are left alone */
	assert_true(cfg.rlimit_set[JAIL_RL_NOFILE]);
	assert_int_equal(cfg.rlimit[JAIL_RL_NOFILE], JAIL_DEFAULT_NOFILE);
	assert_false(cfg.rlimit_set[JAIL_RL_FSIZE] || cfg.rlimit_set[JAIL_RL_NPROC] ||
		     cfg.rlimit_set[JAIL_RL_CORE]);
}

static void test_parse_all(void **state)
{
	(void)state;
	assert_int_equal(run("--id=a-b_C9", "--chroot-base=//srv//j/./", "--uid=4294967294",
			     "--gid", "7", "--netns", "/run/netns/vm", "--tun", "--file",
			     "/img/disk.raw", "--file-ro", "/boot/vmlinuz:/kernel", "--rlimit",
			     "fsize=1G", "--rlimit", "nproc=64", "--rlimit", "core=0", "--rlimit",
			     "nofile=unlimited", "-v", "-v", "--", "/vmm//bin/./phyllome-vmm", END),
			 0);
	assert_string_equal(cfg.id, "a-b_C9");
	assert_string_equal(cfg.base, "/srv/j");
	assert_int_equal(cfg.uid, 4294967294u);
	assert_int_equal(cfg.gid, 7);
	assert_string_equal(cfg.netns, "/run/netns/vm");
	assert_true(cfg.tun);
	assert_int_equal(cfg.nfiles, 2);
	assert_string_equal(cfg.files[0].src, "/img/disk.raw");
	assert_string_equal(cfg.files[0].dest, "/img/disk.raw");
	assert_false(cfg.files[0].readonly);
	assert_string_equal(cfg.files[1].src, "/boot/vmlinuz");
	assert_string_equal(cfg.files[1].dest, "/kernel");
	assert_true(cfg.files[1].readonly);
	assert_int_equal(cfg.rlimit[JAIL_RL_FSIZE], 1ull << 30);
	assert_int_equal(cfg.rlimit[JAIL_RL_NPROC], 64);
	assert_true(cfg.rlimit_set[JAIL_RL_CORE]);
	assert_int_equal(cfg.rlimit[JAIL_RL_CORE], 0);
	assert_int_equal(cfg.rlimit[JAIL_RL_NOFILE], UINT64_MAX);
	assert_int_equal(cfg.verbose, 2);
	assert_string_equal(cfg.vmm, "/vmm/bin/phyllome-vmm");
	assert_string_equal(cfg.cmd[0], "/vmm//bin/./phyllome-vmm"); /* argv[0] as given */
	assert_int_equal(cfg.ncmd, 1);
}

static void test_parse_actions(void **state)
{
	(void)state;
	assert_int_equal(run("--help", END), 0);
	assert_int_equal(cfg.action, JAIL_HELP);
	assert_int_equal(run("-V", END), 0);
	assert_int_equal(cfg.action, JAIL_VERSION);
	/* help wins over what is missing, and whatever follows "--" is the program's */
	assert_int_equal(run("--id", "x", "-h", "--", "/vmm", "--bogus", END), 0);
	assert_int_equal(cfg.action, JAIL_HELP);
	assert_int_equal(run(REQUIRED, "--", "/vmm", "--help", "--", "-v", END), 0);
	assert_int_equal(cfg.action, JAIL_RUN);
	assert_int_equal(cfg.ncmd, 4);
	assert_int_equal(cfg.verbose, 0);
}

static void test_parse_refusals(void **state)
{
	static const struct {
		const char *args[12];
		const char *says;
	} bad[] = {
	    {{"--chroot-base", "/j", "--uid", "1", "--gid", "1", "--", "/v"}, "--id"},
	    {{"--id", "a", "--uid", "1", "--gid", "1", "--", "/v"}, "--chroot-base"},
	    {{"--id", "a", "--chroot-base", "/j", "--gid", "1", "--", "/v"}, "--uid"},
	    {{"--id", "a", "--chroot-base", "/j", "--uid", "1", "--", "/v"}, "--gid"},
	    {{"--id", "a", "--chroot-base", "/j", "--uid", "1", "--gid", "1"}, "no program"},
	    {{"--id", "a", "--chroot-base", "/j", "--uid", "1", "--gid", "1", "--"}, "no program"},
	    {{"--id", "a", "--chroot-base", "/j", "--uid", "1", "--gid", "1", "--", "vmm"},
	     "absolute"},
	    {{"--id", "a", "--chroot-base", "/j", "--uid", "1", "--gid", "1", "--", "/a/../v"},
	     "absolute"},
	    {{"--id", "a", "--chroot-base", "/j", "--uid", "1", "--gid", "1", "--", "/"},
	     "absolute"},
	    {{"--id", "a/b"}, "--id"},
	    {{"--id", ".."}, "--id"},
	    {{"--id", ""}, "--id"},
	    {{"--id", "-x"}, "--id"},
	    {{"--id", "a", "--id", "b"}, "twice"},
	    {{"--uid", "0"}, "--uid"},
	    {{"--gid", "0"}, "--gid"},
	    {{"--uid", "-1"}, "--uid"},
	    {{"--uid", "4294967295"}, "--uid"},
	    {{"--uid", "1x"}, "--uid"},
	    {{"--uid", "1", "--uid", "2"}, "twice"},
	    {{"--chroot-base", "srv"}, "absolute"},
	    {{"--chroot-base", "/srv/../etc"}, "absolute"},
	    {{"--netns", "/a", "--netns", "/b"}, "twice"},
	    {{"--netns", ""}, "empty"},
	    {{"--rlimit", "nofile"}, "RES=N"},
	    {{"--rlimit", "stack=1"}, "RES=N"},
	    {{"--rlimit", "nofile=lots"}, "number"},
	    {{"--rlimit", "=5"}, "RES=N"},
	    {{"--file", "rel.img"}, "absolute"},
	    {{"--file-ro", "/a:/../etc/shadow"}, "absolute"},
	    {{"--file", "/a:/"}, "root"},
	    {{"--file", ":/x"}, "no SRC"},
	    {{"--tun=yes"}, "no value"},
	    {{"--id", "a", "--chroot-base", "/j", "--userns", "--uid", "1", "--", "/v"},
	     "--userns"},
	    {{"--id", "a", "--chroot-base", "/j", "--gid", "1", "--userns", "--", "/v"},
	     "--userns"},
	    {{"--id", "a", "--chroot-base", "/j", "--userns", "--netns", "/n", "--host-net", "--",
	      "/v"},
	     "--host-net"},
	    {{"--bogus"}, "unknown"},
	    {{"stray"}, "unexpected"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = 0;

		argv_buf[argc++] = (char *)"phyllome-jail";
		for (int a = 0; a < 12 && bad[i].args[a]; a++)
			argv_buf[argc++] = (char *)bad[i].args[a];
		argv_buf[argc] = NULL;
		err[0] = 0;
		if (jail_parse(&cfg, argc, argv_buf, err, sizeof(err)) >= 0)
			fail_msg("case %zu (%s ...) accepted", i, bad[i].args[0]);
		assert_one_line(-1);
		assert_err_has(bad[i].says);
	}
}

static void test_parse_many_files(void **state)
{
	static char words[JAIL_MAX_FILES + 1][32];
	int argc = 0;

	(void)state;
	argv_buf[argc++] = (char *)"phyllome-jail";
	for (int i = 0; i <= JAIL_MAX_FILES; i++) {
		snprintf(words[i], sizeof(words[i]), "/f%d", i);
		argv_buf[argc++] = (char *)"--file";
		argv_buf[argc++] = words[i];
	}
	argv_buf[argc] = NULL;
	assert_int_equal(jail_parse(&cfg, argc, argv_buf, err, sizeof(err)), -EINVAL);
	assert_err_has("too many");
	assert_int_equal(jail_parse(&cfg, argc - 2, argv_buf, err, sizeof(err)), -EINVAL);
	assert_int_equal(cfg.nfiles, JAIL_MAX_FILES); /* all accepted; --id is what is missing */
	assert_err_has("--id");
}

static void test_file_split(void **state)
{
	static const struct {
		const char *arg, *src, *dest;
	} good[] = {
	    {"/a", "/a", "/a"},
	    {"/a:/b", "/a", "/b"},
	    {"/a:b/c.img", "/a:b/c.img", "/a:b/c.img"}, /* no ":/": a colon in the name */
	    {"/a:b:/c", "/a:b", "/c"},
	    {"/x:/y:/z", "/x:/y", "/z"}, /* the last ":/" splits */
	    {"//a/./b/:/c//d/", "/a/b", "/c/d"},
	};
	struct jail_file f;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(jail_file_parse(good[i].arg, true, &f, err, sizeof(err)), 0);
		assert_string_equal(f.src, good[i].src);
		assert_string_equal(f.dest, good[i].dest);
		assert_true(f.readonly);
	}
}

static void test_path_clean(void **state)
{
	static const struct {
		const char *in, *out;
	} good[] = {
	    {"/", "/"},
	    {"//", "/"},
	    {"/a", "/a"},
	    {"/a/", "/a"},
	    {"//a//b//", "/a/b"},
	    {"/./a/./b/.", "/a/b"},
	    {"/a/.b/..c", "/a/.b/..c"},
	    {"/...", "/..."},
	};
	static const char *const bad[] = {"", "a", "./a", "/..", "/a/../b", "/a/..", "a/b"};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(jail_path_clean(good[i].in, out, sizeof(out)), 0);
		assert_string_equal(out, good[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (jail_path_clean(bad[i], out, sizeof(out)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(jail_path_clean(NULL, out, sizeof(out)), -EINVAL);
	/* exactly fits, then one byte short */
	assert_int_equal(jail_path_clean("/abc", out, 5), 0);
	assert_int_equal(jail_path_clean("/abc", out, 4), -ENAMETOOLONG);
	assert_int_equal(jail_path_clean("/", out, 1), -ENAMETOOLONG);
}

static void test_path_lexical(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"/a/../b", "/b"}, {"/lib/x86_64-linux-gnu/../../usr/lib/libz.so", "/usr/lib/libz.so"},
	    {"/..", "/"},      {"/../../a", "/a"},
	    {"/a/b/..", "/a"}, {"/a/./b/../c/", "/a/c"},
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(jail_path_lexical(cases[i].in, out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].out);
	}
	assert_int_equal(jail_path_lexical("a/../b", out, sizeof(out)), -EINVAL);
}

static void test_path_within(void **state)
{
	(void)state;
	assert_true(jail_path_within("/a", "/a"));
	assert_true(jail_path_within("/a", "/a/b"));
	assert_true(jail_path_within("/", "/x"));
	assert_false(jail_path_within("/a", "/ab"));
	assert_false(jail_path_within("/a/b", "/a"));
	assert_false(jail_path_within("/dev", "/devices/x"));
}

static void test_id(void **state)
{
	char longest[JAIL_ID_MAX + 2];

	(void)state;
	assert_true(jail_id_valid("vm1"));
	assert_true(jail_id_valid("0-a_B"));
	memset(longest, 'a', sizeof(longest));
	longest[JAIL_ID_MAX] = 0;
	assert_true(jail_id_valid(longest));
	longest[JAIL_ID_MAX] = 'a';
	longest[JAIL_ID_MAX + 1] = 0;
	assert_false(jail_id_valid(longest));
	assert_false(jail_id_valid(""));
	assert_false(jail_id_valid("."));
	assert_false(jail_id_valid("a.b"));
	assert_false(jail_id_valid("a b"));
	assert_false(jail_id_valid("_a"));
	assert_false(jail_id_valid("a/b"));
}

static void test_dir_paths(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(jail_dir_path("/srv/jail", "vm1", out, sizeof(out)), 0);
	assert_string_equal(out, "/srv/jail/vm1");
	assert_int_equal(jail_root_path("/srv/jail", "vm1", out, sizeof(out)), 0);
	assert_string_equal(out, "/srv/jail/vm1/root");
	assert_int_equal(jail_root_path("/", "vm1", out, sizeof(out)), 0);
	assert_string_equal(out, "/vm1/root");
	assert_int_equal(jail_inner_path("/j/vm1/root", "/dev/kvm", out, sizeof(out)), 0);
	assert_string_equal(out, "/j/vm1/root/dev/kvm");
	assert_int_equal(jail_inner_path("/j/vm1/root", "/", out, sizeof(out)), 0);
	assert_string_equal(out, "/j/vm1/root");
	/* "/srv/jail/vm1/root" is 18 bytes: 19 fit it, 18 do not */
	assert_int_equal(jail_root_path("/srv/jail", "vm1", out, 19), 0);
	assert_int_equal(jail_root_path("/srv/jail", "vm1", out, 18), -ENAMETOOLONG);
	assert_int_equal(jail_dir_path("/srv/jail", "vm1", out, 13), -ENAMETOOLONG);
	assert_int_equal(
	    jail_inner_path("/j/vm1/root", "/a/very/long/inner/path", out, sizeof(out)),
	    -ENAMETOOLONG);
}

static struct jail_plan *new_plan(void)
{
	struct jail_plan *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	return p;
}

static void test_plan(void **state)
{
	char *libs[] = {(char *)"/lib64/ld-linux-x86-64.so.2",
			(char *)"/lib/x86_64-linux-gnu/libc.so.6",
			(char *)"/lib/x86_64-linux-gnu/../x86_64-linux-gnu/libc.so.6",
			(char *)"/opt/vmm/bin/../lib/liburing.so.2"};
	struct jail_plan *p = new_plan();

	(void)state;
	assert_int_equal(run(REQUIRED, "--file", "/img/a.raw:/a.raw", "--file-ro", "/boot/k:/k",
			     "--", "/opt/vmm/bin/phyllome-vmm", END),
			 0);
	assert_int_equal(jail_plan_build(p, &cfg, libs, 4, true, err, sizeof(err)), 0);
	/* /dev, the VMM, 3 libraries (libc once), ld.so.cache, 2 files */
	assert_int_equal(p->n, 8);
	assert_int_equal(p->m[0].kind, JAIL_MOUNT_DEV);
	assert_string_equal(p->m[0].dest, "/dev");
	assert_int_equal(p->m[1].kind, JAIL_MOUNT_EXEC);
	assert_string_equal(p->m[1].dest, "/opt/vmm/bin/phyllome-vmm");
	assert_string_equal(p->m[4].src, "/opt/vmm/bin/../lib/liburing.so.2");
	assert_string_equal(p->m[4].dest, "/opt/vmm/lib/liburing.so.2");
	assert_int_equal(p->m[5].kind, JAIL_MOUNT_RO);
	assert_string_equal(p->m[5].dest, "/etc/ld.so.cache");
	assert_int_equal(p->m[6].kind, JAIL_MOUNT_RW);
	assert_string_equal(p->m[6].src, "/img/a.raw");
	assert_string_equal(p->m[6].dest, "/a.raw");
	assert_int_equal(p->m[7].kind, JAIL_MOUNT_RO);
	/* Only the --file entries are opened without following links (libraries are reached
	 * through the loader's links). */
	for (unsigned i = 0; i < p->n; i++)
		assert_int_equal(p->m[i].user_file, i >= 6);
	jail_plan_free(p);
	assert_int_equal(p->n, 0);
	free(p);
}

static void test_plan_conflicts(void **state)
{
	static const struct {
		const char *file;
		const char *says;
	} bad[] = {
	    {"/x:/dev/kvm", "/dev"},
	    {"/x:/dev", "/dev"},
	    {"/x:/lib", "libc.so.6"},			    /* a folder over the libraries */
	    {"/x:/lib/x86_64-linux-gnu/libc.so.6", "libc"}, /* a file over one */
	    {"/x:/usr/bin/phyllome-vmm", "phyllome-vmm"},
	    {"/x:/usr", "phyllome-vmm"},
	    {"/x:/etc/ld.so.cache", "ld.so.cache"},
	};
	char *libs[] = {(char *)"/lib/x86_64-linux-gnu/libc.so.6"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jail_plan *p = new_plan();

		assert_int_equal(
		    run(REQUIRED, "--file", bad[i].file, "--", "/usr/bin/phyllome-vmm", END), 0);
		err[0] = 0;
		if (jail_plan_build(p, &cfg, libs, 1, true, err, sizeof(err)) >= 0)
			fail_msg("--file %s accepted", bad[i].file);
		assert_one_line(-1);
		assert_err_has(bad[i].says);
		jail_plan_free(p);
		free(p);
	}
}

static void test_plan_add(void **state)
{
	struct jail_plan *p = new_plan();

	(void)state;
	assert_int_equal(jail_plan_add(p, JAIL_MOUNT_RO, "/a", "/a", err, sizeof(err)), 0);
	/* the same file twice is one mount; the same place for another file is a conflict */
	assert_int_equal(jail_plan_add(p, JAIL_MOUNT_RO, "/a", "/a", err, sizeof(err)), 0);
	assert_int_equal(p->n, 1);
	assert_int_equal(jail_plan_add(p, JAIL_MOUNT_RO, "/b", "/a", err, sizeof(err)), -EINVAL);
	assert_int_equal(jail_plan_add(p, JAIL_MOUNT_RW, "/a", "/a", err, sizeof(err)), -EINVAL);
	/* siblings with a common prefix are fine */
	assert_int_equal(jail_plan_add(p, JAIL_MOUNT_RO, "/ab", "/ab", err, sizeof(err)), 0);
	assert_int_equal(jail_plan_add(p, JAIL_MOUNT_RO, "/x", "/", err, sizeof(err)), -EINVAL);
	assert_int_equal(jail_plan_add(p, JAIL_MOUNT_RO, "/x", "/y/../z", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(jail_plan_add(p, JAIL_MOUNT_RO, "/x", "y", err, sizeof(err)), -EINVAL);
	assert_int_equal(jail_plan_add(p, JAIL_MOUNT_RO, "/x", "/y/", err, sizeof(err)), -EINVAL);
	assert_int_equal(p->n, 2);
	for (unsigned i = p->n; i < JAIL_MAX_MOUNTS; i++) {
		char d[32];

		snprintf(d, sizeof(d), "/f%u", i);
		assert_int_equal(jail_plan_add(p, JAIL_MOUNT_RO, d, d, err, sizeof(err)), 0);
	}
	assert_int_equal(jail_plan_add(p, JAIL_MOUNT_RO, "/last", "/last", err, sizeof(err)),
			 -E2BIG);
	jail_plan_free(p);
	free(p);
}

static void test_usage(void **state)
{
	static const char *const names[] = {
	    "--id",	 "--chroot-base", "--uid",   "--gid",	 "--netns", "--tun",	"--file",
	    "--file-ro", "--fd",	  "--fd-ro", "--rlimit", "--help",  "--version"};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	jail_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strstr(text, names[i]))
			fail_msg("--help does not list %s", names[i]);
	free(text);
	assert_string_equal(jail_rlimit_name(JAIL_RL_FSIZE), "fsize");
}

/* --- the ELF reader ------------------------------------------------------------------------ */

#define IMG_VADDR 0x400000u
#define STRTAB	  "\0libfoo.so.1\0libc.so.6\0$ORIGIN/../lib:/opt/x"
#define INTERP	  "/lib64/ld-linux-x86-64.so.2"

struct img {
	uint8_t b[1024];
	size_t len;
	size_t phoff, strtab_off, dyn_off;
};

static void put_dyn(struct img *m, size_t *o, int64_t tag, uint64_t val)
{
	Elf64_Dyn d = {.d_tag = tag, .d_un.d_val = val};

	memcpy(m->b + *o, &d, sizeof(d));
	*o += sizeof(d);
}

/* A small shared object: PT_LOAD of the whole file at IMG_VADDR, PT_INTERP, PT_DYNAMIC with
 * two DT_NEEDED and a DT_RUNPATH. */
static void make_img(struct img *m)
{
	Elf64_Ehdr eh = {.e_type = ET_DYN,
			 .e_machine = EM_X86_64,
			 .e_version = EV_CURRENT,
			 .e_phoff = sizeof(Elf64_Ehdr),
			 .e_ehsize = sizeof(Elf64_Ehdr),
			 .e_phentsize = sizeof(Elf64_Phdr),
			 .e_phnum = 3};
	Elf64_Phdr ph[3];
	size_t interp = sizeof(eh) + sizeof(ph), o;

	memset(m, 0, sizeof(*m));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	m->phoff = eh.e_phoff;
	m->strtab_off = interp + 32;
	m->dyn_off = m->strtab_off + 64;
	memcpy(m->b + interp, INTERP, sizeof(INTERP));
	memcpy(m->b + m->strtab_off, STRTAB, sizeof(STRTAB));
	o = m->dyn_off;
	put_dyn(m, &o, DT_NEEDED, 1);
	put_dyn(m, &o, DT_NEEDED, 13);
	put_dyn(m, &o, DT_RUNPATH, 23);
	put_dyn(m, &o, DT_STRTAB, IMG_VADDR + m->strtab_off);
	put_dyn(m, &o, DT_STRSZ, sizeof(STRTAB));
	put_dyn(m, &o, DT_NULL, 0);
	m->len = o;
	memset(ph, 0, sizeof(ph));
	ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
			     .p_offset = 0,
			     .p_vaddr = IMG_VADDR,
			     .p_filesz = m->len,
			     .p_memsz = m->len};
	ph[1] = (Elf64_Phdr){.p_type = PT_INTERP, .p_offset = interp, .p_filesz = sizeof(INTERP)};
	ph[2] =
	    (Elf64_Phdr){.p_type = PT_DYNAMIC, .p_offset = m->dyn_off, .p_filesz = o - m->dyn_off};
	memcpy(m->b, &eh, sizeof(eh));
	memcpy(m->b + m->phoff, ph, sizeof(ph));
}

static struct elf_info *new_info(void)
{
	struct elf_info *i = malloc(sizeof(*i));

	assert_non_null(i);
	return i;
}

static void test_elf_parse(void **state)
{
	struct elf_info *info = new_info();
	struct img m;

	(void)state;
	make_img(&m);
	assert_int_equal(elf_parse(m.b, m.len, info, err, sizeof(err)), 0);
	assert_int_equal(info->machine, EM_X86_64);
	assert_true(info->dynamic);
	assert_string_equal(info->interp, INTERP);
	assert_int_equal(info->nneeded, 2);
	assert_string_equal(info->needed[0], "libfoo.so.1");
	assert_string_equal(info->needed[1], "libc.so.6");
	assert_string_equal(info->runpath, "$ORIGIN/../lib:/opt/x");
	assert_string_equal(info->rpath, "");
	free(info);
}

/* Each image is broken in one way; each must be refused with a message, never read past. */
static void test_elf_hostile(void **state)
{
	struct elf_info *info = new_info();
	struct img m;
	uint64_t v;

	(void)state;
	for (int c = 0; c < 11; c++) {
		size_t len;

		make_img(&m);
		len = m.len;
		switch (c) {
		case 0: /* truncated header */
			len = 40;
			break;
		case 1: /* 32-bit */
			m.b[EI_CLASS] = ELFCLASS32;
			break;
		case 2: /* program headers past the end */
			v = 1000;
			memcpy(m.b + offsetof(Elf64_Ehdr, e_phoff), &v, sizeof(v));
			break;
		case 3: /* string table past the end */
			v = sizeof(STRTAB) + 4096;
			memcpy(m.b + m.dyn_off + 4 * sizeof(Elf64_Dyn) + 8, &v, sizeof(v));
			break;
		case 4: /* a DT_NEEDED offset past the string table */
			v = sizeof(STRTAB) + 1;
			memcpy(m.b + m.dyn_off + 8, &v, sizeof(v));
			break;
		case 5: /* string table at an address no PT_LOAD maps */
			v = 0x10;
			memcpy(m.b + m.dyn_off + 3 * sizeof(Elf64_Dyn) + 8, &v, sizeof(v));
			break;
		case 6: /* the interpreter's string not terminated within its segment */
			m.b[m.phoff + sizeof(Elf64_Phdr) + offsetof(Elf64_Phdr, p_filesz)] = 5;
			break;
		case 7: /* the last string runs off the table: DT_STRSZ one short */
			v = sizeof(STRTAB) - 1;
			memcpy(m.b + m.dyn_off + 4 * sizeof(Elf64_Dyn) + 8, &v, sizeof(v));
			break;
		case 8: /* an empty DT_NEEDED name */
			v = 0;
			memcpy(m.b + m.dyn_off + 8, &v, sizeof(v));
			break;
		case 9: /* not ELF */
			m.b[1] = 'X';
			break;
		case 10: /* dynamic section past the end */
			len = m.dyn_off + 8;
			break;
		}
		err[0] = 0;
		if (elf_parse(m.b, len, info, err, sizeof(err)) >= 0)
			fail_msg("broken image %d accepted", c);
		assert_one_line(-1);
	}
	free(info);
}

/* This test program is itself dynamically linked: its libraries must be found as ld.so finds
 * them, and every path must exist. */
static void test_elf_deps_self(void **state)
{
	/* Loaded with dlopen (so not in the program's own list): one there, one that is not. */
	static const char *const optional[] = {"libjansson.so.4", "libphyllome-none.so.9", NULL};
	struct elf_deps deps = {.n = 0};
	char self[JAIL_PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	bool libc = false, cmocka = false, jansson = false;

	(void)state;
	assert_true(n > 0);
	self[n] = 0;
	if (elf_deps_collect(self, optional, &deps, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_true(deps.n >= 2);
	assert_true(deps.paths[0][0] == '/' && strstr(deps.paths[0], "ld-linux"));
	for (unsigned i = 0; i < deps.n; i++) {
		if (access(deps.paths[i], R_OK) < 0)
			fail_msg("%s: not there", deps.paths[i]);
		libc |= strstr(deps.paths[i], "/libc.so.6") != NULL;
		cmocka |= strstr(deps.paths[i], "/libcmocka.so") != NULL;
		jansson |= strstr(deps.paths[i], "/libjansson.so.4") != NULL;
		assert_null(strstr(deps.paths[i], "phyllome-none"));
	}
	assert_true(libc);
	assert_true(cmocka);
	assert_true(jansson);
	elf_deps_free(&deps);
	assert_int_equal(deps.n, 0);
}

static void test_elf_deps_errors(void **state)
{
	struct elf_deps deps = {.n = 0};
	char path[] = "/tmp/phyllome-test-jail-XXXXXX";
	int fd;

	(void)state;
	assert_int_equal(elf_deps_collect("/nonexistent/vmm", NULL, &deps, err, sizeof(err)),
			 -ENOENT);
	assert_err_has("/nonexistent/vmm");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\necho not ELF\n", 23), 23);
	close(fd);
	assert_int_equal(elf_deps_collect(path, NULL, &deps, err, sizeof(err)), -ENOEXEC);
	assert_err_has("not an ELF");
	unlink(path);
}

/* Files handed to the jail are opened with no symbolic link anywhere on their path: a link
 * as the last component or as a folder on the way is refused (-ELOOP); the real path works,
 * for a file and a folder, and the descriptor names the file itself. */
static void test_source_no_symlinks(void **state)
{
	char dir[64], file[96], sub[96], link[96], via[128], dlink[96];
	struct stat a, b;
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/phyllome-jailsrc-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(file, sizeof(file), "%s/sub/disk.img", dir);
	snprintf(link, sizeof(link), "%s/link.img", dir);
	snprintf(dlink, sizeof(dlink), "%s/dlink", dir);
	snprintf(via, sizeof(via), "%s/dlink/disk.img", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink(file, link), 0);
	assert_int_equal(symlink(sub, dlink), 0);

	fd = jail_source_open(file);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(file, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(fd);
	fd = jail_source_open(sub);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(jail_source_open(link), -ELOOP);
	assert_int_equal(jail_source_open(via), -ELOOP);
	assert_int_equal(jail_source_open(dlink), -ELOOP);
	snprintf(via, sizeof(via), "%s/missing", dir);
	assert_int_equal(jail_source_open(via), -ENOENT);

	unlink(link);
	unlink(dlink);
	unlink(file);
	rmdir(sub);
	rmdir(dir);
}

/* --fd SRC:N and --fd-ro SRC:N: parsed into fds (N from 3 to 18, each once, SRC absolute and
 * cleaned); the rest refused with one line that names the option. */
static void test_parse_fds(void **state)
{
	struct jail_fd f;

	(void)state;
	assert_int_equal(run(REQUIRED, "--fd", "/d//a.img:3", "--fd-ro", "/iso/x:y.iso:18", "--fd",
			     "/dev/vda:4", "--", "/v", END),
			 0);
	assert_int_equal(cfg.nfds, 3);
	assert_string_equal(cfg.fds[0].src, "/d/a.img");
	assert_int_equal(cfg.fds[0].num, 3);
	assert_false(cfg.fds[0].readonly);
	assert_int_equal(cfg.fds[0].open, -1);
	assert_string_equal(cfg.fds[1].src, "/iso/x:y.iso"); /* split at the last ':' */
	assert_int_equal(cfg.fds[1].num, 18);
	assert_true(cfg.fds[1].readonly);
	assert_string_equal(cfg.fds[2].src, "/dev/vda");
	assert_true(run(REQUIRED, "--fd", "/a:3", "--fd-ro", "/b:3", "--", "/v", END) < 0);
	assert_err_has("given twice");
	assert_true(run(REQUIRED, "--fd", "/a:2", "--", "/v", END) < 0);
	assert_err_has("--fd");
	assert_true(run(REQUIRED, "--fd-ro", "/a:19", "--", "/v", END) < 0);
	assert_err_has("--fd-ro");
	assert_true(run(REQUIRED, "--fd", "/a", "--", "/v", END) < 0);
	assert_true(run(REQUIRED, "--fd", "/a:x", "--", "/v", END) < 0);
	assert_true(run(REQUIRED, "--fd", "a.img:3", "--", "/v", END) < 0);
	assert_err_has("absolute");
	assert_true(run(REQUIRED, "--fd", "/a/../etc/shadow:3", "--", "/v", END) < 0);
	assert_true(run(REQUIRED, "--fd", ":3", "--", "/v", END) < 0);
	err[0] = 0;
	assert_int_equal(jail_fd_parse("/x:5", false, NULL, 0, &f, err, sizeof(err)), 0);
	assert_int_equal(f.num, 5);
}

/* An --fd's SRC: opened for reading, or reading and writing; never through a symbolic link;
 * only a regular file or a block device (a FIFO, which could hold the jail up, and a folder
 * are refused). */
static void test_fd_open(void **state)
{
	char dir[64], file[96], link[96], fifo[96];
	struct stat a, b;
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/phyllome-jailfd-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/disk.img", dir);
	snprintf(link, sizeof(link), "%s/link.img", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink(file, link), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);

	fd = jail_fd_open(file, true);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(file, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(fd);
	fd = jail_fd_open(file, false);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	close(fd);
	assert_int_equal(jail_fd_open(link, true), -ELOOP);
	assert_int_equal(jail_fd_open(fifo, true), -EINVAL);
	assert_int_equal(jail_fd_open(dir, true), -EINVAL);
	snprintf(link, sizeof(link), "%s/missing", dir);
	assert_int_equal(jail_fd_open(link, true), -ENOENT);

	snprintf(link, sizeof(link), "%s/link.img", dir);
	unlink(link);
	unlink(fifo);
	unlink(file);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_minimal),
	    cmocka_unit_test(test_parse_userns),
	    cmocka_unit_test(test_parse_all),
	    cmocka_unit_test(test_parse_actions),
	    cmocka_unit_test(test_parse_refusals),
	    cmocka_unit_test(test_parse_many_files),
	    cmocka_unit_test(test_file_split),
	    cmocka_unit_test(test_path_clean),
	    cmocka_unit_test(test_path_lexical),
	    cmocka_unit_test(test_path_within),
	    cmocka_unit_test(test_id),
	    cmocka_unit_test(test_dir_paths),
	    cmocka_unit_test(test_plan),
	    cmocka_unit_test(test_plan_conflicts),
	    cmocka_unit_test(test_plan_add),
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_elf_parse),
	    cmocka_unit_test(test_elf_hostile),
	    cmocka_unit_test(test_elf_deps_self),
	    cmocka_unit_test(test_elf_deps_errors),
	    cmocka_unit_test(test_source_no_symlinks),
	    cmocka_unit_test(test_parse_fds),
	    cmocka_unit_test(test_fd_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
