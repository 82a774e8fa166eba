#!/bin/sh
# The browser console test (TAP): needs node, Debian's chromium and novnc, and playwright-core
# (npm install in tests/browser). Skips (a TAP plan of 0, exit 0) when one is missing.
#   run-browser-test.sh BUILD-DIR
here=$(cd "$(dirname "$0")" && pwd)
build=$1
chrome=$(command -v chromium || command -v chromium-browser)
novnc=/usr/share/novnc
for need in node "$chrome" "$novnc/core/rfb.js" "$here/node_modules/playwright-core"; do
	if [ -z "$need" ] || { [ ! -e "$need" ] && ! command -v "$need" >/dev/null 2>&1; }; then
		echo "1..0 # SKIP missing ${need:-chromium} (apt-get install chromium novnc; npm install in tests/browser)"
		exit 0
	fi
done
port=$((20000 + $$ % 20000))
exec node "$here/console.mjs" "$build/tests/fakevm" "127.0.0.1:$port" "$novnc" "$chrome"
