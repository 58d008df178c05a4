"""PyTorch twin of chainrule's MNIST job, for BENCHMARKS.md: same split, same model, same recipe.

Reads the split that bench/mnist.ts exported (raw float32 images, int32 labels) and prints one
JSON line: {"model", "epochs", "testAccuracy", "seconds", "threads", "torch"}.
"""
import json
import os
import sys
import time

# OpenBLAS runs its own thread pool, which torch.set_num_threads does not limit (argv[5] = threads).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = sys.argv[5] if len(sys.argv) > 5 else "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F


def load(prefix, n):
    images = np.fromfile(prefix + "-images.f32", dtype=np.float32).reshape(n, 1, 28, 28)
    labels = np.fromfile(prefix + "-labels.i32", dtype=np.int32).astype(np.int64)
    return torch.from_numpy(images), torch.from_numpy(labels)


def model_for(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def main():
    folder, name, epochs, seed, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    x_train, y_train = load(folder + "/train", 8000)
    x_test, y_test = load(folder + "/test", 2000)
    model = model_for(name)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(8000, generator=generator)
        for i in range(0, 8000, 64):
            batch = order[i:i + 64]
            optimizer.zero_grad()
            F.cross_entropy(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(json.dumps({"model": name, "epochs": epochs, "testAccuracy": accuracy, "seconds": seconds, "threads": threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
