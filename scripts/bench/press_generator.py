#!/usr/bin/env python3
"""A second, independent cycle generator: a hydraulic press, for VerTac's detection suite.

    .venv-py/bin/python scripts/bench/press_generator.py --out DIR --seed S \
        [--train 40] [--normal-test 50] [--faults-per-kind 3] [--plain]

Writes DIR/train.csv.gz (normal cycles, anomaly all 0), DIR/normal-test.csv.gz and one
DIR/fault-<kind>.csv.gz per fault kind with --faults-per-kind faulty cycles each (plain .csv
with --plain). CSV dialect of DESIGN.md: `timestamp,cycle_id,<5 sensors>,anomaly`; ISO 8601
UTC timestamps with milliseconds, 25 Hz inside a cycle, a gap of 2–5 s between cycles, strictly
increasing over all files (train, normal-test, then the fault files in the order of KINDS);
cycle_id is a number, unique over all files and consecutive within a file. Deterministic by
seed: cycle i of a file draws from its own stream (seed, file, i), so --train does not change
the test cycles.

This is written from scratch, without the project's own simulator, so that the detector is
not only measured on the machine it was developed against. It differs on purpose: 5 sensors
instead of 8, 25 Hz instead of 1 Hz, five phases with other shapes than ramp/steady/ramp.

Machine model (one press stroke = one cycle, nominal 7.5 s ≈ 188 rows)
----------------------------------------------------------------------
Phases, each duration drawn uniformly within ±25 % of nominal, independently per cycle:

1. approach (1.6 s): the ram travels down its stroke S ≈ 180 mm on a quintic S-curve
   (smooth position, bell-shaped speed); cap-side pressure sits a little above idle
   (6 bar) in proportion to speed; pump current follows the flow demand (speed).
2. pressing (1.4 s): the ram is on the workpiece; pressure builds up as an exponential approach
   from idle towards the set pressure P ≈ 200 bar (time constant duration/3.5); the ram
   advances by the compliance of workpiece and frame (5 mm at P); current ≈ idle + pressure
   term + a decaying flow term.
3. hold (2.5 s): pressure relaxes onto the plateau P with a small oscillation (≈1.2 % of P at
   ≈3.2 Hz, the valve/oil column); position creeps by 0.3 mm; current = idle + a small
   leakage-compensation term.
4. decompression (0.4 s): fast exponential drop to ≈14 bar (time constant duration/5); the
   frame springs back.
5. return (1.6 s): the ram goes back to 0 on an S-curve; the pump current has a pulse
   (Gaussian, ≈22 A) while the return-side area is filled; pressure decays to idle.

Sensors (measured = true + AR(1) coloured noise + white noise, sensor-specific levels):
  ram_position  mm    AR σ 0.05 (φ 0.95), white 0.02
  ram_pressure  bar   AR σ 0.8  (φ 0.90), white 0.4
  pump_current  A     AR σ 0.3  (φ 0.80), white 0.2; the true current goes through a
                      first-order lag (τ 60 ms) so that valve switching is not an ideal step
  oil_temp      °C    start ≈ 42 ± 0.4 per cycle, warms up across the cycle in proportion to
                      the pump's cumulative work (≈ +1.2 °C over a nominal cycle);
                      AR σ 0.03 (φ 0.99), white 0.01, then quantised to 0.1 °C (ADC step)
  frame_strain  µε    2.1 µε/bar above idle through a 30 ms lag, zero offset ± 2 per cycle;
                      AR σ 1.5 (φ 0.9), white 1.0
Amplitudes vary per cycle by a few %: stroke σ 1.5 %, set pressure σ 2 %, return pulse σ 4 %,
warm-up σ 5 %, oscillation frequency ± 5 %.

Faults (anomaly = 1 exactly on the rows where the fault is active; everything else 0)
------------------------------------------------------------------------------------
  leak         from 10–40 % into the hold, pressure sags by 15–30 % of P (time constant 0.5 s);
               the pump current rises as it compensates; labelled from onset to the end of
               the hold.
  valve_stick  the decompression valve sticks: the hold lasts 0.3–0.6 s longer than drawn,
               then the spool jerks open with a pressure step of +8–15 % of P for 3–6 rows
               before the (normal) fast drop; labelled from the drawn end of the hold to the
               end of the step.
  stuck        ram_pressure freezes (repeats one reading exactly) from 40–60 % of the cycle to
               its end; labelled from the freeze to the end.
  drift        frame_strain drifts linearly from 40–60 % of the cycle to +30–50 % of its span
               (≈ 2.1 · P µε) at the last row; labelled from the drift's start to the end.
  spikes       3–6 short spikes (1–3 rows each, ± 25–45 % of the span) on pump_current anywhere
               after the first 10 rows; labelled on the spike rows only.
  long_phase   the hold lasts 1.8 × its drawn duration; the extra rows (its last 0.8/1.8) are
               labelled.
  early_stop   the cycle ends at 40–70 % of its drawn length by an emergency stop: over its last
               10 % of rows (at least 3) the pressure dumps to idle (τ 80 ms), the ram stops
               where it is and the pump unloads to 5 A. THE LAST 10 % OF THE ROWS IT HAS (at
               least 3) are labelled — the stop transient — not just its last row.
"""
import argparse
import csv
import gzip
import io
import os
import sys
from datetime import datetime, timezone

import numpy as np

FS = 25.0                   # rows per second
DT = 1.0 / FS
SENSORS = ["ram_position", "ram_pressure", "pump_current", "oil_temp", "frame_strain"]
PHASES = ["approach", "pressing", "hold", "decompression", "return"]
NOMINAL = {"approach": 1.6, "pressing": 1.4, "hold": 2.5, "decompression": 0.4, "return": 1.6}
KINDS = ["leak", "valve_stick", "stuck", "drift", "spikes", "long_phase", "early_stop"]
P_IDLE, P_RETURN, I_IDLE, COMPLIANCE = 6.0, 14.0, 7.0, 5.0
STRAIN_PER_BAR = 2.1
# (AR σ, AR φ, white σ) per sensor
NOISE = {"ram_position": (0.05, 0.95, 0.02), "ram_pressure": (0.8, 0.90, 0.4),
         "pump_current": (0.3, 0.80, 0.2), "oil_temp": (0.03, 0.99, 0.01),
         "frame_strain": (1.5, 0.90, 1.0)}
DECIMALS = {"ram_position": 3, "ram_pressure": 2, "pump_current": 3, "oil_temp": 1, "frame_strain": 1}
TEMP_STEP = 0.1
START_MS = int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)


def smooth(s):
    """Quintic S-curve 0→1 with zero speed and acceleration at both ends."""
    s = np.clip(s, 0.0, 1.0)
    return s * s * s * (10 - 15 * s + 6 * s * s)


def smooth_speed(s):
    s = np.clip(s, 0.0, 1.0)
    return 30 * s * s * (1 - s) ** 2      # d smooth / ds, peak 1.875 at s = 0.5


def lag(x, tau):
    """First-order lag filter (time constant tau seconds), starting at x[0]."""
    a = 1.0 - np.exp(-DT / tau)
    y = np.empty_like(x)
    acc = x[0]
    for i, v in enumerate(x):
        acc += a * (v - acc)
        y[i] = acc
    return y


def ar1(rng, n, sigma, phi):
    """Stationary AR(1) noise with marginal standard deviation sigma."""
    e = rng.normal(0.0, sigma * np.sqrt(1 - phi * phi), n)
    y = np.empty(n)
    acc = rng.normal(0.0, sigma)
    for i in range(n):
        acc = phi * acc + e[i]
        y[i] = acc
    return y


def make_cycle(rng, fault=None):
    """One cycle: (dict sensor → measured values, anomaly labels as int array)."""
    # --- draws (always the same draws in the same order, so a fault only adds to them) ---
    dur = {ph: NOMINAL[ph] * rng.uniform(0.75, 1.25) for ph in PHASES}
    stroke = 180.0 * (1 + rng.normal(0, 0.015))
    p_set = 200.0 * (1 + rng.normal(0, 0.02))
    pulse = 22.0 * (1 + rng.normal(0, 0.04))
    warm = 1.2 * (1 + rng.normal(0, 0.05))
    t0_oil = 42.0 + rng.normal(0, 0.4)
    f_osc = 3.2 * rng.uniform(0.95, 1.05)
    phi_osc = rng.uniform(0, 2 * np.pi)
    strain_zero = rng.normal(0, 2.0)
    frng = np.random.default_rng(rng.integers(2**63))   # the fault's own draws

    n = {ph: max(2, int(round(dur[ph] * FS))) for ph in PHASES}
    hold_drawn = n["hold"]
    stick_delay = 0
    if fault == "long_phase":
        n["hold"] = int(round(hold_drawn * 1.8))
    elif fault == "valve_stick":
        stick_delay = int(round(frng.uniform(0.3, 0.6) * FS))
        n["hold"] = hold_drawn + stick_delay
    total = sum(n.values())
    label = np.zeros(total, dtype=int)
    start = {}
    acc = 0
    for ph in PHASES:
        start[ph] = acc
        acc += n[ph]

    p = np.empty(total)
    x = np.empty(total)
    cur = np.empty(total)
    vmax = stroke / dur["approach"] * 1.875

    # approach
    k = np.arange(n["approach"])
    s = k / n["approach"]
    v = stroke * smooth_speed(s) / dur["approach"]
    sl = slice(start["approach"], start["approach"] + n["approach"])
    x[sl] = stroke * smooth(s)
    p[sl] = P_IDLE + 8.0 * v / vmax
    cur[sl] = I_IDLE + 15.0 * v / vmax

    # pressing: exponential approach to the set pressure
    k = np.arange(n["pressing"])
    t = k * DT
    tau = dur["pressing"] / 3.5
    sl = slice(start["pressing"], start["pressing"] + n["pressing"])
    p[sl] = p_set - (p_set - P_IDLE) * np.exp(-t / tau)
    cur[sl] = I_IDLE + 0.07 * p[sl] + 6.0 * np.exp(-t / (tau * 0.7))
    p_end = p_set - (p_set - P_IDLE) * np.exp(-dur["pressing"] / tau)

    # hold: plateau with a small oscillation
    k = np.arange(n["hold"])
    t = k * DT
    sl = slice(start["hold"], start["hold"] + n["hold"])
    osc = 0.012 * p_set * np.sin(2 * np.pi * f_osc * t + phi_osc) * (1 - np.exp(-t / 0.15))
    p[sl] = p_set + (p_end - p_set) * np.exp(-t / 0.3) + osc
    cur[sl] = I_IDLE + 0.035 * p[sl]
    creep = 0.3 * (1 - np.exp(-t / 1.0))
    if fault == "leak":
        onset = int(round(frng.uniform(0.1, 0.4) * n["hold"]))
        sag = frng.uniform(0.15, 0.30) * p_set
        tl = np.maximum(0, k - onset) * DT
        drop = np.where(k >= onset, sag * (1 - np.exp(-tl / 0.5)), 0.0)
        p[sl] = p[sl] - drop
        cur[sl] = cur[sl] + 0.06 * drop       # the pump compensates
        label[start["hold"] + onset: start["hold"] + n["hold"]] = 1
    if fault == "long_phase":
        label[start["hold"] + hold_drawn: start["hold"] + n["hold"]] = 1

    # decompression: fast exponential drop
    k = np.arange(n["decompression"])
    t = k * DT
    sl = slice(start["decompression"], start["decompression"] + n["decompression"])
    p_hold_end = p[start["hold"] + n["hold"] - 1]
    p[sl] = P_RETURN + (p_hold_end - P_RETURN) * np.exp(-t / (dur["decompression"] / 5))
    cur[sl] = I_IDLE + 2.0
    if fault == "valve_stick":
        # the spool jerks open: a pressure step first, then the normal drop from it
        step_rows = int(frng.integers(3, 7))
        step = frng.uniform(0.08, 0.15) * p_set
        i0 = start["decompression"]
        p[i0:] = np.nan   # recompute decompression after the step
        base = p[i0 - 1]
        p[i0:i0 + step_rows] = base + step * (1 - np.exp(-(np.arange(step_rows) + 1) / 1.0))
        rest = n["decompression"] - step_rows
        kk = np.arange(max(rest, 0))
        if rest > 0:
            p[i0 + step_rows:i0 + n["decompression"]] = P_RETURN + (p[i0 + step_rows - 1] - P_RETURN) * \
                np.exp(-(kk + 1) * DT / (dur["decompression"] / 5))
        cur[i0:i0 + step_rows] = I_IDLE + 0.035 * p[i0:i0 + step_rows]
        label[start["hold"] + hold_drawn: i0 + step_rows] = 1

    # position during pressing, hold and decompression: compliance under pressure
    i0, i1 = start["pressing"], start["return"]
    x[i0:i1] = stroke + COMPLIANCE * (p[i0:i1] - P_IDLE) / p_set
    x[start["hold"]:start["hold"] + n["hold"]] += creep
    x[start["decompression"]:i1] += creep[-1]

    # return: S-curve back to 0, current pulse, pressure decays to idle
    k = np.arange(n["return"])
    s = k / n["return"]
    t = k * DT
    sl = slice(start["return"], start["return"] + n["return"])
    x_from = x[start["return"] - 1]
    x[sl] = x_from * (1 - smooth((k + 1) / n["return"]))
    v = x_from * smooth_speed(s) / dur["return"]
    p_from = p[start["return"] - 1]
    p[sl] = P_IDLE + (p_from - P_IDLE) * np.exp(-(t + DT) / 0.3)
    cur[sl] = I_IDLE + 6.0 * v / vmax + pulse * np.exp(-0.5 * ((s - 0.3) / 0.12) ** 2)

    # early stop: emergency stop over the last 10 % of the rows kept
    if fault == "early_stop":
        keep = int(round(frng.uniform(0.4, 0.7) * total))
        m = max(3, int(round(0.1 * keep)))
        e0 = keep - m
        te = (np.arange(m) + 1) * DT
        p[e0:keep] = P_IDLE + (p[e0 - 1] - P_IDLE) * np.exp(-te / 0.08)
        x[e0:keep] = x[e0 - 1]
        cur[e0:keep] = 5.0
        p, x, cur, label = p[:keep], x[:keep], cur[:keep], label[:keep]
        label[e0:] = 1
        total = keep

    cur = lag(cur, 0.06)
    strain = strain_zero + STRAIN_PER_BAR * lag(p - P_IDLE, 0.03)
    work = np.cumsum(np.maximum(cur - 5.0, 0.0)) * DT
    oil = t0_oil + warm * work / 90.0            # ≈ 90 A·s over a nominal cycle

    true = {"ram_position": x, "ram_pressure": p, "pump_current": cur, "oil_temp": oil, "frame_strain": strain}
    out = {}
    for name in SENSORS:
        sig, phi, white = NOISE[name]
        out[name] = true[name] + ar1(rng, total, sig, phi) + rng.normal(0, white, total)

    mid = int(round(frng.uniform(0.4, 0.6) * total))
    if fault == "stuck":
        out["ram_pressure"][mid:] = out["ram_pressure"][mid]
        label[mid:] = 1
    elif fault == "drift":
        span = STRAIN_PER_BAR * (p_set - P_IDLE)
        amount = frng.uniform(0.3, 0.5) * span
        out["frame_strain"][mid:] += amount * (np.arange(total - mid) + 1) / (total - mid)
        label[mid:] = 1
    elif fault == "spikes":
        span = (I_IDLE + pulse) - I_IDLE
        for _ in range(int(frng.integers(3, 7))):
            w = int(frng.integers(1, 4))
            at = int(frng.integers(10, total - w))
            size = frng.uniform(0.25, 0.45) * span * frng.choice([-1.0, 1.0])
            out["pump_current"][at:at + w] += size
            label[at:at + w] = 1

    out["oil_temp"] = np.round(out["oil_temp"] / TEMP_STEP) * TEMP_STEP
    return out, label


def iso(ms):
    d = datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class Writer:
    """Writes files in order with one clock and one cycle counter over all of them."""

    def __init__(self, out, seed, plain):
        self.out, self.seed, self.plain = out, seed, plain
        self.clock_ms = START_MS
        self.next_id = 1
        self.clock_rng = np.random.default_rng([seed, 999])

    def write(self, stem, stream, count, fault=None):
        path = os.path.join(self.out, stem + (".csv" if self.plain else ".csv.gz"))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["timestamp", "cycle_id"] + SENSORS + ["anomaly"])
        rows = labelled = 0
        for i in range(count):
            rng = np.random.default_rng([self.seed, stream, i])
            values, label = make_cycle(rng, fault)
            cid = str(self.next_id)
            self.next_id += 1
            cols = [np.char.mod(f"%.{DECIMALS[s]}f", values[s]) for s in SENSORS]
            for r in range(len(label)):
                w.writerow([iso(self.clock_ms), cid] + [c[r] for c in cols] + [int(label[r])])
                self.clock_ms += int(DT * 1000)
            self.clock_ms += int(self.clock_rng.integers(2000, 5001))   # gap between cycles
            rows += len(label)
            labelled += int(label.sum())
        data = buf.getvalue().encode()
        with open(path, "wb") as f:
            if self.plain:
                f.write(data)
            else:
                with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as g:
                    g.write(data)
        print(f"wrote {path}: {count} cycles, {rows} rows, {labelled} labelled anomalous")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog="See the module docstring for the machine model and the fault labels.")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--train", type=int, default=40)
    ap.add_argument("--normal-test", type=int, default=50)
    ap.add_argument("--faults-per-kind", type=int, default=3)
    ap.add_argument("--faults", nargs="*", default=KINDS, choices=KINDS, help="fault kinds (default: all)")
    ap.add_argument("--plain", action="store_true", help="plain .csv instead of .csv.gz")
    a = ap.parse_args()
    if a.train < 0 or a.normal_test < 0 or a.faults_per_kind < 0:
        ap.error("counts must not be negative")
    os.makedirs(a.out, exist_ok=True)
    w = Writer(a.out, a.seed, a.plain)
    w.write("train", 1, a.train)
    w.write("normal-test", 2, a.normal_test)
    for j, kind in enumerate(KINDS):
        if kind in a.faults:
            w.write(f"fault-{kind}", 10 + j, a.faults_per_kind, fault=kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
