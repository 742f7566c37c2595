/*
 * window.c — window functions. The operator materialises its input with the values of
 * the functions' arguments and the window's PARTITION BY / ORDER BY keys, sorts it by
 * (partition, order), and computes each function over each partition: ranking
 * functions from peer groups, lag/lead by offset, aggregates over the frame. Frames
 * that only grow (the default RANGE UNBOUNDED PRECEDING .. CURRENT ROW, whole
 * partitions) fold each row once; sliding ROWS frames refold their rows. Rows come out
 * in window order with one column added per function, as PostgreSQL's WindowAgg does.
 */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>

/* PostgreSQL's FRAMEOPTION_* bits (nodes/parsenodes.h). */
#define FO_NONDEFAULT 0x00001
#define FO_RANGE 0x00002
#define FO_ROWS 0x00004
#define FO_GROUPS 0x00008
#define FO_START_UNB_PREC 0x00020
#define FO_END_UNB_FOLL 0x00100
#define FO_START_CURRENT 0x00200
#define FO_END_CURRENT 0x00400
#define FO_START_OFF_PREC 0x00800
#define FO_END_OFF_PREC 0x01000
#define FO_START_OFF_FOLL 0x02000
#define FO_END_OFF_FOLL 0x04000

typedef struct window_op {
    op base;
    op *child;
    const win_spec *ws;
    int nfn;
    tl_expr **fns;
    int cin;          /* child columns */
    int nextra;       /* evaluated expressions stored after them */
    tl_expr **extra;  /* fn args..., partition keys, order keys (per fn args first) */
    int *argbase;     /* per fn: index of its first argument among extra */
    rowstore rows;
    uint64_t *idx;
    tl_datum **res;   /* per fn: one result per sorted row */
    tl_arena keep;
    bool built;
    uint64_t emitted;
} window_op;

static int cmp_cols(const window_op *w, int first, int n, const sort_key *dirs, uint64_t a, uint64_t b)
{
    for (int k = 0; k < n; k++) {
        int c = w->cin + first + k;
        bool an = w->rows.nulls[c][a], bn = w->rows.nulls[c][b];
        bool desc = dirs ? dirs[k].desc : false;
        bool nf = dirs ? dirs[k].nulls_first : false;
        if (an || bn) {
            if (an && bn) continue;
            return an == nf ? -1 : 1;
        }
        tl_datum x, y;
        rs_get(&w->rows, c, a, &x);
        rs_get(&w->rows, c, b, &y);
        tl_type_id t = w->rows.types[c].id == TL_UNKNOWN ? TL_TEXT : w->rows.types[c].id;
        int r = tl_datum_cmp(t, &x, &y);
        if (r) return desc ? -r : r;
    }
    return 0;
}

static int win_cmp(const void *pa, const void *pb, void *arg)
{
    const window_op *w = arg;
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    int keybase = w->nextra - w->ws->npart - w->ws->norder;
    int r = cmp_cols(w, keybase, w->ws->npart, NULL, a, b);
    if (!r) r = cmp_cols(w, keybase + w->ws->npart, w->ws->norder, w->ws->okeys, a, b);
    if (r) return r;
    return a < b ? -1 : a > b;
}

static int const_offset(qctx *q, const tl_expr *e, int64_t *out, tl_error *err)
{
    tl_datum d;
    if (expr_eval_scalar(q, e, &d, &q->arena, err) < 0) return -1;
    if (d.isnull) return tl_errorf(err, "22004", "frame starting offset must not be null");
    if (d.v.i < 0) return tl_errorf(err, "22013", "frame starting offset must not be negative");
    *out = d.v.i;
    return 0;
}

/* Compute function f over partition rows [ps, pe) of the sorted order. */
static int compute(window_op *w, qctx *q, int f, uint64_t ps, uint64_t pe, const uint64_t *peer_end,
                   const uint64_t *peer_start, tl_error *err)
{
    const tl_expr *e = w->fns[f];
    agg_kind k = e->agg->kind;
    tl_datum *res = w->res[f];
    int ab = w->cin + w->argbase[f];
    uint64_t n = pe - ps;
    const win_spec *ws = w->ws;
    switch (k) {
    case W_ROW_NUMBER:
        for (uint64_t i = ps; i < pe; i++) res[i] = (tl_datum){.v.i = (int64_t)(i - ps + 1)};
        return 0;
    case W_RANK:
    case W_DENSE_RANK:
    case W_PERCENT_RANK:
    case W_CUME_DIST: {
        int64_t dense = 0;
        for (uint64_t i = ps; i < pe; i++) {
            if (peer_start[i] == i) dense++;
            tl_datum d = {0};
            uint64_t rank = peer_start[i] - ps + 1;
            if (k == W_RANK) d.v.i = (int64_t)rank;
            else if (k == W_DENSE_RANK) d.v.i = dense;
            else if (k == W_PERCENT_RANK) d.v.f = n > 1 ? (double)(rank - 1) / (double)(n - 1) : 0;
            else d.v.f = (double)(peer_end[i] - ps) / (double)n;
            res[i] = d;
        }
        return 0;
    }
    case W_NTILE: {
        for (uint64_t i = ps; i < pe; i++) {
            tl_datum b;
            rs_get(&w->rows, ab, w->idx[i], &b);
            if (b.isnull) {
                res[i] = (tl_datum){.isnull = true};
                continue;
            }
            if (b.v.i <= 0) return tl_errorf(err, "22014", "argument of ntile must be greater than zero");
            /* PostgreSQL: the first (n % buckets) buckets get one extra row */
            uint64_t nb = (uint64_t)b.v.i, r = i - ps, per = n / nb, extra = n % nb, bucket;
            if (per == 0) bucket = r + 1;
            else if (r < extra * (per + 1)) bucket = r / (per + 1) + 1;
            else bucket = extra + (r - extra * (per + 1)) / per + 1;
            res[i] = (tl_datum){.v.i = (int64_t)bucket};
        }
        return 0;
    }
    case W_LAG:
    case W_LEAD: {
        int na = e->nargs - ws->npart - ws->norder;
        for (uint64_t i = ps; i < pe; i++) {
            int64_t off = 1;
            if (na > 1) {
                tl_datum o;
                rs_get(&w->rows, ab + 1, w->idx[i], &o);
                if (o.isnull) {
                    res[i] = (tl_datum){.isnull = true};
                    continue;
                }
                off = o.v.i;
            }
            int64_t j = (int64_t)(i - ps) + (k == W_LAG ? -off : off);
            tl_datum d;
            if (j >= 0 && j < (int64_t)n) rs_get(&w->rows, ab, w->idx[ps + (uint64_t)j], &d);
            else if (na > 2) rs_get(&w->rows, ab + 2, w->idx[i], &d);
            else d = (tl_datum){.isnull = true};
            res[i] = d;
        }
        return 0;
    }
    default: break;
    }
    /* Frame-based: aggregates and first/last/nth_value. */
    int fo = ws->frame;
    bool rows_mode = (fo & FO_ROWS) != 0;
    if ((fo & FO_GROUPS) || ((fo & FO_RANGE) && (fo & (FO_START_OFF_PREC | FO_START_OFF_FOLL | FO_END_OFF_PREC |
                                                        FO_END_OFF_FOLL))))
        return tl_errorf(err, "0A000", "GROUPS frames and RANGE frames with offsets are not supported yet");
    int64_t soff = 0, eoff = 0;
    if ((fo & (FO_START_OFF_PREC | FO_START_OFF_FOLL)) && const_offset(q, ws->start_off, &soff, err) < 0) return -1;
    if ((fo & (FO_END_OFF_PREC | FO_END_OFF_FOLL)) && const_offset(q, ws->end_off, &eoff, err) < 0) return -1;
    agg_state st;
    memset(&st, 0, sizeof st);
    int64_t cs = -1, ce = -1; /* rows folded into st: [cs, ce) */
    int rc = 0;
    for (uint64_t i = ps; i < pe && rc == 0; i++) {
        int64_t fs, fe; /* frame [fs, fe) in sorted positions */
        if (!(fo & FO_NONDEFAULT)) {
            fs = (int64_t)ps;
            fe = ws->norder ? (int64_t)peer_end[i] : (int64_t)pe;
        } else {
            if (fo & FO_START_UNB_PREC) fs = (int64_t)ps;
            else if (fo & FO_START_CURRENT) fs = rows_mode ? (int64_t)i : (int64_t)peer_start[i];
            else if (fo & FO_START_OFF_PREC) fs = (int64_t)i - soff;
            else fs = (int64_t)i + soff;
            if (fo & FO_END_UNB_FOLL) fe = (int64_t)pe;
            else if (fo & FO_END_CURRENT) fe = rows_mode ? (int64_t)i + 1 : (int64_t)peer_end[i];
            else if (fo & FO_END_OFF_PREC) fe = (int64_t)i - eoff + 1;
            else fe = (int64_t)i + eoff + 1;
            if (fs < (int64_t)ps) fs = (int64_t)ps;
            if (fe > (int64_t)pe) fe = (int64_t)pe;
        }
        if (k == W_FIRST_VALUE || k == W_LAST_VALUE || k == W_NTH_VALUE) {
            int64_t at = k == W_FIRST_VALUE ? fs : k == W_LAST_VALUE ? fe - 1 : -1;
            if (k == W_NTH_VALUE) {
                tl_datum nth;
                rs_get(&w->rows, ab + 1, w->idx[i], &nth);
                if (nth.isnull) {
                    res[i] = (tl_datum){.isnull = true};
                    continue;
                }
                if (nth.v.i <= 0) return tl_errorf(err, "22016", "argument of nth_value must be greater than zero");
                at = fs + nth.v.i - 1;
            }
            if (at >= fs && at < fe) rs_get(&w->rows, ab, w->idx[at], &res[i]);
            else res[i] = (tl_datum){.isnull = true};
            continue;
        }
        if (fs != cs || fe < ce) {
            agg_state_free(&st);
            memset(&st, 0, sizeof st);
            cs = ce = fs;
        }
        for (int64_t r = ce; r < fe && rc == 0; r++) {
            tl_datum v, d;
            memset(&v, 0, sizeof v);
            if (e->agg->kind != A_COUNT_STAR) rs_get(&w->rows, ab, w->idx[r], &v);
            int na = e->nargs - ws->npart - ws->norder;
            if (na > 1) rs_get(&w->rows, ab + 1, w->idx[r], &d);
            if (e->agg_filter) {
                tl_datum fv;
                rs_get(&w->rows, ab + na, w->idx[r], &fv);
                if (fv.isnull || !fv.v.b) continue;
            }
            rc = agg_add(&st, e, e->agg->kind == A_COUNT_STAR ? NULL : &v, na > 1 ? &d : NULL, NULL, &w->keep, err);
        }
        if (fe > ce) ce = fe;
        if (rc == 0) {
            if (fs >= fe) {
                agg_state empty;
                memset(&empty, 0, sizeof empty);
                rc = agg_finish(q, &empty, e, &res[i], &w->keep, err);
            } else {
                rc = agg_finish(q, &st, e, &res[i], &w->keep, err);
            }
        }
    }
    agg_state_free(&st);
    return rc;
}

static int window_build(window_op *w, qctx *q, tl_error *err)
{
    tl_arena scratch;
    tl_arena_init(&scratch);
    int rc;
    for (;;) {
        batch *in;
        rc = w->child->next(w->child, q, &in, err);
        if (rc <= 0) break;
        if ((rc = q_check_cancel(q, err)) < 0) break;
        tl_arena_reset(&scratch);
        batch *b = batch_new(&scratch, w->cin + w->nextra, in->n);
        for (int c = 0; c < w->cin; c++) b->cols[c] = in->cols[c];
        for (int x = 0; x < w->nextra && rc == 0; x++) rc = expr_eval(q, w->extra[x], in, &b->cols[w->cin + x], &scratch, err);
        if (rc < 0) break;
        rs_append_batch(&w->rows, b);
        if ((rc = q_check_cancel(q, err)) < 0) break;
    }
    tl_arena_free(&scratch);
    if (rc < 0) return -1;
    uint64_t n = w->rows.n;
    w->idx = tl_xmalloc(sizeof *w->idx * (n ? n : 1));
    for (uint64_t i = 0; i < n; i++) w->idx[i] = i;
    if (w->ws->npart || w->ws->norder) /* else one partition in input order, e.g. count(*) over () */
        qsort_r(w->idx, n, sizeof *w->idx, win_cmp, w);
    uint64_t *pstart = tl_xmalloc(sizeof *pstart * (n ? n : 1));
    uint64_t *pend = tl_xmalloc(sizeof *pend * (n ? n : 1));
    w->res = tl_xcalloc((size_t)w->nfn, sizeof *w->res);
    for (int f = 0; f < w->nfn; f++) w->res[f] = tl_xcalloc(n ? n : 1, sizeof **w->res);
    int keybase = w->nextra - w->ws->npart - w->ws->norder;
    rc = 0;
    for (uint64_t ps = 0; ps < n && rc == 0;) {
        uint64_t pe = ps + 1;
        while (pe < n && cmp_cols(w, keybase, w->ws->npart, NULL, w->idx[ps], w->idx[pe]) == 0) pe++;
        /* peer groups: equal ORDER BY keys (the whole partition without ORDER BY) */
        for (uint64_t i = ps; i < pe;) {
            uint64_t j = i + 1;
            while (j < pe && cmp_cols(w, keybase + w->ws->npart, w->ws->norder, w->ws->okeys, w->idx[i], w->idx[j]) == 0)
                j++;
            for (uint64_t r = i; r < j; r++) {
                pstart[r] = i;
                pend[r] = j;
            }
            i = j;
        }
        for (int f = 0; f < w->nfn && rc == 0; f++) rc = compute(w, q, f, ps, pe, pend, pstart, err);
        if (rc == 0) rc = q_check_cancel(q, err);
        ps = pe;
    }
    free(pstart);
    free(pend);
    return rc;
}

static int window_next(op *o, qctx *q, batch **out, tl_error *err)
{
    window_op *w = (window_op *)o;
    if (!w->built) {
        if (window_build(w, q, err) < 0) return -1;
        w->built = true;
    }
    if (w->emitted >= w->rows.n) return 0;
    tl_arena_reset(&o->arena);
    uint64_t left = w->rows.n - w->emitted;
    uint32_t n = left > TL_VEC_SIZE ? TL_VEC_SIZE : (uint32_t)left;
    batch *all = rs_gather(&w->rows, w->ws->npart || w->ws->norder ? w->idx : NULL, w->emitted, n, &o->arena);
    batch *b = batch_new(&o->arena, w->cin + w->nfn, n);
    for (int c = 0; c < w->cin; c++) b->cols[c] = all->cols[c];
    for (int f = 0; f < w->nfn; f++) {
        tl_vec *v = &b->cols[w->cin + f];
        tl_vec_alloc(v, w->fns[f]->type, n, &o->arena);
        v->n = n;
        for (uint32_t i = 0; i < n; i++) tl_vec_set(v, i, &w->res[f][w->emitted + i]);
        for (uint32_t i = 0; i < n; i++) v->nulls[i] = w->res[f][w->emitted + i].isnull;
    }
    w->emitted += n;
    *out = b;
    return 1;
}

static void window_close(op *o)
{
    window_op *w = (window_op *)o;
    op_free(w->child);
    rs_free(&w->rows);
    free(w->idx);
    if (w->res)
        for (int f = 0; f < w->nfn; f++) free(w->res[f]);
    free(w->res);
    tl_arena_free(&w->keep);
}

op *op_window(qctx *q, op *child, const win_spec *ws, int nfn, tl_expr **fns)
{
    window_op *w = tl_xcalloc(1, sizeof *w);
    w->child = child;
    w->ws = ws;
    w->nfn = nfn;
    w->fns = fns;
    w->cin = child->ncols;
    /* extra columns: each function's own arguments (and FILTER), then the keys */
    int total = ws->npart + ws->norder;
    w->argbase = tl_arena_alloc(&q->arena, sizeof *w->argbase * (size_t)(nfn + 1));
    for (int f = 0; f < nfn; f++) {
        int na = fns[f]->nargs - ws->npart - ws->norder;
        w->argbase[f] = total - ws->npart - ws->norder;
        total += na + (fns[f]->agg_filter ? 1 : 0);
    }
    w->extra = tl_arena_alloc(&q->arena, sizeof *w->extra * (size_t)(total + 1));
    int x = 0;
    for (int f = 0; f < nfn; f++) {
        int na = fns[f]->nargs - ws->npart - ws->norder;
        w->argbase[f] = x;
        for (int a = 0; a < na; a++) w->extra[x++] = fns[f]->args[a];
        if (fns[f]->agg_filter) w->extra[x++] = fns[f]->agg_filter;
    }
    for (int i = 0; i < ws->npart; i++) w->extra[x++] = ws->part[i];
    for (int i = 0; i < ws->norder; i++) w->extra[x++] = ws->order[i];
    w->nextra = x;
    tl_type *types = tl_arena_alloc(&q->arena, sizeof *types * (size_t)(w->cin + w->nextra + nfn + 1));
    for (int c = 0; c < w->cin; c++) types[c] = child->types[c];
    for (int i = 0; i < w->nextra; i++) {
        types[w->cin + i] = w->extra[i]->type;
        if (types[w->cin + i].id == TL_UNKNOWN) types[w->cin + i] = tl_type_make(TL_TEXT);
    }
    rs_init(&w->rows, w->cin + w->nextra, types);
    tl_type *otypes = tl_arena_alloc(&q->arena, sizeof *otypes * (size_t)(w->cin + nfn + 1));
    for (int c = 0; c < w->cin; c++) otypes[c] = child->types[c];
    for (int f = 0; f < nfn; f++) otypes[w->cin + f] = fns[f]->type;
    op_init(&w->base, w->cin + nfn, otypes, q);
    op_label(&w->base, "WindowAgg", child, NULL);
    if (child->stable) { /* dictionary strings of the input stay pointers (op.stable) */
        bool *st = tl_arena_zalloc(&q->arena, (size_t)(w->cin + w->nextra + nfn + 1));
        memcpy(st, child->stable, (size_t)w->cin);
        w->rows.stable = st;
        w->base.stable = st;
    }
    w->base.next = window_next;
    w->base.close = window_close;
    tl_arena_init(&w->keep);
    return &w->base;
}
