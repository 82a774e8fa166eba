#!/bin/bash
# The manager's images end to end on the host (no KVM, no internet): tests/manager/image-server.py
# serves a catalogue, qcow2 images, their SHA256SUMS (GNU form) and a clearsigned CHECKSUM (BSD
# form, SHA-512), and OpenPGP signatures made with a throwaway key on 127.0.0.1; fake-vmm.py
# stands in for phyllome-vmm. Pull with verification (stored, listed, the progress bar on a
# terminal only), a connection dropped halfway (resumed with a Range request), a partial file
# left by an earlier pull (resumed), a tampered image and a bad signature (refused, nothing
# stored), run/create NAME (a qcow2 overlay whose backing is the image, cloud-init user-data with
# the user's key, an SSH port; an ISO in the CD-ROM with an empty disk), rmi refused while used,
# commit, pull URL, a catalogue from a URL. TAP output.
#   image-test.sh PHYLLOME FAKE_VMM IMAGE_SERVER
set -u
PH=$1
export PHYLLOME_VMM=$2
# The stand-in VMM is a script, which phyllome-jail cannot run.
export PHYLLOME_JAIL=off
SERVER=$3
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
nok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
for t in gpg gpgv qemu-img python3 script; do command -v $t >/dev/null || skip_all "$t missing"; done

T=$(mktemp -d /tmp/phyllome-images.XXXXXX)
SRV_PID=
cleanup() {
	for p in $(cat "$T"/state/vms/*/state.json 2>/dev/null | sed -n 's/.*"\(vmm\|supervisor\)_pid": \([0-9]*\).*/\2/p'); do
		[ "$p" != 0 ] && kill -9 "$p" 2>/dev/null
	done
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	gpgconf --homedir "$T/gnupg" --kill all 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
export PHYLLOME_STATE=$T/state PHYLLOME_FIRMWARE=/bin/true HOME=$T/home USER=tester
export GNUPGHOME=$T/gnupg
mkdir -p "$T/srv" "$T/gnupg" "$T/other" "$HOME/.ssh" && chmod 700 "$T/gnupg" "$T/other"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPhyllomeTestKey tester@test" >"$HOME/.ssh/id_ed25519.pub"
ph() { OUT=$("$PH" "$@" 2>"$T/err"); RC=$?; ERR=$(cat "$T/err"); }
expect() {
	if [ "$RC" = "$2" ] && { [ -z "${3:-}" ] || echo "$OUT$ERR" | grep -qE -- "$3"; }; then ok "$1"
	else nok "$1" "status $RC (want $2), out: $OUT" "err: $ERR"; fi
}
check() { if eval "$2" 2>/dev/null; then ok "$1"; else nok "$1" "${3:-}"; fi; }

# A throwaway signing key (the publisher's) and another one (a forger's).
gpg --batch --passphrase '' --quick-gen-key 'Phyllome Test Publisher <pub@test.invalid>' ed25519 sign never 2>/dev/null
gpg --batch --export >"$T/srv/keyring.gpg"
gpg --homedir "$T/other" --batch --passphrase '' --quick-gen-key 'Forger <forger@test.invalid>' ed25519 sign never 2>/dev/null

# Images: 4 MiB of random data in a 64 MiB qcow2 disk; an "ISO".
S=$T/srv
head -c 4M /dev/urandom >"$T/raw" && truncate -s 64M "$T/raw"
qemu-img convert -q -f raw -O qcow2 "$T/raw" "$S/base.qcow2"
cp "$S/base.qcow2" "$S/resume.qcow2"
cp "$S/base.qcow2" "$S/forged.qcow2"
cp "$S/base.qcow2" "$S/tampered.qcow2"
head -c 1M /dev/urandom >"$S/inst.iso"
(cd "$S" && sha256sum base.qcow2 resume.qcow2 tampered.qcow2 >SHA256SUMS &&
	gpg --batch --detach-sign -o SHA256SUMS.sig SHA256SUMS &&
	echo "SHA512 (base.qcow2) = $(sha512sum base.qcow2 | cut -d' ' -f1)" >CHECKSUM.txt &&
	gpg --batch --clearsign -o CHECKSUM CHECKSUM.txt &&
	sha256sum forged.qcow2 >FORGED &&
	gpg --homedir "$T/other" --batch --detach-sign -o FORGED.sig FORGED)
printf '\x00' | dd of="$S/tampered.qcow2" bs=1 seek=$((2 << 20)) conv=notrunc 2>/dev/null
BASE_SUM=$(sha256sum <"$S/base.qcow2")
python3 "$SERVER" "$S" "$T/port" "$T/log" --drop base.qcow2 &
SRV_PID=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
U=http://127.0.0.1:$(cat "$T/port")
entry() { # NAME URL EXTRA-JSON [FORMAT KIND CLOUD-INIT]
	echo "{\"name\": \"$1\", \"tag\": \"1\", \"url\": \"$2\", \"format\": \"${4:-qcow2}\", \"kind\": \"${5:-cloud}\", \"cloud_init\": ${6:-true}, \"memory\": \"256M\", \"cpus\": 2, \"disk\": \"128M\", $3}"
}
SIG='"checksums": "SHA256SUMS", "signature": "SHA256SUMS.sig", "keyring": "keyring.gpg"'
{
	echo '{"images": ['
	entry good "$U/base.qcow2" "$SIG, \"default\": true"; echo ,
	entry resume "$U/resume.qcow2" "$SIG"; echo ,
	entry twice "$U/base.qcow2" "$SIG"; echo ,
	entry lazy "$U/resume.qcow2" "$SIG"; echo ,
	entry tampered "$U/tampered.qcow2" "$SIG"; echo ,
	entry forged "$U/forged.qcow2" '"checksums": "FORGED", "signature": "FORGED.sig", "keyring": "keyring.gpg"'; echo ,
	entry fedoralike "$U/base.qcow2" '"checksums": "CHECKSUM", "signature": "inline", "keyring": "keyring.gpg"'; echo ,
	entry inst "$U/inst.iso" "\"checksum\": \"sha256:$(sha256sum <"$S/inst.iso" | cut -d' ' -f1)\"" iso installer false; echo ,
	echo '{"name": "ownos", "tag": "1", "get": "from its vendor", "format": "iso", "kind": "installer"}'
	echo ']}'
} >"$S/catalog.json"
cp "$S/catalog.json" "$S/keyring.gpg" "$T/"
export PHYLLOME_CATALOG=$T/catalog.json
part() { ls -A "$PHYLLOME_STATE/images/.partial" 2>/dev/null | wc -l; }

# 1. pull: verified (SHA-256 + signature), the connection dropped halfway and resumed.
ph pull good; expect "pull good: verified and stored" 0 "good:1: pulled \(SHA-256 \+ signature\)"
check "the image stored is the publisher's" '[ "$(sha256sum <"$PHYLLOME_STATE/images/good@1/disk.qcow2")" = "$BASE_SUM" ]'
check "the dropped connection was resumed with a Range request" \
	'grep -q "^GET /base.qcow2 -$" "$T/log" && grep -qE "^GET /base.qcow2 bytes=[1-9][0-9]*-$" "$T/log"' "$(cat "$T/log")"
check "not a terminal: no progress bar" '! grep -q "MiB/s" "$T/err"' "$ERR"
ph images; expect "images lists it" 0 "^good +1 +qcow2 +[0-9.]+MiB +.*ago"
ph pull good; expect "a second pull: stored once, nothing fetched" 0 "^good:1: up to date$"
check "... no new request" '[ "$(grep -c "base.qcow2" "$T/log")" = 2 ]' "$(cat "$T/log")"
check "nothing left in .partial" '[ "$(part)" = 0 ]'
("$PH" pull twice:1 >"$T/p1" 2>&1; echo "rc=$?" >>"$T/p1") &
P1=$!
("$PH" pull twice:1 >"$T/p2" 2>&1; echo "rc=$?" >>"$T/p2") &
wait $P1 $!
check "two pulls of one image at once: both succeed, one download" \
	'grep -q rc=0 "$T/p1" && grep -q rc=0 "$T/p2" && cat "$T/p1" "$T/p2" | grep -q "twice:1: pulled" && cat "$T/p1" "$T/p2" | grep -q "twice:1: up to date" && [ "$(grep -c "^GET /base.qcow2 -" "$T/log")" = 2 ]' \
	"$(cat "$T/p1" "$T/p2" "$T/log")"

# 2. The progress bar on a terminal; a clearsigned BSD-form SHA-512 CHECKSUM.
script -qec "$PH pull fedoralike:1" /dev/null >"$T/tty" 2>&1
check "on a terminal: a progress bar with size, speed and time left" \
	'grep -qE "fedoralike:1 \[=*.*\] [0-9.]+[KM]iB / [0-9.]+MiB +[0-9.]+[KMG]?i?B/s" "$T/tty"' "$(tr '\r' '\n' <"$T/tty" | tail -3)"
check "clearsigned SHA-512 checksums: verified" 'grep -q "pulled (SHA-512 + signature)" "$T/tty"' "$(cat "$T/tty")"

# 3. A partial download kept by an earlier pull is resumed.
mkdir -p "$PHYLLOME_STATE/images/.partial"
head -c 1000000 "$S/resume.qcow2" >"$PHYLLOME_STATE/images/.partial/resume@1.part"
printf '%s' "$U/resume.qcow2" >"$PHYLLOME_STATE/images/.partial/resume@1.url"
ph pull resume:1; expect "pull resumes a partial download" 0 "pulled"
check "... from where it stopped (Range: bytes=1000000-)" 'grep -q "^GET /resume.qcow2 bytes=1000000-$" "$T/log"' "$(cat "$T/log")"
check "... and the result is whole" '[ "$(sha256sum <"$PHYLLOME_STATE/images/resume@1/disk.qcow2")" = "$(sha256sum <"$S/resume.qcow2")" ]'

# 4. Refused: a tampered image, a bad signature; nothing stored.
ph pull tampered:1; expect "a tampered image is refused" 1 "^phyllome: tampered:1: the download does not match its SHA-256 checksum: refused, nothing stored$"
check "... in one line" '[ "$(echo "$ERR" | wc -l)" = 1 ]' "$ERR"
check "... nothing stored" '[ ! -e "$PHYLLOME_STATE/images/tampered@1" ] && [ "$(part)" = 0 ]' "$(ls -R "$PHYLLOME_STATE/images")"
ph pull forged:1; expect "a bad signature is refused" 1 "^phyllome: forged:1: bad signature on FORGED: refused, nothing stored$"
check "... nothing stored, the image never fetched" \
	'[ ! -e "$PHYLLOME_STATE/images/forged@1" ] && [ "$(part)" = 0 ] && ! grep -q forged.qcow2 "$T/log"'
ph images -q; expect "images: only the verified ones" 0 ""
check "... good, resume, fedoralike, twice" '[ "$(echo "$OUT" | sort | tr "\n" " ")" = "fedoralike:1 good:1 resume:1 twice:1 " ]' "$OUT"
ph pull nosuch; expect "an unknown name" 1 "nosuch is not in the catalogue"
ph pull ownos:1; expect "an entry that is not downloaded says where to get it" 1 "from its vendor; then: phyllome pull --from FILE ownos:1"

# 5. run NAME: a qcow2 overlay on the image; cloud-init; SSH port.
ph run -d --net none --name lazy1 lazy:1
check "run -d of an image not pulled yet: pulls it; stdout is only the VM's id" \
	'[ "$RC" = 0 ] && echo "$OUT" | grep -qE "^[0-9a-f]{16}$" && [ "$(echo "$OUT" | wc -l)" = 1 ] && echo "$ERR" | grep -q "lazy:1: pulled"' "$OUT / $ERR"
ph run -d --net none --name vm1 good; expect "run -d good: a VM on the image" 0 '^[0-9a-f]{16}$'
D=$PHYLLOME_STATE/vms/$OUT
INFO=$(qemu-img info "$D/disk0.qcow2" 2>&1)
check "the overlay's backing file is the image, its format recorded" \
	'echo "$INFO" | grep -q "^backing file: $PHYLLOME_STATE/images/good@1/disk.qcow2$" && echo "$INFO" | grep -q "^backing file format: qcow2$"' "$INFO"
check "... sized by the entry's disk (128 MiB > the image's 64)" 'echo "$INFO" | grep -q "(134217728 bytes)"' "$INFO"
check "the VMM got format=qcow2,backing=on and 2 CPUs, 256M" \
	'grep -q "format=qcow2,backing=on" "$D/config.json" || "$PH" inspect vm1 | grep -q "\"cpus\": 2"' "$("$PH" inspect vm1)"
check "cloud-init user-data: the user and their ~/.ssh key" \
	'grep -q "name: tester" "$D/user-data" && grep -q "PhyllomeTestKey" "$D/user-data" && [ -s "$D/seed.img" ]' "$(cat "$D/user-data" 2>&1)"
ph create --name vm2 good -m 512M --disk 1G; expect "create good with --disk 1G" 0 ""
D2=$PHYLLOME_STATE/vms/$OUT
check "... its own overlay, grown to 1 GiB" 'qemu-img info "$D2/disk0.qcow2" | grep -q "(1073741824 bytes)"'
ph update --disk-size 2G vm2; expect "update --disk-size 2G of a stopped image VM" 0 vm2
check "... its overlay grown to 2 GiB by update, its backing file kept" 'qemu-img info "$D2/disk0.qcow2" | grep -q "(2147483648 bytes)" && qemu-img info "$D2/disk0.qcow2" | grep -q "backing file"'
ph update --disk-size 1G vm2; expect "update --disk-size smaller: refused" 1 "it only grows"
check "... user networking with a forwarded SSH port" \
	'"$PH" inspect vm2 | tr -d " \n" | grep -qE "\"net\":\"user\".*\"guest\":22"' "$("$PH" inspect vm2)"
ph ssh vm1; expect "ssh without a forwarded port says so" 1 "no forwarded SSH port"
# Two VMs from one image: each its own seed (instance-id, hostname); ssh reaches the running one
# through its forwarded port as its cloud-init user (ssh itself stood in for: it records argv).
check "vm1 and vm2 have their own cloud-init instance and hostname" \
	'grep -qx "instance-id: $(basename "$D")" "$D/meta-data" && grep -qx "local-hostname: vm2" "$D2/meta-data" && grep -qx "instance-id: $(basename "$D2")" "$D2/meta-data"'
mkdir -p "$T/fakebin" && printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s/ssh.argv"\n' "$T" >"$T/fakebin/ssh" && chmod +x "$T/fakebin/ssh"
if command -v passt >/dev/null; then
	ph start vm2; expect "start vm2 (user networking: passt)" 0 ""
	SSH_PORT=$(sed -n 's/.*"host": \([0-9]*\),.*/\1/p' "$D2/config.json" | head -n 1)
	PATH=$T/fakebin:$PATH ph ssh vm2 uname -a; expect "ssh vm2 uname -a" 0 ""
	check "ssh -p PORT tester@127.0.0.1 uname -a (the VM's forwarded port, its user)" \
		'[ -n "$SSH_PORT" ] && [ "$(head -n 2 "$T/ssh.argv" | tr "\n" " ")" = "-p $SSH_PORT " ] && [ "$(tail -n 3 "$T/ssh.argv" | tr "\n" " ")" = "tester@127.0.0.1 uname -a " ]' "$(tr '\n' ' ' <"$T/ssh.argv" 2>&1)"
	"$PH" kill vm2 >/dev/null 2>&1
fi
check "the image is unchanged" '[ "$(sha256sum <"$PHYLLOME_STATE/images/good@1/disk.qcow2")" = "$BASE_SUM" ]'

# 6. rmi refused while used; commit.
ph rmi good:1; expect "rmi of a used image is refused" 1 "cannot remove good:1: VM vm[12] uses it"
check "... and it stays" '[ -f "$PHYLLOME_STATE/images/good@1/disk.qcow2" ]'
ph commit vm1 snap:1; expect "commit of a running VM is refused" 1 "stop it first"
"$PH" kill vm1 >/dev/null 2>&1
for _ in $(seq 50); do "$PH" ps -a | grep -q "vm1.*Exited" && break; sleep 0.1; done
ph commit vm1 snap:1; expect "commit vm1 snap:1" 0 "^snap:1$"
check "... a standalone qcow2 with the disk's data" \
	'! qemu-img info "$PHYLLOME_STATE/images/snap@1/disk.qcow2" | grep -q "backing file" && qemu-img compare -f qcow2 -F qcow2 "$PHYLLOME_STATE/images/snap@1/disk.qcow2" "$D/disk0.qcow2" >/dev/null'
ph images; expect "... listed" 0 "^snap +1 +qcow2"
ph run -d --net none --name vm3 snap:1; expect "run the committed image" 0 ""

# 7. An installer ISO: in the CD-ROM, with an empty disk.
ph create --name inst1 inst:1; expect "create inst:1" 0 ""
D3=$PHYLLOME_STATE/vms/$OUT
check "the ISO in the CD-ROM, an empty qcow2 disk" \
	'"$PH" inspect inst1 | grep -q "\"cdrom\": \"$PHYLLOME_STATE/images/inst@1/disk.iso\"" && ! qemu-img info "$D3/disk0.qcow2" | grep -q "backing file" && [ ! -e "$D3/user-data" ]' "$("$PH" inspect inst1)"
ph rmi inst:1; expect "rmi of an ISO in a CD-ROM is refused" 1 "VM inst1 uses it"

# 8. rmi once unused; pull URL; a catalogue from a URL (its keyring relative to it).
"$PH" rm -f vm1 vm2 vm3 inst1 lazy1 >/dev/null 2>&1
ph rmi good:1 inst; expect "rmi once no VM uses them" 0 "Deleted: good:1"
check "... gone" '[ ! -e "$PHYLLOME_STATE/images/good@1" ] && [ ! -e "$PHYLLOME_STATE/images/inst@1" ]'
ph pull "$U/base.qcow2"; expect "pull URL: stored as base:latest, unverified" 0 "base:latest: pulled \(not verified\)"
check "... with a warning" 'echo "$ERR" | grep -q "no checksum"' "$ERR"
ph pull --catalog "$U/catalog.json" good:1; expect "pull --catalog URL (keyring fetched relative to it)" 0 "good:1: pulled \(SHA-256 \+ signature\)"
echo '{"images": [{"name": "x"}]}' >"$T/bad.json"
ph pull --catalog "$T/bad.json" x; expect "a broken catalogue: one line naming the entry and member" 1 "bad.json: entry 1 \(x\): bad or missing \"tag\""
check "no download left behind" '[ "$(part)" = 0 ]'

echo "1..$N"
[ "$FAILED" = 0 ]
