#include "ui/window.h"

#include <SDL.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/lazylib.h"
#include "common/log.h"
#include "ui/display.h"

#define TITLE	      "Phyllome"
#define TITLE_GRABBED "Phyllome (Ctrl+Alt+G releases the mouse and keyboard)"

/* The SDL functions we use, looked up in libSDL2 at start. */
#define SDL_FUNCS(X)                                                                               \
	X(SDL_Init)                                                                                \
	X(SDL_Quit)                                                                                \
	X(SDL_GetError)                                                                            \
	X(SDL_CreateWindow)                                                                        \
	X(SDL_DestroyWindow)                                                                       \
	X(SDL_SetWindowTitle)                                                                      \
	X(SDL_SetWindowGrab)                                                                       \
	X(SDL_SetWindowSize)                                                                       \
	X(SDL_CreateRenderer)                                                                      \
	X(SDL_DestroyRenderer)                                                                     \
	X(SDL_RenderSetLogicalSize)                                                                \
	X(SDL_RenderClear)                                                                         \
	X(SDL_RenderCopy)                                                                          \
	X(SDL_RenderPresent)                                                                       \
	X(SDL_CreateTexture)                                                                       \
	X(SDL_DestroyTexture)                                                                      \
	X(SDL_UpdateTexture)                                                                       \
	X(SDL_WaitEventTimeout)                                                                    \
	X(SDL_GetModState)

struct sdl {
	void *lib;
	SDL_FUNCS(LAZY_FIELD)
};

struct window {
	struct display *d;
	struct sdl s;
	SDL_Window *win;
	SDL_Renderer *ren;
	SDL_Texture *tex;
	unsigned tw, th; /* the texture's size */
	uint8_t buttons;
	bool grabbed;
	bool redraw; /* the window system lost our picture (exposed, resized) */
	pthread_t thread;
	bool started, stop;
	pthread_mutex_t lock; /* the start-up handshake */
	pthread_cond_t cond;
	int start_rc;
	bool start_done;
	char err[200];
};

static int load_sdl(struct sdl *s, char *err, size_t errlen)
{
#define ROW(f) LAZY_ROW(*s, f)
	const struct lazy_sym syms[] = {SDL_FUNCS(ROW){NULL, NULL}};
#undef ROW
	return lazylib_load(&s->lib, "libSDL2-2.0.so.0", "--display window", "libsdl2-2.0-0", syms,
			    err, errlen);
}

/* SDL's scancodes (USB HID usages: the physical key) to the X keysym that key carries on a US
 * keyboard; the keymap then gives the PC scancode of the same key. */
static uint32_t keysym_of(SDL_Scancode sc)
{
	static const char row1[] = "1234567890";
	static const struct {
		uint16_t sc;
		uint32_t keysym;
	} map[] = {
	    {SDL_SCANCODE_RETURN, 0xFF0D},	{SDL_SCANCODE_ESCAPE, 0xFF1B},
	    {SDL_SCANCODE_BACKSPACE, 0xFF08},	{SDL_SCANCODE_TAB, 0xFF09},
	    {SDL_SCANCODE_SPACE, ' '},		{SDL_SCANCODE_MINUS, '-'},
	    {SDL_SCANCODE_EQUALS, '='},		{SDL_SCANCODE_LEFTBRACKET, '['},
	    {SDL_SCANCODE_RIGHTBRACKET, ']'},	{SDL_SCANCODE_BACKSLASH, '\\'},
	    {SDL_SCANCODE_NONUSHASH, '\\'},	{SDL_SCANCODE_SEMICOLON, ';'},
	    {SDL_SCANCODE_APOSTROPHE, '\''},	{SDL_SCANCODE_GRAVE, '`'},
	    {SDL_SCANCODE_COMMA, ','},		{SDL_SCANCODE_PERIOD, '.'},
	    {SDL_SCANCODE_SLASH, '/'},		{SDL_SCANCODE_CAPSLOCK, 0xFFE5},
	    {SDL_SCANCODE_F11, 0xFFC8},		{SDL_SCANCODE_F12, 0xFFC9},
	    {SDL_SCANCODE_PRINTSCREEN, 0xFF61}, {SDL_SCANCODE_SCROLLLOCK, 0xFF14},
	    {SDL_SCANCODE_PAUSE, 0xFF13},	{SDL_SCANCODE_INSERT, 0xFF63},
	    {SDL_SCANCODE_HOME, 0xFF50},	{SDL_SCANCODE_PAGEUP, 0xFF55},
	    {SDL_SCANCODE_DELETE, 0xFFFF},	{SDL_SCANCODE_END, 0xFF57},
	    {SDL_SCANCODE_PAGEDOWN, 0xFF56},	{SDL_SCANCODE_RIGHT, 0xFF53},
	    {SDL_SCANCODE_LEFT, 0xFF51},	{SDL_SCANCODE_DOWN, 0xFF54},
	    {SDL_SCANCODE_UP, 0xFF52},		{SDL_SCANCODE_NUMLOCKCLEAR, 0xFF7F},
	    {SDL_SCANCODE_KP_DIVIDE, 0xFFAF},	{SDL_SCANCODE_KP_MULTIPLY, 0xFFAA},
	    {SDL_SCANCODE_KP_MINUS, 0xFFAD},	{SDL_SCANCODE_KP_PLUS, 0xFFAB},
	    {SDL_SCANCODE_KP_ENTER, 0xFF8D},	{SDL_SCANCODE_KP_0, 0xFFB0},
	    {SDL_SCANCODE_KP_PERIOD, 0xFFAE},	{SDL_SCANCODE_APPLICATION, 0xFF67},
	    {SDL_SCANCODE_LCTRL, 0xFFE3},	{SDL_SCANCODE_LSHIFT, 0xFFE1},
	    {SDL_SCANCODE_LALT, 0xFFE9},	{SDL_SCANCODE_LGUI, 0xFFEB},
	    {SDL_SCANCODE_RCTRL, 0xFFE4},	{SDL_SCANCODE_RSHIFT, 0xFFE2},
	    {SDL_SCANCODE_RALT, 0xFFEA},	{SDL_SCANCODE_RGUI, 0xFFEC},
	};

	if (sc >= SDL_SCANCODE_A && sc <= SDL_SCANCODE_Z)
		return 'a' + (uint32_t)(sc - SDL_SCANCODE_A);
	if (sc >= SDL_SCANCODE_1 && sc <= SDL_SCANCODE_0)
		return (uint32_t)row1[sc - SDL_SCANCODE_1];
	if (sc >= SDL_SCANCODE_F1 && sc <= SDL_SCANCODE_F10)
		return 0xFFBE + (uint32_t)(sc - SDL_SCANCODE_F1);
	if (sc >= SDL_SCANCODE_KP_1 && sc <= SDL_SCANCODE_KP_9)
		return 0xFFB1 + (uint32_t)(sc - SDL_SCANCODE_KP_1);
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (map[i].sc == sc)
			return map[i].keysym;
	return 0;
}

static void set_grab(struct window *w, bool on)
{
	w->grabbed = on;
	w->s.SDL_SetWindowGrab(w->win, on ? SDL_TRUE : SDL_FALSE);
	w->s.SDL_SetWindowTitle(w->win, on ? TITLE_GRABBED : TITLE);
}

static void on_key(struct window *w, const SDL_KeyboardEvent *k)
{
	uint32_t ks = keysym_of(k->keysym.scancode);

	if (k->type == SDL_KEYDOWN && k->keysym.scancode == SDL_SCANCODE_G &&
	    (k->keysym.mod & KMOD_CTRL) && (k->keysym.mod & KMOD_ALT)) {
		set_grab(w, !w->grabbed);
		/* The guest saw Ctrl and Alt go down: let them go up there too. */
		display_key(w->d, 0xFFE3, false);
		display_key(w->d, 0xFFE9, false);
		return;
	}
	if (ks && !k->repeat)
		display_key(w->d, ks, k->type == SDL_KEYDOWN);
	else if (ks) /* typematic repeat: the guest repeats by itself from a held make code */
		return;
}

static void on_event(struct window *w, const SDL_Event *e)
{
	switch (e->type) {
	case SDL_WINDOWEVENT:
		w->redraw = true;
		break;
	case SDL_QUIT:
		/* Closing the window does not stop the VM: it goes on headless (the API and VNC
		 * can still reach it); documented in docs/display.md. */
		break;
	case SDL_KEYDOWN:
	case SDL_KEYUP:
		on_key(w, &e->key);
		break;
	case SDL_MOUSEMOTION:
		display_pointer(w->d, (unsigned)(e->motion.x < 0 ? 0 : e->motion.x),
				(unsigned)(e->motion.y < 0 ? 0 : e->motion.y), w->buttons);
		break;
	case SDL_MOUSEBUTTONDOWN:
	case SDL_MOUSEBUTTONUP: {
		uint8_t bit = e->button.button == SDL_BUTTON_LEFT     ? 1
			      : e->button.button == SDL_BUTTON_MIDDLE ? 2
			      : e->button.button == SDL_BUTTON_RIGHT  ? 4
								      : 0;

		if (e->type == SDL_MOUSEBUTTONDOWN && !w->grabbed)
			set_grab(w, true); /* a click into the window grabs, as QEMU's does */
		w->buttons = (uint8_t)(e->type == SDL_MOUSEBUTTONDOWN ? w->buttons | bit
								      : w->buttons & ~bit);
		display_pointer(w->d, (unsigned)(e->button.x < 0 ? 0 : e->button.x),
				(unsigned)(e->button.y < 0 ? 0 : e->button.y), w->buttons);
		break;
	}
	default:
		break;
	}
}

/* Copies what changed since the last call into the texture and shows it. */
static void show(struct window *w)
{
	struct display *d = w->d;
	bool present = false;

	pthread_mutex_lock(&d->lock);
	if (d->fb && (d->width != w->tw || d->height != w->th || !w->tex)) {
		if (w->tex)
			w->s.SDL_DestroyTexture(w->tex);
		w->tex = w->s.SDL_CreateTexture(w->ren, SDL_PIXELFORMAT_RGB888,
						SDL_TEXTUREACCESS_STREAMING, (int)d->width,
						(int)d->height);
		w->tw = d->width;
		w->th = d->height;
		w->s.SDL_RenderSetLogicalSize(w->ren, (int)d->width, (int)d->height);
		w->s.SDL_SetWindowSize(w->win, (int)d->width, (int)d->height);
		d->win_dirty = (struct display_rect){0, 0, d->width, d->height};
	}
	if (w->tex && d->win_dirty.w && d->win_dirty.h) {
		struct display_rect r = d->win_dirty;
		SDL_Rect sr = {(int)r.x, (int)r.y, (int)r.w, (int)r.h};

		w->s.SDL_UpdateTexture(w->tex, &sr, d->fb + (size_t)r.y * d->width + r.x,
				       (int)(d->width * 4));
		d->win_dirty = (struct display_rect){0};
		present = true;
	}
	pthread_mutex_unlock(&d->lock);
	if (w->tex && (present || w->redraw)) {
		w->redraw = false;
		w->s.SDL_RenderClear(w->ren);
		w->s.SDL_RenderCopy(w->ren, w->tex, NULL, NULL);
		w->s.SDL_RenderPresent(w->ren);
	}
}

static int open_window(struct window *w)
{
	if (w->s.SDL_Init(SDL_INIT_VIDEO) < 0) {
		snprintf(w->err, sizeof(w->err), "--display window: %s", w->s.SDL_GetError());
		return -ENODEV;
	}
	w->win = w->s.SDL_CreateWindow(TITLE, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, 640,
				       480, SDL_WINDOW_RESIZABLE);
	w->ren = w->win ? w->s.SDL_CreateRenderer(w->win, -1, 0) : NULL;
	if (!w->ren) {
		snprintf(w->err, sizeof(w->err), "--display window: %s", w->s.SDL_GetError());
		return -ENODEV;
	}
	return 0;
}

/* SDL wants all its calls on one thread: this one opens the window too. */
static void *window_thread(void *arg)
{
	struct window *w = arg;
	int rc = open_window(w);

	pthread_mutex_lock(&w->lock);
	w->start_rc = rc;
	w->start_done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (rc < 0)
		return NULL;
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		SDL_Event e;

		if (w->s.SDL_WaitEventTimeout(&e, 1000 / DISPLAY_HZ))
			on_event(w, &e);
		show(w);
	}
	return NULL;
}

int window_start(struct window **out, struct display *d, char *err, size_t errlen)
{
	struct window *w = calloc(1, sizeof(*w));
	int rc;

	if (!w) {
		snprintf(err, errlen, "window: out of memory");
		return -ENOMEM;
	}
	w->d = d;
	/* Without a session bus address, libdbus (which SDL uses for input methods) would start
	 * dbus-launch: an exec the VMM's filter refuses. An address that fails at once instead.
	 * Set before any of our threads run. */
	setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/phyllome-no-bus", 0);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	rc = load_sdl(&w->s, err, errlen);
	if (rc == 0) {
		rc = -pthread_create(&w->thread, NULL, window_thread, w);
		if (rc < 0)
			snprintf(err, errlen, "window: cannot start its thread");
	}
	if (rc == 0) {
		w->started = true;
		pthread_setname_np(w->thread, "window");
		pthread_mutex_lock(&w->lock);
		while (!w->start_done)
			pthread_cond_wait(&w->cond, &w->lock);
		rc = w->start_rc;
		pthread_mutex_unlock(&w->lock);
		if (rc < 0)
			snprintf(err, errlen, "%s", w->err);
	}
	if (rc < 0) {
		window_stop(w);
		return rc;
	}
	*out = w;
	return 0;
}

void window_stop(struct window *w)
{
	if (w->started) {
		__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
		pthread_join(w->thread, NULL);
	}
	if (w->tex)
		w->s.SDL_DestroyTexture(w->tex);
	if (w->ren)
		w->s.SDL_DestroyRenderer(w->ren);
	if (w->win)
		w->s.SDL_DestroyWindow(w->win);
	if (w->s.SDL_Quit && w->started)
		w->s.SDL_Quit();
	/* libSDL2 stays loaded: its atexit handlers and threads may still refer to it. */
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
