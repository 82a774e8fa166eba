# The AHCI CD-ROM with a direct Linux boot: --cdrom with the data disc from
# tests/guests/build-iso.sh (data.iso: known files and their MD5SUMS). The guest test
# (tests/guests/tests/cdrom.sh) finds /dev/sr0, checks its capacity and a raw read of the whole
# drive against the ISO's size and MD5, mounts it and checks every file, and sees its writes
# refused; the ISO file is unchanged afterwards. CD_NAME/CD_CMDLINE: another name and more kernel
# parameters for the same test (cdrom-intx), which then skips cdrom-manager.
# shellcheck shell=sh
N=${CD_NAME:-cdrom}
if [ ! -f /guest/data.iso ]; then
	rig_skip $N "no data.iso in L1 (tests/guests/build-iso.sh needs xorriso on the host)"
else
	iso=$RIG_WORK/data.iso
	cp /guest/data.iso "$iso"
	iso_md5=$(md5_of "$iso") iso_size=$(wc -c <"$iso")
	vmm_start $N 1 256M "${CD_CMDLINE:-}$L2_BASE_CMDLINE phyllome.test=cdrom cdrom.size=$iso_size cdrom.md5=$iso_md5" \
		"cdrom:$iso"
	if guest_test_end $N cdrom "$T_TEST"; then
		if [ "$(md5_of "$iso")" != "$iso_md5" ]; then
			rig_fail $N "the ISO file changed: MD5 $(md5_of "$iso"), was $iso_md5 (guest: $GT_DETAIL)"
		else
			rig_ok $N "$GT_DETAIL; ISO unchanged; userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
		fi
	fi
fi

# cdrom-manager: the same disc through the manager, `phyllome run -d --cdrom ISO` (which passes
# the VMM --cdrom): the guest test passes and the VM ends with "Exited (0)". phyllome-vmm only.
M=cdrom-manager PH=/rig/bin/phyllome
if [ -n "${CD_NAME:-}" ]; then
	: # a variant of the drive test only
elif [ "$RIG_L2_VMM" = qemu ] || [ ! -x "$PH" ] || [ ! -f /guest/data.iso ]; then
	rig_skip $M "needs phyllome-vmm, the manager beside it and data.iso"
else
	export PHYLLOME_STATE="$RIG_WORK/st"
	cmdl="$L2_BASE_CMDLINE phyllome.test=cdrom cdrom.size=$iso_size cdrom.md5=$iso_md5"
	if ! out=$("$PH" run -d --name cd --memory 256M --kernel "$L2_KERNEL" --initramfs "$L2_INITRD" \
		--cmdline "$cmdl" --cdrom "$iso" 2>&1); then
		rig_fail $M "phyllome run -d --cdrom: $out"
	else
		dir=$("$PH" inspect cd | sed -n 's/.*"Path": "\(.*\)",/\1/p' | head -n 1)
		end=$(($(now_cs) + (T_BOOT + T_TEST + T_EXIT) * 100))
		st=
		while [ "$(now_cs)" -lt "$end" ]; do
			st=$("$PH" ps -a | grep ' cd ')
			# A bare "Exited" means the VMM is gone and its supervisor is still recording the
			# exit code: wait for "Exited (N)".
			case $st in *"Exited ("*) break ;; esac
			sleep 1
		done
		res=$(grep -o 'PHYLLOME-TEST cdrom .*' "$dir/serial.log" 2>/dev/null | head -n 1 | tr -d '\r')
		case "$res|$st" in
		"PHYLLOME-TEST cdrom PASS"*"|"*"Exited (0)"*)
			rig_ok $M "${res#PHYLLOME-TEST cdrom PASS }; ps -a: Exited (0)" ;;
		*)
			tail -n 20 "$dir/serial.log" 2>/dev/null | sed 's/^/| /'
			tail -n 10 "$dir/vmm.log" 2>/dev/null | sed 's/^/! /'
			rig_fail $M "guest: '${res:-no result}'; ps -a: '$st'"
			"$PH" kill cd >/dev/null 2>&1 ;;
		esac
		"$PH" rm -f cd >/dev/null 2>&1
	fi
fi
