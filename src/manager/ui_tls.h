/* HTTPS for `phyllome ui`: its certificate and key (ui_tls.c; docs/ui.md "HTTPS"). */
#pragma once
#include <limits.h>
#include <stddef.h>

/* --tls: ROOT/ui-tls/cert.pem and key.pem (both 0600, the folder 0700), a self-signed
 * certificate for localhost, 127.0.0.1 and ::1 made on first use and kept. Their paths in cert
 * and key. 0 or -1 with err set. */
int ui_tls_selfsigned(const char *root, char cert[PATH_MAX], char key[PATH_MAX], char *err,
		      size_t errlen);
/* A PEM file into *pem (malloc'd, NUL-terminated). 0 or -1 with err set. */
int ui_tls_read(const char *path, char **pem, char *err, size_t errlen);
