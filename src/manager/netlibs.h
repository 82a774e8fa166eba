/* The manager's network and crypto libraries (libcurl: downloads; libmicrohttpd: the desktop
 * app's server; GnuTLS: digests), loaded when a command needs them (src/common/lazylib.c), not
 * at every start: a `phyllome stop` or `run -d` maps libc and jansson only, where linking them
 * loaded 33 libraries at every start (docs/benchmarks.md, "16 VMs at once"). Call them as
 * mgr_curl.curl_easy_init() etc. after mgr_libs_load(MGR_LIB_CURL, ...) succeeded. */
#pragma once
#include <stddef.h>
/* libcurl's gcc type checks are macros named as the functions: they would expand in
 * mgr_curl.curl_easy_setopt(...). The options' types are checked by review and the tests. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "common/lazylib.h"

#define MGR_CURL_SONAME "libcurl.so.4"
#define MGR_MHD_SONAME	"libmicrohttpd.so.12"
#define MGR_TLS_SONAME	"libgnutls.so.30"

#define MGR_CURL_FUNCS(X)                                                                          \
	X(curl_global_init)                                                                        \
	X(curl_easy_init)                                                                          \
	X(curl_easy_setopt)                                                                        \
	X(curl_easy_getinfo)                                                                       \
	X(curl_easy_perform)                                                                       \
	X(curl_easy_strerror)                                                                      \
	X(curl_easy_cleanup)
#define MGR_MHD_FUNCS(X)                                                                           \
	X(MHD_start_daemon)                                                                        \
	X(MHD_stop_daemon)                                                                         \
	X(MHD_lookup_connection_value)                                                             \
	X(MHD_queue_response)                                                                      \
	X(MHD_create_response_from_buffer)                                                         \
	X(MHD_create_response_from_fd)                                                             \
	X(MHD_create_response_for_upgrade)                                                         \
	X(MHD_add_response_header)                                                                 \
	X(MHD_destroy_response)                                                                    \
	X(MHD_upgrade_action)                                                                      \
	X(MHD_is_feature_supported)
#define MGR_TLS_FUNCS(X)                                                                           \
	X(gnutls_hash_get_len)                                                                     \
	X(gnutls_hash_init)                                                                        \
	X(gnutls_hash)                                                                             \
	X(gnutls_rnd)                                                                              \
	X(gnutls_strerror)                                                                         \
	X(gnutls_x509_crt_deinit)                                                                  \
	X(gnutls_x509_crt_export2)                                                                 \
	X(gnutls_x509_crt_init)                                                                    \
	X(gnutls_x509_crt_set_activation_time)                                                     \
	X(gnutls_x509_crt_set_basic_constraints)                                                   \
	X(gnutls_x509_crt_set_dn_by_oid)                                                           \
	X(gnutls_x509_crt_set_expiration_time)                                                     \
	X(gnutls_x509_crt_set_key)                                                                 \
	X(gnutls_x509_crt_set_key_purpose_oid)                                                     \
	X(gnutls_x509_crt_set_key_usage)                                                           \
	X(gnutls_x509_crt_set_serial)                                                              \
	X(gnutls_x509_crt_set_subject_alt_name)                                                    \
	X(gnutls_x509_crt_set_version)                                                             \
	X(gnutls_x509_crt_sign2)                                                                   \
	X(gnutls_x509_privkey_deinit)                                                              \
	X(gnutls_x509_privkey_export2)                                                             \
	X(gnutls_x509_privkey_generate)                                                            \
	X(gnutls_x509_privkey_init)                                                                \
	X(gnutls_free)                                                                             \
	X(gnutls_hash_deinit)                                                                      \
	X(gnutls_hash_fast)

extern struct mgr_curl_lib {
	MGR_CURL_FUNCS(LAZY_FIELD)
} mgr_curl;
extern struct mgr_mhd_lib {
	MGR_MHD_FUNCS(LAZY_FIELD)
} mgr_mhd;
extern struct mgr_tls_lib {
	MGR_TLS_FUNCS(LAZY_FIELD)
} mgr_tls;

enum { MGR_LIB_CURL = 1u, MGR_LIB_MHD = 2u, MGR_LIB_TLS = 4u };

/* Loads the libraries of mask (once each; safe from several threads). 0, or -ENOENT with one
 * line in err naming the feature, the Debian package and what is missing. */
int mgr_libs_load(unsigned mask, char *err, size_t errlen);
