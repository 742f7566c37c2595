/*
 * func_misc.c — scalar functions the reports and clients use beyond the basics: age,
 * make_date, make_timestamp[tz], justify_days/hours/interval, format() with %s %I %L,
 * and to_char for numbers with
 * the common templates (9 0 . D , G and FM). Each follows PostgreSQL's source
 * (timestamp.c, varlena.c text_format, formatting.c) for the cases it accepts; a
 * numeric template element outside that set is refused (0A000) rather than guessed.
 */
#include "query_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void put_str(qctx *q, tl_vec *out, uint32_t i, const char *p, size_t len)
{
    tl_datum d = {.isnull = false};
    d.v.s.ptr = tl_arena_strndup(&q->arena, p ? p : "", len);
    d.v.s.len = (uint32_t)len;
    tl_vec_set(out, i, &d);
}

/* ---- age ----------------------------------------------------------------------------- */

typedef struct tmx {
    int year, mon, mday, hour, min, sec;
    int64_t fsec;
} tmx;

static void breakdown(int64_t local_us, tmx *t)
{
    int64_t days = local_us / TL_USECS_PER_DAY, rem = local_us % TL_USECS_PER_DAY;
    if (rem < 0) {
        rem += TL_USECS_PER_DAY;
        days--;
    }
    tl_date_to_ymd((int32_t)days, &t->year, &t->mon, &t->mday);
    t->hour = (int)(rem / INT64_C(3600000000));
    rem %= INT64_C(3600000000);
    t->min = (int)(rem / 60000000);
    rem %= 60000000;
    t->sec = (int)(rem / 1000000);
    t->fsec = rem % 1000000;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* PostgreSQL's timestamp_age: field-wise difference, borrowing from the next field. */
static tl_interval age_of(int64_t l1, int64_t l2)
{
    tmx a, b, t;
    breakdown(l1, &a);
    breakdown(l2, &b);
    t.fsec = a.fsec - b.fsec;
    t.sec = a.sec - b.sec;
    t.min = a.min - b.min;
    t.hour = a.hour - b.hour;
    t.mday = a.mday - b.mday;
    t.mon = a.mon - b.mon;
    t.year = a.year - b.year;
    bool neg = l1 < l2;
    if (neg) {
        t.fsec = -t.fsec, t.sec = -t.sec, t.min = -t.min, t.hour = -t.hour;
        t.mday = -t.mday, t.mon = -t.mon, t.year = -t.year;
    }
    while (t.fsec < 0) t.fsec += 1000000, t.sec--;
    while (t.sec < 0) t.sec += 60, t.min--;
    while (t.min < 0) t.min += 60, t.hour--;
    while (t.hour < 0) t.hour += 24, t.mday--;
    while (t.mday < 0) {
        if (neg) t.mday += days_in_month(a.year, a.mon);
        else t.mday += days_in_month(b.year, b.mon);
        t.mon--;
    }
    while (t.mon < 0) t.mon += 12, t.year--;
    if (neg) {
        t.fsec = -t.fsec, t.sec = -t.sec, t.min = -t.min, t.hour = -t.hour;
        t.mday = -t.mday, t.mon = -t.mon, t.year = -t.year;
    }
    tl_interval r;
    r.months = t.year * 12 + t.mon;
    r.days = t.mday;
    r.us = (((int64_t)t.hour * 60 + t.min) * 60 + t.sec) * 1000000 + t.fsec;
    return r;
}

int k_age(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    (void)err;
    bool tz = e->args[0]->type.id == TL_TIMESTAMPTZ;
    const tl_tz *z = tz ? q->fc.tz : tl_tz_utc();
    /* age(x) = age(current_date at midnight, x) */
    int64_t today = tl_ts_to_local(q->now, q->fc.tz);
    today -= ((today % TL_USECS_PER_DAY) + TL_USECS_PER_DAY) % TL_USECS_PER_DAY;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        int64_t l1, l2;
        if (e->nargs == 1) {
            l1 = today;
            l2 = tz ? tl_ts_to_local(args[0].d.i[i], z) : args[0].d.i[i];
        } else {
            l1 = tz ? tl_ts_to_local(args[0].d.i[i], z) : args[0].d.i[i];
            l2 = tz ? tl_ts_to_local(args[1].d.i[i], z) : args[1].d.i[i];
        }
        out->d.iv[i] = age_of(l1, l2);
    }
    return 0;
}

/* ---- make_date / make_timestamp[tz] ------------------------------------------------- */

static int make_day(int64_t y, int64_t m, int64_t d, int32_t *out, tl_error *err)
{
    int64_t yy = y < 0 ? y + 1 : y; /* year -1 is 1 BC */
    if (y == 0 || m < 1 || m > 12 || d < 1 || yy < -4713 || yy > 5874897 || !tl_ymd_valid((int)yy, (int)m, (int)d))
        return tl_errorf(err, "22008", "date field value out of range: %lld-%02lld-%02lld", (long long)y,
                         (long long)m, (long long)d);
    *out = tl_ymd_to_date((int)yy, (int)m, (int)d);
    return 0;
}

int k_make_date(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    (void)q;
    (void)e;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        int32_t d = 0;
        if (make_day(args[0].d.i[i], args[1].d.i[i], args[2].d.i[i], &d, err) < 0) return -1;
        out->d.i[i] = d;
    }
    return 0;
}

int k_make_timestamp(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool tz = e->type.id == TL_TIMESTAMPTZ;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        int32_t d = 0;
        if (make_day(args[0].d.i[i], args[1].d.i[i], args[2].d.i[i], &d, err) < 0) return -1;
        int64_t h = args[3].d.i[i], mi = args[4].d.i[i];
        double sec = args[5].d.f[i];
        if (h < 0 || h > 24 || mi < 0 || mi > 59 || !(sec >= 0) || sec > 60 ||
            (h == 24 && (mi > 0 || sec > 0)))
            return tl_errorf(err, "22008", "time field value out of range: %lld:%02lld:%02g", (long long)h,
                             (long long)mi, sec);
        int64_t us = (int64_t)d * TL_USECS_PER_DAY + ((h * 60 + mi) * 60) * 1000000 + (int64_t)llround(sec * 1e6);
        const tl_tz *z = q->fc.tz;
        if (tz && e->nargs == 7) {
            char name[128];
            tl_str zs = args[6].d.s[i];
            if (zs.len >= sizeof name) return tl_errorf(err, "22023", "time zone \"%.*s\" not recognized", (int)zs.len, zs.ptr);
            memcpy(name, zs.ptr, zs.len);
            name[zs.len] = '\0';
            tl_error e2;
            tl_error_clear(&e2);
            if (!(z = tl_tz_get(name, &e2))) return tl_errorf(err, "22023", "time zone \"%s\" not recognized", name);
        }
        out->d.i[i] = tz ? tl_local_to_ts(us, z) : us;
    }
    return 0;
}

/* ---- justify_* (PostgreSQL's interval_justify_*) ---------------------------------------- */

int k_justify(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    (void)q;
    (void)err;
    char which = e->fn->name[8]; /* justify_[d]ays, [h]ours, [i]nterval */
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_interval v = args[0].d.iv[i];
        int64_t month = v.months, day = v.days, time = v.us;
        if (which == 'i' && ((day > 0 && time > 0) || (day < 0 && time < 0))) {
            int64_t wm = day / 30;
            day -= wm * 30;
            month += wm;
        }
        if (which != 'd') {
            int64_t wd = time / TL_USECS_PER_DAY;
            time -= wd * TL_USECS_PER_DAY;
            day += wd;
        }
        if (which != 'h') {
            int64_t wm = day / 30;
            day -= wm * 30;
            month += wm;
            if (month > 0 && (day < 0 || (which == 'i' && day == 0 && time < 0))) day += 30, month--;
            else if (month < 0 && (day > 0 || (which == 'i' && day == 0 && time > 0))) day -= 30, month++;
        }
        if (which != 'd') {
            if (day > 0 && time < 0) time += TL_USECS_PER_DAY, day--;
            else if (day < 0 && time > 0) time -= TL_USECS_PER_DAY, day++;
        }
        if (month > INT32_MAX || month < INT32_MIN || day > INT32_MAX || day < INT32_MIN)
            return tl_errorf(err, "22008", "interval out of range");
        out->d.iv[i] = (tl_interval){.us = time, .days = (int32_t)day, .months = (int32_t)month};
    }
    return 0;
}

/* ---- format() -------------------------------------------------------------------------- */

static void quote_literal(const char *p, size_t len, tl_buf *b)
{
    bool bs = memchr(p, '\\', len) != NULL;
    if (bs) tl_buf_putc(b, 'E');
    tl_buf_putc(b, '\'');
    for (size_t k = 0; k < len; k++) {
        if (p[k] == '\'' || p[k] == '\\') tl_buf_putc(b, p[k]);
        tl_buf_putc(b, p[k]);
    }
    tl_buf_putc(b, '\'');
}

static void pad(tl_buf *b, const char *p, size_t len, int width, bool left)
{
    /* widths count characters: UTF-8 continuation bytes take no column */
    size_t chars = 0;
    for (size_t k = 0; k < len; k++) chars += ((unsigned char)p[k] & 0xC0) != 0x80;
    if (!left)
        for (size_t k = chars; (int)k < width; k++) tl_buf_putc(b, ' ');
    tl_buf_append(b, p, len);
    if (left)
        for (size_t k = chars; (int)k < width; k++) tl_buf_putc(b, ' ');
}

int k_format(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    tl_buf b, v;
    tl_buf_init(&b);
    tl_buf_init(&v);
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (tl_vec_isnull(&args[0], i)) {
            out->nulls[i] = 1;
            continue;
        }
        out->nulls[i] = 0;
        tl_buf_clear(&b);
        tl_str f = args[0].d.s[i];
        int next = 1; /* the next argument for a specifier without n$ */
        for (uint32_t p = 0; p < f.len && rc == 0; p++) {
            if (f.ptr[p] != '%') {
                tl_buf_putc(&b, f.ptr[p]);
                continue;
            }
            if (++p >= f.len) {
                rc = tl_errorf(err, "22023", "unterminated format() type specifier");
                break;
            }
            if (f.ptr[p] == '%') {
                tl_buf_putc(&b, '%');
                continue;
            }
            /* [n$][-][width] */
            int argn = 0, width = 0;
            bool left = false;
            uint32_t s = p;
            int num = 0;
            while (p < f.len && f.ptr[p] >= '0' && f.ptr[p] <= '9') num = num * 10 + (f.ptr[p++] - '0');
            if (p < f.len && f.ptr[p] == '$' && p > s) {
                argn = num;
                p++;
                if (argn == 0) {
                    rc = tl_errorf(err, "22023", "format specifies argument 0, but arguments are numbered from 1");
                    break;
                }
            } else {
                p = s;
            }
            if (p < f.len && f.ptr[p] == '-') left = true, p++;
            while (p < f.len && f.ptr[p] >= '0' && f.ptr[p] <= '9') width = width * 10 + (f.ptr[p++] - '0');
            if (p >= f.len) {
                rc = tl_errorf(err, "22023", "unterminated format() type specifier");
                break;
            }
            char c = f.ptr[p];
            if (c != 's' && c != 'I' && c != 'L') {
                rc = tl_errorf(err, "22023", "unrecognized format() type specifier \"%c\"", c);
                break;
            }
            int k = argn ? argn : next;
            next = k + 1;
            if (k >= e->nargs) {
                rc = tl_errorf(err, "22023", "too few arguments for format()");
                break;
            }
            tl_buf_clear(&v);
            bool isnull = tl_vec_isnull(&args[k], i);
            if (!isnull) {
                tl_datum d;
                tl_vec_get(&args[k], i, &d);
                q_format_value(q, args[k].type, &d, &v);
            }
            tl_buf qv;
            tl_buf_init(&qv);
            if (c == 's') {
                if (!isnull) tl_buf_append(&qv, v.data, v.len);
            } else if (c == 'I') {
                if (isnull) {
                    tl_buf_free(&qv);
                    rc = tl_errorf(err, "22004", "null values cannot be formatted as an SQL identifier");
                    break;
                }
                cat_quote_ident(v.data ? v.data : "", (uint32_t)v.len, &qv);
            } else {
                if (isnull) tl_buf_puts(&qv, "NULL");
                else quote_literal(v.data ? v.data : "", v.len, &qv);
            }
            pad(&b, qv.data ? qv.data : "", qv.len, width, left);
            tl_buf_free(&qv);
        }
        if (rc == 0) put_str(q, out, i, b.data, b.len);
    }
    tl_buf_free(&b);
    tl_buf_free(&v);
    return rc;
}

/* ---- to_char(number, template) ------------------------------------------------------ */

int k_to_char_num(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    tl_type_id at = args[0].type.id;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str f = args[1].d.s[i];
        bool fm = f.len >= 2 && (f.ptr[0] == 'F' || f.ptr[0] == 'f') && (f.ptr[1] == 'M' || f.ptr[1] == 'm');
        const char *pat = f.ptr + (fm ? 2 : 0);
        size_t plen = f.len - (fm ? 2 : 0);
        int idig = 0, fdig = 0, first_zero = -1;
        bool point = false;
        for (size_t k = 0; k < plen; k++) {
            char c = pat[k];
            if (c == '9' || c == '0') {
                if (point) fdig++;
                else {
                    if (c == '0' && first_zero < 0) first_zero = idig;
                    idig++;
                }
            } else if ((c == '.' || c == 'D' || c == 'd') && !point) {
                point = true;
            } else if (c == ',' || c == 'G' || c == 'g') {
                continue;
            } else {
                return tl_errorf(err, "0A000", "to_char template element \"%c\" for numbers is not supported yet", c);
            }
        }
        /* the value rounded to the template's fraction digits */
        tl_numeric v;
        tl_datum d;
        tl_vec_get(&args[0], i, &d);
        if (at == TL_NUMERIC) v = d.v.n;
        else if (at == TL_FLOAT8 || at == TL_FLOAT4) {
            if (tl_numeric_from_double(d.v.f, &v, err) < 0) return -1;
        } else tl_numeric_from_i64(d.v.i, &v);
        if (v.nan) {
            put_str(q, out, i, "NaN", 3);
            continue;
        }
        tl_numeric r;
        if (tl_numeric_round(&v, fdig, &r, err) < 0) return -1;
        bool neg = r.mant < 0;
        tl_u128 mag = neg ? (tl_u128)(-r.mant) : (tl_u128)r.mant;
        /* digits of |r| with exactly fdig fraction digits */
        char digs[80];
        int nd = 0;
        int scale = r.scale;
        while (scale < fdig) mag *= 10, scale++;
        do {
            digs[nd++] = (char)('0' + (int)(mag % 10));
            mag /= 10;
        } while (mag && nd < 79);
        while (nd < fdig + 1) digs[nd++] = '0';
        /* digs holds least significant first: [0, fdig) fraction, [fdig, nd) integer */
        int nint = nd - fdig;
        bool int_zero = nint == 1 && digs[fdig] == '0';
        bool overflow = nint > idig && !(int_zero && idig == 0);
        int nshow = int_zero ? (point ? 0 : 1) : nint; /* 0.5 prints as .50, 0 as 0 */
        tl_buf b;
        tl_buf_init(&b);
        tl_buf_putc(&b, ' '); /* the sign's place */
        int ipos = 0, fpos = 0;
        bool started = false, in_frac = false;
        for (size_t k = 0; k < plen; k++) {
            char c = pat[k];
            if (c == '9' || c == '0') {
                if (overflow) {
                    tl_buf_putc(&b, '#');
                } else if (!in_frac) {
                    int r2 = idig - 1 - ipos; /* which integer digit this slot shows */
                    bool forced = first_zero >= 0 && ipos >= first_zero;
                    if (r2 < nshow || forced) {
                        char dch = r2 < nint ? digs[fdig + r2] : '0';
                        if (!started && neg) b.data[b.len - 1] = '-'; /* the sign sits before the first digit */
                        tl_buf_putc(&b, dch);
                        started = true;
                    } else {
                        tl_buf_putc(&b, ' ');
                    }
                    ipos++;
                } else {
                    tl_buf_putc(&b, digs[fdig - 1 - fpos]);
                    fpos++;
                }
            } else if (c == '.' || c == 'D' || c == 'd') {
                if (!started && !overflow && neg) b.data[b.len - 1] = '-';
                started = true;
                in_frac = true;
                tl_buf_putc(&b, '.');
            } else { /* group separator: only between shown digits */
                tl_buf_putc(&b, started || overflow ? ',' : ' ');
            }
        }
        /* a sign slot that was not used stays a space at the front */
        if (!started && neg && !overflow && b.len) b.data[b.len - 1] = '-';
        char *s = b.data;
        size_t len = b.len;
        if (fm) {
            size_t st = 0;
            while (st < len && s[st] == ' ') st++;
            s += st;
            len -= st;
            /* trailing zeros of 9-positions in the fraction go */
            if (point) {
                size_t k = plen;
                while (len && k > 0 && pat[k - 1] == '9' && s[len - 1] == '0') len--, k--;
            }
        }
        put_str(q, out, i, s, len);
        tl_buf_free(&b);
    }
    return 0;
}
