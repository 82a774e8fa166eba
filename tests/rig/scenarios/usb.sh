# The USB controller (--usb): the Linux guest's xhci_hcd and usbhid find the USB tablet (with
# absolute X and Y) and the USB keyboard in /proc/bus/input/devices (guest test usb). With
# phyllome-vmm as L2's VMM, also through VNC (--display, which adds a virtio-input tablet too, and
# the PS/2 keyboard is always there): a typed command runs in the guest's shell, and its keys came
# from the USB keyboard, none from PS/2; a pointer moved to two positions arrives as those absolute
# positions on the USB tablet's evdev device, none on the virtio-input tablet's. poweroff ends the
# VMM with status 0. With QEMU as L2's VMM (qemu-xhci, usb-tablet, usb-kbd), the device check only.
# shellcheck shell=sh

VNC=$RIG_WORK/vnc-usb.sock
RFB=/rig/bin/rfbtool

# usb_devices: the guest's /proc/bus/input/devices lines for both devices, the tablet's with
# ABS_X and ABS_Y (ABS=3). Sets USB_SEEN.
usb_devices() {
	if ! wait_for 'PHYLLOME-STEP usb devices keyboard' "$VMM_OUT" $((T_BOOT + 60)); then
		rig_fail usb "$WAIT_WHY: $(grep -e 'PHYLLOME-TEST usb' -e xhci "$VMM_OUT" | tr -d '\r' | tail -n 5 | tr '\n' ' ')"
		vmm_kill
		return 1
	fi
	_tab=$(grep 'PHYLLOME-STEP usb devices tablet' "$VMM_OUT" | tr -d '\r')
	_kbd=$(grep 'PHYLLOME-STEP usb devices keyboard' "$VMM_OUT" | tr -d '\r')
	case $_tab in *'B: ABS=3 '*) ;; *)
		rig_fail usb "the USB tablet has no absolute X and Y: $_tab"; vmm_kill; return 1 ;;
	esac
	case $_kbd in *'H: Handlers='*kbd*) ;; *)
		rig_fail usb "the USB keyboard is not a keyboard: $_kbd"; vmm_kill; return 1 ;;
	esac
	_tn=$(echo "$_tab" | sed -n 's/.*N: Name="\([^"]*\)".*/\1/p')
	_kn=$(echo "$_kbd" | sed -n 's/.*N: Name="\([^"]*\)".*/\1/p')
	USB_SEEN="/proc/bus/input/devices: '$_tn' (ABS=3) and '$_kn' (kbd handler)"
}

# events FILE TYPE: how many input events of TYPE (1 key, 3 absolute) the guest recorded in FILE.
events() { guest_val "ev$2${1##*/}" "\$(od -An -v -w24 -tu2 $1 | awk '\$9 == $2' | wc -l)"; }

# usb_diag WHY: fails the scenario with what the guest saw (events of its USB and PS/2 keyboards,
# its xHCI interrupts, its kernel's USB messages) and the VMM's log at -v (where input went, the
# controller's counters at exit).
usb_diag() {
	vmm_send "echo USBDIAG kbd=\$(od -An -v -w24 -tu2 /tmp/usbkbd.ev | wc -l) ps2=\$(od -An -v -w24 -tu2 /tmp/kbd.ev | wc -l) tab=\$(od -An -v -w24 -tu2 /tmp/tablet.ev | wc -l) irq=\$(grep -i xhci /proc/interrupts | tr -s ' ' | tr '\n' ';')"
	wait_for '^USBDIAG' "$VMM_OUT" "$T_CMD"
	vmm_send "dmesg | grep -i -e usb -e hid -e xhci | tail -n 20"
	sleep 5
	vmm_kill
	rig_fail usb "$1; $(grep '^USBDIAG' "$VMM_OUT" | tr -d '\r'); VMM: $(grep -e 'usb:' -e 'xhci' -e 'display:' "$VMM_ERR" | tr '\n' ' ')"
}

usb_vnc() {
	rm -f "$VNC"
	_extra=${RIG_VMM_EXTRA:-} RIG_VMM_EXTRA="${RIG_VMM_EXTRA:-} -v"
	vmm_start usb 1 256M "$L2_BASE_CMDLINE phyllome.test=usb phyllome.usb=vnc" usb \
		"display:vnc=unix:$VNC"
	RIG_VMM_EXTRA=$_extra
	usb_devices || return
	if ! wait_for 'PHYLLOME-STEP usb kbd-ready' "$VMM_OUT" "$T_CMD"; then
		rig_fail usb "$WAIT_WHY"; vmm_kill; return
	fi
	_geom=$(sed -n 's/.*PHYLLOME-STEP usb ready \([0-9]*x[0-9]*\).*/\1/p' "$VMM_OUT" | head -n 1)
	_w=${_geom%x*} _h=${_geom#*x}
	# shellcheck disable=SC2016 # the guest's shell expands it
	if ! "$RFB" "unix:$VNC" type 'echo USB-$((6*7))-OK\n' >"$RIG_WORK/rfb.out" 2>&1; then
		rig_fail usb "rfbtool type: $(cat "$RIG_WORK/rfb.out")"; vmm_kill; return
	fi
	if ! wait_for '^USB-42-OK' "$VMM_OUT" 60; then
		usb_diag "command typed through VNC: $WAIT_WHY"
		return
	fi
	_ukeys=$(events /tmp/usbkbd.ev 1) _pkeys=$(events /tmp/kbd.ev 1)
	if [ "${_ukeys:-0}" -lt 30 ] || [ "$_pkeys" != 0 ]; then
		rig_fail usb "key events: USB keyboard '$_ukeys' (want one per press and release), PS/2 '$_pkeys' (want 0)"
		vmm_kill; return
	fi
	"$RFB" "unix:$VNC" move 100 200 sleep 300 move $((_w - 1)) $((_h / 2)) >"$RIG_WORK/rfb.out" 2>&1
	sleep 1
	_x1=$((100 * 32767 / (_w - 1))) _y1=$((200 * 32767 / (_h - 1)))
	vmm_send "od -An -v -w24 -tu2 /tmp/tablet.ev | awk '\$9 == 3 { print \"TABLET\", \$10, \$11 + \$12 * 65536 }'"
	if ! wait_for "^TABLET 0 $_x1" "$VMM_OUT" "$T_CMD" || ! wait_for "^TABLET 1 $_y1" "$VMM_OUT" "$T_CMD"; then
		usb_diag "tablet: no ABS_X $_x1 / ABS_Y $_y1 ($(grep '^TABLET' "$VMM_OUT" | tr -d '\r' | tr '\n' ' '))"
		return
	fi
	check_tablet usb "$_w" "$_h" 100 200 || return
	_vabs=$(events /tmp/vtab.ev 3)
	if [ "$_vabs" != 0 ]; then
		rig_fail usb "the virtio-input tablet got '$_vabs' absolute events while the USB one was configured"
		vmm_kill; return
	fi
	vmm_send poweroff
	expect_exit0 usb "$T_EXIT" || return
	rig_ok usb "$USB_SEEN; typed 'echo USB-\$((6*7))-OK' through VNC -> USB-42-OK, $_ukeys key events from the USB keyboard, 0 from PS/2; USB tablet ${_geom}: $TABLET_SEEN, 0 on virtio-input"
}

usb_qemu() {
	vmm_start usb 1 256M "$L2_BASE_CMDLINE phyllome.test=usb" usb
	usb_devices || return
	vmm_send poweroff
	expect_exit0 usb "$T_EXIT" || return
	rig_ok usb "$USB_SEEN"
}

if [ "$RIG_L2_VMM" = qemu ]; then
	usb_qemu
elif [ ! -x "$RFB" ]; then
	rig_skip usb "no rfbtool beside the VMM (build/tests/rfbtool)"
else
	usb_vnc
fi
