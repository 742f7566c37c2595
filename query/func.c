/*
 * func.c — the scalar function and operator registry with its vectorised kernels,
 * casts, and the aggregate catalogue. Overload resolution is PostgreSQL's in spirit:
 * an exact signature first, then one reachable by implicit casts (int -> bigint ->
 * numeric -> double, date -> timestamp -> timestamptz, the string types among
 * themselves), with untyped literals taking whatever type the signature wants.
 */
#include "query_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- implicit casts ------------------------------------------------------------------------ */

int num_rank(tl_type_id t)
{
    switch (t) {
    case TL_INT2: return 1;
    case TL_INT4: return 2;
    case TL_INT8: return 3;
    case TL_NUMERIC: return 4;
    case TL_FLOAT4: return 5;
    case TL_FLOAT8: return 6;
    default: return 0;
    }
}

static bool stringish(tl_type_id t)
{
    return t == TL_TEXT || t == TL_VARCHAR || t == TL_BPCHAR || t == TL_NAME || t == TL_CHAR;
}

bool can_implicit_cast(tl_type_id from, tl_type_id to)
{
    if (from == to || from == TL_UNKNOWN) return true;
    int rf = num_rank(from), rt = num_rank(to);
    if (rf && rt) return rf < rt;
    if (stringish(from) && stringish(to)) return true;
    if (from == TL_DATE && (to == TL_TIMESTAMP || to == TL_TIMESTAMPTZ)) return true;
    if (from == TL_TIMESTAMP && to == TL_TIMESTAMPTZ) return true;
    if ((from == TL_INT2 || from == TL_INT4 || from == TL_INT8) && to == TL_OID) return true; /* pg_cast 'i' */
    return false;
}

/* ---- kernels: comparison ---------------------------------------------------------------------- */

typedef enum cmpop { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE } cmpop;

static cmpop cmpop_of(const char *name)
{
    if (!strcmp(name, "=")) return C_EQ;
    if (!strcmp(name, "<>")) return C_NE;
    if (!strcmp(name, "<")) return C_LT;
    if (!strcmp(name, "<=")) return C_LE;
    if (!strcmp(name, ">")) return C_GT;
    return C_GE;
}

static inline bool cmp_result(cmpop opk, int c)
{
    switch (opk) {
    case C_EQ: return c == 0;
    case C_NE: return c != 0;
    case C_LT: return c < 0;
    case C_LE: return c <= 0;
    case C_GT: return c > 0;
    case C_GE: return c >= 0;
    }
    return false;
}

static int k_cmp(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    cmpop opk = cmpop_of(e->fn->name);
    tl_type_id t = args[0].type.id;
    const uint8_t *nl = out->nulls;
    if (tl_type_is_integer(t) || t == TL_DATE || t == TL_TIMESTAMP || t == TL_TIMESTAMPTZ || t == TL_ENUM) {
        const int64_t *a = args[0].d.i, *b = args[1].d.i;
        switch (opk) {
        case C_EQ: for (uint32_t i = 0; i < n; i++) out->d.b[i] = a[i] == b[i]; break;
        case C_NE: for (uint32_t i = 0; i < n; i++) out->d.b[i] = a[i] != b[i]; break;
        case C_LT: for (uint32_t i = 0; i < n; i++) out->d.b[i] = a[i] < b[i]; break;
        case C_LE: for (uint32_t i = 0; i < n; i++) out->d.b[i] = a[i] <= b[i]; break;
        case C_GT: for (uint32_t i = 0; i < n; i++) out->d.b[i] = a[i] > b[i]; break;
        case C_GE: for (uint32_t i = 0; i < n; i++) out->d.b[i] = a[i] >= b[i]; break;
        }
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (nl[i]) continue;
        tl_datum x, y;
        tl_vec_get(&args[0], i, &x);
        tl_vec_get(&args[1], i, &y);
        out->d.b[i] = cmp_result(opk, tl_datum_cmp(t, &x, &y));
    }
    (void)q;
    (void)err;
    return 0;
}

/* ---- kernels: arithmetic ------------------------------------------------------------------------- */

static const char *int_range_msg(tl_type_id t)
{
    return t == TL_INT2 ? "smallint out of range" : t == TL_INT4 ? "integer out of range" : "bigint out of range";
}

static bool int_fits(tl_type_id t, int64_t v)
{
    if (t == TL_INT2) return v >= INT16_MIN && v <= INT16_MAX;
    if (t == TL_INT4) return v >= INT32_MIN && v <= INT32_MAX;
    return true;
}

static int k_int_arith(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    char opk = e->fn->name[0];
    tl_type_id t = e->type.id;
    const int64_t *a = args[0].d.i, *b = args[1].d.i;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        int64_t r;
        bool ovf = false;
        switch (opk) {
        case '+': ovf = __builtin_add_overflow(a[i], b[i], &r); break;
        case '-': ovf = __builtin_sub_overflow(a[i], b[i], &r); break;
        case '*': ovf = __builtin_mul_overflow(a[i], b[i], &r); break;
        case '/':
            if (b[i] == 0) return tl_errorf(err, "22012", "division by zero");
            if (b[i] == -1) ovf = __builtin_sub_overflow((int64_t)0, a[i], &r); /* INT64_MIN / -1 */
            else r = a[i] / b[i];
            break;
        default: /* % */
            if (b[i] == 0) return tl_errorf(err, "22012", "division by zero");
            r = b[i] == -1 ? 0 : a[i] % b[i];
            break;
        }
        if (ovf || !int_fits(t, r)) return tl_errorf(err, "22003", "%s", int_range_msg(t));
        out->d.i[i] = r;
    }
    (void)q;
    return 0;
}

/* & | # << >> on int2/int4/int8. Shifts wrap as PostgreSQL's C shifts do on its
 * platforms (the count taken modulo the promoted width, int2 computed in int4 and
 * truncated back). */
static int k_int_bits(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    const char *opn = e->fn->name;
    tl_type_id t = e->type.id;
    const int64_t *a = args[0].d.i, *b = args[1].d.i;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        int64_t r;
        if (opn[0] == '&') r = a[i] & b[i];
        else if (opn[0] == '|') r = a[i] | b[i];
        else if (opn[0] == '#') r = a[i] ^ b[i];
        else if (t == TL_INT8) {
            unsigned k = (unsigned)b[i] & 63;
            r = opn[0] == '<' ? (int64_t)((uint64_t)a[i] << k) : a[i] >> k;
        } else {
            unsigned k = (unsigned)b[i] & 31;
            int32_t x = (int32_t)a[i];
            r = opn[0] == '<' ? (int32_t)((uint32_t)x << k) : x >> k;
            if (t == TL_INT2) r = (int16_t)r;
        }
        out->d.i[i] = r;
    }
    (void)q;
    (void)err;
    return 0;
}

static int k_int_not(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++)
        if (!out->nulls[i]) out->d.i[i] = ~args[0].d.i[i];
    (void)q;
    (void)e;
    (void)err;
    return 0;
}

static int k_num_arith(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    char opk = e->fn->name[0];
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        const tl_numeric *a = &args[0].d.n[i], *b = &args[1].d.n[i];
        int rc;
        switch (opk) {
        case '+': rc = tl_numeric_add(a, b, &out->d.n[i], err); break;
        case '-': rc = tl_numeric_sub(a, b, &out->d.n[i], err); break;
        case '*': rc = tl_numeric_mul(a, b, &out->d.n[i], err); break;
        case '/': rc = tl_numeric_div(a, b, &out->d.n[i], err); break;
        default: {
            /* a % b = a - trunc(a / b) * b */
            tl_numeric qn, t2;
            rc = tl_numeric_div(a, b, &qn, err);
            if (rc == 0) rc = tl_numeric_round(&qn, 0, &t2, err);
            if (rc == 0) {
                /* truncate toward zero, not round */
                tl_numeric tr = qn;
                while (tr.scale > 0) {
                    tr.mant /= 10;
                    tr.scale--;
                }
                rc = tl_numeric_mul(&tr, b, &t2, err);
                if (rc == 0) rc = tl_numeric_sub(a, &t2, &out->d.n[i], err);
            }
            break;
        }
        }
        if (rc < 0) return -1;
    }
    (void)q;
    return 0;
}

static int k_float_arith(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    char opk = e->fn->name[0];
    const double *a = args[0].d.f, *b = args[1].d.f;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        double r;
        switch (opk) {
        case '+': r = a[i] + b[i]; break;
        case '-': r = a[i] - b[i]; break;
        case '*': r = a[i] * b[i]; break;
        default:
            if (b[i] == 0) return tl_errorf(err, "22012", "division by zero");
            r = a[i] / b[i];
            break;
        }
        if (isinf(r) && !isinf(a[i]) && !isinf(b[i]))
            return tl_errorf(err, "22003", "value out of range: overflow");
        out->d.f[i] = r;
    }
    (void)q;
    return 0;
}

static int k_ts_pm_interval(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool minus = e->fn->name[0] == '-';
    bool iv_first = args[0].type.id == TL_INTERVAL;
    const tl_vec *ts = iv_first ? &args[1] : &args[0];
    const tl_vec *iv = iv_first ? &args[0] : &args[1];
    /* timestamp without zone does its calendar arithmetic in UTC: no DST to honour. */
    const tl_tz *tz = e->type.id == TL_TIMESTAMPTZ ? q->fc.tz : tl_tz_utc();
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_interval v = iv->d.iv[i];
        if (minus) {
            v.us = -v.us;
            v.days = -v.days;
            v.months = -v.months;
        }
        if (tl_ts_add_interval(ts->d.i[i], &v, tz, &out->d.i[i], err) < 0) return -1;
    }
    return 0;
}

static int k_date_pm_int(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool minus = e->fn->name[0] == '-';
    bool int_first = args[0].type.id != TL_DATE;
    const tl_vec *d = int_first ? &args[1] : &args[0];
    const tl_vec *k = int_first ? &args[0] : &args[1];
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        out->d.i[i] = minus ? d->d.i[i] - k->d.i[i] : d->d.i[i] + k->d.i[i];
    }
    (void)q;
    (void)err;
    return 0;
}

static int k_date_minus_date(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++)
        if (!out->nulls[i]) out->d.i[i] = args[0].d.i[i] - args[1].d.i[i];
    (void)q;
    (void)e;
    (void)err;
    return 0;
}

static int k_ts_minus_ts(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    /* PostgreSQL's timestamp_mi: microseconds, then justify_hours into days. */
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        int64_t d = args[0].d.i[i] - args[1].d.i[i];
        tl_interval v = {.us = d % TL_USECS_PER_DAY, .days = (int32_t)(d / TL_USECS_PER_DAY), .months = 0};
        out->d.iv[i] = v;
    }
    (void)q;
    (void)e;
    (void)err;
    return 0;
}

static int k_interval_pm(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    int s = e->fn->name[0] == '-' ? -1 : 1;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        out->d.iv[i].us = args[0].d.iv[i].us + s * args[1].d.iv[i].us;
        out->d.iv[i].days = args[0].d.iv[i].days + s * args[1].d.iv[i].days;
        out->d.iv[i].months = args[0].d.iv[i].months + s * args[1].d.iv[i].months;
    }
    (void)q;
    (void)err;
    return 0;
}

static int k_concat(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str a = args[0].d.s[i], b = args[1].d.s[i];
        char *p = tl_arena_alloc(&q->arena, (size_t)a.len + b.len + 1);
        memcpy(p, a.ptr, a.len);
        memcpy(p + a.len, b.ptr, b.len);
        p[a.len + b.len] = '\0';
        out->d.s[i].ptr = p;
        out->d.s[i].len = a.len + b.len;
    }
    (void)e;
    (void)err;
    return 0;
}

/* ---- kernels: functions ------------------------------------------------------------------------ */

static int k_now(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) out->d.i[i] = q->now;
    (void)e;
    (void)args;
    (void)err;
    return 0;
}

static int k_localtimestamp(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    int64_t v = tl_ts_to_local(q->now, q->fc.tz);
    for (uint32_t i = 0; i < n; i++) out->d.i[i] = v;
    (void)e;
    (void)args;
    (void)err;
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t d = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? d - 1 : d;
}

static int k_current_date(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    int64_t v = floor_div(tl_ts_to_local(q->now, q->fc.tz), TL_USECS_PER_DAY);
    for (uint32_t i = 0; i < n; i++) out->d.i[i] = v;
    (void)e;
    (void)args;
    (void)err;
    return 0;
}

static int k_gen_uuid(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) tl_uuid_v4(&out->d.u[i]);
    (void)q;
    (void)e;
    (void)args;
    (void)err;
    return 0;
}

static char *unit_lower(qctx *q, tl_str s)
{
    char *u = tl_arena_strndup(&q->arena, s.ptr, s.len);
    for (char *p = u; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return u;
}

static int k_date_trunc(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool tz = e->type.id == TL_TIMESTAMPTZ;
    const char *last = NULL;
    char *unit = NULL;
    /* day and coarser units depend only on the local calendar day: rows of one day
     * (facts arrive in time order) reuse the previous row's answer */
    bool coarse = false, have = false;
    int64_t lastday = 0, lastres = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        if (!unit || args[0].d.s[i].ptr != last) {
            unit = unit_lower(q, args[0].d.s[i]);
            last = args[0].d.s[i].ptr;
            coarse = !strcmp(unit, "day") || !strcmp(unit, "week") || !strcmp(unit, "month") ||
                     !strcmp(unit, "quarter") || !strcmp(unit, "year") || !strcmp(unit, "decade") ||
                     !strcmp(unit, "century") || !strcmp(unit, "millennium");
            have = false;
        }
        int64_t v = args[1].d.i[i];
        if (v == INT64_MAX || v == INT64_MIN) { /* infinity truncates to itself */
            out->d.i[i] = v;
            continue;
        }
        int64_t day = 0;
        if (coarse) {
            int64_t local = tz ? tl_ts_to_local(v, q->fc.tz) : v;
            day = local / TL_USECS_PER_DAY - (local % TL_USECS_PER_DAY < 0);
            if (have && day == lastday) {
                out->d.i[i] = lastres;
                continue;
            }
        }
        int64_t t;
        int rc = tz ? tl_trunc_ts(unit, v, q->fc.tz, &t, err) : tl_trunc_local(unit, v, &t, err);
        if (rc < 0) {
            if (!strcmp(err->sqlstate, "22023")) {
                tl_error_clear(err);
                return tl_errorf(err, "22023", "unit \"%s\" not recognized for type %s", unit,
                                 tz ? "timestamp with time zone" : "timestamp without time zone");
            }
            return -1;
        }
        out->d.i[i] = t;
        if (coarse) {
            have = true;
            lastday = day;
            lastres = t;
        }
    }
    return 0;
}

/* timezone(zone, x) is AT TIME ZONE: timestamptz -> wall clock in `zone` (timestamp), and a
 * wall-clock timestamp read in `zone` -> timestamptz. The zone is looked up once per distinct
 * string, as columns of zones are rare and a constant is the usual case. */
static int k_timezone(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool to_local = e->type.id == TL_TIMESTAMP;
    tl_type_id zt = e->args[0]->type.id;
    if (!tl_type_is_string(zt) && zt != TL_UNKNOWN)
        return tl_errorf(err, "0A000", "AT TIME ZONE with a zone of type %s is not supported", tl_type_name(zt));
    const char *last = NULL;
    const tl_tz *tz = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        if (!tz || args[0].d.s[i].ptr != last) {
            tl_str z = args[0].d.s[i];
            char *name = tl_arena_strndup(&q->arena, z.ptr, z.len);
            tz = tl_tz_get(name, err);
            if (!tz) {
                tl_error_clear(err);
                return tl_errorf(err, "22023", "time zone \"%s\" not recognized", name);
            }
            last = z.ptr;
        }
        int64_t v = args[1].d.i[i];
        if (v == INT64_MAX || v == INT64_MIN) {
            out->d.i[i] = v;
            continue;
        }
        out->d.i[i] = to_local ? tl_ts_to_local(v, tz) : tl_local_to_ts(v, tz);
    }
    return 0;
}

/* pg_sleep(seconds): waits in 10 ms steps so a CancelRequest or statement_timeout ends it
 * promptly (57014), as PostgreSQL's does. */
static int k_pg_sleep(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    (void)e;
    (void)out;
    for (uint32_t i = 0; i < n; i++) {
        if (args[0].nulls[i]) continue;
        double secs = args[0].d.f[i];
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            if (q_check_cancel(q, err) < 0) return -1;
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            double left = secs - ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9);
            if (!(left > 0)) break;
            double step = left < 0.01 ? left : 0.01;
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(step * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

static int k_date_part(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    /* extract() returns numeric in PostgreSQL 14+, date_part() double precision. */
    bool as_num = e->type.id == TL_NUMERIC;
    tl_type_id st = args[1].type.id;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        char *unit = unit_lower(q, args[0].d.s[i]);
        int64_t v = args[1].d.i[i];
        tl_numeric r;
        if (!strcmp(unit, "epoch")) {
            int64_t us = st == TL_DATE ? v * TL_USECS_PER_DAY : v;
            if (st == TL_TIMESTAMP || st == TL_DATE) us = v * (st == TL_DATE ? TL_USECS_PER_DAY : 1);
            us += (int64_t)TL_UNIX_EPOCH_DAYS * TL_USECS_PER_DAY;
            r.mant = us;
            r.scale = 6;
            r.nan = 0;
            if (st == TL_DATE) {
                r.mant = us / 1000000;
                r.scale = 0;
            }
        } else {
            int64_t local = st == TL_TIMESTAMPTZ ? tl_ts_to_local(v, q->fc.tz)
                            : st == TL_DATE      ? v * TL_USECS_PER_DAY
                                                 : v;
            if (tl_extract_local(unit, local, &r, err) < 0) return -1;
        }
        if (as_num) out->d.n[i] = r;
        else out->d.f[i] = tl_numeric_to_double(&r);
    }
    return 0;
}

static int k_length(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str s = args[0].d.s[i];
        int64_t c = 0;
        for (uint32_t k = 0; k < s.len; k++) c += ((unsigned char)s.ptr[k] & 0xC0) != 0x80;
        out->d.i[i] = c;
    }
    (void)q;
    (void)e;
    (void)err;
    return 0;
}

static int k_abs(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    tl_type_id t = e->type.id;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        if (t == TL_NUMERIC) {
            out->d.n[i] = args[0].d.n[i];
            if (out->d.n[i].mant < 0) out->d.n[i].mant = -out->d.n[i].mant;
        } else if (t == TL_FLOAT8 || t == TL_FLOAT4) {
            out->d.f[i] = fabs(args[0].d.f[i]);
        } else {
            int64_t v = args[0].d.i[i];
            if (v < 0 && (v == INT64_MIN || !int_fits(t, -v))) return tl_errorf(err, "22003", "%s", int_range_msg(t));
            out->d.i[i] = v < 0 ? -v : v;
        }
    }
    (void)q;
    return 0;
}

static int k_round(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool has_scale = e->nargs == 2;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        if (e->type.id == TL_FLOAT8) {
            out->d.f[i] = rint(args[0].d.f[i]);
            continue;
        }
        int sc = has_scale ? (int)args[1].d.i[i] : 0;
        if (sc < 0) sc = 0; /* negative scales round to tens: not supported, clamp */
        if (tl_numeric_round(&args[0].d.n[i], sc, &out->d.n[i], err) < 0) return -1;
    }
    (void)q;
    return 0;
}

static int k_floor_ceil(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool ceil_ = e->fn->name[0] == 'c';
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        if (e->type.id == TL_FLOAT8) {
            out->d.f[i] = ceil_ ? ceil(args[0].d.f[i]) : floor(args[0].d.f[i]);
            continue;
        }
        tl_numeric v = args[0].d.n[i];
        tl_i128 p = 1;
        for (int k = 0; k < v.scale; k++) p *= 10;
        tl_i128 qv = v.mant / p, r = v.mant % p;
        if (r != 0 && ((r > 0) == ceil_)) qv += ceil_ ? 1 : -1;
        out->d.n[i].mant = qv;
        out->d.n[i].scale = 0;
        out->d.n[i].nan = v.nan;
    }
    (void)q;
    (void)err;
    return 0;
}

static int k_nullif(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    size_t es = tl_vec_elem_size(e->type.id);
    for (uint32_t i = 0; i < n; i++) {
        bool an = tl_vec_isnull(&args[0], i);
        out->nulls[i] = an;
        if (an) continue;
        memcpy((char *)out->d.raw + es * i, (char *)args[0].d.raw + es * i, es);
        if (tl_vec_isnull(&args[1], i)) continue;
        tl_datum a, b;
        tl_vec_get(&args[0], i, &a);
        tl_vec_get(&args[1], i, &b);
        if (tl_datum_cmp(e->type.id, &a, &b) == 0) out->nulls[i] = 1;
    }
    (void)q;
    (void)err;
    return 0;
}

static int k_cast(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    tl_vec tmp;
    if (cast_vec(q, &args[0], e->type, &tmp, &q->arena, err) < 0) return -1;
    size_t es = tl_vec_elem_size(e->type.id);
    memcpy(out->d.raw, tmp.d.raw, es * n);
    for (uint32_t i = 0; i < n; i++) out->nulls[i] |= tl_vec_isnull(&tmp, i);
    return 0;
}

static int k_version(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    static const char v[] = "PostgreSQL 15.0 (tally 0.1.0) on x86_64-pc-linux-gnu, compiled by gcc, 64-bit";
    for (uint32_t i = 0; i < n; i++) {
        out->d.s[i].ptr = v;
        out->d.s[i].len = sizeof v - 1;
    }
    (void)q;
    (void)e;
    (void)args;
    (void)err;
    return 0;
}

/* ---- kernels: strings (character positions count UTF-8 characters) ---------------------------- */

static uint32_t utf8_advance(const char *s, uint32_t len, uint32_t at, int64_t chars)
{
    while (chars > 0 && at < len) {
        at++;
        while (at < len && ((unsigned char)s[at] & 0xC0) == 0x80) at++;
        chars--;
    }
    return at;
}

static int64_t utf8_len(const char *s, uint32_t len)
{
    int64_t n = 0;
    for (uint32_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

static void set_str(tl_vec *out, uint32_t i, const char *p, uint32_t len)
{
    out->d.s[i].ptr = p;
    out->d.s[i].len = len;
}

static int k_substr(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str s = args[0].d.s[i];
        int64_t start = args[1].d.i[i], end = INT64_MAX;
        if (e->nargs == 3) {
            int64_t cnt = args[2].d.i[i];
            if (cnt < 0) return tl_errorf(err, "22011", "negative substring length not allowed");
            end = start + cnt; /* exclusive, 1-based */
        }
        if (start < 1) start = 1;
        if (end <= start) {
            set_str(out, i, "", 0);
            continue;
        }
        uint32_t a = utf8_advance(s.ptr, s.len, 0, start - 1);
        uint32_t b = end == INT64_MAX ? s.len : utf8_advance(s.ptr, s.len, a, end - start);
        set_str(out, i, s.ptr + a, b - a);
    }
    (void)q;
    return 0;
}

static int k_concat_fn(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) {
        tl_buf b;
        tl_buf_init(&b);
        for (int k = 0; k < e->nargs; k++) {
            if (tl_vec_isnull(&args[k], i)) continue;
            tl_datum d;
            tl_vec_get(&args[k], i, &d);
            q_format_value(q, args[k].type, &d, &b);
        }
        out->nulls[i] = 0;
        set_str(out, i, tl_arena_strndup(&q->arena, b.data ? b.data : "", b.len), (uint32_t)b.len);
        tl_buf_free(&b);
    }
    (void)err;
    return 0;
}

static int k_trim(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    const char *nm = e->fn->name;
    bool left = nm[0] == 'b' || nm[0] == 'l', right = nm[0] == 'b' || nm[0] == 'r';
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str s = args[0].d.s[i];
        tl_str set = e->nargs > 1 ? args[1].d.s[i] : (tl_str){" ", 1};
        uint32_t a = 0, b = s.len;
        while (left && a < b && memchr(set.ptr, s.ptr[a], set.len)) a++;
        while (right && b > a && memchr(set.ptr, s.ptr[b - 1], set.len)) b--;
        set_str(out, i, s.ptr + a, b - a);
    }
    (void)q;
    (void)err;
    return 0;
}

static int k_replace(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str s = args[0].d.s[i], f = args[1].d.s[i], r = args[2].d.s[i];
        if (f.len == 0) {
            out->d.s[i] = s;
            continue;
        }
        tl_buf b;
        tl_buf_init(&b);
        uint32_t k = 0;
        while (k < s.len) {
            if (k + f.len <= s.len && memcmp(s.ptr + k, f.ptr, f.len) == 0) {
                tl_buf_append(&b, r.ptr, r.len);
                k += f.len;
            } else {
                tl_buf_append(&b, s.ptr + k, 1);
                k++;
            }
        }
        set_str(out, i, tl_arena_strndup(&q->arena, b.data ? b.data : "", b.len), (uint32_t)b.len);
        tl_buf_free(&b);
    }
    (void)e;
    (void)err;
    return 0;
}

static int k_split_part(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str s = args[0].d.s[i], d = args[1].d.s[i];
        int64_t fld = args[2].d.i[i];
        if (fld == 0) return tl_errorf(err, "22023", "field position must not be zero");
        /* split into fields, then pick (negative counts from the end) */
        uint32_t starts[1024], ends[1024], nf = 0, k = 0, st = 0;
        if (d.len == 0) {
            starts[0] = 0;
            ends[0] = s.len;
            nf = 1;
        } else {
            while (nf < 1023) {
                if (k + d.len <= s.len && memcmp(s.ptr + k, d.ptr, d.len) == 0) {
                    starts[nf] = st;
                    ends[nf++] = k;
                    k += d.len;
                    st = k;
                } else if (k >= s.len) {
                    starts[nf] = st;
                    ends[nf++] = s.len;
                    break;
                } else {
                    k++;
                }
            }
        }
        int64_t idx = fld > 0 ? fld - 1 : (int64_t)nf + fld;
        if (s.len == 0 || idx < 0 || idx >= (int64_t)nf) set_str(out, i, "", 0);
        else set_str(out, i, s.ptr + starts[idx], ends[idx] - starts[idx]);
    }
    (void)q;
    (void)e;
    return 0;
}

static int k_left_right(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool left = e->fn->name[0] == 'l';
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str s = args[0].d.s[i];
        int64_t k = args[1].d.i[i], total = utf8_len(s.ptr, s.len);
        int64_t take = k >= 0 ? (k < total ? k : total) : (total + k > 0 ? total + k : 0);
        if (left) {
            set_str(out, i, s.ptr, utf8_advance(s.ptr, s.len, 0, take));
        } else {
            uint32_t a = utf8_advance(s.ptr, s.len, 0, total - take);
            set_str(out, i, s.ptr + a, s.len - a);
        }
    }
    (void)q;
    (void)err;
    return 0;
}

static int k_strpos(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str s = args[0].d.s[i], f = args[1].d.s[i];
        int64_t pos = 0;
        for (uint32_t k = 0; k + f.len <= s.len; k++)
            if (memcmp(s.ptr + k, f.ptr, f.len) == 0) {
                pos = utf8_len(s.ptr, k) + 1;
                break;
            }
        out->d.i[i] = pos;
    }
    (void)q;
    (void)e;
    (void)err;
    return 0;
}

/* ---- kernels: math ------------------------------------------------------------------------------------ */

static int k_fmath(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    const char *nm = e->fn->name;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        double x = args[0].d.f[i], r;
        if (!strcmp(nm, "power")) {
            double y = args[1].d.f[i];
            if (x == 0 && y < 0) return tl_errorf(err, "2201F", "zero raised to a negative power is undefined");
            if (x < 0 && floor(y) != y)
                return tl_errorf(err, "2201F", "a negative number raised to a non-integer power yields a complex result");
            r = pow(x, y);
            if (isinf(r)) return tl_errorf(err, "22003", "value out of range: overflow");
        } else if (!strcmp(nm, "sqrt")) {
            if (x < 0) return tl_errorf(err, "2201F", "cannot take square root of a negative number");
            r = sqrt(x);
        } else if (!strcmp(nm, "trunc")) {
            r = trunc(x);
        } else { /* sign */
            r = x > 0 ? 1 : x < 0 ? -1 : 0;
        }
        out->d.f[i] = r;
    }
    (void)q;
    return 0;
}

static int k_nmath(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    const char *nm = e->fn->name;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_numeric x = args[0].d.n[i];
        if (!strcmp(nm, "trunc")) {
            int sc = e->nargs > 1 ? (int)args[1].d.i[i] : 0;
            if (sc < 0) sc = 0;
            while (x.scale > sc) {
                x.mant /= 10;
                x.scale--;
            }
            while (x.scale < sc) {
                x.mant *= 10;
                x.scale++;
            }
            out->d.n[i] = x;
        } else { /* sign */
            tl_numeric_from_i64(x.mant > 0 ? 1 : x.mant < 0 ? -1 : 0, &out->d.n[i]);
        }
    }
    (void)q;
    (void)err;
    return 0;
}

static int k_interval_mul(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool div = e->fn->name[0] == '/';
    int ivarg = e->args[0]->type.id == TL_INTERVAL ? 0 : 1;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_interval iv = args[ivarg].d.iv[i];
        double f = args[1 - ivarg].d.f[i];
        if (div) {
            if (f == 0) return tl_errorf(err, "22012", "division by zero");
            f = 1 / f;
        }
        /* PostgreSQL's interval_mul: fractional months spill into days, days into time */
        double months = iv.months * f, days = iv.days * f;
        int32_t m = (int32_t)months;
        double dd = days + (months - m) * 30;
        int32_t d = (int32_t)dd;
        double us = (double)iv.us * f + (dd - d) * 86400e6;
        out->d.iv[i] = (tl_interval){.months = m, .days = d, .us = (int64_t)llround(us)};
    }
    (void)q;
    return 0;
}

/* ---- the registry ------------------------------------------------------------------------------------ */

#define U TL_UNKNOWN
static const fn_def cmp_defs[] = {
    {"=", 2, {U, U}, TL_BOOL, k_cmp, false, false},  {"<>", 2, {U, U}, TL_BOOL, k_cmp, false, false},
    {"<", 2, {U, U}, TL_BOOL, k_cmp, false, false},  {"<=", 2, {U, U}, TL_BOOL, k_cmp, false, false},
    {">", 2, {U, U}, TL_BOOL, k_cmp, false, false},  {">=", 2, {U, U}, TL_BOOL, k_cmp, false, false},
};

#define ARITH(T)                                                                                   \
    {"+", 2, {T, T}, T, NULL, false, false}, {"-", 2, {T, T}, T, NULL, false, false},              \
        {"*", 2, {T, T}, T, NULL, false, false}, {"/", 2, {T, T}, T, NULL, false, false}

#define BITS(T)                                                                                    \
    {"&", 2, {T, T}, T, k_int_bits, false, false}, {"|", 2, {T, T}, T, k_int_bits, false, false},  \
        {"#", 2, {T, T}, T, k_int_bits, false, false},                                              \
        {"<<", 2, {T, TL_INT4}, T, k_int_bits, false, false},                                       \
        {">>", 2, {T, TL_INT4}, T, k_int_bits, false, false}, {"~", 1, {T}, T, k_int_not, false, false}

static fn_def fns[] = {
    ARITH(TL_INT2), ARITH(TL_INT4), ARITH(TL_INT8), ARITH(TL_NUMERIC), ARITH(TL_FLOAT8), ARITH(TL_FLOAT4),
    {"%", 2, {TL_INT2, TL_INT2}, TL_INT2, k_int_arith, false, false},
    {"%", 2, {TL_INT4, TL_INT4}, TL_INT4, k_int_arith, false, false},
    {"%", 2, {TL_INT8, TL_INT8}, TL_INT8, k_int_arith, false, false},
    {"%", 2, {TL_NUMERIC, TL_NUMERIC}, TL_NUMERIC, k_num_arith, false, false},
    BITS(TL_INT2), BITS(TL_INT4), BITS(TL_INT8),
    {"+", 2, {TL_TIMESTAMPTZ, TL_INTERVAL}, TL_TIMESTAMPTZ, k_ts_pm_interval, false, false},
    {"-", 2, {TL_TIMESTAMPTZ, TL_INTERVAL}, TL_TIMESTAMPTZ, k_ts_pm_interval, false, false},
    {"+", 2, {TL_INTERVAL, TL_TIMESTAMPTZ}, TL_TIMESTAMPTZ, k_ts_pm_interval, false, false},
    {"+", 2, {TL_TIMESTAMP, TL_INTERVAL}, TL_TIMESTAMP, k_ts_pm_interval, false, false},
    {"-", 2, {TL_TIMESTAMP, TL_INTERVAL}, TL_TIMESTAMP, k_ts_pm_interval, false, false},
    {"+", 2, {TL_DATE, TL_INT4}, TL_DATE, k_date_pm_int, false, false},
    {"-", 2, {TL_DATE, TL_INT4}, TL_DATE, k_date_pm_int, false, false},
    {"+", 2, {TL_INT4, TL_DATE}, TL_DATE, k_date_pm_int, false, false},
    {"-", 2, {TL_DATE, TL_DATE}, TL_INT4, k_date_minus_date, false, false},
    {"-", 2, {TL_TIMESTAMPTZ, TL_TIMESTAMPTZ}, TL_INTERVAL, k_ts_minus_ts, false, false},
    {"-", 2, {TL_TIMESTAMP, TL_TIMESTAMP}, TL_INTERVAL, k_ts_minus_ts, false, false},
    {"+", 2, {TL_INTERVAL, TL_INTERVAL}, TL_INTERVAL, k_interval_pm, false, false},
    {"-", 2, {TL_INTERVAL, TL_INTERVAL}, TL_INTERVAL, k_interval_pm, false, false},
    {"||", 2, {TL_ARRAY, TL_ARRAY}, TL_UNKNOWN, k_array_cat, true, false},
    {"||", 2, {TL_TEXT, TL_TEXT}, TL_TEXT, k_concat, false, false},
    {"now", 0, {0}, TL_TIMESTAMPTZ, k_now, false, false},
    {"current_timestamp", 0, {0}, TL_TIMESTAMPTZ, k_now, false, false},
    {"transaction_timestamp", 0, {0}, TL_TIMESTAMPTZ, k_now, false, false},
    {"statement_timestamp", 0, {0}, TL_TIMESTAMPTZ, k_now, false, false},
    {"localtimestamp", 0, {0}, TL_TIMESTAMP, k_localtimestamp, false, false},
    {"current_date", 0, {0}, TL_DATE, k_current_date, false, false},
    {"gen_random_uuid", 0, {0}, TL_UUID, k_gen_uuid, false, true},
    {"date_trunc", 2, {TL_TEXT, TL_TIMESTAMPTZ}, TL_TIMESTAMPTZ, k_date_trunc, false, false},
    {"date_trunc", 2, {TL_TEXT, TL_TIMESTAMP}, TL_TIMESTAMP, k_date_trunc, false, false},
    /* timestamptz first: a date (or an untyped literal) resolves to it, PostgreSQL's
     * preferred type of the datetime category */
    /* the zone is matched as any type (an untyped literal must not steer the choice
     * towards timestamp through the implicit-cast pass); k_timezone accepts strings */
    {"timezone", 2, {U, TL_TIMESTAMPTZ}, TL_TIMESTAMP, k_timezone, false, false},
    {"timezone", 2, {U, TL_TIMESTAMP}, TL_TIMESTAMPTZ, k_timezone, false, false},
    {"extract", 2, {TL_TEXT, TL_TIMESTAMPTZ}, TL_NUMERIC, k_date_part, false, false},
    {"extract", 2, {TL_TEXT, TL_TIMESTAMP}, TL_NUMERIC, k_date_part, false, false},
    {"extract", 2, {TL_TEXT, TL_DATE}, TL_NUMERIC, k_date_part, false, false},
    {"date_part", 2, {TL_TEXT, TL_TIMESTAMPTZ}, TL_FLOAT8, k_date_part, false, false},
    {"date_part", 2, {TL_TEXT, TL_TIMESTAMP}, TL_FLOAT8, k_date_part, false, false},
    {"lower", 1, {TL_TEXT}, TL_TEXT, k_case_map, false, false},
    {"upper", 1, {TL_TEXT}, TL_TEXT, k_case_map, false, false},
    {"to_char", 2, {TL_TIMESTAMPTZ, TL_TEXT}, TL_TEXT, k_to_char_ts, false, false},
    {"to_char", 2, {TL_TIMESTAMP, TL_TEXT}, TL_TEXT, k_to_char_ts, false, false},
    {"->", 2, {TL_JSONB, TL_TEXT}, TL_JSONB, k_json_get, false, false},
    {"->>", 2, {TL_JSONB, TL_TEXT}, TL_TEXT, k_json_get, false, false},
    {"->", 2, {TL_JSONB, TL_INT4}, TL_JSONB, k_json_get, false, false},
    {"->>", 2, {TL_JSONB, TL_INT4}, TL_TEXT, k_json_get, false, false},
    {"->", 2, {TL_JSON, TL_TEXT}, TL_JSON, k_json_get, false, false},
    {"->>", 2, {TL_JSON, TL_TEXT}, TL_TEXT, k_json_get, false, false},
    {"@>", 2, {TL_JSONB, TL_JSONB}, TL_BOOL, k_json_contains, false, false},
    {"?", 2, {TL_JSONB, TL_TEXT}, TL_BOOL, k_json_exists, false, false},
    {"jsonb_exists", 2, {TL_JSONB, TL_TEXT}, TL_BOOL, k_json_exists, false, false},
    {"length", 1, {TL_TEXT}, TL_INT4, k_length, false, false},
    {"char_length", 1, {TL_TEXT}, TL_INT4, k_length, false, false},
    {"abs", 1, {TL_INT4}, TL_INT4, k_abs, false, false},
    {"abs", 1, {TL_INT8}, TL_INT8, k_abs, false, false},
    {"abs", 1, {TL_NUMERIC}, TL_NUMERIC, k_abs, false, false},
    {"abs", 1, {TL_FLOAT8}, TL_FLOAT8, k_abs, false, false},
    {"round", 1, {TL_NUMERIC}, TL_NUMERIC, k_round, false, false},
    {"round", 2, {TL_NUMERIC, TL_INT4}, TL_NUMERIC, k_round, false, false},
    {"round", 1, {TL_FLOAT8}, TL_FLOAT8, k_round, false, false},
    {"floor", 1, {TL_NUMERIC}, TL_NUMERIC, k_floor_ceil, false, false},
    {"floor", 1, {TL_FLOAT8}, TL_FLOAT8, k_floor_ceil, false, false},
    {"ceil", 1, {TL_NUMERIC}, TL_NUMERIC, k_floor_ceil, false, false},
    {"ceil", 1, {TL_FLOAT8}, TL_FLOAT8, k_floor_ceil, false, false},
    {"ceiling", 1, {TL_NUMERIC}, TL_NUMERIC, k_floor_ceil, false, false},
    {"ceiling", 1, {TL_FLOAT8}, TL_FLOAT8, k_floor_ceil, false, false},
    {"nullif", 2, {U, U}, U, k_nullif, true, false},
    {"substring", 3, {TL_TEXT, TL_INT8, TL_INT8}, TL_TEXT, k_substr, false, false},
    {"substring", 2, {TL_TEXT, TL_INT8}, TL_TEXT, k_substr, false, false},
    {"substr", 3, {TL_TEXT, TL_INT8, TL_INT8}, TL_TEXT, k_substr, false, false},
    {"substr", 2, {TL_TEXT, TL_INT8}, TL_TEXT, k_substr, false, false},
    {"concat", -1, {U}, TL_TEXT, k_concat_fn, true, false},
    {"btrim", 1, {TL_TEXT}, TL_TEXT, k_trim, false, false},
    {"btrim", 2, {TL_TEXT, TL_TEXT}, TL_TEXT, k_trim, false, false},
    {"ltrim", 1, {TL_TEXT}, TL_TEXT, k_trim, false, false},
    {"ltrim", 2, {TL_TEXT, TL_TEXT}, TL_TEXT, k_trim, false, false},
    {"rtrim", 1, {TL_TEXT}, TL_TEXT, k_trim, false, false},
    {"rtrim", 2, {TL_TEXT, TL_TEXT}, TL_TEXT, k_trim, false, false},
    {"replace", 3, {TL_TEXT, TL_TEXT, TL_TEXT}, TL_TEXT, k_replace, false, false},
    {"split_part", 3, {TL_TEXT, TL_TEXT, TL_INT8}, TL_TEXT, k_split_part, false, false},
    {"left", 2, {TL_TEXT, TL_INT8}, TL_TEXT, k_left_right, false, false},
    {"right", 2, {TL_TEXT, TL_INT8}, TL_TEXT, k_left_right, false, false},
    {"strpos", 2, {TL_TEXT, TL_TEXT}, TL_INT4, k_strpos, false, false},
    {"position", 2, {TL_TEXT, TL_TEXT}, TL_INT4, k_strpos, false, false},
    {"power", 2, {TL_FLOAT8, TL_FLOAT8}, TL_FLOAT8, k_fmath, false, false},
    {"pow", 2, {TL_FLOAT8, TL_FLOAT8}, TL_FLOAT8, k_fmath, false, false},
    {"sqrt", 1, {TL_FLOAT8}, TL_FLOAT8, k_fmath, false, false},
    {"trunc", 1, {TL_NUMERIC}, TL_NUMERIC, k_nmath, false, false},
    {"trunc", 2, {TL_NUMERIC, TL_INT8}, TL_NUMERIC, k_nmath, false, false},
    {"trunc", 1, {TL_FLOAT8}, TL_FLOAT8, k_fmath, false, false},
    {"sign", 1, {TL_NUMERIC}, TL_NUMERIC, k_nmath, false, false},
    {"sign", 1, {TL_FLOAT8}, TL_FLOAT8, k_fmath, false, false},
    {"mod", 2, {TL_INT2, TL_INT2}, TL_INT2, NULL, false, false},
    {"mod", 2, {TL_INT4, TL_INT4}, TL_INT4, NULL, false, false},
    {"mod", 2, {TL_INT8, TL_INT8}, TL_INT8, NULL, false, false},
    {"mod", 2, {TL_NUMERIC, TL_NUMERIC}, TL_NUMERIC, k_num_arith, false, false},
    {"*", 2, {TL_INTERVAL, TL_FLOAT8}, TL_INTERVAL, k_interval_mul, false, false},
    {"*", 2, {TL_FLOAT8, TL_INTERVAL}, TL_INTERVAL, k_interval_mul, false, false},
    {"/", 2, {TL_INTERVAL, TL_FLOAT8}, TL_INTERVAL, k_interval_mul, false, false},
    {"version", 0, {0}, TL_TEXT, k_version, false, false},
    {"age", 2, {TL_TIMESTAMPTZ, TL_TIMESTAMPTZ}, TL_INTERVAL, k_age, false, false},
    {"age", 2, {TL_TIMESTAMP, TL_TIMESTAMP}, TL_INTERVAL, k_age, false, false},
    {"age", 1, {TL_TIMESTAMPTZ}, TL_INTERVAL, k_age, false, false},
    {"age", 1, {TL_TIMESTAMP}, TL_INTERVAL, k_age, false, false},
    {"make_date", 3, {TL_INT4, TL_INT4, TL_INT4}, TL_DATE, k_make_date, false, false},
    {"make_timestamp", 6, {TL_INT4, TL_INT4, TL_INT4, TL_INT4, TL_INT4, TL_FLOAT8}, TL_TIMESTAMP, k_make_timestamp, false, false},
    {"make_timestamptz", 6, {TL_INT4, TL_INT4, TL_INT4, TL_INT4, TL_INT4, TL_FLOAT8}, TL_TIMESTAMPTZ, k_make_timestamp, false, false},
    {"make_timestamptz", 7, {TL_INT4, TL_INT4, TL_INT4, TL_INT4, TL_INT4, TL_FLOAT8, TL_TEXT}, TL_TIMESTAMPTZ, k_make_timestamp, false, false},
    {"justify_days", 1, {TL_INTERVAL}, TL_INTERVAL, k_justify, false, false},
    {"justify_hours", 1, {TL_INTERVAL}, TL_INTERVAL, k_justify, false, false},
    {"justify_interval", 1, {TL_INTERVAL}, TL_INTERVAL, k_justify, false, false},
    {"format", -1, {U}, TL_TEXT, k_format, true, false},
    {"to_char", 2, {TL_NUMERIC, TL_TEXT}, TL_TEXT, k_to_char_num, false, false},
    {"to_char", 2, {TL_FLOAT8, TL_TEXT}, TL_TEXT, k_to_char_num, false, false},
    {"~", 2, {TL_TEXT, TL_TEXT}, TL_BOOL, k_regex, false, false},
    {"~*", 2, {TL_TEXT, TL_TEXT}, TL_BOOL, k_regex, false, false},
    {"!~", 2, {TL_TEXT, TL_TEXT}, TL_BOOL, k_regex, false, false},
    {"!~*", 2, {TL_TEXT, TL_TEXT}, TL_BOOL, k_regex, false, false},
    {"textregexeq", 2, {TL_TEXT, TL_TEXT}, TL_BOOL, k_regex, false, false},
    {"pg_sleep", 1, {TL_FLOAT8}, TL_VOID, k_pg_sleep, true, true},
};
#undef U

static const fn_def cast_def = {"cast", 1, {TL_UNKNOWN}, TL_UNKNOWN, k_cast, false, false};

static void fns_init(void)
{
    static bool done = false;
    if (done) return;
    for (size_t i = 0; i < TL_ARRAY_LEN(fns); i++) {
        if (fns[i].fn) continue;
        tl_type_id t = fns[i].args[0];
        fns[i].fn = t == TL_NUMERIC ? k_num_arith : (t == TL_FLOAT8 || t == TL_FLOAT4) ? k_float_arith : k_int_arith;
    }
    __atomic_store_n(&done, true, __ATOMIC_RELEASE);
}

static bool comparable(tl_type_id t)
{
    return t != TL_JSON && t != TL_VOID && t != TL_UNKNOWN;
}

const fn_def *fn_lookup(const char *name, int nargs, const tl_type_id *args)
{
    fns_init();
    if (nargs == 2) {
        for (size_t i = 0; i < TL_ARRAY_LEN(cmp_defs); i++) {
            if (strcmp(cmp_defs[i].name, name) != 0) continue;
            bool same = args[0] == args[1] || (stringish(args[0]) && stringish(args[1])) ||
                        /* oid against an integer: PostgreSQL casts int4 to oid implicitly */
                        ((args[0] == TL_OID || args[1] == TL_OID) && tl_type_is_integer(args[0]) &&
                         tl_type_is_integer(args[1]));
            if (same && comparable(args[0])) return &cmp_defs[i];
            return NULL;
        }
    }
    for (size_t i = 0; i < TL_ARRAY_LEN(fns); i++)
        if (fns[i].nargs < 0 && !strcmp(fns[i].name, name)) return &fns[i];
    /* exact */
    for (size_t i = 0; i < TL_ARRAY_LEN(fns); i++) {
        if (strcmp(fns[i].name, name) != 0 || fns[i].nargs != nargs) continue;
        bool ok = true;
        for (int k = 0; k < nargs && ok; k++)
            ok = fns[i].args[k] == TL_UNKNOWN || fns[i].args[k] == args[k] ||
                 (stringish(fns[i].args[k]) && stringish(args[k]));
        if (ok) return &fns[i];
    }
    /* by implicit casts, the first declared match wins (declarations are ordered so the
     * preferred candidate comes first, e.g. timestamptz before timestamp) */
    for (size_t i = 0; i < TL_ARRAY_LEN(fns); i++) {
        if (strcmp(fns[i].name, name) != 0 || fns[i].nargs != nargs) continue;
        bool ok = true;
        for (int k = 0; k < nargs && ok; k++)
            ok = fns[i].args[k] == TL_UNKNOWN || can_implicit_cast(args[k], fns[i].args[k]);
        if (ok) return &fns[i];
    }
    /* grants decide has_*_privilege (acl.c) before the catalog functions' defaults */
    const fn_def *f = acl_fn_lookup(name, nargs, args);
    return f ? f : catfn_lookup(name, nargs, args);
}

const fn_def *fn_lookup_name(const char *name)
{
    fns_init();
    for (size_t i = 0; i < TL_ARRAY_LEN(fns); i++)
        if (!strcmp(fns[i].name, name)) return &fns[i];
    const fn_def *f = acl_fn_lookup_name(name);
    return f ? f : catfn_lookup_name(name);
}

/* ---- aggregates ------------------------------------------------------------------------------------------ */

static const agg_def aggs[] = {
    {"count(*)", A_COUNT_STAR}, {"count", A_COUNT}, {"sum", A_SUM}, {"avg", A_AVG}, {"min", A_MIN}, {"max", A_MAX},
    {"variance", A_VAR_SAMP}, {"var_samp", A_VAR_SAMP}, {"var_pop", A_VAR_POP}, {"stddev", A_STDDEV_SAMP},
    {"stddev_samp", A_STDDEV_SAMP}, {"stddev_pop", A_STDDEV_POP}, {"bool_and", A_BOOL_AND},
    {"bool_or", A_BOOL_OR}, {"every", A_BOOL_AND}, {"string_agg", A_STRING_AGG},
    {"percentile_cont", A_PCT_CONT}, {"percentile_disc", A_PCT_DISC}, {"array_agg", A_ARRAY_AGG},
};

static const agg_def wins[] = {
    {"row_number", W_ROW_NUMBER}, {"rank", W_RANK}, {"dense_rank", W_DENSE_RANK},
    {"percent_rank", W_PERCENT_RANK}, {"cume_dist", W_CUME_DIST}, {"ntile", W_NTILE},
    {"lag", W_LAG}, {"lead", W_LEAD}, {"first_value", W_FIRST_VALUE}, {"last_value", W_LAST_VALUE},
    {"nth_value", W_NTH_VALUE},
};

const agg_def *win_lookup(const char *name)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(wins); i++)
        if (!strcmp(wins[i].name, name)) return &wins[i];
    return NULL;
}

const agg_def *agg_lookup(const char *name)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(aggs); i++)
        if (!strcmp(aggs[i].name, name)) return &aggs[i];
    return NULL;
}

tl_type agg_result_type(const agg_def *a, tl_type arg)
{
    tl_type bad = tl_type_make(TL_TYPE_COUNT);
    switch (a->kind) {
    case A_COUNT_STAR:
    case A_COUNT: return tl_type_make(TL_INT8);
    case A_SUM:
        switch (arg.id) {
        case TL_INT2: case TL_INT4: return tl_type_make(TL_INT8);
        case TL_INT8: case TL_NUMERIC: return tl_type_make(TL_NUMERIC);
        case TL_FLOAT4: return tl_type_make(TL_FLOAT4);
        case TL_FLOAT8: return tl_type_make(TL_FLOAT8);
        case TL_INTERVAL: return tl_type_make(TL_INTERVAL);
        default: return bad;
        }
    case A_AVG:
        switch (arg.id) {
        case TL_INT2: case TL_INT4: case TL_INT8: case TL_NUMERIC: return tl_type_make(TL_NUMERIC);
        case TL_FLOAT4: case TL_FLOAT8: return tl_type_make(TL_FLOAT8);
        default: return bad;
        }
    case A_VAR_SAMP:
    case A_VAR_POP:
    case A_STDDEV_SAMP:
    case A_STDDEV_POP:
        switch (arg.id) {
        case TL_INT2: case TL_INT4: case TL_INT8: case TL_NUMERIC: return tl_type_make(TL_NUMERIC);
        case TL_FLOAT4: case TL_FLOAT8: return tl_type_make(TL_FLOAT8);
        default: return bad;
        }
    case A_BOOL_AND:
    case A_BOOL_OR: return arg.id == TL_BOOL ? arg : bad;
    case A_STRING_AGG: return tl_type_is_string(arg.id) || arg.id == TL_UNKNOWN ? tl_type_make(TL_TEXT) : bad;
    case A_PCT_CONT: return num_rank(arg.id) || arg.id == TL_UNKNOWN ? tl_type_make(TL_FLOAT8) : bad;
    case A_PCT_DISC: return arg.id == TL_JSON ? bad : arg;
    case A_ARRAY_AGG: return arg.id == TL_ARRAY ? bad : subq_array_type(arg.id == TL_UNKNOWN ? tl_type_make(TL_TEXT) : arg);
    case W_ROW_NUMBER: case W_RANK: case W_DENSE_RANK: return tl_type_make(TL_INT8);
    case W_NTILE: return tl_type_make(TL_INT4);
    case W_PERCENT_RANK: case W_CUME_DIST: return tl_type_make(TL_FLOAT8);
    case W_LAG: case W_LEAD: case W_FIRST_VALUE: case W_LAST_VALUE: case W_NTH_VALUE: return arg;
    case A_MIN:
    case A_MAX:
        if (arg.id == TL_JSON || arg.id == TL_JSONB || arg.id == TL_BOOL || arg.id == TL_UUID) return bad;
        if (arg.id == TL_VARCHAR || arg.id == TL_BPCHAR || arg.id == TL_NAME) return tl_type_make(TL_TEXT);
        return arg.id == TL_NUMERIC ? tl_type_make(TL_NUMERIC) : arg;
    }
    return bad;
}

/* ---- casts ------------------------------------------------------------------------------------------------- */

int enum_in(qctx *q, tl_type t, const char *s, size_t len, tl_datum *out, tl_error *err)
{
    tl_enum *en = tl_catalog_enum_by_oid(q->eng, t.oid);
    if (!en) return tl_errorf(err, "42704", "type with OID %u does not exist", t.oid);
    for (int i = 0; i < en->nlabels; i++) {
        if (strlen(en->labels[i]) == len && memcmp(en->labels[i], s, len) == 0) {
            out->isnull = false;
            out->v.i = i;
            return 0;
        }
    }
    return tl_errorf(err, "22P02", "invalid input value for enum %s: \"%.*s\"", en->name, (int)len, s);
}

static bool is_text_out(tl_type_id t)
{
    return stringish(t) || t == TL_UNKNOWN;
}

static bool cast_allowed(tl_type_id f, tl_type_id t, bool explicit_)
{
    if (f == t || f == TL_UNKNOWN) return true;
    if (can_implicit_cast(f, t)) return true;
    /* assignment-level casts */
    if (num_rank(f) && num_rank(t)) return true;
    if (is_text_out(t)) return true; /* every type has an output function */
    if (f == TL_TIMESTAMPTZ && (t == TL_TIMESTAMP || t == TL_DATE)) return true;
    if (f == TL_TIMESTAMP && t == TL_DATE) return true;
    if ((f == TL_JSON && t == TL_JSONB) || (f == TL_JSONB && t == TL_JSON)) return true;
    if (!explicit_) return false;
    if (stringish(f)) return true; /* text -> anything through its input function */
    if ((f == TL_BOOL && t == TL_INT4) || (f == TL_INT4 && t == TL_BOOL)) return true;
    if (f == TL_OID && tl_type_is_integer(t)) return true;
    if (tl_type_is_integer(f) && t == TL_OID) return true;
    return false;
}

int cast_datum(qctx *q, const tl_datum *in, tl_type from, tl_type to, tl_datum *out, tl_arena *a, tl_error *err)
{
    if (in->isnull) {
        memset(out, 0, sizeof *out);
        out->isnull = true;
        return 0;
    }
    tl_type_id f = from.id, t = to.id;
    int crc = cat_cast_datum(q, in, from, to, out, err);
    if (crc <= 0) return crc;
    *out = *in;
    if (f == TL_UNKNOWN || (stringish(f) && !is_text_out(t))) {
        if (t == TL_ENUM) return enum_in(q, to, in->v.s.ptr, in->v.s.len, out, err);
        if (tl_value_in(to, in->v.s.ptr, in->v.s.len, &q->fc, out, a, err) < 0) return -1;
        if (t == TL_NUMERIC && to.typmod >= 0) return tl_numeric_apply_typmod(&out->v.n, to.typmod, err);
        return 0;
    }
    if (is_text_out(t)) {
        if (stringish(f)) {
            if ((t == TL_VARCHAR || t == TL_BPCHAR) && to.typmod > 4) {
                /* explicit varchar(n) truncates; PostgreSQL counts characters */
                uint32_t maxc = (uint32_t)(to.typmod - 4), c = 0, k = 0;
                while (k < in->v.s.len && c < maxc) {
                    k++;
                    while (k < in->v.s.len && ((unsigned char)in->v.s.ptr[k] & 0xC0) == 0x80) k++;
                    c++;
                }
                out->v.s.len = k;
            }
            return 0;
        }
        if (f == TL_BOOL) {
            /* booltext: the cast spells the word out, unlike boolout's t/f */
            out->v.s.ptr = in->v.b ? "true" : "false";
            out->v.s.len = in->v.b ? 4 : 5;
            return 0;
        }
        tl_buf b;
        tl_buf_init(&b);
        q_format_value(q, from, in, &b);
        out->v.s.ptr = tl_arena_strndup(a, b.data ? b.data : "", b.len);
        out->v.s.len = (uint32_t)b.len;
        tl_buf_free(&b);
        return 0;
    }
    if (f == t) {
        if (t == TL_NUMERIC && to.typmod >= 0) return tl_numeric_apply_typmod(&out->v.n, to.typmod, err);
        return 0;
    }
    if ((t == TL_OID && (f == TL_INT2 || f == TL_INT4 || f == TL_INT8)) ||
        (f == TL_OID && (t == TL_INT2 || t == TL_INT4 || t == TL_INT8))) {
        /* int4 <-> oid is binary coercible in PostgreSQL: -1::oid is 4294967295 */
        int64_t v = in->v.i;
        if (t == TL_OID) {
            if (f == TL_INT8 && (v < 0 || v > UINT32_MAX)) return tl_errorf(err, "22003", "OID out of range");
            out->v.i = (int64_t)(uint32_t)v;
        } else if (t == TL_INT4 || t == TL_INT2) {
            out->v.i = (int32_t)(uint32_t)v;
            if (!int_fits(t, out->v.i)) return tl_errorf(err, "22003", "%s", int_range_msg(t));
        }
        return 0;
    }
    int rf = num_rank(f), rt = num_rank(t);
    if (rf && rt) {
        if (rf <= 3 && rt <= 3) {
            if (!int_fits(t, in->v.i)) return tl_errorf(err, "22003", "%s", int_range_msg(t));
            return 0;
        }
        if (rf <= 3 && t == TL_NUMERIC) {
            tl_numeric_from_i64(in->v.i, &out->v.n);
            if (to.typmod >= 0) return tl_numeric_apply_typmod(&out->v.n, to.typmod, err);
            return 0;
        }
        if (rf <= 3) {
            out->v.f = (double)in->v.i;
            return 0;
        }
        if (f == TL_NUMERIC && rt <= 3) {
            int64_t v;
            if (tl_numeric_to_i64(&in->v.n, &v, err) < 0 || !int_fits(t, v)) {
                tl_error_clear(err);
                return tl_errorf(err, "22003", "%s", int_range_msg(t));
            }
            out->v.i = v;
            return 0;
        }
        if (f == TL_NUMERIC) {
            out->v.f = tl_numeric_to_double(&in->v.n);
            return 0;
        }
        if (rt <= 3) {
            double d = rint(in->v.f);
            if (isnan(d) || d < -9.2233720368547758e18 || d >= 9.2233720368547758e18 || !int_fits(t, (int64_t)d))
                return tl_errorf(err, "22003", "%s", int_range_msg(t));
            out->v.i = (int64_t)d;
            return 0;
        }
        if (t == TL_NUMERIC) {
            if (tl_numeric_from_double(in->v.f, &out->v.n, err) < 0) return -1;
            if (to.typmod >= 0) return tl_numeric_apply_typmod(&out->v.n, to.typmod, err);
            return 0;
        }
        return 0; /* float4 <-> float8 */
    }
    switch (f) {
    case TL_DATE:
        if (t == TL_TIMESTAMP) out->v.i = in->v.i * TL_USECS_PER_DAY;
        else if (t == TL_TIMESTAMPTZ) out->v.i = tl_local_to_ts(in->v.i * TL_USECS_PER_DAY, q->fc.tz);
        else break;
        return 0;
    case TL_TIMESTAMP:
        if (t == TL_TIMESTAMPTZ) out->v.i = tl_local_to_ts(in->v.i, q->fc.tz);
        else if (t == TL_DATE) out->v.i = floor_div(in->v.i, TL_USECS_PER_DAY);
        else break;
        return 0;
    case TL_TIMESTAMPTZ:
        if (t == TL_TIMESTAMP) out->v.i = tl_ts_to_local(in->v.i, q->fc.tz);
        else if (t == TL_DATE) out->v.i = floor_div(tl_ts_to_local(in->v.i, q->fc.tz), TL_USECS_PER_DAY);
        else break;
        return 0;
    case TL_BOOL:
        if (t == TL_INT4) {
            out->v.i = in->v.b;
            return 0;
        }
        break;
    case TL_INT4:
        if (t == TL_BOOL) {
            out->v.b = in->v.i != 0;
            return 0;
        }
        break;
    case TL_JSON:
    case TL_JSONB: {
        /* through text: jsonb output is normalised, json keeps the text */
        tl_buf b;
        tl_buf_init(&b);
        q_format_value(q, from, in, &b);
        int rc = tl_value_in(to, b.data ? b.data : "", b.len, &q->fc, out, a, err);
        tl_buf_free(&b);
        return rc;
    }
    default:
        break;
    }
    return tl_errorf(err, "42846", "cannot cast type %s to %s", q_type_display_name(q, from),
                     q_type_display_name(q, to));
}

int cast_vec(qctx *q, const tl_vec *in, tl_type to, tl_vec *out, tl_arena *a, tl_error *err)
{
    uint32_t n = in->n;
    tl_vec_alloc(out, to, n, a);
    out->n = n;
    tl_type_id f = in->type.id;
    if (tl_type_is_integer(f) && to.id == TL_INT8) {
        memcpy(out->d.i, in->d.i, sizeof(int64_t) * n);
        if (in->nulls) memcpy(out->nulls, in->nulls, n);
        else memset(out->nulls, 0, n);
        return 0;
    }
    if (tl_type_is_integer(f) && (to.id == TL_FLOAT8 || to.id == TL_FLOAT4)) {
        for (uint32_t i = 0; i < n; i++) out->d.f[i] = (double)in->d.i[i];
        if (in->nulls) memcpy(out->nulls, in->nulls, n);
        else memset(out->nulls, 0, n);
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        tl_datum d, r;
        tl_vec_get(in, i, &d);
        if (cast_datum(q, &d, in->type, to, &r, a, err) < 0) return -1;
        tl_vec_set(out, i, &r);
    }
    return 0;
}

tl_expr *cast_expr(qctx *q, tl_expr *e, tl_type to, bool explicit_, tl_error *err)
{
    if (e->param > 0) return param_cast_hook(q, e, to); /* $n: its type is decided here */
    tl_type_id f = e->type.id;
    if (f == to.id && ((to.id != TL_ENUM && to.id != TL_OID && to.id != TL_ARRAY) || e->type.oid == to.oid) && (to.typmod < 0 || to.typmod == e->type.typmod))
        return e;
    if (!cast_allowed(f, to.id, explicit_) && !(f == TL_ENUM && to.id == TL_ENUM && e->type.oid == to.oid)) {
        err_at(err, e->location, "42846", "cannot cast type %s to %s", q_type_display_name(q, e->type),
               q_type_display_name(q, to));
        return NULL;
    }
    if (e->kind == E_CONST) {
        tl_datum r;
        if (cast_datum(q, &e->cval, e->type, to, &r, &q->arena, err) < 0) {
            if (err->position == 0 && e->location >= 0) err->position = e->location + 1;
            return NULL;
        }
        tl_expr *c = expr_const(q, to, &r, e->location);
        c->name = e->name;
        return c;
    }
    tl_expr *c = expr_new(q, E_FUNC, to, e->location);
    c->fn = &cast_def;
    c->name = e->name;
    c->nargs = 1;
    c->args = tl_arena_alloc(&q->arena, sizeof *c->args);
    c->args[0] = e;
    return c;
}
