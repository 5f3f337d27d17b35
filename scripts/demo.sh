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
work=$(mktemp -d)
out=$work/tiny_mlp.clean.pt
run() { echo "\$ brine $*"; build/release/brine "$@" || echo "(exit $?)"; echo; }
run scan examples/samples
run disarm "$hostile" "$out"
run info "$out"
run scan "$out"
# Moving Target Defense: seal under a key, verify, then change one weight and verify again.
run keygen "$work/demo.key"
run seal "$out" "$work/tiny_mlp.sealed.pt" --key "$work/demo.key"
run verify "$work/tiny_mlp.sealed.pt" --key "$work/demo.key"
echo "(flipping one bit of one weight in a copy, as an attacker with write access would)"
/usr/bin/env python3 - "$work/tiny_mlp.sealed.pt" "$work/tiny_mlp.tampered.pt" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
with zipfile.ZipFile(sys.argv[2], "w") as z:
    flipped = False
    for name, data in items:
        if "/data/" in name and not flipped and len(data) > 8:
            data = data[:8] + bytes([data[8] ^ 1]) + data[9:]
            flipped = True
        z.writestr(name, data)
PY
echo
run verify "$work/tiny_mlp.tampered.pt" --key "$work/demo.key"
