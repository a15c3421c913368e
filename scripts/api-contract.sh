#!/usr/bin/env bash
# The HTTP API against its contract, docs/openapi.json: the document is validated
# (openapi-spec-validator), then schemathesis sends generated requests — valid and invalid — to a
# real release server (SQLite, the shipped pump model, a few simulated cycles stored) with each
# token scope (admin, engineer, ingest). It fails on any 5xx, any response that does not match its
# schema or status list, any request that breaks the schema yet is accepted. Not checked: 405 for
# methods a path does not have (the router answers 404 with the JSON error), and that every
# schema-valid request succeeds — some are refused for reasons a schema cannot state (a row's
# length must match the stream's sensors, from ≤ to, a registration's sensor_count must match its
# sensors, an upload must be an HDF5 model).
#
#   scripts/api-contract.sh [--examples N]     # N generated cases per operation (default 40)
set -euo pipefail
cd "$(dirname "$0")/.."
N=40
[ "${1:-}" = "--examples" ] && N=$2
[ -x .venv-py/bin/python ] || python3 -m venv .venv-py
.venv-py/bin/python -c "import schemathesis, openapi_spec_validator" 2> /dev/null \
    || .venv-py/bin/pip install -q schemathesis openapi-spec-validator
.venv-py/bin/python -c "import json, openapi_spec_validator as v; v.validate(json.load(open('docs/openapi.json')))"
echo "docs/openapi.json: a valid OpenAPI 3.1 document"

swift build -c release --static-swift-stdlib 2>&1 | tail -n 1
bin=$PWD/.build/release
work=$(mktemp -d)
port=8420
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2> /dev/null; do port=$((port + 1)); done
"$bin/vertac-serve" --port "$port" --data-dir "$work/data" --model models/pump-default.h5 > "$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2> /dev/null || true; wait 2> /dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/api/health" > /dev/null 2>&1 && break; sleep 0.1; done
url=http://127.0.0.1:$port
admin=$(cat "$work/data/admin.token")
engineer=$("$bin/vertac-serve" token create --scope engineer --name contract --data-dir "$work/data" | tail -n 1)
ingest=$("$bin/vertac-serve" token create --scope ingest --name contract --data-dir "$work/data" | tail -n 1)
"$bin/vertac-edge" stream --server "$url" --token "$ingest" --simulate --cycles 2 --faults spikes:motor_current:0.6 --speed 0 \
    --buffer "$work/edge.sqlite" > "$work/edge.log" 2>&1
st() {
    .venv-py/bin/schemathesis run docs/openapi.json --url "$url" -n "$N" --phases examples,coverage,fuzzing \
        --exclude-checks unsupported_method,positive_data_acceptance --seed 1 "$@"
}
status=0
for scope in admin engineer ingest; do
    token=${!scope}
    echo "== schemathesis, $scope token"
    st -H "Authorization: Bearer $token" > "$work/st-$scope.log" 2>&1 || status=1
    tail -n 4 "$work/st-$scope.log"
done
if [ $status -ne 0 ]; then
    for f in "$work"/st-*.log; do grep -q "FAILURES" "$f" && sed -n '/FAILURES/,/SUMMARY/p' "$f" | head -80; done
    echo "api-contract: failures (above)" >&2
    exit 1
fi
grep -q " 5[0-9][0-9] " "$work/server.log" && { echo "api-contract: the server logged a 5xx" >&2; grep " 5[0-9][0-9] " "$work/server.log" | head; exit 1; }
echo "api-contract: every scope passed"
