#!/usr/bin/env bash
# VerTac's detection suite: fit with DEFAULT settings, evaluate, one table.
#
#   scripts/bench/detection.sh [--quick] [--work DIR] [--readme README.md] [--only LIST] [--data DIR]
#
# Data sets (all fitted with `vertac-train fit` defaults: only --out and --threads 2; no tuning per set):
#   simulator  seeds 1 2 3: train on `vertac-edge simulate --cycles 40 --seed S`; test on a fresh seed
#              (S+100, --cycles 50) plus every fault kind from seeds S+100, S+200, S+300 (3 cycles a kind)
#   press      seeds 1 2 3: scripts/bench/press_generator.py (a hydraulic press, 5 sensors, 25 Hz):
#              train 40 cycles, test 50 normal + 3 faulty cycles per kind
#   skab       `vertac-train evaluate --protocol skab DATA/skab` (its own fit per file)
#   screw      scripts/bench/screw_split.py: fit on the OK runs of 40 workpieces (976 k rows), test on
#              every run of the other 20; the fit is long (≈ 3 min an epoch on one busy core, up to 50
#              epochs): its seconds are printed
# --quick: seed 1 only, no screw, SKAB on its first 4 files. --only simulator,press,...: those sets only.
# Each model evaluation is `vertac-train evaluate --model M FILES… --cycles C --scores R --events E`;
# scripts/bench/detection_table.py reads those files and prints the table (and with --readme replaces
# it between the detection-table markers). Work folder: ${TMPDIR:-/tmp}/vertac-detection (--work),
# with data/, models/, runs/<set>-seed<S>/ and detection.json / detection-table.md.
# The data files are written as plain CSV. VERTAC_TRAIN / VERTAC_EDGE override the binaries.
# VERTAC_TRAIN=scripts/bench/detection_stub.py checks the plumbing without a model (its figures mean nothing).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${TMPDIR:-/tmp}/vertac-detection
DATA=$(cd "$ROOT/.." && pwd)/shared/datasets
QUICK=0
README=
ONLY=simulator,press,skab,screw
THREADS=2

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --work) WORK=$2; shift ;;
        --readme) README=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --data) DATA=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "detection.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case "$WORK" in /*) ;; *) WORK=$PWD/$WORK ;; esac
case "$DATA" in /*) ;; *) DATA=$PWD/$DATA ;; esac
if [ -n "$README" ]; then case "$README" in /*) ;; *) README=$PWD/$README ;; esac; fi
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
if [ "$QUICK" = 1 ]; then SEEDS="1"; ONLY=$(echo ",$ONLY," | sed 's/,screw,/,/; s/^,//; s/,$//'); else SEEDS="1 2 3"; fi

TRAIN=${VERTAC_TRAIN:-$ROOT/.build/release/vertac-train}
EDGE=${VERTAC_EDGE:-$ROOT/.build/release/vertac-edge}
if [ ! -x "$TRAIN" ] || [ ! -x "$EDGE" ]; then
    if [ -n "${VERTAC_TRAIN:-}${VERTAC_EDGE:-}" ]; then echo "detection.sh: $TRAIN or $EDGE is missing" >&2; exit 2; fi
    echo "== building the release binaries (swift build -c release --static-swift-stdlib)"
    (cd "$ROOT" && swift build -c release --static-swift-stdlib)
fi
PY=$ROOT/.venv-py/bin/python
if ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "== creating .venv-py with numpy"
    python3 -m venv "$ROOT/.venv-py"
    "$ROOT/.venv-py/bin/pip" install -q numpy
fi
if ! "$TRAIN" evaluate --help 2>&1 | grep -q -- '--events'; then
    echo "detection.sh: $TRAIN evaluate has no --cycles/--scores/--events yet; rebuild it (swift build -c release --static-swift-stdlib)" >&2
    exit 2
fi
BENCH=$ROOT/scripts/bench

mkdir -p "$WORK"
rm -rf "$WORK/runs" "$WORK/models"
mkdir -p "$WORK/data" "$WORK/models" "$WORK/runs"
echo "== work folder $WORK; data sets: $ONLY; seeds: $SEEDS"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# meta FILE key=value…: a JSON object (values that parse as JSON stay numbers, the rest are strings)
meta() {
    "$PY" - "$@" <<'PYEOF'
import json, sys
d = {}
for a in sys.argv[2:]:
    k, v = a.split("=", 1)
    try:
        v = json.loads(v)
    except ValueError:
        pass
    d[k] = v
with open(sys.argv[1], "w") as f:
    json.dump(d, f, indent=1)
PYEOF
}

FIT_SECONDS=
# fit MODEL FILES…: default settings; sets FIT_SECONDS
fit() {
    local model=$1; shift
    local t0; t0=$(now)
    "$TRAIN" fit "$@" --out "$model" --threads "$THREADS" > "$model.fit.log" 2>&1 || {
        echo "detection.sh: fit failed, see $model.fit.log:" >&2; tail -20 "$model.fit.log" >&2; exit 1; }
    FIT_SECONDS=$(secs "$t0" "$(now)")
    echo "   fit $(basename "$model"): $FIT_SECONDS s"
}

# evaluate RUN DATASET SEED MODEL EXTRA_META FILES…
evaluate() {
    local run=$1 dataset=$2 seed=$3 model=$4 extra=$5; shift 5
    local dir=$WORK/runs/$run
    mkdir -p "$dir"
    "$TRAIN" evaluate --model "$model" "$@" --threads "$THREADS" \
        --cycles "$dir/cycles.csv" --scores "$dir/rows.csv" --events "$dir/events.csv" > "$dir/evaluate.txt" 2>&1 || {
        echo "detection.sh: evaluate failed, see $dir/evaluate.txt:" >&2; tail -20 "$dir/evaluate.txt" >&2; exit 1; }
    grep '^overall' "$dir/evaluate.txt" | sed 's/^/   row level: /' || true
    # shellcheck disable=SC2086
    meta "$dir/run.json" dataset="$dataset" seed="$seed" cycles="$dir/cycles.csv" scores="$dir/rows.csv" \
        events="$dir/events.csv" fit_seconds="$FIT_SECONDS" model="$model" $extra
}

SIM_FAULTS="drift:flow stuck:outlet_pressure spikes:vibration_rms bearing-wear cavitation long-phase abnormal-stop"
if want simulator; then
    for s in $SEEDS; do
        echo "== simulator, seed $s"
        d=$WORK/data/simulator-$s
        rm -rf "$d"
        # shellcheck disable=SC2086
        {
            "$EDGE" simulate --out "$d/train" --cycles 40 --seed "$s"
            "$EDGE" simulate --out "$d/test" --cycles 50 --seed $((s + 100)) --faults $SIM_FAULTS
            "$EDGE" simulate --out "$d/test-2" --cycles 0 --seed $((s + 200)) --faults $SIM_FAULTS
            "$EDGE" simulate --out "$d/test-3" --cycles 0 --seed $((s + 300)) --faults $SIM_FAULTS
        } > "$d.log" 2>&1 || { echo "detection.sh: simulate failed, see $d.log" >&2; cat "$d.log" >&2; exit 1; }
        fit "$WORK/models/simulator-$s.h5" "$d/train/normal.csv"
        evaluate "simulator-seed$s" simulator "$s" "$WORK/models/simulator-$s.h5" "rate_hz=1" \
            "$d/test/normal.csv" "$d"/test/fault-*.csv "$d"/test-2/fault-*.csv "$d"/test-3/fault-*.csv
    done
fi

if want press; then
    for s in $SEEDS; do
        echo "== press, seed $s"
        d=$WORK/data/press-$s
        rm -rf "$d"
        "$PY" "$BENCH/press_generator.py" --out "$d" --seed "$s" --train 40 --normal-test 50 --faults-per-kind 3 --plain > "$d.log"
        fit "$WORK/models/press-$s.h5" "$d/train.csv"
        evaluate "press-seed$s" press "$s" "$WORK/models/press-$s.h5" "rate_hz=25" "$d/normal-test.csv" "$d"/fault-*.csv
    done
fi

if want skab; then
    echo "== skab (SKAB leaderboard protocol)"
    dir=$WORK/runs/skab
    mkdir -p "$dir"
    limit=() note=
    if [ "$QUICK" = 1 ]; then limit=(--limit 4); note="note=--quick: first 4 files only"; fi
    t0=$(now)
    "$TRAIN" evaluate --protocol skab "$DATA/skab" --threads "$THREADS" "${limit[@]}" > "$dir/skab.txt" 2> "$dir/skab.err" || {
        echo "detection.sh: SKAB protocol failed:" >&2; tail -20 "$dir/skab.err" >&2; exit 1; }
    t=$(secs "$t0" "$(now)")
    grep -E 'VerTac|NAB' "$dir/skab.txt" | sed 's/^ */   /'
    echo "   $t s"
    if [ -n "$note" ]; then
        meta "$dir/run.json" dataset=skab skab_output="$dir/skab.txt" seconds="$t" "$note"
    else
        meta "$dir/run.json" dataset=skab skab_output="$dir/skab.txt" seconds="$t"
    fi
fi

if want screw; then
    echo "== screw (split by workpiece)"
    d=$WORK/data/screw
    "$PY" "$BENCH/screw_split.py" --data "$DATA/screw" --out "$d" --plain | sed 's/^/   /'
    fit "$WORK/models/screw.h5" "$d/train-ok.csv"
    echo "   screw fit seconds: $FIT_SECONDS"
    evaluate "screw" screw null "$WORK/models/screw.h5" "anomaly_kind=NOK rate_hz=833" "$d/test.csv"
fi

echo "== table"
args=(--work "$WORK")
if [ -n "$README" ]; then args+=(--readme "$README"); fi
"$PY" "$BENCH/detection_table.py" "${args[@]}"
echo "(raw figures: $WORK/detection.json)"
