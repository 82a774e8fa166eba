#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/capfile.h"

/* Process-wide logging settings: these describe the process, not any VM. */
static const char *log_prog = "phyllome";
static enum log_level log_level = LOG_WARN;
static uint64_t log_t0;
static const char *log_eol = "\n";
static struct capfile *log_file;	       /* --log-file, else stderr */
static uint64_t log_max = CAPFILE_DEFAULT_MAX; /* --log-max */
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;

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

void log_set_file(struct capfile *f)
{
	log_file = f;
}

void log_set_file_max(uint64_t max)
{
	log_max = max;
}

uint64_t log_file_max(void)
{
	return log_max;
}

static void log_line(enum log_level level, const char *line)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char out[1200];
	int n;

	/* One write per line so lines from several threads never interleave. */
	if (!log_file) {
		fprintf(stderr, "%s: %s: %s%s", log_prog, names[level], line, log_eol);
		return;
	}
	n = snprintf(out, sizeof(out), "%s: %s: %s\n", log_prog, names[level], line);
	if (n > 0)
		capfile_write(log_file, out, n < (int)sizeof(out) ? (size_t)n : sizeof(out) - 1);
}

__attribute__((format(printf, 2, 0))) static void log_vmsg(enum log_level level, const char *fmt,
							   va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	log_line(level, line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

bool log_limit_pass(struct log_limit *l, uint64_t now, unsigned *dropped)
{
	*dropped = 0;
	if (!l->start || now - l->start >= LOG_LIMIT_WINDOW_NS) {
		*dropped = l->suppressed;
		l->start = now ? now : 1;
		l->count = l->suppressed = 0;
	}
	if (l->count < LOG_LIMIT_BURST) {
		l->count++;
		return true;
	}
	l->suppressed++;
	return false;
}

void log_msg_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
{
	unsigned dropped;
	bool pass;
	va_list ap;

	if (level > log_level)
		return;
	pthread_mutex_lock(&limit_lock);
	pass = log_limit_pass(l, now_ns(), &dropped);
	pthread_mutex_unlock(&limit_lock);
	if (dropped) {
		char note[96];

		snprintf(note, sizeof(note), "(%u messages like the next one were suppressed)",
			 dropped);
		log_line(level, note);
	}
	if (!pass)
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
