# The hostile guest (tests/guests/hostile) attacks every virtio device with malformed
# descriptors, the NVMe controller with malformed queues, PRP lists and commands (each answered
# with the spec's status), the xHCI controller (--usb) with garbage commands, contexts, rings and
# registers, the e1000e NIC (on a tap, L1 192.168.78.1) with rings and buffers outside RAM,
# malformed descriptors and register garbage (each bad request failing alone, then an ARP exchange
# with L1 through it), the HD Audio controller (--sound) with CORB, RIRB and descriptor lists
# outside RAM and garbage streams and registers (a verb still answered afterwards), and writes garbage to every BAR register and I/O port; the VMM must stay up,
# refuse each bad request with DEVICE_NEEDS_RESET, still answer well-formed requests, and
# exit 0 when the guest powers off.
# shellcheck shell=sh
if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip hostile "the hostile guest checks phyllome-vmm's answers"
elif [ ! -f /guest/hostile.bzImage ]; then
	rig_fail hostile "no /guest/hostile.bzImage in L1 (tests/guests/build-guests.sh builds it)"
elif tap_setup hostile htap0 192.168.78.1/24; then
	d=$RIG_WORK/hostile-files
	mkdir -p "$d"
	dd if=/dev/zero of="$d/disk.img" bs=1M count=8 2>/dev/null
	dd if=/dev/zero of="$d/nvme.img" bs=1M count=8 2>/dev/null
	VMM_DIR=$RIG_WORK/hostile
	rm -rf "$VMM_DIR"
	mkdir -p "$VMM_DIR"
	VMM_OUT=$VMM_DIR/serial.out VMM_ERR=$VMM_DIR/stderr
	t0=$(now_cs)
	"$RIG_VMM" --kernel /guest/hostile.bzImage --memory size=256M --serial "file=$VMM_OUT" \
		--disk "path=$d/disk.img" --disk "path=$d/nvme.img,bus=nvme" --rng --console "file=$VMM_DIR/hvc" --display none --usb \
		--net tap=htap0,model=e1000e --sound "wav=$d/sound.wav" \
		>/dev/null 2>"$VMM_ERR" &
	pid=$!
	end=$(($(now_cs) + T_BOOT * 100))
	while kill -0 "$pid" 2>/dev/null && [ "$(now_cs)" -lt "$end" ]; do sleep 0.5; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		rig_fail hostile "still running after ${T_BOOT}s: $(tail -n 1 "$VMM_OUT" 2>/dev/null)"
	else
		wait "$pid"
		status=$?
		refused=$(grep -c 'malformed requests refused' "$VMM_OUT")
		steps=$(grep 'PHYLLOME-HOSTILE-STEP' "$VMM_OUT" | tr -d '\r' | sed 's/PHYLLOME-HOSTILE-STEP //' |
			tr '\n' ';')
		if [ "$status" = 0 ] && grep -q 'PHYLLOME-HOSTILE PASS' "$VMM_OUT"; then
			# The VMM's one-line warnings show which attacks reached a device's checks.
			warned=$(grep -c 'warning' "$VMM_ERR")
			rig_ok hostile "exit 0 after $(since "$t0")s; $refused devices attacked: $steps; the VMM warned $warned times (e1000e: $(grep 'e1000e' "$VMM_ERR" | sed 's/.*e1000e[0-9]*: //' | tr '\n' ';'))"
		else
			rig_fail hostile "status $status; $steps"
		fi
	fi
fi
