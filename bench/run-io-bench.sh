#!/bin/bash
# Virtio I/O benchmark of phyllome-vmm against Debian's QEMU (virtio-blk-pci with aio=io_uring and
# aio=threads, virtio-net-pci on a tap without vhost), in ONE rig run: one L1 boot (QEMU TCG with
# emulated AMD SVM, see tests/rig/README.md) runs every configuration in turn, interleaved, on
# L1's kvm-amd, the same L2 guest kernel, vCPUs and RAM. Prints markdown tables
# (bench/io-report.py). Method and results: docs/benchmarks.md. Not a test: nothing asserts.
#
#   bench/run-io-bench.sh [--vmm build/phyllome-vmm] [--runs 5] [--configs LIST] [--cpus 1]
#                         [--mem 512] [--seq-mib 256] [--fio-secs 10] [--net-secs 5]
#                         [--no-drop-caches] [--phyllome-opts "OPTS"] [--trace-configs LIST2]
#                         [--no-trace] [--pin-cpu N] [--stall S] [--out DIR]
#                         [--bench io|fs] [--files N] [-- extra run-rig.sh options]
#
# --bench fs (bench/run-fs-bench.sh): the shared-folder benchmark instead, bench/l1/fs-bench.sh on
# this machinery: configurations phyllome-fs,qemu-9p (virtio-fs against 9p), no traced round,
# --files N small files (2000) and a --seq-mib big file; out build/bench-fs, report fs-bench.md.
#
# LIST: comma-separated, at most 5, from phyllome, phyllome-direct, phyllome-nvme, qemu-uring,
# qemu-threads, qemu-uring-wb, qemu-nvme (NVMe: both O_DIRECT, io_uring), and for the e1000e NIC
# (run those two alone: --configs phyllome-e1000e,qemu-e1000e) phyllome-e1000e, qemu-e1000e,
# for qcow2 overlays (in L1's tmpfs, both buffered: --configs phyllome,phyllome-qcow2,qemu-qcow2)
# phyllome-qcow2, qemu-qcow2, and with O_DIRECT on ext4 on L1's RAM disks (both sides; --configs
# phyllome-qcow2-ext4,qemu-qcow2-ext4,phyllome-raw-ext4,qemu-raw-ext4: qcow2 overlays with
# direct=on against QEMU's cache=none,aio=io_uring, and raw files on the same kind of ext4)
# (default: phyllome,qemu-uring,qemu-threads,qemu-uring-wb). phyllome-vmm's disk is buffered
# (L1's page cache, like QEMU's cache=writeback: qemu-uring-wb) unless direct=on
# (phyllome-direct: O_DIRECT, like QEMU's cache=none: qemu-uring, qemu-threads).
# LIST2: more configurations that only run in the closing traced round (default none);
# --no-trace: no traced round. --pin-cpu N: the rig's outer QEMU runs pinned to host CPU N
# (taskset), so that its vCPU and main-loop threads never run at the same time (on an idle host
# L1 twice stopped for good, halted with no timer interrupt left; a race in the outer QEMU's TCG
# SVM emulation, FACTS.md, is the likely cause). --stall S (600): L1 prints a heartbeat every
# minute; after S seconds without console output the outer QEMU is ended and the report is made
# from what arrived. OPTS: more phyllome-vmm options (e.g. --seccomp=log). Needs what tests/rig
# needs, qemu-system-x86 (put into L1 with --with-qemu), and for bench/build-io-tools.sh: a deb-src
# line for bookworm (apt-get source fio), dpkg-dev, gcc, make, libaio-dev, cpio.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
vmm=$repo/build/phyllome-vmm
runs=5 configs=phyllome,qemu-uring,qemu-threads,qemu-uring-wb cpus=1 mem=512 seq_mib=256 fio_secs=10 net_secs=5
drop=1 out= popts= trace=1 tconfigs= pin= stall=600 bench=io files=2000 configs_set=
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--vmm) vmm=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--configs) configs=$2; configs_set=1; shift 2 ;;
	--bench) bench=$2; shift 2 ;;
	--files) files=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--seq-mib) seq_mib=$2; shift 2 ;;
	--fio-secs) fio_secs=$2; shift 2 ;;
	--net-secs) net_secs=$2; shift 2 ;;
	--no-drop-caches) drop=0; shift ;;
	--phyllome-opts) popts=$2; shift 2 ;;
	--trace-configs) tconfigs=$2; shift 2 ;;
	--no-trace) trace=0; shift ;;
	--pin-cpu) pin=$2; shift 2 ;;
	--stall) stall=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-io-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
case $bench in
io) scen=() ;;
fs)
	[ -n "$configs_set" ] || configs=phyllome-fs,qemu-9p
	trace=0
	scen=(--extra-scenario "$here/l1/fs-bench.sh")
	;;
*) echo "run-io-bench.sh: --bench io or fs" >&2; exit 2 ;;
esac
if [ -z "$out" ]; then
	if [ -d "$repo/build" ]; then out=$repo/build/bench-$bench; else out=$PWD/bench-$bench-out; fi
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
[ -x "$vmm" ] || { echo "run-io-bench.sh: no VMM binary at $vmm (ninja -C build)" >&2; exit 1; }

bash "$repo/tests/guests/build-guests.sh"
bash "$here/build-io-tools.sh" "$out"
add=()
while read -r spec; do add+=(--add-file "$spec"); done <"$out/l1-files"
# Each VM: its RAM, a 320 MiB RAM disk and L1's page cache for it; 4 GiB of L1 (the rig's
# default) holds four, a fifth needs more.
nconf=$(($(echo "$configs,$tconfigs" | tr ',' '\n' | grep -c .)))
[ "$nconf" -le 4 ] || add+=(--l1-mem 5G)
# *-ext4: each RAM disk holds a base and an overlay (up to 2 x 320 MiB more per VM)
case ",$configs,$tconfigs," in *-ext4,*) add+=(--l1-mem 6G) ;; esac
if [ -n "$pin" ]; then
	outer=${RIG_OUTER_QEMU:-qemu-system-x86_64}
	printf '#!/bin/sh\nexec taskset -c %s %s "$@"\n' "$pin" "$(command -v "$outer")" >"$out/outer-qemu-pinned"
	chmod +x "$out/outer-qemu-pinned"
	add+=(--outer-qemu "$out/outer-qemu-pinned")
fi

log=$out/rig-phyllome-$bench-bench.log
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host: $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "host load before: $(cut -d' ' -f1-3 /proc/loadavg); other outer QEMUs (rigs) running: $(pgrep -c -f 'qemu-system-x86_64 -accel tcg' || true)"
	echo "phyllome-vmm: $vmm (tree $(cd "$repo" && git describe --always --dirty 2>/dev/null || echo '?'), sha256 $(sha256sum "$vmm" | cut -c1-12), built $(date -u -r "$vmm" '+%H:%M UTC'))"
	echo "qemu: $(qemu-system-x86_64 --version | head -n 1)"
	echo "outer QEMU pinned to host CPU: ${pin:-no}"
} >"$out/host-info.txt"

t0=$(date +%s)
rm -f "$log" "$out/hostcpu.txt"
# Rigs started by others meanwhile compete for the host's CPUs: sample how many run.
(
	while sleep 15; do
		echo "$(($(date +%s) - t0)) $(cut -d' ' -f1 /proc/loadavg) $(pgrep -c -f 'qemu-system-x86_64 -accel tcg' || true)"
	done
) >"$out/host-load.txt" &
sampler=$!
trap 'kill $sampler 2>/dev/null || true' EXIT
"$repo/tests/rig/run-rig.sh" --vmm "$vmm" --with-qemu --no-build-guests \
	--extra-scenario "$here/l1/io-bench.sh" "${scen[@]}" --scenarios "$bench-bench" "${add[@]}" \
	--l1-append "rig.env.IOB_RUNS=$runs" --l1-append "rig.env.IOB_CONFIGS=$configs" \
	--l1-append "rig.env.IOB_CPUS=$cpus" --l1-append "rig.env.IOB_MEM=$mem" \
	--l1-append "rig.env.IOB_SEQ_MIB=$seq_mib" --l1-append "rig.env.IOB_FIO_SECS=$fio_secs" \
	--l1-append "rig.env.IOB_NET_SECS=$net_secs" --l1-append "rig.env.IOB_DROP_CACHES=$drop" \
	--l1-append "rig.env.IOB_PHYLLOME_EXTRA=$(echo $popts | tr ' ' +)" \
	--l1-append "rig.env.IOB_TRACE=$trace" --l1-append "rig.env.IOB_TRACE_CONFIGS=$tconfigs" \
	--l1-append "rig.env.IOB_FILES=$files" \
	--log-dir "$out" --log-name "$bench-bench" --timeout 3600 "${extra[@]}" >&2 &
rig=$!
# The outer QEMU's CPU time, sampled every 10 ms, and the arrival of each test's marks: a second
# measure of each test, which the host's load barely moves (bench/hostcpu.py).
python3 "$here/hostcpu.py" --parent $rig --log "$log" --out "$out/hostcpu.txt" &
hostcpu=$!
# Watchdog: L1 prints a heartbeat every 60 s (bench/l1/io-bench.sh); a console silent for
# $stall seconds means L1 itself stopped (seen twice, see docs/benchmarks.md): end the outer
# QEMU (the rig's child) so that the rig reports what it has instead of waiting for its timeout.
stuck=
while kill -0 "$rig" 2>/dev/null; do
	sleep 10
	[ -f "$log" ] || continue
	if [ $(($(date +%s) - $(stat -c %Y "$log"))) -gt "$stall" ]; then
		stuck=1
		echo "run-io-bench.sh: no L1 output for ${stall}s: stopping the outer QEMU" >&2
		for q in $(pgrep -P "$rig"); do kill "$q" 2>/dev/null || true; done
		break
	fi
done
wait "$rig" || true
wait "$hostcpu" || true # it ends with the rig; its samples are then all written
kill $sampler 2>/dev/null || true
{
	[ -z "$stuck" ] || echo "**L1 stopped**: no console output for ${stall} s; the outer QEMU was ended"
	echo "host load after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "host load during (every 15 s: 1-min load average, outer QEMUs running incl. this one): $(awk '{ printf "%s/%s ", $2, $3 }' "$out/host-load.txt")"
	echo "rig run (L1 boot included): $(($(date +%s) - t0)) s"
} >>"$out/host-info.txt"

python3 "$here/io-report.py" "$log" "$out/host-info.txt" "$out/hostcpu.txt" | tee "$out/$bench-bench.md"
echo "run-io-bench.sh: tables in $out/$bench-bench.md, L1 console log $log" >&2
