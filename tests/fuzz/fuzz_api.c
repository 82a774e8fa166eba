/* libFuzzer: bytes "METHOD\0PATH\0BODY" -> api_parse, the API's request parser; its answer must
 * be one of the documented ones. The body also goes through api_json_error, which must always
 * produce valid JSON (paths and messages may hold any bytes). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_json.h"
#include "api/api_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void check_route(const char *method, const char *path, const struct api_route *rt)
{
	size_t n = strlen(API_PREFIX);

	check(memchr(rt->error, 0, sizeof(rt->error)) != NULL);
	switch (rt->status) {
	case 0:
		check(rt->error[0] == 0);
		check(!strncmp(path, API_PREFIX, n));
		/* vmm.shutdown is the one alias (of vm.shutdown) */
		check(!strcmp(path + n, api_action_name(rt->action)) ||
		      (rt->action == CTL_SHUTDOWN && !strcmp(path + n, "vmm.shutdown")));
		check(!strcmp(method, "GET") || !strcmp(method, "PUT"));
		break;
	case 405:
		check(rt->allow != NULL && strcmp(method, rt->allow) != 0);
		check(rt->error[0] != 0);
		break;
	case 400:
	case 404:
	case 413:
		check(rt->error[0] != 0);
		break;
	default:
		check(0);
	}
}

static void check_error_json(const char *msg)
{
	char *s = api_json_error(msg);
	json_t *j;

	check(s != NULL);
	j = json_loads(s, 0, NULL);
	check(j != NULL && json_is_string(json_object_get(j, "error")));
	json_decref(j);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 3);
	const char *method, *path, *body;
	size_t used, body_len;
	struct api_route rt;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = buf[size + 2] = 0;
	method = buf;
	path = method + strlen(method) + 1;
	body = path + strlen(path) + 1;
	used = (size_t)(body - buf);
	body_len = used < size ? size - used : 0;

	api_parse(method, path, body, body_len, &rt);
	check_route(method, path, &rt);
	/* The same request, announced larger than the limit: 413 unless the route fails first. */
	api_parse(method, path, NULL, API_MAX_BODY + 1 + body_len, &rt);
	check(rt.status == 413 || rt.status == 404 || rt.status == 405);
	check_error_json(body);
	free(buf);
	return 0;
}
