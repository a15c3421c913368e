#!/usr/bin/env bash
# VerTac's main job on this build: install what is missing, build in release, simulate a pump,
# train a model on its normal cycles, and evaluate it on fresh normal and faulty cycles.
# (When the server lands, this script will stream the cycles into it instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${VERTAC_DEMO_DIR:-vertac-data/demo}

scripts/install-deps.sh
echo "== building (release)"
swift build -c release 2>&1 | tail -n 1
bin=.build/release

echo "== simulating a pump: 30 normal cycles for training, then fresh normal and faulty cycles"
"$bin/vertac-edge" simulate --out "$out/train" --cycles 30 --seed 1
"$bin/vertac-edge" simulate --out "$out/test" --cycles 5 --seed 2 \
    --faults drift:outlet_pressure:0.6 stuck:flow spikes:motor_current:0.6 bearing-wear:0.8 cavitation

echo "== training (vertac-train fit)"
"$bin/vertac-train" fit "$out/train" --out "$out/pump.h5" --window 30 --hidden 64 --epochs 40

echo "== the model (vertac-train inspect)"
"$bin/vertac-train" inspect "$out/pump.h5"

echo "== detection on fresh cycles (vertac-train evaluate: reconstruction error against the calibrated thresholds)"
"$bin/vertac-train" evaluate --model "$out/pump.h5" "$out"/test/*.csv
echo
echo "model: $out/pump.h5 — report: $out/pump.report.md"
