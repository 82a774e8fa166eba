/* The sonames of the display's optional libraries (src/ui/uilibs.c loads them on demand), for
 * what must provide them without linking them: the jail's view of the host (src/jail). */
#pragma once

#define UI_VNC_SONAME "libvncserver.so.1"
#define UI_TLS_SONAME "libgnutls.so.30"
#define UI_PNG_SONAME "libpng16.so.16"
/* NULL-terminated. */
#define UI_LIB_SONAMES                                                                             \
	{                                                                                          \
		UI_VNC_SONAME, UI_TLS_SONAME, UI_PNG_SONAME, NULL                                  \
	}
