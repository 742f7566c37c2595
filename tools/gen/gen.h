/*
 * gen.h — tally-gen's generator as a library, so the unit tests can drive it without
 * a process per run. A "world" holds the dimension rows (orgs, users, scenarios, the
 * calendar and the sampling tables built from them), all derived from one seed. Fact
 * rows are never stored: they are regenerated from their own PRNG streams each time a
 * fact table is written, which keeps memory flat for any --attempts and makes each
 * table's bytes independent of which other tables were written, or in what order.
 *
 * Output is CSV (PostgreSQL's COPY ... csv: empty unquoted field = NULL) or COPY text
 * (tab-separated, \N = NULL, backslash escapes). Timestamps are UTC with milliseconds,
 * as PostgreSQL prints timestamptz under TimeZone=UTC: `2025-05-18 21:13:14.000+00`.
 */
#ifndef TL_GEN_H
#define TL_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* In foreign-key order: loading tables in this order never references a missing row. */
typedef enum gen_table {
    GEN_DIM_ORGS = 0,
    GEN_DIM_USERS,
    GEN_DIM_SCENARIOS,
    GEN_DIM_TIME,
    GEN_FACT_ATTEMPTS,
    GEN_FACT_EVENTS,
    GEN_TABLE_COUNT
} gen_table;

typedef enum gen_format { GEN_FORMAT_CSV = 0, GEN_FORMAT_TEXT } gen_format;

typedef struct gen_opts {
    uint64_t attempts; /* rows of fact_scenario_attempts */
    uint64_t seed;
    int32_t end_day; /* attempts fall in the 24 months before this UTC midnight (days since 1970-01-01) */
} gen_opts;

/* Default: seed 1, window ending 2026-11-01, so output never depends on the clock. */
void gen_opts_default(gen_opts *o);

const char *gen_table_name(gen_table t);
/* Comma-separated column list of the CSV/COPY output, e.g. for `\copy t(cols) from stdin`.
 * Generated or defaulted columns the generator leaves to the server (date_key) are absent. */
const char *gen_table_columns(gen_table t);
int gen_table_lookup(const char *name); /* table index, or -1 for an unknown name */

/* "YYYY-MM-DD" -> days since 1970-01-01; -1 on anything else (including 2025-02-30). */
int gen_parse_date(const char *s, int32_t *day);
int32_t gen_days_from_civil(int y, int m, int d);

typedef struct gen_world gen_world;

/* owned: free with gen_world_free(). Never NULL (aborts on out-of-memory). */
gen_world *gen_world_create(const gen_opts *o);
void gen_world_free(gen_world *w); /* NULL is a no-op */

typedef struct gen_counts {
    uint64_t orgs, users, scenarios, days;
    int32_t window_first_day, window_end_day; /* attempts' started_at in [first, end) */
    int32_t time_first_day, time_last_day;    /* dim_time's inclusive range */
} gen_counts;
void gen_world_counts(const gen_world *w, gen_counts *c);

/* Where bytes go. write gets large chunks (about 1 MiB) and returns 0, or -1 to stop. */
typedef struct gen_sink {
    int (*write)(void *ctx, const char *p, size_t n);
    void *ctx;
} gen_sink;

/* Write every row of table t (with a header line first when header is true).
 * Returns the number of rows written, or -1 if the sink reported a failure. */
int64_t gen_write_table(const gen_world *w, gen_table t, gen_format f, bool header, const gen_sink *sink);

#endif
