# The per-VM API (--api-socket, docs/api.md) driven with curl while a 2-vCPU guest runs: ping,
# info, pause (the guest's serial output stops) and resume, the error codes, the ACPI power button
# (the guest's ACPI core counts the event and clears its status bit), a reboot that the API
# survives, and vm.shutdown ending the VMM with status 0 and removing the socket.
# rig-tools: curl
# shellcheck shell=sh

SOCK=$RIG_WORK/api.sock

# api METHOD ENDPOINT [CURL-ARG...]: one request; sets API_CODE (HTTP status) and API_BODY.
api() {
	_m=$1 _e=$2
	shift 2
	API_CODE=$("$TOOLS/curl" -sS --max-time 30 --unix-socket "$SOCK" -X "$_m" \
		-o "$RIG_WORK/api.body" -w '%{http_code}' "$@" "http://localhost/api/v1/$_e" \
		2>"$RIG_WORK/api.err")
	API_BODY=$(cat "$RIG_WORK/api.body" 2>/dev/null)
	echo "api: $_m $_e -> $API_CODE $API_BODY" | cut -c1-300 >>"$RIG_WORK/api.log"
}

# want CODE WHAT: true if the last request returned CODE, else reports the failure and stops the VMM.
want() {
	[ "$API_CODE" = "$1" ] && return 0
	rig_fail api "$2: HTTP $API_CODE, expected $1: $API_BODY $(cat "$RIG_WORK/api.err" 2>/dev/null)"
	vmm_kill
	return 1
}

# has PATTERN WHAT: true if the last body matches PATTERN (grep -E), else fails like want.
has() {
	echo "$API_BODY" | grep -qE -- "$1" && return 0
	rig_fail api "$2: no '$1' in $API_BODY"
	vmm_kill
	return 1
}

size_of() { wc -c <"$1" | tr -d ' '; }

# counter NAME: a number from the last body ("NAME":N).
counter() { echo "$API_BODY" | grep -oE "\"$1\":[0-9]+" | head -n 1 | cut -d: -f2; }

# guest_value KEY COMMAND: runs COMMAND in the guest, which prints "KEY=<its output>"; waits for it
# (the echo of the typed line shows "KEY=$(", never "KEY=<digit>") and sets GV.
GV_N=0
guest_value() {
	GV_N=$((GV_N + 1))
	vmm_send "echo $1$GV_N=\$($2)"
	wait_for "^$1$GV_N=[0-9]" "$VMM_OUT" "$T_CMD" || { rig_fail api "guest: $1: $WAIT_WHY"; vmm_kill; return 1; }
	GV=$(grep -o "^$1$GV_N=[0-9]*" "$VMM_OUT" | head -n 1 | cut -d= -f2)
}

api_pause_resume() {
	# Something that prints on its own: a tick every 0.2 s.
	# shellcheck disable=SC2016 # the guest's shell expands it
	vmm_send 'while :; do echo TICK; sleep 0.2; done >/dev/console 2>&1 & echo $! >/tmp/tick.pid'
	wait_for '^TICK' "$VMM_OUT" "$T_CMD" 3 || { rig_fail api "no ticks: $WAIT_WHY"; vmm_kill; return 1; }
	api PUT vm.pause && want 204 vm.pause || return 1
	api GET vm.info && want 200 "vm.info (paused)" && has '"state":"Paused"' "vm.info (paused)" || return 1
	api PUT vm.pause && want 409 "vm.pause (paused)" || return 1
	api GET vm.counters && want 200 vm.counters || return 1
	_tx0=$(counter tx_bytes) _sz0=$(size_of "$VMM_OUT")
	sleep 3
	api GET vm.counters && want 200 vm.counters || return 1
	_tx1=$(counter tx_bytes) _sz1=$(size_of "$VMM_OUT")
	if [ "$_sz1" != "$_sz0" ] || [ "$_tx1" != "$_tx0" ]; then
		rig_fail api "serial output advanced while paused: $_sz0 -> $_sz1 bytes, tx_bytes $_tx0 -> $_tx1"
		vmm_kill
		return 1
	fi
	api PUT vm.resume && want 204 vm.resume || return 1
	api GET vm.info && want 200 "vm.info (resumed)" && has '"state":"Running"' "vm.info (resumed)" || return 1
	api PUT vm.resume && want 409 "vm.resume (running)" || return 1
	_n=$(grep -c '^TICK' "$VMM_OUT")
	wait_for '^TICK' "$VMM_OUT" "$T_CMD" $((_n + 3)) || { rig_fail api "no ticks after resume: $WAIT_WHY"; vmm_kill; return 1; }
	# shellcheck disable=SC2016 # the guest's shell expands it
	vmm_send 'kill $(cat /tmp/tick.pid)'
	PAUSE_DETAIL="paused 3 s: serial output stayed at $_sz0 bytes (tx_bytes $_tx0), ticks resumed"
}

api_errors() {
	api GET vm.nothing && want 404 "unknown endpoint" && has '"error":' 404 || return 1
	api GET vm.pause && want 405 "GET vm.pause" || return 1
	api PUT vm.pause -H 'Content-Type: application/json' --data-binary '{"oops":' &&
		want 400 "broken JSON" && has 'malformed JSON' "broken JSON" || return 1
	head -c 70000 /dev/zero | tr '\0' ' ' >"$RIG_WORK/big.json"
	api PUT vm.pause --data-binary "@$RIG_WORK/big.json" && want 413 "70000-byte body" || return 1
	api GET vm.info && want 200 "vm.info after errors" && has '"state":"Running"' "still running" || return 1
}

# The guest's ACPI core counts fixed power-button events in /sys/firmware/acpi/interrupts/ff_pwr_btn
# (the event is enabled by the button driver, button.ko, which the L2 initramfs loads); the VMM
# counts the guest clearing PWRBTN_STS (power_button_acks).
api_power_button() {
	guest_value PBDEV 'grep -c "Power Button" /proc/bus/input/devices' || return 1
	if [ "$GV" -lt 1 ]; then
		rig_fail api "the guest has no ACPI power button device (button.ko not loaded?)"; vmm_kill; return 1
	fi
	guest_value PBCOUNT "awk '{print \$1}' /sys/firmware/acpi/interrupts/ff_pwr_btn" || return 1
	_before=$GV
	guest_value SCI "awk '{print \$1}' /sys/firmware/acpi/interrupts/sci" || return 1
	_sci0=$GV
	api PUT vm.power-button && want 204 vm.power-button || return 1
	sleep 1
	guest_value PBCOUNT "awk '{print \$1}' /sys/firmware/acpi/interrupts/ff_pwr_btn" || return 1
	_after=$GV
	guest_value SCI "awk '{print \$1}' /sys/firmware/acpi/interrupts/sci" || return 1
	_sci1=$GV
	api GET vm.counters && want 200 vm.counters || return 1
	_acks=$(counter power_button_acks)
	if [ "$_after" -le "$_before" ] || [ "${_acks:-0}" -lt 1 ]; then
		rig_fail api "power button not seen: guest ff_pwr_btn $_before -> $_after, SCI $_sci0 -> $_sci1, VMM acks ${_acks:-?}"
		vmm_kill
		return 1
	fi
	PB_DETAIL="power button: guest ff_pwr_btn $_before -> $_after, SCIs $_sci0 -> $_sci1, PWRBTN_STS cleared $_acks time(s)"
}

api_scenario() {
	rm -f "$SOCK"
	vmm_start api 2 256M "$L2_BASE_CMDLINE phyllome.test=console" "api-socket:$SOCK"
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then rig_fail api "$WAIT_WHY"; vmm_kill; return; fi
	_mode=$(stat -c %a "$SOCK" 2>/dev/null)
	if [ "$_mode" != 600 ]; then rig_fail api "socket mode '$_mode', expected 600"; vmm_kill; return; fi
	# The API thread runs under its own filter, stacked on the VMM thread's.
	_filters=
	for _st in /proc/"$VMM_PID"/task/*/status; do
		[ "$(sed -n 's/^Name:[[:space:]]*//p' "$_st")" = api ] || continue
		_filters=$(sed -n 's/^Seccomp_filters:[[:space:]]*//p' "$_st")
	done
	if [ "${_filters:-0}" -lt 2 ]; then
		rig_fail api "the API thread has ${_filters:-no} seccomp filters, expected 2 (VMM's + its own)"; vmm_kill; return
	fi
	api GET vmm.ping && want 200 vmm.ping && has "\"pid\":$VMM_PID" vmm.ping || return
	api GET vm.info && want 200 vm.info && has '"state":"Running"' vm.info &&
		has '"boot_vcpus":2' vm.info && has '"size":268435456' vm.info || return
	api_pause_resume || return
	api_errors || return
	api_power_button || return
	# A reboot rebuilds the VM; the API server lives on.
	api PUT vm.reboot && want 204 vm.reboot || return
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT" 2; then rig_fail api "after vm.reboot: $WAIT_WHY"; vmm_kill; return; fi
	api GET vm.info && want 200 "vm.info after reboot" && has '"boot_count":2' "vm.info after reboot" &&
		has '"state":"Running"' "vm.info after reboot" || return
	api PUT vm.shutdown && want 204 vm.shutdown || return
	expect_exit0 api "$T_EXIT" || return
	if [ -e "$SOCK" ]; then rig_fail api "the socket is still there after the VMM's exit"; return; fi
	rig_ok api "socket 0600, API thread under $_filters filters; $PAUSE_DETAIL; 404/405/400/413/409 as documented; $PB_DETAIL; reboot: boot_count 2; vm.shutdown: exit 0, socket removed"
}

if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip api "phyllome-vmm's own API"
elif need_tools api curl; then
	api_scenario
	[ -f "$RIG_WORK/api.log" ] && sed 's/^/# /' "$RIG_WORK/api.log" | tail -n 40
fi
