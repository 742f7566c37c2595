#!/usr/bin/env bash
# tests/run_all.sh — the README's command (2), and what .ci/run runs.
#
# Installs what is missing (tools/setup.sh), builds tally twice — build/ (ordinary) and
# build-asan/ (-Dsanitize=true: ASan+UBSan, libc allocator) — and runs the unit and
# end-to-end suites in both (the sanitized e2e run uses a smaller data set, see
# tests/e2e/meson.build). The last line is the sum over both runs of meson's summary:
# `N passed, N failed` (passed = Ok + Expected Fail; failed = Fail + Unexpected Pass +
# Timeout, plus 1 for a build or a test run that produced no summary). Exit status 0
# only if nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0

finish() {
    local extra=""
    [ "$skipped" -gt 0 ] && extra=", $skipped skipped"
    echo "$passed passed, $failed failed$extra"
    [ "$failed" -eq 0 ]
    exit
}

if ! bash tools/setup.sh; then
    echo "run_all: tools/setup.sh failed" >&2
    failed=$((failed + 1))
    finish
fi

# build DIR [meson options...]: configure once, then ninja. 0 = built.
build() {
    local dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" || return 1
    elif [ $# -gt 0 ]; then
        meson configure "$dir" "$@" || return 1
    fi
    ninja -C "$dir"
}

# run_suites DIR [meson test options...]: adds meson's summary to the totals.
run_suites() {
    local dir=$1 log ok xfail fail xpass skip tmo; shift
    log=$(mktemp)
    meson test -C "$dir" --suite unit --suite e2e --print-errorlogs "$@" 2>&1 | tee "$log"
    get() { sed -n "s/^$1: *\([0-9][0-9]*\) *$/\1/p" "$log" | tail -n 1; }
    ok=$(get 'Ok') xfail=$(get 'Expected Fail') fail=$(get 'Fail')
    xpass=$(get 'Unexpected Pass') skip=$(get 'Skipped') tmo=$(get 'Timeout')
    rm -f "$log"
    if [ -z "$ok" ] || [ -z "$fail" ]; then
        echo "run_all: meson test in $dir printed no summary" >&2
        failed=$((failed + 1))
        return
    fi
    passed=$((passed + ok + ${xfail:-0}))
    failed=$((failed + fail + ${xpass:-0} + ${tmo:-0}))
    skipped=$((skipped + ${skip:-0}))
    echo "run_all: $dir: $((ok + ${xfail:-0})) passed, $((fail + ${xpass:-0} + ${tmo:-0})) failed"
}

if build build; then
    run_suites build
else
    echo "run_all: build/ did not build" >&2
    failed=$((failed + 1))
fi
if build build-asan -Dsanitize=true; then
    run_suites build-asan --timeout-multiplier 2
else
    echo "run_all: build-asan/ did not build" >&2
    failed=$((failed + 1))
fi
finish
