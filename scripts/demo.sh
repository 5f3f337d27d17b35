#!/usr/bin/env bash
# The main job: build the brine CLI (release) and run it on the bundled sample model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release
echo
echo "\$ brine version"
build/release/brine version
hostile=examples/samples/tiny_mlp_with_payload.pt
out=$(mktemp -d)/tiny_mlp.clean.pt
run() { echo "\$ brine $*"; build/release/brine "$@" || echo "(exit $?)"; echo; }
run scan examples/samples
run disarm "$hostile" "$out"
run info "$out"
run scan "$out"
