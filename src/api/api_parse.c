#include "api/api_parse.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"

static const struct endpoint {
	const char *name; /* the path after API_PREFIX */
	const char *method;
	enum ctl_action action;
} endpoints[] = {
    {"vmm.ping", "GET", CTL_PING},
    {"vm.info", "GET", CTL_INFO},
    {"vm.counters", "GET", CTL_COUNTERS},
    {"vm.pause", "PUT", CTL_PAUSE},
    {"vm.resume", "PUT", CTL_RESUME},
    {"vm.shutdown", "PUT", CTL_SHUTDOWN},
    {"vmm.shutdown", "PUT", CTL_SHUTDOWN}, /* Cloud Hypervisor's name for ending the VMM */
    {"vm.reboot", "PUT", CTL_REBOOT},
    {"vm.power-button", "PUT", CTL_POWER_BUTTON},
    {"vm.screenshot", "GET", CTL_SCREENSHOT},
};

const char *api_action_name(enum ctl_action action)
{
	for (size_t i = 0; i < ARRAY_SIZE(endpoints); i++)
		if (endpoints[i].action == action)
			return endpoints[i].name;
	return "?";
}

__attribute__((format(printf, 3, 4))) static void fail(struct api_route *out, int status,
						       const char *fmt, ...)
{
	va_list ap;

	out->status = status;
	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
}

static const struct endpoint *find(const char *path)
{
	size_t n = strlen(API_PREFIX);

	if (strncmp(path, API_PREFIX, n))
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(endpoints); i++)
		if (!strcmp(path + n, endpoints[i].name))
			return &endpoints[i];
	return NULL;
}

static bool blank(const char *body, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!body[i] || !strchr(" \t\r\n", body[i]))
			return false;
	return true;
}

/* No endpoint takes parameters yet: a body may be empty, or a JSON object with no members. */
static void check_body(const struct endpoint *e, const char *body, size_t len,
		       struct api_route *out)
{
	json_error_t jerr;
	json_t *j;

	if (len == 0 || blank(body, len))
		return;
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!j) {
		fail(out, 400, "malformed JSON body: %.100s (line %d, column %d)", jerr.text,
		     jerr.line, jerr.column);
		return;
	}
	if (!json_is_object(j))
		fail(out, 400, "the body must be a JSON object");
	else if (json_object_size(j) != 0)
		fail(out, 400, "%s takes no parameters", e->name);
	json_decref(j);
}

void api_parse(const char *method, const char *path, const char *body, size_t body_len,
	       struct api_route *out)
{
	const struct endpoint *e = find(path);

	memset(out, 0, sizeof(*out));
	if (!e) {
		fail(out, 404, "no such endpoint (see docs/api.md)");
		return;
	}
	if (strcmp(method, e->method)) {
		out->allow = e->method;
		fail(out, 405, "%s takes %s", e->name, e->method);
		return;
	}
	if (body_len > API_MAX_BODY || (!body && body_len)) {
		fail(out, 413, "request body over %d bytes", API_MAX_BODY);
		return;
	}
	check_body(e, body, body_len, out);
	if (out->status == 0)
		out->action = e->action;
}
