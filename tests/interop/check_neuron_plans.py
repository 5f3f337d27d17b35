#!/usr/bin/python3
"""`brine seal --permute neurons` never changes what a real torch model computes (issue 20, part 4).

    check_neuron_plans.py BRINE SCRATCH

Builds many small torch modules (seeded): nn.Sequential chains of Linear, Conv1d/2d/3d,
ConvTranspose1d/2d (square and not), BatchNorm1d/2d, LayerNorm, GroupNorm, Embedding, ReLU,
Flatten and pooling, plus a residual block and an attention layer as custom modules. Each state
dict is saved with torch.save, sealed with `brine seal IN OUT --key K --permute neurons`, and:
  - either seal exits 2 and writes nothing (the inferred plan was refused),
  - or it exits 0 and the sealed state dict, loaded with torch.load(weights_only=True) into the
    same module, gives the original's outputs (atol 1e-5, rtol 1e-4) on random inputs.
Exit 0 with different outputs is a failure, and so is a model expected to be accepted (an MLP, a
Conv-BN-ReLU chain) being refused. For refused kinds, a plan written by hand in this script is
sealed with `--permute neurons=PLAN` and must preserve the function too.
Prints 'N passed, N failed'; exits 1 on any failure. Works with torch 1.13 and 2.x.
"""

import os
import subprocess
import sys

import torch
import torch.nn as nn

BRINE, SCRATCH = sys.argv[1], sys.argv[2]
os.makedirs(SCRATCH, exist_ok=True)
ATOL, RTOL = 1e-5, 1e-4
passed = 0
failed = 0


def result(ok, label, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s %s" % (label, detail), flush=True)
    else:
        failed += 1
        print("FAIL %s %s" % (label, detail), flush=True)


def brine(*args):
    return subprocess.run([BRINE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)


class Residual(nn.Module):
    """x + conv2(relu(bn(conv1(x)))): the skip connection ties conv2's outputs to the input."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 4, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(torch.relu(self.bn(self.conv1(x))))


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        y, _ = self.attn(x, x, x)
        return self.out(torch.relu(y))


def seq(*modules):
    return nn.Sequential(*modules)


# name: (module factory, input factory, expectation, hand-written plan or None)
#   expectation: "accept" (must seal and preserve), "refuse" (must exit 2), "either"
CASES = {
    "mlp": (lambda: seq(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4)),
            lambda: torch.randn(8, 16), "accept", None),
    "mlp_nobias": (lambda: seq(nn.Linear(16, 32, bias=False), nn.ReLU(), nn.Linear(32, 8, bias=False), nn.Tanh(),
                               nn.Linear(8, 4)),
                   lambda: torch.randn(8, 16), "accept", None),
    "mlp_bn": (lambda: seq(nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 4)),
               lambda: torch.randn(8, 16), "accept", None),
    "mlp_layernorm": (lambda: seq(nn.Linear(16, 32), nn.LayerNorm(32), nn.ReLU(), nn.Linear(32, 4)),
                      lambda: torch.randn(8, 16), "refuse",
                      "0.weight:0 0.bias:0 1.weight:0 1.bias:0 3.weight:1\n"),
    "mlp_groupnorm": (lambda: seq(nn.Linear(16, 32), nn.GroupNorm(4, 32), nn.ReLU(), nn.Linear(32, 4)),
                      lambda: torch.randn(8, 16), "refuse", None),
    "embedding_linear": (lambda: seq(nn.Embedding(10, 10), nn.ReLU(), nn.Linear(10, 3)),
                         lambda: torch.randint(0, 10, (8, 5)), "refuse", "0.weight:1 2.weight:1\n"),
    "embedding_wide": (lambda: seq(nn.Embedding(10, 6), nn.Linear(6, 3)),
                       lambda: torch.randint(0, 10, (8, 5)), "refuse", "0.weight:1 1.weight:1\n"),
    "cnn_bn": (lambda: seq(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                           nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                           nn.Flatten(), nn.Linear(16 * 4 * 4, 10)),
               lambda: torch.randn(4, 3, 8, 8), "accept", None),
    "cnn_pool": (lambda: seq(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3)),
                 lambda: torch.randn(4, 1, 9, 9), "accept", None),
    "cnn_square": (lambda: seq(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3)),
                   lambda: torch.randn(4, 3, 10, 10), "refuse",
                   "0.weight:0 0.bias:0 2.weight:1\n2.weight:0 2.bias:0 4.weight:1\n"),
    "conv1d": (lambda: seq(nn.Conv1d(2, 6, 3), nn.ReLU(), nn.AvgPool1d(2), nn.Conv1d(6, 5, 3), nn.ReLU(),
                           nn.Flatten(), nn.Linear(5 * 3, 2)),
               lambda: torch.randn(4, 2, 12), "accept", None),
    "conv1d_groupnorm": (lambda: seq(nn.Conv1d(2, 6, 3), nn.GroupNorm(3, 6), nn.ReLU(), nn.Conv1d(6, 4, 3)),
                         lambda: torch.randn(4, 2, 12), "refuse", None),
    "conv3d": (lambda: seq(nn.Conv3d(2, 4, 3), nn.ReLU(), nn.Conv3d(4, 3, 2), nn.Flatten(), nn.Linear(3 * 8, 2)),
               lambda: torch.randn(2, 2, 5, 5, 5), "accept", None),
    "convT2d_square": (lambda: seq(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.ConvTranspose2d(8, 8, 3), nn.ReLU(),
                                   nn.Conv2d(8, 4, 3)),
                       lambda: torch.randn(4, 3, 8, 8), "refuse",
                       "0.weight:0 0.bias:0 2.weight:0\n2.weight:1 2.bias:0 4.weight:1\n"),
    "convT2d_first_square": (lambda: seq(nn.ConvTranspose2d(4, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3)),
                             lambda: torch.randn(4, 4, 6, 6), "refuse", None),
    "convT2d_nonsquare": (lambda: seq(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.ConvTranspose2d(8, 4, 3), nn.ReLU(),
                                      nn.Conv2d(4, 2, 3)),
                          lambda: torch.randn(4, 3, 8, 8), "refuse", None),
    "convT2d_flatten": (lambda: seq(nn.ConvTranspose2d(4, 8, 3, bias=False), nn.ReLU(), nn.Flatten(),
                                    nn.Linear(8 * 7 * 7, 5)),
                        lambda: torch.randn(4, 4, 5, 5), "refuse", "0.weight:1 3.weight:1:49\n"),
    "convT1d_chain": (lambda: seq(nn.ConvTranspose1d(8, 4, 3, bias=False), nn.ReLU(),
                                  nn.ConvTranspose1d(4, 8, 3, bias=False)),
                      lambda: torch.randn(4, 8, 6), "refuse", "0.weight:1 2.weight:0\n"),
    "linear_conv": (lambda: seq(nn.Linear(5, 8), nn.ReLU(), nn.Conv1d(8, 3, 3)),
                    lambda: torch.randn(4, 8, 5), "refuse", None),
    "residual": (lambda: Residual(), lambda: torch.randn(4, 4, 6, 6), "refuse",
                 "conv1.weight:0 conv1.bias:0 bn.weight:0 bn.bias:0 bn.running_mean:0 bn.running_var:0 "
                 "conv2.weight:1\n"),
    "attention": (lambda: Attention(), lambda: torch.randn(4, 5, 8), "refuse", None),
}


def make(name, factory, inputs):
    torch.manual_seed(sum(map(ord, name)))
    model = factory()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
        if any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in model.modules()):
            model.train()
            for _ in range(3):
                model(inputs() * 2.0 + 0.5)
    model.eval()
    return model


def compare(name, factory, model, sealed_path, x):
    state = torch.load(sealed_path, map_location="cpu", weights_only=True)
    other = factory()
    other.load_state_dict(state, strict=True)
    other.eval()
    with torch.no_grad():
        expected, got = model(x), other(x)
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, state[k])]
    largest = (got - expected).abs().max().item()
    return torch.allclose(got, expected, atol=ATOL, rtol=RTOL), largest, changed


SEALS = 8  # the most seals of one model; all 8 the identity: below 1e-11 for the smallest axis here
key = os.path.join(SCRATCH, "neurons.key")
if os.path.exists(key):
    os.remove(key)
made = brine("keygen", key)
if made.returncode != 0:
    print("keygen failed: %s" % made.stderr, file=sys.stderr)
    sys.exit(1)

for name, (factory, inputs, expect, plan) in CASES.items():
    model = make(name, factory, inputs)
    original = os.path.join(SCRATCH, name + ".pt")
    torch.save(model.state_dict(), original)
    torch.manual_seed(1000 + sum(map(ord, name)))
    x = inputs()

    sealed = os.path.join(SCRATCH, name + ".sealed.pt")
    if os.path.exists(sealed):
        os.remove(sealed)
    # A keyed permutation of n units is the identity once in n! seals (1 in 24 for 4 units): seal
    # again, with a fresh salt, until something moved, so that "the function is unchanged" is
    # tested on weights that did change.
    for attempt in range(1, SEALS + 1):
        if os.path.exists(sealed):
            os.remove(sealed)
        run = brine("seal", original, sealed, "--key", key, "--permute", "neurons")
        if run.returncode != 0:
            break
        ok, largest, changed = compare(name, factory, model, sealed, x)
        if changed or not ok:
            break
    if run.returncode == 2:
        result(not os.path.exists(sealed) and expect != "accept", name + " (inferred)",
               "refused: %s" % run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "refused")
    elif run.returncode == 0:
        result(ok and changed and expect != "refuse", name + " (inferred)",
               "exit 0, largest difference %.3g, %d tensors permuted (seal %d)" % (largest, len(changed), attempt))
    else:
        result(False, name + " (inferred)", "exit %d: %s" % (run.returncode, run.stderr.strip()))

    if plan is not None:
        plan_path = os.path.join(SCRATCH, name + ".plan")
        with open(plan_path, "w") as f:
            f.write(plan)
        hand = os.path.join(SCRATCH, name + ".hand.pt")
        for attempt in range(1, SEALS + 1):
            if os.path.exists(hand):
                os.remove(hand)
            run = brine("seal", original, hand, "--key", key, "--permute", "neurons=" + plan_path)
            if run.returncode != 0:
                break
            ok, largest, changed = compare(name, factory, model, hand, x)
            if changed or not ok:
                break
        if run.returncode != 0:
            result(False, name + " (plan file)", "exit %d: %s" % (run.returncode, run.stderr.strip()))
        else:
            result(ok and bool(changed), name + " (plan file)",
                   "largest difference %.3g, %d tensors permuted (seal %d)" % (largest, len(changed), attempt))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
