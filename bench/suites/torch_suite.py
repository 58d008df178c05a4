"""PyTorch CPU twin of the JavaScript suites (matmul, mlp, cnn, overhead, sequence), run by bench/run.ts.

    python3 bench/suites/torch_suite.py <suite> --threads N --data DIR [--quick]

DIR holds the shared inputs and initial weights the runner wrote (bench/lib/data.ts: one folder per
setup with manifest.json and raw little-endian arrays). Prints one JSON line after the result marker,
in the shape of bench/lib/protocol.ts.
"""
import argparse
import json
import os
import sys
import time

# OpenBLAS (what Debian's torch uses once libopenblas0 is installed) runs its own thread pool,
# which torch.set_num_threads does not limit: fix its size before torch loads it.
_threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = _threads

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F

MARKER = "@@bench-result "
LEARNING_RATE = 0.05  # bench/lib/data.ts
SIZES = [256, 512, 1024, 2048]  # bench/suites/matmul.ts
OPS, CHAIN_OPS = 1000, 100  # bench/suites/overhead.ts
ADD, CHAIN = "add, 1 element", "100-op chain, 1,000 elements, + backward"


def repeats(quick, slow=False):
    # The same protocol as bench/lib/cases.ts: warm-up by count and by time, then timed repeats.
    if quick:
        return dict(warmup=1, warmup_ms=200, min_repeats=2 if slow else 3, max_repeats=5,
                    budget_ms=1000, guard_steps=2)
    return dict(warmup=2, warmup_ms=1500, min_repeats=3 if slow else 5, max_repeats=1000,
                budget_ms=4000, guard_steps=3)


def now_ms():
    return time.perf_counter() * 1000


def measure(fn, warmup, min_repeats, max_repeats, budget_ms, warmup_ms=0, self_timed=False, **_):
    begin, calls = now_ms(), 0
    while calls < warmup or (now_ms() - begin < warmup_ms and calls < 10000):
        fn()
        calls += 1
    samples, begin = [], now_ms()
    while len(samples) < max_repeats and (len(samples) < min_repeats or now_ms() - begin < budget_ms):
        start = now_ms()
        value = fn()
        samples.append(value if self_timed else now_ms() - start)
    return samples


def summarize(samples):
    q = np.quantile(np.array(samples), [0, 0.25, 0.5, 0.75, 1])
    return dict(median=q[2], min=q[0], max=q[4], q1=q[1], q3=q[3], n=len(samples))


def ok(name, unit, samples, **extra):
    samples = [float(s) for s in samples]
    return dict(name=name, status="ok", unit=unit, samples=samples, summary=summarize(samples), **extra)


def load(folder):
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    arrays = {}
    for name, meta in manifest.items():
        data = np.fromfile(os.path.join(folder, name + ".bin"), dtype=np.dtype(meta["dtype"]).newbyteorder("<"))
        tensor = torch.from_numpy(data.reshape(meta["shape"]).copy())
        arrays[name] = tensor.long() if meta["dtype"] == "int32" else tensor
    return arrays


def training_case(name, step, options):
    losses = [step() for _ in range(options["guard_steps"])]
    if not all(np.isfinite(losses)) or not losses[-1] < losses[0]:
        return dict(name=name, status="error", losses=losses, note=f"correctness guard failed: losses {losses} are not finite and decreasing")
    timed = dict(options, warmup=max(0, options["warmup"] - options["guard_steps"]))
    return ok(name, "ms", measure(step, **timed), losses=losses)


def params(arrays, names):
    return [arrays[n].clone().requires_grad_(True) for n in names]


def matmul(args):
    cases, expected_ms, previous = [], 0.0, 0
    limit = 1500 if args.quick else 15000
    generator = torch.Generator().manual_seed(0)
    for n in SIZES:
        name = f"n={n}"
        if expected_ms > limit:
            cases.append(dict(name=name, status="skipped", note=f"about {expected_ms / 1000:.1f} s per call expected from n={previous}"))
            continue
        a = torch.rand(n, n, generator=generator) * 2 - 1
        b = torch.rand(n, n, generator=generator) * 2 - 1
        flops = 2 * n**3
        samples = measure(lambda: torch.mm(a, b), **repeats(args.quick, expected_ms > 1000))
        cases.append(ok(name, "GFLOP/s", [flops / ms / 1e6 for ms in samples]))
        expected_ms = float(np.median(samples)) * 8
        previous = n
    return cases


def mlp(args):
    cases = []
    for batch in [128, 1000]:
        arrays = load(os.path.join(args.data, f"mlp-{batch}"))
        x, y = arrays["x"], arrays["y"]
        w1, b1, w2, b2, w3, b3 = ps = params(arrays, [f"fc{i}.{k}" for i in (1, 2, 3) for k in ("weight", "bias")])
        optimizer = torch.optim.SGD(ps, lr=LEARNING_RATE)

        def step():
            optimizer.zero_grad()
            h = F.relu(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2))
            loss = F.cross_entropy(F.linear(h, w3, b3), y)
            loss.backward()
            optimizer.step()
            return loss.item()

        cases.append(training_case(f"batch {batch}", step, repeats(args.quick)))
    return cases


def cnn(args):
    arrays = load(os.path.join(args.data, "cnn-64"))
    x, y = arrays["x"], arrays["y"]
    c1w, c1b, c2w, c2b, fw, fb = ps = params(arrays, [f"{l}.{k}" for l in ("conv1", "conv2", "fc") for k in ("weight", "bias")])
    optimizer = torch.optim.SGD(ps, lr=LEARNING_RATE)

    def step():
        optimizer.zero_grad()
        h = F.max_pool2d(F.relu(F.conv2d(x, c1w, c1b)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, c2w, c2b)), 2)
        loss = F.cross_entropy(F.linear(h.flatten(1), fw, fb), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return [training_case("batch 64", step, repeats(args.quick, slow=True))]


def overhead(args):
    a1 = torch.ones(1, requires_grad=True)
    b1 = torch.tensor([1e-3])

    def add_loop():
        start = now_ms()
        y = a1
        for _ in range(OPS):
            y = y + b1
        return now_ms() - start

    add = ok(ADD, "µs", [ms * 1000 / OPS for ms in measure(add_loop, self_timed=True, **dict(repeats(args.quick), min_repeats=20, max_repeats=200))])
    arrays = load(os.path.join(args.data, "chain"))
    x = arrays["x"].requires_grad_(True)
    a, b = arrays["a"], arrays["b"]

    def chain():
        x.grad = None
        y = x
        for i in range(CHAIN_OPS):
            y = y * a if i % 3 == 0 else y + b if i % 3 == 1 else torch.tanh(y)
        y.sum().backward()
        return x.grad

    return [add, ok(CHAIN, "ms", measure(chain, **repeats(args.quick)))]


def sequence(args):
    # bench/suites/sequence.ts: the LSTM / GRU language-model steps and the pre-norm transformer step.
    torch.manual_seed(0)
    lr, cases = 0.01, []
    x, target = torch.randn(32, 100, 64), torch.randn(32, 100, 1)
    for name, cls in [("LSTM step", torch.nn.LSTM), ("GRU step", torch.nn.GRU)]:
        rnn, head = cls(64, 256, batch_first=True), torch.nn.Linear(256, 1)
        opt = torch.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=lr)

        def step(rnn=rnn, head=head, opt=opt):
            loss = F.mse_loss(head(rnn(x)[0]), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss.item()

        cases.append(training_case(name, step, repeats(args.quick, slow=True)))
    layer = torch.nn.TransformerEncoderLayer(128, 4, 512, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
    enc = torch.nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
    tx, ty = torch.randn(16, 64, 128), torch.randn(16, 64, 128)
    mask = torch.triu(torch.ones(64, 64, dtype=torch.bool), 1)
    opt = torch.optim.SGD(enc.parameters(), lr=lr)

    def tstep():
        loss = F.mse_loss(enc(tx, mask=mask), ty)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    cases.append(training_case("transformer step", tstep, repeats(args.quick, slow=True)))
    return cases


def blas_note():
    """Which BLAS this PyTorch loaded: Debian's python3-torch uses whatever libblas.so.3 points to."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    paths = sorted({line.split()[-1] for line in open("/proc/self/maps") if any(k in line.lower() for k in ("blas", "mkl", "blis")) and "/" in line})
    real = sorted({os.path.realpath(p) for p in paths})
    if not real:
        return "BLAS: none found among the loaded libraries"
    optimised = any(k in p.lower() for p in real for k in ("openblas", "mkl", "blis", "atlas"))
    kind = "an optimised BLAS" if optimised else "the reference (netlib) BLAS, not an optimised one: its matmul-bound results are far below what PyTorch gets with OpenBLAS or MKL"
    return f"BLAS: {', '.join(real)} ({kind})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("suite", choices=["matmul", "mlp", "cnn", "overhead", "sequence"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", default="")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cases = globals()[args.suite](args)
    label = f"PyTorch {torch.__version__} CPU ({args.threads} thread{'s' if args.threads > 1 else ''})"
    result = dict(suite=args.suite, framework=f"torch-{args.threads}", label=label, threads=args.threads, cases=cases, note=blas_note())
    print("\n" + MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
