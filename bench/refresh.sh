#!/usr/bin/env bash
# bench/refresh.sh [SCALES...] — `tally-bench refresh`: refresh timing, tally vs PostgreSQL 15.
# For each scale (attempts, default "10000 1000000"): tally-gen data (with KPI events),
# tally in-process (bench/refresh_tally: load, build views, 1-row appends, 1,000-row
# batch, ingest with views on), and a throwaway PostgreSQL 15 loaded with the same CSVs,
# the document's schema, indexes, views, unique indexes and refresh_reporting_views():
# REFRESH and REFRESH CONCURRENTLY per view, the function, and 1-row INSERT + refresh.
# Prints a markdown table; writes bench/refresh.svg (log-log, refresh time vs scale).
# Run from a build: BUILD=build bench/refresh.sh 10000 1000000
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${BUILD:-$src/build}
# shellcheck source=../tests/e2e/lib.sh
source "$src/tests/e2e/lib.sh"
trap tl_cleanup EXIT
scales=("$@")
[ ${#scales[@]} -gt 0 ] || scales=(10000 1000000)
appends=${APPENDS:-100000}
work=$(mktemp -d "$TL_TMP_ROOT/tally-bench.XXXXXX")
TL_CLEANUP_DIRS+=("$work")
sed -e '/grant/d' -e '/create user/d' /work/shared/clients/setup/views.sql >"$work/views.sql" 2>/dev/null ||
    sed -e '/grant/d' -e '/create user/d' "$src/tools/schema/views.sql" >"$work/views.sql"
results=$work/results.tsv
: >"$results"
pgtime() { # PORT SQL -> milliseconds (psql \timing)
    tl_psql "$1" -c '\timing on' -c "$2" 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1
}
tl_pg_start
for n in "${scales[@]}"; do
    d=$work/$n
    mkdir -p "$d"
    "$build/tools/tally-gen" --attempts "$n" --seed 1 --out "$d/a" >/dev/null 2>&1 || { echo "tally-gen failed"; exit 1; }
    "$build/tools/tally-gen" --attempts "$n" --seed 2 --out "$d/b" >/dev/null 2>&1
    "$build/bench/refresh_tally" "$src/tools/schema/reporting.sql" "$work/views.sql" \
        "$d/a/fact_scenario_attempts.csv" "$d/b/fact_scenario_attempts.csv" "$appends" >"$d/tally.txt" || exit 1
    while read -r k v; do printf '%s\ttally_%s\t%s\n' "$n" "$k" "$v" >>"$results"; done <"$d/tally.txt"
    tl_psql "$TL_PG_PORT" -c "drop schema public cascade; create schema public;" >/dev/null 2>&1
    tl_load "$TL_PG_PORT" "$src/tools/schema/reporting_pg.sql" "$d/a" "$d/pgload.txt"
    tl_psql "$TL_PG_PORT" -c "analyze" >/dev/null
    t0=$(date +%s.%N)
    tl_psql "$TL_PG_PORT" -v dbname=postgres -f "$work/views.sql" >/dev/null 2>&1
    printf '%s\tpg_build_views_s\t%s\n' "$n" "$(tl__since "$t0")" >>"$results"
    for v in mv_leaderboard_month mv_org_overview mv_scenario_insights; do
        printf '%s\tpg_refresh_%s_ms\t%s\n' "$n" "$v" "$(pgtime "$TL_PG_PORT" "refresh materialized view $v")" >>"$results"
        printf '%s\tpg_refresh_concurrently_%s_ms\t%s\n' "$n" "$v" \
            "$(pgtime "$TL_PG_PORT" "refresh materialized view concurrently $v")" >>"$results"
    done
    printf '%s\tpg_refresh_reporting_views_ms\t%s\n' "$n" "$(pgtime "$TL_PG_PORT" "select refresh_reporting_views()")" >>"$results"
    t0=$(date +%s.%N)
    tl_psql "$TL_PG_PORT" -c "insert into fact_scenario_attempts (attempt_id, org_id, user_id, score, started_at, ended_at, talk_ms, listen_ms)
        select gen_random_uuid(), org_id, user_id, 80, now(), now(), 1, 1 from fact_scenario_attempts limit 1" \
        -c "select refresh_reporting_views()" >/dev/null
    printf '%s\tpg_insert_visible_ms\t%s\n' "$n" "$(awk -v s="$(tl__since "$t0")" 'BEGIN{printf "%.1f", s*1000}')" >>"$results"
done
"$TL_PYTHON" "$here/refresh_report.py" "$results" "$here/refresh.svg"
