#!/bin/sh
# The desktop app's test (TAP): `phyllome ui` on a throwaway state folder, VMs run by
# tests/manager/fake-vmm.py with tests/fakevm's display, driven in headless Chromium by ui.mjs.
# Needs what run-browser-test.sh needs; skips (a TAP plan of 0) when one is missing.
#   run-ui-test.sh BUILD-DIR [SHOT-DIR]
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
shots=$2
chrome=$(command -v chromium || command -v chromium-browser)
for need in node "$chrome" /usr/share/novnc/core/rfb.js "$here/node_modules/playwright-core" python3; do
	if [ -z "$need" ] || { [ ! -e "$need" ] && ! command -v "$need" >/dev/null 2>&1; }; then
		echo "1..0 # SKIP missing ${need:-chromium} (apt-get install chromium novnc; npm install in tests/browser)"
		exit 0
	fi
done
work=$(mktemp -d /tmp/phyllome-ui.XXXXXX)
# The stand-in VMM is a script, which phyllome-jail (ELF only) would refuse: no jail here.
export PHYLLOME_STATE="$work/state" PHYLLOME_VMM="$here/../manager/fake-vmm.py" PHYLLOME_JAIL=off
export PHYLLOME_FAKEVM="$build/tests/fakevm" PHYLLOME_CATALOG="$work/catalog.json"
export PHYLLOME_FIRMWARE="$work/firmware.fd" PHYLLOME_UI_DIR="$here/../../data/ui"
# The stand-in VMs' displays also play a 1 kHz sine (tests/tools/fakevm.c), for the console's sound.
export FAKEVM_TONE=1000
ph() { "$build/phyllome" "$@"; }
cleanup() {
	[ -n "$ui" ] && kill "$ui" 2>/dev/null
	[ -n "$uitls" ] && kill "$uitls" 2>/dev/null
	[ -n "$www" ] && kill "$www" 2>/dev/null
	for p in $(cat "$PHYLLOME_STATE"/vms/*/state.json 2>/dev/null |
		sed -n 's/.*"\(vmm\|supervisor\)_pid": \([0-9]*\).*/\2/p'); do
		[ "$p" != 0 ] && kill -9 "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
# A local catalogue entry (a file:// URL with its SHA-256): what the new-VM dialog offers.
head -c 1048576 /dev/zero >"$work/tiny.iso"
echo fw >"$work/firmware.fd"
echo kernel >"$work/kernel"
sum=$(sha256sum "$work/tiny.iso" | cut -d' ' -f1)
# And one served over HTTP at 2 MiB/s (tests/manager/image-server.py): 6 MiB, a pull slow
# enough for the dialog's progress bar.
mkdir -p "$work/www"
head -c 6291456 /dev/urandom >"$work/www/slow.iso"
slowsum=$(sha256sum "$work/www/slow.iso" | cut -d' ' -f1)
python3 "$here/../manager/image-server.py" --rate 2097152 "$work/www" "$work/www.port" "$work/www.log" &
www=$!
for _ in $(seq 50); do [ -s "$work/www.port" ] && break; sleep 0.1; done
cat >"$work/catalog.json" <<EOF
{"images": [{"name": "tiny", "tag": "1", "url": "file://$work/tiny.iso", "checksum": "sha256:$sum",
  "format": "iso", "boot": "uefi", "kind": "live", "os": "linux", "cpus": 1, "memory": "256M"},
 {"name": "slow", "tag": "1", "url": "http://127.0.0.1:$(cat "$work/www.port")/slow.iso",
  "checksum": "sha256:$slowsum", "format": "iso", "boot": "uefi", "kind": "live", "os": "linux",
  "cpus": 1, "memory": "256M"}]}
EOF
# The settings' folder the test adds in the page, holding an ISO (and one beside it, outside).
mkdir -p "$work/isos/sub" "$work/outside"
head -c 65536 /dev/zero >"$work/isos/sub/installer.iso"
head -c 65536 /dev/zero >"$work/outside/secret.iso"
ln -s "$work/outside/secret.iso" "$work/isos/escape.iso"
export PHYLLOME_UI_TEST_FOLDER="$work/isos"
ph run -d --name web --kernel "$work/kernel" --display "vnc=unix:$work/web.vnc" >/dev/null || {
	echo "not ok 1 - phyllome run -d of the stand-in VM failed"; echo "1..1"; exit 0; }
echo sesame12 >"$work/vnc-password"
ph run -d --name locked --kernel "$work/kernel" --display "vnc=unix:$work/locked.vnc,password=$work/vnc-password" >/dev/null
ph ui --listen 127.0.0.1:0 >"$work/ui.out" 2>"$work/ui.err" &
ui=$!
for _ in $(seq 50); do grep -q 'login?token=' "$work/ui.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.*open \(http[^ ]*login?token=[0-9a-f]*\).*/\1/p' "$work/ui.out")
if [ -z "$url" ]; then
	echo "not ok 1 - phyllome ui did not print its link: $(cat "$work/ui.err")"
	echo "1..1"
	exit 1
fi
# The same app over HTTPS (--tls: a self-signed certificate made in the state folder), for the
# part of ui.mjs that signs in there.
ph ui --tls --listen 127.0.0.1:0 >"$work/uitls.out" 2>"$work/uitls.err" &
uitls=$!
for _ in $(seq 50); do grep -q 'login?token=' "$work/uitls.out" 2>/dev/null && break; sleep 0.1; done
PHYLLOME_UI_TLS_URL=$(sed -n 's/.*open \(https[^ ]*login?token=[0-9a-f]*\).*/\1/p' "$work/uitls.out")
export PHYLLOME_UI_TLS_URL=${PHYLLOME_UI_TLS_URL:-none}
node "$here/ui.mjs" "$url" "$build/phyllome" "$chrome" $shots
rc=$?
[ -s "$work/ui.err" ] && sed 's/^/# ui: /' "$work/ui.err"
[ -s "$work/uitls.err" ] && sed 's/^/# ui --tls: /' "$work/uitls.err"
exit $rc
