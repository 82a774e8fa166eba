#!/bin/bash
# Sound benchmark of phyllome-vmm against Debian's QEMU, in ONE rig run: the Debian system plays
# speaker-test's 1 kHz sine on each VMM's HD Audio in turn (bench/l1/sound-bench.sh), and the
# VMM's host CPU time per second of sound played is compared (medians over the rounds). Not a
# test: nothing asserts. Method and results: docs/benchmarks.md.
#
#   bench/run-sound-bench.sh [--vmm build/phyllome-vmm] [--runs 3] [--out DIR] [-- run-rig.sh options]
#
# Needs what tests/rig needs (the Debian system: tests/guests/build-debian.sh) and qemu-system-x86
# (put into L1 with --with-qemu).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
vmm=$repo/build/phyllome-vmm runs=3 out=
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-sound-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
out=${out:-$repo/build/bench-sound}
mkdir -p "$out"
out=$(cd "$out" && pwd)
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host: $(uname -r), $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "phyllome-vmm: $vmm (tree $(cd "$repo" && git describe --always --dirty 2>/dev/null || echo '?'))"
	echo "qemu: $(qemu-system-x86_64 --version | head -n 1)"
} >"$out/host-info.txt"
"$repo/tests/rig/run-rig.sh" --vmm "$vmm" --with-qemu --extra-scenario "$here/l1/sound-bench.sh" \
	--l1-append "rig.env.BENCH_SOUND_RUNS=$runs" --log-dir "$out" --log-name sound-bench \
	--timeout 3600 "${extra[@]}" >&2 || true
echo "host load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/host-info.txt"
report() {
python3 - "$out/rig-phyllome-sound-bench.log" "$out/host-info.txt" <<'PY' | tee "$out/sound-bench.md"
import re, statistics, sys
runs = {}
# The denominator is the guest's own time of speaker-test's play (the same sine on both VMMs);
# the WAV file's seconds (audio_s, phyllome-vmm's: QEMU writes its WAV header at exit) and the
# tone it measures are shown where there.
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"BENCH-SOUND vmm=(\S+) round=(\d+) cpu_s=([\d.]+) audio_s=([\d.]+) hz=([\d.]+) "
                  r"played_for_([\d.]+)_s", line)
    if m:
        runs.setdefault(m.group(1), []).append((float(m.group(3)), float(m.group(6)),
                                                float(m.group(4)), float(m.group(5))))
print(open(sys.argv[2]).read())
print("| VMM | runs | host CPU s per s of play (median, min-max) | play s (median) | WAV s, Hz (median) |")
print("|---|---|---|---|---|")
med = {}
for vmm, rs in sorted(runs.items()):
    per = [c / p for c, p, _, _ in rs]
    med[vmm] = statistics.median(per)
    wav = [(a, h) for _, _, a, h in rs if a > 0]
    print(f"| {vmm} | {len(rs)} | {med[vmm]:.3f} ({min(per):.3f}-{max(per):.3f}) | "
          f"{statistics.median(p for _, p, _, _ in rs):.1f} | "
          + (f"{statistics.median(a for a, _ in wav):.1f} s, {statistics.median(h for _, h in wav):.1f} Hz"
             if wav else "-") + " |")
if "phyllome" in med and "qemu" in med:
    print(f"\nphyllome-vmm / QEMU, CPU per second of sound: **{med['phyllome'] / med['qemu']:.2f}x** "
          "(lower is better for phyllome-vmm)")
PY
}
report
