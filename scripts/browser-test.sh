#!/usr/bin/env bash
# The dashboard in a real browser: starts vertac-serve (release build, embedded store, the shipped
# pump model) on a free port, feeds it a simulated pump (normal cycles, two faulty ones and an
# abnormal stop) and a 10-sensor stream at 1 kHz, and runs tests/browser/test_dashboard.py with
# Debian's chromium + chromedriver through selenium. Screenshots and the browser console land in
# artifacts/browser/.
#
#   scripts/browser-test.sh        # installs chromium, chromium-driver and selenium when missing
set -euo pipefail
cd "$(dirname "$0")/.."
art=${VERTAC_ARTIFACTS:-artifacts/browser}

if ! command -v chromium > /dev/null || ! command -v chromedriver > /dev/null; then
    echo "== installing chromium and chromium-driver"
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq
    $sudo_ apt-get install -y chromium chromium-driver > /dev/null
fi
[ -x .venv-py/bin/python ] || python3 -m venv .venv-py
.venv-py/bin/python -c "import selenium" 2> /dev/null || .venv-py/bin/pip install -q selenium

echo "== building (release)"
swift build -c release --static-swift-stdlib 2>&1 | tail -n 1
bin=$PWD/.build/release

rm -rf "$art" && mkdir -p "$art/data"
port=8091
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
server_cmd=("$bin/vertac-serve" --port "$port" --data-dir "$art/data" --model models/pump-default.h5)
"${server_cmd[@]}" > "$art/server.log" 2>&1 &
echo $! > "$art/server.pid"
feeders=()
cleanup() {
    for p in "${feeders[@]}"; do kill "$p" 2> /dev/null || true; done
    kill -TERM "$(cat "$art/server.pid")" 2> /dev/null || true
    wait 2> /dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/api/health" > /dev/null 2>&1 && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$port/api/health" > /dev/null || { cat "$art/server.log"; exit 1; }
admin=$(cat "$art/data/admin.token")
engineer=$("$bin/vertac-serve" token create --scope engineer --name browser-test --data-dir "$art/data" | tail -n 1)
ingest=$("$bin/vertac-serve" token create --scope ingest --name browser-edge --data-dir "$art/data" | tail -n 1)

echo "== feeding: a simulated pump (10x) and 10 sensors at 1 kHz"
"$bin/vertac-edge" stream --server "http://127.0.0.1:$port" --token "$ingest" --simulate --cycles 3 \
    --faults drift:outlet_pressure:0.6 spikes:motor_current:0.6 abnormal-stop --seed 5 --speed 10 \
    --buffer "$art/edge-buffer.sqlite" --device pump-browser > "$art/edge.log" 2>&1 &
feeders+=($!)
"$bin/vertac-edge" load --server "http://127.0.0.1:$port" --token "$admin" --streams 1 --sensors 10 --rate 1000 \
    --batch-rows 10 --duration 150 > "$art/load.log" 2>&1 &
feeders+=($!)

echo "== browser checks (chromium $(chromium --version 2> /dev/null | awk '{print $2}'))"
VERTAC_URL="http://127.0.0.1:$port" VERTAC_ADMIN_TOKEN="$admin" VERTAC_ENGINEER_TOKEN="$engineer" VERTAC_INGEST_TOKEN="$ingest" \
VERTAC_PUMP_DEVICE=pump-browser VERTAC_FAST_SENSORS=10 VERTAC_ARTIFACTS="$art" VERTAC_SERVER_PID="$art/server.pid" \
VERTAC_SERVER_CMD=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "${server_cmd[@]}") \
    .venv-py/bin/python tests/browser/test_dashboard.py
echo "== screenshots: $art/*.png"
