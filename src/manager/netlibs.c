#include "manager/netlibs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>

struct mgr_curl_lib mgr_curl;
struct mgr_mhd_lib mgr_mhd;
struct mgr_tls_lib mgr_tls;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned loaded; /* MGR_LIB_* bits, under lock (read without it only once set) */
static void *handles[3];

static int load_curl(char *err, size_t errlen)
{
#define ROW(f) LAZY_ROW(mgr_curl, f)
	const struct lazy_sym syms[] = {MGR_CURL_FUNCS(ROW){NULL, NULL}};
#undef ROW
	int rc =
	    lazylib_load(&handles[0], MGR_CURL_SONAME, "downloads", "libcurl4", syms, err, errlen);

	if (rc == 0 && mgr_curl.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "downloads: libcurl did not start");
		rc = -EIO;
	}
	return rc;
}

static int load_mhd(char *err, size_t errlen)
{
#define ROW(f) LAZY_ROW(mgr_mhd, f)
	const struct lazy_sym syms[] = {MGR_MHD_FUNCS(ROW){NULL, NULL}};
#undef ROW
	return lazylib_load(&handles[1], MGR_MHD_SONAME, "the desktop app", "libmicrohttpd12", syms,
			    err, errlen);
}

static int load_tls(char *err, size_t errlen)
{
#define ROW(f) LAZY_ROW(mgr_tls, f)
	const struct lazy_sym syms[] = {MGR_TLS_FUNCS(ROW){NULL, NULL}};
#undef ROW
	return lazylib_load(&handles[2], MGR_TLS_SONAME, "digests", "libgnutls30", syms, err,
			    errlen);
}

int mgr_libs_load(unsigned mask, char *err, size_t errlen)
{
	static int (*const load[3])(char *, size_t) = {load_curl, load_mhd, load_tls};
	int rc = 0;

	if ((__atomic_load_n(&loaded, __ATOMIC_ACQUIRE) & mask) == mask)
		return 0;
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < 3 && rc == 0; i++)
		if ((mask & (1u << i)) && !(loaded & (1u << i))) {
			rc = load[i](err, errlen);
			if (rc == 0)
				__atomic_or_fetch(&loaded, 1u << i, __ATOMIC_RELEASE);
		}
	pthread_mutex_unlock(&lock);
	return rc;
}
