#!/usr/bin/env bash
# bench/durability.sh [ATTEMPTS] [SECONDS] — durability figures next to PostgreSQL 15's,
# same disk, same run:
#   * what an fdatasync costs here (pg_test_fsync on the data disk);
#   * single-row INSERT commits/s and p99 latency, synchronous commit, 1 and 16 clients:
#     pgbench -n -f (the same script for both) against tallyd and against PostgreSQL 15
#     with fsync = on, synchronous_commit = on;
#   * checkpoint time and restart time (snapshot load, and snapshot + WAL replay) after
#     loading ATTEMPTS attempts (default 200000) with their KPI events.
# Uses build/ (configured --buildtype=release if absent). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../tests/e2e/lib.sh
source tests/e2e/lib.sh
trap tl_cleanup EXIT
attempts=${1:-200000}
secs=${2:-10}
build=${TALLY_BUILD:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release >/dev/null
ninja -C "$build" >/dev/null
work=$(mktemp -d "$TL_TMP_ROOT/tally-durbench.XXXXXX")
TL_CLEANUP_DIRS+=("$work")
PGB=$TL_PGBIN/pgbench

echo "## fsync cost on $(df --output=source "$work" | tail -1) ($(nproc) cores)"
"$TL_PGBIN/pg_test_fsync" -s 2 -f "$work/fsynctest" 2>&1 | grep -E "fdatasync|open_datasync|fsync " | head -4 || true

cat >"$work/ins.sql" <<'SQL'
\set id random(1, 2000000000)
insert into bench_ins (id, v) values (:id, 'x');
SQL
p99() { # pgbench per-transaction logs: field 3 is the latency in us
    cat "$1".* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.2f", a[i]/1000}'
}
run_pgb() { # port clients label
    local port=$1 c=$2 label=$3 out
    rm -f "$work"/log.*
    out=$(cd "$work" && "$PGB" -n -h 127.0.0.1 -p "$port" -U postgres -f ins.sql -c "$c" -j 2 -T "$secs" \
        --log --log-prefix=log postgres 2>&1)
    tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
    echo "| $label | $c | $tps | $(p99 "$work/log") |"
}

# PostgreSQL with durable commits (lib.sh's oracle runs with fsync off: start our own)
TL_PG_DIR=$(mktemp -d "$TL_TMP_ROOT/tally-pgdur.XXXXXX")
TL_CLEANUP_DIRS+=("$TL_PG_DIR")
[ "$(id -u)" = 0 ] && chown postgres: "$TL_PG_DIR"
tl__pg_run "$TL_PGBIN/initdb" -D "$TL_PG_DIR/data" -U postgres --auth=trust >/dev/null
TL_PG_PORT=$(tl_free_port)
tl__pg_run "$TL_PGBIN/pg_ctl" -D "$TL_PG_DIR/data" -l "$TL_PG_DIR/log" -w -o "-p $TL_PG_PORT -k $TL_PG_DIR \
-c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=40" start >/dev/null
TL_PG_PID=$(head -n 1 "$TL_PG_DIR/data/postmaster.pid")
mkdir -p "$work/tally"
tl_tallyd_start "$build/server/tallyd" "$work/tally"
for port in "$TL_PG_PORT" "$TL_TALLY_PORT"; do
    tl_psql "$port" -c "create table bench_ins (id bigint, v text)" >/dev/null
done
echo
echo "## single-row INSERT, synchronous commit, ${secs}s each"
echo "| server | clients | commits/s | p99 ms |"
echo "| --- | --- | --- | --- |"
for c in 1 16; do
    run_pgb "$TL_PG_PORT" "$c" "PostgreSQL 15 (fsync=on, synchronous_commit=on)"
    run_pgb "$TL_TALLY_PORT" "$c" "tallyd (WAL fdatasync, group commit)"
done
tl_pg_stop

echo
echo "## checkpoint and restart, $attempts attempts"
"$build/tools/tally-gen" --attempts "$attempts" --seed 7 --out "$work/data" >/dev/null
tl_load "$TL_TALLY_PORT" tools/schema/reporting.sql "$work/data" "$work/load.txt" || { cat "$work/load.txt"; exit 1; }
rows="$(tl_psql "$TL_TALLY_PORT" -At -c "select count(*) from fact_scenario_attempts") attempts + $(tl_psql "$TL_TALLY_PORT" -At -c "select count(*) from fact_kpi_events") KPI events"
restart() {
    kill -KILL "$TL_TALLY_PID"; wait "$TL_TALLY_PID" 2>/dev/null || true
    t0=$(date +%s.%N)
    tl_tallyd_start "$build/server/tallyd" "$work/tally"
    echo "- restart after kill -9 ($1): $(echo "$(date +%s.%N) - $t0" | bc) s to first answer; $(grep recovered "$TL_TALLY_LOG" | tail -1 | sed 's/.*LOG:  //')"
}
echo "- fact rows: $rows"
restart "whatever the load left: WAL, or snapshot + WAL if the automatic trigger ran"
t0=$(date +%s.%N)
tl_psql "$TL_TALLY_PORT" -c checkpoint >/dev/null
echo "- CHECKPOINT: $(echo "$(date +%s.%N) - $t0" | bc) s; snapshot $(du -sh "$work/tally"/snapshot.* | cut -f1)"
restart "snapshot only"
