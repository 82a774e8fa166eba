#!/bin/bash
# Many VMs on the host, without KVM: the manager's own costs when N VMs are started with
# `phyllome run -d` one after the other and stopped all at once (one `phyllome stop` each, in
# parallel, as bench/l1/many-vms.sh does in the rig), with tests/manager/fake-vmm.py standing
# in for phyllome-vmm (a guest that powers off OFF_DELAY s after the button, then the stand-in's
# own 0.2 s). What it shows is what `phyllome` adds: its waits, polling, locks and start-up, not
# a guest's boot. Not a test: nothing asserts on timings. Method and results: docs/benchmarks.md.
#
#   bench/run-many-host.sh [--phyllome PATH]... [--vms 16] [--rounds 5] [--off-delay 1]
#                          [--out DIR]
#
#   --phyllome  a manager binary to measure (give it twice or more to compare builds: each round
#               runs them in turn, the order alternating); default build/phyllome
#   --off-delay seconds the stand-in guest takes to power off after the button
#   --out       where many-host.txt (raw rows) and many-host.md (medians) go (default
#               build/bench-many-host)
#
# Per round and binary: run_ms (median of the N `run -d` wall times), run_cpu_ms (user+sys of
# the N run -d processes, mktemp's few ms included; the stand-in VMMs are not theirs), stop_ms (the wall time
# from starting the N stops until the last returned), stop_late_ms (stop_ms minus the guest's
# power-off time: what waiting added), stop_cpu_ms (user+sys of the N stop processes).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
bins=() vms=16 rounds=5 delay=1 out=$repo/build/bench-many-host
while [ $# -gt 0 ]; do
	case $1 in
	--phyllome) bins+=("$(realpath "$2")"); shift 2 ;;
	--vms) vms=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--off-delay) delay=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-many-host.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ ${#bins[@]} -gt 0 ] || bins=("$repo/build/phyllome")
mkdir -p "$out"
export PHYLLOME_VMM=$repo/tests/manager/fake-vmm.py
export PHYLLOME_JAIL=off # the stand-in is a script, which the jail cannot run
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); } # no fork of date
# cpu_ms: user+sys of this shell's finished children, from `times` (second line), in ms.
cpu_ms() {
	times >"$PHYLLOME_STATE/times" # not in a pipeline: that would be a subshell, with no children
	sed -n 2p "$PHYLLOME_STATE/times" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%d\n", t * 1000 }'
}

# one BIN: one round of one binary; prints "run_ms run_cpu_ms stop_ms stop_late_ms stop_cpu_ms".
one() {
	local ph=$1 i t0 t1 runs=() stop_ms cpu run_cpu
	PHYLLOME_STATE=$(mktemp -d /tmp/phyllome-many-host.XXXXXX)
	export PHYLLOME_STATE
	for i in $(seq "$vms"); do
		t0=$(now_ms)
		"$ph" run -d --name "m$i" --kernel /bin/true --cmdline "fake.off_delay=$delay" >/dev/null
		t1=$(now_ms)
		runs+=($((t1 - t0)))
	done
	# This shell's children so far: the N run -d (their VMs are not theirs). Not in $(...): a
	# subshell has no children of its own.
	cpu_ms >"$PHYLLOME_STATE/run_cpu"
	run_cpu=$(cat "$PHYLLOME_STATE/run_cpu")
	t0=$(now_ms)
	cpu=$(
		for i in $(seq "$vms"); do "$ph" stop -t 60 "m$i" >/dev/null & done
		wait
		cpu_ms
	)
	t1=$(now_ms)
	stop_ms=$((t1 - t0))
	if [ "$("$ph" ps -a | grep -c 'Exited (0)')" != "$vms" ]; then
		echo "run-many-host.sh: not every VM ended cleanly with $ph:" >&2
		"$ph" ps -a >&2
	fi
	# The guest's own power-off: OFF_DELAY plus the stand-in's 0.2 s.
	echo "$(printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(((vms + 1) / 2))p") $run_cpu $stop_ms" \
		"$((stop_ms - $(awk -v d="$delay" 'BEGIN { printf "%d", d * 1000 + 200 }'))) $cpu"
	rm -rf "$PHYLLOME_STATE"
}

raw=$out/many-host.txt
{
	echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# vms=$vms rounds=$rounds off_delay=$delay"
	echo "# round binary run_ms run_cpu_ms stop_ms stop_late_ms stop_cpu_ms"
} >"$raw"
for r in $(seq "$rounds"); do
	order=("${bins[@]}")
	if [ $((r % 2)) = 0 ]; then
		order=()
		for ((k = ${#bins[@]} - 1; k >= 0; k--)); do order+=("${bins[$k]}"); done
	fi
	for b in "${order[@]}"; do
		echo "$r $b $(one "$b")" | tee -a "$raw" >&2
	done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"
python3 - "$raw" "${bins[@]}" <<'PY' | tee "$out/many-host.md"
import statistics, sys
raw, bins = sys.argv[1], sys.argv[2:]
rows = [l.split() for l in open(raw) if l.strip() and not l.startswith("#")]
names = ["`run -d`, one VM (median of the N)", "CPU time of the N `phyllome run -d` processes", "all N stopped at once: power button to the last stop returned",
         "... of that, beyond the guest's own power-off", "CPU time of the N `phyllome stop` processes"]
print("| metric (ms, median of rounds) | " + " | ".join(bins) + " |")
print("| --- |" + " ---: |" * len(bins))
for k, name in enumerate(names):
    vals = [statistics.median(int(r[2 + k]) for r in rows if r[1] == b) for b in bins]
    print(f"| {name} | " + " | ".join(f"{v:.0f}" for v in vals) + " |")
PY
