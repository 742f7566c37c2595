#!/usr/bin/env bash
# tools/demo.sh — the README's command (1).
#
# Installs what is missing (tools/setup.sh), builds tally (build/, release), generates
# ${TALLY_DEMO_ATTEMPTS:-1000000} attempts with their KPI events into demo/data (kept
# and reused while the count is the same), starts tallyd in the background on
# 127.0.0.1:5433 with a fresh data dir demo/db (log demo/tallyd.log, pid
# demo/tallyd.pid; a tallyd left by a previous run is stopped first, by that pid),
# loads tools/schema/reporting.sql and the CSVs through psql's \copy, prints the
# load times and row counts, and last the psql line to connect with.
# Stop the server with: kill "$(cat demo/tallyd.pid)"
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
# shellcheck source=../tests/e2e/lib.sh
source tests/e2e/lib.sh

attempts=${TALLY_DEMO_ATTEMPTS:-1000000}
port=5433
demo=$top/demo
mkdir -p "$demo"

bash tools/setup.sh

[ -f build/build.ninja ] || meson setup build --buildtype=release
ninja -C build

if [ "$(cat "$demo/data/.attempts" 2>/dev/null)" != "$attempts" ]; then
    rm -rf "$demo/data"
    echo "demo: generating $attempts attempts into demo/data"
    t0=$(date +%s.%N)
    build/tools/tally-gen --attempts "$attempts" --seed 1 --out "$demo/data"
    echo "$attempts" >"$demo/data/.attempts"
    echo "demo: generated in $(tl__since "$t0") s"
fi

# A tallyd from a previous run: stop it by its pid, if that pid is still a tallyd.
if [ -f "$demo/tallyd.pid" ]; then
    old=$(cat "$demo/tallyd.pid")
    if [ -n "$old" ] && grep -qa tallyd "/proc/$old/cmdline" 2>/dev/null; then
        echo "demo: stopping the previous tallyd (pid $old)"
        kill -TERM "$old"
        for _ in $(seq 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$old" 2>/dev/null && kill -KILL "$old"
    fi
    rm -f "$demo/tallyd.pid"
fi

# A fresh data dir each run: the demo loads its data from scratch.
rm -rf "$demo/db"
mkdir -p "$demo/db"
: >"$demo/tallyd.log"
setsid build/server/tallyd --listen 127.0.0.1 --port "$port" --data-dir "$demo/db" \
    --database postgres >>"$demo/tallyd.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$demo/tallyd.pid"
if ! tl_wait_ready "$port" "$pid" 60; then
    tail -n 20 "$demo/tallyd.log" >&2
    echo "demo: tallyd did not come up on 127.0.0.1:$port (log: demo/tallyd.log)" >&2
    exit 1
fi
echo "demo: tallyd running, pid $pid"

rm -f "$demo/load.txt"
t0=$(date +%s.%N)
if ! tl_load "$port" tools/schema/reporting.sql "$demo/data" "$demo/load.txt"; then
    cat "$demo/load.txt" >&2
    echo "demo: loading failed (log: demo/tallyd.log)" >&2
    exit 1
fi
total=$(tl__since "$t0")
echo
echo "load through psql \\copy (schema included): $total s"
awk '$1 != "schema" { printf "  %-24s %10s rows  %8.3f s  %12.0f rows/s\n", $1, $2, $3, ($3 > 0 ? $2 / $3 : 0) }' \
    "$demo/load.txt"
echo
echo "row counts (select count(*)):"
for t in "${TL_TABLES[@]}"; do
    printf '  %-24s %10s\n' "$t" "$(tl_psql "$port" -At -c "select count(*) from $t")"
done
echo
echo "psql -h 127.0.0.1 -p 5433 -U postgres postgres"
