/*
 * scanpred.c — turns the conjuncts of a scan's pushed-down WHERE into predicates that
 * storage evaluates on encoded data (tl_scan_pred): column op constant, IN lists,
 * IS [NOT] NULL. "Constant" is any column-free expression, evaluated once here (so
 * `started_at >= date_trunc('week', now())` qualifies: now() is fixed per statement).
 * String and uuid literals become dictionary codes, looked up once; a literal absent
 * from the dictionary matches nothing. The scan keeps the whole filter as a residual:
 * predicates only let storage skip partitions, segments and rows early, so a shape not
 * recognised here costs speed, never correctness.
 */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>

static bool col_free(const tl_expr *e)
{
    if (e->kind == E_COL || e->kind == E_AGG) return false;
    if (e->kind == E_FUNC && e->fn && e->fn->volatile_ && strcmp(e->fn->name, "now") != 0) return false;
    for (int i = 0; i < e->nargs; i++)
        if (e->args[i] && !col_free(e->args[i])) return false;
    return true;
}

/* The storage-domain value of a constant for column c, or false if it has none. */
static bool domain_value(qctx *q, tl_rel *rel, int c, const tl_expr *k, int64_t *out, bool *absent)
{
    char dom = tl_table_pred_domain(rel->data, c);
    tl_type_id ct = rel->atts[c].type.id;
    *absent = false;
    if (!dom || k->type.id != ct) {
        bool ints = dom == 'i' && tl_type_is_integer(ct) && tl_type_is_integer(k->type.id);
        if (!ints) return false;
    }
    tl_datum d;
    tl_error err = {0};
    if (expr_eval_scalar(q, k, &d, &q->arena, &err) < 0 || d.isnull) return false;
    if (dom == 'i') {
        *out = ct == TL_BOOL ? d.v.b : d.v.i;
        return true;
    }
    int64_t code = ct == TL_UUID ? tl_table_lookup_code(rel->data, c, (const char *)d.v.u.b, 16)
                                 : tl_table_lookup_code(rel->data, c, d.v.s.ptr, d.v.s.len);
    *absent = code < 0;
    *out = code;
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool one_pred(qctx *q, tl_rel *rel, const tl_expr *e, tl_scan_pred *p)
{
    memset(p, 0, sizeof *p);
    if ((e->kind == E_ISNULL || e->kind == E_ISNOTNULL) && e->nargs == 1 && e->args[0]->kind == E_COL) {
        p->col = e->args[0]->col;
        p->kind = e->kind == E_ISNULL ? TL_PRED_ISNULL : TL_PRED_NOTNULL;
        return true;
    }
    if (e->kind == E_IN && !e->negated && e->nargs >= 2 && e->args[0]->kind == E_COL) {
        int c = e->args[0]->col;
        int64_t *vals = tl_arena_alloc(&q->arena, sizeof *vals * (size_t)e->nargs);
        uint32_t n = 0;
        for (int i = 1; i < e->nargs; i++) {
            bool absent;
            int64_t v;
            if (!col_free(e->args[i])) return false;
            if (!domain_value(q, rel, c, e->args[i], &v, &absent)) {
                /* A NULL element never matches; anything else we cannot map: give up. */
                if (e->args[i]->kind == E_CONST && e->args[i]->cval.isnull) continue;
                return false;
            }
            if (!absent) vals[n++] = v;
        }
        qsort(vals, n, sizeof *vals, cmp_i64);
        uint32_t m = 0;
        for (uint32_t i = 0; i < n; i++)
            if (m == 0 || vals[m - 1] != vals[i]) vals[m++] = vals[i];
        p->col = c;
        p->kind = m ? TL_PRED_IN : TL_PRED_FALSE;
        p->nin = m;
        p->in = vals;
        return true;
    }
    if (e->kind != E_FUNC || e->nargs != 2 || !e->fn) return false;
    const char *opn = e->fn->name;
    const tl_expr *a = e->args[0], *b = e->args[1];
    bool flip = false;
    if (a->kind != E_COL) {
        const tl_expr *x = a;
        a = b;
        b = x;
        flip = true;
    }
    if (a->kind != E_COL || !col_free(b)) return false;
    int c = a->col;
    if (!strcmp(opn, "<")) opn = flip ? ">" : "<";
    else if (!strcmp(opn, ">")) opn = flip ? "<" : ">";
    else if (!strcmp(opn, "<=")) opn = flip ? ">=" : "<=";
    else if (!strcmp(opn, ">=")) opn = flip ? "<=" : ">=";
    else if (strcmp(opn, "=") != 0) return false;
    bool code = tl_table_pred_domain(rel->data, c) == 'c';
    if (code && strcmp(opn, "=") != 0) return false; /* codes are not ordered like strings */
    int64_t v;
    bool absent;
    if (!domain_value(q, rel, c, b, &v, &absent)) return false;
    p->col = c;
    p->kind = TL_PRED_RANGE;
    p->lo = INT64_MIN;
    p->hi = INT64_MAX;
    if (absent) p->kind = TL_PRED_FALSE;
    else if (!strcmp(opn, "=")) p->lo = p->hi = v;
    else if (!strcmp(opn, "<")) {
        if (v == INT64_MIN) p->kind = TL_PRED_FALSE;
        else p->hi = v - 1;
    } else if (!strcmp(opn, "<=")) p->hi = v;
    else if (!strcmp(opn, ">")) {
        if (v == INT64_MAX) p->kind = TL_PRED_FALSE;
        else p->lo = v + 1;
    } else p->lo = v;
    return true;
}

/* *exact stays true while every conjunct becomes a predicate: each one_pred shape is
 * true on a row exactly where storage selects it (NULLs select nothing, as WHERE drops
 * them), so the scan's residual filter can go. */
static void collect(qctx *q, tl_rel *rel, const tl_expr *e, tl_scan_pred *out, int *n, int cap, bool *exact)
{
    if (e->kind == E_AND) {
        for (int i = 0; i < e->nargs; i++) collect(q, rel, e->args[i], out, n, cap, exact);
        return;
    }
    if (*n < cap && one_pred(q, rel, e, &out[*n])) (*n)++;
    else *exact = false;
}

int scanpred_extract_exact(qctx *q, tl_rel *rel, const tl_expr *filter, tl_scan_pred **out, bool *exact)
{
    *out = NULL;
    *exact = false;
    if (!filter || !rel->data) return 0;
    enum { CAP = 16 };
    tl_scan_pred *p = tl_arena_alloc(&q->arena, sizeof *p * CAP);
    int n = 0;
    *exact = true;
    collect(q, rel, filter, p, &n, CAP, exact);
    *out = p;
    return n;
}

int scanpred_extract(qctx *q, tl_rel *rel, const tl_expr *filter, tl_scan_pred **out)
{
    bool exact;
    return scanpred_extract_exact(q, rel, filter, out, &exact);
}
