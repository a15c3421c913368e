#!/usr/bin/env bash
# A VerTac cluster on this machine (README "Running a cluster", docs/scale-out.md): PostgreSQL,
# N vertac-serve processes on one database and Debian's nginx in front of them, round-robin,
# WebSocket upgrades passed through. Prints the URL and the admin token, then runs until Ctrl-C.
#
#   scripts/cluster.sh                       # 3 servers behind http://127.0.0.1:8080
#   scripts/cluster.sh --servers 2 --port 9000
#   scripts/cluster.sh --database URL        # an existing PostgreSQL instead of a throwaway one
#   scripts/cluster.sh --once                # start, check through nginx, stop (CI)
#   scripts/cluster.sh --no-build            # with the release binaries as they are (benchmarks)
#
# Everything listens on 127.0.0.1 only; files (data directories, logs, nginx.conf) go to
# ${VERTAC_CLUSTER_DIR:-/tmp/vertac-cluster}.
set -euo pipefail
cd "$(dirname "$0")/.."

servers=3
port=8080
database=""
once=0
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --servers) servers=${2:?}; shift 2 ;;
        --port) port=${2:?}; shift 2 ;;
        --database) database=${2:?}; shift 2 ;;
        --once) once=1; shift ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "cluster.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$servers" in ''|*[!0-9]*) echo "cluster.sh: --servers takes a number from 1 to 16" >&2; exit 2 ;; esac
[ "$servers" -ge 1 ] && [ "$servers" -le 16 ] || { echo "cluster.sh: --servers takes a number from 1 to 16" >&2; exit 2; }
command -v nginx > /dev/null || { echo "cluster.sh: nginx not found (apt-get install nginx-light)" >&2; exit 1; }

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
if [ "$once" -eq 1 ]; then
    port=18080
    while in_use "$port"; do port=$((port + 1)); done
fi
in_use "$port" && { echo "cluster.sh: port $port is in use (--port)" >&2; exit 1; }

dir=${VERTAC_CLUSTER_DIR:-/tmp/vertac-cluster}
rm -rf "$dir" && mkdir -p "$dir"
if [ "$build" -eq 1 ]; then
    echo "== building (release)"
    for product in vertac-serve vertac-edge vertac-train; do swift build -c release --static-swift-stdlib --product "$product" 2>&1 | tail -n 1; done
fi
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)

pids=()
pg_dir=""
sleeper=""
cleanup() {
    [ -n "$sleeper" ] && kill "$sleeper" 2> /dev/null || true
    # A clean stop: each server leaves the cluster (its leases end), then nginx and PostgreSQL.
    for p in "${pids[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
    wait 2> /dev/null || true
    [ -f "$dir/nginx.pid" ] && kill -QUIT "$(cat "$dir/nginx.pid")" 2> /dev/null || true
    [ -n "$pg_dir" ] && scripts/pg-throwaway.sh stop "$pg_dir"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # (a script started in the background ignores INT: stop it with TERM)

if [ -z "$database" ]; then
    eval "$(scripts/pg-throwaway.sh start)"
    pg_dir=$VERTAC_PG_DIR
    database=$VERTAC_TEST_DATABASE_URL
fi

# The servers: the first one creates the schema and the admin token, then the others join.
upstream=""
ports=()
for k in $(seq 1 "$servers"); do
    p=$((port + k))
    while in_use "$p"; do p=$((p + 100)); done
    mkdir -p "$dir/server-$k"
    "$bin/vertac-serve" --host 127.0.0.1 --port "$p" --advertise "http://127.0.0.1:$p" --database "$database" \
        --data-dir "$dir/server-$k" --model models/pump-default.h5 > "$dir/server-$k.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$p/api/health" > /dev/null 2>&1 && break
        kill -0 "${pids[-1]}" 2> /dev/null || { cat "$dir/server-$k.log" >&2; exit 1; }
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:$p/api/health" > /dev/null || { cat "$dir/server-$k.log" >&2; exit 1; }
    upstream+="        server 127.0.0.1:$p max_fails=0;"$'\n'
    ports+=("$p")
    echo "server $k: http://127.0.0.1:$p (log $dir/server-$k.log)"
done
# The first server on an empty database writes the admin token; an existing database has its own.
token=$(cat "$dir/server-1/admin.token" 2> /dev/null || echo "(the database's own: vertac-serve token create --scope admin --database URL)")

# nginx: round-robin over the servers; WebSocket upgrades passed through; a server that does not
# answer is skipped for the next (proxy_next_upstream), requests are not buffered.
mkdir -p "$dir/nginx"
cat > "$dir/nginx.conf" << EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log $dir/nginx-access.log;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    # Plain requests go over connections kept alive — and closed by nginx first (5 s, under the
    # servers' 10 s idle limit: a connection the server closed while nginx reused it would fail
    # the request). WebSocket upgrades go over fresh connections: a server answers an upgrade
    # on a connection that already carried requests with a redirect, which browsers do not follow.
    map \$http_upgrade \$connection_upgrade { default upgrade; '' ''; }
    map \$http_upgrade \$vertac_upstream { default vertac_sockets; '' vertac; }
    upstream vertac {
$upstream        keepalive 32;
        keepalive_timeout 5s;
    }
    upstream vertac_sockets {
$upstream    }
    server {
        listen 127.0.0.1:$port;
        client_max_body_size 64m;
        location / {
            proxy_pass http://\$vertac_upstream;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header Host \$host;
            proxy_read_timeout 1h;
            proxy_request_buffering off;
            proxy_next_upstream error timeout http_502;
        }
    }
}
EOF
nginx -p "$dir/nginx" -c "$dir/nginx.conf" -t -q
nginx -p "$dir/nginx" -c "$dir/nginx.conf"
url="http://127.0.0.1:$port"
for _ in $(seq 1 50); do curl -sf "$url/api/health" > /dev/null 2>&1 && break; sleep 0.1; done

if [ "$once" -eq 0 ]; then
    echo
    echo "VerTac cluster of $servers servers behind nginx: $url"
    echo "admin token: $token"
    echo "feed it:     $bin/vertac-edge stream --server $url --token $token --simulate --cycles 5 --speed 10"
    echo "stop:        Ctrl-C"
    # In the background, so that Ctrl-C runs the clean stop at once.
    while true; do sleep 3600 & sleeper=$!; wait "$sleeper"; done
fi

# --once: every kind of request through nginx, then a clean stop.
fail() { echo "cluster.sh: FAIL $*" >&2; exit 1; }
echo "== checks through nginx ($url)"
"$bin/vertac-edge" stream --server "$url" --token "$token" --simulate --cycles 2 --speed 0 --device cluster-pump \
    --buffer "$dir/edge-buffer.sqlite" > "$dir/edge.log" 2>&1 || { cat "$dir/edge.log" >&2; fail "the edge could not stream through nginx"; }
grep -q "all acknowledged (websocket)" "$dir/edge.log" || fail "the edge did not stream over its WebSocket: $(tail -n 1 "$dir/edge.log")"
echo "ok   a simulated pump streamed two cycles over its WebSocket through nginx ($(tail -n 1 "$dir/edge.log"))"
stream=$(curl -sf -H "Authorization: Bearer $token" "$url/api/v1/streams" | python3 -c '
import json, sys
print(next(s["id"] for s in json.load(sys.stdin)["streams"] if s["device_name"] == "cluster-pump"))')
# The server that registered the stream hands it to the one the hash chooses: at that moment
# no server serves it, for a moment.
for _ in $(seq 1 50); do
    total=0
    for p in "${ports[@]}"; do
        n=$(curl -sf "http://127.0.0.1:$p/api/health" | python3 -c 'import json, sys; print(json.load(sys.stdin)["streams"])' || echo 0)
        total=$((total + n))
    done
    [ "$total" -eq 1 ] && break
    sleep 0.1
done
[ "$total" -eq 1 ] || fail "the stream is served by $total servers, not one"
echo "ok   the stream is served by exactly one server"
served=""
for _ in $(seq 1 $((servers * 3))); do
    # 503 not_owner with Retry-After while the stream moves to the server the hash chooses (the
    # one that registered it hands it over): retried, as clients do.
    for _ in $(seq 1 20); do
        status=$(curl -s -o /dev/null -D - -H "Authorization: Bearer $token" "$url/api/live/stream/$stream/status" | tr -d '\r')
        echo "$status" | head -n 1 | grep -q " 503" || break
        sleep 0.3
    done
    echo "$status" | head -n 1 | grep -q " 200" || fail "stream status through nginx: $(echo "$status" | head -n 1)"
    served+=$(echo "$status" | awk 'tolower($1) == "x-vertac-served-by:" {print $2}')"|"
done
echo "ok   its status answers through every server ($(echo "$served" | tr '|' '\n' | grep -c 'http') of $((servers * 3)) forwarded to the owner)"
cycles=$(curl -sf -H "Authorization: Bearer $token" "$url/api/v1/streams/$stream/cycles" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["cycles"]))')
[ "$cycles" -ge 2 ] || fail "$cycles cycles stored, expected 2"
echo "ok   $cycles cycles stored"
# Upgrades between plain requests (which leave kept-alive connections to the servers behind).
for _ in $(seq 1 $((servers * 3))); do
    curl -sf "$url/api/health" > /dev/null
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" \
        -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" "$url/api/v1/live?token=$token" || true)
    [ "$code" = "101" ] || fail "the review socket through nginx answered $code, not 101"
done
echo "ok   the review WebSocket upgrades through nginx ($((servers * 3)) of $((servers * 3)) answered 101, between plain requests)"
# A model activated through one server: every stream's owner scores with it within 2 s. Six
# more streams, so that every server owns some; a small model fitted on simulated cycles.
sensors='[{"name":"motor_speed"},{"name":"motor_current"},{"name":"vibration_rms"},{"name":"bearing_temp"},{"name":"inlet_pressure"},{"name":"outlet_pressure"},{"name":"flow"},{"name":"power"}]'
for k in 1 2 3 4 5 6; do
    curl -sf -H "Authorization: Bearer $token" -d "{\"device_name\": \"cluster-extra-$k\", \"sensors\": $sensors}" "$url/api/live/register" > /dev/null \
        || fail "registering a stream through nginx"
done
"$bin/vertac-edge" simulate --out "$dir/candidate" --cycles 4 --seed 3 > /dev/null
"$bin/vertac-train" fit "$dir/candidate/normal.csv" --out "$dir/candidate/candidate.h5" --epochs 2 --hidden 8 > "$dir/candidate/fit.log" 2>&1
candidate=$(curl -sf -H "Authorization: Bearer $token" --data-binary @"$dir/candidate/candidate.h5" "$url/api/v1/models?name=candidate" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])') || fail "uploading a model through nginx"
sleep 4   # streams registered above settle on their owners (a handover takes a round)
streams=$(curl -sf -H "Authorization: Bearer $token" "$url/api/v1/streams" | python3 -c 'import json, sys; print(" ".join(s["id"] for s in json.load(sys.stdin)["streams"]))')
start=$(date +%s.%N)
curl -sf -X POST -H "Authorization: Bearer $token" "$url/api/v1/models/$candidate/activate" > /dev/null || fail "activating a model through nginx"
pending=$streams
while [ -n "$pending" ]; do
    left=""
    for s in $pending; do
        curl -sf -H "Authorization: Bearer $token" "$url/api/live/stream/$s/status" | grep -q "$candidate" || left+="$s "
    done
    pending=$left
    elapsed=$(python3 -c "import time; print(f'{time.time() - $start:.2f}')")
    python3 -c "import sys; sys.exit(0 if $elapsed < 10 else 1)" || fail "after 10 s streams not scored with the activated model: $pending"
done
python3 -c "import sys; sys.exit(0 if $elapsed <= 2 else 1)" || fail "the activated model reached every owner after $elapsed s, not within 2 s"
echo "ok   a model activated through one server: every one of $(echo $streams | wc -w) streams' owners scores with it after $elapsed s"
metrics=$(curl -sf -H "Authorization: Bearer $token" "$url/metrics")
nodes=$(echo "$metrics" | awk '$1 == "vertac_cluster_nodes" {print $2}')
[ "$nodes" = "$servers" ] || fail "/metrics counts $nodes nodes, not $servers"
echo "ok   /metrics: vertac_cluster_nodes $nodes, $(echo "$metrics" | grep -c '^vertac_cluster_streams{') per-node stream gauges"
if command -v promtool > /dev/null; then
    echo "$metrics" | promtool check metrics || fail "promtool refuses /metrics"
    echo "ok   promtool accepts /metrics"
else
    echo "skip promtool not installed (apt-get install prometheus): /metrics not linted"
fi
echo "cluster.sh: every check passed"
