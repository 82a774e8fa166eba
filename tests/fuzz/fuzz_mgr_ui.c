/* libFuzzer: what a browser (or anything reaching `phyllome ui`'s port) sends its server:
 * the Cookie header, Origin and Host, the request path, a served file's name, the new-VM
 * dialog's JSON (with its ISO, disk image and shared folder picked under the settings'
 * folders), the settings' JSON and a picked file's id, and a VM's --display as the console
 * reads it. The first byte picks which; the
 * rest is the input (NUL-split where two strings are needed). What is accepted keeps the
 * server's promises: no path escapes its folder, the new VM's image is never a path or a URL,
 * a picked file is a real path in a settings' folder. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manager/ui_files.h"
#include "manager/ui_req.h"
#include "manager/vmdef.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* The settings' folder: "/" (so that ids naming real files resolve) checked against what
 * resolved: every path the words hold is under it, with no "." or ".." left. */
static const struct ui_folders root = {.n = 1, .path = {"/"}};

static void fuzz_new_vm(const char *s, size_t n)
{
	char *w[40], store[(VMDEF_MAX_SHARES + 2) * UI_FILE_MAX], err[256] = "";
	int k = ui_new_vm_args(s, n, "/state/ui-displays/x.sock", &root, w, 40, store,
			       sizeof(store), err, sizeof(err));
	bool image;

	if (k < 0) {
		check(k == -EINVAL && err[0] && !strchr(err, '\n'));
		return;
	}
	check(k >= 9 && k <= 40 && !strcmp(w[0], "-d"));
	image = k == 9 || w[k - 2][0] != '-' || !strcmp(w[k - 2], "-d");
	for (int i = 1; i < k; i++) {
		check(w[i][0] != 0);
		if (!strcmp(w[i - 1], "--cdrom") || !strcmp(w[i - 1], "-v") ||
		    (!strcmp(w[i - 1], "--disk") && w[i][0] == '/'))
			check(w[i][0] == '/' && !strstr(w[i], "/./") && !strstr(w[i], "/../"));
	}
	/* a store or catalogue reference is never a path or a URL */
	if (image && strcmp(w[k - 2], "-v"))
		check(w[k - 1][0] != '/' && w[k - 1][0] != '.' && !strstr(w[k - 1], "://"));
}

/* The settings' JSON, a file's id, and the folder check. */
static void fuzz_folders(const char *s, size_t n)
{
	static struct ui_folders f;
	char err[256] = "", rel[UI_FILE_MAX];
	unsigned k;

	if (ui_settings_parse(s, n, &f, err, sizeof(err)) == 0) {
		check(f.n <= UI_MAX_FOLDERS);
		for (unsigned i = 0; i < f.n; i++)
			check(f.path[i][0] == '/' && !strpbrk(f.path[i], ",:"));
	} else {
		check(err[0] && !strchr(err, '\n'));
	}
	if (ui_file_id_parse(s, &k, rel) == 0) {
		check(k < UI_MAX_FOLDERS && rel[0] && rel[0] != '/' && strcmp(rel, "..") &&
		      strncmp(rel, "../", 3) && !strstr(rel, "/../") && !strstr(rel, "//"));
		n = strlen(rel);
		check(!(n >= 3 && !strcmp(rel + n - 3, "/..")));
	}
	if (s[0] == '/' && ui_path_under("/srv/isos", s))
		check(!strncmp(s, "/srv/isos", 9) && (s[9] == 0 || s[9] == '/'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, vm[64], action[16], v[UI_SECRET_HEX + 2], *w[24], err[256];
	static char store[(VMDEF_MAX_SHARES + 1) * UI_FILE_MAX];
	struct ui_vnc_target t;
	size_t n;

	if (size < 1 || size > 8192)
		return 0;
	n = size - 1;
	s = malloc(n + 1);
	if (!s)
		return 0;
	memcpy(s, data + 1, n);
	s[n] = 0;
	switch (data[0] % 7) {
	case 0:
		if (ui_cookie_get(s, UI_COOKIE, v, sizeof(v)))
			check(v[0] && strlen(v) < sizeof(v) && !strchr(v, ';'));
		break;
	case 1: {
		const char *host = s + strlen(s) + 1 <= s + n ? s + strlen(s) + 1 : "";

		if (ui_origin_ok(s, host, false))
			check(strlen(s) == strlen(host) + 7);
		if (ui_origin_ok(s, host, true))
			check(strlen(s) == strlen(host) + 8);
		check(ui_secret_eq(s, s) == (s[0] != 0));
		break;
	}
	case 2:
		if (ui_vm_path(s, vm, action) == 0) {
			check(vm[0] && vm[0] != '.' && vm[0] != '-' && strlen(vm) <= 63);
			for (size_t i = 0; vm[i]; i++)
				check(word_char(vm[i]));
			for (size_t i = 0; action[i]; i++)
				check(action[i] >= 'a' && action[i] <= 'z');
		}
		break;
	case 3:
		if (ui_file_path_ok(s))
			check(s[0] != '/' && s[0] != '.' && !strstr(s, "/.") && !strstr(s, "//"));
		break;
	case 4:
		fuzz_new_vm(s, n);
		if (ui_update_args(s, n, "web", "/r/web.sock", &root, w, 24, store, sizeof(store),
				   err, sizeof(err)) > 0)
			check(!strcmp(w[0], "--cpus") || !strcmp(w[0], "--memory") ||
			      !strcmp(w[0], "--disk-size") || !strcmp(w[0], "--display") ||
			      !strcmp(w[0], "--sound") || !strcmp(w[0], "-v") ||
			      !strcmp(w[0], "--no-shares"));
		break;
	case 5:
		fuzz_folders(s, n);
		break;
	default:
		if (ui_vnc_target(s, &t) == 0)
			check(t.path[0] == '/' || (t.port >= 1 && t.port <= 65535 && t.host[0]));
		break;
	}
	free(s);
	return 0;
}
