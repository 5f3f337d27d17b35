#!/usr/bin/python3
"""The blocks and chacha20 seal strategies (issue 20, part 5) against real PyTorch.

    check_mtd_strategies.py BRINE PROJECT_DIR SCRATCH

Runs under either PyTorch (Debian's 1.13 or the 2.13 venv). The models are made here, seeded:
  encoder12  nn.TransformerEncoder of 12 identical layers (one class of 12 blocks)
  resnet     a stem, layer1 of 4 identical residual blocks, layer2 of a downsampling block and
             3 identical ones, a head (classes layer1 {0..3} and layer2 {1, 2, 3})
  mlp        Sequential(Linear(16, 32), ReLU, Linear(32, 4)): no two blocks alike
and torch-written fixtures (every dtype, views sharing storage, sparse, quantized, a ViT).

blocks:
  - seal exits 0 and verify says intact; the sealed file loads with weights_only=True; it holds
    the same tensors as the original, moved between blocks: the sealed model computes something
    else (an arrangement that moved nothing, once in 144 seals of the resnet, is sealed again);
  - its records are named data/0, data/1... in the order the pickle first names them, as
    torch.save names them, so the record names do not give the arrangement away;
  - restore gives tensors bit-identical to the original, and the same outputs, exactly;
  - the mlp has no two identical blocks: seal exits 2, names what it needs, writes nothing;
  - a manifest plan line rewritten (an authentic manifest cannot be) makes verify exit 3.
chacha20:
  - seal, verify intact; the sealed file loads with weights_only=True; every tensor of 4+ bytes
    outside sparse index structures differs, and so does its sorted value multiset (what
    rank-matching against a close model needs), where `elements` keeps the multiset;
  - restore gives tensors bit-identical to the original;
  - one flipped ciphertext byte: verify exit 3 naming the tensor, restore exit 3, no output.
"""

import os
import subprocess
import sys
import zipfile

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_tensors import load, raw, same_tensors, tensors  # noqa: E402

BRINE, PROJECT, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(SCRATCH, exist_ok=True)
BENIGN = os.path.join(PROJECT, "tests", "fixtures", "torch", "benign")
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


class Residual(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 1, 1)
        self.layer1 = nn.Sequential(*[Residual(8, 8, 1) for _ in range(4)])
        self.layer2 = nn.Sequential(Residual(8, 16, 2), *[Residual(16, 16, 1) for _ in range(3)])
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.head(x.mean(dim=(2, 3)))


def randomize_norms(model):
    """BatchNorm running statistics away from 0/1, so that every block computes something of its own."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)


def make_models():
    torch.manual_seed(20)
    layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
    encoder = nn.TransformerEncoder(layer, num_layers=12, enable_nested_tensor=False)
    for p in encoder.parameters():  # TransformerEncoder deep-copies one layer: make each its own
        with torch.no_grad():
            p.uniform_(-0.5, 0.5)
    resnet = ResNet()
    randomize_norms(resnet)
    mlp = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    models = {"encoder12": (encoder, torch.randn(3, 5, 16)), "resnet": (resnet, torch.randn(2, 3, 8, 8)),
              "mlp": (mlp, torch.randn(4, 16))}
    for name, (model, _) in models.items():
        model.eval()
        torch.save(model.state_dict(), path(name + ".pt"))
    return models


def outputs(model, state, inputs):
    model.load_state_dict(state)
    with torch.no_grad():
        return model(inputs)


key = path("seal.key")
if os.path.exists(key):
    os.remove(key)
check(brine("keygen", key).returncode == 0, "keygen")
models = make_models()


def record_names(p):
    with zipfile.ZipFile(p) as z:
        return [n.split("/", 1)[1] for n in z.namelist() if "/data/" in n]


# blocks
for name in ("encoder12", "resnet"):
    model, inputs = models[name]
    original = path(name + ".pt")
    sealed, restored = path(name + ".blocks.pt"), path(name + ".blocks.restored.pt")
    expected = load(original)
    reference = outputs(model, expected, inputs)
    # The resnet's classes of 4 and 3 blocks are arranged as they were once in 4! x 3! = 144 seals:
    # seal again (a fresh salt) until they moved, so that what follows tests a real arrangement.
    for attempt in range(8):
        if os.path.exists(sealed):
            os.remove(sealed)
        done = brine("seal", original, sealed, "--key", key, "--permute", "blocks")
        if done.returncode != 0 or not same_tensors(load(sealed), expected):
            break
    check(done.returncode == 0, f"{name}/blocks: seal exit {done.returncode}: {done.stderr.strip()}")
    if done.returncode != 0:
        continue
    plan = done.stdout.split("blocks plan:\n", 1)[1].split() if "blocks plan:\n" in done.stdout else []
    wanted = ["12", *map(str, range(12)), "layers"] if name == "encoder12" else \
        ["4", "0", "1", "2", "3", "layer1", "3", "1", "2", "3", "layer2"]
    check(plan == wanted, f"{name}/blocks: plan {plan} (expected {wanted})")
    verified = brine("verify", sealed, "--key", key)
    check(verified.returncode == 0, f"{name}/blocks: verify exit {verified.returncode}: {verified.stdout.strip()}")
    state = load(sealed)
    check(state.keys() == expected.keys(), f"{name}/blocks: same tensor names")
    check(sorted(raw(t) for t in state.values()) == sorted(raw(t) for t in expected.values()),
          f"{name}/blocks: the same tensors, moved")
    check(not same_tensors(state, expected), f"{name}/blocks: tensors moved between blocks")
    check(not torch.allclose(outputs(model, state, inputs), reference), f"{name}/blocks: the sealed model computes another function")
    names = record_names(sealed)
    check(names == [f"data/{i}" for i in range(len(names))], f"{name}/blocks: records named as torch.save names them: {names[:6]}")
    back = brine("restore", sealed, restored, "--key", key)
    check(back.returncode == 0, f"{name}/blocks: restore exit {back.returncode}: {back.stderr.strip()}")
    if back.returncode == 0:
        again = load(restored)
        check(same_tensors(again, expected), f"{name}/blocks: restored tensors bit-identical")
        check(torch.equal(outputs(model, again, inputs), reference), f"{name}/blocks: restored model computes the same")
        check(record_names(restored) == names, f"{name}/blocks: restored records named and ordered as brine writes them")

# No two identical blocks: refused, nothing written.
refused = path("mlp.blocks.pt")
done = brine("seal", path("mlp.pt"), refused, "--key", key, "--permute", "blocks")
check(done.returncode == 2 and "structurally identical blocks" in done.stderr and not os.path.exists(refused),
      f"mlp/blocks: refused (exit {done.returncode}: {done.stderr.strip()})")

# A plan line changed in a detached manifest (the file itself untouched): not authentic.
detached, manifest = path("encoder12.detached.pt"), path("encoder12.manifest")
done = brine("seal", path("encoder12.pt"), detached, "--key", key, "--permute", "blocks", "--manifest", manifest)
check(done.returncode == 0, f"detached blocks seal: exit {done.returncode}: {done.stderr.strip()}")
if done.returncode == 0:
    text = open(manifest, "rb").read()
    check(b"plan =12%200%201" in text, "detached blocks seal: the plan is in the manifest")
    with open(manifest, "wb") as f:
        f.write(text.replace(b"plan =12%200%201%202", b"plan =12%201%200%202", 1))
    verified = brine("verify", detached, "--key", key, "--manifest", manifest)
    check(verified.returncode == 3, f"rewritten blocks plan: verify exit {verified.returncode} (expected 3)")
    back = brine("restore", detached, path("encoder12.detached.restored.pt"), "--key", key, "--manifest", manifest)
    check(back.returncode == 3 and not os.path.exists(path("encoder12.detached.restored.pt")),
          f"rewritten blocks plan: restore exit {back.returncode}, nothing written")

# chacha20
# Full loader (our own fixtures): torch 1.13 weights_only lacks BINFLOAT and _rebuild_qtensor, torch
# 2.13 refuses _rebuild_sparse_csr_tensor.
FULL_LOADER = {"dtypes_all", "quantized", "sparse"}
inputs_for_chacha = {
    "encoder12": path("encoder12.pt"),
    "resnet": path("resnet.pt"),
    "dtypes_all": os.path.join(BENIGN, "dtypes_all.pt"),
    "views_shared_storage": os.path.join(BENIGN, "views_shared_storage.pt"),
    "sparse": os.path.join(BENIGN, "sparse.pt"),
    "quantized": os.path.join(BENIGN, "quantized.pt"),
    "vit_tiny": os.path.join(BENIGN, "vit_tiny_state_dict.pth"),
}
if int(torch.__version__.split(".")[0]) >= 2:
    # torch 1.13 wrote its CSR tensor with torch._utils._rebuild_sparse_csr_tensor, which 2.x no
    # longer has: torch 2.13 cannot load the fixture itself, sealed or not.
    del inputs_for_chacha["sparse"]


def value_bytes(t):
    """The bytes the strategy may change: a sparse tensor's values only (its indices stay in clear)."""
    if t.is_sparse:
        return raw(t.coalesce().values())
    if t.layout == torch.sparse_csr:
        return raw(t.values())
    return raw(t)


def sorted_values(t):
    t = t.detach()
    if t.is_sparse:
        t = t.coalesce().values()
    if t.layout == torch.sparse_csr:
        t = t.values()
    if t.is_quantized:
        t = t.int_repr()
    if t.is_complex():
        t = torch.view_as_real(t)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return bytes(t.reshape(-1).sort().values.contiguous().view(torch.uint8).numpy()) if t.numel() else b""


for name, original in inputs_for_chacha.items():
    full = name in FULL_LOADER
    expected = load(original, full)
    sealed, restored = path(name + ".chacha20.pt"), path(name + ".chacha20.restored.pt")
    done = brine("seal", original, sealed, "--key", key, "--permute", "chacha20", "--quiet")
    check(done.returncode == 0, f"{name}/chacha20: seal exit {done.returncode}: {done.stderr.strip()}")
    if done.returncode != 0:
        continue
    verified = brine("verify", sealed, "--key", key)
    check(verified.returncode == 0, f"{name}/chacha20: verify exit {verified.returncode}: {verified.stdout.strip()}")
    state = tensors(load(sealed, full))
    before = tensors(expected)
    check(state.keys() == before.keys(), f"{name}/chacha20: same tensor names")
    hidden = [k for k in before if len(value_bytes(before[k])) >= 4]
    check(all(value_bytes(state[k]) != value_bytes(before[k]) for k in hidden),
          f"{name}/chacha20: every tensor's bytes differ: {[k for k in hidden if value_bytes(state[k]) == value_bytes(before[k])][:3]}")
    float_like = [k for k in hidden if before[k].is_floating_point() and before[k].numel() >= 4]
    check(all(sorted_values(state[k]) != sorted_values(before[k]) for k in float_like),
          f"{name}/chacha20: every value set differs")
    back = brine("restore", sealed, restored, "--key", key)
    check(back.returncode == 0, f"{name}/chacha20: restore exit {back.returncode}: {back.stderr.strip()}")
    if back.returncode == 0:
        check(same_tensors(load(restored, full), expected), f"{name}/chacha20: restored tensors bit-identical")

# What elements leaves and chacha20 hides: the value multiset of a weight.
elements = path("resnet.elements.pt")
check(brine("seal", path("resnet.pt"), elements, "--key", key, "--permute", "elements", "--quiet").returncode == 0,
      "resnet/elements: seal")
if os.path.exists(elements) and os.path.exists(path("resnet.chacha20.pt")):
    w = "layer1.0.conv1.weight"
    plain, shuffled, encrypted = load(path("resnet.pt"))[w], load(elements)[w], load(path("resnet.chacha20.pt"))[w]
    check(sorted_values(shuffled) == sorted_values(plain), "elements keeps the value multiset (rank-matching works)")
    check(sorted_values(encrypted) != sorted_values(plain), "chacha20 hides the value multiset")


# One ciphertext byte flipped inside a storage record: named, and nothing restored.
def flip_storage_byte(src, dst):
    with zipfile.ZipFile(src) as z:
        info = next(i for i in z.infolist() if i.filename.endswith("/data/0"))
    data = bytearray(open(src, "rb").read())
    header = info.header_offset
    name_len = int.from_bytes(data[header + 26:header + 28], "little")
    extra_len = int.from_bytes(data[header + 28:header + 30], "little")
    data[header + 30 + name_len + extra_len + 5] ^= 0x40
    open(dst, "wb").write(data)


tampered = path("encoder12.chacha20.tampered.pt")
flip_storage_byte(path("encoder12.chacha20.pt"), tampered)
verified = brine("verify", tampered, "--key", key)
check(verified.returncode == 3 and "tensor layers.0" in verified.stdout,
      f"chacha20 tampered: verify exit {verified.returncode}: {verified.stdout.strip()[:300]}")
out = path("encoder12.chacha20.tampered.restored.pt")
back = brine("restore", tampered, out, "--key", key)
check(back.returncode == 3 and not os.path.exists(out), f"chacha20 tampered: restore exit {back.returncode}, nothing written")

print(f"{checks} checks, {len(failures)} failed (torch {torch.__version__})")
sys.exit(1 if failures else 0)
