/* `phyllome console`: the terminal attached to a VM's serial console socket. Ctrl-] detaches
 * (typed on a terminal or found in piped input); the VM keeps running. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATTACH_DETACH_KEY 0x1d /* Ctrl-] */

/* Copies in to out up to the detach key. Returns the number of bytes before it and sets
 * *detach if the key was found (the rest of in is dropped). Pure. */
size_t attach_filter(const uint8_t *in, size_t n, uint8_t *out, bool *detach);

/* Attaches this terminal (or stdin/stdout) to the console socket. Returns 0 when detached,
 * 1 when the VM ended (the socket closed), or a negative errno + err. */
int attach_console(const char *sock_path, const char *name, char *err, size_t errlen);
