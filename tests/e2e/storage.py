#!/usr/bin/python3
"""tally_storage, tally_storage_totals and the relation-size functions, checked against
the data they describe: every expected row count and month is PostgreSQL's answer for
the same generated data, asked at run time; the byte figures must agree across the two
views and pg_total_relation_size / pg_relation_size / pg_indexes_size.
"""
import argparse
import decimal
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Tap, connect, run  # noqa: E402

ENCODINGS = {"for", "for-scaled", "rle", "constant", "plain", "all-null", "tail"}


def rows_of(conn, sql):
    r = run(conn, sql)
    if r.error:
        raise RuntimeError("%s: %s" % (sql, r.error))
    return r.rows


def month_counts(rows):
    return sorted((m, int(n)) for m, n in rows)


def wait_compaction(t, tap, label):
    """Compaction runs on the sealer thread once deletes are published, at a moment no
    reader is pinned; wait until no table has one due (our own polls pin briefly)."""
    for _ in range(300):
        due = rows_of(t, "select table_name from tally_storage_totals where compaction_pending")
        if not due:
            return True
        time.sleep(0.1)
    tap.check("compaction finishes (%s)" % label, False, due)
    return False


# Sealed chunks with at least half their rows deleted are rewritten (TL_CHUNK_ROWS =
# 16,384 rows a chunk); a table of its own gives a month with whole chunks to delete at
# any data size. Every answer is PostgreSQL's for the same statements.
COMPACT_QUERIES = [
    "select count(*), sum(v), min(v), max(v), count(s), count(distinct s), min(ts), max(ts) from compact_t",
    "select s, count(*), sum(v) from compact_t group by s order by s",
    "select count(*) from compact_t where v between 100 and 5000",
    "select count(*) from compact_t where s = 's3' and ts >= timestamptz '2024-03-10 00:00:00+00'",
    "select count(*) from compact_t where v is null",
    "select id, v, s, ts from compact_t where id % 997 = 0 order by id",
]


def compaction(t, p, tap):
    tap.start("compaction of mostly deleted segments")
    stmts = [
        "create table compact_t (id int8 primary key, d date not null, v int4, s text, ts timestamptz)",
        "insert into compact_t select i, date '2024-03-01' + (i % 28), case when i % 13 = 0 then null "
        "else (i * 7919) % 100003 end, 's' || (i % 11)::text, timestamptz '2024-03-01 00:00:00+00' + "
        "interval '1 second' * ((i * 37) % 2000000) from generate_series(1, 50000) i",
        # rows 1-16384 are the first chunk: all go; the second chunk loses 70%, the third 10%
        "delete from compact_t where id <= 16384 or (id <= 32768 and id % 10 < 7) or (id > 32768 and id % 10 = 0)",
    ]
    for sql in stmts:
        for c in (t, p):
            r = run(c, sql)
            if r.error:
                tap.check("compaction setup: %s" % sql, False, r.error)
                return
    before = rows_of(t, "select compacted_segments from tally_storage_totals where table_name = 'compact_t'")
    if not wait_compaction(t, tap, "compact_t"):
        return
    got = rows_of(t, "select compacted_segments, data_bytes from tally_storage_totals where table_name = 'compact_t'")
    tap.check("the chunks 100%% and 70%% deleted are rewritten, the one 10%% deleted is not (before %s)"
              % before, int(got[0][0]) == 2, got)
    for q in COMPACT_QUERIES:
        want, have = run(p, q), run(t, q)
        tap.check("after compaction: %s" % q, have.error is None and have.rows == want.rows,
                  "tally %s %s\nPostgreSQL %s" % (have.error, (have.rows or [])[:5], (want.rows or [])[:5]))
    # deleting more of the third chunk crosses half: rewritten too
    for c in (t, p):
        run(c, "delete from compact_t where id > 32768 and id % 2 = 0")
    wait_compaction(t, tap, "compact_t again")
    got = rows_of(t, "select compacted_segments from tally_storage_totals where table_name = 'compact_t'")
    tap.check("a chunk crossing half deleted is rewritten", int(got[0][0]) == 3, got)
    for q in COMPACT_QUERIES:
        want, have = run(p, q), run(t, q)
        tap.check("after the second compaction: %s" % q, have.error is None and have.rows == want.rows,
                  "tally %s %s\nPostgreSQL %s" % (have.error, (have.rows or [])[:5], (want.rows or [])[:5]))
    r = run(t, "checkpoint")
    tap.check("CHECKPOINT writes a snapshot of the compacted table", r.error is None, r.error)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tally-port", type=int, required=True)
    ap.add_argument("--pg-port", type=int, required=True)
    ap.add_argument("--after-restart", action="store_true",
                    help="only compare the compacted table (tallyd restarted from its snapshot)")
    a = ap.parse_args()
    tap = Tap()
    tap.n = int(os.environ.get("TL_TAP_BASE", "0"))
    t, p = connect(a.tally_port), connect(a.pg_port)
    if a.after_restart:
        tap.start("compacted table after a restart")
        for q in COMPACT_QUERIES:
            want, have = run(p, q), run(t, q)
            tap.check("after a restart from the snapshot: %s" % q, have.error is None and have.rows == want.rows,
                      "tally %s %s\nPostgreSQL %s" % (have.error, (have.rows or [])[:5], (want.rows or [])[:5]))
        r = run(t, "insert into compact_t values (1, date '2024-03-02', 1, 'x', null)")
        r2 = run(p, "insert into compact_t values (1, date '2024-03-02', 1, 'x', null)")
        tap.check("a deleted row's key is free again after the restart", r.error == r2.error, (r.error, r2.error))
        t.close()
        p.close()
        return tap

    tap.start("tally_storage lists every column of every table")
    want = set(rows_of(p, "select table_name, column_name from information_schema.columns "
                          "where table_schema = 'public'"))
    got = set(rows_of(t, "select table_name, column_name from tally_storage where encoding not in ('dictionary', 'delete bitmap')"))
    tap.check("tally_storage lists every column of every table", got == want and want,
              "missing %s\nextra %s" % (sorted(want - got)[:10], sorted(got - want)[:10]))

    st = rows_of(t, "select table_name, partition, column_name, encoding, segments, rows, raw_bytes, "
                    "stored_bytes, ratio from tally_storage")
    bad = [r for r in st if r[3] not in ("dictionary", "delete bitmap") and (r[3] not in ENCODINGS or int(r[7]) <= 0)]
    tap.check("every column segment has a known encoding and stored bytes", not bad, bad[:10])
    bad = [r for r in st if int(r[7]) > 0 and decimal.Decimal(r[8]) !=
           (decimal.Decimal(r[6]) / decimal.Decimal(r[7])).quantize(decimal.Decimal("0.01"),
                                                                    rounding=decimal.ROUND_HALF_UP)]
    tap.check("ratio is raw_bytes / stored_bytes", not bad, bad[:10])

    counts = dict(rows_of(p, "select 'fact_scenario_attempts', count(*) from fact_scenario_attempts union all "
                             "select 'fact_kpi_events', count(*) from fact_kpi_events union all "
                             "select 'dim_users', count(*) from dim_users union all "
                             "select 'dim_orgs', count(*) from dim_orgs"))
    for tab, n in sorted(counts.items()):
        per_col = rows_of(t, "select column_name, sum(rows) from tally_storage where table_name = '%s' "
                             "and encoding not in ('dictionary', 'delete bitmap') group by column_name" % tab)
        bad = [r for r in per_col if int(r[1]) != int(n)]
        tap.check("%s: every column holds PostgreSQL's %s rows" % (tab, n), per_col and not bad, bad[:5])
    # A partition seals a segment per 16,384 rows; the biggest month (PostgreSQL's count)
    # says whether this data set has one.
    big = rows_of(p, "select coalesce(max(n), 0) from (select count(*) n from fact_kpi_events k join "
                     "fact_scenario_attempts a on a.attempt_id = k.attempt_id "
                     "group by (a.started_at at time zone 'UTC')::date - extract(day from (a.started_at at time zone 'UTC'))::int) s")
    if int(big[0][0]) >= 16384:  # TL_CHUNK_ROWS
        # Sealing runs on a background thread after the publish: give it a moment.
        for _ in range(100):
            sealed = rows_of(t, "select count(*) from tally_storage where table_name = 'fact_kpi_events' "
                                "and encoding not in ('tail', 'dictionary', 'delete bitmap')")
            if int(sealed[0][0]) > 0:
                break
            time.sleep(0.1)
        tap.check("fact_kpi_events has sealed, encoded segments", int(sealed[0][0]) > 0, sealed)
    else:
        tap.note("no month of fact_kpi_events reaches one segment: nothing sealed to check")
    want = month_counts(rows_of(p, "select to_char(date_key, 'YYYY-MM'), count(*) from fact_scenario_attempts "
                                   "group by 1"))
    got = month_counts(rows_of(t, "select partition, sum(rows) from tally_storage where table_name = "
                                  "'fact_scenario_attempts' and column_name = 'date_key' group by 1"))
    tap.check("fact_scenario_attempts: one partition per month of date_key", got == want,
              "tally %s\nPostgreSQL %s" % (got[:12], want[:12]))
    want = month_counts(rows_of(p, "select coalesce(to_char((a.started_at at time zone 'UTC')::date, 'YYYY-MM'), "
                                   "'null'), count(*) from fact_kpi_events k left join fact_scenario_attempts a "
                                   "on a.attempt_id = k.attempt_id group by 1"))
    got = month_counts(rows_of(t, "select partition, sum(rows) from tally_storage where table_name = "
                                  "'fact_kpi_events' and column_name = 'id' group by 1"))
    tap.check("fact_kpi_events: filed under the month of its attempt", got == want,
              "tally %s\nPostgreSQL %s" % (got[:12], want[:12]))

    def sizes_agree(label):
        tot = rows_of(t, "select table_name, data_bytes + dictionary_bytes, index_bytes, total_bytes "
                         "from tally_storage_totals")
        bad = []
        for name, rel, idx, total in tot:
            f = rows_of(t, "select pg_relation_size(c.oid), pg_indexes_size(c.oid), pg_total_relation_size(c.oid) "
                           "from pg_class c where c.relname = '%s' and c.relkind = 'r'" % name)
            if not f or tuple(int(x) for x in f[0]) != (int(rel), int(idx), int(total)):
                bad.append((name, rel, idx, total, f))
        tap.check("pg_relation_size / pg_indexes_size / pg_total_relation_size = tally_storage_totals (%s)"
                  % label, tot and not bad, bad[:5])
        sums = dict(rows_of(t, "select table_name, sum(stored_bytes) from tally_storage group by 1"))
        bad = [(n, r, sums.get(n)) for n, r, _, _ in tot if int(sums.get(n, -1)) != int(r)]
        tap.check("tally_storage's stored bytes add up to the relation size (%s)" % label, not bad, bad[:5])

    sizes_agree("after load")

    # A delete (cascading to KPI events) changes live rows, not the stored segments.
    cut = "delete from fact_scenario_attempts where date_key < date '2024-03-01'"
    for c in (t, p):
        r = run(c, cut)
        if r.error:
            tap.check("DELETE ... cascade", False, r.error)
    want = dict(rows_of(p, "select 'fact_scenario_attempts', count(*) from fact_scenario_attempts union all "
                           "select 'fact_kpi_events', count(*) from fact_kpi_events"))
    got = dict(rows_of(t, "select table_name, rows from tally_storage_totals where table_name like 'fact%'"))
    tap.check("tally_storage_totals.rows are live rows after DELETE (PostgreSQL's counts)",
              {k: int(v) for k, v in got.items()} == {k: int(v) for k, v in want.items()},
              "tally %s\nPostgreSQL %s" % (got, want))
    wait_compaction(t, tap, "after delete")
    sizes_agree("after delete")
    compaction(t, p, tap)
    sizes_agree("after compaction")
    t.close()
    p.close()
    return tap


if __name__ == "__main__":
    tp = main()
    with open(os.environ["TL_TAP_STATE"], "w") as f:
        f.write("%d %d\n" % (tp.n, tp.failed))
