/* Listening Unix sockets at a path given by the user (the API socket, --serial/--console
 * socket=, --display vnc=unix:): created mode 0600 from the start, replacing only a stale
 * socket left by a VMM that died, never a regular file or a socket someone still serves. */
#pragma once
#include <stddef.h>

/* Clears the way for a socket at path: 0 if nothing is there or a stale socket was removed;
 * -EEXIST if something that is not a socket is there, -EADDRINUSE if a live socket is (its
 * owner accepts connections), or another -errno. */
int unix_sock_clear_stale(const char *path);
/* socket(AF_UNIX, SOCK_STREAM | flags), the stale check, bind with umask 0177, listen.
 * Returns the descriptor or -errno (-ENAMETOOLONG: path empty or too long). */
int unix_sock_listen(const char *path, int flags, int backlog);
/* What went wrong, for a message: "is in use by another process" and the like. */
const char *unix_sock_strerror(int rc);
