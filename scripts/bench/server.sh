#!/usr/bin/env bash
# The server's speed against its own model's, in one run on this machine:
#
#   scripts/bench/server.sh [--postgres] [--duration S] [--streams N] [--transport binary|socket|http]
#
# 1. `vertac-train bench --json` at the shipped pump model's shape (T=30, D=8, H=64): batch-256
#    scoring windows/s, the model's ceiling.
# 2. `vertac-edge load --json` against a release `vertac-serve` with the pump model, the load
#    generator on the same cores:
#    - scored: 20 pump streams, each at the rate that offers 1.2× the ceiling of (1) in windows
#      (at least 1,000 rows/s; stride 1, one window per row): windows scored per second, as a
#      share of (1) — the load must exceed what the server can take to measure it;
#    - half load: the same streams at half the rate the scored run sustained: the server's
#      arrival→acknowledgement and arrival→state-change latencies (p50, p99);
#    - unscored: 20 streams × 10 sensors at 10,000 rows/s (2,000,000 values/s offered), no model.
#    Batches of 100 rows go as binary messages on each stream's socket (README: binary batches);
#    --transport socket sends them as JSON text on the socket, http as POST /api/live/batch.
#    Each stream sends with its own ingest token, as devices do (the server limits requests per
#    token: one token for all would cap the load at 500 batches/s).
# The server's figures come from its /metrics histograms (vertac_batch_ack_seconds,
# vertac_state_change_seconds), read before and after each run. SQLite by default; --postgres runs
# the same on a throwaway PostgreSQL cluster (scripts/pg-throwaway.sh). Prints one table (Markdown).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/common.sh
DURATION=20
STREAMS=20
PG=0
TRANSPORT=binary
while [ $# -gt 0 ]; do
    case "$1" in
        --postgres) PG=1 ;;
        --duration) DURATION=$2; shift ;;
        --streams) STREAMS=$2; shift ;;
        --transport) TRANSPORT=$2; shift ;;
        -h|--help) usage 22; exit 0 ;;
        *) echo "server.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

model=$PWD/models/pump-default.h5
build_release
server_pid=""
pg_dir=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2> /dev/null || true
    wait 2> /dev/null || true
    [ -n "$pg_dir" ] && scripts/pg-throwaway.sh stop "$pg_dir" > /dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
if [ "$PG" = 1 ]; then
    eval "$(scripts/pg-throwaway.sh start)"
    pg_dir=$VERTAC_PG_DIR
    store="PostgreSQL"
else
    store="SQLite"
fi

echo "== vertac-train bench (T=30 D=8 H=64)" >&2
bench=$("$bin/vertac-train" bench --window 30 --sensors 8 --hidden 64 --threads 2 --json)
ceiling=$(echo "$bench" | json "['score_batch256_windows_per_s']")

# start_server NAME [--model M]: a fresh data folder (or a fresh PostgreSQL schema) per run.
start_server() {
    local name=$1; shift
    local dir=$work/$name
    mkdir -p "$dir"
    local port=8300
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2> /dev/null; do port=$((port + 1)); done
    args=(--port "$port" --data-dir "$dir")
    if [ "$PG" = 1 ]; then
        local db="bench_${name}_$$"
        psql "$VERTAC_TEST_DATABASE_URL" -qc "CREATE DATABASE $db" > /dev/null
        # The same cluster, another database: the URL's path is the database name.
        args+=(--database "$(echo "$VERTAC_TEST_DATABASE_URL" | sed -E "s#^(postgresql://[^/]*/)[^?]*#\1$db#")")
    fi
    # An admin token for registering and /metrics, and one ingest token per stream.
    TOKEN=$("$bin/vertac-serve" token create --scope admin --name bench "${args[@]:2}" 2> /dev/null)
    TOKENS=$dir/tokens
    for k in $(seq 1 "$STREAMS"); do "$bin/vertac-serve" token create --scope ingest --name "device-$k" "${args[@]:2}" 2> /dev/null; done > "$TOKENS"
    "$bin/vertac-serve" "${args[@]}" "$@" > "$dir/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/api/health" > /dev/null 2>&1 && break; sleep 0.1; done
    URL="http://127.0.0.1:$port"
}
stop_server() { kill -TERM "$server_pid" 2> /dev/null || true; wait "$server_pid" 2> /dev/null || true; server_pid=""; }

load() { "$bin/vertac-edge" load --server "$URL" --token "$TOKEN" --token-file "$TOKENS" --duration "$DURATION" --batch-rows 100 --transport "$TRANSPORT" --json "$@"; }

scored_rate=$(python3 -c "import math; print(max(1000, math.ceil($ceiling * 1.2 / $STREAMS / 100) * 100))")
echo "== scored: $STREAMS pump streams at $scored_rate rows/s ($store)" >&2
start_server scored --model "$model"
scored=$(load --pump --streams "$STREAMS" --rate "$scored_rate")
stop_server
sustained=$(echo "$scored" | json "['windows_per_s']")
half_rate=$(python3 -c "print(max(10, round($sustained / $STREAMS / 2)))")

echo "== half load: $STREAMS pump streams at $half_rate rows/s ($store)" >&2
start_server half --model "$model"
half=$(load --pump --streams "$STREAMS" --rate "$half_rate")
stop_server

echo "== unscored: $STREAMS streams × 10 sensors at 10,000 rows/s ($store)" >&2
start_server unscored
unscored=$(load --streams "$STREAMS" --sensors 10 --rate 10000)
stop_server

python3 - "$store, $TRANSPORT" "$bench" "$scored" "$half" "$unscored" <<'EOF'
import json, sys
store, bench, scored, half, unscored = sys.argv[1], *[json.loads(a) for a in sys.argv[2:]]
ceiling = bench["score_batch256_windows_per_s"]
def f(v, digits=0):
    return "—" if v is None else f"{v:,.{digits}f}"
print(f"Model ceiling (vertac-train bench, batch 256, T=30 D=8 H=64): {f(ceiling)} windows/s\n")
print(f"| run ({store}) | offered values/s | acknowledged values/s | windows/s scored | share of the ceiling | "
      "sample→ack p50 / p99 ms | server arrival→ack p50 / p99 ms | server arrival→state change p50 / p99 ms |")
print("|---|---|---|---|---|---|---|---|")
for name, r in (("scored, stride 1", scored), ("half load, scored", half), ("unscored", unscored)):
    w = r.get("windows_per_s") if name != "unscored" else None
    share = f"{100 * w / ceiling:.0f} %" if w else "—"
    print(f"| {name}: {r['streams']} × {r['sensors']} at {f(r['rate'])} rows/s | {f(r['offered_values_per_s'])} | {f(r['values_per_s'])} | "
          f"{f(w)} | {share} | {f(r['ack_p50_ms'], 1)} / {f(r['ack_p99_ms'], 1)} | {f(r['server_ack_p50_ms'], 1)} / {f(r['server_ack_p99_ms'], 1)} | "
          f"{f(r['server_state_p50_ms'], 1)} / {f(r['server_state_p99_ms'], 1)} |")
EOF
