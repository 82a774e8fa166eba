/* rfbtool ADDR COMMAND...: a VNC client for the rig. ADDR is HOST:PORT or unix:PATH. Commands,
 * run in order:
 *   shot FILE            a whole-screen update, written as a binary PPM
 *   type TEXT            each character as a key press and release (US layout keysyms; Shift
 *                        around upper-case letters and shifted symbols); "\n" in TEXT is Return
 *   key KEYSYM           one key (hex keysym) pressed and released
 *   move X Y             the pointer to X,Y, no button
 *   count-updates SECS   incremental updates for SECS seconds; prints "updates=N rects=M
 *                        pixels=P screens=S" (S: P over the screen's size, with 2 decimals)
 *   sleep MS
 * RFBTOOL_PASSWORD in the environment answers VNC authentication; RFBTOOL_WEBSOCKET (any value)
 * speaks RFB inside a WebSocket, as the browser console does.
 * Prints "size=WxH" after connecting. Exit status 0, or 1 with one line on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rfb_client.h"

static int shot(struct rfb_client *c, const char *path)
{
	FILE *f;

	if (rfb_update(c, false, 10000) < 0)
		return fprintf(stderr, "rfbtool: no update\n"), 1;
	f = fopen(path, "wb");
	if (!f)
		return perror(path), 1;
	fprintf(f, "P6\n%u %u\n255\n", c->width, c->height);
	for (size_t i = 0; i < (size_t)c->width * c->height; i++) {
		uint8_t px[3] = {(uint8_t)(c->fb[i] >> 16), (uint8_t)(c->fb[i] >> 8),
				 (uint8_t)c->fb[i]};

		fwrite(px, 1, 3, f);
	}
	return fclose(f) ? 1 : 0;
}

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&t, NULL);
}

static void press(struct rfb_client *c, uint32_t keysym, bool shift)
{
	if (shift)
		rfb_key(c, 0xFFE1, true);
	rfb_key(c, keysym, true);
	rfb_key(c, keysym, false);
	if (shift)
		rfb_key(c, 0xFFE1, false);
	sleep_ms(20);
}

static void type(struct rfb_client *c, const char *s)
{
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			press(c, 0xFF0D, false);
			s++;
			continue;
		}
		press(c, (unsigned char)*s,
		      (*s >= 'A' && *s <= 'Z') || strchr("~!@#$%^&*()_+{}|:\"<>?", *s));
	}
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int count_updates(struct rfb_client *c, double secs)
{
	double end = now() + secs;
	unsigned long updates = 0, rects = 0;
	uint64_t p0 = c->pixels, area = (uint64_t)c->width * c->height;

	while (now() < end) {
		int n = rfb_update(c, true, 200);

		if (n > 0) {
			updates++;
			rects += (unsigned long)n;
		}
	}
	printf("updates=%lu rects=%lu pixels=%llu screens=%.2f\n", updates, rects,
	       (unsigned long long)(c->pixels - p0),
	       area ? (double)(c->pixels - p0) / (double)area : 0);
	return 0;
}

int main(int argc, char **argv)
{
	struct rfb_client c = {.password = getenv("RFBTOOL_PASSWORD"),
			       .websocket = getenv("RFBTOOL_WEBSOCKET") != NULL};
	char err[200];
	int rc = 0;

	if (argc < 2)
		return fprintf(stderr, "usage: rfbtool HOST:PORT|unix:PATH COMMAND...\n"), 2;
	if (rfb_connect(&c, argv[1], err, sizeof(err)) < 0)
		return fprintf(stderr, "rfbtool: %s\n", err), 1;
	printf("size=%ux%u\n", c.width, c.height);
	for (int i = 2; i < argc && rc == 0; i++) {
		if (!strcmp(argv[i], "shot") && i + 1 < argc)
			rc = shot(&c, argv[++i]);
		else if (!strcmp(argv[i], "type") && i + 1 < argc)
			type(&c, argv[++i]);
		else if (!strcmp(argv[i], "key") && i + 1 < argc)
			press(&c, (uint32_t)strtoul(argv[++i], NULL, 16), false);
		else if (!strcmp(argv[i], "move") && i + 2 < argc) {
			rc = rfb_pointer(&c, (unsigned)atoi(argv[i + 1]),
					 (unsigned)atoi(argv[i + 2]), 0);
			i += 2;
		} else if (!strcmp(argv[i], "count-updates") && i + 1 < argc)
			rc = count_updates(&c, atof(argv[++i]));
		else if (!strcmp(argv[i], "sleep") && i + 1 < argc)
			sleep_ms(atol(argv[++i]));
		else {
			fprintf(stderr, "rfbtool: bad command '%s'\n", argv[i]);
			rc = 1;
		}
	}
	rfb_close(&c);
	return rc ? 1 : 0;
}
