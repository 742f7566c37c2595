#!/usr/bin/python3
"""EXPLAIN [ANALYZE], the per-statement memory budget (tally.max_statement_memory)
in the SQL engine's materialising operators, and CREATE TABLE AS, against tallyd
(sql_ops.sh); CREATE TABLE AS is compared with PostgreSQL 15 statement by statement.

EXPLAIN has no oracle text to compare with (PostgreSQL's plans and costs are its own),
so the checks are about consistency: ANALYZE's row count for the top operator and for
each scan equals what the query and the tables hold, as PostgreSQL counts them. The
memory limit's SQLSTATE is PostgreSQL's for out of memory (53200)."""
import argparse
import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Tap, connect, run  # noqa: E402

PLAN_ROW = re.compile(r"^\s*(?:->\s+)?(.+?)\s+\(actual time=([0-9.]+) ms rows=(\d+) batches=(\d+)\)$")

QUERIES = [
    ("grouped and ordered with LIMIT",
     "select date_trunc('month', started_at) as m, avg(score) from fact_scenario_attempts "
     "group by 1 order by 1 desc limit 5"),
    ("join of KPI events with attempts",
     "select e.event_type, count(*) from fact_kpi_events e join fact_scenario_attempts a "
     "on a.attempt_id = e.attempt_id where a.score > 50 group by 1"),
    ("filter on a dimension through a subquery",
     "select attempt_id from fact_scenario_attempts where user_id in "
     "(select user_id from dim_users where role = 'trainee') order by started_at desc limit 40 offset 20"),
]


def plan_rows(conn, sql):
    r = run(conn, sql)
    if r.error:
        return None, r.error
    return [row[0] for row in r.rows], None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tally-port", type=int, required=True)
    ap.add_argument("--pg-port", type=int, required=True)
    a = ap.parse_args()
    tap = Tap()
    tally, pg = connect(a.tally_port), connect(a.pg_port)

    for name, sql in QUERIES:
        tap.start("EXPLAIN ANALYZE: " + name)
        lines, err = plan_rows(tally, "explain analyze " + sql)
        want = run(pg, sql)
        if err or want.error:
            tap.check("EXPLAIN ANALYZE: " + name, False, "tally: %s, PostgreSQL: %s" % (err, want.error))
            continue
        parsed = [PLAN_ROW.match(l) for l in lines]
        ops = [m for m in parsed if m]
        problems = []
        if not ops:
            problems.append("no operator lines:\n" + "\n".join(lines))
        elif int(ops[0].group(3)) != len(want.rows):
            problems.append("top operator rows=%s, PostgreSQL returns %d rows" % (ops[0].group(3), len(want.rows)))
        for m in ops:
            if m.group(1).startswith("Scan on "):
                table = m.group(1)[len("Scan on "):]
                n = int(run(pg, "select count(*) from %s" % table).rows[0][0])
                if int(m.group(3)) > n:
                    problems.append("%s returned %s rows of %d" % (m.group(1), m.group(3), n))
        if not any(l.startswith("Execution Time:") for l in lines):
            problems.append("no Execution Time line")
        tap.check("EXPLAIN ANALYZE: " + name, not problems, "\n".join(problems) + "\n" + "\n".join(lines))

    tap.start("EXPLAIN ANALYZE: an unfiltered scan returns every row")
    lines, err = plan_rows(tally, "explain analyze select * from fact_kpi_events")
    n = int(run(pg, "select count(*) from fact_kpi_events").rows[0][0])
    scans = [PLAN_ROW.match(l) for l in (lines or []) if "Scan on fact_kpi_events" in l]
    tap.check("EXPLAIN ANALYZE: an unfiltered scan returns every row",
              not err and len(scans) == 1 and scans[0] and int(scans[0].group(3)) == n,
              "%s %s (want %d)" % (err, lines, n))

    tap.start("EXPLAIN ANALYZE: a scan reports partitions and pruning")
    lines, err = plan_rows(tally, "explain analyze select count(*) from fact_scenario_attempts "
                                  "where date_key >= (select max(date_key) from fact_scenario_attempts) - 20")
    tap.check("EXPLAIN ANALYZE: a scan reports partitions and pruning",
              not err and any(re.search(r"partitions: \d+, [1-9]\d* pruned", l) for l in lines),
              "%s\n%s" % (err, "\n".join(lines or [])))

    tap.start("EXPLAIN without ANALYZE does not run the query")
    lines, err = plan_rows(tally, "explain select 1 / 0 from fact_scenario_attempts")
    tap.check("EXPLAIN without ANALYZE does not run the query",
              not err and lines and not any("actual time" in l for l in lines), "%s %s" % (err, lines))

    for sql, why in [("explain analyze insert into dim_orgs values (gen_random_uuid(), 'x', 'y', now())",
                      "EXPLAIN of a non-SELECT is refused (tally explains SELECT only)"),
                     ("explain (format json) select 1", "EXPLAIN (FORMAT JSON) is refused")]:
        tap.start(why)
        r = run(tally, sql)
        tap.check(why, r.error is not None and r.error[0] == "0A000", r.error)

    # tally.max_statement_memory: the query fails, the session and the server go on
    other = connect(a.tally_port)
    big = ("select e.attempt_id, e.event_type, e.created_at from fact_kpi_events e "
           "join fact_scenario_attempts a on a.attempt_id = e.attempt_id order by e.created_at, e.attempt_id")
    results = {}

    def side():
        results["other"] = run(other, "select count(*) from fact_scenario_attempts a join fact_kpi_events e "
                                      "on a.attempt_id = e.attempt_id")

    for name, sql in [("sort", big),
                      ("hash aggregate", "select attempt_id, event_type, count(*) from fact_kpi_events group by 1, 2"),
                      ("hash join build", "select count(*) from fact_scenario_attempts a join fact_kpi_events e "
                                          "on a.attempt_id = e.attempt_id")]:
        title = "tally.max_statement_memory = 256kB: %s fails with 53200 while another session runs" % name
        tap.start(title)
        run(tally, "set tally.max_statement_memory = '256kB'")
        t = threading.Thread(target=side)
        t.start()
        r = run(tally, sql)
        t.join()
        want = run(pg, "select count(*) from fact_scenario_attempts a join fact_kpi_events e "
                       "on a.attempt_id = e.attempt_id")
        ok = r.error is not None and r.error[0] == "53200" and results.get("other") and \
            results["other"].rows == want.rows
        tap.check(title, ok, "tally: %s; other session: %s; PostgreSQL: %s" %
                  (r.error or "%d rows" % len(r.rows), results.get("other") and
                   (results["other"].error or results["other"].rows), want.rows))
    tap.start("after RESET the same session runs the query")
    run(tally, "reset tally.max_statement_memory")
    r, want = run(tally, "select count(*) from (%s) s" % big), run(pg, "select count(*) from (%s) s" % big)
    tap.check("after RESET the same session runs the query", r.error is None and r.rows == want.rows,
              "%s %s" % (r.error or r.rows, want.rows))
    create_table_as(tap, tally, pg)
    views(tap, tally, pg)
    return tap


# Each statement runs on both servers: the SQLSTATE (or success and the command's rows)
# must agree; then every new table's columns and types, and its contents, must agree.
CTAS = [
    "create table ctas_1 as select attempt_id, user_id, score, started_at::date as day, talk_ms "
    "from fact_scenario_attempts where score > 60",
    "create table ctas_2 (u, n, a) as select user_id, count(*), avg(score) from fact_scenario_attempts group by 1",
    "create table ctas_3 as select 'lit' as t, 1 as i, 1.5 as n, now() > '2000-01-01' as b, "
    "null::varchar(7) as v, score::numeric(6,1) as s from fact_scenario_attempts limit 3",
    "create table ctas_4 as select event_type, count(*) from fact_kpi_events group by 1 with no data",
    "create table if not exists ctas_1 as select 1",
    "create table ctas_1 as select 1",
    "create table ctas_5 (a, b, c) as select 1, 2",
    "create table ctas_6 as select 1 / (score - score) as x from fact_scenario_attempts",
    "create table ctas_7 as select 1 as a, 2 as a",
    "create table ctas_8 as select nosuch from fact_scenario_attempts",
    "create table nosuchschema.ctas_9 as select 1",
    "create table ctas_10 as with w as (select org_id, max(score) as m from fact_scenario_attempts group by 1) "
    "select * from w order by m desc, org_id limit 2",
]


def create_table_as(tap, tally, pg):
    for sql in CTAS:
        title = "CREATE TABLE AS like PostgreSQL: " + sql[:90]
        tap.start(title)
        got, want = run(tally, sql), run(pg, sql)
        same = (got.error and want.error and got.error[0] == want.error[0]) or \
               (not got.error and not want.error and got.rows == want.rows)
        tap.check(title, same, "tally: %s\nPostgreSQL: %s" % (got.error or got.rows, want.error or want.rows))
    cols = ("select table_name, column_name, data_type, character_maximum_length, numeric_precision, "
            "numeric_scale from information_schema.columns where table_name like 'ctas%' "
            "order by table_name, ordinal_position")
    tap.start("CREATE TABLE AS: the new tables' columns and types are PostgreSQL's")
    got, want = run(tally, cols), run(pg, cols)
    tap.check("CREATE TABLE AS: the new tables' columns and types are PostgreSQL's",
              not got.error and got.rows == want.rows and len(want.rows) > 10,
              "tally: %s\nPostgreSQL: %s" % (got.error or got.rows, want.rows))
    for t in ["ctas_1", "ctas_2", "ctas_3", "ctas_4", "ctas_10"]:
        title = "CREATE TABLE AS: %s holds what PostgreSQL's holds" % t
        tap.start(title)
        got, want = run(tally, "select * from %s" % t), run(pg, "select * from %s" % t)
        key = lambda r: tuple("" if v is None else str(v) for v in r)  # noqa: E731
        tap.check(title, not got.error and sorted(got.rows, key=key) == sorted(want.rows, key=key),
                  "tally: %s\nPostgreSQL: %s" % (got.error or got.rows[:5], want.error or want.rows[:5]))


# Plain views: each statement on both servers (SQLSTATE, or the rows), then the catalogs.
VIEWS = [
    "create view v_org_scores as select org_id, count(*) as n, avg(score) as avg_score, max(ended_at) as last "
    "from fact_scenario_attempts group by org_id",
    "create view v_renamed (org, attempts) as select org_id, count(*) from fact_scenario_attempts group by 1",
    "create view v_on_view as select org, attempts * 2 as twice from v_renamed where attempts > 10",
    "select * from v_org_scores",
    "select * from v_on_view",
    "select o.name, v.n from v_org_scores v join dim_orgs o on o.org_id = v.org_id",
    "select x.a, x.b from v_renamed as x(a, b) where x.b > 0",
    "select count(*) from v_org_scores where n > (select avg(n) from v_org_scores)",
    "create view v_org_scores as select 1",
    "create view v_nosuch as select nosuch from fact_scenario_attempts",
    "create view v_dup (a, a) as select 1, 2",
    "create view v_many (a, b, c) as select 1, 2",
    "select table_name from information_schema.views where table_schema = 'public' and table_name like 'v\\_%'",
    "select viewname from pg_views where schemaname = 'public' and viewname like 'v\\_%'",
    "select relname, relkind from pg_class where relname like 'v\\_%'",
    "select table_name, column_name, data_type from information_schema.columns where table_name like 'v\\_%'",
    "drop view v_on_view",
    "drop view v_on_view",
    "drop view if exists v_on_view",
    "drop view fact_scenario_attempts",
    "drop table v_renamed",
    "select count(*) from v_renamed",
]


def views(tap, tally, pg):
    key = lambda r: tuple("" if v is None else str(v) for v in r)  # noqa: E731
    for sql in VIEWS:
        title = "views like PostgreSQL: " + sql[:90]
        tap.start(title)
        got, want = run(tally, sql), run(pg, sql)
        same = (got.error and want.error and got.error[0] == want.error[0]) or \
               (not got.error and not want.error and sorted(got.rows, key=key) == sorted(want.rows, key=key))
        tap.check(title, same, "tally: %s\nPostgreSQL: %s" % (got.error or got.rows[:5], want.error or want.rows[:5]))
    title = "DROP … IF EXISTS of missing objects sends PostgreSQL's NOTICEs"
    tap.start(title)
    notices = []
    for c in (tally, pg):
        del c.notices[:]
        for sql in ["drop view if exists v_nowhere", "drop table if exists t_nowhere, t_nowhere2",
                    "drop index if exists i_nowhere", "create table if not exists ctas_1 as select 1"]:
            run(c, sql)
        notices.append([n.strip() for n in c.notices])
    tap.check(title, notices[0] == notices[1] and len(notices[1]) == 5,
              "tally: %s\nPostgreSQL: %s" % (notices[0], notices[1]))


if __name__ == "__main__":
    t = main()
    with open(os.environ["TL_TAP_STATE"], "w") as f:
        f.write("%d %d\n" % (t.n, t.failed))
