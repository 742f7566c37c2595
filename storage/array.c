/*
 * array.c — arrays as the catalogs need them: held in PostgreSQL's text form
 * ('{1,2}', int2vector's '1 2'), parsed into elements on demand by the functions
 * that look inside (subscripts, unnest, = ANY, array_to_string). Catalog arrays are
 * short, so re-parsing costs less than a second physical representation would.
 */
#include "value_int.h"

#include <string.h>
#include <strings.h>

static const struct {
    uint32_t array_oid;
    tl_type_id elem;
    uint32_t elem_oid;
    bool vector; /* int2vector / oidvector: space-separated, no braces */
} arrays[] = {
    {TL_OID_INT2VECTOR, TL_INT2, TL_OID_INT2, true},
    {TL_OID_OIDVECTOR, TL_OID, TL_OID_OID, true},
    {TL_OID_INT2ARRAY, TL_INT2, TL_OID_INT2, false},
    {1007, TL_INT4, TL_OID_INT4, false},
    {1016, TL_INT8, TL_OID_INT8, false},
    {TL_OID_OIDARRAY, TL_OID, TL_OID_OID, false},
    {TL_OID_TEXTARRAY, TL_TEXT, TL_OID_TEXT, false},
    {TL_OID_NAMEARRAY, TL_NAME, TL_OID_NAME, false},
    {TL_OID_CHARARRAY, TL_CHAR, TL_OID_CHAR, false},
    {1000, TL_BOOL, TL_OID_BOOL, false},
    {1015, TL_VARCHAR, TL_OID_VARCHAR, false},
    {2951, TL_UUID, TL_OID_UUID, false},
    {1021, TL_FLOAT4, TL_OID_FLOAT4, false},
    {1022, TL_FLOAT8, TL_OID_FLOAT8, false},
    {1231, TL_NUMERIC, TL_OID_NUMERIC, false},
    {1182, TL_DATE, TL_OID_DATE, false},
    {1185, TL_TIMESTAMPTZ, TL_OID_TIMESTAMPTZ, false},
    {1115, TL_TIMESTAMP, 1114, false},
    {1187, TL_INTERVAL, 1186, false},
    {1014, TL_BPCHAR, 1042, false},
    {199, TL_JSON, 114, false},
    {3807, TL_JSONB, 3802, false},
    {TL_OID_ACLITEMARRAY, TL_TEXT, 1033, false},
};

static int find(uint32_t array_oid)
{
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        if (arrays[i].array_oid == array_oid)
            return (int)i;
    return -1;
}

tl_type tl_array_type(uint32_t array_oid)
{
    tl_type t = tl_type_make(TL_ARRAY);
    t.oid = array_oid;
    return t;
}

tl_type tl_array_elem_type(uint32_t array_oid)
{
    int i = find(array_oid);
    return tl_type_make(i < 0 ? TL_TEXT : arrays[i].elem);
}

uint32_t tl_array_elem_oid(uint32_t array_oid)
{
    int i = find(array_oid);
    return i < 0 ? 0 : arrays[i].elem_oid;
}

uint32_t tl_array_oid_of(uint32_t elem_oid)
{
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        if (arrays[i].elem_oid == elem_oid && !arrays[i].vector)
            return arrays[i].array_oid;
    return 0;
}

int tl_array_parse(uint32_t array_oid, const char *s, size_t len, tl_array_elems *out, tl_arena *a,
                   tl_error *err)
{
    int k = find(array_oid);
    bool vector = k >= 0 && arrays[k].vector;
    size_t cap = 8;
    out->n = 0;
    out->v = tl_arena_alloc(a, sizeof *out->v * cap);
    out->isnull = tl_arena_alloc(a, cap);
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'))
        i++;
    if (!vector) {
        if (i >= len || s[i] != '{')
            return tl_errorf(err, "22P02", "malformed array literal: \"%.*s\"", (int)len, s);
        i++;
    }
    char *tmp = tl_arena_alloc(a, len + 1);
    for (;;) {
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'))
            i++;
        if (i >= len) {
            if (vector)
                break;
            return tl_errorf(err, "22P02", "malformed array literal: \"%.*s\"", (int)len, s);
        }
        if (!vector && s[i] == '}') {
            i++;
            break;
        }
        size_t tl = 0;
        bool quoted = false;
        if (s[i] == '"') {
            quoted = true;
            i++;
            while (i < len && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < len)
                    i++;
                tmp[tl++] = s[i++];
            }
            if (i >= len)
                return tl_errorf(err, "22P02", "malformed array literal: \"%.*s\"", (int)len, s);
            i++;
        } else {
            while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ' ' && (vector || s[i] != '{')) {
                if (s[i] == '\\' && i + 1 < len)
                    i++;
                tmp[tl++] = s[i++];
            }
            if (tl == 0)
                return tl_errorf(err, "22P02", "malformed array literal: \"%.*s\"", (int)len, s);
        }
        if ((size_t)out->n == cap) {
            tl_str *nv = tl_arena_alloc(a, sizeof *nv * cap * 2);
            bool *nn = tl_arena_alloc(a, cap * 2);
            memcpy(nv, out->v, sizeof *nv * cap);
            memcpy(nn, out->isnull, cap);
            out->v = nv;
            out->isnull = nn;
            cap *= 2;
        }
        bool isnull = !quoted && tl == 4 && strncasecmp(tmp, "null", 4) == 0;
        out->isnull[out->n] = isnull;
        out->v[out->n].ptr = tl_arena_strndup(a, tmp, tl);
        out->v[out->n].len = (uint32_t)tl;
        out->n++;
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') && !vector)
            i++;
        if (!vector && i < len && s[i] == ',')
            i++;
    }
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'))
        i++;
    if (i != len)
        return tl_errorf(err, "22P02", "malformed array literal: \"%.*s\"", (int)len, s);
    return 0;
}

/* array_out's rule: quote empty strings, NULL, and anything with delimiters,
 * braces, quotes, backslashes or white space. */
static bool needs_quote(const char *p, uint32_t n)
{
    if (n == 0 || (n == 4 && strncasecmp(p, "null", 4) == 0))
        return true;
    for (uint32_t i = 0; i < n; i++)
        if (strchr("{},\"\\ \t\n\r\v\f", p[i]))
            return true;
    return false;
}

void tl_array_format(uint32_t array_oid, const tl_array_elems *el, tl_buf *out)
{
    int k = find(array_oid);
    bool vector = k >= 0 && arrays[k].vector;
    if (!vector)
        tl_buf_putc(out, '{');
    for (int i = 0; i < el->n; i++) {
        if (i)
            tl_buf_putc(out, vector ? ' ' : ',');
        if (el->isnull[i]) {
            tl_buf_puts(out, "NULL");
            continue;
        }
        const tl_str *v = &el->v[i];
        if (vector || !needs_quote(v->ptr, v->len)) {
            tl_buf_append(out, v->ptr, v->len);
            continue;
        }
        tl_buf_putc(out, '"');
        for (uint32_t j = 0; j < v->len; j++) {
            if (v->ptr[j] == '"' || v->ptr[j] == '\\')
                tl_buf_putc(out, '\\');
            tl_buf_putc(out, v->ptr[j]);
        }
        tl_buf_putc(out, '"');
    }
    if (!vector)
        tl_buf_putc(out, '}');
}

/* Input: parse and re-emit, so stored arrays are in array_out's canonical form
 * (elements are validated by the element type only when a function reads them). */
int val__array_in(tl_type t, const char *s, size_t len, tl_arena *a, tl_str *out, tl_error *err)
{
    tl_array_elems el;
    if (tl_array_parse(t.oid, s, len, &el, a, err) < 0)
        return -1;
    tl_buf b;
    tl_buf_init(&b);
    tl_array_format(t.oid, &el, &b);
    out->ptr = tl_arena_strndup(a, b.data ? b.data : "", b.len);
    out->len = (uint32_t)b.len;
    tl_buf_free(&b);
    return 0;
}
