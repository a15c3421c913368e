#!/usr/bin/env bash
# The seeded mutation harness for model files (Tests/ServeKitTests/ModelFuzzTests.swift): mutants
# of models/pump-default.h5 and fuzz/corpus/model/small.h5 — byte flips, truncations, spliced
# blocks, rewritten integers and floats — go through the isolated model reader (`vertac-serve
# model-check` in a resource-limited child), as uploads do. It fails if the parent (the test
# process) crashes, if any run outlives the wall limit, or if a crafted file of the corpus gets
# another answer than fuzz/corpus/model/expected.tsv records; it prints how many mutants were
# accepted, refused, crashed the child or timed out. `swift test` (CI) runs it with 240 mutants
# and at most 40 s; this script runs it longer.
#
#   scripts/fuzz-model.sh [--seed N] [--mutants N] [--seconds S] [--save DIR] [--corpus]
#
#   --save DIR   keep mutants under 100 KB that crashed or hung the child (candidates for the
#                corpus: copy them to fuzz/corpus/model/ with the answer "any refusal")
#   --corpus     first rewrite the crafted files with h5py (installed into .venv-py/)
set -euo pipefail
cd "$(dirname "$0")/.."

seed=1 mutants=2000 seconds=600 save="" corpus=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seed) seed=$2; shift 2 ;;
        --mutants) mutants=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --save) save=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
        --corpus) corpus=1; shift ;;
        *) echo "usage: $0 [--seed N] [--mutants N] [--seconds S] [--save DIR] [--corpus]" >&2; exit 2 ;;
    esac
done

if [ "$corpus" = 1 ]; then
    [ -x .venv-py/bin/python ] || python3 -m venv .venv-py
    .venv-py/bin/python -c "import h5py" 2> /dev/null || .venv-py/bin/pip install -q h5py numpy
    .venv-py/bin/python scripts/fixtures/make_model_corpus.py
fi

swift build --build-tests
VERTAC_FUZZ_SEED=$seed VERTAC_FUZZ_MUTANTS=$mutants VERTAC_FUZZ_SECONDS=$seconds VERTAC_FUZZ_SAVE=$save \
    swift test --skip-build --filter ModelFuzzTests
