# The e1000e NIC (--net passt=SOCKET,model=e1000e): the guest's own e1000e driver binds to it, gets
# a link and an address by DHCP from passt, then TCP both ways with L1, as net-passt does for
# virtio-net.
# rig-tools: passt
# shellcheck shell=sh
net_scenario net-e1000e passt e1000e
