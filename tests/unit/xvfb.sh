#!/bin/sh
# Runs a test under a throw-away X server (Xvfb) when xvfb-run is installed; otherwise the test
# runs without DISPLAY and skips itself.
if command -v xvfb-run >/dev/null 2>&1; then
	exec xvfb-run -a -s "-screen 0 1024x768x24" "$@"
fi
unset DISPLAY
exec "$@"
