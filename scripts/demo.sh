#!/usr/bin/env bash
# The main job: build the brine CLI (release) and run it on the bundled sample model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release
sample=examples/samples/tiny_mlp.pt
echo
echo "\$ brine version"
build/release/brine version
echo "\$ brine sha256 $sample"
build/release/brine sha256 "$sample"
