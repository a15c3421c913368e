#!/usr/bin/env bash
# VerTac in one command: install what is missing, build in release, start vertac-serve on the
# embedded store with the shipped model, stream normal and faulty simulated pump cycles through
# vertac-edge, and print per-sensor state changes, maintenance events and cycle health scores as
# they happen. Then the server keeps running (dashboard URL and token printed) until Ctrl-C.
#
#   scripts/demo.sh          # leaves the server running
#   scripts/demo.sh --once   # streams, prints the summary, stops everything, exit 0 (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
once=0
[ "${1:-}" = "--once" ] && once=1
port=${VERTAC_PORT:-8080}
data=${VERTAC_DEMO_DIR:-vertac-data/demo}
speed=${VERTAC_DEMO_SPEED:-20}

scripts/install-deps.sh
echo "== building (release)"
swift build -c release --static-swift-stdlib 2>&1 | tail -n 1
bin=.build/release

# A fresh data directory each run, and a free port.
rm -rf "$data" && mkdir -p "$data"
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

echo "== starting vertac-serve on 127.0.0.1:$port with models/pump-default.h5 (store: $data/vertac.sqlite)"
"$bin/vertac-serve" --port "$port" --data-dir "$data" --model models/pump-default.h5 > "$data/server.log" 2>&1 &
server=$!
stop() { kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true; }
trap stop EXIT
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/api/health" > /dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$data/server.log"; exit 1; }
    sleep 0.1
done
token=$(cat "$data/admin.token")
export VERTAC_TOKEN=$token

cycles=3
faults=(drift:outlet_pressure:0.6 stuck:flow spikes:motor_current:0.6 bearing-wear:0.8)
total=$((cycles + ${#faults[@]}))
echo "== streaming $cycles normal and ${#faults[@]} faulty cycles at ${speed}× real time (vertac-edge stream)"
"$bin/vertac-edge" watch --server "http://127.0.0.1:$port" --until-cycles "$total" --timeout 300 &
watcher=$!
"$bin/vertac-edge" stream --server "http://127.0.0.1:$port" --simulate --cycles "$cycles" --faults "${faults[@]}" \
    --seed 2 --speed "$speed" --buffer "$data/edge-buffer.sqlite" --device pump-demo
echo "== waiting for the last cycle's grace period and report"
wait "$watcher"

echo
echo "== summary"
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/streams" | python3 -c '
import json, sys
for s in json.load(sys.stdin)["streams"]:
    print("stream {} ({}): cycle {} {}, {} open maintenance event(s)".format(s["device_name"], s["id"], s["cycle_number"], s["cycle_state"], s["open_events"]))
    print("  sensors: " + ", ".join("{}={}".format(x["name"], x["state"]) for x in s["sensors"]))
'
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/streams" | python3 -c '
import json, sys
print(json.load(sys.stdin)["streams"][0]["id"])' > "$data/stream.id"
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/streams/$(cat "$data/stream.id")/cycles" | python3 -c '
import json, sys
for c in reversed(json.load(sys.stdin)["cycles"]):
    print("  cycle {} ({}): health {}, {}".format(c["number"], c["metadata"].get("source", ""), c["health_score"], c["severity"]))
'


if [ "$once" = 1 ]; then
    echo "== --once: stopping the server"
    exit 0
fi
echo
echo "The server keeps running. Dashboard: http://127.0.0.1:$port/  (sign in with the admin token: $token)"
echo "Review API: curl -H 'Authorization: Bearer $token' http://127.0.0.1:$port/api/v1/streams"
echo "Press Ctrl-C to stop it."
trap - EXIT
wait "$server"
