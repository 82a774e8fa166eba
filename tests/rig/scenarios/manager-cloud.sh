# The manager's images with a real cloud image (docs/manager.md "Images"): L1 serves, on
# 127.0.0.1 with busybox httpd, a catalogue, the Debian cloud image that the tests build from
# Debian's packages (tests/guests/build-debian.sh --cloud: cloud-init with the NoCloud datasource,
# sshd, sudo; build-debian-qcow2.sh --cloud: a compressed qcow2, its SHA256SUMS and their
# signature by a throwaway key, # rig-disk: debian-cloud). `phyllome pull` verifies and stores it
# (not a terminal: no progress bar), `phyllome images` lists it; two VMs run from it at once, each
# on its own qcow2 overlay with its own cloud-init seed and passt (--net user, the image's
# default) with a forwarded SSH port. In each, through `phyllome ssh`: the cloud-init user is L1's
# $USER with L1's ~/.ssh key in authorized_keys and passwordless sudo, the hostname is the VM's
# name; each writes its own file, which the other VM does not have, and which only its own overlay
# file holds. After both power off: the overlays pass qemu-img check, the base's SHA-256 is the
# publisher's, `rmi` of the image is refused while the VMs exist and succeeds once they are gone.
# c1 also shares two of L1's folders (`-v DIR:/mnt/hostshare` and `-v DIR2:/mnt/hostshare-ro:ro`):
# the seed's cloud-config mounts them at the first boot with no typing; over ssh they are virtiofs
# at those paths (findmnt), the guest reads the file L1 put there and writes one L1 then reads, and
# a write to the read-only one fails with L1's folder unchanged.
# The VMs boot the image's own kernel and initrd directly (--kernel: no firmware in this group's
# outer QEMU); the interrupted, resumed pull and the refusals are host tests
# (tests/manager/image-test.sh).
# rig-disk: debian-cloud
# rig-tools: passt qemu-img gpgv mkfs.vfat mcopy ssh ssh-keygen
# rig-data: gconv
# shellcheck shell=sh

PH=/rig/bin/phyllome
export PHYLLOME_STATE=$RIG_WORK/st USER=tester
M=manager-cloud
W=$RIG_WORK
T_CLOUD=${T_CLOUD:-900} # both VMs started to both answering over SSH (two boots on one L1 CPU)
CMDL="console=ttyS0 root=/dev/vda quiet"

fail() {
	for d in "$PHYLLOME_STATE"/vms/*/; do
		[ -d "$d" ] || continue
		echo "---- $M: $d state: $(tr -d ' \n' <"$d/state.json" 2>/dev/null)"
		tail -n 30 "$d/serial.log" 2>/dev/null | sed 's/^/| /'
		tail -n 10 "$d/vmm.log" 2>/dev/null | sed 's/^/! /'
	done
	tail -n 5 "$W/ssh.err" 2>/dev/null | sed 's/^/ssh: /'
	rig_fail "$M" "$*"
	"$PH" rm -f c1 c2 >/dev/null 2>&1
	[ -n "${HTTPD_PID:-}" ] && kill "$HTTPD_PID" 2>/dev/null
	exit 0
}

# vssh VM CMD...: phyllome ssh VM -- CMD (stdout), its stderr kept in $W/ssh.err; $VSSH_T
# seconds at most (default 60).
vssh() { _v=$1; shift; timeout "${VSSH_T:-60}" "$PH" ssh "$_v" -- "$@" </dev/null 2>"$W/ssh.err"; }

# cloud_init_done VM: waits up to 400 s for the VM's cloud-init to end and prints its last status
# line. It asks every 5 s and says so every minute: the rig takes an L1 silent for 600 s for a
# stuck one (two VMs' `cloud-init status --wait` on a loaded host came near).
cloud_init_done() {
	_end=$(($(now_cs) + 40000)) _say=$(($(now_cs) + 6000))
	while :; do
		_st=$(vssh "$1" cloud-init status | tail -n 1)
		case $_st in "status: done" | "status: error" | "status: disabled") break ;; esac
		[ "$(now_cs)" -ge "$_end" ] && break
		if [ "$(now_cs)" -ge "$_say" ]; then
			echo "$M: $1: cloud-init $_st" >&2
			_say=$(($(now_cs) + 6000))
		fi
		sleep 5
	done
	echo "$_st"
}

need_tools "$M" passt qemu-img gpgv mkfs.vfat mcopy ssh ssh-keygen || exit 0
dev=$(rig_disk debian-cloud) || fail "no cloud image disk in L1 (rig-disk debian-cloud)"
read -r _md5 size </guest/debian-cloud.qcow2.md5

# L1's user for ssh (OpenSSH wants a passwd entry; it finds ~/.ssh through it) and their key.
mkdir -p /etc && grep -q '^root:' /etc/passwd 2>/dev/null || echo 'root:x:0:0:root:/root:/bin/sh' >>/etc/passwd
[ -f /etc/nsswitch.conf ] || printf 'passwd: files\ngroup: files\nhosts: files\n' >/etc/nsswitch.conf
mkdir -p /root/.ssh && chmod 700 /root/.ssh
rm -f /root/.ssh/id_ed25519 /root/.ssh/id_ed25519.pub
"$TOOLS/ssh-keygen" -q -t ed25519 -N '' -C tester@rig -f /root/.ssh/id_ed25519 || fail "ssh-keygen failed"
# Never a password prompt; a VM whose sshd is not up yet refuses at once.
printf 'BatchMode yes\nConnectTimeout 30\n' >/root/.ssh/config
KEY=$(cut -d' ' -f2 /root/.ssh/id_ed25519.pub)

# The publisher's site: the image (the recipe's bytes: L1's disk is padded to whole sectors), its
# SHA256SUMS, their signature; the key beside the catalogue (the catalogue ships its keyring).
passt_template "$M" || exit 0 # lo up (the site), and dummy0 for the VMs' passt
mkdir -p "$W/srv" "$W/cat"
head -c "$size" "$dev" >"$W/srv/debian-cloud.qcow2"
cp /guest/debian-cloud.SHA256SUMS "$W/srv/SHA256SUMS"
cp /guest/debian-cloud.SHA256SUMS.sig "$W/srv/SHA256SUMS.sig"
cp /guest/debian-cloud.keyring.gpg "$W/cat/debian-cloud.gpg"
BASE_SUM=$(cut -d' ' -f1 "$W/srv/SHA256SUMS")
busybox httpd -f -p 127.0.0.1:8717 -h "$W/srv" &
HTTPD_PID=$!
cat >"$W/cat/catalog.json" <<EOF
{"images": [{"name": "debian-cloud", "tag": "12", "default": true,
  "url": "http://127.0.0.1:8717/debian-cloud.qcow2", "checksums": "SHA256SUMS",
  "signature": "SHA256SUMS.sig", "keyring": "debian-cloud.gpg", "format": "qcow2",
  "boot": "uefi", "kind": "cloud", "cpus": 1, "memory": "512M", "disk": 0, "cloud_init": true,
  "login": "phyllome ssh NAME"}]}
EOF
export PHYLLOME_CATALOG=$W/cat/catalog.json
sleep 1

# --- pull, images -------------------------------------------------------------------------------
T0=$(now_cs)
"$PH" pull debian-cloud >"$W/pull.out" 2>"$W/pull.err" ||
	fail "pull: $(cat "$W/pull.out" "$W/pull.err")"
T_PULL=$(since "$T0")
grep -q '^debian-cloud:12: pulled (SHA-256 + signature)$' "$W/pull.out" ||
	fail "pull did not say it verified the SHA-256 and the signature: $(cat "$W/pull.out" "$W/pull.err")"
grep -q 'MiB/s' "$W/pull.err" && fail "pull drew a progress bar on a stderr that is no terminal"
"$PH" images >"$W/images.out" 2>&1 || fail "images: $(cat "$W/images.out")"
grep -Eq '^debian-cloud +12 +qcow2 ' "$W/images.out" || fail "images does not list debian-cloud:12: $(cat "$W/images.out")"
IMG=$PHYLLOME_STATE/images/debian-cloud@12/disk.qcow2
[ -f "$IMG" ] || fail "no $IMG"

# --- two VMs from the one image at once (c1 with two shared folders) -------------------------------
SH=$W/share SHRO=$W/share-ro WH=host-$(rand_word) WRO=ro-$(rand_word)
mkdir -p "$SH" "$SHRO"
echo "$WH" >"$SH/from-host.txt"
echo "$WRO" >"$SHRO/from-host.txt"
T0=$(now_cs)
for v in c1 c2; do
	vols=''
	[ $v = c1 ] && vols="-v $SH:/mnt/hostshare -v $SHRO:/mnt/hostshare-ro:ro"
	# shellcheck disable=SC2086 # $vols: the options, split
	passt_ns "$PH" run -d --name $v $vols --kernel /guest/debian-cloud-vmlinuz \
		--initramfs /guest/debian-cloud-initrd.img --cmdline "$CMDL" debian-cloud:12 \
		>"$W/run-$v.out" 2>"$W/run-$v.err" || fail "run -d $v: $(cat "$W/run-$v.out" "$W/run-$v.err")"
done
D1=$PHYLLOME_STATE/vms/$(head -n 1 "$W/run-c1.out")
D2=$PHYLLOME_STATE/vms/$(head -n 1 "$W/run-c2.out")
for d in "$D1" "$D2"; do
	[ -f "$d/disk0.qcow2" ] && [ -f "$d/seed.img" ] || fail "no overlay or seed in $d: $(ls "$d")"
done
# Both answer over SSH (cloud-init has made the user, its key and the host key before sshd).
up='' LAST=$T0
while [ "$up" != "c1c2" ]; do
	[ "$(now_cs)" -ge $((T0 + T_CLOUD * 100)) ] && fail "not both VMs answered over SSH within $T_CLOUD s (up: $up)"
	for v in c1 c2; do
		case "$up" in *$v*) continue ;; esac
		if [ "$(vssh $v cat /etc/hostname)" = $v ]; then
			echo "$M: $v answers over ssh after $(since "$T0") s"
			up=$(printf '%s\n' "$up" $v | sort | tr -d '\n')
		fi
	done
	[ "$up" = c1c2 ] && break
	sleep 5
	# A line now and then: the rig takes an L1 silent for 600 s for a stuck one.
	if [ "$(now_cs)" -ge $((LAST + 6000)) ]; then
		LAST=$(now_cs)
		echo "$M: waiting for ssh (up: ${up:-none}) at $(since "$T0") s"
	fi
done
T_UP=$(since "$T0")

# --- each VM: its cloud-init user, its data ---------------------------------------------------------
W1=cloud-c1-$(rand_word) W2=cloud-c2-$(rand_word)
for v in c1 c2; do
	[ "$(vssh $v id -un)" = tester ] || fail "$v: the ssh user is '$(vssh $v id -un)', not L1's \$USER tester: $(cat "$W/ssh.err")"
	vssh $v cat .ssh/authorized_keys | grep -qF "$KEY" || fail "$v: L1's key is not in ~tester/.ssh/authorized_keys"
	[ "$(vssh $v sudo -n id -u)" = 0 ] || fail "$v: no passwordless sudo for tester: $(cat "$W/ssh.err")"
	st=$(cloud_init_done $v)
	[ "$st" = "status: done" ] || fail "$v: cloud-init $st: $(vssh $v cloud-init status --long | tr '\n' ' ')"
	[ "$v" = c1 ] && w=$W1 || w=$W2
	vssh $v "echo $w | sudo tee /var/lib/phyllome-cloud.txt >/dev/null && sync" ||
		fail "$v: writing its file failed: $(cat "$W/ssh.err")"
done
[ "$(vssh c1 cat /var/lib/phyllome-cloud.txt)" = "$W1" ] || fail "c1 does not read back its own file"
[ "$(vssh c2 cat /var/lib/phyllome-cloud.txt)" = "$W2" ] || fail "c2 reads '$(vssh c2 cat /var/lib/phyllome-cloud.txt)', not its own file"
# --- c1's shared folders, mounted by its seed's cloud-config ----------------------------------------
T0=$(now_cs)
MNT=$(vssh c1 findmnt -l -n -t virtiofs -o TARGET,SOURCE,OPTIONS | tr -s ' ' | tr '\n' ';')
case ";$MNT" in *";/mnt/hostshare mnt-hostshare rw"*) ;; *) fail "c1: /mnt/hostshare is not virtiofs mnt-hostshare rw (findmnt -t virtiofs: '$MNT'; fstab: $(vssh c1 grep virtiofs /etc/fstab | tr '\n' ' '))" ;; esac
case ";$MNT" in *";/mnt/hostshare-ro mnt-hostshare-ro ro"*) ;; *) fail "c1: /mnt/hostshare-ro is not virtiofs mnt-hostshare-ro ro (findmnt -t virtiofs: '$MNT')" ;; esac
[ "$(vssh c1 cat /mnt/hostshare/from-host.txt)" = "$WH" ] || fail "c1 does not read L1's file in /mnt/hostshare: $(cat "$W/ssh.err")"
[ "$(vssh c1 cat /mnt/hostshare-ro/from-host.txt)" = "$WRO" ] || fail "c1 does not read L1's file in /mnt/hostshare-ro: $(cat "$W/ssh.err")"
WG=guest-$(rand_word)
vssh c1 "echo $WG | sudo tee /mnt/hostshare/from-guest.txt >/dev/null" || fail "c1: writing to /mnt/hostshare failed: $(cat "$W/ssh.err")"
[ "$(cat "$SH/from-guest.txt" 2>/dev/null)" = "$WG" ] || fail "L1 does not read c1's file in its shared folder: '$(cat "$SH/from-guest.txt" 2>&1)'"
vssh c1 "echo x | sudo tee /mnt/hostshare-ro/from-guest.txt" >/dev/null && fail "c1 wrote to the read-only share"
grep -q 'Read-only file system' "$W/ssh.err" || fail "c1's write to the read-only share failed, but not with EROFS: $(cat "$W/ssh.err")"
[ "$(ls "$SHRO")" = from-host.txt ] && [ "$(cat "$SHRO/from-host.txt")" = "$WRO" ] || fail "L1's read-only folder changed: $(ls "$SHRO")"
T_SHARE=$(since "$T0")
HOST1=$("$PH" ssh c1 -- cat /etc/hostname </dev/null 2>"$W/ssh.err")
[ "$HOST1" = c1 ] || fail "phyllome ssh c1 -- cat /etc/hostname: '$HOST1' $(cat "$W/ssh.err")"
# Each overlay file holds its own VM's data (fresh clusters are stored uncompressed), not the
# other's; the base holds neither.
grep -q "$W1" "$D1/disk0.qcow2" || fail "c1's overlay lacks c1's data"
grep -q "$W2" "$D2/disk0.qcow2" || fail "c2's overlay lacks c2's data"
grep -q "$W2" "$D1/disk0.qcow2" && fail "c1's overlay holds c2's data"
grep -q "$W1" "$D2/disk0.qcow2" && fail "c2's overlay holds c1's data"
grep -q -e "$W1" -e "$W2" "$IMG" && fail "the base image holds a VM's data"

# --- stop, check, rmi -----------------------------------------------------------------------------
# Both at once: each stop presses the VM's power button and waits for its guest's poweroff.
T0=$(now_cs)
"$PH" stop -t 180 c1 >"$W/stop1.out" 2>&1 &
S1=$!
"$PH" stop -t 180 c2 >"$W/stop2.out" 2>&1 || fail "stop c2: $(cat "$W/stop2.out")"
wait $S1 || fail "stop c1: $(cat "$W/stop1.out")"
T_STOP=$(since "$T0")
"$PH" ps -a >"$W/ps.out" 2>&1
grep -q 'c1 .*Exited (0)' "$W/ps.out" && grep -q 'c2 .*Exited (0)' "$W/ps.out" ||
	fail "after stop, ps -a: $(cat "$W/ps.out")"
for d in "$D1" "$D2"; do
	"$TOOLS/qemu-img" check -q -f qcow2 "$d/disk0.qcow2" >"$W/check.out" 2>&1 ||
		fail "qemu-img check of $d/disk0.qcow2: $(cat "$W/check.out")"
done
[ "$(sha256sum <"$IMG" | cut -d' ' -f1)" = "$BASE_SUM" ] || fail "the base image's SHA-256 changed"
"$PH" rmi debian-cloud:12 >"$W/rmi.out" 2>&1 && fail "rmi of the image two VMs use succeeded"
grep -Eq 'cannot remove debian-cloud:12: VM c[12] uses it' "$W/rmi.out" || fail "rmi's refusal: $(cat "$W/rmi.out")"
[ -f "$IMG" ] || fail "the image is gone after a refused rmi"
"$PH" rm c1 c2 >"$W/rm.out" 2>&1 || fail "rm c1 c2: $(cat "$W/rm.out")"
"$PH" rmi debian-cloud:12 >"$W/rmi.out" 2>&1 || fail "rmi once no VM uses it: $(cat "$W/rmi.out")"
[ -e "$PHYLLOME_STATE/images/debian-cloud@12" ] && fail "rmi left the image's folder"
kill "$HTTPD_PID" 2>/dev/null
rig_ok "$M" "pull $((size / 1048576)) MiB in $T_PULL s (SHA-256 + signature, no bar off a terminal), images lists it; two VMs from it answered over ssh after $T_UP s, each its cloud-init user tester with L1's key and sudo, its hostname, its own file in its own overlay only; phyllome ssh c1 -- cat /etc/hostname: c1; c1's -v folders mounted by its seed (virtiofs rw at /mnt/hostshare, ro at /mnt/hostshare-ro), L1's file read, the guest's file on L1, the ro write refused (EROFS), checked in $T_SHARE s; overlays qemu-img check clean, both powered off in $T_STOP s, base SHA-256 unchanged, rmi refused while used, done after rm"
