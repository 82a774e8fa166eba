#!/bin/sh
# Guest side of the I/O benchmark (bench/run-io-bench.sh): installed as /tests/io-bench.sh by the
# bench overlay of the L2 initramfs (bench/build-io-tools.sh), run by the guest's /init with
# phyllome.test=io-bench. One virtio-blk disk and one virtio-net NIC; L1 (bench/l1/io-bench.sh)
# serves iperf3 on iob.peer.
#
# Command line: iob.addr=ADDR/PREFIX iob.peer=ADDR iob.seq_mib=N iob.fio_secs=N iob.net_secs=N
#
# After setting up it prints IOB-READY and then reads commands from its console: "run R [SEQ_MIB
# FIO_SECS NET_SECS]" runs round R of the phases, "quit" ends the test (the VM powers off). Each phase is bracketed by
# "IOB-SYNC begin|end R PHASE" lines: the guest then waits for a line on its console, which L1
# types once it has read the VM's KVM counters and CPU times, so that those cover exactly the
# phase. Results: "IOB-RESULT round=R phase=P value=V unit=U secs=S", "IOB-IRQ round=R phase=P
# NAME=COUNT..." (the guest's interrupts per virtio vector during the phase), "IOB-ROUND-DONE R".
NAME=io-bench
# fail, arg, now_cs, begin/end (the IOB-SYNC lines), result: bench/l2/lib.sh
. /tests/bench-lib.sh

addr=$(arg iob.addr) || fail "iob.addr= missing"
peer=$(arg iob.peer) || fail "iob.peer= missing"
seq_mib=$(arg iob.seq_mib) || seq_mib=256
fio_secs=$(arg iob.fio_secs) || fio_secs=10
net_secs=$(arg iob.net_secs) || net_secs=5
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu

# the disk and the NIC
i=0
while ! ls /sys/block/ | grep -q -e '^vd' -e '^nvme' && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
DISK=$(ls /sys/block/ | grep -e '^vd' -e '^nvme' | head -n 1)
[ -n "$DISK" ] || fail "no virtio or NVMe disk (block devices: $(ls /sys/block | tr '\n' ' '))"
DEV=/dev/$DISK
IF=
i=0
while [ -z "$IF" ] && [ $i -lt 100 ]; do
	for n in /sys/class/net/*; do [ "${n##*/}" != lo ] && IF=${n##*/} && break; done
	[ -n "$IF" ] || sleep 0.1
	i=$((i + 1))
done
[ -n "$IF" ] || fail "no network interface"
ip link set lo up
ip link set "$IF" up || fail "ip link set $IF up failed"
ip addr add "$addr" dev "$IF" || fail "ip addr add $addr failed"
echo "IOB-INFO disk=$DISK sectors=$(cat /sys/block/$DISK/size) if=$IF mac=$(cat /sys/class/net/$IF/address) cpus=$(grep -c ^processor /proc/cpuinfo) fio=$(fio --version 2>&1) iperf3=$(iperf3 --version 2>&1 | head -n 1 | tr ' ' _)"
# the peer answers (ARP, iperf3 server up) before anything is timed
i=0
while ! ping -c 1 -W 1 "$peer" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -ge 20 ] && fail "no answer from $peer"
done

# TCP: iperf3's receiver-side rate, the first second omitted. $1: more options (-R: L1 -> guest)
iperf() {
	# shellcheck disable=SC2086 # $1: options
	iperf3 -c "$peer" -t "$net_secs" -O 1 -f m $1 >/tmp/iperf.out 2>&1 ||
		fail "iperf3 $1: $(tail -n 3 /tmp/iperf.out | tr '\n' ' ')"
	# "RATE RETRANSMITS": the receiver's rate, the sender's retransmitted segments
	awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1) }
		/sender/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec" && $(i + 1) ~ /^[0-9]+$/) r = $(i + 1) }
		END { print v, (r == "" ? -1 : r) }' /tmp/iperf.out
}

# run_round [SEQ_MIB FIO_SECS NET_SECS]: optional sizes for this round (a short diagnostic round)
run_round() {
	seq_mib=${1:-$seq_mib0} fio_secs=${2:-$fio_secs0} net_secs=${3:-$net_secs0}
	# 1. sequential read, 1 MiB O_DIRECT
	begin seqread
	dd if="$DEV" of=/dev/null bs=1M count="$seq_mib" iflag=direct 2>/tmp/dd.err || fail "dd read: $(cat /tmp/dd.err)"
	end seqread
	result seqread "$(awk -v m="$seq_mib" -v d=$((T1 - T0)) 'BEGIN { printf "%.1f", m * 100 / d }')" MiB/s

	# 2. sequential write, 1 MiB O_DIRECT, then a flush (conv=fsync): the data is on the device
	begin seqwrite
	dd if=/dev/zero of="$DEV" bs=1M count="$seq_mib" oflag=direct conv=fsync 2>/tmp/dd.err || fail "dd write: $(cat /tmp/dd.err)"
	end seqwrite
	result seqwrite "$(awk -v m="$seq_mib" -v d=$((T1 - T0)) 'BEGIN { printf "%.1f", m * 100 / d }')" MiB/s

	# 3. 4 KiB random reads, queue depth 32, O_DIRECT (fio's terse format: field 8 is read IOPS)
	begin randread
	fio --name=r --filename="$DEV" --rw=randread --bs=4k --iodepth=32 --ioengine=libaio --direct=1 \
		--runtime="$fio_secs" --time_based --output-format=terse --terse-version=3 >/tmp/fio.out 2>&1 ||
		fail "fio: $(tail -n 3 /tmp/fio.out | tr '\n' ' ')"
	end randread
	iops=$(grep '^3;' /tmp/fio.out | cut -d';' -f8)
	[ -n "$iops" ] || fail "fio printed no terse line: $(tail -n 3 /tmp/fio.out | tr '\n' ' ')"
	result randread "$iops" IOPS
	# terse v3: field 16 completion latency mean, 40 total latency mean (us)
	echo "IOB-FIO round=$ROUND clat_mean_us=$(grep '^3;' /tmp/fio.out | cut -d';' -f16) lat_mean_us=$(grep '^3;' /tmp/fio.out | cut -d';' -f40)"

	# 4./5. TCP, guest -> L1 and L1 -> guest
	begin net-tx
	v=$(iperf "")
	end net-tx
	result net-tx "${v% *}" Mbit/s "retrans=${v#* }"
	begin net-rx
	v=$(iperf -R)
	end net-rx
	result net-rx "${v% *}" Mbit/s "retrans=${v#* }"
	echo "IOB-ROUND-DONE $ROUND"
}

seq_mib0=$seq_mib fio_secs0=$fio_secs net_secs0=$net_secs
serve
