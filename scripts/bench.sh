#!/usr/bin/env bash
# Builds and runs the benchmark program (brine vs OpenSSL and zlib, same run, this machine).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
cmake --preset bench >/dev/null
cmake --build --preset bench
build/bench/tests/bench/brine_bench "$@"
# The pickle scan at 8 MiB until the value graph stops costing a node per scalar (issue 4 notes).
build/bench/tests/bench/brine_pickle_scan --size 8
