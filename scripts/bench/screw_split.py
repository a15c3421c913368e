#!/usr/bin/env python3
"""Splits the screw-driving data by workpiece for VerTac's detection suite.

    python3 scripts/bench/screw_split.py --data ../shared/datasets/screw --out DIR [--plain]

Reads DATA/screw-dev.csv.gz (`timestamp,torque,angle,gradient,anomaly,cycle_id`) and
DATA/cycles-dev.csv (`cycle_id,workpiece,use_index,result,last_step,rows`). The split is by
workpiece and deterministic: the workpiece ids sorted (as text), every third one (positions 0, 3,
6, … of the sorted list) is a test workpiece — 20 test and 40 train workpieces of the 60. No
workpiece is in both parts.

Writes
  DIR/train-ok.csv.gz  OK runs of the train workpieces, `timestamp,torque,angle,gradient,cycle_id`
                       (no anomaly column: every run in it is OK)
  DIR/test.csv.gz      every run of the test workpieces, with the anomaly column (1 on every row of
                       a NOK run)
  DIR/test-cycles.csv  cycle_id,workpiece,use_index,result,last_step,rows of the test runs
(plain .csv for the two data files with --plain). Rows keep the source's order. Standard library
only (gzip + csv).
"""
import argparse
import csv
import gzip
import os
import sys


class TextOut:
    """A text writer over a plain or gzip file (deterministic gzip header)."""

    def __init__(self, path, plain):
        self.raw = open(path, "wb")
        self.gz = None if plain else gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, mtime=0, compresslevel=6)
        self.buf = []
        self.size = 0

    def write(self, s):
        self.buf.append(s)
        self.size += len(s)
        if self.size > 1 << 20:
            self.flush()

    def flush(self):
        data = "".join(self.buf).encode()
        (self.gz or self.raw).write(data)
        self.buf, self.size = [], 0

    def close(self):
        self.flush()
        if self.gz:
            self.gz.close()
        self.raw.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "datasets", "screw"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--plain", action="store_true", help="plain .csv instead of .csv.gz")
    a = ap.parse_args()

    cycles_path = os.path.join(a.data, "cycles-dev.csv")
    data_path = os.path.join(a.data, "screw-dev.csv.gz")
    for p in (cycles_path, data_path):
        if not os.path.exists(p):
            sys.exit(f"screw_split: {p} not found")
    with open(cycles_path, newline="") as f:
        cycles = list(csv.DictReader(f))
    workpieces = sorted({c["workpiece"] for c in cycles})
    test_wp = set(workpieces[0::3])
    train_wp = set(workpieces) - test_wp
    by_id = {c["cycle_id"]: c for c in cycles}
    train_ok = {c["cycle_id"] for c in cycles if c["workpiece"] in train_wp and c["result"] == "OK"}
    test_ids = {c["cycle_id"] for c in cycles if c["workpiece"] in test_wp}

    os.makedirs(a.out, exist_ok=True)
    ext = ".csv" if a.plain else ".csv.gz"
    train_path, test_path = os.path.join(a.out, "train-ok" + ext), os.path.join(a.out, "test" + ext)
    tr, te = TextOut(train_path, a.plain), TextOut(test_path, a.plain)
    rows_train = rows_test = rows_other = 0
    seen = {}
    with gzip.open(data_path, "rt", newline="") as f:
        header = f.readline().rstrip("\r\n").split(",")
        need = ["timestamp", "torque", "angle", "gradient", "anomaly", "cycle_id"]
        if header != need:
            sys.exit(f"screw_split: unexpected header {header} (expected {need})")
        tr.write("timestamp,torque,angle,gradient,cycle_id\n")
        te.write(",".join(need) + "\n")
        for line in f:
            line = line.rstrip("\r\n")
            if not line:
                continue
            ts, torque, angle, grad, anomaly, cid = line.split(",")
            seen[cid] = seen.get(cid, 0) + 1
            if cid in train_ok:
                if anomaly != "0":
                    sys.exit(f"screw_split: OK run {cid} has a row with anomaly {anomaly}")
                tr.write(f"{ts},{torque},{angle},{grad},{cid}\n")
                rows_train += 1
            elif cid in test_ids:
                te.write(line + "\n")
                rows_test += 1
            else:
                rows_other += 1
    tr.close()
    te.close()

    missing = [c for c in train_ok | test_ids if c not in seen]
    wrong = [c for c in seen if c in by_id and int(by_id[c]["rows"]) != seen[c]]
    if missing or wrong:
        sys.exit(f"screw_split: {len(missing)} runs missing from the data, {len(wrong)} with another row count than cycles-dev.csv")

    cyc_path = os.path.join(a.out, "test-cycles.csv")
    fields = ["cycle_id", "workpiece", "use_index", "result", "last_step", "rows"]
    with open(cyc_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        for c in cycles:
            if c["cycle_id"] in test_ids:
                w.writerow(c)

    def count(wps, result=None):
        return sum(1 for c in cycles if c["workpiece"] in wps and (result is None or c["result"] == result))

    print(f"workpieces: {len(workpieces)} ({len(train_wp)} train, {len(test_wp)} test; every third of the sorted ids is test)")
    print(f"train workpieces: {count(train_wp)} runs ({count(train_wp, 'OK')} OK, {count(train_wp, 'NOK')} NOK); "
          f"{train_path}: {len(train_ok)} OK runs, {rows_train} rows")
    print(f"test workpieces:  {count(test_wp)} runs ({count(test_wp, 'OK')} OK, {count(test_wp, 'NOK')} NOK); "
          f"{test_path}: {rows_test} rows; {cyc_path}")
    print(f"left out: {rows_other} rows (NOK runs of the train workpieces)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
