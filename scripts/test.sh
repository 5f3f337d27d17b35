#!/usr/bin/env bash
# Installs the test dependencies and runs every test, in three builds:
#   dev       -Wall -Wextra -Wpedantic -Werror; unit tests, single-header suite, consumers, fuzz replays
#   asan      the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   noexcept  the same tests compiled with -fno-exceptions -fno-rtti
# Usage: scripts/test.sh [preset...]   (default: dev asan noexcept)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test

presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(dev asan noexcept)
jobs=$(nproc 2>/dev/null || echo 2)

# Each phase's wall time is printed: CI must stay under 20 minutes.
for preset in "${presets[@]}"; do
    echo "==== $preset ===="
    started=$SECONDS
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$jobs"
    built=$SECONDS
    ctest --preset "$preset" -j "$jobs"
    echo "==== $preset: built in $((built - started)) s, tested in $((SECONDS - built)) s ===="
done
echo "==== all presets: $SECONDS s ===="
