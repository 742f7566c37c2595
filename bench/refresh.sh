#!/usr/bin/env bash
# bench/refresh.sh [SCALES...] — `tally-bench refresh`: refresh timing, tally vs PostgreSQL 15.
# For each scale (attempts, default "10000 1000000"): tally-gen data (with KPI events),
# tally in-process (bench/refresh_tally: load, build views, 1-row appends, 1,000-row
# batch, the leaderboard point query, ingest with views on), and a throwaway PostgreSQL 15
# loaded with the same CSVs, the document's schema, indexes, views, unique indexes and
# refresh_reporting_views(): REFRESH and REFRESH CONCURRENTLY per view, the function,
# 1-row INSERT + refresh, and the same point query on its materialized view.
# Prints a markdown table; writes bench/refresh.svg (log-log, refresh time vs scale).
#
# Run from a build:   BUILD=build-rel bench/refresh.sh 10000 100000 1000000
# Environment: APPENDS (single-row appends, default 100000; SYNC_APPENDS with fsync, default
# 10000); TALLY_WAL (default 1: tally writes its WAL under WORK, as a server does); WORK (directory kept between
# runs: generated CSVs and results.tsv accumulate there, so scales can be run one at a
# time and the report covers all of them); PHASE=all|tally|pg (run one system only);
# PG_KPI_MAX (default 1000000): above this scale no KPI events are generated or loaded
# into PostgreSQL (75M rows with a foreign-key check each take most of an hour on 2
# cores; no view reads them, tally's side never loads them); PG_SHARED_BUFFERS
# (default 2GB).
set -uo pipefail
# a 10M-row COPY or view build takes longer than the e2e suites' 600 s step limit
TL_PSQL_TIMEOUT=${TL_PSQL_TIMEOUT:-7200}
export TL_PG_SHARED_BUFFERS=${PG_SHARED_BUFFERS:-2GB}
export TL_PG_OPTS="-c work_mem=64MB -c maintenance_work_mem=1GB"
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${BUILD:-$src/build}
case $build in /*) ;; *) build=$src/$build ;; esac
# shellcheck source=../tests/e2e/lib.sh
source "$src/tests/e2e/lib.sh"
trap tl_cleanup EXIT
scales=("$@")
[ ${#scales[@]} -gt 0 ] || scales=(10000 1000000)
appends=${APPENDS:-100000}
phase=${PHASE:-all}
if [ -n "${WORK:-}" ]; then
    work=$WORK
    mkdir -p "$work"
else
    work=$(mktemp -d "$TL_TMP_ROOT/tally-bench.XXXXXX")
    TL_CLEANUP_DIRS+=("$work")
fi
sed -e '/grant/d' -e '/create user/d' /work/shared/clients/setup/views.sql >"$work/views.sql" 2>/dev/null ||
    sed -e '/grant/d' -e '/create user/d' "$src/tools/schema/views.sql" >"$work/views.sql"
results=$work/results.tsv
touch "$results"
record() { # SCALE KEY VALUE: replaces an earlier value of the same key
    awk -F'\t' -v n="$1" -v k="$2" '!($1 == n && $2 == k)' "$results" >"$results.tmp"
    printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$results.tmp"
    mv "$results.tmp" "$results"
}
pgtime() { # PORT SQL -> milliseconds (psql \timing)
    tl_psql "$1" -c '\timing on' -c "$2" 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1
}
csvcol() { # FILE COLUMN -> that column of the last row
    awk -F, -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i } END { print $k }' "$1"
}
[ "$phase" = tally ] || tl_pg_start
for n in "${scales[@]}"; do
    d=$work/$n
    mkdir -p "$d"
    events=()
    [ "$n" -le "${PG_KPI_MAX:-1000000}" ] || events=(--no-events)
    if [ ! -s "$d/a/fact_scenario_attempts.csv" ]; then
        "$build/tools/tally-gen" --attempts "$n" --seed 1 "${events[@]}" --out "$d/a" >/dev/null 2>&1 || { echo "tally-gen failed"; exit 1; }
        "$build/tools/tally-gen" --attempts "$n" --seed 2 --tables fact_scenario_attempts --out "$d/b" >/dev/null 2>&1
    fi
    if [ "$phase" != pg ]; then
        # with a WAL in $d/wal (TALLY_WAL=0: in memory, no fsync figures)
        wal=()
        if [ "${TALLY_WAL:-1}" = 1 ]; then rm -rf "$d/wal" && mkdir -p "$d/wal" && wal=("$d/wal"); fi
        "$build/bench/refresh_tally" "$src/tools/schema/reporting.sql" "$work/views.sql" \
            "$d/a/fact_scenario_attempts.csv" "$d/b/fact_scenario_attempts.csv" "$appends" "${wal[@]}" >"$d/tally.txt" || exit 1
        rm -rf "$d/wal"
        while read -r k v; do [ "$k" = point_query_sql ] || record "$n" "tally_$k" "$v"; done <"$d/tally.txt"
    fi
    [ "$phase" != tally ] || continue
    tl_psql "$TL_PG_PORT" -c "drop schema public cascade; create schema public;" >/dev/null 2>&1
    # secondary indexes built after the COPY, as a bulk load into PostgreSQL is done
    grep -v '^create index' "$src/tools/schema/reporting_pg.sql" >"$work/schema_noidx.sql"
    t0=$(date +%s.%N)
    tl_load "$TL_PG_PORT" "$work/schema_noidx.sql" "$d/a" "$d/pgload.txt"
    grep '^create index' "$src/tools/schema/reporting_pg.sql" | tl_psql "$TL_PG_PORT" -f - >/dev/null
    tl_psql "$TL_PG_PORT" -c "analyze" >/dev/null
    record "$n" pg_load_s "$(tl__since "$t0")"
    record "$n" pg_kpi_events "$(awk '$1 == "fact_kpi_events" { print $2 }' "$d/pgload.txt" | tail -n 1 | grep -E '^[0-9]+$' || echo 0)"
    t0=$(date +%s.%N)
    tl_psql "$TL_PG_PORT" -v dbname=postgres -f "$work/views.sql" >/dev/null 2>&1
    record "$n" pg_build_views_s "$(tl__since "$t0")"
    for v in mv_leaderboard_month mv_org_overview mv_scenario_insights; do
        record "$n" "pg_refresh_${v}_ms" "$(pgtime "$TL_PG_PORT" "refresh materialized view $v")"
        record "$n" "pg_refresh_concurrently_${v}_ms" "$(pgtime "$TL_PG_PORT" "refresh materialized view concurrently $v")"
    done
    record "$n" pg_refresh_reporting_views_ms "$(pgtime "$TL_PG_PORT" "select refresh_reporting_views()")"
    org=$(csvcol "$d/a/fact_scenario_attempts.csv" org_id)
    month=$(csvcol "$d/a/fact_scenario_attempts.csv" started_at | cut -c1-7)-01
    q="select *, rank() over (order by avg_score desc) from mv_leaderboard_month where org_id = '$org' and month = '$month'"
    tl_psql "$TL_PG_PORT" -c "$q" >/dev/null
    best=$(for _ in 1 2 3 4 5; do pgtime "$TL_PG_PORT" "$q"; done | sort -g | sed -n 3p)
    record "$n" pg_point_query_ms "$best"
    t0=$(date +%s.%N)
    tl_psql "$TL_PG_PORT" -c "insert into fact_scenario_attempts (attempt_id, org_id, user_id, score, started_at, ended_at, talk_ms, listen_ms)
        select gen_random_uuid(), org_id, user_id, 80, now(), now(), 1, 1 from fact_scenario_attempts limit 1" \
        -c "select refresh_reporting_views()" >/dev/null
    record "$n" pg_insert_visible_ms "$(awk -v s="$(tl__since "$t0")" 'BEGIN{printf "%.1f", s*1000}')"
done
"$TL_PYTHON" "$here/refresh_report.py" "$results" "$here/refresh.svg"
