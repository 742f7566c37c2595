#!/usr/bin/env bash
# bench/storage.sh [ATTEMPTS] — compressed storage next to PostgreSQL 15, same data, same run.
#
# Streams ATTEMPTS (default 1,000,000) attempts with their KPI events (tally-gen, fixed
# seed, 1M-row COPYs, no CSV files) into a fresh in-memory tallyd and a throwaway
# PostgreSQL 15 at once (PostgreSQL's indexes built after its load), and prints a
# markdown table: bytes per row of each fact table (tally_storage_totals: columns,
# dictionaries and the primary-key index) next to its CSV bytes per row and PostgreSQL's
# pg_total_relation_size per row; tallyd's RSS per row of all tables; the per-column
# encodings; a filtered count over one org and one month with storage pruning and with
# pruning defeated (the same predicate wrapped so no conjunct reaches storage), next to
# PostgreSQL's time; the commit latency of 2048-row COPYs while segments seal; then
# bench/storage_codec's decode speeds per codec and the in-process append stall.
# Uses build-rel/ (release) by default.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../tests/e2e/lib.sh
TL_PSQL_TIMEOUT=${TL_PSQL_TIMEOUT:-7200} # the index builds of a 10M run take long
source tests/e2e/lib.sh
trap tl_cleanup EXIT

attempts=${1:-1000000}
build=${TALLY_BUILD:-build-rel}
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release >/dev/null
ninja -j2 -C "$build" >/dev/null

work=$(mktemp -d "$TL_TMP_ROOT/tally-bench-storage.XXXXXX")
TL_CLEANUP_DIRS+=("$work")
gen=("$build/tools/tally-gen" --attempts "$attempts" --seed 7)

# Both systems get the generator's rows streamed over COPY (tally-gen --connect, same
# seed, same bytes) in 1M-row COPYs: 10M attempts would be ~20 GB of CSV. tallyd runs in memory (no
# WAL); PostgreSQL gets the schema without its indexes and builds them after the load
# (as a bulk load would, as soon as its load is done), shared_buffers 256MB. Both
# loads run at once; run the script under `nice` (the generators inherit it, and the
# two servers are reniced to 10).
TL_TALLY_MEMORY=1 tl_tallyd_start "$build/server/tallyd"
renice -n 10 -p "$TL_TALLY_PID" >/dev/null
rss0=$(awk '/^VmRSS:/ {print $2}' "/proc/$TL_TALLY_PID/status")
tl_pg_start
renice -n 10 -p "$TL_PG_PID" >/dev/null # backends forked from now on inherit it
tl_psql "$TL_TALLY_PORT" -f tools/schema/reporting.sql >/dev/null
"$TL_PYTHON" - tools/schema/reporting_pg.sql "$work/pg_schema.sql" "$work/pg_indexes.sql" <<'PY'
import re, sys
src, schema, indexes = sys.argv[1:]
tables, idx, out, cur = {}, [], [], None
for line in open(src):
    m = re.match(r"create table (\w+)", line)
    if m:
        cur = m.group(1)
    if line.startswith("create index"):
        idx.append(line.strip())
        continue
    m = re.match(r"\s*(\w+) .*\bprimary key\b", line)
    if m:
        idx.insert(0, "alter table %s add primary key (%s);" % (cur, m.group(1)))
        line = line.replace(" primary key", "")
    # the foreign key adds no index; leaving it out spares validating 80M rows
    line = re.sub(r" references \w+\(\w+\)( on delete cascade)?", "", line)
    out.append(line)
open(schema, "w").write("".join(out))
open(indexes, "w").write("set maintenance_work_mem = '1GB';\n" + "\n".join(idx) + "\n")
PY
tl_psql "$TL_PG_PORT" -f "$work/pg_schema.sql" >/dev/null
echo "bench: streaming $attempts attempts into tally and PostgreSQL" >&2
t0=$(date +%s.%N)
"${gen[@]}" --batch-rows 1000000 --connect "host=127.0.0.1 port=$TL_TALLY_PORT user=postgres dbname=postgres" \
    >"$work/load_tally.txt" 2>&1 &
gen_tally=$!
# PostgreSQL: load, then keys and indexes, then vacuum analyze, while tally still loads
(
    "${gen[@]}" --batch-rows 1000000 --connect "host=127.0.0.1 port=$TL_PG_PORT user=postgres dbname=postgres" \
        >"$work/load_pg.txt" 2>&1 || exit 1
    echo "PostgreSQL load $(tl__since "$t0") s" >>"$work/times.txt"
    t1=$(date +%s.%N)
    tl_psql "$TL_PG_PORT" -f "$work/pg_indexes.sql" >/dev/null || exit 1
    tl_psql "$TL_PG_PORT" -c 'vacuum analyze' >/dev/null || exit 1
    echo "PostgreSQL indexes + vacuum analyze $(tl__since "$t1") s" >>"$work/times.txt"
) &
pg_side=$!
wait "$gen_tally" || { cat "$work/load_tally.txt" >&2; tl_die "tally load failed"; }
echo "tally load $(tl__since "$t0") s" >>"$work/times.txt"
# CSV bytes of the fact tables (the generator again, counted, not stored)
for t in fact_scenario_attempts fact_kpi_events; do
    "${gen[@]}" --stream "$t" --format csv | wc -c >"$work/$t.csvbytes"
done
wait "$pg_side" || { cat "$work/load_pg.txt" >&2; tl_die "PostgreSQL load or index build failed"; }
echo "bench: codecs" >&2
"$build/bench/storage_codec" 200 >"$work/codec.txt"
cat "$work/load_tally.txt" "$work/load_pg.txt" "$work/times.txt" >&2

"$TL_PYTHON" - "$TL_TALLY_PORT" "$TL_TALLY_PID" "$TL_PG_PORT" "$work" "$attempts" "$rss0" \
    "$work/codec.txt" <<'PY'
import os, sys, time
sys.path.insert(0, "tests/e2e")
import lib

tport, tpid, pport, data, attempts, rss0, codec = sys.argv[1:]
t, p = lib.connect(int(tport)), lib.connect(int(pport))

def q(conn, sql):
    cur = conn.cursor(); cur.execute(sql); r = cur.fetchall(); cur.close(); return r

def best(conn, sql, n=7):
    q(conn, sql)
    b = None
    for _ in range(n):
        t0 = time.perf_counter(); r = q(conn, sql); dt = time.perf_counter() - t0
        b = dt if b is None or dt < b else b
    return b, r

rss = 0
for line in open("/proc/%s/status" % tpid):
    if line.startswith("VmRSS:"):
        rss = int(line.split()[1]) * 1024
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("## bench/storage — %s attempts, tally vs PostgreSQL 15 (same run, same data)" % format(int(attempts), ","))
print()
print("Machine: %d cores (%s), shared with ~6 engineers' builds and tests: timings are noisy, "
      "best of 7 after a warm-up." % (os.cpu_count(), cpu))
print()
print("| table | rows | CSV B/row | tally B/row (data + dict + PK index) | of which data / dict / index | "
      "PG pg_total_relation_size B/row | CSV / tally | PG / tally |")
print("|---|---|---|---|---|---|---|---|")
tot = {r[0]: r for r in q(t, "select table_name, rows, data_bytes, dictionary_bytes, index_bytes, total_bytes "
                             "from tally_storage_totals")}
all_rows = 0
for name in ("fact_scenario_attempts", "fact_kpi_events", "dim_users", "dim_scenarios", "dim_orgs", "dim_time"):
    if name not in tot:
        continue
    _, rows, d, dic, ix, total = (int(x) if i else x for i, x in enumerate(tot[name]))
    all_rows += rows
    cb = os.path.join(data, name + ".csvbytes")
    csv = int(open(cb).read()) if os.path.exists(cb) else float("nan")
    pg = int(q(p, "select pg_total_relation_size('%s')" % name)[0][0])
    print("| %s | %s | %s | **%.1f** | %.1f / %.1f / %.1f | %.1f | %s | %.1fx |" % (
        name, format(rows, ","), "%.1f" % (csv / rows) if csv == csv else "—", total / rows, d / rows, dic / rows,
        ix / rows, pg / rows, "%.1fx" % (csv / total) if csv == csv else "—", pg / total))
print()
print("tallyd RSS after load: %.0f MiB (%.0f MiB before the load), %.1f bytes per row of all tables." % (
    rss / 2**20, int(rss0) * 1024 / 2**20, (rss - int(rss0) * 1024) / all_rows))
print()
print("### Per column (fact tables, all partitions summed)")
print()
print("| table | column | encodings (rows) | stored B/row | ratio vs plain width |")
print("|---|---|---|---|---|")
rows = q(t, "select table_name, column_name, encoding, sum(rows), sum(raw_bytes), sum(stored_bytes) "
            "from tally_storage where table_name like 'fact%' and column_name is not null "
            "group by 1, 2, 3 order by 1, 2, 3")
cols = {}
for tab, col, enc, n, raw, st in rows:
    c = cols.setdefault((tab, col), [[], 0, 0])
    c[0].append("%s %s" % (enc, format(int(n), ",")))
    if enc != "dictionary":
        c[1] += int(raw)
    c[2] += int(st)
for (tab, col), (encs, raw, st) in sorted(cols.items()):
    n = int(tot[tab][1]) or 1
    print("| %s | %s | %s | %.2f | %.1f |" % (tab, col, ", ".join(encs), st / n, raw / st if st else 0))
print()
org, month, cnt = q(p, "select org_id, date_trunc('month', date_key)::date, count(*) from fact_scenario_attempts "
                       "group by 1, 2 order by 3 desc limit 1")[0]
m0 = str(month)
# Both bounds as dates: `date + interval` is a timestamp, which storage cannot compare
# with a date column, so only the lower bound would be pushed down.
y, mo = int(m0[:4]), int(m0[5:7])  # values arrive as PostgreSQL's text
m1 = "%04d-%02d-01" % (y + mo // 12, mo % 12 + 1)
pruned = ("select count(*) from fact_scenario_attempts where org_id = '%s' and date_key >= date '%s' "
          "and date_key < date '%s'" % (org, m0, m1))
unpruned = ("select count(*) from fact_scenario_attempts where coalesce(org_id = '%s' and date_key >= date '%s' "
            "and date_key < date '%s', false)" % (org, m0, m1))
tp, rt = best(t, pruned)
tu, ru = best(t, unpruned)
pp, rp = best(p, pruned)
total_attempts = int(tot["fact_scenario_attempts"][1])
print("### Filtered count: one org, one month (%s rows of %s)" % (cnt, format(total_attempts, ",")))
print()
print("| query | tally | PostgreSQL 15 |")
print("|---|---|---|")
print("| with pruning (month partition, zone maps, codes) | %.2f ms (%.0f M rows/s of the table) | %.2f ms |" % (
    tp * 1e3, total_attempts / tp / 1e6, pp * 1e3))
print("| pruning defeated (predicate inside coalesce) | %.2f ms (%.0f M rows/s) | — |" % (
    tu * 1e3, total_attempts / tu / 1e6))
print()
t1, _ = best(t, "select 1")
p1, _ = best(p, "select 1")
print("| `select 1` (the round trip alone) | %.2f ms | %.2f ms |" % (t1 * 1e3, p1 * 1e3))
print()
print("Answers: tally %s / %s, PostgreSQL %s (must agree)." % (rt[0][0], ru[0][0], rp[0][0]))
print("Times are wall clock at the client (psycopg2 round trip on loopback included).")
print()
rss1 = 0
for line in open("/proc/%s/status" % tpid):
    if line.startswith("VmRSS:"):
        rss1 = int(line.split()[1]) * 1024
print("tallyd RSS after the queries (transient load buffers returned): %.0f MiB, %.1f bytes per row of all tables."
      % (rss1 / 2**20, (rss1 - int(rss0) * 1024) / all_rows))
print()

# Commit latency while segments seal: 2048-row COPYs into one fresh month, so every
# 8th statement fills a 16,384-row chunk that the sealer encodes in the background.
import io, uuid
org1 = q(t, "select org_id from dim_orgs limit 1")[0][0]
lat, filled = [], []
rows_in = 0
for b in range(128):
    buf = io.StringIO()
    for i in range(2048):
        buf.write("%s\t%s\tu%d\t\\N\t%d.%02d\t%d\t%d\t%d\t2031-01-%02d 10:%02d:%02d+00\t\\N\t2031-01-15 00:00:00+00\n" % (
            uuid.uuid4(), org1, i % 50, i % 100, i % 97, 60 + i % 900, i * 7, i * 5, 1 + i % 28, i % 60, (i * 7) % 60))
    buf.seek(0)
    cur = t.cursor()
    t0 = time.perf_counter()
    cur.copy_expert("copy fact_scenario_attempts (attempt_id, org_id, user_id, scenario_id, score, duration_seconds, "
                    "talk_ms, listen_ms, started_at, ended_at, created_at) from stdin", buf)
    t.commit()
    lat.append(time.perf_counter() - t0)
    cur.close()
    rows_in += 2048
    filled.append(rows_in % 16384 == 0)
sl = sorted(lat)
fl = [x for x, f in zip(lat, filled) if f]
nf = [x for x, f in zip(lat, filled) if not f]
print("### Commit latency while sealing (128 COPYs of 2048 rows into one new month, client wall clock)")
print()
print("| statements | count | mean | p50 | p99 | worst |")
print("|---|---|---|---|---|---|")
for name, v in (("filling a chunk (a seal starts)", fl), ("the others (a seal may be running)", nf)):
    v = sorted(v)
    print("| %s | %d | %.2f ms | %.2f ms | %.2f ms | %.2f ms |" % (
        name, len(v), sum(v) / len(v) * 1e3, v[len(v) // 2] * 1e3, v[min(len(v) - 1, int(len(v) * 0.99))] * 1e3,
        v[-1] * 1e3))
print()
print("### Codecs and sealing (bench/storage_codec, in-process)")
print()
print("```")
sys.stdout.write(open(codec).read())
print("```")
PY
