/* Checking what was downloaded: a file's SHA-256/SHA-512 (GnuTLS) against the publisher's, and
 * an OpenPGP signature with gpgv (Debian's gpgv) against a keyring file. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "manager/sums.h"

/* The digest of the file at path, as lowercase hex. 0 or -errno. */
int verify_digest(const char *path, enum sums_algo algo, char hex[129]);
/* gpgv --keyring KEYRING SIG DATA (sig NULL: DATA is clearsigned; its signed text is then
 * written to out). 0 if the signature is good and made by a key of the keyring; -EPERM if not;
 * -ENOENT if gpgv is missing. */
int verify_signature(const char *keyring, const char *sig, const char *data, const char *out);
