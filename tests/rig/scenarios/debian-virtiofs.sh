# Shared folders (--fs; docs/shared-folders.md) with the Debian system: L1 shares $RIG_WORK/share
# (tag hostshare) and $RIG_WORK/ro (tag hostro, readonly=on), with links to $RIG_WORK/outside in
# the share (absolute, relative, /proc/self/root), a device node and a FIFO. The guest test
# (tests/guests/debian-extra/vfs.sh) mounts both, reads L1's files and writes, renames and
# deletes its own; L1 sees each of those (and the guest's 8 MiB file with its digest), then makes
# its own changes and swaps the folder the guest holds for a link to outside; the guest sees L1's
# changes, its escapes fail and the read-only share refuses writes. L1 then checks that
# outside is exactly as it was, and the power button ends the VMM with status 0.
# rig-disk: debian
# rig-tools: curl socat mke2fs
# shellcheck shell=sh
N=debian-virtiofs
text=$(rand_word)
SOCK=$RIG_WORK/api.sock SHARE=$RIG_WORK/share RO=$RIG_WORK/ro OUT=$RIG_WORK/outside

outside_state() {
	ls -lA "$OUT" | sed 's/ [A-Z][a-z][a-z] .* / /'
	stat -c '%s %Y %i' "$OUT"
	md5sum "$OUT/secret.txt"
	stat -c '%h %s %Y %i' "$OUT/secret.txt"
}

vfs_fail() {
	rig_fail $N "$*"
	vmm_kill
	return 1
}

vfs_run() {
	rm -rf "$SHARE" "$RO" "$OUT"
	mkdir -p "$SHARE/dir" "$RO" "$OUT"
	echo "host-$text" >"$SHARE/from-host.txt"
	echo inner >"$SHARE/dir/inner.txt"
	echo x >"$SHARE/host-del.txt"
	echo "secret-$text" >"$OUT/secret.txt"
	ln -s "$OUT/secret.txt" "$SHARE/abs-link"
	ln -s ../outside "$SHARE/up-link"
	ln -s /proc/self/root "$SHARE/proc-root"
	mknod "$SHARE/null" c 1 3
	mkfifo "$SHARE/fifo"
	echo "ro-$text" >"$RO/ro.txt"
	before=$(outside_state)
	if ! tests=$(debian_tests_disk); then
		rig_fail $N "could not make the tests' disk (mke2fs)"
		return 1
	fi
	debian_start $N 2 1G "phyllome.test=vfs phyllome.tests=LABEL=phyllome-tests debian.text=$text" \
		"api-socket:$SOCK" "disk:path=$tests,readonly=on" "fs:tag=hostshare,path=$SHARE" \
		"fs:tag=hostro,path=$RO,readonly=on" || return 1
	step_wait $N vfs wrote "$T_DEBIAN" || return 1
	gsum=$(step_line vfs wrote | sed 's/^wrote //')
	# the guest's changes, on L1
	[ "$(cat "$SHARE/guest.txt")" = "guest-$text" ] || vfs_fail "L1 reads guest.txt as '$(cat "$SHARE/guest.txt" 2>&1)'" || return 1
	[ -f "$SHARE/gdir/b" ] && [ ! -e "$SHARE/gdir/a" ] || vfs_fail "the guest's gdir/a -> gdir/b not on L1: $(ls "$SHARE/gdir" 2>&1 | tr '\n' ' ')" || return 1
	[ ! -e "$SHARE/host-del.txt" ] || vfs_fail "the guest deleted host-del.txt, L1 still has it" || return 1
	hsum=$(md5sum <"$SHARE/big.bin" | cut -c1-32)
	[ "$hsum" = "$gsum" ] || vfs_fail "big.bin: MD5 $hsum on L1, $gsum in the guest" || return 1
	# L1's changes, for the guest
	echo "host2-$text" >"$SHARE/host2.txt"
	echo "appended-$text" >>"$SHARE/guest.txt"
	mv "$SHARE/gdir" "$SHARE/gdir2"
	rm "$SHARE/guest-del.txt"
	dd if=/dev/urandom of="$SHARE/host-big.bin" bs=1M count=8 2>/dev/null
	bsum=$(md5sum <"$SHARE/host-big.bin" | cut -c1-32)
	mv "$SHARE/dir" "$SHARE/dir.old"
	ln -s "$OUT" "$SHARE/dir"
	vmm_send "go $bsum"
	if ! wait_for 'PHYLLOME-TEST vfs ' "$VMM_OUT" "$T_CMD"; then
		vfs_fail "$WAIT_WHY"
		return 1
	fi
	if ! grep -q 'PHYLLOME-TEST vfs PASS' "$VMM_OUT"; then
		wait_exit "$T_EXIT"
		rig_fail $N "$(guest_why vfs) (VMM exit status $VMM_STATUS)"
		return 1
	fi
	detail=$(grep -o 'PHYLLOME-TEST vfs PASS.*' "$VMM_OUT" | head -n 1 | tr -d '\r' | sed 's/^PHYLLOME-TEST vfs PASS //')
	[ "$(cat "$SHARE/dir.old/held.txt" 2>&1)" = held ] || vfs_fail "the guest's write into the held folder is not in dir.old" || return 1
	after=$(outside_state)
	[ "$before" = "$after" ] || vfs_fail "outside changed: before [$before] after [$after]" || return 1
	[ ! -e "$SHARE/gnull" ] && [ ! -e "$SHARE/gblk" ] || vfs_fail "a device node was made in the share" || return 1
	[ "$(cat "$RO/ro.txt")" = "ro-$text" ] && [ "$(ls "$RO")" = ro.txt ] || vfs_fail "the read-only folder changed: $(ls "$RO" | tr '\n' ' ')" || return 1
	if grep -q 'no namespaces of its own' "$VMM_ERR"; then
		vfs_fail "the file server ran without its namespaces: $(grep 'no namespaces' "$VMM_ERR" | head -n 1)"
		return 1
	fi
	debian_power_off $N "$SOCK" vfs || return 1
	rig_ok $N "$detail; L1 saw the guest's changes and the guest L1's; outside unchanged; power button to exit 0 in ${DPO_T}s"
}
vfs_run
