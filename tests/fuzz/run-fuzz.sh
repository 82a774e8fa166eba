#!/bin/sh
# Runs a libFuzzer target for a fixed number of runs over its seed corpus, deterministically
# (fixed seed, fresh scratch corpus: the seed directory in the source tree is never written).
#   run-fuzz.sh FUZZER SEED_DIR ARTIFACT_DIR
# PHYLLOME_FUZZ_RUNS overrides the number of runs (default 20000). A finding exits 1 (libFuzzer's
# default, 77, would read as "skipped" to meson).
set -eu
fuzzer=$1
seeds=$2
artifacts=$3
mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$fuzzer" -seed=1 -runs="${PHYLLOME_FUZZ_RUNS:-20000}" -error_exitcode=1 -print_final_stats=1 \
	-artifact_prefix="$artifacts/" "$work" "$seeds"
