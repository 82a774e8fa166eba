# The window (--display window) with a real guest: Xvfb runs in L1, phyllome-vmm shows the guest
# test display's four colour bands in an SDL2 window on it; xwd dumps the window (xwd2ppm, beside
# the VMM, makes it a PPM) and it must be vm.screenshot's picture byte for byte; a command typed
# into the window with xdotool (XTEST: X key events, SDL scancodes, the PS/2 keyboard) runs in the
# guest's shell on tty1 (seen on serial); pointer moves over the window reach the virtio-input
# tablet (the guest's evdev device); poweroff ends the VMM with status 0, with the window thread
# under the VMM's seccomp filter throughout.
# rig-tools: curl Xvfb xkbcomp xwd xdotool
# rig-data: xkb sdl2
# shellcheck shell=sh

SOCK=$RIG_WORK/api.sock
XDIR=$RIG_WORK/xvfb
XDO=$TOOLS/xdotool

# api_shot FILE: vm.screenshot as a PPM.
api_shot() {
	"$TOOLS/curl" -sS --max-time 30 --unix-socket "$SOCK" -o "$1" \
		'http://localhost/api/v1/vm.screenshot?format=ppm'
}

# window_shot WID: the window's picture as $RIG_WORK/win.ppm; sets WIN_SIZE (WxH) or WIN_WHY.
window_shot() {
	WIN_SIZE='' WIN_WHY=''
	if ! "$TOOLS/xwd" -silent -id "$1" -out "$RIG_WORK/win.xwd" 2>"$RIG_WORK/xwd.err"; then
		WIN_WHY="xwd: $(cat "$RIG_WORK/xwd.err")"
		return 1
	fi
	if ! /rig/bin/xwd2ppm "$RIG_WORK/win.xwd" "$RIG_WORK/win.ppm" >"$RIG_WORK/xwd2ppm.out" 2>&1; then
		WIN_WHY="xwd2ppm: $(cat "$RIG_WORK/xwd2ppm.out")"
		return 1
	fi
	WIN_SIZE=$(sed -n 's/^size=//p' "$RIG_WORK/xwd2ppm.out")
}

window_scenario() {
	rm -f "$SOCK" /tmp/.X11-unix/X7
	mkdir -p "$XDIR" /tmp/.X11-unix /var/lib/xkb
	# Xvfb :7 (a screen larger than the guest's modes), its keymap compiled by xkbcomp.
	"$TOOLS/Xvfb" :7 -screen 0 1920x1200x24 -nolisten tcp >"$XDIR/log" 2>&1 &
	echo $! >"$XDIR/pid" # /init's clean-up stops it if the scenario doesn't
	export DISPLAY=:7
	_i=0
	until "$XDO" getmouselocation >/dev/null 2>&1; do
		if [ $_i -ge 300 ] || ! kill -0 "$(cat "$XDIR/pid")" 2>/dev/null; then
			rig_fail display-window "Xvfb did not start: $(tail -n 5 "$XDIR/log" | tr '\n' ' ')"
			return
		fi
		sleep 0.2
		_i=$((_i + 1))
	done
	vmm_start display-window 1 256M "$L2_BASE_CMDLINE phyllome.test=display" "api-socket:$SOCK" \
		display:window
	if ! wait_for 'PHYLLOME-STEP display drawn' "$VMM_OUT" "$T_BOOT"; then
		rig_fail display-window "$WAIT_WHY"; vmm_kill; return
	fi
	_geom=$(sed -n 's/.*PHYLLOME-STEP display drawn \([0-9]*x[0-9]*\).*/\1/p' "$VMM_OUT" | head -n 1)
	_w=${_geom%x*} _h=${_geom#*x}
	if ! api_shot "$RIG_WORK/api.ppm"; then
		rig_fail display-window "vm.screenshot?format=ppm failed"; vmm_kill; return
	fi
	check_bands display-window "$RIG_WORK/api.ppm" "$_w" "$_h" "vm.screenshot" || return
	_wid=$("$XDO" search --onlyvisible --name '^Phyllome' 2>/dev/null | head -n 1)
	if [ -z "$_wid" ]; then
		rig_fail display-window "no visible window named Phyllome on Xvfb (windows: $("$XDO" search --name . 2>/dev/null | while read -r _x; do printf '%s ' "$("$XDO" getwindowname "$_x")"; done))"
		vmm_kill; return
	fi
	# The window follows the guest's mode and refreshes 30 times a second: within 30 s its
	# picture must be vm.screenshot's.
	_i=0 _same=
	while [ $_i -lt 30 ]; do
		if window_shot "$_wid" && [ "$WIN_SIZE" = "$_geom" ] &&
			cmp -s "$RIG_WORK/win.ppm" "$RIG_WORK/api.ppm"; then
			_same=1
			break
		fi
		sleep 1
		_i=$((_i + 1))
	done
	if [ -z "$_same" ]; then
		if [ -n "$WIN_WHY" ]; then
			rig_fail display-window "window $_wid: $WIN_WHY"; vmm_kill; return
		fi
		if [ "$WIN_SIZE" != "$_geom" ]; then
			rig_fail display-window "the window is $WIN_SIZE, the guest's screen $_geom"; vmm_kill; return
		fi
		check_bands display-window "$RIG_WORK/win.ppm" "$_w" "$_h" "the window (xwd)" || return
		rig_fail display-window "the window's picture differs from vm.screenshot's: $(cmp "$RIG_WORK/win.ppm" "$RIG_WORK/api.ppm" 2>&1)"
		vmm_kill; return
	fi
	# Keys: XTEST key events into the window (the pointer over it: Xvfb has no window manager and
	# the focus follows the pointer), to the guest's shell on tty1.
	if ! wait_for 'PHYLLOME-STEP display kbd-ready' "$VMM_OUT" "$T_CMD"; then
		rig_fail display-window "$WAIT_WHY"; vmm_kill; return
	fi
	"$XDO" mousemove --window "$_wid" 10 10 >/dev/null 2>&1
	"$XDO" windowfocus "$_wid" >/dev/null 2>&1
	# shellcheck disable=SC2016 # the guest's shell expands it
	if ! "$XDO" type --delay 40 'echo WIN-$((6*7))-OK' >"$RIG_WORK/xdo.out" 2>&1 ||
		! "$XDO" key Return >>"$RIG_WORK/xdo.out" 2>&1; then
		rig_fail display-window "xdotool: $(cat "$RIG_WORK/xdo.out")"; vmm_kill; return
	fi
	check_typed display-window '^WIN-42-OK' 'into the window (xdotool)' || return
	# The tablet: two pointer positions over the window.
	if ! grep -q 'PHYLLOME-STEP display tablet' "$VMM_OUT"; then
		rig_fail display-window "no tablet in the guest: $(grep 'PHYLLOME-STEP display no-tablet' "$VMM_OUT")"; vmm_kill; return
	fi
	"$XDO" mousemove --window "$_wid" 100 200 >/dev/null 2>&1
	sleep 0.3
	"$XDO" mousemove --window "$_wid" $((_w - 1)) $((_h / 2)) >/dev/null 2>&1
	sleep 1
	check_tablet display-window "$_w" "$_h" 100 200 || return
	vmm_send poweroff
	expect_exit0 display-window "$T_EXIT" || return
	rig_ok display-window "guest fb0 ${_geom}: the window on Xvfb (xwd) is vm.screenshot's picture byte for byte (4 bands right); typed 'echo WIN-\$((6*7))-OK' into the window (xdotool) -> WIN-42-OK on serial; tablet: $TABLET_SEEN"
}

if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip display-window "phyllome-vmm's own window"
elif [ ! -x /rig/bin/xwd2ppm ]; then
	rig_skip display-window "no xwd2ppm beside the VMM (build/tests/xwd2ppm)"
elif need_tools display-window curl Xvfb xkbcomp xwd xdotool; then
	window_scenario
	_xpid=$(cat "$XDIR/pid" 2>/dev/null)
	[ -z "$_xpid" ] || { kill "$_xpid" 2>/dev/null && wait_pid "$_xpid" 10 >/dev/null; echo stopped >"$XDIR/status"; }
fi
