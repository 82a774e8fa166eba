# virtio-console (the guest's /dev/hvc0): output into --console file=PATH (hvc0/file), and input and
# output through --console socket=PATH with socat as the client (hvc0/socket).
# rig-tools: socat
# shellcheck shell=sh
w=$(rand_word)
f=$RIG_WORK/hvc0.out
vmm_start hvc0-file 1 256M "$L2_BASE_CMDLINE phyllome.test=hvc0 hvc.mode=file hvc.word=$w" "console:file=$f"
if guest_test_end hvc0/file hvc0 "$T_TEST"; then
	if grep -q "PHYLLOME-HVC0 $w" "$f"; then
		rig_ok hvc0/file "the guest's line is in the console file; userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
	else
		rig_fail hvc0/file "no 'PHYLLOME-HVC0 $w' in the console file; it holds: $(head -c 200 "$f" | tr -d '\r' | tr '\n' ' ')"
	fi
fi

w=$(rand_word)
sock=$RIG_WORK/hvc0.sock
if need_tools hvc0/socket socat; then
	vmm_start hvc0-socket 1 256M "$L2_BASE_CMDLINE phyllome.test=hvc0 hvc.mode=socket hvc.word=$w" "console:socket=$sock"
	i=0
	while [ ! -S "$sock" ] && vmm_running && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if [ ! -S "$sock" ]; then
		rig_fail hvc0/socket "the VMM made no socket $sock"
		vmm_kill
	else
		# socat's input: a FIFO that this shell holds open (fd 9) and writes the line into.
		mkfifo "$RIG_WORK/hvc-in"
		exec 9<>"$RIG_WORK/hvc-in"
		"$TOOLS/socat" - "UNIX-CONNECT:$sock" <"$RIG_WORK/hvc-in" >"$RIG_WORK/hvc0-socket.out" 2>"$RIG_WORK/socat.err" &
		socat_pid=$!
		if step_wait hvc0/socket hvc0 waiting "$T_TEST"; then
			echo "$w" >&9
			if ! wait_for "PHYLLOME-HVC0-REPLY $w" "$RIG_WORK/hvc0-socket.out" "$T_TEST"; then
				rig_fail hvc0/socket "no reply on the socket: $WAIT_WHY; $(guest_why hvc0); socket got: $(head -c 200 "$RIG_WORK/hvc0-socket.out" | tr -d '\r' | tr '\n' ' '); socat: $(head -c 200 "$RIG_WORK/socat.err")"
				vmm_kill
			elif guest_test_end hvc0/socket hvc0 "$T_TEST"; then
				rig_ok hvc0/socket "L1 sent a line through the socket, the guest read it from /dev/hvc0 and answered; userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
			fi
		fi
		exec 9>&-
		kill "$socat_pid" 2>/dev/null
		wait_pid "$socat_pid" 5
	fi
fi
