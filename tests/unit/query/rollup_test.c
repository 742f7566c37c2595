/*
 * rollup_test.c — the delete hook of incremental views (tl_rollup_apply_delete), which
 * the DELETE statement will call once it exists: after rows leave a view through the
 * hook, the view must equal the same view built from scratch over a table holding only
 * the remaining rows (rebuild-from-facts is itself checked against PostgreSQL by
 * tests/e2e/rollup). Covers exact numeric sums and stddev, median ties, count(distinct),
 * max under deletes, a group emptied by deletes, and an aborted statement's deltas.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_catalog.h"
#include "tl_query.h"
#include "tl_rollup.h"

static tl_buf outbuf;

static int c_row(void *ctx, int n, const tl_cell *cells)
{
    (void)ctx;
    for (int i = 0; i < n; i++) {
        if (i) tl_buf_putc(&outbuf, '|');
        if (cells[i].ptr) tl_buf_append(&outbuf, cells[i].ptr, cells[i].len);
        else tl_buf_puts(&outbuf, "NULL");
    }
    tl_buf_putc(&outbuf, '\n');
    return 0;
}

static tl_engine *eng;
static tl_qsession *s;
static tl_sink sink = {.row = c_row};

static void setup(void)
{
    tl_error err;
    tl_error_clear(&err);
    eng = tl_engine_open(NULL, &err);
    s = tl_qsession_new(eng, "postgres", "postgres");
    tl_buf_init(&outbuf);
}

static void teardown(void)
{
    tl_buf_free(&outbuf);
    tl_qsession_free(s);
    tl_engine_close(eng);
}

static char *query(const char *sql)
{
    tl_error e;
    tl_error_clear(&e);
    tl_buf_clear(&outbuf);
    int rc = tl_query_simple(s, sql, &sink, &e);
    cr_assert_eq(rc, 0, "%s -> %s %s", sql, e.sqlstate, e.message);
    return strdup(outbuf.data ? outbuf.data : "");
}

#define OK(sql) free(query(sql))

/* Rows as (k, g, x, t, b); x NULL when xs is NULL. */
typedef struct row {
    const char *k;
    int g;
    const char *x;
    const char *t;
    bool b;
} row;

static const row keep[] = {
    {"a", 1, "10.5", "2025-01-01 10:00:00+00", true},  {"a", 2, "10.5", "2025-01-02 10:00:00+00", true},
    {"a", 2, "7", "2025-01-03 10:00:00+00", false},    {"b", 1, NULL, "2025-02-01 00:00:00+00", true},
    {"b", 3, "2.125", "2025-02-01 00:00:01+00", true},
};
static const row gone[] = {
    {"a", 3, "99.999", "2025-03-01 10:00:00+00", true}, /* max(t), widest scale, distinct g */
    {"a", 1, "10.5", "2025-01-01 11:00:00+00", false},  /* a median tie */
    {"c", 1, "5", "2025-01-05 00:00:00+00", true},      /* group c is emptied */
    {"c", 2, NULL, NULL, false},
};

static const char *view_sql =
    "select k, count(*) as n, count(distinct g) as dg, sum(x) as sx, avg(x) as ax, stddev(x) as sd,"
    " var_pop(x) as vp, min(x) as mn, max(t) as mt,"
    " percentile_cont(0.5) within group (order by x) as med,"
    " percentile_disc(0.5) within group (order by x) as pd, bool_and(b) as ba, bool_or(b) as bo,"
    " count(*) filter (where g > 1) as big, sum(g) as sg from %s group by k";

static void insert(const char *table, const row *r, int n)
{
    for (int i = 0; i < n; i++) {
        char sql[512];
        snprintf(sql, sizeof sql, "insert into %s values ('%s', %d, %s%s%s, %s%s%s, %s)", table, r[i].k, r[i].g,
                 r[i].x ? "'" : "", r[i].x ? r[i].x : "NULL", r[i].x ? "'" : "", r[i].t ? "'" : "",
                 r[i].t ? r[i].t : "NULL", r[i].t ? "'" : "", r[i].b ? "true" : "false");
        OK(sql);
    }
}

/* The rows as the table's column vectors, with values parsed as the columns' types. */
static void to_vecs(const tl_rel *rel, const row *r, int n, tl_vec *cols, tl_arena *a)
{
    tl_fmt_ctx fc = {.tz = tl_tz_utc(), .extra_float_digits = 1};
    for (int c = 0; c < rel->natts; c++) {
        tl_vec_alloc(&cols[c], rel->atts[c].type, (uint32_t)n, a);
        cols[c].n = (uint32_t)n;
    }
    for (int i = 0; i < n; i++) {
        char gtxt[16];
        snprintf(gtxt, sizeof gtxt, "%d", r[i].g);
        const char *txt[5] = {r[i].k, gtxt, r[i].x, r[i].t, r[i].b ? "t" : "f"};
        for (int c = 0; c < 5; c++) {
            tl_datum d;
            memset(&d, 0, sizeof d);
            d.isnull = txt[c] == NULL;
            if (txt[c]) {
                tl_error e;
                tl_error_clear(&e);
                cr_assert_eq(tl_value_in(rel->atts[c].type, txt[c], strlen(txt[c]), &fc, &d, a, &e), 0, "%s", e.message);
            }
            tl_vec_set(&cols[c], (uint32_t)i, &d);
            cols[c].nulls[i] = d.isnull;
        }
    }
}

static int delete_rows(const row *r, int n, bool commit)
{
    tl_engine_read_lock(eng);
    tl_rel *rel = tl_catalog_find_rel(eng, TL_NSP_PUBLIC, "f");
    tl_arena a;
    tl_arena_init(&a);
    tl_vec cols[5];
    to_vecs(rel, r, n, cols, &a);
    tl_error e;
    tl_error_clear(&e);
    tl_engine_writer_begin(eng);
    tl_ingest *g = tl_ingest_begin(eng);
    int rc = tl_rollup_apply_delete(g, rel, cols, (uint32_t)n, &e);
    if (rc == 0 && commit) {
        uint64_t nrows;
        rc = tl_ingest_commit(g, &nrows, &e); /* releases the writer mutex */
    } else {
        tl_ingest_abort(g);
        tl_engine_writer_end(eng);
    }
    tl_engine_unlock(eng);
    tl_arena_free(&a);
    return rc;
}

static void make_tables(void)
{
    OK("create table f (k text, g int, x numeric, t timestamptz, b bool)");
    OK("create table f2 (k text, g int, x numeric, t timestamptz, b bool)");
    insert("f", keep, 5);
    insert("f2", keep, 5);
    char sql[1024];
    snprintf(sql, sizeof sql, "create materialized view v as ");
    snprintf(sql + strlen(sql), sizeof sql - strlen(sql), view_sql, "f");
    OK(sql);
    insert("f", gone, 4); /* after CREATE: these arrive incrementally */
}

Test(rollup, delete_equals_rebuild, .init = setup, .fini = teardown)
{
    make_tables();
    char *with_all = query("select * from v order by k");
    cr_assert(strstr(with_all, "c|") != NULL, "group c exists before deletes: %s", with_all);
    cr_assert_eq(delete_rows(gone, 4, true), 0);
    char sql[1024];
    snprintf(sql, sizeof sql, "create materialized view w as ");
    snprintf(sql + strlen(sql), sizeof sql - strlen(sql), view_sql, "f2");
    OK(sql);
    char *got = query("select * from v order by k");
    char *want = query("select * from w order by k");
    cr_assert_str_eq(got, want, "after deletes:\n%s\nrebuilt:\n%s", got, want);
    cr_assert(strstr(got, "c|") == NULL, "the emptied group is gone");
    cr_assert(strstr(got, "a|3|2|28.0|") != NULL, "sum's scale shrinks back with its widest input: %s", got);
    free(got);
    free(want);
    free(with_all);
}

Test(rollup, aborted_delete_changes_nothing, .init = setup, .fini = teardown)
{
    make_tables();
    char *before = query("select * from v order by k");
    cr_assert_eq(delete_rows(gone, 2, false), 0);
    char *after = query("select * from v order by k");
    cr_assert_str_eq(before, after);
    free(before);
    free(after);
}

Test(rollup, delete_everything_empties_the_view, .init = setup, .fini = teardown)
{
    make_tables();
    cr_assert_eq(delete_rows(gone, 4, true), 0);
    cr_assert_eq(delete_rows(keep, 5, true), 0);
    char *got = query("select * from v");
    cr_assert_str_eq(got, "");
    free(got);
    /* and rows coming back rebuild the same state */
    insert("f", keep, 5);
    char sql[1024];
    snprintf(sql, sizeof sql, "create materialized view w as ");
    snprintf(sql + strlen(sql), sizeof sql - strlen(sql), view_sql, "f2");
    OK(sql);
    char *a = query("select * from v order by k");
    char *b = query("select * from w order by k");
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
}
