# The e1000e NIC on a tap (--net tap=tap0,model=e1000e): the guest's own e1000e driver, TCP both
# ways with L1 (256 KiB each way, MD5-checked), as net-tap does for virtio-net. The tap takes TCP
# segmentation: the NIC hands the guest's TSO packets to it whole with a virtio-net GSO header
# and L1's kernel segments them (src/devices/e1000e_ring.c); net-e1000e covers passt, where the
# NIC segments them itself.
# shellcheck shell=sh
net_scenario net-e1000e-tap tap e1000e
