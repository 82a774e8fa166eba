#!/bin/bash
# Start-up and peak memory on the host's own /dev/kvm (a PVM host counts: the tiny guest runs a
# few instructions): phyllome-vmm started as `phyllome` starts it (with its API socket) against
# QEMU microvm with qboot, both running the project's tiny guest (tests/guests/tiny) to its
# serial marker, interleaved round by round. Measured by bench/benchrun.c (time from exec to
# the marker; peak RSS from wait4; guest RAM resident from smaps). Prints a markdown table of
# medians and of the median of per-round ratios. Method and results: docs/benchmarks.md.
# Not a test: nothing asserts on timings.
#
#   bench/run-start-bench.sh [--vmm build/phyllome-vmm] [--tiny build/tests/unit/tiny.bzImage]
#                            [--runs 21] [--mem 64] [--out DIR]
#
# Needs: /dev/kvm usable for a tiny guest, qemu-system-x86 (Debian), gcc with static glibc.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
vmm=$repo/build/phyllome-vmm
tiny=$repo/build/tests/unit/tiny.bzImage
runs=21 mem=64 out=$repo/build/bench
while [ $# -gt 0 ]; do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--tiny) tiny=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-start-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "run-start-bench.sh: no usable /dev/kvm" >&2; exit 1; }
[ -f "$tiny" ] || { echo "run-start-bench.sh: no tiny guest at $tiny (ninja -C build)" >&2; exit 1; }
mkdir -p "$out"
gcc -static -O2 -Wall -Wextra -o "$out/benchrun" "$here/benchrun.c"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# QEMU's "-cpu host" asks for MSRs a PVM host refuses; "max" without arch-capabilities runs on
# both a PVM host and hardware KVM. Not a choice that changes the tiny guest's time.
qemu=(qemu-system-x86_64 -M microvm -bios /usr/share/qemu/qboot.rom -enable-kvm
	-cpu max,-arch-capabilities -smp 1 -m "${mem}M" -nodefaults -no-user-config -display none
	-chardev stdio,id=ser0,signal=off -serial chardev:ser0 -kernel "$tiny")
phyllome=("$vmm" --kernel "$tiny" --cpus boot=1 --memory "size=${mem}M" --serial tty
	--api-socket "$work/api.sock")
log=$out/start-bench.log
: >"$log"
for i in $(seq 0 "$runs"); do # round 0 is a warm-up (page cache), not counted
	for who in phyllome qemu-microvm; do
		if [ "$who" = phyllome ]; then
			cmd=("${phyllome[@]}") kill=()
		else
			cmd=("${qemu[@]}") kill=(-k)
		fi
		line=$("$out/benchrun" -n "$who" -m PHYLLOME-TINY-READY "${kill[@]}" -g "$mem" -t 30 \
			-- "${cmd[@]}" </dev/null) || true
		[ "$i" = 0 ] || echo "round=$i $line" >>"$log"
	done
done
python3 - "$log" "$runs" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = dict(re.findall(r"(\w+)=(\S+)", line))
    rows.setdefault(f["name"], []).append(f)
def med(name, key, scale=1.0):
    v = [int(r[key]) / scale for r in rows.get(name, []) if int(r[key]) >= 0]
    return statistics.median(v) if v else float("nan")
def ratio(key):
    a, b = rows.get("phyllome", []), rows.get("qemu-microvm", [])
    v = [int(x[key]) / int(y[key]) for x, y in zip(a, b) if int(x[key]) > 0 and int(y[key]) > 0]
    return statistics.median(v) if v else float("nan")
print(f"{sys.argv[2]} rounds, medians (ratio: median of per-round ratios)\n")
print("| metric | phyllome-vmm (with --api-socket) | QEMU microvm + qboot | ratio |")
print("| --- | ---: | ---: | ---: |")
for key, what, scale, unit in (("marker_us", "exec to the tiny guest's marker", 1000, "ms"),
                               ("maxrss_kb", "peak RSS (ru_maxrss)", 1024, "MiB"),
                               ("guest_kb", "guest RAM resident at the marker", 1024, "MiB")):
    print(f"| {what} | {med('phyllome', key, scale):.2f} {unit} | "
          f"{med('qemu-microvm', key, scale):.2f} {unit} | {ratio(key):.3f} |")
overhead = [(int(r["hwm_kb"]) - int(r["guest_kb"])) / 1024 for r in rows.get("phyllome", [])
            if int(r["hwm_kb"]) >= 0 and int(r["guest_kb"]) >= 0]
q = [(int(r["hwm_kb"]) - int(r["guest_kb"])) / 1024 for r in rows.get("qemu-microvm", [])
     if int(r["hwm_kb"]) >= 0 and int(r["guest_kb"]) >= 0]
if overhead and q:
    print(f"| VMM memory overhead (VmHWM - guest RAM resident) | {statistics.median(overhead):.2f} MiB"
          f" | {statistics.median(q):.2f} MiB | |")
PY
echo "raw: $log"
