/*
 * jsonb.c — json and jsonb text input. json is kept byte for byte once it parses, as
 * PostgreSQL does; jsonb is stored as its normalized text, the form PostgreSQL prints:
 * object keys sorted by length then bytes with the last duplicate winning, ", " and
 * ": " separators, numbers as numeric_out prints them (2.50 stays 2.50, 1e2 becomes
 * 100, -0 becomes 0), strings with escapes decoded and re-escaped as escape_json does.
 * Keeping the normal form as text means jsonb output, comparison and hashing are plain
 * string operations, at the cost of re-parsing for the (rare) jsonb operators.
 */
#include "value_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 6400

typedef struct jv jv;
typedef struct jpair {
    jv *key;
    jv *val;
    uint32_t ord; /* position in the input, so the last duplicate can win */
} jpair;

struct jv {
    char kind; /* 'o' object, 'a' array, 's' string, 'n' number, 't', 'f', 'z' (null) */
    const char *str;
    uint32_t len;
    uint32_t n;
    jv **items;     /* arrays */
    jpair *pairs;   /* objects */
};

typedef struct jparser {
    const char *s, *p, *end;
    tl_arena *a;
    tl_error *err;
    const char *input;
    size_t input_len;
    bool decode; /* jsonb: build decoded strings; json: only validate */
} jparser;

static int json_fail(jparser *jp, const char *sqlstate, const char *msg, const char *detail_fmt,
                     const char *tok, int toklen)
{
    if (msg == NULL)
        tl_errorf(jp->err, sqlstate, "invalid input syntax for type json");
    else
        tl_errorf(jp->err, sqlstate, "%s", msg);
    tl_error_detail(jp->err, detail_fmt, toklen, tok);
    return -1;
}

static void ws(jparser *jp)
{
    while (jp->p < jp->end &&
           (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
        jp->p++;
}

static bool json_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || (unsigned char)c >= 0x80;
}

/* The token at jp->p as PostgreSQL's lexer cuts it (for error details), and whether
 * it is a well-formed token at all: a bad token is reported as such, a good one in
 * the wrong place as "Expected ..., but found ...". */
static int token_at(const jparser *jp, bool *valid)
{
    const char *q = jp->p, *e = jp->end;
    *valid = true;
    if (strchr("{}[],:", *q) != NULL)
        return 1;
    if (*q == '"') {
        for (q++; q < e && *q != '"'; q++)
            if (*q == '\\' && q + 1 < e)
                q++;
        if (q >= e) {
            *valid = false;
            return (int)(e - jp->p);
        }
        return (int)(q + 1 - jp->p);
    }
    if (*q == '-' || (*q >= '0' && *q <= '9')) {
        const char *n = q;
        if (*n == '-')
            n++;
        bool ok = n < e && *n >= '0' && *n <= '9';
        if (ok && *n == '0')
            n++;
        else
            while (n < e && *n >= '0' && *n <= '9')
                n++;
        if (ok && n < e && *n == '.') {
            const char *f = ++n;
            while (n < e && *n >= '0' && *n <= '9')
                n++;
            ok = n > f;
        }
        if (ok && n < e && (*n == 'e' || *n == 'E')) {
            n++;
            if (n < e && (*n == '+' || *n == '-'))
                n++;
            const char *f = n;
            while (n < e && *n >= '0' && *n <= '9')
                n++;
            ok = n > f;
        }
        const char *t = n;
        while (t < e && json_alnum(*t))
            t++;
        *valid = ok && t == n;
        return (int)((t > n ? t : n) - jp->p);
    }
    while (q < e && json_alnum(*q))
        q++;
    if (q == jp->p)
        q++;
    size_t n = (size_t)(q - jp->p);
    *valid = (n == 4 && (memcmp(jp->p, "true", 4) == 0 || memcmp(jp->p, "null", 4) == 0)) ||
             (n == 5 && memcmp(jp->p, "false", 5) == 0);
    return (int)n;
}

static int unexpected(jparser *jp, const char *expected)
{
    if (jp->p >= jp->end)
        return json_fail(jp, "22P02", NULL, "The input string ended unexpectedly.%.*s", "", 0);
    bool valid;
    int n = token_at(jp, &valid);
    char fmt[96];
    if (!valid || expected == NULL)
        snprintf(fmt, sizeof fmt, "Token \"%%.*s\" is invalid.");
    else
        snprintf(fmt, sizeof fmt, "Expected %s, but found \"%%.*s\".", expected);
    return json_fail(jp, "22P02", NULL, fmt, jp->p, n);
}

static void put_utf8(tl_buf *b, uint32_t cp)
{
    char u[4];
    if (cp < 0x80) {
        u[0] = (char)cp;
        tl_buf_append(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        tl_buf_append(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        tl_buf_append(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        tl_buf_append(b, u, 4);
    }
}

static int hex4(const char *q, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = q[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static int parse_string(jparser *jp, jv *out)
{
    const char *start = jp->p;
    jp->p++; /* opening quote */
    tl_buf b;
    tl_buf_init(&b);
    uint32_t hi_sur = 0;
    int rc = -1;
    while (jp->p < jp->end && *jp->p != '"') {
        unsigned char c = (unsigned char)*jp->p;
        if (c < 0x20) {
            json_fail(jp, "22P02", NULL, "Character with value 0x%.*s must be escaped.", "", 0);
            snprintf(jp->err->detail, sizeof jp->err->detail,
                     "Character with value 0x%02x must be escaped.", c);
            goto done;
        }
        if (c != '\\') {
            if (hi_sur) {
                json_fail(jp, "22P02", NULL,
                          "Unicode low surrogate must follow a high surrogate.%.*s", "", 0);
                goto done;
            }
            tl_buf_putc(&b, (char)c);
            jp->p++;
            continue;
        }
        if (jp->p + 1 >= jp->end)
            break;
        char e = jp->p[1];
        if (e == 'u') {
            uint32_t cp;
            if (jp->p + 6 > jp->end || hex4(jp->p + 2, &cp) != 0) {
                json_fail(jp, "22P02", NULL,
                          "\"\\u\" must be followed by four hexadecimal digits.%.*s", "", 0);
                goto done;
            }
            jp->p += 6;
            if (!jp->decode)
                continue; /* json keeps its text: PG checks surrogates only when decoding */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (hi_sur) {
                    json_fail(jp, "22P02", NULL,
                              "Unicode high surrogate must not follow a high surrogate.%.*s",
                              "", 0);
                    goto done;
                }
                hi_sur = cp;
                continue;
            }
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                if (!hi_sur) {
                    json_fail(jp, "22P02", NULL,
                              "Unicode low surrogate must follow a high surrogate.%.*s", "", 0);
                    goto done;
                }
                cp = 0x10000 + ((hi_sur - 0xD800) << 10) + (cp - 0xDC00);
                hi_sur = 0;
            } else if (hi_sur) {
                json_fail(jp, "22P02", NULL,
                          "Unicode low surrogate must follow a high surrogate.%.*s", "", 0);
                goto done;
            }
            if (cp == 0 && jp->decode) {
                json_fail(jp, "22P05", "unsupported Unicode escape sequence",
                          "\\u0000 cannot be converted to text.%.*s", "", 0);
                goto done;
            }
            put_utf8(&b, cp);
            continue;
        }
        if (hi_sur) {
            json_fail(jp, "22P02", NULL, "Unicode low surrogate must follow a high surrogate.%.*s",
                      "", 0);
            goto done;
        }
        char d;
        switch (e) {
        case '"': d = '"'; break;
        case '\\': d = '\\'; break;
        case '/': d = '/'; break;
        case 'b': d = '\b'; break;
        case 'f': d = '\f'; break;
        case 'n': d = '\n'; break;
        case 'r': d = '\r'; break;
        case 't': d = '\t'; break;
        default:
            json_fail(jp, "22P02", NULL, "Escape sequence \"%.*s\" is invalid.", jp->p, 2);
            goto done;
        }
        tl_buf_putc(&b, d);
        jp->p += 2;
    }
    if (hi_sur) {
        json_fail(jp, "22P02", NULL, "Unicode low surrogate must follow a high surrogate.%.*s", "",
                  0);
        goto done;
    }
    if (jp->p >= jp->end) {
        jp->p = start; /* PG reports the whole unterminated string as the bad token */
        unexpected(jp, NULL);
        goto done;
    }
    jp->p++; /* closing quote */
    out->kind = 's';
    if (jp->decode) {
        out->str = tl_arena_strndup(jp->a, b.data ? b.data : "", b.len);
        out->len = (uint32_t)b.len;
    }
    rc = 0;
done:
    tl_buf_free(&b);
    return rc;
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(jparser *jp, jv *out)
{
    const char *q = jp->p;
    if (q < jp->end && *q == '-')
        q++;
    if (q < jp->end && *q == '0')
        q++;
    else if (q < jp->end && *q >= '1' && *q <= '9')
        while (q < jp->end && *q >= '0' && *q <= '9')
            q++;
    else
        return unexpected(jp, NULL);
    if (q < jp->end && *q == '.') {
        q++;
        const char *f = q;
        while (q < jp->end && *q >= '0' && *q <= '9')
            q++;
        if (q == f)
            return unexpected(jp, NULL);
    }
    if (q < jp->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < jp->end && (*q == '+' || *q == '-'))
            q++;
        const char *f = q;
        while (q < jp->end && *q >= '0' && *q <= '9')
            q++;
        if (q == f)
            return unexpected(jp, NULL);
    }
    /* a number glued to more token characters ("01", "1x") is one bad token */
    if (q < jp->end && strchr(" \t\n\r{}[],:\"", *q) == NULL)
        return unexpected(jp, NULL);
    out->kind = 'n';
    out->str = jp->p;
    out->len = (uint32_t)(q - jp->p);
    jp->p = q;
    return 0;
}

static int parse_value(jparser *jp, jv *out, int depth);

static int parse_array(jparser *jp, jv *out, int depth)
{
    jp->p++;
    out->kind = 'a';
    jv **items = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    ws(jp);
    if (jp->p < jp->end && *jp->p == ']') {
        jp->p++;
        rc = 0;
        goto done;
    }
    for (;;) {
        jv *v = tl_arena_zalloc(jp->a, sizeof *v);
        if (parse_value(jp, v, depth + 1) != 0)
            goto done;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            items = tl_xrealloc(items, cap * sizeof *items);
        }
        items[n++] = v;
        ws(jp);
        if (jp->p < jp->end && *jp->p == ',') {
            jp->p++;
            continue;
        }
        if (jp->p < jp->end && *jp->p == ']') {
            jp->p++;
            rc = 0;
            break;
        }
        unexpected(jp, "\",\" or \"]\"");
        goto done;
    }
done:
    if (rc == 0 && n > 0) {
        out->items = tl_arena_alloc(jp->a, n * sizeof *items);
        memcpy(out->items, items, n * sizeof *items);
    }
    out->n = (uint32_t)n;
    free(items);
    return rc;
}

static int pair_cmp(const void *x, const void *y)
{
    const jpair *a = x, *b = y;
    /* PG compareJsonbScalarValue for keys: shorter first, then bytes */
    if (a->key->len != b->key->len)
        return a->key->len < b->key->len ? -1 : 1;
    int c = memcmp(a->key->str, b->key->str, a->key->len);
    if (c != 0)
        return c;
    return a->ord < b->ord ? -1 : a->ord > b->ord;
}

static int parse_object(jparser *jp, jv *out, int depth)
{
    jp->p++;
    out->kind = 'o';
    jpair *pairs = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    ws(jp);
    if (jp->p < jp->end && *jp->p == '}') {
        jp->p++;
        rc = 0;
        goto done;
    }
    for (bool first = true;; first = false) {
        ws(jp);
        if (jp->p >= jp->end || *jp->p != '"') {
            unexpected(jp, first ? "string or \"}\"" : "string");
            goto done;
        }
        jv *k = tl_arena_zalloc(jp->a, sizeof *k);
        if (parse_string(jp, k) != 0)
            goto done;
        ws(jp);
        if (jp->p >= jp->end || *jp->p != ':') {
            unexpected(jp, "\":\"");
            goto done;
        }
        jp->p++;
        jv *v = tl_arena_zalloc(jp->a, sizeof *v);
        if (parse_value(jp, v, depth + 1) != 0)
            goto done;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            pairs = tl_xrealloc(pairs, cap * sizeof *pairs);
        }
        pairs[n] = (jpair){k, v, (uint32_t)n};
        n++;
        ws(jp);
        if (jp->p < jp->end && *jp->p == ',') {
            jp->p++;
            continue;
        }
        if (jp->p < jp->end && *jp->p == '}') {
            jp->p++;
            rc = 0;
            break;
        }
        unexpected(jp, "\",\" or \"}\"");
        goto done;
    }
done:
    if (rc == 0 && n > 0 && jp->decode) {
        qsort(pairs, n, sizeof *pairs, pair_cmp);
        /* equal keys are adjacent in input order: keep each run's last */
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            if (i + 1 < n && pairs[i].key->len == pairs[i + 1].key->len &&
                memcmp(pairs[i].key->str, pairs[i + 1].key->str, pairs[i].key->len) == 0)
                continue;
            pairs[w++] = pairs[i];
        }
        n = w;
        out->pairs = tl_arena_alloc(jp->a, n * sizeof *pairs);
        memcpy(out->pairs, pairs, n * sizeof *pairs);
    }
    out->n = (uint32_t)n;
    free(pairs);
    return rc;
}

static bool lit(jparser *jp, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, w, n) != 0)
        return false;
    const char *q = jp->p + n;
    return q == jp->end || strchr(" \t\n\r{}[],:\"", *q) != NULL;
}

static int parse_value(jparser *jp, jv *out, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return tl_errorf(jp->err, "54001", "stack depth limit exceeded");
    ws(jp);
    if (jp->p >= jp->end)
        return unexpected(jp, NULL);
    if (strchr("}],:", *jp->p) != NULL)
        return unexpected(jp, "JSON value");
    switch (*jp->p) {
    case '{': return parse_object(jp, out, depth);
    case '[': return parse_array(jp, out, depth);
    case '"': return parse_string(jp, out);
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
    case '8': case '9':
        return parse_number(jp, out);
    default:
        break;
    }
    if (lit(jp, "true")) {
        out->kind = 't';
        jp->p += 4;
        return 0;
    }
    if (lit(jp, "false")) {
        out->kind = 'f';
        jp->p += 5;
        return 0;
    }
    if (lit(jp, "null")) {
        out->kind = 'z';
        jp->p += 4;
        return 0;
    }
    return unexpected(jp, "JSON value");
}

/* ---- normalized output -------------------------------------------------------------- */

static void put_escaped(tl_buf *b, const char *s, uint32_t len)
{
    tl_buf_putc(b, '"');
    for (uint32_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '\b': tl_buf_puts(b, "\\b"); break;
        case '\f': tl_buf_puts(b, "\\f"); break;
        case '\n': tl_buf_puts(b, "\\n"); break;
        case '\r': tl_buf_puts(b, "\\r"); break;
        case '\t': tl_buf_puts(b, "\\t"); break;
        case '"': tl_buf_puts(b, "\\\""); break;
        case '\\': tl_buf_puts(b, "\\\\"); break;
        default:
            if (c < ' ')
                tl_buf_printf(b, "\\u%04x", c);
            else
                tl_buf_putc(b, (char)c);
        }
    }
    tl_buf_putc(b, '"');
}

/* A JSON number as numeric_out would print it: display scale = fraction digits minus
 * exponent (not below 0), leading zeros dropped, no sign on zero. */
static int put_number(tl_buf *b, const char *s, uint32_t len, tl_error *err)
{
    const char *p = s, *end = s + len;
    bool neg = *p == '-';
    if (neg)
        p++;
    char *digits = tl_xmalloc(len + 1);
    int nd = 0, nint = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        digits[nd++] = *p, nint++;
    if (p < end && *p == '.')
        for (p++; p < end && *p >= '0' && *p <= '9'; p++)
            digits[nd++] = *p;
    long exp = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = *p == '-';
        if (*p == '+' || *p == '-')
            p++;
        for (; p < end; p++) {
            exp = exp * 10 + (*p - '0');
            if (exp > 1000) {
                free(digits);
                /* PG numeric_in refuses exponents beyond NUMERIC_MAX_PRECISION */
                return tl_errorf(err, "22P02", "invalid input syntax for type numeric: \"%.*s\"",
                                 (int)len, s);
            }
        }
        if (eneg)
            exp = -exp;
    }
    long pos = nint + exp; /* decimal point after `pos` digits */
    bool zero = true;
    for (int i = 0; i < nd; i++)
        if (digits[i] != '0')
            zero = false;
    if (neg && !zero)
        tl_buf_putc(b, '-');
    /* integer part */
    bool any = false;
    for (long i = 0; i < pos; i++) {
        char c = i < nd ? digits[i] : '0';
        if (!any && c == '0')
            continue;
        any = true;
        tl_buf_putc(b, c);
    }
    if (!any)
        tl_buf_putc(b, '0');
    long frac = nd - pos; /* the display scale */
    if (frac > 0) {
        tl_buf_putc(b, '.');
        for (long i = pos; i < nd; i++)
            tl_buf_putc(b, i < 0 ? '0' : digits[i]);
    }
    free(digits);
    return 0;
}

static int put_value(tl_buf *b, const jv *v, tl_error *err)
{
    switch (v->kind) {
    case 'o':
        tl_buf_putc(b, '{');
        for (uint32_t i = 0; i < v->n; i++) {
            if (i > 0)
                tl_buf_puts(b, ", ");
            put_escaped(b, v->pairs[i].key->str, v->pairs[i].key->len);
            tl_buf_puts(b, ": ");
            if (put_value(b, v->pairs[i].val, err) != 0)
                return -1;
        }
        tl_buf_putc(b, '}');
        return 0;
    case 'a':
        tl_buf_putc(b, '[');
        for (uint32_t i = 0; i < v->n; i++) {
            if (i > 0)
                tl_buf_puts(b, ", ");
            if (put_value(b, v->items[i], err) != 0)
                return -1;
        }
        tl_buf_putc(b, ']');
        return 0;
    case 's': put_escaped(b, v->str, v->len); return 0;
    case 'n': return put_number(b, v->str, v->len, err);
    case 't': tl_buf_puts(b, "true"); return 0;
    case 'f': tl_buf_puts(b, "false"); return 0;
    default: tl_buf_puts(b, "null"); return 0;
    }
}

int val__json_in(const char *s, size_t len, bool jsonb, tl_arena *a, tl_str *out, tl_error *err)
{
    /* the tree lives in a scratch arena: only the final text goes to the caller's */
    tl_arena scratch;
    tl_arena_init(&scratch);
    jparser jp = {s, s, s + len, &scratch, err, s, len, jsonb};
    jv root = {0};
    int rc = parse_value(&jp, &root, 0);
    if (rc == 0) {
        ws(&jp);
        if (jp.p < jp.end)
            rc = unexpected(&jp, "end of input");
    }
    if (rc == 0) {
        if (!jsonb) {
            out->ptr = tl_arena_strndup(a, s, len);
            out->len = (uint32_t)len;
        } else {
            tl_buf b;
            tl_buf_init(&b);
            rc = put_value(&b, &root, err);
            if (rc == 0) {
                out->ptr = tl_arena_strndup(a, b.data, b.len);
                out->len = (uint32_t)b.len;
            }
            tl_buf_free(&b);
        }
    }
    tl_arena_free(&scratch);
    return rc;
}
