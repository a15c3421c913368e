#!/usr/bin/env bash
# Builds a Debian package of VerTac and checks it (README "Installing from a package"):
#
#   scripts/package.sh [--out DIR] [--no-check]
#
# The package (vertac_VERSION_ARCH.deb in DIR, default ./dist): vertac-serve, vertac-edge and
# vertac-train built with the Swift standard library linked in (--static-swift-stdlib, as every
# script's release build; the C
# libraries they use — OpenBLAS, HDF5, libpq, SQLite, zlib — come from Debian, as dpkg-shlibdeps
# finds them), the dashboard in /usr/share/vertac/dashboard, the shipped pump model, a systemd unit
# running as the vertac user with StateDirectory=vertac (/var/lib/vertac), a default config in
# /etc/vertac/vertac.yaml (a conffile), man pages generated from the argument parsers, bash and zsh
# completions, the README.
#
# Checks (unless --no-check): lintian (no errors), systemd-analyze verify of the unit, and the
# package unpacked into a throwaway root (dpkg -x) whose vertac-serve starts with the installed
# config (its paths moved into that root), answers /api/health and serves the dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=dist
CHECK=1
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift ;;
        --no-check) CHECK=0 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
# The Maintainer field: $VERTAC_MAINTAINER, else the author of the commit built.
MAINTAINER=${VERTAC_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2> /dev/null || echo "The VerTac authors <vertac@example.org>")}
VERSION=$(sed -n 's/.*version: "\([0-9.]*\)".*/\1/p' Sources/Serve/VertacServe.swift | head -n 1)
ARCH=$(dpkg --print-architecture)
products=(vertac-serve vertac-edge vertac-train)

# As every script builds for release (--static-swift-stdlib compiles every module differently:
# a release build without it, or one in the same folder with it, rebuilds everything).
echo "== building (release, static Swift standard library)"
static=(-c release --static-swift-stdlib)
for p in "${products[@]}"; do swift build "${static[@]}" --product "$p" 2>&1 | tail -n 1; done
bin=$(swift build "${static[@]}" --show-bin-path)
# swift-argument-parser's manual generator, run on the built programs (its package plugin would
# build them again, without the static runtime).
swift build --product generate-manual 2>&1 | tail -n 1
manual=$(swift build --show-bin-path)/generate-manual

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
root=$work/root
install -d "$root/usr/bin" "$root/usr/share/vertac" "$root/etc/vertac" "$root/lib/systemd/system" \
    "$root/usr/share/man/man1" "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/doc/vertac" "$root/DEBIAN"
for p in "${products[@]}"; do install -m 0755 -s "$bin/$p" "$root/usr/bin/$p"; done
cp -r Sources/ServeKit/Dashboard "$root/usr/share/vertac/dashboard"
install -m 0644 models/pump-default.h5 "$root/usr/share/vertac/pump-default.h5"
# The default config: every key with its default, the data and dashboard where the package puts them.
"$bin/vertac-serve" config sample \
    | sed -e 's#^data_dir: .*#data_dir: "/var/lib/vertac"#' -e 's#^\# dashboard_dir:.*#dashboard_dir: "/usr/share/vertac/dashboard"#' -e 's#^\# model:$#\# model: "/usr/share/vertac/pump-default.h5"  (the shipped model of the simulated pump)#' \
    > "$root/etc/vertac/vertac.yaml"
grep -q '^dashboard_dir: "/usr/share/vertac/dashboard"' "$root/etc/vertac/vertac.yaml"
install -m 0644 deploy/debian/vertac-serve.service "$root/lib/systemd/system/vertac-serve.service"
for s in postinst prerm postrm; do install -m 0755 "deploy/debian/$s" "$root/DEBIAN/$s"; done
echo /etc/vertac/vertac.yaml > "$root/DEBIAN/conffiles"

echo "== man pages and completions"
for p in "${products[@]}"; do
    "$manual" "$bin/$p" --authors "The VerTac authors" --date "$(date -u +%Y-%m-%d)" \
        --output-directory "$root/usr/share/man/man1" > "$work/manual-$p.log" 2>&1 || { cat "$work/manual-$p.log" >&2; exit 1; }
    # Sourced by bash-completion, not run: no #! line.
    "$bin/$p" --generate-completion-script bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/$p"
    "$bin/$p" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_$p"
done
[ -f "$root/usr/share/man/man1/vertac-serve.1" ] || { echo "package.sh: no man page for vertac-serve" >&2; exit 1; }
gzip -9n "$root"/usr/share/man/man1/*.1

install -m 0644 deploy/debian/copyright "$root/usr/share/doc/vertac/copyright"
install -d "$root/usr/share/lintian/overrides"
install -m 0644 deploy/debian/lintian-overrides "$root/usr/share/lintian/overrides/vertac"
gzip -9nc README.md > "$root/usr/share/doc/vertac/README.md.gz"
printf 'vertac (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- %s  %s\n' \
    "$VERSION" "$(git rev-parse --short HEAD 2> /dev/null || echo source)" "$MAINTAINER" "$(date -uR)" | gzip -9n > "$root/usr/share/doc/vertac/changelog.gz"
find "$root" -type d -exec chmod 0755 {} \;

# Dependencies: the shared libraries the programs load, as Debian's packages.
mkdir -p "$work/src/debian"
printf 'Source: vertac\n\nPackage: vertac\nArchitecture: any\n' > "$work/src/debian/control"
deps=$(cd "$work/src" && dpkg-shlibdeps -O "${products[@]/#/$root/usr/bin/}" | sed -n 's/^shlibs:Depends=//p')
[ -n "$deps" ] || { echo "package.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" << CONTROL
Package: vertac
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $size
Depends: $deps, adduser
Suggests: postgresql, prometheus
Section: net
Priority: optional
Homepage: https://github.com/vertac/vertac
Description: anomaly detection for machines that run in cycles
 VerTac learns the sensor data of a machine's normal cycles with an LSTM
 autoencoder and watches live streams for cycles that depart from them.
 .
 This package holds vertac-serve (live ingestion over HTTP and WebSocket,
 scoring, per-sensor anomaly states, maintenance events, review API and
 dashboard; SQLite or PostgreSQL), vertac-edge (simulator, CSV replay and
 buffered uploads) and vertac-train (fitting, calibration and evaluation).
CONTROL
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
mkdir -p "$OUT"
deb=$OUT/vertac_${VERSION}_${ARCH}.deb
fakeroot dpkg-deb --build --root-owner-group -Zxz "$root" "$deb" > /dev/null
echo "package: $deb ($(du -h "$deb" | cut -f1)); depends: $deps, adduser"
[ "$CHECK" = 1 ] || exit 0

echo "== lintian"
lintian --fail-on error,warning "$deb" | tee "$work/lintian.txt"
echo "lintian: no errors, no warnings"

echo "== systemd-analyze verify"
unit=$work/verify/vertac-serve.service
mkdir -p "$work/verify"
# The unit as installed, its program at the unpacked path (verify checks that it exists).
sed "s#^ExecStart=/usr/bin/vertac-serve#ExecStart=$root/usr/bin/vertac-serve#" deploy/debian/vertac-serve.service > "$unit"
SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$unit"
echo "systemd-analyze: the unit verifies"

echo "== installed into a throwaway root"
inst=$work/installed
dpkg -x "$deb" "$inst"
port=8490
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2> /dev/null; do port=$((port + 1)); done
sed -e "s#^data_dir: .*#data_dir: \"$work/state\"#" -e "s#^dashboard_dir: .*#dashboard_dir: \"$inst/usr/share/vertac/dashboard\"#" \
    -e "s#^port: .*#port: $port#" "$inst/etc/vertac/vertac.yaml" > "$work/vertac.yaml"
"$inst/usr/bin/vertac-serve" --version
(cd /tmp && exec "$inst/usr/bin/vertac-serve" --config "$work/vertac.yaml" --model "$inst/usr/share/vertac/pump-default.h5" > "$work/serve.log" 2>&1) &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/api/health" > /dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/api/health" || { cat "$work/serve.log" >&2; exit 1; }
echo
curl -sf "http://127.0.0.1:$port/" | grep -q "<title>" || { echo "package.sh: the installed server does not serve the dashboard" >&2; exit 1; }
grep -q "model loaded" "$work/serve.log" || { cat "$work/serve.log" >&2; exit 1; }
"$inst/usr/bin/vertac-train" --help > /dev/null && "$inst/usr/bin/vertac-edge" --help > /dev/null
ldd "$inst/usr/bin/vertac-serve" | grep -q "libswiftCore" && { echo "package.sh: the Swift runtime is not linked in" >&2; exit 1; }
echo "package.sh: the installed vertac-serve started from /etc/vertac/vertac.yaml, loaded the shipped model and serves the dashboard"
