# --sound pulse with a real guest: a PulseAudio server in L1 (Debian's pulseaudio, a private one
# with a null sink, as tests/pulse/run.sh runs it on the host) and the Debian system
# (tests/guests/build-debian.sh) with its inbox HD Audio drivers. The guest
# (tests/guests/debian-extra/sound.sh) plays speaker-test's 1 kHz sine at 48 kHz while parec
# records the null sink's monitor in L1: the recording must hold 2 s or more of sound at 1 kHz
# (within 2 %, by its median period: see tests/pulse/run.sh). Then the power button, exit 0.
# rig-disk: debian
# rig-tools: curl socat mke2fs pulseaudio parec
# rig-data: pulse
# shellcheck shell=sh
N=debian-pulse
SOCK=$RIG_WORK/api.sock
PA=$RIG_WORK/pa REC=$RIG_WORK/pulse-rec.img WAV=$RIG_WORK/pulse-rec.wav
WAVTOOL=/rig/bin/wavtool

pulse_up() {
	mkdir -p "$PA"
	# The VMM finds the server by PULSE_SERVER; the server keeps its files in $PA.
	export PULSE_SERVER="unix:$PA/native"
	XDG_RUNTIME_DIR=$PA HOME=$PA "$TOOLS/pulseaudio" -n --daemonize=no --exit-idle-time=-1 --disallow-exit --use-pid-file=no \
		-L "module-native-protocol-unix socket=$PA/native auth-anonymous=1" \
		-L "module-null-sink sink_name=null" >"$PA/pa.log" 2>&1 &
	PA_PID=$!
	_i=0
	while [ ! -S "$PA/native" ] && [ $_i -lt 200 ]; do sleep 0.1; _i=$((_i + 1)); done
	if [ ! -S "$PA/native" ]; then
		rig_fail $N "PulseAudio did not start in L1: $(tail -n 3 "$PA/pa.log" | tr '\n' ' ')"
		return 1
	fi
	HOME=$PA "$TOOLS/parec" -d null.monitor --rate=48000 --channels=2 --format=s16le --file-format=wav "$WAV" 2>"$PA/parec.log" &
	PAREC_PID=$!
}

if [ ! -x "$WAVTOOL" ]; then
	rig_fail $N "no wavtool beside the VMM (build/tests/wavtool)"
elif ! need_tools $N pulseaudio parec mke2fs; then
	:
elif ! dd if=/dev/zero of="$REC" bs=1M count=2 2>/dev/null || ! td=$(debian_tests_disk); then
	rig_fail $N "could not make the tests' disks"
elif pulse_up && debian_start $N 2 1G "phyllome.test=sound phyllome.tests=LABEL=phyllome-tests" \
	"api-socket:$SOCK" "disk:path=$td,readonly=on" "disk:path=$REC,serial=rec" "sound:pulse" &&
	step_wait $N sound started "$T_DEBIAN"; then
	if ! wait_for 'PHYLLOME-TEST sound ' "$VMM_OUT" "$T_DEBIAN"; then
		rig_fail $N "$WAIT_WHY"
		vmm_kill
	elif ! grep -q 'PHYLLOME-TEST sound PASS' "$VMM_OUT"; then
		wait_exit "$T_EXIT"
		rig_fail $N "$(guest_why sound) (VMM exit status $VMM_STATUS)"
	else
		played=$(step_line sound played)
		kill -INT "$PAREC_PID" 2>/dev/null
		wait "$PAREC_PID" 2>/dev/null
		rec=$("$WAVTOOL" measure "$WAV" 2>&1)
		echo "rig: $N: the null sink's monitor: $rec; $played"
		if ! debian_power_off $N "$SOCK" sound; then
			:
		elif ! hz_near "$rec" 1000 2 hz_median ||
			! echo "$rec" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^active_ms=/) a = substr($i, 11) } END { exit !(a + 0 >= 2000) }'; then
			rig_fail $N "the null sink's monitor is not 2 s or more of 1 kHz: $rec; VMM: $(grep -i pulse "$VMM_OUT" | tail -n 3 | tr '\n' ' ')"
		else
			rig_ok $N "the guest's 1 kHz through --sound pulse to PulseAudio's null sink in L1, recorded from its monitor: $rec; $played"
		fi
	fi
fi
kill "${PAREC_PID:-}" "${PA_PID:-}" 2>/dev/null
unset PULSE_SERVER
