#include "ui/uilibs.h"

#include <stdio.h>

#include "ui/uilib_names.h"

struct ui_vnc_lib ui_vnc;
struct ui_tls_lib ui_tls;
struct ui_png_lib ui_png;

static struct lazy_set set = LAZY_SET_INIT; /* UI_LIB_* bits */
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
	static const lazy_loader load[3] = {load_vnc, load_tls, load_png};

	return lazylib_load_mask(&set, load, 3, mask, err, errlen);
}
