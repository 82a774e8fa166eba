#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* Process-wide logging settings: these describe the process, not any VM. */
static const char *log_prog = "phyllome";
static enum log_level log_level = LOG_WARN;
static uint64_t log_t0;
static const char *log_eol = "\n";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void log_init(const char *prog)
{
	log_prog = prog;
	log_t0 = now_ns();
	/* A terminal may be in raw mode while a guest runs: end lines with CR LF there. */
	log_eol = isatty(2) ? "\r\n" : "\n";
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

uint64_t log_elapsed_ns(void)
{
	return now_ns() - log_t0;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char line[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so lines from several threads never interleave. */
	fprintf(stderr, "%s: %s: %s%s", log_prog, names[level], line, log_eol);
}
