/* Logging: one line per message on stderr (or --log-file, capped), prefixed with the
 * program name; pr_warn_limited for what a guest can trigger over and over. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct capfile;

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(const char *prog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Nanoseconds since log_init (CLOCK_MONOTONIC). */
uint64_t log_elapsed_ns(void);

/* Where lines go instead of stderr (NULL: stderr), and the cap of log and file= outputs
 * (--log-max; 0: none). Process-wide, like the level. */
void log_set_file(struct capfile *f);
void log_set_file_max(uint64_t max);
uint64_t log_file_max(void);

/* Rate limit for one message (one call site): at most LOG_LIMIT_BURST lines per
 * LOG_LIMIT_WINDOW_NS; the first line after a window that dropped some says how many. */
#define LOG_LIMIT_BURST	    10
#define LOG_LIMIT_WINDOW_NS (5ull * 1000000000ull)
struct log_limit {
	uint64_t start; /* this window's start (0: none yet) */
	unsigned count, suppressed;
};
/* Pure: whether a line at `now` goes out; *dropped: lines suppressed in the window that just
 * ended (to be reported), else 0. */
bool log_limit_pass(struct log_limit *l, uint64_t now, unsigned *dropped);
void log_msg_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define pr_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
/* For messages a guest can cause at will (a broken queue after each reset, a bad ring): its
 * state is the call site's own. */
#define pr_warn_limited(...)                                                                       \
	do {                                                                                       \
		static struct log_limit pr_limit_;                                                 \
		log_msg_limited(&pr_limit_, LOG_WARN, __VA_ARGS__);                                \
	} while (0)
