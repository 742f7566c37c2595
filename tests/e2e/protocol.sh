#!/usr/bin/env bash
# tests/e2e/protocol.sh TALLYD SRCDIR
#
# The extended query protocol, binary formats, session statements, transaction blocks,
# cancel and clients leaving mid-query: protocol.py drives tallyd and a throwaway
# PostgreSQL 15 with the same raw messages (and pgjdbc, clients/Prepared.java) and
# compares the replies. Last check: tallyd stopped cleanly.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
trap tl_cleanup EXIT

tallyd=$1
work=$(mktemp -d "$TL_TMP_ROOT/tally-proto.XXXXXX")
TL_CLEANUP_DIRS+=("$work")

tl_pg_start
tl_tallyd_start "$tallyd"
tl_log "PostgreSQL on $TL_PG_PORT, tallyd on $TL_TALLY_PORT"

TL_TAP_STATE=$work/tap_state "$TL_PYTHON" "$here/protocol.py" \
    --tally-port "$TL_TALLY_PORT" --pg-port "$TL_PG_PORT"
read -r n failed <"$work/tap_state" || { echo "Bail out! protocol.py died"; exit 1; }
tl_tap_finish "$n" "$failed"
