# A VM made in the desktop app (`phyllome ui`, docs/ui.md) from an installer ISO of a settings
# folder, booting a real installer to its first screen: Debian 12's text installer in an
# EFI-bootable ISO made by grub-mkrescue (tests/guests/build-installer-iso.sh; L1's disk
# "installer", copied here into the folder $RIG_WORK/isos that `phyllome ui --add-folder` puts in
# the settings). The host step browser-ui-install (tests/browser/ui-install.mjs, headless
# Chromium) signs in with the printed link and, in the new-VM dialog, picks "Start from: an ISO",
# the ISO from the list, 1 CPU, 1024 MiB, a 2 GiB disk, a screen, no network; it waits for the
# card to say running and for its live thumbnail to show the installer's first screen (its
# "Select a language" box in VGA's grey, aaaaaa, framed by its blue background, 0000aa). Here:
# `phyllome ps -a` shows the VM running with the ISO as its CD, and the VMM's own screenshot has
# that blue at three corners and the middle of the left edge, and the grey inside the box (an
# eighth of the width in, half-way down: left of the list of languages). OVMF boots it (rig
# --firmware; else skipped). About 3 to 5 minutes of rig time.
# rig-disk: installer
# rig-tools: curl
# rig-data: novnc phyllome-ui
# rig-host: browser-ui-install
# shellcheck shell=sh

PH=/rig/bin/phyllome
export PHYLLOME_STATE=$RIG_WORK/st
M=ui-installer
W=$RIG_WORK

fail() {
	for d in "$PHYLLOME_STATE"/vms/*/; do
		[ -d "$d" ] || continue
		echo "---- $M: $d state: $(tr -d ' \n' <"$d/state.json" 2>/dev/null)"
		tail -n 10 "$d/vmm.log" 2>/dev/null | sed 's/^/! /'
	done
	[ -f "$W/ui.err" ] && sed 's/^/| ui: /' "$W/ui.err"
	rig_fail "$M" "$*"
	[ -n "${UI_PID:-}" ] && kill "$UI_PID" 2>/dev/null
	"$PH" rm -f installer >/dev/null 2>&1
}

installer_scenario() {
	VMM_DIR= # no VMM of lib.sh's here: the manager runs this one
	_dev=$(rig_disk installer) || { fail "no disk rig-installer in L1"; return; }
	mkdir -p "$W/isos"
	cat "$_dev" >"$W/isos/debian-12-installer.iso" || { fail "cannot copy $_dev"; return; }
	"$PH" ui --add-folder "$W/isos" >"$W/folders.out" 2>&1 || { fail "ui --add-folder: $(cat "$W/folders.out")"; return; }
	host_net_up "$M" || return
	ui_start "$M" || return
	rig_host browser-ui-install 900 "$UI_URL"
	case $HOST_STATUS in
	ok) ;;
	skip) rig_skip "$M" "host step browser-ui-install: $HOST_DETAIL"; kill "$UI_PID"; "$PH" rm -f installer >/dev/null 2>&1; return ;;
	*) fail "host step browser-ui-install ($HOST_STATUS): $HOST_DETAIL"; return ;;
	esac
	"$PH" ps -a --format json >"$W/ps.json" 2>&1
	grep -q '"Name":"installer".*"State":"running"' "$W/ps.json" || { fail "ps -a: $(cat "$W/ps.json")"; return; }
	"$PH" inspect installer >"$W/inspect.json" 2>&1
	grep -q "\"cdrom\": \"$W/isos/debian-12-installer.iso\"" "$W/inspect.json" ||
		{ fail "the ISO is not the VM's CD: $(tr -d ' \n' <"$W/inspect.json" | head -c 600)"; return; }
	_vm=$(sed -n 's/.*"Path": "\(.*\)",/\1/p' "$W/inspect.json" | head -n 1)
	_lit=$(api_frame "$_vm/api.sock" "$W/screen.ppm") || { fail "no screenshot: $(tail -n 2 "$W/curl.err")"; return; }
	_w=$(head -n 2 "$W/screen.ppm" | tail -n 1 | cut -d' ' -f1)
	_h=$(head -n 2 "$W/screen.ppm" | tail -n 1 | cut -d' ' -f2)
	_px=
	for _xy in "4 4" "$((_w - 5)) 4" "$((_w - 5)) $((_h - 5))" "4 $((_h / 2))" "$((_w / 8)) $((_h / 2))"; do
		# shellcheck disable=SC2086 # X and Y
		_px="$_px $(ppm_pixel "$W/screen.ppm" $_xy)"
	done
	if [ "$_px" != " 0000aa 0000aa 0000aa 0000aa aaaaaa" ]; then
		fail "the VMM's screen (${_w}x$_h) is not the installer's: corners, left edge, box:$_px"; return
	fi
	kill "$UI_PID"
	"$PH" rm -f installer >"$W/rm.out" 2>&1 || { fail "rm -f installer: $(cat "$W/rm.out")"; return; }
	rig_ok "$M" "ISO $(($(wc -c <"$W/isos/debian-12-installer.iso") / 1048576)) MiB from the settings folder; ps -a: running, the ISO its CD; the VMM's ${_w}x$_h screen: edges 0000aa, the box aaaaaa ($_lit bytes lit); host step: $HOST_DETAIL"
}

if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip "$M" "phyllome's own desktop app"
elif [ ! -x "$PH" ]; then
	rig_fail "$M" "no manager at $PH"
elif [ ! -f /guest/OVMF.fd ]; then
	rig_skip "$M" "no firmware in L1 (run the rig with --firmware)"
elif need_tools "$M" curl; then
	export PHYLLOME_FIRMWARE=/guest/OVMF.fd
	installer_scenario
	host_net_down
fi
