#!/bin/bash
# The --os presets on the host (no KVM): `phyllome create/run --os windows|linux|other` with a
# stand-in VMM (fake-vmm.py behind a wrapper that records its command line, initialises the TPM
# through swtpm's control socket with swtpm_ioctl, and writes into the UEFI variable store as
# firmware would). Checks the VMM command line of the one Windows command, the VM's own swtpm
# (started before the VMM, stopped with it, its state in tpm/ kept across restarts), the per-VM
# copy of the variable store (made once, kept across restarts), inspect, rm's message, the
# overrides, and the catalogue's os field (a windows entry gets the preset; a BIOS entry is
# refused). TAP output.
#   os-test.sh PHYLLOME FAKE_VMM
set -u
PH=$1
FAKE=$(realpath "$2")
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
nok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
for t in swtpm swtpm_ioctl passt python3; do command -v $t >/dev/null || skip_all "$t missing"; done
# The windows preset: the Secure Boot build with Microsoft's keys (Debian's .ms pair; the
# manager passes the code image's real path: Debian's .ms.fd is a link to .secboot.fd); the
# other presets: the build without Secure Boot.
SB_CODE=/usr/share/OVMF/OVMF_CODE_4M.ms.fd SB_VARS=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
[ -f $SB_CODE ] && [ -f $SB_VARS ] && [ -f $CODE ] || skip_all "Debian's ovmf (OVMF_CODE_4M.ms.fd, OVMF_CODE_4M.fd) missing"
SB_CODE=$(readlink -f $SB_CODE)

T=$(mktemp -d /tmp/phyllome-os.XXXXXX)
cleanup() {
	for p in $(cat "$T"/state/vms/*/state.json 2>/dev/null | sed -n 's/.*"\(vmm\|supervisor\|swtpm\|passt\)_pid": \([0-9]*\).*/\2/p'); do
		[ "$p" != 0 ] && kill -9 "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
unset PHYLLOME_FIRMWARE PHYLLOME_SWTPM
export PHYLLOME_STATE=$T/state HOME=$T/home USER=tester
mkdir -p "$HOME"
# The VMM: records its argv in its folder (argv.N, N the start), inits the TPM, writes a
# variable into the store at a start's offset, then is fake-vmm.py.
cat >"$T/vmm" <<EOT
#!/bin/bash
dir=
for a in "\$@"; do case \$a in */api.sock) dir=\${a%/api.sock} ;; esac; done
n=\$(ls "\$dir"/argv.* 2>/dev/null | wc -l)
printf '%s\n' "\$@" >"\$dir/argv.\$n"
prev=
for a in "\$@"; do
	case \$prev in
	--tpm) swtpm_ioctl --unix "\${a#socket=}" -i >/dev/null 2>&1 && echo ok >"\$dir/tpm-init.\$n" ;;
	--firmware) v=\${a#*,vars=}; [ "\$v" != "\$a" ] && printf 'PHYLLOME-VAR-%s' "\$n" | dd of="\$v" bs=1 seek=\$((8192 + 16 * n)) conv=notrunc 2>/dev/null ;;
	esac
	prev=\$a
done
exec python3 $FAKE "\$@"
EOT
chmod +x "$T/vmm"
export PHYLLOME_VMM=$T/vmm
# The stand-in VMM is a script, which phyllome-jail cannot run.
export PHYLLOME_JAIL=off
ph() { OUT=$("$PH" "$@" 2>"$T/err"); RC=$?; ERR=$(cat "$T/err"); }
expect() {
	if [ "$RC" = "$2" ] && { [ -z "${3:-}" ] || echo "$OUT$ERR" | grep -qE -- "$3"; }; then ok "$1"
	else nok "$1" "status $RC (want $2), out: $OUT" "err: $ERR"; return 1; fi
}
check() { if eval "$2" 2>/dev/null; then ok "$1"; else nok "$1" "${3:-}"; fi; }
# argv_has DIR N OPT VALUE: the Nth start's VMM command line holds OPT VALUE
argv_has() { grep -qxF -- "$3" "$1/argv.$2" && grep -A1 -xF -- "$3" "$1/argv.$2" | tail -n 1 | grep -qxF -- "$4"; }
st() { sed -n "s/.*\"$2\": \\([0-9]*\\).*/\\1/p" "$1/state.json"; }
head -c 1M /dev/zero >"$T/Win11.iso"
echo kernel >"$T/vmlinuz"

# 1. The one command (create: run would attach to the console).
ph create --name win --os windows --cdrom "$T/Win11.iso"
expect "create --os windows --cdrom Win11.iso" 0 "^[0-9a-f]{16}phyllome: win.s screen"
check "it says where the screen will be (VNC on 127.0.0.1, or --display window)" \
	"echo \"\$ERR\" | grep -q 'screen: VNC on 127.0.0.1:[0-9]* (e.g. vncviewer 127.0.0.1::[0-9]*), or run it with --display window'" "$ERR"
D=$PHYLLOME_STATE/vms/$OUT
check "its own UEFI variable store, a copy of OVMF_VARS_4M.ms.fd, mode 0600" \
	"cmp -s $SB_VARS $D/vars.fd && [ \$(stat -c %a $D/vars.fd) = 600 ]"
check "its TPM state folder (0700)" "[ \$(stat -c %a $D/tpm) = 700 ]"
check "a sparse 64 GiB disk" "[ \$(stat -c %s $D/disk0.img) = 68719476736 ] && [ \$(stat -c %b $D/disk0.img) = 0 ]"
check "config.json records the machine" \
	"grep -q '\"os\": \"windows\"' $D/config.json && grep -q '\"tpm\": true' $D/config.json && grep -q '\"hyperv\": true' $D/config.json && grep -q '\"rtc\": \"localtime\"' $D/config.json && grep -q '\"disk_bus\": \"nvme\"' $D/config.json && grep -q '\"net_model\": \"e1000e\"' $D/config.json && grep -q '\"usb\": true' $D/config.json"

ph start win; expect "start win" 0 "" || cat "$D/vmm.log" | sed "s/^/# /"
A=0
check "VMM: --firmware code=OVMF_CODE_4M.ms.fd,vars=the VM's copy" "argv_has $D $A --firmware code=$SB_CODE,vars=$D/vars.fd" "$(cat $D/argv.0 | tr '\n' ' ')"
check "VMM: --cpus boot=2,hyperv=on" "argv_has $D $A --cpus boot=2,hyperv=on"
check "VMM: --memory size=4096M" "argv_has $D $A --memory size=4096M"
check "VMM: the disk on NVMe" "argv_has $D $A --disk path=$D/disk0.img,bus=nvme"
check "VMM: the ISO in the CD-ROM" "argv_has $D $A --cdrom $T/Win11.iso"
check "VMM: e1000e on passt" "argv_has $D $A --net passt=$D/passt.sock,model=e1000e"
check "VMM: the USB tablet and keyboard" "grep -qx -- --usb $D/argv.$A"
check "VMM: the TPM on the VM's swtpm" "argv_has $D $A --tpm socket=$D/tpm.sock"
check "VMM: the RTC in local time" "argv_has $D $A --rtc base=localtime"
check "VMM: a VNC display on 127.0.0.1" "grep -A1 -x -- --display $D/argv.$A | grep -qx 'vnc=127.0.0.1:[0-9]*'"
check "VMM: no --kernel" "! grep -qx -- --kernel $D/argv.$A"
check "swtpm was up before the VMM (the VMM initialised the TPM through it)" "[ -s $D/tpm-init.0 ]"
SW=$(st $D swtpm_pid)
check "swtpm runs, its pid in state.json, its state in the VM's folder" \
	"[ \"$SW\" -gt 0 ] && [ \$(cat /proc/$SW/comm) = swtpm ] && tr '\\0' ' ' </proc/$SW/cmdline | grep -q -- '--tpmstate dir=$D/tpm'"
check "the TPM's permanent state is in tpm/" "[ -s $D/tpm/tpm2-00.permall ]"
ph inspect win
check "inspect shows the TPM state, its socket, swtpm's pid and the variable store" \
	"echo \"\$OUT\" | grep -q '\"TpmState\": \"$D/tpm\"' && echo \"\$OUT\" | grep -q '\"UefiVars\": \"$D/vars.fd\"' && echo \"\$OUT\" | grep -q '\"SwtpmPid\": $SW'" "$OUT"

ph stop win; expect "stop win" 0 ""
check "swtpm stopped with the VM" "! kill -0 $SW"
check "state.json: no swtpm pid; no tpm.sock" "[ \"\$(st $D swtpm_pid)\" = 0 ] && [ ! -e $D/tpm.sock ]"
cp $D/tpm/tpm2-00.permall $T/permall.0
# differs N: how many bytes of the TPM's permanent state differ from $T/permall.0 (a TPM init
# changes a few (its clock); a new TPM's seeds, hundreds)
differs() { cmp -l $T/permall.0 $D/tpm/tpm2-00.permall | wc -l; }
check "the firmware's variable write is in the store" "grep -q PHYLLOME-VAR-0 $D/vars.fd"

ph start win; expect "start win again" 0 ""
check "the same store (not copied again): the first start's variable is still there" "grep -q PHYLLOME-VAR-0 $D/vars.fd && grep -q PHYLLOME-VAR-1 $D/vars.fd"
check "the TPM's state was kept: after this start's TPM init, its seeds are the same (< 32 bytes of the state differ)" "[ -s $D/tpm-init.1 ] && [ \$(differs) -lt 32 ]" "$(differs) bytes differ"
SW2=$(st $D swtpm_pid)
check "a new swtpm on the same state" "[ \"$SW2\" -gt 0 ] && [ \"$SW2\" != \"$SW\" ] && tr '\\0' ' ' </proc/$SW2/cmdline | grep -q -- '--tpmstate dir=$D/tpm'"
ph kill win; expect "kill win" 0 ""
for _ in $(seq 50); do kill -0 "$SW2" 2>/dev/null || break; sleep 0.1; done
rm -rf "$D/tpm"
ph start win; expect "start win after its tpm/ was deleted (the TPM cleared): a new, empty state" 0 ""
check "... swtpm made a new state (> 100 bytes differ)" "[ -s $D/tpm/tpm2-00.permall ] && [ \$(differs) -gt 100 ]" "$(differs) bytes differ"
SW2=$(st $D swtpm_pid)
ph kill win; expect "kill win" 0 ""
for _ in $(seq 50); do kill -0 "$SW2" 2>/dev/null || break; sleep 0.1; done
check "swtpm stopped after the VMM was killed" "! kill -0 $SW2"
ph rm win; expect "rm win says it deletes the TPM and the variables" 0 "deleted its TPM state .*BitLocker"
check "rm names the variable store too" "echo \"\$ERR\" | grep -q 'deleted its UEFI variable store'"
check "the VM's folder (TPM state, variables) is gone" "[ ! -e $D ]"

# 2. Every preset value overridden.
ph create --name win2 --os windows --cdrom "$T/Win11.iso" -c 4 -m 8G --disk 100G --disk-bus virtio \
	--net-model virtio --no-usb --no-tpm --no-hyperv --rtc utc --display window --firmware /usr/share/ovmf/OVMF.fd
expect "create --os windows with every value overridden" 0 "screen is its window"
D2=$PHYLLOME_STATE/vms/$OUT
check "no TPM folder, no variable store, a 100G disk" "[ ! -e $D2/tpm ] && [ ! -e $D2/vars.fd ] && [ \$(stat -c %s $D2/disk0.img) = 107374182400 ]"
ph start win2; expect "start win2" 0 ""
check "VMM: the overrides" "argv_has $D2 0 --cpus boot=4 && argv_has $D2 0 --memory size=8192M && argv_has $D2 0 --disk path=$D2/disk0.img && argv_has $D2 0 --firmware /usr/share/ovmf/OVMF.fd && argv_has $D2 0 --display window && ! grep -qx -e --usb -e --tpm -e --rtc $D2/argv.0 && argv_has $D2 0 --net passt=$D2/passt.sock" "$(tr '\n' ' ' <$D2/argv.0)"
check "no swtpm" "[ \"\$(st $D2 swtpm_pid)\" = 0 ]"
ph rm -f win2; expect "rm -f win2" 0 ""

# 3. linux: today's machine; other: the conservative one, the firmware booting the kernel.
ph run -d --name lin --os linux --kernel $T/vmlinuz; expect "run -d --os linux --kernel" 0 ""
D3=$(ls -d $PHYLLOME_STATE/vms/$OUT)
check "linux: direct boot, virtio, nothing else" "argv_has $D3 0 --kernel $T/vmlinuz && ! grep -qx -e --firmware -e --usb -e --tpm -e --rtc $D3/argv.0 && argv_has $D3 0 --cpus boot=1"
ph rm -f lin
ph run -d --name oth --os other --kernel $T/vmlinuz --disk 1G --net user; expect "run -d --os other --kernel" 0 ""
D4=$PHYLLOME_STATE/vms/$OUT
check "other: UEFI with its own store booting the kernel, NVMe, e1000e, USB, no TPM" \
	"argv_has $D4 0 --firmware code=$CODE,vars=$D4/vars.fd && argv_has $D4 0 --kernel $T/vmlinuz && argv_has $D4 0 --disk path=$D4/disk0.img,bus=nvme && grep -q model=e1000e $D4/argv.0 && grep -qx -- --usb $D4/argv.0 && ! grep -qx -e --tpm -e --rtc $D4/argv.0" "$(tr '\n' ' ' <$D4/argv.0)"
ph rm -f oth
ph create --os beos --kernel $T/vmlinuz; expect "an unknown --os is refused" 125 'is not one of windows, linux, freebsd, other'
ph create --name nosw --os windows --cdrom "$T/Win11.iso" --disk 1G
PHYLLOME_SWTPM=/nonexistent/swtpm ph start nosw
expect "no swtpm: the start fails with one line naming it" 1 "needs swtpm \(Debian package swtpm"
ph rm -f nosw

# 4. The catalogue's os field picks the preset; a BIOS entry is refused.
SUM=$(sha256sum "$T/Win11.iso" | cut -d' ' -f1)
cat >"$T/catalog.json" <<EOT
{"images": [
 {"name": "win", "tag": "11", "url": "file://$T/Win11.iso", "checksum": "sha256:$SUM",
  "format": "iso", "boot": "uefi", "kind": "installer", "os": "windows", "cpus": 3,
  "memory": "6G", "disk": "2G", "cloud_init": false, "login": "Setup"},
 {"name": "old", "tag": "1", "url": "file://$T/Win11.iso", "checksum": "sha256:$SUM",
  "format": "iso", "boot": "bios", "kind": "installer", "os": "other", "cpus": 1,
  "memory": "1G", "disk": 0, "cloud_init": false, "login": "-"}
]}
EOT
ph create --catalog "$T/catalog.json" --name fromcat win:11; expect "create win:11 from the catalogue" 0 "^[0-9a-f]{16}win:11: pulled"
D5=$PHYLLOME_STATE/vms/$OUT
check "the entry's os field gave the windows machine, with the entry's CPUs, memory and disk" \
	"grep -q '\"os\": \"windows\"' $D5/config.json && grep -q '\"tpm\": true' $D5/config.json && grep -q '\"cpus\": 3' $D5/config.json && grep -q '\"disk_bus\": \"nvme\"' $D5/config.json && [ -s $D5/vars.fd ] && [ -d $D5/tpm ]" "$(cat $D5/config.json)"
ph create --catalog "$T/catalog.json" --name fromcat2 --os linux --no-tpm win:11; expect "--os and options override the entry's preset" 0 ""
check "linux preset, no TPM" "grep -q '\"os\": \"linux\"' $PHYLLOME_STATE/vms/$OUT/config.json && grep -q '\"tpm\": false' $PHYLLOME_STATE/vms/$OUT/config.json"
ph create --catalog "$T/catalog.json" old:1; expect "a BIOS entry is refused with one clear line" 125 'old:1 boots from a BIOS: phyllome-vmm boots UEFI firmware or a kernel'

echo "1..$N"
[ "$FAILED" = 0 ]
