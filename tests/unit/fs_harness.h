/* Builds FUSE requests and reads their replies for the file server's tests (test_fs.c,
 * test_fs_escape.c): a temporary folder to share, a folder beside it that must stay untouched,
 * and the server on the shared one. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/fs_server.h"
#include "backends/fuse_wire.h"

struct fsh {
	char base[64];	  /* the temporary folder holding both */
	char share[96];	  /* base/share: the shared folder */
	char outside[96]; /* base/outside: must never change */
	struct fs_srv *srv;
	uint8_t req[FS_MAX_REQ];
	uint8_t out[FS_MAX_REPLY];
	size_t outlen;
	uint64_t unique;
};

/* One piece of a request's body. */
struct fsh_part {
	const void *p;
	size_t len;
};

#define FSH_STR(s) ((struct fsh_part){(s), strlen(s) + 1})
#define FSH_ARG(a) ((struct fsh_part){&(a), sizeof(a)})

/* Where fsh_setup makes its temporary folder ("/tmp" unless a test sets it). */
extern const char *fsh_tmpdir;
/* Makes the folders and the server (readonly or not), then sends INIT. */
void fsh_setup(struct fsh *h, bool readonly);
void fsh_teardown(struct fsh *h);
/* Sends op on node with the parts as its body; returns the reply's error (0 or -errno). */
int fsh_call(struct fsh *h, uint32_t op, uint64_t node, const struct fsh_part *parts, unsigned n);
/* The reply's payload (after the out header) and its length. */
const void *fsh_payload(const struct fsh *h, size_t *len);
/* LOOKUP name in node: the new node id (0 on error, with *err set when err is not NULL). */
uint64_t fsh_lookup(struct fsh *h, uint64_t node, const char *name, int *err);
/* OPEN (or OPENDIR) a node: the handle, 0 on error (*err). */
uint64_t fsh_open(struct fsh *h, uint64_t node, uint32_t flags, bool dir, int *err);
/* CREATE name in node with flags: the new node and its handle (*fh); 0 on error (*err). */
uint64_t fsh_create(struct fsh *h, uint64_t node, const char *name, uint32_t flags, uint64_t *fh,
		    int *err);
/* WRITE / READ through a handle: bytes moved, or -errno. */
long fsh_write(struct fsh *h, uint64_t node, uint64_t fh, uint64_t off, const void *p, size_t len);
long fsh_read(struct fsh *h, uint64_t node, uint64_t fh, uint64_t off, void *p, size_t len);
/* A file beneath base with text (host side). */
void fsh_put(const struct fsh *h, const char *rel, const char *text);
/* The text of a file beneath base, or "" (host side). */
const char *fsh_get(const struct fsh *h, const char *rel, char *buf, size_t len);
