#!/bin/bash
# Display benchmark: frames per second and VMM CPU for a full-screen changing image over VNC,
# phyllome-vmm against QEMU (q35, bochs-display, its own VNC server) on the same guest in ONE rig
# run, then the idle screen's CPU. Prints the BENCH-DISPLAY lines; method and results in
# docs/benchmarks.md. Not a test.
#
#   bench/run-display-bench.sh [--vmm build/phyllome-vmm] [--secs 20] [--idle 10] [--rounds 1]
#                              [--out DIR] [-- extra run-rig.sh options]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
vmm=$repo/build/phyllome-vmm
secs=20 idle=10 rounds=1 out=
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--secs) secs=$2; shift 2 ;;
	--idle) idle=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-display-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ -n "$out" ] || out=$repo/build/bench
mkdir -p "$out"
[ -x "$(dirname "$vmm")/tests/rfbtool" ] || { echo "run-display-bench.sh: build rfbtool first (ninja -C build)" >&2; exit 1; }
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); host load: $(cut -d' ' -f1-3 /proc/loadavg); tree: $(cd "$repo" && git describe --always --dirty)"
"$repo/tests/rig/run-rig.sh" --vmm "$vmm" --with-qemu --extra-scenario "$here/l1/display-bench.sh" \
	--l1-append "rig.env.BENCH_SECS=$secs" --l1-append "rig.env.BENCH_IDLE=$idle" \
	--l1-append "rig.env.BENCH_ROUNDS=$rounds" \
	--log-dir "$out" --log-name display-bench --timeout 3000 "${extra[@]}" >&2 || true
grep -h -o 'BENCH-[A-Z]*.*' "$out"/rig-*display-bench*.log | tr -d '\r'
