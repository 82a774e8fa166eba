/* ps, inspect, logs, console, screenshot, disk create. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "manager/args.h"
#include "manager/attach.h"
#include "manager/cmds.h"
#include "manager/http.h"
#include "manager/supervise.h"

/* Docker's STATUS column: "Up 3 minutes", "Up 2 hours (Paused)", "Exited (0) 5 seconds ago". */
static void status_text(const struct vm_entry *e, const char *api_state, char *out, size_t len)
{
	char dur[64];
	int64_t now = time(NULL);

	if (mgr_running(e)) {
		mgr_human_duration(now - e->st.started, dur, sizeof(dur));
		snprintf(out, len, "Up %s%s", dur, !strcmp(api_state, "Paused") ? " (Paused)" : "");
	} else if (!strcmp(e->st.status, "created")) {
		snprintf(out, len, "Created");
	} else {
		mgr_human_duration(now - e->st.finished, dur, sizeof(dur));
		if (!e->st.finished) /* the VMM is gone; its supervisor is recording it */
			snprintf(out, len, "Exited");
		else if (e->st.has_exit)
			snprintf(out, len, "Exited (%d) %s ago", e->st.exit_code, dur);
		else
			snprintf(out, len, "Exited (unknown) %s ago", dur);
	}
}

/* "running", "paused", "created", "exited": the state as one word. */
static const char *state_word(const struct vm_entry *e, const char *api_state)
{
	if (mgr_running(e))
		return !strcmp(api_state, "Paused") ? "paused" : "running";
	return !strcmp(e->st.status, "created") ? "created" : "exited";
}

static void ports_text(const struct vm_def *d, char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	for (unsigned i = 0; i < d->nports && o < len; i++) {
		int n = snprintf(out + o, len - o, "%s%u->%u/%s", i ? ", " : "", d->ports[i].host,
				 d->ports[i].guest, d->ports[i].udp ? "udp" : "tcp");

		if (n < 0)
			break;
		o += (size_t)n;
	}
}

static json_t *ps_json(const struct vm_entry *e, const char *api_state)
{
	char status[96], ports[512];

	status_text(e, api_state, status, sizeof(status));
	ports_text(&e->def, ports, sizeof(ports));
	return json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I}", "ID",
			 e->def.id, "Name", e->def.name, "CPUs", (int)e->def.cpus, "Memory",
			 (json_int_t)e->def.memory, "State", state_word(e, api_state), "Status",
			 status, "Ports", ports, "Created", (json_int_t)e->def.created, "Image",
			 e->def.image, "Display", e->def.display, "Sound", e->def.sound,
			 "StartedAt", (json_int_t)(mgr_running(e) ? e->st.started : 0));
}

int cmd_ps(int argc, char **argv)
{
	bool all = false, quiet = false, json = false;
	struct vm_entry *v;
	struct store s;
	size_t n;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-a") || !strcmp(a, "--all"))
			all = true;
		else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			quiet = true;
		else if (!strcmp(a, "-aq") || !strcmp(a, "-qa"))
			all = quiet = true;
		else if ((!strcmp(a, "--format") && i + 1 < argc) || !strncmp(a, "--format=", 9)) {
			const char *f = a[8] == '=' ? a + 9 : argv[++i];

			if (strcmp(f, "json") && strcmp(f, "table")) {
				mgr_error("ps: --format takes table or json, not \"%s\"", f);
				return EXIT_USAGE;
			}
			json = !strcmp(f, "json");
		} else {
			mgr_error(
			    "ps: unknown flag: %s (usage: ps [-a] [-q] [--format table|json])", a);
			return EXIT_USAGE;
		}
	}
	if (mgr_store(&s) < 0)
		return EXIT_FAIL;
	if (store_list(&s, &v, &n) < 0) {
		mgr_error("cannot list VMs in %s", s.root);
		store_close(&s);
		return EXIT_FAIL;
	}
	if (!quiet && !json)
		printf("%-12s  %-20s  %4s  %8s  %-32s  %s\n", "VM ID", "NAME", "CPUS", "MEMORY",
		       "STATUS", "PORTS");
	for (size_t i = 0; i < n; i++) {
		char api_state[32] = "", status[96], mem[32], ports[512];

		store_refresh(&s, &v[i]);
		if (!all && !mgr_running(&v[i]))
			continue;
		if (mgr_running(&v[i]))
			mgr_api_state(&v[i], api_state, sizeof(api_state));
		if (quiet) {
			printf("%.12s\n", v[i].def.id);
		} else if (json) {
			json_t *o = ps_json(&v[i], api_state);
			char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

			if (line)
				printf("%s\n", line);
			free(line);
			json_decref(o);
		} else {
			status_text(&v[i], api_state, status, sizeof(status));
			mgr_human_size(v[i].def.memory, mem, sizeof(mem));
			ports_text(&v[i].def, ports, sizeof(ports));
			printf("%-12.12s  %-20s  %4u  %8s  %-32s  %s\n", v[i].def.id, v[i].def.name,
			       v[i].def.cpus, mem, status, ports);
		}
	}
	free(v);
	store_close(&s);
	return EXIT_OK;
}

static json_t *file_json(const char *path)
{
	char *data;
	size_t n;
	json_t *o;

	if (store_read_file(path, &data, &n) < 0)
		return json_null();
	o = json_loadb(data, n, 0, NULL);
	free(data);
	return o ? o : json_null();
}

/* The shared folders as Docker's inspect shows its mounts, with the tag and the command a guest
 * without cloud-init types. */
static json_t *mounts_json(const struct vm_def *d)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < d->nshares; i++) {
		const struct vmdef_share *s = &d->shares[i];
		char cmd[VMDEF_GUEST_PATH * 2 + 96];

		snprintf(cmd, sizeof(cmd), "mkdir -p %s && mount -t virtiofs %s%s %s", s->guest,
			 s->readonly ? "-o ro " : "", s->tag, s->guest);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type",
						   "virtiofs", "Source", s->host, "Destination",
						   s->guest, "Tag", s->tag, "RW", !s->readonly,
						   "MountCommand", cmd));
	}
	return a;
}

static json_t *inspect_one(struct vm_entry *e)
{
	char path[VMDEF_PATH + 32], api_state[32] = "", uuid[MGR_UUID_LEN + 1];
	bool running = mgr_running(e);
	json_t *o = json_object(), *st, *files;

	if (running)
		mgr_api_state(e, api_state, sizeof(api_state));
	json_object_set_new(o, "Id", json_string(e->def.id));
	json_object_set_new(o, "Name", json_string(e->def.name));
	mgr_vm_uuid(e->def.id, uuid);
	json_object_set_new(o, "Uuid", json_string(uuid));
	json_object_set_new(o, "Created", json_integer(e->def.created));
	json_object_set_new(o, "Path", json_string(e->dir));
	snprintf(path, sizeof(path), "%s/config.json", e->dir);
	json_object_set_new(o, "Config", file_json(path));
	st = json_pack("{s:s, s:b, s:b, s:i, s:i, s:I, s:I}", "Status", state_word(e, api_state),
		       "Running", running, "Paused", !strcmp(api_state, "Paused"), "Pid",
		       running ? (int)e->st.vmm_pid : 0, "SupervisorPid",
		       running ? (int)e->st.sup_pid : 0, "StartedAt", (json_int_t)e->st.started,
		       "FinishedAt", (json_int_t)e->st.finished);
	if (st)
		json_object_set_new(st, "ExitCode",
				    e->st.has_exit ? json_integer(e->st.exit_code) : json_null());
	json_object_set_new(o, "State", st ? st : json_null());
	files = json_object();
	static const char *const names[][2] = {{"ApiSocket", "api.sock"},
					       {"ConsoleSocket", "console.sock"},
					       {"SerialLog", "serial.log"},
					       {"VmmLog", "vmm.log"}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", e->dir, names[i][1]);
		json_object_set_new(files, names[i][0], json_string(path));
	}
	/* The machine's own state, which rm deletes: the TPM (BitLocker's keys) and the UEFI
	 * variables. */
	if (e->def.tpm) {
		snprintf(path, sizeof(path), "%s/tpm", e->dir);
		json_object_set_new(files, "TpmState", json_string(path));
		snprintf(path, sizeof(path), "%s/tpm.sock", e->dir);
		json_object_set_new(files, "TpmSocket", json_string(path));
		if (st)
			json_object_set_new(st, "SwtpmPid",
					    json_integer(running ? e->st.swtpm_pid : 0));
	}
	if (e->def.vars[0])
		json_object_set_new(files, "UefiVars", json_string(e->def.vars));
	json_object_set_new(o, "Files", files);
	json_object_set_new(o, "Mounts", mounts_json(&e->def));
	{
		char jail[160];

		sup_jail_describe(&e->def, jail, sizeof(jail));
		json_object_set_new(o, "Jail", json_string(jail));
	}
	if (running) {
		char sock[VMDEF_PATH + 16], err[256];
		struct http_response r;

		snprintf(sock, sizeof(sock), "%s/api.sock", e->dir);
		if (http_request(sock, "GET", "/api/v1/vm.info", NULL, 3000, &r, err,
				 sizeof(err)) == 0) {
			json_t *info =
			    r.status == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;

			json_object_set_new(o, "Vm", info ? info : json_null());
			http_response_free(&r);
		}
	}
	return o;
}

int cmd_inspect(int argc, char **argv)
{
	struct vm_entry *e = malloc(sizeof(*e));
	json_t *arr = json_array();
	int rc = EXIT_OK;
	struct store s;
	char *out;

	if (!e || !arr)
		return EXIT_FAIL;
	if (argc < 1 || !mgr_no_flags("inspect", argc, argv)) {
		if (argc < 1)
			mgr_error("inspect: give at least one VM");
		free(e);
		json_decref(arr);
		return EXIT_USAGE;
	}
	if (mgr_store(&s) < 0) {
		free(e);
		json_decref(arr);
		return EXIT_FAIL;
	}
	for (int i = 0; i < argc; i++) {
		if (mgr_resolve(&s, argv[i], e) < 0) {
			rc = EXIT_FAIL;
			continue;
		}
		json_array_append_new(arr, inspect_one(e));
	}
	out = json_dumps(arr, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	if (out)
		printf("%s\n", out);
	free(out);
	json_decref(arr);
	store_close(&s);
	free(e);
	return rc;
}

/* Copies fd's new bytes to stdout. Returns the number copied. */
static size_t copy_out(int fd)
{
	char buf[65536];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;
		total += (size_t)n;
	}
	fflush(stdout);
	return total;
}

int cmd_logs(int argc, char **argv)
{
	struct vm_entry *e = malloc(sizeof(*e));
	char path[VMDEF_PATH + 16];
	const char *ref = NULL;
	bool follow = false;
	struct store s;
	int fd;

	if (!e)
		return EXIT_FAIL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--follow"))
			follow = true;
		else if (argv[i][0] != '-' && !ref)
			ref = argv[i];
		else {
			mgr_error("logs: usage: phyllome logs [-f] VM");
			free(e);
			return EXIT_USAGE;
		}
	}
	if (!ref) {
		mgr_error("logs: usage: phyllome logs [-f] VM");
		free(e);
		return EXIT_USAGE;
	}
	if (mgr_store(&s) < 0 || mgr_resolve(&s, ref, e) < 0) {
		free(e);
		return EXIT_FAIL;
	}
	snprintf(path, sizeof(path), "%s/serial.log", e->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		copy_out(fd);
		/* Follow while the VM runs; then what it wrote last. */
		while (follow) {
			bool alive;

			usleep(200000);
			if (store_load(&s, e->def.id, e, path, sizeof(path)) < 0)
				break;
			alive = mgr_running(e);
			if (!copy_out(fd) && !alive)
				break;
		}
		close(fd);
	}
	store_close(&s);
	free(e);
	return EXIT_OK;
}

int cmd_console(int argc, char **argv)
{
	struct vm_entry *e = malloc(sizeof(*e));
	char sock[VMDEF_PATH + 16], err[512];
	struct store s;
	int rc = EXIT_FAIL;

	if (!e)
		return EXIT_FAIL;
	if (argc != 1 || argv[0][0] == '-') {
		mgr_error("console: usage: phyllome console VM (Ctrl-] detaches)");
		free(e);
		return EXIT_USAGE;
	}
	if (mgr_store(&s) < 0)
		goto out;
	if (mgr_resolve(&s, argv[0], e) < 0) {
		store_close(&s);
		goto out;
	}
	store_close(&s);
	if (!mgr_running(e)) {
		mgr_error("cannot attach to %s: it is not running", argv[0]);
		goto out;
	}
	snprintf(sock, sizeof(sock), "%s/console.sock", e->dir);
	if (attach_console(sock, e->def.name, err, sizeof(err)) < 0)
		mgr_error("%s", err);
	else
		rc = EXIT_OK;
out:
	free(e);
	return rc;
}

int cmd_screenshot(int argc, char **argv)
{
	struct vm_entry *e = malloc(sizeof(*e));
	char sock[VMDEF_PATH + 16], err[512];
	struct http_response r = {0};
	struct store s;
	int rc = EXIT_FAIL, fd;

	if (!e)
		return EXIT_FAIL;
	if (argc != 2) {
		mgr_error("screenshot: usage: phyllome screenshot VM FILE.png");
		free(e);
		return EXIT_USAGE;
	}
	if (mgr_store(&s) < 0 || mgr_resolve(&s, argv[0], e) < 0)
		goto out;
	if (!mgr_running(e)) {
		mgr_error("cannot take a screenshot of %s: it is not running", argv[0]);
		goto out;
	}
	snprintf(sock, sizeof(sock), "%s/api.sock", e->dir);
	if (http_request(sock, "GET", "/api/v1/vm.screenshot", NULL, 30000, &r, err, sizeof(err)) <
	    0) {
		mgr_error("%s: %s", argv[0], err);
		goto out;
	}
	if (r.status != 200) {
		http_error_text(&r, err, sizeof(err));
		mgr_error("%s: no screenshot: %s", argv[0], err);
		goto out;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, r.body, r.body_len) != (ssize_t)r.body_len) {
		mgr_error("cannot write %s: %s", argv[1], strerror(errno));
	} else {
		rc = EXIT_OK;
	}
	if (fd >= 0)
		close(fd);
out:
	http_response_free(&r);
	free(e);
	return rc;
}

int cmd_disk(int argc, char **argv)
{
	char err[512], size_text[32];
	uint64_t size;

	if (argc != 3 || strcmp(argv[0], "create")) {
		mgr_error("disk: usage: phyllome disk create FILE SIZE (a sparse raw image)");
		return EXIT_USAGE;
	}
	if (mgr_parse_size(argv[2], MGR_MAX_DISK, &size) < 0) {
		mgr_error("disk create: invalid size \"%s\" (e.g. 10G, 512M; at most 1P)", argv[2]);
		return EXIT_USAGE;
	}
	if (mgr_make_image(argv[1], size, err, sizeof(err)) < 0) {
		mgr_error("disk create: %s", err);
		return EXIT_FAIL;
	}
	mgr_human_size(size, size_text, sizeof(size_text));
	printf("%s (%s, sparse raw)\n", argv[1], size_text);
	return EXIT_OK;
}
