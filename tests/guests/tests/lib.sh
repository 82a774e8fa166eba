# Sourced by the guest tests (not a test itself), after they set NAME:
#   fail MSG...        prints "PHYLLOME-TEST $NAME FAIL MSG" and powers the guest off
#   arg KEY            prints KEY's value from the kernel command line (status 1: not there)
#   wait_path PATH S   waits up to S seconds for PATH to exist (status 1: it didn't)
# shellcheck shell=sh
fail() { echo "PHYLLOME-TEST $NAME FAIL $*"; poweroff -f; exit 1; }
arg() {
	read -r cmdline </proc/cmdline
	for a in $cmdline; do case $a in "$1"=*) echo "${a#*=}"; return 0 ;; esac; done
	return 1
}
wait_path() { i=0; while [ ! -e "$1" ]; do [ $i -ge $(($2 * 10)) ] && return 1; sleep 0.1; i=$((i + 1)); done; }
