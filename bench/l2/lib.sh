# Helpers of the guest sides of the rig benchmarks (bench/l2/io-bench.sh, fs-bench.sh), sourced
# as /tests/bench-lib.sh (bench/build-io-tools.sh's overlay) after setting NAME. The protocol with
# L1 (bench/l1/io-bench.sh): each phase is bracketed by "IOB-SYNC begin|end R PHASE" lines, the
# guest waiting for a line on its console after each (L1 reads its counters then); results are
# "IOB-RESULT round=R phase=P value=V unit=U secs=S" and "IOB-IRQ round=R phase=P NAME=COUNT...".
# shellcheck shell=sh
fail() { echo "PHYLLOME-TEST $NAME FAIL $*"; poweroff -f; exit 1; }
arg() {
	read -r cmdline </proc/cmdline
	for a in $cmdline; do case $a in "$1"=*) echo "${a#*=}"; return 0 ;; esac; done
	return 1
}
# guest uptime in centiseconds
now_cs() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}" | sed 's/^0*//;s/^$/0/'; }
secs() { awk -v d="$1" 'BEGIN { printf "%.2f", d / 100 }'; }
# per-vector interrupt counts of the virtio devices, "NAME COUNT" lines
irqs() {
	awk '/virtio/ { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print $NF, s }' /proc/interrupts
}
sync_l1() {
	echo "IOB-SYNC $1 $ROUND $2"
	read -r _reply || fail "no reply from L1 at $1 $ROUND $2"
}
begin() {
	irqs >/tmp/irq.before
	sync_l1 begin "$1"
	T0=$(now_cs)
}
end() {
	T1=$(now_cs)
	sync_l1 end "$1"
	irqs >/tmp/irq.after
	echo "IOB-IRQ round=$ROUND phase=$1 $(awk 'NR == FNR { b[$1] = $2; next } { printf "%s=%d ", $1, $2 - b[$1] }' /tmp/irq.before /tmp/irq.after)"
}
result() { echo "IOB-RESULT round=$ROUND phase=$1 value=$2 unit=$3 secs=$(secs $((T1 - T0))) $4"; }
# serve: prints IOB-READY, then runs the commands L1 types: "run R [ARGS...]" calls run_round ARGS
# with ROUND=R, "quit" ends the test (PASS, and the VM powers off).
serve() {
	echo "IOB-READY"
	while read -r _cmd ROUND _a1 _a2 _a3; do
		case $_cmd in
		run) run_round "$_a1" "$_a2" "$_a3" ;;
		quit) break ;;
		esac
	done
	echo "PHYLLOME-TEST $NAME PASS"
	poweroff -f
}
