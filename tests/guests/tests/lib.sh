# Sourced by the guest tests (not a test itself), after they set NAME:
#   fail MSG...        prints "PHYLLOME-TEST $NAME FAIL MSG" and powers the guest off
#   arg KEY            prints KEY's value from the kernel command line (status 1: not there)
#   wait_path PATH S   waits up to S seconds for PATH to exist (status 1: it didn't)
#   get_random FILE    TPM2_GetRandom(16) through /dev/tpm0 (the 16 bytes into FILE.rnd)
#   cpuid_leaf LEAF    CPUID LEAF through /dev/cpu/0/cpuid
# shellcheck shell=sh
fail() { echo "PHYLLOME-TEST $NAME FAIL $*"; poweroff -f; exit 1; }
arg() {
	read -r cmdline </proc/cmdline
	for a in $cmdline; do case $a in "$1"=*) echo "${a#*=}"; return 0 ;; esac; done
	return 1
}
wait_path() { i=0; while [ ! -e "$1" ]; do [ $i -ge $(($2 * 10)) ] && return 1; sleep 0.1; i=$((i + 1)); done; }

# TPM2_GetRandom(16): tag 8001 (no sessions), size 12, command code 0000017B, 16 bytes asked for.
# The answer: 8001, size 28 (0000001C), response code 0, a TPM2B of 16 bytes (0010 + 16 bytes).
# /dev/tpm0 takes one open at a time: no busybox timeout here (its watcher process keeps the
# descriptor open for a while after dd ends); the scenario's own timeout bounds a hang.
get_random() {
	command exec 3<>/dev/tpm0 || fail "cannot open /dev/tpm0"
	printf '\200\001\000\000\000\014\000\000\001\173\000\020' >&3 || fail "write to /dev/tpm0 failed"
	dd bs=4096 count=1 <&3 >"$1" 2>/dev/null || fail "reading the answer failed"
	exec 3>&-
	hdr=$(head -c 12 "$1" | od -An -tx1 | tr -d ' \n')
	[ "$hdr" = 80010000001c000000000010 ] || fail "GetRandom answered header $hdr ($(wc -c <"$1") bytes)"
	[ "$(wc -c <"$1")" = 28 ] || fail "GetRandom answered $(wc -c <"$1") bytes, not 28"
	tail -c 16 "$1" >"$1.rnd"
}

# cpuid_leaf LEAF: eax ebx ecx edx of CPUID LEAF on CPU 0, as 4 hex words. The file's offset
# is the leaf: dd seeks to it exactly (busybox's hexdump -s seeks to a block
# boundary and reads on, which the cpuid device counts in leaves, not bytes).
cpuid_leaf() {
	dd if=/dev/cpu/0/cpuid bs=16 count=1 skip="$(($1))" iflag=skip_bytes 2>/dev/null |
		hexdump -e '4/4 "%08x " "\n"'
}
