#!/bin/sh
# virtio-rng (rig scenario rng): the current hwrng is virtio_rng.N; two reads of 4096 bytes from
# /dev/hwrng are not all zero and differ.
NAME=rng
. /tests/lib.sh

wait_path /dev/hwrng 10 || fail "no /dev/hwrng"
cur=$(cat /sys/class/misc/hw_random/rng_current 2>&1)
case $cur in
virtio_rng.*) ;;
*) fail "rng_current is '$cur' (available: $(cat /sys/class/misc/hw_random/rng_available 2>&1))" ;;
esac
timeout 30 head -c 4096 /dev/hwrng >/tmp/r1 || fail "reading /dev/hwrng failed or took more than 30 s"
timeout 30 head -c 4096 /dev/hwrng >/tmp/r2 || fail "second read of /dev/hwrng failed or took more than 30 s"
n1=$(wc -c </tmp/r1) n2=$(wc -c </tmp/r2)
if [ "$n1" != 4096 ] || [ "$n2" != 4096 ]; then fail "read $n1 and $n2 bytes, expected 4096"; fi
nz=$(tr -d '\000' </tmp/r1 | wc -c)
[ "$nz" -gt 0 ] || fail "4096 zero bytes"
cmp -s /tmp/r1 /tmp/r2 && fail "two reads gave the same 4096 bytes"
echo "PHYLLOME-TEST $NAME PASS rng_current $cur; 2 x 4096 bytes, different, $nz non-zero in the first"
poweroff -f
