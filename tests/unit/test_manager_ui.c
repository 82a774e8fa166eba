/* The desktop app server's pure checks (src/manager/ui_req.c): the session cookie, the
 * constant-time comparison, Origin against Host, request paths, served file names, the new-VM
 * dialog's JSON as run's words, and where a VM's VNC display listens. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "manager/ui_files.h"
#include "manager/ui_req.h"

static void test_cookie(void **state)
{
	char v[16];

	(void)state;
	assert_true(ui_cookie_get("phyllome_ui=abc", "phyllome_ui", v, sizeof(v)));
	assert_string_equal(v, "abc");
	assert_true(ui_cookie_get("a=1; phyllome_ui=x2 ; b=3", "phyllome_ui", v, sizeof(v)));
	assert_string_equal(v, "x2");
	assert_false(ui_cookie_get("xphyllome_ui=abc", "phyllome_ui", v, sizeof(v)));
	assert_false(ui_cookie_get("phyllome_uix=abc", "phyllome_ui", v, sizeof(v)));
	assert_false(ui_cookie_get("phyllome_ui=", "phyllome_ui", v, sizeof(v)));
	assert_false(ui_cookie_get("phyllome_ui=0123456789abcdef", "phyllome_ui", v, sizeof(v)));
	assert_false(ui_cookie_get("", "phyllome_ui", v, sizeof(v)));
	assert_false(ui_cookie_get("a=1;;;", "phyllome_ui", v, sizeof(v)));
}

static void test_secret_eq(void **state)
{
	(void)state;
	assert_true(ui_secret_eq("abcd", "abcd"));
	assert_false(ui_secret_eq("abcd", "abce"));
	assert_false(ui_secret_eq("abcd", "abc"));
	assert_false(ui_secret_eq("", ""));
	assert_false(ui_secret_eq(NULL, "a"));
	assert_false(ui_secret_eq("a", NULL));
}

static void test_origin(void **state)
{
	(void)state;
	assert_true(ui_origin_ok("http://127.0.0.1:7380", "127.0.0.1:7380", false));
	assert_true(ui_origin_ok("HTTP://LOCALHOST:7380", "localhost:7380", false));
	assert_false(ui_origin_ok("http://evil.example", "127.0.0.1:7380", false));
	assert_false(ui_origin_ok("http://127.0.0.1:7381", "127.0.0.1:7380", false));
	assert_false(ui_origin_ok("https://127.0.0.1:7380", "127.0.0.1:7380", false));
	assert_false(ui_origin_ok("null", "127.0.0.1:7380", false));
	assert_false(ui_origin_ok(NULL, "127.0.0.1:7380", false));
	assert_false(ui_origin_ok("http://", "", false));
	assert_false(ui_origin_ok("http://a", NULL, false));
	/* served over HTTPS: only its https:// Origin */
	assert_true(ui_origin_ok("https://127.0.0.1:7380", "127.0.0.1:7380", true));
	assert_false(ui_origin_ok("http://127.0.0.1:7380", "127.0.0.1:7380", true));
	assert_false(ui_origin_ok("https://evil.example", "127.0.0.1:7380", true));
}

static void test_vm_path(void **state)
{
	char vm[64], action[16];

	(void)state;
	assert_int_equal(ui_vm_path("/api/vms/web/stop", vm, action), 0);
	assert_string_equal(vm, "web");
	assert_string_equal(action, "stop");
	assert_int_equal(ui_vm_path("/api/vms/0123abcd", vm, action), 0);
	assert_string_equal(vm, "0123abcd");
	assert_string_equal(action, "");
	assert_int_equal(ui_vm_path("/api/vms/../x", vm, action), -EINVAL);
	assert_int_equal(ui_vm_path("/api/vms/", vm, action), -EINVAL);
	assert_int_equal(ui_vm_path("/api/vms/web/", vm, action), -EINVAL);
	assert_int_equal(ui_vm_path("/api/vms/web/stop/now", vm, action), -EINVAL);
	assert_int_equal(ui_vm_path("/api/vms/-f/rm", vm, action), -EINVAL);
	assert_int_equal(ui_vm_path("/api/vms/w%20b/stop", vm, action), -EINVAL);
	assert_int_equal(ui_vm_path("/api/vm/web", vm, action), -EINVAL);
	assert_int_equal(ui_vm_path("/api/vms/web/averyveryverylongaction", vm, action), -EINVAL);
}

static void test_file_path(void **state)
{
	(void)state;
	assert_true(ui_file_path_ok("app.js"));
	assert_true(ui_file_path_ok("core/util/browser.js"));
	assert_false(ui_file_path_ok(""));
	assert_false(ui_file_path_ok("/etc/passwd"));
	assert_false(ui_file_path_ok("../x"));
	assert_false(ui_file_path_ok("a/../../x"));
	assert_false(ui_file_path_ok("a//b"));
	assert_false(ui_file_path_ok("a/"));
	assert_false(ui_file_path_ok(".hidden"));
	assert_false(ui_file_path_ok("a/b c"));
	assert_false(ui_file_path_ok("a?b"));
}

static int args(const char *json, char **w, char *err)
{
	static char store[1024];
	static const struct ui_folders none;

	return ui_new_vm_args(json, strlen(json), "/s/v.sock", &none, w, 20, store, sizeof(store),
			      err, 256);
}

static void test_new_vm(void **state)
{
	char *w[20], err[256] = "";
	int n;

	(void)state;
	n = args("{\"image\":\"debian:12\",\"name\":\"web\",\"cpus\":2,\"memory_mib\":1024,"
		 "\"display\":\"vnc\",\"net\":\"user\"}",
		 w, err);
	assert_int_equal(n, 12);
	assert_string_equal(w[0], "-d");
	assert_string_equal(w[2], "2");
	assert_string_equal(w[4], "1024M");
	assert_string_equal(w[6], "vnc=unix:/s/v.sock");
	assert_string_equal(w[8], "user");
	assert_string_equal(w[10], "web");
	assert_string_equal(w[11], "debian:12");
	n = args("{\"image\":\"debian:12\",\"disk_gib\":40}", w, err);
	assert_int_equal(n, 12);
	assert_string_equal(w[9], "--disk");
	assert_string_equal(w[10], "40G");
	assert_string_equal(w[11], "debian:12");
	n = args("{\"image\":\"alpine\"}", w, err);
	assert_int_equal(n, 10);
	assert_string_equal(w[2], "1");
	assert_string_equal(w[4], "512M");
	assert_string_equal(w[8], "none");
	assert_string_equal(w[9], "alpine");
	/* Never a path or a URL; values in the CLI's ranges; only known members' values. */
	static const char *const bad[] = {
	    "{\"image\":\"/etc/passwd\"}",
	    "{\"image\":\"https://x/y.iso\"}",
	    "{\"image\":\"../x\"}",
	    "{}",
	    "[]",
	    "{\"image\":\"a\",\"cpus\":0}",
	    "{\"image\":\"a\",\"cpus\":65}",
	    "{\"image\":\"a\",\"cpus\":\"2\"}",
	    "{\"image\":\"a\",\"memory_mib\":16}",
	    "{\"image\":\"a\",\"disk_gib\":0}",
	    "{\"image\":\"a\",\"disk_gib\":\"9\"}",
	    "{\"image\":\"a\",\"name\":\"-rm\"}",
	    "{\"image\":\"a\",\"name\":\"a b\"}",
	    "{\"image\":\"a\",\"name\":7}",
	    "{\"image\":\"a\",\"display\":\"window\"}",
	    "{\"image\":\"a\",\"net\":\"tap:eth0\"}",
	    "{\"image\":\"a\",\"image\":\"b\"}",
	    "{\"image\":\"a\"",
	    "{\"iso\":\"/etc/passwd\"}",
	    "{\"disk_file\":\"0:x.img\"}",
	    "{\"image\":\"a\",\"iso\":\"0:x.iso\"}",
	    "{\"image\":\"a\",\"share\":{\"folder\":0,\"guest\":\"/mnt\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(args(bad[i], w, err), -EINVAL);
		assert_true(err[0] != 0);
		assert_null(strchr(err, '\n'));
	}
}

static void test_update(void **state)
{
	static const struct ui_folders no_folders;
	char *w[12], store[256], err[256];
	static const char *const bad[] = {"{}",
					  "[]",
					  "{\"cpus\":0}",
					  "{\"memory_mib\":1}",
					  "{\"cpus\":\"2\"}",
					  "{\"cpus\":1,\"cpus\":2}",
					  "{\"display\":\"vnc=0.0.0.0:5900\"}",
					  "{\"display\":\"window\"}",
					  "{\"sound\":\"wav=/etc/passwd\"}",
					  "{\"disk_gib\":0}",
					  "{"};

	(void)state;
	assert_int_equal(ui_update_args("{\"cpus\":2,\"memory_mib\":1024}", 28, "web",
					"/r/web.sock", &no_folders, w, 8, store, sizeof(store), err,
					sizeof(err)),
			 5);
	assert_string_equal(w[0], "--cpus");
	assert_string_equal(w[1], "2");
	assert_string_equal(w[2], "--memory");
	assert_string_equal(w[3], "1024M");
	assert_string_equal(w[4], "web");
	assert_int_equal(ui_update_args("{\"memory_mib\":64}", 17, "web", "/r/web.sock",
					&no_folders, w, 8, store, sizeof(store), err, sizeof(err)),
			 3);
	assert_string_equal(w[1], "64M");
	{
		static const char j[] = "{\"disk_gib\":20,\"display\":\"vnc\",\"sound\":\"pulse\"}";

		assert_int_equal(ui_update_args(j, strlen(j), "web", "/r/web.sock", &no_folders, w,
						12, store, sizeof(store), err, sizeof(err)),
				 7);
		assert_string_equal(w[0], "--disk-size");
		assert_string_equal(w[1], "20G");
		assert_string_equal(w[2], "--display");
		assert_string_equal(w[3], "vnc=unix:/r/web.sock");
		assert_string_equal(w[4], "--sound");
		assert_string_equal(w[5], "pulse");
		assert_string_equal(w[6], "web");
	}
	{
		static const char j[] = "{\"display\":\"none\",\"sound\":\"none\"}";

		assert_int_equal(ui_update_args(j, strlen(j), "web", "/r/web.sock", &no_folders, w,
						12, store, sizeof(store), err, sizeof(err)),
				 5);
	}
	assert_string_equal(w[1], "none");
	assert_string_equal(w[3], "none");
	/* an empty list of shared folders removes them all; a folder not in the settings: refused
	 */
	assert_int_equal(ui_update_args("{\"shares\":[]}", 13, "web", "/r/web.sock", &no_folders, w,
					8, store, sizeof(store), err, sizeof(err)),
			 2);
	assert_string_equal(w[0], "--no-shares");
	assert_string_equal(w[1], "web");
	assert_int_equal(ui_update_args("{\"shares\":[{\"folder\":0,\"guest\":\"/m\"}]}", 38, "web",
					"/r/web.sock", &no_folders, w, 8, store, sizeof(store), err,
					sizeof(err)),
			 -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(ui_update_args(bad[i], strlen(bad[i]), "web", "/r/web.sock",
						&no_folders, w, 8, store, sizeof(store), err,
						sizeof(err)),
				 -EINVAL);
		assert_true(err[0] != 0);
	}
}

static void test_vnc_target(void **state)
{
	struct ui_vnc_target t;

	(void)state;
	assert_int_equal(ui_vnc_target("vnc=unix:/run/v.sock,password=/p", &t), 0);
	assert_string_equal(t.path, "/run/v.sock");
	assert_int_equal(ui_vnc_target("vnc=127.0.0.1:5900", &t), 0);
	assert_string_equal(t.host, "127.0.0.1");
	assert_int_equal(t.port, 5900);
	assert_int_equal(ui_vnc_target("vnc=0.0.0.0:5901,web=on", &t), 0);
	assert_string_equal(t.host, "127.0.0.1");
	assert_int_equal(t.port, 5901);
	assert_int_equal(ui_vnc_target("vnc=[::1]:5902", &t), 0);
	assert_string_equal(t.host, "::1");
	assert_int_equal(ui_vnc_target("none", &t), -ENOENT);
	assert_int_equal(ui_vnc_target("", &t), -ENOENT);
	assert_int_equal(ui_vnc_target("window", &t), -ENOENT);
	assert_int_equal(ui_vnc_target("vnc=unix:rel", &t), -EINVAL);
	assert_int_equal(ui_vnc_target("vnc=host", &t), -EINVAL);
	assert_int_equal(ui_vnc_target("vnc=h:0", &t), -EINVAL);
	assert_int_equal(ui_vnc_target("vnc=h:65536", &t), -EINVAL);
	assert_int_equal(ui_vnc_target("vnc=:5900", &t), -EINVAL);
	assert_int_equal(ui_vnc_target("vnc=[]:7", &t), -EINVAL);
	assert_int_equal(ui_vnc_target("vnc=h:59x", &t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cookie),     cmocka_unit_test(test_secret_eq),
	    cmocka_unit_test(test_origin),     cmocka_unit_test(test_vm_path),
	    cmocka_unit_test(test_file_path),  cmocka_unit_test(test_new_vm),
	    cmocka_unit_test(test_vnc_target), cmocka_unit_test(test_update),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
