# An installer/live entry of the catalogue as shipped (data/catalog.json at /rig/data/, where
# /rig/bin/phyllome finds it: # rig-data: phyllome-catalog): memtest86plus, the ISO of Debian's
# memtest86+ package (file:///usr/lib/memtest86+/memtest86+x64.iso, # rig-data: memtest).
# `phyllome run -d memtest86plus` pulls it (stored as an ISO; `images` lists it), puts it in the
# CD-ROM drive with no disk (the entry's disk is 0) and boots UEFI firmware (PHYLLOME_FIRMWARE:
# OVMF in one image), which starts the CD's EFI loader, memtest86+ itself: it draws its blue screen
# (the VM's screenshot, seen by a person: "Memtest86+ v6.10", its tests running, "Phyllome
# Phyllome VM" from the SMBIOS tables) and keeps drawing (frames 10 s apart differ: its timer and
# progress), and `phyllome screenshot` writes a PNG of it. `rmi` is refused while the VM exists;
# rm, rmi. Needs the rig's --firmware (group rig-firmware-boot). With rig.env.MT_DUMP=1 the PNG
# goes to L1's console in base64 between "MT-PNG-BEGIN"/"MT-PNG-END" lines, to look at.
# rig-data: memtest phyllome-catalog
# rig-tools: curl
# shellcheck shell=sh

PH=/rig/bin/phyllome
export PHYLLOME_STATE=$RIG_WORK/st
M=manager-memtest
W=$RIG_WORK

fail() {
	for d in "$PHYLLOME_STATE"/vms/*/; do
		[ -d "$d" ] || continue
		echo "---- $M: $d state: $(tr -d ' \n' <"$d/state.json" 2>/dev/null)"
		tail -n 20 "$d/serial.log" 2>/dev/null | sed 's/^/| /'
		tail -n 10 "$d/vmm.log" 2>/dev/null | sed 's/^/! /'
	done
	rig_fail "$M" "$*"
	"$PH" rm -f mt >/dev/null 2>&1
	exit 0
}

# frame FILE: the VM's screen as a PPM; prints how many bytes of it are not black.
frame() { api_frame "$D/api.sock" "$1"; }

if [ ! -f /guest/OVMF.fd ]; then
	rig_skip "$M" "no firmware in L1 (run the rig with --firmware)"
	exit 0
fi
need_tools "$M" curl || exit 0
[ -f /rig/data/catalog.json ] || fail "no shipped catalogue at /rig/data/catalog.json"
[ -f /usr/lib/memtest86+/memtest86+x64.iso ] || fail "no memtest86+ ISO in L1 (Debian package memtest86+ on the host)"
export PHYLLOME_FIRMWARE=/guest/OVMF.fd
T0=$(now_cs)
"$PH" run -d --name mt --net none --display "vnc=unix:$W/mt-vnc.sock" memtest86plus \
	>"$W/run.out" 2>"$W/run.err" || fail "run -d memtest86plus: $(cat "$W/run.out" "$W/run.err")"
grep -q 'memtest86plus:latest: pulled' "$W/run.err" || fail "run did not pull the entry: $(cat "$W/run.err")"
D=$PHYLLOME_STATE/vms/$(head -n 1 "$W/run.out")
"$PH" images >"$W/images.out" 2>&1
grep -Eq '^memtest86plus +latest +iso ' "$W/images.out" || fail "images: $(cat "$W/images.out")"
"$PH" inspect mt >"$W/inspect.out" 2>&1
grep -q "\"cdrom\": \"$PHYLLOME_STATE/images/memtest86plus@latest/disk.iso\"" "$W/inspect.out" ||
	fail "the ISO is not in the CD-ROM drive: $(tr -d ' \n' <"$W/inspect.out" | head -c 600)"
grep -q '"disks": \[\]' "$W/inspect.out" || fail "the VM has a disk (the entry's disk is 0)"
cmp -s "$PHYLLOME_STATE/images/memtest86plus@latest/disk.iso" /usr/lib/memtest86+/memtest86+x64.iso ||
	fail "the stored ISO is not Debian's"

# The screen: memtest86+'s (its blue, VGA's 0000aa, below its header; the firmware's screens are
# black there), then still changing 10 s later (its timer and progress: it runs).
lit=0 px=
until [ "${lit:-0}" -gt 20000 ] && [ "$px" = 0000aa ]; do
	[ "$(now_cs)" -ge $((T0 + T_BOOT * 100)) ] && fail "no memtest86+ screen in $T_BOOT s ($lit bytes lit, pixel 320,300 $px)"
	sleep 5
	lit=$(frame "$W/f1.ppm") || fail "no screenshot: $(tail -n 2 "$W/curl.err")"
	px=$(ppm_pixel "$W/f1.ppm" 320 300)
done
T_LIT=$(since "$T0")
sleep 10
lit2=$(frame "$W/f2.ppm") || fail "no second screenshot"
cmp -s "$W/f1.ppm" "$W/f2.ppm" && fail "the screen did not change in 10 s ($lit bytes lit)"
"$PH" screenshot mt "$W/mt.png" >"$W/shot.out" 2>&1 || fail "phyllome screenshot: $(cat "$W/shot.out")"
[ "$(head -c 4 "$W/mt.png" | tail -c 3)" = PNG ] || fail "phyllome screenshot did not write a PNG"
if [ "${MT_DUMP:-0}" = 1 ]; then
	echo "MT-PNG-BEGIN"
	base64 "$W/mt.png"
	echo "MT-PNG-END"
fi
"$PH" rmi memtest86plus >"$W/rmi.out" 2>&1 && fail "rmi of the ISO in a VM's CD-ROM succeeded"
grep -q 'VM mt uses it' "$W/rmi.out" || fail "rmi's refusal: $(cat "$W/rmi.out")"
"$PH" rm -f mt >"$W/rm.out" 2>&1 || fail "rm -f mt: $(cat "$W/rm.out")"
"$PH" rmi memtest86plus >"$W/rmi.out" 2>&1 || fail "rmi once unused: $(cat "$W/rmi.out")"
rig_ok "$M" "the shipped catalogue's memtest86plus pulled (file://, $(($(wc -c </usr/lib/memtest86+/memtest86+x64.iso) / 1024)) KiB ISO), in the CD-ROM with no disk; OVMF booted it: memtest86+'s blue screen ($lit bytes lit) at $T_LIT s and changing ($lit2 bytes 10 s later), phyllome screenshot PNG $(wc -c <"$W/mt.png") bytes; rmi refused while used, done after rm"
