# A real guest printing without end (issue 15): the Debian system (tests/guests/build-debian.sh)
# with its console on virtio-console into --console file=LOG --log-max 1M writes 100 MiB into
# /dev/hvc0 as fast as it can (guest test tests/guests/debian-extra/flood.sh; it stops after
# 240 s, whatever it has written). Meanwhile L1 asks the API's vmm.ping every 2 s: each answer
# must come in under 1 s. The VMM's RssAnon in /proc/PID/status (the guest's RAM is anonymous
# memory too: this is the VMM and the guest together) must not grow by more than 8 MiB from before
# the flood to after it, and
# LOG and LOG.1 must each stay within the cap (1 MiB), LOG.1 full (it rotated), and LOG ending with
# the guest's last line. Then the power button, and exit status 0. The detail has the MiB written,
# the rate, the slowest ping and the memory before and after.
# rig-disk: debian
# rig-tools: curl socat mke2fs
# shellcheck shell=sh
N=debian-flood
SOCK=$RIG_WORK/api.sock
LOG=$RIG_WORK/flood-console.log
MIB=100 SECS=240 CAP=1048576
w=$(rand_word)

# rss KEY: KEY (RssAnon, RssShmem) of the VMM in kB, from /proc/PID/status.
rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$VMM_PID/status" 2>/dev/null; }

# ping_s: how long the API took to answer vmm.ping, in seconds ("fail" if it did not answer 200
# within 10 s).
ping_s() {
	_r=$("$TOOLS/curl" -sS --max-time 10 --unix-socket "$SOCK" -o /dev/null \
		-w '%{http_code} %{time_total}' http://localhost/api/v1/vmm.ping 2>/dev/null)
	case $_r in "200 "*) echo "${_r#200 }" ;; *) echo fail ;; esac
}

if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip $N "phyllome-vmm's --log-max"
elif ! td=$(debian_tests_disk); then
	rig_fail $N "could not make the tests' disk (mke2fs)"
elif debian_start $N 2 1G "phyllome.test=flood phyllome.tests=LABEL=phyllome-tests flood.mib=$MIB flood.secs=$SECS flood.word=$w" \
	"api-socket:$SOCK" "disk:path=$td,readonly=on" "console:file=$LOG" "log-max:1M" &&
	step_wait $N flood started "$T_DEBIAN"; then
	anon0=$(rss RssAnon) shm0=$(rss RssShmem)
	pings=0 fails=0 slow=0 max=0
	_end=$(($(now_cs) + (SECS + 120) * 100)) _say=$(($(now_cs) + 3000))
	while vmm_running && ! grep -q 'PHYLLOME-TEST flood ' "$VMM_OUT" && [ "$(now_cs)" -lt $_end ]; do
		p=$(ping_s)
		pings=$((pings + 1))
		if [ "$p" = fail ]; then
			fails=$((fails + 1))
		else
			max=$(awk -v a="$max" -v b="$p" 'BEGIN { print (b > a) ? b : a }')
			awk -v b="$p" 'BEGIN { exit !(b >= 1) }' && slow=$((slow + 1))
		fi
		# The rig takes an L1 silent for 600 s for a stuck one: say how it goes.
		if [ "$(now_cs)" -ge $_say ]; then
			echo "$N: $(grep -o 'PHYLLOME-STEP flood progress [0-9]* MiB' "$VMM_OUT" | tail -n 1 | sed 's/.*progress //') so far, $pings pings, slowest ${max}s" >&2
			_say=$(($(now_cs) + 3000))
		fi
		sleep 2
	done
	anon1=$(rss RssAnon) shm1=$(rss RssShmem)
	s0=$(wc -c <"$LOG" 2>/dev/null || echo 0) s1=$(wc -c <"$LOG.1" 2>/dev/null || echo 0)
	mem="VMM RssAnon (with the guest's RAM) ${anon0:-?} -> ${anon1:-?} kB, RssShmem ${shm0:-?} -> ${shm1:-?} kB"
	if ! grep -q 'PHYLLOME-TEST flood PASS' "$VMM_OUT"; then
		# shellcheck disable=SC2034 # guest_why reads WAIT_WHY
		wait_for 'PHYLLOME-TEST flood ' "$VMM_OUT" 2 || WAIT_WHY="no result from the guest in $((SECS + 120)) s"
		rig_fail $N "$(guest_why flood); $pings pings ($fails unanswered, slowest ${max}s); $mem"
		vmm_kill
	else
		detail=$(grep -o 'PHYLLOME-TEST flood PASS.*' "$VMM_OUT" | head -n 1 | tr -d '\r' | sed 's/^PHYLLOME-TEST flood PASS //')
		if [ "$fails" -gt 0 ] || [ "$slow" -gt 0 ] || [ "$pings" -eq 0 ]; then
			rig_fail $N "$detail; the API: $pings pings, $fails unanswered, $slow took 1 s or more (slowest ${max}s)"
			vmm_kill
		elif [ -z "$anon0" ] || [ -z "$anon1" ] || [ $((anon1 - anon0)) -gt 8192 ]; then
			rig_fail $N "$detail; the VMM's memory grew: $mem"
			vmm_kill
		elif [ "$s0" -gt $CAP ] || [ "$s1" -gt $CAP ] || [ "$s1" -lt $((CAP * 9 / 10)) ] ||
			! tail -c 200 "$LOG" | grep -q "PHYLLOME-FLOOD-END $w"; then
			rig_fail $N "$detail; the console's log: $s0 + $s1 bytes (cap $CAP each, LOG.1 full), tail: $(tail -c 80 "$LOG" | tr -d '\r' | tr '\n' ' ')"
			vmm_kill
		elif debian_power_off $N "$SOCK" flood; then
			rig_ok $N "$detail; the API answered $pings pings during it, the slowest in ${max}s; $mem; the log $s0 + $s1 bytes (cap $CAP each), the guest's last line last; power button to exit 0 in ${DPO_T}s"
		fi
	fi
fi
