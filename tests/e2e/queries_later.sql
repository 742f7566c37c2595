-- tests/e2e/queries_later.sql — differential queries beyond the walking skeleton.
--
-- They need the SQL-engine issue (joins, count(distinct), FILTER, window functions,
-- interval arithmetic, stddev, percentile_cont, views). They are NOT run by the e2e
-- suite yet: when that issue lands, move them into differential.py's QUERIES (same
-- placeholders: {org} is filled from the oracle's data) and compare them there.
-- Each is taken from the seed document (shared/seed/reporting-analytics.md) with
-- 'org_abc123' replaced by {org}.

-- name: seed: filler word frequency over time (join, count distinct)
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

-- name: leaderboard rank (window function) over the month of the data's last attempt
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

-- name: users with their dimension row (join with dim_users, enum output)
select u.user_id, u.name, u.role, count(*) as attempts, avg(f.score) as avg_score
from fact_scenario_attempts f
join dim_users u on u.user_id = f.user_id
where f.org_id = '{org}'
group by u.user_id, u.name, u.role
order by attempts desc, u.user_id
limit 20;

-- name: scenarios with their titles (join with dim_scenarios)
select s.title, s.difficulty, count(*) as attempts, avg(f.score) as avg_score
from fact_scenario_attempts f
join dim_scenarios s on s.scenario_id = f.scenario_id
group by s.title, s.difficulty
order by attempts desc, s.title;

-- name: trainee's personal stats of the last week (interval arithmetic)
select count(*), avg(score)
from fact_scenario_attempts
where org_id = '{org}' and user_id = '{user}'
  and started_at >= timestamptz '{last}' - interval '7 days';
