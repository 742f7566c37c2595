-- bench/queries.sql — the issue's reporting queries (bench/queries.sh runs them in tally,
-- PostgreSQL 15 and DuckDB). One query per block after `-- q: NAME`; placeholders
-- {org} (the org with the most attempts), {last} and {last30} (the data's last
-- started_at and 30 days before) are filled by the bench from PostgreSQL's data.

-- q: average score by month (biggest org)
select date_trunc('month', started_at) as month, avg(score) as avg_score, count(*) as attempts
from fact_scenario_attempts where org_id = '{org}' group by 1 order by 1;

-- q: filler words over time (KPI events join attempts)
select date_trunc('week', a.started_at) as week, count(*) as filler_count,
       count(distinct e.attempt_id) as attempts_with_fillers
from fact_kpi_events e join fact_scenario_attempts a on e.attempt_id = a.attempt_id
where e.org_id = '{org}' and e.event_type = 'filler_word'
group by date_trunc('week', a.started_at) order by week;

-- q: weekdays via dim_time
select t.year, t.month, count(*) as attempts
from fact_scenario_attempts f join dim_time t on f.date_key = t.date_key
where f.org_id = '{org}' and not t.is_weekend
group by t.year, t.month;

-- q: org overview computed live (the view's query)
select org_id, count(distinct user_id) as active_users, count(*) as total_attempts, avg(score) as avg_score,
       max(ended_at) as last_activity,
       count(*) filter (where ended_at >= timestamptz '{last}' - interval '7 days') as attempts_this_week,
       count(*) filter (where ended_at >= timestamptz '{last}' - interval '30 days') as attempts_this_month
from fact_scenario_attempts where ended_at is not null group by org_id;

-- q: recent attempts, page 3 (exact count)
select *, count(*) over () as total from fact_scenario_attempts
where org_id = '{org}' order by started_at desc, attempt_id limit 20 offset 40;

-- q: export a date range
select * from fact_scenario_attempts
where org_id = '{org}' and started_at >= timestamptz '{last30}' and started_at <= timestamptz '{last}'
order by attempt_id;

-- q: ungrouped count/sum/avg over all attempts
select count(*), sum(duration_seconds), avg(score) from fact_scenario_attempts;

-- q: grouped by a dictionary-coded key (user_id)
select user_id, count(*), avg(score) from fact_scenario_attempts group by user_id;
