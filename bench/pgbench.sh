#!/usr/bin/env bash
# bench/pgbench.sh TALLYD [SECONDS] [CLIENTS]
#
# pgbench with the seed document's dashboard queries against tallyd and a throwaway
# PostgreSQL 15 holding the same data (the clients harness's schema, CSVs and views, loaded
# by its load_any.sh), in -M simple, extended and prepared. One transaction = the document's
# "average score by month", "top performers this week", the leaderboard view query (rank()
# over mv_leaderboard_month) and the org overview row, for one org picked at random (one
# script file per org: pgbench chooses among them). Prints tps and failed transactions per
# server and mode; exits non-zero if any transaction failed on either server.
#
# TALLY_CLIENTS_DIR: the harness (default: ../shared/clients beside this checkout).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
# shellcheck source=../tests/e2e/lib.sh
source "$src/tests/e2e/lib.sh"
trap tl_cleanup EXIT

tallyd=${1:?usage: bench/pgbench.sh TALLYD [SECONDS] [CLIENTS]}
secs=${2:-30}
nclients=${3:-16}
clients=${TALLY_CLIENTS_DIR:-$src/../shared/clients}
work=$(mktemp -d "$TL_TMP_ROOT/tally-pgbench.XXXXXX")
TL_CLEANUP_DIRS+=("$work")

tl_pg_start
TL_TALLY_ARGS="--max-connections 64"
tl_tallyd_start "$tallyd"
for port in "$TL_TALLY_PORT" "$TL_PG_PORT"; do
    bash "$clients/setup/load_any.sh" 127.0.0.1 "$port" postgres postgres >"$work/load.$port" 2>&1 ||
        { cat "$work/load.$port" >&2; tl_die "loading the harness data on port $port failed"; }
done

# one script per org, with the org as a literal (the same text for both servers)
mapfile -t orgs < <(tl_psql "$TL_PG_PORT" -At -c "select distinct org_id from fact_scenario_attempts order by 1")
files=()
for org in "${orgs[@]}"; do
    f=$work/dash_$org.sql
    cat >"$f" <<SQL
select date_trunc('month', started_at) as month, avg(score) as avg_score, count(*) as attempts from fact_scenario_attempts where org_id = '$org' group by date_trunc('month', started_at) order by month desc;
select user_id, avg(score) as avg_score, count(*) as attempts from fact_scenario_attempts where org_id = '$org' and started_at >= date_trunc('week', now()) group by user_id order by avg_score desc limit 10;
select user_id, avg_score, attempts, rank() over (partition by org_id, month order by avg_score desc) as rank from mv_leaderboard_month where org_id = '$org' and month = date_trunc('month', now()) order by rank;
select * from mv_org_overview where org_id = '$org';
SQL
    files+=(-f "$f")
done

status=0
printf '%-8s %-9s %10s %8s\n' server mode tps failed
for mode in simple extended prepared; do
    for side in tally postgres; do
        port=$TL_TALLY_PORT
        [ "$side" = postgres ] && port=$TL_PG_PORT
        out=$work/$side.$mode.out
        PGCONNECT_TIMEOUT=10 pgbench -n -h 127.0.0.1 -p "$port" -U postgres -M "$mode" -c "$nclients" -j 2 \
            -T "$secs" "${files[@]}" postgres >"$out" 2>&1
        rc=$?
        tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -n 1)
        failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
        printf '%-8s %-9s %10s %8s\n' "$side" "$mode" "${tps:-?}" "${failed:-?}"
        if [ "$rc" != 0 ] || [ "${failed:-1}" != 0 ]; then
            status=1
            grep -m 3 -i 'error' "$out" >&2
        fi
    done
done
tl_tallyd_stop
exit $status
