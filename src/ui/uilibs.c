#include "ui/uilibs.h"

#include <pthread.h>
#include <stdio.h>

#include "ui/uilib_names.h"

struct ui_vnc_lib ui_vnc;
struct ui_tls_lib ui_tls;
struct ui_png_lib ui_png;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned loaded; /* UI_LIB_* bits, under lock (read without it only once set) */
static void *handles[3];

unsigned ui_libs_for(const struct display_config *cfg)
{
	switch (cfg->kind) {
	case DISPLAY_VNC:
		return UI_LIB_VNC | UI_LIB_TLS | UI_LIB_PNG;
	case DISPLAY_NONE:
	case DISPLAY_WINDOW:
		return UI_LIB_PNG; /* screenshots */
	default:
		return 0;
	}
}

static int load_vnc(char *err, size_t errlen)
{
#define ROW(f) LAZY_ROW(ui_vnc, f)
	const struct lazy_sym syms[] = {UI_VNC_FUNCS(ROW){"rfbLog", (void **)&ui_vnc.rfbLog},
					{"rfbErr", (void **)&ui_vnc.rfbErr},
					{NULL, NULL}};
#undef ROW
	return lazylib_load(&handles[0], UI_VNC_SONAME, "--display vnc", "libvncserver1", syms, err,
			    errlen);
}

static int load_tls(char *err, size_t errlen)
{
#define ROW(f) LAZY_ROW(ui_tls, f)
	const struct lazy_sym syms[] = {UI_TLS_FUNCS(ROW){NULL, NULL}};
#undef ROW
	return lazylib_load(&handles[1], UI_TLS_SONAME, "--display vnc", "libgnutls30", syms, err,
			    errlen);
}

static int load_png(char *err, size_t errlen)
{
#define ROW(f) LAZY_ROW(ui_png, f)
	const struct lazy_sym syms[] = {UI_PNG_FUNCS(ROW){NULL, NULL}};
#undef ROW
	return lazylib_load(&handles[2], UI_PNG_SONAME, "display screenshots", "libpng16-16", syms,
			    err, errlen);
}

int ui_libs_load(unsigned mask, char *err, size_t errlen)
{
	static int (*const load[3])(char *, size_t) = {load_vnc, load_tls, load_png};
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
