#!/usr/bin/python3
"""Models for the permute_neurons interop check: does a sealed model compute what the original did?

    make_mtd_models.py OUTDIR
        writes OUTDIR/mlp.pt and OUTDIR/cnn.pt (state dicts of two nn.Sequential models) and
        OUTDIR/mlp_inputs.pt, OUTDIR/cnn_inputs.pt (fixed input batches for them)

    make_mtd_models.py compare KIND ORIGINAL SEALED [--inputs FILE]
        KIND is mlp or cnn. Loads both state dicts with torch.load(weights_only=True) into fresh
        models of that kind, runs the inputs (FILE; by default KIND_inputs.pt next to ORIGINAL,
        or the same batch made afresh) in eval mode and exits
          0  outputs agree (torch.allclose, rtol=1e-5, atol=1e-6) and the weights differ
          1  outputs differ, or the weights are identical (nothing was permuted); the message
             says which
          2  a file cannot be loaded into a model of that kind

Run with Debian's /usr/bin/python3 (python3-torch, PyTorch 1.13). Everything is seeded: running it
twice writes the same tensors.

The models, as brine's infer_plan reads them:
  mlp  Sequential(Linear(16, 32), ReLU, Linear(32, 32), ReLU, Linear(32, 4))
       hidden axes {0.weight:0 0.bias:0 2.weight:1} and {2.weight:0 2.bias:0 4.weight:1}
  cnn  Sequential(Conv2d(3, 8, 3, padding=1), BatchNorm2d(8), ReLU, MaxPool2d(2),
                  Conv2d(8, 16, 3, padding=1), BatchNorm2d(16), ReLU, Flatten, Linear(256, 10))
       for 8x8 inputs; hidden axes
         {0.weight:0 0.bias:0 1.weight:0 1.bias:0 1.running_mean:0 1.running_var:0 4.weight:1}
         {4.weight:0 4.bias:0 5.weight:0 5.bias:0 5.running_mean:0 5.running_var:0 8.weight:1:16}
       (after Flatten, each of the 16 channels owns 4*4 consecutive Linear columns)
"""

import os
import sys

import torch

KINDS = ("mlp", "cnn")
RTOL = 1e-5
ATOL = 1e-6


def build(kind):
    """A fresh, untrained model of `kind`."""
    nn = torch.nn
    if kind == "mlp":
        return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))
    if kind == "cnn":
        return nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    raise ValueError("unknown model kind %r (expected one of %s)" % (kind, ", ".join(KINDS)))


def make_model(kind):
    """The model whose state dict is written: seeded weights; for the cnn, BatchNorm affine
    vectors away from 1 and 0 and running statistics from a few training-mode batches."""
    torch.manual_seed(0 if kind == "mlp" else 1)
    model = build(kind)
    if kind == "cnn":
        with torch.no_grad():
            for module in model:
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.uniform_(-0.5, 0.5)
            model.train()
            for _ in range(4):
                model(torch.randn(16, 3, 8, 8) * 2.0 + 0.5)
    model.eval()
    return model


def make_inputs(kind):
    """The fixed input batch for `kind`."""
    generator = torch.Generator().manual_seed(100 if kind == "mlp" else 101)
    if kind == "mlp":
        return torch.randn(64, 16, generator=generator)
    return torch.randn(32, 3, 8, 8, generator=generator)


def generate(outdir):
    os.makedirs(outdir, exist_ok=True)
    written = []
    for kind in KINDS:
        model = make_model(kind)
        for name, value in ((kind + ".pt", model.state_dict()), (kind + "_inputs.pt", make_inputs(kind))):
            path = os.path.join(outdir, name)
            torch.save(value, path)
            written.append(path)
    for path in written:
        print("wrote %s" % path)
    return 0


def load_model(kind, path):
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = build(kind)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, state


def compare(kind, original_path, sealed_path, inputs_path=None):
    """0 when SEALED computes what ORIGINAL computes with different weights; 1 otherwise; 2 when
    a file does not load."""
    if kind not in KINDS:
        print("error: unknown model kind %r (expected one of %s)" % (kind, ", ".join(KINDS)), file=sys.stderr)
        return 2
    try:
        original, original_state = load_model(kind, original_path)
        sealed, sealed_state = load_model(kind, sealed_path)
        if inputs_path is None:
            default = os.path.join(os.path.dirname(os.path.abspath(original_path)), kind + "_inputs.pt")
            inputs_path = default if os.path.exists(default) else None
        inputs = make_inputs(kind) if inputs_path is None else torch.load(inputs_path, weights_only=True)
    except Exception as e:  # a file that is not a loadable state dict of this model
        print("error: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 2

    with torch.no_grad():
        expected = original(inputs)
        got = sealed(inputs)
    changed = [name for name in original_state if not torch.equal(original_state[name], sealed_state[name])]
    largest = (got - expected).abs().max().item()

    failures = []
    if not torch.allclose(got, expected, rtol=RTOL, atol=ATOL):
        failures.append("outputs differ: the sealed model computes another function "
                        "(largest difference %.3g, allowed rtol=%g atol=%g)" % (largest, RTOL, ATOL))
    if not changed:
        failures.append("weights identical: the sealed state dict equals the original, nothing was permuted")
    if failures:
        for line in failures:
            print("%s %s: %s" % (kind, sealed_path, line))
        return 1
    print("%s %s: same outputs (largest difference %.3g), %d of %d tensors permuted: %s"
          % (kind, sealed_path, largest, len(changed), len(original_state), " ".join(changed)))
    return 0


def main(argv):
    if len(argv) >= 1 and argv[0] == "compare":
        args = argv[1:]
        inputs = None
        if "--inputs" in args:
            at = args.index("--inputs")
            if at + 1 >= len(args):
                print(__doc__, file=sys.stderr)
                return 2
            inputs = args[at + 1]
            del args[at:at + 2]
        if len(args) != 3:
            print(__doc__, file=sys.stderr)
            return 2
        return compare(args[0], args[1], args[2], inputs)
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    return generate(argv[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
