/* The desktop app's folders (docs/ui.md "Settings"): the folders the user lists in the app's
 * settings (STATE/ui-settings.json, 0600), the ISOs and disk images found under them, and the
 * one way the page names such a file: an id "N:REL" (the Nth folder, a path relative to it)
 * that the server resolves, refusing anything that lands outside the folders. The page never
 * sends a path of its own. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define UI_MAX_FOLDERS 16
#define UI_FOLDER_MAX  1024 /* a folder's path, with its NUL */
#define UI_FILE_MAX    2048 /* a file's id or resolved path, with its NUL */

struct ui_folders {
	unsigned n;
	char path[UI_MAX_FOLDERS][UI_FOLDER_MAX];
};

/* What a file is for: an ISO (*.iso: the CD) or a disk image (*.img, *.raw, *.qcow2). */
enum ui_file_kind { UI_FILE_ISO, UI_FILE_DISK };

/* The settings' JSON, {"folders": ["/abs/dir", ...]}, into f: at most UI_MAX_FOLDERS distinct
 * absolute paths without ',' or ':' (the CLI's --disk and -v syntax), shorter than
 * UI_FOLDER_MAX. Pure. 0, or -EINVAL with err set to one line. */
int ui_settings_parse(const char *json, size_t len, struct ui_folders *f, char *err, size_t errlen);
/* f as that JSON (malloc'd; NULL when out of memory). */
char *ui_settings_dump(const struct ui_folders *f);
/* ROOT/ui-settings.json into f (none there: no folders). 0 or -1 with err set. */
int ui_settings_load(const char *root, struct ui_folders *f, char *err, size_t errlen);
/* Checks f (each folder exists and is a folder: its real path is kept) and writes it to
 * ROOT/ui-settings.json (0600, replaced atomically). 0 or -1 with err set to one line. */
int ui_settings_save(const char *root, struct ui_folders *f, char *err, size_t errlen);

/* path is dir itself or below it ("/a/b" is under "/a", "/ab" is not). Pure. */
bool ui_path_under(const char *dir, const char *path);
/* The file's kind from its name's ending (case-insensitive); -1 for any other name. Pure. */
int ui_file_kind_of(const char *name);
/* An id "N:REL" -> the folder's index and REL: N a decimal below UI_MAX_FOLDERS, REL relative
 * (no leading '/', no empty, "." or ".." component, no control character). Pure. 0 or -EINVAL. */
int ui_file_id_parse(const char *id, unsigned *folder, char rel[UI_FILE_MAX]);
/* The real path of the file id names, of that kind, in f's folders: the id parsed, the path's
 * symbolic links resolved, and the result under the folder's real path, a regular file.
 * 0, or -EINVAL with err set to one line (a name other than an id gets the same refusal). */
int ui_file_resolve(const struct ui_folders *f, const char *id, enum ui_file_kind kind, char *out,
		    size_t outlen, char *err, size_t errlen);
/* The real path of f's folder number idx (a folder still). 0 or -EINVAL with err set. */
int ui_folder_resolve(const struct ui_folders *f, long long idx, char *out, size_t outlen,
		      char *err, size_t errlen);
/* Appends to a the ISOs and disk images under f's folders (at most a few levels down, not into
 * hidden folders nor through a symbolic link to a folder; a link to a file only when it stays in
 * its folder): {"id", "name" (the path in its folder), "folder", "kind" ("iso"|"disk"),
 * "size"}. */
void ui_files_list(const struct ui_folders *f, json_t *a);
