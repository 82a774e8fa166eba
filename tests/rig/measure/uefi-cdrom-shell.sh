# Debugging aid (not a test): boots OVMF with efi.iso on --cdrom and no disk; when the UEFI shell
# waits at its prompt, types commands (rig.env.SHELL_CMDS, ';'-separated; default: the block
# device's media and its first El Torito sectors) and dumps the serial output.
#   tests/rig/run-rig.sh --vmm build/phyllome-vmm --firmware --extra-scenario tests/rig/measure/uefi-cdrom-shell.sh
# shellcheck shell=sh
N=uefi-cdrom-shell
cp /guest/OVMF_VARS.fd "$RIG_WORK/vars.fd"
cp /guest/efi.iso "$RIG_WORK/efi.iso"
L2_FW_CODE=/guest/OVMF_CODE.fd L2_FW_VARS=$RIG_WORK/vars.fd
vmm_start $N 1 512M "" "cdrom:$RIG_WORK/efi.iso"
unset L2_FW_CODE L2_FW_VARS
if wait_for 'Shell>' "$VMM_OUT" "$T_BOOT"; then
	IFS=';'
	for c in ${SHELL_CMDS:-map -r;dblk blk0 0 1;dblk blk0 10 1;dblk blk0 11 1;dblk blk0 22 1}; do
		unset IFS
		printf '%s\r' "$c" >&7
		sleep 8
	done
	unset IFS
	sleep 10
fi
echo "---- $N: serial output (escape sequences removed):"
sed 's/\x1b\[[0-9;=]*[A-Za-z]//g' "$VMM_OUT" | tr -d '\r' | grep -v '^ *$' | head -n 400 | sed 's/^/| /'
echo "---- $N: VMM stderr:"
tail -n 30 "$VMM_ERR" | sed 's/^/! /'
vmm_kill
rig_ok $N "see the dump"
