#!/usr/bin/env bash
# Installs the Debian packages VerTac builds and tests against, when any is missing.
set -euo pipefail
packages=(libopenblas-dev libhdf5-dev libpq-dev libsqlite3-dev zlib1g-dev postgresql pkg-config nginx-light)
# Without what they recommend: prometheus for its promtool (scripts/check-monitoring.sh); the
# packaging tools and checks of scripts/package.sh.
# libcurl4-openssl-dev: the static Swift runtime's FoundationNetworking links libcurl.
lean=(prometheus lintian systemd dpkg-dev fakeroot libcurl4-openssl-dev)
missing=()
for p in "${packages[@]}" "${lean[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q "${packages[@]}"
$sudo apt-get install -y -q --no-install-recommends "${lean[@]}"
