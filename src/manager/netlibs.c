#include "manager/netlibs.h"

#include <errno.h>
#include <stdio.h>

struct mgr_curl_lib mgr_curl;
struct mgr_mhd_lib mgr_mhd;
struct mgr_tls_lib mgr_tls;

static struct lazy_set set = LAZY_SET_INIT; /* MGR_LIB_* bits */
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
	static const lazy_loader load[3] = {load_curl, load_mhd, load_tls};

	return lazylib_load_mask(&set, load, 3, mask, err, errlen);
}
