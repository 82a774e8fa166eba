# `phyllome run --os windows` on a real guest: the manager's Windows machine (an NVMe disk of the
# preset's 64 GiB, an e1000e NIC, the USB tablet and keyboard, a TPM 2.0 on the VM's own swtpm,
# Hyper-V enlightenments, the RTC in local time, a VNC screen) seen by the Linux test guest
# (tests/guests/tests/winmachine.sh: nvme0n1, e1000e, the USB devices, /dev/tpm0 on tpm_crb
# answering TPM2_GetRandom, CPUID "Microsoft Hv"). Without the rig's --firmware the kernel is
# booted directly (--firmware none, an override of the preset); with it (group rig-firmware-boot)
# OVMF boots the kernel from the VM's own variable store (--firmware OVMF_CODE.fd --firmware-vars
# OVMF_VARS.fd: the rig has Debian's 2 MiB pair), which the firmware then has written to;
# the NIC is on a tap (--net tap:IF) rather than passt. The manager's part: swtpm runs while the
# VM does, with its state in the VM's folder, and is gone once the guest powered off; rm says
# it deletes the TPM state.
# rig-tools: swtpm
# shellcheck shell=sh

PH=/rig/bin/phyllome
export PHYLLOME_STATE=$RIG_WORK/st-os PHYLLOME_SWTPM=$TOOLS/swtpm
M=manager-os

fail() {
	for d in "$PHYLLOME_STATE"/vms/*/; do
		[ -d "$d" ] || continue
		echo "---- $M: $d"
		tail -n 25 "$d/serial.log" 2>/dev/null | sed 's/^/| /'
		tail -n 15 "$d/vmm.log" 2>/dev/null | sed 's/^/! /'
	done
	rig_fail "$M" "$*"
	"$PH" rm -f win >/dev/null 2>&1
	exit 0
}


if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip "$M" "the scenario drives phyllome"
	exit 0
fi
need_tools "$M" swtpm || exit 0
tap_setup "$M" tapos 192.168.79.1/24 || exit 0
FW="--firmware none" UEFI=
if [ -f /guest/OVMF_CODE.fd ] && [ -f /guest/OVMF_VARS.fd ]; then
	FW="--firmware /guest/OVMF_CODE.fd --firmware-vars /guest/OVMF_VARS.fd" UEFI=1
fi
T0=$(now_cs)
# shellcheck disable=SC2086 # FW is two or four words
"$PH" run -d --name win --os windows $FW --memory 512M --net tap:tapos \
	--kernel "$L2_KERNEL" --initramfs "$L2_INITRD" \
	--cmdline "$L2_BASE_CMDLINE phyllome.test=winmachine" >"$RIG_WORK/os.out" 2>"$RIG_WORK/os.err" ||
	fail "run --os windows: $(cat "$RIG_WORK/os.out" "$RIG_WORK/os.err")"
D=$PHYLLOME_STATE/vms/$(head -n 1 "$RIG_WORK/os.out")
grep -q "screen: VNC on 127.0.0.1:" "$RIG_WORK/os.err" || fail "run did not say where the screen is: $(cat "$RIG_WORK/os.err")"
SW=$(sed -n 's/.*"swtpm_pid": \([0-9]*\).*/\1/p' "$D/state.json")
[ "${SW:-0}" -gt 0 ] && kill -0 "$SW" || fail "no swtpm running for the VM (state: $(tr -d ' \n' <"$D/state.json"))"
tr '\0' ' ' <"/proc/$SW/cmdline" | grep -q -- "--tpmstate dir=$D/tpm" || fail "swtpm's command line: $(tr '\0' ' ' <"/proc/$SW/cmdline")"
for w in --usb "boot=2,hyperv=on" "base=localtime" "bus=nvme" "model=e1000e" "socket=$D/tpm.sock"; do
	tr '\0' '\n' <"/proc/$(sed -n 's/.*"vmm_pid": \([0-9]*\).*/\1/p' "$D/state.json")/cmdline" |
		grep -q -- "$w" || fail "the VMM's command line lacks $w"
done
LOG=$D/serial.log
file_wait "$LOG" 'PHYLLOME-TEST winmachine' $((T_BOOT + T_TEST)) || fail "no result from the guest: $(grep PHYLLOME "$LOG" | tail -n 3)"
T_GUEST=$(since "$T0")
grep -q 'PHYLLOME-TEST winmachine PASS' "$LOG" || fail "$(grep 'PHYLLOME-TEST winmachine' "$LOG" | tr -d '\r')"
DETAIL=$(grep -o 'PHYLLOME-TEST winmachine PASS.*' "$LOG" | tr -d '\r' | sed 's/PHYLLOME-TEST winmachine PASS //')
for _ in $(seq 100); do "$PH" ps -a | grep -q 'win .*Exited (0)' && break; sleep 0.3; done
"$PH" ps -a | grep -q 'win .*Exited (0)' || fail "ps -a after the guest's poweroff: $("$PH" ps -a)"
for _ in $(seq 50); do kill -0 "$SW" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SW" 2>/dev/null && fail "the VM's swtpm ($SW) still runs after the VM ended"
[ -s "$D/tpm/tpm2-00.permall" ] || fail "no TPM state (tpm2-00.permall) in the VM's folder"
if [ -n "$UEFI" ]; then
	grep -q 'PHYLLOME-TEST winmachine PASS.*UEFI' "$LOG" || fail "the guest was not booted by UEFI firmware"
	cmp -s /guest/OVMF_VARS.fd "$D/vars.fd" && fail "the VM's variable store is the template still: the firmware wrote nothing to it"
	DETAIL="$DETAIL; the firmware wrote its variables to the VM's vars.fd"
fi
"$PH" rm win >"$RIG_WORK/rm.out" 2>&1 || fail "rm: $(cat "$RIG_WORK/rm.out")"
grep -q "deleted its TPM state" "$RIG_WORK/rm.out" || fail "rm did not say it deletes the TPM state: $(cat "$RIG_WORK/rm.out")"
[ ! -e "$D" ] || fail "the VM's folder is still there after rm"
rig_ok "$M" "$DETAIL; guest done after ${T_GUEST}s; swtpm started and stopped with the VM"
