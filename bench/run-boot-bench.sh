#!/bin/bash
# Boot-time, start-up and memory benchmark of phyllome-vmm against Debian's QEMU (q35 and
# microvm), in ONE rig run: one L1 boot (QEMU TCG with emulated AMD SVM, see tests/rig/README.md)
# runs every VMM in turn, interleaved, on L1's kvm-amd. Prints markdown tables (bench/report.py).
# Method and results: docs/benchmarks.md. Not a test: nothing asserts on timings.
#
#   bench/run-boot-bench.sh [--vmm build/phyllome-vmm] [--runs 5] [--tiny-runs 9] [--warmup 1]
#                           [--mem 512] [--trace] [--vv] [--out DIR]
#                           [-- extra run-rig.sh options]
#
#   --trace  afterwards, one untimed boot of each VMM with L1's KVM exits and
#            port I/O counted by reason, port and guest RIP (kernel tracepoint histograms)
#   --vv     afterwards, one phyllome-vmm boot with -v -v, its log summarised
#   --out    where the outputs go (default build/bench): boot-bench.md (the tables), the L1
#            console log, host-info.txt, hostcpu.txt (bench/hostcpu.py's samples)
#
# Needs: gcc with static glibc (libc6-dev), binutils and python3 (the tiny guest), everything
# tests/rig needs, and qemu-system-x86 (put into L1 with run-rig.sh --with-qemu).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
vmm=$repo/build/phyllome-vmm
runs=5 tiny_runs=9 warmup=1 mem=512 vv=0 trace=0 out=
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--tiny-runs) tiny_runs=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--vv) vv=1; shift ;;
	--trace) trace=1; shift ;;
	--out) out=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-boot-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
if [ -z "$out" ]; then
	if [ -d "$repo/build" ]; then out=$repo/build/bench; else out=$PWD/bench-out; fi
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
[ -x "$vmm" ] || { echo "run-boot-bench.sh: no VMM binary at $vmm (ninja -C build)" >&2; exit 1; }

# The L1 side: a static timer/sampler (L1 is busybox: no nanosecond date) and the tiny guest.
gcc -static -O2 -Wall -Wextra -o "$out/benchrun" "$here/benchrun.c"
sh "$repo/tests/guests/tiny/build.sh" "$out/tiny.bzImage" >/dev/null

log=$out/rig-phyllome-boot-bench.log
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host: $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "host load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	tree=$(cd "$repo" && git describe --always --dirty 2>/dev/null || echo '?')
	echo "phyllome-vmm: $vmm (tree $tree, sha256 $(sha256sum "$vmm" | cut -c1-12)," \
		"built $(date -u -r "$vmm" '+%H:%M UTC'))"
	echo "qemu: $(qemu-system-x86_64 --version | head -n 1)"
} >"$out/host-info.txt"

t0=$(date +%s)
rm -f "$log" "$out/hostcpu.txt"
"$repo/tests/rig/run-rig.sh" --vmm "$vmm" --with-qemu \
	--extra-scenario "$here/l1/boot-bench.sh" \
	--add-file "rig/bench/benchrun=$out/benchrun" \
	--add-file "rig/bench/tiny.bzImage=$out/tiny.bzImage" \
	--l1-append "rig.env.BENCH_RUNS=$runs" --l1-append "rig.env.BENCH_TINY_RUNS=$tiny_runs" \
	--l1-append "rig.env.BENCH_WARMUP=$warmup" --l1-append "rig.env.BENCH_MEM=$mem" \
	--l1-append "rig.env.BENCH_VV=$vv" \
	--l1-append "rig.env.BENCH_TRACE=$trace" \
	--log-dir "$out" --log-name boot-bench --timeout 3600 "${extra[@]}" >&2 &
rig=$!
# The outer QEMU's CPU time, against which L1's runs are also measured (see hostcpu.py).
python3 "$here/hostcpu.py" --parent $rig --log "$log" --out "$out/hostcpu.txt" &
sampler=$!
wait $rig || true
wait $sampler || true
{
	echo "host load after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "rig run (L1 boot included): $(($(date +%s) - t0)) s"
} >>"$out/host-info.txt"

if ! grep -q RIG-DONE "$log" 2>/dev/null; then
	echo "run-boot-bench.sh: warning: L1 did not finish (see $log): the tables are partial" >&2
	echo "**partial run**: L1 did not finish (rig timeout or crash); later runs are missing" \
		>>"$out/host-info.txt"
fi
python3 "$here/report.py" "$log" "$out/host-info.txt" "$out/hostcpu.txt" | tee "$out/boot-bench.md"
echo "run-boot-bench.sh: tables in $out/boot-bench.md, L1 console log $log" >&2
