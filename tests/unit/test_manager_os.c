/* The --os presets (windows, linux, freebsd, other) and their overrides, down to the VMM command
 * line the manager builds (`phyllome run --os windows --cdrom Win11.iso --display window`); the
 * machine's members of config.json (os, tpm, hyperv, rtc, vars) and the swtpm command line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "manager/args.h"
#include "manager/preset.h"
#include "manager/supervise.h"
#include "manager/vmdef.h"
#include "mgr_words.h"

#define DIR "/st/vms/0123456789abcdef"

/* Parses line; its words live until the next call (ro->disk_specs point into them). */
static int parse(struct run_opts *ro, const char *line, char *err, size_t errlen)
{
	static char **argv;
	int argc;

	if (argv)
		free_words(argv);
	argv = words(line, &argc);
	return args_parse_run(ro, true, argc, argv, err, errlen);
}

/* What create makes of ro (paths as given; disks from SIZE in the VM's folder) as a VM entry. */
static void entry_of(struct vm_entry *e, const struct run_opts *ro)
{
	memset(e, 0, sizeof(*e));
	e->def = ro->def;
	strcpy(e->def.id, "0123456789abcdef");
	strcpy(e->def.name, "win");
	strcpy(e->dir, DIR);
	for (unsigned i = 0; i < ro->ndisk_specs; i++) {
		snprintf(e->def.disks[i].path, sizeof(e->def.disks[i].path), DIR "/disk%u.img", i);
		e->def.ndisks++;
	}
	if (ro->vars_template)
		strcpy(e->def.vars, DIR "/vars.fd");
}

static void test_windows(void **state)
{
	struct run_opts *ro = malloc(sizeof(*ro));
	struct vm_entry *e = malloc(sizeof(*e));
	char err[256], **argv;
	size_t n = 0;

	(void)state;
	unsetenv("PHYLLOME_FIRMWARE");
	assert_int_equal(
	    parse(ro, "--os|windows|--cdrom|Win11.iso|--display|window", err, sizeof(err)), 0);
	assert_string_equal(ro->def.os, "windows");
	assert_int_equal(ro->def.cpus, 2);
	assert_int_equal(ro->def.memory, 4ull << 30);
	assert_int_equal(ro->ndisk_specs, 1);
	assert_string_equal(ro->disk_specs[0], "64G");
	assert_int_equal(ro->def.disk_bus, VMDEF_BUS_NVME);
	assert_int_equal(ro->def.net, VMDEF_NET_USER);
	assert_int_equal(ro->def.nic, VMDEF_NIC_E1000E);
	assert_true(ro->def.usb && ro->def.tpm && ro->def.hyperv && ro->def.rtc_local);
	assert_string_equal(ro->def.firmware,
			    PRESET_OVMF_SB_CODE); /* Secure Boot, Microsoft's keys */
	assert_string_equal(ro->vars_template, PRESET_OVMF_SB_VARS);
	assert_string_equal(ro->def.display, "window");
	assert_false(ro->want_screen); /* --display given */

	entry_of(e, ro);
	argv = sup_vmm_argv(e, "/usr/bin/phyllome-vmm");
	assert_non_null(argv);
	assert_true(
	    has_pair(argv, "--firmware", "code=" PRESET_OVMF_SB_CODE ",vars=" DIR "/vars.fd"));
	assert_false(has_word(argv, "--kernel"));
	assert_true(has_pair(argv, "--cpus", "boot=2,hyperv=on"));
	assert_true(has_pair(argv, "--memory", "size=4096M"));
	assert_true(has_pair(argv, "--disk", "path=" DIR "/disk0.img,bus=nvme"));
	assert_true(has_pair(argv, "--cdrom", "Win11.iso"));
	assert_true(has_pair(argv, "--net", "passt=" DIR "/passt.sock,model=e1000e"));
	assert_true(has_pair(argv, "--display", "window"));
	assert_true(has_word(argv, "--usb"));
	assert_true(has_pair(argv, "--tpm", "socket=" DIR "/tpm.sock"));
	assert_true(has_pair(argv, "--rtc", "base=localtime"));
	while (argv[n])
		n++;
	/* Nothing else: vmm, firmware, uuid, cpus, memory, serial, api, log, disk, cdrom, net,
	 * display (pairs) + usb + tpm, rtc (pairs) + rng. */
	assert_int_equal(n, 1 + 2 * 11 + 1 + 2 * 2 + 1);
	sup_free_argv(argv);

	/* Without --display: a VNC screen is made for it (create picks the port). */
	assert_int_equal(parse(ro, "--os|windows|--cdrom|Win11.iso", err, sizeof(err)), 0);
	assert_true(ro->want_screen);
	assert_string_equal(ro->def.display, "");
	free(ro);
	free(e);
}

/* Every preset value gives way to an explicit option. */
static void test_overrides(void **state)
{
	struct run_opts *ro = malloc(sizeof(*ro));
	struct vm_entry *e = malloc(sizeof(*e));
	char err[256], **argv;

	(void)state;
	unsetenv("PHYLLOME_FIRMWARE");
	assert_int_equal(parse(ro,
			       "--os|windows|-c|4|-m|8G|--disk|100G|--disk-bus|virtio|--net-model|"
			       "virtio|--no-usb|--no-tpm|--no-hyperv|--rtc|utc|--firmware|/fw/"
			       "OVMF.fd|--display|vnc=:3",
			       err, sizeof(err)),
			 0);
	assert_int_equal(ro->def.cpus, 4);
	assert_int_equal(ro->def.memory, 8ull << 30);
	assert_int_equal(ro->ndisk_specs, 1);
	assert_string_equal(ro->disk_specs[0], "100G");
	assert_int_equal(ro->def.disk_bus, VMDEF_BUS_VIRTIO);
	assert_int_equal(ro->def.nic, VMDEF_NIC_VIRTIO);
	assert_false(ro->def.usb || ro->def.tpm || ro->def.hyperv || ro->def.rtc_local);
	assert_string_equal(ro->def.firmware, "/fw/OVMF.fd");
	assert_null(ro->vars_template); /* one image: no store of its own */
	entry_of(e, ro);
	argv = sup_vmm_argv(e, "vmm");
	assert_true(has_pair(argv, "--firmware", "/fw/OVMF.fd"));
	assert_true(has_pair(argv, "--cpus", "boot=4"));
	assert_false(has_word(argv, "--usb") || has_word(argv, "--tpm") || has_word(argv, "--rtc"));
	sup_free_argv(argv);

	/* --net none: no NIC (and so no e1000e); own code and vars */
	assert_int_equal(parse(ro,
			       "--os|windows|--net|none|--firmware|/fw/CODE.fd|--firmware-vars|/fw/"
			       "VARS.ms.fd",
			       err, sizeof(err)),
			 0);
	assert_int_equal(ro->def.net, VMDEF_NET_NONE);
	assert_int_equal(ro->def.nic, VMDEF_NIC_VIRTIO);
	assert_string_equal(ro->def.firmware, "/fw/CODE.fd");
	assert_string_equal(ro->vars_template, "/fw/VARS.ms.fd");

	/* Options turn things on without a preset too. */
	assert_int_equal(parse(ro, "--kernel|k|--tpm|--hyperv|--rtc|localtime", err, sizeof(err)),
			 0);
	assert_true(ro->def.tpm && ro->def.hyperv && ro->def.rtc_local);
	assert_string_equal(ro->def.os, "");

	/* --firmware none: the kernel booted directly, the rest of the machine as it was */
	assert_int_equal(parse(ro, "--os|windows|--kernel|k|--firmware|none", err, sizeof(err)), 0);
	assert_string_equal(ro->def.firmware, "");
	assert_null(ro->vars_template);
	assert_true(ro->def.tpm && ro->def.usb);
	assert_int_equal(parse(ro, "--os|windows|--firmware|none", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nothing to boot"));

	/* $PHYLLOME_FIRMWARE: one image instead of Debian's code + vars */
	setenv("PHYLLOME_FIRMWARE", "/fw/ONE.fd", 1);
	assert_int_equal(parse(ro, "--os|windows", err, sizeof(err)), 0);
	assert_string_equal(ro->def.firmware, "/fw/ONE.fd");
	assert_null(ro->vars_template);
	unsetenv("PHYLLOME_FIRMWARE");
	free(ro);
	free(e);
}

static void test_other_presets(void **state)
{
	struct run_opts *ro = malloc(sizeof(*ro));
	struct vm_entry *e = malloc(sizeof(*e));
	char err[256], **argv;

	(void)state;
	unsetenv("PHYLLOME_FIRMWARE");
	/* linux: today's machine; --kernel boots directly */
	assert_int_equal(parse(ro, "--os|linux|--kernel|k", err, sizeof(err)), 0);
	assert_string_equal(ro->def.os, "linux");
	assert_int_equal(ro->def.cpus, 1);
	assert_int_equal(ro->def.memory, 512ull << 20);
	assert_int_equal(ro->ndisk_specs, 0);
	assert_int_equal(ro->def.disk_bus, VMDEF_BUS_VIRTIO);
	assert_int_equal(ro->def.net, VMDEF_NET_NONE);
	assert_false(ro->def.usb || ro->def.tpm || ro->def.hyperv || ro->def.rtc_local);
	assert_string_equal(ro->def.firmware, "");
	/* linux from an ISO: UEFI with its own variables */
	assert_int_equal(parse(ro, "--os|linux|--cdrom|d.iso|--net|user", err, sizeof(err)), 0);
	assert_string_equal(ro->def.firmware, PRESET_OVMF_CODE);
	assert_string_equal(ro->vars_template, PRESET_OVMF_VARS);
	assert_int_equal(ro->def.nic, VMDEF_NIC_VIRTIO);
	/* other: devices any OS drives; the firmware even with --kernel (it boots the kernel) */
	assert_int_equal(parse(ro, "--os|other|--kernel|k|--net|user", err, sizeof(err)), 0);
	assert_int_equal(ro->def.memory, 1ull << 30);
	assert_int_equal(ro->def.disk_bus, VMDEF_BUS_NVME);
	assert_int_equal(ro->def.nic, VMDEF_NIC_E1000E);
	assert_true(ro->def.usb);
	assert_false(ro->def.tpm || ro->def.hyperv || ro->def.rtc_local);
	entry_of(e, ro);
	argv = sup_vmm_argv(e, "vmm");
	assert_true(has_pair(argv, "--firmware", "code=" PRESET_OVMF_CODE ",vars=" DIR "/vars.fd"));
	assert_true(has_pair(argv, "--kernel", "k"));
	sup_free_argv(argv);
	/* freebsd: virtio */
	assert_int_equal(parse(ro, "--os|freebsd|--cdrom|f.iso", err, sizeof(err)), 0);
	assert_int_equal(ro->def.disk_bus, VMDEF_BUS_VIRTIO);
	assert_false(ro->def.usb);

	/* From an image: the entry's CPUs, memory and disk stay; the machine is the preset's */
	memset(ro, 0, sizeof(*ro));
	vmdef_init(&ro->def);
	ro->def.cpus = 3;
	ro->def.memory = 3ull << 30;
	preset_apply(ro, preset_find("windows"), true);
	assert_int_equal(ro->def.cpus, 3);
	assert_int_equal(ro->def.memory, 3ull << 30);
	assert_int_equal(ro->ndisk_specs, 0);
	assert_true(ro->def.tpm);
	assert_int_equal(ro->def.disk_bus, VMDEF_BUS_NVME);

	static const struct {
		const char *line, *msg;
	} bad[] = {
	    {"--os|beos|--kernel|k", "is not one of windows, linux, freebsd, other"},
	    {"--os", "needs an argument"},
	    {"--kernel|k|--firmware-vars|v.fd", "needs --firmware"},
	    {"--kernel|k|--rtc|cet", "is not utc or localtime"},
	    {"--name|x", "nothing to boot"},
	    {"--kernel|k|--tpm=on", "takes no value"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(ro, bad[i].line, err, sizeof(err)) != -EINVAL)
			fail_msg("%s: accepted", bad[i].line);
		if (!strstr(err, bad[i].msg))
			fail_msg("%s: \"%s\", wanted \"%s\"", bad[i].line, err, bad[i].msg);
	}
	free(ro);
	free(e);
}

static void test_config(void **state)
{
	struct vm_def *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct vm_state s, t;
	char err[256], *json, *again;

	(void)state;
	vmdef_init(a);
	strcpy(a->id, "0123456789abcdef");
	strcpy(a->name, "win");
	strcpy(a->firmware, PRESET_OVMF_CODE);
	strcpy(a->vars, DIR "/vars.fd");
	strcpy(a->os, "windows");
	a->tpm = a->hyperv = a->rtc_local = true;
	json = vmdef_dump(a);
	assert_non_null(strstr(json, "\"rtc\": \"localtime\""));
	assert_int_equal(vmdef_load(b, json, strlen(json), err, sizeof(err)), 0);
	again = vmdef_dump(b);
	assert_string_equal(json, again);
	assert_true(b->tpm && b->hyperv && b->rtc_local);
	assert_string_equal(b->vars, DIR "/vars.fd");
	free(again);
	/* broken members */
	static const char *const breaks[][2] = {
	    {"\"rtc\": \"localtime\"", "\"rtc\": \"cet\""},
	    {"\"tpm\": true", "\"tpm\": 1"},
	    {"\"hyperv\": true", "\"hyperv\": \"yes\""},
	    {"\"firmware\": \"" PRESET_OVMF_CODE "\"", "\"firmware\": null"}, /* vars alone */
	};
	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
		char *p = strstr(json, breaks[i][0]), *bad;

		assert_non_null(p);
		assert_true(asprintf(&bad, "%.*s%s%s", (int)(p - json), json, breaks[i][1],
				     p + strlen(breaks[i][0])) > 0);
		assert_int_equal(vmdef_load(b, bad, strlen(bad), err, sizeof(err)), -EINVAL);
		free(bad);
	}
	free(json);

	vmstate_init(&s);
	s.swtpm_pid = 4242;
	json = vmstate_dump(&s);
	assert_int_equal(vmstate_load(&t, json, strlen(json), err, sizeof(err)), 0);
	assert_int_equal(t.swtpm_pid, 4242);
	free(json);
	free(a);
	free(b);
}

static void test_swtpm_argv(void **state)
{
	struct vm_entry *e = malloc(sizeof(*e));
	char **argv;

	(void)state;
	memset(e, 0, sizeof(*e));
	strcpy(e->dir, DIR);
	argv = sup_swtpm_argv(e, "/usr/bin/swtpm");
	assert_string_equal(argv[0], "/usr/bin/swtpm");
	assert_string_equal(argv[1], "socket");
	assert_true(has_word(argv, "--tpm2"));
	assert_true(has_pair(argv, "--ctrl", "type=unixio,path=" DIR "/tpm.sock"));
	assert_true(has_pair(argv, "--tpmstate", "dir=" DIR "/tpm"));
	assert_true(has_pair(argv, "--flags", "startup-clear"));
	sup_free_argv(argv);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_windows),	  cmocka_unit_test(test_overrides),
	    cmocka_unit_test(test_other_presets), cmocka_unit_test(test_config),
	    cmocka_unit_test(test_swtpm_argv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
