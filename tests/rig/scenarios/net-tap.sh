# virtio-net on a tap device (--net tap=tap0): TCP both ways between L1 (192.168.77.1 on tap0) and
# the guest (192.168.77.2).
# shellcheck shell=sh
net_scenario net-tap tap
