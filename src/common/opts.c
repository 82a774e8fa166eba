#include "common/opts.h"

#include <errno.h>
#include <string.h>

static const struct opt_def *find_long(const struct opt_def *defs, const char *name, size_t len)
{
	for (; defs->name; defs++)
		if (strlen(defs->name) == len && !memcmp(defs->name, name, len))
			return defs;
	return NULL;
}

static const struct opt_def *find_short(const struct opt_def *defs, char c)
{
	for (; defs->name; defs++)
		if (defs->short_name && defs->short_name == c)
			return defs;
	return NULL;
}

/* Resolves argv[*i] to a definition and its argument (advancing *i if the argument is
 * the next word). */
static int parse_one(const struct opt_def *defs, int argc, char *const argv[], int *i,
		     const struct opt_def **out, const char **arg, char *err, size_t errlen)
{
	const char *word = argv[*i];
	const char *eq = NULL;
	const struct opt_def *d = NULL;

	if (word[0] == '-' && word[1] == '-' && word[2]) {
		eq = strchr(word + 2, '=');
		d = find_long(defs, word + 2, eq ? (size_t)(eq - word - 2) : strlen(word + 2));
	} else if (word[0] == '-' && word[1] && !word[2]) {
		d = find_short(defs, word[1]);
	} else {
		snprintf(err, errlen, "unexpected argument '%s' (options start with --)", word);
		return -EINVAL;
	}
	if (!d) {
		snprintf(err, errlen, "unknown option '%s' (see --help)", word);
		return -EINVAL;
	}
	*arg = NULL;
	if (!d->argname) {
		if (eq) {
			snprintf(err, errlen, "option --%s takes no value", d->name);
			return -EINVAL;
		}
	} else if (eq) {
		*arg = eq + 1;
	} else if (*i + 1 < argc) {
		*arg = argv[++*i];
	} else {
		snprintf(err, errlen, "option --%s needs a value (%s)", d->name, d->argname);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

int opts_parse(const struct opt_def *defs, int argc, char *const argv[], opt_cb cb, void *ctx,
	       char *err, size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const struct opt_def *d;
		const char *arg;
		int rc = parse_one(defs, argc, argv, &i, &d, &arg, err, errlen);

		if (rc < 0)
			return rc;
		rc = cb(ctx, d->id, arg, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void opts_usage(FILE *f, const struct opt_def *defs)
{
	for (; defs->name; defs++) {
		char left[80];

		if (defs->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", defs->short_name, defs->name,
				 defs->argname ? " " : "", defs->argname ? defs->argname : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", defs->name,
				 defs->argname ? " " : "", defs->argname ? defs->argname : "");
		fprintf(f, "  %-44s %s\n", left, defs->help);
	}
}

int opts_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int unit_shift(const char *suffix, unsigned *shift)
{
	static const char units[] = "KMGTP";
	const char *u;

	if (!*suffix) {
		*shift = 0;
		return 0;
	}
	u = strchr(units, *suffix & ~0x20);
	if (!u || !*u)
		return -EINVAL;
	suffix++;
	if (!strcmp(suffix, "") || !strcmp(suffix, "B") || !strcmp(suffix, "iB"))
		*shift = 10u * (unsigned)(u - units + 1);
	else
		return -EINVAL;
	return 0;
}

int opts_parse_size(const char *s, uint64_t *out)
{
	char digits[32];
	size_t n = 0;
	unsigned shift;
	uint64_t v;
	int rc;

	if (!s)
		return -EINVAL;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0 || n >= sizeof(digits))
		return n ? -ERANGE : -EINVAL;
	memcpy(digits, s, n);
	digits[n] = 0;
	rc = unit_shift(s + n, &shift);
	if (rc < 0)
		return rc;
	rc = opts_parse_u64(digits, UINT64_MAX >> shift, &v);
	if (rc < 0)
		return rc;
	*out = v << shift;
	return 0;
}

int opts_kv_next(char **cursor, char **key, char **val)
{
	char *p = *cursor;
	char *comma, *eq;

	if (!p || !*p)
		return 0;
	comma = strchr(p, ',');
	if (comma) {
		*comma = 0;
		*cursor = comma + 1;
	} else {
		*cursor = p + strlen(p);
	}
	eq = strchr(p, '=');
	if (eq)
		*eq = 0;
	*key = p;
	*val = eq ? eq + 1 : NULL;
	return 1;
}
