/* The desktop app's folders (src/manager/ui_files.c): the settings' JSON, the path checks, the
 * file ids the page sends resolved only inside the folders (symbolic links that leave a folder
 * refused), the listing, and the new-VM dialog's ISO, disk image and shared folder as run's
 * words. Works in a temporary folder. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "manager/ui_files.h"
#include "manager/ui_req.h"
#include "manager/vmdef.h"

static char tmp[256];

static void touch(const char *rel)
{
	char p[PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("x", f);
	fclose(f);
}

static void at(const char *rel, char *out)
{
	snprintf(out, PATH_MAX, "%s/%s", tmp, rel);
}

static int setup(void **state)
{
	char p[PATH_MAX], q[PATH_MAX];

	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/phyllome-uifiles.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	at("isos", p);
	mkdir(p, 0700);
	at("isos/sub", p);
	mkdir(p, 0700);
	at("isos/.hidden", p);
	mkdir(p, 0700);
	at("outside", p);
	mkdir(p, 0700);
	touch("isos/debian 12.iso");
	touch("isos/sub/disk.qcow2");
	touch("isos/notes.txt");
	touch("isos/.hidden/secret.iso");
	touch("outside/escape.iso");
	touch("isos/inner.img");
	at("outside/escape.iso", p);
	at("isos/link-out.iso", q);
	assert_int_equal(symlink(p, q), 0); /* a link leaving the folder */
	at("isos/inner.img", p);
	at("isos/link-in.img", q);
	assert_int_equal(symlink(p, q), 0); /* a link staying in it */
	at("outside", p);
	at("isos/dir-out", q);
	assert_int_equal(symlink(p, q), 0); /* a link to a folder outside */
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void folders(struct ui_folders *f)
{
	memset(f, 0, sizeof(*f));
	f->n = 1;
	at("isos", f->path[0]);
}

static void test_pure(void **state)
{
	char rel[UI_FILE_MAX];
	unsigned k;

	(void)state;
	assert_true(ui_path_under("/a", "/a"));
	assert_true(ui_path_under("/a", "/a/b"));
	assert_true(ui_path_under("/", "/etc"));
	assert_false(ui_path_under("/a", "/ab"));
	assert_false(ui_path_under("/a/b", "/a"));
	assert_int_equal(ui_file_kind_of("x.ISO"), UI_FILE_ISO);
	assert_int_equal(ui_file_kind_of("x.qcow2"), UI_FILE_DISK);
	assert_int_equal(ui_file_kind_of("x.raw"), UI_FILE_DISK);
	assert_int_equal(ui_file_kind_of(".iso"), -1);
	assert_int_equal(ui_file_kind_of("x.iso.txt"), -1);
	assert_int_equal(ui_file_id_parse("3:a/b c.iso", &k, rel), 0);
	assert_int_equal(k, 3);
	assert_string_equal(rel, "a/b c.iso");
	static const char *const bad[] = {"/etc/passwd", "0:/etc/passwd",
					  "0:../x.iso",	 "0:a/../../x.iso",
					  "0:a//b.iso",	 "0:./x.iso",
					  "16:x.iso",	 "01:x.iso",
					  ":x.iso",	 "0:",
					  "0x.iso",	 "0:a/\n.iso",
					  "-1:x.iso",	 "99999999999999999999:x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ui_file_id_parse(bad[i], &k, rel), -EINVAL);
}

static void test_settings(void **state)
{
	struct ui_folders f;
	char err[512], p[PATH_MAX], *s;
	struct stat st;
	static const char two[] = "{\"folders\":[\"/a\",\"/b c\"]}";

	(void)state;
	assert_int_equal(ui_settings_parse(two, strlen(two), &f, err, sizeof(err)), 0);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.path[1], "/b c");
	static const char *const bad[] = {"{\"folders\":[\"rel\"]}",
					  "{\"folders\":[\"/a,b\"]}",
					  "{\"folders\":[\"/a:b\"]}",
					  "{\"folders\":[\"/a\",\"/a\"]}",
					  "{\"folders\":\"/a\"}",
					  "{\"folders\":[7]}",
					  "[]",
					  "{\"folders\":[\"\"]}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(ui_settings_parse(bad[i], strlen(bad[i]), &f, err, sizeof(err)),
				 -EINVAL);
		assert_true(err[0] && !strchr(err, '\n'));
	}
	/* Saved 0600 with the real paths; a missing folder or a file is refused. */
	memset(&f, 0, sizeof(f));
	f.n = 1;
	snprintf(f.path[0], UI_FOLDER_MAX, "%s/isos/sub/..", tmp);
	assert_int_equal(ui_settings_save(tmp, &f, err, sizeof(err)), 0);
	at("ui-settings.json", p);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	memset(&f, 0, sizeof(f));
	assert_int_equal(ui_settings_load(tmp, &f, err, sizeof(err)), 0);
	at("isos", p);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.path[0], p);
	s = ui_settings_dump(&f);
	assert_non_null(strstr(s, "isos"));
	free(s);
	at("nope", f.path[0]);
	assert_int_equal(ui_settings_save(tmp, &f, err, sizeof(err)), -1);
	at("isos/notes.txt", f.path[0]);
	assert_int_equal(ui_settings_save(tmp, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a folder"));
}

static void test_resolve(void **state)
{
	struct ui_folders f;
	char out[UI_FILE_MAX], err[256], p[PATH_MAX];

	(void)state;
	folders(&f);
	assert_int_equal(
	    ui_file_resolve(&f, "0:debian 12.iso", UI_FILE_ISO, out, sizeof(out), err, sizeof(err)),
	    0);
	at("isos/debian 12.iso", p);
	assert_string_equal(out, p);
	assert_int_equal(ui_file_resolve(&f, "0:sub/disk.qcow2", UI_FILE_DISK, out, sizeof(out),
					 err, sizeof(err)),
			 0);
	assert_int_equal(
	    ui_file_resolve(&f, "0:link-in.img", UI_FILE_DISK, out, sizeof(out), err, sizeof(err)),
	    0);
	at("isos/inner.img", p);
	assert_string_equal(out, p);
	/* Outside the folder, by any road: refused with one line. */
	static const char *const bad[] = {
	    "0:link-out.iso",  "0:dir-out/escape.iso", "0:../outside/escape.iso",
	    "1:debian 12.iso", "0:nope.iso",	       "/etc/passwd",
	    "0:sub",	       "0:notes.txt"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(
		    ui_file_resolve(&f, bad[i], UI_FILE_ISO, out, sizeof(out), err, sizeof(err)),
		    -EINVAL);
		assert_true(err[0] && !strchr(err, '\n'));
	}
	/* The kind must match. */
	assert_int_equal(ui_file_resolve(&f, "0:debian 12.iso", UI_FILE_DISK, out, sizeof(out), err,
					 sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a disk image"));
	assert_int_equal(ui_folder_resolve(&f, 0, out, sizeof(out), err, sizeof(err)), 0);
	assert_int_equal(ui_folder_resolve(&f, 1, out, sizeof(out), err, sizeof(err)), -EINVAL);
	assert_int_equal(ui_folder_resolve(&f, -1, out, sizeof(out), err, sizeof(err)), -EINVAL);
}

static void test_list(void **state)
{
	struct ui_folders f;
	json_t *a = json_array(), *v;
	size_t i;
	char *all;

	(void)state;
	folders(&f);
	ui_files_list(&f, a);
	all = json_dumps(a, JSON_COMPACT);
	assert_int_equal(json_array_size(a), 4); /* debian 12.iso, sub/disk.qcow2, inner, link-in */
	assert_non_null(strstr(all, "\"id\":\"0:debian 12.iso\""));
	assert_non_null(strstr(all, "\"id\":\"0:sub/disk.qcow2\""));
	assert_non_null(strstr(all, "\"id\":\"0:link-in.img\""));
	assert_null(strstr(all, "escape"));
	assert_null(strstr(all, "link-out"));
	assert_null(strstr(all, "secret"));
	assert_null(strstr(all, "notes"));
	json_array_foreach(a, i, v)
	{
		struct ui_folders g = f;
		char out[UI_FILE_MAX], err[256];
		const char *kind = json_string_value(json_object_get(v, "kind"));

		/* every id listed resolves */
		assert_int_equal(ui_file_resolve(&g, json_string_value(json_object_get(v, "id")),
						 !strcmp(kind, "iso") ? UI_FILE_ISO : UI_FILE_DISK,
						 out, sizeof(out), err, sizeof(err)),
				 0);
	}
	free(all);
	json_decref(a);
}

static void test_new_vm_files(void **state)
{
	struct ui_folders f;
	char *w[40], store[(VMDEF_MAX_SHARES + 2) * UI_FILE_MAX], err[256] = "", p[PATH_MAX];
	int n;

	(void)state;
	folders(&f);
#define ARGS(j) ui_new_vm_args(j, strlen(j), "/s/v.sock", &f, w, 39, store, sizeof(store), err, 256)
	n = ARGS(
	    "{\"iso\":\"0:debian 12.iso\",\"os\":\"linux\",\"shares\":[{\"folder\":0,"
	    "\"guest\":\"/mnt/host\",\"readonly\":true},{\"folder\":0,\"guest\":\"/srv/b\"}]}");
	assert_int_equal(n, 19);
	assert_string_equal(w[9], "--os");
	assert_string_equal(w[10], "linux");
	assert_string_equal(w[11], "--cdrom");
	at("isos/debian 12.iso", p);
	assert_string_equal(w[12], p);
	assert_string_equal(w[13], "--disk");
	assert_string_equal(w[14], "20G");
	assert_string_equal(w[15], "-v");
	at("isos", p);
	strcat(p, ":/mnt/host:ro");
	assert_string_equal(w[16], p);
	assert_string_equal(w[17], "-v");
	at("isos", p);
	strcat(p, ":/srv/b");
	assert_string_equal(w[18], p);
	n = ARGS("{\"iso\":\"0:debian 12.iso\",\"disk_gib\":8,\"os\":\"windows\"}");
	assert_int_equal(n, 15);
	assert_string_equal(w[10], "8G");
	assert_string_equal(w[12], "windows");
	n = ARGS("{\"disk_file\":\"0:sub/disk.qcow2\"}");
	assert_int_equal(n, 13);
	assert_string_equal(w[11], "--disk");
	at("isos/sub/disk.qcow2", p);
	assert_string_equal(w[12], p);
	n = ARGS("{\"image\":\"debian:12\",\"shares\":[{\"folder\":0,\"guest\":\"/srv\"}]}");
	assert_int_equal(n, 12);
	at("isos", p);
	strcat(p, ":/srv");
	assert_string_equal(w[10], p);
	assert_string_equal(w[11], "debian:12");
	static const char *const bad[] = {
	    "{\"iso\":\"0:link-out.iso\"}",
	    "{\"iso\":\"/etc/passwd\"}",
	    "{\"iso\":\"0:../outside/escape.iso\"}",
	    "{\"disk_file\":\"0:debian 12.iso\"}",
	    "{\"iso\":\"0:debian 12.iso\",\"disk_file\":\"0:inner.img\"}",
	    "{\"disk_file\":\"0:inner.img\",\"disk_gib\":3}",
	    "{\"iso\":\"0:debian 12.iso\",\"os\":\"plan9\"}",
	    "{\"iso\":\"\"}",
	    "{\"image\":\"a\",\"shares\":[{\"folder\":1,\"guest\":\"/mnt\"}]}",
	    "{\"image\":\"a\",\"shares\":[{\"folder\":\"/etc\",\"guest\":\"/mnt\"}]}",
	    "{\"image\":\"a\",\"shares\":[{\"folder\":0,\"guest\":\"/\"}]}",
	    "{\"image\":\"a\",\"shares\":[{\"folder\":0,\"guest\":\"/a/../b\"}]}",
	    "{\"image\":\"a\",\"shares\":[{\"folder\":0,\"guest\":\"/m\",\"readonly\":1}]}",
	    "{\"image\":\"a\",\"shares\":[{\"folder\":0,\"guest\":\"/m\"},\"/etc:/mnt\"]}",
	    "{\"image\":\"a\",\"shares\":{\"folder\":0,\"guest\":\"/m\"}}",
	    "{\"image\":\"a\",\"share\":{\"folder\":0,\"guest\":\"/m\"}}",
	    "{\"image\":\"a\",\"shares\":\"/etc:/mnt\"}",
	    "{\"image\":\"a\",\"shares\":[{\"folder\":0,\"guest\":\"/"
	    "a\"},{\"folder\":0,\"guest\":\"/b\"},"
	    "{\"folder\":0,\"guest\":\"/c\"},{\"folder\":0,\"guest\":\"/"
	    "d\"},{\"folder\":0,\"guest\":\"/e\"}]}",
	    "{\"image\":\"a\",\"os\":\"linux\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(ARGS(bad[i]), -EINVAL);
		assert_true(err[0] && !strchr(err, '\n'));
	}
#undef ARGS
	/* Edit: the VM's shared folders become the list's */
	static const char upd[] = "{\"shares\":[{\"folder\":0,\"guest\":\"/m\",\"readonly\":true},"
				  "{\"folder\":0,\"guest\":\"/n\"}]}";
	n = ui_update_args(upd, strlen(upd), "web", "/s/v.sock", &f, w, 39, store, sizeof(store),
			   err, 256);
	assert_int_equal(n, 5);
	assert_string_equal(w[0], "-v");
	at("isos", p);
	strcat(p, ":/m:ro");
	assert_string_equal(w[1], p);
	assert_string_equal(w[2], "-v");
	assert_string_equal(w[4], "web");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pure),	 cmocka_unit_test(test_settings),
	    cmocka_unit_test(test_resolve),	 cmocka_unit_test(test_list),
	    cmocka_unit_test(test_new_vm_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
