"""tests/e2e/rollup.py — oracle test of incremental materialized views (see rollup.sh).

A seeded random sequence of single-row INSERTs, multi-row INSERTs, COPY batches and late
rows (NULL scores, NULL scenario_id, NULL ended_at, ties in the median) is sent to both
servers. After every step, each of the document's views read from tally must equal its
defining query run by PostgreSQL on the same data at the same now() (tally's now() is
fixed by tally.now_override; PostgreSQL's query gets the same instant as a literal), and
the clock is moved across the 7-day boundary of a row. Deletes are exercised through the
DELETE statement (a slice, the newest rows, a whole group) and, below the SQL layer,
in tests/unit/query/rollup_test.c.
"""
import argparse
import datetime
import io
import os
import random
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

# The document's definitions, verbatim (seed/reporting-analytics.md).
VIEWS = {
    "mv_leaderboard_month": """select
  org_id,
  user_id,
  date_trunc('month', started_at) as month,
  avg(score) as avg_score,
  count(*) as attempts,
  sum(duration_seconds) as total_duration,
  avg(talk_ms::float / (talk_ms + listen_ms) * 100) as avg_talk_percentage
from fact_scenario_attempts
where score is not null
group by org_id, user_id, date_trunc('month', started_at)""",
    "mv_org_overview": """select
  org_id,
  count(distinct user_id) as active_users,
  count(*) as total_attempts,
  avg(score) as avg_score,
  max(ended_at) as last_activity,
  count(*) filter (where ended_at >= now() - interval '7 days') as attempts_this_week,
  count(*) filter (where ended_at >= now() - interval '30 days') as attempts_this_month
from fact_scenario_attempts
where ended_at is not null
group by org_id""",
    "mv_scenario_insights": """select
  org_id,
  scenario_id,
  count(*) as attempt_count,
  avg(score) as avg_score,
  stddev(score) as score_stddev,
  avg(duration_seconds) as avg_duration,
  percentile_cont(0.5) within group (order by score) as median_score,
  max(ended_at) as last_attempted
from fact_scenario_attempts
where score is not null
group by org_id, scenario_id""",
    # Not the document's: FILTERs that are not now()-relative, on count(*) and on sum
    # (a filtered count(*) once counted every row of its group).
    "mv_filtered_counts": """select
  org_id,
  count(*) filter (where score >= 70) as strong_attempts,
  count(*) filter (where scenario_id is null) as free_attempts,
  sum(duration_seconds) filter (where talk_ms > listen_ms) as talkative_seconds,
  count(*) as attempts
from fact_scenario_attempts
group by org_id""",
}

COLS = ("attempt_id", "org_id", "user_id", "scenario_id", "score", "duration_seconds", "talk_ms", "listen_ms",
        "started_at", "ended_at")


def fmt_ts(t):
    return t.strftime("%Y-%m-%d %H:%M:%S.%f+00")


class Oracle:
    def __init__(self, tap, tally, pg, now):
        self.tap, self.tally, self.pg, self.now = tap, tally, pg, now
        self.views = set(VIEWS)

    def set_now(self, now):
        self.now = now
        lib.run(self.tally, "set tally.now_override = '%s'" % fmt_ts(now))

    def check_views(self, step):
        for name, q in VIEWS.items():
            self.tap.start(step + ": " + name)
            pgq = q.replace("now()", "'%s'::timestamptz" % fmt_ts(self.now))
            want = lib.run(self.pg, pgq)
            got = lib.run(self.tally, "select * from " + name)
            diff = lib.compare(got, want, False)
            self.tap.check("%s: %s equals its defining query in PostgreSQL (%d rows)" % (
                step, name, len(want.rows or [])), diff is None, diff)
        # tally's own executor on the same query, where it supports every aggregate
        q = VIEWS["mv_leaderboard_month"]
        self.tap.start(step + ": executor")
        diff = lib.compare(lib.run(self.tally, "select * from mv_leaderboard_month"), lib.run(self.tally, q), False)
        self.tap.check("%s: mv_leaderboard_month equals its defining query run by tally" % step, diff is None, diff)

    def check_filtered(self, step):
        """Reads that filter a view on its group keys (answered from the matching groups
        only, org_id through its own chain) against the same filter over the defining
        query in PostgreSQL."""
        orgs = [r[0] for r in lib.run(self.pg, "select distinct org_id from fact_scenario_attempts order by 1").rows]
        org = orgs[len(orgs) // 2]
        month = lib.run(self.pg, "select max(date_trunc('month', started_at)) from fact_scenario_attempts "
                                 "where org_id = '%s' and score is not null" % org).rows[0][0]
        scen = lib.run(self.pg, "select scenario_id from fact_scenario_attempts where org_id = '%s' and scenario_id is not null order by 1 limit 1" % org).rows[0][0]
        first = lib.run(self.pg, "select min(date_trunc('month', started_at)) from fact_scenario_attempts "
                                 "where org_id = '%s' and score is not null" % org).rows[0][0]
        cases = [
            # first and last group key together: the chain of that pair
            ("mv_leaderboard_month", "*", "org_id = '%s' and month = '%s'" % (org, first), "v"),
            ("mv_leaderboard_month", "*", "month = '%s' and org_id = '%s' and user_id <> ''" % (month, org), "v"),
            ("mv_leaderboard_month", "*", "org_id = '%s' and month = '1999-01-01'" % org, "v"),
            ("mv_scenario_insights", "*", "org_id = '%s' and scenario_id = '%s'" % (org, scen), "v"),
            ("mv_leaderboard_month", "*", "org_id = '%s' and month = '%s'" % (org, month), "v"),
            ("mv_leaderboard_month", "*, rank() over (order by avg_score desc) as rank",
             "org_id = '%s' and month = '%s'" % (org, month), "v"),
            ("mv_leaderboard_month", "*", "v.org_id = '%s'::uuid" % org, "v"),
            ("mv_leaderboard_month", "*", "'%s' = org_id and attempts > 1" % org, "v"),
            ("mv_leaderboard_month", "*", "month = '%s'" % month, "v"),
            ("mv_scenario_insights", "*", "org_id = '%s'" % org, "v"),
            ("mv_scenario_insights", "*", "scenario_id = '%s'" % scen, "v"),
            ("mv_scenario_insights", "*", "org_id = '00000000-0000-0000-0000-000000000000'", "v"),
            ("mv_scenario_insights", "*", "org_id = '%s' or org_id = '%s'" % (orgs[0], org), "v"),
            ("mv_leaderboard_month", "*", "org_id = 'not-a-uuid'", "v"),
            ("mv_leaderboard_month", "count(*)", "v.org_id = '%s'" % org, "v"),
        ]
        if "mv_org_overview" in self.views:
            cases.append(("mv_org_overview", "*", "org_id = '%s'" % org, "v"))
        for name, cols, where, alias in cases:
            if name not in self.views:
                continue
            pgq = "select %s from (%s) %s where %s" % (
                cols, VIEWS[name].replace("now()", "'%s'::timestamptz" % fmt_ts(self.now)), alias, where)
            want = lib.run(self.pg, pgq)
            got = lib.run(self.tally, "select %s from %s %s where %s" % (cols, name, alias, where))
            if want.error or got.error:
                ok = bool(want.error and got.error and want.error[0] == got.error[0])
                diff = (got.error, want.error)
            else:
                diff = lib.compare(got, want, False)
                ok = diff is None
            self.tap.check("%s: %s where %s (%d rows) as PostgreSQL" % (
                step, name, where, len(want.rows or [])), ok, diff)

    def both(self, sql):
        a, b = lib.run(self.tally, sql), lib.run(self.pg, sql)
        return a, b


def make_rows(rng, dims, n, base, late=False):
    rows = []
    for _ in range(n):
        org, user = rng.choice(dims["users"])
        scen = rng.choice(dims["scen"].get(org, [None]) + [None]) if rng.random() < 0.9 else None
        score = None if rng.random() < 0.15 else rng.choice(["70", "70.5", "81.25", "90", "55.10", "100"])
        start = base - datetime.timedelta(days=rng.uniform(700, 800) if late else rng.uniform(0, 40))
        dur = rng.randint(30, 900)
        end = None if rng.random() < 0.1 else start + datetime.timedelta(seconds=dur)
        talk = rng.randint(1, 50000)
        listen = rng.randint(0, 50000)
        rows.append((str(uuid.UUID(int=rng.getrandbits(128), version=4)), org, user, scen, score, str(dur),
                     str(talk), str(listen), fmt_ts(start), fmt_ts(end) if end else None))
    return rows


def sql_values(rows):
    def lit(v):
        return "NULL" if v is None else "'%s'" % v
    return ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows)


def insert_sql(rows):
    return "insert into fact_scenario_attempts (%s) values %s" % (", ".join(COLS), sql_values(rows))


def copy_both(o, rows):
    text = "".join(",".join("" if v is None else v for v in r) + "\n" for r in rows)
    ok = True
    for conn in (o.tally, o.pg):
        cur = conn.cursor()
        try:
            cur.copy_expert("copy fact_scenario_attempts (%s) from stdin with (format csv)" % ", ".join(COLS),
                            io.StringIO(text))
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            o.tap.note("COPY failed: %s" % e)
            ok = False
        cur.close()
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tally-port", type=int, required=True)
    ap.add_argument("--pg-port", type=int, required=True)
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    tap = lib.Tap()
    rng = random.Random(a.seed)
    tally, pg = lib.connect(a.tally_port), lib.connect(a.pg_port)
    users = lib.run(pg, "select org_id, user_id from dim_users order by 1, 2").rows
    scen = {}
    for org, s in lib.run(pg, "select org_id, scenario_id from dim_scenarios order by 1, 2").rows:
        scen.setdefault(org, []).append(s)
    dims = {"users": users, "scen": scen}
    last = lib.run(pg, "select max(ended_at) at time zone 'UTC' from fact_scenario_attempts").rows[0][0]
    base = datetime.datetime.strptime(last[:19], "%Y-%m-%d %H:%M:%S")
    o = Oracle(tap, tally, pg, base)
    o.set_now(base + datetime.timedelta(hours=1))

    for name, q in VIEWS.items():
        t, p = o.both("create materialized view %s as %s" % (name, q))
        tap.check("create materialized view %s" % name, t.error is None and p.error is None, (t.error, p.error))
    o.check_views("after create")
    o.check_filtered("after create")
    # psql's \d+ and pg_matviews show the defining query as PostgreSQL deparses it
    for name in VIEWS:
        for sql in ("select pg_get_viewdef('%s'::regclass, true)" % name,
                    "select definition from pg_matviews where matviewname = '%s'" % name):
            t, p = lib.run(tally, sql), lib.run(pg, sql)
            tap.check("%s: %s" % (name, sql.split(" from ")[0] if "matviews" in sql else "pg_get_viewdef"),
                      t.error is None and t.rows == p.rows, "tally %s\nPostgreSQL %s" % (t.error or t.rows, p.rows))

    steps = ["one", "many", "copy", "late", "one", "copy", "many", "one"]
    for i, kind in enumerate(steps):
        if kind == "one":
            rows = make_rows(rng, dims, 1, base)
        elif kind == "many":
            rows = make_rows(rng, dims, 25, base)
        elif kind == "copy":
            rows = make_rows(rng, dims, 300, base)
        else:
            rows = make_rows(rng, dims, 40, base, late=True)
        if kind == "copy":
            ok = copy_both(o, rows)
            tap.check("step %d: COPY %d rows into both" % (i, len(rows)), ok)
        else:
            t, p = o.both(insert_sql(rows))
            tap.check("step %d: INSERT %d %s rows into both" % (i, len(rows), kind), t.error is None and p.error is None,
                      (t.error, p.error))
        o.check_views("step %d (%s)" % (i, kind))

    # DELETE: a random slice, then every row of one (org, scenario) group so it disappears.
    for i, where in enumerate(["score < 60 and duration_seconds %% 7 = %d" % rng.randint(0, 6),
                               "attempt_id in (select attempt_id from fact_scenario_attempts order by ended_at desc nulls last limit 5)",
                               "scenario_id = (select scenario_id from fact_scenario_attempts where scenario_id is not null"
                               " group by scenario_id order by count(*), scenario_id limit 1)"]):
        t, p = o.both("delete from fact_scenario_attempts where " + where)
        tap.check("delete step %d in both (%s / %s)" % (i, t.error, p.error), t.error is None and p.error is None)
        o.check_views("after delete %d" % i)
        o.check_filtered("after delete %d" % i)

    # A row exactly on the 7-day boundary, then the clock moved across it by 1 microsecond.
    edge = base + datetime.timedelta(days=3)
    row = make_rows(rng, dims, 1, base)[0]
    row = row[:8] + (fmt_ts(edge - datetime.timedelta(seconds=60)), fmt_ts(edge))
    t, p = o.both(insert_sql([row]))
    tap.check("boundary row inserted", t.error is None and p.error is None, (t.error, p.error))
    for delta_us in (-1, 0, 1):
        o.set_now(edge + datetime.timedelta(days=7, microseconds=delta_us))
        o.check_views("clock at boundary %+d us" % delta_us)

    # An append whose view expression fails: PostgreSQL would fail the refresh; tally
    # refuses the append with the same SQLSTATE and keeps facts and views unchanged.
    bad = make_rows(rng, dims, 1, base)[0]
    bad = bad[:4] + ("75",) + bad[5:6] + ("0", "0") + bad[8:]
    before = lib.run(tally, "select count(*) from fact_scenario_attempts").rows
    t = lib.run(tally, insert_sql([bad]))
    lib.run(pg, "begin")
    lib.run(pg, insert_sql([bad]))
    p = lib.run(pg, "refresh materialized view mv_leaderboard_month")
    lib.run(pg, "rollback")
    tap.check("division by zero in a view's aggregate: tally's INSERT fails as PostgreSQL's REFRESH",
              t.error is not None and p.error is not None and t.error[0] == p.error[0] == "22012", (t.error, p.error))
    after = lib.run(tally, "select count(*) from fact_scenario_attempts").rows
    tap.check("the failed INSERT left no fact row", before == after, (before, after))
    o.check_views("after failed insert")

    # REFRESH forms, WITH NO DATA, the document's function and cron job.
    t, p = o.both("refresh materialized view concurrently mv_org_overview")
    tap.check("refresh concurrently without a unique index fails as PostgreSQL",
              t.error is not None and p.error is not None and t.error[0] == p.error[0] == "55000", (t.error, p.error))
    for sql in ("create unique index mv_org_overview_key on mv_org_overview (org_id)",
                "refresh materialized view mv_org_overview",
                "refresh materialized view concurrently mv_org_overview"):
        t, p = o.both(sql)
        tap.check(sql, t.error is None and p.error is None, (t.error, p.error))
    t, p = o.both("refresh materialized view mv_scenario_insights with no data")
    tap.check("refresh ... with no data", t.error is None and p.error is None, (t.error, p.error))
    t, p = o.both("select * from mv_scenario_insights")
    tap.check("reading an unpopulated view fails as PostgreSQL (%s)" % (p.error and p.error[0]),
              t.error is not None and p.error is not None and t.error[0] == p.error[0] == "55000", (t.error, p.error))
    t, p = o.both("refresh materialized view concurrently mv_scenario_insights")
    tap.check("refresh concurrently of an unpopulated view fails as PostgreSQL",
              t.error is not None and p.error is not None and t.error[0] == p.error[0], (t.error, p.error))
    o.both("refresh materialized view mv_scenario_insights")
    body = """create or replace function refresh_reporting_views() returns void
language plpgsql security definer as $$
begin
  refresh materialized view mv_leaderboard_month;
  refresh materialized view mv_org_overview;
  refresh materialized view mv_scenario_insights;
end;
$$"""
    t, p = o.both(body)
    tap.check("create function refresh_reporting_views() (plpgsql)", t.error is None and p.error is None,
              (t.error, p.error))
    t, p = o.both("select refresh_reporting_views()")
    diff = lib.compare(t, p, False)
    tap.check("select refresh_reporting_views() returns what PostgreSQL returns (one void row)", diff is None, diff)
    t = lib.run(tally, "select cron.schedule('refresh_reporting_views', '0 2 * * *', $$select refresh_reporting_views();$$)")
    tap.check("cron.schedule is accepted and returns a job id", t.error is None and t.rows and int(t.rows[0][0]) > 0,
              t.error)
    jobid = int(t.rows[0][0]) if t.rows else None
    t2 = lib.run(tally, "select cron.schedule('nightly-other', '30 3 * * *', 'select 1')")
    j = lib.run(tally, "select jobid, schedule, command, jobname, active from cron.job order by jobid")
    want = [(str(jobid), "0 2 * * *", "select refresh_reporting_views();", "refresh_reporting_views", "t"),
            (t2.rows[0][0] if t2.rows else None, "30 3 * * *", "select 1", "nightly-other", "t")]
    tap.check("cron.job lists the scheduled jobs as pg_cron does", j.error is None and j.rows == want, (j.error, j.rows))
    t3 = lib.run(tally, "select cron.schedule('nightly-other', '0 4 * * *', 'select 2')")
    j = lib.run(tally, "select jobid, schedule, command from cron.job where jobname = 'nightly-other'")
    tap.check("cron.schedule of an existing job name replaces it (same jobid)",
              j.error is None and t3.rows and j.rows == [(t3.rows[0][0], "0 4 * * *", "select 2")] and
              t3.rows == t2.rows, (j.error, j.rows, t2.rows, t3.rows))
    rows = make_rows(rng, dims, 10, base)
    o.both(insert_sql(rows))
    o.check_views("after refreshes")
    t, p = o.both("drop materialized view mv_org_overview")
    tap.check("drop materialized view", t.error is None and p.error is None, (t.error, p.error))
    o.views.discard("mv_org_overview")
    o.check_filtered("after drop")
    t = lib.run(tally, "select * from mv_org_overview")
    tap.check("a dropped view is gone (42P01)", t.error is not None and t.error[0] == "42P01", t.error)
    t, p = o.both("drop table fact_scenario_attempts")
    tap.check("drop table with dependent views fails as PostgreSQL",
              t.error is not None and p.error is not None and t.error[0] == p.error[0] == "2BP01", (t.error, p.error))
    tally.close()
    pg.close()
    return tap


if __name__ == "__main__":
    t = main()
    with open(os.environ["TL_TAP_STATE"], "w") as f:
        f.write("%d %d\n" % (t.n, t.failed))
