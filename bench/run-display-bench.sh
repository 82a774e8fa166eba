#!/bin/bash
# Display benchmark: frames per second and VMM CPU for a full-screen changing image over VNC,
# phyllome-vmm against QEMU (q35, bochs-display, its own VNC server) on the same guest in ONE rig
# run, then the idle screen's CPU. Prints the BENCH-DISPLAY lines and bench/display-report.py's
# tables (also in DIR/display-bench.md, with DIR/hostcpu.txt, host-info.txt, host-load.txt);
# method and results in docs/benchmarks.md. Not a test.
#
#   bench/run-display-bench.sh [--vmm build/phyllome-vmm] [--secs 20] [--idle 10] [--rounds 1]
#                              [--also NAME=PATH]... [--vmms phyllome,qemu] [--stall 400] [--no-client]
#                              [--out DIR] [-- extra run-rig.sh options]
# --also NAME=PATH: another phyllome-vmm binary (e.g. an older tree's, built with the same
# libraries) run as vmm=phyllome-NAME; --vmms: which VMMs each round runs, in order (default
# phyllome,NAME...,qemu). --stall S: after S seconds without L1 console output (L1 can stop for
# good, halted with no timer interrupt left: see run-io-bench.sh) the outer QEMU is ended and
# the report is made from what arrived. --no-client: no VNC client while the guest draws.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
vmm=$repo/build/phyllome-vmm
secs=20 idle=10 rounds=1 out='' vmms='' also_names='' stall=400 client=1
extra=() also=()
while [ $# -gt 0 ]; do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--secs) secs=$2; shift 2 ;;
	--idle) idle=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--also) also+=(--add-file "/rig/bin/phyllome-vmm-${2%%=*}=$(realpath "${2#*=}")"); also_names+=,${2%%=*}; shift 2 ;;
	--vmms) vmms=$2; shift 2 ;;
	--stall) stall=$2; shift 2 ;;
	--no-client) client=0; shift ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-display-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ -n "$out" ] || out=$repo/build/bench
[ -n "$vmms" ] || vmms=phyllome$also_names,qemu
mkdir -p "$out"
[ -x "$(dirname "$vmm")/tests/rfbtool" ] || { echo "run-display-bench.sh: build rfbtool first (ninja -C build)" >&2; exit 1; }
log=$out/rig-phyllome-display-bench.log
rm -f "$log" "$out/hostcpu.txt"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); host load: $(cut -d' ' -f1-3 /proc/loadavg); tree: $(cd "$repo" && git describe --always --dirty)" | tee "$out/host-info.txt"
# Rigs started by others meanwhile compete for the host's CPUs: sample the load and how many run.
t0=$(date +%s)
(
	while sleep 15; do
		echo "$(($(date +%s) - t0)) $(cut -d' ' -f1 /proc/loadavg) $(pgrep -c -f 'qemu-system-x86_64 -accel tcg' || true)"
	done
) >"$out/host-load.txt" &
sampler=$!
trap 'kill $sampler 2>/dev/null || true' EXIT
"$repo/tests/rig/run-rig.sh" --vmm "$vmm" --with-qemu --extra-scenario "$here/l1/display-bench.sh" \
	--l1-append "rig.env.BENCH_SECS=$secs" --l1-append "rig.env.BENCH_IDLE=$idle" --l1-append "rig.env.BENCH_CLIENT=$client" \
	--l1-append "rig.env.BENCH_ROUNDS=$rounds" --l1-append "rig.env.BENCH_VMMS=$vmms" "${also[@]}" \
	--log-dir "$out" --log-name display-bench --timeout 3000 "${extra[@]}" >&2 &
rig=$!
# L1's clock is wall-clock time: when other jobs take the host's cores, L1's CPU ticks grow with
# no more work done. The outer QEMU's own CPU time over each busy phase is a second measure that
# the host's load barely moves (bench/hostcpu.py; display-report.py divides it by the frames).
python3 "$here/hostcpu.py" --parent $rig --log "$log" --out "$out/hostcpu.txt" &
hostcpu=$!
while kill -0 "$rig" 2>/dev/null; do
	sleep 10
	[ -f "$log" ] || continue
	if [ $(($(date +%s) - $(stat -c %Y "$log"))) -gt "$stall" ]; then
		echo "run-display-bench.sh: no L1 output for ${stall}s: stopping the outer QEMU" >&2
		for q in $(pgrep -P "$rig"); do kill "$q" 2>/dev/null || true; done
		break
	fi
done
wait "$rig" || true
wait "$hostcpu" || true
kill $sampler 2>/dev/null || true
grep -h -o 'BENCH-[A-Z]*.*' "$log" | grep -v BENCH-IO-MARK | tr -d '\r'
python3 "$here/display-report.py" "$log" "$out/hostcpu.txt" | tee "$out/display-bench.md"
