/*
 * value_test.c — tl_value.h against PostgreSQL 15 as the oracle. The two case tables
 * (value_io_cases.inc, value_op_cases.inc) hold inputs with the exact text or error
 * PostgreSQL 15.18 returned for them; the tests here run the same inputs through
 * storage and compare bytes. A few property tests (hash/compare consistency, vectors,
 * uuid v4, zone cache) need no oracle.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_value.h"

static tl_arena arena;

static void setup(void)
{
    tl_arena_init(&arena);
}

static void teardown(void)
{
    tl_arena_free(&arena);
}

TestSuite(value, .init = setup, .fini = teardown);

/* "numeric(5,2)" / "varchar(3)" / "int4" -> tl_type */
static tl_type parse_type(const char *spec)
{
    static const struct {
        const char *name;
        tl_type_id id;
    } names[] = {
        {"bool", TL_BOOL},       {"int2", TL_INT2},         {"int4", TL_INT4},
        {"int8", TL_INT8},       {"float4", TL_FLOAT4},     {"float8", TL_FLOAT8},
        {"numeric", TL_NUMERIC}, {"text", TL_TEXT},         {"varchar", TL_VARCHAR},
        {"bpchar", TL_BPCHAR},   {"name", TL_NAME},         {"uuid", TL_UUID},
        {"date", TL_DATE},       {"timestamp", TL_TIMESTAMP}, {"timestamptz", TL_TIMESTAMPTZ},
        {"interval", TL_INTERVAL}, {"json", TL_JSON},       {"jsonb", TL_JSONB},
        {"oid", TL_OID},
    };
    char base[32];
    size_t n = strcspn(spec, "(");
    snprintf(base, sizeof base, "%.*s", (int)n, spec);
    tl_type t = tl_type_make(TL_UNKNOWN);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, base) == 0)
            t = tl_type_make(names[i].id);
    cr_assert_neq(t.id, TL_UNKNOWN, "unknown type %s", spec);
    if (spec[n] == '(') {
        int p = 0, s = 0;
        if (sscanf(spec + n + 1, "%d,%d", &p, &s) == 2)
            t.typmod = ((p << 16) | s) + 4;
        else
            t.typmod = p + 4;
    }
    return t;
}

static const tl_tz *zone(const char *name)
{
    tl_error err = {0};
    const tl_tz *tz = tl_tz_get(name, &err);
    cr_assert_not_null(tz, "zone %s: %s", name, err.message);
    return tz;
}

static void render_error(const tl_error *err, tl_buf *b)
{
    tl_buf_printf(b, "ERROR %s: %s", err->sqlstate, err->message);
    if (err->detail[0])
        tl_buf_printf(b, " | %s", err->detail);
}

static const struct io_case {
    const char *type, *tz, *input, *expect;
} io_cases[] = {
#include "value_io_cases.inc"
};

Test(value, io_matches_postgres)
{
    int failures = 0;
    for (size_t i = 0; i < sizeof io_cases / sizeof io_cases[0]; i++) {
        const struct io_case *c = &io_cases[i];
        tl_type t = parse_type(c->type);
        tl_fmt_ctx fc = {zone(c->tz), 1};
        tl_error err = {0};
        tl_datum d;
        tl_buf b;
        tl_buf_init(&b);
        if (tl_value_in(t, c->input, strlen(c->input), &fc, &d, &arena, &err) != 0)
            render_error(&err, &b);
        else
            tl_value_out(t, &d, &fc, &b);
        tl_buf_putc(&b, '\0');
        if (strcmp(b.data, c->expect) != 0) {
            failures++;
            cr_log_error("%s [%s] '%s': got '%s', PostgreSQL '%s'", c->type, c->tz, c->input,
                         b.data, c->expect);
        }
        tl_buf_free(&b);
    }
    cr_assert_eq(failures, 0, "%d of %zu cases differ from PostgreSQL", failures,
                 sizeof io_cases / sizeof io_cases[0]);
}

/* ---- operations ------------------------------------------------------------------------ */

static const struct op_case {
    const char *op, *tz, *a, *b, *expect;
} op_cases[] = {
#include "value_op_cases.inc"
};

static tl_datum in(tl_type_id id, const char *s, const tl_fmt_ctx *fc)
{
    tl_datum d;
    tl_error err = {0};
    int rc = tl_value_in(tl_type_make(id), s, strlen(s), fc, &d, &arena, &err);
    cr_assert_eq(rc, 0, "input '%s': %s", s, err.message);
    return d;
}

static void out_numeric(const tl_numeric *n, tl_buf *b)
{
    tl_datum d = {.v.n = *n};
    tl_value_out(tl_type_make(TL_NUMERIC), &d, NULL, b);
}

static void out_ts(int64_t ts, const tl_fmt_ctx *fc, tl_buf *b)
{
    tl_datum d = {.v.i = ts};
    tl_value_out(tl_type_make(TL_TIMESTAMPTZ), &d, fc, b);
}

static void run_op(const struct op_case *c, tl_buf *b)
{
    tl_fmt_ctx fc = {zone(c->tz), 1};
    tl_error err = {0};
    tl_numeric r;
    int rc = 0;
    const char *op = c->op;
    if (strcmp(op, "fromdbl") == 0) {
        rc = tl_numeric_from_double(strtod(c->a, NULL), &r, &err);
        if (rc == 0)
            out_numeric(&r, b);
    } else if (strcmp(op, "todbl") == 0) {
        tl_datum x = in(TL_NUMERIC, c->a, &fc);
        tl_datum d = {.v.f = tl_numeric_to_double(&x.v.n)};
        tl_value_out(tl_type_make(TL_FLOAT8), &d, &fc, b);
    } else if (strcmp(op, "toint") == 0) {
        tl_datum x = in(TL_NUMERIC, c->a, &fc);
        int64_t v;
        rc = tl_numeric_to_i64(&x.v.n, &v, &err);
        if (rc == 0)
            tl_buf_printf(b, "%lld", (long long)v);
    } else if (strcmp(op, "round") == 0) {
        tl_datum x = in(TL_NUMERIC, c->a, &fc);
        rc = tl_numeric_round(&x.v.n, atoi(c->b), &r, &err);
        if (rc == 0)
            out_numeric(&r, b);
    } else if (strcmp(op, "cmp") == 0) {
        tl_datum x = in(TL_NUMERIC, c->a, &fc), y = in(TL_NUMERIC, c->b, &fc);
        tl_buf_printf(b, "%d", tl_numeric_cmp(&x.v.n, &y.v.n));
    } else if (strcmp(op, "avg2") == 0) {
        tl_datum x = in(TL_NUMERIC, c->a, &fc), y = in(TL_NUMERIC, c->b, &fc);
        tl_numeric s;
        rc = tl_numeric_add(&x.v.n, &y.v.n, &s, &err);
        if (rc == 0)
            rc = tl_numeric_div_i64(&s, 2, &r, &err);
        if (rc == 0)
            out_numeric(&r, b);
    } else if (strcmp(op, "add") == 0 || strcmp(op, "sub") == 0 || strcmp(op, "mul") == 0 ||
               strcmp(op, "div") == 0) {
        tl_datum x = in(TL_NUMERIC, c->a, &fc), y = in(TL_NUMERIC, c->b, &fc);
        int (*fn)(const tl_numeric *, const tl_numeric *, tl_numeric *, tl_error *) =
            op[0] == 'a' ? tl_numeric_add
            : op[0] == 's' ? tl_numeric_sub
            : op[0] == 'm' ? tl_numeric_mul
                           : tl_numeric_div;
        rc = fn(&x.v.n, &y.v.n, &r, &err);
        if (rc == 0)
            out_numeric(&r, b);
    } else if (strcmp(op, "trunc") == 0) {
        tl_datum x = in(TL_TIMESTAMPTZ, c->b, &fc);
        int64_t t;
        rc = tl_trunc_ts(c->a, x.v.i, fc.tz, &t, &err);
        if (rc == 0)
            out_ts(t, &fc, b);
    } else if (strcmp(op, "extract") == 0) {
        tl_datum x = in(TL_TIMESTAMPTZ, c->b, &fc);
        rc = tl_extract_local(c->a, tl_ts_to_local(x.v.i, fc.tz), &r, &err);
        if (rc == 0)
            out_numeric(&r, b);
    } else if (strcmp(op, "addiv") == 0) {
        tl_datum x = in(TL_TIMESTAMPTZ, c->a, &fc), y = in(TL_INTERVAL, c->b, &fc);
        int64_t t;
        rc = tl_ts_add_interval(x.v.i, &y.v.iv, fc.tz, &t, &err);
        if (rc == 0)
            out_ts(t, &fc, b);
    } else if (strcmp(op, "ivcmp") == 0) {
        tl_datum x = in(TL_INTERVAL, c->a, &fc), y = in(TL_INTERVAL, c->b, &fc);
        tl_buf_printf(b, "%d", tl_interval_cmp(&x.v.iv, &y.v.iv));
    } else {
        cr_assert_fail("unknown op %s", op);
    }
    if (rc != 0)
        render_error(&err, b);
}

Test(value, operations_match_postgres)
{
    int failures = 0;
    for (size_t i = 0; i < sizeof op_cases / sizeof op_cases[0]; i++) {
        const struct op_case *c = &op_cases[i];
        tl_buf b;
        tl_buf_init(&b);
        run_op(c, &b);
        tl_buf_putc(&b, '\0');
        if (strcmp(b.data, c->expect) != 0) {
            failures++;
            cr_log_error("%s [%s] %s %s: got '%s', PostgreSQL '%s'", c->op, c->tz, c->a, c->b,
                         b.data, c->expect);
        }
        tl_buf_free(&b);
    }
    cr_assert_eq(failures, 0, "%d of %zu cases differ from PostgreSQL", failures,
                 sizeof op_cases / sizeof op_cases[0]);
}

/* ---- properties that need no oracle -------------------------------------------------- */

Test(value, numeric_equal_values_hash_alike)
{
    tl_datum a = in(TL_NUMERIC, "1.0", NULL), b = in(TL_NUMERIC, "1.00", NULL);
    tl_datum c = in(TL_NUMERIC, "10", NULL), d = in(TL_NUMERIC, "10.000", NULL);
    tl_datum z1 = in(TL_NUMERIC, "0", NULL), z2 = in(TL_NUMERIC, "-0.00", NULL);
    cr_assert_eq(tl_datum_cmp(TL_NUMERIC, &a, &b), 0);
    cr_assert_eq(tl_datum_hash(TL_NUMERIC, &a), tl_datum_hash(TL_NUMERIC, &b));
    cr_assert_eq(tl_datum_hash(TL_NUMERIC, &c), tl_datum_hash(TL_NUMERIC, &d));
    cr_assert_eq(tl_datum_hash(TL_NUMERIC, &z1), tl_datum_hash(TL_NUMERIC, &z2));
    cr_assert_neq(tl_datum_hash(TL_NUMERIC, &a), tl_datum_hash(TL_NUMERIC, &c));
    cr_assert_lt(tl_datum_cmp(TL_NUMERIC, &a, &c), 0);
}

Test(value, float_order_and_hash_follow_postgres)
{
    tl_datum nz = {.v.f = -0.0}, pz = {.v.f = 0.0}, nan1 = {.v.f = NAN}, nan2 = {.v.f = -NAN};
    tl_datum inf = {.v.f = INFINITY};
    cr_assert_eq(tl_datum_cmp(TL_FLOAT8, &nz, &pz), 0);
    cr_assert_eq(tl_datum_hash(TL_FLOAT8, &nz), tl_datum_hash(TL_FLOAT8, &pz));
    cr_assert_eq(tl_datum_cmp(TL_FLOAT8, &nan1, &nan2), 0);
    cr_assert_eq(tl_datum_hash(TL_FLOAT8, &nan1), tl_datum_hash(TL_FLOAT8, &nan2));
    cr_assert_gt(tl_datum_cmp(TL_FLOAT8, &nan1, &inf), 0); /* NaN sorts last */
    cr_assert_lt(tl_datum_cmp(TL_FLOAT8, &inf, &nan1), 0);
}

Test(value, interval_equality_normalizes_months_and_days)
{
    tl_datum a = in(TL_INTERVAL, "1 mon", NULL), b = in(TL_INTERVAL, "30 days", NULL);
    tl_datum c = in(TL_INTERVAL, "1 day", NULL), d = in(TL_INTERVAL, "24 hours", NULL);
    cr_assert_eq(tl_datum_cmp(TL_INTERVAL, &a, &b), 0);
    cr_assert_eq(tl_datum_hash(TL_INTERVAL, &a), tl_datum_hash(TL_INTERVAL, &b));
    cr_assert_eq(tl_datum_hash(TL_INTERVAL, &c), tl_datum_hash(TL_INTERVAL, &d));
}

Test(value, bpchar_compares_without_trailing_spaces)
{
    tl_type t = parse_type("bpchar(5)");
    tl_datum a, b;
    tl_error err = {0};
    cr_assert_eq(tl_value_in(t, "ab", 2, NULL, &a, &arena, &err), 0);
    cr_assert_eq(a.v.s.len, 5); /* stored padded, as PostgreSQL does */
    b.v.s = (tl_str){"ab", 2};
    cr_assert_eq(tl_datum_cmp(TL_BPCHAR, &a, &b), 0);
    cr_assert_eq(tl_datum_hash(TL_BPCHAR, &a), tl_datum_hash(TL_BPCHAR, &b));
}

Test(value, type_catalogue_matches_pg_type)
{
    /* typlen from PostgreSQL 15's pg_type; names as format_type() prints a typed column
     * (bpchar is "character" there, "bpchar" only without a typmod) */
    cr_assert_str_eq(tl_type_name(TL_TIMESTAMPTZ), "timestamp with time zone");
    cr_assert_str_eq(tl_type_name(TL_VARCHAR), "character varying");
    cr_assert_str_eq(tl_type_name(TL_BPCHAR), "character");
    cr_assert_str_eq(tl_type_name(TL_FLOAT8), "double precision");
    cr_assert_eq(tl_type_len(TL_NAME), 64);
    cr_assert_eq(tl_type_len(TL_UUID), 16);
    cr_assert_eq(tl_type_len(TL_INTERVAL), 16);
    cr_assert_eq(tl_type_len(TL_NUMERIC), -1);
    cr_assert_eq(tl_type_len(TL_DATE), 4);
    cr_assert_eq(tl_type_oid(tl_type_make(TL_JSONB)), 3802);
    tl_type e = tl_type_make(TL_ENUM);
    e.oid = 16500;
    cr_assert_eq(tl_type_oid(e), 16500);
    cr_assert(tl_type_is_string(TL_JSONB));
    cr_assert(!tl_type_is_string(TL_UUID));
    cr_assert(tl_type_is_integer(TL_OID));
    cr_assert(!tl_type_is_integer(TL_DATE));
}

Test(value, vectors_round_trip_every_physical_class)
{
    tl_type_id ids[] = {TL_BOOL, TL_INT8, TL_FLOAT8, TL_NUMERIC, TL_TEXT, TL_UUID, TL_INTERVAL,
                        TL_TIMESTAMPTZ};
    const char *vals[] = {"t", "-42", "2.5", "93.470", "hello", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                          "1 day 02:00:00", "2025-05-18 21:13:14+00"};
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        tl_vec v;
        tl_vec_alloc(&v, tl_type_make(ids[k]), 0, &arena);
        tl_datum d = in(ids[k], vals[k], NULL), null = {.isnull = true}, back;
        tl_vec_set(&v, 7, &d);
        tl_vec_set(&v, 8, &null);
        tl_vec_get(&v, 7, &back);
        cr_assert(!back.isnull);
        cr_assert_eq(tl_datum_cmp(ids[k], &d, &back), 0, "type %d", ids[k]);
        cr_assert(tl_vec_isnull(&v, 8));
        cr_assert(!tl_vec_isnull(&v, 7));
    }
}

Test(value, uuid_v4_is_random_version_4)
{
    tl_uuid a, b;
    tl_uuid_v4(&a);
    tl_uuid_v4(&b);
    cr_assert_neq(memcmp(a.b, b.b, 16), 0);
    cr_assert_eq(a.b[6] >> 4, 4);
    cr_assert_eq(a.b[8] >> 6, 2);
}

Test(value, float_extra_digits_zero_uses_15_significant)
{
    /* PostgreSQL 15 with extra_float_digits = 0: select 0.1::float8 + 0.2 -> 0.3 */
    tl_fmt_ctx fc = {tl_tz_utc(), 0};
    tl_datum d = {.v.f = 0.1 + 0.2};
    tl_buf b;
    tl_buf_init(&b);
    tl_value_out(tl_type_make(TL_FLOAT8), &d, &fc, &b);
    cr_assert_eq(b.len, 3);
    cr_assert_eq(memcmp(b.data, "0.3", 3), 0);
    tl_buf_clear(&b);
    fc.extra_float_digits = 1; /* default: 0.30000000000000004 */
    tl_value_out(tl_type_make(TL_FLOAT8), &d, &fc, &b);
    tl_buf_putc(&b, '\0');
    cr_assert_str_eq(b.data, "0.30000000000000004");
    tl_buf_free(&b);
}

Test(value, zone_names_resolve_case_insensitively_and_unknown_ones_fail)
{
    tl_error err = {0};
    const tl_tz *a = tl_tz_get("europe/berlin", &err);
    cr_assert_not_null(a);
    cr_assert_str_eq(tl_tz_name(a), "Europe/Berlin"); /* SHOW TimeZone in PostgreSQL 15 */
    cr_assert_null(tl_tz_get("Foo/Bar", &err));
    cr_assert_str_eq(err.sqlstate, "22023");
    cr_assert_str_eq(err.message, "invalid value for parameter \"TimeZone\": \"Foo/Bar\"");
}

static void *load_zones(void *arg)
{
    const tl_tz **out = arg;
    tl_error err = {0};
    *out = tl_tz_get("America/New_York", &err);
    return NULL;
}

Test(value, zone_cache_hands_out_one_zone_to_concurrent_loaders)
{
    pthread_t th[4];
    const tl_tz *got[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, load_zones, &got[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 1; i < 4; i++)
        cr_assert_eq(got[i], got[0]);
}
