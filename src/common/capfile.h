/* A log file a guest can grow (a serial line's file= output, the VMM's --log-file): capped at
 * a size, with one rotated copy beside it (PATH.1, the previous PATH). Both files are opened
 * when it is created, so rotating needs no path: the current file is copied into PATH.1
 * (pread/pwrite) and truncated, on whichever thread writes (ftruncate, pread64 and pwrite64
 * are on every thread's seccomp list for this). Thread-safe. */
#pragma once
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define CAPFILE_DEFAULT_MAX (64ull << 20) /* --log-max's default */
#define CAPFILE_MIN_MAX	    (64ull << 10)

struct capfile {
	int fd, old_fd; /* PATH, PATH.1 */
	uint64_t size;	/* bytes in PATH */
	uint64_t max;	/* 0: no cap, no PATH.1 */
	unsigned rotations;
	pthread_mutex_t lock;
};

/* Opens PATH (mode 0600 if created; truncated, or appended to with `append`) and, with a cap,
 * PATH.1. Returns 0 or -errno. */
int capfile_open(struct capfile *f, const char *path, uint64_t max, int append);
/* Appends n bytes, rotating first if they would take PATH over the cap; more than the cap at
 * once keeps only its last `max` bytes. Errors drop the output (the reader went away). */
void capfile_write(struct capfile *f, const void *buf, size_t n);
void capfile_close(struct capfile *f);
