/* The display's optional libraries, loaded only when a display needs them (common/lazylib.h):
 * libvncserver for --display vnc, GnuTLS for the VNC port's gate (TLS and the WebSocket
 * handshake's SHA-1), libpng for screenshots. Their functions are called through the tables
 * below (ui_vnc.rfbGetScreen(...)); nothing in the VMM links them. */
#pragma once
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <png.h>
#include <rfb/rfb.h>
#include <rfb/rfbregion.h>

#include "common/lazylib.h"
#include "common/vm_config.h"

#define UI_VNC_FUNCS(X)                                                                            \
	X(rfbGetScreen)                                                                            \
	X(rfbInitServer)                                                                           \
	X(rfbShutdownServer)                                                                       \
	X(rfbScreenCleanup)                                                                        \
	X(rfbNewClient)                                                                            \
	X(rfbCloseClient)                                                                          \
	X(rfbProcessEvents)                                                                        \
	X(rfbNewFramebuffer)                                                                       \
	X(rfbMarkRectAsModified)                                                                   \
	X(rfbSetCursor)                                                                            \
	X(rfbGetClientIterator)                                                                    \
	X(rfbClientIteratorNext)                                                                   \
	X(rfbReleaseClientIterator)                                                                \
	X(rfbCheckPasswordByList)                                                                  \
	X(rfbEncryptBytes)                                                                         \
	X(sraRgnEmpty)

#define UI_TLS_FUNCS(X)                                                                            \
	X(gnutls_certificate_allocate_credentials)                                                 \
	X(gnutls_certificate_free_credentials)                                                     \
	X(gnutls_certificate_set_x509_key_file)                                                    \
	X(gnutls_credentials_set)                                                                  \
	X(gnutls_init)                                                                             \
	X(gnutls_deinit)                                                                           \
	X(gnutls_set_default_priority)                                                             \
	X(gnutls_transport_set_int2)                                                               \
	X(gnutls_handshake)                                                                        \
	X(gnutls_record_recv)                                                                      \
	X(gnutls_record_send)                                                                      \
	X(gnutls_record_check_pending)                                                             \
	X(gnutls_record_get_direction)                                                             \
	X(gnutls_strerror)                                                                         \
	X(gnutls_hash_fast)

#define UI_PNG_FUNCS(X)                                                                            \
	X(png_create_write_struct)                                                                 \
	X(png_create_info_struct)                                                                  \
	X(png_destroy_write_struct)                                                                \
	X(png_set_longjmp_fn)                                                                      \
	X(png_set_write_fn)                                                                        \
	X(png_get_io_ptr)                                                                          \
	X(png_set_IHDR)                                                                            \
	X(png_set_compression_level)                                                               \
	X(png_write_info)                                                                          \
	X(png_write_row)                                                                           \
	X(png_write_end)

struct ui_vnc_lib {
	UI_VNC_FUNCS(LAZY_FIELD)
	rfbLogProc *rfbLog; /* libvncserver's log hooks (variables) */
	rfbLogProc *rfbErr;
};
struct ui_tls_lib {
	UI_TLS_FUNCS(LAZY_FIELD)
};
struct ui_png_lib {
	UI_PNG_FUNCS(LAZY_FIELD)
};

extern struct ui_vnc_lib ui_vnc;
extern struct ui_tls_lib ui_tls;
extern struct ui_png_lib ui_png;

enum { UI_LIB_VNC = 1, UI_LIB_TLS = 2, UI_LIB_PNG = 4 };

/* The libraries a display configuration uses: none for DISPLAY_OFF. */
unsigned ui_libs_for(const struct display_config *cfg);
/* Loads those of mask not loaded yet (thread-safe; a library loaded stays). Returns 0, or
 * -ENOENT with one line in err. The VMM calls it before its seccomp filters go on (they forbid
 * mapping code); the display's own entry points call it too, for tests and fuzz targets. */
int ui_libs_load(unsigned mask, char *err, size_t errlen);
