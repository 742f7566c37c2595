#!/usr/bin/env bash
# tests/e2e/storage.sh TALLYD TALLY_GEN SRCDIR ATTEMPTS
#
# Compressed storage as a client sees it: loads the same generated data into tallyd and
# a throwaway PostgreSQL 15, then checks tally_storage / tally_storage_totals against the
# data (row counts and months are PostgreSQL's answers), the relation-size functions
# against the views, and that KPI events are filed under their attempt's month
# (storage.py). TAP output.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
trap tl_cleanup EXIT

tallyd=$1 gen=$2 src=$3 attempts=$4
work=$(mktemp -d "$TL_TMP_ROOT/tally-storage.XXXXXX")
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

TL_TAP_STATE=$work/tap_state "$TL_PYTHON" "$here/storage.py" \
    --tally-port "$TL_TALLY_PORT" --pg-port "$TL_PG_PORT"
read -r n failed <"$work/tap_state" || { echo "Bail out! storage.py died"; exit 1; }
# Restart on the same data directory: storage.py ended with a CHECKPOINT, so the
# compacted table (deleted rows holding filled values) comes back from the snapshot.
tl_tallyd_stop
n=$((n + 1))
if [ -z "$(tl_tallyd_exit_problem)" ]; then
    echo "ok $n - tallyd stopped cleanly before the restart"
else
    failed=$((failed + 1))
    echo "not ok $n - tallyd stopped cleanly before the restart: $(tl_tallyd_exit_problem)"
fi
tl_tallyd_start "$tallyd" "$TL_TALLY_DIR"
TL_TAP_STATE=$work/tap_state2 TL_TAP_BASE=$n "$TL_PYTHON" "$here/storage.py" \
    --tally-port "$TL_TALLY_PORT" --pg-port "$TL_PG_PORT" --after-restart
read -r n failed2 <"$work/tap_state2" || { echo "Bail out! storage.py (after the restart) died"; exit 1; }
tl_tap_finish "$n" "$((failed + failed2))"
