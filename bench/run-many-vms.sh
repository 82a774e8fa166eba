#!/bin/bash
# Many VMs at once: MANY (16) Linux guests of 256 MiB each started by `phyllome run -d`, against as
# many Debian QEMUs started directly, in ONE rig run (an L1 of 8 GiB; QEMU TCG with emulated AMD
# SVM, see tests/rig/README.md). bench/l1/many-vms.sh does the work in L1: time from the first
# launch until every guest reached userspace, memory per VM, all stopped through the ACPI power
# button and checked to have ended cleanly. Prints markdown tables (bench/many-report.py).
# Method and results: docs/benchmarks.md. Not a test: nothing asserts on timings.
#
#   bench/run-many-vms.sh [--vmm build/phyllome-vmm] [--vms 16] [--mem 256] [--runs 3]
#                         [--budget S] [--qemu-machine q35|microvm] [--l1-mem 8G]
#                         [--pin-cpu N] [--out DIR] [-- extra run-rig.sh options]
#
#   --runs    rounds (each: a set of phyllome VMs and a set of QEMUs, the order alternating)
#   --budget  seconds of L1 time after which no new round starts (default 0: none)
#   --pin-cpu the rig's outer QEMU runs pinned to host CPU N (taskset; see run-io-bench.sh)
#   --out     where the outputs go (default build/bench-many): many-vms.md (the tables), the L1
#             console log, host-info.txt, host-load.txt
#
# Needs what tests/rig needs, the manager `phyllome` built beside phyllome-vmm (ninja -C build),
# qemu-system-x86 (put into L1 with run-rig.sh --with-qemu) and socat (QMP, in L1).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
vmm=$repo/build/phyllome-vmm
vms=16 mem=256 runs=3 budget=0 machine=q35 l1_mem=8G pin='' out=''
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--vms) vms=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--budget) budget=$2; shift 2 ;;
	--qemu-machine) machine=$2; shift 2 ;;
	--l1-mem) l1_mem=$2; shift 2 ;;
	--pin-cpu) pin=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-many-vms.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
case $machine in q35 | microvm) ;; *) echo "run-many-vms.sh: --qemu-machine q35 or microvm" >&2; exit 2 ;; esac
if [ -z "$out" ]; then
	if [ -d "$repo/build" ]; then out=$repo/build/bench-many; else out=$PWD/bench-many-out; fi
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
[ -x "$vmm" ] || { echo "run-many-vms.sh: no VMM binary at $vmm (ninja -C build)" >&2; exit 1; }
[ -x "$(dirname "$vmm")/phyllome" ] ||
	{ echo "run-many-vms.sh: no manager beside $vmm (ninja -C build builds phyllome)" >&2; exit 1; }

add=()
if [ -n "$pin" ]; then
	outer=${RIG_OUTER_QEMU:-qemu-system-x86_64}
	printf '#!/bin/sh\nexec taskset -c %s %s "$@"\n' "$pin" "$(command -v "$outer")" >"$out/outer-qemu-pinned"
	chmod +x "$out/outer-qemu-pinned"
	add+=(--outer-qemu "$out/outer-qemu-pinned")
fi

log=$out/rig-phyllome-many-vms.log
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host: $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "host load before: $(cut -d' ' -f1-3 /proc/loadavg); other outer QEMUs (rigs) running: $(pgrep -c -f 'qemu-system-x86_64 -accel tcg' || true)"
	echo "phyllome-vmm: $vmm (tree $(cd "$repo" && git describe --always --dirty 2>/dev/null || echo '?'), sha256 $(sha256sum "$vmm" | cut -c1-12), built $(date -u -r "$vmm" '+%H:%M UTC'))"
	echo "qemu: $(qemu-system-x86_64 --version | head -n 1)"
	echo "L1 memory: $l1_mem; outer QEMU pinned to host CPU: ${pin:-no}"
} >"$out/host-info.txt"

t0=$(date +%s)
rm -f "$log"
# Rigs started by others meanwhile compete for the host's CPUs: sample the load.
(
	while sleep 15; do
		echo "$(($(date +%s) - t0)) $(cut -d' ' -f1 /proc/loadavg) $(pgrep -c -f 'qemu-system-x86_64 -accel tcg' || true)"
	done
) >"$out/host-load.txt" &
sampler=$!
trap 'kill $sampler 2>/dev/null || true' EXIT
rc=0
"$repo/tests/rig/run-rig.sh" --vmm "$vmm" --with-qemu \
	--extra-scenario "$here/l1/many-vms.sh" --scenarios many-vms --l1-mem "$l1_mem" "${add[@]}" \
	--l1-append "rig.env.MANY_N=$vms" --l1-append "rig.env.MANY_MEM=$mem" \
	--l1-append "rig.env.MANY_RUNS=$runs" --l1-append "rig.env.MANY_BUDGET=$budget" \
	--l1-append "rig.env.MANY_QEMU_MACHINE=$machine" \
	--log-dir "$out" --log-name many-vms --timeout 3600 "${extra[@]}" >&2 || rc=$?
{
	echo "host load after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "rig run (L1 boot included): $(($(date +%s) - t0)) s, run-rig.sh status $rc"
} >>"$out/host-info.txt"
if ! grep -q RIG-DONE "$log" 2>/dev/null; then
	echo "run-many-vms.sh: warning: L1 did not finish (see $log): the tables are partial" >&2
	echo "**partial run**: L1 did not finish (rig timeout or crash); later rounds are missing" \
		>>"$out/host-info.txt"
fi
python3 "$here/many-report.py" "$log" "$out/host-info.txt" | tee "$out/many-vms.md"
echo "run-many-vms.sh: tables in $out/many-vms.md, L1 console log $log" >&2
