-- reporting.sql: the reporting store's schema as the seed document
-- (shared/seed/reporting-analytics.md) writes it, for loading into tally with psql.
-- reporting_pg.sql is the same file for PostgreSQL 15; the two differ only in the
-- date_key expression (see below). Keep them identical otherwise: the test suites
-- load one into tally and the other into the PostgreSQL oracle and compare results.
--
-- Differences from the document's text, each because it cannot run as written:
--  * user_role is used by dim_users but never defined; the document's roles are
--    admin, manager and trainee.
--  * fact_kpi_events.attempt_id references scenario_attempts(id), an OLTP table that
--    is not part of the reporting store; the document's own join
--    (e.attempt_id = a.attempt_id) shows the intent, so it references the fact table.
--  * dim_orgs appears in the document's diagram but has no DDL; its columns are ours.
--
-- date_key keeps the document's `started_at::date`: tally evaluates it in UTC.
-- PostgreSQL refuses it (timestamptz -> date depends on TimeZone, so it is not
-- immutable), hence reporting_pg.sql.

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
  date_key date generated always as (started_at::date) stored,
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
