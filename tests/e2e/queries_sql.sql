-- tests/e2e/queries_sql.sql — the SQL engine's differential queries (differential.py).
--
-- Each block: `-- name:`, optional `-- order: none | full | C1,C2` (0-based output
-- columns of the ORDER BY keys among which PostgreSQL leaves ties unordered; default
-- none = compared as multisets) and `-- error` (only the SQLSTATE is compared). The
-- placeholders {org} {org2} {user} {last} {lastdate} {last30} {last84} come from the
-- oracle's data (differential.py); literal braces are doubled ({{a,b}}).

-- ==== the seed document (shared/seed/reporting-analytics.md), org id filled in ====

-- name: seed: filler word frequency over time (join, count distinct)
-- order: full
select
  date_trunc('week', a.started_at) as week,
  count(*) as filler_count,
  count(distinct e.attempt_id) as attempts_with_fillers
from fact_kpi_events e
join fact_scenario_attempts a on e.attempt_id = a.attempt_id
where e.org_id = '{org}'
  and e.event_type = 'filler_word'
group by date_trunc('week', a.started_at)
order by week;

-- name: seed: attempts per calendar month on weekdays (join with dim_time)
select
  t.year,
  t.month,
  count(*) as attempts
from fact_scenario_attempts f
join dim_time t on f.date_key = t.date_key
where f.org_id = '{org}'
  and not t.is_weekend
group by t.year, t.month;

-- name: seed: mv_leaderboard_month's defining query (float division)
select
  org_id,
  user_id,
  date_trunc('month', started_at) as month,
  avg(score) as avg_score,
  count(*) as attempts,
  sum(duration_seconds) as total_duration,
  avg(talk_ms::float / (talk_ms + listen_ms) * 100) as avg_talk_percentage
from fact_scenario_attempts
where score is not null
group by org_id, user_id, date_trunc('month', started_at);

-- name: seed: mv_org_overview's defining query (count distinct, FILTER, intervals)
select
  org_id,
  count(distinct user_id) as active_users,
  count(*) as total_attempts,
  avg(score) as avg_score,
  max(ended_at) as last_activity,
  count(*) filter (where ended_at >= now() - interval '7 days') as attempts_this_week,
  count(*) filter (where ended_at >= now() - interval '30 days') as attempts_this_month
from fact_scenario_attempts
where ended_at is not null
group by org_id;

-- name: seed: mv_org_overview relative to the data's last attempt
select
  org_id,
  count(distinct user_id) as active_users,
  count(*) as total_attempts,
  avg(score) as avg_score,
  max(ended_at) as last_activity,
  count(*) filter (where ended_at >= timestamptz '{last}' - interval '7 days') as attempts_this_week,
  count(*) filter (where ended_at >= timestamptz '{last}' - interval '30 days') as attempts_this_month
from fact_scenario_attempts
where ended_at is not null
group by org_id;

-- name: seed: mv_scenario_insights's defining query (stddev, percentile_cont)
select
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
group by org_id, scenario_id;

-- name: seed: leaderboard query over the leaderboard's defining query (CTE, rank)
-- order: 2
with mv_leaderboard_month as (
  select org_id, user_id, date_trunc('month', started_at) as month, avg(score) as avg_score,
         count(*) as attempts, sum(duration_seconds) as total_duration,
         avg(talk_ms::float / (talk_ms + listen_ms) * 100) as avg_talk_percentage
  from fact_scenario_attempts where score is not null
  group by org_id, user_id, date_trunc('month', started_at))
select
  user_id,
  avg_score,
  attempts,
  rank() over (partition by org_id, month order by avg_score desc) as rank
from mv_leaderboard_month
where org_id = '{org}'
  and month = date_trunc('month', timestamptz '{last}')
order by rank;

-- name: seed: leaderboard this month (now())
-- order: 3
with mv_leaderboard_month as (
  select org_id, user_id, date_trunc('month', started_at) as month, avg(score) as avg_score,
         count(*) as attempts
  from fact_scenario_attempts where score is not null
  group by org_id, user_id, date_trunc('month', started_at))
select user_id, avg_score, attempts,
  rank() over (partition by org_id, month order by avg_score desc) as rank
from mv_leaderboard_month
where org_id = '{org}' and month = date_trunc('month', now())
order by rank;

-- name: seed: org overview card (select * from the view's query)
with mv_org_overview as (
  select org_id, count(distinct user_id) as active_users, count(*) as total_attempts,
         avg(score) as avg_score, max(ended_at) as last_activity
  from fact_scenario_attempts where ended_at is not null group by org_id)
select * from mv_org_overview where org_id = '{org}';

-- name: seed: team leaderboard filtered by a user list (IN from a subquery, = ANY)
-- order: full
with mv as (
  select org_id, user_id, date_trunc('month', started_at) as month, avg(score) as avg_score,
         count(*) as attempts
  from fact_scenario_attempts where score is not null
  group by org_id, user_id, date_trunc('month', started_at))
select * from mv
where org_id = '{org}'
  and user_id in (select user_id from dim_users where org_id = '{org}' and role in ('trainee', 'manager'))
  and month = date_trunc('month', timestamptz '{last}')
order by avg_score desc, user_id;

-- name: seed: team leaderboard with = ANY(ARRAY[...])
-- order: full
select user_id, avg(score) as avg_score, count(*) as attempts
from fact_scenario_attempts
where org_id = '{org}' and user_id = any(array['{user}', 'user_nobody', 'user_X'])
group by user_id order by avg_score desc, user_id;

-- name: seed: team leaderboard with = ANY('{{...}}') text array
-- order: full
select user_id, count(*) from fact_scenario_attempts
where user_id = any('{{{user},user_nobody}}') group by user_id order by user_id;

-- name: seed: personal stats of the last week (rows)
-- order: full
select * from fact_scenario_attempts
where org_id = '{org}' and user_id = '{user}'
  and started_at >= timestamptz '{last}' - interval '1 week'
order by started_at, attempt_id;

-- name: seed: trainee's personal stats of the last week (interval arithmetic)
select count(*), avg(score)
from fact_scenario_attempts
where org_id = '{org}' and user_id = '{user}'
  and started_at >= timestamptz '{last}' - interval '7 days';

-- name: seed: recent attempts page 3 with an exact count (count(*) over ())
-- order: full
select *, count(*) over () as total from fact_scenario_attempts
where org_id = '{org}'
order by started_at desc, attempt_id limit 20 offset 40;

-- name: seed: last 5 attempts of a trainee
-- order: full
select attempt_id, scenario_id, score, started_at from fact_scenario_attempts
where user_id = '{user}' order by started_at desc, attempt_id limit 5;

-- name: seed: CSV export by date range
-- order: full
select * from fact_scenario_attempts
where org_id = '{org}' and started_at >= timestamptz '{last30}' and started_at <= timestamptz '{last}'
order by attempt_id;

-- name: seed: most attempted scenarios with their titles
-- order: full
select s.scenario_id, s.title, count(*) as attempts, avg(f.score) as avg_score
from fact_scenario_attempts f join dim_scenarios s on s.scenario_id = f.scenario_id
where f.org_id = '{org}'
group by s.scenario_id, s.title order by attempts desc, s.scenario_id limit 10;

-- name: seed: user activity heatmap (attempts per day)
-- order: full
select date_key, count(*) from fact_scenario_attempts where org_id = '{org}'
group by date_key order by date_key;

-- name: seed: attempts trend, last 30 days of the data
-- order: full
select date_trunc('day', started_at) as day, count(*), avg(score)
from fact_scenario_attempts
where org_id = '{org}' and started_at >= timestamptz '{last}' - interval '30 days'
group by 1 order by 1;

-- name: seed: weekly digest top 5 and bottom 5 (UNION ALL of ordered branches)
-- order: none
(select user_id, avg(score) as s, 'top' as kind from fact_scenario_attempts
  where org_id = '{org}' and score is not null group by user_id order by 2 desc, 1 limit 5)
union all
(select user_id, avg(score), 'bottom' from fact_scenario_attempts
  where org_id = '{org}' and score is not null group by user_id order by 2, 1 limit 5);

-- name: users with their dimension row (join with dim_users, enum output)
-- order: full
select u.user_id, u.name, u.role, count(*) as attempts, avg(f.score) as avg_score
from fact_scenario_attempts f
join dim_users u on u.user_id = f.user_id
where f.org_id = '{org}'
group by u.user_id, u.name, u.role
order by attempts desc, u.user_id
limit 20;

-- name: scenarios with their titles (join with dim_scenarios)
-- order: full
select s.title, s.difficulty, count(*) as attempts, avg(f.score) as avg_score
from fact_scenario_attempts f
join dim_scenarios s on s.scenario_id = f.scenario_id
group by s.title, s.difficulty
order by attempts desc, s.title;

-- name: leaderboard rank (window function) over the month of the data's last attempt
-- order: full
select
  user_id,
  avg(score) as avg_score,
  count(*) as attempts,
  rank() over (order by avg(score) desc nulls last) as rank
from fact_scenario_attempts
where org_id = '{org}' and score is not null
  and date_trunc('month', started_at) = date_trunc('month', timestamptz '{last}')
group by user_id
order by rank, user_id;

-- ==== Metabase: sync, fingerprint, field values, questions (captured/metabase.sql) ====

-- name: metabase: select probe
SELECT TRUE AS "_" FROM "public"."dim_scenarios" WHERE 1 <> 1 LIMIT 0;

-- name: metabase: fingerprint dim_scenarios
SELECT "public"."dim_scenarios"."scenario_id" AS "scenario_id", "public"."dim_scenarios"."org_id" AS "org_id", SUBSTRING("public"."dim_scenarios"."title", 1, 1234) AS "substring4240", SUBSTRING("public"."dim_scenarios"."difficulty", 1, 1234) AS "substring4241", SUBSTRING("public"."dim_scenarios"."category", 1, 1234) AS "substring4242", "public"."dim_scenarios"."created_at" AS "created_at", "public"."dim_scenarios"."updated_at" AS "updated_at" FROM "public"."dim_scenarios" LIMIT 10000;

-- name: metabase: fingerprint dim_users
SELECT SUBSTRING("public"."dim_users"."user_id", 1, 1234) AS "substring4240", "public"."dim_users"."org_id" AS "org_id", SUBSTRING("public"."dim_users"."name", 1, 1234) AS "substring4241", SUBSTRING("public"."dim_users"."email", 1, 1234) AS "substring4242", "public"."dim_users"."role" AS "role", "public"."dim_users"."created_at" AS "created_at", "public"."dim_users"."updated_at" AS "updated_at" FROM "public"."dim_users" LIMIT 10000;

-- name: metabase: fingerprint dim_time
SELECT "public"."dim_time"."date_key" AS "date_key", "public"."dim_time"."year" AS "year", "public"."dim_time"."quarter" AS "quarter", "public"."dim_time"."month" AS "month", "public"."dim_time"."week" AS "week", "public"."dim_time"."day_of_week" AS "day_of_week", "public"."dim_time"."day_of_month" AS "day_of_month", "public"."dim_time"."day_of_year" AS "day_of_year", "public"."dim_time"."is_weekend" AS "is_weekend" FROM "public"."dim_time" LIMIT 10000;

-- name: metabase: json unfolding sample (UNION ALL of ordered subqueries joined back)
SELECT CASE WHEN 50000 < LENGTH(CAST("public"."fact_kpi_events"."event_value" AS TEXT)) THEN NULL ELSE "public"."fact_kpi_events"."event_value" END AS "event_value" FROM "public"."fact_kpi_events" INNER JOIN ((SELECT "public"."fact_kpi_events"."id" FROM "public"."fact_kpi_events" ORDER BY "public"."fact_kpi_events"."id" ASC LIMIT 250) UNION ALL (SELECT "public"."fact_kpi_events"."id" FROM "public"."fact_kpi_events" ORDER BY "public"."fact_kpi_events"."id" DESC LIMIT 250)) AS "result" ON "result"."id" = "public"."fact_kpi_events"."id";

-- name: metabase: field values difficulty
-- order: full
SELECT "public"."dim_scenarios"."difficulty" AS "difficulty" FROM "public"."dim_scenarios" GROUP BY "public"."dim_scenarios"."difficulty" ORDER BY "public"."dim_scenarios"."difficulty" ASC LIMIT 1000;

-- name: metabase: field values role (enum order, NULL last)
-- order: full
SELECT "public"."dim_users"."role" AS "role" FROM "public"."dim_users" GROUP BY "public"."dim_users"."role" ORDER BY "public"."dim_users"."role" ASC LIMIT 1000;

-- name: metabase: field values event_type
-- order: full
SELECT "public"."fact_kpi_events"."event_type" AS "event_type" FROM "public"."fact_kpi_events" GROUP BY "public"."fact_kpi_events"."event_type" ORDER BY "public"."fact_kpi_events"."event_type" ASC LIMIT 1000;

-- name: metabase: field values is_weekend
-- order: full
SELECT "public"."dim_time"."is_weekend" AS "is_weekend" FROM "public"."dim_time" GROUP BY "public"."dim_time"."is_weekend" ORDER BY "public"."dim_time"."is_weekend" ASC LIMIT 1000;

-- name: metabase: count by month of started_at
-- order: full
SELECT DATE_TRUNC('month', "public"."fact_scenario_attempts"."started_at") AS "started_at", COUNT(*) AS "count" FROM "public"."fact_scenario_attempts" GROUP BY DATE_TRUNC('month', "public"."fact_scenario_attempts"."started_at") ORDER BY DATE_TRUNC('month', "public"."fact_scenario_attempts"."started_at") ASC;

-- name: metabase: count by week (Sunday start) of started_at
-- order: full
SELECT (DATE_TRUNC('week', ("public"."fact_scenario_attempts"."started_at" + INTERVAL '1 day')) + INTERVAL '-1 day') AS "started_at", COUNT(*) AS "count" FROM "public"."fact_scenario_attempts" GROUP BY (DATE_TRUNC('week', ("public"."fact_scenario_attempts"."started_at" + INTERVAL '1 day')) + INTERVAL '-1 day') ORDER BY (DATE_TRUNC('week', ("public"."fact_scenario_attempts"."started_at" + INTERVAL '1 day')) + INTERVAL '-1 day') ASC;

-- name: metabase: count by day of started_at
-- order: full
SELECT DATE_TRUNC('day', "public"."fact_scenario_attempts"."started_at") AS "started_at", COUNT(*) AS "count" FROM "public"."fact_scenario_attempts" GROUP BY DATE_TRUNC('day', "public"."fact_scenario_attempts"."started_at") ORDER BY DATE_TRUNC('day', "public"."fact_scenario_attempts"."started_at") ASC;

-- name: metabase: count by month of date_key cast to date
-- order: full
SELECT CAST(DATE_TRUNC('month', "public"."fact_scenario_attempts"."date_key") AS date) AS "date_key", COUNT(*) AS "count" FROM "public"."fact_scenario_attempts" GROUP BY CAST(DATE_TRUNC('month', "public"."fact_scenario_attempts"."date_key") AS date) ORDER BY CAST(DATE_TRUNC('month', "public"."fact_scenario_attempts"."date_key") AS date) ASC;

-- name: metabase: count by hour of day
-- order: full
SELECT CAST(extract(hour from "public"."fact_scenario_attempts"."started_at") AS integer) AS "started_at", COUNT(*) AS "count" FROM "public"."fact_scenario_attempts" GROUP BY CAST(extract(hour from "public"."fact_scenario_attempts"."started_at") AS integer) ORDER BY CAST(extract(hour from "public"."fact_scenario_attempts"."started_at") AS integer) ASC;

-- name: metabase: average score by user, relative 30 days (now())
-- order: full
SELECT "public"."fact_scenario_attempts"."user_id" AS "user_id", AVG("public"."fact_scenario_attempts"."score") AS "avg" FROM "public"."fact_scenario_attempts" WHERE ("public"."fact_scenario_attempts"."org_id" = '{org}') AND ("public"."fact_scenario_attempts"."started_at" >= CAST(CAST((NOW() + INTERVAL '-30 day') AS date) AS timestamptz)) AND ("public"."fact_scenario_attempts"."started_at" < CAST(CAST(NOW() AS date) AS timestamptz)) GROUP BY "public"."fact_scenario_attempts"."user_id" ORDER BY "public"."fact_scenario_attempts"."user_id" ASC;

-- name: metabase: average score by user, relative to the data's end
-- order: full
SELECT "public"."fact_scenario_attempts"."user_id" AS "user_id", AVG("public"."fact_scenario_attempts"."score") AS "avg" FROM "public"."fact_scenario_attempts" WHERE ("public"."fact_scenario_attempts"."org_id" = '{org}') AND ("public"."fact_scenario_attempts"."started_at" >= CAST(CAST((timestamptz '{last}' + INTERVAL '-30 day') AS date) AS timestamptz)) AND ("public"."fact_scenario_attempts"."started_at" < CAST(CAST(timestamptz '{last}' AS date) AS timestamptz)) GROUP BY "public"."fact_scenario_attempts"."user_id" ORDER BY "public"."fact_scenario_attempts"."user_id" ASC;

-- name: metabase: average score by scenario title (LEFT JOIN with a quoted alias)
-- order: full
SELECT "Dim Scenarios"."title" AS "Dim Scenarios__title", AVG("public"."fact_scenario_attempts"."score") AS "avg", COUNT(*) AS "count" FROM "public"."fact_scenario_attempts" LEFT JOIN "public"."dim_scenarios" AS "Dim Scenarios" ON "public"."fact_scenario_attempts"."scenario_id" = "Dim Scenarios"."scenario_id" WHERE "public"."fact_scenario_attempts"."org_id" = '{org}' GROUP BY "Dim Scenarios"."title" ORDER BY "Dim Scenarios"."title" ASC;

-- name: metabase: median and stddev_pop of score
SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY "public"."fact_scenario_attempts"."score") AS "median", STDDEV_POP("public"."fact_scenario_attempts"."score") AS "sd" FROM "public"."fact_scenario_attempts";

-- name: metabase: median by org
SELECT "public"."fact_scenario_attempts"."org_id" AS "org_id", PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY "public"."fact_scenario_attempts"."score") AS "median" FROM "public"."fact_scenario_attempts" GROUP BY "public"."fact_scenario_attempts"."org_id";

-- name: metabase: distinct users
SELECT COUNT(DISTINCT "public"."fact_scenario_attempts"."user_id") AS "count" FROM "public"."fact_scenario_attempts";

-- name: metabase: two aggregates of the same kind (count_2)
SELECT "public"."fact_scenario_attempts"."org_id" AS "org_id", COUNT(*) AS "count", COUNT(DISTINCT "public"."fact_scenario_attempts"."user_id") AS "count_2", SUM("public"."fact_scenario_attempts"."duration_seconds") AS "sum", MIN("public"."fact_scenario_attempts"."score") AS "min", MAX("public"."fact_scenario_attempts"."score") AS "max" FROM "public"."fact_scenario_attempts" GROUP BY "public"."fact_scenario_attempts"."org_id";

-- name: metabase: custom expression talk ratio
SELECT "public"."fact_scenario_attempts"."attempt_id" AS "attempt_id", CAST("public"."fact_scenario_attempts"."talk_ms" AS DOUBLE PRECISION) / NULLIF(CAST(("public"."fact_scenario_attempts"."talk_ms" + "public"."fact_scenario_attempts"."listen_ms") AS DOUBLE PRECISION), 0.0) AS "talk_ratio" FROM "public"."fact_scenario_attempts" WHERE "public"."fact_scenario_attempts"."org_id" = '{org}' LIMIT 2000;

-- name: metabase: LOWER(x) LIKE filter
SELECT "public"."dim_users"."user_id" AS "user_id", "public"."dim_users"."name" AS "name" FROM "public"."dim_users" WHERE LOWER("public"."dim_users"."name") LIKE '%a%' LIMIT 2000;

-- name: metabase: BETWEEN filter and count
SELECT COUNT(*) AS "count" FROM "public"."fact_scenario_attempts" WHERE "public"."fact_scenario_attempts"."score" BETWEEN 50 AND 80;

-- name: metabase: IS NULL OR equality filter
SELECT COUNT(*) AS "count" FROM "public"."fact_scenario_attempts" WHERE ("public"."fact_scenario_attempts"."scenario_id" IS NULL) OR ("public"."fact_scenario_attempts"."user_id" = '{user}');

-- name: metabase: weekend filter via dim_time join, ORDER BY output alias
-- order: full
SELECT "Dim Time"."year" AS "Dim Time__year", COUNT(*) AS "count" FROM "public"."fact_scenario_attempts" LEFT JOIN "public"."dim_time" AS "Dim Time" ON "public"."fact_scenario_attempts"."date_key" = "Dim Time"."date_key" WHERE "Dim Time"."is_weekend" = FALSE GROUP BY "Dim Time"."year" ORDER BY "count" DESC, "Dim Time"."year" ASC;

-- name: metabase: rank over partition with NULLS LAST
-- order: full
SELECT "public"."fact_scenario_attempts"."org_id" AS "org_id", "public"."fact_scenario_attempts"."user_id" AS "user_id", AVG("public"."fact_scenario_attempts"."score") AS "avg", RANK() OVER (PARTITION BY "public"."fact_scenario_attempts"."org_id" ORDER BY AVG("public"."fact_scenario_attempts"."score") DESC NULLS LAST) AS "rank" FROM "public"."fact_scenario_attempts" GROUP BY "public"."fact_scenario_attempts"."org_id", "public"."fact_scenario_attempts"."user_id" ORDER BY "org_id" ASC, "rank" ASC, "user_id" ASC;

-- name: metabase: raw rows LIMIT 2000 sorted
-- order: full
SELECT "public"."fact_scenario_attempts"."attempt_id" AS "attempt_id", "public"."fact_scenario_attempts"."score" AS "score", "public"."fact_scenario_attempts"."started_at" AS "started_at" FROM "public"."fact_scenario_attempts" ORDER BY "public"."fact_scenario_attempts"."score" DESC, "public"."fact_scenario_attempts"."attempt_id" ASC LIMIT 2000;

-- name: metabase: native round(avg, 2) by scenario
-- order: full
select scenario_id, round(avg(score), 2) as avg_score, count(*) from fact_scenario_attempts where org_id = '{org}' group by scenario_id order by 2 desc nulls last, 1;

-- ==== node-postgres, psycopg2, pgbench (captured/*.sql), parameters inlined ====

-- name: node: totals with round(avg, 4)
select count(*) as attempts, count(score) as scored, round(avg(score), 4) as avg_score from fact_scenario_attempts;

-- name: node: attempts since a date, limited
-- order: full
select attempt_id, user_id, score, started_at, date_key from fact_scenario_attempts where org_id = '{org}' and started_at >= '{last30}' order by started_at, attempt_id limit 25;

-- name: node: per scenario with count()::int
-- order: full
select scenario_id, count(*)::int as n, avg(score) as avg from fact_scenario_attempts where org_id = '{org}' and scenario_id is not null group by scenario_id order by scenario_id;

-- name: node: users, attempts and keyword events (join, left join with extra condition)
-- order: full
select u.user_id, count(distinct f.attempt_id) as attempts, count(e.id) as keywords
from dim_users u join fact_scenario_attempts f on f.user_id = u.user_id
left join fact_kpi_events e on e.attempt_id = f.attempt_id and e.event_type = 'keyword_mentioned'
where u.org_id = '{org}' group by u.user_id order by u.user_id;

-- name: node: ids ordered with offset
-- order: full
select attempt_id from fact_scenario_attempts order by attempt_id limit 10 offset 20;

-- name: node: dimension counts
select (select count(*)::int from dim_users) as users, (select count(*)::int from dim_scenarios) as scenarios, (select count(*)::int from dim_time) as days;

-- name: psycopg2: scores between, rounded
-- order: full
select user_id, count(*), round(avg(score), 2) from fact_scenario_attempts where org_id = '{org}' and started_at >= '{last84}'::timestamptz and score between 40 and 90.5 group by user_id order by user_id;

-- name: psycopg2: join USING, left join, interval difference, boolean expression
-- order: full
select u.user_id, u.role, u.created_at, f.score, f.date_key, f.attempt_id, e.event_value, f.ended_at - f.started_at as took, (f.talk_ms > f.listen_ms) as talker from fact_scenario_attempts f join dim_users u using (user_id) left join fact_kpi_events e on e.attempt_id = f.attempt_id and e.event_type = 'keyword_mentioned' where f.org_id = '{org}' order by f.started_at, f.attempt_id, e.id limit 30;

-- name: psycopg2: weekend days
select count(*) from dim_time where is_weekend;

-- name: psycopg2: event types grouped by ordinal
-- order: full
select event_type, count(*) from fact_kpi_events where event_type in ('filler_word', 'long_pause', 'interruption') group by 1 order by 1;

-- name: pgbench: filler words per week (GROUP BY 1 ORDER BY 1)
-- order: full
SELECT date_trunc('week', a.started_at) AS week, count(*) AS filler_count FROM fact_kpi_events e JOIN fact_scenario_attempts a ON e.attempt_id = a.attempt_id WHERE e.event_type = 'filler_word' GROUP BY 1 ORDER BY 1;

-- ==== relational operators ====

-- name: subquery in FROM with alias and column aliases
select o, n from (select org_id, count(*) from fact_scenario_attempts group by org_id) as t(o, n);

-- name: nested subqueries in FROM, aggregate over aggregate
select count(*), avg(n), max(n), min(n) from (select user_id, count(*) as n from fact_scenario_attempts group by user_id) s;

-- name: CTE referenced twice (self join of a CTE)
-- order: full
with per_user as (select org_id, user_id, avg(score) as a from fact_scenario_attempts group by org_id, user_id)
select p.user_id, p.a, q.best from per_user p join (select org_id, max(a) as best from per_user group by org_id) q on q.org_id = p.org_id
where p.a = q.best order by p.user_id;

-- name: two CTEs, the second using the first
-- order: full
with a as (select user_id, count(*) as n from fact_scenario_attempts group by user_id),
     b as (select n, count(*) as users from a group by n)
select * from b order by n;

-- name: comma join with WHERE join condition
-- order: full
select s.title, count(*) from fact_scenario_attempts f, dim_scenarios s
where f.scenario_id = s.scenario_id and f.org_id = '{org}' group by s.title order by s.title;

-- name: three-way comma join
-- order: full
select o.name, u.role, count(*) from fact_scenario_attempts f, dim_users u, dim_orgs o
where f.user_id = u.user_id and u.org_id = o.org_id group by o.name, u.role order by 1, 2;

-- name: cross join with a one-row subquery
select count(*), sum(f.duration_seconds - m.avgd) from fact_scenario_attempts f cross join (select avg(duration_seconds)::int as avgd from fact_scenario_attempts) m;

-- name: RIGHT JOIN keeps dimension rows without facts
-- order: full
select s.scenario_id, count(f.attempt_id) from fact_scenario_attempts f right join dim_scenarios s on s.scenario_id = f.scenario_id group by s.scenario_id order by s.scenario_id;

-- name: LEFT JOIN keeps users without attempts (count of NULL side)
-- order: full
select u.user_id, count(f.attempt_id), max(f.score) from dim_users u left join fact_scenario_attempts f on f.user_id = u.user_id group by u.user_id order by 2, 1;

-- name: JOIN USING with unqualified merged column
-- order: full
select user_id, count(*) from fact_scenario_attempts join dim_users using (user_id) where role = 'trainee' group by user_id order by user_id;

-- name: NATURAL JOIN on date_key
select count(*), count(distinct year) from fact_scenario_attempts natural join (select date_key, year from dim_time) t;

-- name: UNION removes duplicates
select org_id from fact_scenario_attempts union select org_id from dim_users;

-- name: UNION ALL keeps duplicates
select event_type from fact_kpi_events where timestamp_ms < 1000 union all select 'x' from dim_orgs;

-- name: UNION with ORDER BY name and LIMIT
-- order: full
select user_id as u from dim_users where role = 'admin' union select user_id from fact_scenario_attempts where score > 95 order by u limit 10;

-- name: INTERSECT
select user_id from dim_users intersect select user_id from fact_scenario_attempts where score > 90;

-- name: EXCEPT
select user_id from dim_users except select user_id from fact_scenario_attempts;

-- name: EXCEPT ALL and INTERSECT ALL counts
select x from (select org_id::text as x from fact_scenario_attempts except all select org_id::text from dim_users) e;

-- name: UNION of int and numeric columns (type resolution)
select 1 as v union all select 2.5 union all select null;

-- name: DISTINCT ON the latest attempt per user
-- order: full
select distinct on (user_id) user_id, started_at, score from fact_scenario_attempts
where org_id = '{org}' order by user_id, started_at desc, attempt_id;

-- name: SELECT DISTINCT with ORDER BY
-- order: full
select distinct org_id, user_id from fact_scenario_attempts order by org_id, user_id;

-- name: IN (subquery)
select count(*) from fact_scenario_attempts where scenario_id in (select scenario_id from dim_scenarios where difficulty = 'hard');

-- name: NOT IN (subquery) with NULLs in the subquery (no rows)
select count(*) from fact_scenario_attempts where scenario_id not in (select scenario_id from fact_scenario_attempts where org_id = '{org2}');

-- name: NOT IN (subquery) without NULLs
select count(*) from dim_scenarios where scenario_id not in (select scenario_id from fact_scenario_attempts where scenario_id is not null and org_id = '{org}');

-- name: EXISTS and NOT EXISTS (uncorrelated)
select (select count(*) from dim_orgs where exists (select 1 from fact_scenario_attempts where score > 99)) as a,
       (select count(*) from dim_orgs where not exists (select 1 from fact_scenario_attempts where score > 1000)) as b;

-- name: scalar subquery in WHERE
-- order: full
select attempt_id, score from fact_scenario_attempts where score = (select max(score) from fact_scenario_attempts) order by attempt_id;

-- name: scalar subquery in the select list
select org_id, count(*), count(*)::numeric / (select count(*) from fact_scenario_attempts) as share from fact_scenario_attempts group by org_id;

-- name: HAVING with an aggregate not in the select list
-- order: full
select user_id, avg(score) from fact_scenario_attempts group by user_id having count(*) > 50 and max(score) > 90 order by user_id;

-- name: GROUP BY ordinal and ORDER BY expression
-- order: full
select extract(dow from started_at) as dow, count(*) from fact_scenario_attempts group by 1 order by count(*) desc, 1;

-- name: ORDER BY NULLS FIRST / LAST on a nullable column
-- order: full
select attempt_id, score from fact_scenario_attempts where org_id = '{org}' order by score nulls first, attempt_id limit 30;

-- name: ORDER BY DESC NULLS LAST
-- order: full
select attempt_id, scenario_id from fact_scenario_attempts where org_id = '{org2}' order by scenario_id desc nulls last, attempt_id limit 30;

-- name: top-N by expression with OFFSET
-- order: full
select attempt_id, talk_ms + listen_ms as total from fact_scenario_attempts order by talk_ms + listen_ms desc, attempt_id limit 15 offset 5;

-- ==== window functions ====

-- name: row_number, rank, dense_rank over a partition
-- order: full
select user_id, score, row_number() over w, rank() over w, dense_rank() over w
from fact_scenario_attempts where org_id = '{org}' and score is not null
window w as (partition by user_id order by score desc, attempt_id)
order by user_id, 3;

-- name: rank with ties (rounded scores)
-- order: full
select user_id, round(score) as r, rank() over (partition by user_id order by round(score)), dense_rank() over (partition by user_id order by round(score))
from fact_scenario_attempts where org_id = '{org2}' and score is not null order by 1, 2, 3;

-- name: lag and lead with offset and default
-- order: full
select attempt_id, started_at, lag(score) over (partition by user_id order by started_at, attempt_id),
       lead(score, 2, -1) over (partition by user_id order by started_at, attempt_id)
from fact_scenario_attempts where user_id = '{user}' order by started_at, attempt_id;

-- name: first_value and last_value with a full frame
-- order: full
select user_id, first_value(score) over (partition by user_id order by started_at, attempt_id),
       last_value(score) over (partition by user_id order by started_at, attempt_id rows between unbounded preceding and unbounded following)
from fact_scenario_attempts where org_id = '{org}' order by user_id, started_at, attempt_id limit 200;

-- name: running sum and count (default RANGE frame with peers)
-- order: full
select date_key, count(*) as n, sum(count(*)) over (order by date_key) as running, count(*) over () as days
from fact_scenario_attempts where org_id = '{org}' group by date_key order by date_key;

-- name: moving average over ROWS BETWEEN 6 PRECEDING AND CURRENT ROW
-- order: full
select date_key, avg(count(*)) over (order by date_key rows between 6 preceding and current row) as ma7
from fact_scenario_attempts group by date_key order by date_key;

-- name: min/max/avg over partition without ORDER BY
-- order: full
select attempt_id, score - avg(score) over (partition by scenario_id) as delta, max(score) over (partition by scenario_id), min(duration_seconds) over (partition by scenario_id)
from fact_scenario_attempts where org_id = '{org}' order by attempt_id limit 100;

-- name: ntile, percent_rank, cume_dist
-- order: full
select attempt_id, ntile(4) over (order by score, attempt_id), percent_rank() over (order by score), cume_dist() over (order by score)
from fact_scenario_attempts where user_id = '{user}' and score is not null order by attempt_id;

-- name: window over a CTE ranking scenarios per org
-- order: full
with s as (select org_id, scenario_id, count(*) as n from fact_scenario_attempts group by org_id, scenario_id)
select org_id, scenario_id, n, row_number() over (partition by org_id order by n desc, scenario_id) as pos
from s order by org_id, pos;

-- name: filter on a window result in an outer query (top 3 per org)
-- order: full
select * from (select org_id, user_id, count(*) as n, rank() over (partition by org_id order by count(*) desc) as r
  from fact_scenario_attempts group by org_id, user_id) t where r <= 3 order by org_id, r, user_id;

-- name: sum with FILTER over a window
-- order: full
select user_id, count(*) filter (where score > 80) over (partition by user_id) as good
from fact_scenario_attempts where org_id = '{org}' order by user_id, good limit 50;

-- ==== aggregates ====

-- name: variance family on numeric, int and float
select var_samp(score), var_pop(score), variance(duration_seconds), stddev_samp(duration_seconds),
       stddev_pop(talk_ms::float), var_pop(listen_ms::float8) from fact_scenario_attempts;

-- name: stddev of one row is NULL, stddev_pop is 0
select stddev(score), stddev_pop(score), var_samp(score) from fact_scenario_attempts where attempt_id = (select attempt_id from fact_scenario_attempts order by attempt_id limit 1);

-- name: percentile_disc and percentile_cont at several fractions
select percentile_disc(0.25) within group (order by score), percentile_cont(0.9) within group (order by score),
       percentile_disc(0.5) within group (order by started_at), percentile_cont(0) within group (order by duration_seconds),
       percentile_cont(1) within group (order by duration_seconds) from fact_scenario_attempts;

-- name: percentile by org and scenario
select org_id, scenario_id, percentile_cont(0.5) within group (order by duration_seconds), percentile_disc(0.5) within group (order by score desc) from fact_scenario_attempts group by 1, 2;

-- name: bool_and / bool_or / every
select user_id, bool_and(score > 50), bool_or(score > 95), every(duration_seconds > 0) from fact_scenario_attempts group by user_id;

-- name: string_agg ordered, distinct
select org_id, string_agg(distinct event_type, ', '), string_agg(event_type, '|' order by event_type desc) filter (where timestamp_ms < 2000) from fact_kpi_events where org_id = '{org}' group by org_id;

-- name: count(distinct) of several columns in one query
select count(distinct user_id), count(distinct scenario_id), count(distinct date_key), count(distinct org_id) from fact_scenario_attempts;

-- name: FILTER on sum, avg, min, max
select org_id, sum(duration_seconds) filter (where score > 70), avg(score) filter (where duration_seconds > 300), min(started_at) filter (where score is null), max(score) filter (where scenario_id is null) from fact_scenario_attempts group by org_id;

-- name: aggregates over an empty set
select count(distinct user_id), stddev(score), percentile_cont(0.5) within group (order by score), bool_and(score > 1), string_agg(user_id, ',') from fact_scenario_attempts where score > 1000;

-- name: avg/sum result types: int, bigint, numeric, float
select sum(duration_seconds), sum(duration_seconds::bigint), avg(duration_seconds::bigint), sum(talk_ms::float4), avg(score::float8), sum(score) from fact_scenario_attempts;

-- ==== expressions and functions ====

-- name: COALESCE, NULLIF, GREATEST, LEAST
select attempt_id, coalesce(score, -1), nullif(duration_seconds, 600), greatest(talk_ms, listen_ms), least(talk_ms, listen_ms, 5000), greatest(score, null) from fact_scenario_attempts where org_id = '{org}' order by attempt_id limit 50;

-- name: CASE simple and searched
select case when score >= 90 then 'A' when score >= 75 then 'B' when score is null then 'n/a' else 'C' end as grade,
       case org_id when '{org}' then 1 else 0 end as mine, count(*)
from fact_scenario_attempts group by 1, 2;

-- name: IS DISTINCT FROM / IS NOT DISTINCT FROM
select count(*) filter (where score is distinct from null), count(*) filter (where scenario_id is not distinct from null), count(*) filter (where score is distinct from 50) from fact_scenario_attempts;

-- name: LIKE, NOT LIKE, ILIKE with _ and %
select count(*) filter (where email like '%@%'), count(*) filter (where name ilike 'a%'), count(*) filter (where user_id not like 'user\_%'), count(*) filter (where name like '_a%') from dim_users;

-- name: LIKE with ESCAPE
select count(*) from dim_users where user_id like 'user!_%' escape '!';

-- name: IS TRUE / IS NOT FALSE / IS UNKNOWN
select count(*) filter (where (score > 50) is true), count(*) filter (where (score > 50) is not false), count(*) filter (where (score > 50) is unknown), count(*) filter (where (score > 50) is not true) from fact_scenario_attempts;

-- name: <> ALL and > ANY over arrays
select count(*) filter (where duration_seconds <> all(array[60, 120, 600])), count(*) filter (where duration_seconds > any(array[1000, 2000])) from fact_scenario_attempts;

-- name: = ANY over a uuid[] cast
select count(*) from fact_scenario_attempts where org_id = any(array['{org}', '{org2}']::uuid[]);

-- name: IN list with NULL (three-valued)
select count(*) filter (where score in (50, null)), count(*) filter (where score not in (50, null)), count(*) filter (where duration_seconds not in (1, 2)) from fact_scenario_attempts;

-- name: arithmetic on int, bigint, numeric and float
select talk_ms + listen_ms, talk_ms * 2::bigint, score * 2, score / 3, duration_seconds / 7, duration_seconds % 7, talk_ms::float8 / 3, -score
from fact_scenario_attempts where org_id = '{org}' order by attempt_id limit 40;

-- name: casts ::date ::text ::int ::numeric(10,2) ::float
select started_at::date, score::int, score::numeric(10,2), duration_seconds::float, user_id::text, CAST(date_key AS timestamp), started_at::text
from fact_scenario_attempts where org_id = '{org}' order by attempt_id limit 40;

-- name: date_trunc units in UTC
select date_trunc('year', started_at), date_trunc('quarter', started_at), date_trunc('month', started_at), date_trunc('week', started_at), date_trunc('day', started_at), date_trunc('hour', started_at), date_trunc('minute', started_at)
from fact_scenario_attempts where org_id = '{org}' order by attempt_id limit 30;

-- name: extract and date_part fields
select extract(year from started_at), extract(month from started_at), extract(day from started_at), extract(dow from started_at), extract(doy from started_at), extract(epoch from started_at), date_part('hour', started_at), extract(isodow from date_key), extract(week from started_at)
from fact_scenario_attempts where org_id = '{org}' order by attempt_id limit 30;

-- name: timestamp and date arithmetic with intervals
select started_at + interval '1 month', started_at - interval '2 hours 30 minutes', date_key + 7, date_key - date '2024-01-01', ended_at - started_at, started_at + interval '1 day' * 2
from fact_scenario_attempts where org_id = '{org}' order by attempt_id limit 30;

-- name: string functions
select lower(name), upper(name), length(name), substring(name, 2, 3), substring(name from 3), concat(name, '-', role, '-', null), name || '/' || user_id, trim('  x  '), btrim('xxaxx', 'x'), ltrim('  a'), rtrim('a  '), replace(email, '@', ' at '), split_part(email, '@', 2), left(name, 3), right(name, 3), position('a' in name), strpos(name, 'e')
from dim_users where org_id = '{org}' order by user_id;

-- name: math functions
select round(score), round(score, 1), floor(score), ceil(score), abs(score - 50), power(2, 10), sqrt(duration_seconds::float8), mod(duration_seconds, 7), round(talk_ms::float8 / 7), trunc(score), sign(score - 50)
from fact_scenario_attempts where org_id = '{org}' and score is not null order by attempt_id limit 40;

-- name: to_char common patterns
select to_char(started_at, 'YYYY-MM-DD'), to_char(started_at, 'YYYY-MM'), to_char(started_at, 'HH24:MI:SS'), to_char(started_at, 'Mon DD, YYYY'), to_char(started_at, 'Dy'), to_char(date_key, 'IYYY-IW'), to_char(started_at, 'Q')
from fact_scenario_attempts where org_id = '{org}' order by attempt_id limit 30;

-- name: jsonb -> and ->> on event_value
select event_value ->> 'word', event_value -> 'word', count(*) from fact_kpi_events where event_type = 'filler_word' group by 1, 2;

-- name: now() and current_date are consistent
select current_date = now()::date, now() = current_timestamp, now() >= timestamptz '2020-01-01';

-- ==== errors compared by SQLSTATE ====

-- name: division by zero
-- error
select count(*) / 0 from fact_scenario_attempts;

-- name: numeric division by zero
-- error
select sum(score) / 0 from fact_scenario_attempts;

-- name: integer overflow
-- error
select sum(duration_seconds)::int * 2147483647 from fact_scenario_attempts;

-- name: int4 overflow in multiplication
-- error
select talk_ms * 2147483647 from fact_scenario_attempts;

-- name: bad cast text to int
-- error
select user_id::int from fact_scenario_attempts;

-- name: bad date literal
-- error
select count(*) from fact_scenario_attempts where started_at > 'yesterday-ish';

-- name: ambiguous column in a join
-- error
select org_id from fact_scenario_attempts f join dim_users u on u.user_id = f.user_id;

-- name: column must appear in GROUP BY
-- error
select user_id, score from fact_scenario_attempts group by user_id;

-- name: unknown function
-- error
select no_such_function(score) from fact_scenario_attempts;

-- name: wrong argument types for a function
-- error
select sqrt('abc'::text) from dim_orgs;

-- name: unknown column
-- error
select adsasdasd from fact_scenario_attempts;

-- name: unknown table
-- error
select * from no_such_table;

-- name: aggregate in WHERE
-- error
select count(*) from fact_scenario_attempts where count(*) > 1;

-- name: window function in WHERE
-- error
select user_id from fact_scenario_attempts where rank() over (order by score) = 1;

-- name: scalar subquery returning several rows
-- error
select (select user_id from dim_users) as u;

-- name: UNION with different column counts
-- error
select 1, 2 union select 1;

-- name: UNION of incompatible types
-- error
select 1 union select now();

-- name: subquery in FROM without alias
-- error
select * from (select 1);

-- name: ORDER BY position out of range
-- error
select user_id from dim_users order by 2;

-- name: operator does not exist (uuid + int)
-- error
select org_id + 1 from dim_orgs;

-- name: DISTINCT ON not matching ORDER BY
-- error
select distinct on (user_id) user_id, score from fact_scenario_attempts order by score;

-- name: percentile fraction out of range
-- error
select percentile_cont(1.5) within group (order by score) from fact_scenario_attempts;

-- ==== correlated subqueries (evaluated per distinct outer tuple) ====

-- name: correlated scalar subquery in the target list (count per user)
select u.user_id, (select count(*) from fact_scenario_attempts a where a.user_id = u.user_id) as n
from dim_users u;

-- name: correlated scalar subquery with an aggregate of another table, ordered by it
-- order: 1
select s.scenario_id,
       (select max(a.score) from fact_scenario_attempts a where a.scenario_id = s.scenario_id) as best
from dim_scenarios s order by best desc nulls last, s.scenario_id;

-- name: correlated EXISTS and NOT EXISTS in WHERE
select u.user_id, u.role from dim_users u
where exists (select 1 from fact_scenario_attempts a where a.user_id = u.user_id and a.score > 90)
  and not exists (select 1 from fact_scenario_attempts a where a.user_id = u.user_id and a.score < 5);

-- name: correlated IN with the outer column inside the subquery's filter
select count(*) from dim_users u
where u.user_id in (select a.user_id from fact_scenario_attempts a where a.org_id = u.org_id and a.score >= 95);

-- name: correlated NOT IN (<> ALL) over values that include NULL scores
select count(*) from dim_scenarios s
where 100 not in (select a.score from fact_scenario_attempts a where a.scenario_id = s.scenario_id);

-- name: correlated subquery on a fact row (per-row key, cached by distinct user)
select count(*) from fact_scenario_attempts a
where a.score > (select avg(b.score) from fact_scenario_attempts b where b.user_id = a.user_id);

-- name: correlated subquery two levels deep (reads the outermost query)
select o.org_id,
       (select count(*) from dim_users u
        where u.org_id = o.org_id
          and exists (select 1 from fact_scenario_attempts a where a.user_id = u.user_id and a.org_id = o.org_id)) as active
from dim_orgs o;

-- name: correlated subquery over a grouped outer query (grouped column)
select a.org_id, count(*) as n,
       (select count(*) from dim_users u where u.org_id = a.org_id) as users
from fact_scenario_attempts a group by a.org_id;

-- name: correlated subquery in CASE and in ORDER BY
-- order: full
select u.user_id,
       case when (select count(*) from fact_scenario_attempts a where a.user_id = u.user_id) > 50 then 'busy' else 'quiet' end as kind
from dim_users u
order by (select count(*) from fact_scenario_attempts a where a.user_id = u.user_id) desc, u.user_id;

-- name: correlated subquery reading a CTE
with top as (select user_id, score from fact_scenario_attempts where score >= 90)
select u.user_id, (select count(*) from top t where t.user_id = u.user_id) as n from dim_users u;

-- name: correlated subquery returning text through a dimension
select a.attempt_id, (select s.title from dim_scenarios s where s.scenario_id = a.scenario_id) as title
from fact_scenario_attempts a where a.org_id = '{org}' order by a.started_at desc, a.attempt_id limit 20;

-- name: correlated scalar subquery returning more than one row
-- error
select u.user_id, (select a.score from fact_scenario_attempts a where a.user_id = u.user_id) from dim_users u;

-- name: correlated subquery with an ungrouped outer column
-- error
select a.org_id, (select count(*) from dim_users u where u.user_id = a.user_id) from fact_scenario_attempts a group by a.org_id;

-- name: correlated reference to a column the outer query lacks
-- error
select u.user_id from dim_users u where exists (select 1 from dim_orgs o where o.nonexistent = u.org_id);

-- ==== what psql's meta-commands and Metabase's sync send ====

-- name: regex operators ~ ~* !~ !~* on text and name
select title, title ~ '^[A-M]' as am, title ~* 'CALL' as call_ci, title !~ 'e' as no_e, title !~* 'OBJ' as no_obj
from dim_scenarios;

-- name: regex class escapes \d \w \s and brackets
select email from dim_users where email ~ '\d' or email ~ '^[[:alpha:]]+\.\w+@' or name ~ '\s[A-Z]';

-- name: OPERATOR(pg_catalog.~) with COLLATE pg_catalog.default, as psql writes it
select c.relname from pg_catalog.pg_class c
where c.relname OPERATOR(pg_catalog.~) '^(dim_.*)$' COLLATE pg_catalog.default and c.relkind = 'r'
order by 1;

-- name: invalid regular expression
-- error
select 'a' ~ '(';

-- name: COLLATE "C" in ORDER BY
-- order: full
select name from dim_users order by name collate "C", user_id;

-- name: unknown collation
-- error
select name collate "xx_YY" from dim_users;

-- name: array subscripts on catalog arrays and functions
select (current_schemas(true))[1] as first_schema, (current_schemas(false))[1] as user_schema,
       ('{{10,20,30}}'::int[])[2] as second, ('{{10,20}}'::int[])[5] as beyond;

-- name: = ANY / <> ALL / < ANY over array values
select x = any('{{1,2,NULL}}'::int[]) as a, x <> all('{{1,2}}'::int[]) as b, x < any('{{2,3}}'::int[]) as c,
       x = any(null::int[]) as d, x = any('{{}}'::int[]) as e
from (select 1 as x union all select 3 union all select null) s;

-- name: ARRAY(subquery), uncorrelated and correlated, through array_to_string
select o.org_id, array_to_string(array(select u.user_id from dim_users u where u.org_id = o.org_id order by u.user_id limit 3), ',') as first_users,
       cardinality(array(select 1 from dim_scenarios)) as nscen
from dim_orgs o;

-- name: array concatenation with NULL
select array_to_string('{{a,b}}'::text[] || '{{c}}'::text[], '-') as abc, array_to_string(null::text[] || '{{z}}'::text[], '-') as z;

-- name: generate_series over integers (step, descending, empty) in FROM
select s, (select count(*) from generate_series(10, 1, -3)) as down, (select count(*) from generate_series(5, 1)) as empty
from generate_series(1, 10, 4) s;

-- name: generate_series over dates by month in FROM, joined to facts (calendar with zero months)
-- order: full
select m::date as month, count(a.attempt_id) as attempts
from generate_series(date_trunc('month', '{last}'::timestamptz) - interval '5 months', date_trunc('month', '{last}'::timestamptz), interval '1 month') m
left join fact_scenario_attempts a on date_trunc('month', a.started_at) = m and a.org_id = '{org}'
group by m order by m;

-- name: generate_series WITH ORDINALITY and a column alias
select * from generate_series(3, 5) with ordinality as t(v, i);

-- name: set-returning functions in the target list (lockstep to the longest)
select generate_series(1, 3) as a, unnest('{{x,y}}'::text[]) as b, 7 as c;

-- name: unnest per row in the target list
select s.scenario_id, unnest(array(select a.score from fact_scenario_attempts a where a.scenario_id = s.scenario_id order by a.score desc nulls last limit 2)) as top
from dim_scenarios s;

-- name: generate_subscripts and _pg_expandarray
select g, (select x from information_schema._pg_expandarray('{{7,8,9}}'::int[]) e where e.n = g) as x
from generate_subscripts('{{7,8,9}}'::int[], 1) g;

-- name: generate_series with zero step
-- error
select * from generate_series(1, 5, 0);

-- name: set-returning function in WHERE
-- error
select 1 from dim_orgs where generate_series(1, 2) > 1;

-- ==== functions and relational forms of round 2 ====

-- name: AT TIME ZONE both ways and on a date
select '2024-03-10 12:00:00+00'::timestamptz at time zone 'America/New_York' as a, '2024-03-10 12:00:00'::timestamp at time zone 'Europe/Berlin' as b, '2024-01-01'::date at time zone 'UTC' as c;

-- name: age with borrowing across months
select age('2024-03-31 10:00+00'::timestamptz, '2023-02-28 12:30+00'::timestamptz) a, age('2020-01-01'::timestamp, '2021-03-15 01:02:03'::timestamp) b, age('2024-01-31'::timestamp,'2024-02-29'::timestamp) c;

-- name: make_date, make_timestamp, make_timestamptz
select make_date(2024, 2, 29) a, make_timestamp(2024, 1, 2, 3, 4, 5.5) b, make_timestamptz(2024, 7, 1, 12, 0, 0) c, make_timestamptz(2024, 7, 1, 12, 0, 0, 'Asia/Tokyo') d;

-- name: make_date out of range
-- error
select make_date(2023, 2, 29);

-- name: justify_days, justify_hours, justify_interval
select justify_days(interval '65 days') a, justify_hours(interval '50 hours') b, justify_interval(interval '1 mon -1 hour') c, justify_interval(interval '-35 days 3 hours') d, justify_days(interval '-1 mon 40 days') e;

-- name: format with %s %I %L %% positions and widths
select format('%s|%I|%L|%%|%2$s|%-5s|%5s|', 'a b', 'Tab', 'it''s', 'x') a, format('%L %s %I', null, null, 'ok') b, format('%L', E'a\\b') c;

-- name: format with too few arguments
-- error
select format('%s %s', 1);

-- name: to_char for numbers ('999.99', 'FM999', '9,999.99', '990.99', overflow)
select to_char(123.456, '999.99') a, to_char(-5, '999') b, to_char(5, 'FM999') c, to_char(1234.5, '9,999.99') d, to_char(0.5, '999.99') e, to_char(0.5, '990.99') f, to_char(12345, '999') g, to_char(1.5, 'FM999.99') h, to_char(0, '999') i, to_char(-0.25, 'FM990.00') j, to_char(7.0::float8, '00.0') k;

-- name: array_agg with ORDER BY and DISTINCT over an enum
select org_id, array_to_string(array_agg(user_id order by user_id), ',') a, array_agg(distinct role) b from dim_users group by org_id;

-- name: array_agg keeps NULLs; ORDER BY ... NULLS LAST
select array_agg(x) a, array_agg(x order by x desc nulls last) b from (values (1),(null),(3)) v(x);

-- name: percentile_cont and percentile_disc with an array of fractions
select percentile_cont(array[0.25, 0.5, 0.75]) within group (order by score) a, percentile_disc(array[0.1, 0.9]) within group (order by duration_seconds) b from fact_scenario_attempts;

-- name: array_agg with FILTER
select array_agg(score) filter (where score > 99) a from fact_scenario_attempts where org_id is not null;

-- name: FULL JOIN of orgs with a VALUES list (unmatched on both sides)
select o.name, v.n from dim_orgs o full join (values ('{org}'::uuid, 1), ('00000000-0000-0000-0000-000000000000'::uuid, 2)) v(org_id, n) on v.org_id = o.org_id;

-- name: FULL JOIN of per-scenario counts with a residual condition
select s.title, c.n from dim_scenarios s
full join (select scenario_id, count(*) as n from fact_scenario_attempts where score > 95 group by scenario_id) c
  on c.scenario_id = s.scenario_id and c.n > 5;

-- name: JOIN ... AS alias with USING, columns through the alias
select j.org_id, j.user_id, j.role, j.plan from (dim_users u join dim_orgs o using (org_id)) as j order by j.user_id limit 10;

-- name: JOIN alias hides the inner table names
-- error
select u.user_id from (dim_users u join dim_orgs o using (org_id)) as j;

-- name: VALUES as a statement with ORDER BY and LIMIT
-- order: full
values (3, 'c'), (1, 'a'), (2, null) order by 1 desc limit 2;

-- name: VALUES in FROM with column aliases, joined to a dimension
select v.role, v.label, count(u.user_id) as users from (values ('admin', 'A'), ('trainee', 'T'), ('nobody', 'N')) v(role, label)
left join dim_users u on u.role::text = v.role group by v.role, v.label;

-- name: VALUES rows of different lengths
-- error
values (1, 2), (3);

-- ==== hash aggregation fast paths (one key hashed in place; count/sum/avg in loops) ====

-- name: group by an integer key, sums of numerics of mixed scales (general path takes over)
select k, sum(x) as s, avg(x) as a, count(x) as c, count(*) as n
from (values (1, 1.5), (1, 2.25), (2, 3), (2, null), (null, 7.125), (null, 1)) v(k, x) group by k;

-- name: group by a text key with count, sum, avg and FILTER
select user_id, count(*) as n, count(score) as scored, sum(score) as s, avg(score) as a,
       sum(duration_seconds) as d, avg(talk_ms::float8) as t, count(*) filter (where score > 80) as good
from fact_scenario_attempts group by user_id;

-- name: group by a uuid key (NULL scenario ids form one group)
select scenario_id, count(*) as n, sum(listen_ms) as l, avg(score) as a from fact_scenario_attempts group by scenario_id;

-- name: group by a date key with a float sum
select date_key, count(*) as n, sum(talk_ms::float8 / 1000) as secs from fact_scenario_attempts group by date_key;

-- name: set-returning function in the target list over a join (its argument's column is read)
select u.user_id, generate_series(1, 2) as k, unnest(array(select s.title from dim_scenarios s order by s.title limit 2)) as t
from dim_users u join dim_orgs o on o.org_id = u.org_id;

-- name: _pg_expandarray's record and its fields in the target list
select (information_schema._pg_expandarray('{{7,8,9}}'::int[])).n as n, information_schema._pg_expandarray('{{7,8,9}}'::int[]) as r;

-- name: text || non-text on either side, and boolean cast to text spelled out
select 'a' || 1 as a, 1 || 'b' as b, 'x' || 1.5 || true as c, 'n' || null::int as d,
       attempt_id || ':' || score || ':' || (score > 50) as e, (score > 50)::text as f, (score is null)::varchar as g
from fact_scenario_attempts order by attempt_id limit 20;

-- name: integer || integer has no operator
-- error
select 1 || 2;

-- ==== ARRAY[...] constructors, subscripts, casts to arrays (real clients: pgbench, node, pgjdbc) ====

-- name: ARRAY[...] over integer and text columns, NULL elements, quoting
-- order: full
select attempt_id, array[talk_ms, listen_ms] as ms, array[user_id, null, 'a "b", c'] as who,
       array[duration_seconds, 1, null] as mixed
from fact_scenario_attempts order by attempt_id;

-- name: ARRAY[...] element type resolution: numeric, float8, timestamptz, uuid, enum, bool, date
-- order: full
select f.attempt_id, array[1, 2.5] as num, array[score::float8, 1] as f8, array[started_at, ended_at] as ts,
       array[f.org_id] as orgs, array_to_string(array[role, 'admin'], ',') as roles, array[true, null] as b,
       array[date_key, '2024-02-29'] as d, array['x'] as untyped, array[1::int2, 2::int2] as i2,
       array[1::int8] as i8, array[ended_at - started_at] as iv, array['{{"a": 1}}'::jsonb] as j
from fact_scenario_attempts f join dim_users u on u.user_id = f.user_id order by f.attempt_id;

-- name: ARRAY[...]::uuid[] subscripted by a constant, as pgbench -M simple sends it
select count(*), avg(score) from fact_scenario_attempts
where org_id = (array['{org}', '{org2}']::uuid[])[2];

-- name: subscripts: 1-based, out of range and NULL index give NULL, [i][j] on one dimension is NULL
select (array[10, 20, 30])[1] as a, (array[10, 20, 30])[0] as b, (array[10, 20, 30])[4] as c,
       (array[10, 20, 30])[null] as d, (array[10, 20])[1][1] as e, (array[talk_ms, listen_ms])[2] as f,
       (array['x', 'y'])[-1] as g
from fact_scenario_attempts;

-- name: casts to arrays: the constructor's elements, empty arrays, array to array
select array[]::int[] as e, array['1', '2']::int[] as i, array[1, 2]::text[] as t, array['2024-01-01']::date[] as d,
       '{{1,2}}'::int[]::text[] as tt, cardinality(array[]::text[]) as c, array['a', 'b']::varchar[] as v;

-- name: ARRAY[...] with = ANY, ||, array_to_string, unnest, array_upper
select count(*) filter (where duration_seconds = any(array[talk_ms / 1000, 60, 120])) as n,
       array_to_string(array['a', 'b'] || array['c'], ',') as s, array_upper(array[1, 2, 3], 1) as u,
       (select sum(x) from unnest(array[1, 2, 3]) x) as total
from fact_scenario_attempts;

-- name: pg_typeof of array constructors and subscripts
select pg_typeof(array[1]) as a, pg_typeof(array[1.5]) as b, pg_typeof(array['x']) as c,
       pg_typeof((array[1::int8])[1]) as d, pg_typeof(array[now()]) as e;

-- name: column names: casts name after the outermost type, arrays after ARRAY
select '1'::int::text, (array[1, 2])[1], array[1], array[1]::text[], case when true then 1 end::text;

-- name: empty ARRAY[] without a type
-- error
select array[];

-- name: ARRAY[...] of types without a common type
-- error
select array[1, now()];

-- name: ARRAY[...] with an element that does not cast
-- error
select array['x', 'y']::int[];

-- ==== integer bitwise operators (pgjdbc's getIndexInfo: indoption & 1::smallint) ====

-- name: & | # << >> ~ on smallint, integer and bigint
select 5::int2 & 1::smallint as a, 6 | 3 as b, 6 # 3 as c, 1::int2 << 3 as d, -8 >> 1 as e, ~5 as f,
       ~5::int2 as g, 7::int8 & 3::int8 as h, 1::int2 & 1 as i, 3 & 1::int8 as j, 1::int8 << 40 as k,
       duration_seconds & 255 as l, pg_typeof(1::int2 & 1::int2) as m, pg_typeof(1::int2 << 2) as n
from fact_scenario_attempts;

-- name: IN and NOT IN over long constant lists (hashed), with and without a NULL, on text, integers and dates
select count(*) filter (where event_type in ('filler_word', 'interruption', 'question', 'objection', 'pause', 'x1', 'x2', 'x3', 'x4', 'x5')) as t_in,
       count(*) filter (where event_type not in ('filler_word', 'interruption', 'question', 'objection', 'pause', 'x1', 'x2', 'x3', 'x4', 'x5', null)) as t_not_in_null,
       count(*) filter (where (event_type in ('filler_word', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9', null)) is null) as t_in_null_unknown
from fact_kpi_events;

-- name: NOT IN over an uncorrelated subquery's many values (hashed), integers and dates
select count(*) filter (where talk_ms not in (select listen_ms from fact_scenario_attempts where org_id = '{org}')) as a,
       count(*) filter (where date_key in (select date_key from fact_scenario_attempts where org_id = '{org2}')) as b,
       count(*) filter (where (duration_seconds not in (select duration_seconds from fact_scenario_attempts where org_id = '{org}' and duration_seconds < 100 union all select null::int)) is null) as c
from fact_scenario_attempts;
