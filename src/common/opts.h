/* Command-line parsing: one declarative table drives both parsing and --help, plus
 * parsers for the "key=value,key=value" sub-options and sizes ("256M", "5G"). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct opt_def {
	const char *name;    /* long name, without "--" */
	char short_name;     /* 0 if none */
	const char *argname; /* NULL: the option takes no argument */
	const char *help;
	int id;
};

/* Called once per option given, in order. Return 0, or a negative errno after writing
 * a message into err. */
typedef int (*opt_cb)(void *ctx, int id, const char *arg, char *err, size_t errlen);

/* Parses argv[1..]. Accepts "--name value", "--name=value", "-s value". Positional
 * arguments are refused. Returns 0 or a negative errno with a message in err. */
int opts_parse(const struct opt_def *defs, int argc, char *const argv[], opt_cb cb, void *ctx,
	       char *err, size_t errlen);
void opts_usage(FILE *f, const struct opt_def *defs);

/* "4096", "64K", "256M", "5G", "1T" (binary units, optional trailing "iB"/"B").
 * Returns 0, or -EINVAL (syntax) / -ERANGE (overflow). */
int opts_parse_size(const char *s, uint64_t *out);
/* Decimal unsigned integer, no sign, no trailing junk, <= max. 0 / -EINVAL / -ERANGE. */
int opts_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Iterates a "k=v,k2=v2,flag" list in place. *cursor starts at a writable copy of the
 * string; each call returns 1 and sets key and val (val is NULL for a bare word), or
 * returns 0 at the end. */
int opts_kv_next(char **cursor, char **key, char **val);
