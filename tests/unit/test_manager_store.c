/* The manager's state folder and processes: atomic files, listing and resolving VMs by name,
 * id and id prefix, the lock, cleaning up after a VMM that died, and the supervisor end to end
 * with a stand-in VMM (a shell script): serial output to the log and to a console client,
 * typed input back, the exit status recorded, the sockets removed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "manager/store.h"
#include "manager/supervise.h"

static char root[256];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/phyllome-test-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	setenv("PHYLLOME_STATE", root, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* A VM in the store, as create would leave it. */
static void add_vm(struct store *s, const char *id, const char *name, int64_t created,
		   struct vm_entry *e)
{
	memset(e, 0, sizeof(*e));
	vmdef_init(&e->def);
	strcpy(e->def.id, id);
	strcpy(e->def.name, name);
	strcpy(e->def.kernel, "/boot/vmlinuz");
	e->def.created = created;
	vmstate_init(&e->st);
	assert_int_equal(store_path(s, id, NULL, e->dir, sizeof(e->dir)), 0);
	assert_int_equal(mkdir(e->dir, 0700), 0);
	assert_int_equal(store_save_def(e), 0);
	assert_int_equal(store_save_state(e), 0);
}

static void test_files(void **state)
{
	struct store s;
	char err[256], path[512], *data;
	size_t n;
	struct stat st;

	(void)state;
	assert_int_equal(store_open(&s, err, sizeof(err)), 0);
	assert_string_equal(s.root, root);
	snprintf(path, sizeof(path), "%s/vms", root);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(store_write_file(root, "f.json", "{\"a\":1}"), 0);
	snprintf(path, sizeof(path), "%s/f.json", root);
	assert_int_equal(store_read_file(path, &data, &n), 0);
	assert_int_equal(n, 7);
	assert_string_equal(data, "{\"a\":1}");
	free(data);
	/* no temporary file left behind */
	snprintf(path, sizeof(path), "%s/.f.json.tmp", root);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/nothing", root);
	assert_int_equal(store_read_file(path, &data, &n), -ENOENT);
	store_close(&s);
}

static void test_resolve(void **state)
{
	struct store s;
	struct vm_entry *e = malloc(sizeof(*e)), *all;
	char err[256], id[32];
	size_t n;

	(void)state;
	assert_int_equal(store_open(&s, err, sizeof(err)), 0);
	add_vm(&s, "aaaa000000000001", "web", 100, e);
	add_vm(&s, "aaaa000000000002", "db", 300, e);
	add_vm(&s, "bbbb000000000003", "cache", 200, e);
	/* something that is not a VM is skipped */
	{
		char other[400];

		snprintf(other, sizeof(other), "%s/vms/not-a-vm", root);
		mkdir(other, 0700);
	}

	assert_int_equal(store_list(&s, &all, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(all[0].def.name, "db"); /* newest first */
	assert_string_equal(all[1].def.name, "cache");
	assert_string_equal(all[2].def.name, "web");
	free(all);

	assert_int_equal(store_resolve(&s, "web", e, err, sizeof(err)), 0);
	assert_string_equal(e->def.id, "aaaa000000000001");
	assert_int_equal(store_resolve(&s, "bbbb", e, err, sizeof(err)), 0);
	assert_string_equal(e->def.name, "cache");
	assert_int_equal(store_resolve(&s, "aaaa000000000002", e, err, sizeof(err)), 0);
	assert_string_equal(e->def.name, "db");
	assert_int_equal(store_resolve(&s, "aaaa", e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "matches 2 VMs"));
	assert_int_equal(store_resolve(&s, "nosuch", e, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no such VM: nosuch");
	assert_true(store_name_taken(&s, "db", id));
	assert_string_equal(id, "aaaa000000000002");
	assert_false(store_name_taken(&s, "dbx", NULL));

	/* A broken config is reported, not trusted. */
	assert_int_equal(store_write_file(e->dir, "config.json", "{\"id\":"), 0);
	assert_int_equal(store_load(&s, "aaaa000000000002", e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "malformed JSON"));

	assert_int_equal(store_resolve(&s, "web", e, err, sizeof(err)), 0);
	assert_int_equal(store_remove(&s, e), 0);
	assert_int_equal(access(e->dir, F_OK), -1);
	assert_int_equal(store_resolve(&s, "web", e, err, sizeof(err)), -ENOENT);
	store_close(&s);
	free(e);
}

static int try_lock(int how)
{
	char path[300];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/lock", root);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	rc = flock(fd, how | LOCK_NB);
	close(fd);
	return rc;
}

static void test_lock(void **state)
{
	struct store s;
	char err[256];

	(void)state;
	assert_int_equal(store_open(&s, err, sizeof(err)), 0);
	assert_int_equal(try_lock(LOCK_EX), 0);
	assert_int_equal(store_lock(&s, true), 0);
	assert_int_equal(try_lock(LOCK_SH), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	/* nested: still held after the inner unlock */
	assert_int_equal(store_lock(&s, true), 0);
	store_unlock(&s);
	assert_int_equal(try_lock(LOCK_EX), -1);
	store_unlock(&s);
	assert_int_equal(try_lock(LOCK_EX), 0);
	/* readers share */
	assert_int_equal(store_lock(&s, false), 0);
	assert_int_equal(try_lock(LOCK_SH), 0);
	assert_int_equal(try_lock(LOCK_EX), -1);
	store_unlock(&s);
	store_close(&s);
}

static void test_refresh(void **state)
{
	struct store s;
	struct vm_entry *e = malloc(sizeof(*e));
	char err[256], sock[1200];
	pid_t dead = fork();

	(void)state;
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	assert_int_equal(store_open(&s, err, sizeof(err)), 0);
	add_vm(&s, "cccc000000000004", "gone", 1, e);
	/* alive: this process, with its start time */
	strcpy(e->st.status, "running");
	e->st.vmm_pid = getpid();
	e->st.vmm_start = mgr_proc_start(getpid());
	assert_true(e->st.vmm_start > 0);
	assert_int_equal(store_save_state(e), 0);
	assert_false(store_refresh(&s, e));
	assert_string_equal(e->st.status, "running");
	/* a pid reused by another process (another start time) counts as gone */
	e->st.vmm_start += 1;
	assert_int_equal(store_save_state(e), 0);
	snprintf(sock, sizeof(sock), "%s/api.sock", e->dir);
	close(open(sock, O_CREAT | O_WRONLY, 0600));
	assert_true(store_refresh(&s, e));
	assert_string_equal(e->st.status, "exited");
	assert_false(e->st.has_exit);
	assert_int_equal(e->st.exit_code, -1);
	assert_int_equal(access(sock, F_OK), -1);
	/* and so does a dead pid, read back from the files */
	strcpy(e->st.status, "running");
	e->st.vmm_pid = dead;
	e->st.vmm_start = 0;
	assert_int_equal(store_save_state(e), 0);
	assert_true(store_refresh(&s, e));
	assert_int_equal(store_load(&s, "cccc000000000004", e, err, sizeof(err)), 0);
	assert_string_equal(e->st.status, "exited");
	store_close(&s);
	free(e);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= (int)sizeof(sa.sun_path))
		return -1;
	for (int i = 0; i < 100; i++) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		usleep(20000);
	}
	close(fd);
	return -1;
}

/* Reads from fd until buf holds want (5 s at most). */
static bool read_until(int fd, char *buf, size_t len, const char *want)
{
	size_t n = strlen(buf);

	for (int i = 0; i < 100 && !strstr(buf, want); i++) {
		ssize_t r = recv(fd, buf + n, len - n - 1, MSG_DONTWAIT);

		if (r > 0) {
			n += (size_t)r;
			buf[n] = 0;
		} else {
			usleep(50000);
		}
	}
	return strstr(buf, want) != NULL;
}

static void test_supervisor(void **state)
{
	struct store s;
	struct vm_entry *e = malloc(sizeof(*e));
	char err[512], path[1200], script[300], buf[4096] = "", *log;
	size_t n;
	int fd;
	FILE *f;

	(void)state;
	/* The stand-in VMM: serial output on stdout, input on stdin, exit status 3. */
	snprintf(script, sizeof(script), "%s/fake-vmm", root);
	f = fopen(script, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\necho HELLO\nread line\necho \"GOT $line\"\necho oops >&2\nexit 3\n", f);
	fclose(f);
	chmod(script, 0755);
	setenv("PHYLLOME_VMM", script, 1);

	assert_int_equal(store_open(&s, err, sizeof(err)), 0);
	add_vm(&s, "dddd000000000005", "fake", 1, e);
	assert_int_equal(store_lock(&s, true), 0);
	/* Jailed by default: without phyllome-jail, one line that says how to opt out. */
	setenv("PHYLLOME_JAIL", "/nonexistent/phyllome-jail", 1);
	assert_int_equal(sup_start(&s, e, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "phyllome update --no-jail fake"));
	assert_null(strchr(err, '\n'));
	/* A shell script cannot be jailed (the jail runs an ELF program with its libraries). */
	setenv("PHYLLOME_JAIL", "off", 1);
	assert_int_equal(sup_start(&s, e, err, sizeof(err)), 0);
	store_unlock(&s);
	assert_string_equal(e->st.status, "running");
	assert_true(e->st.vmm_pid > 0);
	assert_true(e->st.sup_pid > 0 && e->st.sup_pid != getpid());

	snprintf(path, sizeof(path), "%s/console.sock", e->dir);
	fd = connect_to(path);
	assert_true(fd >= 0);
	/* HELLO may have gone out before we attached: it is in the log in any case */
	assert_int_equal(send(fd, "ping\n", 5, 0), 5);
	assert_true(read_until(fd, buf, sizeof(buf), "GOT ping"));
	/* the supervisor closes the console when the VMM has ended */
	for (int i = 0; i < 100 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) != 0; i++)
		usleep(50000);
	close(fd);

	for (int i = 0; i < 100; i++) {
		assert_int_equal(store_load(&s, "dddd000000000005", e, err, sizeof(err)), 0);
		if (!strcmp(e->st.status, "exited"))
			break;
		usleep(50000);
	}
	assert_string_equal(e->st.status, "exited");
	assert_true(e->st.has_exit);
	assert_int_equal(e->st.exit_code, 3);
	assert_int_equal(e->st.vmm_pid, 0);
	assert_int_equal(access(path, F_OK), -1);

	snprintf(path, sizeof(path), "%s/serial.log", e->dir);
	assert_int_equal(store_read_file(path, &log, &n), 0);
	assert_non_null(strstr(log, "HELLO\n"));
	assert_non_null(strstr(log, "GOT ping\n"));
	free(log);
	snprintf(path, sizeof(path), "%s/vmm.log", e->dir);
	assert_int_equal(store_read_file(path, &log, &n), 0);
	assert_non_null(strstr(log, "oops"));
	assert_non_null(strstr(log, "ended (status 3)"));
	free(log);

	/* a VMM that cannot be run: status 127 is recorded */
	setenv("PHYLLOME_VMM", "/nonexistent/phyllome-vmm", 1);
	assert_int_equal(store_lock(&s, true), 0);
	assert_int_equal(sup_start(&s, e, err, sizeof(err)), -ENOENT);
	store_unlock(&s);
	assert_non_null(strstr(err, "PHYLLOME_VMM"));
	unsetenv("PHYLLOME_VMM");
	store_close(&s);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_supervisor, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
