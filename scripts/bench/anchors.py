#!/usr/bin/env python3
"""Times VerTac's LSTM autoencoder against PyTorch and ONNX Runtime on the same machine, in one run.

    python3 -m venv .venv-py && .venv-py/bin/pip install torch onnx onnxruntime numpy
    swift build -c release --static-swift-stdlib
    .venv-py/bin/python scripts/bench/anchors.py [--threads 2] [--repeats 5]

Same shapes (T=30, D=10, H=64), same batch sizes, same thread count, same step (forward, MAE,
backward, global-norm clipping at 1.0, Adam). Every figure is the median of --repeats runs.
Python is for this comparison only; nothing in VerTac needs it at run time.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from vertac_torch import Autoencoder  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))




def windows(n, t, d, seed=42):
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 6.28, size=(n, 1, 1))
    tt = np.arange(t).reshape(1, t, 1)
    jj = np.arange(d).reshape(1, 1, d)
    x = 0.5 + 0.4 * np.sin(phase + 0.2 * tt + jj) + rng.uniform(-0.02, 0.02, size=(n, t, d))
    return torch.tensor(x, dtype=torch.float32)


def torch_train_rate(model, data, batch, repeats):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.L1Loss()
    batches = data.shape[0] // batch
    steps = max(8, 4096 // batch)

    def step(k):
        x = data[(k % batches) * batch:(k % batches + 1) * batch]
        opt.zero_grad()
        loss = loss_fn(model(x), x)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for k in range(2):
        step(k)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for k in range(steps):
            step(k)
        rates.append(steps * batch / (time.perf_counter() - t0))
    return statistics.median(rates)


def latency(fn, data, repeats):
    n = data.shape[0]
    for k in range(200):
        fn(data[k % n:k % n + 1])
    samples = []
    for k in range(2000 * repeats):
        x = data[k % n:k % n + 1]
        t0 = time.perf_counter()
        fn(x)
        samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]


def batch_rate(fn, data, batch, repeats):
    batches = data.shape[0] // batch
    rounds = 16
    fn(data[:batch])
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for k in range(rounds):
            fn(data[(k % batches) * batch:(k % batches + 1) * batch])
        rates.append(rounds * batch / (time.perf_counter() - t0))
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--vertac", default=os.path.join(ROOT, ".build", "release", "vertac-train"))
    args = ap.parse_args()
    T, D, H = 30, 10, 64

    print(f"running {args.vertac} bench --json ...", file=sys.stderr)
    ours = json.loads(subprocess.run([args.vertac, "bench", "--json", "--threads", str(args.threads),
                                      "--repeats", str(args.repeats)], check=True, capture_output=True,
                                     text=True).stdout)

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    data = windows(2048, T, D)
    print("timing PyTorch ...", file=sys.stderr)
    pt = {}
    pt["train_windows_per_s_b32"] = torch_train_rate(Autoencoder(D, H), data, 32, args.repeats)
    pt["train_windows_per_s_b256"] = torch_train_rate(Autoencoder(D, H), data, 256, args.repeats)
    model = Autoencoder(D, H).eval()

    def torch_score(x):
        with torch.inference_mode():
            return (model(x) - x).abs().mean(dim=1)

    pt["score_single_us_median"], pt["score_single_us_p99"] = latency(torch_score, data, args.repeats)
    pt["score_batch256_windows_per_s"] = batch_rate(torch_score, data, 256, args.repeats)

    print("timing ONNX Runtime ...", file=sys.stderr)
    ort = {}
    try:
        import onnxruntime as rt

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "ae.onnx")
            torch.onnx.export(model, data[:1], path, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False)
            so = rt.SessionOptions()
            so.intra_op_num_threads = args.threads
            so.inter_op_num_threads = 1
            sess = rt.InferenceSession(path, so, providers=["CPUExecutionProvider"])

            def ort_score(x):
                xn = x.numpy()
                y = sess.run(None, {"x": xn})[0]
                return np.abs(y - xn).mean(axis=1)

            ort["score_single_us_median"], ort["score_single_us_p99"] = latency(ort_score, data, args.repeats)
            ort["score_batch256_windows_per_s"] = batch_rate(ort_score, data, 256, args.repeats)
    except Exception as e:  # report, do not hide
        print(f"ONNX Runtime not timed: {e}", file=sys.stderr)

    rows = [
        ("training, batch 32 (windows/s)", "train_windows_per_s_b32", True),
        ("training, batch 256 (windows/s)", "train_windows_per_s_b256", True),
        ("scoring, one window, median (µs)", "score_single_us_median", False),
        ("scoring, one window, p99 (µs)", "score_single_us_p99", False),
        ("scoring, batch 256 (windows/s)", "score_batch256_windows_per_s", True),
    ]
    print(f"\nT={T} D={D} H={H}, {args.threads} thread(s), median of {args.repeats}; "
          f"torch {torch.__version__}" + (f", onnxruntime {rt.__version__}" if ort else ""))
    print(f"{'':36} {'VerTac':>10} {'PyTorch':>10} {'ONNX RT':>10} {'vs PyTorch':>11} {'vs ORT':>8}")
    result = {"vertac": ours, "pytorch": pt, "onnxruntime": ort}
    for label, key, higher_better in rows:
        v, p, o = ours[key], pt.get(key), ort.get(key)

        def ratio(ref):
            if ref is None:
                return "—"
            return f"{(v / ref if higher_better else ref / v):.2f}×"

        fmt = (lambda x: f"{x:10.0f}") if higher_better else (lambda x: f"{x:10.1f}")
        print(f"{label:36} {fmt(v)} {fmt(p)} {(fmt(o) if o is not None else '—'.rjust(10))} "
              f"{ratio(p):>11} {ratio(o):>8}")
    print("\n(ratios: how many times faster VerTac is; > 1 is better)")
    print(json.dumps(result), file=open(os.path.join(tempfile.gettempdir(), "vertac-anchors.json"), "w"))


if __name__ == "__main__":
    main()
