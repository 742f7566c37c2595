#!/usr/bin/env bash
# tests/e2e/sql_ops.sh TALLYD TALLY_GEN SRCDIR [ATTEMPTS]
#
# The SQL engine's operational behaviour, beyond result values: EXPLAIN and EXPLAIN
# ANALYZE (row counts per operator agree with the query's own answer and with
# PostgreSQL's), and tally.max_statement_memory in the sort, hash aggregate and hash
# join (a query over it fails with 53200 while other sessions keep working). Loads a generated data set into tallyd and a
# throwaway PostgreSQL 15 (for the counts). TAP output.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
trap tl_cleanup EXIT

tallyd=$1 gen=$2 src=$3 attempts=${4:-5000}
work=$(mktemp -d "$TL_TMP_ROOT/tally-ops.XXXXXX")
TL_CLEANUP_DIRS+=("$work")

if ! "$gen" --attempts "$attempts" --seed 11 --out "$work/data" >"$work/gen.log" 2>&1; then
    echo "Bail out! tally-gen failed: $(tail -n 3 "$work/gen.log" | tr '\n' ' ')"
    exit 1
fi
tl_pg_start
tl_tallyd_start "$tallyd"
tl_load "$TL_TALLY_PORT" "$src/tools/schema/reporting.sql" "$work/data" "$work/load_tally.txt" ||
    { echo "Bail out! tally load: $(tr '\n' ';' <"$work/load_tally.txt")"; exit 1; }
tl_load "$TL_PG_PORT" "$src/tools/schema/reporting_pg.sql" "$work/data" "$work/load_pg.txt" ||
    { echo "Bail out! PostgreSQL load: $(tr '\n' ';' <"$work/load_pg.txt")"; exit 1; }

TL_TAP_STATE=$work/tap_state "$TL_PYTHON" "$here/sql_ops.py" \
    --tally-port "$TL_TALLY_PORT" --pg-port "$TL_PG_PORT"
read -r n failed <"$work/tap_state" || { echo "Bail out! sql_ops.py died"; exit 1; }
tl_tap_finish "$n" "$failed"
