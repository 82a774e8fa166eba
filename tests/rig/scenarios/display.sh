# The display: a Linux guest's bochs DRM driver draws four colour bands in /dev/fb0 (guest test
# display); the API's vm.screenshot (PPM and PNG) and a VNC client (rfbtool, over the Unix socket)
# both see them, pixel for pixel; a command typed through VNC reaches the guest's PS/2 keyboard and
# runs in its shell (seen on serial); the virtio-input tablet reports the absolute positions a VNC
# pointer moves to (the guest's evdev device); an idle screen's VMM CPU use is measured; poweroff ends the
# VMM with status 0.
# rig-tools: curl
# shellcheck shell=sh

SOCK=$RIG_WORK/api.sock
VNC=$RIG_WORK/vnc.sock
RFB=/rig/bin/rfbtool

# cpu_ticks: the VMM's user + system time in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$VMM_PID/stat"; }

display_scenario() {
	rm -f "$SOCK" "$VNC"
	vmm_start display 1 256M "$L2_BASE_CMDLINE phyllome.test=display" "api-socket:$SOCK" \
		"display:vnc=unix:$VNC"
	if ! wait_for 'PHYLLOME-STEP display drawn' "$VMM_OUT" "$T_BOOT"; then
		rig_fail display "$WAIT_WHY"; vmm_kill; return
	fi
	_geom=$(sed -n 's/.*PHYLLOME-STEP display drawn \([0-9]*x[0-9]*\).*/\1/p' "$VMM_OUT" | head -n 1)
	_w=${_geom%x*} _h=${_geom#*x}
	sleep 1 # one refresh (1/30 s) is enough; leave room on a slow L1
	"$TOOLS/curl" -sS --max-time 30 --unix-socket "$SOCK" -o "$RIG_WORK/api.ppm" \
		'http://localhost/api/v1/vm.screenshot?format=ppm' || { rig_fail display "vm.screenshot?format=ppm failed"; vmm_kill; return; }
	"$TOOLS/curl" -sS --max-time 30 --unix-socket "$SOCK" -o "$RIG_WORK/api.png" \
		'http://localhost/api/v1/vm.screenshot' || { rig_fail display "vm.screenshot failed"; vmm_kill; return; }
	_pngsig=$(head -c 8 "$RIG_WORK/api.png" | od -An -tx1 | tr -d ' \n')
	_pngw=$(dd if="$RIG_WORK/api.png" bs=1 skip=16 count=4 2>/dev/null | od -An -tu1 | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}')
	if [ "$_pngsig" != 89504e470d0a1a0a ] || [ "$_pngw" != "$_w" ]; then
		rig_fail display "vm.screenshot PNG: signature $_pngsig, width $_pngw (screen ${_geom})"; vmm_kill; return
	fi
	check_bands display "$RIG_WORK/api.ppm" "$_w" "$_h" "vm.screenshot" || return
	# A VNC client sees the same picture.
	if ! "$RFB" "unix:$VNC" shot "$RIG_WORK/vnc.ppm" >"$RIG_WORK/rfb.out" 2>&1; then
		rig_fail display "rfbtool: $(cat "$RIG_WORK/rfb.out")"; vmm_kill; return
	fi
	check_bands display "$RIG_WORK/vnc.ppm" "$_w" "$_h" "VNC" || return
	if ! cmp -s "$RIG_WORK/vnc.ppm" "$RIG_WORK/api.ppm"; then
		rig_fail display "the VNC picture differs from vm.screenshot's"; vmm_kill; return
	fi
	# Idle screen: the VMM's CPU use over 10 s (guest idle too).
	_t0=$(cpu_ticks)
	sleep 10
	_t1=$(cpu_ticks)
	_idle="idle: $((_t1 - _t0)) ticks of VMM CPU in 10 s (guest and screen idle)"
	# Keys: a command typed through VNC runs in the guest's shell on tty1.
	if ! wait_for 'PHYLLOME-STEP display kbd-ready' "$VMM_OUT" "$T_CMD"; then
		rig_fail display "$WAIT_WHY"; vmm_kill; return
	fi
	# shellcheck disable=SC2016 # the guest's shell expands it
	if ! "$RFB" "unix:$VNC" type 'echo KBD-$((6*7))-OK\n' >"$RIG_WORK/rfb.out" 2>&1; then
		rig_fail display "rfbtool type: $(cat "$RIG_WORK/rfb.out")"; vmm_kill; return
	fi
	check_typed display '^KBD-42-OK' 'through VNC' || return
	# The tablet: two absolute positions through VNC, read back from the guest's evdev device.
	if ! grep -q 'PHYLLOME-STEP display tablet' "$VMM_OUT"; then
		rig_fail display "no tablet in the guest: $(grep 'PHYLLOME-STEP display no-tablet' "$VMM_OUT")"; vmm_kill; return
	fi
	"$RFB" "unix:$VNC" move 100 200 sleep 300 move $((_w - 1)) $((_h / 2)) >"$RIG_WORK/rfb.out" 2>&1
	sleep 1
	check_tablet display "$_w" "$_h" 100 200 || return
	vmm_send poweroff
	expect_exit0 display "$T_EXIT" || return
	rig_ok display "guest fb0 ${_geom}: 4 bands right in vm.screenshot (PPM; PNG signature and width) and over VNC (identical picture); typed 'echo KBD-\$((6*7))-OK' through VNC -> KBD-42-OK on serial; tablet: $TABLET_SEEN; $_idle"
}

if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip display "phyllome-vmm's own display"
elif [ ! -x "$RFB" ]; then
	rig_skip display "no rfbtool beside the VMM (build/tests/rfbtool)"
elif need_tools display curl; then
	display_scenario
fi
