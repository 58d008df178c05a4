"""PyTorch CPU side of bench/suites/sequence.ts: the same LSTM / GRU language-model steps and
transformer step, on the thread count given. Prints one JSON line:
{"label": ..., "cases": {"lstm": [ms, ...], "gru": [...], "transformer": [...]}}.

usage: /usr/bin/python3 bench/suites/sequence_torch.py THREADS [--quick]
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

threads = int(sys.argv[1])
quick = "--quick" in sys.argv
torch.set_num_threads(threads)
torch.manual_seed(0)
LR = 0.01
WARMUP, MIN_REPEATS, MAX_REPEATS, BUDGET = (1, 3, 5, 5.0) if quick else (3, 10, 30, 30.0)


def measure(step):
    for _ in range(WARMUP):
        step()
    samples = []
    begin = time.perf_counter()
    while len(samples) < MAX_REPEATS and (len(samples) < MIN_REPEATS or time.perf_counter() - begin < BUDGET):
        start = time.perf_counter()
        step()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


cases = {}
x = torch.randn(32, 100, 64)
target = torch.randn(32, 100, 1)
for kind, cls in [("lstm", nn.LSTM), ("gru", nn.GRU)]:
    rnn = cls(64, 256, batch_first=True)
    head = nn.Linear(256, 1)
    opt = torch.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=LR)

    def step():
        out, _ = rnn(x)
        loss = F.mse_loss(head(out), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    cases[kind] = measure(step)

layer = nn.TransformerEncoderLayer(128, 4, 512, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
enc = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
tx, ty = torch.randn(16, 64, 128), torch.randn(16, 64, 128)
mask = torch.triu(torch.ones(64, 64, dtype=torch.bool), 1)
opt = torch.optim.SGD(enc.parameters(), lr=LR)


def tstep():
    loss = F.mse_loss(enc(tx, mask=mask), ty)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


cases["transformer"] = measure(tstep)
print(json.dumps({"label": f"PyTorch {torch.__version__} CPU, {threads} thread{'s' if threads > 1 else ''}", "cases": cases}))
