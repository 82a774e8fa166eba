/* phyllome-vmm's command line (config_parse) and the parsers under it (opts_*): every
 * option in both spellings, the defaults, sizes, and each refusal with its message. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/opts.h"
#include "machine/config.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define TiB (1ull << 40)

#define MAX_ARGS 16
#define ARG_LEN	 8192

/* argv must be writable and outlive the checks (cfg points into it). */
static char args[MAX_ARGS][ARG_LEN];
static char *argv_buf[MAX_ARGS + 1];
static char err[512];

static void assert_one_line(int rc)
{
	if (rc >= 0)
		return;
	if (!err[0])
		fail_msg("rc %d with an empty message", rc);
	if (strchr(err, '\n'))
		fail_msg("message has a newline: '%s'", err);
}

/* config_parse on "phyllome-vmm" followed by the NULL-terminated words. */
static int run(struct vm_config *cfg, ...)
{
	va_list ap;
	const char *w;
	int argc = 0, rc;

	strcpy(args[argc], "phyllome-vmm");
	argv_buf[argc] = args[argc];
	argc++;
	va_start(ap, cfg);
	while ((w = va_arg(ap, const char *))) {
		assert_true(argc < MAX_ARGS && strlen(w) < ARG_LEN);
		strcpy(args[argc], w);
		argv_buf[argc] = args[argc];
		argc++;
	}
	va_end(ap);
	argv_buf[argc] = NULL;
	err[0] = 0;
	rc = config_parse(cfg, argc, argv_buf, err, sizeof(err));
	assert_one_line(rc);
	return rc;
}

/* The refusal's message must name what was wrong. */
static void assert_err_has(const char *word)
{
	if (!strstr(err, word))
		fail_msg("message '%s' does not mention '%s'", err, word);
}

static void test_sizes(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
	    {"0", 0},
	    {"4096", 4096},
	    {"64K", 64 * KiB},
	    {"64k", 64 * KiB},
	    {"256M", 256 * MiB},
	    {"5G", 5 * GiB},
	    {"1T", TiB},
	    {"2GiB", 2 * GiB},
	    {"1MB", MiB},
	    {"16777215T", 16777215ull * TiB},
	    {"18446744073709551615", UINT64_MAX},
	};
	static const struct {
		const char *s;
		int rc;
	} bad[] = {
	    {"", -EINVAL},
	    {"M", -EINVAL},
	    {"12X", -EINVAL},
	    {"-1", -EINVAL},
	    {"1.5G", -EINVAL},
	    {" 1G", -EINVAL},
	    {"1G ", -EINVAL},
	    {"1Gi", -EINVAL},
	    {"1GiBB", -EINVAL},
	    {"1MM", -EINVAL},
	    {"99999999999999999999", -ERANGE},
	    {"18446744073709551616", -ERANGE},
	    {"16777216T", -ERANGE},
	    {"17179869184G", -ERANGE},
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 12345;
		if (opts_parse_size(good[i].s, &v) != 0 || v != good[i].v)
			fail_msg("'%s' -> %llu, want %llu", good[i].s, (unsigned long long)v,
				 (unsigned long long)good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		v = 12345;
		rc = opts_parse_size(bad[i].s, &v);
		if (rc != bad[i].rc || v != 12345)
			fail_msg("'%s' -> %d (value %llu), want %d", bad[i].s, rc,
				 (unsigned long long)v, bad[i].rc);
	}
	assert_int_equal(opts_parse_size(NULL, &v), -EINVAL);
}

static void test_u64(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(opts_parse_u64("42", 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(opts_parse_u64("100", 100, &v), 0);
	assert_int_equal(opts_parse_u64("101", 100, &v), -ERANGE);
	assert_int_equal(v, 100);
	assert_int_equal(opts_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(opts_parse_u64("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(opts_parse_u64("", 10, &v), -EINVAL);
	assert_int_equal(opts_parse_u64(NULL, 10, &v), -EINVAL);
	assert_int_equal(opts_parse_u64("+1", 10, &v), -EINVAL);
	assert_int_equal(opts_parse_u64("-1", 10, &v), -EINVAL);
	assert_int_equal(opts_parse_u64("1x", 10, &v), -EINVAL);
	assert_int_equal(opts_parse_u64(" 1", 10, &v), -EINVAL);
}

static void test_kv(void **state)
{
	char buf[] = "a=1,b,c=x=y";
	char *cur = buf, *k, *v;
	char empty[] = "", gaps[] = "p,,q=";

	(void)state;
	assert_int_equal(opts_kv_next(&cur, &k, &v), 1);
	assert_string_equal(k, "a");
	assert_string_equal(v, "1");
	assert_int_equal(opts_kv_next(&cur, &k, &v), 1);
	assert_string_equal(k, "b");
	assert_null(v);
	assert_int_equal(opts_kv_next(&cur, &k, &v), 1);
	assert_string_equal(k, "c");
	assert_string_equal(v, "x=y");
	assert_int_equal(opts_kv_next(&cur, &k, &v), 0);
	assert_int_equal(opts_kv_next(&cur, &k, &v), 0); /* stays at the end */

	cur = empty;
	assert_int_equal(opts_kv_next(&cur, &k, &v), 0);
	cur = gaps;
	assert_int_equal(opts_kv_next(&cur, &k, &v), 1);
	assert_string_equal(k, "p");
	assert_int_equal(opts_kv_next(&cur, &k, &v), 1);
	assert_string_equal(k, "");
	assert_null(v);
	assert_int_equal(opts_kv_next(&cur, &k, &v), 1);
	assert_string_equal(k, "q");
	assert_string_equal(v, "");
	assert_int_equal(opts_kv_next(&cur, &k, &v), 0);
}

static void test_defaults(void **state)
{
	struct vm_config cfg;

	(void)state;
	memset(&cfg, 0xA5, sizeof(cfg));
	assert_int_equal(run(&cfg, "--kernel", "bzImage", NULL), 0);
	assert_string_equal(cfg.kernel, "bzImage");
	assert_null(cfg.initramfs);
	assert_string_equal(cfg.cmdline, "");
	assert_int_equal(cfg.ncpus, 1);
	assert_int_equal(cfg.mem_size, 512 * MiB);
	assert_int_equal(cfg.serial, SERIAL_TTY);
	assert_int_equal(cfg.verbose, 0);
	assert_int_equal(cfg.action, CONFIG_RUN);
}

/* Every option, first as "--opt value", then as "--opt=value". */
static void test_all_options(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(run(&cfg, "--kernel", "/k", "--initramfs", "/i", "--cmdline",
			     "console=ttyS0 root=/dev/vda", "--cpus", "boot=4", "--memory",
			     "size=2G", "--serial", "file=/tmp/out", "--verbose", "-v", NULL),
			 0);
	assert_string_equal(cfg.kernel, "/k");
	assert_string_equal(cfg.initramfs, "/i");
	assert_string_equal(cfg.cmdline, "console=ttyS0 root=/dev/vda");
	assert_int_equal(cfg.ncpus, 4);
	assert_int_equal(cfg.mem_size, 2 * GiB);
	assert_int_equal(cfg.serial, SERIAL_FILE);
	assert_string_equal(cfg.serial_path, "/tmp/out");
	assert_int_equal(cfg.verbose, 2);
	assert_int_equal(cfg.action, CONFIG_RUN);

	assert_int_equal(run(&cfg, "--kernel=/k2", "--initramfs=/i2", "--cmdline=a=b c",
			     "--cpus=boot=64", "--memory=size=5G", "--serial=socket=/run/s.sock",
			     NULL),
			 0);
	assert_string_equal(cfg.kernel, "/k2");
	assert_string_equal(cfg.initramfs, "/i2");
	assert_string_equal(cfg.cmdline, "a=b c");
	assert_int_equal(cfg.ncpus, 64);
	assert_int_equal(cfg.mem_size, 5 * GiB);
	assert_int_equal(cfg.serial, SERIAL_SOCKET);
	assert_string_equal(cfg.serial_path, "/run/s.sock");
	assert_int_equal(cfg.verbose, 0);

	/* The last one given wins; an empty --cmdline is allowed. */
	assert_int_equal(run(&cfg, "--kernel", "/k", "--memory", "size=1G", "--memory=size=32M",
			     "--cpus", "boot=2,boot=3", "--cmdline=", NULL),
			 0);
	assert_int_equal(cfg.mem_size, 32 * MiB);
	assert_int_equal(cfg.ncpus, 3);
	assert_string_equal(cfg.cmdline, "");
	/* The value is the next word even when it starts with "-". */
	assert_int_equal(run(&cfg, "--kernel", "/k", "--cmdline", "-v", NULL), 0);
	assert_string_equal(cfg.cmdline, "-v");
	assert_int_equal(cfg.verbose, 0);
}

static void test_actions(void **state)
{
	struct vm_config cfg;

	(void)state;
	/* --help and --version need no kernel. */
	assert_int_equal(run(&cfg, "--help", NULL), 0);
	assert_int_equal(cfg.action, CONFIG_HELP);
	assert_int_equal(run(&cfg, "-h", NULL), 0);
	assert_int_equal(cfg.action, CONFIG_HELP);
	assert_int_equal(run(&cfg, "--version", NULL), 0);
	assert_int_equal(cfg.action, CONFIG_VERSION);
	assert_int_equal(run(&cfg, "--kernel", "/k", "-V", NULL), 0);
	assert_int_equal(cfg.action, CONFIG_VERSION);
	/* Flags take no value. */
	assert_true(run(&cfg, "--help=yes", NULL) < 0);
	assert_err_has("--help");
	assert_true(run(&cfg, "--kernel", "/k", "--verbose=2", NULL) < 0);
	assert_err_has("--verbose");
	/* Nothing to boot. */
	assert_true(run(&cfg, NULL) < 0);
	assert_err_has("--kernel");
	assert_true(run(&cfg, "--cpus", "boot=2", NULL) < 0);
	assert_err_has("--kernel");
	assert_true(run(&cfg, "--kernel", "/k", "--initramfs=", NULL) < 0);
	assert_err_has("--initramfs");
}

static void test_cpus(void **state)
{
	static const char *const bad[] = {"boot=0",
					  "boot=65",
					  "boot=abc",
					  "boot=",
					  "boot",
					  "cores=2",
					  "boot=-1",
					  "boot=99999999999999999999999",
					  "boot=2,sockets=1",
					  "boot=1,hyperv=maybe",
					  "boot=1,hyperv",
					  "kvm=no"};
	struct vm_config cfg;
	char word[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(word, sizeof(word), "--cpus=%s", bad[i]);
		assert_true(run(&cfg, "--kernel", "/k", "--cpus", bad[i], NULL) < 0);
		assert_err_has("--cpus");
		assert_true(run(&cfg, "--kernel", "/k", word, NULL) < 0);
		assert_err_has("--cpus");
	}
	assert_true(run(&cfg, "--kernel", "/k", "--cpus=", NULL) < 0);
	assert_err_has("--cpus");
	/* Missing value at the end. */
	assert_true(run(&cfg, "--kernel", "/k", "--cpus", NULL) < 0);
	assert_err_has("--cpus");
	/* --rtc: UTC by default, local time when asked, nothing else. */
	assert_false(cfg.rtc_localtime);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--rtc", "base=localtime", NULL), 0);
	assert_true(cfg.rtc_localtime);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--rtc=base=utc", NULL), 0);
	assert_false(cfg.rtc_localtime);
	assert_true(run(&cfg, "--kernel", "/k", "--rtc", "base=mars", NULL) < 0);
	assert_err_has("--rtc");
	assert_true(run(&cfg, "--kernel", "/k", "--rtc", "localtime", NULL) < 0);
	assert_err_has("--rtc");
	/* Hyper-V enlightenments, and KVM's leaves hidden (both off / shown by default). */
	assert_int_equal(run(&cfg, "--kernel", "/k", "--cpus", "boot=2", NULL), 0);
	assert_false(cfg.hyperv);
	assert_true(cfg.kvm_leaves);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--cpus", "boot=2,hyperv=on,kvm=off", NULL),
			 0);
	assert_int_equal(cfg.ncpus, 2);
	assert_true(cfg.hyperv);
	assert_false(cfg.kvm_leaves);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--cpus", "boot=1", NULL), 0);
	assert_int_equal(cfg.ncpus, 1);
}

static void test_memory(void **state)
{
	static const char *const bad[] = {
	    "size=16M", "size=31M", "size=1025G", "size=2T",   "size=33000K",
	    "size=xyz", "size=",    "512M",	  "size=1.5G", "size=99999999999999999999T"};
	struct vm_config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run(&cfg, "--kernel", "/k", "--memory", bad[i], NULL) >= 0)
			fail_msg("--memory %s accepted", bad[i]);
		assert_err_has("--memory");
	}
	assert_true(run(&cfg, "--kernel", "/k", "--memory", NULL) < 0);
	assert_err_has("--memory");
	/* The edges: 32 MiB, 1 TiB, and a whole number of MiB in K. */
	assert_int_equal(run(&cfg, "--kernel", "/k", "--memory", "size=32M", NULL), 0);
	assert_int_equal(cfg.mem_size, 32 * MiB);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--memory", "size=1T", NULL), 0);
	assert_int_equal(cfg.mem_size, TiB);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--memory", "size=33792K", NULL), 0);
	assert_int_equal(cfg.mem_size, 33 * MiB);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--memory", "size=3GiB", NULL), 0);
	assert_int_equal(cfg.mem_size, 3 * GiB);
}

static void test_disk(void **state)
{
	static const char *const bad[] = {
	    "path=/d,direct=yes",   "path=/d,direct",	    "path=/d,dirct=on",
	    "path=/d,bootindex",    "path=/d,bootindex=-1", "path=/d,bootindex=10000",
	    "path=/d,bootindex=1x", "path=/d,bus=scsi",	    "path=/d,bus",
	    "path=/d,format=qcow",  "path=/d,format",	    "path=/d,backing=yes"};
	struct vm_config cfg;

	(void)state;
	assert_int_equal(run(&cfg, "--kernel", "/k", "--disk", "path=/d", "--disk",
			     "path=/e,direct=on,readonly=on", "--disk", "direct=off,path=/f", NULL),
			 0);
	assert_int_equal(cfg.ndisks, 3);
	assert_false(cfg.disks[0].direct);
	assert_true(cfg.disks[1].direct);
	assert_true(cfg.disks[1].readonly);
	assert_string_equal(cfg.disks[1].path, "/e");
	assert_false(cfg.disks[2].direct);
	assert_false(cfg.disks[0].qcow2); /* raw unless told: never probed */
	assert_false(cfg.disks[0].backing);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--disk", "path=/q,format=qcow2,backing=on",
			     "--disk", "path=/r,format=raw", "--disk", "format=qcow2,path=/s",
			     NULL),
			 0);
	assert_true(cfg.disks[0].qcow2 && cfg.disks[0].backing);
	assert_true(!cfg.disks[1].qcow2 && !cfg.disks[1].backing);
	assert_true(cfg.disks[2].qcow2 && !cfg.disks[2].backing);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--disk", "path=/d", "--disk",
			     "path=/e,direct=on,readonly=on", "--disk", "direct=off,path=/f", NULL),
			 0);
	assert_int_equal(cfg.disks[0].bootindex, -1);
	assert_int_equal(cfg.disks[2].bootindex, -1);
	assert_int_equal(cfg.disks[0].bus, DISK_BUS_VIRTIO);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--disk", "path=/d,bus=nvme,readonly=on",
			     "--disk", "bus=virtio,path=/e", NULL),
			 0);
	assert_int_equal(cfg.disks[0].bus, DISK_BUS_NVME);
	assert_true(cfg.disks[0].readonly);
	assert_int_equal(cfg.disks[1].bus, DISK_BUS_VIRTIO);
	/* bootindex: any order of numbers, each at most once. */
	assert_int_equal(run(&cfg, "--firmware", "/o.fd", "--disk", "path=/d,bootindex=7", "--disk",
			     "path=/e", "--disk", "bootindex=0,path=/f", NULL),
			 0);
	assert_int_equal(cfg.disks[0].bootindex, 7);
	assert_int_equal(cfg.disks[1].bootindex, -1);
	assert_int_equal(cfg.disks[2].bootindex, 0);
	assert_true(run(&cfg, "--firmware", "/o.fd", "--disk", "path=/d,bootindex=1", "--disk",
			"path=/e,bootindex=1", NULL) < 0);
	assert_err_has("bootindex=1");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run(&cfg, "--kernel", "/k", "--disk", bad[i], NULL) >= 0)
			fail_msg("--disk '%s' accepted", bad[i]);
		assert_err_has("--disk");
	}
}

/* --tpm socket=PATH: swtpm's control socket; nothing else, and a path a socket can have. */
static void test_tpm(void **state)
{
	static const char *const bad[] = {"socket=", "path=/s", "/run/s.sock", "socket=/s,x=1", ""};
	char longpath[120];
	struct vm_config cfg;

	(void)state;
	assert_int_equal(run(&cfg, "--kernel", "/k", NULL), 0);
	assert_string_equal(cfg.tpm_socket, "");
	assert_int_equal(run(&cfg, "--kernel", "/k", "--tpm", "socket=/vm/tpm.sock", NULL), 0);
	assert_string_equal(cfg.tpm_socket, "/vm/tpm.sock");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run(&cfg, "--kernel", "/k", "--tpm", bad[i], NULL) >= 0)
			fail_msg("--tpm '%s' accepted", bad[i]);
		assert_err_has("--tpm");
	}
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "socket=/", 8);
	longpath[7 + 108] = 0; /* a 108-byte path (from the '/'): sockaddr_un holds 107 + NUL */
	assert_true(run(&cfg, "--kernel", "/k", "--tpm", longpath, NULL) < 0);
	assert_err_has("--tpm");
	longpath[7 + 107] = 0;
	assert_int_equal(run(&cfg, "--kernel", "/k", "--tpm", longpath, NULL), 0);
}

/* --fs tag=TAG,path=DIR[,readonly=on][,cache=none]: repeatable, tags of 1 to 36 bytes and unique,
 * no server until main forks one. */
static void test_fs(void **state)
{
	static const char *const bad[] = {"tag=a",
					  "path=/d",
					  "tag=,path=/d",
					  "tag=a,path=",
					  "tag=a,path=/d,readonly=yes",
					  "tag=a,path=/d,cache=never",
					  "tag=a,path=/d,x=1",
					  ""};
	char tag[64];
	struct vm_config cfg;

	(void)state;
	assert_int_equal(run(&cfg, "--kernel", "/k", NULL), 0);
	assert_int_equal(cfg.nfs, 0);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--fs", "tag=work,path=/home/w", "--fs",
			     "tag=ro,path=/srv,readonly=on,cache=none", NULL),
			 0);
	assert_int_equal(cfg.nfs, 2);
	assert_string_equal(cfg.fs[0].tag, "work");
	assert_string_equal(cfg.fs[0].path, "/home/w");
	assert_false(cfg.fs[0].readonly);
	assert_true(cfg.fs[1].readonly);
	assert_false(cfg.fs[0].cache_none);
	assert_true(cfg.fs[1].cache_none);
	assert_int_equal(cfg.fs[1].server_fd, -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run(&cfg, "--kernel", "/k", "--fs", bad[i], NULL) >= 0)
			fail_msg("--fs '%s' accepted", bad[i]);
		assert_err_has("--fs");
	}
	assert_true(run(&cfg, "--kernel", "/k", "--fs", "tag=a,path=/x", "--fs", "tag=a,path=/y",
			NULL) < 0);
	assert_err_has("twice");
	memset(tag, 'x', sizeof(tag));
	memcpy(tag, "tag=", 4);
	memcpy(tag + 4 + 37, ",path=/", 8); /* a 37-byte tag */
	assert_true(run(&cfg, "--kernel", "/k", "--fs", tag, NULL) < 0);
	memmove(tag + 4 + 36, tag + 4 + 37, 8); /* 36: the most */
	assert_int_equal(run(&cfg, "--kernel", "/k", "--fs", tag, NULL), 0);
	assert_int_equal(strlen(cfg.fs[0].tag), 36);
	assert_true(run(&cfg, "--kernel", "/k", "--fs", "tag=1,path=/", "--fs", "tag=2,path=/",
			"--fs", "tag=3,path=/", "--fs", "tag=4,path=/", "--fs", "tag=5,path=/",
			NULL) < 0);
	assert_err_has("at most");
}

/* --sound pulse | wav=PATH[,in=PATH] | none: the last one given counts; in= only with wav=. */
static void test_sound(void **state)
{
	static const char *const bad[] = {"wav=", "in=/i.wav", "pulse=1",    "wav",
					  "alsa", "",	       "wav=/o,x=1", "pulse,in=/i.wav"};
	struct vm_config cfg;

	(void)state;
	assert_int_equal(run(&cfg, "--kernel", "/k", NULL), 0);
	assert_int_equal(cfg.sound.kind, SOUND_NONE);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--sound", "wav=/o.wav,in=/i.wav", NULL), 0);
	assert_int_equal(cfg.sound.kind, SOUND_WAV);
	assert_string_equal(cfg.sound.out, "/o.wav");
	assert_string_equal(cfg.sound.in, "/i.wav");
	assert_int_equal(
	    run(&cfg, "--kernel", "/k", "--sound", "wav=/o.wav", "--sound", "pulse", NULL), 0);
	assert_int_equal(cfg.sound.kind, SOUND_PULSE);
	assert_string_equal(cfg.sound.out, "");
	assert_int_equal(run(&cfg, "--kernel", "/k", "--sound", "pulse", "--sound", "none", NULL),
			 0);
	assert_int_equal(cfg.sound.kind, SOUND_NONE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run(&cfg, "--kernel", "/k", "--sound", bad[i], NULL) >= 0)
			fail_msg("--sound '%s' accepted", bad[i]);
		assert_err_has("--sound");
	}
}

static void test_cdrom(void **state)
{
	static const char *const bad[] = {"path=", "path=/x.iso,readonly=on", ""};
	struct vm_config cfg;

	(void)state;
	assert_int_equal(run(&cfg, "--kernel", "/k", NULL), 0);
	assert_string_equal(cfg.cdrom, "");
	assert_int_equal(run(&cfg, "--kernel", "/k", "--cdrom", "/isos/d,1.iso", NULL), 0);
	assert_string_equal(cfg.cdrom, "/isos/d,1.iso");
	assert_int_equal(run(&cfg, "--firmware", "/f", "--cdrom", "path=/x.iso", NULL), 0);
	assert_string_equal(cfg.cdrom, "/x.iso");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run(&cfg, "--kernel", "/k", "--cdrom", bad[i], NULL) >= 0)
			fail_msg("--cdrom '%s' accepted", bad[i]);
		assert_err_has("--cdrom");
	}
	assert_true(run(&cfg, "--kernel", "/k", "--cdrom", "/a", "--cdrom", "/b", NULL) < 0);
	assert_err_has("--cdrom");
	/* bootindex: not listed unless given; never the same number as a disk's. */
	assert_int_equal(run(&cfg, "--firmware", "/f", "--cdrom", "/x.iso", NULL), 0);
	assert_int_equal(cfg.cdrom_bootindex, -1);
	assert_int_equal(run(&cfg, "--firmware", "/f", "--disk", "path=/d,bootindex=1", "--cdrom",
			     "path=/x.iso,bootindex=0", NULL),
			 0);
	assert_int_equal(cfg.cdrom_bootindex, 0);
	assert_string_equal(cfg.cdrom, "/x.iso");
	assert_true(run(&cfg, "--firmware", "/f", "--disk", "path=/d,bootindex=3", "--cdrom",
			"path=/x.iso,bootindex=3", NULL) < 0);
	assert_err_has("bootindex=3");
	assert_true(run(&cfg, "--firmware", "/f", "--cdrom", "path=/x.iso,bootindex=x", NULL) < 0);
	assert_err_has("--cdrom: bootindex");
}

static void test_serial(void **state)
{
	static const char *const bad[] = {"file=", "socket=", "pty", "file", "TTY", "", "off,tty"};
	struct vm_config cfg;
	static char longpath[4200];

	(void)state;
	assert_int_equal(run(&cfg, "--kernel", "/k", "--serial", "off", NULL), 0);
	assert_int_equal(cfg.serial, SERIAL_OFF);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--serial=tty", NULL), 0);
	assert_int_equal(cfg.serial, SERIAL_TTY);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--serial", "file=a=b,c", NULL), 0);
	assert_int_equal(cfg.serial, SERIAL_FILE);
	assert_string_equal(cfg.serial_path, "a=b,c");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run(&cfg, "--kernel", "/k", "--serial", bad[i], NULL) >= 0)
			fail_msg("--serial '%s' accepted", bad[i]);
		assert_err_has("--serial");
	}
	/* serial_path holds 4095 characters and its NUL. */
	strcpy(longpath, "file=");
	memset(longpath + 5, 'p', 4095);
	longpath[5 + 4095] = 0;
	assert_int_equal(run(&cfg, "--kernel", "/k", "--serial", longpath, NULL), 0);
	assert_int_equal(strlen(cfg.serial_path), 4095);
	longpath[5 + 4095] = 'p';
	longpath[5 + 4096] = 0;
	assert_true(run(&cfg, "--kernel", "/k", "--serial", longpath, NULL) < 0);
	assert_err_has("--serial");
}

static void test_display(void **state)
{
	static const char *const bad[] = {"vnc=5900",
					  "vnc=:5900",
					  "vnc=host:70000",
					  "vnc=unix:",
					  "vnc",
					  "windows",
					  "none,password=/p",
					  "window,web=on",
					  "vnc=h:1,colour=1",
					  "window,tls-cert=/c,tls-key=/k",
					  "vnc=h:1,tls-cert=/c",
					  "vnc=h:1,tls-key=/k",
					  "vnc=h:1,tls-cert="};
	struct vm_config cfg;

	(void)state;
	assert_int_equal(run(&cfg, "--kernel", "/k", NULL), 0);
	assert_int_equal(cfg.display.kind, DISPLAY_OFF);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--display", "vnc=127.0.0.1:5900", NULL), 0);
	assert_int_equal(cfg.display.kind, DISPLAY_VNC);
	assert_string_equal(cfg.display.vnc_host, "127.0.0.1");
	assert_int_equal(cfg.display.vnc_port, 5900);
	assert_int_equal(
	    run(&cfg, "--kernel", "/k", "--display", "vnc=[::1]:1,password=/pw,web=on", NULL), 0);
	assert_string_equal(cfg.display.vnc_host, "[::1]");
	assert_string_equal(cfg.display.password_file, "/pw");
	assert_string_equal(cfg.display.web_dir, "/usr/share/novnc");
	assert_int_equal(run(&cfg, "--kernel", "/k", "--display",
			     "vnc=0.0.0.0:5900,password=/pw,web=on,tls-cert=/c.pem,tls-key=/k.pem",
			     NULL),
			 0);
	assert_string_equal(cfg.display.tls_cert, "/c.pem");
	assert_string_equal(cfg.display.tls_key, "/k.pem");
	assert_int_equal(run(&cfg, "--kernel", "/k", "--display", "vnc=unix:/run/v.sock", NULL), 0);
	assert_string_equal(cfg.display.vnc_unix, "/run/v.sock");
	assert_int_equal(run(&cfg, "--kernel", "/k", "--display", "window", NULL), 0);
	assert_int_equal(cfg.display.kind, DISPLAY_WINDOW);
	assert_int_equal(run(&cfg, "--kernel", "/k", "--display", "none", NULL), 0);
	assert_int_equal(cfg.display.kind, DISPLAY_NONE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run(&cfg, "--kernel", "/k", "--display", bad[i], NULL) >= 0)
			fail_msg("--display '%s' accepted", bad[i]);
		assert_err_has("--display");
	}
}

static void test_bad_words(void **state)
{
	struct vm_config cfg;
	static char longcmd[VM_CMDLINE_MAX + 2];

	(void)state;
	assert_true(run(&cfg, "--kernel", "/k", "--frobnicate", NULL) < 0);
	assert_err_has("--frobnicate");
	assert_true(run(&cfg, "--kernel", "/k", "--frobnicate=1", NULL) < 0);
	assert_err_has("frobnicate");
	assert_true(run(&cfg, "-x", "--kernel", "/k", NULL) < 0);
	assert_err_has("-x");
	assert_true(run(&cfg, "--kernel", "/k", "vmlinuz", NULL) < 0);
	assert_err_has("vmlinuz");
	assert_true(run(&cfg, "--kernel", "/k", "-", NULL) < 0);
	assert_true(run(&cfg, "--kernel", "/k", "--", NULL) < 0);
	assert_true(run(&cfg, "--kernel", "/k", "", NULL) < 0);
	assert_true(run(&cfg, "--kernel", "/k", "-vv", NULL) < 0);
	/* Prefixes are not abbreviations. */
	assert_true(run(&cfg, "--kern", "/k", NULL) < 0);
	assert_err_has("--kern");
	assert_true(run(&cfg, "--kernels", "/k", NULL) < 0);
	/* A value-taking option as the last word. */
	assert_true(run(&cfg, "--kernel", NULL) < 0);
	assert_err_has("--kernel");
	assert_true(run(&cfg, "--kernel", "/k", "--cmdline", NULL) < 0);
	assert_err_has("--cmdline");
	assert_true(run(&cfg, "--kernel", "/k", "--serial", NULL) < 0);
	assert_err_has("--serial");
	/* The command line: 4095 characters fit, 4096 do not. */
	memset(longcmd, 'c', VM_CMDLINE_MAX - 1);
	longcmd[VM_CMDLINE_MAX - 1] = 0;
	assert_int_equal(run(&cfg, "--kernel", "/k", "--cmdline", longcmd, NULL), 0);
	assert_int_equal(strlen(cfg.cmdline), VM_CMDLINE_MAX - 1);
	longcmd[VM_CMDLINE_MAX - 1] = 'c';
	longcmd[VM_CMDLINE_MAX] = 0;
	assert_true(run(&cfg, "--kernel", "/k", "--cmdline", longcmd, NULL) < 0);
	assert_err_has("--cmdline");
}

static void test_firmware(void **state)
{
	struct vm_config cfg;

	(void)state;
	/* One image: the code path only. */
	assert_int_equal(run(&cfg, "--firmware", "/usr/share/ovmf/OVMF.fd", NULL), 0);
	assert_true(cfg.firmware);
	assert_string_equal(cfg.fw_code, "/usr/share/ovmf/OVMF.fd");
	assert_string_equal(cfg.fw_vars, "");
	/* Split images, in either order; the last --firmware wins. */
	assert_int_equal(run(&cfg, "--firmware", "code=/c.fd,vars=/v.fd", NULL), 0);
	assert_string_equal(cfg.fw_code, "/c.fd");
	assert_string_equal(cfg.fw_vars, "/v.fd");
	assert_int_equal(run(&cfg, "--firmware=vars=/v.fd,code=/c.fd", NULL), 0);
	assert_string_equal(cfg.fw_code, "/c.fd");
	assert_int_equal(
	    run(&cfg, "--firmware", "code=/c.fd,vars=/v.fd", "--firmware", "/o.fd", NULL), 0);
	assert_string_equal(cfg.fw_code, "/o.fd");
	assert_string_equal(cfg.fw_vars, "");
	/* Refused: vars without code, unknown keys, empty paths, a kernel as well. */
	assert_true(run(&cfg, "--firmware", "vars=/v.fd", NULL) < 0);
	assert_err_has("code=");
	assert_true(run(&cfg, "--firmware", "code=/c.fd,rom=/r", NULL) < 0);
	assert_err_has("rom");
	assert_true(run(&cfg, "--firmware", "code=", NULL) < 0);
	assert_true(run(&cfg, "--firmware", "", NULL) < 0);
	assert_true(run(&cfg, NULL) < 0);
	assert_err_has("--firmware");
	/* A kernel for the firmware to boot (through fw_cfg), with its initramfs and cmdline;
	 * those two still need the kernel. */
	assert_int_equal(run(&cfg, "--firmware", "/o.fd", "--kernel", "/k", "--initramfs", "/i",
			     "--cmdline", "console=ttyS0", NULL),
			 0);
	assert_true(cfg.firmware);
	assert_string_equal(cfg.kernel, "/k");
	assert_string_equal(cfg.initramfs, "/i");
	assert_string_equal(cfg.cmdline, "console=ttyS0");
	assert_true(run(&cfg, "--firmware", "/o.fd", "--cmdline", "x", NULL) < 0);
	assert_err_has("--kernel");
	assert_true(run(&cfg, "--firmware", "/o.fd", "--initramfs", "/i", NULL) < 0);
	assert_err_has("--kernel");
}

static void test_uuid(void **state)
{
	static const char *const bad[] = {
	    "",
	    "12345678-9abc-def0-1234-56789abcdef",   /* one digit short */
	    "12345678-9abc-def0-1234-56789abcdef01", /* one too many */
	    "123456789-abc-def0-1234-56789abcdef0",  /* a dash misplaced */
	    "12345678-9abc-def0-1234-56789abcdefg",  /* not hex */
	    "12345678+9abc-def0-1234-56789abcdef0",
	    "{2345678-9abc-def0-1234-56789abcdef0}",
	};
	static const uint8_t want[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
					 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0};
	struct vm_config cfg;

	(void)state;
	assert_int_equal(run(&cfg, "--kernel", "/k", NULL), 0);
	assert_false(cfg.uuid_set);
	assert_int_equal(
	    run(&cfg, "--kernel", "/k", "--uuid", "12345678-9ABC-def0-1234-56789abcdEF0", NULL), 0);
	assert_true(cfg.uuid_set);
	assert_memory_equal(cfg.uuid, want, 16);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run(&cfg, "--kernel", "/k", "--uuid", bad[i], NULL) >= 0)
			fail_msg("--uuid '%s' accepted", bad[i]);
		assert_err_has("--uuid");
	}
}

static void test_usage(void **state)
{
	static const char *const names[] = {"--kernel",	 "--initramfs", "--cmdline", "--cpus",
					    "--memory",	 "--serial",	"--verbose", "--help",
					    "--version", "--firmware",	"--uuid",    "bootindex"};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	config_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strstr(text, names[i]))
			fail_msg("--help does not list %s", names[i]);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),	cmocka_unit_test(test_u64),
	    cmocka_unit_test(test_kv),		cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_all_options), cmocka_unit_test(test_actions),
	    cmocka_unit_test(test_cpus),	cmocka_unit_test(test_memory),
	    cmocka_unit_test(test_serial),	cmocka_unit_test(test_bad_words),
	    cmocka_unit_test(test_usage),	cmocka_unit_test(test_firmware),
	    cmocka_unit_test(test_serial),	cmocka_unit_test(test_display),
	    cmocka_unit_test(test_bad_words),	cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_disk),	cmocka_unit_test(test_uuid),
	    cmocka_unit_test(test_cdrom),	cmocka_unit_test(test_tpm),
	    cmocka_unit_test(test_fs),		cmocka_unit_test(test_sound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
