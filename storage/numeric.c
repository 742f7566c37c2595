/*
 * numeric.c — fixed-point decimal arithmetic on a 128-bit mantissa with PostgreSQL's
 * display-scale rules: add/sub keep the larger scale, mul sums them, division picks
 * its scale as numeric.c's select_div_scale (so avg() prints 70.8150000000000000 as
 * PostgreSQL does). Intermediates that can exceed 128 bits (scale alignment, products,
 * scaled dividends) go through a small unsigned 256-bit type instead of a bignum:
 * |mantissa| < 10^38 and scale <= 32 bound every operand.
 *
 * Where PostgreSQL's unbounded numeric would keep more than 38 digits or a scale above
 * 32, we raise 22003 ("value overflows numeric format") rather than silently rounding;
 * the one exception is a result scale chosen by mul/div beyond 32, which is rounded to 32.
 */
#include "value_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- 128/256-bit helpers --------------------------------------------------------- */

typedef struct u256 {
    tl_u128 hi, lo;
} u256;

static tl_u128 pow10_u128(int k)
{
    tl_u128 r = 1;
    while (k-- > 0)
        r *= 10;
    return r;
}

static u256 u256_from(tl_u128 x)
{
    return (u256){0, x};
}

static u256 u256_mul(tl_u128 a, tl_u128 b)
{
    uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
    uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
    tl_u128 p00 = (tl_u128)a0 * b0, p01 = (tl_u128)a0 * b1;
    tl_u128 p10 = (tl_u128)a1 * b0, p11 = (tl_u128)a1 * b1;
    tl_u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
    u256 r;
    r.lo = (p00 & UINT64_MAX) | (mid << 64);
    r.hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    return r;
}

static int u256_cmp(u256 a, u256 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    return 0;
}

static u256 u256_sub(u256 a, u256 b)
{
    u256 r;
    r.lo = a.lo - b.lo;
    r.hi = a.hi - b.hi - (a.lo < b.lo);
    return r;
}

static u256 u256_shl1(u256 a)
{
    return (u256){(a.hi << 1) | (a.lo >> 127), a.lo << 1};
}

/* Schoolbook shift-subtract: division is rare (finalizing avg, explicit '/'), so
 * 256 simple steps are cheaper to trust than a Knuth D implementation. */
static void u256_divmod(u256 n, u256 d, u256 *q, u256 *r)
{
    if (n.hi == 0 && d.hi == 0) {
        /* the common case (an avg's sum over a count): the compiler's 128-bit division,
         * not 256 rounds of shift and subtract */
        *q = (u256){.hi = 0, .lo = n.lo / d.lo};
        *r = (u256){.hi = 0, .lo = n.lo % d.lo};
        return;
    }
    u256 quo = {0, 0}, rem = {0, 0};
    int top = 255; /* leading zero bits of n add nothing to the remainder */
    while (top > 0 && !(top >= 128 ? (n.hi >> (top - 128)) & 1 : (n.lo >> top) & 1)) top--;
    for (int i = top; i >= 0; i--) {
        rem = u256_shl1(rem);
        tl_u128 bit = i >= 128 ? (n.hi >> (i - 128)) & 1 : (n.lo >> i) & 1;
        rem.lo |= bit;
        quo = u256_shl1(quo);
        if (u256_cmp(rem, d) >= 0) {
            rem = u256_sub(rem, d);
            quo.lo |= 1;
        }
    }
    *q = quo;
    *r = rem;
}

static tl_u128 uabs(tl_i128 v)
{
    return v < 0 ? (tl_u128)0 - (tl_u128)v : (tl_u128)v;
}

static tl_u128 max_mant(void)
{
    return pow10_u128(TL_NUMERIC_MAX_DIGITS);
}

static int overflow_error(tl_error *err)
{
    return tl_errorf(err, "22003", "value overflows numeric format");
}

/* Build a result from a magnitude that must stay below 10^38. */
static int make_result(bool neg, u256 mag, int scale, tl_numeric *out, tl_error *err)
{
    if (mag.hi != 0 || mag.lo >= max_mant())
        return overflow_error(err);
    out->mant = neg ? -(tl_i128)mag.lo : (tl_i128)mag.lo;
    out->scale = (int16_t)scale;
    out->nan = 0;
    return 0;
}

/* Divide a magnitude by d, rounding half away from zero (PostgreSQL's round_var). */
static u256 div_round(u256 n, u256 d)
{
    u256 q, r;
    u256_divmod(n, d, &q, &r); /* native 128-bit division when both fit (an avg) */
    u256 r2 = u256_shl1(r);
    if (r.hi >> 127 || u256_cmp(r2, d) >= 0) {
        q.lo++;
        if (q.lo == 0)
            q.hi++;
    }
    return q;
}

static int ndigits(tl_u128 v)
{
    int n = 1;
    while (v >= 10)
        v /= 10, n++;
    return n;
}

static void u128_str(tl_u128 v, char *buf, int *len)
{
    char tmp[48];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    *len = n;
}

/* ---- text I/O -------------------------------------------------------------------- */

int val__numeric_in(const char *s, size_t len, tl_numeric *out, tl_error *err)
{
    size_t i = 0, end = len;
    while (i < end && isspace((unsigned char)s[i]))
        i++;
    while (end > i && isspace((unsigned char)s[end - 1]))
        end--;
    memset(out, 0, sizeof *out);
    if (end - i == 3 && strncasecmp(s + i, "NaN", 3) == 0) {
        out->nan = 1;
        return 0;
    }
    bool neg = false;
    if (i < end && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    tl_u128 mant = 0;
    int sig = 0, frac = 0, ndig = 0;
    bool seen_point = false, too_many = false;
    for (; i < end; i++) {
        char c = s[i];
        if (c == '.' && !seen_point) {
            seen_point = true;
            continue;
        }
        if (!isdigit((unsigned char)c))
            break;
        ndig++;
        if (seen_point)
            frac++;
        if (sig == 0 && c == '0')
            continue; /* leading zeros carry no digits */
        if (sig >= TL_NUMERIC_MAX_DIGITS)
            too_many = true;
        else
            mant = mant * 10 + (tl_u128)(c - '0');
        sig++;
    }
    if (ndig == 0)
        return val__syntax_error(err, "22P02", "numeric", s, len);
    long exp = 0;
    if (i < end && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < end && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        size_t at = i;
        while (i < end && isdigit((unsigned char)s[i])) {
            exp = exp * 10 + (s[i] - '0');
            if (exp > 1000000)
                return val__syntax_error(err, "22P02", "numeric", s, len);
            i++;
        }
        if (i == at)
            return val__syntax_error(err, "22P02", "numeric", s, len);
        if (eneg)
            exp = -exp;
    }
    if (i != end)
        return val__syntax_error(err, "22P02", "numeric", s, len);
    if (too_many)
        return overflow_error(err);
    /* value = mant * 10^(exp - frac); display scale as PostgreSQL: frac - exp, >= 0 */
    long scale = frac - exp;
    if (scale < 0) {
        if (mant != 0) {
            if (sig - scale > TL_NUMERIC_MAX_DIGITS)
                return overflow_error(err);
            mant *= pow10_u128((int)-scale);
        }
        scale = 0;
    }
    if (scale > TL_NUMERIC_MAX_SCALE)
        return overflow_error(err);
    if (mant >= max_mant())
        return overflow_error(err);
    out->mant = neg ? -(tl_i128)mant : (tl_i128)mant;
    out->scale = (int16_t)scale;
    return 0;
}

void val__numeric_out(const tl_numeric *n, tl_buf *out)
{
    if (n->nan) {
        tl_buf_puts(out, "NaN");
        return;
    }
    char digits[48];
    int nd;
    u128_str(uabs(n->mant), digits, &nd);
    if (n->mant < 0)
        tl_buf_putc(out, '-');
    int sc = n->scale;
    if (nd <= sc) {
        tl_buf_puts(out, "0.");
        for (int i = 0; i < sc - nd; i++)
            tl_buf_putc(out, '0');
        tl_buf_append(out, digits, (size_t)nd);
    } else {
        tl_buf_append(out, digits, (size_t)(nd - sc));
        if (sc > 0) {
            tl_buf_putc(out, '.');
            tl_buf_append(out, digits + nd - sc, (size_t)sc);
        }
    }
}

uint64_t val__numeric_hash(const tl_numeric *n)
{
    if (n->nan)
        return XXH3_64bits("NaN", 3);
    /* 1.0 and 1.00 are equal, so hash the value with trailing zeros stripped */
    tl_i128 m = n->mant;
    int16_t sc = n->scale;
    while (sc > 0 && m % 10 == 0)
        m /= 10, sc--;
    unsigned char key[sizeof m + sizeof sc];
    memcpy(key, &m, sizeof m);
    memcpy(key + sizeof m, &sc, sizeof sc);
    return XXH3_64bits(key, sizeof key);
}

/* ---- conversions -------------------------------------------------------------------- */

int tl_numeric_from_i64(int64_t v, tl_numeric *out)
{
    out->mant = v;
    out->scale = 0;
    out->nan = 0;
    return 0;
}

/* PG float8_numeric: print with DBL_DIG (15) significant digits, then read as numeric,
 * which is why 0.1::float8::numeric is exactly 0.1. */
int tl_numeric_from_double(double v, tl_numeric *out, tl_error *err)
{
    if (isnan(v)) {
        memset(out, 0, sizeof *out);
        out->nan = 1;
        return 0;
    }
    if (isinf(v))
        return tl_errorf(err, "22003", "cannot convert infinity to numeric");
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%.15g", v);
    return val__numeric_in(buf, (size_t)n, out, err);
}

double tl_numeric_to_double(const tl_numeric *n)
{
    if (n->nan)
        return NAN;
    tl_buf b;
    tl_buf_init(&b);
    val__numeric_out(n, &b);
    tl_buf_putc(&b, '\0');
    double d = strtod(b.data, NULL); /* correctly rounded, as PG's numeric_float8 */
    tl_buf_free(&b);
    return d;
}

/* Rescale a magnitude to `to` decimals (rounding when it shrinks). */
static u256 rescale_mag(tl_u128 mag, int from, int to)
{
    if (to >= from)
        return u256_mul(mag, pow10_u128(to - from));
    if (from - to > 38)
        return u256_from(0);
    return div_round(u256_from(mag), u256_from(pow10_u128(from - to)));
}

int tl_numeric_to_i64(const tl_numeric *n, int64_t *out, tl_error *err)
{
    if (n->nan)
        return tl_errorf(err, "0A000", "cannot convert NaN to bigint");
    u256 m = rescale_mag(uabs(n->mant), n->scale, 0);
    bool neg = n->mant < 0;
    if (m.hi != 0 || m.lo > (tl_u128)INT64_MAX + (neg ? 1 : 0))
        return tl_errorf(err, "22003", "bigint out of range");
    *out = neg ? (int64_t)(-(tl_i128)m.lo) : (int64_t)m.lo;
    return 0;
}

/* ---- arithmetic ----------------------------------------------------------------------- */

static int set_nan(tl_numeric *out)
{
    memset(out, 0, sizeof *out);
    out->nan = 1;
    return 0;
}

static int add_signed(const tl_numeric *a, const tl_numeric *b, bool negate_b, tl_numeric *out,
                      tl_error *err)
{
    if (a->nan || b->nan)
        return set_nan(out);
    int sc = a->scale > b->scale ? a->scale : b->scale;
    /* both aligned magnitudes are < 10^70, far inside 256 bits */
    u256 ma = u256_mul(uabs(a->mant), pow10_u128(sc - a->scale));
    u256 mb = u256_mul(uabs(b->mant), pow10_u128(sc - b->scale));
    bool na = a->mant < 0, nb = (b->mant < 0) != negate_b;
    if (b->mant == 0)
        nb = false;
    if (na == nb) {
        u256 r = {ma.hi + mb.hi, ma.lo + mb.lo};
        if (r.lo < ma.lo)
            r.hi++;
        return make_result(na, r, sc, out, err);
    }
    int c = u256_cmp(ma, mb);
    if (c >= 0)
        return make_result(c == 0 ? false : na, u256_sub(ma, mb), sc, out, err);
    return make_result(nb, u256_sub(mb, ma), sc, out, err);
}

int tl_numeric_add(const tl_numeric *a, const tl_numeric *b, tl_numeric *out, tl_error *err)
{
    return add_signed(a, b, false, out, err);
}

int tl_numeric_sub(const tl_numeric *a, const tl_numeric *b, tl_numeric *out, tl_error *err)
{
    return add_signed(a, b, true, out, err);
}

int tl_numeric_mul(const tl_numeric *a, const tl_numeric *b, tl_numeric *out, tl_error *err)
{
    if (a->nan || b->nan)
        return set_nan(out);
    u256 p = u256_mul(uabs(a->mant), uabs(b->mant));
    int sc = a->scale + b->scale;
    if (sc > TL_NUMERIC_MAX_SCALE) {
        /* p < 10^76 < 2^253, so one more shift-subtract division is safe */
        p = div_round(p, u256_from(pow10_u128(sc - TL_NUMERIC_MAX_SCALE)));
        sc = TL_NUMERIC_MAX_SCALE;
    }
    bool neg = (a->mant < 0) != (b->mant < 0) && p.lo != 0;
    return make_result(neg, p, sc, out, err);
}

/* Weight and leading digit in PostgreSQL's base-10000 representation, which is what
 * select_div_scale estimates the quotient's magnitude from. */
static void base10000_lead(const tl_numeric *n, int *weight, int *first)
{
    tl_u128 m = uabs(n->mant);
    if (m == 0) {
        *weight = 0;
        *first = 0;
        return;
    }
    int e = ndigits(m) - 1 - n->scale; /* decimal exponent of the leading digit */
    int w = e >= 0 ? e / 4 : -((-e + 3) / 4);
    int k = n->scale + 4 * w;
    *weight = w;
    *first = (int)(k >= 0 ? m / pow10_u128(k) : m * pow10_u128(-k));
}

int tl_numeric_div(const tl_numeric *a, const tl_numeric *b, tl_numeric *out, tl_error *err)
{
    if (a->nan || b->nan)
        return set_nan(out);
    if (b->mant == 0)
        return tl_errorf(err, "22012", "division by zero");
    int w1, f1, w2, f2;
    base10000_lead(a, &w1, &f1);
    base10000_lead(b, &w2, &f2);
    int qweight = w1 - w2;
    if (f1 <= f2)
        qweight--;
    int rscale = 16 - qweight * 4; /* NUMERIC_MIN_SIG_DIGITS - qweight * DEC_DIGITS */
    if (rscale < a->scale)
        rscale = a->scale;
    if (rscale < b->scale)
        rscale = b->scale;
    if (rscale < 0)
        rscale = 0;
    if (rscale > TL_NUMERIC_MAX_SCALE)
        rscale = TL_NUMERIC_MAX_SCALE;
    /* q = a.mant * 10^(rscale - sa + sb) / b.mant, rounded half away from zero */
    int k = rscale - a->scale + b->scale;
    u256 num, den;
    if (k >= 0) {
        num = u256_mul(uabs(a->mant), pow10_u128(k));
        den = u256_from(uabs(b->mant));
    } else {
        num = u256_from(uabs(a->mant));
        den = u256_mul(uabs(b->mant), pow10_u128(-k));
    }
    u256 q = div_round(num, den);
    bool neg = (a->mant < 0) != (b->mant < 0) && (q.lo != 0 || q.hi != 0);
    return make_result(neg, q, rscale, out, err);
}

int tl_numeric_div_i64(const tl_numeric *a, int64_t d, tl_numeric *out, tl_error *err)
{
    tl_numeric nd;
    tl_numeric_from_i64(d, &nd);
    return tl_numeric_div(a, &nd, out, err);
}

/* PG numeric_round: negative scales round left of the point and display scale 0;
 * a larger scale pads with zeros (round(1.5, 3) = 1.500). */
int tl_numeric_round(const tl_numeric *a, int scale, tl_numeric *out, tl_error *err)
{
    if (a->nan)
        return set_nan(out);
    if (scale > TL_NUMERIC_MAX_SCALE)
        scale = TL_NUMERIC_MAX_SCALE;
    bool neg = a->mant < 0;
    tl_u128 mag = uabs(a->mant);
    if (scale >= 0) {
        u256 m = rescale_mag(mag, a->scale, scale);
        return make_result(neg && (m.lo | m.hi) != 0, m, scale, out, err);
    }
    /* round to 10^-scale units, then scale the magnitude back up */
    int drop = a->scale - scale;
    if (drop > 38)
        return make_result(false, u256_from(0), 0, out, err);
    u256 units = div_round(u256_from(mag), u256_from(pow10_u128(drop)));
    if (units.hi != 0 || (units.lo != 0 && ndigits(units.lo) - scale > TL_NUMERIC_MAX_DIGITS))
        return overflow_error(err);
    u256 m = u256_mul(units.lo, pow10_u128(-scale));
    return make_result(neg && m.lo != 0, m, 0, out, err);
}

int tl_numeric_cmp(const tl_numeric *a, const tl_numeric *b)
{
    if (a->nan || b->nan)
        return a->nan && b->nan ? 0 : a->nan ? 1 : -1;
    int sa = a->mant < 0 ? -1 : a->mant > 0, sb = b->mant < 0 ? -1 : b->mant > 0;
    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (sa == 0)
        return 0;
    int sc = a->scale > b->scale ? a->scale : b->scale;
    u256 ma = u256_mul(uabs(a->mant), pow10_u128(sc - a->scale));
    u256 mb = u256_mul(uabs(b->mant), pow10_u128(sc - b->scale));
    int c = u256_cmp(ma, mb);
    return sa < 0 ? -c : c;
}

int tl_numeric_apply_typmod(tl_numeric *n, int32_t typmod, tl_error *err)
{
    if (typmod < 4 || n->nan)
        return 0;
    int32_t tm = typmod - 4;
    int precision = (tm >> 16) & 0xffff;
    int scale = ((tm & 0x7ff) ^ 1024) - 1024; /* PG 15 allows negative scales */
    tl_numeric r;
    if (tl_numeric_round(n, scale, &r, err) != 0)
        return -1;
    int maxdigits = precision - scale;
    /* |value| < 10^maxdigits, i.e. |mant| < 10^(maxdigits + display scale) */
    int limit = maxdigits + r.scale;
    tl_u128 mag = uabs(r.mant);
    if (mag != 0 && (limit <= 0 || (limit <= 38 && mag >= pow10_u128(limit)))) {
        tl_errorf(err, "22003", "numeric field overflow");
        tl_error_detail(err,
                        "A field with precision %d, scale %d must round to an absolute value "
                        "less than %s%d.",
                        precision, scale, maxdigits ? "10^" : "", maxdigits ? maxdigits : 1);
        return -1;
    }
    *n = r;
    return 0;
}
