/*
 * agg.c — aggregate transition and final functions, shared by the hash aggregate and
 * window operators. Result types follow PostgreSQL (agg_result_type in func.c).
 * Variance and standard deviation use Welford's update so that large, nearly equal
 * values do not cancel; numeric inputs are folded as doubles and the result converted
 * back, which stays well inside the differential suite's 1e-9 relative tolerance.
 * DISTINCT and ordered-set aggregates collect their inputs and fold them at the end.
 */
#include "query_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool agg_collects(const tl_expr *ae)
{
    agg_kind k = ae->agg->kind;
    return ae->agg_distinct || k == A_PCT_CONT || k == A_PCT_DISC || k == A_ARRAY_AGG ||
           (k == A_STRING_AGG && ae->agg_order);
}

static double datum_double(tl_type_id t, const tl_datum *d)
{
    if (tl_type_is_integer(t)) return (double)d->v.i;
    if (t == TL_NUMERIC) return tl_numeric_to_double(&d->v.n);
    return d->v.f;
}

static tl_datum keep_datum(tl_type_id t, const tl_datum *d, tl_arena *keep)
{
    tl_datum c = *d;
    if ((tl_type_is_string(t) || t == TL_UNKNOWN) && !d->isnull) c.v.s.ptr = tl_arena_strndup(keep, d->v.s.ptr, d->v.s.len);
    return c;
}

static void list_push(agg_state *st, const tl_datum *v, const tl_datum *k)
{
    agg_list *l = st->list;
    if (!l) l = st->list = tl_xcalloc(1, sizeof *l);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = tl_xrealloc(l->v, sizeof *l->v * l->cap);
        l->k = tl_xrealloc(l->k, sizeof *l->k * l->cap);
    }
    l->v[l->n] = *v;
    if (k) l->k[l->n] = *k;
    else memset(&l->k[l->n], 0, sizeof l->k[0]);
    l->n++;
}

/* DISTINCT aggregates keep each value once: a hash set over the list, so the final
 * sort (or count) sees distinct values only. true = v was already there. */
static bool list_seen(agg_state *st, tl_type_id t, const tl_datum *v, bool byptr)
{
    agg_list *l = st->list;
    if (!l) l = st->list = tl_xcalloc(1, sizeof *l);
    if ((l->n + 1) * 2 > l->nslots) {
        uint64_t ns = l->nslots ? l->nslots * 2 : 64;
        uint32_t *s = tl_xcalloc(ns, sizeof *s);
        for (uint64_t i = 0; i < l->n; i++) {
            uint64_t j = l->hash[i] & (ns - 1);
            while (s[j]) j = (j + 1) & (ns - 1);
            s[j] = (uint32_t)(i + 1);
        }
        free(l->slot);
        l->slot = s;
        l->nslots = ns;
    }
    uint64_t h = byptr ? ptr_hash(v->v.s.ptr) : tl_datum_hash(t, v);
    uint64_t j = h & (l->nslots - 1);
    for (; l->slot[j]; j = (j + 1) & (l->nslots - 1)) {
        uint64_t i = l->slot[j] - 1;
        if (l->hash[i] == h && (byptr ? l->v[i].v.s.ptr == v->v.s.ptr : tl_datum_cmp(t, &l->v[i], v) == 0))
            return true;
    }
    l->slot[j] = (uint32_t)(l->n + 1); /* the caller pushes v as element n next */
    if (l->n >= l->hcap) {
        l->hcap = l->hcap ? l->hcap * 2 : 16;
        l->hash = tl_xrealloc(l->hash, sizeof *l->hash * l->hcap);
    }
    l->hash[l->n] = h;
    return false;
}

/* Fold a non-NULL value (or count(*)'s row) into the running state. */
static int fold(agg_state *st, const tl_expr *ae, tl_type_id t, const tl_datum *v, const tl_datum *d,
                tl_arena *keep, tl_error *err)
{
    agg_kind k = ae->agg->kind;
    st->count++;
    switch (k) {
    case A_COUNT_STAR:
    case A_COUNT: return 0;
    case A_SUM:
    case A_AVG:
        if (tl_type_is_integer(t)) {
            st->isum += v->v.i;
        } else if (t == TL_NUMERIC) {
            if (!st->has) {
                st->nsum = v->v.n;
                st->has = true;
            } else if (tl_numeric_add(&st->nsum, &v->v.n, &st->nsum, err) < 0) {
                return -1;
            }
        } else if (t == TL_INTERVAL) {
            st->best.v.iv.us += v->v.iv.us;
            st->best.v.iv.days += v->v.iv.days;
            st->best.v.iv.months += v->v.iv.months;
        } else if (t == TL_FLOAT4 && k == A_SUM) {
            st->fsum = (double)((float)st->fsum + (float)v->v.f); /* float4pl: sums in float4 */
        } else {
            st->fsum += v->v.f;
        }
        return 0;
    case A_MIN:
    case A_MAX:
        if (st->has) {
            int c = tl_datum_cmp(t, v, &st->best);
            if (k == A_MIN ? c >= 0 : c <= 0) return 0;
        }
        st->best = keep_datum(t, v, keep);
        st->has = true;
        return 0;
    case A_VAR_SAMP:
    case A_VAR_POP:
    case A_STDDEV_SAMP:
    case A_STDDEV_POP: {
        double x = datum_double(t, v);
        double delta = x - st->mean;
        st->mean += delta / (double)st->count;
        st->m2 += delta * (x - st->mean);
        return 0;
    }
    case A_BOOL_AND:
        st->best.v.b = st->has ? (st->best.v.b && v->v.b) : v->v.b;
        st->has = true;
        return 0;
    case A_BOOL_OR:
        st->best.v.b = st->has ? (st->best.v.b || v->v.b) : v->v.b;
        st->has = true;
        return 0;
    case A_STRING_AGG:
        if (!st->sbuf) {
            st->sbuf = tl_xcalloc(1, sizeof *st->sbuf);
            tl_buf_init(st->sbuf);
        } else if (d && !d->isnull) {
            tl_buf_append(st->sbuf, d->v.s.ptr, d->v.s.len);
        }
        tl_buf_append(st->sbuf, v->v.s.ptr, v->v.s.len);
        return 0;
    default:
        return tl_errorf(err, "XX000", "aggregate %s cannot be folded", ae->agg->name);
    }
}

int agg_add(agg_state *st, const tl_expr *ae, const tl_datum *v, const tl_datum *d, const tl_datum *k,
            tl_arena *keep, tl_error *err)
{
    if (ae->agg->kind == A_COUNT_STAR) {
        st->count++;
        return 0;
    }
    tl_type_id t = ae->args[0]->type.id;
    if (ae->agg->kind == A_ARRAY_AGG) { /* keeps NULLs, in input or ORDER BY order */
        tl_datum kv = v->isnull ? *v : keep_datum(t, v, keep);
        tl_datum kk = ae->agg_order ? keep_datum(ae->agg_order->type.id, k, keep) : (tl_datum){.isnull = true};
        list_push(st, &kv, ae->agg_order ? &kk : NULL);
        st->count++;
        return 0;
    }
    if (v->isnull) return 0;
    if (agg_collects(ae)) {
        tl_type_id tt = t == TL_UNKNOWN ? TL_TEXT : t;
        if (ae->agg_distinct && ae->agg->kind != A_STRING_AGG && list_seen(st, tt, v, ae->agg_arg_stable)) return 0;
        /* a dictionary's string outlives the statement: kept by pointer, which is also
         * what list_seen compares */
        tl_datum kv = ae->agg_arg_stable ? *v : keep_datum(t, v, keep);
        if (ae->agg->kind == A_STRING_AGG) {
            /* the delimiter travels with the value: it is printed before it */
            tl_datum dd = d ? keep_datum(TL_TEXT, d, keep) : (tl_datum){.isnull = true};
            tl_datum kk = keep_datum(ae->agg_order->type.id, k, keep);
            list_push(st, &kv, &kk);
            st->list->v[st->list->n - 1] = kv;
            /* stash the delimiter in best's string (one per state is what PostgreSQL
             * effectively uses for constants; per-row delimiters are rare) */
            if (!st->has) {
                st->best = dd;
                st->has = true;
            }
            return 0;
        }
        list_push(st, &kv, NULL);
        return 0;
    }
    return fold(st, ae, t, v, d, keep, err);
}

typedef struct sortctx {
    tl_type_id t;
    bool by_key, desc, nulls_first;
    const agg_list *l;
} sortctx;

static int cmp_idx(const void *pa, const void *pb, void *arg)
{
    const sortctx *c = arg;
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    const tl_datum *x = c->by_key ? &c->l->k[a] : &c->l->v[a];
    const tl_datum *y = c->by_key ? &c->l->k[b] : &c->l->v[b];
    int r;
    if (x->isnull || y->isnull) {
        r = x->isnull == y->isnull ? 0 : x->isnull ? 1 : -1;
        if (c->nulls_first) r = -r;
    } else {
        r = tl_datum_cmp(c->t, x, y);
        if (c->desc) r = -r;
    }
    if (r) return r;
    return a < b ? -1 : a > b;
}

static int finish_fold(qctx *q, const agg_state *st, const tl_expr *ae, tl_datum *out, tl_arena *a, tl_error *err)
{
    memset(out, 0, sizeof *out);
    agg_kind k = ae->agg->kind;
    if (k == A_COUNT_STAR || k == A_COUNT) {
        out->v.i = st->count;
        return 0;
    }
    if (st->count == 0) {
        out->isnull = true;
        return 0;
    }
    tl_type_id at = ae->args[0]->type.id;
    switch (k) {
    case A_MIN:
    case A_MAX:
    case A_BOOL_AND:
    case A_BOOL_OR:
        *out = st->best;
        out->isnull = false;
        return 0;
    case A_VAR_SAMP:
    case A_VAR_POP:
    case A_STDDEV_SAMP:
    case A_STDDEV_POP: {
        bool samp = k == A_VAR_SAMP || k == A_STDDEV_SAMP;
        if (samp && st->count < 2) {
            out->isnull = true;
            return 0;
        }
        double var = st->m2 / (double)(samp ? st->count - 1 : st->count);
        if (var < 0) var = 0;
        double r = (k == A_STDDEV_SAMP || k == A_STDDEV_POP) ? sqrt(var) : var;
        if (ae->type.id == TL_NUMERIC) return tl_numeric_from_double(r, &out->v.n, err);
        out->v.f = r;
        return 0;
    }
    case A_STRING_AGG: {
        size_t len = st->sbuf ? st->sbuf->len : 0;
        char *p = tl_arena_alloc(a, len + 1);
        if (len) memcpy(p, st->sbuf->data, len);
        out->v.s.ptr = p;
        out->v.s.len = (uint32_t)len;
        return 0;
    }
    default: break;
    }
    if (tl_type_is_integer(at)) {
        tl_numeric s = {.mant = st->isum, .scale = 0, .nan = 0};
        if (k == A_SUM) {
            if (ae->type.id == TL_INT8) {
                if (st->isum > INT64_MAX || st->isum < INT64_MIN) return tl_errorf(err, "22003", "bigint out of range");
                out->v.i = (int64_t)st->isum;
            } else {
                out->v.n = s;
            }
            return 0;
        }
        return tl_numeric_div_i64(&s, st->count, &out->v.n, err);
    }
    if (at == TL_NUMERIC) {
        if (k == A_SUM) {
            out->v.n = st->nsum;
            return 0;
        }
        return tl_numeric_div_i64(&st->nsum, st->count, &out->v.n, err);
    }
    if (at == TL_INTERVAL) {
        out->v.iv = st->best.v.iv;
        if (k == A_AVG) {
            out->v.iv.months = (int32_t)(st->best.v.iv.months / st->count);
            out->v.iv.days = (int32_t)(st->best.v.iv.days / st->count);
            out->v.iv.us = st->best.v.iv.us / st->count;
        }
        return 0;
    }
    out->v.f = k == A_SUM ? st->fsum : st->fsum / (double)st->count;
    (void)q;
    return 0;
}

int agg_finish(qctx *q, agg_state *st, const tl_expr *ae, tl_datum *out, tl_arena *a, tl_error *err)
{
    if (!agg_collects(ae)) return finish_fold(q, st, ae, out, a, err);
    agg_kind k = ae->agg->kind;
    tl_type_id t = ae->args[0]->type.id;
    if (t == TL_UNKNOWN) t = TL_TEXT;
    agg_list *l = st->list;
    uint64_t n = l ? l->n : 0;
    if (k == A_COUNT && ae->agg_distinct) { /* the list holds each value once */
        memset(out, 0, sizeof *out);
        out->v.i = (int64_t)n;
        return 0;
    }
    uint64_t *idx = tl_xmalloc(sizeof *idx * (n ? n : 1));
    for (uint64_t i = 0; i < n; i++) idx[i] = i;
    sortctx sc = {.t = t, .l = l};
    if (k == A_ARRAY_AGG) {
        if (ae->agg_order) {
            sc.by_key = true;
            sc.t = ae->agg_order->type.id == TL_UNKNOWN ? TL_TEXT : ae->agg_order->type.id;
            sc.desc = ae->agg_order_desc;
            sc.nulls_first = ae->agg_order_nulls_first;
        }
        if (n && (ae->agg_order || ae->agg_distinct)) qsort_r(idx, n, sizeof *idx, cmp_idx, &sc);
        memset(out, 0, sizeof *out);
        if (n == 0) {
            out->isnull = true;
            free(idx);
            return 0;
        }
        tl_datum *vals = tl_arena_alloc(a, sizeof *vals * n);
        uint64_t m = 0;
        for (uint64_t i = 0; i < n; i++) {
            const tl_datum *v = &l->v[idx[i]];
            if (ae->agg_distinct && m && ((v->isnull && vals[m - 1].isnull) ||
                                          (!v->isnull && !vals[m - 1].isnull && tl_datum_cmp(t, &vals[m - 1], v) == 0)))
                continue;
            vals[m++] = *v;
        }
        subq_array_value(q, ae->args[0]->type, vals, m, out, a);
        free(idx);
        return 0;
    }
    if (k == A_STRING_AGG) {
        sc.by_key = true;
        sc.t = ae->agg_order->type.id == TL_UNKNOWN ? TL_TEXT : ae->agg_order->type.id;
        sc.desc = ae->agg_order_desc;
        sc.nulls_first = ae->agg_order_nulls_first;
    } else if (k == A_PCT_CONT || k == A_PCT_DISC) {
        sc.desc = ae->agg_order_desc;
        sc.nulls_first = sc.desc; /* NULLs are not collected: no effect */
    } else {
        sc.nulls_first = false;
    }
    if (n) qsort_r(idx, n, sizeof *idx, cmp_idx, &sc);
    int rc = 0;
    memset(out, 0, sizeof *out);
    if ((k == A_PCT_CONT || k == A_PCT_DISC) && ae->agg_nfracs && n > 0) {
        /* percentile_*(ARRAY[...]): one result per fraction, as an array */
        tl_datum *vals = tl_arena_alloc(a, sizeof *vals * (size_t)ae->agg_nfracs);
        for (int f = 0; f < ae->agg_nfracs; f++) {
            double fr = ae->agg_fracs[f];
            memset(&vals[f], 0, sizeof vals[f]);
            if (k == A_PCT_DISC) {
                uint64_t r = (uint64_t)ceil(fr * (double)n);
                if (r > 0) r--;
                if (r >= n) r = n - 1;
                vals[f] = keep_datum(t, &l->v[idx[r]], a);
            } else {
                double pos = fr * (double)(n - 1);
                uint64_t lo = (uint64_t)floor(pos), hi = (uint64_t)ceil(pos);
                double x = datum_double(t, &l->v[idx[lo]]), y = datum_double(t, &l->v[idx[hi]]);
                vals[f].v.f = lo == hi ? x : x + (pos - (double)lo) * (y - x);
            }
        }
        subq_array_value(q, k == A_PCT_CONT ? tl_type_make(TL_FLOAT8) : ae->args[0]->type, vals,
                         (uint64_t)ae->agg_nfracs, out, a);
    } else if (k == A_PCT_CONT || k == A_PCT_DISC) {
        if (n == 0) {
            out->isnull = true;
        } else if (k == A_PCT_DISC) {
            /* PostgreSQL: the first value whose cumulative distribution >= fraction */
            double f = ae->agg_frac;
            uint64_t r = (uint64_t)ceil(f * (double)n);
            if (r > 0) r--;
            if (r >= n) r = n - 1;
            *out = keep_datum(t, &l->v[idx[r]], a);
        } else {
            double pos = ae->agg_frac * (double)(n - 1);
            uint64_t lo = (uint64_t)floor(pos), hi = (uint64_t)ceil(pos);
            double x = datum_double(t, &l->v[idx[lo]]), y = datum_double(t, &l->v[idx[hi]]);
            out->v.f = lo == hi ? x : x + (pos - (double)lo) * (y - x);
        }
    } else {
        /* DISTINCT (sorted, so duplicates are adjacent) or ordered string_agg */
        agg_state fresh;
        memset(&fresh, 0, sizeof fresh);
        tl_arena tmp;
        tl_arena_init(&tmp);
        const tl_datum *prev = NULL;
        for (uint64_t i = 0; i < n && rc == 0; i++) {
            const tl_datum *v = &l->v[idx[i]];
            if (ae->agg_distinct && k != A_STRING_AGG && prev && tl_datum_cmp(t, prev, v) == 0) continue;
            if (ae->agg_distinct && k == A_STRING_AGG) {
                bool dup = false;
                for (uint64_t j = 0; j < i && !dup; j++) dup = tl_datum_cmp(t, &l->v[idx[j]], v) == 0;
                if (dup) continue;
            }
            prev = v;
            rc = fold(&fresh, ae, t, v, &st->best, &tmp, err);
        }
        if (rc == 0) rc = finish_fold(q, &fresh, ae, out, a, err);
        if (rc == 0 && !out->isnull) *out = keep_datum(ae->type.id, out, a);
        agg_state_free(&fresh);
        tl_arena_free(&tmp);
    }
    free(idx);
    return rc;
}

void agg_state_free(agg_state *st)
{
    if (st->sbuf) {
        tl_buf_free(st->sbuf);
        free(st->sbuf);
        st->sbuf = NULL;
    }
    if (st->list) {
        free(st->list->v);
        free(st->list->k);
        free(st->list->hash);
        free(st->list->slot);
        free(st->list);
        st->list = NULL;
    }
}
