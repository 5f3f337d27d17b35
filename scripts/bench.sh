#!/usr/bin/env bash
# Builds and runs the benchmark programs (brine vs OpenSSL, zlib, cp, torch; same run, this machine).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
cmake --preset bench >/dev/null
cmake --build --preset bench
build/bench/tests/bench/brine_bench "$@"
build/bench/tests/bench/brine_pickle_scan --size 64
build/bench/tests/bench/brine_disarm_bench --brine build/bench/brine
# Reuses the model the disarm benchmark wrote (same default directory).
build/bench/tests/bench/brine_seal_bench --brine build/bench/brine
