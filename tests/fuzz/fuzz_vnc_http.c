/* libFuzzer: an HTTP request head on the VNC port (the browser console's page, noVNC's files,
 * the WebSocket upgrade), as the gate parses it (vncp_http_parse), then the upgrade's answer
 * (vncp_ws_accept) and the Origin check. Checked: a complete head's length is within the input,
 * every field it fills is a terminated string of its size, and an incomplete head is never
 * taken for one. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ui/vnc_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vncp_http h;
	char accept[29];
	int rc;

	if (size > 2 * VNCP_HTTP_MAX)
		return 0;
	rc = vncp_http_parse((const char *)data, size, &h);
	check(rc == 0 || rc == -EINVAL || rc == -E2BIG || (rc > 0 && (size_t)rc <= size));
	check(rc != -E2BIG || size >= VNCP_HTTP_MAX);
	if (rc <= 0)
		return 0;
	check(rc >= 4 && !memcmp(data + rc - 4, "\r\n\r\n", 4));
	check(memchr(h.path, 0, sizeof(h.path)) && h.path[0] == '/');
	check(memchr(h.key, 0, sizeof(h.key)) != NULL);
	check(memchr(h.host, 0, sizeof(h.host)) != NULL);
	check(memchr(h.origin, 0, sizeof(h.origin)) != NULL);
	if (vncp_ws_accept(h.key, accept) == 0)
		check(strlen(accept) == 28);
	(void)vncp_origin_ok(&h);
	return 0;
}
