#!/usr/bin/env bash
# bench/queries.sh [ATTEMPTS] — `tally-bench queries`: the issue's reporting queries in
# tally, PostgreSQL 15 and DuckDB on the same generated data, best of RUNS (default 5).
# tally and PostgreSQL are timed by psql's \timing (server time + the wire + psql
# reading the rows, output to /dev/null); DuckDB in-process through @duckdb/node-api,
# which this script installs with npm into a scratch directory (it says so, and leaves
# DuckDB's column empty, when it cannot). Prints a markdown table with ratios.
# Run from a release build: BUILD=build-rel bench/queries.sh 1000000
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${BUILD:-$src/build}
# shellcheck source=../tests/e2e/lib.sh
source "$src/tests/e2e/lib.sh"
trap tl_cleanup EXIT
attempts=${1:-1000000}
runs=${RUNS:-5}
work=$(mktemp -d "$TL_TMP_ROOT/tally-bq.XXXXXX")
TL_CLEANUP_DIRS+=("$work")
export TL_PSQL_TIMEOUT=3600

echo "# machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GB RAM, shared with other engineers' builds and tests"
t0=$(date +%s.%N)
"$build/tools/tally-gen" --attempts "$attempts" --seed 1 --out "$work/data" >"$work/gen.log" 2>&1 ||
    { echo "tally-gen failed: $(tail -3 "$work/gen.log")"; exit 1; }
echo "# generated $attempts attempts in $(tl__since "$t0") s: $(wc -l <"$work/data/fact_kpi_events.csv") KPI event lines"

tl_pg_start
t0=$(date +%s.%N)
tl_load "$TL_PG_PORT" "$src/tools/schema/reporting_pg.sql" "$work/data" "$work/load_pg.txt" ||
    { echo "PostgreSQL load failed: $(cat "$work/load_pg.txt")"; exit 1; }
tl_psql "$TL_PG_PORT" -c "analyze" >/dev/null
echo "# PostgreSQL load + ANALYZE: $(tl__since "$t0") s"

tl_tallyd_start "$build/server/tallyd"
t0=$(date +%s.%N)
# tally takes the CSVs in pieces of 1M rows: one COPY is one WAL record, and the WAL
# caps a record's size (7.5M KPI events in one COPY exceed it)
tl_psql "$TL_TALLY_PORT" -f "$src/tools/schema/reporting.sql" >/dev/null || { echo "tally schema failed"; exit 1; }
for t in "${TL_TABLES[@]}"; do
    f=$work/data/$t.csv
    [ -f "$f" ] || continue
    cols=$(head -n 1 "$f" | tr -d '\r')
    rm -f "$work/part."*
    tail -n +2 "$f" | split -l 1000000 - "$work/part."
    for part in "$work/part."*; do
        tl_psql "$TL_TALLY_PORT" -c "\\copy $t ($cols) from '$part' with (format csv)" >/dev/null ||
            { echo "tally load of $t failed"; exit 1; }
    done
done
rm -f "$work/part."*
echo "# tally load: $(tl__since "$t0") s"

# placeholders from the oracle's data
read -r org last last30 < <(tl_psql "$TL_PG_PORT" -At -F ' ' -c "
  select (select org_id from fact_scenario_attempts group by org_id order by count(*) desc, org_id limit 1),
         replace(max(started_at)::text, ' ', 'T'), replace((max(started_at) - interval '30 days')::text, ' ', 'T')
  from fact_scenario_attempts")
echo "# biggest org $org: $(tl_psql "$TL_PG_PORT" -At -c "select count(*) from fact_scenario_attempts where org_id = '$org'") attempts"
"$TL_PYTHON" - "$here/queries.sql" "$org" "$last" "$last30" >"$work/queries.tsv" <<'PY'
import sys
text = open(sys.argv[1]).read()
org, last, last30 = sys.argv[2:5]
for block in text.split("\n-- q: ")[1:]:
    name, _, body = block.partition("\n")
    sql = " ".join(l for l in body.splitlines() if l.strip() and not l.startswith("--")).rstrip(";")
    sql = sql.replace("{org}", org).replace("{last30}", last30.replace("T", " ")).replace("{last}", last.replace("T", " "))
    print(name.strip() + "\t" + sql)
PY

# psql: each query RUNS times, output discarded, \timing lines kept
psql_times() { # PORT OUT
    local port=$1 out=$2 name sql i
    {
        echo '\o /dev/null'
        echo '\timing on'
        while IFS=$'\t' read -r name sql; do
            for ((i = 0; i < runs; i++)); do echo "$sql;"; done
        done <"$work/queries.tsv"
    } >"$work/run.sql"
    tl_psql "$port" -f "$work/run.sql" 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' >"$out"
}
psql_times "$TL_PG_PORT" "$work/pg.times"
psql_times "$TL_TALLY_PORT" "$work/tally.times"
# row counts, to show both answer the same amount
while IFS=$'\t' read -r name sql; do
    printf '%s\t%s\t%s\n' "$name" "$(tl_psql "$TL_TALLY_PORT" -At -c "select count(*) from ($sql) s" 2>&1 | tail -1)" \
        "$(tl_psql "$TL_PG_PORT" -At -c "select count(*) from ($sql) s" 2>&1 | tail -1)"
done <"$work/queries.tsv" >"$work/rows.tsv"
tl_tallyd_stop
tl_pg_stop

duck=$work/duck.tsv
: >"$duck"
mkdir -p "$work/npm"
if (cd "$work/npm" && npm init -y >/dev/null 2>&1 && npm install --no-audit --no-fund @duckdb/node-api >"$work/npm.log" 2>&1); then
    cp "$here/queries_duckdb.mjs" "$work/npm/"
    (cd "$work/npm" && node queries_duckdb.mjs "$work/data" "$work/queries.tsv" "$runs" >"$duck" 2>"$work/duck.err") ||
        echo "# DuckDB run failed: $(tail -3 "$work/duck.err")"
    grep '^#' "$work/duck.err"
    echo "# DuckDB: $(cd "$work/npm" && node -e "import('@duckdb/node-api').then(m => console.log('@duckdb/node-api', require('./node_modules/@duckdb/node-api/package.json').version))" 2>/dev/null)"
else
    echo "# DuckDB: could not install @duckdb/node-api with npm ($(tail -1 "$work/npm.log")); its column stays empty"
fi
"$TL_PYTHON" "$here/queries_report.py" "$work/queries.tsv" "$work/tally.times" "$work/pg.times" "$duck" "$work/rows.tsv" "$runs" "$attempts"
