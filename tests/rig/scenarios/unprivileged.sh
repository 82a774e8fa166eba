# A whole scenario as an unprivileged user: L1 (root) adds user rigvm (uid 2000) to group kvm,
# gives that group /dev/kvm (chgrp + chmod 660, as Debian does), and su runs the rest as rigvm:
# it makes a raw disk image of its own, boots the console guest with it, checks while the VMM
# runs that it is rigvm's with no capabilities and under seccomp, has the guest write the disk,
# and expects the guest's poweroff to end the VMM with status 0.
# shellcheck shell=sh
N=unprivileged
U=rigvm U_ID=2000 KVM_GID=2001
if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip $N "phyllome-vmm's own seccomp filters"
else
	# Busybox has no adduser here: the account is two lines. su reads /etc/passwd and, for the
	# kvm group, /etc/group.
	grep -q '^root:' /etc/passwd 2>/dev/null || echo 'root:x:0:0:root:/root:/bin/sh' >>/etc/passwd
	grep -q "^$U:" /etc/passwd || echo "$U:x:$U_ID:$U_ID:rig VM user:$RIG_WORK:/bin/sh" >>/etc/passwd
	grep -q '^root:' /etc/group 2>/dev/null || echo 'root:x:0:' >>/etc/group
	grep -q "^$U:" /etc/group || echo "$U:x:$U_ID:" >>/etc/group
	grep -q '^kvm:' /etc/group || echo "kvm:x:$KVM_GID:$U" >>/etc/group
	kvm_was=$(stat -c '%g %a' /dev/kvm)
	chgrp kvm /dev/kvm && chmod 660 /dev/kvm
	chown "$U:$U" "$RIG_WORK"
	rm -f "$RIG_WORK/reported"
	# The part that runs as rigvm: lib.sh's helpers, unchanged.
	cat >"$RIG_WORK/as-user.sh" <<'EOF'
# shellcheck shell=sh
. /rig/lib.sh
cd "$RIG_WORK" || exit 1
N=unprivileged
img=$RIG_WORK/disk.img word=$(rand_word)
field() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$VMM_PID/status" | tr -s '\t ' '  '; }
report() { "$@"; : >"$RIG_WORK/reported"; }
head -c 8388608 /dev/zero >"$img"
vmm_start $N 1 256M "$L2_BASE_CMDLINE phyllome.test=console" "disk:path=$img"
if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
	report rig_fail $N "$WAIT_WHY"; vmm_kill; exit 0
fi
t_ready=$(since "$VMM_T0")
me=$(id -u) uids=$(field Uid) gids=$(field Gid) capeff=$(field CapEff) capprm=$(field CapPrm)
secc=$(field Seccomp) nnp=$(field NoNewPrivs) owner=$(stat -c %u "$img")
if [ "$me" = 0 ] || [ "$uids" != "$me $me $me $me" ] || [ "$capeff" != 0000000000000000 ] ||
	[ "$capprm" != 0000000000000000 ] || [ "$secc" != 2 ] || [ "$nnp" != 1 ] || [ -u "$RIG_VMM" ]; then
	report rig_fail $N "VMM pid $VMM_PID (I am uid $me): Uid $uids, Gid $gids, CapEff $capeff, CapPrm $capprm, Seccomp $secc, NoNewPrivs $nnp, setuid $([ -u "$RIG_VMM" ] && echo yes || echo no)"
	vmm_kill; exit 0
fi
# The guest's shell computes 42: the echoed input line does not match.
vmm_send "printf 'PHYLLOME-DISK %s\n' $word | dd of=/dev/vda conv=fsync 2>/dev/null && echo disk-\$((40+2))-written"
if ! wait_for 'disk-42-written' "$VMM_OUT" "$T_CMD"; then
	report rig_fail $N "the guest could not write /dev/vda: $WAIT_WHY"; vmm_kill; exit 0
fi
vmm_send poweroff
if ! expect_exit0 $N "$T_EXIT"; then : >"$RIG_WORK/reported"; exit 0; fi
if [ "$(head -n 1 "$img")" != "PHYLLOME-DISK $word" ]; then
	report rig_fail $N "the image (owner uid $owner) starts with '$(head -n 1 "$img")', expected 'PHYLLOME-DISK $word'"
	exit 0
fi
report rig_ok $N "VMM ran as uid:gid $me:${gids%% *} (Uid $uids), CapEff 0, Seccomp 2, NoNewPrivs 1; ready after ${t_ready}s, guest wrote the disk (owner uid $owner); exit 0 after $(since "$VMM_T0")s"
EOF
	su -s /bin/sh "$U" -c "RIG_WORK=$RIG_WORK sh $RIG_WORK/as-user.sh"
	st=$?
	[ -e "$RIG_WORK/reported" ] || rig_fail $N "running the scenario as $U with su ended with status $st and no result"
	chgrp "${kvm_was% *}" /dev/kvm
	chmod "${kvm_was#* }" /dev/kvm
fi
