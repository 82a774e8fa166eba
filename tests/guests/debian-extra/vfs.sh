#!/bin/sh
# Shared folders (rig scenario debian-virtiofs; docs/shared-folders.md). Not in the image: the
# scenario brings it on the tests' disk. Command line: debian.text=WORD (the scenario's files
# hold it). L1 shares two folders: hostshare (read-write) and hostro (readonly=on).
# The guest mounts both tags, reads what L1 put there, writes, renames and deletes; prints
# "PHYLLOME-STEP vfs wrote MD5" (its 8 MiB file's digest) and, holding the folder "dir" as its
# working directory, waits for L1's "go MD5" on the serial line (L1 has checked the guest's
# changes, made its own, put a link to a folder outside in the place of "dir", and written an
# 8 MiB file with that digest). Then it checks L1's changes, tries the escapes (each must fail
# or stay inside the guest's own tree) and the read-only share's refusals.
NAME=vfs
. /tests/lib.sh
export LC_ALL=C

echo "PHYLLOME-STEP vfs started"
text=$(arg debian.text) || fail "no debian.text= on the command line"
S=/mnt/share R=/mnt/ro
mkdir -p $S $R
mount -t virtiofs hostshare $S || fail "mount -t virtiofs hostshare: $(dmesg | tail -n 2 | tr '\n' ' ')"
mount -t virtiofs hostro $R || fail "mount -t virtiofs hostro failed"
fstype=$(findmnt -n -o FSTYPE $S)
[ "$fstype" = virtiofs ] || fail "$S is '$fstype', not virtiofs"

# L1's files, as L1 wrote them
[ "$(cat $S/from-host.txt)" = "host-$text" ] || fail "from-host.txt reads '$(cat $S/from-host.txt)'"
ls $S | grep -qx dir || fail "no 'dir' in the listing: $(ls $S | tr '\n' ' ')"
[ "$(cat $S/dir/inner.txt)" = inner ] || fail "dir/inner.txt reads '$(cat $S/dir/inner.txt)'"

# the guest's changes, for L1 to see
echo "guest-$text" >$S/guest.txt || fail "cannot write guest.txt"
mkdir $S/gdir && echo a >$S/gdir/a && mv $S/gdir/a $S/gdir/b || fail "mkdir/write/rename in gdir failed"
echo del >$S/guest-del.txt || fail "cannot write guest-del.txt"
t0=$(date +%s%N)
dd if=/dev/urandom of=$S/big.bin bs=1M count=8 2>/dev/null || fail "cannot write big.bin"
sync || fail "sync failed"
t1=$(date +%s%N)
sum=$(md5sum <$S/big.bin | cut -c1-32)
rm $S/host-del.txt || fail "cannot delete L1's host-del.txt"
cd $S/dir || fail "cannot cd into dir"
echo "PHYLLOME-STEP vfs wrote $sum"

read -r go hsum || fail "no 'go' from L1"
[ "$go" = go ] || fail "L1 sent '$go', not go"
sleep 2 # attributes and entries are cached for 1 s

# L1's changes
[ "$(cat $S/host2.txt)" = "host2-$text" ] || fail "L1's new host2.txt reads '$(cat $S/host2.txt 2>&1)'"
[ "$(tail -n 1 $S/guest.txt)" = "appended-$text" ] || fail "L1's append to guest.txt not seen: '$(cat $S/guest.txt)'"
[ -f $S/gdir2/b ] && [ ! -e $S/gdir ] || fail "L1's rename of gdir to gdir2 not seen: $(ls $S | tr '\n' ' ')"
[ ! -e $S/guest-del.txt ] || fail "L1's deletion of guest-del.txt not seen"
t2=$(date +%s%N)
got=$(md5sum <$S/host-big.bin | cut -c1-32)
t3=$(date +%s%N)
[ "$got" = "$hsum" ] || fail "host-big.bin's MD5 is $got here, $hsum on L1"

# escapes: links are resolved by the guest in its own tree, never by the server on L1's
[ "$(cat $S/abs-link 2>/dev/null)" != "secret-$text" ] || fail "read L1's outside file through abs-link"
echo pwn 2>/dev/null >$S/abs-link
[ "$(cat $S/up-link/secret.txt 2>/dev/null)" != "secret-$text" ] || fail "read L1's outside file through up-link"
echo pwn 2>/dev/null >$S/up-link/pwn
[ "$(ls $S/proc-root/ | tr '\n' ' ')" = "$(ls / | tr '\n' ' ')" ] || fail "proc-root does not lead to the guest's own root"
# the folder L1 swapped for a link while the guest is in it: still the old folder
[ "$(cat inner.txt)" = inner ] || fail "the held folder lost inner.txt"
[ "$(cat secret.txt 2>/dev/null)" != "secret-$text" ] || fail "read L1's outside file through the swapped folder"
echo held >held.txt || fail "cannot write into the held folder"
[ "$(cat $S/dir/secret.txt 2>/dev/null)" != "secret-$text" ] || fail "read L1's outside file through the new dir link"
echo pwn 2>/dev/null >$S/dir/pwn
cd /
# the guest's own attempts
mknod $S/gnull c 1 3 2>/dev/null && fail "made a device node in the shared folder"
mknod $S/gblk b 8 0 2>/dev/null && fail "made a block device node in the shared folder"
ln /etc/hostname $S/hl 2>/dev/null && fail "hard-linked a guest file into the share"
ln $S/abs-link $S/abs-link2 2>/dev/null # a second name for the link itself, inside
[ "$(cat $S/abs-link2 2>/dev/null)" != "secret-$text" ] || fail "read L1's outside file through a hard link"
ls -la $S >/dev/null || fail "the share stopped answering"

# the read-only share
[ "$(cat $R/ro.txt)" = "ro-$text" ] || fail "ro.txt reads '$(cat $R/ro.txt)'"
err=$(touch $R/new 2>&1) && fail "created a file on the read-only share"
case $err in *Read-only*) ;; *) fail "touch on the read-only share: '$err'" ;; esac
(echo x >>$R/ro.txt) 2>/dev/null && fail "appended to a file on the read-only share"
rm $R/ro.txt 2>/dev/null && fail "deleted a file on the read-only share"
mkdir $R/d 2>/dev/null && fail "made a folder on the read-only share"
mv $R/ro.txt $R/ro2.txt 2>/dev/null && fail "renamed a file on the read-only share"
[ "$(cat $R/ro.txt)" = "ro-$text" ] || fail "ro.txt changed"

w=$(((t1 - t0) / 1000000)) r=$(((t3 - t2) / 1000000))
echo "PHYLLOME-TEST vfs PASS two tags mounted; 8 MiB written+synced in ${w} ms, 8 MiB read in ${r} ms; escapes and read-only writes refused"
echo "PHYLLOME-STEP vfs ready for the power button"
while :; do sleep 1; done
