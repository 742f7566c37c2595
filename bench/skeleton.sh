#!/usr/bin/env bash
# bench/skeleton.sh [ATTEMPTS] — the walking skeleton's figures next to PostgreSQL 15's.
#
# Generates ATTEMPTS (default 1,000,000) attempts with their KPI events (tally-gen,
# fixed seed), then loads the same CSVs with the same psql \copy commands into a fresh
# tallyd and into a throwaway PostgreSQL 15 (fsync off, its schema with the seed's
# primary keys, foreign key and indexes), one after the other, and prints a markdown
# table:
#   * COPY load rate (rows/s) per fact table, as psql's \copy takes end to end;
#   * tallyd's resident memory (VmRSS) after the load, next to PostgreSQL's total
#     relation sizes (heap + indexes + TOAST) and its processes' RSS and PSS;
#   * `select count(*), avg(score) from fact_scenario_attempts`, best of 5 (psycopg2,
#     wall clock around execute+fetch), after one warm-up run.
# Uses build/ (configured --buildtype=release if absent). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../tests/e2e/lib.sh
source tests/e2e/lib.sh
trap tl_cleanup EXIT

attempts=${1:-1000000}
build=${TALLY_BUILD:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release >/dev/null
ninja -C "$build" >/dev/null

work=$(mktemp -d "$TL_TMP_ROOT/tally-bench.XXXXXX")
TL_CLEANUP_DIRS+=("$work")
echo "bench: generating $attempts attempts" >&2
t0=$(date +%s.%N)
"$build/tools/tally-gen" --attempts "$attempts" --seed 7 --out "$work/data" >"$work/gen.log" 2>&1
gen_s=$(tl__since "$t0")

tl_tallyd_start "$build/server/tallyd"
echo "bench: loading tally" >&2
tl_load "$TL_TALLY_PORT" tools/schema/reporting.sql "$work/data" "$work/load_tally.txt" ||
    { cat "$work/load_tally.txt" >&2; tl_die "tally load failed"; }
tl_pg_start
echo "bench: loading PostgreSQL" >&2
tl_load "$TL_PG_PORT" tools/schema/reporting_pg.sql "$work/data" "$work/load_pg.txt" ||
    { cat "$work/load_pg.txt" >&2; tl_die "PostgreSQL load failed"; }
tl_psql "$TL_PG_PORT" -c 'vacuum analyze' >/dev/null

"$TL_PYTHON" - "$TL_TALLY_PORT" "$TL_TALLY_PID" "$TL_PG_PORT" "$TL_PG_PID" \
    "$work/load_tally.txt" "$work/load_pg.txt" "$attempts" "$gen_s" <<'PY'
import os, sys, time
sys.path.insert(0, "tests/e2e")
import lib

tport, tpid, pport, ppid, tload, pload, attempts, gen_s = sys.argv[1:]

def loads(path):
    out = {}
    for line in open(path):
        p = line.split()
        if p[0] != "schema":
            out[p[0]] = (int(p[1]), float(p[2]))
    return out

def status_kb(pid, field):
    for line in open("/proc/%s/status" % pid):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0

def pss_kb(pid):
    try:
        for line in open("/proc/%s/smaps_rollup" % pid):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0

def children(pid):
    kids = []
    for task in os.listdir("/proc/%s/task" % pid):
        with open("/proc/%s/task/%s/children" % (pid, task)) as f:
            kids += f.read().split()
    return kids

def best_of(port, sql, n=5):
    conn = lib.connect(int(port))
    cur = conn.cursor()
    cur.execute(sql); result = cur.fetchall()          # warm-up
    best = None
    for _ in range(n):
        t0 = time.perf_counter()
        cur.execute(sql); cur.fetchall()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    conn.close()
    return best, result

tl, pl = loads(tload), loads(pload)
t_rss = status_kb(tpid, "VmRSS")
pg_pids = [ppid] + children(ppid)
p_rss = sum(status_kb(p, "VmRSS") for p in pg_pids)
p_pss = sum(pss_kb(p) for p in pg_pids)
conn = lib.connect(int(pport))
cur = conn.cursor()
cur.execute("select sum(pg_total_relation_size(c.oid)) from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'public' and c.relkind = 'r'")
p_rel = int(cur.fetchone()[0]) // 1024
conn.close()
q = "select count(*), avg(score) from fact_scenario_attempts"
tq, tres = best_of(tport, q)
pq, pres = best_of(pport, q)

cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip(); break
mb = lambda kb: "%.0f MiB" % (kb / 1024.0)
rate = lambda r: "%s rows in %.2f s = %.0f rows/s" % (format(r[0], ","), r[1], r[0] / r[1] if r[1] else 0)

print("## tally walking skeleton vs PostgreSQL 15 — %s attempts" % format(int(attempts), ","))
print()
print("Machine: %d cores (nproc), %s. Data: tally-gen --attempts %s (%.1f s to generate)."
      % (os.cpu_count(), cpu, attempts, float(gen_s)))
print()
print("| measure | tally | PostgreSQL 15 |")
print("|---|---|---|")
for t in ("fact_scenario_attempts", "fact_kpi_events"):
    print("| COPY %s (psql \\copy) | %s | %s |" % (t, rate(tl[t]), rate(pl[t])))
for t in ("dim_orgs", "dim_users", "dim_scenarios", "dim_time"):
    if t in tl:
        print("| COPY %s | %s rows, %.2f s | %s rows, %.2f s |" % (t, tl[t][0], tl[t][1], pl[t][0], pl[t][1]))
print("| memory after load | tallyd VmRSS %s | relations (pg_total_relation_size, all tables) %s; "
      "processes RSS %s, PSS %s |" % (mb(t_rss), mb(p_rel), mb(p_rss), mb(p_pss)))
print("| `%s`, best of 5 | %.2f ms | %.2f ms |" % (q, tq * 1000, pq * 1000))
print()
print("Results: tally %s, PostgreSQL %s" % (tres, pres))
print("PostgreSQL: fsync=off, synchronous_commit=off, shared_buffers=256MB; its load maintains the "
      "primary keys, the foreign key from fact_kpi_events and the three indexes of the schema.")
PY
