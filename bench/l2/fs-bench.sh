#!/bin/sh
# Guest side of the shared-folder benchmark (bench/run-fs-bench.sh): installed as
# /tests/fs-bench.sh by the bench overlay of the L2 initramfs (bench/build-io-tools.sh), run by
# the guest's /init with phyllome.test=fs-bench. One shared folder, tag "share": virtio-fs
# (iob.fstype=virtiofs) or 9p (iob.fstype=9p: trans=virtio, 9p2000.L, msize=512000); L1's side
# is a tmpfs (bench/l1/io-bench.sh).
#
# Command line: iob.fstype=virtiofs|9p iob.files=N iob.seq_mib=N
#
# Each round, in a fresh folder bench/ of the share: N 4 KiB files extracted from a tar in the
# guest's RAM (one process: create, write, close, and tar's chmod and utimes per file), read back
# with cat (one process), listed with ls -l (stat each), deleted with rm -r; then one file of
# SEQ_MIB MiB written with dd (1 MiB blocks, fsync at the end) and read back with dd. The guest's
# caches (page cache, dentries, inodes) are dropped before each reading phase, so that reads go
# to the host. Protocol with L1 and the result lines: bench/l2/lib.sh.
# shellcheck disable=SC2034 # bench-lib.sh's fail and serve use it
NAME=fs-bench
# shellcheck source=bench/l2/lib.sh
. /tests/bench-lib.sh

fstype=$(arg iob.fstype) || fstype=virtiofs
files=$(arg iob.files) || files=2000
seq_mib=$(arg iob.seq_mib) || seq_mib=256
M=/mnt/share
D=$M/bench
mkdir -p $M
case $fstype in
9p) mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share $M 2>/tmp/mount.err ;;
*) mount -t virtiofs share $M 2>/tmp/mount.err ;;
esac || fail "mount -t $fstype share: $(cat /tmp/mount.err)"

# The small files, made once in the guest's RAM (one awk, not a process per file): 4 KiB each.
mkdir -p /tmp/small
awk -v n="$files" 'BEGIN { s = "0123456789abcdef"; while (length(s) < 4096) s = s s
	for (i = 0; i < n; i++) { f = "/tmp/small/f" i; printf "%s", s > f; close(f) } }' ||
	fail "making the small files"
tar -cf /tmp/small.tar -C /tmp/small . || fail "tar -c"
rm -rf /tmp/small
echo "IOB-INFO fstype=$fstype files=$files seq_mib=$seq_mib cpus=$(grep -c ^processor /proc/cpuinfo) mount=$(grep " $M " /proc/mounts | tr ' ' _)"

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
rate() { awk -v n="$1" -v d=$((T1 - T0)) 'BEGIN { printf "%.1f", n * 100 / (d ? d : 1) }'; }

run_round() {
	rm -rf $D
	mkdir $D || fail "mkdir $D"
	drop
	begin smallcreate
	tar -xf /tmp/small.tar -C $D || fail "tar -x"
	end smallcreate
	result smallcreate "$(rate "$files")" files/s

	drop
	begin smallread
	cat $D/f* >/dev/null || fail "cat"
	end smallread
	result smallread "$(rate "$files")" files/s

	drop
	begin smallstat
	# shellcheck disable=SC2010 # ls -l is the test (stat of each file)
	n=$(ls -l $D | grep -c '^-')
	end smallstat
	[ "$n" = "$files" ] || fail "ls -l found $n files, not $files"
	result smallstat "$(rate "$files")" files/s

	begin smalldelete
	rm -r $D || fail "rm -r"
	end smalldelete
	result smalldelete "$(rate "$files")" files/s

	drop
	begin bigwrite
	dd if=/dev/zero of=$M/big bs=1M count="$seq_mib" conv=fsync 2>/tmp/dd.err || fail "dd write: $(cat /tmp/dd.err)"
	end bigwrite
	result bigwrite "$(rate "$seq_mib")" MiB/s

	drop
	begin bigread
	dd if=$M/big of=/dev/null bs=1M 2>/tmp/dd.err || fail "dd read: $(cat /tmp/dd.err)"
	end bigread
	result bigread "$(rate "$seq_mib")" MiB/s
	rm -f $M/big
	echo "IOB-ROUND-DONE $ROUND"
}

serve
