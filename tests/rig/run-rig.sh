#!/bin/bash
# The nested-virtualization rig (see README.md in this folder):
#   tests/rig/run-rig.sh --vmm PATH [--scenarios a,b,c] [--tap]
#   tests/rig/run-rig.sh --vmm PATH --demo [--demo-guest busybox|debian|desktop [--demo-check]]
#   tests/rig/run-rig.sh --l2-vmm qemu [--scenarios ...]     (Debian's QEMU as the L2 VMM)
set -euo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/rig.py" "$@"
