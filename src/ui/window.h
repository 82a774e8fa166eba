/* The native window (--display window): SDL2, loaded with dlopen only when asked for (so a VM
 * without it never maps the GUI libraries). Its own thread shows the display's frame, scaled to
 * the window, and sends keys (by physical key: the guest's layout decides) and the pointer (to the
 * tablet) back. Ctrl+Alt+G grabs or releases the keyboard and mouse. */
#pragma once
#include <stddef.h>

struct window;
struct display;

/* Loads SDL2, opens the window (on $DISPLAY or Wayland) and starts its thread. 0 or -errno
 * with one line in err. */
int window_start(struct window **out, struct display *d, char *err, size_t errlen);
void window_stop(struct window *w);
