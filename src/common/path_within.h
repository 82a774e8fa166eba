/* Whether a clean absolute path lies at or below another (whole components: /a is not above
 * /ab; "/" is above every absolute path). Lexical: no file is looked at. */
#pragma once
#include <stdbool.h>
#include <string.h>

static inline bool path_within(const char *ancestor, const char *path)
{
	size_t n = strlen(ancestor);

	if (n == 1 && ancestor[0] == '/')
		return path[0] == '/';
	return !strncmp(ancestor, path, n) && (path[n] == 0 || path[n] == '/');
}
