# Helpers for rig scenarios (busybox sh, sourced by L1's /init before each scenario runs).
#
# A scenario is tests/rig/scenarios/NAME.sh, run in a subshell in its own work dir, and reports
# one or more results with rig_ok / rig_fail / rig_skip (lines "RIG-RESULT ok|not ok|skip NAME
# [detail]" on L1's console, which the host turns into TAP).
#
# Environment set by /init:
#   RIG_L2_VMM   phyllome | qemu: which L2 VMM vmm_exec runs
#   RIG_VMM      path of phyllome-vmm inside L1
#   L2_KERNEL    L2 bzImage;  L2_INITRD: L2 initramfs (tests/guests)
#   RIG_WORK     this scenario's work dir (tmpfs)
#   L2_FW_CODE   set: vmm_exec boots UEFI firmware (this code image; L2_FW_VARS: a variable
#                store, written) instead of the kernel; CMDLINE is then unused; L2_FW_SMM set:
#                the firmware needs SMM (QEMU: smm=on and a secure flash; phyllome-vmm: smm=on)
# shellcheck shell=sh

L2_BASE_CMDLINE=${L2_BASE_CMDLINE:-console=ttyS0 quiet}
# Timeouts in seconds (rig time: TCG-emulated L1). QEMU as L2 VMM reaches L2 userspace in 11 to
# 23 s (1 to 4 vCPUs) on an idle host; on a busy 2-core host (four TCG QEMUs at once) a 1-vCPU L2
# took more than 120 s to reach userspace. These leave room without letting a hung VMM eat CI's
# time.
T_BOOT=${T_BOOT:-240}    # VMM start to a test's first marker
T_EXIT=${T_EXIT:-120}    # guest powering off to the VMM's exit
T_CMD=${T_CMD:-120}      # one command typed into the guest
T_TEST=${T_TEST:-180}    # a guest test's work, from its userspace on (module loading included)
T_DEBIAN=${T_DEBIAN:-600} # the Debian system's initrd userspace to its test's result (systemd's boot)
T_TCP=$((T_BOOT + 3 * T_TEST)) # L1's nc servers, started before the VMM

# --- results ------------------------------------------------------------------------------------
rig_ok() { n=$1; shift; echo "RIG-RESULT ok $n $*"; }
rig_skip() { n=$1; shift; echo "RIG-RESULT skip $n $*"; }
# rig_fail NAME DETAIL: reports a failure and copies the last VMM's output tails to L1's console
# (so they land in the rig's log file).
rig_fail() {
	n=$1; shift
	if [ -n "${VMM_DIR:-}" ] && [ -d "$VMM_DIR" ]; then
		echo "---- $n: VMM command: $(cat "$VMM_DIR/cmd" 2>/dev/null)"
		echo "---- $n: last serial output ($VMM_OUT):"
		tail -n 40 "$VMM_OUT" 2>/dev/null | sed 's/^/| /'
		echo "---- $n: VMM stderr:"
		tail -n 20 "$VMM_ERR" 2>/dev/null | sed 's/^/! /'
		if [ "$(cat "$VMM_DIR/status" 2>/dev/null)" = 159 ]; then
			# SIGSYS: a seccomp filter killed it; the kernel's audit line names the call.
			echo "---- $n: VMM killed by SIGSYS; kernel's seccomp reports:"
			dmesg | grep -e 'type=1326' -e seccomp | tail -n 5 | sed 's/^/! /'
		fi
		echo "---- $n: end"
	fi
	echo "RIG-RESULT not ok $n $*"
}

# --- time ---------------------------------------------------------------------------------------
# now_cs: L1's uptime in centiseconds.
now_cs() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}" | sed 's/^0*//;s/^$/0/'; }
# since T0_CS: seconds elapsed since T0_CS, as S.CC
since() { d=$(($(now_cs) - $1)); printf '%d.%02d' $((d / 100)) $((d % 100)); }

# --- the L2 VMM ---------------------------------------------------------------------------------
# vmm_exec CPUS MEM CMDLINE [DEVICE...]: replaces the shell with the L2 VMM booting $L2_KERNEL +
# $L2_INITRD with CPUS vCPUs, MEM of RAM (256M, 1G, 5G...) and kernel command line CMDLINE; the
# guest's serial port is the VMM's stdin/stdout (a tty or not). The one place that knows each VMM's
# syntax. Each DEVICE is phyllome-vmm's option without its dashes, a colon before the value:
#   disk:path=FILE[,readonly=on][,serial=ID][,bus=nvme]   net:tap=IFNAME[,mac=MAC]   net:passt=SOCKET[,mac=MAC]
#   (net: also takes model=virtio|e1000e: QEMU's -device virtio-net-pci or e1000e)
#   rng   console:file=PATH   console:socket=PATH   cdrom:PATH (an ISO on the AHCI CD-ROM drive)
#   cdrom:path=PATH,bootindex=N   rtc:base=localtime   cpus:hyperv=on[,kvm=off] (Hyper-V enlightenments; a second
#   --cpus whose keys join the first's)
# (e.g. disk:path=/tmp/a.img,serial=a1 becomes --disk path=/tmp/a.img,serial=a1 for phyllome-vmm,
# and -drive + -device virtio-blk-pci for QEMU, -device nvme with bus=nvme; cdrom:X.iso becomes --cdrom X.iso, and for QEMU
# an ide-cd drive on q35's AHCI controller). Paths must not contain spaces or commas.
# RIG_VMM_EXTRA / RIG_QEMU_EXTRA: more words for phyllome-vmm / QEMU, e.g. run-rig.sh --l1-append
# rig.env.RIG_VMM_EXTRA=--seccomp=log (words separated by spaces can't be passed that way).
vmm_exec() {
	_cpus=$1 _mem=$2 _cmdline=$3
	shift 3
	case $RIG_L2_VMM in
	qemu)
		_devs=$(qemu_devices "$@") || exit 2
		if [ -n "${L2_FW_CODE:-}" ]; then
			_boot="-drive if=pflash,format=raw,readonly=on,file=$L2_FW_CODE"
			# L2_FW_SMM: OVMF's SMM build (Secure Boot): SMM, and the flash writable only in it
			[ -z "${L2_FW_SMM:-}" ] ||
				_boot="-machine smm=on -global driver=cfi.pflash01,property=secure,value=on $_boot"
			[ -z "${L2_FW_VARS:-}" ] || _boot="$_boot -drive if=pflash,format=raw,file=$L2_FW_VARS"
			if [ -n "${L2_FW_KERNEL:-}" ]; then
				# shellcheck disable=SC2086 # RIG_QEMU_EXTRA, _boot and _devs are lists of words
				exec qemu-system-x86_64 -enable-kvm -cpu host -M q35 -m "$_mem" -smp "$_cpus" \
					$_boot -kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$_cmdline" \
					-nodefaults -no-user-config -display none \
					-chardev stdio,id=ser0,signal=off -serial chardev:ser0 $_devs ${RIG_QEMU_EXTRA:-}
			fi
			# shellcheck disable=SC2086 # RIG_QEMU_EXTRA, _boot and _devs are lists of words
			exec qemu-system-x86_64 -enable-kvm -cpu host -M q35 -m "$_mem" -smp "$_cpus" \
				$_boot -nodefaults -no-user-config -display none \
				-chardev stdio,id=ser0,signal=off -serial chardev:ser0 $_devs ${RIG_QEMU_EXTRA:-}
		fi
		# shellcheck disable=SC2086 # RIG_QEMU_EXTRA and _devs are lists of words
		exec qemu-system-x86_64 -enable-kvm -cpu host -M q35 -m "$_mem" -smp "$_cpus" \
			-kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$_cmdline" \
			-nodefaults -no-user-config -display none \
			-chardev stdio,id=ser0,signal=off -serial chardev:ser0 $_devs ${RIG_QEMU_EXTRA:-}
		;;
	*)
		for _d in "$@"; do
			shift
			case $_d in
			*:*) set -- "$@" "--${_d%%:*}" "${_d#*:}" ;;
			*) set -- "$@" "--$_d" ;;
			esac
		done
		if [ -n "${L2_FW_CODE:-}" ]; then
			_fw=code=$L2_FW_CODE${L2_FW_VARS:+,vars=$L2_FW_VARS}${L2_FW_SMM:+,smm=on}
			if [ -n "${L2_FW_KERNEL:-}" ]; then
				# shellcheck disable=SC2086 # RIG_VMM_EXTRA is a list of words
				exec "$RIG_VMM" --firmware "$_fw" --kernel "$L2_KERNEL" --initramfs "$L2_INITRD" \
					--cmdline "$_cmdline" --cpus "boot=$_cpus" --memory "size=$_mem" \
					--serial tty "$@" ${RIG_VMM_EXTRA:-}
			fi
			# shellcheck disable=SC2086 # RIG_VMM_EXTRA is a list of words
			exec "$RIG_VMM" --firmware "$_fw" --cpus "boot=$_cpus" --memory "size=$_mem" \
				--serial tty "$@" ${RIG_VMM_EXTRA:-}
		fi
		# shellcheck disable=SC2086 # RIG_VMM_EXTRA is a list of words
		exec "$RIG_VMM" --kernel "$L2_KERNEL" --initramfs "$L2_INITRD" --cmdline "$_cmdline" \
			--cpus "boot=$_cpus" --memory "size=$_mem" --serial tty "$@" ${RIG_VMM_EXTRA:-}
		;;
	esac
}

# qemu_devices DEVICE...: vmm_exec's DEVICE words as QEMU options (one line of words).
qemu_devices() {
	_n=0 _q=
	for _d in "$@"; do
		_n=$((_n + 1))
		_kind=${_d%%:*} _opts='' _path='' _ro='' _serial='' _tap='' _passt='' _mac='' _file='' _sock='' _bus='' _nic=virtio-net-pci
		case $_d in *:*) _opts=${_d#*:} ;; esac
		_bi=''
		if [ "$_kind" = cdrom ]; then
			# q35's own AHCI controller (00:1f.2), its first port; cdrom:path=X,bootindex=N too
			_path=${_opts#path=}
			case $_path in *,bootindex=*)
				_bi=,bootindex=${_path##*,bootindex=} _path=${_path%%,bootindex=*} ;;
			esac
			_q="$_q -drive file=$_path,format=raw,if=none,id=cd$_n,media=cdrom,readonly=on -device ide-cd,drive=cd$_n,bus=ide.0$_bi"
			continue
		fi
		if [ "$_kind" = uuid ]; then
			_q="$_q -uuid $_opts"
			continue
		fi
		if [ "$_kind" = api-socket ]; then
			# QEMU's human monitor there: vmm_power_button speaks to it
			_q="$_q -monitor unix:$_opts,server=on,wait=off"
			continue
		fi
		if [ "$_kind" = rtc ]; then
			_q="$_q -rtc $_opts"
			continue
		fi
		if [ "$_kind" = sound ]; then
			# sound:wav=FILE: QEMU's ICH9-era HD Audio with its duplex codec into a WAV file
			# (QEMU's wav back end has no input: in= is not translated)
			case $_opts in wav=*) ;; *) echo "qemu_devices: cannot translate '$_d'" >&2; return 1 ;; esac
			_q="$_q -audiodev wav,id=snd$_n,path=${_opts#wav=} -device intel-hda -device hda-duplex,audiodev=snd$_n"
			continue
		fi
		if [ "$_kind" = cpus ]; then
			# cpus:hyperv=on[,kvm=off]: QEMU's hv-* flags for what phyllome-vmm's hyperv=on offers
			_cpu=host,hv-relaxed,hv-vapic,hv-spinlocks=0x1fff,hv-vpindex,hv-runtime,hv-time
			_cpu=$_cpu,hv-synic,hv-stimer,hv-stimer-direct,hv-frequencies,hv-reset,hv-tlbflush,hv-ipi
			case $_opts in *kvm=off*) _cpu=$_cpu,kvm=off ;; esac
			_q="$_q -cpu $_cpu"
			continue
		fi
		IFS=,
		for _kv in $_opts; do
			case $_kv in
			path=*) _path=${_kv#*=} ;;
			readonly=on) _ro=,readonly=on ;;
			readonly=off) ;;
			serial=*) _serial=,serial=${_kv#*=} ;;
			bootindex=*) _bi=,bootindex=${_kv#*=} ;;
			bus=virtio | bus=nvme) _bus=${_kv#*=} ;;
			tap=*) _tap=${_kv#*=} ;;
			passt=*) _passt=${_kv#*=} ;;
			mac=*) _mac=,mac=${_kv#*=} ;;
			model=virtio) ;;
			model=e1000e) _nic=e1000e ;;
			file=*) _file=${_kv#*=} ;;
			socket=*) _sock=${_kv#*=} ;;
			*) unset IFS; echo "qemu_devices: cannot translate '$_kv' in '$_d'" >&2; return 1 ;;
			esac
		done
		unset IFS
		case $_kind in
		disk)
			_q="$_q -drive file=$_path,format=raw,if=none,id=disk$_n$_ro"
			if [ "$_bus" = nvme ]; then # QEMU's NVMe wants a serial
				_q="$_q -device nvme,drive=disk$_n${_serial:-,serial=nvme$_n}$_bi"
			else
				_q="$_q -device virtio-blk-pci,drive=disk$_n$_serial$_bi"
			fi
			;;
		rng) _q="$_q -device virtio-rng-pci" ;;
		usb) _q="$_q -device qemu-xhci -device usb-tablet -device usb-kbd" ;;
		net)
			if [ -n "$_tap" ]; then
				_q="$_q -netdev tap,id=net$_n,ifname=$_tap,script=no,downscript=no"
			else
				_q="$_q -netdev stream,id=net$_n,server=off,addr.type=unix,addr.path=$_passt"
			fi
			# romfile=: no iPXE option ROM (the rig has no /usr/lib/ipxe; a kernel boots here)
			_q="$_q -device $_nic,netdev=net$_n$_mac,romfile="
			;;
		console)
			if [ -n "$_file" ]; then
				_q="$_q -chardev file,id=hvc$_n,path=$_file"
			else
				_q="$_q -chardev socket,id=hvc$_n,path=$_sock,server=on,wait=off"
			fi
			_q="$_q -device virtio-serial-pci,id=vser$_n -device virtconsole,bus=vser$_n.0,chardev=hvc$_n"
			;;
		*) echo "qemu_devices: unknown device '$_d'" >&2; return 1 ;;
		esac
	done
	echo "$_q"
}

# vmm_start NAME CPUS MEM CMDLINE [DEVICE...]: runs vmm_exec in the background. Sets:
#   VMM_DIR   $RIG_WORK/NAME;  VMM_OUT: serial output;  VMM_ERR: stderr
#   VMM_PID   the VMM's pid;   VMM_T0: start time (now_cs)
# The guest's input is the FIFO $VMM_DIR/in, held open on fd 7 so that the VMM never reads EOF:
# vmm_send writes to it. When the VMM ends, its exit status goes to $VMM_DIR/status.
vmm_start() {
	VMM_NAME=$1; shift
	VMM_DIR=$RIG_WORK/$VMM_NAME
	rm -rf "$VMM_DIR"
	mkdir -p "$VMM_DIR"
	VMM_OUT=$VMM_DIR/serial.out VMM_ERR=$VMM_DIR/stderr VMM_STATUS=
	: >"$VMM_OUT"
	echo "vmm_exec $*" >"$VMM_DIR/cmd"
	mkfifo "$VMM_DIR/in"
	exec 7<>"$VMM_DIR/in"
	VMM_T0=$(now_cs)
	(
		vmm_exec "$@" <"$VMM_DIR/in" >"$VMM_OUT" 2>"$VMM_ERR" 7>&- &
		echo $! >"$VMM_DIR/pid"
		wait $!
		echo $? >"$VMM_DIR/status"
	) 7>&- &
	while [ ! -s "$VMM_DIR/pid" ]; do sleep 0.05; done
	VMM_PID=$(cat "$VMM_DIR/pid")
}

# vmm_power_button SOCK: presses the ACPI power button of the VMM started with "api-socket:SOCK"
# (phyllome-vmm: PUT vm.power-button, with curl; QEMU: system_powerdown on the monitor that
# api-socket: gives it, with socat). The scenario names curl and socat on its "# rig-tools:" line.
vmm_power_button() {
	case $RIG_L2_VMM in
	qemu) echo system_powerdown | "$TOOLS/socat" - "UNIX-CONNECT:$1" >/dev/null ;;
	*)
		[ "$("$TOOLS/curl" -sS --max-time 30 --unix-socket "$1" -X PUT -o /dev/null -w '%{http_code}' \
			http://localhost/api/v1/vm.power-button)" = 204 ]
		;;
	esac
}

# vmm_send LINE: types LINE and a newline into the guest's serial port.
vmm_send() { printf '%s\n' "$*" >&7; }

# guest_val KEY EXPR: has the guest's shell print EXPR (which it expands, e.g. '$(cat FILE)') as
# "RIG-VAL KEY=[...]" and prints what is between the brackets (nothing if no answer came within
# $T_CMD). The typed line comes back as the terminal echoes it, with a quote after "RIG-VAL ":
# only the output matches.
guest_val() {
	vmm_send "echo RIG-VAL \"$1=[$2]\""
	wait_for "RIG-VAL $1=" "$VMM_OUT" "$T_CMD" || true
	_gv=$(grep -o "RIG-VAL $1=\[.*\]" "$VMM_OUT" | tr -d '\r' | head -n 1)
	_gv=${_gv#"RIG-VAL $1=["}
	printf '%s' "${_gv%]}"
}

# show_fw_output: what a firmware guest put on its serial line (the first 80 non-empty lines,
# the firmware's terminal escapes taken out), as "| " lines for a failure's log.
show_fw_output() {
	sed 's/\x1b\[[0-9;=]*[A-Za-z]//g' "$VMM_OUT" | tr -d '\r' | grep -v '^ *$' | head -n 80 |
		sed 's/^/| /'
}

# vmm_running: true while the last started VMM has not exited.
vmm_running() { [ -n "${VMM_DIR:-}" ] && [ ! -e "$VMM_DIR/status" ]; }

# file_wait FILE PATTERN SECONDS [COUNT]: waits until FILE holds COUNT (default 1) lines
# matching PATTERN; 1 after SECONDS. For files no VMM of vmm_start writes (the manager's VMs).
file_wait() {
	_end=$(($(now_cs) + $3 * 100))
	while :; do
		_n=$(grep -c -- "$2" "$1" 2>/dev/null)
		[ "${_n:-0}" -ge "${4:-1}" ] && return 0
		[ "$(now_cs)" -ge "$_end" ] && return 1
		sleep 0.3
	done
}

# wait_for PATTERN FILE TIMEOUT [COUNT]: waits until FILE has COUNT (default 1) lines matching the
# basic regex PATTERN. Fails at TIMEOUT seconds, or at once when the VMM has exited or the guest
# kernel panicked.
wait_for() {
	_pat=$1 _file=$2 _count=${4:-1}
	_end=$(($(now_cs) + $3 * 100))
	while :; do
		_n=$(grep -c -- "$_pat" "$_file" 2>/dev/null)
		[ "${_n:-0}" -ge "$_count" ] && return 0
		if ! vmm_running; then
			_n=$(grep -c -- "$_pat" "$_file" 2>/dev/null)
			[ "${_n:-0}" -ge "$_count" ] && return 0
			WAIT_WHY="VMM exited (status $(cat "$VMM_DIR/status")) before '$_pat'"
			return 1
		fi
		if grep -q 'Kernel panic' "$_file" 2>/dev/null; then
			WAIT_WHY="guest kernel panic before '$_pat'"
			return 1
		fi
		if [ "$(now_cs)" -ge "$_end" ]; then
			WAIT_WHY="no '$_pat' within $3 s"
			return 1
		fi
		sleep 0.2
	done
}

# wait_exit TIMEOUT: waits for the VMM to exit; sets VMM_STATUS (its exit status, 128+N if killed
# by signal N). On timeout kills it (TERM, then KILL), sets VMM_STATUS=timeout and fails.
wait_exit() {
	_end=$(($(now_cs) + $1 * 100))
	while vmm_running; do
		if [ "$(now_cs)" -ge "$_end" ]; then
			vmm_kill
			VMM_STATUS=timeout
			WAIT_WHY="VMM still running after $1 s (killed)"
			return 1
		fi
		sleep 0.2
	done
	VMM_STATUS=$(cat "$VMM_DIR/status")
	return 0
}

# vmm_kill: stops the last started VMM, if it still runs.
vmm_kill() {
	vmm_running || return 0
	kill -TERM "$VMM_PID" 2>/dev/null
	_i=0
	while vmm_running && [ $_i -lt 25 ]; do sleep 0.2; _i=$((_i + 1)); done
	vmm_running && kill -KILL "$VMM_PID" 2>/dev/null
	while vmm_running; do sleep 0.1; done
}

# expect_exit0 NAME TIMEOUT: waits for the VMM's exit and fails NAME unless its status is 0.
# Returns non-zero after reporting the failure.
expect_exit0() {
	if ! wait_exit "$2"; then rig_fail "$1" "$WAIT_WHY"; return 1; fi
	if [ "$VMM_STATUS" != 0 ]; then rig_fail "$1" "VMM exit status $VMM_STATUS, expected 0"; return 1; fi
	return 0
}

# --- building blocks shared by several scenarios -------------------------------------------------
# smp_mem_scenario NAME CPUS MEM MEM_MB: boots the smp-mem test and expects PASS and exit 0.
smp_mem_scenario() {
	vmm_start "$1" "$2" "$3" "$L2_BASE_CMDLINE phyllome.test=smp-mem expect_cpus=$2 expect_mem_mb=$4"
	if ! wait_for PHYLLOME-USERSPACE "$VMM_OUT" "$T_BOOT"; then rig_fail "$1" "$WAIT_WHY"; vmm_kill; return; fi
	_t_user=$(since "$VMM_T0")
	if ! wait_for 'PHYLLOME-TEST smp-mem' "$VMM_OUT" "$T_TEST"; then rig_fail "$1" "$WAIT_WHY"; vmm_kill; return; fi
	_t_test=$(since "$VMM_T0")
	expect_exit0 "$1" "$T_EXIT" || return
	_t_exit=$(since "$VMM_T0")
	if grep -q 'PHYLLOME-TEST smp-mem PASS' "$VMM_OUT"; then
		rig_ok "$1" "userspace after ${_t_user}s, result after ${_t_test}s, exit 0 after ${_t_exit}s; $(grep -o 'smp-mem: .*' "$VMM_OUT" | tr -d '\r')"
	else
		rig_fail "$1" "$(grep -o 'PHYLLOME-TEST smp-mem FAIL.*' "$VMM_OUT" | tr -d '\r')"
	fi
}

# console_boot NAME [CPUS MEM]: boots the console test and waits for PHYLLOME-READY; sets
# CONSOLE_T_READY (seconds from the VMM's start).
console_boot() {
	vmm_start "$1" "${2:-1}" "${3:-256M}" "$L2_BASE_CMDLINE phyllome.test=console"
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then rig_fail "$1" "$WAIT_WHY"; vmm_kill; return 1; fi
	# shellcheck disable=SC2034 # used by scenarios
	CONSOLE_T_READY=$(since "$VMM_T0")
}

# --- Secure Boot (OVMF's SMM build; the uefi-secboot scenarios) -----------------------------------
SB_CODE=/guest/OVMF_CODE_4M.secboot.fd
EFIVARS=/sys/firmware/efi/efivars
# sb_boot NAME DISK VARS: starts the SMM firmware on VARS with DISK.
sb_boot() {
	# shellcheck disable=SC2034 # read by vmm_exec
	L2_FW_CODE=$SB_CODE L2_FW_VARS=$3 L2_FW_SMM=1
	vmm_start "$1" 1 512M "" "disk:path=$2"
	unset L2_FW_CODE L2_FW_VARS L2_FW_SMM
}
# sb_ready NAME: waits for the guest kernel's userspace (the console test), mounts efivarfs; sets
# SB_T_USER (seconds from the VMM's start). Reports NAME failed and kills the VMM if it never comes.
sb_ready() {
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
		show_fw_output
		rig_fail "$1" "no kernel userspace: $WAIT_WHY"
		vmm_kill
		return 1
	fi
	# shellcheck disable=SC2034 # used by scenarios
	SB_T_USER=$(since "$VMM_T0")
	vmm_send "mount -t efivarfs none $EFIVARS"
	return 0
}

# --- the Debian system (tests/guests/build-debian.sh) ---------------------------------------------
# rig_disk NAME: L1's block device (/dev/vdX) for the outer QEMU's disk NAME, which a scenario
# asks for with a "# rig-disk: NAME" line (rig.py's disks.py); status 1 if there is none.
rig_disk() {
	for _b in /sys/block/vd*; do
		[ "$(cat "$_b/serial" 2>/dev/null)" = "rig-$1" ] && { echo "/dev/${_b##*/}"; return 0; }
	done
	return 1
}

# debian_start NAME CPUS MEM ARGS [DEVICE...]: vmm_start for the Debian system: its kernel and
# initrd (L1's /guest/debian-*), its root the disk rig-debian (writable: the outer QEMU keeps the
# writes in a temporary overlay) as the guest's first virtio-blk disk, /dev/vda, and the kernel
# command line $DEBIAN_CMDLINE ARGS (ARGS e.g. phyllome.test=boot). DEBIAN_DISK_OPTS is added to
# the root disk's DEVICE word (e.g. ",bus=nvme" with DEBIAN_CMDLINE's root=LABEL=phyllome-debian:
# the initrd has the NVMe, AHCI and virtio drivers). DEBIAN_DISK, when set, is the root disk's
# path (with options: FILE,format=qcow2,backing=on) instead of rig-debian. Fails NAME and returns
# 1 without the disk (no "# rig-disk: debian" line).
DEBIAN_CMDLINE=${DEBIAN_CMDLINE:-console=ttyS0 root=/dev/vda quiet}
debian_start() {
	_dn=$1 _dc=$2 _dm=$3 _da=$4
	shift 4
	if [ -n "${DEBIAN_DISK:-}" ]; then
		_dd=$DEBIAN_DISK
	elif ! _dd=$(rig_disk debian); then
		rig_fail "$_dn" "no Debian disk in L1 (no '# rig-disk: debian' line in the scenario?)"
		return 1
	fi
	_dk=$L2_KERNEL _di=$L2_INITRD
	L2_KERNEL=/guest/debian-vmlinuz L2_INITRD=/guest/debian-initrd.img
	vmm_start "$_dn" "$_dc" "$_dm" "$DEBIAN_CMDLINE $_da" "disk:path=$_dd${DEBIAN_DISK_OPTS:-}" "$@"
	L2_KERNEL=$_dk L2_INITRD=$_di
}

# debian_tests_disk: makes $RIG_WORK/debian-tests.img, an ext4 image labelled phyllome-tests with
# the tests scenarios bring (L1's /guest/debian-extra: tests/guests/debian-extra), and prints its
# path; boot with it as a read-only disk and phyllome.tests=LABEL=phyllome-tests. Needs mke2fs
# (# rig-tools: mke2fs).
debian_tests_disk() {
	rm -f "$RIG_WORK/debian-tests.img"
	"$TOOLS/mke2fs" -q -t ext4 -L phyllome-tests -d /guest/debian-extra "$RIG_WORK/debian-tests.img" 4M >/dev/null &&
		echo "$RIG_WORK/debian-tests.img"
}

# debian_power_off NAME SOCK TEST: once the Debian guest test TEST said "ready for the power
# button", presses the ACPI power button of the VMM started with api-socket:SOCK and expects
# systemd's orderly poweroff ("PHYLLOME-SHUTDOWN poweroff.target") and exit status 0. Sets
# DPO_T (seconds from the press to the exit). On failure reports NAME's failure and returns 1.
debian_power_off() {
	step_wait "$1" "$3" ready "$T_CMD" || return 1
	_t_press=$(now_cs)
	if ! vmm_power_button "$2"; then
		rig_fail "$1" "could not press the power button ($RIG_L2_VMM)"
		vmm_kill
		return 1
	fi
	expect_exit0 "$1" "$T_EXIT" || return 1
	DPO_T=$(since "$_t_press")
	if ! grep -q 'PHYLLOME-SHUTDOWN poweroff.target' "$VMM_OUT"; then
		rig_fail "$1" "the VMM ended with status 0 after the power button, but without systemd's orderly poweroff (no 'PHYLLOME-SHUTDOWN poweroff.target')"
		return 1
	fi
	return 0
}

# debian_root_test NAME SOCK ROOTDEV TEXT [DEVICE...]: boots the Debian system with the test root
# (tests/guests/debian-extra/root.sh, from debian_tests_disk) expecting its root on ROOTDEV (the
# guest's name, e.g. /dev/nvme0n1), writing TEXT to /var/lib/phyllome-root.txt; the root disk is
# debian_start's (DEBIAN_DISK, DEBIAN_DISK_OPTS, DEBIAN_CMDLINE), DEVICEs after the tests' disk;
# then the power button. Returns 0 with RT_DETAIL (the test's PASS detail and times) when the
# guest passed and powered off in order; otherwise reports NAME's failure and returns 1.
debian_root_test() {
	_rn=$1 _rs=$2 _rr=$3 _rt=$4
	shift 4
	if ! _rd=$(debian_tests_disk); then
		rig_fail "$_rn" "could not make the tests' disk (mke2fs)"
		return 1
	fi
	debian_start "$_rn" 2 1G "phyllome.test=root phyllome.tests=LABEL=phyllome-tests debian.root=$_rr debian.text=$_rt" \
		"api-socket:$_rs" "disk:path=$_rd,readonly=on" "$@" || return 1
	step_wait "$_rn" root started "$T_DEBIAN" || return 1
	if ! wait_for 'PHYLLOME-TEST root ' "$VMM_OUT" "$T_DEBIAN"; then
		rig_fail "$_rn" "$WAIT_WHY"
		vmm_kill
		return 1
	fi
	if ! grep -q 'PHYLLOME-TEST root PASS' "$VMM_OUT"; then
		wait_exit "$T_EXIT"
		rig_fail "$_rn" "$(guest_why root) (VMM exit status $VMM_STATUS)"
		return 1
	fi
	_rp=$(since "$VMM_T0")
	RT_DETAIL=$(grep -o 'PHYLLOME-TEST root PASS.*' "$VMM_OUT" | head -n 1 | tr -d '\r' | sed 's/^PHYLLOME-TEST root PASS //')
	debian_power_off "$_rn" "$_rs" root || return 1
	RT_DETAIL="$RT_DETAIL; initrd userspace after ${GT_T_USER}s, test passed after ${_rp}s (VMM start), power button to exit 0 in ${DPO_T}s"
	return 0
}

# debian_demo: run-rig.sh --demo --demo-guest debian: the Debian system's serial console (root
# is logged in) on L1's console, or, without a terminal, a few commands typed into it.
debian_demo() {
	if [ "$RIG_INTERACTIVE" = 1 ]; then
		echo "rig: demo: the Debian system through $RIG_L2_VMM on this console; 'poweroff' in it ends the demo (Ctrl-A x quits QEMU)"
		(
			L2_KERNEL=/guest/debian-vmlinuz L2_INITRD=/guest/debian-initrd.img
			vmm_exec 2 1G "$DEBIAN_CMDLINE" "disk:path=$(rig_disk debian)"
		) </dev/console >/dev/console 2>&1
		echo "rig: demo: VMM exit status $?"
		return
	fi
	echo "rig: demo: stdin is not a terminal; typing a few commands into the Debian system"
	debian_start demo 2 1G "" || return
	tail -f "$VMM_OUT" &
	_tail=$!
	if wait_for 'root@phyllome-debian' "$VMM_OUT" 900; then
		vmm_send 'uname -a; systemctl is-system-running; systemd-analyze; poweroff'
		wait_exit "$T_EXIT" || echo "rig: demo: $WAIT_WHY"
	else
		echo "rig: demo: $WAIT_WHY"
		vmm_kill
	fi
	sleep 0.5
	kill "$_tail"
	echo "rig: demo: VMM exit status ${VMM_STATUS:-?} after $(since "$VMM_T0")s"
}

# --- guest tests with devices (the virtio scenarios) ---------------------------------------------
# A guest test (tests/guests/tests/TEST.sh) prints "PHYLLOME-STEP TEST WHAT..." lines as it goes
# and ends with one "PHYLLOME-TEST TEST PASS [detail]" or "PHYLLOME-TEST TEST FAIL reason" line.

# guest_why TEST: the guest's FAIL reason if it printed one, else $WAIT_WHY.
guest_why() {
	_g=$(grep -o "PHYLLOME-TEST $1 FAIL.*" "$VMM_OUT" 2>/dev/null | head -n 1 | tr -d '\r')
	if [ -n "$_g" ]; then echo "guest: ${_g#PHYLLOME-TEST "$1" FAIL }"; else echo "$WAIT_WHY"; fi
}

# guest_userspace NAME: waits (up to T_BOOT) for the guest's PHYLLOME-USERSPACE and sets GT_T_USER
# (seconds from the VMM's start; the first call per VMM measures it); on failure reports NAME's
# failure, kills the VMM and returns 1. The helpers below call it first: their TIMEOUTs count from
# the guest's userspace on.
guest_userspace() {
	if wait_for PHYLLOME-USERSPACE "$VMM_OUT" "$T_BOOT"; then
		[ "${GT_USER_OF:-}" = "$VMM_DIR" ] || GT_T_USER=$(since "$VMM_T0") GT_USER_OF=$VMM_DIR
		return 0
	fi
	rig_fail "$1" "$WAIT_WHY"
	vmm_kill
	return 1
}

# step_wait NAME TEST WHAT TIMEOUT: waits for the guest's "PHYLLOME-STEP TEST WHAT" line. On
# failure reports NAME's failure (with the guest's reason if it gave one), kills the VMM, returns 1.
step_wait() {
	guest_userspace "$1" || return 1
	wait_for "PHYLLOME-STEP $2 $3" "$VMM_OUT" "$4" && return 0
	_why=$WAIT_WHY
	# a failing guest test prints its reason and powers off: give it a moment
	wait_for "PHYLLOME-TEST $2 " "$VMM_OUT" 2 || WAIT_WHY=$_why
	rig_fail "$1" "waiting for '$3': $(guest_why "$2")"
	vmm_kill
	return 1
}

# step_line TEST WHAT: the guest's "PHYLLOME-STEP TEST WHAT..." line, without that prefix.
step_line() { grep -o "PHYLLOME-STEP $1 $2.*" "$VMM_OUT" | head -n 1 | tr -d '\r' | sed "s/^PHYLLOME-STEP $1 //"; }

# guest_test_end NAME TEST TIMEOUT: waits for TEST's PASS or FAIL line, then for the VMM's exit
# with status 0 (the test powers off). Returns 0 on PASS and exit 0, with GT_DETAIL (what follows
# PASS), GT_T_RESULT and GT_T_EXIT (seconds since the VMM started); otherwise reports NAME's
# failure and returns 1.
guest_test_end() {
	guest_userspace "$1" || return 1
	if ! wait_for "PHYLLOME-TEST $2 " "$VMM_OUT" "$3"; then
		rig_fail "$1" "$WAIT_WHY"; vmm_kill; return 1
	fi
	# shellcheck disable=SC2034 # for scenarios
	GT_T_RESULT=$(since "$VMM_T0")
	if ! grep -q "PHYLLOME-TEST $2 PASS" "$VMM_OUT"; then
		wait_exit "$T_EXIT"
		rig_fail "$1" "$(guest_why "$2") (VMM exit status $VMM_STATUS)"
		return 1
	fi
	expect_exit0 "$1" "$T_EXIT" || return 1
	GT_T_EXIT=$(since "$VMM_T0")
	GT_DETAIL=$(grep -o "PHYLLOME-TEST $2 PASS.*" "$VMM_OUT" | head -n 1 | tr -d '\r' |
		sed "s/^PHYLLOME-TEST $2 PASS *//")
	return 0
}

# Programs from the host that rig.py puts in L1's /usr/local/bin when a scenario names them on a
# "# rig-tools: ..." line (see rig.py's L1_TOOLS). Call them by path: busybox's ash runs its own
# applet of the same name (mke2fs) before looking at PATH.
TOOLS=/usr/local/bin

# need_tools NAME TOOL...: fails NAME and returns 1 unless every TOOL is in L1.
need_tools() {
	NT_NAME=$1; shift
	for _t in "$@"; do
		if [ ! -x "$TOOLS/$_t" ]; then
			rig_fail "$NT_NAME" "$_t is not in L1 (missing from the scenario's '# rig-tools:' line, or not installed on the host)"
			return 1
		fi
	done
	return 0
}

# rand_word: 16 random hex digits.   md5_of FILE: FILE's MD5 (hex only).
rand_word() { head -c 8 /dev/urandom | md5sum | cut -c1-16; }
md5_of() { md5sum <"$1" | cut -d' ' -f1; }
# rand_image IMG MIB: a raw disk image of MIB MiB of random bytes.
rand_image() { head -c $(($2 * 1048576)) /dev/urandom >"$1"; }
# mkext4 IMG SIZE DIR: an ext4 image of SIZE (64M...) holding DIR's files (e2fsprogs' mke2fs -d).
mkext4() { "$TOOLS/mke2fs" -t ext4 -q -F -d "$3" "$1" "$2"; }

# TCP with busybox nc. Its nc quits as soon as its socket reads EOF, and closes its sending half
# when its stdin ends. So the receiving side's stdin must stay open until the sender is done (else
# the sender reads EOF and quits before it has sent everything): tcp_recv_bg holds it open.
# tcp_recv_bg OUT NC-ARGUMENTS...: runs `nc NC-ARGUMENTS >OUT` in the background (for at most
# T_TCP seconds), its stdin a FIFO that never ends; sets TCP_PID.
tcp_recv_bg() {
	_out=$1; shift
	_fifo=$RIG_WORK/.hold.$(rand_word)
	mkfifo "$_fifo"
	exec 8<>"$_fifo"
	timeout "$T_TCP" nc "$@" <"$_fifo" >"$_out" &
	TCP_PID=$!
	exec 8>&-
}

# wait_pid PID TIMEOUT: waits up to TIMEOUT seconds for PID (a child) to end; kills it after that.
# Returns its exit status, or 124 on timeout.
wait_pid() {
	_end=$(($(now_cs) + $2 * 100))
	while kill -0 "$1" 2>/dev/null; do
		if [ "$(now_cs)" -ge "$_end" ]; then
			kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null; return 124
		fi
		sleep 0.2
	done
	wait "$1"
}

# tap_setup NAME IFNAME ADDR/PREFIX: a tap interface in L1 (busybox tunctl) with that address, up.
# Fails NAME and returns 1 if it cannot.
tap_setup() {
	ip link set lo up
	if ! ip link show "$2" >/dev/null 2>&1 && ! tunctl -t "$2" >/dev/null; then
		rig_fail "$1" "cannot create tap $2 (tun module loaded? $(ls /dev/net/tun 2>&1))"
		return 1
	fi
	ip addr flush dev "$2"
	if ! ip addr add "$3" dev "$2" || ! ip link set "$2" up; then
		rig_fail "$1" "cannot configure $2 with $3"
		return 1
	fi
	return 0
}

# --- host steps (rig.py's HOST_STEPS; tests/rig/README.md) ---------------------------------------
# host_net_up NAME: L1's own network card (QEMU user networking; there when a scenario has a
# "# rig-host:" line) up as 10.0.3.15/24, where rig.py forwards the host ports of its host steps.
# Fails NAME and returns 1 without it.   host_net_down: takes it down again.
host_net_up() {
	ip link set lo up
	HOST_IF=
	for _d in /sys/class/net/*; do
		case $(readlink "$_d/device/driver" 2>/dev/null) in */virtio_net) HOST_IF=${_d##*/} ;; esac
	done
	if [ -z "$HOST_IF" ]; then
		rig_fail "$1" "L1 has no network card (no '# rig-host:' line in the scenario? interfaces: $(cd /sys/class/net && echo *))"
		return 1
	fi
	ip addr flush dev "$HOST_IF"
	if ! ip addr add 10.0.3.15/24 dev "$HOST_IF" || ! ip link set "$HOST_IF" up; then
		rig_fail "$1" "cannot configure $HOST_IF as 10.0.3.15/24"
		return 1
	fi
	# QEMU's user network learns L1's MAC address from its ARP request.
	ping -c 1 -W 2 10.0.3.2 >/dev/null 2>&1
	return 0
}
host_net_down() { [ -z "${HOST_IF:-}" ] || { ip addr flush dev "$HOST_IF"; ip link set "$HOST_IF" down; }; }

# rig_host STEP TIMEOUT [ARG...]: asks rig.py to run the host step STEP with the ARGs (the line
# "RIG-HOST STEP ARG..." on the console) and waits up to TIMEOUT seconds for its reply, which
# rig.py types into the console ("RIG-HOST-REPLY STEP STATUS DETAIL"). Sets HOST_STATUS (ok,
# fail, skip; timeout when no reply came; vmm-exited when a VMM that vmm_start started ended
# meanwhile) and HOST_DETAIL; returns 0 if ok.
rig_host() {
	_step=$1 _tmo=$2
	shift 2
	_end=$(($(now_cs) + _tmo * 100))
	HOST_STATUS=timeout HOST_DETAIL="no reply from the host step $_step in $_tmo s"
	echo "RIG-HOST $_step $*"
	while [ "$(now_cs)" -lt "$_end" ]; do
		if [ -n "${VMM_DIR:-}" ] && ! vmm_running; then
			HOST_STATUS=vmm-exited
			HOST_DETAIL="the VMM ended (status $(cat "$VMM_DIR/status")) during the host step $_step"
			return 1
		fi
		# shellcheck disable=SC3045 # busybox ash has read -t
		IFS= read -r -t 5 _l </dev/console || continue
		case $_l in
		"RIG-HOST-REPLY $_step "*)
			_l=${_l#"RIG-HOST-REPLY $_step "}
			HOST_STATUS=${_l%% *} HOST_DETAIL=${_l#"$HOST_STATUS"}
			HOST_DETAIL=${HOST_DETAIL# }
			[ "$HOST_STATUS" = ok ]
			return
			;;
		esac
	done
	return 1
}

# ui_start NAME: `phyllome ui --listen 0.0.0.0:7380` in the background (its output in
# $RIG_WORK/ui.out, .err), reached from the host through the forwarded port; UI_PID is its
# process, UI_URL the path of the one-time link it printed (/login?token=...). Fails NAME (and
# stops it) when it prints no link in 10 s.
ui_start() {
	/rig/bin/phyllome ui --listen 0.0.0.0:7380 >"$RIG_WORK/ui.out" 2>"$RIG_WORK/ui.err" &
	UI_PID=$!
	UI_URL=
	for _ in $(seq 50); do
		UI_URL=$(sed -n 's/.*open http:\/\/[^/]*\(\/login?token=[0-9a-f]*\).*/\1/p' "$RIG_WORK/ui.out")
		[ -n "$UI_URL" ] && return 0
		sleep 0.2
	done
	rig_fail "$1" "phyllome ui printed no link: $(cat "$RIG_WORK/ui.err")"
	kill "$UI_PID"
	return 1
}

# --- the display ------------------------------------------------------------------------------
# api_frame SOCK FILE: the screen of the VMM whose API is on SOCK as a PPM in FILE (the API's
# vm.screenshot, as the manager's screenshot asks it; curl on the "# rig-tools:" line); prints
# how many of its bytes are not black.
api_frame() {
	"$TOOLS/curl" -sS --max-time 30 --unix-socket "$1" -o "$2" \
		'http://localhost/api/v1/vm.screenshot?format=ppm' 2>>"$RIG_WORK/curl.err" || return 1
	_h=$(head -n 3 "$2" | wc -c)
	tail -c +$((_h + 1)) "$2" | tr -d '\000' | wc -c
}

# ppm_pixel FILE X Y: the RGB of a pixel of a binary PPM (header "P6\nW H\n255\n") as 6 hex digits.
ppm_pixel() {
	_hdr=$(head -c 20 "$1" | head -n 3 | wc -c)
	_w=$(head -n 2 "$1" | tail -n 1 | cut -d' ' -f1)
	dd if="$1" bs=1 skip=$((_hdr + 3 * ($3 * _w + $2))) count=3 2>/dev/null | od -An -tx1 | tr -d ' \n'
}

# check_bands NAME FILE W H WHAT: the guest test display's four bands (red, green, blue,
# 0x804020, each a quarter of the screen from the top) at three points each in the PPM FILE of a
# WxH screen. Fails NAME (saying which pixel WHAT has) and kills the VMM if one is wrong.
check_bands() {
	_f=$2 _w=$3 _h=$4
	for _b in 0 1 2 3; do
		case $_b in 0) _want=ff0000 ;; 1) _want=00ff00 ;; 2) _want=0000ff ;; 3) _want=804020 ;; esac
		for _x in 0 $((_w / 2)) $((_w - 1)); do
			_y=$((_b * _h / 4 + _h / 8))
			_got=$(ppm_pixel "$_f" $_x $_y)
			if [ "$_got" != "$_want" ]; then
				rig_fail "$1" "$5: pixel ($_x,$_y) is ${_got:-missing}, expected $_want"
				vmm_kill
				return 1
			fi
		done
	done
}

# check_typed NAME PATTERN WHAT: a command typed into the guest's keyboard (by WHAT) must show its
# output (a line matching PATTERN) on serial within 60 s. If not, fails NAME with what the guest
# saw of its keyboard (i8042 interrupts, input devices, the number of key events recorded) and
# kills the VMM.
check_typed() {
	wait_for "$2" "$VMM_OUT" 60 && return 0
	_why=$WAIT_WHY
	vmm_send "grep -e i8042 /proc/interrupts; grep Name= /proc/bus/input/devices; echo KBDEV=\$(od -An -v -w24 -tu2 /tmp/kbd.ev | wc -l)"
	wait_for '^KBDEV=' "$VMM_OUT" "$T_CMD"
	rig_fail "$1" "command typed $3: $_why; $(grep -e i8042 -e 'Name=' -e '^KBDEV=' "$VMM_OUT" | tr -d '\r' | tr '\n' ' ')"
	vmm_kill
	return 1
}

# check_tablet NAME W H X Y: after pointer moves to (X,Y) and then to (W-1, H/2) on a WxH screen,
# the guest test display's recording of its tablet's events (/tmp/tablet.ev, read through the
# serial shell) must have the absolute positions those scale to (0..32767). Fails NAME (with the
# positions seen) and kills the VMM if not. Sets TABLET_SEEN.
check_tablet() {
	vmm_send "od -An -v -w24 -tu2 /tmp/tablet.ev | awk '\$9 == 3 { print \"TABLET\", \$10, \$11 + \$12 * 65536 }'"
	# shellcheck disable=SC2017 # H/2 first: the pixel row the pointer moved to
	_x1=$(($4 * 32767 / ($2 - 1))) _y1=$(($5 * 32767 / ($3 - 1))) _y2=$(($3 / 2 * 32767 / ($3 - 1)))
	for _want in "TABLET 0 $_x1" "TABLET 1 $_y1" "TABLET 0 32767" "TABLET 1 $_y2"; do
		if ! wait_for "^${_want}[[:space:]]*\$" "$VMM_OUT" "$T_CMD"; then
			rig_fail "$1" "tablet: no '$_want' from the guest's evdev ($(grep '^TABLET' "$VMM_OUT" | tr -d '\r' | tr '\n' ' '))"
			vmm_kill
			return 1
		fi
	done
	# shellcheck disable=SC2034 # for the scenario's result
	TABLET_SEEN="($4,$5) and (right edge, middle) -> evdev ABS_X/ABS_Y $_x1/$_y1 and 32767/$_y2"
}

# passt_start NAME SOCKET [PASST-OPTION...]: starts passt (in the foreground, as nobody) on
# SOCKET in the background (SOCKET's directory becomes world-writable); sets PASST_PID and PASST_LOG. passt copies its addresses and routes
# from a template interface with a default route: L1 has none, so this makes one, dummy0 with
# 10.0.2.15/24 and a default route via 10.0.2.2; passt then hands 10.0.2.15 to the guest by DHCP,
# with 10.0.2.2 as the router, and maps connections to 10.0.2.2 to L1's loopback. Fails NAME and
# returns 1 if passt doesn't create SOCKET within 30 s.
passt_start() {
	PS_NAME=$1 PS_SOCK=$2
	shift 2
	passt_template "$PS_NAME" || return 1
	mkdir -p "$RIG_WORK/passt" "$(dirname "$PS_SOCK")"
	# passt binds its socket after it has become nobody
	chmod 1777 "$(dirname "$PS_SOCK")"
	PASST_LOG=$RIG_WORK/passt/log
	rm -f "$PS_SOCK"
	PASST_NS_EXEC=1 passt_ns "$TOOLS/passt" -f -q --runas 65534:65534 --socket "$PS_SOCK" "$@" \
		>"$PASST_LOG" 2>&1 &
	PASST_PID=$!
	echo "$PASST_PID" >"$RIG_WORK/passt/pid" # /init's clean-up stops it if the scenario doesn't
	PS_I=0
	while [ ! -S "$PS_SOCK" ]; do
		if ! kill -0 "$PASST_PID" 2>/dev/null || [ $PS_I -ge 150 ]; then
			rig_fail "$PS_NAME" "passt did not create $PS_SOCK: $(tr '\n' ' ' <"$PASST_LOG")"
			passt_stop
			return 1
		fi
		sleep 0.2
		PS_I=$((PS_I + 1))
	done
	return 0
}

# passt_template NAME: dummy0 as passt's template interface (10.0.2.15/24, default route via
# 10.0.2.2), from which passt takes the addresses it gives the guest; fails NAME and returns 1.
passt_template() {
	ip link set lo up
	if ! ip link show dummy0 >/dev/null 2>&1 && ! ip link add dummy0 type dummy; then
		rig_fail "$1" "cannot create dummy0 (dummy module loaded?)"
		return 1
	fi
	ip addr flush dev dummy0
	if ! ip addr add 10.0.2.15/24 dev dummy0 || ! ip link set dummy0 up ||
		! ip route replace default via 10.0.2.2 dev dummy0; then
		rig_fail "$1" "cannot configure dummy0 as passt's template interface"
		return 1
	fi
}

# passt_ns CMD...: runs CMD where passt can sandbox itself (passt, or phyllome, which starts the
# VMs' passt). With PASST_NS_EXEC=1 (for a background job: `PASST_NS_EXEC=1 passt_ns CMD &`) the
# job's shell becomes CMD, so that $! is CMD's pid and killing it stops CMD. passt does so with pivot_root() into an empty tmpfs, which fails (EINVAL) while the
# root is L1's initramfs (rootfs), and with a user namespace, which a chroot may not create. So
# CMD runs in a mount namespace of its own whose root is a bind mount of / moved over / (what
# switch_root does): not rootfs, and not a chroot in the kernel's eyes.
passt_ns() {
	mkdir -p /run/passt-root
	# shellcheck disable=SC2016 # expanded by that sh
	${PASST_NS_EXEC:+exec} unshare -m sh -c 'mount -o rbind / /run/passt-root &&
		cd /run/passt-root && mount -o move . / && exec chroot . "$@"' passt-ns "$@"
}

# passt_stop: stops the passt that passt_start started (if it still runs).
passt_stop() {
	[ -n "${PASST_PID:-}" ] || return 0
	kill "$PASST_PID" 2>/dev/null && wait_pid "$PASST_PID" 5 >/dev/null
	echo stopped >"$RIG_WORK/passt/status"
	PASST_PID=
}

# net_scenario NAME passt|tap [MODEL]: the guest test "net" on a NIC (virtio-net, or MODEL: e1000e,
# whose driver the guest then checks it is bound to), and L1 its TCP peer: L1
# serves 256 KiB on port 7777 (the guest fetches them), receives what the guest sends to 7778,
# and sends 256 KiB to the guest's port 7779. passt: the guest gets its address by DHCP and reaches
# L1 through the gateway address (passt maps it to L1's loopback); L1 reaches the guest through
# port 7779 that passt forwards. tap: L1 is 192.168.77.1/24 on tap0, the guest 192.168.77.2.
net_scenario() {
	NS_NAME=$1 NS_KIND=$2 NS_MODEL=${3:-} NS_OK=
	head -c 262144 /dev/urandom >"$RIG_WORK/fetch.bin"
	head -c 262144 /dev/urandom >"$RIG_WORK/in.bin"
	case $NS_KIND in
	passt)
		need_tools "$NS_NAME" passt || return
		passt_start "$NS_NAME" "$RIG_WORK/passt/passt.sock" -t 7779 || return
		NS_DEV=net:passt=$RIG_WORK/passt/passt.sock NS_ARGS=net.addr=dhcp NS_GUEST=127.0.0.1
		;;
	tap)
		tap_setup "$NS_NAME" tap0 192.168.77.1/24 || return
		NS_DEV=net:tap=tap0 NS_ARGS="net.addr=192.168.77.2/24 net.peer=192.168.77.1" NS_GUEST=192.168.77.2
		;;
	esac
	if [ -n "$NS_MODEL" ]; then
		NS_DEV=$NS_DEV,model=$NS_MODEL NS_ARGS="$NS_ARGS net.driver=$NS_MODEL"
	fi
	timeout "$T_TCP" nc -l -p 7777 <"$RIG_WORK/fetch.bin" >/dev/null &
	NS_FETCH_PID=$!
	tcp_recv_bg "$RIG_WORK/recv.bin" -l -p 7778
	NS_RECV_PID=$TCP_PID
	vmm_start "$NS_NAME" 1 256M "$L2_BASE_CMDLINE phyllome.test=net $NS_ARGS net.fetch_md5=$(md5_of "$RIG_WORK/fetch.bin") net.in_md5=$(md5_of "$RIG_WORK/in.bin")" "$NS_DEV"
	if step_wait "$NS_NAME" net up "$T_TEST" && step_wait "$NS_NAME" net sent "$T_TEST"; then
		NS_WANT=$(step_line net sent | sed -n 's/.*md5=\([0-9a-f]*\).*/\1/p')
		wait_pid "$NS_RECV_PID" 30
		NS_ST=$?
		NS_GOT=$(md5_of "$RIG_WORK/recv.bin")
		if [ "$NS_GOT" != "$NS_WANT" ]; then
			rig_fail "$NS_NAME" "L1 received $(wc -c <"$RIG_WORK/recv.bin") bytes on port 7778 (nc status $NS_ST), MD5 $NS_GOT; the guest sent 262144 with MD5 $NS_WANT"
			vmm_kill
		elif step_wait "$NS_NAME" net listening "$T_TEST"; then
			timeout 60 nc "$NS_GUEST" 7779 <"$RIG_WORK/in.bin" >/dev/null 2>"$RIG_WORK/nc.err"
			NS_ST=$?
			if guest_test_end "$NS_NAME" net "$T_TEST"; then
				rig_ok "$NS_NAME" "$GT_DETAIL; L1 got the guest's bytes (MD5 ok); userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
				NS_OK=1
			elif [ "$NS_ST" != 0 ]; then
				echo "---- $NS_NAME: L1's nc to $NS_GUEST:7779 ended with status $NS_ST: $(cat "$RIG_WORK/nc.err")"
			fi
		fi
	fi
	kill "$NS_FETCH_PID" "$NS_RECV_PID" 2>/dev/null
	wait_pid "$NS_FETCH_PID" 5
	wait_pid "$NS_RECV_PID" 5
	if [ "$NS_KIND" = passt ]; then
		passt_stop
		[ -z "$NS_OK" ] && [ -s "$PASST_LOG" ] && sed 's/^/passt: /' "$PASST_LOG" | grep -v -e 'syslog' -e AVX2 | head -n 20
	fi
	return 0
}

# hz_near MEASURE WANT PERCENT [KEY]: wavtool's MEASURE has KEY= (default hz) within PERCENT of
# WANT.
hz_near() {
	echo "$1" | awk -v w="$2" -v p="$3" -v k="${4:-hz}=" '{ for (i = 1; i <= NF; i++) if (index($i, k) == 1) h = substr($i, length(k) + 1) }
		END { d = h - w; if (d < 0) d = -d; exit !(h != "" && d <= w * p / 100) }'
}
