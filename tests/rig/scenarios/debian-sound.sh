# The Debian system (tests/guests/build-debian.sh) with --sound wav=OUT,in=IN: the HD Audio
# controller and codec with the guest's inbox drivers (snd_hda_intel, snd_hda_codec_generic).
# The guest (tests/guests/debian-extra/sound.sh) plays speaker-test's 1 kHz sine at 48 kHz: the
# VMM's WAV file must say 48000 Hz and hold 1 kHz by zero crossings (wavtool measure, within
# 1 %); then it records 3 s with arecord onto a raw disk while the VMM plays a 440 Hz WAV
# file into its microphone: the recording must be loud and 440 Hz (within 2 %). Meanwhile the
# browser console (--display vnc=0.0.0.0:5900,web=on with a password) is open in the host's
# headless Chromium (host step browser-sound, tests/browser/sound-guest.mjs, from the guest's
# boot on): its page must decode 1.5 s of the sine's sound at 1 kHz (within 2 %) from the
# console's /audio WebSocket (skipped where the host has no Chromium). Then the power button,
# and exit status 0.
# rig-disk: debian
# rig-tools: curl socat mke2fs
# rig-data: novnc
# rig-host: browser-sound
# shellcheck shell=sh
N=debian-sound
SOCK=$RIG_WORK/api.sock
OUT=$RIG_WORK/sound-out.wav IN=$RIG_WORK/sound-in.wav REC=$RIG_WORK/sound-rec.img
WAVTOOL=/rig/bin/wavtool

# web_listen: the host's Chromium listens on the console page while the guest boots and plays
# (host step browser-sound, in the background: the guest goes on meanwhile). WEB: ok, fail or
# skip once web_heard has run, with WEB_DETAIL.
web_listen() {
	WEB=fail WEB_DETAIL="no answer from the host step browser-sound"
	(rig_host browser-sound 400 1.5
		echo "$HOST_STATUS $HOST_DETAIL" >"$RIG_WORK/web-sound") &
	WEB_PID=$!
}

# web_heard: waits for web_listen's host step and judges what the page decoded: 1 kHz.
web_heard() {
	wait "$WEB_PID" 2>/dev/null
	read -r WEB WEB_DETAIL <"$RIG_WORK/web-sound" 2>/dev/null || return 0
	_hz=$(echo "$WEB_DETAIL" | sed -n 's/.*DONE .* hz=\([0-9.]*\).*/\1/p')
	if [ "$WEB" = skip ]; then
		WEB_DETAIL="skipped: $WEB_DETAIL"
	elif [ "$WEB" = ok ] && ! hz_near "hz=$_hz" 1000 2; then
		WEB=fail WEB_DETAIL="the page decoded ${_hz:-no} Hz, not 1 kHz ($WEB_DETAIL)"
	elif [ "$WEB" = ok ]; then
		WEB_DETAIL=$(echo "$WEB_DETAIL" | sed 's/.*DONE //')
	fi
}


if [ ! -x "$WAVTOOL" ]; then
	rig_fail $N "no wavtool beside the VMM (build/tests/wavtool)"
elif ! "$WAVTOOL" tone "$IN" 48000 440 1 || ! dd if=/dev/zero of="$REC" bs=1M count=2 2>/dev/null; then
	rig_fail $N "could not make the input WAV or the recording disk"
elif ! td=$(debian_tests_disk); then
	rig_fail $N "could not make the tests' disk (mke2fs)"
elif ! host_net_up $N || ! echo rigpass1 >"$RIG_WORK/vnc-password"; then
	:
elif debian_start $N 2 1G "phyllome.test=sound phyllome.tests=LABEL=phyllome-tests" \
	"api-socket:$SOCK" "disk:path=$td,readonly=on" "disk:path=$REC,serial=rec" \
	"sound:wav=$OUT,in=$IN" "display:vnc=0.0.0.0:5900,web=on,password=$RIG_WORK/vnc-password" &&
	web_listen && step_wait $N sound started "$T_DEBIAN"; then
	if ! wait_for 'PHYLLOME-TEST sound ' "$VMM_OUT" "$T_DEBIAN"; then
		rig_fail $N "$WAIT_WHY"
		vmm_kill
	elif ! grep -q 'PHYLLOME-TEST sound PASS' "$VMM_OUT"; then
		wait_exit "$T_EXIT"
		rig_fail $N "$(guest_why sound) (VMM exit status $VMM_STATUS)"
	else
		detail=$(grep -o 'PHYLLOME-TEST sound PASS.*' "$VMM_OUT" | head -n 1 | tr -d '\r' | sed 's/^PHYLLOME-TEST sound PASS //')
		played=$(step_line sound played)
		web_heard
		out=$("$WAVTOOL" measure "$OUT" 2>&1)
		rec=$("$WAVTOOL" measure "$REC" 2>&1)
		echo "rig: $N: output $out; recording $rec; $played"
		if ! debian_power_off $N "$SOCK" sound; then
			:
		elif ! echo "$out" | grep -q '^rate=48000 channels=2 ' || ! hz_near "$out" 1000 1; then
			rig_fail $N "the VMM's WAV file is not 1 kHz at 48 kHz stereo: $out"
		elif ! hz_near "$rec" 440 2; then
			rig_fail $N "the guest's recording is not the 440 Hz played into it: $rec"
		elif [ "$WEB" = fail ]; then
			rig_fail $N "the browser console's sound: $WEB_DETAIL"
		else
			rig_ok $N "$detail; output WAV: $out; recording: $rec; $played; browser console: $WEB_DETAIL"
		fi
	fi
fi
if [ -n "${WEB_PID:-}" ]; then
	kill "$WEB_PID" 2>/dev/null
fi
host_net_down
