#include "manager/fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "manager/netlibs.h"
#include "manager/util.h"

#define RETRIES 4

struct xfer {
	CURL *c;
	int fd;		 /* fetch_file */
	uint64_t offset; /* bytes there before this request */
	bool checked;	 /* the response code was looked at */
	char *buf;	 /* fetch_mem */
	size_t len, max;
	bool too_big;
	/* progress */
	bool show;
	const char *label;
	char progress[4096 + 16]; /* PATH.progress for others to read ("": none) */
	struct timespec t0, last;
	curl_off_t shown; /* bytes when the bar was last drawn */
};

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static size_t on_file(char *p, size_t sz, size_t nm, void *ctx)
{
	struct xfer *x = ctx;
	size_t n = sz * nm, done = 0;

	if (!x->checked) {
		long code = 0;

		mgr_curl.curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
		x->checked = true;
		if (x->offset && code == 200) { /* the server ignored the Range: start again */
			if (ftruncate(x->fd, 0) < 0)
				return 0;
			x->offset = 0;
		}
	}
	while (done < n) {
		ssize_t w = write(x->fd, p + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;
		done += (size_t)w;
	}
	return n;
}

static size_t on_mem(char *p, size_t sz, size_t nm, void *ctx)
{
	struct xfer *x = ctx;
	size_t n = sz * nm;
	char *nb;

	if (n > x->max - x->len) {
		x->too_big = true;
		return 0;
	}
	nb = realloc(x->buf, x->len + n + 1);
	if (!nb)
		return 0;
	x->buf = nb;
	memcpy(x->buf + x->len, p, n);
	x->len += n;
	x->buf[x->len] = 0;
	return n;
}

/* PATH.progress: what the app shows while it waits for a pull, replaced whole each time. */
static void write_progress(const struct xfer *x, uint64_t have, uint64_t all, double speed)
{
	char tmp[sizeof(x->progress) + 8], body[512];
	int n = snprintf(body, sizeof(body),
			 "{\"label\": \"%.200s\", \"done\": %llu, \"total\": %llu, "
			 "\"bytes_per_s\": %.0f}\n",
			 x->label, (unsigned long long)have, (unsigned long long)all, speed);
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", x->progress) >= (int)sizeof(tmp) || n <= 0 ||
	    strpbrk(x->label, "\"\\"))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, body, (size_t)n) == n)
		(void)rename(tmp, x->progress);
	else
		(void)unlink(tmp);
	close(fd);
}

static int on_progress(void *ctx, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = ctx;
	struct timespec t;
	char have[32], all[32], rate[32], left[32] = "";
	double el, speed;
	int bar = 0;

	(void)ut;
	(void)un;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if ((!x->show && !x->progress[0]) || now == x->shown ||
	    (secs(&x->last, &t) < 0.25 && (!total || now < total)))
		return 0;
	x->last = t;
	x->shown = now;
	el = secs(&x->t0, &t);
	speed = el > 0 ? (double)now / el : 0;
	mgr_human_size(x->offset + (uint64_t)now, have, sizeof(have));
	mgr_human_size(x->offset + (uint64_t)total, all, sizeof(all));
	mgr_human_size((uint64_t)speed, rate, sizeof(rate));
	if (total > 0) {
		bar = (int)(30 * (double)(x->offset + (uint64_t)now) /
			    (double)(x->offset + (uint64_t)total));
		if (speed > 0)
			snprintf(left, sizeof(left), "%.0f s left",
				 (double)(total - now) / speed + 0.5);
	}
	if (x->progress[0])
		write_progress(x, x->offset + (uint64_t)now,
			       total > 0 ? x->offset + (uint64_t)total : 0, speed);
	if (!x->show)
		return 0;
	fprintf(stderr, "\r\033[K%s [%.*s%*s] %s / %s  %s/s  %s", x->label, bar,
		"==============================", 30 - bar, "", have, total > 0 ? all : "?", rate,
		left);
	fflush(stderr);
	return 0;
}

/* A transfer's handle, libcurl loaded first; NULL with the reason in err. */
static CURL *setup(struct xfer *x, char *err, size_t errlen)
{
	CURL *c;

	if (mgr_libs_load(MGR_LIB_CURL, err, errlen) < 0)
		return NULL;
	c = mgr_curl.curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "libcurl did not start");
		return NULL;
	}
	x->c = c;
	mgr_curl.curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	mgr_curl.curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	mgr_curl.curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	mgr_curl.curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	mgr_curl.curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	mgr_curl.curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled connection (under 1 KiB/s for 60 s) is dropped, then resumed. */
	mgr_curl.curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	mgr_curl.curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	mgr_curl.curl_easy_setopt(c, CURLOPT_USERAGENT, "phyllome/" PHYLLOME_VERSION);
	mgr_curl.curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	return c;
}

static bool retryable(CURLcode rc)
{
	return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
	       rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING;
}

int fetch_file(const char *url, const char *path, bool resume, bool show, const char *label,
	       char *err, size_t errlen)
{
	struct xfer x = {.fd = -1, .show = show, .label = label};
	CURLcode rc = CURLE_OK;
	struct stat st;
	int ret = -EIO;

	/* A resumable download (an image) says how far it is in PATH.progress while it runs. */
	if (resume && snprintf(x.progress, sizeof(x.progress), "%s.progress", path) >=
			  (int)sizeof(x.progress))
		x.progress[0] = 0;

	x.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (resume ? 0 : O_TRUNC), 0600);
	if (x.fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!setup(&x, err, errlen)) {
		close(x.fd);
		return -EIO;
	}
	mgr_curl.curl_easy_setopt(x.c, CURLOPT_URL, url);
	mgr_curl.curl_easy_setopt(x.c, CURLOPT_WRITEFUNCTION, on_file);
	mgr_curl.curl_easy_setopt(x.c, CURLOPT_WRITEDATA, &x);
	mgr_curl.curl_easy_setopt(x.c, CURLOPT_XFERINFOFUNCTION, on_progress);
	mgr_curl.curl_easy_setopt(x.c, CURLOPT_XFERINFODATA, &x);
	mgr_curl.curl_easy_setopt(x.c, CURLOPT_NOPROGRESS, 0L);
	for (int attempt = 0; attempt < RETRIES; attempt++) {
		long code = 0;

		if (fstat(x.fd, &st) < 0)
			break;
		x.offset = (uint64_t)st.st_size;
		x.checked = false;
		clock_gettime(CLOCK_MONOTONIC, &x.t0);
		x.last = (struct timespec){0, 0};
		x.shown = -1;
		mgr_curl.curl_easy_setopt(x.c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x.offset);
		rc = mgr_curl.curl_easy_perform(x.c);
		mgr_curl.curl_easy_getinfo(x.c, CURLINFO_RESPONSE_CODE, &code);
		if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && x.offset) {
			rc = CURLE_OK; /* nothing left to send: all there (the checksum decides) */
			break;
		}
		if (rc == CURLE_OK || !retryable(rc))
			break;
		if (show)
			fprintf(stderr, "\r\033[K%s: %s; resuming\n", label,
				mgr_curl.curl_easy_strerror(rc));
	}
	if (show)
		fputs("\r\033[K", stderr);
	if (rc == CURLE_OK) {
		ret = 0;
	} else {
		long code = 0;

		mgr_curl.curl_easy_getinfo(x.c, CURLINFO_RESPONSE_CODE, &code);
		if (rc == CURLE_HTTP_RETURNED_ERROR)
			snprintf(err, errlen, "%s: HTTP status %ld", url, code);
		else
			snprintf(err, errlen, "%s: %s", url, mgr_curl.curl_easy_strerror(rc));
	}
	mgr_curl.curl_easy_cleanup(x.c);
	if (x.progress[0])
		unlink(x.progress);
	if (close(x.fd) < 0 && ret == 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		ret = -EIO;
	}
	return ret;
}

int fetch_mem(const char *url, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
	struct xfer x = {.fd = -1, .max = max};
	CURLcode rc;
	long code = 0;

	*out = NULL;
	*len = 0;
	if (!setup(&x, err, errlen))
		return -EIO;
	mgr_curl.curl_easy_setopt(x.c, CURLOPT_URL, url);
	mgr_curl.curl_easy_setopt(x.c, CURLOPT_WRITEFUNCTION, on_mem);
	mgr_curl.curl_easy_setopt(x.c, CURLOPT_WRITEDATA, &x);
	rc = mgr_curl.curl_easy_perform(x.c);
	mgr_curl.curl_easy_getinfo(x.c, CURLINFO_RESPONSE_CODE, &code);
	mgr_curl.curl_easy_cleanup(x.c);
	if (rc != CURLE_OK || !x.buf) {
		if (x.too_big)
			snprintf(err, errlen, "%s: larger than %zu bytes", url, max);
		else if (rc == CURLE_HTTP_RETURNED_ERROR)
			snprintf(err, errlen, "%s: HTTP status %ld", url, code);
		else
			snprintf(err, errlen, "%s: %s", url,
				 rc ? mgr_curl.curl_easy_strerror(rc) : "empty");
		free(x.buf);
		return -EIO;
	}
	*out = x.buf;
	*len = x.len;
	return 0;
}
