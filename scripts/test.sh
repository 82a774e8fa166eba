#!/bin/bash
# Sets everything up and runs every test: unit tests, lint, the ASan+UBSan build of the unit
# tests and fuzz targets, the ThreadSanitizer build of the threaded unit tests, and the rig
# (real guests under nested KVM). Last line of output: "N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

# The rig's firmware guests need an outer QEMU with a fix (FACTS.md): built once from Debian's
# source, minutes the first time, cached after (tests/rig/build-qemu.sh).
nice tests/rig/build-qemu.sh >/dev/null || echo "test: the patched QEMU did not build; rig-firmware will fail"

logs=()
# Unit tests, lint and the rig on the normal build.
meson configure build -Drig=true >/dev/null
rm -f build/meson-logs/testlog.json
ninja -C build && meson test -C build --print-errorlogs --num-processes 2
logs+=(build/meson-logs/testlog.json)

# The same unit tests and the fuzz targets (fixed number of runs) under ASan + UBSan.
if [ ! -f build-san/build.ninja ]; then
	CC=clang meson setup build-san -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
fi
rm -f build-san/meson-logs/testlog.json
ninja -C build-san && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-san --suite unit --suite fuzz --print-errorlogs --num-processes 2
logs+=(build-san/meson-logs/testlog.json)

# The unit tests that run threads (the API thread against the VMM thread, the display thread
# against the guest's VRAM writes and keys, the VNC gate, device I/O and timer threads), under
# ThreadSanitizer: only those are built. Races on guest memory by design: tests/tsan.supp.
tsan_tests=(api display vnc_hostile blk nvme hda rtc e1000e virtio_threads)
if [ ! -f build-tsan/build.ninja ]; then
	CC=clang meson setup build-tsan -Db_sanitize=thread -Db_lundef=false
fi
rm -f build-tsan/meson-logs/testlog.json
ninja -C build-tsan "${tsan_tests[@]/#/tests/unit/test_}" &&
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
		meson test -C build-tsan --no-rebuild --suite unit --print-errorlogs --num-processes 2 \
		"${tsan_tests[@]}"
logs+=(build-tsan/meson-logs/testlog.json)

python3 scripts/count-results.py "${logs[@]}"
