/*
 * expr.c — evaluation of bound expressions over a batch, one vector at a time.
 * Strict functions see a pre-computed NULL mask in out->nulls and skip those rows, so a
 * kernel never divides by the zero that stands in a NULL slot. CASE evaluates each
 * branch only on the rows that reach it (gather, evaluate, scatter), as PostgreSQL
 * evaluates lazily: `case when n = 0 then 0 else x / n end` must not fail.
 */
#include "query_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

tl_expr *expr_new(qctx *q, ekind k, tl_type t, int location)
{
    tl_expr *e = tl_arena_zalloc(&q->arena, sizeof *e);
    e->kind = k;
    e->type = t;
    e->location = location;
    return e;
}

tl_expr *expr_const(qctx *q, tl_type t, const tl_datum *d, int location)
{
    tl_expr *e = expr_new(q, E_CONST, t, location);
    e->cval = *d;
    return e;
}

bool expr_is_const(const tl_expr *e)
{
    return e->kind == E_CONST;
}

static bool datum_same(tl_type t, const tl_datum *a, const tl_datum *b)
{
    if (a->isnull || b->isnull) return a->isnull == b->isnull;
    if (t.id == TL_UNKNOWN)
        return a->v.s.len == b->v.s.len && memcmp(a->v.s.ptr, b->v.s.ptr, a->v.s.len) == 0;
    if (t.id == TL_NUMERIC) return a->v.n.scale == b->v.n.scale && tl_numeric_cmp(&a->v.n, &b->v.n) == 0;
    return tl_datum_cmp(t.id, a, b) == 0;
}

bool expr_equal(const tl_expr *a, const tl_expr *b)
{
    if (a == b) return true;
    if (!a || !b) return false;
    if (a->kind != b->kind || a->type.id != b->type.id || a->type.typmod != b->type.typmod) return false;
    if (a->nargs != b->nargs) return false;
    switch (a->kind) {
    case E_CONST:
        if (!datum_same(a->type, &a->cval, &b->cval)) return false;
        break;
    case E_COL:
        if (a->col != b->col) return false;
        break;
    case E_FUNC:
        if (a->fn != b->fn) return false;
        break;
    case E_AGG:
        if (a->agg != b->agg || a->agg_star != b->agg_star || a->agg_distinct != b->agg_distinct) return false;
        if (!expr_equal(a->agg_filter, b->agg_filter) || !expr_equal(a->agg_order, b->agg_order)) return false;
        if (a->agg_frac != b->agg_frac || a->agg_order_desc != b->agg_order_desc) return false;
        break;
    case E_IN:
    case E_DISTINCT:
    case E_MINMAX:
        if (a->negated != b->negated) return false;
        break;
    case E_LIKE:
        if (a->negated != b->negated || a->ilike != b->ilike) return false;
        break;
    case E_WIN:
        if (a->agg != b->agg || a->win != b->win || !expr_equal(a->agg_filter, b->agg_filter)) return false;
        break;
    case E_CASE:
        if (a->has_else != b->has_else) return false;
        break;
    case E_SUBQ:
        if (a->subq != b->subq) return false;
        break;
    default:
        break;
    }
    for (int i = 0; i < a->nargs; i++)
        if (!expr_equal(a->args[i], b->args[i])) return false;
    return true;
}

/* ---- helpers over vectors ------------------------------------------------------------------- */

static void vec_fill(tl_vec *v, const tl_datum *d, uint32_t n)
{
    v->n = n;
    if (d->isnull) {
        memset(v->nulls, 1, n);
        return;
    }
    memset(v->nulls, 0, n);
    for (uint32_t i = 0; i < n; i++) tl_vec_set(v, i, d);
}

/* Gather rows `sel` of a batch into a new batch (shallow values). */
static batch *batch_gather(const batch *in, const uint32_t *sel, uint32_t nsel, tl_arena *a)
{
    batch *b = tl_arena_alloc(a, sizeof *b);
    b->ncols = in->ncols;
    b->n = nsel;
    b->cols = tl_arena_zalloc(a, sizeof *b->cols * (size_t)(in->ncols ? in->ncols : 1));
    for (int c = 0; c < in->ncols; c++) {
        const tl_vec *src = &in->cols[c];
        tl_vec *dst = &b->cols[c];
        if (!src->d.raw) {
            *dst = *src;
            dst->n = nsel;
            continue;
        }
        tl_vec_alloc(dst, src->type, nsel, a);
        dst->n = nsel;
        size_t es = tl_vec_elem_size(src->type.id);
        for (uint32_t i = 0; i < nsel; i++) {
            memcpy((char *)dst->d.raw + es * i, (const char *)src->d.raw + es * sel[i], es);
            dst->nulls[i] = src->nulls ? src->nulls[sel[i]] : 0;
        }
    }
    return b;
}

int expr_eval(qctx *q, const tl_expr *e, const batch *in, tl_vec *out, tl_arena *a, tl_error *err);

static int eval_args(qctx *q, const tl_expr *e, const batch *in, tl_vec *args, tl_arena *a, tl_error *err)
{
    for (int i = 0; i < e->nargs; i++)
        if (expr_eval(q, e->args[i], in, &args[i], a, err) < 0) return -1;
    return 0;
}

/* Three-valued truth of a boolean vector element: 1 true, 0 false, -1 NULL. */
static inline int truth(const tl_vec *v, uint32_t i)
{
    if (v->nulls && v->nulls[i]) return -1;
    return v->d.b[i] ? 1 : 0;
}

bool hash_exact_type(tl_type_id t)
{
    switch (t) {
    case TL_INT2: case TL_INT4: case TL_INT8: case TL_OID: case TL_BOOL: case TL_DATE:
    case TL_TIMESTAMP: case TL_TIMESTAMPTZ: case TL_UUID: case TL_TEXT: case TL_VARCHAR: case TL_NAME:
        return true;
    default:
        return false;
    }
}

/* x [NOT] IN (many constants) — a literal list or an uncorrelated subquery's values —
 * probes a hash set built once per batch instead of comparing every row with every value
 * (a 1M-row NOT IN over 2,000 values took 44 s). */
static int eval_in_set(qctx *q, const tl_expr *e, const batch *in, tl_vec *out, tl_arena *a, tl_error *err)
{
    uint32_t n = in->n;
    tl_vec x;
    if (expr_eval(q, e->args[0], in, &x, a, err) < 0) return -1;
    tl_type_id t = e->args[0]->type.id;
    uint64_t cap = 16, nv = (uint64_t)e->nargs - 1;
    while (cap < nv * 2) cap <<= 1;
    uint32_t *set = tl_arena_zalloc(a, sizeof *set * cap);
    bool hasnull = false;
    for (uint64_t k = 1; k <= nv; k++) {
        const tl_datum *v = &e->args[k]->cval;
        if (v->isnull) {
            hasnull = true;
            continue;
        }
        uint64_t j = tl_datum_hash(t, v) & (cap - 1);
        while (set[j]) j = (j + 1) & (cap - 1);
        set[j] = (uint32_t)k;
    }
    tl_vec_alloc(out, tl_type_make(TL_BOOL), n, a);
    out->n = n;
    for (uint32_t i = 0; i < n; i++) {
        if (tl_vec_isnull(&x, i)) {
            out->nulls[i] = 1;
            continue;
        }
        tl_datum l;
        tl_vec_get(&x, i, &l);
        bool found = false;
        for (uint64_t j = tl_datum_hash(t, &l) & (cap - 1); set[j] && !found; j = (j + 1) & (cap - 1))
            found = tl_datum_cmp(t, &l, &e->args[set[j]]->cval) == 0;
        out->nulls[i] = !found && hasnull;
        out->d.b[i] = found ? !e->negated : e->negated;
    }
    return 0;
}

static bool in_list_hashable(const tl_expr *e)
{
    if (e->nargs <= 9 || e->nargs > (int)(UINT32_MAX / 2) || !hash_exact_type(e->args[0]->type.id)) return false;
    for (int k = 1; k < e->nargs; k++)
        if (e->args[k]->kind != E_CONST || e->args[k]->type.id != e->args[0]->type.id) return false;
    return true;
}

static int eval_in(qctx *q, const tl_expr *e, const batch *in, tl_vec *out, tl_arena *a, tl_error *err)
{
    if (in_list_hashable(e)) return eval_in_set(q, e, in, out, a, err);
    uint32_t n = in->n;
    tl_vec *args = tl_arena_alloc(a, sizeof *args * (size_t)e->nargs);
    if (eval_args(q, e, in, args, a, err) < 0) return -1;
    tl_vec_alloc(out, tl_type_make(TL_BOOL), n, a);
    out->n = n;
    tl_type_id t = e->args[0]->type.id;
    for (uint32_t i = 0; i < n; i++) {
        if (e->nargs == 1) { /* IN over an empty subquery result: false even for NULL */
            out->nulls[i] = 0;
            out->d.b[i] = e->negated;
            continue;
        }
        if (tl_vec_isnull(&args[0], i)) {
            out->nulls[i] = 1;
            continue;
        }
        tl_datum l, r;
        tl_vec_get(&args[0], i, &l);
        bool found = false, sawnull = false;
        for (int k = 1; k < e->nargs && !found; k++) {
            if (tl_vec_isnull(&args[k], i)) {
                sawnull = true;
                continue;
            }
            tl_vec_get(&args[k], i, &r);
            found = tl_datum_cmp(t, &l, &r) == 0;
        }
        if (found) {
            out->nulls[i] = 0;
            out->d.b[i] = !e->negated;
        } else if (sawnull) {
            out->nulls[i] = 1;
        } else {
            out->nulls[i] = 0;
            out->d.b[i] = e->negated;
        }
    }
    return 0;
}

static int eval_case(qctx *q, const tl_expr *e, const batch *in, tl_vec *out, tl_arena *a, tl_error *err)
{
    uint32_t n = in->n;
    tl_vec_alloc(out, e->type, n, a);
    out->n = n;
    memset(out->nulls, 1, n);
    uint32_t *rem = tl_arena_alloc(a, sizeof *rem * (n ? n : 1)); /* rows not yet decided */
    uint32_t nrem = n;
    for (uint32_t i = 0; i < n; i++) rem[i] = i;
    int nw = (e->nargs - (e->has_else ? 1 : 0)) / 2;
    size_t es = tl_vec_elem_size(e->type.id);
    for (int w = 0; w < nw && nrem; w++) {
        batch *sub = batch_gather(in, rem, nrem, a);
        tl_vec cond;
        if (expr_eval(q, e->args[2 * w], sub, &cond, a, err) < 0) return -1;
        uint32_t *hit = tl_arena_alloc(a, sizeof *hit * nrem), nhit = 0, nleft = 0;
        uint32_t *hitsub = tl_arena_alloc(a, sizeof *hitsub * nrem);
        for (uint32_t i = 0; i < nrem; i++) {
            if (truth(&cond, i) == 1) {
                hitsub[nhit] = i;
                hit[nhit++] = rem[i];
            } else {
                rem[nleft++] = rem[i];
            }
        }
        if (nhit) {
            batch *hb = batch_gather(sub, hitsub, nhit, a);
            tl_vec r;
            if (expr_eval(q, e->args[2 * w + 1], hb, &r, a, err) < 0) return -1;
            for (uint32_t i = 0; i < nhit; i++) {
                out->nulls[hit[i]] = tl_vec_isnull(&r, i);
                memcpy((char *)out->d.raw + es * hit[i], (char *)r.d.raw + es * i, es);
            }
        }
        nrem = nleft;
    }
    if (e->has_else && nrem) {
        batch *sub = batch_gather(in, rem, nrem, a);
        tl_vec r;
        if (expr_eval(q, e->args[e->nargs - 1], sub, &r, a, err) < 0) return -1;
        for (uint32_t i = 0; i < nrem; i++) {
            out->nulls[rem[i]] = tl_vec_isnull(&r, i);
            memcpy((char *)out->d.raw + es * rem[i], (char *)r.d.raw + es * i, es);
        }
    }
    return 0;
}

/* LIKE matching as PostgreSQL's MatchText: % any run, _ one character (UTF-8 aware),
 * the escape character (default backslash) quotes the next one. ILIKE folds ASCII case
 * (the C locale's lower()). Returns 1 match, 0 no match, -1 bad escape at the end. */
static int like_match(const char *t, size_t tl, const char *p, size_t pl, int esc, bool ci)
{
    while (pl > 0) {
        unsigned char pc = (unsigned char)*p;
        if (esc >= 0 && pc == (unsigned char)esc) {
            if (pl < 2) return -1;
            p++;
            pl--;
            pc = (unsigned char)*p;
            goto literal;
        }
        if (pc == '%') {
            while (pl > 0 && *p == '%') p++, pl--;
            if (pl == 0) return 1;
            for (size_t i = 0; i <= tl; i++) {
                if (i > 0 && i < tl && ((unsigned char)t[i] & 0xC0) == 0x80) continue;
                int r = like_match(t + i, tl - i, p, pl, esc, ci);
                if (r != 0) return r;
            }
            return 0;
        }
        if (pc == '_') {
            if (tl == 0) return 0;
            size_t clen = 1;
            while (clen < tl && ((unsigned char)t[clen] & 0xC0) == 0x80) clen++;
            t += clen;
            tl -= clen;
            p++;
            pl--;
            continue;
        }
    literal:
        if (tl == 0) return 0;
        {
            unsigned char tc = (unsigned char)*t;
            if (ci) {
                if (tc >= 'A' && tc <= 'Z') tc = (unsigned char)(tc + 32);
                if (pc >= 'A' && pc <= 'Z') pc = (unsigned char)(pc + 32);
            }
            if (tc != pc) return 0;
        }
        t++;
        tl--;
        p++;
        pl--;
    }
    return tl == 0;
}

static int eval_misc(qctx *q, const tl_expr *e, const batch *in, tl_vec *out, tl_arena *a, tl_error *err)
{
    uint32_t n = in->n;
    tl_vec *args = tl_arena_alloc(a, sizeof *args * (size_t)(e->nargs ? e->nargs : 1));
    if (eval_args(q, e, in, args, a, err) < 0) return -1;
    tl_vec_alloc(out, e->type, n, a);
    out->n = n;
    tl_type_id t = e->args[0]->type.id == TL_UNKNOWN ? TL_TEXT : e->args[0]->type.id;
    for (uint32_t i = 0; i < n; i++) {
        out->nulls[i] = 0;
        if (e->kind == E_DISTINCT) {
            bool an = tl_vec_isnull(&args[0], i), bn = tl_vec_isnull(&args[1], i);
            bool distinct;
            if (an || bn) {
                distinct = an != bn;
            } else {
                tl_datum x, y;
                tl_vec_get(&args[0], i, &x);
                tl_vec_get(&args[1], i, &y);
                distinct = tl_datum_cmp(t, &x, &y) != 0;
            }
            out->d.b[i] = e->negated ? !distinct : distinct;
        } else if (e->kind == E_MINMAX) {
            tl_datum best = {.isnull = true}, x;
            for (int k = 0; k < e->nargs; k++) {
                if (tl_vec_isnull(&args[k], i)) continue;
                tl_vec_get(&args[k], i, &x);
                if (best.isnull) {
                    best = x;
                    continue;
                }
                int c = tl_datum_cmp(t, &x, &best);
                if (e->negated ? c < 0 : c > 0) best = x;
            }
            if (best.isnull) out->nulls[i] = 1;
            else tl_vec_set(out, i, &best);
        } else {
            bool anynull = false;
            for (int k = 0; k < e->nargs; k++) anynull |= tl_vec_isnull(&args[k], i);
            if (anynull) {
                out->nulls[i] = 1;
                continue;
            }
            tl_datum s, p;
            tl_vec_get(&args[0], i, &s);
            tl_vec_get(&args[1], i, &p);
            int esc = '\\';
            if (e->nargs > 2) {
                tl_datum ed;
                tl_vec_get(&args[2], i, &ed);
                if (ed.v.s.len == 0) esc = -1;
                else if (ed.v.s.len == 1) esc = (unsigned char)ed.v.s.ptr[0];
                else return tl_errorf(err, "22025", "invalid escape string");
            }
            int r = like_match(s.v.s.ptr, s.v.s.len, p.v.s.ptr, p.v.s.len, esc, e->ilike);
            if (r < 0)
                return tl_errorf(err, "22025", "LIKE pattern must not end with escape character");
            out->d.b[i] = e->negated ? !r : r;
        }
    }
    return 0;
}

int expr_eval(qctx *q, const tl_expr *e, const batch *in, tl_vec *out, tl_arena *a, tl_error *err)
{
    uint32_t n = in->n;
    switch (e->kind) {
    case E_CONST:
        tl_vec_alloc(out, e->type, n, a);
        vec_fill(out, &e->cval, n);
        return 0;
    case E_COL:
        *out = in->cols[e->col];
        out->n = n;
        return 0;
    case E_FUNC: {
        tl_vec *args = tl_arena_alloc(a, sizeof *args * (size_t)(e->nargs ? e->nargs : 1));
        if (eval_args(q, e, in, args, a, err) < 0) return -1;
        tl_vec_alloc(out, e->type, n, a);
        out->n = n;
        memset(out->nulls, 0, n);
        if (!e->fn->nonstrict)
            for (int k = 0; k < e->nargs; k++)
                if (args[k].nulls)
                    for (uint32_t i = 0; i < n; i++) out->nulls[i] |= args[k].nulls[i];
        if (e->fn->fn(q, e, args, n, out, err) < 0) {
            if (err->position == 0 && e->location >= 0 && !strcmp(err->sqlstate, "22P02"))
                err->position = e->location + 1;
            return -1;
        }
        return 0;
    }
    case E_AND:
    case E_OR: {
        tl_vec_alloc(out, tl_type_make(TL_BOOL), n, a);
        out->n = n;
        bool is_and = e->kind == E_AND;
        for (uint32_t i = 0; i < n; i++) {
            out->d.b[i] = is_and;
            out->nulls[i] = 0;
        }
        for (int k = 0; k < e->nargs; k++) {
            tl_vec v;
            if (expr_eval(q, e->args[k], in, &v, a, err) < 0) return -1;
            for (uint32_t i = 0; i < n; i++) {
                int t = truth(&v, i);
                if (is_and) {
                    if (t == 0) {
                        out->d.b[i] = 0;
                        out->nulls[i] = 0;
                    } else if (t < 0 && out->d.b[i]) {
                        out->nulls[i] = 1;
                    }
                } else {
                    if (t == 1) {
                        out->d.b[i] = 1;
                        out->nulls[i] = 0;
                    } else if (t < 0 && !out->d.b[i]) {
                        out->nulls[i] = 1;
                    }
                }
            }
        }
        return 0;
    }
    case E_NOT: {
        tl_vec v;
        if (expr_eval(q, e->args[0], in, &v, a, err) < 0) return -1;
        tl_vec_alloc(out, tl_type_make(TL_BOOL), n, a);
        out->n = n;
        for (uint32_t i = 0; i < n; i++) {
            out->nulls[i] = tl_vec_isnull(&v, i);
            out->d.b[i] = !v.d.b[i];
        }
        return 0;
    }
    case E_ISNULL:
    case E_ISNOTNULL: {
        tl_vec v;
        if (expr_eval(q, e->args[0], in, &v, a, err) < 0) return -1;
        tl_vec_alloc(out, tl_type_make(TL_BOOL), n, a);
        out->n = n;
        memset(out->nulls, 0, n);
        for (uint32_t i = 0; i < n; i++) out->d.b[i] = tl_vec_isnull(&v, i) == (e->kind == E_ISNULL);
        return 0;
    }
    case E_COALESCE: {
        tl_vec_alloc(out, e->type, n, a);
        out->n = n;
        memset(out->nulls, 1, n);
        size_t es = tl_vec_elem_size(e->type.id);
        for (int k = 0; k < e->nargs; k++) {
            tl_vec v;
            if (expr_eval(q, e->args[k], in, &v, a, err) < 0) return -1;
            for (uint32_t i = 0; i < n; i++) {
                if (!out->nulls[i] || tl_vec_isnull(&v, i)) continue;
                out->nulls[i] = 0;
                memcpy((char *)out->d.raw + es * i, (char *)v.d.raw + es * i, es);
            }
        }
        return 0;
    }
    case E_IN:
        return eval_in(q, e, in, out, a, err);
    case E_CASE:
        return eval_case(q, e, in, out, a, err);
    case E_DISTINCT:
    case E_MINMAX:
    case E_LIKE:
        return eval_misc(q, e, in, out, a, err);
    case E_SUBQ:
        return subq_eval(q, e, in, out, a, err);
    case E_AGG:
        return tl_errorf(err, "42803", "aggregate function calls are not allowed here");
    case E_WIN:
        return tl_errorf(err, "42P20", "window function calls are not allowed here");
    }
    return tl_errorf(err, "XX000", "unknown expression kind");
}

int expr_eval_scalar(qctx *q, const tl_expr *e, tl_datum *out, tl_arena *a, tl_error *err)
{
    batch b = {.ncols = 0, .n = 1, .cols = NULL};
    tl_vec v;
    if (expr_eval(q, e, &b, &v, a, err) < 0) return -1;
    tl_vec_get(&v, 0, out);
    return 0;
}
