# The USB keyboard in the firmware (--usb): OVMF (split images) with the display device and the
# xHCI controller; as in uefi-keyboard, the ESP's startup.nsh prints a marker and the UEFI shell
# waits at its prompt, and two command lines typed through VNC must run in it (the second echoes
# what the first set). Here OVMF's XhciDxe and UsbKbDxe have configured the USB keyboard, so the
# VMM routes the keys to it, not to the PS/2 keyboard (which OVMF also drives): its log (-v) must
# say "keys now go to the USB keyboard" and never that they went to PS/2.
# shellcheck shell=sh
RFB=/rig/bin/rfbtool
VNC=$RIG_WORK/vnc-usbkbd.sock
if [ ! -f /guest/OVMF_CODE.fd ] || [ ! -f /guest/esp-kbd.img ]; then
	rig_skip uefi-usb-keyboard "no firmware or esp-kbd.img in L1 (run the rig with --firmware)"
elif [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip uefi-usb-keyboard "phyllome-vmm's own display and input routing"
else
	rm -f "$VNC"
	cp /guest/OVMF_VARS.fd "$RIG_WORK/vars-usbkbd.fd"
	cp /guest/esp-kbd.img "$RIG_WORK/esp-usbkbd.img"
	L2_FW_CODE=/guest/OVMF_CODE.fd L2_FW_VARS=$RIG_WORK/vars-usbkbd.fd
	_extra=${RIG_VMM_EXTRA:-} RIG_VMM_EXTRA="${RIG_VMM_EXTRA:-} -v"
	vmm_start uefi-usb-keyboard 1 512M "" "disk:path=$RIG_WORK/esp-usbkbd.img" usb \
		"display:vnc=unix:$VNC"
	RIG_VMM_EXTRA=$_extra
	unset L2_FW_CODE L2_FW_VARS
	if ! wait_for 'PHYLLOME-UEFI-KBD ready' "$VMM_OUT" "$T_BOOT"; then
		rig_fail uefi-usb-keyboard "no startup.nsh marker: $WAIT_WHY"
		show_fw_output
	else
		sleep 3 # the script ends and the shell prints its prompt
		if ! "$RFB" "unix:$VNC" type 'set v USB\n' sleep 1000 type 'echo KBD-FW-%v%\n' \
			>"$RIG_WORK/rfb.out" 2>&1; then
			rig_fail uefi-usb-keyboard "rfbtool type: $(cat "$RIG_WORK/rfb.out")"
		elif ! wait_for 'KBD-FW-USB' "$VMM_OUT" 90; then
			_why=$WAIT_WHY
			vmm_kill
			rig_fail uefi-usb-keyboard "typed shell commands: $_why; VMM: $(grep -e 'display:' -e 'usb:' -e xhci "$VMM_ERR" | tr '\n' ' ')"
		elif ! grep -q 'keys now go to the USB keyboard' "$VMM_ERR" ||
			grep -q 'keys now go to the PS/2 keyboard' "$VMM_ERR"; then
			vmm_kill
			rig_fail uefi-usb-keyboard "the shell ran the commands, but not through the USB keyboard: $(grep -e 'display:' -e 'usb:' -e xhci "$VMM_ERR" | tr '\n' ' ')"
		else
			rig_ok uefi-usb-keyboard "typed 'set v USB' + 'echo KBD-FW-%v%' over VNC -> KBD-FW-USB from the UEFI shell, every key through the USB keyboard (OVMF's XhciDxe + UsbKbDxe; none to PS/2)"
		fi
	fi
	vmm_kill
fi
