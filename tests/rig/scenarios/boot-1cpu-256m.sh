# 1 vCPU, 256 MiB: the smp-mem guest test must print PASS and the VMM exit 0.
# shellcheck shell=sh
smp_mem_scenario boot-1cpu-256m 1 256M 256
