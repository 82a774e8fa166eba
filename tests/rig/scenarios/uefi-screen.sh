# The firmware's screen: OVMF (split images) with the display device (--display vnc=unix:...)
# drives it through its GOP driver (QemuVideoDxe knows the bochs/QEMU standard VGA interface):
# once the UEFI shell has run startup.nsh, the API's vm.screenshot (the frame VNC clients get)
# has the firmware's mode and something drawn on it (the shell's text). Then the kernel boots as
# in uefi-shell; the VMM is stopped.
# rig-tools: curl
# shellcheck shell=sh
SOCK=$RIG_WORK/api.sock
VNC=$RIG_WORK/vnc.sock
if [ ! -f /guest/OVMF_CODE.fd ] || [ ! -f /guest/esp.img ]; then
	rig_skip uefi-screen "no firmware in L1 (run the rig with --firmware)"
else
	rm -f "$SOCK" "$VNC"
	cp /guest/OVMF_VARS.fd "$RIG_WORK/vars-screen.fd"
	cp /guest/esp.img "$RIG_WORK/esp-screen.img"
	L2_FW_CODE=/guest/OVMF_CODE.fd L2_FW_VARS=$RIG_WORK/vars-screen.fd
	vmm_start uefi-screen 1 512M "" "disk:path=$RIG_WORK/esp-screen.img" "api-socket:$SOCK" \
		"display:vnc=unix:$VNC"
	unset L2_FW_CODE L2_FW_VARS
	if ! wait_for 'PHYLLOME-UEFI-SHELL' "$VMM_OUT" "$T_BOOT"; then
		rig_fail uefi-screen "no startup.nsh marker: $WAIT_WHY"
	else
		sleep 1
		if ! "$TOOLS/curl" -sS --max-time 30 --unix-socket "$SOCK" -o "$RIG_WORK/fw.ppm" \
			'http://localhost/api/v1/vm.screenshot?format=ppm'; then
			rig_fail uefi-screen "vm.screenshot failed"
		else
			geom=$(head -n 2 "$RIG_WORK/fw.ppm" | tail -n 1)
			hdr=$(head -n 3 "$RIG_WORK/fw.ppm" | wc -c)
			lit=$(tail -c +$((hdr + 1)) "$RIG_WORK/fw.ppm" | tr -d '\000' | wc -c)
			if [ "${lit:-0}" -gt 0 ]; then
				rig_ok uefi-screen "the firmware's screen is ${geom}, $lit bytes of it drawn (shell at $(since "$VMM_T0")s)"
			else
				rig_fail uefi-screen "the firmware's screen (${geom}) is black"
			fi
		fi
	fi
	vmm_kill
fi
