# Sound benchmark, run inside the rig's L1 (bench/run-sound-bench.sh puts it there as an extra
# scenario): the Debian system (tests/guests/build-debian.sh) plays speaker-test's 1 kHz sine
# (tests/guests/debian-extra/sound.sh) on phyllome-vmm's HD Audio (--sound wav=) and on QEMU's
# (-device intel-hda -device hda-duplex with -audiodev wav), in turn, BENCH_SOUND_RUNS rounds. For
# each run: the VMM process's CPU time (user + system, /proc/PID/stat; its vCPU threads, so the
# guest's own work too, which is the same for both) from the guest's "sound started" to its
# "sound played" line (the denominator: the guest's own time of play, the same sine on both), and
# the seconds of sound the VMM wrote into its WAV file (wavtool, after the VMM's exit):
# "BENCH-SOUND vmm=V round=R cpu_s=C audio_s=A hz=H" lines for bench/run-sound-bench.sh.
# Not a test: one RIG-RESULT, ok if every run measured.
# rig-disk: debian
# rig-tools: curl socat mke2fs
# shellcheck shell=sh
N=sound-bench
RUNS=${BENCH_SOUND_RUNS:-3}
WAVTOOL=/rig/bin/wavtool
SOCK=$RIG_WORK/api.sock REC=$RIG_WORK/rec.img
failed=0

cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null; }

one_run() {
	_vmm=$1 _r=$2 _out=$RIG_WORK/$1-$2.wav
	rm -f "$_out" "$SOCK"
	# shellcheck disable=SC2034 # lib.sh's vmm_exec reads it
	RIG_L2_VMM=$_vmm
	if ! debian_start $N 2 1G "phyllome.test=sound phyllome.tests=LABEL=phyllome-tests" \
		"api-socket:$SOCK" "disk:path=$td,readonly=on" "disk:path=$REC,serial=rec" \
		"sound:wav=$_out" || ! step_wait $N sound started "$T_DEBIAN"; then
		failed=$((failed + 1)); vmm_kill; return
	fi
	_c0=$(cpu_ticks "$VMM_PID")
	if ! step_wait $N sound played "$T_DEBIAN"; then
		failed=$((failed + 1)); vmm_kill; return
	fi
	_c1=$(cpu_ticks "$VMM_PID")
	_played=$(step_line sound played | tr ' ' _)
	debian_power_off $N "$SOCK" sound || failed=$((failed + 1))
	# After the VMM's exit: QEMU writes its WAV header's sizes only then.
	_m=$("$WAVTOOL" measure "$_out" 2>&1)
	_a=$(echo "$_m" | awk '{ for (i = 1; i <= NF; i++) { if ($i ~ /^frames=/) f = substr($i, 8); if ($i ~ /^rate=/) r = substr($i, 6) } } END { if (r) printf "%.2f", f / r }')
	_hz=$(echo "$_m" | sed -n 's/.* hz=\([0-9.]*\).*/\1/p')
	_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
	echo "BENCH-SOUND vmm=$_vmm round=$_r cpu_s=$(awk -v a="$_c0" -v b="$_c1" -v t="$_tck" 'BEGIN { printf "%.2f", (b - a) / t }') audio_s=${_a:-0} hz=${_hz:-0} $_played"
}

if ! dd if=/dev/zero of="$REC" bs=1M count=2 2>/dev/null || ! td=$(debian_tests_disk); then
	rig_fail $N "could not make the tests' disks"
else
	r=1
	while [ $r -le "$RUNS" ]; do
		# Alternating which goes first, so neither always meets a warmer L1.
		if [ $((r % 2)) = 1 ]; then one_run phyllome $r; one_run qemu $r
		else one_run qemu $r; one_run phyllome $r; fi
		r=$((r + 1))
	done
	# shellcheck disable=SC2034
	RIG_L2_VMM=phyllome
	if [ $failed = 0 ]; then rig_ok $N "$RUNS rounds measured"; else rig_fail $N "$failed runs failed"; fi
fi
