# TPM 2.0 (--tpm socket=PATH): swtpm started in L1 as the user starts it (a control socket, a
# state folder, --flags startup-clear); the L2 Linux guest finds /dev/tpm0 on tpm_crb (from the
# ACPI TPM2 table and the MSFT0101 device) and two TPM2_GetRandom through it succeed and differ
# (tests/guests/tests/tpm.sh). With --firmware, a second boot through OVMF (which measures the
# boot with its Tcg2 driver) also checks that the firmware's event log reaches Linux: tpm-firmware.
# rig-tools: swtpm
# shellcheck shell=sh
tpm_swtpm_start() {
	TPM_DIR=$RIG_WORK/swtpm-$1
	rm -rf "$TPM_DIR"
	mkdir -p "$TPM_DIR/state"
	"$TOOLS/swtpm" socket --tpm2 --ctrl "type=unixio,path=$TPM_DIR/ctrl.sock" \
		--tpmstate "dir=$TPM_DIR/state" --flags startup-clear >"$TPM_DIR/log" 2>&1 &
	TPM_PID=$!
	i=0
	while [ ! -S "$TPM_DIR/ctrl.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S "$TPM_DIR/ctrl.sock" ]
}

tpm_swtpm_stop() {
	kill "$TPM_PID" 2>/dev/null
	wait "$TPM_PID" 2>/dev/null
}

if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip tpm "the scenario drives phyllome-vmm's --tpm"
elif ! need_tools tpm swtpm; then
	:
elif ! tpm_swtpm_start tpm; then
	rig_fail tpm "swtpm made no control socket: $(tail -n 3 "$TPM_DIR/log" | tr '\n' ' ')"
	tpm_swtpm_stop
else
	vmm_start tpm 1 256M "$L2_BASE_CMDLINE phyllome.test=tpm" "tpm:socket=$TPM_DIR/ctrl.sock"
	guest_test_end tpm tpm "$T_TEST" &&
		rig_ok tpm "$GT_DETAIL; userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
	tpm_swtpm_stop
	# The state swtpm keeps for the VM (its permanent state) is in the folder.
	[ -s "$TPM_DIR/state/tpm2-00.permall" ] || echo "rig: tpm: no tpm2-00.permall in $TPM_DIR/state"
fi

if [ "$RIG_L2_VMM" = qemu ] || [ ! -x "$TOOLS/swtpm" ]; then
	:
elif [ ! -f /guest/OVMF.fd ]; then
	rig_skip tpm-firmware "no OVMF.fd in L1 (run the rig with --firmware)"
elif ! tpm_swtpm_start tpm-fw; then
	rig_fail tpm-firmware "swtpm made no control socket"
	tpm_swtpm_stop
else
	# shellcheck disable=SC2034 # vmm_exec (lib.sh) reads them
	L2_FW_CODE=/guest/OVMF.fd L2_FW_KERNEL=1
	vmm_start tpm-firmware 1 512M "$L2_BASE_CMDLINE phyllome.test=tpm phyllome.tpmlog=1" \
		"tpm:socket=$TPM_DIR/ctrl.sock"
	unset L2_FW_CODE L2_FW_KERNEL
	guest_test_end tpm-firmware tpm "$T_BOOT" &&
		rig_ok tpm-firmware "$GT_DETAIL; userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
	tpm_swtpm_stop
fi
