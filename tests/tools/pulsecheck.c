/* pulsecheck: --sound pulse's back end against a running sound server (tests/pulse/run.sh
 * starts a PulseAudio with a null sink, whose monitor is then the default source), under the
 * filters the VMM runs it with: libpulse loaded first, then the VMM thread's seccomp filter
 * (the back end's threads inherit it), and a "device" thread under the device threads' filter
 * that plays HZ at 48 kHz stereo and captures at the same time, paced by the host's clock in
 * 5 ms ticks as the HD Audio controller does, for SECONDS. The capture (the null sink's monitor:
 * what was played) is written as a WAV file for wavtool measure. SERVER: the server's socket
 * (--sound pulse,server=PATH; without it, libpulse's own search through the environment).
 *   pulsecheck OUT.wav HZ SECONDS [SERVER] */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/audio.h"
#include "kvm/seccomp.h"

struct job {
	struct audio_backend *pulse, *wav;
	double hz, secs;
	int rc;
};

static void *device(void *arg)
{
	struct job *j = arg;
	struct audio_fmt f = {48000, 2};
	struct audio_pace out, in;
	uint64_t t0 = audio_clock_now(&audio_host_clock), played = 0;
	int16_t buf[2 * 9600];

	if (seccomp_install(SECCOMP_VIRTIO, SECCOMP_ON) < 0) {
		j->rc = 1;
		return NULL;
	}
	audio_pace_start(&out, f.rate, t0);
	audio_pace_start(&in, f.rate, t0);
	for (;;) {
		struct timespec ts = {0, 5000000};
		uint64_t now = audio_clock_now(&audio_host_clock);
		uint32_t n;

		if (now - t0 > (uint64_t)(j->secs * 1e9))
			break;
		n = audio_pace_due(&out, now, 9600);
		for (uint32_t i = 0; i < n; i++, played++) {
			int16_t v = (int16_t)lrint(12000.0 *
						   sin(2 * M_PI * j->hz * (double)played / f.rate));

			buf[2 * i] = buf[2 * i + 1] = v;
		}
		j->pulse->ops->play(j->pulse, &f, buf, n);
		n = audio_pace_due(&in, now, 9600);
		j->pulse->ops->capture(j->pulse, &f, buf, n);
		j->wav->ops->play(j->wav, &f, buf, n);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct job j = {0};
	char err[256];
	pthread_t t;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: pulsecheck OUT.wav HZ SECONDS [SERVER]\n");
		return 2;
	}
	j.hz = atof(argv[2]);
	j.secs = atof(argv[3]);
	if (audio_wav_open(argv[1], NULL, &j.wav, err, sizeof(err)) < 0 ||
	    audio_pulse_load(err, sizeof(err)) < 0) {
		fprintf(stderr, "pulsecheck: %s\n", err);
		return 1;
	}
	if (seccomp_install(SECCOMP_VMM, SECCOMP_ON) < 0) {
		fprintf(stderr, "pulsecheck: cannot install the VMM thread's filter\n");
		return 1;
	}
	if (audio_pulse_open(&j.pulse, argc == 5 ? argv[4] : NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "pulsecheck: %s\n", err);
		return 1;
	}
	if (pthread_create(&t, NULL, device, &j) || pthread_join(t, NULL))
		return 1;
	audio_close(j.pulse);
	audio_close(j.wav);
	return j.rc;
}
