# Virtio I/O benchmark, run inside the rig's L1 (bench/run-io-bench.sh puts it there as an extra
# scenario, with iperf3, brd.ko and the bench L2 initramfs under /rig/bench/).
# Not a test: it reports one RIG-RESULT (ok if every run finished) and "BENCH-IO ..." lines that
# bench/io-report.py turns into tables.
#
# One VM per configuration, all booted at the start and kept (an L2 boot costs minutes of rig time
# when the host is busy); a VM that is not being measured is stopped (SIGSTOP), so that the one
# measured has L1's CPU to itself. VM i has its own RAM disk /dev/ram<i> (brd in L1: O_DIRECT works there,
# not on L1's tmpfs) and its own tap<i> (L1 192.168.(77+i).1, the guest .2, an iperf3 server on
# each L1 address). Then IOB_RUNS rounds; in each, the VMs run the phases one VM after the other
# (bench/l2/io-bench.sh: dd read, dd write, fio random read, iperf3 both ways), the first VM
# rotating from round to round; only one VM does I/O at a time.
#
# Settings (rig.env.NAME=VALUE on L1's command line):
#   IOB_RUNS (5)         rounds
#   IOB_CONFIGS          configurations, comma-separated (default phyllome,qemu-uring,qemu-threads):
#                        phyllome       phyllome-vmm --disk path=/dev/ramI --net tap=tapI
#                        phyllome-direct  the same with --disk ...,direct=on (O_DIRECT)
#                        phyllome-nvme  the same disk on NVMe: --disk ...,direct=on,bus=nvme
#                        qemu-nvme      QEMU -device nvme, cache=none,aio=io_uring
#                        qemu-uring     QEMU virtio-blk-pci cache=none,aio=io_uring
#                        qemu-threads   QEMU virtio-blk-pci cache=none,aio=threads
#                        qemu-uring-wb  QEMU virtio-blk-pci cache=writeback,aio=io_uring
#                        (QEMU always with virtio-net-pci on tapI, vhost=off)
#                        phyllome-e1000e  phyllome with the e1000e NIC (--net ...,model=e1000e)
#                        qemu-e1000e    QEMU cache=writeback,aio=io_uring with -device e1000e
#                        phyllome-qcow2 phyllome-vmm --disk path=OV,format=qcow2,backing=on: OV
#                                       a thin overlay (qemu-img create -b) in L1's tmpfs over a
#                                       base made from the RAM disk filled with a pattern
#                                       (qemu-img convert -O qcow2: every cluster allocated)
#                        qemu-qcow2     QEMU on its own copy of that overlay and base, virtio-blk,
#                                       cache=writeback,aio=io_uring (tmpfs has no O_DIRECT: both
#                                       VMMs go through L1's page cache)
#                        (compare these two alone: the report pairs every phyllome with every
#                        QEMU configuration)
#                        With O_DIRECT, on ext4 (mke2fs in L1, ext4.ko and what it needs
#                        loaded) on the VM's RAM disk, which is then 2 x IOB_DISK_MIB + 96 MiB:
#                        phyllome-qcow2-ext4  phyllome-vmm --disk path=OV,format=qcow2,
#                                       backing=on,direct=on; OV an overlay (qemu-img create -b)
#                                       over a base made from a pattern file (qemu-img convert)
#                        qemu-qcow2-ext4  QEMU on its own such overlay, virtio-blk,
#                                       cache=none,aio=io_uring (the base also O_DIRECT)
#                        phyllome-raw-ext4  phyllome-vmm --disk path=RAW,direct=on: RAW the
#                                       pattern file itself (IOB_DISK_MIB) on such an ext4
#                        qemu-raw-ext4  QEMU on its own such file, cache=none,aio=io_uring
#                        (--configs phyllome-qcow2-ext4,qemu-qcow2-ext4,phyllome-raw-ext4,
#                        qemu-raw-ext4: the overlay against QEMU's, and each against raw)
#                        phyllome-fs    phyllome-vmm --fs tag=share,path=/tmp/iob-fsI: a tmpfs of
#                                       L1's, no disk, no NIC (the guest runs fs-bench)
#                        phyllome-fs-nocache  the same with cache=none (no page cache in the
#                                       guest for file data, as 9p's default cache=none)
#                        qemu-9p        QEMU -fsdev local,path=/tmp/iob-fsI,security_model=none
#                                       -device virtio-9p-pci,mount_tag=share (the same)
#   IOB_TEST (io-bench)  the guest's test: io-bench (bench/l2/io-bench.sh) or fs-bench
#                        (bench/l2/fs-bench.sh; bench/l1/fs-bench.sh sets these three)
#   IOB_PHASES           the guest's phases, in order (default the io-bench's five)
#   IOB_FILES (2000)     fs-bench: the number of small files
#   IOB_PHASE_SECS (300) the longest one phase may take before the VM is given up
#   IOB_TRACE_CONFIGS    more configurations that only run in the traced round (default none)
#   IOB_CPUS (1)  IOB_MEM (512, MiB)  IOB_DISK_MIB (320)  IOB_SEQ_MIB (256)  IOB_FIO_SECS (10)
#   IOB_NET_SECS (5)  IOB_T_BOOT (900: seconds for all VMs to be ready)
#   IOB_PHYLLOME_EXTRA   more phyllome-vmm options, words separated by '+' (e.g. --seccomp=log)
#   IOB_DROP_CACHES (1)  1: L1 drops its page cache before every phase (phyllome-vmm reads and
#                        writes /dev/ramI through it; QEMU with cache=none does not)
#   IOB_TRACE (1)        1: after the measured rounds, one short round per VM (32 MiB, fio 3 s,
#                        iperf3 2 s) with L1's kvm tracepoints on (kvm_exit, kvm_pio, kvm_mmio,
#                        kvm_msr, kvm_userspace_exit, for that VM's threads): BENCH-IO-TRACE lines,
#                        counts per exit reason, port, MMIO address, MSR; the same for each idle VM
#   IOB_IDLE_SECS (5)   each VM alone and idle for this long: BENCH-IO-IDLE
# rig-tools: qemu-img mke2fs
# shellcheck shell=sh

IOB_RUNS=${IOB_RUNS:-5}
IOB_CONFIGS=${IOB_CONFIGS:-phyllome,qemu-uring,qemu-threads}
IOB_CPUS=${IOB_CPUS:-1}
IOB_MEM=${IOB_MEM:-512}
IOB_DISK_MIB=${IOB_DISK_MIB:-320}
IOB_SEQ_MIB=${IOB_SEQ_MIB:-256}
IOB_FIO_SECS=${IOB_FIO_SECS:-10}
IOB_NET_SECS=${IOB_NET_SECS:-5}
IOB_T_BOOT=${IOB_T_BOOT:-900}
IOB_DROP_CACHES=${IOB_DROP_CACHES:-1}
IOB_TRACE=${IOB_TRACE:-1}
IOB_TRACE_CONFIGS=${IOB_TRACE_CONFIGS:-}
IOB_IDLE_SECS=${IOB_IDLE_SECS:-5}
IOB_PHYLLOME_EXTRA=$(echo "${IOB_PHYLLOME_EXTRA:-}" | tr + ' ')
B=/rig/bench
IOB_TEST=${IOB_TEST:-io-bench}
IOB_FILES=${IOB_FILES:-2000}
IOB_PHASE_SECS=${IOB_PHASE_SECS:-300}
PHASES=${IOB_PHASES:-seqread seqwrite randread net-tx net-rx}
KVM_STATS="exits io_exits mmio_exits halt_exits irq_exits irq_window_exits irq_injections halt_wakeup insn_emulation"
iob_failed=0
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
L2_INITRD=$B/io-initramfs

[ -d /sys/kernel/debug/kvm ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

IFS=,
# shellcheck disable=SC2086 # split on commas
set -- $IOB_CONFIGS
NMEAS=$# # the first NMEAS VMs run the measured rounds, all NVM the traced one
[ "$IOB_TRACE" = 1 ] && [ -n "$IOB_TRACE_CONFIGS" ] && set -- "$@" $IOB_TRACE_CONFIGS
unset IFS
NVM=$#
if [ "$NVM" -gt 5 ]; then
	rig_fail io-bench "at most 5 configurations"
	exit 0
fi

# A heartbeat on the console, so that bench/run-io-bench.sh can tell a quiet L1 from a stopped one.
(
	n=0
	while sleep 60; do
		n=$((n + 1))
		echo "io-bench: heartbeat ${n} min"
	done
) &
iob_heartbeat=$!

# --- set-up: RAM disks, taps, iperf3 servers --------------------------------------------------------
# The *-ext4 configurations: ext4 on the RAM disk, with room for a base and a full overlay.
rd_kib=$((IOB_DISK_MIB * 1024))
case ",$*," in *-ext4,*) rd_kib=$(((2 * IOB_DISK_MIB + 96) * 1024)) ;; esac
if ! insmod "$B/brd.ko" rd_nr="$NVM" rd_size=$rd_kib max_part=0 || [ ! -b /dev/ram0 ]; then
	rig_fail io-bench "cannot load brd.ko (rd_nr=$NVM rd_size=$rd_kib KiB)"
	exit 0
fi
# iob_ext4 I CFG: ext4 on /dev/ramI at /tmp/iob-eI (no metadata checksums: no crc32c needed;
# inode tables and journal written now, not by a thread during the rounds) holding disk.raw,
# IOB_DISK_MIB of a pattern (not zeroes, which qemu-img would leave unallocated); for a qcow2
# configuration that file becomes base.qcow2 and the VM's disk the overlay ov.qcow2 on it.
iob_ext4() {
	for _k in crc16 mbcache jbd2 crc32c_generic ext4; do
		[ -f "$B/$_k.ko" ] && insmod "$B/$_k.ko" 2>/dev/null
	done
	grep -qw ext4 /proc/filesystems || { echo "ext4.ko did not load"; return 1; }
	mkdir -p "/tmp/iob-e$1"
	"$TOOLS/mke2fs" -q -F -t ext4 -m 0 -O ^metadata_csum -E lazy_itable_init=0,lazy_journal_init=0 \
		"/dev/ram$1" && mount -t ext4 "/dev/ram$1" "/tmp/iob-e$1" || return 1
	tr '\000' '\125' </dev/zero | dd of="/tmp/iob-e$1"/disk.raw bs=1M count="$IOB_DISK_MIB" iflag=fullblock 2>/dev/null || return 1
	case $2 in
	*-qcow2-ext4)
		(cd "/tmp/iob-e$1" && "$TOOLS/qemu-img" convert -f raw -O qcow2 disk.raw base.qcow2 &&
			rm disk.raw && "$TOOLS/qemu-img" create -q -f qcow2 -b base.qcow2 -F qcow2 ov.qcow2) || return 1
		;;
	esac
	sync
}
t_start=$(now_cs)
i=0
while [ $i -lt "$NVM" ]; do
	_cfg=
	eval "_cfg=\${$((i + 1))}"
	case $_cfg in
	*-fs | *-fs-* | *-9p)
		# The shared folder: a tmpfs of its own (the big file and the small ones fit)
		mkdir -p /tmp/iob-fs$i
		mount -t tmpfs -o size=$((IOB_SEQ_MIB + 256))m tmpfs /tmp/iob-fs$i
		i=$((i + 1))
		continue
		;;
	esac
	if [ "${_cfg%-ext4}" != "$_cfg" ]; then
		if ! _why=$(iob_ext4 "$i" "$_cfg" 2>&1); then
			rig_fail io-bench "cannot make the ext4 images for VM $i ($_cfg): $_why"
			exit 0
		fi
		echo "io-bench: VM $i ($_cfg): $(df -k "/tmp/iob-e$i" | tail -n 1 | awk '{ print $3 }') KiB used on ext4: $(cd "/tmp/iob-e$i" && echo *)"
	fi
	# Every sector written once, so that reads find real pages (brd answers sectors never written
	# with zeroes, without a copy).
	[ "${_cfg%-ext4}" = "$_cfg" ] && dd if=/dev/zero of=/dev/ram$i bs=1M count="$IOB_DISK_MIB" oflag=direct 2>/dev/null
	if [ "${_cfg%-qcow2}" != "$_cfg" ]; then
		# The qcow2 base: the RAM disk with a pattern in it (not zeroes, which qemu-img would
		# leave unallocated), converted; the VM's disk a thin overlay on it.
		tr '\000' '\125' </dev/zero | dd of=/dev/ram$i bs=1M count="$IOB_DISK_MIB" iflag=fullblock 2>/dev/null
		mkdir -p /tmp/iob-q$i
		if ! "$TOOLS/qemu-img" convert -f raw -O qcow2 /dev/ram$i /tmp/iob-q$i/base.qcow2 ||
			! (cd /tmp/iob-q$i && "$TOOLS/qemu-img" create -q -f qcow2 -b base.qcow2 -F qcow2 ov.qcow2); then
			rig_fail io-bench "cannot make the qcow2 images for VM $i (qemu-img in L1?)"
			exit 0
		fi
	fi
	tap_setup io-bench tap$i 192.168.$((77 + i)).1/24 || exit 0
	"$B/iperf3" -s -B 192.168.$((77 + i)).1 >"$RIG_WORK/iperf3-server$i.log" 2>&1 &
	echo $! >"$RIG_WORK/iperf3-server$i.pid"
	i=$((i + 1))
done
echo "io-bench: RAM disks written and taps up in $(since "$t_start")s"

echo "BENCH-IO-INFO trace_configs=$IOB_TRACE_CONFIGS l1_kernel=$(uname -r) l1_cpus=$(grep -c ^processor /proc/cpuinfo) l1_mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) qemu=$(qemu-system-x86_64 --version | head -n 1 | tr ' ' _) iperf3=$("$B/iperf3" --version | head -n 1 | tr ' ' _) disk_mib=$IOB_DISK_MIB seq_mib=$IOB_SEQ_MIB fio_secs=$IOB_FIO_SECS net_secs=$IOB_NET_SECS cpus=$IOB_CPUS mem_mib=$IOB_MEM runs=$IOB_RUNS configs=$IOB_CONFIGS drop_caches=$IOB_DROP_CACHES phyllome_extra=$(echo "$IOB_PHYLLOME_EXTRA" | tr ' ' +)"

# --- counters --------------------------------------------------------------------------------------
# snap: one line of counters: the VM's KVM statistics (debugfs, summed over its vCPUs), the VMM's
# CPU time, in total and per thread name (centiseconds: utime+stime from /proc/PID/task/*/stat;
# vCPU threads include the time the guest ran), its tap's packet and drop counters, L1's TCP
# retransmissions (iperf3's server side) and L1's CPU time split (/proc/stat, centiseconds).
snap() {
	_d=$(ls -d /sys/kernel/debug/kvm/"$VMM_PID"-* 2>/dev/null | head -n 1)
	for _s in $KVM_STATS; do
		printf 'kvm_%s=%s ' "$_s" "$(cat "$_d/$_s" 2>/dev/null || echo -1)"
	done
	# (a thread's name may hold spaces and parentheses: it ends at the last ')')
	for _t in /proc/"$VMM_PID"/task/*; do
		cat "$_t/stat" 2>/dev/null
	done | awk '{ o = index($0, "("); match($0, /\)[^)]*$/)
		n = substr($0, o + 1, RSTART - o - 1); gsub(/[^A-Za-z0-9_.-]/, "_", n)
		split(substr($0, RSTART + 2), f, " ")
		c[n] += f[12] + f[13]; t += f[12] + f[13] }
		END { printf "vmm_cpu=%d ", t; for (k in c) printf "thr_%s=%d ", k, c[k] }'
	for _s in rx_packets tx_packets rx_dropped tx_dropped; do
		printf 'tap_%s=%s ' "$_s" "$(cat /sys/class/net/tap$VMI/statistics/$_s 2>/dev/null || echo -1)"
	done
	awk '/^Tcp: [0-9]/ { printf "l1_tcp_retrans=%d ", $13 }' /proc/net/snmp
	awk '/^cpu / { printf "l1_user=%d l1_nice=%d l1_sys=%d l1_idle=%d l1_iowait=%d l1_irq=%d l1_softirq=%d l1_guest=%d", $2, $3, $4, $5, $6, $7, $8, $10 }' /proc/stat
}
# delta A B: "k=b-a" for every k=number in line B
delta() {
	printf '%s\n%s\n' "$1" "$2" | awk 'NR == 1 { for (i = 1; i <= NF; i++) { split($i, kv, "="); a[kv[1]] = kv[2] } next }
		{ for (i = 1; i <= NF; i++) { split($i, kv, "="); printf "%s=%d ", kv[1], kv[2] - a[kv[1]] } }'
}

# --- kvm tracepoints (IOB_TRACE) ---------------------------------------------------------------------
TR=/sys/kernel/tracing
[ -d $TR/events ] || mount -t tracefs tracefs $TR 2>/dev/null
[ -d $TR/events/kvm ] || TR=/sys/kernel/debug/tracing
TR_EVENTS="kvm_exit kvm_pio kvm_mmio kvm_msr kvm_userspace_exit"
trace_start() {
	echo 0 >$TR/tracing_on
	echo 16384 >$TR/buffer_size_kb
	: >$TR/trace
	ls /proc/"$VMM_PID"/task | tr '\n' ' ' >$TR/set_event_pid
	for _e in $TR_EVENTS; do echo 1 >$TR/events/kvm/$_e/enable; done
	echo 1 >$TR/tracing_on
}
# trace_stop WHAT: stops tracing and prints "BENCH-IO-TRACE WHAT kind=K key=count..." lines, the
# 16 most frequent keys of each kind: exit (SVM exit reason), pio (r|w port), mmio (r|w address),
# msr (r|w index), uexit (exit to the VMM); and one with the trace's entry counts.
trace_stop() {
	echo 0 >$TR/tracing_on
	for _e in $TR_EVENTS; do echo 0 >$TR/events/kvm/$_e/enable; done
	echo "BENCH-IO-TRACE $1 kind=buffer $(grep -o 'entries-in-buffer/entries-written: [0-9/]*' $TR/trace | sed 's/.*: /in_written=/')"
	awk '/ kvm_exit: / { r = $0; sub(/.* reason /, "", r); sub(/ rip .*/, "", r); gsub(/ /, "_", r); print "exit", r }
	/ kvm_pio: / { for (i = 1; i <= NF; i++) if ($i ~ /^pio_/) { print "pio", ($i == "pio_write" ? "w" : "r") $(i + 2); break } }
	/ kvm_mmio: / { for (i = 1; i <= NF; i++) if ($i == "gpa") { print "mmio", substr($(i - 3), 1, 1) $(i + 1); break } }
	/ kvm_msr: / { for (i = 1; i <= NF; i++) if ($i ~ /^msr_/) { print "msr", ($i == "msr_write" ? "w" : "r") $(i + 1); break } }
	/ kvm_userspace_exit: / { r = $0; sub(/.* reason /, "", r); sub(/ .*/, "", r); print "uexit", r }' $TR/trace |
		sort | uniq -c | sort -k2,2 -k1,1nr | awk -v w="$1" '
		{ if ($2 != k) { if (k != "") print line; k = $2; line = "BENCH-IO-TRACE " w " kind=" k; n = 0 }
		  if (n++ < 16) line = line " " $3 "=" $1 }
		END { if (k != "") print line }'
	: >$TR/trace
	: >$TR/set_event_pid
}

# --- the VMs ---------------------------------------------------------------------------------------
# VM i's serial input is held open on fd vm_fd(i): 3, 4, 5, 6, 8 (vmm_start's fd 7 is taken by
# the next VM's; busybox sh redirects fds up to 9).
vm_fd() { if [ "$1" -lt 4 ]; then echo $((3 + $1)); else echo $((4 + $1)); fi; }
# vm_use I: makes VM I the current one for lib.sh's helpers (wait_for, wait_exit, vmm_kill).
vm_use() {
	eval "VMM_NAME=\$VM_NAME_$1 VMM_DIR=\$VM_DIR_$1 VMM_OUT=\$VM_OUT_$1 VMM_ERR=\$VM_ERR_$1 VMM_PID=\$VM_PID_$1 VMM_T0=\$VM_T0_$1 CFG=\$VM_CFG_$1"
	VMI=$1
}
# vm_send LINE: types LINE into the current VM's serial port.
vm_send() { eval "printf '%s\\n' \"\$1\" >&$(vm_fd "$VMI")"; }
# vm_stop, vm_cont: SIGSTOP / SIGCONT the current VM's VMM (a stopped VM costs L1 nothing)
vm_stop() { kill -STOP "$VMM_PID" 2>/dev/null; }
vm_cont() { kill -CONT "$VMM_PID" 2>/dev/null; }
# vm_fail WHY: reports the current VM's failure (tails of its output) and stops it.
vm_fail() {
	iob_failed=$((iob_failed + 1))
	echo "---- io-bench: $CFG failed: $1"
	tail -n 20 "$VMM_OUT" | sed 's/^/| /'
	tail -n 10 "$VMM_ERR" | sed 's/^/! /'
	kill -CONT "$VMM_PID" 2>/dev/null
	vmm_kill
	eval "VM_DEAD_$VMI=1"
}

i=0
for cfg in "$@"; do
	gargs=
	case $cfg in
	phyllome-fs | phyllome-fs-nocache)
		RIG_L2_VMM=phyllome
		_c=
		[ "$cfg" = phyllome-fs-nocache ] && _c=,cache=none
		RIG_VMM_EXTRA="--fs tag=share,path=/tmp/iob-fs$i$_c $IOB_PHYLLOME_EXTRA"
		gargs=iob.fstype=virtiofs
		;;
	qemu-9p)
		RIG_L2_VMM=qemu
		RIG_QEMU_EXTRA="-name iob-$cfg,debug-threads=on -fsdev local,id=f0,path=/tmp/iob-fs$i,security_model=none -device virtio-9p-pci,fsdev=f0,mount_tag=share"
		gargs=iob.fstype=9p
		;;
	phyllome | phyllome-direct | phyllome-nvme)
		RIG_L2_VMM=phyllome
		d=
		[ "$cfg" = phyllome-direct ] && d=,direct=on
		[ "$cfg" = phyllome-nvme ] && d=,direct=on,bus=nvme
		RIG_VMM_EXTRA="--disk path=/dev/ram$i$d --net tap=tap$i,mac=52:54:00:12:34:5$i $IOB_PHYLLOME_EXTRA"
		;;
	phyllome-qcow2)
		RIG_L2_VMM=phyllome
		RIG_VMM_EXTRA="--disk path=/tmp/iob-q$i/ov.qcow2,format=qcow2,backing=on --net tap=tap$i,mac=52:54:00:12:34:5$i $IOB_PHYLLOME_EXTRA"
		;;
	qemu-qcow2)
		RIG_L2_VMM=qemu
		RIG_QEMU_EXTRA="-name iob-$cfg,debug-threads=on -drive file=/tmp/iob-q$i/ov.qcow2,format=qcow2,if=none,id=d0,cache=writeback,aio=io_uring -device virtio-blk-pci,drive=d0 -netdev tap,id=n0,ifname=tap$i,script=no,downscript=no,vhost=off -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:5$i,romfile="
		;;
	phyllome-raw-ext4 | phyllome-qcow2-ext4)
		RIG_L2_VMM=phyllome
		d=path=/tmp/iob-e$i/disk.raw,direct=on
		[ "$cfg" = phyllome-qcow2-ext4 ] && d=path=/tmp/iob-e$i/ov.qcow2,format=qcow2,backing=on,direct=on
		RIG_VMM_EXTRA="--disk $d --net tap=tap$i,mac=52:54:00:12:34:5$i $IOB_PHYLLOME_EXTRA"
		;;
	qemu-raw-ext4 | qemu-qcow2-ext4)
		RIG_L2_VMM=qemu
		d=file=/tmp/iob-e$i/disk.raw,format=raw
		[ "$cfg" = qemu-qcow2-ext4 ] && d=file=/tmp/iob-e$i/ov.qcow2,format=qcow2
		RIG_QEMU_EXTRA="-name iob-$cfg,debug-threads=on -drive $d,if=none,id=d0,cache=none,aio=io_uring -device virtio-blk-pci,drive=d0 -netdev tap,id=n0,ifname=tap$i,script=no,downscript=no,vhost=off -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:5$i,romfile="
		;;
	phyllome-e1000e)
		RIG_L2_VMM=phyllome
		RIG_VMM_EXTRA="--disk path=/dev/ram$i --net tap=tap$i,mac=52:54:00:12:34:5$i,model=e1000e $IOB_PHYLLOME_EXTRA"
		;;
	qemu-uring | qemu-threads | qemu-uring-wb | qemu-nvme | qemu-e1000e)
		RIG_L2_VMM=qemu
		dev=virtio-blk-pci,drive=d0
		nic=virtio-net-pci
		case $cfg in
		qemu-uring) drv=cache=none,aio=io_uring ;;
		qemu-threads) drv=cache=none,aio=threads ;;
		qemu-uring-wb) drv=cache=writeback,aio=io_uring ;;
		qemu-nvme) drv=cache=none,aio=io_uring dev=nvme,drive=d0,serial=iob ;;
		qemu-e1000e) drv=cache=writeback,aio=io_uring nic=e1000e ;;
		esac
		# romfile=: no option ROM (L1's /usr/share/qemu lacks ipxe's; the kernel is loaded directly)
		RIG_QEMU_EXTRA="-name iob-$cfg,debug-threads=on -drive file=/dev/ram$i,format=raw,if=none,id=d0,$drv -device $dev -netdev tap,id=n0,ifname=tap$i,script=no,downscript=no,vhost=off -device $nic,netdev=n0,mac=52:54:00:12:34:5$i,romfile="
		;;
	*)
		rig_fail io-bench "unknown configuration $cfg"
		exit 0
		;;
	esac
	export RIG_L2_VMM RIG_VMM_EXTRA RIG_QEMU_EXTRA
	vmm_start "$cfg" "$IOB_CPUS" "${IOB_MEM}M" \
		"$L2_BASE_CMDLINE phyllome.test=$IOB_TEST $gargs iob.files=$IOB_FILES iob.addr=192.168.$((77 + i)).2/24 iob.peer=192.168.$((77 + i)).1 iob.seq_mib=$IOB_SEQ_MIB iob.fio_secs=$IOB_FIO_SECS iob.net_secs=$IOB_NET_SECS"
	eval "exec $(vm_fd $i)>&7"
	eval "VM_NAME_$i=\$VMM_NAME VM_DIR_$i=\$VMM_DIR VM_OUT_$i=\$VMM_OUT VM_ERR_$i=\$VMM_ERR VM_PID_$i=\$VMM_PID VM_T0_$i=\$VMM_T0 VM_CFG_$i=\$cfg VM_DEAD_$i="
	echo "io-bench: started $cfg (pid $VMM_PID): $(cat "$VMM_DIR/cmd")"
	i=$((i + 1))
done
exec 7>&-
i=0
while [ $i -lt "$NVM" ]; do
	vm_use $i
	if wait_for IOB-READY "$VMM_OUT" "$IOB_T_BOOT"; then
		echo "io-bench: $CFG ready after $(since "$VMM_T0")s"
		tr -d '\r' <"$VMM_OUT" | grep '^IOB-INFO' | head -n 1 | sed "s/^IOB-INFO/BENCH-IO-GUEST cfg=$CFG/"
		vm_stop
	else
		vm_fail "$WAIT_WHY"
	fi
	i=$((i + 1))
done

# What each VM costs while idle, alone (the others stopped): L1's CPU split, the VMM's CPU time,
# KVM's counters; with IOB_TRACE, then 5 s of tracepoints.
i=0
while [ $i -lt "$NVM" ]; do
	vm_use $i
	if eval "[ -z \"\$VM_DEAD_$VMI\" ]"; then
		vm_cont
		sleep 2
		_a=$(snap)
		sleep "$IOB_IDLE_SECS"
		echo "BENCH-IO-IDLE cfg=$CFG secs=$IOB_IDLE_SECS $(delta "$_a" "$(snap)")"
		if [ "$IOB_TRACE" = 1 ]; then
			trace_start
			sleep 5
			trace_stop "cfg=$CFG phase=idle secs=5"
		fi
		vm_stop
	fi
	i=$((i + 1))
done

# run_round R [SIZES]: the current VM runs round R (SIZES: "SEQ_MIB FIO_SECS NET_SECS" for this
# round, and tracing on), answering its IOB-SYNC lines; prints BENCH-IO lines.
run_round() {
	_round=$1 _sizes=${2:-} _tag=
	[ -n "$_sizes" ] && _tag="trace=1"
	eval "[ -z \"\$VM_DEAD_$VMI\" ]" || return
	vm_cont
	vm_send "run $_round $_sizes"
	for _p in $PHASES; do
		if ! wait_for "IOB-SYNC begin $_round $_p" "$VMM_OUT" 120; then vm_fail "round $_round: $WAIT_WHY"; return; fi
		if [ "$IOB_DROP_CACHES" = 1 ]; then sync; echo 3 >/proc/sys/vm/drop_caches; fi
		[ -n "$_sizes" ] && trace_start
		_a=$(snap)
		# for bench/hostcpu.py: the outer QEMU's CPU time between the marks
		echo "BENCH-IO-MARK begin cfg=$CFG round=$_round phase=$_p"
		vm_send go
		if ! wait_for "IOB-SYNC end $_round $_p" "$VMM_OUT" "$IOB_PHASE_SECS"; then vm_fail "round $_round: $WAIT_WHY"; return; fi
		_b=$(snap)
		echo "BENCH-IO-MARK end cfg=$CFG round=$_round phase=$_p"
		[ -n "$_sizes" ] && trace_stop "cfg=$CFG phase=$_p round=$_round"
		vm_send go
		_dd=$(delta "$_a" "$_b")
		eval "_d_$(echo "$_p" | tr - _)=\$_dd"
	done
	if ! wait_for "IOB-ROUND-DONE $_round" "$VMM_OUT" 60; then vm_fail "round $_round: $WAIT_WHY"; return; fi
	vm_stop
	_fio=$(tr -d '\r' <"$VMM_OUT" | sed -n "s/^IOB-FIO round=$_round //p" | head -n 1)
	for _p in $PHASES; do
		_r=$(tr -d '\r' <"$VMM_OUT" | sed -n "s/^IOB-RESULT round=$_round phase=$_p //p" | head -n 1)
		_i=$(tr -d '\r' <"$VMM_OUT" | sed -n "s/^IOB-IRQ round=$_round phase=$_p //p" | head -n 1 | sed 's/\([^ =]*\)=/girq_\1=/g')
		eval "_d=\$_d_$(echo "$_p" | tr - _)"
		_x=
		[ "$_p" = randread ] && _x=$_fio
		echo "BENCH-IO cfg=$CFG round=$_round $_tag phase=$_p $_r $_x $_i $_d"
	done
}

t_rounds=$(now_cs)
round=1
while [ $round -le "$IOB_RUNS" ]; do
	k=0
	while [ $k -lt "$NMEAS" ]; do
		vm_use $(((round - 1 + k) % NMEAS))
		echo "io-bench: round $round: $CFG ($(since "$t_rounds")s)"
		run_round $round
		k=$((k + 1))
	done
	round=$((round + 1))
done

if [ "$IOB_TRACE" = 1 ]; then
	k=0
	while [ $k -lt "$NVM" ]; do
		vm_use $k
		echo "io-bench: traced round: $CFG ($(since "$t_rounds")s)"
		run_round $round "32 3 2"
		k=$((k + 1))
	done
fi

i=0
while [ $i -lt "$NVM" ]; do
	vm_use $i
	if eval "[ -z \"\$VM_DEAD_$VMI\" ]"; then
		vm_cont
		vm_send quit
		if ! wait_for "PHYLLOME-TEST $IOB_TEST PASS" "$VMM_OUT" 60 || ! wait_exit 60; then
			vm_fail "at the end: ${WAIT_WHY:-}"
		fi
	fi
	eval "exec $(vm_fd $i)>&-"
	i=$((i + 1))
done
for p in "$RIG_WORK"/iperf3-server*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
for _m in /tmp/iob-e*; do
	[ -d "$_m" ] || continue
	# the images as the VMs left them: qemu-img check (3: leaked clusters only) on the overlays
	[ -f "$_m/ov.qcow2" ] && echo "io-bench: $_m/ov.qcow2: qemu-img check status $("$TOOLS/qemu-img" check -q "$_m/ov.qcow2" >/dev/null 2>&1; echo $?), $(du -k "$_m/ov.qcow2" | cut -f1) KiB"
	umount "$_m" 2>/dev/null
done
kill "$iob_heartbeat" 2>/dev/null
if [ $iob_failed -eq 0 ]; then
	rig_ok "$IOB_TEST" "$IOB_RUNS rounds of $IOB_CONFIGS in $(since "$t_rounds")s (VMs booted and set up before that)"
else
	rig_fail "$IOB_TEST" "$iob_failed VM(s) failed"
fi
