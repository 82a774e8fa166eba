# virtio-net with passt (--net passt=SOCKET): DHCP from passt, then TCP both ways with L1 (the
# guest reaches L1's loopback through passt's gateway address; L1 reaches the guest through a port
# passt forwards).
# rig-tools: passt
# shellcheck shell=sh
net_scenario net-passt passt
