/* `phyllome ui [--listen 127.0.0.1:PORT|HOST:PORT|unix:PATH] [--open] [--tls | --tls-cert FILE
 * --tls-key FILE]`: the desktop app's server (docs/ui.md). Runs until Ctrl-C (SIGINT) or
 * SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/unix_sock.h"
#include "manager/cmds.h"
#include "manager/netlibs.h"
#include "manager/ui_files.h"
#include "manager/ui_server.h"
#include "manager/ui_tls.h"
#include "manager/util.h"

#define UI_PORT "7380"

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static int random_hex(char out[UI_SECRET_HEX + 1])
{
	unsigned char b[UI_SECRET_HEX / 2];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -1;
	hex(b, sizeof(b), out);
	return 0;
}

/* The per-user secret: ROOT/ui-secret (0600), made on first use. */
static int load_secret(const struct store *st, struct ui_server *s)
{
	char path[VMDEF_PATH + 16], *data = NULL, fresh[UI_SECRET_HEX + 1], err[256];
	unsigned char sum[32];
	size_t n = 0;
	int fd;

	if (mgr_libs_load(MGR_LIB_TLS, err, sizeof(err)) < 0) {
		mgr_error("ui: %s", err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/ui-secret", st->root);
	if (random_hex(fresh) < 0) {
		mgr_error("ui: no random numbers: %s", strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		bool ok = write(fd, fresh, UI_SECRET_HEX) == UI_SECRET_HEX && fsync(fd) == 0;

		close(fd);
		if (!ok) {
			unlink(path);
			mgr_error("ui: cannot write %s", path);
			return -1;
		}
	}
	chmod(path, 0600);
	if (store_read_file(path, &data, &n) < 0 || n < UI_SECRET_HEX) {
		free(data);
		mgr_error("ui: cannot read the secret %s (remove it to make a new one)", path);
		return -1;
	}
	memcpy(s->secret, data, UI_SECRET_HEX);
	s->secret[UI_SECRET_HEX] = 0;
	free(data);
	/* The CSRF token: derived from the secret, so a page stays valid across restarts. */
	snprintf(path, sizeof(path), "phyllome-ui-csrf:%s", s->secret);
	mgr_tls.gnutls_hash_fast(GNUTLS_DIG_SHA256, path, strlen(path), sum);
	hex(sum, sizeof(sum), s->csrf);
	return random_hex(s->token);
}

static bool loopback(const char *host)
{
	return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1");
}

/* Listens on HOST:PORT or unix:PATH; fills shown with what the URL names. */
static int listen_on(const char *where, char *shown, size_t len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
	char host[256], *colon;
	int fd = -1, rc, one = 1;

	if (!strncmp(where, "unix:", 5)) {
		fd = unix_sock_listen(where + 5, SOCK_CLOEXEC, 16);
		if (fd < 0)
			mgr_error("ui: cannot listen on %s: %s", where, unix_sock_strerror(fd));
		snprintf(shown, len, "localhost");
		return fd;
	}
	snprintf(host, sizeof(host), "%s", where);
	colon = strrchr(host, ':');
	if (!colon || colon == host) {
		mgr_error("ui: --listen takes HOST:PORT or unix:PATH, not \"%s\"", where);
		return -1;
	}
	*colon = 0;
	if (host[0] == '[' && colon[-1] == ']') {
		colon[-1] = 0;
		memmove(host, host + 1, strlen(host));
	}
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc) {
		mgr_error("ui: cannot listen on %s: %s", where, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		mgr_error("ui: cannot listen on %s: %s", where, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	if (!loopback(host))
		fprintf(stderr,
			"phyllome: ui: listening on %s: reachable from other machines, "
			"over plain HTTP (the secret cookie still guards it)\n",
			where);
	{
		struct sockaddr_storage sa;
		socklen_t sl = sizeof(sa);
		char h[64], p[8];

		getsockname(fd, (struct sockaddr *)&sa, &sl);
		getnameinfo((struct sockaddr *)&sa, sl, h, sizeof(h), p, sizeof(p),
			    NI_NUMERICHOST | NI_NUMERICSERV);
		if (!strcmp(h, "0.0.0.0") || !strcmp(h, "::"))
			snprintf(h, sizeof(h), "%s", strchr(h, ':') ? "::1" : "127.0.0.1");
		snprintf(shown, len, strchr(h, ':') ? "[%s]:%s" : "%s:%s", h, p);
	}
	return fd;
}

/* Where the page's files are: $PHYLLOME_UI_DIR, the source tree's data/ui beside the binary
 * (build/phyllome -> data/ui), else the installed one. */
static void find_dirs(struct ui_server *s)
{
	const char *env = getenv("PHYLLOME_UI_DIR"), *nv = getenv("PHYLLOME_NOVNC");

	snprintf(s->novnc_dir, sizeof(s->novnc_dir), "%s", nv && *nv ? nv : "/usr/share/novnc");
	if (env && *env)
		snprintf(s->ui_dir, sizeof(s->ui_dir), "%s", env);
	else if (!mgr_beside_exe("ui", s->ui_dir, sizeof(s->ui_dir)))
		snprintf(s->ui_dir, sizeof(s->ui_dir), "%s", PHYLLOME_UI_DEFAULT);
}

/* --open: an app window of Chromium if there is one, else the desktop's browser. */
static void open_browser(const char *url)
{
	char app[1200];
	pid_t pid;

	snprintf(app, sizeof(app), "--app=%s", url);
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDWR);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (fork() == 0) {
			execlp("chromium", "chromium", app, (char *)NULL);
			execlp("xdg-open", "xdg-open", url, (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* --add-folder DIR, --remove-folder DIR, --folders: the settings' folders (ui_files.h), as the
 * page's Settings changes them; prints the list and exits. */
static int folders_cmd(const char *op, const char *dir)
{
	struct ui_folders *f = malloc(sizeof(*f));
	char err[1024] = "", real[PATH_MAX];
	struct store st;
	int rc = EXIT_FAIL;

	if (!f || mgr_store(&st) < 0) {
		free(f);
		return EXIT_FAIL;
	}
	if (ui_settings_load(st.root, f, err, sizeof(err)) < 0)
		goto out;
	if (dir && !realpath(dir, real)) {
		snprintf(err, sizeof(err), "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (dir && !strcmp(op, "--add-folder")) {
		if (f->n == UI_MAX_FOLDERS || strlen(real) >= UI_FOLDER_MAX) {
			snprintf(err, sizeof(err), "at most %d folders (of under %d bytes)",
				 UI_MAX_FOLDERS, UI_FOLDER_MAX);
			goto out;
		}
		strcpy(f->path[f->n++], real);
	} else if (dir) {
		unsigned k = 0;

		for (unsigned i = 0; i < f->n; i++)
			if (strcmp(f->path[i], real) && strcmp(f->path[i], dir))
				memmove(f->path[k++], f->path[i], UI_FOLDER_MAX);
		if (k == f->n) {
			snprintf(err, sizeof(err), "%s is not in the settings' folders", dir);
			goto out;
		}
		f->n = k;
	}
	if (dir && ui_settings_save(st.root, f, err, sizeof(err)) < 0)
		goto out;
	for (unsigned i = 0; i < f->n; i++)
		printf("%s\n", f->path[i]);
	rc = EXIT_OK;
out:
	if (rc != EXIT_OK)
		mgr_error("ui: %s", err);
	store_close(&st);
	free(f);
	return rc;
}

int cmd_ui(int argc, char **argv)
{
	static struct ui_server s = {.lock = PTHREAD_MUTEX_INITIALIZER};
	const char *where = "127.0.0.1:" UI_PORT;
	char shown[300], url[512], err[512];
	const char *cert = NULL, *key = NULL;
	char tls_cert[PATH_MAX], tls_key[PATH_MAX];
	bool open = false, tls = false, bad = false;
	struct store st;
	sigset_t sigs;
	int fd, sig = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--folders") && argc == 1)
			return folders_cmd(argv[i], NULL);
		if ((!strcmp(argv[i], "--add-folder") || !strcmp(argv[i], "--remove-folder")) &&
		    argc == 2)
			return folders_cmd(argv[i], argv[i + 1]);
		if (!strcmp(argv[i], "--open")) {
			open = true;
		} else if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			where = argv[++i];
		} else if (!strcmp(argv[i], "--tls")) {
			tls = true;
		} else if (!strcmp(argv[i], "--tls-cert") && i + 1 < argc) {
			cert = argv[++i];
		} else if (!strcmp(argv[i], "--tls-key") && i + 1 < argc) {
			key = argv[++i];
		} else {
			bad = true;
			break;
		}
	}
	if (bad || !cert != !key || (tls && cert)) {
		mgr_error("ui: usage: phyllome ui [--listen HOST:PORT|unix:PATH] [--open] [--tls | "
			  "--tls-cert FILE --tls-key FILE], or "
			  "phyllome ui --folders|--add-folder DIR|--remove-folder DIR");
		return EXIT_USAGE;
	}
	if (mgr_store(&st) < 0)
		return EXIT_FAIL;
	if (load_secret(&st, &s) < 0)
		return EXIT_FAIL;
	snprintf(s.vnc_dir, sizeof(s.vnc_dir), "%s/ui-displays", st.root);
	if (mkdir(s.vnc_dir, 0700) < 0 && errno != EEXIST) {
		mgr_error("ui: cannot make %s: %s", s.vnc_dir, strerror(errno));
		return EXIT_FAIL;
	}
	if (tls && !cert && ui_tls_selfsigned(st.root, tls_cert, tls_key, err, sizeof(err)) < 0) {
		mgr_error("ui: --tls: %s", err);
		return EXIT_FAIL;
	}
	if (tls && !cert)
		cert = tls_cert, key = tls_key;
	if (cert && (ui_tls_read(cert, &s.tls_cert, err, sizeof(err)) < 0 ||
		     ui_tls_read(key, &s.tls_key, err, sizeof(err)) < 0)) {
		mgr_error("ui: %s", err);
		return EXIT_FAIL;
	}
	find_dirs(&s);
	snprintf(url, sizeof(url), "%.400s/index.html", s.ui_dir);
	if (access(url, R_OK) < 0) {
		mgr_error("ui: the app's files are not in %s (set PHYLLOME_UI_DIR)", s.ui_dir);
		return EXIT_FAIL;
	}
	snprintf(url, sizeof(url), "%.400s/core/rfb.js", s.novnc_dir);
	if (access(url, R_OK) < 0)
		fprintf(stderr,
			"phyllome: ui: no noVNC in %s (Debian's novnc, or set PHYLLOME_NOVNC): "
			"the console will not open\n",
			s.novnc_dir);
	fd = listen_on(where, shown, sizeof(shown));
	if (fd < 0)
		return EXIT_FAIL;
	/* Signals are taken by sigwait below; every thread inherits the mask, and every
	 * child (ui_call) clears it. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (ui_server_start(&s, fd, err, sizeof(err)) < 0) {
		mgr_error("ui: %s", err);
		close(fd);
		return EXIT_FAIL;
	}
	snprintf(url, sizeof(url), "http%s://%s/login?token=%s", cert ? "s" : "", shown, s.token);
	printf("phyllome ui: open %s%s\n", url,
	       strncmp(where, "unix:", 5) ? "" : " (through the Unix socket)");
	printf("phyllome ui: the link works once; Ctrl-C stops the app (the VMs keep running)\n");
	fflush(stdout);
	if (open)
		open_browser(url);
	sigwait(&sigs, &sig);
	ui_server_stop(&s);
	close(fd);
	if (!strncmp(where, "unix:", 5))
		unlink(where + 5);
	store_close(&st);
	free(s.tls_cert);
	free(s.tls_key);
	return EXIT_OK;
}
