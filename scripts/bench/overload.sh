#!/usr/bin/env bash
# Sustained overload: the server keeps its memory flat, refuses the excess with 503 (an edge keeps
# it in its buffer and retries) and loses nothing it acknowledged.
#
#   scripts/bench/overload.sh [--minutes M] [--streams N]
#
# 1. 30 s of 20 pump streams at 1.2× the model's ceiling (as server.sh) measure the windows/s this
#    server sustains, scored at stride 1 (SQLite, release build, shipped pump model).
# 2. M minutes (default 10) at twice that, the server's RSS read from /proc every 5 s.
# 3. The server is stopped (SIGTERM) and the rows in its database are counted against the rows
#    `vertac-edge load` had acknowledged.
# Prints one summary line per check and exits 1 when one fails: RSS after the first minute more
# than ±10 % from its median, no 503 answered, or fewer rows stored than acknowledged.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/common.sh
MINUTES=10
STREAMS=20
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) MINUTES=$2; shift ;;
        --streams) STREAMS=$2; shift ;;
        -h|--help) usage 14; exit 0 ;;
        *) echo "overload.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

model=$PWD/models/pump-default.h5
build_release
server_pid=""
sampler_pid=""
cleanup() {
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2> /dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2> /dev/null || true
    wait 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

start_server() {
    local dir=$work/$1
    mkdir -p "$dir"
    local port=8300
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2> /dev/null; do port=$((port + 1)); done
    "$bin/vertac-serve" --port "$port" --data-dir "$dir" --model "$model" > "$dir/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/api/health" > /dev/null 2>&1 && break; sleep 0.1; done
    URL="http://127.0.0.1:$port"
    TOKEN=$(cat "$dir/admin.token")
    DIR=$dir
}
stop_server() { kill -TERM "$server_pid" 2> /dev/null || true; wait "$server_pid" 2> /dev/null || true; server_pid=""; }

ceiling=$("$bin/vertac-train" bench --window 30 --sensors 8 --hidden 64 --threads 2 --json | json "['score_batch256_windows_per_s']")
rate=$(python3 -c "import math; print(max(1000, math.ceil($ceiling * 1.2 / $STREAMS / 100) * 100))")
echo "== saturation: $STREAMS pump streams at $rate rows/s, 30 s" >&2
start_server saturation
sustained=$("$bin/vertac-edge" load --server "$URL" --token "$TOKEN" --duration 30 --batch-rows 100 --pump --streams "$STREAMS" --rate "$rate" --json \
    | json "['windows_per_s']")
stop_server
over=$(python3 -c "print(max(100, round(2 * $sustained / $STREAMS / 100) * 100))")
echo "== overload: $STREAMS pump streams at $over rows/s (2 × the $sustained windows/s sustained), $MINUTES min" >&2
start_server overload
( while kill -0 "$server_pid" 2> /dev/null; do
      # time, RSS, its anonymous and file-backed parts (KiB), threads, memory mappings
      echo "$(date +%s) $(awk '/^(VmRSS|RssAnon|RssFile|Threads):/ {printf "%s ", $2}' "/proc/$server_pid/status" 2> /dev/null)$(wc -l < "/proc/$server_pid/maps" 2> /dev/null)"
      sleep 5
  done > "$work/rss.txt" ) &
sampler_pid=$!
result=$("$bin/vertac-edge" load --server "$URL" --token "$TOKEN" --duration "$((MINUTES * 60))" --batch-rows 100 --pump \
    --streams "$STREAMS" --rate "$over" --json)
stop_server
kill "$sampler_pid" 2> /dev/null || true
wait "$sampler_pid" 2> /dev/null || true
sampler_pid=""

python3 - "$result" "$work/rss.txt" "$DIR/vertac.sqlite" "$sustained" "$over" "$STREAMS" <<'EOF'
import json, sqlite3, statistics, sys
result, rss_path, db, sustained, over, streams = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
rows = [tuple(map(int, l.split())) for l in open(rss_path) if len(l.split()) == 6]
samples = [(r[0], r[1]) for r in rows]
t0 = samples[0][0]
steady = [kb for t, kb in samples if t - t0 >= 60]
median = statistics.median(steady)
low, high = min(steady), max(steady)
stored = sqlite3.connect(db).execute("SELECT coalesce(sum(n), 0) FROM sample_chunks").fetchone()[0]
acked = result["rows_acknowledged"]
failed = []
print(f"offered {streams} × {over} rows/s = {over * streams / sustained:.1f}× the {sustained:,.0f} windows/s sustained, "
      f"{result['duration_s']:.0f} s: acknowledged {result['values_per_s']:,.0f} values/s, {result['busy_answers']:,} answers 503")
print(f"RSS after the first minute: median {median / 1024:.0f} MiB, {low / 1024:.0f}–{high / 1024:.0f} MiB "
      f"({100 * (low - median) / median:+.1f} % / {100 * (high - median) / median:+.1f} %), {len(steady)} samples")
by_minute = {}
for t, kb in samples: by_minute.setdefault((t - t0) // 60, []).append(kb)
print("RSS by minute (MiB): " + " ".join(f"{statistics.median(v) / 1024:.0f}" for _, v in sorted(by_minute.items())))
detail = {}
for r in rows: detail.setdefault((r[0] - t0) // 60, []).append(r)
print("by minute, anonymous / file-backed MiB, threads, mappings: " + " ".join(
    f"{statistics.median(x[2] for x in v) / 1024:.0f}/{statistics.median(x[3] for x in v) / 1024:.0f}/{max(x[4] for x in v)}/{max(x[5] for x in v)}"
    for _, v in sorted(detail.items())))
print(f"rows acknowledged {acked:,}, rows stored {stored:,}")
if high > 1.1 * median or low < 0.9 * median: failed.append("RSS moved more than ±10 %")
if result["busy_answers"] == 0: failed.append("no 503: the load did not overload the server")
if stored < acked: failed.append(f"{acked - stored:,} acknowledged rows are not stored")
print("overload: " + ("FAILED: " + "; ".join(failed) if failed else "ok"))
sys.exit(1 if failed else 0)
EOF
