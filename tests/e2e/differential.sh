#!/usr/bin/env bash
# tests/e2e/differential.sh TALLYD TALLY_GEN SRCDIR [ATTEMPTS]
#
# Generates a data set with tally-gen (fixed seed), starts tallyd and a throwaway
# PostgreSQL 15 on free loopback ports, loads tools/schema/reporting.sql into tally and
# reporting_pg.sql into PostgreSQL, then the same CSVs into both with real psql \copy,
# and compares counts and query results (differential.py). Output is TAP; the last
# check is that tallyd stopped cleanly on SIGTERM (in the sanitizer build: no report).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
trap tl_cleanup EXIT

tallyd=$1 gen=$2 src=$3 attempts=${4:-20000}
work=$(mktemp -d "$TL_TMP_ROOT/tally-diff.XXXXXX")
TL_CLEANUP_DIRS+=("$work")

if ! "$gen" --attempts "$attempts" --seed 20250929 --out "$work/data" >"$work/gen.log" 2>&1; then
    echo "Bail out! tally-gen failed: $(tail -n 3 "$work/gen.log" | tr '\n' ' ')"
    exit 1
fi
tl_log "generated $attempts attempts: $(wc -l "$work"/data/*.csv | tail -n 1)"

tl_pg_start
tl_tallyd_start "$tallyd"
tl_log "PostgreSQL on $TL_PG_PORT, tallyd on $TL_TALLY_PORT"

# Both loads at once: two cores, two servers.
tl_load "$TL_TALLY_PORT" "$src/tools/schema/reporting.sql" "$work/data" "$work/load_tally.txt" &
tally_load=$!
tl_load "$TL_PG_PORT" "$src/tools/schema/reporting_pg.sql" "$work/data" "$work/load_pg.txt"
wait "$tally_load"
tl_log "tally load: $(tr '\n' ';' <"$work/load_tally.txt")"
tl_log "PostgreSQL load: $(tr '\n' ';' <"$work/load_pg.txt")"

TL_TAP_STATE=$work/tap_state "$TL_PYTHON" "$here/differential.py" \
    --tally-port "$TL_TALLY_PORT" --pg-port "$TL_PG_PORT" \
    --tally-load "$work/load_tally.txt" --pg-load "$work/load_pg.txt" --data "$work/data"
read -r n failed <"$work/tap_state" || { echo "Bail out! differential.py died"; exit 1; }
tl_tap_finish "$n" "$failed"
