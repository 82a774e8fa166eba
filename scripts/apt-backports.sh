#!/bin/bash
# Adds Debian's bookworm-backports suite (deb and deb-src, same mirror) to apt's sources and runs
# apt-get update. Backports have a low priority: nothing installed is upgraded from them, but a
# package that only backports has installs from there (python3-virt-firmware, for scripts/setup.sh),
# and the rig's outer QEMU is built from its source (tests/rig/build-qemu.sh).
#   scripts/apt-backports.sh          adds the suite if apt's sources lack it
#   scripts/apt-backports.sh --force  writes the sources file and updates anyway
set -euo pipefail
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
SRCLIST=/etc/apt/sources.list.d/phyllome-backports.sources
if [ "${1:-}" != --force ] &&
	grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	exit 0
fi
echo "apt-backports: adding bookworm-backports (deb, deb-src) to apt's sources" >&2
$SUDO tee "$SRCLIST" >/dev/null <<'SRC'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
$SUDO apt-get update -q
