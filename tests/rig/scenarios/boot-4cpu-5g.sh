# 4 vCPUs, 5 GiB: RAM above 4 GiB must be usable (the smp-mem test's MemTotal bound proves it).
# shellcheck shell=sh
smp_mem_scenario boot-4cpu-5g 4 5G 5120
