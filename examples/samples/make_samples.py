#!/usr/bin/env python3
"""Writes the bundled sample model(s) with real PyTorch (Debian's python3-torch).

    /usr/bin/python3 examples/samples/make_samples.py

tiny_mlp.pt: the state dict of a small two-layer perceptron with a fixed seed, saved with
torch.save's default (zip) format. Benign: tensors and an OrderedDict only.

tiny_mlp_with_payload.pt: the same state dict with one extra entry whose value pickles as a call
to builtins.open('brine_demo_marker', 'w'): loading it with torch.load(weights_only=False) would
create an empty file named brine_demo_marker (harmless, but it shows code running at load time).
`brine disarm` removes the entry and keeps the weights.
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
    state = model.state_dict()
    torch.save(state, os.path.join(HERE, "tiny_mlp.pt"))

    class LoadTimeCall:
        def __reduce__(self):
            return (open, ("brine_demo_marker", "w"))

    state["_load_hook"] = LoadTimeCall()
    torch.save(state, os.path.join(HERE, "tiny_mlp_with_payload.pt"))


if __name__ == "__main__":
    main()
