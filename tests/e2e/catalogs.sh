#!/usr/bin/env bash
# tests/e2e/catalogs.sh TALLYD TALLY_GEN SRCDIR
#
# pg_catalog and information_schema against PostgreSQL 15: loads the reporting schema
# and a small generated data set into tallyd and a throwaway PostgreSQL, then asks both
# the catalog questions clients ask (catalogs.py) and compares the answers; psql's
# meta-commands are compared on their key lines. TAP output.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
trap tl_cleanup EXIT

tallyd=$1 gen=$2 src=$3
work=$(mktemp -d "$TL_TMP_ROOT/tally-cat.XXXXXX")
TL_CLEANUP_DIRS+=("$work")

if ! "$gen" --attempts 300 --seed 7 --out "$work/data" >"$work/gen.log" 2>&1; then
    echo "Bail out! tally-gen failed: $(tail -n 3 "$work/gen.log" | tr '\n' ' ')"
    exit 1
fi
tl_pg_start
tl_tallyd_start "$tallyd"
tl_load "$TL_TALLY_PORT" "$src/tools/schema/reporting.sql" "$work/data" "$work/load_tally.txt" ||
    { echo "Bail out! tally load: $(tr '\n' ';' <"$work/load_tally.txt")"; exit 1; }
tl_load "$TL_PG_PORT" "$src/tools/schema/reporting_pg.sql" "$work/data" "$work/load_pg.txt" ||
    { echo "Bail out! PostgreSQL load: $(tr '\n' ';' <"$work/load_pg.txt")"; exit 1; }
# reltuples is exact after ANALYZE for tables this small (every row is sampled)
tl_psql "$TL_PG_PORT" -c "ANALYZE" >/dev/null

TL_TAP_STATE=$work/tap_state "$TL_PYTHON" "$here/catalogs.py" \
    --tally-port "$TL_TALLY_PORT" --pg-port "$TL_PG_PORT"
read -r n failed <"$work/tap_state" || { echo "Bail out! catalogs.py died"; exit 1; }
tl_tap_finish "$n" "$failed"
