#!/usr/bin/env bash
# tests/e2e/rollup.sh TALLYD TALLY_GEN SRCDIR [ATTEMPTS]
#
# The incremental-view oracle test: the same generated attempts in tallyd and in a
# throwaway PostgreSQL 15, the document's three materialized views created verbatim in
# both, then a seeded random sequence of writes (rollup.py). After every step each
# tally view must equal its defining query run by PostgreSQL now (and, where tally's
# executor can run the query, by tally itself). TAP output.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
trap tl_cleanup EXIT

tallyd=$1 gen=$2 src=$3 attempts=${4:-2000}
work=$(mktemp -d "$TL_TMP_ROOT/tally-rollup.XXXXXX")
TL_CLEANUP_DIRS+=("$work")

if ! "$gen" --attempts "$attempts" --seed 20251001 --out "$work/data" >"$work/gen.log" 2>&1; then
    echo "Bail out! tally-gen failed: $(tail -n 3 "$work/gen.log" | tr '\n' ' ')"
    exit 1
fi
rm -f "$work/data/fact_kpi_events.csv" # the views read attempts only

tl_pg_start
tl_tallyd_start "$tallyd"
tl_load "$TL_TALLY_PORT" "$src/tools/schema/reporting.sql" "$work/data" "$work/load_tally.txt" &
tally_load=$!
tl_load "$TL_PG_PORT" "$src/tools/schema/reporting_pg.sql" "$work/data" "$work/load_pg.txt"
wait "$tally_load"

TL_TAP_STATE=$work/tap_state "$TL_PYTHON" "$here/rollup.py" \
    --tally-port "$TL_TALLY_PORT" --pg-port "$TL_PG_PORT" --seed 5
read -r n failed <"$work/tap_state" || { echo "Bail out! rollup.py died"; exit 1; }
tl_tap_finish "$n" "$failed"
