#include "manager/vmdef.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "manager/shares.h"

static const char *const net_names[] = {"none", "user", "tap"};
static const char *const bus_names[] = {"virtio", "nvme"};
static const char *const nic_names[] = {"virtio", "e1000e"};

void vmdef_init(struct vm_def *d)
{
	memset(d, 0, sizeof(*d));
	d->cpus = 1;
	d->memory = 512ull << 20;
}

static json_t *str_or_null(const char *s)
{
	return *s ? json_string(s) : json_null();
}

char *vmdef_dump(const struct vm_def *d)
{
	json_t *o = json_object(), *disks = json_array(), *ports = json_array(),
	       *shares = json_array();
	char *out;

	for (unsigned i = 0; i < d->ndisks; i++) {
		json_t *k = json_pack("{s:s, s:I, s:b, s:b, s:s}", "path", d->disks[i].path, "size",
				      (json_int_t)d->disks[i].size, "readonly",
				      d->disks[i].readonly, "owned", d->disks[i].owned, "format",
				      d->disks[i].qcow2 ? "qcow2" : "raw");

		if (d->disks[i].backing[0])
			json_object_set_new(k, "backing", json_string(d->disks[i].backing));
		json_array_append_new(disks, k);
	}
	for (unsigned i = 0; i < d->nports; i++)
		json_array_append_new(ports, json_pack("{s:i, s:i, s:s}", "host", d->ports[i].host,
						       "guest", d->ports[i].guest, "proto",
						       d->ports[i].udp ? "udp" : "tcp"));
	for (unsigned i = 0; i < d->nshares; i++)
		json_array_append_new(shares, json_pack("{s:s, s:s, s:s, s:b}", "host",
							d->shares[i].host, "guest",
							d->shares[i].guest, "tag", d->shares[i].tag,
							"readonly", d->shares[i].readonly));
	json_object_set_new(o, "id", json_string(d->id));
	json_object_set_new(o, "name", json_string(d->name));
	json_object_set_new(o, "cpus", json_integer(d->cpus));
	json_object_set_new(o, "memory", json_integer((json_int_t)d->memory));
	json_object_set_new(o, "kernel", str_or_null(d->kernel));
	json_object_set_new(o, "initramfs", str_or_null(d->initramfs));
	json_object_set_new(o, "cmdline", d->cmdline_set ? json_string(d->cmdline) : json_null());
	json_object_set_new(o, "firmware", str_or_null(d->firmware));
	json_object_set_new(o, "display", str_or_null(d->display));
	json_object_set_new(o, "sound", str_or_null(d->sound));
	json_object_set_new(o, "cdrom", str_or_null(d->cdrom));
	json_object_set_new(o, "cloud_init", str_or_null(d->cloud_init));
	json_object_set_new(o, "disks", disks);
	json_object_set_new(o, "disk_bus", json_string(bus_names[d->disk_bus]));
	json_object_set_new(o, "net", json_string(net_names[d->net]));
	json_object_set_new(o, "tap", str_or_null(d->tap));
	json_object_set_new(o, "net_model", json_string(nic_names[d->nic]));
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "shares", shares);
	json_object_set_new(o, "usb", json_boolean(d->usb));
	json_object_set_new(o, "jail", json_boolean(!d->no_jail));
	json_object_set_new(o, "os", str_or_null(d->os));
	json_object_set_new(o, "tpm", json_boolean(d->tpm));
	json_object_set_new(o, "hyperv", json_boolean(d->hyperv));
	json_object_set_new(o, "rtc", json_string(d->rtc_local ? "localtime" : "utc"));
	json_object_set_new(o, "vars", str_or_null(d->vars));
	json_object_set_new(o, "auto_remove", json_boolean(d->auto_remove));
	json_object_set_new(o, "created", json_integer(d->created));
	json_object_set_new(o, "image", str_or_null(d->image));
	json_object_set_new(o, "ssh_user", str_or_null(d->ssh_user));
	out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	return out;
}

/* Copies a JSON string or null member into dst (size n). */
static int get_str(json_t *o, const char *key, char *dst, size_t n, bool required)
{
	json_t *v = json_object_get(o, key);

	dst[0] = 0;
	if (!v || json_is_null(v))
		return required ? -EINVAL : 0;
	return mgr_json_copy_str(v, dst, n);
}

int mgr_json_copy_str(json_t *v, char *dst, size_t n)
{
	if (!json_is_string(v) || json_string_length(v) >= n ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -EINVAL;
	strcpy(dst, json_string_value(v));
	return 0;
}

int mgr_json_int(json_t *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -EINVAL;
	*out = json_integer_value(v);
	return 0;
}

static int load_disks(struct vm_def *d, json_t *arr)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) > VMDEF_MAX_DISKS)
		return -EINVAL;
	json_array_foreach(arr, i, v)
	{
		struct vmdef_disk *k = &d->disks[i];
		int64_t size;
		json_t *ro = json_object_get(v, "readonly"), *own = json_object_get(v, "owned");
		char fmt[8];

		/* format and backing: absent in folders made before images (raw, none) */
		if (!json_is_object(v) || get_str(v, "path", k->path, sizeof(k->path), true) < 0 ||
		    !k->path[0] || mgr_json_int(v, "size", 0, (int64_t)MGR_MAX_DISK, &size) < 0 ||
		    !json_is_boolean(ro) || !json_is_boolean(own) ||
		    get_str(v, "format", fmt, sizeof(fmt), false) < 0 ||
		    (fmt[0] && strcmp(fmt, "raw") && strcmp(fmt, "qcow2")) ||
		    get_str(v, "backing", k->backing, sizeof(k->backing), false) < 0 ||
		    (k->backing[0] && strcmp(fmt, "qcow2")))
			return -EINVAL;
		k->qcow2 = !strcmp(fmt, "qcow2");
		k->size = (uint64_t)size;
		k->readonly = json_is_true(ro);
		k->owned = json_is_true(own);
	}
	d->ndisks = (unsigned)json_array_size(arr);
	return 0;
}

static int load_ports(struct vm_def *d, json_t *arr)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) > VMDEF_MAX_PORTS)
		return -EINVAL;
	json_array_foreach(arr, i, v)
	{
		int64_t h, g;
		const char *proto = json_string_value(json_object_get(v, "proto"));

		if (!json_is_object(v) || mgr_json_int(v, "host", 1, 65535, &h) < 0 ||
		    mgr_json_int(v, "guest", 1, 65535, &g) < 0 || !proto ||
		    (strcmp(proto, "tcp") && strcmp(proto, "udp")))
			return -EINVAL;
		d->ports[i] = (struct port_map){(uint16_t)h, (uint16_t)g, !strcmp(proto, "udp")};
	}
	d->nports = (unsigned)json_array_size(arr);
	return 0;
}

/* Absent in folders made before -v: none. */
static int load_shares(struct vm_def *d, json_t *arr)
{
	size_t i;
	json_t *v;

	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > VMDEF_MAX_SHARES)
		return -EINVAL;
	json_array_foreach(arr, i, v)
	{
		struct vmdef_share *s = &d->shares[i];
		json_t *ro = json_object_get(v, "readonly");

		if (!json_is_object(v) || get_str(v, "host", s->host, sizeof(s->host), true) < 0 ||
		    s->host[0] != '/' ||
		    get_str(v, "guest", s->guest, sizeof(s->guest), true) < 0 ||
		    !shares_guest_ok(s->guest) ||
		    get_str(v, "tag", s->tag, sizeof(s->tag), true) < 0 || !shares_tag_ok(s->tag) ||
		    !json_is_boolean(ro))
			return -EINVAL;
		s->readonly = json_is_true(ro);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(d->shares[k].tag, s->tag) ||
			    !strcmp(d->shares[k].guest, s->guest))
				return -EINVAL;
	}
	d->nshares = (unsigned)json_array_size(arr);
	return 0;
}

/* "virtio" or "e1000e"; absent (a VM made before there was a choice): virtio. */
static int load_nic(struct vm_def *d, json_t *v)
{
	const char *nic = json_string_value(v);

	d->nic = VMDEF_NIC_VIRTIO;
	if (!v)
		return 0;
	for (unsigned i = 0; nic && i < sizeof(nic_names) / sizeof(nic_names[0]); i++) {
		if (!strcmp(nic, nic_names[i])) {
			d->nic = (enum vmdef_nic)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* A boolean member; absent: false. */
static int get_bool(json_t *o, const char *key, bool *out)
{
	json_t *v = json_object_get(o, key);

	if (v && !json_is_boolean(v))
		return -EINVAL;
	*out = json_is_true(v);
	return 0;
}

static int load_os(struct vm_def *d, json_t *o)
{
	json_t *rtc = json_object_get(o, "rtc");
	const char *r = json_string_value(rtc);

	if (get_str(o, "os", d->os, sizeof(d->os), false) < 0 || get_bool(o, "tpm", &d->tpm) < 0 ||
	    get_bool(o, "hyperv", &d->hyperv) < 0 ||
	    get_str(o, "vars", d->vars, sizeof(d->vars), false) < 0 ||
	    (d->vars[0] && !d->firmware[0]) ||
	    (rtc && (!r || (strcmp(r, "utc") && strcmp(r, "localtime")))))
		return -EINVAL;
	d->rtc_local = r && !strcmp(r, "localtime");
	return 0;
}

static int load_def(struct vm_def *d, json_t *o, const char **what)
{
	int64_t v;
	const char *net, *bus;
	json_t *cmdline = json_object_get(o, "cmdline"), *rm = json_object_get(o, "auto_remove"),
	       *usb, *jail;

	*what = "id";
	if (get_str(o, "id", d->id, sizeof(d->id), true) < 0 || strlen(d->id) != MGR_ID_LEN ||
	    !mgr_hex_ref(d->id))
		return -EINVAL;
	*what = "name";
	if (get_str(o, "name", d->name, sizeof(d->name), true) < 0 || !mgr_name_valid(d->name))
		return -EINVAL;
	*what = "cpus";
	if (mgr_json_int(o, "cpus", 1, MGR_MAX_CPUS, &v) < 0)
		return -EINVAL;
	d->cpus = (unsigned)v;
	*what = "memory";
	if (mgr_json_int(o, "memory", (int64_t)MGR_MIN_MEM, (int64_t)MGR_MAX_MEM, &v) < 0 ||
	    (v & ((1 << 20) - 1)))
		return -EINVAL;
	d->memory = (uint64_t)v;
	*what = "a path or string member";
	if (get_str(o, "kernel", d->kernel, sizeof(d->kernel), false) < 0 ||
	    get_str(o, "initramfs", d->initramfs, sizeof(d->initramfs), false) < 0 ||
	    get_str(o, "firmware", d->firmware, sizeof(d->firmware), false) < 0 ||
	    get_str(o, "display", d->display, sizeof(d->display), false) < 0 ||
	    get_str(o, "sound", d->sound, sizeof(d->sound), false) < 0 ||
	    get_str(o, "cdrom", d->cdrom, sizeof(d->cdrom), false) < 0 ||
	    get_str(o, "cloud_init", d->cloud_init, sizeof(d->cloud_init), false) < 0 ||
	    get_str(o, "tap", d->tap, sizeof(d->tap), false) < 0 ||
	    get_str(o, "cmdline", d->cmdline, sizeof(d->cmdline), false) < 0)
		return -EINVAL;
	d->cmdline_set = json_is_string(cmdline);
	*what = "disks";
	if (load_disks(d, json_object_get(o, "disks")) < 0)
		return -EINVAL;
	*what = "disk_bus"; /* absent in folders made before it: virtio */
	bus = json_string_value(json_object_get(o, "disk_bus"));
	d->disk_bus =
	    bus && !strcmp(bus, bus_names[VMDEF_BUS_NVME]) ? VMDEF_BUS_NVME : VMDEF_BUS_VIRTIO;
	if (json_object_get(o, "disk_bus") && (!bus || strcmp(bus, bus_names[d->disk_bus])))
		return -EINVAL;
	*what = "ports";
	if (load_ports(d, json_object_get(o, "ports")) < 0)
		return -EINVAL;
	*what = "shares";
	if (load_shares(d, json_object_get(o, "shares")) < 0)
		return -EINVAL;
	*what = "net";
	net = json_string_value(json_object_get(o, "net"));
	for (d->net = VMDEF_NET_NONE; net && d->net <= VMDEF_NET_TAP; d->net++)
		if (!strcmp(net, net_names[d->net]))
			break;
	if (!net || d->net > VMDEF_NET_TAP || (d->net == VMDEF_NET_TAP) != !!d->tap[0])
		return -EINVAL;
	*what = "net_model";
	if (load_nic(d, json_object_get(o, "net_model")) < 0)
		return -EINVAL;
	*what = "auto_remove";
	if (!json_is_boolean(rm))
		return -EINVAL;
	d->auto_remove = json_is_true(rm);
	*what = "usb"; /* absent in state written before --usb: no USB */
	usb = json_object_get(o, "usb");
	if (usb && !json_is_boolean(usb))
		return -EINVAL;
	d->usb = json_is_true(usb);
	*what = "jail"; /* absent in folders made before the jail: jailed, as every VM now */
	jail = json_object_get(o, "jail");
	if (jail && !json_is_boolean(jail))
		return -EINVAL;
	d->no_jail = json_is_false(jail);
	*what = "os, tpm, hyperv, rtc or vars"; /* absent in folders made before --os */
	if (load_os(d, o) < 0)
		return -EINVAL;
	*what = "image";
	if (get_str(o, "image", d->image, sizeof(d->image), false) < 0 ||
	    get_str(o, "ssh_user", d->ssh_user, sizeof(d->ssh_user), false) < 0)
		return -EINVAL;
	*what = "created";
	return mgr_json_int(o, "created", 0, INT64_MAX, &d->created);
}

static json_t *parse_object(const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);

	if (!o) {
		snprintf(err, errlen, "malformed JSON: %s (line %d)", je.text, je.line);
		return NULL;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "not a JSON object");
		json_decref(o);
		return NULL;
	}
	return o;
}

int vmdef_load(struct vm_def *d, const char *json, size_t len, char *err, size_t errlen)
{
	const char *what = "";
	json_t *o = parse_object(json, len, err, errlen);
	int rc;

	vmdef_init(d);
	if (!o)
		return -EINVAL;
	rc = load_def(d, o, &what);
	json_decref(o);
	if (rc < 0)
		snprintf(err, errlen, "bad or missing \"%s\"", what);
	return rc;
}

void vmstate_init(struct vm_state *s)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->status, "created");
	s->exit_code = -1;
}

char *vmstate_dump(const struct vm_state *s)
{
	json_t *o = json_pack("{s:s, s:i, s:I, s:i, s:I, s:i, s:I, s:I, s:i, s:i}", "status",
			      s->status, "supervisor_pid", (int)s->sup_pid, "supervisor_start",
			      (json_int_t)s->sup_start, "vmm_pid", (int)s->vmm_pid, "vmm_start",
			      (json_int_t)s->vmm_start, "passt_pid", (int)s->passt_pid, "started",
			      (json_int_t)s->started, "finished", (json_int_t)s->finished,
			      "restarts", (int)s->restarts, "exit_code", s->exit_code);
	char *out;

	if (!o)
		return NULL;
	json_object_set_new(o, "has_exit", json_boolean(s->has_exit));
	json_object_set_new(o, "swtpm_pid", json_integer(s->swtpm_pid));
	out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return out;
}

int vmstate_load(struct vm_state *s, const char *json, size_t len, char *err, size_t errlen)
{
	json_t *o = parse_object(json, len, err, errlen);
	int64_t v[9];
	static const char *const keys[] = {"supervisor_pid",   "vmm_pid",   "passt_pid",
					   "supervisor_start", "vmm_start", "started",
					   "finished",	       "restarts",  "exit_code"};
	static const int64_t mins[] = {0, 0, 0, 0, 0, 0, 0, 0, -1};
	static const int64_t maxs[] = {INT32_MAX, INT32_MAX, INT32_MAX, INT64_MAX, INT64_MAX,
				       INT64_MAX, INT64_MAX, INT32_MAX, 255};
	json_t *has_exit;

	vmstate_init(s);
	if (!o)
		return -EINVAL;
	has_exit = json_object_get(o, "has_exit");
	if (get_str(o, "status", s->status, sizeof(s->status), true) < 0 ||
	    (strcmp(s->status, "created") && strcmp(s->status, "running") &&
	     strcmp(s->status, "exited"))) {
		snprintf(err, errlen, "bad or missing \"status\"");
		json_decref(o);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (mgr_json_int(o, keys[i], mins[i], maxs[i], &v[i]) < 0) {
			snprintf(err, errlen, "bad or missing \"%s\"", keys[i]);
			json_decref(o);
			return -EINVAL;
		}
	}
	if (!json_is_boolean(has_exit)) {
		snprintf(err, errlen, "bad or missing \"has_exit\"");
		json_decref(o);
		return -EINVAL;
	}
	s->sup_pid = (pid_t)v[0];
	s->vmm_pid = (pid_t)v[1];
	s->passt_pid = (pid_t)v[2];
	s->sup_start = (unsigned long long)v[3];
	s->vmm_start = (unsigned long long)v[4];
	s->started = v[5];
	s->finished = v[6];
	s->restarts = (unsigned)v[7];
	s->exit_code = (int)v[8];
	s->has_exit = json_is_true(has_exit);
	/* absent in state written before the manager ran swtpm */
	if (json_object_get(o, "swtpm_pid")) {
		if (mgr_json_int(o, "swtpm_pid", 0, INT32_MAX, &v[0]) < 0) {
			snprintf(err, errlen, "bad \"swtpm_pid\"");
			json_decref(o);
			return -EINVAL;
		}
		s->swtpm_pid = (pid_t)v[0];
	}
	json_decref(o);
	return 0;
}
