# The manager's --net user with -p: `phyllome run -d --net user -p 7779:7779` starts the VM's own
# passt; the guest test "net" gets an address by DHCP, fetches from L1 and sends to L1 through
# passt's gateway address, and receives what L1 sends to the forwarded port 7779 on L1's
# loopback. When the guest powers off, ps -a shows Exited (0) and the VM's passt is gone.
# rig-tools: passt
# shellcheck shell=sh

PH=/rig/bin/phyllome
export PHYLLOME_STATE=$RIG_WORK/st
M=manager-net

fail() {
	for d in "$PHYLLOME_STATE"/vms/*/; do
		[ -d "$d" ] || continue
		echo "---- $M: $d"
		tail -n 25 "$d/serial.log" 2>/dev/null | sed 's/^/| /'
		tail -n 15 "$d/vmm.log" 2>/dev/null | sed 's/^/! /'
	done
	rig_fail "$M" "$*"
	"$PH" rm -f net1 >/dev/null 2>&1
	exit 0
}


need_tools "$M" passt || exit 0
passt_template "$M" || exit 0
head -c 262144 /dev/urandom >"$RIG_WORK/fetch.bin"
head -c 262144 /dev/urandom >"$RIG_WORK/in.bin"
timeout "$T_TCP" nc -l -p 7777 <"$RIG_WORK/fetch.bin" >/dev/null &
FETCH_PID=$!
tcp_recv_bg "$RIG_WORK/recv.bin" -l -p 7778
RECV_PID=$TCP_PID
# phyllome (and so its supervisor and the VM's passt) runs where passt can sandbox itself.
passt_ns "$PH" run -d --name net1 --memory 256M --net user -p 7779:7779 --kernel "$L2_KERNEL" \
	--initramfs "$L2_INITRD" --cmdline "$L2_BASE_CMDLINE phyllome.test=net net.addr=dhcp net.fetch_md5=$(md5_of "$RIG_WORK/fetch.bin") net.in_md5=$(md5_of "$RIG_WORK/in.bin")" \
	>"$RIG_WORK/run.out" 2>&1 || fail "run -d --net user: $(cat "$RIG_WORK/run.out")"
D=$PHYLLOME_STATE/vms/$(head -n 1 "$RIG_WORK/run.out")
LOG=$D/serial.log
PASST=$(sed -n 's/.*"passt_pid": \([0-9]*\).*/\1/p' "$D/state.json")
[ "${PASST:-0}" -gt 0 ] && kill -0 "$PASST" || fail "no passt running for the VM (state: $(tr -d ' \n' <"$D/state.json"))"
file_wait "$LOG" 'PHYLLOME-STEP net sent' $((T_BOOT + T_TEST)) || fail "the guest did not send: $(grep PHYLLOME "$LOG" | tail -n 3)"
WANT=$(grep 'PHYLLOME-STEP net sent' "$LOG" | sed -n 's/.*md5=\([0-9a-f]*\).*/\1/p')
wait_pid "$RECV_PID" 30
GOT=$(md5_of "$RIG_WORK/recv.bin")
[ "$GOT" = "$WANT" ] || fail "L1 got $(wc -c <"$RIG_WORK/recv.bin") bytes from the guest with MD5 $GOT, the guest sent $WANT"
file_wait "$LOG" 'PHYLLOME-STEP net listening' "$T_TEST" || fail "the guest never listened"
timeout 60 nc 127.0.0.1 7779 <"$RIG_WORK/in.bin" >/dev/null 2>"$RIG_WORK/nc.err"
file_wait "$LOG" 'PHYLLOME-TEST net' "$T_TEST" || fail "no end of the guest test"
grep -q 'PHYLLOME-TEST net PASS' "$LOG" || fail "$(grep 'PHYLLOME-TEST net' "$LOG")"
for _ in $(seq 100); do "$PH" ps -a | grep -q 'net1 .*Exited (0)' && break; sleep 0.3; done
"$PH" ps -a | grep -q 'net1 .*Exited (0)' || fail "ps -a after the guest's poweroff: $("$PH" ps -a)"
kill -0 "$PASST" 2>/dev/null && fail "the VM's passt ($PASST) still runs after the VM ended"
kill "$FETCH_PID" 2>/dev/null
"$PH" rm net1 >/dev/null || fail "rm net1"
rig_ok "$M" "run -d --net user -p 7779:7779: DHCP from the VM's passt, fetch + send through the gateway, L1 -> 127.0.0.1:7779 -> guest (MD5s ok); Exited (0), passt stopped"
