#!/usr/bin/python3
"""Writes the fixtures of the engine-embedding example (examples/embed/) with real PyTorch.

    /usr/bin/python3 examples/embed/make_reference.py

Needs Debian's python3-torch (1.13). Writes into tests/fixtures/embed/:

  mlp.pt, cnn.pt                      state dicts of two seeded models (torch.save, zip format)
  mlp_input.bin, cnn_input.bin        a batch of 2 inputs: raw little-endian float32, row-major
  mlp_expected.txt, cnn_expected.txt  what torch computes for that batch, %.9g, one per line
  mlp_float16.pt, mlp_transposed.pt   an MLP whose first weight is float16 / a transposed view:
                                      clean checkpoints the engine must still refuse

The models match the layer lists in examples/embed/main.cpp. Running the script twice writes
identical bytes: fixed seeds, one thread (so torch sums in one fixed order), and torch.save
stores no timestamps.
"""
import os
import struct

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "embed")
BATCH = 2


def mlp():
    nn = torch.nn
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))


def cnn():
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Flatten(),
        nn.Linear(256, 10))
    # Fresh BatchNorm layers are the identity (scale 1, shift 0, mean 0, variance 1): an engine
    # that skipped them would still pass. Random affine parameters and statistics gathered from
    # a few training batches make every one of the four tensors matter.
    with torch.no_grad():
        for bn in (model[1], model[5]):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
        model.train()
        for _ in range(5):
            model(torch.randn(16, 3, 8, 8) * 1.5 + 0.3)
    return model


def write_floats(path, tensor):
    values = tensor.detach().contiguous().view(-1).tolist()
    with open(path, "wb") as f:
        f.write(struct.pack("<%df" % len(values), *values))


def write_reference(name, model, input_shape):
    model.eval()
    x = torch.randn(BATCH, *input_shape)
    with torch.no_grad():
        y = model(x)
    torch.save(model.state_dict(), os.path.join(OUT, name + ".pt"))
    write_floats(os.path.join(OUT, name + "_input.bin"), x)
    with open(os.path.join(OUT, name + "_expected.txt"), "w") as f:
        f.writelines("%.9g\n" % v for v in y.view(-1).tolist())


def write_refused():
    # Only the first parameter the engine reads needs to be wrong: it stops there.
    weight = torch.randn(32, 16)
    torch.save({"0.weight": weight.half()}, os.path.join(OUT, "mlp_float16.pt"))
    # Same shape and values, but strides (1, 32): the bytes are in column-major order.
    torch.save({"0.weight": weight.t().contiguous().t()}, os.path.join(OUT, "mlp_transposed.pt"))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    write_reference("mlp", mlp(), (16,))
    torch.manual_seed(1)
    write_reference("cnn", cnn(), (3, 8, 8))
    torch.manual_seed(2)
    write_refused()
    for name in sorted(os.listdir(OUT)):
        print("%6d  %s" % (os.path.getsize(os.path.join(OUT, name)), os.path.relpath(os.path.join(OUT, name), ROOT)))


if __name__ == "__main__":
    main()
