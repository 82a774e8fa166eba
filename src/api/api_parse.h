/* The API's request parser: (method, path, body) -> one typed action or an HTTP error. Pure
 * (no I/O, no state), so that it can be fuzzed and unit-tested alone (docs/api.md). */
#pragma once
#include <stddef.h>

#include "kvm/control.h"

#define API_PREFIX   "/api/v1/"
#define API_MAX_BODY (64 * 1024)

struct api_route {
	int status;		/* 0: action is set; else the HTTP status of the error */
	enum ctl_action action; /* with status 0 */
	const char *allow;	/* with 405: the method the path takes (for the Allow header) */
	char error[160];	/* with an error status: one line saying why */
};

/* Maps one request to an action. method and path are NUL-terminated (path without the query
 * string); body holds body_len bytes, or is NULL when body_len exceeds API_MAX_BODY (then it is
 * not read). Errors: 404 unknown path, 405 wrong method, 413 body over API_MAX_BODY, 400 body
 * that is not empty or a JSON object this endpoint accepts. */
void api_parse(const char *method, const char *path, const char *body, size_t body_len,
	       struct api_route *out);

/* The endpoint's name for an action ("vm.info"), for logs. */
const char *api_action_name(enum ctl_action action);
