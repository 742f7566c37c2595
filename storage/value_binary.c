/*
 * value_binary.c — PostgreSQL's binary (typsend/typrecv) formats, for Bind parameters
 * and result columns a client asks for in binary: network-order integers, IEEE floats,
 * int64 microseconds for timestamps (integer_datetimes), numeric as base-10000 digits,
 * jsonb as a version byte and its text, one-dimensional arrays (and int2vector/oidvector)
 * as array_send's header and length-prefixed elements. Receive checks lengths as pq_getmsg* does:
 * short data is 08P01, trailing bytes 22P03, out-of-range values the type's own error.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "value_int.h"

/* PG's datetime limits (datatype/timestamp.h): julian day 0 .. the end of the range. */
#define MIN_DATE_DAYS (-2451545)
#define END_DATE_DAYS (2147483494 - 2451545)
#define MIN_TIMESTAMP INT64_C(-211813488000000000)
#define END_TIMESTAMP INT64_C(9223371331200000000)

static void put_u16(tl_buf *b, uint16_t v)
{
    char c[2] = {(char)(v >> 8), (char)v};
    tl_buf_append(b, c, 2);
}

static void put_u32(tl_buf *b, uint32_t v)
{
    char c[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
    tl_buf_append(b, c, 4);
}

static void put_u64(tl_buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)(v >> 32));
    put_u32(b, (uint32_t)v);
}

static uint64_t get_be(const char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | (unsigned char)p[i];
    return v;
}

bool tl_type_has_binary(tl_type_id id)
{
    switch (id) {
    case TL_BOOL: case TL_INT2: case TL_INT4: case TL_INT8: case TL_FLOAT4: case TL_FLOAT8:
    case TL_NUMERIC: case TL_TEXT: case TL_VARCHAR: case TL_BPCHAR: case TL_NAME: case TL_UUID:
    case TL_DATE: case TL_TIMESTAMP: case TL_TIMESTAMPTZ: case TL_INTERVAL: case TL_JSON:
    case TL_JSONB: case TL_OID: case TL_UNKNOWN: case TL_VOID: case TL_CHAR:
        return true;
    default:
        return false;
    }
}

bool tl_type_binary_ok(tl_type t)
{
    if (t.id != TL_ARRAY) return tl_type_has_binary(t.id);
    /* aclitem has no binary form in PostgreSQL either; other element types do */
    uint32_t eo = tl_array_elem_oid(t.oid);
    return eo && t.oid != TL_OID_ACLITEMARRAY && tl_type_has_binary(tl_array_elem_type(t.oid).id);
}

static int short_data(tl_error *err)
{
    return tl_errorf(err, "08P01", "insufficient data left in message");
}

/* array_send of tally's arrays: all one-dimensional (the text form has no nesting).
 * Lower bound 1, but 0 for int2vector/oidvector, as buildint2vector makes them. */
static void array_send(tl_type t, const tl_datum *d, tl_buf *out)
{
    tl_arena a;
    tl_arena_init(&a);
    tl_error err;
    tl_error_clear(&err);
    tl_array_elems el;
    if (tl_array_parse(t.oid, d->v.s.ptr, d->v.s.len, &el, &a, &err) < 0) el.n = 0; /* stored arrays parse */
    tl_type et = tl_array_elem_type(t.oid);
    bool anynull = false;
    for (int i = 0; i < el.n; i++) anynull |= el.isnull[i];
    put_u32(out, el.n ? 1 : 0);
    put_u32(out, anynull ? 1 : 0);
    put_u32(out, tl_array_elem_oid(t.oid));
    if (el.n) {
        put_u32(out, (uint32_t)el.n);
        put_u32(out, t.oid == TL_OID_INT2VECTOR || t.oid == TL_OID_OIDVECTOR ? 0 : 1);
    }
    tl_fmt_ctx fc = {.tz = tl_tz_utc(), .extra_float_digits = 1};
    for (int i = 0; i < el.n; i++) {
        tl_datum ed;
        if (el.isnull[i] || tl_value_in(et, el.v[i].ptr, el.v[i].len, &fc, &ed, &a, &err) < 0) {
            put_u32(out, UINT32_MAX); /* -1: NULL */
            tl_error_clear(&err);
            continue;
        }
        size_t at = out->len;
        put_u32(out, 0);
        tl_value_send(et, &ed, out);
        uint32_t n = (uint32_t)(out->len - at - 4);
        unsigned char *lp = (unsigned char *)out->data + at;
        lp[0] = (unsigned char)(n >> 24), lp[1] = (unsigned char)(n >> 16), lp[2] = (unsigned char)(n >> 8),
        lp[3] = (unsigned char)n;
    }
    tl_arena_free(&a);
}

/* array_recv: checks as PostgreSQL's (dimensions, flags, element type), each element
 * through its type's receive function; stored in the canonical text form. */
static int array_recv(tl_type t, const char *p, size_t len, tl_datum *out, tl_arena *a, tl_error *err)
{
    if (len < 12) return short_data(err);
    int32_t ndim = (int32_t)get_be(p, 4);
    int32_t flags = (int32_t)get_be(p + 4, 4);
    uint32_t eoid = (uint32_t)get_be(p + 8, 4);
    p += 12, len -= 12;
    if (ndim < 0 || ndim > 6) return tl_errorf(err, "22P03", "invalid number of dimensions: %d", ndim);
    if (flags != 0 && flags != 1) return tl_errorf(err, "22P03", "invalid array flags");
    uint32_t want = tl_array_elem_oid(t.oid);
    if (eoid != want) {
        const char *got = "unknown";
        for (int id = 0; id < TL_TYPE_COUNT; id++)
            if (id != TL_ENUM && tl_type_oid(tl_type_make((tl_type_id)id)) == eoid) got = tl_type_name((tl_type_id)id);
        return tl_errorf(err, "42804", "binary data has array element type %u (%s) instead of expected %u (%s)",
                         eoid, got, want, tl_type_name(tl_array_elem_type(t.oid).id));
    }
    if (ndim > 1) return tl_errorf(err, "0A000", "multidimensional arrays are not supported");
    int64_t n = 0;
    if (ndim == 1) {
        if (len < 8) return short_data(err);
        n = (int32_t)get_be(p, 4);
        p += 8, len -= 8; /* the lower bound is not kept: tally's arrays start at 1 */
        if (n < 0 || n > 134217727) return tl_errorf(err, "54000", "array size exceeds the maximum allowed (134217727)");
    }
    tl_type et = tl_array_elem_type(t.oid);
    tl_array_elems el = {.n = 0};
    el.v = tl_arena_alloc(a, sizeof *el.v * (size_t)(n ? n : 1));
    el.isnull = tl_arena_alloc(a, (size_t)(n ? n : 1));
    tl_fmt_ctx fc = {.tz = tl_tz_utc(), .extra_float_digits = 1};
    for (int64_t i = 0; i < n; i++) {
        if (len < 4) return short_data(err);
        int32_t elen = (int32_t)get_be(p, 4);
        p += 4, len -= 4;
        el.isnull[el.n] = elen == -1;
        el.v[el.n] = (tl_str){"", 0};
        if (elen != -1) {
            if (elen < 0 || (size_t)elen > len) return tl_errorf(err, "22P03", "insufficient data left in message");
            tl_datum ed;
            if (tl_value_recv(et, p, (size_t)elen, &ed, a, err) < 0) return -1;
            tl_buf b;
            tl_buf_init(&b);
            tl_value_out(et, &ed, &fc, &b);
            el.v[el.n].ptr = tl_arena_strndup(a, b.data ? b.data : "", b.len);
            el.v[el.n].len = (uint32_t)b.len;
            tl_buf_free(&b);
            p += elen, len -= (size_t)elen;
        }
        el.n++;
    }
    if (len) return tl_errorf(err, "22P03", "incorrect binary data format");
    tl_buf b;
    tl_buf_init(&b);
    tl_array_format(t.oid, &el, &b);
    out->v.s.ptr = tl_arena_strndup(a, b.data ? b.data : "", b.len);
    out->v.s.len = (uint32_t)b.len;
    tl_buf_free(&b);
    return 0;
}

/* numeric_send: the decimal text regrouped into base-10000 digits around the point. */
static void numeric_send(const tl_numeric *n, tl_buf *out)
{
    if (n->nan) {
        put_u16(out, 0);
        put_u16(out, 0);
        put_u16(out, 0xC000);
        put_u16(out, 0);
        return;
    }
    tl_buf t;
    tl_buf_init(&t);
    val__numeric_out(n, &t);
    tl_buf_putc(&t, '\0');
    const char *s = t.data;
    bool neg = *s == '-';
    if (neg) s++;
    const char *dot = strchr(s, '.');
    size_t ilen = dot ? (size_t)(dot - s) : strlen(s);
    const char *frac = dot ? dot + 1 : "";
    size_t flen = strlen(frac);
    /* integer digits padded on the left, fraction on the right, to whole groups */
    size_t ipad = (4 - ilen % 4) % 4, fpad = (4 - flen % 4) % 4;
    size_t total = ipad + ilen + flen + fpad;
    char *dig = malloc(total + 1);
    memset(dig, '0', total);
    memcpy(dig + ipad, s, ilen);
    memcpy(dig + ipad + ilen, frac, flen);
    int ngroups = (int)(total / 4), igroups = (int)((ipad + ilen) / 4);
    uint16_t *g = malloc(sizeof *g * (size_t)(ngroups + 1));
    for (int i = 0; i < ngroups; i++)
        g[i] = (uint16_t)((dig[4 * i] - '0') * 1000 + (dig[4 * i + 1] - '0') * 100 +
                          (dig[4 * i + 2] - '0') * 10 + (dig[4 * i + 3] - '0'));
    int first = 0, last = ngroups - 1;
    while (first <= last && g[first] == 0) first++;
    while (last >= first && g[last] == 0) last--;
    int nd = first <= last ? last - first + 1 : 0;
    int weight = nd ? igroups - 1 - first : 0;
    put_u16(out, (uint16_t)nd);
    put_u16(out, (uint16_t)(int16_t)weight);
    put_u16(out, nd && neg ? 0x4000 : 0);
    put_u16(out, (uint16_t)n->scale);
    for (int i = first; i <= last; i++) put_u16(out, g[i]);
    free(g);
    free(dig);
    tl_buf_free(&t);
}

void tl_value_send(tl_type t, const tl_datum *d, tl_buf *out)
{
    switch (t.id) {
    case TL_BOOL:
        tl_buf_putc(out, d->v.b ? 1 : 0);
        break;
    case TL_INT2:
        put_u16(out, (uint16_t)(int16_t)d->v.i);
        break;
    case TL_INT4:
    case TL_OID:
    case TL_DATE:
        put_u32(out, (uint32_t)(int32_t)d->v.i);
        break;
    case TL_INT8:
    case TL_TIMESTAMP:
    case TL_TIMESTAMPTZ:
        put_u64(out, (uint64_t)d->v.i);
        break;
    case TL_FLOAT4: {
        float f = (float)d->v.f;
        uint32_t u;
        memcpy(&u, &f, 4);
        put_u32(out, u);
        break;
    }
    case TL_FLOAT8: {
        uint64_t u;
        memcpy(&u, &d->v.f, 8);
        put_u64(out, u);
        break;
    }
    case TL_NUMERIC:
        numeric_send(&d->v.n, out);
        break;
    case TL_UUID:
        tl_buf_append(out, (const char *)d->v.u.b, 16);
        break;
    case TL_INTERVAL:
        put_u64(out, (uint64_t)d->v.iv.us);
        put_u32(out, (uint32_t)d->v.iv.days);
        put_u32(out, (uint32_t)d->v.iv.months);
        break;
    case TL_JSONB:
        tl_buf_putc(out, 1);
        tl_buf_append(out, d->v.s.ptr, d->v.s.len);
        break;
    case TL_VOID:
        break;
    case TL_CHAR: /* charsend: always one byte */
        tl_buf_putc(out, d->v.s.len ? d->v.s.ptr[0] : 0);
        break;
    case TL_ARRAY:
        array_send(t, d, out);
        break;
    default: /* text, varchar, bpchar, name, json, unknown: the characters */
        tl_buf_append(out, d->v.s.ptr, d->v.s.len);
        break;
    }
}


/* pg_verify_mbstr for UTF-8: what text receive functions check. */
static int utf8_check(const char *s, size_t len, tl_error *err)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        bool ok = n > 0 && c != 0 && i + n <= len;
        if (ok && n == 2 && c < 0xC2) ok = false;
        for (size_t k = 1; ok && k < n; k++)
            if ((p[i + k] & 0xC0) != 0x80) ok = false;
        if (ok && n == 3) {
            uint32_t cp = (c & 0x0F) << 12 | (p[i + 1] & 0x3Fu) << 6 | (p[i + 2] & 0x3Fu);
            if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) ok = false;
        }
        if (ok && n == 4) {
            uint32_t cp = (c & 0x07) << 18 | (p[i + 1] & 0x3Fu) << 12 | (p[i + 2] & 0x3Fu) << 6 |
                          (p[i + 3] & 0x3Fu);
            if (cp < 0x10000 || cp > 0x10FFFF) ok = false;
        }
        if (!ok) {
            tl_buf b;
            tl_buf_init(&b);
            for (size_t k = i; k < len && k < i + (n ? n : 1); k++)
                tl_buf_printf(&b, "%s0x%02x", k > i ? " " : "", p[k]);
            tl_buf_putc(&b, '\0');
            tl_errorf(err, "22021", "invalid byte sequence for encoding \"UTF8\": %s", b.data);
            tl_buf_free(&b);
            return -1;
        }
        i += n;
    }
    return 0;
}

/* numeric_recv: validate the digits, then go through the text form (typmod, limits). */
static int numeric_recv(tl_type t, const char *p, size_t len, tl_datum *out, tl_arena *a,
                        tl_error *err)
{
    if (len < 8) return short_data(err);
    int nd = (int)get_be(p, 2);
    int weight = (int16_t)get_be(p + 2, 2);
    uint16_t sign = (uint16_t)get_be(p + 4, 2);
    int dscale = (int)get_be(p + 6, 2);
    if (len < 8 + 2 * (size_t)nd) return short_data(err);
    if (len > 8 + 2 * (size_t)nd)
        return tl_errorf(err, "22P03", "incorrect binary data format");
    if (sign == 0xC000) {
        out->v.n.nan = 1;
        return 0;
    }
    if (sign != 0 && sign != 0x4000)
        return tl_errorf(err, "22P03", "invalid sign in external \"numeric\" value");
    if (dscale > 0x3FFF)
        return tl_errorf(err, "22P03", "invalid scale in external \"numeric\" value");
    tl_buf s;
    tl_buf_init(&s);
    if (sign == 0x4000) tl_buf_putc(&s, '-');
    /* integer part: groups with index <= weight */
    if (weight < 0 || nd == 0) {
        tl_buf_putc(&s, '0');
    } else {
        for (int i = 0; i <= weight; i++) {
            int dg = i < nd ? (int)get_be(p + 8 + 2 * i, 2) : 0;
            if (dg > 9999) goto bad_digit;
            tl_buf_printf(&s, i == 0 ? "%d" : "%04d", dg);
        }
    }
    if (dscale > 0) {
        tl_buf_putc(&s, '.');
        size_t start = s.len;
        for (int i = weight + 1; (int)(s.len - start) < dscale; i++) {
            int dg = i >= 0 && i < nd ? (int)get_be(p + 8 + 2 * i, 2) : 0;
            if (dg > 9999) goto bad_digit;
            tl_buf_printf(&s, "%04d", dg);
        }
        s.len = start + (size_t)dscale;
    }
    for (int i = 0; i < nd; i++)
        if (get_be(p + 8 + 2 * i, 2) > 9999) goto bad_digit;
    tl_buf_putc(&s, '\0');
    tl_fmt_ctx fc = {.tz = tl_tz_utc(), .extra_float_digits = 1};
    int rc = tl_value_in(t, s.data, s.len - 1, &fc, out, a, err);
    tl_buf_free(&s);
    return rc;
bad_digit:
    tl_buf_free(&s);
    return tl_errorf(err, "22P03", "invalid digit in external \"numeric\" value");
}

int tl_value_recv(tl_type t, const char *p, size_t len, tl_datum *out, tl_arena *a, tl_error *err)
{
    memset(out, 0, sizeof *out);
    size_t want = 0;
    switch (t.id) {
    case TL_BOOL: want = 1; break;
    case TL_INT2: want = 2; break;
    case TL_INT4: case TL_OID: case TL_DATE: case TL_FLOAT4: want = 4; break;
    case TL_INT8: case TL_TIMESTAMP: case TL_TIMESTAMPTZ: case TL_FLOAT8: want = 8; break;
    case TL_UUID: want = 16; break;
    case TL_INTERVAL: want = 16; break;
    default: break;
    }
    if (want) {
        if (len < want) return short_data(err);
        if (len > want) return tl_errorf(err, "22P03", "incorrect binary data format");
    }
    switch (t.id) {
    case TL_BOOL:
        out->v.b = p[0] != 0;
        return 0;
    case TL_INT2:
        out->v.i = (int16_t)get_be(p, 2);
        return 0;
    case TL_INT4:
        out->v.i = (int32_t)get_be(p, 4);
        return 0;
    case TL_OID:
        out->v.i = (int64_t)(uint32_t)get_be(p, 4);
        return 0;
    case TL_INT8:
        out->v.i = (int64_t)get_be(p, 8);
        return 0;
    case TL_DATE: {
        int32_t d = (int32_t)get_be(p, 4);
        if (d != TL_DATE_NOBEGIN && d != TL_DATE_NOEND && (d < MIN_DATE_DAYS || d >= END_DATE_DAYS))
            return tl_errorf(err, "22008", "date out of range");
        out->v.i = d;
        return 0;
    }
    case TL_TIMESTAMP:
    case TL_TIMESTAMPTZ: {
        int64_t ts = (int64_t)get_be(p, 8);
        if (ts != TL_TS_NOBEGIN && ts != TL_TS_NOEND && (ts < MIN_TIMESTAMP || ts >= END_TIMESTAMP))
            return tl_errorf(err, "22008", "timestamp out of range");
        out->v.i = ts;
        return 0;
    }
    case TL_FLOAT4: {
        uint32_t u = (uint32_t)get_be(p, 4);
        float f;
        memcpy(&f, &u, 4);
        out->v.f = f;
        return 0;
    }
    case TL_FLOAT8: {
        uint64_t u = get_be(p, 8);
        memcpy(&out->v.f, &u, 8);
        return 0;
    }
    case TL_UUID:
        memcpy(out->v.u.b, p, 16);
        return 0;
    case TL_INTERVAL:
        out->v.iv.us = (int64_t)get_be(p, 8);
        out->v.iv.days = (int32_t)get_be(p + 8, 4);
        out->v.iv.months = (int32_t)get_be(p + 12, 4);
        return 0;
    case TL_NUMERIC:
        return numeric_recv(t, p, len, out, a, err);
    case TL_JSONB:
        if (len < 1) return short_data(err);
        if (p[0] != 1) return tl_errorf(err, "XX000", "unsupported jsonb version number %d", p[0]);
        p++;
        len--;
        /* fall through */
    case TL_JSON: {
        if (utf8_check(p, len, err) < 0) return -1;
        tl_fmt_ctx fc = {.tz = tl_tz_utc(), .extra_float_digits = 1};
        return tl_value_in(t, p, len, &fc, out, a, err);
    }
    case TL_UNKNOWN: case TL_TEXT: case TL_VARCHAR: case TL_BPCHAR: case TL_NAME: {
        if (utf8_check(p, len, err) < 0) return -1;
        /* receive functions take the bytes as they are: no typmod (PG applies it on
         * assignment), but name is still clipped to NAMEDATALEN-1 */
        tl_type plain = t;
        plain.typmod = -1;
        tl_fmt_ctx fc = {.tz = tl_tz_utc(), .extra_float_digits = 1};
        return tl_value_in(plain, p, len, &fc, out, a, err);
    }
    case TL_VOID:
        return 0;
    case TL_CHAR:
        if (len != 1) return len ? tl_errorf(err, "22P03", "incorrect binary data format") : short_data(err);
        out->v.s.ptr = tl_arena_strndup(a, p, p[0] ? 1 : 0);
        out->v.s.len = p[0] ? 1 : 0;
        return 0;
    case TL_ARRAY:
        if (!tl_type_binary_ok(t)) break;
        return array_recv(t, p, len, out, a, err);
    default:
        break;
    }
    return tl_errorf(err, "42883", "no binary input function available for type %s", tl_type_name(t.id));
}
