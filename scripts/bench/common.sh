# Sourced by the benchmark scripts, from the repository's root.

# usage LAST: prints the calling script's header comment (lines 2..LAST) as its help.
usage() { sed -n "2,$1p" "$0" | sed 's/^# \{0,1\}//'; }

# build_release: builds the release binaries (the build's last line on stderr) and sets bin to
# their folder and work to a fresh temporary folder (the caller's cleanup removes it).
build_release() {
    echo "== building (release)" >&2
    swift build -c release --static-swift-stdlib 2>&1 | tail -n 1 >&2
    bin=$PWD/.build/release
    work=$(mktemp -d)
}

# json EXPR: reads one JSON document on stdin and prints d EXPR (e.g. "['windows_per_s']").
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
