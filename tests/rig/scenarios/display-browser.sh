# The browser console with a real guest: phyllome-vmm serves it in L1 (--display
# vnc=0.0.0.0:5900,web=on,password=FILE: an address other machines can reach needs a password;
# noVNC from the host's novnc package; the page gets the password from rig.py's URL,
# #password=rigpass1); rig.py forwards a host port to
# L1's port 5900 and runs the host step browser-console (tests/browser/guest.mjs: headless
# Chromium with playwright-core), which finds every pixel of the page's canvas to be the guest
# test display's four bands and types a command into the page. Here: the canvas's RGB bytes have
# the same SHA-256 as vm.screenshot's picture, and the typed command's output is on the guest's
# serial port (it ran in the guest's shell on tty1). Skipped when the host has no node, chromium
# or playwright-core (what tests/browser needs).
# rig-tools: curl
# rig-data: novnc
# rig-host: browser-console
# shellcheck shell=sh

SOCK=$RIG_WORK/api.sock

browser_scenario() {
	host_net_up display-browser || return
	rm -f "$SOCK"
	echo rigpass1 >"$RIG_WORK/vnc-password"
	vmm_start display-browser 1 256M "$L2_BASE_CMDLINE phyllome.test=display" "api-socket:$SOCK" \
		"display:vnc=0.0.0.0:5900,web=on,password=$RIG_WORK/vnc-password"
	if ! wait_for 'PHYLLOME-STEP display drawn' "$VMM_OUT" "$T_BOOT"; then
		rig_fail display-browser "$WAIT_WHY"; vmm_kill; return
	fi
	_geom=$(sed -n 's/.*PHYLLOME-STEP display drawn \([0-9]*x[0-9]*\).*/\1/p' "$VMM_OUT" | head -n 1)
	_w=${_geom%x*} _h=${_geom#*x}
	sleep 1 # one refresh
	if ! "$TOOLS/curl" -sS --max-time 30 --unix-socket "$SOCK" -o "$RIG_WORK/api.ppm" \
		'http://localhost/api/v1/vm.screenshot?format=ppm'; then
		rig_fail display-browser "vm.screenshot?format=ppm failed"; vmm_kill; return
	fi
	check_bands display-browser "$RIG_WORK/api.ppm" "$_w" "$_h" "vm.screenshot" || return
	_want_sha=$(tail -c $((_w * _h * 3)) "$RIG_WORK/api.ppm" | sha256sum | cut -d' ' -f1)
	if ! wait_for 'PHYLLOME-STEP display kbd-ready' "$VMM_OUT" "$T_CMD"; then
		rig_fail display-browser "$WAIT_WHY"; vmm_kill; return
	fi
	# A command whose output says it ran: typed in the page with unshifted keys only (the page
	# sends what the browser's key events name, without Shift around them).
	_a=$((3000 + $(now_cs) % 6000))
	_b=1958
	rig_host browser-console 900 "$_geom" expr "$_a" - "$_b"
	case $HOST_STATUS in
	ok) ;;
	skip) rig_skip display-browser "host step browser-console: $HOST_DETAIL"; vmm_kill; return ;;
	*) rig_fail display-browser "host step browser-console ($HOST_STATUS): $HOST_DETAIL"; vmm_kill; return ;;
	esac
	_sha=$(echo "$HOST_DETAIL" | sed -n 's/.*rgb-sha256=\([0-9a-f]*\).*/\1/p')
	if [ "$_sha" != "$_want_sha" ]; then
		rig_fail display-browser "the canvas's RGB SHA-256 is ${_sha:-missing}, vm.screenshot's $_want_sha (host step: $HOST_DETAIL)"
		vmm_kill; return
	fi
	check_typed display-browser "^$((_a - _b))[[:space:]]*\$" "in the page ('expr $_a - $_b', host step: $HOST_DETAIL)" || return
	vmm_send poweroff
	expect_exit0 display-browser "$T_EXIT" || return
	rig_ok display-browser "guest fb0 ${_geom}: the browser page's canvas is vm.screenshot's picture (RGB SHA-256 equal; every pixel one of the 4 bands); typed 'expr $_a - $_b' and Enter in the page -> $((_a - _b)) on serial; host step: $HOST_DETAIL"
}

if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip display-browser "phyllome-vmm's own browser console"
elif [ ! -f /usr/share/novnc/core/rfb.js ]; then
	rig_fail display-browser "no noVNC in L1 (/usr/share/novnc: the host's Debian package novnc)"
elif need_tools display-browser curl; then
	browser_scenario
	host_net_down
fi
