# The PS/2 keyboard in the firmware: OVMF (split images) with the display device; the ESP's
# startup.nsh (esp-kbd.img, tests/guests/build-esp.sh) only prints a marker, so the UEFI shell
# then waits at its prompt. Two command lines typed through VNC (rfbtool: keysyms -> the VMM's
# PS/2 scancodes -> OVMF's Ps2KeyboardDxe) run in the shell: the second echoes a variable the
# first set, so the expected text appears on the serial console only if the shell ran both
# (the typed line itself reads "KBD-FW-%v%"). The firmware's screen is also read over VNC.
# shellcheck shell=sh
RFB=/rig/bin/rfbtool
VNC=$RIG_WORK/vnc-kbd.sock
if [ ! -f /guest/OVMF_CODE.fd ] || [ ! -f /guest/esp-kbd.img ]; then
	rig_skip uefi-keyboard "no firmware or esp-kbd.img in L1 (run the rig with --firmware)"
else
	rm -f "$VNC"
	cp /guest/OVMF_VARS.fd "$RIG_WORK/vars-kbd.fd"
	cp /guest/esp-kbd.img "$RIG_WORK/esp-kbd.img"
	L2_FW_CODE=/guest/OVMF_CODE.fd L2_FW_VARS=$RIG_WORK/vars-kbd.fd
	vmm_start uefi-keyboard 1 512M "" "disk:path=$RIG_WORK/esp-kbd.img" "display:vnc=unix:$VNC"
	unset L2_FW_CODE L2_FW_VARS
	if ! wait_for 'PHYLLOME-UEFI-KBD ready' "$VMM_OUT" "$T_BOOT"; then
		rig_fail uefi-keyboard "no startup.nsh marker: $WAIT_WHY"
	else
		sleep 3 # the script ends and the shell prints its prompt
		if ! "$RFB" "unix:$VNC" shot "$RIG_WORK/fw-vnc.ppm" >"$RIG_WORK/rfb.out" 2>&1; then
			rig_fail uefi-keyboard "rfbtool shot: $(cat "$RIG_WORK/rfb.out")"
		elif ! "$RFB" "unix:$VNC" type 'set v OK\n' sleep 1000 type 'echo KBD-FW-%v%\n' \
			>"$RIG_WORK/rfb.out" 2>&1; then
			rig_fail uefi-keyboard "rfbtool type: $(cat "$RIG_WORK/rfb.out")"
		elif ! wait_for 'KBD-FW-OK' "$VMM_OUT" 90; then
			rig_fail uefi-keyboard "typed shell commands: $WAIT_WHY"
		else
			geom=$(head -n 2 "$RIG_WORK/fw-vnc.ppm" | tail -n 1)
			hdr=$(head -n 3 "$RIG_WORK/fw-vnc.ppm" | wc -c)
			lit=$(tail -c +$((hdr + 1)) "$RIG_WORK/fw-vnc.ppm" | tr -d '\000' | wc -c)
			if [ "${lit:-0}" -gt 0 ]; then
				rig_ok uefi-keyboard "typed 'set v OK' + 'echo KBD-FW-%v%' over VNC -> KBD-FW-OK from the UEFI shell (PS/2 in the firmware); the firmware's screen over VNC: ${geom}, $lit bytes drawn"
			else
				rig_fail uefi-keyboard "keys work, but the firmware's screen over VNC (${geom}) is black"
			fi
		fi
	fi
	vmm_kill
fi
