/* HTTPS for `phyllome ui` (docs/ui.md "HTTPS"): the certificate and key it serves with, PEM in
 * memory for libmicrohttpd's TLS (which runs the TLS itself, through its own GnuTLS: the app has
 * no TLS code of its own). Either the user's files (--tls-cert/--tls-key), or with --tls a
 * self-signed certificate made once with GnuTLS and kept in STATE/ui-tls/ (key 0600). */
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "manager/netlibs.h"
#include "manager/ui_tls.h"
#include "manager/store.h"

#define TLS_DAYS 3650

/* A self-signed certificate for the names 127.0.0.1, ::1 and localhost, an ECDSA P-256 key.
 * 0, or a GnuTLS error code. */
static int make_selfsigned(gnutls_datum_t *crt_pem, gnutls_datum_t *key_pem)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	unsigned char serial[16];
	static const unsigned char v4[] = {127, 0, 0, 1},
				   v6[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	time_t now = time(NULL);
	int rc;

	rc = mgr_tls.gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));
	serial[0] &= 0x7f; /* a positive serial number */
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_privkey_init(&key);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_privkey_generate(
		    key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_init(&crt);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_set_key(crt, key);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_set_version(crt, 3);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_set_activation_time(crt, now - 3600);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_set_expiration_time(crt, now + TLS_DAYS * 86400L);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
							   "phyllome ui", strlen("phyllome ui"));
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_set_subject_alt_name(
		    crt, GNUTLS_SAN_DNSNAME, "localhost", strlen("localhost"), GNUTLS_FSAN_APPEND);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v4,
								  sizeof(v4), GNUTLS_FSAN_APPEND);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v6,
								  sizeof(v6), GNUTLS_FSAN_APPEND);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, crt_pem);
	if (rc == 0)
		rc = mgr_tls.gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, key_pem);
	if (crt)
		mgr_tls.gnutls_x509_crt_deinit(crt);
	if (key)
		mgr_tls.gnutls_x509_privkey_deinit(key);
	return rc;
}

int ui_tls_selfsigned(const char *root, char cert[PATH_MAX], char key[PATH_MAX], char *err,
		      size_t errlen)
{
	gnutls_datum_t c = {0}, k = {0};
	char dir[PATH_MAX];
	int rc;

	snprintf(dir, sizeof(dir), "%.4000s/ui-tls", root);
	snprintf(cert, PATH_MAX, "%.4000s/cert.pem", dir);
	snprintf(key, PATH_MAX, "%.4000s/key.pem", dir);
	if (access(cert, R_OK) == 0 && access(key, R_OK) == 0)
		return 0;
	if (mgr_libs_load(MGR_LIB_TLS, err, errlen) < 0)
		return -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot make %s: %s", dir, strerror(errno));
		return -1;
	}
	rc = make_selfsigned(&c, &k);
	if (rc < 0) {
		snprintf(err, errlen, "cannot make a certificate: %s", mgr_tls.gnutls_strerror(rc));
		return -1;
	}
	/* PEM text, NUL-terminated for store_write_file (both files 0600) */
	char *cs = strndup((const char *)c.data, c.size),
	     *ks = strndup((const char *)k.data, k.size);

	rc = cs && ks ? store_write_file(dir, "key.pem", ks) : -ENOMEM;
	if (rc == 0)
		rc = store_write_file(dir, "cert.pem", cs);
	free(cs);
	free(ks);
	(*mgr_tls.gnutls_free)(c.data);
	(*mgr_tls.gnutls_free)(k.data);
	if (rc < 0) {
		snprintf(err, errlen, "cannot write %s: %s", dir, strerror(-rc));
		return -1;
	}
	return 0;
}

int ui_tls_read(const char *path, char **pem, char *err, size_t errlen)
{
	size_t n = 0;

	*pem = NULL;
	if (store_read_file(path, pem, &n) < 0 || !n) {
		snprintf(err, errlen, "cannot read %s%s", path, n ? "" : " (or it is empty)");
		free(*pem);
		*pem = NULL;
		return -1;
	}
	return 0;
}
