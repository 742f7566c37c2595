-- reporting_pg.sql: the reporting store's schema for PostgreSQL 15, the oracle the
-- test suites compare tally against. Identical to reporting.sql (read its header for
-- the deviations from the seed document) except for one line: date_key pins the zone
-- to UTC, because PostgreSQL rejects the document's `started_at::date` ("generation
-- expression is not immutable"). tally evaluates `started_at::date` in UTC, so both
-- files give every row the same date_key.

create type user_role as enum ('admin', 'manager', 'trainee');

create table dim_orgs (
  org_id uuid primary key,
  name text,
  plan text,
  created_at timestamptz
);

create table fact_scenario_attempts (
  attempt_id uuid primary key,
  org_id uuid not null,
  user_id text not null,
  scenario_id uuid,
  score numeric,
  duration_seconds int,
  talk_ms int,
  listen_ms int,
  started_at timestamptz,
  ended_at timestamptz,
  date_key date generated always as ((started_at at time zone 'UTC')::date) stored,
  created_at timestamptz default now()
);

create index idx_fact_attempts_org_date on fact_scenario_attempts(org_id, date_key);
create index idx_fact_attempts_user_date on fact_scenario_attempts(org_id, user_id, date_key);
create index idx_fact_attempts_scenario on fact_scenario_attempts(org_id, scenario_id);

create table fact_kpi_events (
  id uuid primary key default gen_random_uuid(),
  attempt_id uuid references fact_scenario_attempts(attempt_id) on delete cascade,
  org_id uuid not null,
  user_id text not null,
  scenario_id uuid,
  event_type text not null,
  event_value jsonb,
  timestamp_ms int,
  created_at timestamptz default now()
);

create table dim_users (
  user_id text primary key,
  org_id uuid not null,
  name text,
  email text,
  role user_role,
  created_at timestamptz,
  updated_at timestamptz default now()
);

create table dim_scenarios (
  scenario_id uuid primary key,
  org_id uuid not null,
  title text,
  difficulty text,
  category text,
  created_at timestamptz,
  updated_at timestamptz default now()
);

create table dim_time (
  date_key date primary key,
  year int,
  quarter int,
  month int,
  week int,
  day_of_week int,
  day_of_month int,
  day_of_year int,
  is_weekend boolean
);
