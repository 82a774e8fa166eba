/* Optional shared libraries, loaded when the feature that needs them is used (and before the
 * seccomp filters go on), not at every start: a VMM without a display maps none of them
 * (docs/benchmarks.md, start-up and memory). A library's functions are a struct of pointers
 * named as the library names them; an X-macro list of the names fills both. */
#pragma once
#include <pthread.h>
#include <stddef.h>

/* --sound pulse's libraries (also made visible in phyllome-jail). */
#define LAZYLIB_PULSE_SIMPLE "libpulse-simple.so.0"
#define LAZYLIB_PULSE	     "libpulse.so.0"

struct lazy_sym {
	const char *name;
	void **slot; /* where the function's address goes */
};

/* A field of the struct: `LIST(LAZY_FIELD)` inside `struct { ... }`. */
#define LAZY_FIELD(f) __typeof__(f) *f;
/* A row of the lazy_sym table for field f of struct s: with `#define ROW(f) LAZY_ROW(s, f)`,
 * `{LIST(ROW) {NULL, NULL}}` is the table. */
#define LAZY_ROW(s, f) {#f, (void **)&(s).f},

/* dlopen()s soname (RTLD_NOW | RTLD_LOCAL) and resolves every symbol of syms (ended by a
 * row with name NULL). Returns 0, or -ENOENT with one line in err naming what (the feature),
 * pkg (the Debian package that has the library) and the missing library or symbol. */
int lazylib_load(void **handle, const char *soname, const char *what, const char *pkg,
		 const struct lazy_sym *syms, char *err, size_t errlen);

/* A set of libraries named by bits: load[i] loads the one of bit 1 << i (with lazylib_load).
 * lazylib_load_mask loads those of mask not loaded yet, once each, safe from several threads
 * (a mask already loaded costs one atomic read). 0, or the first failing load's error. */
struct lazy_set {
	pthread_mutex_t lock;
	unsigned loaded; /* bits, under lock (read without it only once set) */
};
#define LAZY_SET_INIT                                                                              \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, 0                                                       \
	}
typedef int (*lazy_loader)(char *err, size_t errlen);
int lazylib_load_mask(struct lazy_set *set, const lazy_loader *load, unsigned n, unsigned mask,
		      char *err, size_t errlen);
