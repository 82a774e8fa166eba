# The README's demo in L1 (run-rig.sh --demo --demo-guest desktop; scripts/demo.sh where the host
# has no hardware KVM), sourced by /init: /rig/demo-vm.sh (scripts/demo-vm.sh) runs the Debian
# system with a screen as a VM of the manager and `phyllome ui --listen 0.0.0.0:7380`, which
# rig.py forwards from a host port (L1's network card, as for host steps). Its lines go to L1's
# console, where rig.py shows them; the demo ends when rig.py types "RIG-DEMO-STOP" into the
# console (Ctrl-C on the host), or when demo-vm.sh ends. rig.py reads the lines below as a
# scenario's.
# rig-tools: mke2fs curl
# rig-data: novnc phyllome-ui
# rig-disk: debian
# rig-host: demo-ui
# shellcheck shell=sh

demo_desktop() {
	host_net_up demo || return 1
	if ! _root=$(rig_disk debian); then
		echo "demo: error: no Debian disk in L1"
		return 1
	fi
	export PHYLLOME_STATE="$RIG_WORK/st" MKE2FS="$TOOLS/mke2fs"
	sh /rig/demo-vm.sh /rig/bin/phyllome "$RIG_WORK" /guest/debian-vmlinuz /guest/debian-initrd.img \
		"$_root" 0.0.0.0:7380 /guest/debian-extra /rig/bin/rfbtool &
	_demo=$!
	while kill -0 "$_demo" 2>/dev/null; do
		# shellcheck disable=SC3045 # busybox ash has read -t
		IFS= read -r -t 2 _l </dev/console || continue
		case $_l in *RIG-DEMO-STOP*) kill -TERM "$_demo" ;; esac
	done
	wait "$_demo"
	_rc=$?
	host_net_down
	echo "RIG-DEMO-END $_rc"
	return "$_rc"
}
