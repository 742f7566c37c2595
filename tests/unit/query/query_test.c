/*
 * query_test.c — the query layer driven directly through tl_query_simple with a sink
 * that records what the server would send: statement tags, row values, column type
 * OIDs, errors with SQLSTATE and position, COPY in through the pull callback, and the
 * rule that an error stops the rest of a multi-statement string. Value formats are
 * checked against PostgreSQL by the differential e2e suite; here we check semantics.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tl_catalog.h"
#include "tl_query.h"

typedef struct capture {
    tl_buf out;          /* rows as "a|b|NULL\n", tags as "[TAG]\n" */
    uint32_t oids[16];
    int ncols;
    const char *copy_data; /* served to COPY FROM STDIN */
    size_t copy_off;
} capture;

static int c_describe(void *ctx, int n, const tl_coldesc *cols)
{
    capture *c = ctx;
    c->ncols = n;
    for (int i = 0; i < n && i < 16; i++) c->oids[i] = cols[i].type_oid;
    return 0;
}

static int c_row(void *ctx, int n, const tl_cell *cells)
{
    capture *c = ctx;
    for (int i = 0; i < n; i++) {
        if (i) tl_buf_putc(&c->out, '|');
        if (cells[i].ptr) tl_buf_append(&c->out, cells[i].ptr, cells[i].len);
        else tl_buf_puts(&c->out, "NULL");
    }
    tl_buf_putc(&c->out, '\n');
    return 0;
}

static int c_complete(void *ctx, const char *tag)
{
    capture *c = ctx;
    tl_buf_printf(&c->out, "[%s]\n", tag);
    return 0;
}

static int c_copy_begin(void *ctx, int ncols, bool binary)
{
    (void)ctx;
    (void)ncols;
    (void)binary;
    return 0;
}

static long c_copy_read(void *ctx, char *buf, size_t cap, tl_error *err)
{
    capture *c = ctx;
    (void)err;
    size_t left = strlen(c->copy_data) - c->copy_off;
    size_t n = left < cap ? left : cap;
    if (n > 7) n = 7; /* small pieces: rows split across reads */
    memcpy(buf, c->copy_data + c->copy_off, n);
    c->copy_off += n;
    return (long)n;
}

static tl_engine *eng;
static tl_qsession *s;
static capture cap;
static tl_sink sink;

static void setup(void)
{
    tl_error err;
    tl_error_clear(&err);
    eng = tl_engine_open(NULL, &err);
    s = tl_qsession_new(eng, "postgres", "postgres");
    memset(&cap, 0, sizeof cap);
    tl_buf_init(&cap.out);
    sink = (tl_sink){.ctx = &cap, .describe = c_describe, .row = c_row, .complete = c_complete,
                     .copy_in_begin = c_copy_begin, .copy_in_read = c_copy_read};
}

static void teardown(void)
{
    tl_buf_free(&cap.out);
    tl_qsession_free(s);
    tl_engine_close(eng);
}

static int run(const char *sql, tl_error *err)
{
    tl_error_clear(err);
    tl_buf_clear(&cap.out);
    return tl_query_simple(s, sql, &sink, err);
}

static const char *out(void)
{
    return cap.out.data ? cap.out.data : "";
}

#define OK(sql)                                                                  \
    do {                                                                         \
        tl_error e_;                                                             \
        cr_assert_eq(run(sql, &e_), 0, "%s -> %s %s", sql, e_.sqlstate, e_.message); \
    } while (0)

static const char *schema =
    "create type role_t as enum ('admin', 'trainee');"
    "create table u (id text primary key, org int not null, role role_t, score numeric, at timestamptz,"
    "  day date generated always as (at::date) stored, made timestamptz default now());";

Test(query, insert_select_group, .init = setup, .fini = teardown)
{
    OK(schema);
    OK("insert into u (id, org, role, score, at) values ('a', 1, 'admin', 10.5, '2025-01-31 23:30:00+00'),"
       " ('b', 1, 'trainee', 20, '2025-02-01 00:10:00+01'), ('c', 2, null, null, null)");
    cr_assert_str_eq(out(), "[INSERT 0 3]\n");
    OK("select org, count(*), count(score), sum(org) from u group by org order by org");
    cr_assert_str_eq(out(), "1|2|2|2\n2|1|0|2\n[SELECT 2]\n");
    cr_assert_eq(cap.oids[1], 20u, "count is bigint");
    cr_assert_eq(cap.oids[3], 20u, "sum(int) is bigint");
    OK("select id, day from u where day is not null order by id");
    cr_assert_str_eq(out(), "a|2025-01-31\nb|2025-01-31\n[SELECT 2]\n", "generated in UTC");
    OK("select id from u where role = 'trainee' or score is null order by id desc");
    cr_assert_str_eq(out(), "c\nb\n[SELECT 2]\n");
    OK("select count(*) from u where made is not null and id in ('a', 'z')");
    cr_assert_str_eq(out(), "1\n[SELECT 1]\n");
    OK("select id from u order by id limit 1 offset 1");
    cr_assert_str_eq(out(), "b\n[SELECT 1]\n");
}

Test(query, errors_stop_the_string_and_carry_positions, .init = setup, .fini = teardown)
{
    tl_error err;
    cr_assert_eq(run("select * from nope", &err), -1);
    cr_assert_str_eq(err.sqlstate, "42P01");
    cr_assert_eq(err.position, 15);
    cr_assert_eq(run("select 1; selec 2; select 3", &err), -1);
    cr_assert_str_eq(err.sqlstate, "42601");
    cr_assert_str_eq(out(), "", "as in PostgreSQL, a syntax error anywhere runs nothing");
    cr_assert_eq(run("select 1; select * from nope; select 3", &err), -1);
    cr_assert_str_eq(err.sqlstate, "42P01");
    cr_assert_str_eq(out(), "1\n[SELECT 1]\n", "the statement after the error does not run");
    OK(schema);
    cr_assert_eq(run("select org, id from u group by org", &err), -1);
    cr_assert_str_eq(err.sqlstate, "42803");
    cr_assert_eq(run("select 1/0", &err), -1);
    cr_assert_str_eq(err.sqlstate, "22012");
    cr_assert_eq(run("select 2147483647 + 1", &err), -1);
    cr_assert_str_eq(err.sqlstate, "22003");
    cr_assert_eq(run("insert into u (id, org) values ('x', 1), ('x', 2)", &err), -1);
    cr_assert_str_eq(err.sqlstate, "23505");
    cr_assert_eq(run("insert into u (id, org, day) values ('y', 1, '2025-01-01')", &err), -1);
    cr_assert_str_eq(err.sqlstate, "428C9");
    OK("select count(*) from u");
    cr_assert_str_eq(out(), "0\n[SELECT 1]\n", "failed inserts left nothing");
}

Test(query, copy_in_is_atomic_and_reports_lines, .init = setup, .fini = teardown)
{
    OK(schema);
    cap.copy_data = "id,org,score\na,1,1.5\nb,2,\"2\"\n";
    OK("copy u (id, org, score) from stdin with (format csv, header)");
    cr_assert_str_eq(out(), "[COPY 2]\n");
    cap.copy_data = "c\t3\t1\nd\tfour\t2\n";
    cap.copy_off = 0;
    tl_error err;
    cr_assert_eq(run("copy u (id, org, score) from stdin", &err), -1);
    cr_assert_str_eq(err.sqlstate, "22P02");
    cr_assert_str_eq(err.context, "COPY u, line 2, column org: \"four\"");
    OK("select count(*), sum(org) from u");
    cr_assert_str_eq(out(), "2|3\n[SELECT 1]\n");
}

Test(query, session_settings, .init = setup, .fini = teardown)
{
    OK("set timezone = 'Europe/Berlin'");
    cr_assert_str_eq(tl_qsession_get(s, "TimeZone"), "Europe/Berlin");
    OK("select '2025-07-01 12:00:00+00'::timestamptz");
    cr_assert_str_eq(out(), "2025-07-01 14:00:00+02\n[SELECT 1]\n");
    tl_error err;
    cr_assert_eq(run("set nonsense = 1", &err), -1);
    cr_assert_str_eq(err.sqlstate, "42704");
    cr_assert_eq(run("set timezone = 'Mars/Olympus'", &err), -1);
    cr_assert_str_eq(err.sqlstate, "22023");
}

/* A virtual relation: its rows are produced per statement and scanned like a table. */
static int calls;
static int three_rows(tl_engine *e, const tl_rel *r, tl_table *out, tl_error *err)
{
    (void)e;
    (void)r;
    calls++;
    tl_arena a;
    tl_arena_init(&a);
    tl_vec v[2];
    tl_vec_alloc(&v[0], tl_type_make(TL_INT8), 3, &a);
    tl_vec_alloc(&v[1], tl_type_make(TL_TEXT), 3, &a);
    const char *names[3] = {"x", "y", "x"};
    for (int i = 0; i < 3; i++) {
        v[0].d.i[i] = (i + 1) * calls;
        v[0].nulls[i] = 0;
        v[1].d.s[i].ptr = names[i];
        v[1].d.s[i].len = 1;
        v[1].nulls[i] = 0;
    }
    v[0].n = v[1].n = 3;
    int rc = tl_table_append(out, v, 3, NULL, err);
    tl_arena_free(&a);
    return rc;
}

Test(query, virtual_relation_is_materialised_per_statement, .init = setup, .fini = teardown)
{
    tl_attr atts[2] = {{.name = "n", .type = tl_type_make(TL_INT8)}, {.name = "name", .type = tl_type_make(TL_TEXT)}};
    tl_error err;
    tl_error_clear(&err);
    calls = 0;
    cr_assert_not_null(tl_catalog_create_virtual(eng, "vrel", TL_NSP_PG_CATALOG, TL_REL_VIEW, 2, atts, three_rows, NULL, &err));
    OK("select name, sum(n) from pg_catalog.vrel group by name order by name");
    cr_assert_str_eq(out(), "x|4\ny|2\n[SELECT 2]\n");
    OK("select n from pg_catalog.vrel where name = 'y'");
    cr_assert_str_eq(out(), "4\n[SELECT 1]\n", "materialised again for the second statement");
    cr_assert_eq(run("insert into pg_catalog.vrel values (1, 'z')", &err), -1);
    cr_assert_str_eq(err.sqlstate, "42809");
}
