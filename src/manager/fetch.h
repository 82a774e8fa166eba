/* Downloads with libcurl: HTTP, HTTPS (certificates checked) and file://, redirects followed
 * (to HTTP(S) only), a progress bar on a terminal, and resuming: a file that is already partly
 * there is continued with a Range request, and a connection that drops is retried (resuming)
 * up to 4 times. A resumable download (resume: an image) also writes PATH.progress while it
 * runs, {"label": ..., "done": BYTES, "total": BYTES (0: unknown), "bytes_per_s": N}, replaced
 * whole about 4 times a second and removed at its end: the desktop app's progress bar. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Appends url's body to path (resume: from the size path already has; else from scratch).
 * label names the download on the progress bar (shown when show is true). 0, or -EIO with one
 * line in err; what arrived stays in path so that a later call resumes it. */
int fetch_file(const char *url, const char *path, bool resume, bool show, const char *label,
	       char *err, size_t errlen);
/* url's body (at most max bytes) into a malloc'd NUL-terminated buffer. 0 or -EIO + err. */
int fetch_mem(const char *url, size_t max, char **out, size_t *len, char *err, size_t errlen);
