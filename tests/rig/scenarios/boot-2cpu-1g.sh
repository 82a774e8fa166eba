# 2 vCPUs, 1 GiB: the smp-mem guest test must print PASS and the VMM exit 0.
# shellcheck shell=sh
smp_mem_scenario boot-2cpu-1g 2 1G 1024
