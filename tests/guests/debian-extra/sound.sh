#!/bin/sh
# The Debian system's sound, with its inbox drivers only (rig scenario debian-sound): the HD Audio
# controller (--sound) binds snd_hda_intel, its codec snd_hda_codec_generic, and ALSA has a
# playback and a capture device. speaker-test plays a 1 kHz sine (the scenario measures the
# VMM's WAV file), then arecord records 3 s of 48 kHz stereo from the microphone onto the raw
# disk with serial "rec" (the scenario measures the tone the VMM played into it). Not in the
# image: a scenario brings it on a disk (tests/guests/README.md), so changing it does not rebuild
# the system.
NAME=sound
. /tests/lib.sh

echo "PHYLLOME-STEP sound started"
rec=/dev/disk/by-id/virtio-rec
wait_path /dev/snd/pcmC0D0p 120 || fail "no ALSA playback device: $(lspci -nn | grep -i 0403) $(lsmod | grep snd_hda | tr -s ' ' | cut -d' ' -f1 | tr '\n' ' ')"
wait_path /dev/snd/pcmC0D0c 10 || fail "no ALSA capture device"
wait_path "$rec" 60 || fail "no disk $rec"
card=$(sed -n 's/^ *0 \[[^]]*\]: *//p' /proc/asound/cards | head -n 1)
codec=$(sed -n 's/^Codec: //p' /proc/asound/card0/codec#0 | head -n 1)
driver=$(basename "$(readlink -f /sys/class/sound/card0/device/driver)")
t0=$(date +%s.%N)
speaker-test -D plughw:0,0 -r 48000 -c 2 -t sine -f 1000 -l 1 >/tmp/speaker-test.log 2>&1 ||
	fail "speaker-test: $(tail -n 3 /tmp/speaker-test.log | tr '\n' ' ')"
t1=$(date +%s.%N)
echo "PHYLLOME-STEP sound played for $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s (speaker-test)"
arecord -D plughw:0,0 -f S16_LE -r 48000 -c 2 -d 3 -t wav "$rec" >/tmp/arecord.log 2>&1 ||
	fail "arecord: $(tail -n 3 /tmp/arecord.log | tr '\n' ' ')"
sync
echo "PHYLLOME-TEST sound PASS card '$card' (driver $driver), codec '$codec'; speaker-test and arecord ran"
echo "PHYLLOME-STEP sound ready for the power button"
while :; do sleep 1; done
