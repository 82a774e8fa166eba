#include "api/api_json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *api_state_name(enum ctl_vm_state s)
{
	switch (s) {
	case CTL_STATE_RUNNING:
		return "Running";
	case CTL_STATE_PAUSED:
		return "Paused";
	default:
		return "Shutdown";
	}
}

/* A JSON string of s, or null for NULL. Paths and the command line are bytes, JSON strings
 * are UTF-8: bytes that aren't valid UTF-8 become '?'. */
static json_t *jstr(const char *s)
{
	json_t *j;
	char *copy;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *jint(uint64_t v)
{
	return json_integer((json_int_t)(v > INT64_MAX ? INT64_MAX : v));
}

static char *dump(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

char *api_json_error(const char *msg)
{
	return dump(json_pack("{s:o}", "error", jstr(msg)));
}

char *api_json_ping(const struct ctl_answer *a)
{
	return dump(json_pack("{s:s, s:s, s:I}", "build_version", PHYLLOME_VERSION, "version",
			      PHYLLOME_VERSION, "pid", (json_int_t)a->pid));
}

static const char *mode_name(enum serial_mode m)
{
	static const char *const names[] = {"Tty", "File", "Socket", "Off"};

	return m <= SERIAL_OFF ? names[m] : "Off";
}

static json_t *chardev(enum serial_mode m, const char *path)
{
	return json_pack("{s:s, s:o, s:o}", "mode", mode_name(m), "file",
			 jstr(m == SERIAL_FILE ? path : NULL), "socket",
			 jstr(m == SERIAL_SOCKET ? path : NULL));
}

static json_t *disks(const struct vm_config *c)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < c->ndisks; i++) {
		const struct disk_config *d = &c->disks[i];

		json_array_append_new(a,
				      json_pack("{s:o, s:b, s:b, s:o}", "path", jstr(d->path),
						"readonly", d->readonly, "direct", d->direct,
						"serial", jstr(d->serial[0] ? d->serial : NULL)));
	}
	return a;
}

static json_t *nets(const struct vm_config *c)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < c->nnets; i++) {
		const struct net_config *n = &c->nets[i];
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
			 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		json_array_append_new(
		    a, json_pack("{s:o, s:o}", n->backend == NET_TAP ? "tap" : "passt",
				 jstr(n->target), "mac", jstr(n->mac_set ? mac : NULL)));
	}
	return a;
}

static json_t *config(const struct vm_config *c)
{
	if (!c)
		return json_null();
	return json_pack(
	    "{s:{s:i, s:i}, s:{s:I}, s:{s:o, s:o, s:o}, s:o, s:o, s:o, s:o, s:o, s:o}", "cpus",
	    "boot_vcpus", (int)c->ncpus, "max_vcpus", (int)c->ncpus, "memory", "size",
	    (json_int_t)c->mem_size, "payload", "kernel", jstr(c->kernel), "initramfs",
	    jstr(c->initramfs), "cmdline", jstr(c->cmdline), "disks", disks(c), "cdrom",
	    c->cdrom[0] ? json_pack("{s:o}", "path", jstr(c->cdrom)) : json_null(), "net", nets(c),
	    "rng", c->rng ? json_pack("{s:s}", "src", "getrandom") : json_null(), "serial",
	    chardev(c->serial, c->serial_path), "console", chardev(c->console, c->console_path));
}

static json_t *counters(const struct ctl_counters *k)
{
	json_t *o = json_pack("{s:{s:o, s:o}, s:{s:o}, s:{s:o, s:o}}", "serial", "tx_bytes",
			      jint(k->serial_tx), "rx_bytes", jint(k->serial_rx), "debug_port",
			      "bytes", jint(k->debug_port), "acpi_pm", "power_button_presses",
			      jint(k->pwrbtn_presses), "power_button_acks", jint(k->pwrbtn_acks));

	for (unsigned i = 0; o && i < k->ncpus && i < VM_MAX_CPUS; i++) {
		const struct vcpu_stats *v = &k->vcpu[i];
		char name[16];

		snprintf(name, sizeof(name), "vcpu%u", i);
		json_object_set_new(o, name,
				    json_pack("{s:o, s:o, s:o, s:o, s:o}", "exits_io", jint(v->io),
					      "exits_mmio", jint(v->mmio), "exits_intr",
					      jint(v->intr), "exits_other", jint(v->other),
					      "unhandled_accesses", jint(v->unhandled)));
	}
	return o;
}

char *api_json_info(const struct ctl_answer *a)
{
	return dump(json_pack("{s:s, s:i, s:o, s:I, s:o}", "state", api_state_name(a->state),
			      "boot_count", (int)a->boots, "config", config(a->cfg),
			      "memory_actual_size", (json_int_t)(a->cfg ? a->cfg->mem_size : 0),
			      "counters", counters(&a->counters)));
}

char *api_json_counters(const struct ctl_answer *a)
{
	return dump(counters(&a->counters));
}
