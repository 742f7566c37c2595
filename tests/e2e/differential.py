"""tests/e2e/differential.py — tally against PostgreSQL 15 on the same generated data.

differential.sh has loaded the same CSVs into both servers with psql's \\copy and
written what each load reported. Here, as TAP checks: every load step succeeded on
tally, the row counts per table (COPY tags and count(*)) equal PostgreSQL's, then each
query below returns on tally what it returns on PostgreSQL (lib.compare: column names,
type OIDs, values as text, numbers within 1e-9 relative, order where ORDER BY).

QUERIES below stay inside the walking skeleton's SQL surface; queries_sql.sql (read by
read_query_file) holds the SQL engine's: joins, subqueries, CTEs, set operations, window
functions, the statistical aggregates, the seed document's and the captured clients'
queries, Metabase-shaped questions, and error cases compared by SQLSTATE.

Placeholders are filled from the oracle's data: {org} the org with most attempts,
{org2} another org, {user} that org's busiest user, {last} the latest started_at
(the generated data end at a fixed date, so now()-relative queries may be empty),
{lastdate}, {last30}, {last84} bounds computed from it by PostgreSQL (interval
arithmetic is not in the skeleton's surface).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

TABLES = ["dim_orgs", "dim_users", "dim_scenarios", "dim_time",
          "fact_scenario_attempts", "fact_kpi_events"]

# (name, sql, ordered, order_cols): order_cols are the output columns of the ORDER BY
# keys, among which PostgreSQL leaves ties in any order; None = rows fully ordered.
QUERIES = [
    # The seed document's examples, as written except for the org id.
    ("seed: average score by month",
     """select
  date_trunc('month', started_at) as month,
  avg(score) as avg_score,
  count(*) as attempts
from fact_scenario_attempts
where org_id = '{org}'
group by date_trunc('month', started_at)
order by month desc""", True, None),
    ("seed: top performers this week (now())",
     """select
  user_id,
  avg(score) as avg_score,
  count(*) as attempts
from fact_scenario_attempts
where org_id = '{org}'
  and started_at >= date_trunc('week', now())
group by user_id
order by avg_score desc
limit 10""", True, [1]),
    ("seed: top performers in the data's last week (fixed date)",
     """select
  user_id,
  avg(score) as avg_score,
  count(*) as attempts
from fact_scenario_attempts
where org_id = '{org}'
  and started_at >= date_trunc('week', timestamptz '{last}')
group by user_id
order by avg_score desc, user_id
limit 10""", True, None),
    ("top performers over the data's last 12 weeks, scored attempts only",
     """select user_id, avg(score) as avg_score, count(*) as attempts, max(score)
from fact_scenario_attempts
where org_id = '{org}' and score is not null
  and started_at >= '{last84}'
group by user_id
order by avg_score desc, user_id
limit 10""", True, None),
    ("aggregates by org",
     """select org_id, count(*), count(score), count(scenario_id), sum(score), avg(score),
       min(score), max(score), sum(duration_seconds), avg(duration_seconds),
       min(started_at), max(ended_at), sum(talk_ms), avg(listen_ms)
from fact_scenario_attempts group by org_id""", False, None),
    ("aggregates by user within an org",
     """select user_id, count(*), avg(score), min(score), max(score), sum(duration_seconds),
       min(date_key), max(date_key)
from fact_scenario_attempts where org_id = '{org}' group by user_id""", False, None),
    ("aggregates by scenario (NULL scenario is a group)",
     """select scenario_id, count(*), count(score), avg(score), min(duration_seconds),
       max(talk_ms), sum(listen_ms)
from fact_scenario_attempts group by scenario_id""", False, None),
    ("group by two keys: org and month of date_key",
     """select org_id, date_trunc('month', started_at) as month, count(*), avg(score)
from fact_scenario_attempts group by org_id, date_trunc('month', started_at)
order by org_id, month""", True, None),
    ("IS NULL / IS NOT NULL counts",
     """select count(*), count(score), sum(duration_seconds)
from fact_scenario_attempts where score is null or scenario_id is null""", False, None),
    ("IS NOT NULL with AND",
     """select count(*), avg(score) from fact_scenario_attempts
where score is not null and scenario_id is not null and org_id = '{org}'""", False, None),
    ("IN list on event_type, grouped",
     """select event_type, count(*), min(timestamp_ms), max(timestamp_ms), avg(timestamp_ms)
from fact_kpi_events where event_type in ('filler_word', 'long_pause', 'interruption')
group by event_type""", False, None),
    ("IN list on org_id, NOT IN on event_type",
     """select org_id, count(*) from fact_kpi_events
where org_id in ('{org}', '{org2}') and event_type not in ('filler_word')
group by org_id""", False, None),
    ("AND / OR / NOT with comparisons",
     """select count(*), sum(talk_ms), min(score), max(score) from fact_scenario_attempts
where (score >= 80 or duration_seconds < 120) and not (org_id = '{org}')""", False, None),
    ("NOT over OR, <> and BETWEEN-style bounds",
     """select user_id, count(*) from fact_scenario_attempts
where not (score < 20 or score > 90) and duration_seconds <> 600 and talk_ms >= 1000
  and org_id = '{org2}'
group by user_id""", False, None),
    ("comparisons on every column type",
     """select count(*) from fact_scenario_attempts
where started_at >= '{last30}'
  and date_key <= date '{lastdate}' and score > 50.5 and user_id > 'user_M'
  and org_id <> '{org2}'""", False, None),
    ("ORDER BY + LIMIT/OFFSET pagination",
     """select attempt_id, user_id, score, started_at, ended_at, date_key
from fact_scenario_attempts where org_id = '{org}'
order by started_at desc, attempt_id limit 20 offset 40""", True, None),
    ("ORDER BY an aggregate, LIMIT",
     """select user_id, count(*) as n from fact_scenario_attempts
group by user_id order by n desc, user_id limit 15""", True, None),
    ("OFFSET past the end",
     """select attempt_id from fact_scenario_attempts where org_id = '{org}'
order by attempt_id limit 5 offset 100000000""", True, None),
    ("aggregates over no rows",
     """select count(*), count(score), sum(score), avg(score), min(score), max(started_at)
from fact_scenario_attempts where score > 1000""", False, None),
    ("select * rows of a fact table (text output of every type)",
     """select * from fact_scenario_attempts where user_id = '{user}'
order by attempt_id limit 50""", True, None),
    ("KPI events: jsonb and int output",
     """select id, attempt_id, event_type, event_value, timestamp_ms, created_at
from fact_kpi_events where org_id = '{org}' order by id limit 40""", True, None),
    ("KPI events by org and type",
     """select org_id, event_type, count(*), sum(timestamp_ms), count(scenario_id)
from fact_kpi_events group by org_id, event_type""", False, None),
    ("generated date_key (UTC) per day",
     """select date_key, count(*), min(started_at), max(started_at)
from fact_scenario_attempts where org_id = '{org}' group by date_key
order by date_key desc limit 60""", True, None),
    ("date_trunc week and day",
     """select date_trunc('week', started_at) as week, date_trunc('day', max(started_at)),
       count(*)
from fact_scenario_attempts group by date_trunc('week', started_at) order by week""", True, None),
    ("now()-relative filter (this month of wall clock)",
     """select count(*), max(ended_at) from fact_scenario_attempts
where ended_at >= date_trunc('month', now())""", False, None),
    ("dim_orgs rows", "select * from dim_orgs order by org_id", True, None),
    ("dim_orgs by plan", "select plan, count(*), min(created_at) from dim_orgs group by plan",
     False, None),
    ("dim_users per org and enum filter",
     """select org_id, count(*), count(email), max(created_at) from dim_users
where role = 'manager' or role = 'admin' group by org_id""", False, None),
    ("dim_users rows of one org",
     """select user_id, name, email, created_at from dim_users where org_id = '{org}'
order by user_id""", True, None),
    ("dim_scenarios by difficulty and category",
     """select difficulty, category, count(*), min(title) from dim_scenarios
group by difficulty, category""", False, None),
    ("dim_time: weekdays per year",
     """select year, count(*), min(date_key), max(date_key), sum(day_of_year)
from dim_time where not is_weekend group by year order by year""", True, None),
    ("dim_time: boolean output and IN",
     """select date_key, is_weekend, day_of_week, week, quarter from dim_time
where month in (2, 12) and day_of_month in (1, 28, 29) order by date_key""", True, None),
    # executor fast paths: grouping and DISTINCT by dictionary pointer (text columns read
    # straight from a table, also through filters, projections and joins), min/max
    # folded in place, inner joins built on the input that ends first, join rows stored
    # without the columns nobody reads; run before and after the writes (deleted rows)
    ("group by a dictionary text column with NULLs, distinct and min/max",
     """select name, count(*), count(distinct org_id), min(created_at), max(created_at)
from dim_users group by name""", False, None),
    ("count(distinct) of a dictionary text column with NULLs per group",
     """select org_id, count(distinct name), count(name), count(*), count(distinct role)
from dim_users group by org_id""", False, None),
    ("group by user_id after a filter: min/max with FILTER and NULL ended_at",
     """select user_id, count(*), min(duration_seconds), max(started_at),
       max(ended_at) filter (where score > 50), min(date_key), count(distinct scenario_id)
from fact_scenario_attempts where org_id = '{org}' group by user_id""", False, None),
    ("min/max/distinct over no rows, grouped and not",
     """select max(started_at), min(duration_seconds), min(talk_ms) filter (where score > 0),
       count(distinct user_id)
from fact_scenario_attempts where duration_seconds < -1""", False, None),
    ("group by a dictionary column over no rows",
     """select user_id, count(distinct user_id), max(ended_at) from fact_scenario_attempts
where duration_seconds < -1 group by user_id""", False, None),
    ("inner join, small left input (built on the left), residual condition",
     """select u.user_id, u.name, u.role, f.attempt_id, f.score, f.started_at
from dim_users u join fact_scenario_attempts f on f.user_id = u.user_id and f.started_at > u.created_at
where u.org_id = '{org}' order by f.attempt_id limit 60""", True, None),
    ("inner join of a big left and a small right: group by the right's text",
     """select u.name, count(*), count(distinct f.user_id), max(f.ended_at)
from fact_scenario_attempts f join dim_users u on u.user_id = f.user_id
where f.org_id = '{org}' group by u.name""", False, None),
    ("inner join of two filtered facts, group by a joined dictionary column",
     """select e.event_type, a.user_id, count(*), count(distinct e.attempt_id)
from fact_kpi_events e join fact_scenario_attempts a on a.attempt_id = e.attempt_id
where a.org_id = '{org2}' and e.timestamp_ms < 90000 group by e.event_type, a.user_id""", False, None),
    ("left join with unread build columns, NULL extension",
     """select f.attempt_id, s.title, s.difficulty from fact_scenario_attempts f
left join dim_scenarios s on s.scenario_id = f.scenario_id and s.difficulty <> 'easy'
where f.org_id = '{org}' order by f.attempt_id limit 80""", True, None),
    ("full join: both sides' unmatched rows",
     """select count(*), count(s.title), count(f.attempt_id), count(distinct s.category)
from (select attempt_id, scenario_id from fact_scenario_attempts where org_id = '{org}') f
full join dim_scenarios s on s.scenario_id = f.scenario_id""", False, None),
    ("count(*) over () without ORDER BY, then paginated",
     """select attempt_id, user_id, count(*) over () as total from fact_scenario_attempts
where org_id = '{org}' order by attempt_id limit 20 offset 40""", True, None),
]


WRITES = [
    # Few parents per cascade: the oracle has no index on fact_kpi_events.attempt_id, so
    # each deleted attempt costs PostgreSQL a scan of the KPI events.
    ("delete one org's attempts of one day (cascades to their KPI events)",
     "delete from fact_scenario_attempts where org_id = '{org2}' and date_key = '{lastdate}'"),
    ("delete KPI events by type and value range",
     "delete from fact_kpi_events where event_type = 'filler_word' and timestamp_ms < 60000"),
    ("delete unscored attempts of one day",
     "delete from fact_scenario_attempts where score is null and date_key = '{lastdate}'"),
    ("delete nothing", "delete from fact_scenario_attempts where duration_seconds < -1"),
    ("late row into an old month",
     "insert into fact_scenario_attempts (attempt_id, org_id, user_id, score, duration_seconds, "
     "started_at, ended_at, created_at) values ('00000000-0000-4000-8000-00000000a001', '{org}', "
     "'{user}', 55.25, 100, '2023-01-15 10:00:00+00', '2023-01-15 10:05:00+00', "
     "'2023-01-16 00:00:00+00')"),
    ("late rows into another old month",
     "insert into fact_scenario_attempts (attempt_id, org_id, user_id, score, duration_seconds, "
     "started_at, ended_at, created_at) values ('00000000-0000-4000-8000-00000000a002', '{org}', "
     "'{user}', 7.5, 30, '2022-06-01 00:00:00+00', null, null), "
     "('00000000-0000-4000-8000-00000000a003', '{org2}', '{user}', null, 3600, "
     "'2022-06-30 23:59:59+00', '2022-07-01 00:59:59+00', '2022-07-02 00:00:00+00')"),
    ("delete a late row again", "delete from fact_scenario_attempts where attempt_id = "
     "'00000000-0000-4000-8000-00000000a002'"),
]


def read_query_file(path):
    """Queries of a .sql file: blocks that start with `-- name: NAME`, directives
    `-- order: none | full | C1,C2` (0-based tie columns, as order_cols above; default
    none) and `-- error` (the query must fail: SQLSTATEs compared), then the SQL."""
    out = []
    with open(path) as f:
        text = f.read()
    for block in text.split("\n-- name:")[1:]:
        lines = block.split("\n")
        name = lines[0].strip()
        order, error, sql = "none", False, []
        for line in lines[1:]:
            if line.startswith("-- order:"):
                order = line.split(":", 1)[1].strip()
            elif line.strip() == "-- error":
                error = True
            elif line.startswith("--") and not sql:
                continue
            else:
                sql.append(line)
        q = "\n".join(sql).strip().rstrip(";").strip()
        if order == "none":
            ordered, cols = False, None
        elif order == "full":
            ordered, cols = True, None
        else:
            ordered, cols = True, [int(c) for c in order.split(",")]
        out.append((name, q, ordered, cols, error))
    return out


def read_load(path):
    """{table: rows or ('error', msg)}, schema status, from tl_load's OUT file."""
    steps, schema = {}, None
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if parts[0] == "schema":
                schema = (parts[1], parts[3] if len(parts) > 3 else "")
            elif parts[1] == "error":
                steps[parts[0]] = ("error", parts[3] if len(parts) > 3 else "")
            else:
                steps[parts[0]] = parts[1]
    return schema, steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tally-port", type=int, required=True)
    ap.add_argument("--pg-port", type=int, required=True)
    ap.add_argument("--tally-load", required=True)
    ap.add_argument("--pg-load", required=True)
    ap.add_argument("--data", required=True)
    a = ap.parse_args()
    tap = lib.Tap()

    pg_schema, pg_steps = read_load(a.pg_load)
    t_schema, t_steps = read_load(a.tally_load)
    if pg_schema is None or pg_schema[0] != "ok" or any(v[0] == "error" for v in pg_steps.values()
                                                        if isinstance(v, tuple)):
        tap.check("oracle loaded the data (harness)", False, "%s %s" % (pg_schema, pg_steps))
        return tap
    tap.check("tally: schema file runs through psql", t_schema and t_schema[0] == "ok",
              t_schema and t_schema[1])

    tap.start("tally: connect with psycopg2")
    pg = lib.connect(a.pg_port)
    try:
        tally = lib.connect(a.tally_port)
    except Exception as e:  # noqa: BLE001 - any connection failure is the finding
        tap.check("tally: connect with psycopg2", False, e)
        return tap

    for t in TABLES:
        csv = os.path.join(a.data, t + ".csv")
        if not os.path.exists(csv):
            tap.check("generator wrote %s.csv" % t, False)
            continue
        got = t_steps.get(t)
        tap.check("tally: \\copy %s reports the rows PostgreSQL's does" % t,
                  got == pg_steps.get(t),
                  "tally: %s, PostgreSQL: %s" % (got, pg_steps.get(t)))
        sql = "select count(*) from %s" % t
        tap.start("count(*) from %s" % t)
        diff = lib.compare(lib.run(tally, sql), lib.run(pg, sql), False)
        tap.check("count(*) from %s" % t, diff is None, diff)

    # Fill the placeholders from the oracle's data.
    r = lib.run(pg, "select org_id, count(*) from fact_scenario_attempts group by org_id "
                    "order by 2 desc, 1")
    org, org2 = r.rows[0][0], r.rows[1][0]
    user = lib.run(pg, "select user_id from fact_scenario_attempts where org_id = '%s' "
                       "group by user_id order by count(*) desc, user_id limit 1" % org).rows[0][0]
    last = lib.run(pg, "select max(started_at) from fact_scenario_attempts").rows[0][0]
    lastdate, last30, last84 = lib.run(
        pg, "select max(date_key) - 10, max(started_at) - interval '30 days', "
            "max(started_at) - interval '84 days' from fact_scenario_attempts").rows[0]
    params = dict(org=org, org2=org2, user=user, last=last, lastdate=lastdate, last30=last30,
                  last84=last84)
    tap.note("placeholders: %s" % params)

    queries = [(n, s, o, c, False) for n, s, o, c in QUERIES]
    queries += read_query_file(os.path.join(os.path.dirname(os.path.abspath(__file__)), "queries_sql.sql"))
    for name, sql, ordered, order_cols, error in queries:
        q = sql.format(**params)
        tap.start("query: " + name)
        want = lib.run(pg, q)
        got = lib.run(tally, q)
        if error:
            if want.error is None:
                diff = "oracle did not fail (harness bug?)"
            elif got.error is None:
                diff = "tally did not fail; PostgreSQL: %s %s" % want.error
            elif got.error[0] != want.error[0]:
                diff = "SQLSTATE: tally %s (%s), PostgreSQL %s (%s)" % (got.error + want.error)
            else:
                diff = None
            tap.check("error: " + name, diff is None, (diff or "") + "\n" + q)
            continue
        diff = lib.compare(got, want, ordered, order_cols)
        tap.check("query: " + name, diff is None, (diff or "") + "\n" + q)
        if diff is None and want.rows is not None:
            tap.note("  %d rows" % len(want.rows))
    # Writes after the load (explicit created_at: the two servers' now() differ): deletes (one cascading from attempts to their KPI events),
    # late rows filed into old months, then every count and query again. Both servers
    # get the same statements; each statement's row count must match too.
    for name, sql in WRITES:
        q = sql.format(**params)
        tap.start("write: " + name)
        counts = []
        for conn in (tally, pg):
            cur = conn.cursor()
            try:
                cur.execute(q)
                counts.append(cur.rowcount)
            except Exception as e:  # noqa: BLE001 - an error is the finding
                counts.append("error: %s" % e)
            finally:
                cur.close()
        tap.check("write: " + name, counts[0] == counts[1] and counts[1] != -1,
                  "tally: %s, PostgreSQL: %s\n%s" % (counts[0], counts[1], q))
    for t in TABLES:
        sql = "select count(*) from %s" % t
        tap.start("after writes: count(*) from %s" % t)
        diff = lib.compare(lib.run(tally, sql), lib.run(pg, sql), False)
        tap.check("after writes: count(*) from %s" % t, diff is None, diff)
    for name, sql, ordered, order_cols in QUERIES:
        q = sql.format(**params)
        tap.start("after writes: " + name)
        diff = lib.compare(lib.run(tally, q), lib.run(pg, q), ordered, order_cols)
        tap.check("after writes: " + name, diff is None, (diff or "") + "\n" + q)
    tally.close()
    pg.close()
    return tap


if __name__ == "__main__":
    t = main()
    # differential.sh adds its own checks after ours and prints the plan.
    with open(os.environ["TL_TAP_STATE"], "w") as f:
        f.write("%d %d\n" % (t.n, t.failed))
