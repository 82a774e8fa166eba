/* What a hostile guest (or a host racing it) could try against the shared folder's file server:
 * "..", absolute symbolic links, a link to /proc/self/root, a folder swapped for a link while the
 * guest holds it, hard links to files outside, device nodes and FIFOs. After each, the folder
 * beside the shared one ("outside") must be as it was. And the server as the VMM runs it: a
 * process of its own, sandboxed, behind its seccomp filter. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "backends/fs_int.h"
#include "filters.h"
#include "fs_harness.h"

static int setup(void **state)
{
	struct fsh *h = malloc(sizeof(*h));

	fsh_setup(h, false);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct fsh *h = *state;
	char buf[16];
	struct stat st;
	char path[160];

	/* Whatever the test tried, outside/secret is untouched and alone. */
	assert_string_equal(fsh_get(h, "outside/secret", buf, sizeof(buf)), "secret");
	snprintf(path, sizeof(path), "%s/secret", h->outside);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	fsh_teardown(h);
	free(h);
	return 0;
}

static void host_symlink(const struct fsh *h, const char *target, const char *rel)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", h->base, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* ".." is refused by the parser, and beneath the root by the kernel too. */
static void test_dotdot(void **state)
{
	struct fsh *h = *state;
	int err;

	fsh_lookup(h, FUSE_ROOT_ID, "..", &err);
	assert_int_equal(err, -EINVAL);
	assert_int_equal(fs_openat_beneath(h->srv->root_fd, "..", O_PATH, 0), -EXDEV);
	assert_int_equal(fs_openat_beneath(h->srv->root_fd, "../outside/secret", O_RDONLY, 0),
			 -EXDEV);
}

/* An absolute link to a file outside: the guest may read the link, never open through it, and
 * a CREATE (even with O_TRUNC) on its name opens nothing. */
static void test_absolute_symlink(void **state)
{
	struct fsh *h = *state;
	char target[160];
	uint64_t n, fh;
	int err;

	snprintf(target, sizeof(target), "%s/secret", h->outside);
	host_symlink(h, target, "share/abs");
	n = fsh_lookup(h, FUSE_ROOT_ID, "abs", &err);
	assert_int_equal(err, 0);
	fsh_open(h, n, O_RDWR, false, &err);
	assert_int_equal(err, -ELOOP);
	fsh_create(h, FUSE_ROOT_ID, "abs", O_WRONLY | O_TRUNC, &fh, &err);
	assert_int_equal(err, -ELOOP);
	{
		struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 0};
		struct fsh_part p = FSH_ARG(sa);

		assert_int_equal(fsh_call(h, FUSE_SETATTR, n, &p, 1), -ELOOP);
	}
	/* Times and modes set on the link never reach the file it names. */
	{
		struct fuse_setattr_in sa = {.valid = FATTR_MTIME | FATTR_ATIME, .mtime = 1000};
		struct fsh_part p = FSH_ARG(sa);
		struct stat st, was;

		assert_int_equal(stat(target, &was), 0);
		fsh_call(h, FUSE_SETATTR, n, &p, 1);
		assert_int_equal(stat(target, &st), 0);
		assert_true(st.st_mtime > 1000);
		sa.valid = FATTR_MODE;
		sa.mode = 0777;
		assert_int_equal(fsh_call(h, FUSE_SETATTR, n, &p, 1), -EOPNOTSUPP);
		assert_int_equal(stat(target, &st), 0);
		assert_int_equal(st.st_mode, was.st_mode);
	}
	/* Not a folder to look into either. */
	fsh_lookup(h, n, "x", &err);
	assert_int_equal(err, -ENOTDIR);
}

static void test_proc_self_root(void **state)
{
	struct fsh *h = *state;
	uint64_t n;
	int err;

	host_symlink(h, "/proc/self/root", "share/p");
	host_symlink(h, "../outside", "share/up");
	n = fsh_lookup(h, FUSE_ROOT_ID, "p", &err);
	assert_int_equal(err, 0);
	fsh_lookup(h, n, "etc", &err);
	assert_int_equal(err, -ENOTDIR);
	fsh_open(h, n, O_RDONLY, true, &err);
	assert_true(err == -ENOTDIR || err == -ELOOP);
	n = fsh_lookup(h, FUSE_ROOT_ID, "up", &err);
	fsh_lookup(h, n, "secret", &err);
	assert_int_equal(err, -ENOTDIR);
}

/* The guest holds folder d; the host renames it and puts a link to outside in its place. The
 * guest's node still is the old folder, and the new name is a link it cannot walk through. */
static void test_swapped_during_walk(void **state)
{
	struct fsh *h = *state;
	char a[256], b[160];
	uint64_t d, fh, n;
	int err;

	snprintf(a, sizeof(a), "%s/d", h->share);
	snprintf(b, sizeof(b), "%s/d.old", h->share);
	assert_int_equal(mkdir(a, 0755), 0);
	d = fsh_lookup(h, FUSE_ROOT_ID, "d", NULL);
	assert_int_equal(rename(a, b), 0);
	host_symlink(h, h->outside, "share/d");
	fsh_lookup(h, d, "secret", &err);
	assert_int_equal(err, -ENOENT);
	n = fsh_create(h, d, "new", O_WRONLY, &fh, &err);
	assert_int_equal(err, 0);
	assert_true(n > 1);
	snprintf(a, sizeof(a), "%s/new", b);
	assert_int_equal(access(a, F_OK), 0);
	n = fsh_lookup(h, FUSE_ROOT_ID, "d", NULL);
	fsh_lookup(h, n, "secret", &err);
	assert_int_equal(err, -ENOTDIR);
}

/* LINK takes a node the server found beneath the folder: a link to the outside link makes a
 * second name for the link, never for the file outside; unknown nodes are refused. */
static void test_hard_links(void **state)
{
	struct fsh *h = *state;
	char target[160];
	struct fuse_link_in ln = {.oldnodeid = 12345};
	struct fsh_part p[2] = {FSH_ARG(ln), FSH_STR("hl")};
	struct stat st;

	assert_int_equal(fsh_call(h, FUSE_LINK, FUSE_ROOT_ID, p, 2), -ESTALE);
	snprintf(target, sizeof(target), "%s/secret", h->outside);
	host_symlink(h, target, "share/abs");
	ln.oldnodeid = fsh_lookup(h, FUSE_ROOT_ID, "abs", NULL);
	assert_int_equal(fsh_call(h, FUSE_LINK, FUSE_ROOT_ID, p, 2), 0);
	snprintf(target, sizeof(target), "%s/hl", h->share);
	assert_int_equal(lstat(target, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* A folder cannot get a second name. */
	ln.oldnodeid = FUSE_ROOT_ID;
	p[1] = FSH_STR("root2");
	assert_int_equal(fsh_call(h, FUSE_LINK, FUSE_ROOT_ID, p, 2), -EPERM);
}

/* Device nodes are never made; one the host put there is never opened; nor is a FIFO (which
 * would block the server), by OPEN or by a CREATE on its name. */
static void test_device_nodes(void **state)
{
	struct fsh *h = *state;
	struct fuse_mknod_in mk = {.mode = S_IFCHR | 0666, .rdev = makedev(1, 3)};
	struct fsh_part p[2] = {FSH_ARG(mk), FSH_STR("null")};
	char path[160];
	uint64_t n, fh;
	int err;

	assert_int_equal(fsh_call(h, FUSE_MKNOD, FUSE_ROOT_ID, p, 2), -EPERM);
	mk.mode = S_IFBLK | 0666;
	assert_int_equal(fsh_call(h, FUSE_MKNOD, FUSE_ROOT_ID, p, 2), -EPERM);
	mk.mode = S_IFSOCK | 0666;
	assert_int_equal(fsh_call(h, FUSE_MKNOD, FUSE_ROOT_ID, p, 2), -EPERM);
	mk.mode = S_IFIFO | 0666;
	p[1] = FSH_STR("fifo");
	assert_int_equal(fsh_call(h, FUSE_MKNOD, FUSE_ROOT_ID, p, 2), 0);
	n = fsh_lookup(h, FUSE_ROOT_ID, "fifo", NULL);
	fsh_open(h, n, O_RDONLY, false, &err);
	assert_int_equal(err, -EACCES);
	fsh_create(h, FUSE_ROOT_ID, "fifo", O_RDONLY, &fh, &err);
	assert_int_equal(err, -EACCES);
	snprintf(path, sizeof(path), "%s/null", h->share);
	if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) < 0) {
		assert_int_equal(errno, EPERM); /* not root here: the host cannot make one either */
		return;
	}
	n = fsh_lookup(h, FUSE_ROOT_ID, "null", NULL);
	fsh_open(h, n, O_RDWR, false, &err);
	assert_int_equal(err, -EACCES);
	fsh_create(h, FUSE_ROOT_ID, "null", O_WRONLY, &fh, &err);
	assert_int_equal(err, -EACCES);
}

/* ---- the server as the VMM runs it ---- */

static uint8_t *shm; /* the buffer shared with the spawned server */

static int frame_call(int fd, uint32_t op, uint64_t node, const void *body, size_t len,
		      uint8_t *out, size_t *outlen)
{
	struct fuse_in_header ih = {
	    .len = (uint32_t)(sizeof(ih) + len), .opcode = op, .nodeid = node, .unique = 1};
	struct fuse_out_header oh;
	long n;

	memcpy(shm, &ih, sizeof(ih));
	if (len)
		memcpy(shm + sizeof(ih), body, len);
	n = fs_call(fd, ih.len, 4096);
	assert_true(n >= (long)sizeof(oh));
	memcpy(out, shm + FS_SHM_REPLY, (size_t)n);
	memcpy(&oh, out, sizeof(oh));
	*outlen = (size_t)n;
	return oh.error;
}

/* Each operation once through the forked server, so that a system call missing from its filter
 * ends it (SIGSYS) here rather than in a guest. out holds CREATE's reply for "made". */
static void every_op(int fd, uint8_t *out)
{
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} c;
	struct fuse_write_in w = {.size = 5};
	struct fuse_read_in r = {.size = 5};
	struct fuse_setattr_in sa = {.valid = FATTR_SIZE | FATTR_MODE | FATTR_MTIME | FATTR_UID,
				     .size = 3,
				     .mode = 0640,
				     .mtime = 1000,
				     .uid = (uint32_t)getuid()};
	struct fuse_fsync_in fs = {0};
	struct fuse_flush_in fl = {0};
	struct fuse_fallocate_in fa = {.length = 4096};
	struct fuse_lseek_in ls = {.whence = 3 /* SEEK_DATA */};
	struct fuse_access_in ac = {.mask = 4};
	struct fuse_mknod_in mk = {.mode = S_IFIFO | 0600};
	struct fuse_mkdir_in md = {.mode = 0700};
	struct fuse_rename_in rn = {.newdir = 1};
	struct fuse_link_in ln;
	struct fuse_release_in rl;
	uint8_t body[128];
	size_t len;

	memcpy(&c, out + 16, sizeof(c));
	w.fh = r.fh = fs.fh = fa.fh = ls.fh = c.o.fh;
	memcpy(body, &w, sizeof(w));
	memcpy(body + sizeof(w), "hello", 5);
	assert_int_equal(frame_call(fd, FUSE_WRITE, c.e.nodeid, body, sizeof(w) + 5, out, &len), 0);
	assert_int_equal(frame_call(fd, FUSE_FSYNC, c.e.nodeid, &fs, sizeof(fs), out, &len), 0);
	assert_int_equal(frame_call(fd, FUSE_FALLOCATE, c.e.nodeid, &fa, sizeof(fa), out, &len), 0);
	assert_int_equal(frame_call(fd, FUSE_LSEEK, c.e.nodeid, &ls, sizeof(ls), out, &len), 0);
	fl.fh = c.o.fh;
	assert_int_equal(frame_call(fd, FUSE_FLUSH, c.e.nodeid, &fl, sizeof(fl), out, &len), 0);
	rl.fh = c.o.fh;
	assert_int_equal(frame_call(fd, FUSE_RELEASE, c.e.nodeid, &rl, sizeof(rl), out, &len), 0);
	assert_int_equal(frame_call(fd, FUSE_SETATTR, c.e.nodeid, &sa, sizeof(sa), out, &len), 0);
	assert_int_equal(frame_call(fd, FUSE_ACCESS, c.e.nodeid, &ac, sizeof(ac), out, &len), 0);
	{
		struct fuse_open_in op = {.flags = O_RDONLY};
		struct fuse_open_out oo;

		assert_int_equal(frame_call(fd, FUSE_OPEN, c.e.nodeid, &op, sizeof(op), out, &len),
				 0);
		memcpy(&oo, out + 16, sizeof(oo));
		r.fh = oo.fh;
		assert_int_equal(frame_call(fd, FUSE_READ, c.e.nodeid, &r, sizeof(r), out, &len),
				 0);
		assert_int_equal(len, 16 + 3);
	}
	memcpy(body, &mk, sizeof(mk));
	memcpy(body + sizeof(mk), "fifo", 5);
	assert_int_equal(frame_call(fd, FUSE_MKNOD, 1, body, sizeof(mk) + 5, out, &len), 0);
	memcpy(body, &md, sizeof(md));
	memcpy(body + sizeof(md), "dir", 4);
	assert_int_equal(frame_call(fd, FUSE_MKDIR, 1, body, sizeof(md) + 4, out, &len), 0);
	memcpy(body, &rn, sizeof(rn));
	memcpy(body + sizeof(rn), "dir\0dir2", 9);
	assert_int_equal(frame_call(fd, FUSE_RENAME, 1, body, sizeof(rn) + 9, out, &len), 0);
	assert_int_equal(frame_call(fd, FUSE_RMDIR, 1, "dir2", 5, out, &len), 0);
	assert_int_equal(frame_call(fd, FUSE_SYMLINK, 1, "sl\0made", 8, out, &len), 0);
	memcpy(&c.e, out + 16, sizeof(c.e));
	assert_int_equal(frame_call(fd, FUSE_READLINK, c.e.nodeid, NULL, 0, out, &len), 0);
	ln.oldnodeid = c.e.nodeid;
	memcpy(body, &ln, sizeof(ln));
	memcpy(body + sizeof(ln), "sl2", 4);
	assert_int_equal(frame_call(fd, FUSE_LINK, 1, body, sizeof(ln) + 4, out, &len), 0);
	assert_int_equal(frame_call(fd, FUSE_UNLINK, 1, "sl2", 4, out, &len), 0);
	assert_int_equal(frame_call(fd, FUSE_UNLINK, 1, "sl", 3, out, &len), 0);
	assert_int_equal(frame_call(fd, FUSE_UNLINK, 1, "fifo", 5, out, &len), 0);
}

/* Forked and sandboxed with its seccomp filter on: it answers, lists, reads and creates; it is
 * gone when its socket closes. */
static void test_spawned_server(void **state)
{
	struct fsh *h = *state;
	struct fuse_init_in init = {.major = 7, .minor = 31};
	struct fuse_create_in cr = {.flags = O_WRONLY, .mode = 0644};
	uint8_t out[4096], body[64];
	struct fs_config cfg = {.server_fd = -1};
	struct fuse_entry_out e;
	char err[256], buf[16];
	size_t len;
	pid_t pid;
	int fd, status;

	fsh_put(h, "share/hello", "hi");
	snprintf(cfg.path, sizeof(cfg.path), "%s", h->share);
	fd = fs_server_spawn(&cfg, FILTERS, &pid, &shm, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(frame_call(fd, FUSE_INIT, 0, &init, sizeof(init), out, &len), 0);
	assert_int_equal(len, 16 + 64);
	assert_int_equal(frame_call(fd, FUSE_LOOKUP, 1, "hello", 6, out, &len), 0);
	memcpy(&e, out + 16, sizeof(e));
	assert_int_equal(e.attr.size, 2);
	assert_int_equal(frame_call(fd, FUSE_LOOKUP, 1, "..", 3, out, &len), -EINVAL);
	memcpy(body, &cr, sizeof(cr));
	memcpy(body + sizeof(cr), "made", 5);
	assert_int_equal(frame_call(fd, FUSE_CREATE, 1, body, sizeof(cr) + 5, out, &len), 0);
	every_op(fd, out);
	assert_int_equal(frame_call(fd, FUSE_STATFS, 1, NULL, 0, out, &len), 0);
	{
		struct fuse_open_in op = {.flags = O_RDONLY};
		struct fuse_open_out oo;
		struct fuse_read_in rd = {.size = 4096};

		assert_int_equal(frame_call(fd, FUSE_OPENDIR, 1, &op, sizeof(op), out, &len), 0);
		memcpy(&oo, out + 16, sizeof(oo));
		rd.fh = oo.fh;
		assert_int_equal(frame_call(fd, FUSE_READDIRPLUS, 1, &rd, sizeof(rd), out, &len),
				 0);
		assert_true(len > 16 + 4 * sizeof(struct fuse_direntplus));
	}
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	munmap(shm, FS_SHM_SIZE);
	assert_string_equal(fsh_get(h, "share/made", buf, sizeof(buf)), "hel");
	snprintf(err, sizeof(err), "%s/made", h->share);
	assert_int_equal(access(err, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dotdot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_absolute_symlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_proc_self_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_swapped_during_walk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hard_links, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_nodes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spawned_server, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
