"""PyTorch's half of the round trip: chainrule weights in, checked, trained on, saved back.

    npx tsx scripts/torch_roundtrip.ts export <dir> [--small]
    /usr/bin/python3 scripts/torch_roundtrip.py <dir> [--small] [--steps N]
    npx tsx scripts/torch_roundtrip.ts check <dir> [--small]

For the MLP and the CNN of `chainrule train mnist` (or, with --small, the tiny versions in
test/helpers/roundtrip_models.ts), this loads <dir>/<name>.safetensors into the same architecture
built with torch.nn (strict: every key and shape must match), checks its output on chainrule's
input against chainrule's output, trains on for a few SGD steps, and writes
<name>.trained.safetensors (the weights) and <name>.trained.io.safetensors (the input and
PyTorch's output on it) for chainrule to check.

The training loop here is where a model goes to scale out: wrap it in
torch.nn.parallel.DistributedDataParallel or torch.distributed.fsdp.FullyShardedDataParallel,
launch with torchrun, and save `model.module.state_dict()` (DDP) or a full state dict (FSDP) the
same way; chainrule loads it back.
"""
import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_spec import load, save  # noqa: E402


def build(name, small):
    if name == "mlp":
        if small:
            return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                             nn.ReLU(), nn.Linear(128, 10))
    if small:
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(4 * 3 * 3, 3))
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 128),
                         nn.ReLU(), nn.Linear(128, 10))


def max_difference(actual, expected):
    diff = (actual - expected).abs().max().item()
    return diff, diff / max(expected.abs().max().item(), 1e-30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.manual_seed(0)
    ok = True
    for name in ("mlp", "cnn"):
        model = build(name, args.small)
        model.load_state_dict(load(os.path.join(args.dir, f"{name}.safetensors")), strict=True)
        model.eval()
        io = load(os.path.join(args.dir, f"{name}.io.safetensors"))
        with torch.no_grad():
            abs_diff, rel = max_difference(model(io["input"]), io["output"])
        ok &= rel <= 1e-5
        print(f"{name}: chainrule weights in PyTorch: max |diff| {abs_diff:.2e}, max relative {rel:.2e} "
              f"vs chainrule's output ({'ok' if rel <= 1e-5 else 'FAIL'})")

        # Train on: plain SGD on a seeded random problem (DDP/FSDP would wrap `model` here).
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        x = torch.randn((64,) + tuple(io["input"].shape[1:]))
        y = torch.randint(0, model[-1].out_features, (64,))
        for step in range(args.steps):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            output = model(io["input"])
        save({k: v.contiguous() for k, v in model.state_dict().items()},
             os.path.join(args.dir, f"{name}.trained.safetensors"), {"format": "pt"})
        save({"input": io["input"], "output": output}, os.path.join(args.dir, f"{name}.trained.io.safetensors"))
        print(f"{name}: trained {args.steps} SGD steps in PyTorch (loss {loss.item():.4f}), "
              f"saved {name}.trained.safetensors")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
