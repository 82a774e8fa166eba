# phyllome-vmm through phyllome-jail (uid 3000, the kernel and initramfs read-only, a raw disk
# read-write): while the guest runs, the VMM must be in mount, pid, net, IPC and UTS namespaces
# of its own (pid 1 in its pid namespace) and a session of its own, run as 3000:3000 with no
# capabilities, no_new_privs and its seccomp filters, and see none of L1's files; the guest
# writes the disk and its poweroff
# ends the jail with status 0. Then jail-sigterm: SIGTERM to the jail reaches the VMM (pid 1,
# which ignores what it has no handler for) and the jail ends with the VMM's 128+15.
# L1's root is an initramfs, so the jail takes its switch_root path there, not pivot_root.
# shellcheck shell=sh
N=jail
JAIL=/rig/bin/phyllome-jail
J_ID=3000

# jailed_vmm ID IMG: makes $RIG_WORK/ID.sh, a VMM for vmm_exec ($RIG_VMM) that runs the real
# one through the jail with the guest's kernel, initramfs and IMG at their own paths (-v: the
# jail's steps go to the VMM's stderr file).
jailed_vmm() {
	rm -rf "${RIG_WORK:?}/base/$1" # a jail refuses a root that is not empty
	mkdir -p "$RIG_WORK/base"
	cat >"$RIG_WORK/$1.sh" <<EOF
#!/bin/sh
exec $JAIL -v --id $1 --chroot-base $RIG_WORK/base --uid $J_ID --gid $J_ID \\
	--file-ro $L2_KERNEL --file-ro $L2_INITRD --file $2 -- /rig/bin/phyllome-vmm "\$@"
EOF
	chmod 755 "$RIG_WORK/$1.sh"
	# shellcheck disable=SC2034 # vmm_exec (lib.sh) runs it
	RIG_VMM=$RIG_WORK/$1.sh
}

# jail_child: the VMM, child of the jail ($VMM_PID); empty until it exists.
jail_child() {
	for _d in /proc/[0-9]*; do
		[ "$(sed -n 's/^PPid:[[:space:]]*//p' "$_d/status" 2>/dev/null)" = "$VMM_PID" ] &&
			echo "${_d#/proc/}" && return
	done
}

field() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$2/status" | tr -s '\t ' '  '; }

# jail_check PID: what the VMM must be; sets JC_WHY (what is wrong) or JC_OK (a summary).
jail_check() {
	JC_WHY='' JC_OK=''
	for _ns in mnt pid net ipc uts; do
		[ "$(readlink "/proc/$1/ns/$_ns")" = "$(readlink "/proc/self/ns/$_ns")" ] &&
			JC_WHY="$JC_WHY shares L1's $_ns namespace;"
	done
	_uids=$(field Uid "$1") _gids=$(field Gid "$1") _nspid=$(field NSpid "$1")
	[ "$_uids" = "$J_ID $J_ID $J_ID $J_ID" ] || JC_WHY="$JC_WHY Uid $_uids;"
	[ "$_gids" = "$J_ID $J_ID $J_ID $J_ID" ] || JC_WHY="$JC_WHY Gid $_gids;"
	for _f in CapEff CapPrm CapBnd CapAmb; do
		[ "$(field $_f "$1")" = 0000000000000000 ] || JC_WHY="$JC_WHY $_f $(field $_f "$1");"
	done
	[ "$(field NoNewPrivs "$1")" = 1 ] || JC_WHY="$JC_WHY NoNewPrivs $(field NoNewPrivs "$1");"
	[ "$(field Seccomp "$1")" = 2 ] || JC_WHY="$JC_WHY Seccomp $(field Seccomp "$1");"
	[ "${_nspid##* }" = 1 ] || JC_WHY="$JC_WHY NSpid $_nspid (not pid 1 of its namespace);"
	# a session of its own (setsid): no controlling terminal to push input into
	_sid=$(sed -E 's/^.*\) [A-Za-z] -?[0-9]+ -?[0-9]+ ([0-9]+) .*/\1/' "/proc/$1/stat")
	[ "$_sid" = "$1" ] || JC_WHY="$JC_WHY session $_sid (not its own);"
	_root=/proc/$1/root
	[ -e "$_root/rig/scenarios" ] && JC_WHY="$JC_WHY sees L1's /rig/scenarios;"
	[ -e "$_root/tmp/cores" ] && JC_WHY="$JC_WHY sees L1's /tmp;"
	[ -r "$_root$L2_KERNEL" ] || JC_WHY="$JC_WHY no $L2_KERNEL in its root;"
	_dev=$(cd "$_root/dev" && echo *)
	[ "$_dev" = "kvm urandom" ] || JC_WHY="$JC_WHY its /dev holds: $_dev;"
	JC_OK="own mnt/pid/net/ipc/uts namespaces (NSpid $_nspid), own session, Uid/Gid $J_ID, no capabilities, NoNewPrivs 1, Seccomp 2, root: $(cd "$_root" && echo *)"
}

if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip $N "phyllome-jail runs phyllome-vmm"
	rig_skip jail-sigterm "phyllome-jail runs phyllome-vmm"
elif [ ! -x "$JAIL" ]; then
	rig_fail $N "no $JAIL in L1 (rig.py copies phyllome-jail from beside --vmm)"
	rig_fail jail-sigterm "no $JAIL in L1"
else
	img=$RIG_WORK/disk.img word=$(rand_word)
	head -c 8388608 /dev/zero >"$img"
	chown "$J_ID:$J_ID" "$img"
	jailed_vmm jail-boot "$img"
	vmm_start $N 1 256M "$L2_BASE_CMDLINE phyllome.test=console" "disk:path=$img"
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
		rig_fail $N "$WAIT_WHY"; vmm_kill
	else
		t_ready=$(since "$VMM_T0")
		pid=$(jail_child)
		if [ -z "$pid" ]; then
			rig_fail $N "no child of the jail (pid $VMM_PID) found"; vmm_kill
		elif jail_check "$pid" && [ -n "$JC_WHY" ]; then
			rig_fail $N "the jailed VMM (pid $pid):$JC_WHY"; vmm_kill
		else
			# The guest's shell computes 42: the echoed input line does not match.
			vmm_send "printf 'PHYLLOME-DISK %s\n' $word | dd of=/dev/vda conv=fsync 2>/dev/null && echo disk-\$((40+2))-written"
			if ! wait_for 'disk-42-written' "$VMM_OUT" "$T_CMD"; then
				rig_fail $N "the guest could not write /dev/vda: $WAIT_WHY"; vmm_kill
			else
				vmm_send poweroff
				if expect_exit0 $N "$T_EXIT"; then
					if [ "$(head -n 1 "$img")" != "PHYLLOME-DISK $word" ]; then
						rig_fail $N "the image starts with '$(head -n 1 "$img")', expected 'PHYLLOME-DISK $word'"
					else
						how=pivot_root
						grep -q 'root is an initramfs' "$VMM_ERR" && how="switch_root (L1's / is an initramfs)"
						rig_ok $N "$JC_OK; entered by $how; ready after ${t_ready}s, guest wrote the disk; exit 0 after $(since "$VMM_T0")s"
					fi
				fi
			fi
		fi
	fi

	# jail-sigterm: no need to wait for the guest; the VMM handles signals once its filters
	# are in (Seccomp: 2).
	jailed_vmm jail-term "$img"
	vmm_start jail-sigterm 1 256M "$L2_BASE_CMDLINE phyllome.test=console" "disk:path=$img"
	i=0 pid=
	while [ $i -lt 300 ] && vmm_running; do
		pid=$(jail_child)
		[ -n "$pid" ] && [ "$(field Seccomp "$pid")" = 2 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	if ! vmm_running; then
		rig_fail jail-sigterm "the jail ended (status $(cat "$VMM_DIR/status")) before the VMM was up"
	elif [ $i -ge 300 ]; then
		rig_fail jail-sigterm "no filtered VMM under the jail within 30 s"; vmm_kill
	else
		kill -TERM "$VMM_PID"
		if ! wait_exit 20; then
			rig_fail jail-sigterm "SIGTERM to the jail: $WAIT_WHY"
		elif [ "$VMM_STATUS" != 143 ]; then
			rig_fail jail-sigterm "SIGTERM to the jail: exit status $VMM_STATUS, expected 143"
		elif [ -e "/proc/$pid" ]; then
			rig_fail jail-sigterm "the jail ended but its VMM (pid $pid) still runs"
		else
			rig_ok jail-sigterm "SIGTERM to the jail reached the VMM (pid 1 in its namespace); status 143"
		fi
	fi
fi
