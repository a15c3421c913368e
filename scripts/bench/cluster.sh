#!/usr/bin/env bash
# Scale-out figure (docs/scale-out.md): scored values/s and latency with 1, 2 and 3 servers on one
# PostgreSQL behind nginx (scripts/cluster.sh), in one run on this machine.
#
#   scripts/bench/cluster.sh [--duration S] [--streams N] [--servers "1 2 3"] [--transport binary|socket|http]
#
# For each cluster size: a throwaway PostgreSQL, N release servers with the shipped pump model,
# nginx round-robin in front; `vertac-edge load --pump` through nginx, N_streams pump streams (one
# ingest token each) offering more windows than the cluster can score; each server pinned to a
# core range of its own with taskset when the machine has at least 2 cores per server plus one
# for the load, else unpinned (said in the output). Figures:
# - windows scored per second: the sum over the servers of vertac_windows_scored_total, read from
#   each server before and after (values/s = windows/s × 8 sensors at stride 1);
# - sample→acknowledgement p50/p99 as the load generator measures it (through nginx);
# - CPU seconds per 1,000 windows scored: the servers', PostgreSQL's, nginx's and the load
#   generator's (from /proc), from which the table's last lines project a larger machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/common.sh
DURATION=20
STREAMS=20
SIZES="1 2 3"
TRANSPORT=binary
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=$2; shift ;;
        --streams) STREAMS=$2; shift ;;
        --servers) SIZES=$2; shift ;;
        --transport) TRANSPORT=$2; shift ;;
        -h|--help) usage 17; exit 0 ;;
        *) echo "cluster.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

cores=$(nproc)
build_release
cluster_pid=""
cleanup() {
    [ -n "$cluster_pid" ] && kill -TERM "$cluster_pid" 2> /dev/null && wait "$cluster_pid" 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# CPU seconds (user + system) a process and its threads used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat" 2> /dev/null || echo 0; }
cpu_sum() { local t=0; for p in "$@"; do t=$(python3 -c "print($t + $(cpu "$p"))"); done; echo "$t"; }
scored_total() {
    local t=0
    for port in "$@"; do
        local n
        n=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/metrics" | awk '$1 == "vertac_windows_scored_total" {print $2}')
        t=$(python3 -c "print($t + ${n:-0})")
    done
    echo "$t"
}

bench=$("$bin/vertac-train" bench --window 30 --sensors 8 --hidden 64 --threads 2 --json)
ceiling=$(echo "$bench" | json "['score_batch256_windows_per_s']")
rows=$(python3 -c "import math; print(max(1000, math.ceil($ceiling * 1.5 / $STREAMS / 100) * 100))")
results=()
for n in $SIZES; do
    dir=$work/cluster-$n
    port=18400
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2> /dev/null; do port=$((port + 10)); done
    echo "== $n server(s): $STREAMS pump streams at $rows rows/s through nginx" >&2
    VERTAC_CLUSTER_DIR=$dir bash scripts/cluster.sh --no-build --servers "$n" --port "$port" > "$work/cluster-$n.log" 2>&1 &
    cluster_pid=$!
    for _ in $(seq 1 600); do grep -q "^VerTac cluster of" "$work/cluster-$n.log" && break; sleep 0.2; done
    grep -q "^VerTac cluster of" "$work/cluster-$n.log" || { cat "$work/cluster-$n.log" >&2; exit 1; }
    TOKEN=$(cat "$dir/server-1/admin.token")
    ports=$(sed -n 's#^server [0-9]*: http://127.0.0.1:\([0-9]*\) .*#\1#p' "$work/cluster-$n.log")
    server_pids=$(for p in $ports; do pgrep -f -- "vertac-serve --host 127.0.0.1 --port $p "; done)
    database=$(ps -o args= -p "$(echo "$server_pids" | head -n 1)" | sed -E 's/.*--database ([^ ]+).*/\1/')
    # PostgreSQL: the cluster's postmaster (its data directory on the command line) and its backends.
    pg_dir=$(sed -n 's#^pg-throwaway: PostgreSQL on \([^ ]*\) port.*#\1#p' "$work/cluster-$n.log")
    postmaster=$(pgrep -f -- "-D $pg_dir/data" | head -n 1)
    pg_pids="$postmaster $(pgrep -P "$postmaster" | tr '\n' ' ')"
    nginx_master=$(pgrep -f "nginx: master process nginx -p $dir/nginx" | head -n 1)
    nginx_pids="$nginx_master $(pgrep -P "$nginx_master" | tr '\n' ' ')"
    pinned="unpinned"
    if [ "$cores" -ge $((2 * n + 1)) ]; then
        k=0
        for p in $server_pids; do taskset -a -cp "$((1 + 2 * k))-$((2 + 2 * k))" "$p" > /dev/null; k=$((k + 1)); done
        pinned="pinned, 2 cores each"
    fi
    for k in $(seq 1 "$STREAMS"); do "$bin/vertac-serve" token create --scope ingest --name "device-$k" --database "$database" 2> /dev/null; done > "$work/tokens-$n"
    w0=$(scored_total $ports); c0=$(cpu_sum $server_pids); p0=$(cpu_sum $pg_pids); x0=$(cpu_sum $nginx_pids)
    start=$(date +%s.%N)
    load_args=(--server "http://127.0.0.1:$port" --token "$TOKEN" --token-file "$work/tokens-$n" --duration "$DURATION" --batch-rows 100
               --transport "$TRANSPORT" --json --pump --streams "$STREAMS" --rate "$rows")
    if [ "$cores" -ge $((2 * n + 1)) ]; then taskset -c 0 "$bin/vertac-edge" load "${load_args[@]}" > "$work/load-$n.json" &
    else "$bin/vertac-edge" load "${load_args[@]}" > "$work/load-$n.json" & fi
    wait "$!" || true
    end=$(date +%s.%N)
    w1=$(scored_total $ports); c1=$(cpu_sum $server_pids); p1=$(cpu_sum $pg_pids); x1=$(cpu_sum $nginx_pids)
    results+=("$(python3 - "$n" "$pinned" "$w0" "$w1" "$c0" "$c1" "$p0" "$p1" "$x0" "$x1" "$start" "$end" "$work/load-$n.json" <<'EOF'
import json, sys
n, pinned = sys.argv[1], sys.argv[2]
w0, w1, c0, c1, p0, p1, x0, x1, t0, t1 = map(float, sys.argv[3:13])
load = json.load(open(sys.argv[13]))
seconds = t1 - t0
windows = (w1 - w0) / seconds
per_k = lambda cpu: 1000 * cpu / max(1, w1 - w0)
print(json.dumps({"servers": int(n), "pinned": pinned, "windows_per_s": windows, "values_per_s": windows * 8,
                  "acked_values_per_s": load.get("values_per_s"), "ack_p50_ms": load.get("ack_p50_ms"), "ack_p99_ms": load.get("ack_p99_ms"),
                  "server_cpu_per_k": per_k(c1 - c0), "pg_cpu_per_k": per_k(p1 - p0), "nginx_cpu_per_k": per_k(x1 - x0),
                  "server_cpu_share": (c1 - c0) / seconds}))
EOF
)")
    kill -TERM "$cluster_pid" 2> /dev/null || true
    wait "$cluster_pid" 2> /dev/null || true
    cluster_pid=""
done

python3 - "$cores" "$ceiling" "$TRANSPORT" "${results[@]}" <<'EOF'
import json, sys
cores, ceiling, transport = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
rows = [json.loads(a) for a in sys.argv[4:]]
f = lambda v, d=0: "—" if v is None else f"{v:,.{d}f}"
print(f"Model ceiling (vertac-train bench, batch 256, T=30 D=8 H=64, 2 threads): {f(ceiling)} windows/s; {cores} cores; "
      f"load through nginx, transport {transport}\n")
print("| servers | windows/s scored | values/s scored | vs 1 server | efficiency per added server | sample→ack p50 / p99 ms | "
      "CPU s per 1,000 windows: servers / PostgreSQL / nginx | servers' CPU (cores busy) |")
print("|---|---|---|---|---|---|---|---|")
base = rows[0]["windows_per_s"] if rows else 0
for r in rows:
    ratio = r["windows_per_s"] / base if base else 0
    added = r["servers"] - rows[0]["servers"]
    eff = "—" if added == 0 else f"{100 * (ratio - 1) / added:.0f} %"
    print(f"| {r['servers']} ({r['pinned']}) | {f(r['windows_per_s'])} | {f(r['values_per_s'])} | {ratio:.2f}× | {eff} | "
          f"{f(r['ack_p50_ms'], 1)} / {f(r['ack_p99_ms'], 1)} | {r['server_cpu_per_k']:.3f} / {r['pg_cpu_per_k']:.3f} / {r['nginx_cpu_per_k']:.3f} | "
          f"{r['server_cpu_share']:.2f} |")
if rows:
    last = rows[-1]
    per_window = last["server_cpu_per_k"] / 1000
    pg = last["pg_cpu_per_k"] / 1000
    print(f"\nProjection from the {last['servers']}-server run's CPU per window (servers {per_window * 1e6:.0f} µs, PostgreSQL {pg * 1e6:.0f} µs): "
          f"a server with 4 cores of its own scores about {4 / per_window:,.0f} windows/s "
          f"({4 / per_window / 1000:,.0f} pump streams at 1 kHz, stride 1); N such servers N× that while PostgreSQL keeps up — "
          f"about {1 / pg:,.0f} windows/s per PostgreSQL core at this cost.")
EOF
