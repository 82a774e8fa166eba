#!/bin/bash
# `phyllome ui` over HTTP with curl (no browser needed; TAP): the one-time link, the secret cookie
# on every request, Origin and CSRF checks on changes and the console's WebSocket, the served
# files' names, the API's verbs against what the CLI says (stand-in VMM with tests/fakevm as its
# display), one error line per failure. The browser test (tests/browser/ui.mjs) does the page.
#   ui-test.sh PHYLLOME FAKE_VMM FAKEVM
PH=$1
export PHYLLOME_VMM PHYLLOME_FAKEVM PHYLLOME_STATE
export PHYLLOME_JAIL=off # the stand-in VMM is a script, which phyllome-jail cannot run
PHYLLOME_VMM=$(realpath "$2") PHYLLOME_FAKEVM=$(realpath "$3")
PHYLLOME_STATE=$(mktemp -d /tmp/phyllome-ui.XXXXXX)
export PHYLLOME_UI_DIR
PHYLLOME_UI_DIR=$(cd "$(dirname "$0")/../../data/ui" && pwd)
W=$PHYLLOME_STATE
cleanup() {
	[ -n "$UI" ] && kill "$UI" 2>/dev/null
	for p in $(cat "$W"/vms/*/state.json 2>/dev/null | sed -n "s/.*\"\(vmm\|supervisor\)_pid\": \([0-9]*\).*/\2/p"); do
		[ "$p" != 0 ] && kill -9 "$p" 2>/dev/null
	done
	rm -rf "$W"
}
trap cleanup EXIT
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
nok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; shift; for l in "$@"; do echo "# $l"; done; }
# req NAME WANT-STATUS [PATTERN] -- CURL-ARGS...: one request; its status and body checked.
req() {
	local name=$1 want=$2 pat=$3
	shift 4
	BODY=$(curl -s -o - -w '\n%{http_code}' "$@")
	STATUS=${BODY##*$'\n'} BODY=${BODY%$'\n'*}
	if [ "$STATUS" = "$want" ] && { [ -z "$pat" ] || echo "$BODY" | grep -qE -- "$pat"; }; then ok "$name"
	else nok "$name" "status $STATUS (want $want)" "body: $(echo "$BODY" | head -c 300)"; fi
}
state() { "$PH" ps -a --format json | sed -n "s/.*\"Name\":\"$1\".*\"State\":\"\([a-z]*\)\".*/\1/p"; }

echo k >"$W/kernel"
echo fw >"$W/firmware.fd" # an --os preset's UEFI firmware (a VM from an ISO)
export PHYLLOME_FIRMWARE="$W/firmware.fd"
"$PH" run -d --name web --kernel "$W/kernel" --display "vnc=unix:$W/web.vnc" >/dev/null || { echo "not ok 1 - run -d of the stand-in VM failed"; echo "1..1"; exit 0; }
"$PH" ui --listen 127.0.0.1:0 >"$W/ui.out" 2>"$W/ui.err" &
UI=$!
for _ in $(seq 50); do grep -q 'token=' "$W/ui.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/.*open \(http[^ ]*token=[0-9a-f]*\).*/\1/p' "$W/ui.out")
B=${URL%/login*}
[ -n "$URL" ] && ok "phyllome ui prints its one-time link" || { nok "phyllome ui prints its link" "$(cat "$W/ui.err")"; echo "1..$N"; exit 1; }
[ "$(stat -c %a "$W/ui-secret")" = 600 ] && [ "$(wc -c <"$W/ui-secret")" = 64 ] && ok "the secret: 64 hex digits, mode 0600" || nok "the secret's file" "$(ls -l "$W/ui-secret")"

for p in / /app.js /api/vms /api/session /api/vms/web/screenshot; do
	req "no cookie: GET $p refused" 401 'not signed in' -- "$B$p"
done
req "a wrong cookie is refused" 401 'not signed in' -- -H "Cookie: phyllome_ui=$(printf '0%.0s' $(seq 64))" "$B/api/vms"
req "a wrong token is refused" 403 'wrong or was used' -- "$B/login?token=00"
req "the link signs in (303 to / with the cookie)" 303 '' -- -c "$W/jar" "$URL"
grep -q "phyllome_ui.*$(cat "$W/ui-secret")" "$W/jar" && ok "the cookie is the secret" || nok "the cookie is the secret" "$(cat "$W/jar")"
req "the link works once" 403 'used already' -- "$URL"
C=(-b "$W/jar")
req "signed in: the page" 200 '<title>Phyllome' -- "${C[@]}" "$B/"
req "signed in: noVNC's files" 200 'noVNC' -- "${C[@]}" "$B/novnc/core/rfb.js"
req "a path out of the folder is refused" 404 'no such file' -- "${C[@]}" --path-as-is "$B/novnc/../../../etc/passwd"
req "a hidden file is refused" 404 'no such file' -- "${C[@]}" "$B/.git"
req "GET /api/vms: ps -a as JSON" 200 '"Name":"web".*"State":"running".*"Display":"vnc=unix:' -- "${C[@]}" "$B/api/vms"
CSRF=$(curl -s "${C[@]}" "$B/api/session" | sed -n 's/.*"csrf":"\([0-9a-f]*\)".*/\1/p')
[ ${#CSRF} = 64 ] && ok "the session gives a CSRF token" || nok "the CSRF token" "$CSRF"
H=${B#http://}
req "a change without Origin is refused" 403 'Origin' -- "${C[@]}" -X POST -H "X-Phyllome-CSRF: $CSRF" "$B/api/vms/web/pause"
req "a change from another Origin is refused" 403 'Origin' -- "${C[@]}" -X POST -H "Origin: http://evil.example" -H "X-Phyllome-CSRF: $CSRF" "$B/api/vms/web/pause"
req "a change without the CSRF token is refused" 403 'CSRF' -- "${C[@]}" -X POST -H "Origin: $B" "$B/api/vms/web/pause"
# The token with its last hex digit changed (to 0, or to 1 where it was 0: 1 time in 16).
case $CSRF in *0) WRONG=${CSRF%?}1 ;; *) WRONG=${CSRF%?}0 ;; esac
req "a change with a wrong CSRF token is refused" 403 'CSRF' -- "${C[@]}" -X POST -H "Origin: $B" -H "X-Phyllome-CSRF: $WRONG" "$B/api/vms/web/pause"
[ "$(state web)" = running ] && ok "the refused changes changed nothing" || nok "refused changes changed nothing" "web is $(state web)"
P=(-X POST -H "Origin: $B" -H "X-Phyllome-CSRF: $CSRF")
req "pause" 200 '' -- "${C[@]}" "${P[@]}" "$B/api/vms/web/pause"
[ "$(state web)" = paused ] && ok "ps -a says paused" || nok "ps -a says paused" "$(state web)"
req "pause again: the verb's own error line, 409" 409 '^\{"error":"cannot pause web: it is already paused"\}$' -- "${C[@]}" "${P[@]}" "$B/api/vms/web/pause"
req "resume" 200 '' -- "${C[@]}" "${P[@]}" "$B/api/vms/web/resume"
[ "$(state web)" = running ] && ok "ps -a says running" || nok "ps -a says running" "$(state web)"
req "an unknown VM: one line" 409 '"error":"no such VM: nope"' -- "${C[@]}" "${P[@]}" "$B/api/vms/nope/stop"
req "an unknown action" 404 'no such action' -- "${C[@]}" "${P[@]}" "$B/api/vms/web/explode"
req "PUT is not taken" 405 '' -- "${C[@]}" -X PUT -H "Origin: $B" "$B/api/vms/web/stop"
curl -s "${C[@]}" "$B/api/vms/web/screenshot" -o "$W/shot.png"
head -c 8 "$W/shot.png" | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a' && ok "the screenshot is a PNG" || nok "the screenshot is a PNG" "$(head -c 100 "$W/shot.png")"
req "the serial log" 200 'FAKE-READY' -- "${C[@]}" "$B/api/vms/web/logs"
req "a path as the new VM's image is refused" 400 'pick an image' -- "${C[@]}" "${P[@]}" -d '{"image":"/etc/passwd"}' "$B/api/vms"
req "broken JSON for a new VM is refused" 400 'not a JSON object' -- "${C[@]}" "${P[@]}" -d '{"image":' "$B/api/vms"
head -c 70000 /dev/zero | tr '\0' ' ' >"$W/big"
req "a body over 64 KiB is refused" 413 'too large' -- "${C[@]}" "${P[@]}" --data-binary "@$W/big" "$B/api/vms"
# The console's WebSocket: another Origin refused; ours gets the VMM's accept key and RFB.
ws() { printf 'GET /api/vms/web/vnc HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nCookie: phyllome_ui=%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n' "$H" "$1" "$(cat "$W/ui-secret")" | timeout 3 curl -s --max-time 2 "telnet://$H" 2>/dev/null | head -c 300 | tr -d '\r'; }
ws http://evil.example | grep -q '^HTTP/1.1 403' && ok "the console's WebSocket from another Origin: 403" || nok "WebSocket from another Origin" "$(ws http://evil.example)"
out=$(ws "$B")
echo "$out" | grep -q '^Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=' && echo "$out" | grep -aq 'RFB 003.008' &&
	ok "the console's WebSocket: 101, the VMM's accept key, then its RFB greeting" || nok "the console's WebSocket" "$out"
# Settings' folders (`ui --add-folder`, as the page's Settings): their ISOs listed by id, a VM
# made from one with a shared folder; paths outside the folders refused with one line.
mkdir -p "$W/isos" "$W/out"
head -c 4096 /dev/zero >"$W/isos/inst.iso"
head -c 4096 /dev/zero >"$W/out/other.iso"
ln -s "$W/out/other.iso" "$W/isos/leave.iso"
"$PH" ui --add-folder "$W/isos" >/dev/null && [ "$(stat -c %a "$W/ui-settings.json")" = 600 ] &&
	ok "ui --add-folder: saved in ui-settings.json (0600)" || nok "ui --add-folder" "$(ls -l "$W/ui-settings.json")"
req "GET /api/settings: the folder" 200 "\"folders\":\\[\"$W/isos\"\\]" -- "${C[@]}" "$B/api/settings"
req "GET /api/files: its ISO by id, not the link leaving it" 200 '^\{"files":\[\{"id":"0:inst.iso","name":"inst.iso",[^]]*\}\]\}$' -- "${C[@]}" "$B/api/files"
req "settings from another Origin are refused" 403 'Origin' -- "${C[@]}" -X POST -H "Origin: http://evil.example" -H "X-Phyllome-CSRF: $CSRF" -d '{"folders":["/"]}' "$B/api/settings"
req "a relative folder is refused" 400 'full path' -- "${C[@]}" "${P[@]}" -d '{"folders":["isos"]}' "$B/api/settings"
req "an ISO by path is refused" 400 '^\{"error":"not a file of the folders in the settings: pick one from the list"\}$' -- "${C[@]}" "${P[@]}" -d "{\"iso\":\"$W/out/other.iso\"}" "$B/api/vms"
req "an ISO through a link leaving the folder is refused" 400 'not a file of the folders' -- "${C[@]}" "${P[@]}" -d '{"iso":"0:leave.iso"}' "$B/api/vms"
req "an ISO by ../ is refused" 400 'not a file of the folders' -- "${C[@]}" "${P[@]}" -d '{"iso":"0:../out/other.iso"}' "$B/api/vms"
req "a VM from the folder's ISO, sharing the folder twice" 200 '"id":"[0-9a-f]{16}"' -- "${C[@]}" "${P[@]}" -d '{"iso":"0:inst.iso","name":"inst","net":"none","disk_gib":2,"shares":[{"folder":0,"guest":"/mnt/iso","readonly":true},{"folder":0,"guest":"/srv/w"}]}' "$B/api/vms"
# shares_of VM: its shared folders as "GUEST:ro|rw" words (inspect's Config.shares).
SHARES_PY='import json, sys
c = json.load(sys.stdin)[0]["Config"]
print(" ".join(s["guest"] + (":ro" if s["readonly"] else ":rw") for s in c.get("shares") or []))'
shares_of() { "$PH" inspect "$1" | python3 -c "$SHARES_PY"; }
CFG=$("$PH" inspect inst)
echo "$CFG" | grep -q "\"cdrom\": \"$W/isos/inst.iso\"" && echo "$CFG" | grep -q "\"host\": \"$W/isos\"" &&
	[ "$(shares_of inst)" = "/mnt/iso:ro /srv/w:rw" ] &&
	ok "inspect: the ISO as the CD, the folder shared read-only at /mnt/iso and writable at /srv/w" || nok "inspect after a VM from an ISO" "$CFG"
req "a share by path is refused" 400 'folder' -- "${C[@]}" "${P[@]}" -d '{"image":"x","shares":[{"folder":"/etc","guest":"/m"}]}' "$B/api/vms"
"$PH" kill inst >/dev/null
req "update: the stopped VM's shared folders become one" 200 '' -- "${C[@]}" "${P[@]}" -d '{"shares":[{"folder":0,"guest":"/data"}]}' "$B/api/vms/inst/update"
[ "$(shares_of inst)" = "/data:rw" ] && ok "inspect: one shared folder, /data" || nok "shares after update" "$(shares_of inst)"
req "update: an empty list removes them (update --no-shares)" 200 '' -- "${C[@]}" "${P[@]}" -d '{"shares":[]}' "$B/api/vms/inst/update"
[ -z "$(shares_of inst)" ] && ok "inspect: no shared folder" || nok "shares after update []" "$(shares_of inst)"
"$PH" update -v "$W/isos:/a:ro" -v "$W/out:/b" inst >/dev/null && [ "$(shares_of inst)" = "/a:ro /b:rw" ] &&
	ok "the CLI's update -v twice" || nok "update -v" "$(shares_of inst)"
"$PH" update -v "$W/nonexistent:/a" inst >"$W/upd.err" 2>&1
[ $? = 1 ] && grep -q 'nonexistent' "$W/upd.err" && [ "$(shares_of inst)" = "/a:ro /b:rw" ] &&
	ok "update -v of a missing folder fails, the shares unchanged" || nok "update -v missing" "$(cat "$W/upd.err")"
"$PH" rm -f inst >/dev/null
"$PH" ui --remove-folder "$W/isos" >/dev/null
req "a folder removed (ui --remove-folder): its files are refused" 400 'not a file of the folders' -- "${C[@]}" "${P[@]}" -d '{"iso":"0:inst.iso"}' "$B/api/vms"
req "update a running VM: refused with the verb's line" 409 'cannot update web: it is running' -- "${C[@]}" "${P[@]}" -d '{"cpus":3}' "$B/api/vms/web/update"
req "stop" 200 '' -- "${C[@]}" "${P[@]}" "$B/api/vms/web/stop"
[ "$(state web)" = exited ] && ok "ps -a says exited" || nok "ps -a says exited" "$(state web)"
req "update a stopped VM" 200 '' -- "${C[@]}" "${P[@]}" -d '{"cpus":3,"memory_mib":768}' "$B/api/vms/web/update"
"$PH" ps -a --format json | grep -q '"Name":"web","CPUs":3,"Memory":805306368' && ok "ps -a shows 3 CPUs, 768 MiB" || nok "ps -a after update" "$("$PH" ps -a --format json)"
req "update with a bad value" 400 'CPUs: a whole number' -- "${C[@]}" "${P[@]}" -d '{"cpus":0}' "$B/api/vms/web/update"
req "rm" 200 '' -- "${C[@]}" "${P[@]}" "$B/api/vms/web/rm"
[ -z "$(state web)" ] && ok "ps -a no longer lists web" || nok "ps -a no longer lists web" "$(state web)"
# --open: Chromium as an app window when there is one, else xdg-open (stand-ins record their words).
mkdir -p "$W/bin1" "$W/bin2"
printf '#!/bin/sh\necho "$@" >%s/opened\n' "$W" >"$W/bin1/chromium"
printf '#!/bin/sh\necho "xdg $*" >%s/opened\n' "$W" >"$W/bin2/xdg-open"
chmod +x "$W/bin1/chromium" "$W/bin2/xdg-open"
for b in bin1 bin2; do
	rm -f "$W/opened"
	PATH="$W/$b" "$PH" ui --open --listen 127.0.0.1:0 >"$W/open.out" 2>&1 &
	O=$!
	for _ in $(seq 50); do [ -s "$W/opened" ] && break; sleep 0.1; done
	kill "$O"; wait "$O" 2>/dev/null
	link=$(sed -n 's/.*open \(http[^ ]*token=[0-9a-f]*\).*/\1/p' "$W/open.out")
	want="--app=$link"; [ $b = bin2 ] && want="xdg $link"
	[ -n "$link" ] && [ "$(cat "$W/opened" 2>/dev/null)" = "$want" ] && ok "--open runs $([ $b = bin1 ] && echo 'chromium --app=LINK' || echo 'xdg-open LINK (no chromium)')" ||
		nok "--open ($b)" "opened: $(cat "$W/opened" 2>/dev/null)" "printed: $(cat "$W/open.out")"
done
# HTTPS: --tls-cert without --tls-key is a usage error; --tls makes STATE/ui-tls/ (key 0600)
# and serves the app only over TLS.
"$PH" ui --tls-cert "$W/nope.pem" >/dev/null 2>&1
[ $? = 125 ] && ok "ui --tls-cert without --tls-key: usage (125)" || nok "ui --tls-cert alone" "status $?"
"$PH" ui --tls --listen 127.0.0.1:0 >"$W/tls.out" 2>&1 &
T=$!
for _ in $(seq 50); do grep -q 'token=' "$W/tls.out" && break; sleep 0.1; done
tlink=$(sed -n 's/.*open \(https:[^ ]*token=[0-9a-f]*\).*/\1/p' "$W/tls.out")
tbase=${tlink%%/login*}
tcook=$(curl -sk -D - -o /dev/null "$tlink" | tr -d '\r' | sed -n 's/^Set-Cookie: //p')
tplain=$(curl -s -o /dev/null -w '%{http_code}' "http${tbase#https}/api/vms")
[ -n "$tlink" ] && echo "$tcook" | grep -q '; Secure$' && [ "$tplain" = 000 ] &&
	[ "$(stat -c %a "$W/ui-tls/key.pem")" = 600 ] && [ "$(stat -c %a "$W/ui-tls")" = 700 ] &&
	ok "ui --tls: an https link, a Secure cookie, plain HTTP on its port gets nothing, ui-tls/key.pem 0600" ||
	nok "ui --tls" "link $tlink cookie $tcook plain $tplain $(ls -la "$W/ui-tls" 2>&1)"
kill "$T"; wait "$T" 2>/dev/null
kill "$UI"
for _ in $(seq 50); do kill -0 "$UI" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$UI" 2>/dev/null; then nok "SIGTERM ends phyllome ui within 5 s"
else wait "$UI"; rc=$?; [ "$rc" = 0 ] && ok "SIGTERM ends phyllome ui (status 0)" || nok "SIGTERM ends phyllome ui" "status $rc"; UI=; fi
echo "1..$N"
[ "$FAILED" = 0 ]
