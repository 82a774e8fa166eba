/* Helpers for the qcow2 tests: images made and checked with qemu-img (a test-only tool),
 * opened with backends/qcow2.c, and a raw reference file kept beside each. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/qcow2.h"

/* A fresh temporary folder for this process; files are named inside it. */
const char *q2t_dir(void);
const char *q2t_path(const char *name); /* q2t_dir()/name, in a rotating static buffer */
bool q2t_have_qemu_img(void);
/* A second folder, on a file system that takes O_DIRECT and is not tmpfs (direct=on has
 * nothing to bypass there): $PHYLLOME_DIRECT_DIR, else /var/tmp; NULL with the reason in why
 * where there is none. q2t_dpath names a file inside it; q2t_direct_cleanup removes it. */
const char *q2t_direct_dir(char *why, size_t whylen);
const char *q2t_dpath(const char *name);
void q2t_direct_cleanup(void);
/* Runs a shell command line (printf-style); returns its exit status. */
int q2t_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* qemu-img check's exit status: 0 clean, 3 leaked clusters only, 2 corruption. */
int q2t_check(const char *img);
struct qcow2 *q2t_open(const char *img, bool readonly, bool backing, int *fd, char *err,
		       size_t errlen);
void q2t_close(struct qcow2 *q, int fd);
int q2t_rw(struct qcow2 *q, bool write, void *buf, uint64_t off, uint64_t len);
void q2t_fill(uint8_t *buf, size_t len, uint32_t seed);
/* Writes len bytes of buf at off into the raw file (the reference). */
void q2t_ref_write(const char *raw, const void *buf, uint64_t off, uint64_t len);
