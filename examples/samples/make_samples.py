#!/usr/bin/env python3
"""Writes the bundled sample model(s) with real PyTorch (Debian's python3-torch).

    /usr/bin/python3 examples/samples/make_samples.py

tiny_mlp.pt: the state dict of a small two-layer perceptron with a fixed seed, saved with
torch.save's default (zip) format. Benign: tensors and an OrderedDict only.
"""
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(8, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 4),
    )
    torch.save(model.state_dict(), os.path.join(HERE, "tiny_mlp.pt"))


if __name__ == "__main__":
    main()
