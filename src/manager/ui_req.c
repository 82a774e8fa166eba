/* The ui server's pure checks (ui_req.h): no I/O, so a fuzzer can drive them. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "manager/catalog.h"
#include "manager/preset.h"
#include "manager/shares.h"
#include "manager/ui_files.h"
#include "manager/ui_req.h"
#include "manager/util.h"
#include "manager/vmdef.h"

bool ui_cookie_get(const char *header, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	const char *p = header;

	while (p && *p) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		if (n > nl && !strncmp(p, name, nl) && p[nl] == '=') {
			const char *v = p + nl + 1;

			n -= nl + 1;
			while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			if (!n || n >= len)
				return false;
			memcpy(out, v, n);
			out[n] = 0;
			return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

bool ui_secret_eq(const char *a, const char *b)
{
	size_t n;
	unsigned char diff = 0;

	if (!a || !b || !*a || (n = strlen(a)) != strlen(b))
		return false;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

bool ui_origin_ok(const char *origin, const char *host, bool tls)
{
	size_t n = tls ? 8 : 7;

	if (!origin || !host || !*host || strncasecmp(origin, tls ? "https://" : "http://", n))
		return false;
	return !strcasecmp(origin + n, host);
}

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

int ui_vm_path(const char *url, char vm[64], char action[16])
{
	static const char prefix[] = "/api/vms/";
	const char *p, *slash;
	size_t n;

	if (strncmp(url, prefix, sizeof(prefix) - 1))
		return -EINVAL;
	p = url + sizeof(prefix) - 1;
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	if (!n || n > 63 || p[0] == '.' || p[0] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!word_char(p[i]))
			return -EINVAL;
	memcpy(vm, p, n);
	vm[n] = 0;
	action[0] = 0;
	if (!slash)
		return 0;
	p = slash + 1;
	n = strlen(p);
	if (!n || n > 15)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 'a' || p[i] > 'z')
			return -EINVAL;
	memcpy(action, p, n + 1);
	return 0;
}

bool ui_file_path_ok(const char *rel)
{
	size_t n = strlen(rel);
	bool word_start = true;

	if (!n || n > 200)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (rel[i] == '/') {
			if (word_start)
				return false; /* "//", or a leading '/' */
			word_start = true;
			continue;
		}
		if (!word_char(rel[i]) || (word_start && rel[i] == '.'))
			return false;
		word_start = false;
	}
	return !word_start;
}

/* Appends one word to store (NUL-terminated) and to words. */
static int add_word(char **words, int *n, int max, char *store, size_t storelen, size_t *used,
		    const char *w)
{
	size_t l = strlen(w) + 1;

	if (*n >= max || l > storelen - *used)
		return -EINVAL;
	memcpy(store + *used, w, l);
	words[(*n)++] = store + *used;
	*used += l;
	return 0;
}

static const char *str_member(json_t *o, const char *key, const char *dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : v ? NULL : dflt;
}

/* Checks the dialog's members; fills the words' values. */
static int new_vm_values(json_t *o, const char **image, const char **name, char cpus[8],
			 char memory[24], char disk[24], bool *vnc, bool *net, char *err,
			 size_t errlen)
{
	char n[CAT_NAME], t[CAT_NAME];
	const char *display = str_member(o, "display", "vnc"), *netw = str_member(o, "net", "none");
	int64_t c = 1, m = 512;

	*image = str_member(o, "image", NULL);
	*name = str_member(o, "name", "");
	if (!json_object_get(o, "image") &&
	    (json_object_get(o, "iso") || json_object_get(o, "disk_file"))) {
		*image = NULL; /* a file of the settings' folders (new_vm_files) */
	} else if (!*image || !**image || cat_parse_ref(*image, n, t) < 0) {
		snprintf(err, errlen, "pick an image or a catalogue entry");
		return -EINVAL;
	}
	if (!*name || (**name && !mgr_name_valid(*name))) {
		snprintf(err, errlen, "a name is letters, digits, '_', '.' and '-' (at most 63)");
		return -EINVAL;
	}
	if (json_object_get(o, "cpus") && mgr_json_int(o, "cpus", 1, MGR_MAX_CPUS, &c) < 0) {
		snprintf(err, errlen, "CPUs: a whole number from 1 to %d", MGR_MAX_CPUS);
		return -EINVAL;
	}
	if (json_object_get(o, "memory_mib") &&
	    mgr_json_int(o, "memory_mib", (int64_t)(MGR_MIN_MEM >> 20),
			 (int64_t)(MGR_MAX_MEM >> 20), &m) < 0) {
		snprintf(err, errlen, "memory: whole MiB from %llu to %llu", MGR_MIN_MEM >> 20,
			 MGR_MAX_MEM >> 20);
		return -EINVAL;
	}
	disk[0] = 0;
	if (json_object_get(o, "disk_gib")) {
		int64_t g;

		if (mgr_json_int(o, "disk_gib", 1, 65536, &g) < 0) {
			snprintf(err, errlen, "disk size: whole GiB from 1 to 65536");
			return -EINVAL;
		}
		snprintf(disk, 24, "%lldG", (long long)g);
	}
	if (!display || (strcmp(display, "vnc") && strcmp(display, "none")) || !netw ||
	    (strcmp(netw, "user") && strcmp(netw, "none"))) {
		snprintf(err, errlen, "display is vnc or none; network is user or none");
		return -EINVAL;
	}
	snprintf(cpus, 8, "%d", (int)c);
	snprintf(memory, 24, "%lldM", (long long)m);
	*vnc = !strcmp(display, "vnc");
	*net = !strcmp(netw, "user");
	return 0;
}

/* "shares": [{"folder": N, "guest": "/PATH", "readonly": bool}, ...], at most VMDEF_MAX_SHARES,
 * each the folder number N of the settings as `-v DIR:/PATH[:ro]`; none: "--no-shares" when
 * none_word (update's), else nothing. Appends their words; 0, or -EINVAL with err set. */
static int share_words(json_t *shares, const struct ui_folders *folders, bool none_word,
		       char **words, int *n, int max, char *store, size_t storelen, size_t *used,
		       char *err, size_t errlen)
{
	char path[UI_FILE_MAX], spec[UI_FILE_MAX + VMDEF_GUEST_PATH + 8];
	size_t i;
	json_t *sh;

	if (!json_is_array(shares) || json_array_size(shares) > VMDEF_MAX_SHARES) {
		snprintf(err, errlen, "the shared folders are a list of at most %d",
			 VMDEF_MAX_SHARES);
		return -EINVAL;
	}
	if (json_array_size(shares) == 0 && none_word)
		return add_word(words, n, max, store, storelen, used, "--no-shares");
	json_array_foreach(shares, i, sh)
	{
		json_t *ro = json_object_get(sh, "readonly");
		json_int_t idx = json_integer_value(json_object_get(sh, "folder"));
		const char *guest = json_string_value(json_object_get(sh, "guest"));

		if (!json_is_object(sh) || !json_is_integer(json_object_get(sh, "folder")) ||
		    !guest || (ro && !json_is_boolean(ro))) {
			snprintf(err, errlen,
				 "a shared folder is {\"folder\": N, \"guest\": \"/PATH\", "
				 "\"readonly\": true|false}");
			return -EINVAL;
		}
		if (ui_folder_resolve(folders, (long long)idx, path, sizeof(path), err, errlen) < 0)
			return -EINVAL;
		if (!shares_guest_ok(guest)) {
			snprintf(
			    err, errlen,
			    "the shared folder's path in the guest: absolute, not /, of letters, "
			    "digits and ._+@~- (e.g. /mnt/host)");
			return -EINVAL;
		}
		snprintf(spec, sizeof(spec), "%s:%s%s", path, guest, json_is_true(ro) ? ":ro" : "");
		int rc = add_word(words, n, max, store, storelen, used, "-v");

		if (rc == 0)
			rc = add_word(words, n, max, store, storelen, used, spec);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The dialog's files: "iso" (the CD, with an empty disk of disk_gib, 20 GiB unless given) or
 * "disk_file" (the VM's disk), each an id of a file under the settings' folders, and "os" (the
 * --os preset) for them; "shares" as share_words. Appends their words. */
static int new_vm_files(json_t *o, const char *image, const char *disk,
			const struct ui_folders *folders, char **words, int *n, int max,
			char *store, size_t storelen, size_t *used, char *err, size_t errlen)
{
	const char *iso = str_member(o, "iso", NULL), *file = str_member(o, "disk_file", NULL);
	const char *os = str_member(o, "os", "linux");
	json_t *shares = json_object_get(o, "shares");
	int rc = 0;

	if (json_object_get(o, "share")) { /* the one folder of old: now a list */
		snprintf(err, errlen, "\"shares\" is a list of shared folders (not \"share\")");
		return -EINVAL;
	}
	if (!image && (!iso == !file || !(iso ? iso : file)[0])) {
		snprintf(err, errlen, "pick one of a catalogue entry, an ISO or a disk image");
		return -EINVAL;
	}
	if (image && (json_object_get(o, "iso") || json_object_get(o, "disk_file") ||
		      json_object_get(o, "os"))) {
		snprintf(err, errlen,
			 "a catalogue entry or image comes alone (no ISO, file or OS)");
		return -EINVAL;
	}
	if (!image && (!os || !preset_find(os))) {
		snprintf(err, errlen, "the OS type is one of %s", preset_names());
		return -EINVAL;
	}
	if (file && disk[0]) {
		snprintf(err, errlen, "a disk image keeps its own size: leave the disk size empty");
		return -EINVAL;
	}
	if (!image) {
		char path[UI_FILE_MAX];

		if (ui_file_resolve(folders, iso ? iso : file, iso ? UI_FILE_ISO : UI_FILE_DISK,
				    path, sizeof(path), err, errlen) < 0)
			return -EINVAL;
		const char *w[] = {"--os", os, iso ? "--cdrom" : "--disk", path};

		for (size_t i = 0; rc == 0 && i < sizeof(w) / sizeof(w[0]); i++)
			rc = add_word(words, n, max, store, storelen, used, w[i]);
		if (rc == 0 && iso && !disk[0]) /* an empty disk to install on */
			rc = add_word(words, n, max, store, storelen, used, "--disk");
		if (rc == 0 && iso && !disk[0])
			rc = add_word(words, n, max, store, storelen, used, "20G");
	}
	if (rc == 0 && shares)
		rc = share_words(shares, folders, false, words, n, max, store, storelen, used, err,
				 errlen);
	return rc;
}

int ui_new_vm_args(const char *json, size_t len, const char *vnc_sock,
		   const struct ui_folders *folders, char **words, int max, char *store,
		   size_t storelen, char *err, size_t errlen)
{
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	const char *image, *name;
	char cpus[8], memory[24], disk[24], display[160];
	bool vnc = false, net = false;
	size_t used = 0;
	int n = 0, rc;

	if (!json_is_object(o)) {
		json_decref(o);
		snprintf(err, errlen, "the new VM's settings are not a JSON object");
		return -EINVAL;
	}
	rc = new_vm_values(o, &image, &name, cpus, memory, disk, &vnc, &net, err, errlen);
	if (rc == 0 &&
	    snprintf(display, sizeof(display), "vnc=unix:%s", vnc_sock) >= (int)sizeof(display)) {
		snprintf(err, errlen, "the display's socket path is too long");
		rc = -EINVAL;
	}
	const char *w[] = {"-d",
			   "--cpus",
			   cpus,
			   "--memory",
			   memory,
			   "--display",
			   vnc ? display : "none",
			   "--net",
			   net ? "user" : "none"};
	for (size_t i = 0; rc == 0 && i < sizeof(w) / sizeof(w[0]); i++)
		rc = add_word(words, &n, max, store, storelen, &used, w[i]);
	if (rc == 0 && *name) {
		rc = add_word(words, &n, max, store, storelen, &used, "--name");
		if (rc == 0)
			rc = add_word(words, &n, max, store, storelen, &used, name);
	}
	if (rc == 0 && disk[0]) { /* the first --disk SIZE sizes the image's disk */
		rc = add_word(words, &n, max, store, storelen, &used, "--disk");
		if (rc == 0)
			rc = add_word(words, &n, max, store, storelen, &used, disk);
	}
	if (rc == 0)
		rc = new_vm_files(o, image, disk, folders, words, &n, max, store, storelen, &used,
				  err, errlen);
	if (rc == 0 && image)
		rc = add_word(words, &n, max, store, storelen, &used, image);
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "the new VM's settings are too long");
	json_decref(o);
	return rc < 0 ? rc : n;
}

/* The Edit dialog's one-of-a-few string member: its index in names, -1 when absent, -2 when bad. */
static int pick(json_t *o, const char *key, const char *const *names, size_t n)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return -1;
	for (size_t i = 0; json_is_string(v) && i < n; i++)
		if (!strcmp(json_string_value(v), names[i]))
			return (int)i;
	return -2;
}

int ui_update_args(const char *json, size_t len, const char *vm, const char *vnc_sock,
		   const struct ui_folders *folders, char **words, int max, char *store,
		   size_t storelen, char *err, size_t errlen)
{
	static const char *const displays[] = {"none", "vnc"}, *const sounds[] = {"none", "pulse"};
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	bool has_c = json_object_get(o, "cpus"), has_m = json_object_get(o, "memory_mib"),
	     has_d = json_object_get(o, "disk_gib"), has_s = json_object_get(o, "shares");
	int disp = pick(o, "display", displays, 2), snd = pick(o, "sound", sounds, 2);
	int64_t c = 0, m = 0, d = 0;
	char cpus[8], memory[24], disk[24], display[160];
	size_t used = 0;
	int n = 0, rc = -EINVAL;

	err[0] = 0;
	if (!json_is_object(o) || (!has_c && !has_m && !has_d && !has_s && disp == -1 && snd == -1))
		snprintf(err, errlen,
			 "give the VM's CPUs, memory, disk size, display, sound or shared folders");
	else if (has_c && mgr_json_int(o, "cpus", 1, MGR_MAX_CPUS, &c) < 0)
		snprintf(err, errlen, "CPUs: a whole number from 1 to %d", MGR_MAX_CPUS);
	else if (has_m && mgr_json_int(o, "memory_mib", (int64_t)(MGR_MIN_MEM >> 20),
				       (int64_t)(MGR_MAX_MEM >> 20), &m) < 0)
		snprintf(err, errlen, "memory: whole MiB from %llu to %llu", MGR_MIN_MEM >> 20,
			 MGR_MAX_MEM >> 20);
	else if (has_d && mgr_json_int(o, "disk_gib", 1, 65536, &d) < 0)
		snprintf(err, errlen, "disk size: whole GiB from 1 to 65536");
	else if (disp == -2)
		snprintf(err, errlen, "display: \"vnc\" (shown here) or \"none\"");
	else if (snd == -2)
		snprintf(err, errlen, "sound: \"pulse\" (the desktop's sound server) or \"none\"");
	else if (snprintf(display, sizeof(display), "vnc=unix:%s", vnc_sock) >=
		 (int)sizeof(display))
		snprintf(err, errlen, "the display's socket path is too long");
	else
		rc = 0;
	snprintf(cpus, sizeof(cpus), "%d", (int)c);
	snprintf(memory, sizeof(memory), "%lldM", (long long)m);
	snprintf(disk, sizeof(disk), "%lldG", (long long)d);
	const char *w[][2] = {{c ? "--cpus" : NULL, cpus},
			      {m ? "--memory" : NULL, memory},
			      {d ? "--disk-size" : NULL, disk},
			      {disp >= 0 ? "--display" : NULL, disp == 1 ? display : "none"},
			      {snd >= 0 ? "--sound" : NULL, sounds[snd > 0]}};
	for (size_t i = 0; rc == 0 && i < sizeof(w) / sizeof(w[0]); i++) {
		if (!w[i][0])
			continue;
		rc = add_word(words, &n, max, store, storelen, &used, w[i][0]);
		if (rc == 0)
			rc = add_word(words, &n, max, store, storelen, &used, w[i][1]);
	}
	if (rc == 0 && has_s)
		rc = share_words(json_object_get(o, "shares"), folders, true, words, &n, max, store,
				 storelen, &used, err, errlen);
	if (rc == 0)
		rc = add_word(words, &n, max, store, storelen, &used, vm);
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "the VM's settings are too long");
	json_decref(o);
	return rc < 0 ? rc : n;
}

int ui_vnc_target(const char *display, struct ui_vnc_target *t)
{
	const char *p, *end, *colon;
	size_t n;
	char *e;
	unsigned long port;

	memset(t, 0, sizeof(*t));
	if (strncmp(display, "vnc=", 4))
		return -ENOENT;
	p = display + 4;
	end = strchr(p, ',');
	n = end ? (size_t)(end - p) : strlen(p);
	if (!strncmp(p, "unix:", 5)) {
		if (n <= 5 || n - 5 >= sizeof(t->path) || p[5] != '/')
			return -EINVAL;
		memcpy(t->path, p + 5, n - 5);
		return 0;
	}
	colon = memrchr(p, ':', n);
	if (!colon || colon == p || (size_t)(colon - p) >= sizeof(t->host))
		return -EINVAL;
	port = strtoul(colon + 1, &e, 10);
	if (e != p + n || e == colon + 1 || port == 0 || port > 65535)
		return -EINVAL;
	memcpy(t->host, p, (size_t)(colon - p));
	t->port = (unsigned)port;
	/* A VNC server listening on every address is reached on loopback. */
	if (!strcmp(t->host, "0.0.0.0"))
		strcpy(t->host, "127.0.0.1");
	else if (!strcmp(t->host, "[::]") || !strcmp(t->host, "::"))
		strcpy(t->host, "::1");
	else if (t->host[0] == '[') {
		n = strlen(t->host);
		if (n < 3 || t->host[n - 1] != ']')
			return -EINVAL;
		memmove(t->host, t->host + 1, n - 2);
		t->host[n - 2] = 0;
	}
	return 0;
}
