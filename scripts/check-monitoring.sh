#!/usr/bin/env bash
# The monitoring that ships in deploy/ against a real server (README "Prometheus and Grafana"):
# 1. promtool check rules and promtool test rules on deploy/prometheus/vertac.rules*.yml;
# 2. a release vertac-serve (on the throwaway PostgreSQL of $VERTAC_TEST_DATABASE_URL when set,
#    so that the cluster gauges exist; else SQLite, and the cluster's names are not checked) with
#    the shipped pump model, fed a normal and a faulty simulated cycle; its /metrics through
#    promtool check metrics;
# 3. deploy/grafana/vertac.json: its structure (panels with ids, positions on the 24-column grid,
#    targets with expressions, the stream variable), every expression's PromQL (through promtool),
#    and every metric the rules and the dashboard name present in that scrape.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v promtool > /dev/null || { echo "check-monitoring: promtool missing (scripts/install-deps.sh installs it)" >&2; exit 1; }

echo "== promtool: rules"
(cd deploy/prometheus && promtool check rules vertac.rules.yml && promtool test rules vertac.rules.test.yml)

swift build -c release --static-swift-stdlib --product vertac-serve 2>&1 | tail -n 1
swift build -c release --static-swift-stdlib --product vertac-edge 2>&1 | tail -n 1
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
work=$(mktemp -d)
pid=""
database=()
created=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null || true
    [ -n "$created" ] && psql -q "$VERTAC_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $created" > /dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${VERTAC_TEST_DATABASE_URL:-}" ]; then
    created="vertac_monitoring_$$"
    psql -q "$VERTAC_TEST_DATABASE_URL" -c "CREATE DATABASE $created" > /dev/null
    database=(--database "$(echo "$VERTAC_TEST_DATABASE_URL" | sed -E "s#/[A-Za-z0-9_]+(\?|$)#/$created\1#")")
fi
port=8470
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2> /dev/null; do port=$((port + 1)); done
"$bin/vertac-serve" --port "$port" --data-dir "$work/data" --model models/pump-default.h5 "${database[@]}" > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/api/health" > /dev/null && break; sleep 0.1; done
token=$(cat "$work/data/admin.token")
"$bin/vertac-edge" stream --server "http://127.0.0.1:$port" --token "$token" --simulate --cycles 1 --faults bearing-wear \
    --speed 0 --batch-rows 50 --buffer "$work/edge.sqlite" > "$work/edge.log" 2>&1 || { cat "$work/edge.log" "$work/server.log" >&2; exit 1; }
sleep 2
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" > "$work/metrics.txt"
echo "== promtool: /metrics of a server that scored $(awk '$1 == "vertac_windows_scored_total" {print $2}' "$work/metrics.txt") windows"
promtool check metrics < "$work/metrics.txt"
echo "/metrics: no problems"

echo "== deploy/grafana/vertac.json"
python3 - "$work" "${#database[@]}" << 'PY'
import json, re, subprocess, sys
work, clustered = sys.argv[1], sys.argv[2] != "0"
d = json.load(open("deploy/grafana/vertac.json"))
problems = []
for key in ("title", "uid", "schemaVersion", "panels", "templating"):
    if key not in d: problems.append(f"no {key}")
ids = [p.get("id") for p in d["panels"]]
if len(set(ids)) != len(ids): problems.append(f"panel ids repeat: {ids}")
exprs = []
for p in d["panels"]:
    g = p.get("gridPos", {})
    if not all(isinstance(g.get(k), int) for k in "xywh") or g["x"] < 0 or g["w"] < 1 or g["x"] + g["w"] > 24 or g["h"] < 1:
        problems.append(f"panel {p.get('title')}: bad gridPos {g}")
    if not p.get("targets"): problems.append(f"panel {p.get('title')}: no targets")
    for t in p.get("targets", []):
        if not t.get("expr") or not t.get("refId"): problems.append(f"panel {p.get('title')}: a target without expr or refId")
        else: exprs.append(t["expr"])
variables = [v["name"] for v in d["templating"]["list"]]
if "stream" not in variables: problems.append("no stream variable")
# PromQL of every expression, with Grafana's variables filled in, as recording rules.
rules = {"groups": [{"name": "dashboard", "rules": [
    {"record": f"dashboard:expr{i}", "expr": e.replace("$__rate_interval", "5m").replace("$stream", ".*")} for i, e in enumerate(exprs)]}]}
open(f"{work}/dashboard-rules.json", "w").write(json.dumps(rules))
r = subprocess.run(["promtool", "check", "rules", f"{work}/dashboard-rules.json"], capture_output=True, text=True)
if r.returncode != 0: problems.append("PromQL: " + r.stdout + r.stderr)
# Every metric named in the rules and the dashboard is one the server exposes.
# Names with at least one sample (a family with only its # TYPE line counts as missing).
scraped = set()
for line in open(f"{work}/metrics.txt"):
    if line.strip() and not line.startswith("#"):
        scraped.add(re.split(r"[{ ]", line, maxsplit=1)[0])
rule_text = open("deploy/prometheus/vertac.rules.yml").read()
exprs_rules = re.findall(r"expr: (.*)", rule_text)
names = set()
for e in exprs + exprs_rules:
    names |= set(re.findall(r"\b(vertac_[a-z_]+)\b", e))
missing = sorted(n for n in names if n not in scraped and (clustered or not n.startswith("vertac_cluster_")))
if missing: problems.append(f"named but not exposed: {missing}")
if problems:
    print("\n".join(problems)); sys.exit(1)
note = "" if clustered else " (cluster metrics not checked: no PostgreSQL)"
print(f"{len(d['panels'])} panels, {len(exprs)} expressions valid; the {len(names)} metrics they and the rules name are all exposed{note}")
PY
echo "check-monitoring: passed"
