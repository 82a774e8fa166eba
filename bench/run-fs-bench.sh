#!/bin/bash
# Shared-folder benchmark: phyllome-vmm's virtio-fs (--fs) against Debian's QEMU 9p
# (-fsdev local + virtio-9p-pci, mounted trans=virtio,version=9p2000.L,msize=512000), in ONE rig
# run: the same L2 kernel, vCPUs and RAM, each VM sharing a tmpfs of L1's of its own;
# interleaved rounds, medians. Small files (--files N, 2000, of 4 KiB: create, read, stat,
# delete; files/s) and a big file (--seq-mib 256: sequential write with fsync, then read, MiB/s),
# the guest's caches dropped before each read. It is bench/run-io-bench.sh --bench fs (the same
# options, see its --help); method and results: docs/benchmarks.md, "Shared folders".
#
# The rig's outer QEMU runs pinned to the host's last CPU (--pin-cpu, see run-io-bench.sh: unpinned,
# L1 stopped for good during this bench's run 2) unless --pin-cpu is given or the host has one CPU.
#
#   bench/run-fs-bench.sh [--runs 5] [--files 2000] [--seq-mib 256] [--pin-cpu N] [--out DIR]
#                         [-- run-rig.sh options]
pin=()
case " $* " in *" --pin-cpu "*) ;; *) [ "$(nproc)" -gt 1 ] && pin=(--pin-cpu $(($(nproc) - 1))) ;; esac
exec "$(dirname "${BASH_SOURCE[0]}")/run-io-bench.sh" --bench fs "${pin[@]}" "$@"
