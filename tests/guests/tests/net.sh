#!/bin/sh
# A NIC: virtio-net (rig scenarios net-passt, net-tap) or e1000e (net-e1000e). Command line:
#   net.addr=dhcp (udhcpc; the router is the peer) or net.addr=ADDR/PREFIX net.peer=ADDR (static)
#   net.fetch_md5=MD5   what the peer serves on TCP port 7777
#   net.in_md5=MD5      what the peer sends to this guest's port 7779
#   net.driver=NAME     the interface's driver must be NAME (e.g. e1000e; default: any)
# Steps: eth0 up ("PHYLLOME-STEP net up ..."); fetch from peer:7777 and check the MD5; send 256 KiB
# of random bytes to peer:7778 ("PHYLLOME-STEP net sent md5=MD5": the rig checks what it got);
# listen on 7779 ("PHYLLOME-STEP net listening") and check what arrives.
NAME=net
. /tests/lib.sh
md5_of() { md5sum <"$1" | cut -d' ' -f1; }
# busybox nc quits when its socket reads EOF and half-closes when its stdin ends: a receiver's
# stdin must stay open until the sender is done. recv_bg OUT NC-ARGS...: nc in the background with
# a never-ending stdin, output to OUT; sets RECV_PID.
recv_bg() {
	out=$1; shift
	rm -f /tmp/hold; mkfifo /tmp/hold
	exec 8<>/tmp/hold
	timeout 120 nc "$@" </tmp/hold >"$out" &
	RECV_PID=$!
	exec 8>&-
}
ifinfo() { ip -4 addr show dev "$IF" 2>&1 | grep inet | tr -s ' ' | tr '\n' ' '; }

addr=$(arg net.addr) || fail "net.addr= missing from the command line"
fetch_md5=$(arg net.fetch_md5) || fail "net.fetch_md5= missing from the command line"
in_md5=$(arg net.in_md5) || fail "net.in_md5= missing from the command line"
IF=
i=0
while [ -z "$IF" ] && [ $i -lt 100 ]; do
	for n in /sys/class/net/*; do [ "${n##*/}" != lo ] && IF=${n##*/} && break; done
	[ -n "$IF" ] || sleep 0.1
	i=$((i + 1))
done
[ -n "$IF" ] || fail "no network interface (virtio devices: $(echo /sys/bus/virtio/devices/*))"
mac=$(cat "/sys/class/net/$IF/address")
drv=$(basename "$(readlink "/sys/class/net/$IF/device/driver")")
if want=$(arg net.driver); then
	[ "$drv" = "$want" ] || fail "$IF is driven by '$drv', not $want"
fi
ip link set lo up
ip link set "$IF" up || fail "ip link set $IF up failed"
if [ "$addr" = dhcp ]; then
	out=$(udhcpc -i "$IF" -f -q -n -t 10 -T 3 -s /usr/share/udhcpc/default.script 2>&1) || fail "udhcpc -i $IF got no lease: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
	peer=$(ip route | sed -n 's/^default via \([0-9.]*\).*/\1/p' | head -n 1)
	[ -n "$peer" ] || fail "no default route after DHCP: $(ip route | tr '\n' ' '); udhcpc: $(echo "$out" | tr '\n' ' ')"
else
	peer=$(arg net.peer) || fail "net.peer= missing from the command line"
	ip addr add "$addr" dev "$IF" || fail "ip addr add $addr dev $IF failed"
fi
echo "PHYLLOME-STEP $NAME up $IF ($drv) mac $mac $(ifinfo)peer $peer"

# 1. fetch from the peer
recv_bg /tmp/fetched "$peer" 7777
wait $RECV_PID
st=$?
got=$(md5_of /tmp/fetched)
[ "$got" = "$fetch_md5" ] || fail "fetched $(wc -c </tmp/fetched) bytes from $peer:7777 (nc status $st), MD5 $got, expected $fetch_md5"
fetched=$(wc -c </tmp/fetched)

# 2. send to the peer
head -c 262144 /dev/urandom >/tmp/sent
timeout 120 nc "$peer" 7778 </tmp/sent || fail "sending to $peer:7778 failed (nc status $?)"
echo "PHYLLOME-STEP $NAME sent md5=$(md5_of /tmp/sent)"

# 3. the peer connects to us
recv_bg /tmp/in -l -p 7779
sleep 1
echo "PHYLLOME-STEP $NAME listening"
wait $RECV_PID
st=$?
got=$(md5_of /tmp/in)
[ "$got" = "$in_md5" ] || fail "received $(wc -c </tmp/in) bytes on port 7779 (nc status $st), MD5 $got, expected $in_md5"
# A driver that thought the NIC hung (e1000e's "Detected Hardware Unit Hang", a reset) failed it.
hangs=$(dmesg | grep -ci -e 'unit hang' -e 'reset adapter')
[ "$hangs" = 0 ] || fail "the $drv driver reported $hangs hangs or resets: $(dmesg | grep -i -e 'unit hang' -e 'reset adapter' | tail -n 2 | tr '\n' ' ')"
irqs=$(grep -o "$IF[-a-z0-9]*" /proc/interrupts | tr '\n' ' ')
irqs=${irqs% }
echo "PHYLLOME-TEST $NAME PASS $IF ($drv${irqs:+; interrupts $irqs}) $(ifinfo)peer $peer; fetched $fetched bytes, sent 262144, received $(wc -c </tmp/in)"
poweroff -f
