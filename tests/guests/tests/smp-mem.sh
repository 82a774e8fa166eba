#!/bin/sh
# Checks the vCPU count and the RAM size against expect_cpus=N expect_mem_mb=M on the kernel
# command line. For 5 GiB, passing proves that RAM above 4 GiB is used.
NAME=smp-mem
. /tests/lib.sh

want_cpus='' want_mb=''
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case $arg in
	expect_cpus=*) want_cpus=${arg#*=} ;;
	expect_mem_mb=*) want_mb=${arg#*=} ;;
	esac
done
{ [ -n "$want_cpus" ] && [ -n "$want_mb" ]; } || fail "expect_cpus= and expect_mem_mb= missing from the command line"

cpus=$(grep -c '^processor' /proc/cpuinfo)
online=$(cat /sys/devices/system/cpu/online 2>/dev/null)
mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
echo "smp-mem: cpus=$cpus (online $online) want $want_cpus; MemTotal=$mem_kb kB want $want_mb MiB"
[ "$cpus" = "$want_cpus" ] || fail "$cpus CPUs, expected $want_cpus"
if [ "$want_cpus" -eq 1 ]; then want_online=0; else want_online="0-$((want_cpus - 1))"; fi
[ "$online" = "$want_online" ] || fail "online CPUs '$online', expected '$want_online'"
# The kernel keeps its image, page structs, swiotlb and firmware-reserved ranges out of MemTotal:
# about 52 MiB plus 2 to 4% of RAM. Debian's 6.1 kernel under QEMU q35 reported 208732 kB for
# 256 MiB (79.6%), 981476 kB for 1 GiB (93.6%), 5032692 kB for 5 GiB (96.0%). Require more than 95%
# of M minus 64 MiB (for 5 GiB: 4.69 GiB, so RAM above 4 GiB is in use) and at most M MiB.
min_kb=$((want_mb * 1024 * 95 / 100 - 65536))
max_kb=$((want_mb * 1024))
[ "$mem_kb" -gt "$min_kb" ] || fail "MemTotal $mem_kb kB <= $min_kb kB (95% of $want_mb MiB minus 64 MiB)"
[ "$mem_kb" -le "$max_kb" ] || fail "MemTotal $mem_kb kB > $max_kb kB ($want_mb MiB)"
echo "PHYLLOME-TEST $NAME PASS"
poweroff -f
