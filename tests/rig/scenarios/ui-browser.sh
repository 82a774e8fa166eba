# The desktop app (`phyllome ui`, docs/ui.md) with a real guest: in L1, `phyllome run -d` the
# display test guest (four bands on its screen, a shell on tty1 whose output is on the serial
# port, busybox acpid for the power button) with its VNC on a Unix socket, then `phyllome ui
# --listen 0.0.0.0:7380` (reached from the host through a forwarded port); the host step
# browser-ui (tests/browser/ui-guest.mjs, headless Chromium) signs in with the printed one-time
# link and, from the page: refusals without the cookie and from another Origin, the card's live
# thumbnail, pause, resume, a command typed into the console that draws on the guest's screen
# (the thumbnail changes) and prints on its serial port, stop, start, delete. Here: `phyllome ps
# -a --format json`, sampled all along, went through the same states; the VM is gone; the sign-in
# link does not work twice. Skipped when the host has no node, chromium or playwright-core.
# rig-tools: curl
# rig-data: novnc phyllome-ui
# rig-host: browser-ui
# shellcheck shell=sh

PH=/rig/bin/phyllome
export PHYLLOME_STATE=$RIG_WORK/st
M=ui-browser

ui_scenario() {
	VMM_DIR= # no VMM of lib.sh's here: the manager runs this one
	host_net_up "$M" || return
	"$PH" run -d --name web --cpus 1 --memory 256M --kernel "$L2_KERNEL" --initramfs "$L2_INITRD" \
		--cmdline "$L2_BASE_CMDLINE phyllome.test=display phyllome.acpid=1" \
		--display "vnc=unix:$RIG_WORK/web.vnc" >"$RIG_WORK/run.out" 2>&1 ||
		{ rig_fail "$M" "run -d: $(cat "$RIG_WORK/run.out")"; return; }
	ui_start "$M" || { "$PH" rm -f web >/dev/null 2>&1; return; }
	_ui=$UI_PID _url=$UI_URL
	"$PH" inspect web >"$RIG_WORK/inspect.json"
	_vm=$(sed -n 's/.*"Path": "\(.*\)",/\1/p' "$RIG_WORK/inspect.json" | head -n 1)
	_end=$(($(now_cs) + T_BOOT * 100))
	until grep -q 'PHYLLOME-STEP display kbd-ready' "$_vm/serial.log" 2>/dev/null; do
		if [ "$(now_cs)" -ge "$_end" ]; then
			tail -n 20 "$_vm/serial.log" "$_vm/vmm.log" 2>/dev/null | sed 's/^/| /'
			rig_fail "$M" "the guest printed no 'PHYLLOME-STEP display kbd-ready' in $T_BOOT s"
			kill "$_ui"; "$PH" rm -f web >/dev/null 2>&1; return
		fi
		sleep 0.5
	done
	# What ps -a says, sampled while the page works: one state word per change.
	(
		_last=
		while [ ! -e "$RIG_WORK/ps.stop" ]; do
			_s=$("$PH" ps -a --format json | sed -n 's/.*"Name":"web".*"State":"\([a-z]*\)".*/\1/p')
			_s=${_s:-gone}
			[ "$_s" != "$_last" ] && echo "$_s" >>"$RIG_WORK/ps.states" && _last=$_s
			sleep 0.3
		done
	) &
	_ps=$!
	rig_host browser-ui 1100 "$_url"
	touch "$RIG_WORK/ps.stop"
	wait "$_ps"
	_states=$(tr '\n' ',' <"$RIG_WORK/ps.states" | sed 's/,$//')
	_again=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:7380$_url")
	kill "$_ui"
	case $HOST_STATUS in
	ok) ;;
	skip) rig_skip "$M" "host step browser-ui: $HOST_DETAIL"; "$PH" rm -f web >/dev/null 2>&1; return ;;
	*)
		echo "---- $M: ui stderr:"; sed 's/^/| /' "$RIG_WORK/ui.err"
		tail -n 20 "$_vm/serial.log" 2>/dev/null | sed 's/^/| /'
		rig_fail "$M" "host step browser-ui ($HOST_STATUS): $HOST_DETAIL; ps -a states: $_states"
		"$PH" rm -f web >/dev/null 2>&1; return ;;
	esac
	# The page saw the VM go running -> paused -> running -> exited -> running -> gone (its list
	# is `phyllome ps -a --format json` through the app's server; the host step waits for each).
	# ps -a sampled here, independently, must tell the same story: every state it saw in that
	# order, from running to gone. Under a loaded emulator one sample can take seconds, so it
	# may miss short states (seen in CI: only running,gone), which is not asked of it.
	_page=$(echo "$HOST_DETAIL" | sed -n 's/.*STATES \([a-z,]*\).*/\1/p')
	if [ "$_page" != running,paused,running,exited,running,gone ]; then
		rig_fail "$M" "the page's states: '$_page' (host step: $HOST_DETAIL)"; return
	fi
	_rest=",$_page,"
	for _s in $(echo "$_states" | tr ',' ' '); do
		case $_rest in
		*",$_s,"*) _rest=",${_rest#*,"$_s",}" ;;
		*) rig_fail "$M" "ps -a states $_states are not in the page's order $_page"; return ;;
		esac
	done
	case ",$_states," in
	,running,*gone,) ;;
	*) rig_fail "$M" "ps -a states while the page worked: $_states (not running first and gone last)"; return ;;
	esac
	if [ "$_again" != 403 ]; then
		rig_fail "$M" "the sign-in link worked twice (HTTP $_again)"; return
	fi
	rig_ok "$M" "ps -a states $_states; the link refused a second time ($_again); host step: $HOST_DETAIL"
}

if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip "$M" "phyllome's own desktop app"
elif [ ! -x "$PH" ]; then
	rig_fail "$M" "no manager at $PH"
elif need_tools "$M" curl; then
	ui_scenario
	host_net_down
fi
