# Boot-time and start-up benchmark, run inside the rig's L1 (bench/run-boot-bench.sh puts it
# there as an extra scenario, with bench/benchrun and the tiny guest under /rig/bench/).
# Not a test: it reports one RIG-RESULT (ok if every run reached its marker) and "BENCH ..." lines
# (bench/benchrun's output plus round=N) that bench/report.py turns into tables.
#
# Settings (rig.env.NAME=VALUE on L1's command line):
#   BENCH_RUNS (5)        measured rounds of the Linux boot, each phyllome, q35, microvm in turn
#   BENCH_TINY_RUNS (9)   measured rounds of the tiny guest, each phyllome, QEMU microvm in turn
#   BENCH_WARMUP (1)      unmeasured tiny-guest rounds first (round=0): each VMM binary and its
#                         libraries run once before anything is measured
#   BENCH_MEM (512)       guest RAM in MiB
#   BENCH_VV (0)          1: one more phyllome-vmm boot with -v -v, its log summarised (BENCH-VV)
#   BENCH_TRACE (0)       1: after the measured runs, one more boot of each VMM
#                         with L1's kvm_exit and kvm_pio tracepoints counted in kernel histograms
#                         (exits by reason, port I/O by port): BENCH-TRACE lines. Not timed.
# shellcheck shell=sh

BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_TINY_RUNS=${BENCH_TINY_RUNS:-9}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_MEM=${BENCH_MEM:-512}
BENCH_VV=${BENCH_VV:-0}
BENCH_TRACE=${BENCH_TRACE:-0}
THP=/sys/kernel/mm/transparent_hugepage
BR=/rig/bench/benchrun
TINY=/rig/bench/tiny.bzImage
CMDLINE="console=ttyS0 quiet"
QEMU_COMMON="-enable-kvm -cpu host -smp 1 -m ${BENCH_MEM}M -nodefaults -no-user-config -display none -chardev stdio,id=ser0,signal=off -serial chardev:ser0"
bench_failed=0
# KVM's per-VM exit counters (benchrun reads them at the marker).
[ -d /sys/kernel/debug/kvm ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

echo "BENCH-INFO l1_kernel=$(uname -r) l1_cpus=$(grep -c ^processor /proc/cpuinfo) qemu=$(qemu-system-x86_64 --version | head -n 1 | tr ' ' _) mem_mib=$BENCH_MEM runs=$BENCH_RUNS tiny_runs=$BENCH_TINY_RUNS warmup=$BENCH_WARMUP thp=$(sed 's/.*\[\(.*\)\].*/\1/' $THP/enabled) shmem_thp=$(sed 's/.*\[\(.*\)\].*/\1/' $THP/shmem_enabled)"

# run_one KIND NAME ROUND BENCHRUN-ARGS... -- VMM ARGS...: one benchrun, its line with round and kind
# added; on a failure the tail of the serial output and of stderr.
run_one() {
	_kind=$1 _name=$2 _round=$3
	shift 3
	_dir=$RIG_WORK/$_name-$_round
	mkdir -p "$_dir"
	"$BR" -c # L1's clock, for the host's CPU-time samples (bench/hostcpu.py)
	_line=$("$BR" -n "$_name" -o "$_dir/serial" -e "$_dir/stderr" "$@" </dev/null)
	_rc=$?
	_used=-1
	if [ "$_kind" = boot ]; then
		# The guest's own view, typed in after the sample: MemTotal - MemFree (kB).
		_t=$(tr -d '\r' <"$_dir/serial" | sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' | head -n 1)
		_f=$(tr -d '\r' <"$_dir/serial" | sed -n 's/^MemFree: *\([0-9]*\) kB/\1/p' | head -n 1)
		[ -n "$_t" ] && [ -n "$_f" ] && _used=$((_t - _f))
	fi
	echo "$_line kind=$_kind round=$_round guest_used_kb=$_used"
	if [ $_rc -ne 0 ] || [ -z "$_line" ]; then
		bench_failed=$((bench_failed + 1))
		echo "---- $_name round $_round failed (benchrun status $_rc): serial tail:"
		tail -n 15 "$_dir/serial" | sed 's/^/| /'
		echo "---- stderr tail:"
		tail -n 10 "$_dir/stderr" | sed 's/^/! /'
	fi
	rm -rf "$_dir"
}

# The Linux guest: time to PHYLLOME-USERSPACE (first thing /init prints); memory sampled when
# init prints PHYLLOME-SHELL; then the guest's meminfo is asked for and it powers off.
GUEST_LINE="grep -E '^Mem(Total|Free):' /proc/meminfo; poweroff -f"
boot_phyllome() {
	run_one boot phyllome "$1" -m PHYLLOME-USERSPACE -r PHYLLOME-SHELL -s "$GUEST_LINE" \
		-g "$BENCH_MEM" -t 300 -- \
		"$RIG_VMM" --kernel "$L2_KERNEL" --initramfs "$L2_INITRD" --cmdline "$CMDLINE" \
		--cpus boot=1 --memory "size=${BENCH_MEM}M" --serial tty
}
boot_q35() {
	# shellcheck disable=SC2086 # QEMU_COMMON is a list of words
	run_one boot qemu-q35 "$1" -m PHYLLOME-USERSPACE -r PHYLLOME-SHELL -s "$GUEST_LINE" \
		-g "$BENCH_MEM" -t 300 -- \
		qemu-system-x86_64 -M q35 $QEMU_COMMON \
		-kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$CMDLINE"
}
boot_microvm() {
	# shellcheck disable=SC2086
	run_one boot qemu-microvm "$1" -m PHYLLOME-USERSPACE -r PHYLLOME-SHELL -s "$GUEST_LINE" \
		-g "$BENCH_MEM" -t 300 -- \
		qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off $QEMU_COMMON \
		-kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$CMDLINE"
}

# The tiny guest: time to PHYLLOME-TINY-READY and peak RSS. phyllome-vmm exits by itself (the
# guest writes S5 to 0x604); QEMU's guest halts, so QEMU is killed at the marker. phyllome-vmm
# runs as `phyllome` starts it: with its API socket.
tiny_phyllome() {
	run_one tiny phyllome-tiny "$1" -m PHYLLOME-TINY-READY -t 60 -- \
		"$RIG_VMM" --kernel "$TINY" --cpus boot=1 --memory "size=${BENCH_MEM}M" --serial tty \
		--api-socket "$RIG_WORK/bench-api.sock"
}
tiny_microvm() {
	# shellcheck disable=SC2086
	run_one tiny qemu-microvm-tiny "$1" -m PHYLLOME-TINY-READY -k -t 60 -- \
		qemu-system-x86_64 -M microvm -bios /usr/share/qemu/qboot.rom $QEMU_COMMON -kernel "$TINY"
}

t_start=$(now_cs)
i=1
while [ $i -le "$BENCH_WARMUP" ]; do
	tiny_phyllome 0
	tiny_microvm 0
	i=$((i + 1))
done
i=1
while [ $i -le "$BENCH_RUNS" ]; do
	boot_phyllome $i
	boot_q35 $i
	boot_microvm $i
	i=$((i + 1))
done
i=1
while [ $i -le "$BENCH_TINY_RUNS" ]; do
	tiny_phyllome $i
	tiny_microvm $i
	i=$((i + 1))
done

if [ "$BENCH_VV" = 1 ]; then
	# One more boot with phyllome-vmm -v -v: its debug log stamps each guest write to port 0x80
	# with the time since the VMM started (Linux 6.1 as a KVM guest writes none: its io_delay
	# is a no-op there). Summarised: other log lines as they are (the first 60), port 0x80
	# writes as one count per 100 ms of VMM time.
	d=$RIG_WORK/vv
	mkdir -p "$d"
	line=$("$BR" -n phyllome-vv -m PHYLLOME-USERSPACE -r PHYLLOME-SHELL -s "poweroff -f" \
		-g "$BENCH_MEM" -t 300 -o "$d/serial" -e "$d/stderr" -- \
		"$RIG_VMM" -v -v --kernel "$L2_KERNEL" --initramfs "$L2_INITRD" --cmdline "$CMDLINE" \
		--cpus boot=1 --memory "size=${BENCH_MEM}M" --serial tty </dev/null)
	echo "BENCH-VV $line"
	echo "BENCH-VV stderr: $(wc -l <"$d/stderr") lines, $(grep -c 'debug port' "$d/stderr") port-0x80 writes"
	grep -v 'debug port' "$d/stderr" | head -n 60 | sed 's/^/BENCH-VV | /'
	sed -n 's/.*debug port: 0x.. at \([0-9]*\)\.[0-9]* ms.*/\1/p' "$d/stderr" |
		awk '{ b = int($1 / 100); n[b]++; if (b > m) m = b } END { for (i = 0; i <= m; i++) if (n[i]) printf "BENCH-VV port80 %d-%d ms: %d\n", i * 100, i * 100 + 99, n[i] }'
fi

if [ "$BENCH_TRACE" = 1 ]; then
	# Histograms of KVM exits by reason and of port I/O by port, kept in L1's kernel (hist
	# triggers: nothing to overflow), for one boot to the marker of each VMM.
	# Also the guest RIPs of port I/O exits (SVM exit code 0x7b), with nokaslr so that they match
	# the kernel package's System.map.
	T=/sys/kernel/debug/tracing/events/kvm
	CMDLINE="$CMDLINE nokaslr"
	for v in phyllome q35 microvm; do
		if ! { echo 'hist:keys=exit_reason:sort=hitcount.descending:size=256' >$T/kvm_exit/trigger &&
			echo 'hist:keys=port,rw:sort=hitcount.descending:size=1024' >$T/kvm_pio/trigger &&
			echo 'hist:keys=guest_rip.hex:sort=hitcount.descending:size=4096 if exit_reason == 123' >>$T/kvm_exit/trigger; }; then
			echo "BENCH-TRACE no hist triggers in L1's kernel"
			break
		fi
		case $v in
		phyllome) boot_phyllome -1 ;;
		q35) boot_q35 -1 ;;
		microvm) boot_microvm -1 ;;
		esac
		grep -E '^\{|^Totals|Hits:' $T/kvm_exit/hist | grep -v guest_rip | head -n 25 | sed "s/^/BENCH-TRACE $v exit | /"
		grep -E '^\{ guest_rip' $T/kvm_exit/hist | head -n 20 | sed "s/^/BENCH-TRACE $v io-rip | /"
		grep -E '^\{|^Totals|Hits:' $T/kvm_pio/hist | head -n 30 | sed "s/^/BENCH-TRACE $v pio | /"
		echo '!hist:keys=exit_reason:sort=hitcount.descending:size=256' >$T/kvm_exit/trigger
		echo '!hist:keys=guest_rip.hex:sort=hitcount.descending:size=4096 if exit_reason == 123' >$T/kvm_exit/trigger
		echo '!hist:keys=port,rw:sort=hitcount.descending:size=1024' >$T/kvm_pio/trigger
	done
fi

if [ $bench_failed -eq 0 ]; then
	rig_ok boot-bench "all runs reached their marker in $(since "$t_start")s"
else
	rig_fail boot-bench "$bench_failed run(s) without their marker"
fi
