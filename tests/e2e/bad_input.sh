#!/usr/bin/env bash
# tests/e2e/bad_input.sh TALLYD SRCDIR
#
# Starts tallyd and a throwaway PostgreSQL 15 on free loopback ports, loads the
# reporting schema into both (reporting.sql / reporting_pg.sql through psql), and runs
# bad_input.py: each bad input is one TAP check whose expectation is PostgreSQL's own
# answer to the same input. The last check: tallyd stopped cleanly on SIGTERM.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
trap tl_cleanup EXIT

tallyd=$1 src=$2
work=$(mktemp -d "$TL_TMP_ROOT/tally-bad.XXXXXX")
TL_CLEANUP_DIRS+=("$work")
mkdir "$work/nodata"

tl_pg_start
tl_tallyd_start "$tallyd"
tl_log "PostgreSQL on $TL_PG_PORT, tallyd on $TL_TALLY_PORT"
if ! tl_load "$TL_PG_PORT" "$src/tools/schema/reporting_pg.sql" "$work/nodata" "$work/load_pg.txt"; then
    echo "Bail out! the oracle did not take the schema: $(cat "$work/load_pg.txt")"
    exit 1
fi
if ! tl_load "$TL_TALLY_PORT" "$src/tools/schema/reporting.sql" "$work/nodata" "$work/load_tally.txt"; then
    echo "not ok 1 - tally: schema file runs through psql"
    echo "#   $(cat "$work/load_tally.txt")"
    tl_tap_finish 1 1
    exit 1
fi
echo "ok 1 - tally: schema file runs through psql"

TL_TAP_STATE=$work/tap_state "$TL_PYTHON" "$here/bad_input.py" \
    --tally-port "$TL_TALLY_PORT" --pg-port "$TL_PG_PORT" | awk '
    # renumber: check 1 above is ours
    /^(not )?ok [0-9]+ / { sub(/ok [0-9]+ /, "ok " (++n + 1) " ") } { print; fflush() }'
read -r n failed <"$work/tap_state" || { echo "Bail out! bad_input.py died"; exit 1; }
tl_tap_finish "$((n + 1))" "$failed"
