/*
 * func_array.c — expressions over array values (held in PostgreSQL's text form, see
 * storage/array.c): `x op ANY (array)` / `x op ALL (array)` with an array-valued
 * column or function on the right (pg_index.indkey, pg_proc.proargtypes,
 * pg_policy.polroles), and subscripts `indkey[i]`, `(current_schemas(false))[1]`.
 * Each row's array is parsed when it is used: catalog arrays are a few elements.
 * int2vector and oidvector are zero-based, as in PostgreSQL; other arrays one-based.
 */
#include "query_int.h"

#include <string.h>

static bool zero_based(uint32_t array_oid)
{
    return array_oid == TL_OID_INT2VECTOR || array_oid == TL_OID_OIDVECTOR;
}

tl_type array_elem_of(tl_type arr)
{
    tl_type t = tl_array_elem_type(arr.oid);
    if (t.id == TL_UNKNOWN || t.id == TL_TYPE_COUNT || tl_array_elem_oid(arr.oid) == 0) return tl_type_make(TL_TEXT);
    return t;
}

/* Element k (text form) of array value d as type t; NULL out of range. */
int array_elem_datum(qctx *q, const tl_str *txt, tl_type t, tl_datum *out, tl_arena *a, tl_error *err)
{
    tl_datum in = {.isnull = false};
    in.v.s = *txt;
    if (tl_type_is_string(t.id)) {
        *out = in;
        return 0;
    }
    return cast_datum(q, &in, tl_type_make(TL_TEXT), t, out, a, err);
}

static int cmp_holds(const char *opn, int c)
{
    if (!strcmp(opn, "=")) return c == 0;
    if (!strcmp(opn, "<>") || !strcmp(opn, "!=")) return c != 0;
    if (!strcmp(opn, "<")) return c < 0;
    if (!strcmp(opn, "<=")) return c <= 0;
    if (!strcmp(opn, ">")) return c > 0;
    return c >= 0;
}

/* args: [x (already of the comparison type), array]; e->name the operator, e->negated
 * ALL. NULLs as PostgreSQL's scalar-array comparison: a true (ANY) or false (ALL)
 * element decides; otherwise any NULL makes the result NULL. */
static int k_any_array(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    bool all = e->negated;
    tl_type ct = e->args[0]->type;
    tl_arena tmp;
    tl_arena_init(&tmp);
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        out->nulls[i] = 0;
        if (tl_vec_isnull(&args[1], i)) {
            out->nulls[i] = 1;
            continue;
        }
        tl_datum arr;
        tl_vec_get(&args[1], i, &arr);
        tl_array_elems el;
        if ((rc = tl_array_parse(args[1].type.oid, arr.v.s.ptr, arr.v.s.len, &el, &tmp, err)) < 0) break;
        if (el.n == 0) {
            out->d.b[i] = all;
            continue;
        }
        if (tl_vec_isnull(&args[0], i)) {
            out->nulls[i] = 1;
            continue;
        }
        tl_datum x;
        tl_vec_get(&args[0], i, &x);
        bool decided = false, sawnull = false;
        for (int k = 0; k < el.n && !decided; k++) {
            if (el.isnull[k]) {
                sawnull = true;
                continue;
            }
            tl_datum v;
            if ((rc = array_elem_datum(q, &el.v[k], ct, &v, &tmp, err)) < 0) break;
            int h = cmp_holds(e->name, tl_datum_cmp(ct.id, &x, &v));
            if (all ? !h : h) decided = true;
        }
        if (rc < 0) break;
        if (decided) out->d.b[i] = !all;
        else if (sawnull) out->nulls[i] = 1;
        else out->d.b[i] = all;
        tl_arena_reset(&tmp);
    }
    tl_arena_free(&tmp);
    return rc;
}

static const fn_def any_array_def = {"any_array", 2, {TL_UNKNOWN, TL_ARRAY}, TL_BOOL, k_any_array, true, false};

tl_expr *array_any_expr(qctx *q, const char *opn, bool all, tl_expr *x, tl_expr *arr, int location)
{
    tl_expr *e = expr_new(q, E_FUNC, tl_type_make(TL_BOOL), location);
    e->fn = &any_array_def;
    e->name = tl_arena_strdup(&q->arena, opn);
    e->negated = all;
    e->nargs = 2;
    e->args = tl_arena_alloc(&q->arena, sizeof *e->args * 2);
    e->args[0] = x;
    e->args[1] = arr;
    return e;
}

/* args: [array, int4 index]; result of the element type (e->type). */
static int k_subscript(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    int lb = zero_based(args[0].type.oid) ? 0 : 1;
    tl_arena tmp;
    tl_arena_init(&tmp);
    int rc = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_array_elems el;
        const tl_str *s = &args[0].d.s[i];
        if ((rc = tl_array_parse(args[0].type.oid, s->ptr, s->len, &el, &tmp, err)) < 0) break;
        int64_t k = args[1].d.i[i] - lb;
        if (k < 0 || k >= el.n || el.isnull[k]) {
            out->nulls[i] = 1;
            continue;
        }
        tl_datum v;
        if ((rc = array_elem_datum(q, &el.v[k], e->type, &v, &q->arena, err)) < 0) break;
        if (tl_type_is_string(e->type.id)) v.v.s.ptr = tl_arena_strndup(&q->arena, v.v.s.ptr, v.v.s.len);
        tl_vec_set(out, i, &v);
        tl_arena_reset(&tmp);
    }
    tl_arena_free(&tmp);
    return rc;
}

static const fn_def subscript_def = {"subscript", 2, {TL_ARRAY, TL_INT4}, TL_UNKNOWN, k_subscript, false, false};

tl_expr *array_subscript_expr(qctx *q, tl_expr *arr, tl_expr *idx, int location)
{
    tl_expr *e = expr_new(q, E_FUNC, array_elem_of(arr->type), location);
    e->fn = &subscript_def;
    e->name = arr->name;
    e->nargs = 2;
    e->args = tl_arena_alloc(&q->arena, sizeof *e->args * 2);
    e->args[0] = arr;
    e->args[1] = idx;
    return e;
}

/* array || array (array_cat): NULL on one side gives the other, as PostgreSQL. */
int k_array_cat(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    uint32_t oid = e->type.oid;
    tl_arena tmp;
    tl_arena_init(&tmp);
    int rc = 0;
    for (uint32_t i = 0; i < n; i++) {
        bool an = tl_vec_isnull(&args[0], i), bn = tl_vec_isnull(&args[1], i);
        out->nulls[i] = an && bn;
        if (an && bn) continue;
        if (an || bn) {
            tl_datum d;
            tl_vec_get(&args[an ? 1 : 0], i, &d);
            d.v.s.ptr = tl_arena_strndup(&q->arena, d.v.s.ptr, d.v.s.len);
            tl_vec_set(out, i, &d);
            continue;
        }
        tl_array_elems x, y;
        if ((rc = tl_array_parse(args[0].type.oid, args[0].d.s[i].ptr, args[0].d.s[i].len, &x, &tmp, err)) < 0 ||
            (rc = tl_array_parse(args[1].type.oid, args[1].d.s[i].ptr, args[1].d.s[i].len, &y, &tmp, err)) < 0)
            break;
        tl_array_elems z = {.n = x.n + y.n};
        z.v = tl_arena_alloc(&tmp, sizeof *z.v * (size_t)(z.n + 1));
        z.isnull = tl_arena_alloc(&tmp, (size_t)z.n + 1);
        for (int k = 0; k < x.n; k++) z.v[k] = x.v[k], z.isnull[k] = x.isnull[k];
        for (int k = 0; k < y.n; k++) z.v[x.n + k] = y.v[k], z.isnull[x.n + k] = y.isnull[k];
        tl_buf b;
        tl_buf_init(&b);
        tl_array_format(oid, &z, &b);
        tl_datum d = {.isnull = false};
        d.v.s.ptr = tl_arena_strndup(&q->arena, b.data ? b.data : "", b.len);
        d.v.s.len = (uint32_t)b.len;
        tl_buf_free(&b);
        tl_vec_set(out, i, &d);
        tl_arena_reset(&tmp);
    }
    tl_arena_free(&tmp);
    return rc;
}

/* ARRAY[e1, e2, ...]: each row's elements (all already of the element type) in the
 * array's text form. Not strict: a NULL element is a NULL entry, never a NULL array. */
static int k_array_ctor(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    int ne = e->nargs;
    tl_arena tmp;
    tl_arena_init(&tmp);
    tl_array_elems el = {.n = ne};
    el.v = tl_arena_alloc(&tmp, sizeof *el.v * (size_t)(ne + 1));
    el.isnull = tl_arena_alloc(&tmp, (size_t)ne + 1);
    tl_buf b, ab;
    tl_buf_init(&b);
    tl_buf_init(&ab);
    for (uint32_t i = 0; i < n; i++) {
        out->nulls[i] = 0;
        for (int k = 0; k < ne; k++) {
            el.isnull[k] = tl_vec_isnull(&args[k], i);
            el.v[k] = (tl_str){0};
            if (el.isnull[k]) continue;
            tl_datum d;
            tl_vec_get(&args[k], i, &d);
            tl_buf_clear(&b);
            q_format_value(q, e->args[k]->type, &d, &b);
            el.v[k].ptr = tl_arena_strndup(&tmp, b.data ? b.data : "", b.len);
            el.v[k].len = (uint32_t)b.len;
        }
        tl_buf_clear(&ab);
        tl_array_format(e->type.oid, &el, &ab);
        tl_datum d = {.isnull = false};
        d.v.s.ptr = tl_arena_strndup(&q->arena, ab.data ? ab.data : "", ab.len);
        d.v.s.len = (uint32_t)ab.len;
        tl_vec_set(out, i, &d);
        tl_arena_reset(&tmp);
        el.v = tl_arena_alloc(&tmp, sizeof *el.v * (size_t)(ne + 1));
        el.isnull = tl_arena_alloc(&tmp, (size_t)ne + 1);
    }
    tl_buf_free(&b);
    tl_buf_free(&ab);
    tl_arena_free(&tmp);
    (void)err;
    return 0;
}

static const fn_def array_ctor_def = {"array", -1, {TL_UNKNOWN}, TL_ARRAY, k_array_ctor, true, false};

tl_expr *array_ctor_expr(qctx *q, tl_type array_type, tl_expr **elems, int n, int location)
{
    tl_expr *e = expr_new(q, E_FUNC, array_type, location);
    e->fn = &array_ctor_def;
    e->name = "array";
    e->nargs = n;
    e->args = tl_arena_alloc(&q->arena, sizeof *e->args * (size_t)(n ? n : 1));
    if (n) memcpy(e->args, elems, sizeof *elems * (size_t)n);
    return e;
}

static void put_be32(tl_buf *b, uint32_t v)
{
    char c[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
    tl_buf_append(b, c, 4);
}

/* array_send: PostgreSQL's binary array format (ndim, has-null flag, element type oid,
 * length and lower bound per dimension, then each element as length + its binary
 * form, -1 for NULL), for a client that asked for binary results. Elements of a type
 * without a binary form of their own (enums, "char") go as their text, which is what
 * PostgreSQL's send functions for those types produce. */
int q_array_send(qctx *q, tl_type t, const tl_datum *d, tl_buf *out, tl_error *err)
{
    tl_arena tmp;
    tl_arena_init(&tmp);
    tl_array_elems el;
    if (tl_array_parse(t.oid, d->v.s.ptr, d->v.s.len, &el, &tmp, err) < 0) {
        tl_arena_free(&tmp);
        return -1;
    }
    tl_type et = array_elem_of(t);
    uint32_t eoid = tl_array_elem_oid(t.oid);
    if (!eoid) {
        tl_enum *en = tl_catalog_enum_by_oid(q->eng, t.oid + 1);
        if (en && en->array_oid == t.oid) eoid = en->oid;
        else eoid = TL_OID_TEXT;
        et = tl_type_make(TL_TEXT);
    }
    bool anynull = false;
    for (int k = 0; k < el.n; k++) anynull = anynull || el.isnull[k];
    put_be32(out, el.n ? 1 : 0);
    put_be32(out, anynull ? 1 : 0);
    put_be32(out, eoid);
    if (el.n) {
        put_be32(out, (uint32_t)el.n);
        put_be32(out, zero_based(t.oid) ? 0 : 1);
    }
    int rc = 0;
    for (int k = 0; k < el.n && rc == 0; k++) {
        if (el.isnull[k]) {
            put_be32(out, UINT32_MAX);
            continue;
        }
        size_t at = out->len;
        put_be32(out, 0);
        if (!tl_type_has_binary(et.id)) {
            tl_buf_append(out, el.v[k].ptr, el.v[k].len);
        } else {
            tl_datum v;
            if ((rc = array_elem_datum(q, &el.v[k], et, &v, &tmp, err)) < 0) break;
            tl_value_send(et, &v, out);
        }
        uint32_t len = (uint32_t)(out->len - at - 4);
        char c[4] = {(char)(len >> 24), (char)(len >> 16), (char)(len >> 8), (char)len};
        memcpy(out->data + at, c, 4);
    }
    tl_arena_free(&tmp);
    return rc;
}
