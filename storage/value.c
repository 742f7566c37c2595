/*
 * value.c — type catalogue, vectors, and the text input/output dispatch for every SQL
 * type, with the simple scalars (boolean, integers, floats, oid, strings, uuid) done
 * here. Formats and error texts are PostgreSQL 15's, because clients compare our bytes
 * with what PostgreSQL would have sent; numeric, date/time and json live in their own
 * files behind value_int.h.
 */
#include "value_int.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <xxhash.h>

/* ---- type catalogue -------------------------------------------------------- */

static const struct {
    const char *name;
    uint32_t oid;
    int16_t len;
} type_info[TL_TYPE_COUNT] = {
    [TL_UNKNOWN] = {"unknown", TL_OID_UNKNOWN, -2},
    [TL_BOOL] = {"boolean", TL_OID_BOOL, 1},
    [TL_INT2] = {"smallint", TL_OID_INT2, 2},
    [TL_INT4] = {"integer", TL_OID_INT4, 4},
    [TL_INT8] = {"bigint", TL_OID_INT8, 8},
    [TL_FLOAT4] = {"real", TL_OID_FLOAT4, 4},
    [TL_FLOAT8] = {"double precision", TL_OID_FLOAT8, 8},
    [TL_NUMERIC] = {"numeric", TL_OID_NUMERIC, -1},
    [TL_TEXT] = {"text", TL_OID_TEXT, -1},
    [TL_VARCHAR] = {"character varying", TL_OID_VARCHAR, -1},
    [TL_BPCHAR] = {"character", TL_OID_BPCHAR, -1},
    [TL_NAME] = {"name", TL_OID_NAME, 64},
    [TL_UUID] = {"uuid", TL_OID_UUID, 16},
    [TL_DATE] = {"date", TL_OID_DATE, 4},
    [TL_TIMESTAMP] = {"timestamp without time zone", TL_OID_TIMESTAMP, 8},
    [TL_TIMESTAMPTZ] = {"timestamp with time zone", TL_OID_TIMESTAMPTZ, 8},
    [TL_INTERVAL] = {"interval", TL_OID_INTERVAL, 16},
    [TL_JSON] = {"json", TL_OID_JSON, -1},
    [TL_JSONB] = {"jsonb", TL_OID_JSONB, -1},
    [TL_OID] = {"oid", TL_OID_OID, 4},
    /* anyenum's OID (3500): a real enum carries its catalog oid in tl_type.oid */
    [TL_ENUM] = {"anyenum", 3500, 4},
    [TL_VOID] = {"void", TL_OID_VOID, 4},
    [TL_CHAR] = {"\"char\"", TL_OID_CHAR, 1},
    /* anyarray's OID: a real array carries its own in tl_type.oid */
    [TL_ARRAY] = {"anyarray", 2277, -1},
};

tl_type tl_type_make(tl_type_id id)
{
    tl_type t = {.id = id, .typmod = -1, .oid = 0};
    if ((unsigned)id < TL_TYPE_COUNT)
        t.oid = type_info[id].oid;
    return t;
}

uint32_t tl_type_oid(tl_type t)
{
    if (t.oid != 0)
        return t.oid;
    return (unsigned)t.id < TL_TYPE_COUNT ? type_info[t.id].oid : 0;
}

const char *tl_type_name(tl_type_id id)
{
    return (unsigned)id < TL_TYPE_COUNT ? type_info[id].name : "???";
}

int16_t tl_type_len(tl_type_id id)
{
    return (unsigned)id < TL_TYPE_COUNT ? type_info[id].len : -1;
}

bool tl_type_is_string(tl_type_id id)
{
    switch (id) {
    case TL_TEXT: case TL_VARCHAR: case TL_BPCHAR: case TL_NAME: case TL_JSON: case TL_JSONB:
    case TL_CHAR: case TL_ARRAY:
        return true;
    default:
        return false;
    }
}

bool tl_type_is_integer(tl_type_id id)
{
    return id == TL_INT2 || id == TL_INT4 || id == TL_INT8 || id == TL_OID;
}

/* ---- vectors ------------------------------------------------------------------ */

/* Physical classes: how a type's value sits in tl_datum.v and in a vector. */
typedef enum phys { PH_BOOL, PH_I64, PH_F64, PH_NUM, PH_STR, PH_UUID, PH_IV } phys;

static phys phys_of(tl_type_id id)
{
    switch (id) {
    case TL_BOOL: return PH_BOOL;
    case TL_FLOAT4: case TL_FLOAT8: return PH_F64;
    case TL_NUMERIC: return PH_NUM;
    case TL_UNKNOWN: case TL_TEXT: case TL_VARCHAR: case TL_BPCHAR: case TL_NAME: case TL_JSON:
    case TL_JSONB: case TL_CHAR: case TL_ARRAY:
        return PH_STR;
    case TL_UUID: return PH_UUID;
    case TL_INTERVAL: return PH_IV;
    default: return PH_I64; /* ints, date, timestamps, oid, enum ordinal, void */
    }
}

size_t tl_vec_elem_size(tl_type_id id)
{
    switch (phys_of(id)) {
    case PH_BOOL: return sizeof(bool);
    case PH_I64: return sizeof(int64_t);
    case PH_F64: return sizeof(double);
    case PH_NUM: return sizeof(tl_numeric);
    case PH_STR: return sizeof(tl_str);
    case PH_UUID: return sizeof(tl_uuid);
    case PH_IV: return sizeof(tl_interval);
    }
    return 8;
}

void tl_vec_alloc(tl_vec *v, tl_type t, uint32_t cap, tl_arena *a)
{
    if (cap == 0)
        cap = TL_VEC_SIZE;
    v->type = t;
    v->n = 0;
    v->nulls = tl_arena_zalloc(a, cap);
    v->d.raw = tl_arena_zalloc(a, (size_t)cap * tl_vec_elem_size(t.id));
}

bool tl_vec_isnull(const tl_vec *v, uint32_t i)
{
    return v->nulls != NULL && v->nulls[i] != 0;
}

void tl_vec_get(const tl_vec *v, uint32_t i, tl_datum *out)
{
    memset(out, 0, sizeof *out);
    if (tl_vec_isnull(v, i)) {
        out->isnull = true;
        return;
    }
    switch (phys_of(v->type.id)) {
    case PH_BOOL: out->v.b = v->d.b[i] != 0; break;
    case PH_I64: out->v.i = v->d.i[i]; break;
    case PH_F64: out->v.f = v->d.f[i]; break;
    case PH_NUM: out->v.n = v->d.n[i]; break;
    case PH_STR: out->v.s = v->d.s[i]; break;
    case PH_UUID: out->v.u = v->d.u[i]; break;
    case PH_IV: out->v.iv = v->d.iv[i]; break;
    }
}

void tl_vec_set(tl_vec *v, uint32_t i, const tl_datum *d)
{
    if (d->isnull) {
        /* a vector allocated elsewhere may come without a null map */
        if (v->nulls != NULL)
            v->nulls[i] = 1;
        else
            tl_panic("tl_vec_set: NULL into a vector without a null map");
        return;
    }
    if (v->nulls != NULL)
        v->nulls[i] = 0;
    switch (phys_of(v->type.id)) {
    case PH_BOOL: v->d.b[i] = d->v.b; break;
    case PH_I64: v->d.i[i] = d->v.i; break;
    case PH_F64: v->d.f[i] = d->v.f; break;
    case PH_NUM: v->d.n[i] = d->v.n; break;
    case PH_STR: v->d.s[i] = d->v.s; break;
    case PH_UUID: v->d.u[i] = d->v.u; break;
    case PH_IV: v->d.iv[i] = d->v.iv; break;
    }
}

/* ---- shared error helper ---------------------------------------------------- */

int val__syntax_error(tl_error *err, const char *sqlstate, const char *type_name, const char *s,
                      size_t len)
{
    return tl_errorf(err, sqlstate, "invalid input syntax for type %s: \"%.*s\"", type_name,
                     (int)len, s);
}

static int range_error(tl_error *err, const char *type_name, const char *s, size_t len)
{
    return tl_errorf(err, "22003", "value \"%.*s\" is out of range for type %s", (int)len, s,
                     type_name);
}

/* ---- boolean ----------------------------------------------------------------- */

/* PG parse_bool_with_len: any unambiguous prefix of true/false/yes/no, on/off, 1/0. */
static int bool_in(const char *s, size_t len, bool *out, tl_error *err)
{
    const char *p = s;
    size_t n = len;
    while (n > 0 && isspace((unsigned char)*p))
        p++, n--;
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    if (n > 0) {
        switch (*p) {
        case 't': case 'T':
            if (n <= 4 && strncasecmp(p, "true", n) == 0) return *out = true, 0;
            break;
        case 'f': case 'F':
            if (n <= 5 && strncasecmp(p, "false", n) == 0) return *out = false, 0;
            break;
        case 'y': case 'Y':
            if (n <= 3 && strncasecmp(p, "yes", n) == 0) return *out = true, 0;
            break;
        case 'n': case 'N':
            if (n <= 2 && strncasecmp(p, "no", n) == 0) return *out = false, 0;
            break;
        case 'o': case 'O':
            /* "o" alone is ambiguous, so at least two characters decide */
            if (n == 2 && strncasecmp(p, "on", 2) == 0) return *out = true, 0;
            if (n >= 2 && n <= 3 && strncasecmp(p, "off", n) == 0) return *out = false, 0;
            break;
        case '1':
            if (n == 1) return *out = true, 0;
            break;
        case '0':
            if (n == 1) return *out = false, 0;
            break;
        default:
            break;
        }
    }
    return val__syntax_error(err, "22P02", "boolean", s, len);
}

/* ---- integers ---------------------------------------------------------------- */

/* PG 15 pg_strtoint*: optional whitespace, sign, decimal digits only, whitespace. */
static int int_in(const char *s, size_t len, int64_t lo, int64_t hi, const char *tname,
                  int64_t *out, tl_error *err)
{
    size_t i = 0;
    bool neg = false;
    uint64_t acc = 0;
    bool overflow = false;
    while (i < len && isspace((unsigned char)s[i]))
        i++;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    size_t digits_at = i;
    while (i < len && isdigit((unsigned char)s[i])) {
        unsigned d = (unsigned)(s[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            acc = acc * 10 + d;
        i++;
    }
    if (i == digits_at)
        return val__syntax_error(err, "22P02", tname, s, len);
    while (i < len && isspace((unsigned char)s[i]))
        i++;
    if (i != len)
        return val__syntax_error(err, "22P02", tname, s, len);
    if (overflow)
        return range_error(err, tname, s, len);
    if (neg) {
        if (acc > (uint64_t)INT64_MAX + 1 || -(tl_i128)acc < lo)
            return range_error(err, tname, s, len);
        *out = (int64_t)(-(tl_i128)acc);
    } else {
        if (acc > (uint64_t)hi)
            return range_error(err, tname, s, len);
        *out = (int64_t)acc;
    }
    return 0;
}

/* oidin: strtoul semantics, so "-1" wraps to 4294967295 as in PostgreSQL. */
static int oid_in(const char *s, size_t len, int64_t *out, tl_error *err)
{
    int64_t v;
    tl_error tmp = {0};
    if (int_in(s, len, -(INT64_C(1) << 31), UINT32_MAX, "oid", &v, &tmp) != 0) {
        if (strcmp(tmp.sqlstate, "22003") == 0)
            return range_error(err, "oid", s, len);
        return val__syntax_error(err, "22P02", "oid", s, len);
    }
    *out = (int64_t)(uint32_t)v;
    return 0;
}

/* ---- floats ------------------------------------------------------------------ */

static int float_in(const char *s, size_t len, bool f4, double *out, tl_error *err)
{
    const char *tname = f4 ? "real" : "double precision";
    char stackbuf[128];
    char *buf = len < sizeof stackbuf ? stackbuf : tl_xmalloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *p = buf;
    int rc = 0;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0') {
        rc = val__syntax_error(err, "22P02", tname, s, len);
        goto done;
    }
    char *end;
    errno = 0;
    double v;
    /* strtod alone also takes "infinity"/"nan"; PostgreSQL spells them the same way */
    if (f4) {
        float fv = strtof(p, &end);
        v = fv;
        if (end != p && errno == ERANGE && (fv == 0.0f || isinf(fv))) {
            rc = tl_errorf(err, "22003", "\"%.*s\" is out of range for type real",
                           (int)(end - p), p);
            goto done;
        }
    } else {
        v = strtod(p, &end);
        if (end != p && errno == ERANGE && (v == 0.0 || isinf(v))) {
            rc = tl_errorf(err, "22003", "\"%.*s\" is out of range for type double precision",
                           (int)(end - p), p);
            goto done;
        }
    }
    if (end == p) {
        rc = val__syntax_error(err, "22P02", tname, s, len);
        goto done;
    }
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0') {
        rc = val__syntax_error(err, "22P02", tname, s, len);
        goto done;
    }
    *out = v;
done:
    if (buf != stackbuf)
        free(buf);
    return rc;
}

/* Shortest digits that read back to the same value, laid out as PostgreSQL's Ryu
 * output (float8 switches to exponent form at 1e15, float4 at 1e6, both below 1e-4).
 * A precision loop over "%.*e" finds the same shortest digit string as Ryu: the
 * correctly rounded p-digit form is the closest p-digit candidate. */
static void float_out_shortest(double v, bool f4, tl_buf *out)
{
    char buf[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
        if (f4 ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v)
            break;
    }
    char digits[24];
    int nd = 0;
    const char *p = buf;
    bool neg = false;
    if (*p == '-')
        neg = true, p++;
    for (; *p != 'e'; p++)
        if (isdigit((unsigned char)*p))
            digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (neg)
        tl_buf_putc(out, '-');
    if (exp < -4 || exp >= (f4 ? 6 : 15)) {
        tl_buf_putc(out, digits[0]);
        if (nd > 1) {
            tl_buf_putc(out, '.');
            tl_buf_append(out, digits + 1, (size_t)nd - 1);
        }
        tl_buf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        tl_buf_puts(out, "0.");
        for (int i = 0; i < -exp - 1; i++)
            tl_buf_putc(out, '0');
        tl_buf_append(out, digits, (size_t)nd);
    } else if (nd <= exp + 1) {
        tl_buf_append(out, digits, (size_t)nd);
        for (int i = 0; i < exp + 1 - nd; i++)
            tl_buf_putc(out, '0');
    } else {
        tl_buf_append(out, digits, (size_t)exp + 1);
        tl_buf_putc(out, '.');
        tl_buf_append(out, digits + exp + 1, (size_t)(nd - exp - 1));
    }
}

static void float_out(double v, bool f4, int extra_digits, tl_buf *out)
{
    if (isnan(v)) {
        tl_buf_puts(out, "NaN");
        return;
    }
    if (isinf(v)) {
        tl_buf_puts(out, v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (extra_digits > 0) {
        float_out_shortest(v, f4, out);
        return;
    }
    /* PG: extra_float_digits <= 0 means "%.*g" with FLT_DIG/DBL_DIG + extra_float_digits */
    int ndig = (f4 ? FLT_DIG : DBL_DIG) + extra_digits;
    if (ndig < 1)
        ndig = 1;
    tl_buf_printf(out, "%.*g", ndig, v);
}

/* ---- strings --------------------------------------------------------------------- */

/* Characters in a UTF-8 string (the server encoding): length limits count these. */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

/* Byte offset of the character number `nchars` (or len if shorter). */
static size_t utf8_offset(const char *s, size_t len, size_t nchars)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (n == nchars)
                return i;
            n++;
        }
    }
    return len;
}

/* varchar(n)/char(n): excess characters are an error unless they are all spaces. */
static int string_in(tl_type t, const char *s, size_t len, tl_datum *out, tl_arena *a,
                     tl_error *err)
{
    if (t.id == TL_NAME) {
        /* NAMEDATALEN-1 bytes, clipped on a character boundary as pg_mbcliplen does */
        size_t n = len;
        if (n > 63) {
            n = 63;
            while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
                n--;
        }
        out->v.s.ptr = tl_arena_strndup(a, s, n);
        out->v.s.len = (uint32_t)n;
        return 0;
    }
    if ((t.id == TL_VARCHAR || t.id == TL_BPCHAR) && t.typmod >= 4) {
        size_t maxc = (size_t)t.typmod - 4;
        size_t nc = utf8_chars(s, len);
        size_t keep = len;
        if (nc > maxc) {
            keep = utf8_offset(s, len, maxc);
            for (size_t i = keep; i < len; i++)
                if (s[i] != ' ')
                    return tl_errorf(err, "22001", "value too long for type %s(%zu)",
                                     tl_type_name(t.id), maxc);
            nc = maxc;
        }
        size_t pad = t.id == TL_BPCHAR ? maxc - nc : 0;
        char *p = tl_arena_alloc(a, keep + pad + 1);
        memcpy(p, s, keep);
        memset(p + keep, ' ', pad);
        p[keep + pad] = '\0';
        out->v.s.ptr = p;
        out->v.s.len = (uint32_t)(keep + pad);
        return 0;
    }
    out->v.s.ptr = tl_arena_strndup(a, s, len);
    out->v.s.len = (uint32_t)len;
    return 0;
}

/* ---- uuid --------------------------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* PG string_to_uuid: optional braces, a hyphen allowed after any group of four digits. */
static int uuid_in(const char *s, size_t len, tl_uuid *out, tl_error *err)
{
    size_t i = 0;
    bool braces = len > 0 && s[0] == '{';
    if (braces)
        i++;
    for (int b = 0; b < 16; b++) {
        if (i + 2 > len)
            goto bad;
        int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            goto bad;
        out->b[b] = (uint8_t)(hi << 4 | lo);
        i += 2;
        if (b % 2 == 1 && b < 15 && i < len && s[i] == '-')
            i++;
    }
    if (braces) {
        if (i >= len || s[i] != '}')
            goto bad;
        i++;
    }
    if (i != len)
        goto bad;
    return 0;
bad:
    return val__syntax_error(err, "22P02", "uuid", s, len);
}

static void uuid_out(const tl_uuid *u, tl_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    char buf[36];
    int k = 0;
    for (int b = 0; b < 16; b++) {
        if (b == 4 || b == 6 || b == 8 || b == 10)
            buf[k++] = '-';
        buf[k++] = hex[u->b[b] >> 4];
        buf[k++] = hex[u->b[b] & 15];
    }
    tl_buf_append(out, buf, 36);
}

void tl_uuid_v4(tl_uuid *out)
{
    size_t got = 0;
    while (got < sizeof out->b) {
        ssize_t r = getrandom(out->b + got, sizeof out->b - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            tl_panic("getrandom: %s", strerror(errno));
        }
        got += (size_t)r;
    }
    out->b[6] = (uint8_t)((out->b[6] & 0x0F) | 0x40); /* version 4 */
    out->b[8] = (uint8_t)((out->b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
}

/* ---- dispatch ------------------------------------------------------------------------ */

int tl_value_in(tl_type t, const char *s, size_t len, const tl_fmt_ctx *fc, tl_datum *out,
                tl_arena *a, tl_error *err)
{
    memset(out, 0, sizeof *out);
    switch (t.id) {
    case TL_BOOL:
        return bool_in(s, len, &out->v.b, err);
    case TL_INT2:
        return int_in(s, len, INT16_MIN, INT16_MAX, "smallint", &out->v.i, err);
    case TL_INT4:
        return int_in(s, len, INT32_MIN, INT32_MAX, "integer", &out->v.i, err);
    case TL_INT8:
        return int_in(s, len, INT64_MIN, INT64_MAX, "bigint", &out->v.i, err);
    case TL_OID:
        return oid_in(s, len, &out->v.i, err);
    case TL_FLOAT4:
    case TL_FLOAT8:
        return float_in(s, len, t.id == TL_FLOAT4, &out->v.f, err);
    case TL_NUMERIC:
        if (val__numeric_in(s, len, &out->v.n, err) != 0)
            return -1;
        return t.typmod >= 4 ? tl_numeric_apply_typmod(&out->v.n, t.typmod, err) : 0;
    case TL_UNKNOWN: case TL_TEXT: case TL_VARCHAR: case TL_BPCHAR: case TL_NAME:
        return string_in(t, s, len, out, a, err);
    case TL_CHAR:
        /* charin keeps the first byte only (a multibyte character is cut, as in PG) */
        out->v.s.ptr = tl_arena_strndup(a, s, len ? 1 : 0);
        out->v.s.len = len ? 1 : 0;
        return 0;
    case TL_ARRAY:
        return val__array_in(t, s, len, a, &out->v.s, err);
    case TL_UUID:
        return uuid_in(s, len, &out->v.u, err);
    case TL_DATE:
        return val__date_in(s, len, fc, &out->v.i, err);
    case TL_TIMESTAMP:
    case TL_TIMESTAMPTZ:
        return val__ts_in(s, len, t.id == TL_TIMESTAMPTZ, fc, &out->v.i, err);
    case TL_INTERVAL:
        return val__interval_in(s, len, &out->v.iv, err);
    case TL_JSON:
    case TL_JSONB:
        return val__json_in(s, len, t.id == TL_JSONB, a, &out->v.s, err);
    case TL_VOID:
        out->v.i = 0;
        return 0;
    case TL_ENUM:
    default:
        return tl_errorf(err, "0A000", "input of type %s is not handled by storage",
                         tl_type_name(t.id));
    }
}

void tl_value_out(tl_type t, const tl_datum *d, const tl_fmt_ctx *fc, tl_buf *out)
{
    switch (t.id) {
    case TL_BOOL:
        tl_buf_putc(out, d->v.b ? 't' : 'f');
        break;
    case TL_INT2: case TL_INT4: case TL_INT8: case TL_OID: case TL_ENUM:
        tl_buf_printf(out, "%lld", (long long)d->v.i);
        break;
    case TL_FLOAT4:
    case TL_FLOAT8:
        float_out(d->v.f, t.id == TL_FLOAT4, fc ? fc->extra_float_digits : 1, out);
        break;
    case TL_NUMERIC:
        val__numeric_out(&d->v.n, out);
        break;
    case TL_UNKNOWN: case TL_TEXT: case TL_VARCHAR: case TL_BPCHAR: case TL_NAME: case TL_JSON:
    case TL_JSONB: case TL_CHAR: case TL_ARRAY:
        tl_buf_append(out, d->v.s.ptr, d->v.s.len);
        break;
    case TL_UUID:
        uuid_out(&d->v.u, out);
        break;
    case TL_DATE:
        val__date_out(d->v.i, out);
        break;
    case TL_TIMESTAMP:
    case TL_TIMESTAMPTZ:
        val__ts_out(d->v.i, t.id == TL_TIMESTAMPTZ, fc, out);
        break;
    case TL_INTERVAL:
        val__interval_out(&d->v.iv, out);
        break;
    case TL_VOID:
    default:
        break;
    }
}

/* ---- comparison and hashing ---------------------------------------------------------- */

/* PG float8_cmp_internal: NaN sorts above everything and equals itself. */
static int float_cmp(double a, double b)
{
    if (isnan(a))
        return isnan(b) ? 0 : 1;
    if (isnan(b))
        return -1;
    return a < b ? -1 : a > b ? 1 : 0;
}

/* bpchar ignores trailing spaces when comparing, as PostgreSQL's bpcharcmp does. */
static uint32_t str_cmp_len(tl_type_id t, const tl_str *s)
{
    uint32_t n = s->len;
    if (t == TL_BPCHAR)
        while (n > 0 && s->ptr[n - 1] == ' ')
            n--;
    return n;
}

int tl_datum_cmp(tl_type_id t, const tl_datum *a, const tl_datum *b)
{
    switch (phys_of(t)) {
    case PH_BOOL:
        return (int)a->v.b - (int)b->v.b;
    case PH_I64:
        return a->v.i < b->v.i ? -1 : a->v.i > b->v.i ? 1 : 0;
    case PH_F64:
        return float_cmp(a->v.f, b->v.f);
    case PH_NUM:
        return tl_numeric_cmp(&a->v.n, &b->v.n);
    case PH_STR: {
        uint32_t la = str_cmp_len(t, &a->v.s), lb = str_cmp_len(t, &b->v.s);
        int c = memcmp(a->v.s.ptr, b->v.s.ptr, la < lb ? la : lb);
        if (c != 0)
            return c < 0 ? -1 : 1;
        return la < lb ? -1 : la > lb ? 1 : 0;
    }
    case PH_UUID: {
        int c = memcmp(a->v.u.b, b->v.u.b, 16);
        return c < 0 ? -1 : c > 0;
    }
    case PH_IV:
        return tl_interval_cmp(&a->v.iv, &b->v.iv);
    }
    return 0;
}

uint64_t tl_datum_hash(tl_type_id t, const tl_datum *d)
{
    switch (phys_of(t)) {
    case PH_BOOL: {
        uint8_t b = d->v.b;
        return XXH3_64bits(&b, 1);
    }
    case PH_I64:
        return XXH3_64bits(&d->v.i, sizeof d->v.i);
    case PH_F64: {
        double f = d->v.f;
        if (f == 0.0)
            f = 0.0; /* -0.0 equals 0.0 */
        else if (isnan(f))
            f = NAN; /* one NaN bit pattern */
        return XXH3_64bits(&f, sizeof f);
    }
    case PH_NUM:
        return val__numeric_hash(&d->v.n);
    case PH_STR:
        return XXH3_64bits(d->v.s.ptr, str_cmp_len(t, &d->v.s));
    case PH_UUID:
        return XXH3_64bits(d->v.u.b, 16);
    case PH_IV: {
        tl_i128 k = val__interval_key(&d->v.iv);
        return XXH3_64bits(&k, sizeof k);
    }
    }
    return 0;
}
