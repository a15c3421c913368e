#!/usr/bin/env python3
"""Times VerTac's banded DTW against dtaidistance's C implementation, same machine, same run.

    .venv-py/bin/pip install dtaidistance numpy
    swift build -c release --static-swift-stdlib && .venv-py/bin/python scripts/bench/dtw_anchors.py

L = 1,000, window = 100: one pair (dtw.distance, use_c=True), and 10 independent sensors
(dtaidistance: one dtw.distance per sensor; VerTac: DTW.independent over its threads).
Medians of --repeats runs.
"""
import argparse
import json
import os
import statistics
import subprocess
import time

import numpy as np
from dtaidistance import dtw

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def median_time(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--length", type=int, default=1000)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--sensors", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--vertac", default=os.path.join(ROOT, ".build", "release", "vertac-train"))
    args = ap.parse_args()

    ours = json.loads(subprocess.run(
        [args.vertac, "bench-dtw", "--json", "--length", str(args.length), "--window", str(args.window),
         "--sensors", str(args.sensors), "--threads", str(args.threads), "--repeats", str(args.repeats)],
        check=True, capture_output=True, text=True).stdout)

    rng = np.random.default_rng(5)
    a = np.cumsum(rng.uniform(-1, 1, args.length))
    b = np.cumsum(rng.uniform(-1, 1, args.length))
    ma = rng.uniform(-1, 1, (args.sensors, args.length))
    mb = rng.uniform(-1, 1, (args.sensors, args.length))
    single = median_time(lambda: dtw.distance(a, b, window=args.window, use_c=True), args.repeats) * 1e3
    multi = median_time(lambda: [dtw.distance(ma[s], mb[s], window=args.window, use_c=True)
                                 for s in range(args.sensors)], max(3, args.repeats // 3)) * 1e3

    print(f"DTW, L = {args.length}, window {args.window}, median of {args.repeats}")
    print(f"{'':34} {'VerTac':>10} {'dtaidistance':>13} {'speed-up':>9}")
    print(f"{'one pair (ms)':34} {ours['dtw_single_ms']:10.3f} {single:13.3f} {single / ours['dtw_single_ms']:8.2f}×")
    label = f"{args.sensors} sensors, {args.threads} thread(s) (ms)"
    print(f"{label:34} {ours['dtw_independent_ms']:10.3f} {multi:13.3f} {multi / ours['dtw_independent_ms']:8.2f}×")
    print("targets (DESIGN.md): ≥ 2× for one pair, ≥ 4× for 10 sensors")


if __name__ == "__main__":
    main()
