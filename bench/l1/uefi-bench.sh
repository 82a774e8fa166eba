# Firmware boot benchmark, run inside the rig's L1 as an extra scenario:
#   tests/rig/run-rig.sh --vmm build/phyllome-vmm --firmware --with-qemu \
#       --extra-scenario bench/l1/uefi-bench.sh
# Each round boots Debian's OVMF (split images, a fresh copy of the variable store each time)
# with the ESP disk (tests/guests/build-esp.sh) in phyllome-vmm, then in QEMU q35 with the same
# firmware and disk, and measures from the VMM's start to the UEFI shell's startup.nsh marker (the
# firmware has found the disk and starts the OS loader) and to the guest's PHYLLOME-USERSPACE.
# Not a test: "BENCH-UEFI vmm=... round=N shell=S user=S" lines and one RIG-RESULT.
# Settings (rig.env.NAME=VALUE): BENCH_RUNS (3), BENCH_MEM (512, MiB).
# shellcheck shell=sh

BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_MEM=${BENCH_MEM:-512}
bench_failed=0

# uefi_round VMM ROUND: one boot, its BENCH-UEFI line; returns 1 if a marker was missed.
uefi_round() {
	cp /guest/OVMF_VARS.fd "$RIG_WORK/vars.fd"
	cp /guest/esp.img "$RIG_WORK/esp.img"
	RIG_L2_VMM=$1 L2_FW_CODE=/guest/OVMF_CODE.fd L2_FW_VARS=$RIG_WORK/vars.fd
	vmm_start "uefi-bench-$1-$2" 1 "${BENCH_MEM}M" "" "disk:path=$RIG_WORK/esp.img"
	RIG_L2_VMM=phyllome
	unset L2_FW_CODE L2_FW_VARS
	_shell=- _user=-
	wait_for PHYLLOME-UEFI-SHELL "$VMM_OUT" "$T_BOOT" && _shell=$(since "$VMM_T0")
	wait_for PHYLLOME-USERSPACE "$VMM_OUT" "$T_BOOT" && _user=$(since "$VMM_T0")
	vmm_kill
	echo "BENCH-UEFI vmm=$1 round=$2 shell=$_shell user=$_user"
	[ "$_shell" != - ] && [ "$_user" != - ]
}

if [ ! -f /guest/OVMF_CODE.fd ] || ! command -v qemu-system-x86_64 >/dev/null; then
	rig_skip uefi-bench "needs rig.py --firmware --with-qemu"
else
	r=1
	while [ $r -le "$BENCH_RUNS" ]; do
		uefi_round phyllome $r || bench_failed=$((bench_failed + 1))
		uefi_round qemu $r || bench_failed=$((bench_failed + 1))
		r=$((r + 1))
	done
	if [ $bench_failed = 0 ]; then
		rig_ok uefi-bench "$BENCH_RUNS rounds"
	else
		rig_fail uefi-bench "$bench_failed boots missed a marker"
	fi
fi
