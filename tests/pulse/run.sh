#!/bin/sh
# --sound pulse against a real PulseAudio (Debian's pulseaudio) with a null sink, on the host (no
# VM needed: the back end is what is tested). A private server in a temporary runtime folder;
# pulsecheck (tests/tools/pulsecheck.c) plays a 1 kHz sine through the back end and records the
# null sink's monitor through it at the same time, under the VMM's seccomp filters; wavtool then
# measures the recording: it must be loud for 2 s of the 5 (the null sink starts late) and 1 kHz
# within 2 % by its median period (a gap where a starved thread or server ran dry, or frames the
# ring dropped, break a few periods and move the crossings' count, hz, which is reported, but not
# the median; a wrong rate would be 8 % off). TAP output; skipped (exit 77) without pulseaudio. Usage: run.sh BUILD_DIR
set -u
B=${1:?usage: run.sh BUILD_DIR}
command -v pulseaudio >/dev/null || { echo "1..0 # SKIP no pulseaudio (Debian's pulseaudio)"; exit 77; }
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
export XDG_RUNTIME_DIR=$dir HOME=$dir PULSE_SERVER=unix:$dir/native
pulseaudio -n --daemonize=no --exit-idle-time=-1 --disallow-exit --use-pid-file=no \
	-L "module-native-protocol-unix socket=$dir/native auth-anonymous=1" \
	-L "module-null-sink sink_name=null" >"$dir/pa.log" 2>&1 &
pid=$!
i=0
while [ ! -S "$dir/native" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "1..1"
if [ ! -S "$dir/native" ]; then
	echo "not ok 1 - pulse # the server did not start: $(tail -n 3 "$dir/pa.log" | tr '\n' ' ')"
	exit 0
fi
if ! "$B/tests/pulsecheck" "$dir/rec.wav" 1000 5 2>"$dir/check.err"; then
	echo "not ok 1 - pulse # pulsecheck failed: $(tr '\n' ' ' <"$dir/check.err")"
	exit 0
fi
m=$("$B/tests/wavtool" measure "$dir/rec.wav")
if echo "$m" | awk '{ for (i = 1; i <= NF; i++) { if ($i ~ /^hz_median=/) h = substr($i, 11); if ($i ~ /^active_ms=/) a = substr($i, 11) } }
	END { d = h - 1000; if (d < 0) d = -d; exit !(d <= 20 && a + 0 >= 2000) }'; then
	echo "ok 1 - pulse # recorded through the null sink's monitor: $m"
else
	echo "not ok 1 - pulse # the recording is not 2 s or more of 1 kHz: $m; $(tr '\n' ' ' <"$dir/check.err")"
fi
