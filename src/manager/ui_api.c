/* The desktop app's JSON API (ui_api.h): every verb is the CLI's own cmd_* function, run in a
 * child process whose stdout is the answer and whose last stderr line is the error. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "manager/catalog.h"
#include "manager/cmds.h"
#include "manager/store.h"
#include "manager/ui_api.h"
#include "manager/ui_files.h"
#include "manager/ui_req.h"
#include "manager/util.h"

#define OUT_LIST (4u << 20)
#define OUT_PNG	 (64u << 20)
#define OUT_LOG	 (256u << 10)

void ui_reply_error(struct ui_reply *r, int status, const char *fmt, ...)
{
	char line[600];
	json_t *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s}", "error", line);
	r->status = status;
	r->type = "application/json";
	r->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	r->len = r->body ? strlen(r->body) : 0;
	json_decref(o);
}

static void reply_take(struct ui_reply *r, const char *type, struct ui_out *o)
{
	r->status = 200;
	r->type = type;
	r->body = o->out ? o->out : strdup("");
	r->len = o->out ? o->out_len : 0;
	o->out = NULL;
}

/* A change's answer: {} (the verb's own output, the VM's name, is not the answer). */
static void reply_empty(struct ui_reply *r)
{
	free(r->body);
	r->body = strdup("{}");
	r->len = r->body ? 2 : 0;
	r->type = "application/json";
}

/* The verb's error line without the "phyllome: " every one starts with. */
static void set_err(struct ui_out *o, const char *line)
{
	snprintf(o->err, sizeof(o->err), "%s", strncmp(line, "phyllome: ", 10) ? line : line + 10);
}

void ui_out_free(struct ui_out *o)
{
	free(o->out);
	o->out = NULL;
}

/* The child: the verb with its own stdio; nothing of the server's (sockets, threads) stays. */
static void __attribute__((noreturn))
child(int (*fn)(int, char **), int argc, char **argv, int out, int err)
{
	int null = open("/dev/null", O_RDONLY);
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL); /* the server blocks them for its sigwait */
	dup2(null, 0);
	dup2(out, 1);
	dup2(err, 2);
	syscall(SYS_close_range, 3u, ~0u, 0u);
	signal(SIGPIPE, SIG_DFL);
	int rc = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	_exit(rc);
}

/* Keeps stdout (its end when it is longer than max) and stderr's last line. */
static void take(struct ui_out *o, size_t max, const char *d, size_t n, bool is_err, char *errbuf,
		 size_t *errlen)
{
	if (is_err) {
		for (size_t i = 0; i < n; i++) {
			if (d[i] == '\n') {
				if (*errlen) {
					errbuf[*errlen] = 0;
					set_err(o, errbuf);
				}
				*errlen = 0;
			} else if (*errlen < sizeof(o->err) - 1) {
				errbuf[(*errlen)++] = d[i];
			}
		}
		return;
	}
	if (n > max) {
		d += n - max;
		n = max;
	}
	if (o->out_len + n > max) { /* drop the oldest */
		size_t drop = o->out_len + n - max;

		memmove(o->out, o->out + drop, o->out_len - drop);
		o->out_len -= drop;
	}
	memcpy(o->out + o->out_len, d, n);
	o->out_len += n;
	o->out[o->out_len] = 0;
}

/* Reads both pipes until they close, or the child has gone and they are drained (a daemon it
 * started may hold them: the supervisor does not, but nothing waits on one that would). */
static void collect(pid_t pid, int fds[2], size_t max, struct ui_out *o)
{
	char buf[65536], errbuf[sizeof(o->err)];
	size_t errlen = 0;
	int status = 0, open_fds = 2;
	bool gone = false;

	while (open_fds) {
		struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
		int n = poll(p, 2, 100);

		if (!gone && waitpid(pid, &status, WNOHANG) == pid)
			gone = true;
		if (n <= 0) {
			if (gone)
				break;
			continue;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t r;

			if (fds[i] < 0 || !p[i].revents)
				continue;
			r = read(fds[i], buf, sizeof(buf));
			if (r > 0) {
				take(o, max, buf, (size_t)r, i == 1, errbuf, &errlen);
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(fds[i]);
				fds[i] = -1;
				open_fds--;
			}
		}
	}
	if (errlen) {
		errbuf[errlen] = 0;
		set_err(o, errbuf);
	}
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (!gone)
		waitpid(pid, &status, 0);
	o->rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int ui_call(int (*fn)(int, char **), int argc, char **argv, size_t out_max, struct ui_out *o)
{
	int out[2], err[2], fds[2];
	pid_t pid;

	memset(o, 0, sizeof(*o));
	o->out = malloc(out_max + 1);
	if (!o->out)
		return -ENOMEM;
	o->out[0] = 0;
	if (pipe2(out, O_CLOEXEC) < 0) {
		ui_out_free(o);
		return -errno;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		ui_out_free(o);
		return -errno;
	}
	pid = fork();
	if (pid == 0)
		child(fn, argc, argv, out[1], err[1]);
	close(out[1]);
	close(err[1]);
	if (pid < 0) {
		close(out[0]);
		close(err[0]);
		ui_out_free(o);
		return -errno;
	}
	fds[0] = out[0];
	fds[1] = err[0];
	collect(pid, fds, out_max, o);
	return 0;
}

/* Runs a verb; on success the reply is its output, else its error line. */
static void verb(int (*fn)(int, char **), int argc, char **argv, size_t max, const char *type,
		 struct ui_reply *r)
{
	struct ui_out o;
	int rc = ui_call(fn, argc, argv, max, &o);

	if (rc < 0) {
		ui_reply_error(r, 500, "cannot run %s: %s", argv[0], strerror(-rc));
		return;
	}
	if (o.rc != 0)
		ui_reply_error(r, o.rc == EXIT_USAGE ? 400 : 409, "%s",
			       o.err[0] ? o.err : "the command failed");
	else
		reply_take(r, type, &o);
	ui_out_free(&o);
}

/* Lines of JSON objects -> one JSON array. */
static void lines_to_array(struct ui_reply *r)
{
	json_t *a = json_array();
	char *line = r->body, *next;

	for (; line && *line; line = next) {
		json_t *o;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		o = json_loads(line, 0, NULL);
		if (o)
			json_array_append_new(a, o);
	}
	free(r->body);
	r->body = json_dumps(a, JSON_COMPACT);
	r->len = r->body ? strlen(r->body) : 0;
	r->type = "application/json";
	json_decref(a);
}

void ui_api_list(struct ui_reply *r)
{
	char a[] = "-a", f[] = "--format", j[] = "json";
	char *argv[] = {a, f, j, NULL};

	verb(cmd_ps, 3, argv, OUT_LIST, "application/json", r);
	if (r->status == 200)
		lines_to_array(r);
}

/* The catalogue's entries as JSON lines (run in the child: loading may print an error). */
static int catalog_lines(int argc, char **argv)
{
	struct catalog c = {0};
	char src[4096];

	(void)argc;
	(void)argv;
	mgr_catalog_source(NULL, src, sizeof(src));
	if (mgr_catalog_load(src, &c) < 0)
		return EXIT_FAIL;
	for (size_t i = 0; i < c.n; i++) {
		const struct cat_entry *e = &c.e[i];
		static const char *const kinds[] = {"cloud", "installer", "live"};
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:b, s:s}", "name", e->name,
				      "tag", e->tag, "kind", kinds[e->kind], "format", e->format,
				      "cpus", (int)e->cpus, "memory", (json_int_t)e->memory,
				      "downloadable", e->url[0] != 0, "os", e->os);
		char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

		if (line)
			printf("%s\n", line);
		free(line);
		json_decref(o);
	}
	catalog_free(&c);
	return EXIT_OK;
}

void ui_api_images(struct ui_reply *r)
{
	char dq[] = "-q";
	char *q[] = {dq, NULL}, *none[] = {NULL};
	struct ui_reply imgs = {0}, cat = {0};
	json_t *o = json_object(), *stored = json_array(), *c;
	char *line, *next;

	verb(cmd_images, 1, q, OUT_LIST, "text/plain", &imgs);
	verb(catalog_lines, 0, none, OUT_LIST, "application/json", &cat);
	for (line = imgs.status == 200 ? imgs.body : NULL; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		json_array_append_new(stored, json_string(line));
	}
	if (cat.status == 200)
		lines_to_array(&cat);
	c = cat.status == 200 ? json_loads(cat.body, 0, NULL) : json_array();
	json_object_set_new(o, "images", stored);
	json_object_set_new(o, "catalog", c ? c : json_array());
	if (imgs.status != 200 || cat.status != 200) {
		json_t *e = imgs.status != 200 ? json_loads(imgs.body, 0, NULL)
					       : json_loads(cat.body, 0, NULL);
		json_object_set(o, "error", json_object_get(e, "error"));
		json_decref(e);
	}
	r->status = 200;
	r->type = "application/json";
	r->body = json_dumps(o, JSON_COMPACT);
	r->len = r->body ? strlen(r->body) : 0;
	json_decref(o);
	free(imgs.body);
	free(cat.body);
}

void ui_api_pulls(struct ui_reply *r)
{
	json_t *a = json_array();
	struct store s;
	struct dirent *d;
	DIR *dp = NULL;

	if (mgr_store(&s) == 0) {
		char dir[VMDEF_PATH + 32];

		snprintf(dir, sizeof(dir), "%s/images/.partial", s.root);
		dp = opendir(dir);
		store_close(&s);
	}
	while (dp && (d = readdir(dp))) {
		size_t n = strlen(d->d_name);
		char buf[512];
		ssize_t got;
		json_t *o;
		int fd;

		if (n < 10 || strcmp(d->d_name + n - 9, ".progress"))
			continue;
		fd = openat(dirfd(dp), d->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		got = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (got <= 0)
			continue;
		buf[got] = 0;
		o = json_loads(buf, 0, NULL);
		if (json_is_object(o))
			json_array_append(a, o);
		json_decref(o);
	}
	if (dp)
		closedir(dp);
	r->status = 200;
	r->type = "application/json";
	r->body = json_dumps(a, JSON_COMPACT);
	r->len = r->body ? strlen(r->body) : 0;
	json_decref(a);
}

void ui_api_get(const char *vm, const char *action, struct ui_reply *r)
{
	char out[] = "/proc/self/fd/1"; /* not /dev/stdout: a bare devtmpfs has no such link */
	char *argv[] = {(char *)vm, out, NULL};

	if (!strcmp(action, "screenshot"))
		verb(cmd_screenshot, 2, argv, OUT_PNG, "image/png", r);
	else if (!strcmp(action, "logs"))
		verb(cmd_logs, 1, argv, OUT_LOG, "text/plain; charset=utf-8", r);
	else if (!strcmp(action, "inspect"))
		verb(cmd_inspect, 1, argv, OUT_LIST, "application/json", r);
	else
		ui_reply_error(r, 404, "no such thing to read about a VM: %s", action);
}

void ui_api_post(const char *vm, const char *action, struct ui_reply *r)
{
	static const struct {
		const char *action;
		int (*fn)(int, char **);
		const char *flag;
	} verbs[] = {
	    {"start", cmd_start, NULL}, {"stop", cmd_stop, NULL},
	    {"kill", cmd_kill, NULL},	{"restart", cmd_restart, NULL},
	    {"pause", cmd_pause, NULL}, {"resume", cmd_resume, NULL},
	    {"rm", cmd_rm, "-f"},
	};

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char *argv[3] = {NULL};
		int argc = 0;

		if (strcmp(action, verbs[i].action))
			continue;
		if (verbs[i].flag)
			argv[argc++] = (char *)verbs[i].flag;
		argv[argc++] = (char *)vm;
		verb(verbs[i].fn, argc, argv, OUT_LOG, "text/plain", r);
		if (r->status == 200)
			reply_empty(r);
		return;
	}
	ui_reply_error(r, 404, "no such action on a VM: %s", action);
}

static int load_folders(struct ui_folders *f, struct ui_reply *r);

void ui_api_update(const char *vm, const char *body, size_t len, const char *vnc_dir,
		   struct ui_reply *r)
{
	char err[256] = "", store[(VMDEF_MAX_SHARES + 1) * UI_FILE_MAX], sock[128];
	char *words[24];
	struct ui_folders *f = malloc(sizeof(*f));
	int n = -1;

	/* A display shown in the app: a socket of the app's folder, named as a new VM's is. */
	if (snprintf(sock, sizeof(sock), "%s/%.12s.sock", vnc_dir, vm) >= (int)sizeof(sock))
		ui_reply_error(r, 500, "the display's socket path is too long: %s", vnc_dir);
	else if (!f)
		ui_reply_error(r, 500, "out of memory");
	else if (load_folders(f, r) == 0)
		n = ui_update_args(body, len, vm, sock, f, words, 23, store, sizeof(store), err,
				   sizeof(err));
	free(f);
	if (n < 0 && err[0])
		ui_reply_error(r, 400, "%s", err);
	if (n < 0)
		return;
	words[n] = NULL;
	verb(cmd_update, n, words, OUT_LOG, "text/plain", r);
	if (r->status == 200)
		reply_empty(r);
}

/* The settings' folders of the state folder. 0, or -1 with the reply an error. */
static int load_folders(struct ui_folders *f, struct ui_reply *r)
{
	char err[512] = "";
	struct store st;
	int rc;

	if (mgr_store(&st) < 0) {
		ui_reply_error(r, 500, "cannot open the state folder");
		return -1;
	}
	rc = ui_settings_load(st.root, f, err, sizeof(err));
	store_close(&st);
	if (rc < 0)
		ui_reply_error(r, 500, "%s", err);
	return rc;
}

static void reply_json(struct ui_reply *r, json_t *o)
{
	r->status = 200;
	r->type = "application/json";
	r->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	r->len = r->body ? strlen(r->body) : 0;
	json_decref(o);
}

void ui_api_settings(struct ui_reply *r)
{
	struct ui_folders *f = malloc(sizeof(*f));
	char *s;

	if (!f || load_folders(f, r) < 0) {
		if (!f)
			ui_reply_error(r, 500, "out of memory");
		free(f);
		return;
	}
	s = ui_settings_dump(f);
	reply_json(r, s ? json_loads(s, 0, NULL) : NULL);
	free(s);
	free(f);
}

void ui_api_settings_save(const char *body, size_t len, struct ui_reply *r)
{
	struct ui_folders *f = malloc(sizeof(*f));
	char err[512] = "";
	struct store st;
	int rc = -1;

	if (!f) {
		ui_reply_error(r, 500, "out of memory");
		return;
	}
	if (ui_settings_parse(body, len, f, err, sizeof(err)) < 0) {
		ui_reply_error(r, 400, "%s", err);
	} else if (mgr_store(&st) < 0) {
		ui_reply_error(r, 500, "cannot open the state folder");
	} else {
		rc = ui_settings_save(st.root, f, err, sizeof(err));
		store_close(&st);
		if (rc < 0)
			ui_reply_error(r, 400, "%s", err);
	}
	free(f);
	if (rc == 0)
		ui_api_settings(r);
}

void ui_api_files(struct ui_reply *r)
{
	struct ui_folders *f = malloc(sizeof(*f));
	json_t *a = json_array();

	if (!f || !a || load_folders(f, r) < 0) {
		if (!f || !a)
			ui_reply_error(r, 500, "out of memory");
		json_decref(a);
		free(f);
		return;
	}
	ui_files_list(f, a);
	reply_json(r, json_pack("{s:o}", "files", a));
	free(f);
}

void ui_api_create(const char *body, size_t len, const char *vnc_dir, struct ui_reply *r)
{
	char err[256] = "", store[(VMDEF_MAX_SHARES + 2) * UI_FILE_MAX], sock[128],
	     id[MGR_ID_LEN + 1];
	char *words[40];
	struct ui_folders *f = malloc(sizeof(*f));
	int n;

	if (!f || load_folders(f, r) < 0) {
		if (!f)
			ui_reply_error(r, 500, "out of memory");
		free(f);
		return;
	}
	if (mgr_new_id(id) < 0 ||
	    snprintf(sock, sizeof(sock), "%s/%.12s.sock", vnc_dir, id) >= (int)sizeof(sock)) {
		ui_reply_error(r, 500, "the display's socket path is too long: %s", vnc_dir);
		free(f);
		return;
	}
	n = ui_new_vm_args(body, len, sock, f, words, 39, store, sizeof(store), err, sizeof(err));
	free(f);
	if (n < 0) {
		ui_reply_error(r, 400, "%s", err);
		return;
	}
	words[n] = NULL;
	verb(cmd_run, n, words, OUT_LOG, "text/plain", r);
	if (r->status == 200) { /* run -d prints the id */
		json_t *o;

		r->body[strcspn(r->body, "\n")] = 0;
		o = json_pack("{s:s}", "id", r->body);
		free(r->body);
		r->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
		r->len = r->body ? strlen(r->body) : 0;
		r->type = "application/json";
		json_decref(o);
	}
}
