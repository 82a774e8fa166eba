/* Helpers of the manager's unit tests: argv from '|'-separated words, and looking for an
 * option and its value in a command line. */
#pragma once
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* argv from words separated by '|' (the words are writable copies; free with free_words). */
static inline char **words(const char *line, int *argc)
{
	char *copy = strdup(line), *save = NULL, **v = calloc(64, sizeof(*v));
	int n = 0;

	for (char *w = strtok_r(copy, "|", &save); w && n < 63; w = strtok_r(NULL, "|", &save))
		v[n++] = strdup(w);
	free(copy);
	*argc = n;
	return v;
}

static inline void free_words(char **v)
{
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

/* True if argv holds opt followed by val. */
static inline bool has_pair(char **argv, const char *opt, const char *val)
{
	for (size_t i = 0; argv[i] && argv[i + 1]; i++)
		if (!strcmp(argv[i], opt) && !strcmp(argv[i + 1], val))
			return true;
	return false;
}

/* True if argv holds the word w. */
static inline bool has_word(char **argv, const char *w)
{
	for (size_t i = 0; argv[i]; i++)
		if (!strcmp(argv[i], w))
			return true;
	return false;
}
