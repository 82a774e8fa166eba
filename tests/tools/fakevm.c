/* fakevm HOST:PORT|unix:PATH [NOVNC-DIR [TLS-CERT TLS-KEY]]: the display of a VM without the VM,
 * for front-end tests that need no KVM (the browser console test): a bochs display device at
 * 640x400 showing four coloured quadrants (red, green / blue, 0x804020), served over VNC (and
 * the browser console when NOVNC-DIR is given, over TLS with a certificate and key), and a PS/2
 * keyboard whose scancode bytes are printed as they arrive
 * ("KBD 1e"); $FAKEVM_PASSWORD_FILE: a VNC password, as --display's password=; $FAKEVM_TONE=HZ:
 * the guest's sound, a sine of HZ at 48 kHz stereo played at the host clock's pace into what the
 * browser console streams (as --sound does). Prints "READY" once serving; runs until its standard
 * input closes. */
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/audio_tap.h"
#include "common/bytes.h"
#include "devices/bochs_display.h"
#include "devices/i8042.h"
#include "ui/display.h"

static void dispi(struct bochs_display *b, uint16_t idx, uint16_t v)
{
	uint8_t d[2];

	put_le16(d, idx);
	bochs_dispi_io(b, 0, d, 2, true);
	put_le16(d, v);
	bochs_dispi_io(b, 1, d, 2, true);
}

/* What the host clock says is due of a sine of hz, into the tap. */
static void tone(struct audio_tap *t, struct audio_pace *p, double hz)
{
	static const struct audio_fmt f = {.rate = 48000, .channels = 2};
	int16_t s[2 * 4800];
	uint32_t n = audio_pace_due(p, audio_clock_now(&audio_host_clock), 4800);

	for (uint32_t i = 0; i < n; i++) {
		double ph = 2 * M_PI * hz * (double)(p->frames - n + i) / f.rate;

		s[2 * i] = s[2 * i + 1] = (int16_t)(8000 * sin(ph));
	}
	if (n)
		audio_tap_put(t, &f, s, n);
}

int main(int argc, char **argv)
{
	static struct display d;
	static struct bochs_display b;
	static struct i8042 k;
	struct display_config cfg = {.kind = DISPLAY_VNC};
	struct display_src src = {.dev = &b, .kbd = &k};
	uint8_t *vram = calloc(1, BOCHS_VRAM_SIZE);
	const char *colon = argc > 1 ? strrchr(argv[1], ':') : NULL;
	const char *hz = getenv("FAKEVM_TONE");
	struct audio_tap *tap = hz ? audio_tap_new(256u << 10) : NULL;
	struct audio_pace pace;
	char err[256];

	if (!colon || !vram || argc == 4) {
		fprintf(stderr,
			"usage: fakevm HOST:PORT|unix:PATH [NOVNC-DIR [TLS-CERT TLS-KEY]]\n");
		return 2;
	}
	if (!strncmp(argv[1], "unix:", 5)) {
		snprintf(cfg.vnc_unix, sizeof(cfg.vnc_unix), "%s", argv[1] + 5);
	} else {
		snprintf(cfg.vnc_host, sizeof(cfg.vnc_host), "%.*s", (int)(colon - argv[1]),
			 argv[1]);
		cfg.vnc_port = (unsigned)atoi(colon + 1);
	}
	if (argc > 2)
		snprintf(cfg.web_dir, sizeof(cfg.web_dir), "%s", argv[2]);
	/* A VNC password, as --display vnc=...,password=FILE gives one. */
	if (getenv("FAKEVM_PASSWORD_FILE"))
		snprintf(cfg.password_file, sizeof(cfg.password_file), "%s",
			 getenv("FAKEVM_PASSWORD_FILE"));
	if (argc > 4) {
		snprintf(cfg.tls_cert, sizeof(cfg.tls_cert), "%s", argv[3]);
		snprintf(cfg.tls_key, sizeof(cfg.tls_key), "%s", argv[4]);
	}
	bochs_init(&b, vram, NULL, NULL);
	i8042_init(&k, NULL, NULL, NULL, NULL);
	dispi(&b, DISPI_BPP, 32);
	dispi(&b, DISPI_XRES, 640);
	dispi(&b, DISPI_YRES, 400);
	dispi(&b, DISPI_ENABLE, DISPI_ENABLED | DISPI_LFB_ENABLED);
	for (unsigned y = 0; y < 400; y++)
		for (unsigned x = 0; x < 640; x++)
			put_le32(vram + 4 * (y * 640 + x), y < 200
							       ? (x < 320 ? 0xFF0000 : 0x00FF00)
							       : (x < 320 ? 0x0000FF : 0x804020));
	if (tap)
		audio_pace_start(&pace, 48000, audio_clock_now(&audio_host_clock));
	if (display_start(&d, &cfg, tap, SECCOMP_OFF, err, sizeof(err)) < 0) {
		fprintf(stderr, "fakevm: %s\n", err);
		return 1;
	}
	display_attach(&d, &src);
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p = {.fd = 0, .events = POLLIN};
		char buf[64];
		uint8_t byte;

		if (poll(&p, 1, 10) > 0 && read(0, buf, sizeof(buf)) <= 0)
			break;
		if (tap)
			tone(tap, &pace, atof(hz));
		while (k.q_count) {
			i8042_data_io(&k, 0, &byte, 1, false);
			printf("KBD %02x\n", byte);
			fflush(stdout);
		}
	}
	display_detach(&d);
	display_stop(&d);
	audio_tap_free(tap);
	return 0;
}
