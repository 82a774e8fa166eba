#!/bin/sh
# The VNC siege against a real phyllome-vmm (TAP), the way issue 15 found the abort: the tiny
# guest (built to halt instead of powering off) with --display vnc=127.0.0.1:PORT, attacked by
# build/tests/vncsiege (1,100 idle connections, tricklers, floods) while a viewer and a
# WebSocket viewer must get the screen within 2 s; then the VMM must still be running, and it
# must end on SIGTERM. Needs /dev/kvm (this machine's PVM one runs the tiny guest); skips
# without it.
#   vnc-siege-vmm.sh BUILD-DIR TINY-STAY-BZIMAGE [SECCOMP-MODE]
build=$1
tiny=$2
seccomp=${3:-on}
if [ ! -w /dev/kvm ]; then
	echo "1..0 # SKIP no usable /dev/kvm"
	exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# A port below the ephemeral range (other tests' clients take those); another one if it is taken.
for try in 1 2 3 4 5; do
	port=$((10000 + ($$ + try * 7919) % 10000))
	"$build/phyllome-vmm" --kernel "$tiny" --memory size=64M --display "vnc=127.0.0.1:$port" \
		--seccomp "$seccomp" >"$out" 2>&1 &
	vmm=$!
	i=0
	until grep -q PHYLLOME-TINY-READY "$out" || ! kill -0 $vmm 2>/dev/null || [ $i -gt 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	grep -q PHYLLOME-TINY-READY "$out" && break
	kill $vmm 2>/dev/null
	wait $vmm 2>/dev/null
	grep -q "cannot listen" "$out" || break
done
if ! grep -q PHYLLOME-TINY-READY "$out"; then
	echo "not ok 1 - phyllome-vmm did not start: $(tail -n 3 "$out" | tr '\n' ' ')"
	echo "1..1"
	exit 1
fi
"$build/tests/vncsiege" "$port"
rc=$?
n=10
if kill -0 "$vmm" 2>/dev/null; then
	echo "ok $((n + 1)) - phyllome-vmm is still running"
else
	echo "not ok $((n + 1)) - phyllome-vmm is gone: $(tail -n 3 "$out" | tr '\n' ' ')"
	rc=1
fi
kill -TERM "$vmm"
wait "$vmm"
st=$?
if grep -q "FD_SETSIZE\|Aborted\|Sanitizer" "$out"; then
	echo "not ok $((n + 2)) - the VMM's output: $(grep "FD_SETSIZE\|Aborted\|Sanitizer" "$out" | head -n 1)"
	rc=1
else
	echo "ok $((n + 2)) - no abort in the VMM's output (exit status $st on SIGTERM)"
fi
echo "1..$((n + 2))"
exit $rc
