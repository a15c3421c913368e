#!/usr/bin/env bash
# The test command (README; CI runs exactly this through .ci/run): installs what is missing,
# starts a throwaway PostgreSQL cluster, builds, runs `swift test`, and stops the cluster on
# exit, also on failure; then the one-command demo and the dashboard in a real browser.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

VERTAC_PG_DIR=""
cleanup() { [ -n "$VERTAC_PG_DIR" ] && scripts/pg-throwaway.sh stop "$VERTAC_PG_DIR"; }
trap cleanup EXIT
eval "$(scripts/pg-throwaway.sh start)"
export VERTAC_TEST_DATABASE_URL

swift build --build-tests
swift test "$@"
# Coverage-guided fuzzing of the parsers, a minute per target (README "Fuzzing"); not with test filters.
[ $# -gt 0 ] || scripts/fuzz.sh

# The one-command demo, end to end (release build, server, edge, summary), then everything stops.
if [ $# -eq 0 ]; then
    scripts/demo.sh --once
    # Hostile and careless clients against a real release server (README "Limits and protections").
    scripts/probe.sh
    # Three servers on one PostgreSQL behind Debian's nginx, checked through it (README "Running a cluster").
    scripts/cluster.sh --once
    # The shipped alert rules (promtool), the Grafana dashboard and a real server's /metrics (README "Prometheus and Grafana").
    scripts/check-monitoring.sh
    # The Debian package: built, checked by lintian and systemd-analyze, unpacked and started (README "Installing from a package").
    scripts/package.sh --out "$(mktemp -d)"
    # The HTTP API against docs/openapi.json: schemathesis with each token scope (README "HTTP API").
    scripts/api-contract.sh
    # The dashboard in Debian's chromium through selenium, against a server fed with simulated data.
    scripts/browser-test.sh
fi
