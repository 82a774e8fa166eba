/* The manager's pure parts: VM names and ids, sizes, CPU counts, port forwards, the argument
 * parser and the options of run/create, the config/state JSON, the HTTP response parser, the
 * console's detach key and the VMM/passt command lines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "manager/args.h"
#include "manager/attach.h"
#include "manager/http.h"
#include "manager/supervise.h"
#include "manager/util.h"
#include "manager/vmdef.h"
#include "mgr_words.h"

static void test_names(void **state)
{
	char name[64], long_name[80];

	(void)state;
	assert_true(mgr_name_valid("vm1"));
	assert_true(mgr_name_valid("a"));
	assert_true(mgr_name_valid("web.server_2-b"));
	assert_false(mgr_name_valid(""));
	assert_false(mgr_name_valid("-vm"));
	assert_false(mgr_name_valid(".vm"));
	assert_false(mgr_name_valid("vm/1"));
	assert_false(mgr_name_valid("vm 1"));
	assert_false(mgr_name_valid("vm\xc3\xa9"));
	memset(long_name, 'a', 63);
	long_name[63] = 0;
	assert_true(mgr_name_valid(long_name));
	long_name[63] = 'a';
	long_name[64] = 0;
	assert_false(mgr_name_valid(long_name));
	/* generated names are valid names and differ by attempt */
	mgr_auto_name("0123456789abcdef", 0, name, sizeof(name));
	assert_true(mgr_name_valid(name));
	assert_non_null(strchr(name, '_'));
	mgr_auto_name("0123456789abcdef", 1, long_name, sizeof(long_name));
	assert_true(mgr_name_valid(long_name));
	assert_string_not_equal(name, long_name);
}

static void test_ids(void **state)
{
	char a[MGR_ID_LEN + 1], b[MGR_ID_LEN + 1];

	(void)state;
	assert_int_equal(mgr_new_id(a), 0);
	assert_int_equal(mgr_new_id(b), 0);
	assert_int_equal(strlen(a), MGR_ID_LEN);
	assert_true(mgr_hex_ref(a));
	assert_string_not_equal(a, b);
	assert_true(mgr_hex_ref("0"));
	assert_true(mgr_hex_ref("deadbeef"));
	assert_false(mgr_hex_ref(""));
	assert_false(mgr_hex_ref("DEADBEEF")); /* ids are lowercase */
	assert_false(mgr_hex_ref("xyz"));
	assert_false(mgr_hex_ref("0123456789abcdef0")); /* longer than an id */
}

/* The machine UUID from the id: stable, version 8, variant 10, the id's bits all in it. */
static void test_vm_uuid(void **state)
{
	char u[MGR_UUID_LEN + 1], v[MGR_UUID_LEN + 1];

	(void)state;
	mgr_vm_uuid("0123456789abcdef", u);
	assert_string_equal(u, "01234567-89ab-8cde-8f70-68796c6c6f6d");
	mgr_vm_uuid("0123456789abcdef", v);
	assert_string_equal(u, v);
	mgr_vm_uuid("ffffffffffffffff", u);
	assert_string_equal(u, "ffffffff-ffff-8fff-8f70-68796c6c6f6d");
	/* Ids differing in any one digit give different UUIDs. */
	for (int i = 0; i < MGR_ID_LEN; i++) {
		char id[] = "0123456789abcdef";

		id[i] = id[i] == '0' ? '1' : '0';
		mgr_vm_uuid(id, v);
		mgr_vm_uuid("0123456789abcdef", u);
		assert_string_not_equal(u, v);
		assert_int_equal(v[14], '8');
		assert_true(strchr("89ab", v[19]) != NULL);
	}
}

static void test_sizes(void **state)
{
	uint64_t v;
	unsigned n;
	char err[256];

	(void)state;
	assert_int_equal(mgr_parse_size("10G", MGR_MAX_DISK, &v), 0);
	assert_int_equal(v, 10ull << 30);
	assert_int_equal(mgr_parse_size("512MiB", MGR_MAX_DISK, &v), 0);
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(mgr_parse_size("4096", MGR_MAX_DISK, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(mgr_parse_size("0", MGR_MAX_DISK, &v), -ERANGE);
	assert_int_equal(mgr_parse_size("2P", MGR_MAX_DISK, &v), -ERANGE);
	assert_int_equal(mgr_parse_size("12Q", MGR_MAX_DISK, &v), -EINVAL);
	assert_int_equal(mgr_parse_size("", MGR_MAX_DISK, &v), -EINVAL);
	assert_int_equal(mgr_parse_size("-1G", MGR_MAX_DISK, &v), -EINVAL);

	assert_int_equal(mgr_parse_memory("256M", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 256ull << 20);
	assert_int_equal(mgr_parse_memory("16M", &v, err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(mgr_parse_memory("2T", &v, err, sizeof(err)), -ERANGE);
	assert_int_equal(mgr_parse_memory("12X", &v, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "invalid memory size \"12X\""));
	assert_int_equal(mgr_parse_memory("33554433", &v, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "whole number of MiB"));

	assert_int_equal(mgr_parse_cpus("4", &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(mgr_parse_cpus("0", &n, err, sizeof(err)), -EINVAL);
	assert_int_equal(mgr_parse_cpus("65", &n, err, sizeof(err)), -EINVAL);
	assert_int_equal(mgr_parse_cpus("2x", &n, err, sizeof(err)), -EINVAL);
}

static void test_ports(void **state)
{
	struct port_map p;
	char err[256];

	(void)state;
	assert_int_equal(mgr_parse_port("8080:80", &p, err, sizeof(err)), 0);
	assert_int_equal(p.host, 8080);
	assert_int_equal(p.guest, 80);
	assert_false(p.udp);
	assert_int_equal(mgr_parse_port("53:53/udp", &p, err, sizeof(err)), 0);
	assert_true(p.udp);
	assert_int_equal(mgr_parse_port("22", &p, err, sizeof(err)), 0);
	assert_int_equal(p.host, 22);
	assert_int_equal(p.guest, 22);
	assert_int_equal(mgr_parse_port("2222:22/tcp", &p, err, sizeof(err)), 0);
	assert_int_equal(p.guest, 22);
	static const char *const bad[] = {"",	      ":80", "80:",	"0:80",
					  "80:65536", "a:b", "80:80/x", "80:80:1",
					  "70000",    "80/", "80:80/",	"1:2:3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mgr_parse_port(bad[i], &p, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "invalid port forward"));
	}
}

static void test_human(void **state)
{
	char b[64];

	(void)state;
	mgr_human_duration(0, b, sizeof(b));
	assert_string_equal(b, "Less than a second");
	mgr_human_duration(5, b, sizeof(b));
	assert_string_equal(b, "5 seconds");
	mgr_human_duration(90, b, sizeof(b));
	assert_string_equal(b, "About a minute");
	mgr_human_duration(600, b, sizeof(b));
	assert_string_equal(b, "10 minutes");
	mgr_human_duration(3 * 3600, b, sizeof(b));
	assert_string_equal(b, "3 hours");
	mgr_human_duration(5 * 86400, b, sizeof(b));
	assert_string_equal(b, "5 days");
	mgr_human_size(512ull << 20, b, sizeof(b));
	assert_string_equal(b, "512MiB");
	mgr_human_size(3ull << 29, b, sizeof(b));
	assert_string_equal(b, "1.5GiB");
}

/* ---- the argument parser ---- */

struct seen {
	int ids[16], n;
	const char *args[16];
};

static int record(void *ctx, int id, const char *arg, char *err, size_t errlen)
{
	struct seen *s = ctx;

	(void)err;
	(void)errlen;
	s->ids[s->n] = id;
	s->args[s->n++] = arg;
	return 0;
}

static const struct mgr_opt defs[] = {
    {"all", 'a', false, 1}, {"force", 'f', false, 2}, {"time", 't', true, 3}, {NULL, 0, false, 0}};

static void test_args_parse(void **state)
{
	int argc;
	char **argv = words("-af|vm1|--time|5|-t7|--time=9|--|-x", &argc);
	const char *pos[4];
	struct seen s = {0};
	char err[256];
	int npos;

	(void)state;
	assert_int_equal(args_parse(defs, argc, argv, record, &s, pos, 4, &npos, err, sizeof(err)),
			 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.ids[0], 1);
	assert_int_equal(s.ids[1], 2);
	assert_string_equal(s.args[2], "5");
	assert_string_equal(s.args[3], "7");
	assert_string_equal(s.args[4], "9");
	assert_int_equal(npos, 2);
	assert_string_equal(pos[0], "vm1");
	assert_string_equal(pos[1], "-x");
	free_words(argv);

	static const struct {
		const char *line, *msg;
	} bad[] = {
	    {"--nope", "unknown flag: --nope"},
	    {"--time", "needs an argument"},
	    {"a|b", "unexpected argument \"b\""},
	    {"--all=yes", "takes no value"},
	    {"-az", "'z'"},
	    {"-t", "needs an argument"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		argv = words(bad[i].line, &argc);
		assert_int_equal(
		    args_parse(defs, argc, argv, record, &s, pos, 1, &npos, err, sizeof(err)),
		    -EINVAL);
		assert_non_null(strstr(err, bad[i].msg));
		free_words(argv);
	}
}

static void test_run_options(void **state)
{
	struct run_opts *ro = malloc(sizeof(*ro));
	char err[256];
	int argc;
	char **argv =
	    words("-d|--name|web|-c|2|-m|1G|--kernel|vmlinuz|--initrd|initrd|--cmdline|"
		  "quiet|--disk|10G|--disk|a.img|--net|user|-p|8080:80|-p53/udp|"
		  "--display|vnc=:1|--rm|--cloud-init|ud.yaml|--cdrom|x.iso|--disk-bus|nvme|--usb|"
		  "--sound|wav=/tmp/out.wav",
		  &argc);

	(void)state;
	assert_int_equal(argc, 34);
	assert_int_equal(args_parse_run(ro, true, argc, argv, err, sizeof(err)), 0);
	assert_true(ro->detach);
	assert_string_equal(ro->def.name, "web");
	assert_int_equal(ro->def.cpus, 2);
	assert_int_equal(ro->def.memory, 1ull << 30);
	assert_string_equal(ro->def.kernel, "vmlinuz");
	assert_string_equal(ro->def.initramfs, "initrd");
	assert_true(ro->def.cmdline_set);
	assert_int_equal(ro->ndisk_specs, 2);
	assert_int_equal(ro->def.net, VMDEF_NET_USER);
	assert_int_equal(ro->def.nports, 2);
	assert_true(ro->def.ports[1].udp);
	assert_string_equal(ro->def.display, "vnc=:1");
	assert_true(ro->def.auto_remove);
	assert_string_equal(ro->def.cloud_init, "ud.yaml");
	assert_string_equal(ro->def.cdrom, "x.iso");
	assert_int_equal(ro->def.disk_bus, VMDEF_BUS_NVME);
	assert_true(ro->def.usb);
	assert_true(ro->sound_set);
	assert_string_equal(ro->def.sound, "wav=/tmp/out.wav");

	/* create has no -d */
	assert_int_equal(args_parse_run(ro, false, argc, argv, err, sizeof(err)), -EINVAL);
	free_words(argv);

	static const struct {
		const char *line, *msg;
	} bad[] = {
	    {"--kernel|k", NULL},
	    {"--name|x", "nothing to boot"},
	    {"--kernel|k|-m|12Q", "invalid memory size"},
	    {"--kernel|k|--name|a/b", "invalid VM name"},
	    {"--kernel|k|-p|80:80", "needs --net user"},
	    {"--kernel|k|--net|bridge", "is not user"},
	    {"--kernel|k|--os|beos", "is not one of"},
	    {"--firmware|f|--cmdline|x", "need --kernel"},
	    {"--kernel|k|vm|vm2", "unexpected argument"},
	    {"--kernel|k|--cpus|0", "invalid CPU count"},
	    {"--kernel|k|--net|user|--net|user", "given twice"},
	    {"--kernel|k|--disk-bus|scsi", "is not virtio or nvme"},
	    {"--kernel|k|--sound|alsa", "is not pulse, none or wav="},
	    {"--kernel|k|--sound|wav=out.wav", "ABSOLUTE"},
	    {"--kernel|k|--sound|wav=/a.wav,in=/b.wav", "ABSOLUTE"},
	    {"--kernel|k|--net-model|e1000e", "needs a network"},
	    {"--kernel|k|--net|user|--net-model|rtl8139", "is not virtio or e1000e"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		argv = words(bad[i].line, &argc);
		rc = args_parse_run(ro, true, argc, argv, err, sizeof(err));
		free_words(argv);

		if (!bad[i].msg) {
			assert_int_equal(rc, 0);
			assert_int_equal(ro->def.cpus, 1); /* defaults */
			assert_int_equal(ro->def.memory, 512ull << 20);
			assert_int_equal(ro->def.disk_bus, VMDEF_BUS_VIRTIO);
			continue;
		}
		assert_int_equal(rc, -EINVAL);
		assert_non_null(strstr(err, bad[i].msg));
	}

	/* run IMAGE: nothing else needed to boot; user networking unless --net says otherwise */
	argv = words("debian:12|-c|2|--catalog|c.json", &argc);
	assert_int_equal(args_parse_run(ro, true, argc, argv, err, sizeof(err)), 0);
	assert_string_equal(ro->image, "debian:12");
	assert_string_equal(ro->catalog, "c.json");
	free_words(argv);
	assert_true(ro->cpus_set);
	assert_false(ro->memory_set);
	assert_int_equal(ro->def.net, VMDEF_NET_USER);
	argv = words("--net|none|debian", &argc);
	assert_int_equal(args_parse_run(ro, true, argc, argv, err, sizeof(err)), 0);
	free_words(argv);
	assert_int_equal(ro->def.net, VMDEF_NET_NONE);
	free(ro);
}

static void test_disk_words(void **state)
{
	uint64_t size = 0;

	(void)state;
	assert_true(args_disk_is_size("10G", &size));
	assert_int_equal(size, 10ull << 30);
	assert_true(args_disk_is_size("1048576", &size));
	assert_false(args_disk_is_size("disk.img", &size));
	assert_false(args_disk_is_size("./10G", &size));
	assert_false(args_disk_is_size("/dev/sdb", &size));
	assert_false(args_disk_is_size("0", &size));
	assert_false(args_disk_is_size("data", &size));
}

/* ---- config.json and state.json ---- */

static void sample_def(struct vm_def *d)
{
	vmdef_init(d);
	strcpy(d->id, "0123456789abcdef");
	strcpy(d->name, "web");
	d->cpus = 4;
	d->memory = 2ull << 30;
	strcpy(d->kernel, "/boot/vmlinuz");
	strcpy(d->cmdline, "console=ttyS0 quiet");
	d->cmdline_set = true;
	strcpy(d->disks[0].path, "/vms/web/disk0.img");
	d->disks[0].size = 10ull << 30;
	d->disks[0].owned = true;
	strcpy(d->disks[1].path, "/data/ro.img");
	d->disks[1].readonly = true;
	d->ndisks = 2;
	d->disk_bus = VMDEF_BUS_NVME;
	d->net = VMDEF_NET_USER;
	d->nic = VMDEF_NIC_E1000E;
	d->ports[0] = (struct port_map){8080, 80, false};
	d->ports[1] = (struct port_map){53, 53, true};
	d->nports = 2;
	d->auto_remove = true;
	d->created = 1700000000;
}

static void test_vmdef_roundtrip(void **state)
{
	struct vm_def *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char err[256], *json, *again;

	(void)state;
	sample_def(a);
	strcpy(a->sound, "wav=/vms/web/out.wav");
	json = vmdef_dump(a);
	assert_non_null(json);
	assert_int_equal(vmdef_load(b, json, strlen(json), err, sizeof(err)), 0);
	again = vmdef_dump(b);
	assert_string_equal(json, again);
	assert_string_equal(b->sound, "wav=/vms/web/out.wav");
	a->sound[0] = 0;
	assert_int_equal(b->ndisks, 2);
	assert_true(b->disks[0].owned);
	assert_true(b->disks[1].readonly);
	assert_int_equal(b->disk_bus, VMDEF_BUS_NVME);
	assert_non_null(strstr(json, "\"disk_bus\": \"nvme\""));
	assert_true(b->ports[1].udp);
	assert_string_equal(b->cmdline, "console=ttyS0 quiet");
	assert_int_equal(b->nic, VMDEF_NIC_E1000E);
	/* A config from before --net-model (no net_model member) is a virtio-net VM. */
	{
		char *p = strstr(json, "\"net_model\": \"e1000e\",");

		assert_non_null(p);
		memmove(p, p + strlen("\"net_model\": \"e1000e\","),
			strlen(p + strlen("\"net_model\": \"e1000e\",")) + 1);
		assert_int_equal(vmdef_load(b, json, strlen(json), err, sizeof(err)), 0);
		assert_int_equal(b->nic, VMDEF_NIC_VIRTIO);
	}
	assert_false(b->usb);
	free(json);
	free(again);
	/* State written before --usb existed has no "usb": no USB. */
	a->usb = true;
	json = vmdef_dump(a);
	assert_int_equal(vmdef_load(b, json, strlen(json), err, sizeof(err)), 0);
	assert_true(b->usb);
	again = strstr(json, "\"usb\": true,");
	assert_non_null(again);
	memmove(again, again + strlen("\"usb\": true,"),
		strlen(again + strlen("\"usb\": true,")) + 1);
	assert_int_equal(vmdef_load(b, json, strlen(json), err, sizeof(err)), 0);
	assert_false(b->usb);
	free(json);
	free(a);
	free(b);
}

/* Each of these, edited into a valid config, must be refused with the member named. */
static void test_vmdef_rejects(void **state)
{
	struct vm_def *d = malloc(sizeof(*d));
	char err[256];
	static const struct {
		const char *json, *what;
	} bad[] = {
	    {"", "malformed JSON"},
	    {"[]", "not a JSON object"},
	    {"{\"id\":\"0123456789abcdef\"", "malformed JSON"},
	    {"{\"id\":\"xyz\"}", "\"id\""},
	    {"{\"id\":\"0123456789abcdef\",\"name\":\"a b\"}", "\"name\""},
	    {"{\"id\":\"0123456789abcdef\",\"name\":\"a\",\"cpus\":0}", "\"cpus\""},
	    {"{\"id\":\"0123456789abcdef\",\"name\":\"a\",\"cpus\":1,\"memory\":1}", "\"memory\""},
	    {"{\"id\":\"0123456789abcdef\",\"id\":\"0123456789abcdef\"}", "malformed JSON"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vmdef_load(d, bad[i].json, strlen(bad[i].json), err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, bad[i].what));
	}
	/* A valid dump with one member broken at a time. */
	struct {
		const char *from, *to, *what;
	} edits[] = {
	    {"\"net\": \"user\"", "\"net\": \"bridge\"", "\"net\""},
	    {"\"net_model\": \"e1000e\"", "\"net_model\": \"ne2k\"", "\"net_model\""},
	    {"\"host\": 8080", "\"host\": 0", "\"ports\""},
	    {"\"proto\": \"udp\"", "\"proto\": \"sctp\"", "\"ports\""},
	    {"\"auto_remove\": true", "\"auto_remove\": 1", "\"auto_remove\""},
	    {"\"usb\": false", "\"usb\": \"no\"", "\"usb\""},
	    {"\"readonly\": true", "\"readonly\": \"yes\"", "\"disks\""},
	    {"\"created\": 1700000000", "\"created\": -1", "\"created\""},
	    {"\"disk_bus\": \"nvme\"", "\"disk_bus\": \"scsi\"", "\"disk_bus\""},
	    {"\"disk_bus\": \"nvme\"", "\"disk_bus\": null", "\"disk_bus\""},
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *json, *p, buf[8192];

		sample_def(d);
		json = vmdef_dump(d);
		p = strstr(json, edits[i].from);
		assert_non_null(p);
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - json), json, edits[i].to,
			 p + strlen(edits[i].from));
		free(json);
		assert_int_equal(vmdef_load(d, buf, strlen(buf), err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, edits[i].what));
	}
	free(d);
}

static void test_vmstate_roundtrip(void **state)
{
	struct vm_state a, b;
	char err[256], *json;

	(void)state;
	vmstate_init(&a);
	assert_string_equal(a.status, "created");
	assert_int_equal(a.exit_code, -1);
	strcpy(a.status, "exited");
	a.exit_code = 137;
	a.has_exit = true;
	a.vmm_pid = 4242;
	a.vmm_start = 123456789012ull;
	a.started = 1700000000;
	a.finished = 1700000100;
	json = vmstate_dump(&a);
	assert_int_equal(vmstate_load(&b, json, strlen(json), err, sizeof(err)), 0);
	assert_string_equal(b.status, "exited");
	assert_int_equal(b.exit_code, 137);
	assert_true(b.has_exit);
	assert_int_equal(b.vmm_pid, 4242);
	assert_int_equal(b.vmm_start, 123456789012ull);
	free(json);
	assert_int_equal(vmstate_load(&b, "{\"status\":\"dancing\"}", 20, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "status"));
	assert_int_equal(vmstate_load(&b, "{\"status\":\"running\"}", 20, err, sizeof(err)),
			 -EINVAL);
}

/* ---- HTTP responses ---- */

static int parse_resp(const char *s, bool eof, struct http_response *r, char *err)
{
	return http_parse_response(s, strlen(s), eof, r, err, 256);
}

static void test_http_responses(void **state)
{
	struct http_response r;
	char err[256], text[256];

	(void)state;
	assert_int_equal(parse_resp("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				    "Content-Length: 11\r\n\r\n{\"a\":true}\n",
				    false, &r, err),
			 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 11);
	assert_string_equal(r.body, "{\"a\":true}\n");
	http_response_free(&r);
	/* 204 without a length is complete */
	assert_int_equal(parse_resp("HTTP/1.1 204 No Content\r\n\r\n", false, &r, err), 0);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	http_response_free(&r);
	/* more to come */
	assert_int_equal(
	    parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", false, &r, err), -EAGAIN);
	assert_int_equal(parse_resp("HTTP/1.1 200 OK\r\nContent-Le", false, &r, err), -EAGAIN);
	/* no length: the body ends at EOF */
	assert_int_equal(parse_resp("HTTP/1.0 200 OK\r\n\r\nabc", false, &r, err), -EAGAIN);
	assert_int_equal(parse_resp("HTTP/1.0 200 OK\r\n\r\nabc", true, &r, err), 0);
	assert_string_equal(r.body, "abc");
	http_response_free(&r);
	/* an error body */
	assert_int_equal(parse_resp("HTTP/1.1 409 Conflict\r\ncontent-length: 28\r\n\r\n"
				    "{\"error\":\"already paused\"}\r\n",
				    false, &r, err),
			 0);
	http_error_text(&r, text, sizeof(text));
	assert_string_equal(text, "already paused");
	http_response_free(&r);
	static const char *const bad[] = {
	    "HTTP/2 200 OK\r\n\r\n",
	    "HTTP/1.1 20 OK\r\n\r\n",
	    "HTTP/1.1 099 Low\r\n\r\n",
	    "SSH-2.0-OpenSSH\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
	    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy",
	    "HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\nxy",
	    "HTTP/1.1 200 OK\rX: y\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_resp(bad[i], true, &r, err);

		if (rc != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void test_detach_key(void **state)
{
	uint8_t out[16];
	bool detach;

	(void)state;
	assert_int_equal(attach_filter((const uint8_t *)"ls\n", 3, out, &detach), 3);
	assert_false(detach);
	assert_memory_equal(out, "ls\n", 3);
	assert_int_equal(attach_filter((const uint8_t *)"ab\x1d"
							"cd",
				       5, out, &detach),
			 2);
	assert_true(detach);
	assert_memory_equal(out, "ab", 2);
	assert_int_equal(attach_filter((const uint8_t *)"\x1d", 1, out, &detach), 0);
	assert_true(detach);
}

static void test_vmm_argv(void **state)
{
	struct vm_entry *e = malloc(sizeof(*e));
	char **argv;

	(void)state;
	memset(e, 0, sizeof(*e));
	sample_def(&e->def);
	e->def.nic = VMDEF_NIC_VIRTIO;
	strcpy(e->def.cdrom, "/isos/debian.iso");
	strcpy(e->def.display, "vnc=unix:/run/v.sock");
	strcpy(e->dir, "/st/vms/0123456789abcdef");
	argv = sup_vmm_argv(e, "/usr/bin/phyllome-vmm");
	for (size_t i = 0; argv && argv[i]; i++) {
		assert_string_not_equal(argv[i], "--usb"); /* not asked for */
		assert_string_not_equal(argv[i], "--sound");
	}
	sup_free_argv(argv);
	e->def.usb = true;
	strcpy(e->def.sound, "pulse");
	argv = sup_vmm_argv(e, "/usr/bin/phyllome-vmm");
	assert_non_null(argv);
	assert_string_equal(argv[0], "/usr/bin/phyllome-vmm");
	assert_true(has_pair(argv, "--kernel", "/boot/vmlinuz"));
	assert_true(has_pair(argv, "--cmdline", "console=ttyS0 quiet"));
	assert_true(has_pair(argv, "--cpus", "boot=4"));
	assert_true(has_pair(argv, "--memory", "size=2048M"));
	assert_true(has_pair(argv, "--serial", "tty"));
	assert_true(has_pair(argv, "--api-socket", "/st/vms/0123456789abcdef/api.sock"));
	assert_true(has_pair(argv, "--log-file", "/st/vms/0123456789abcdef/vmm.log"));
	/* --disk-bus nvme (sample_def) */
	assert_true(has_pair(argv, "--disk", "path=/vms/web/disk0.img,bus=nvme"));
	assert_true(has_pair(argv, "--disk", "path=/data/ro.img,readonly=on,bus=nvme"));
	assert_true(has_pair(argv, "--cdrom", "/isos/debian.iso"));
	/* not a virtio-blk disk any more */
	for (size_t i = 0; argv[i]; i++)
		assert_null(strstr(argv[i], "debian.iso,readonly"));
	assert_true(has_pair(argv, "--net", "passt=/st/vms/0123456789abcdef/passt.sock"));
	sup_free_argv(argv);
	e->def.nic = VMDEF_NIC_E1000E;
	argv = sup_vmm_argv(e, "vmm");
	assert_true(
	    has_pair(argv, "--net", "passt=/st/vms/0123456789abcdef/passt.sock,model=e1000e"));
	e->def.nic = VMDEF_NIC_VIRTIO;
	assert_true(has_pair(argv, "--display", "vnc=unix:/run/v.sock"));
	assert_true(has_pair(argv, "--sound", "pulse"));
	assert_true(has_pair(argv, "--usb", "--rng")); /* a flag of its own */
	assert_true(has_pair(argv, "--uuid", "01234567-89ab-8cde-8f70-68796c6c6f6d"));
	sup_free_argv(argv);

	/* the default command line, firmware, tap */
	e->def.cmdline_set = false;
	argv = sup_vmm_argv(e, "vmm");
	assert_true(has_pair(argv, "--cmdline", "console=ttyS0"));
	sup_free_argv(argv);
	e->def.kernel[0] = 0;
	strcpy(e->def.firmware, "/usr/share/ovmf/OVMF.fd");
	e->def.net = VMDEF_NET_TAP;
	strcpy(e->def.tap, "tap0");
	argv = sup_vmm_argv(e, "vmm");
	assert_true(has_pair(argv, "--firmware", "/usr/share/ovmf/OVMF.fd"));
	assert_true(has_pair(argv, "--net", "tap=tap0"));
	assert_int_equal(e->def.nic, VMDEF_NIC_VIRTIO);
	for (size_t i = 0; argv[i]; i++)
		assert_string_not_equal(argv[i], "--kernel");
	sup_free_argv(argv);

	argv = sup_passt_argv(e, "/usr/bin/passt");
	assert_true(has_pair(argv, "--socket", "/st/vms/0123456789abcdef/passt.sock"));
	assert_true(has_pair(argv, "-t", "8080:80"));
	assert_true(has_pair(argv, "-u", "53:53"));
	assert_int_equal(has_pair(argv, "--runas", "0:0"), geteuid() == 0);
	sup_free_argv(argv);
	free(e);
}

/* A listener that accepts after a while. */
static void *accept_later(void *arg)
{
	int lfd = *(int *)arg;

	usleep(200000);
	for (int i = 0; i < 64; i++) {
		int c = accept(lfd, NULL, NULL);

		if (c < 0)
			break;
		close(c);
	}
	return NULL;
}

/* A full listen backlog makes a non-blocking connect fail with EAGAIN: mgr_connect_unix waits
 * for room instead of failing the request. */
static void test_connect_full_backlog(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/phyllome-test-XXXXXX", err[256];
	int lfd, fills[64], nfill = 0, fd;
	pthread_t t;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	while (nfill < 64) {
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

		assert_true(c >= 0);
		if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			assert_int_equal(errno, EAGAIN);
			close(c);
			break;
		}
		fills[nfill++] = c;
	}
	assert_true(nfill < 64); /* the backlog is full now */
	assert_int_equal(pthread_create(&t, NULL, accept_later, &lfd), 0);
	fd = mgr_connect_unix(sa.sun_path, SOCK_NONBLOCK, "reach", err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	shutdown(lfd, SHUT_RDWR);
	pthread_join(t, NULL);
	/* Nothing listening: the error says so at once. */
	close(lfd);
	unlink(sa.sun_path);
	assert_int_equal(mgr_connect_unix(sa.sun_path, SOCK_NONBLOCK, "reach", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "cannot reach"));
	for (int i = 0; i < nfill; i++)
		close(fills[i]);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),	   cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_vm_uuid),	   cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_ports),	   cmocka_unit_test(test_human),
	    cmocka_unit_test(test_args_parse),	   cmocka_unit_test(test_run_options),
	    cmocka_unit_test(test_disk_words),	   cmocka_unit_test(test_vmdef_roundtrip),
	    cmocka_unit_test(test_vmdef_rejects),  cmocka_unit_test(test_vmstate_roundtrip),
	    cmocka_unit_test(test_http_responses), cmocka_unit_test(test_detach_key),
	    cmocka_unit_test(test_vmm_argv),	   cmocka_unit_test(test_connect_full_backlog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
