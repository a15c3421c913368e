#!/usr/bin/env python3
"""A stand-in for vertac-train that checks scripts/bench/detection.sh's plumbing without a model.

    VERTAC_TRAIN=scripts/bench/detection_stub.py scripts/bench/detection.sh --quick --work /tmp/det-stub

`fit` writes a dummy model file; `evaluate --model` writes cycles/rows/events CSVs in the formats of
`--cycles/--scores/--events` with made-up decisions (half of the anomalous rows and 1 % of the others
flagged, the first flagged row of a cycle opens an event); `evaluate --protocol skab` prints fixed
figures. Its numbers mean nothing: it only exercises the suite and detection_table.py.
"""
import sys, csv, random, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from detection_table import parse_time
a = sys.argv[1:]
if a[:2] == ["evaluate", "--help"]:
    print("--cycles --scores --events"); sys.exit(0)
def opt(name):
    i = a.index(name); v = a[i + 1]; del a[i:i + 2]; return v
if a[0] == "fit":
    out = opt("--out"); opt("--threads"); open(out, "w").write("stub"); print("fit", a[1:]); sys.exit(0)
if "--protocol" in a:
    print("Outlier detection, 16 file(s) (the full benchmark has 34):")
    print("  VerTac LSTM-AE     F1 0.70   FAR 20.00 %   MAR 31.00 %")
    print("Changepoints (NAB Standard / LowFP / LowFN): VerTac 22.00 / 18.00 / 25.00"); sys.exit(0)
model = opt("--model"); opt("--threads"); C = opt("--cycles"); R = opt("--scores"); E = opt("--events")
files = a[1:]
rng = random.Random(1)
cw = csv.writer(open(C, "w")); rw = csv.writer(open(R, "w")); ew = csv.writer(open(E, "w"))
cw.writerow("file,cycle_id,rows,score,health,flagged".split(","))
ew.writerow("file,cycle_id,row,time,sensor,severity,top_sensors,kind".split(","))
hdr = False
for f in files:
    rows = list(csv.DictReader(open(f)))
    sensors = [k for k in rows[0] if k not in ("timestamp", "cycle_id", "anomaly")]
    if not hdr:
        rw.writerow(["file", "cycle_id", "row", "anomaly", "flag", "score"] + sensors); hdr = True
    cyc = {}
    for r in rows: cyc.setdefault(r["cycle_id"], []).append(r)
    for cid, rs in cyc.items():
        an = [int(r["anomaly"]) for r in rs]
        flags = [int((x and rng.random() < 0.5) or rng.random() < 0.01) for x in an]
        score = sum(an) / len(an) + rng.random() * 0.3
        cw.writerow([f, cid, len(rs), f"{score:.4f}", "90", int(any(flags))])
        for i, r in enumerate(rs):
            rw.writerow([f, cid, i, an[i], flags[i], "" if i < 29 else "0.5"] + ["0.1"] * len(sensors))
        if any(flags):
            i = flags.index(1)
            ew.writerow([f, cid, i, parse_time(rs[i]["timestamp"]), sensors[0], "warning", sensors[0], "opened"])
print("overall  0.5 0.5 0.5")
