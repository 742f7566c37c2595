/*
 * func_text.c — scalar functions over text that need more than bytes: Unicode-aware
 * upper/lower (the oracle database runs in a UTF-8 locale, so PostgreSQL upper-cases
 * 'é'), to_char for timestamps with the template patterns reports use, and the jsonb
 * operators -> ->> @> over tally's stored form of jsonb (PostgreSQL's normalized text,
 * so a sub-value's text is already its jsonb output).
 */
#include "query_int.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

/* ---- UTF-8 case mapping ------------------------------------------------------------ */

static locale_t utf8_locale(void)
{
    static locale_t loc;
    static int tried;
    if (!__atomic_load_n(&tried, __ATOMIC_ACQUIRE)) {
        locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
        if (!l) l = newlocale(LC_CTYPE_MASK, "C.utf8", (locale_t)0);
        loc = l;
        __atomic_store_n(&tried, 1, __ATOMIC_RELEASE);
    }
    return loc;
}

/* Decode one UTF-8 sequence (input already validated on the way in). */
static uint32_t utf8_dec(const unsigned char *p, uint32_t left, uint32_t *len)
{
    uint32_t c = p[0];
    if (c < 0x80 || left < 2) {
        *len = 1;
        return c;
    }
    if ((c & 0xE0) == 0xC0) {
        *len = 2;
        return ((c & 0x1F) << 6) | (p[1] & 0x3F);
    }
    if ((c & 0xF0) == 0xE0 && left >= 3) {
        *len = 3;
        return ((c & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    }
    if (left >= 4) {
        *len = 4;
        return ((c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    }
    *len = 1;
    return c;
}

static uint32_t utf8_enc(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

int k_case_map(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool up = e->fn->name[0] == 'u';
    locale_t loc = utf8_locale();
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str s = args[0].d.s[i];
        /* case mapping never needs more than 4 bytes per character */
        char *p = tl_arena_alloc(&q->arena, (size_t)s.len * 4 / 1 + 1);
        uint32_t w = 0;
        for (uint32_t k = 0; k < s.len;) {
            unsigned char c = (unsigned char)s.ptr[k];
            if (c < 0x80) {
                p[w++] = (char)(up ? (c >= 'a' && c <= 'z' ? c - 32 : c) : (c >= 'A' && c <= 'Z' ? c + 32 : c));
                k++;
                continue;
            }
            uint32_t len;
            uint32_t cp = utf8_dec((const unsigned char *)s.ptr + k, s.len - k, &len);
            if (loc) cp = (uint32_t)(up ? towupper_l((wint_t)cp, loc) : towlower_l((wint_t)cp, loc));
            w += utf8_enc(cp, p + w);
            k += len;
        }
        p[w] = '\0';
        out->d.s[i].ptr = p;
        out->d.s[i].len = w;
    }
    (void)err;
    return 0;
}

/* ---- to_char ------------------------------------------------------------------------- */

static const char *const month_names[] = {"January", "February", "March", "April", "May", "June", "July",
                                          "August", "September", "October", "November", "December"};
static const char *const day_names[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t d = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? d - 1 : d;
}

typedef struct tparts {
    int y, m, d, hh, mi, ss, us, dow /* 0 = Sunday */, doy, isoyear, isoweek, isodow;
    const char *tzabbr;
    int32_t offset; /* seconds east of UTC */
} tparts;

static void split_time(int64_t local, tparts *t)
{
    int64_t days = floordiv(local, TL_USECS_PER_DAY);
    int64_t tod = local - days * TL_USECS_PER_DAY;
    tl_date_to_ymd((int32_t)days, &t->y, &t->m, &t->d);
    t->hh = (int)(tod / 3600000000LL);
    t->mi = (int)(tod / 60000000LL % 60);
    t->ss = (int)(tod / 1000000LL % 60);
    t->us = (int)(tod % 1000000LL);
    t->dow = (int)(((days + 6) % 7 + 7) % 7); /* 2000-01-01 was a Saturday */
    t->doy = (int)(days - tl_ymd_to_date(t->y, 1, 1)) + 1;
    t->isodow = t->dow == 0 ? 7 : t->dow;
    int64_t thursday = days + (4 - t->isodow);
    int ty, tm, td;
    tl_date_to_ymd((int32_t)thursday, &ty, &tm, &td);
    t->isoyear = ty;
    t->isoweek = (int)((thursday - tl_ymd_to_date(ty, 1, 1)) / 7) + 1;
}

typedef struct kw {
    const char *name;
    int id;
} kw;

enum {
    K_HH24 = 1, K_HH12, K_HH, K_MI, K_SS, K_MS, K_US, K_AM, K_PM, K_am, K_pm, K_A_M, K_P_M, K_a_m, K_p_m,
    K_YYYY, K_Y_YYY, K_YYY, K_YY, K_Y, K_IYYY, K_IYY, K_IY, K_I, K_MONTH, K_Month, K_month, K_MON, K_Mon,
    K_mon, K_MM, K_DAY, K_Day, K_day, K_DY, K_Dy, K_dy, K_DDD, K_DD, K_D, K_ID, K_IW, K_WW, K_W, K_Q,
    K_CC, K_J, K_TZ, K_tz, K_OF, K_SSSS
};

/* Longest first where one name is a prefix of another (PostgreSQL's table does the same). */
static const kw keywords[] = {
    {"A.M.", K_A_M}, {"a.m.", K_a_m}, {"P.M.", K_P_M}, {"p.m.", K_p_m}, {"AM", K_AM}, {"am", K_am},
    {"PM", K_PM}, {"pm", K_pm}, {"HH24", K_HH24}, {"HH12", K_HH12}, {"HH", K_HH}, {"MI", K_MI},
    {"SSSS", K_SSSS}, {"SS", K_SS}, {"MS", K_MS}, {"US", K_US}, {"Y,YYY", K_Y_YYY}, {"YYYY", K_YYYY},
    {"YYY", K_YYY}, {"YY", K_YY}, {"Y", K_Y}, {"IYYY", K_IYYY}, {"IYY", K_IYY}, {"IY", K_IY},
    {"IW", K_IW}, {"ID", K_ID}, {"I", K_I}, {"MONTH", K_MONTH}, {"Month", K_Month}, {"month", K_month},
    {"MON", K_MON}, {"Mon", K_Mon}, {"mon", K_mon}, {"MM", K_MM}, {"DAY", K_DAY}, {"Day", K_Day},
    {"day", K_day}, {"DY", K_DY}, {"Dy", K_Dy}, {"dy", K_dy}, {"DDD", K_DDD}, {"DD", K_DD}, {"D", K_D},
    {"WW", K_WW}, {"W", K_W}, {"Q", K_Q}, {"CC", K_CC}, {"J", K_J}, {"TZ", K_TZ}, {"tz", K_tz},
    {"OF", K_OF},
};

static void put_num(tl_buf *b, long v, int width, bool fm)
{
    if (fm) tl_buf_printf(b, "%ld", v);
    else tl_buf_printf(b, "%0*ld", width, v);
}

static void put_name(tl_buf *b, const char *name, int caps /* 0 as is, 1 upper, 2 lower */, int pad, bool fm)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (caps == 1 && c >= 'a' && c <= 'z') c = (char)(c - 32);
        if (caps == 2 && c >= 'A' && c <= 'Z') c = (char)(c + 32);
        tl_buf_putc(b, c);
    }
    if (!fm)
        for (size_t i = n; i < (size_t)pad; i++) tl_buf_putc(b, ' ');
}

static void format_time(const tparts *t, const char *fmt, size_t flen, tl_buf *b)
{
    size_t i = 0;
    while (i < flen) {
        bool fm = false;
        if (i + 1 < flen && (fmt[i] == 'F' || fmt[i] == 'f') && (fmt[i + 1] == 'M' || fmt[i + 1] == 'm')) {
            fm = true;
            i += 2;
        }
        if (i < flen && fmt[i] == '"') {
            i++;
            while (i < flen && fmt[i] != '"') {
                if (fmt[i] == '\\' && i + 1 < flen) i++;
                tl_buf_putc(b, fmt[i++]);
            }
            if (i < flen) i++;
            continue;
        }
        const kw *hit = NULL;
        for (size_t k = 0; k < TL_ARRAY_LEN(keywords); k++) {
            size_t kl = strlen(keywords[k].name);
            if (kl <= flen - i && memcmp(fmt + i, keywords[k].name, kl) == 0) {
                hit = &keywords[k];
                break;
            }
        }
        if (!hit) {
            if (fmt[i] == '\\' && i + 1 < flen) i++;
            tl_buf_putc(b, fmt[i++]);
            continue;
        }
        i += strlen(hit->name);
        int h12 = t->hh % 12 == 0 ? 12 : t->hh % 12;
        bool pm = t->hh >= 12;
        switch (hit->id) {
        case K_HH24: put_num(b, t->hh, 2, fm); break;
        case K_HH12: case K_HH: put_num(b, h12, 2, fm); break;
        case K_MI: put_num(b, t->mi, 2, fm); break;
        case K_SS: put_num(b, t->ss, 2, fm); break;
        case K_SSSS: put_num(b, (long)t->hh * 3600 + t->mi * 60 + t->ss, 1, true); break;
        case K_MS: put_num(b, t->us / 1000, 3, fm); break;
        case K_US: put_num(b, t->us, 6, fm); break;
        case K_AM: case K_PM: tl_buf_puts(b, pm ? "PM" : "AM"); break;
        case K_am: case K_pm: tl_buf_puts(b, pm ? "pm" : "am"); break;
        case K_A_M: case K_P_M: tl_buf_puts(b, pm ? "P.M." : "A.M."); break;
        case K_a_m: case K_p_m: tl_buf_puts(b, pm ? "p.m." : "a.m."); break;
        case K_YYYY: put_num(b, t->y, 4, fm); break;
        case K_Y_YYY: tl_buf_printf(b, "%d,%03d", t->y / 1000, t->y % 1000); break;
        case K_YYY: put_num(b, t->y % 1000, 3, fm); break;
        case K_YY: put_num(b, t->y % 100, 2, fm); break;
        case K_Y: put_num(b, t->y % 10, 1, fm); break;
        case K_IYYY: put_num(b, t->isoyear, 4, fm); break;
        case K_IYY: put_num(b, t->isoyear % 1000, 3, fm); break;
        case K_IY: put_num(b, t->isoyear % 100, 2, fm); break;
        case K_I: put_num(b, t->isoyear % 10, 1, fm); break;
        case K_MONTH: put_name(b, month_names[t->m - 1], 1, 9, fm); break;
        case K_Month: put_name(b, month_names[t->m - 1], 0, 9, fm); break;
        case K_month: put_name(b, month_names[t->m - 1], 2, 9, fm); break;
        case K_MON: case K_Mon: case K_mon: {
            char ab[4];
            memcpy(ab, month_names[t->m - 1], 3);
            ab[3] = '\0';
            put_name(b, ab, hit->id == K_MON ? 1 : hit->id == K_mon ? 2 : 0, 3, true);
            break;
        }
        case K_MM: put_num(b, t->m, 2, fm); break;
        case K_DAY: put_name(b, day_names[t->dow], 1, 9, fm); break;
        case K_Day: put_name(b, day_names[t->dow], 0, 9, fm); break;
        case K_day: put_name(b, day_names[t->dow], 2, 9, fm); break;
        case K_DY: case K_Dy: case K_dy: {
            char ab[4];
            memcpy(ab, day_names[t->dow], 3);
            ab[3] = '\0';
            put_name(b, ab, hit->id == K_DY ? 1 : hit->id == K_dy ? 2 : 0, 3, true);
            break;
        }
        case K_DDD: put_num(b, t->doy, 3, fm); break;
        case K_DD: put_num(b, t->d, 2, fm); break;
        case K_D: put_num(b, t->dow + 1, 1, fm); break;
        case K_ID: put_num(b, t->isodow, 1, fm); break;
        case K_IW: put_num(b, t->isoweek, 2, fm); break;
        case K_WW: put_num(b, (t->doy - 1) / 7 + 1, 2, fm); break;
        case K_W: put_num(b, (t->d - 1) / 7 + 1, 1, fm); break;
        case K_Q: put_num(b, (t->m - 1) / 3 + 1, 1, fm); break;
        case K_CC: put_num(b, t->y > 0 ? (t->y - 1) / 100 + 1 : t->y / 100 - 1, 2, fm); break;
        case K_J: put_num(b, (long)tl_ymd_to_date(t->y, t->m, t->d) + 2451545, 1, true); break;
        case K_TZ: case K_tz:
            if (t->tzabbr) put_name(b, t->tzabbr, hit->id == K_TZ ? 1 : 2, 0, true);
            break;
        case K_OF: {
            int32_t off = t->offset, a = off < 0 ? -off : off;
            tl_buf_printf(b, "%c%02d", off < 0 ? '-' : '+', a / 3600);
            if (a % 3600) tl_buf_printf(b, ":%02d", a % 3600 / 60);
            break;
        }
        }
    }
}

int k_to_char_ts(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool tz = args[0].type.id == TL_TIMESTAMPTZ;
    tl_buf b;
    tl_buf_init(&b);
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        int64_t v = args[0].d.i[i];
        tparts t;
        memset(&t, 0, sizeof t);
        int64_t local = v;
        if (tz) {
            t.offset = tl_tz_offset_utc(q->fc.tz, v, &t.tzabbr);
            local = tl_ts_to_local(v, q->fc.tz);
        }
        split_time(local, &t);
        tl_buf_clear(&b);
        tl_str f = args[1].d.s[i];
        format_time(&t, f.ptr, f.len, &b);
        out->d.s[i].ptr = tl_arena_strndup(&q->arena, b.data ? b.data : "", b.len);
        out->d.s[i].len = (uint32_t)b.len;
        if (b.len == 0) out->nulls[i] = 1; /* PostgreSQL returns NULL for an empty result */
    }
    tl_buf_free(&b);
    (void)e;
    (void)err;
    return 0;
}

/* ---- jsonb navigation over normalized text --------------------------------------------- */

static const char *json_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Past one JSON value starting at p (input is valid JSON: tally validated it). */
static const char *json_skip(const char *p, const char *end)
{
    p = json_ws(p, end);
    if (p >= end) return end;
    if (*p == '"') {
        for (p++; p < end && *p != '"'; p++)
            if (*p == '\\') p++;
        return p < end ? p + 1 : end;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; p < end; p++) {
            if (*p == '"') {
                for (p++; p < end && *p != '"'; p++)
                    if (*p == '\\') p++;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0) return p + 1;
            }
        }
        return end;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ') p++;
    return p;
}

static uint32_t hex4(const char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v * 16 + (uint32_t)(c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10);
    }
    return v;
}

/* Unescape a JSON string literal [p, end) including its quotes into the arena. */
static tl_str json_unescape(qctx *q, const char *p, const char *end)
{
    char *o = tl_arena_alloc(&q->arena, (size_t)(end - p) + 1);
    uint32_t w = 0;
    for (p++, end--; p < end; p++) {
        if (*p != '\\') {
            o[w++] = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': o[w++] = '\n'; break;
        case 't': o[w++] = '\t'; break;
        case 'r': o[w++] = '\r'; break;
        case 'b': o[w++] = '\b'; break;
        case 'f': o[w++] = '\f'; break;
        case 'u': {
            uint32_t cp = end - p > 4 ? hex4(p + 1) : 0xFFFD;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - p > 6 && p[1] == '\\' && p[2] == 'u') {
                uint32_t lo = hex4(p + 3);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            w += utf8_enc(cp, o + w);
            break;
        }
        default: o[w++] = *p; break;
        }
    }
    o[w] = '\0';
    return (tl_str){o, w};
}

/* Find member `key` (object) or element `idx` (array) of the value [p, end). */
static bool json_get(qctx *q, const char *p, const char *end, const tl_str *key, int64_t idx, const char **vs,
                     const char **ve)
{
    p = json_ws(p, end);
    if (p >= end) return false;
    if (key && *p == '{') {
        p++;
        for (;;) {
            p = json_ws(p, end);
            if (p >= end || *p == '}') return false;
            const char *ks = p, *ke = json_skip(p, end);
            tl_str k = json_unescape(q, ks, ke);
            p = json_ws(ke, end);
            if (p < end && *p == ':') p++;
            const char *s = json_ws(p, end), *e = json_skip(s, end);
            if (k.len == key->len && memcmp(k.ptr, key->ptr, k.len) == 0) {
                *vs = s;
                *ve = e;
                return true;
            }
            p = json_ws(e, end);
            if (p < end && *p == ',') p++;
        }
    }
    if (!key && *p == '[') {
        /* negative indexes count from the end, as PostgreSQL 11+ */
        int64_t count = 0;
        const char *c = p + 1;
        for (;;) {
            c = json_ws(c, end);
            if (c >= end || *c == ']') break;
            c = json_ws(json_skip(c, end), end);
            count++;
            if (c < end && *c == ',') c++;
        }
        if (idx < 0) idx += count;
        if (idx < 0 || idx >= count) return false;
        p++;
        for (int64_t i = 0;; i++) {
            const char *s = json_ws(p, end), *e = json_skip(s, end);
            if (i == idx) {
                *vs = s;
                *ve = e;
                return true;
            }
            p = json_ws(e, end);
            if (p < end && *p == ',') p++;
        }
    }
    return false;
}

int k_json_get(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool as_text = e->fn->name[2] == '>'; /* "->>" */
    bool by_key = tl_type_is_string(args[1].type.id);
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str doc = args[0].d.s[i];
        const char *vs, *ve;
        bool found = by_key ? json_get(q, doc.ptr, doc.ptr + doc.len, &args[1].d.s[i], 0, &vs, &ve)
                            : json_get(q, doc.ptr, doc.ptr + doc.len, NULL, args[1].d.i[i], &vs, &ve);
        if (!found) {
            out->nulls[i] = 1;
            continue;
        }
        if (as_text && *vs == '"') {
            out->d.s[i] = json_unescape(q, vs, ve);
        } else if (as_text && ve - vs == 4 && memcmp(vs, "null", 4) == 0) {
            out->nulls[i] = 1;
        } else {
            out->d.s[i].ptr = vs;
            out->d.s[i].len = (uint32_t)(ve - vs);
        }
    }
    (void)err;
    return 0;
}

/* a @> b for normalized jsonb: PostgreSQL's containment rules. */
static bool json_contains(qctx *q, const char *a, const char *ae, const char *b, const char *be)
{
    a = json_ws(a, ae);
    b = json_ws(b, be);
    if (a >= ae || b >= be) return false;
    if (*b == '{') {
        if (*a != '{') return false;
        const char *p = b + 1;
        for (;;) {
            p = json_ws(p, be);
            if (p >= be || *p == '}') return true;
            const char *ks = p, *ke = json_skip(p, be);
            tl_str k = json_unescape(q, ks, ke);
            p = json_ws(ke, be);
            if (p < be && *p == ':') p++;
            const char *vs = json_ws(p, be), *vend = json_skip(vs, be);
            const char *as, *aend;
            if (!json_get(q, a, ae, &k, 0, &as, &aend) || !json_contains(q, as, aend, vs, vend)) return false;
            p = json_ws(vend, be);
            if (p < be && *p == ',') p++;
        }
    }
    if (*b == '[') {
        if (*a != '[') return false;
        const char *p = b + 1;
        for (;;) {
            p = json_ws(p, be);
            if (p >= be || *p == ']') return true;
            const char *vs = p, *vend = json_skip(p, be);
            bool any = false;
            const char *c = a + 1;
            while (!any) {
                c = json_ws(c, ae);
                if (c >= ae || *c == ']') break;
                const char *cs = c, *cend = json_skip(c, ae);
                /* a scalar in the right array matches a scalar element; containers recurse */
                any = (*vs == '{' || *vs == '[') ? json_contains(q, cs, cend, vs, vend)
                                                 : (cend - cs == vend - vs && memcmp(cs, vs, (size_t)(vend - vs)) == 0);
                c = json_ws(cend, ae);
                if (c < ae && *c == ',') c++;
            }
            if (!any) return false;
            p = json_ws(vend, be);
            if (p < be && *p == ',') p++;
        }
    }
    if (*a == '[' ) {
        /* a scalar on the right is contained in an array holding it at top level */
        const char *c = a + 1;
        for (;;) {
            c = json_ws(c, ae);
            if (c >= ae || *c == ']') return false;
            const char *cs = c, *cend = json_skip(c, ae);
            if (cend - cs == be - b && memcmp(cs, b, (size_t)(be - b)) == 0) return true;
            c = json_ws(cend, ae);
            if (c < ae && *c == ',') c++;
        }
    }
    const char *bend = json_skip(b, be), *aend = json_skip(a, ae);
    return aend - a == bend - b && memcmp(a, b, (size_t)(bend - b)) == 0;
}

int k_json_contains(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str a = args[0].d.s[i], b = args[1].d.s[i];
        out->d.b[i] = json_contains(q, a.ptr, a.ptr + a.len, b.ptr, b.ptr + b.len);
    }
    (void)e;
    (void)err;
    return 0;
}

/* jsonb ? text: the string is a top-level key of an object, a string element of a
 * top-level array, or the string scalar itself (PostgreSQL's jsonb_exists). */
int k_json_exists(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str doc = args[0].d.s[i], key = args[1].d.s[i];
        const char *p = json_ws(doc.ptr, doc.ptr + doc.len), *end = doc.ptr + doc.len;
        const char *vs, *ve;
        bool found = false;
        if (p < end && *p == '{') {
            found = json_get(q, p, end, &key, 0, &vs, &ve);
        } else if (p < end && *p == '[') {
            const char *c = p + 1;
            while (!found) {
                c = json_ws(c, end);
                if (c >= end || *c == ']') break;
                const char *cs = c, *cend = json_skip(c, end);
                if (*cs == '"') {
                    tl_str s = json_unescape(q, cs, cend);
                    found = s.len == key.len && memcmp(s.ptr, key.ptr, s.len) == 0;
                }
                c = json_ws(cend, end);
                if (c < end && *c == ',') c++;
            }
        } else if (p < end && *p == '"') {
            tl_str s = json_unescape(q, p, json_skip(p, end));
            found = s.len == key.len && memcmp(s.ptr, key.ptr, s.len) == 0;
        }
        out->d.b[i] = found;
    }
    (void)e;
    (void)err;
    return 0;
}
