# Shared-folder benchmark, run inside the rig's L1 (bench/run-fs-bench.sh puts it there as an
# extra scenario beside io-bench.sh, whose machinery it runs): phyllome-vmm's virtio-fs against
# QEMU's 9p, each VM sharing a tmpfs of L1's of its own, the guest running bench/l2/fs-bench.sh
# (small files: create, read, stat, delete; a big file: write, read). Same rounds, medians,
# counters and report lines as the I/O benchmark (bench/l1/io-bench.sh has the settings); only
# the configurations, the guest's test and its phases differ. No traced round.
# rig-tools: qemu-img
# shellcheck shell=sh

IOB_CONFIGS=${IOB_CONFIGS:-phyllome-fs,qemu-9p}
# shellcheck disable=SC2034 # io-bench.sh reads them
IOB_TEST=fs-bench
# shellcheck disable=SC2034
IOB_PHASES="smallcreate smallread smallstat smalldelete bigwrite bigread"
IOB_TRACE=${IOB_TRACE:-0}
# 9p created 2,000 files in more than 300 s on a loaded host (2026-12-07)
IOB_PHASE_SECS=${IOB_PHASE_SECS:-1200}
# shellcheck source=bench/l1/io-bench.sh
. /rig/scenarios/io-bench.sh
for _m in /tmp/iob-fs*; do umount "$_m" 2>/dev/null; done
