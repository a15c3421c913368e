#!/usr/bin/env python3
"""Turns the detection suite's evaluation files into one markdown table (scripts/bench/detection.sh).

    python3 scripts/bench/detection_table.py --work DIR [--readme README.md] [--json PATH]
    python3 scripts/bench/detection_table.py --self-test

Reads every DIR/runs/*/run.json that detection.sh writes: one per model evaluation (a data set and
a seed) naming the files of `vertac-train evaluate --model M --cycles C --scores R --events E`, or
for SKAB the saved output of `vertac-train evaluate --protocol skab`. Prints a table with one row
per data set (seeds pooled) and a detail table with one row per run, writes both to
DIR/detection-table.md and, with the raw per-run figures, to DIR/detection.json (or --json). With
--readme the text between `<!-- detection-table:begin -->` and `<!-- detection-table:end -->` in
that file is replaced by the tables (the markers must be there already).

Input formats (file, cycle_id identify a cycle in all three):
  cycles.csv  file,cycle_id,rows,score,health,flagged
  rows.csv    file,cycle_id,row,anomaly,flag,score,<sensor columns>   (row 0-based in the cycle)
  events.csv  file,cycle_id,row,time,sensor,severity,top_sensors,kind (kind opened/escalated)

Definitions
  cycle label          1 when any row of the cycle has anomaly 1 (rows.csv), else 0 (a normal cycle)
  fault kind           the test file's name without `fault-` and `.csv[.gz]` (fault-leak.csv → leak);
                       run.json's `anomaly_kind` (e.g. NOK) for labelled cycles in other files
  normal rows flagged  rows with flag 1 in normal cycles / all rows of normal cycles, in %
  false events         events of kind `opened` in normal cycles, per 100 normal cycles
  detected             the cycle's `flagged` is 1 (cycles.csv)
  delay                time of the first event (opened or escalated) at or after the onset row
                       (the cycle's first row with anomaly 1) minus the onset row's time; the
                       event's `time` column and the onset row's timestamp read from the test file
                       (or, when that file cannot be read, rows / run.json's `rate_hz`); the
                       median over the kind's detected cycles that have such an event
  macro F1             mean of the F1 of the faulty and of the normal class, cycle level,
                       predicted = flagged
  ROC AUC              Mann–Whitney U over cycle scores (cycles.csv `score`, higher = more
                       anomalous), ties at average ranks; a cycle without a score ranks lowest.
                       The pooled row takes the mean of the seeds' AUCs (models of different
                       seeds do not share a score scale); every other pooled figure pools counts.
"""
import argparse
import csv
import glob
import gzip
import json
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
from datetime import datetime, timezone

BEGIN, END = "<!-- detection-table:begin -->", "<!-- detection-table:end -->"
ORDER = ["simulator", "press", "skab", "screw"]
NUM = r"(-?(?:\d+(?:\.\d*)?|\.\d+)|nan|-?inf)"


# ---------------------------------------------------------------- metrics

def roc_auc(labels, scores):
    """ROC AUC by Mann–Whitney U with average ranks for ties; None without both classes.
    A score of None ranks below every number."""
    vals = [(-math.inf if s is None or (isinstance(s, float) and math.isnan(s)) else s) for s in scores]
    order = sorted(range(len(vals)), key=lambda i: vals[i])
    ranks = [0.0] * len(vals)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and vals[order[j + 1]] == vals[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = avg
        i = j + 1
    n1 = sum(1 for y in labels if y)
    n0 = len(labels) - n1
    if n1 == 0 or n0 == 0:
        return None
    r1 = sum(r for r, y in zip(ranks, labels) if y)
    return (r1 - n1 * (n1 + 1) / 2) / (n1 * n0)


def confusion(labels, predicted):
    tp = sum(1 for y, p in zip(labels, predicted) if y and p)
    fp = sum(1 for y, p in zip(labels, predicted) if not y and p)
    fn = sum(1 for y, p in zip(labels, predicted) if y and not p)
    tn = sum(1 for y, p in zip(labels, predicted) if not y and not p)
    return tp, fp, fn, tn


def macro_f1(tp, fp, fn, tn):
    """Mean of the positive and negative classes' F1; None when a class has neither true nor predicted members."""
    d1, d0 = 2 * tp + fp + fn, 2 * tn + fn + fp
    if d1 == 0 or d0 == 0:
        return None
    return (2 * tp / d1 + 2 * tn / d0) / 2


# ---------------------------------------------------------------- reading

def open_text(path):
    return gzip.open(path, "rt", newline="") if path.endswith(".gz") else open(path, newline="")


def parse_time(text):
    """Seconds since 1970 from epoch seconds or ISO 8601 (UTC when no zone is given)."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    d = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp()


def fault_kind(path, default):
    name = os.path.basename(path)
    for ext in (".csv.gz", ".csv"):
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    return name[len("fault-"):] if name.startswith("fault-") else default


def num(text):
    text = (text or "").strip()
    if not text:
        return None
    v = float(text)
    return None if math.isnan(v) else v


def row_times(path, wanted):
    """{(cycle_id, row): seconds} for the wanted pairs of one test file, or None if it cannot be read."""
    if not wanted or not os.path.exists(path):
        return None if wanted else {}
    ids = {c for c, _ in wanted}
    out = {}
    with open_text(path) as f:
        head = f.readline()
        sep = ";" if head.count(";") > head.count(",") else ","
        cols = [c.strip().lower() for c in next(csv.reader([head], delimiter=sep))]
        t_col = next((i for i, c in enumerate(cols) if c in ("timestamp", "time", "datetime")), None)
        c_col = cols.index("cycle_id") if "cycle_id" in cols else None
        if t_col is None:
            return None
        counters = {}
        only = next(iter(ids)) if c_col is None and len(ids) == 1 else None
        for rec in csv.reader(f, delimiter=sep):
            if not rec:
                continue
            cid = rec[c_col].strip() if c_col is not None else only
            if cid not in ids:
                continue
            r = counters.get(cid, 0)
            counters[cid] = r + 1
            if (cid, r) in wanted:
                out[(cid, r)] = parse_time(rec[t_col])
    return out


def load_run(meta):
    """Per-cycle records of one model evaluation."""
    default_kind = meta.get("anomaly_kind", "anomaly")
    cycles = {}
    with open_text(meta["cycles"]) as f:
        for r in csv.DictReader(f):
            key = (r["file"], r["cycle_id"].strip())
            cycles[key] = {"file": r["file"], "cycle_id": key[1], "rows": int(r["rows"]), "score": num(r["score"]),
                           "flagged": int(float(r["flagged"])), "label": None, "onset": None,
                           "flag_rows": 0, "scored_rows": 0, "events": []}
    missing_rows = 0
    with open_text(meta["scores"]) as f:
        for r in csv.DictReader(f):
            c = cycles.get((r["file"], r["cycle_id"].strip()))
            if c is None:
                missing_rows += 1
                continue
            row = int(r["row"])
            c["scored_rows"] += 1
            if int(float(r["anomaly"])) == 1:
                c["label"] = 1
                if c["onset"] is None or row < c["onset"]:
                    c["onset"] = row
            elif c["label"] is None:
                c["label"] = 0
            if int(float(r["flag"])) == 1:
                c["flag_rows"] += 1
    if os.path.exists(meta["events"]):
        with open_text(meta["events"]) as f:
            for r in csv.DictReader(f):
                c = cycles.get((r["file"], r["cycle_id"].strip()))
                if c is not None:
                    c["events"].append({"row": int(r["row"]), "time": parse_time(r["time"]) if (r["time"] or "").strip() else None, "kind": r["kind"].strip()})
    warnings = []
    if missing_rows:
        warnings.append(f"{missing_rows} rows of {meta['scores']} belong to no cycle of {meta['cycles']}")
    unlabelled = [k for k, c in cycles.items() if c["label"] is None]
    if unlabelled:
        warnings.append(f"{len(unlabelled)} cycles without rows in {meta['scores']}: left out")
        for k in unlabelled:
            del cycles[k]

    # onset times from the test files
    wanted = {}
    for c in cycles.values():
        if c["label"] == 1:
            c["kind"] = fault_kind(c["file"], default_kind)
            wanted.setdefault(c["file"], set()).add((c["cycle_id"], c["onset"]))
        else:
            c["kind"] = None
    rate = meta.get("rate_hz")
    for path, pairs in wanted.items():
        times = row_times(path, pairs)
        if times is None and not rate:
            warnings.append(f"{path}: no timestamps and no rate_hz: no delays")
        for c in cycles.values():
            if c["file"] != path or c["label"] != 1:
                continue
            after = sorted((e for e in c["events"] if e["row"] >= c["onset"]), key=lambda e: e["row"])
            c["delay"] = None
            if not after:
                continue
            first = after[0]
            t_on = times.get((c["cycle_id"], c["onset"])) if times else None
            if first["time"] is not None and t_on is not None:
                c["delay"] = round(first["time"] - t_on, 3)
            elif rate:
                c["delay"] = round((first["row"] - c["onset"]) / rate, 3)
    return list(cycles.values()), warnings


def summarise(cycles):
    normal = [c for c in cycles if c["label"] == 0]
    faulty = [c for c in cycles if c["label"] == 1]
    normal_rows = sum(c["scored_rows"] for c in normal)
    flagged_rows = sum(c["flag_rows"] for c in normal)
    false_events = sum(1 for c in normal for e in c["events"] if e["kind"] == "opened")
    kinds = {}
    for c in faulty:
        k = kinds.setdefault(c["kind"], {"cycles": 0, "detected": 0, "delays": []})
        k["cycles"] += 1
        k["detected"] += c["flagged"]
        if c["flagged"] and c.get("delay") is not None:
            k["delays"].append(c["delay"])
    labels = [c["label"] for c in cycles]
    pred = [c["flagged"] for c in cycles]
    tp, fp, fn, tn = confusion(labels, pred)
    return {
        "normal_cycles": len(normal), "faulty_cycles": len(faulty),
        "normal_rows": normal_rows, "normal_rows_flagged": flagged_rows,
        "normal_rows_flagged_pct": 100 * flagged_rows / normal_rows if normal_rows else None,
        "false_events": false_events,
        "false_events_per_100": 100 * false_events / len(normal) if normal else None,
        "kinds": kinds,
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
        "macro_f1": macro_f1(tp, fp, fn, tn),
        "accuracy": (tp + tn) / len(cycles) if cycles else None,
        "auc": roc_auc(labels, [c["score"] for c in cycles]),
    }


def parse_skab(text):
    out = {}
    m = re.search(r"VerTac LSTM-AE\s+F1\s+" + NUM + r"\s+FAR\s+" + NUM + r"\s*%\s+MAR\s+" + NUM + r"\s*%", text)
    if m:
        out["f1"], out["far"], out["mar"] = (float(x) for x in m.groups())
    m = re.search(r"NAB Standard / LowFP / LowFN\):\s*VerTac\s+" + NUM + r"\s*/\s*" + NUM + r"\s*/\s*" + NUM, text)
    if m:
        out["nab_standard"], out["nab_lowfp"], out["nab_lowfn"] = (float(x) for x in m.groups())
    m = re.search(r"Outlier detection, (\d+) file", text)
    if m:
        out["files"] = int(m.group(1))
    return out


# ---------------------------------------------------------------- formatting

def fmt(v, digits=2, suffix=""):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.{digits}f}{suffix}"


def fmt_delay(ds):
    if not ds:
        return ""
    m = statistics.median(ds)
    return f" ({m:.1f} s)" if abs(m) < 10 else f" ({m:.0f} s)"


def kinds_cell(kinds):
    if not kinds:
        return "–"
    return ", ".join(f"{k} {v['detected']}/{v['cycles']}{fmt_delay(v['delays'])}" for k, v in sorted(kinds.items()))


def skab_cell(s):
    if not s:
        return "–"
    return f"{fmt(s.get('f1'))} / {fmt(s.get('far'), 1)} / {fmt(s.get('mar'), 1)} / {fmt(s.get('nab_standard'), 1)}"


def pool(summaries):
    """Pools counts over runs; AUC as the mean of the runs' AUCs."""
    p = {"normal_cycles": 0, "faulty_cycles": 0, "normal_rows": 0, "normal_rows_flagged": 0, "false_events": 0,
         "kinds": {}, "confusion": {"tp": 0, "fp": 0, "fn": 0, "tn": 0}}
    for s in summaries:
        for k in ("normal_cycles", "faulty_cycles", "normal_rows", "normal_rows_flagged", "false_events"):
            p[k] += s[k]
        for k, v in s["kinds"].items():
            q = p["kinds"].setdefault(k, {"cycles": 0, "detected": 0, "delays": []})
            q["cycles"] += v["cycles"]
            q["detected"] += v["detected"]
            q["delays"] += v["delays"]
        for k in p["confusion"]:
            p["confusion"][k] += s["confusion"][k]
    c = p["confusion"]
    p["normal_rows_flagged_pct"] = 100 * p["normal_rows_flagged"] / p["normal_rows"] if p["normal_rows"] else None
    p["false_events_per_100"] = 100 * p["false_events"] / p["normal_cycles"] if p["normal_cycles"] else None
    p["macro_f1"] = macro_f1(c["tp"], c["fp"], c["fn"], c["tn"])
    n = sum(c.values())
    p["accuracy"] = (c["tp"] + c["tn"]) / n if n else None
    aucs = [s["auc"] for s in summaries if s["auc"] is not None]
    p["auc"] = sum(aucs) / len(aucs) if aucs else None
    return p


def build(work):
    metas = []
    for path in sorted(glob.glob(os.path.join(work, "runs", "*", "run.json"))):
        with open(path) as f:
            m = json.load(f)
        m["_path"] = path
        metas.append(m)
    if not metas:
        raise SystemExit(f"detection_table: no runs under {work}/runs/*/run.json")
    runs, warnings = [], []
    for m in metas:
        r = {"dataset": m["dataset"], "seed": m.get("seed"), "fit_seconds": m.get("fit_seconds"),
             "note": m.get("note")}
        if m["dataset"] == "skab" or "skab_output" in m:
            with open(m["skab_output"]) as f:
                r["skab"] = parse_skab(f.read())
            if "f1" not in r["skab"]:
                warnings.append(f"{m['skab_output']}: no SKAB figures found")
            r["seconds"] = m.get("seconds")
        else:
            cycles, w = load_run(m)
            warnings += [f"{m['dataset']} seed {m.get('seed')}: {x}" for x in w]
            r["summary"] = summarise(cycles)
            r["cycles"] = [{"file": c["file"], "cycle_id": c["cycle_id"], "rows": c["rows"], "label": c["label"],
                            "kind": c["kind"], "score": c["score"], "flagged": c["flagged"], "onset_row": c["onset"],
                            "delay_s": c.get("delay"), "flagged_rows": c["flag_rows"],
                            "events_opened": sum(1 for e in c["events"] if e["kind"] == "opened"),
                            "events": len(c["events"])} for c in cycles]
        runs.append(r)
    datasets = sorted({r["dataset"] for r in runs}, key=lambda d: (ORDER.index(d) if d in ORDER else len(ORDER), d))

    head = ("| data set | runs | normal rows flagged | false events / 100 normal cycles | faults detected (median delay to first event) "
            "| cycle macro F1 | cycle ROC AUC | SKAB F1 / FAR % / MAR % / NAB Std |")
    lines = [head, "|" + "---|" * 8]
    pooled = {}
    for d in datasets:
        rs = [r for r in runs if r["dataset"] == d]
        seeds = [r["seed"] for r in rs if r["seed"] is not None]
        runs_cell = (f"seed{'s' if len(seeds) > 1 else ''} {', '.join(str(s) for s in seeds)}" if seeds else f"{len(rs)} run{'s' if len(rs) > 1 else ''}")
        if any("skab" in r for r in rs):
            s = rs[0]["skab"]
            files = s.get("files")
            runs_cell = f"{files} files" if files else runs_cell
            lines.append(f"| {d} | {runs_cell} | – | – | – | – | – | {skab_cell(s)} |")
            pooled[d] = {"skab": s}
            continue
        p = pool([r["summary"] for r in rs])
        pooled[d] = p
        cycles_note = f" ({p['normal_cycles']} normal + {p['faulty_cycles']} faulty cycles)"
        lines.append(f"| {d} | {runs_cell}{cycles_note} | {fmt(p['normal_rows_flagged_pct'], 2, ' %')} | "
                     f"{fmt(p['false_events_per_100'], 1)} | {kinds_cell(p['kinds'])} | {fmt(p['macro_f1'], 3)} | "
                     f"{fmt(p['auc'], 3)}{' (mean of seeds)' if len(rs) > 1 else ''} | – |")
    detail = ["| data set | seed | fit s | normal / faulty cycles | normal rows flagged | false events / 100 normal cycles "
              "| faults detected (median delay) | macro F1 | accuracy | ROC AUC | SKAB F1 / FAR % / MAR % / NAB Std |",
              "|" + "---|" * 11]
    for r in sorted(runs, key=lambda r: (datasets.index(r["dataset"]), r["seed"] if r["seed"] is not None else -1)):
        if "skab" in r:
            detail.append(f"| {r['dataset']} | – | {fmt(r.get('seconds'), 0)} (whole protocol) | – | – | – | – | – | – | – | {skab_cell(r['skab'])} |")
            continue
        s = r["summary"]
        detail.append(f"| {r['dataset']} | {r['seed'] if r['seed'] is not None else '–'} | {fmt(r['fit_seconds'], 0)} | "
                      f"{s['normal_cycles']} / {s['faulty_cycles']} | {fmt(s['normal_rows_flagged_pct'], 2, ' %')} | "
                      f"{fmt(s['false_events_per_100'], 1)} | {kinds_cell(s['kinds'])} | {fmt(s['macro_f1'], 3)} | "
                      f"{fmt(s['accuracy'], 3)} | {fmt(s['auc'], 3)} | – |")
    notes = [r for r in runs if r.get("note")]
    text = "\n".join(lines) + "\n\nPer run:\n\n" + "\n".join(detail) + "\n"
    if notes:
        text += "\n" + "\n".join(f"- {r['dataset']}: {r['note']}" for r in notes) + "\n"
    return text, {"runs": runs, "pooled": pooled, "warnings": warnings}


def replace_in_readme(path, text):
    with open(path) as f:
        content = f.read()
    a, b = content.find(BEGIN), content.find(END)
    if a < 0 or b < 0 or b < a:
        raise SystemExit(f"detection_table: {path} has no {BEGIN} … {END} markers")
    new = content[: a + len(BEGIN)] + "\n" + text + content[b:]
    with open(path, "w") as f:
        f.write(new)


# ---------------------------------------------------------------- self-test

def self_test():
    failures = []
    count = [0]

    def check(name, got, want, tol=1e-9):
        count[0] += 1
        ok = (got is None and want is None) or (got is not None and want is not None and abs(got - want) <= tol)
        if not ok:
            failures.append(f"{name}: got {got}, want {want}")

    check("auc perfect", roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]), 1.0)
    check("auc reversed", roc_auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]), 0.0)
    check("auc one swap", roc_auc([0, 1, 0, 1], [0.1, 0.35, 0.4, 0.9]), 0.75)
    check("auc tie", roc_auc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1]), 0.875)
    check("auc all tied", roc_auc([1, 0, 1, 0], [1, 1, 1, 1]), 0.5)
    check("auc missing ranks lowest", roc_auc([1, 0, 0], [None, 0.2, 0.3]), 0.0)
    check("auc one class", roc_auc([1, 1], [0.1, 0.2]), None)
    check("macro f1", macro_f1(2, 1, 1, 6), (4 / 6 + 12 / 14) / 2)
    skab = parse_skab("Outlier detection, 16 file(s) (the full benchmark has 34; ...):\n"
                      "  VerTac LSTM-AE     F1 0.71   FAR 21.30 %   MAR 30.05 %\n"
                      "Changepoints (NAB Standard / LowFP / LowFN): VerTac 24.10 / -3.50 / 30.00\n")
    check("skab f1", skab.get("f1"), 0.71)
    check("skab far", skab.get("far"), 21.30)
    check("skab mar", skab.get("mar"), 30.05)
    check("skab nab", skab.get("nab_standard"), 24.10)
    check("skab nab lowfp", skab.get("nab_lowfp"), -3.5)
    check("skab files", skab.get("files"), 16)

    tmp = tempfile.mkdtemp(prefix="detection-table-selftest-")
    try:
        run = os.path.join(tmp, "runs", "press-seed1")
        os.makedirs(run)
        normal, fault = os.path.join(tmp, "normal-test.csv"), os.path.join(tmp, "fault-drift.csv.gz")
        # 2 normal cycles of 10 rows and 2 faulty cycles of 10 rows at 2 Hz; onset rows 4 and 6
        with open(normal, "w") as f:
            f.write("timestamp,cycle_id,a,anomaly\n")
            for c, t0 in (("n1", 0), ("n2", 100)):
                for r in range(10):
                    f.write(f"{t0 + r * 0.5},{c},1.0,0\n")
        with gzip.open(fault, "wt") as f:
            f.write("timestamp,cycle_id,a,anomaly\n")
            for c, t0, onset in (("f1", "2026-01-01T00:00:00.000Z", 4), ("f2", "2026-01-01T00:01:00.000Z", 6)):
                base = parse_time(t0)
                for r in range(10):
                    ts = datetime.fromtimestamp(base + r * 0.5, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                    f.write(f"{ts},{c},1.0,{int(r >= onset)}\n")
        with open(os.path.join(run, "cycles.csv"), "w") as f:
            f.write("file,cycle_id,rows,score,health,flagged\n")
            f.write(f"{normal},n1,10,0.1,98,0\n{normal},n2,10,0.4,80,1\n")
            f.write(f"{fault},f1,10,0.35,70,1\n{fault},f2,10,0.9,,0\n")
        with open(os.path.join(run, "rows.csv"), "w") as f:
            f.write("file,cycle_id,row,anomaly,flag,score,a\n")
            flags = {("n1",): [], ("n2",): [7, 8], ("f1",): [5, 6, 7], ("f2",): []}
            for fname, c, onset in ((normal, "n1", None), (normal, "n2", None), (fault, "f1", 4), (fault, "f2", 6)):
                for r in range(10):
                    an = int(onset is not None and r >= onset)
                    fl = int(r in flags[(c,)])
                    sc = "" if r < 2 else "0.5"
                    f.write(f"{fname},{c},{r},{an},{fl},{sc},0.01\n")
        with open(os.path.join(run, "events.csv"), "w") as f:
            f.write("file,cycle_id,row,time,sensor,severity,top_sensors,kind\n")
            f.write(f"{normal},n2,7,103.5,a,warning,a,opened\n{normal},n2,8,104.0,a,critical,a;b,escalated\n")
            t_f1 = parse_time("2026-01-01T00:00:00.000Z")
            f.write(f"{fault},f1,2,{t_f1 + 1.0},a,warning,a,opened\n")          # before onset: not the delay
            f.write(f"{fault},f1,7,{t_f1 + 3.5},a,critical,a,escalated\n")      # onset row 4 at +2.0 s → 1.5 s
        with open(os.path.join(run, "run.json"), "w") as f:
            json.dump({"dataset": "press", "seed": 1, "cycles": os.path.join(run, "cycles.csv"),
                       "scores": os.path.join(run, "rows.csv"), "events": os.path.join(run, "events.csv"),
                       "fit_seconds": 12.5}, f)
        skab_dir = os.path.join(tmp, "runs", "skab")
        os.makedirs(skab_dir)
        with open(os.path.join(skab_dir, "skab.txt"), "w") as f:
            f.write("Outlier detection, 16 file(s):\n  VerTac LSTM-AE     F1 0.71   FAR 21.30 %   MAR 30.05 %\n"
                    "Changepoints (NAB Standard / LowFP / LowFN): VerTac 24.10 / 20.00 / 30.00\n")
        with open(os.path.join(skab_dir, "run.json"), "w") as f:
            json.dump({"dataset": "skab", "skab_output": os.path.join(skab_dir, "skab.txt"), "seconds": 30}, f)
        text, data = build(tmp)
        print(text)
        s = data["runs"][0]["summary"]
        check("normal rows flagged %", s["normal_rows_flagged_pct"], 10.0)          # 2 of 20
        check("false events / 100", s["false_events_per_100"], 50.0)                 # 1 opened in 2 normal cycles
        check("drift detected", s["kinds"].get("drift", {}).get("detected"), 1)
        check("drift cycles", s["kinds"].get("drift", {}).get("cycles"), 2)
        check("drift delay", (s["kinds"].get("drift", {}).get("delays") or [None])[0], 1.5, 1e-6)
        check("cycle auc", s["auc"], 0.75)
        check("cycle macro f1", s["macro_f1"], 0.5)                                   # tp1 fp1 fn1 tn1
        for want in ("| press | seed 1 (2 normal + 2 faulty cycles) | 10.00 % | 50.0 | drift 1/2 (1.5 s) | 0.500 | 0.750 | – |",
                     "| skab | 16 files | – | – | – | – | – | 0.71 / 21.3 / 30.1 / 24.1 |"):
            if want not in text:
                failures.append(f"table lacks {want!r}:\n{text}")
        readme = os.path.join(tmp, "README.md")
        with open(readme, "w") as f:
            f.write(f"# x\n\n{BEGIN}\nold\n{END}\nafter\n")
        replace_in_readme(readme, text)
        with open(readme) as f:
            got = f.read()
        if "old" in got or not got.startswith(f"# x\n\n{BEGIN}\n| data set") or not got.endswith(f"{END}\nafter\n"):
            failures.append(f"README replacement wrong:\n{got}")
        with open(readme, "w") as f:
            f.write(f"{BEGIN}\n{END}\n")
        replace_in_readme(readme, text)
        replace_in_readme(readme, text)   # idempotent
        with open(readme) as f:
            if f.read() != f"{BEGIN}\n{text}{END}\n":
                failures.append("README replacement is not idempotent")
    finally:
        shutil.rmtree(tmp)
    checks = count[0] + 4   # the two table lines and the two README checks
    print(f"detection_table self-test: {checks - len(failures)} passed, {len(failures)} failed")
    for f in failures:
        print("  FAILED " + f)
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog="See the module docstring for the definitions.")
    ap.add_argument("--work", help="the suite's work folder (with runs/*/run.json)")
    ap.add_argument("--readme", help="replace the table between the detection-table markers in this file")
    ap.add_argument("--json", help="write the tables and raw figures here (default WORK/detection.json)")
    ap.add_argument("--self-test", action="store_true", help="check the metrics on small hand-made files")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not a.work:
        ap.error("give --work DIR (or --self-test)")
    text, data = build(a.work)
    for w in data["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    data["table"] = text
    with open(a.json or os.path.join(a.work, "detection.json"), "w") as f:
        json.dump(data, f, indent=1, default=str)
    with open(os.path.join(a.work, "detection-table.md"), "w") as f:
        f.write(text)
    if a.readme:
        replace_in_readme(a.readme, text)
        print(f"replaced the detection table in {a.readme}")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
