#!/usr/bin/env bash
# Coverage-guided fuzzing of VerTac's parsers with libFuzzer, bounded in time (README "Fuzzing").
# scripts/test.sh runs it after `swift test`.
#
#   scripts/fuzz.sh                       # every target, FUZZ_SECONDS (default 60) each
#   scripts/fuzz.sh csv                   # only the named targets
#   FUZZ_SECONDS=600 scripts/fuzz.sh timestamp
#   FUZZ_MERGE=1 scripts/fuzz.sh          # afterwards, add the new inputs that widen coverage
#                                         # to the committed corpus (for a person, not CI)
#
# Each target is a harness, fuzz/<name>/*.swift, compiled with the sources it exercises by swiftc
# with -sanitize=fuzzer,address into .build-fuzz/<name>/fuzzer (git-ignored; a SwiftPM target
# cannot be linked with libFuzzer's main). The run reads the committed seeds in fuzz/corpus/<name>/
# and the dictionary fuzz/<name>/*.dict if there is one, and writes the inputs it finds to a
# temporary directory, so the tree stays clean. A crash, a timeout (-timeout=5), running out of
# memory (-rss_limit_mb=2048) or a property the harness asserts failing stops it: the reproducer
# is kept in artifacts/fuzz/<name>/, printed, and the script exits non-zero after the other targets.
set -euo pipefail
cd "$(dirname "$0")/.."

# The targets, one line each: name, the longest input (-max_len), then the modules to build, in
# dependency order, as Module=file[,file…]. The harness is compiled into the last module, so it
# sees that module's internal API; the sources are compiled as they are, their imports resolved
# against the modules built before them.
targets=(
    "timestamp 128  Inference=Sources/Inference/Timestamp.swift"
    "csv       4096 Inference=Sources/Inference/Timestamp.swift TrainerKit=Sources/TrainerKit/CSVTable.swift,Sources/TrainerKit/CSVError.swift"
    "batch     4096 ServeKit=Sources/ServeKit/API/BatchDecoder.swift,Sources/ServeKit/API/LiveDTO.swift"
)

seconds=${FUZZ_SECONDS:-60}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz: FUZZ_SECONDS must be a whole number of seconds, not \"$seconds\"" >&2; exit 2; }
out=.build-fuzz
artifacts=${FUZZ_ARTIFACTS:-artifacts/fuzz}

# The Swift toolchain: on PATH, or /opt/swift. Its clang resource directory must hold libFuzzer.
if ! command -v swiftc > /dev/null && [ -x /opt/swift/usr/bin/swiftc ]; then export PATH=/opt/swift/usr/bin:$PATH; fi
command -v swiftc > /dev/null || { echo "fuzz: swiftc not found (install Swift 6 at /opt/swift or on PATH)" >&2; exit 1; }
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")
if ! compgen -G "$toolchain/lib/clang/*/lib/linux/libclang_rt.fuzzer-$(uname -m).a" > /dev/null \
    && ! compgen -G "$toolchain/lib/swift/clang/lib/linux/libclang_rt.fuzzer-$(uname -m).a" > /dev/null; then
    echo "fuzz: this Swift toolchain ($toolchain) has no libFuzzer runtime (libclang_rt.fuzzer); use a swift.org toolchain" >&2
    exit 1
fi

# Builds .build-fuzz/<name>/fuzzer unless it is newer than its sources, harness and this script.
build() {
    local name=$1; shift
    local dir=$out/$name bin=$out/$name/fuzzer
    local harness=(fuzz/"$name"/*.swift)
    local sources=("${harness[@]}" scripts/fuzz.sh) spec
    for spec in "$@"; do IFS=, read -r -a files <<< "${spec#*=}"; sources+=("${files[@]}"); done
    local newer # (a missing source makes find fail, and the build says which)
    if [ -x "$bin" ] && newer=$(find "${sources[@]}" -newer "$bin" 2> /dev/null) && [ -z "$newer" ]; then return 0; fi
    echo "== fuzz: building $name"
    rm -rf "$dir" && mkdir -p "$dir"
    local last=${!#} module objects=()
    for spec in "$@"; do
        module=${spec%%=*}
        IFS=, read -r -a files <<< "${spec#*=}"
        [ "$spec" = "$last" ] && files+=("${harness[@]}")
        swiftc -swift-version 6 -O -g -parse-as-library -sanitize=fuzzer,address -wmo -module-name "$module" \
            -I "$dir" -emit-module -emit-module-path "$dir/$module.swiftmodule" -c "${files[@]}" -o "$dir/$module.o" \
            > "$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; return 1; }
        objects+=("$dir/$module.o")
    done
    local linker=()
    [ -x "$toolchain/bin/ld.lld" ] && linker=(-use-ld=lld) # gold warns about every ASan helper symbol
    swiftc -sanitize=fuzzer,address "${linker[@]}" "${objects[@]}" -o "$bin" > "$dir/link.log" 2>&1 \
        || { cat "$dir/link.log" >&2; return 1; }
}

# Runs one target for $seconds; prints a summary line; returns non-zero on a finding.
run() {
    local name=$1 max_len=$2
    local bin=$out/$name/fuzzer log=$out/$name/fuzz.log seeds=fuzz/corpus/$name
    local new art=$artifacts/$name dict=() rc=0
    new=$(mktemp -d "${TMPDIR:-/tmp}/vertac-fuzz-$name.XXXXXX")
    trap 'rm -rf "$new"' EXIT
    mkdir -p "$art"
    for d in fuzz/"$name"/*.dict; do if [ -f "$d" ]; then dict=(-dict="$d"); fi; done
    # FUZZ_SECONDS=0: run the committed seeds once each, no fuzzing.
    local budget=(-max_total_time="$seconds")
    [ "$seconds" -gt 0 ] || budget=(-runs=0)
    echo "== fuzz: $name, $([ "$seconds" -gt 0 ] && echo "${seconds}s" || echo "the seeds only") ($seeds: $(find "$seeds" -type f | wc -l) files)"
    local started=$SECONDS
    # Swift's own backtracer off, so that libFuzzer's handler reports a trap and keeps the input.
    SWIFT_BACKTRACE=enable=no "$bin" "${budget[@]}" -timeout=5 -rss_limit_mb=2048 -max_len="$max_len" \
        -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" "$new" "$seeds" > "$log" 2>&1 || rc=$?
    local elapsed=$((SECONDS - started))
    local runs rate status
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    status=$(grep -E '^#[0-9]+' "$log" | grep ' cov: ' | tail -n 1 || true)
    local cov ft corp
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$status")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$status")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<< "$status")
    if [ "$rc" -ne 0 ]; then
        echo "fuzz $name: FAILED (exit $rc) after ${elapsed}s, ${runs:-?} executions" >&2
        grep -E -m 1 -A 3 'PROPERTY VIOLATED|ERROR: (libFuzzer|AddressSanitizer)|Fatal error|SUMMARY:' "$log" >&2 || tail -n 40 "$log" >&2
        local crash
        crash=$(grep -o "Test unit written to .*" "$log" | tail -n 1 | sed 's/^Test unit written to //' || true)
        if [ -n "$crash" ] && [ -f "$crash" ]; then
            echo "fuzz $name: reproducer $crash ($(wc -c < "$crash") bytes); rerun with: $bin $crash" >&2
            echo "fuzz $name: input (base64): $(base64 -w 0 "$crash")" >&2
            head -c 2048 "$crash" | od -A d -c -v >&2
        fi
        echo "fuzz $name: full log in $log" >&2
    else
        echo "fuzz $name: ok, ${runs:-?} executions in ${elapsed}s (${rate:-?}/s), coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?} (inputs/bytes), $(find "$new" -type f | wc -l) new inputs"
    fi
    if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$rc" -eq 0 ]; then
        "$bin" -merge=1 -max_len="$max_len" "$seeds" "$new" > "$out/$name/merge.log" 2>&1
        echo "fuzz $name: merged, $seeds now holds $(find "$seeds" -type f | wc -l) inputs"
    fi
    rm -rf "$new"
    trap - EXIT
    return "$rc"
}

selected=("$@")
failed=()
for entry in "${targets[@]}"; do
    read -r -a fields <<< "$entry"
    name=${fields[0]}
    if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " == *" $name "* ]]; then continue; fi
    build "$name" "${fields[@]:2}"
    run "$name" "${fields[1]}" || failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]} (reproducers in $artifacts/)" >&2
    exit 1
fi
