/*
 * exec.c — the vectorised operators: scan (with pushed-down filter), values, filter,
 * project, hash aggregate, hash join, sort and limit. Each pulls 2048-row batches from
 * its child; a batch lives in the producing operator's arena until its next call.
 * Materialising operators (aggregate, join build side, sort) copy what they keep into
 * their own long-lived arena.
 */
#include "query_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void op_init(op *o, int ncols, const tl_type *types, qctx *q)
{
    o->ncols = ncols;
    o->types = tl_arena_alloc(&q->arena, sizeof *o->types * (size_t)(ncols ? ncols : 1));
    if (ncols) memcpy(o->types, types, sizeof *types * (size_t)ncols);
    tl_arena_init(&o->arena);
}

void op_free(op *o)
{
    if (!o) return;
    if (o->close) o->close(o);
    tl_arena_free(&o->arena);
    free(o);
}

batch *batch_new(tl_arena *a, int ncols, uint32_t n)
{
    batch *b = tl_arena_alloc(a, sizeof *b);
    b->ncols = ncols;
    b->n = n;
    b->cols = tl_arena_zalloc(a, sizeof *b->cols * (size_t)(ncols ? ncols : 1));
    return b;
}

/* Keep rows whose predicate is true; returns a new batch or the input if all pass. */
static int filter_batch(qctx *q, const tl_expr *pred, batch *in, batch **out, tl_arena *a, tl_error *err)
{
    tl_vec v;
    if (expr_eval(q, pred, in, &v, a, err) < 0) return -1;
    uint32_t *sel = tl_arena_alloc(a, sizeof *sel * (in->n ? in->n : 1)), ns = 0;
    for (uint32_t i = 0; i < in->n; i++)
        if (!(v.nulls && v.nulls[i]) && v.d.b[i]) sel[ns++] = i;
    if (ns == in->n) {
        *out = in;
        return 0;
    }
    batch *b = batch_new(a, in->ncols, ns);
    for (int c = 0; c < in->ncols; c++) {
        const tl_vec *src = &in->cols[c];
        tl_vec *dst = &b->cols[c];
        if (!src->d.raw) {
            *dst = *src;
            dst->n = ns;
            continue;
        }
        tl_vec_alloc(dst, src->type, ns, a);
        dst->n = ns;
        size_t es = tl_vec_elem_size(src->type.id);
        for (uint32_t i = 0; i < ns; i++) {
            memcpy((char *)dst->d.raw + es * i, (const char *)src->d.raw + es * sel[i], es);
            dst->nulls[i] = src->nulls ? src->nulls[sel[i]] : 0;
        }
    }
    *out = b;
    return 0;
}

/* ---- scan -------------------------------------------------------------------------------------- */

typedef struct scan_op {
    op base;
    tl_rel *rel;
    tl_table_snap snap;
    bool *need;
    tl_expr *filter;
    tl_scan_pred *preds; /* storage-evaluated part of the filter (scanpred.c) */
    int npreds;
    uint32_t part;
    uint64_t row;
    bool positioned;     /* row has been advanced past pruned segments */
    uint64_t parts_pruned, segs_read, segs_skipped; /* for EXPLAIN ANALYZE */
} scan_op;

static void scan_stats(op *o, tl_buf *out)
{
    scan_op *s = (scan_op *)o;
    tl_buf_printf(out, "partitions: %u, %llu pruned; segments read: %llu, skipped by zone maps: %llu; storage predicates: %d",
                  s->snap.nparts, (unsigned long long)s->parts_pruned, (unsigned long long)s->segs_read,
                  (unsigned long long)s->segs_skipped, s->npreds);
}

/* Keep the selected rows of a freshly read column (sel ascending, ns < v->n). */
static void gather(tl_vec *v, const uint32_t *sel, uint32_t ns)
{
    size_t es = tl_vec_elem_size(v->type.id);
    for (uint32_t i = 0; i < ns; i++) {
        memmove((char *)v->d.raw + es * i, (const char *)v->d.raw + es * sel[i], es);
        if (v->nulls) v->nulls[i] = v->nulls[sel[i]];
    }
    v->n = ns;
}

/* Storage picks the live rows that satisfy the simple predicates, skipping pruned
 * partitions and segments without reading them; the whole filter still runs after. */
static int scan_next(op *o, qctx *q, batch **out, tl_error *err)
{
    scan_op *s = (scan_op *)o;
    tl_table *t = s->rel->data;
    for (;;) {
        if (s->part >= s->snap.nparts) return 0;
        if (!s->positioned) {
            uint64_t from = s->row, end = s->snap.rows[s->part];
            s->row = tl_table_skip(t, &s->snap, s->part, s->row, s->preds, s->npreds);
            uint64_t to = s->row < end ? s->row : end;
            if (from == 0 && to == end && end > 0) s->parts_pruned++;
            else s->segs_skipped += (to - from) / TL_CHUNK_ROWS;
            if (s->row < end) s->segs_read++;
            s->positioned = true;
        }
        if (s->row >= s->snap.rows[s->part]) {
            s->part++;
            s->row = 0;
            s->positioned = false;
            continue;
        }
        /* a selective filter can loop here over many batches: stay cancellable */
        if (q_check_cancel(q, err) < 0) return -1;
        tl_arena_reset(&o->arena);
        uint64_t left = s->snap.rows[s->part] - s->row;
        uint32_t n = left > TL_VEC_SIZE ? TL_VEC_SIZE : (uint32_t)left;
        /* Stop at a segment boundary so the next segment's zone map is consulted. */
        uint64_t seg_end = (s->row | (TL_CHUNK_ROWS - 1)) + 1;
        if (s->row + n > seg_end) n = (uint32_t)(seg_end - s->row);
        uint32_t *sel = tl_arena_alloc(&o->arena, sizeof *sel * n);
        uint32_t ns = tl_table_select(t, &s->snap, s->part, s->row, n, s->preds, s->npreds, sel);
        uint64_t start = s->row;
        s->row += n;
        if (s->row == seg_end) s->positioned = false;
        if (ns == 0) continue;
        batch *b = batch_new(&o->arena, o->ncols, ns);
        for (int c = 0; c < o->ncols; c++) {
            if (s->need[c]) {
                tl_table_read(t, s->part, c, start, n, &b->cols[c], &o->arena);
                if (ns < n) gather(&b->cols[c], sel, ns);
            } else {
                b->cols[c].type = o->types[c];
                b->cols[c].n = ns;
            }
        }
        if (s->filter) {
            if (filter_batch(q, s->filter, b, &b, &o->arena, err) < 0) return -1;
            if (b->n == 0) continue;
        }
        *out = b;
        return 1;
    }
}

op *op_scan(qctx *q, tl_rel *rel, const tl_table_snap *snap, const bool *need, tl_expr *filter)
{
    return op_scan_ex(q, rel, snap, need, filter, NULL);
}

op *op_scan_ex(qctx *q, tl_rel *rel, const tl_table_snap *snap, const bool *need, tl_expr *filter,
               const bool *need_nofilter)
{
    scan_op *s = tl_xcalloc(1, sizeof *s);
    tl_type *types = tl_arena_alloc(&q->arena, sizeof *types * (size_t)(rel->natts + 1));
    for (int i = 0; i < rel->natts; i++) types[i] = rel->atts[i].type;
    op_init(&s->base, rel->natts, types, q);
    op_label(&s->base, tl_arena_printf(&q->arena, "Scan on %s", rel->name), NULL, NULL);
    s->base.stats = scan_stats;
    s->base.next = scan_next;
    s->rel = rel;
    s->snap = *snap;
    s->need = tl_arena_alloc(&q->arena, (size_t)rel->natts + 1);
    memcpy(s->need, need, (size_t)rel->natts);
    s->filter = filter;
    bool exact;
    s->npreds = scanpred_extract_exact(q, rel, filter, &s->preds, &exact);
    if (exact && need_nofilter) {
        s->filter = NULL;
        memcpy(s->need, need_nofilter, (size_t)rel->natts);
    }
    for (int c = 0; c < rel->natts; c++)
        if (tl_type_is_string(types[c].id) && tl_table_pred_domain(rel->data, c) == 'c') {
            if (!s->base.stable) s->base.stable = tl_arena_zalloc(&q->arena, (size_t)rel->natts);
            s->base.stable[c] = true;
        }
    return &s->base;
}

/* ---- values: rows without columns (SELECT without FROM) -------------------------------------------- */

typedef struct values_op {
    op base;
    int nrows;
    bool done;
} values_op;

static int values_next(op *o, qctx *q, batch **out, tl_error *err)
{
    values_op *v = (values_op *)o;
    (void)q;
    (void)err;
    if (v->done) return 0;
    v->done = true;
    tl_arena_reset(&o->arena);
    *out = batch_new(&o->arena, 0, (uint32_t)v->nrows);
    return 1;
}

op *op_values(qctx *q, int ncols, const tl_type *types, int nrows, tl_expr ***rows)
{
    (void)rows;
    values_op *v = tl_xcalloc(1, sizeof *v);
    op_init(&v->base, ncols, types, q);
    op_label(&v->base, "Result", NULL, NULL);
    v->base.next = values_next;
    v->nrows = nrows;
    return &v->base;
}

/* ---- filter and project ------------------------------------------------------------------------------- */

typedef struct filter_op {
    op base;
    op *child;
    tl_expr *pred;
} filter_op;

static int filter_next(op *o, qctx *q, batch **out, tl_error *err)
{
    filter_op *f = (filter_op *)o;
    for (;;) {
        batch *in;
        int rc = f->child->next(f->child, q, &in, err);
        if (rc <= 0) return rc;
        tl_arena_reset(&o->arena);
        if (filter_batch(q, f->pred, in, out, &o->arena, err) < 0) return -1;
        if ((*out)->n) return 1;
    }
}

static void child_close(op *o)
{
    op_free(((filter_op *)o)->child);
}

op *op_filter(qctx *q, op *child, tl_expr *pred)
{
    filter_op *f = tl_xcalloc(1, sizeof *f);
    op_init(&f->base, child->ncols, child->types, q);
    op_label(&f->base, "Filter", child, NULL);
    f->base.next = filter_next;
    f->base.close = child_close;
    f->child = child;
    f->pred = pred;
    f->base.stable = child->stable;
    return &f->base;
}

bool op_col_stable(const op *child, const tl_expr *e)
{
    return child->stable && e->kind == E_COL && e->col >= 0 && e->col < child->ncols && child->stable[e->col] &&
           tl_type_is_string(e->type.id) && e->type.id == child->types[e->col].id;
}

typedef struct project_op {
    op base;
    op *child; /* first, so child_close works */
    int n;
    tl_expr **exprs;
} project_op;

static int project_next(op *o, qctx *q, batch **out, tl_error *err)
{
    project_op *p = (project_op *)o;
    batch *in;
    int rc = p->child->next(p->child, q, &in, err);
    if (rc <= 0) return rc;
    tl_arena_reset(&o->arena);
    batch *b = batch_new(&o->arena, p->n, in->n);
    for (int i = 0; i < p->n; i++)
        if (expr_eval(q, p->exprs[i], in, &b->cols[i], &o->arena, err) < 0) return -1;
    *out = b;
    return 1;
}

op *op_project(qctx *q, op *child, int n, tl_expr **exprs)
{
    project_op *p = tl_xcalloc(1, sizeof *p);
    tl_type *types = tl_arena_alloc(&q->arena, sizeof *types * (size_t)(n + 1));
    for (int i = 0; i < n; i++) types[i] = exprs[i]->type;
    op_init(&p->base, n, types, q);
    op_label(&p->base, "Project", child, NULL);
    p->base.next = project_next;
    p->base.close = child_close;
    p->child = child;
    p->n = n;
    p->exprs = exprs;
    for (int i = 0; i < n; i++)
        if (op_col_stable(child, exprs[i])) {
            if (!p->base.stable) p->base.stable = tl_arena_zalloc(&q->arena, (size_t)n);
            p->base.stable[i] = true;
        }
    return &p->base;
}

/* ---- stored rows: a growable column store for materialising operators ---------------------------------- */

void rs_init(rowstore *rs, int ncols, const tl_type *types)
{
    memset(rs, 0, sizeof *rs);
    rs->ncols = ncols;
    rs->types = tl_xmalloc(sizeof *types * (size_t)(ncols ? ncols : 1));
    if (ncols) memcpy(rs->types, types, sizeof *types * (size_t)ncols);
    rs->data = tl_xcalloc((size_t)ncols + 1, sizeof *rs->data);
    rs->nulls = tl_xcalloc((size_t)ncols + 1, sizeof *rs->nulls);
    tl_arena_init(&rs->strings);
}

void rs_free(rowstore *rs)
{
    for (int c = 0; c < rs->ncols; c++) {
        free(rs->data[c]);
        free(rs->nulls[c]);
    }
    free(rs->data);
    free(rs->nulls);
    free(rs->types);
    free(rs->absent);
    tl_arena_free(&rs->strings);
}

void rs_reserve(rowstore *rs, uint64_t n)
{
    if (n <= rs->cap) return;
    uint64_t cap = rs->cap ? rs->cap : 1024;
    while (cap < n) cap *= 2;
    for (int c = 0; c < rs->ncols; c++) {
        if (rs->absent && rs->absent[c]) continue;
        rs->data[c] = tl_xrealloc(rs->data[c], tl_vec_elem_size(rs->types[c].id) * cap);
        rs->nulls[c] = tl_xrealloc(rs->nulls[c], cap);
    }
    rs->cap = cap;
}

/* A sparse store's absent column gets data after all: NULL in the rows so far. */
static void rs_materialize(rowstore *rs, int c)
{
    size_t es = tl_vec_elem_size(rs->types[c].id);
    rs->absent[c] = false;
    rs->data[c] = tl_xcalloc(rs->cap ? rs->cap : 1, es);
    rs->nulls[c] = tl_xmalloc(rs->cap ? rs->cap : 1);
    memset(rs->nulls[c], 1, rs->cap);
}

/* Append one row taken from column vectors (only the first rs->ncols columns). */
void rs_put(rowstore *rs, uint64_t at, int c, const tl_vec *v, uint32_t i)
{
    if (rs->absent && rs->absent[c]) {
        if (!v->d.raw) return;
        rs_materialize(rs, c);
    }
    size_t es = tl_vec_elem_size(rs->types[c].id);
    bool isnull = !v->d.raw || (v->nulls && v->nulls[i]);
    rs->nulls[c][at] = isnull;
    char *dst = (char *)rs->data[c] + es * at;
    if (isnull) {
        memset(dst, 0, es);
        return;
    }
    memcpy(dst, (const char *)v->d.raw + es * i, es);
    if ((tl_type_is_string(rs->types[c].id) || rs->types[c].id == TL_UNKNOWN) && !(rs->stable && rs->stable[c])) {
        tl_str *s = (tl_str *)dst;
        s->ptr = tl_arena_strndup(&rs->strings, s->ptr, s->len);
    }
}

/* Rows [i0, i1) of v to rows base+i0.. of column c: rs_put's result, a column at a time
 * (one copy of the values and of the NULL flags, then only NULLs and strings per row). */
void rs_put_range(rowstore *rs, uint64_t base, int c, const tl_vec *v, uint32_t i0, uint32_t i1)
{
    size_t es = tl_vec_elem_size(rs->types[c].id);
    uint32_t m = i1 - i0;
    char *dst = (char *)rs->data[c] + es * (base + i0);
    if (rs->absent && rs->absent[c]) {
        if (!v->d.raw) return;
        rs_materialize(rs, c);
    }
    uint8_t *dn = rs->nulls[c] + base + i0;
    if (!v->d.raw) { /* a column nobody reads: all NULL, as rs_put stores it */
        memset(dn, 1, m);
        memset(dst, 0, es * m);
        return;
    }
    memcpy(dst, (const char *)v->d.raw + es * i0, es * m);
    if (v->nulls) {
        memcpy(dn, v->nulls + i0, m);
        for (uint32_t i = 0; i < m; i++)
            if (dn[i]) memset(dst + es * i, 0, es);
    } else {
        memset(dn, 0, m);
    }
    if ((tl_type_is_string(rs->types[c].id) || rs->types[c].id == TL_UNKNOWN) && !(rs->stable && rs->stable[c])) {
        tl_str *s = (tl_str *)(void *)dst;
        for (uint32_t i = 0; i < m; i++)
            if (!dn[i]) s[i].ptr = tl_arena_strndup(&rs->strings, s[i].ptr, s[i].len);
    }
}

/* A join can hand over one enormous batch, so the memory budget is looked at every
 * few hundred rows. Past it, the rest of the batch is stored as NULLs (cheap and in
 * bounds): the statement is failing, and every caller makes a cancellation check,
 * which reports 53200, before the rows are used. */
void rs_append_batch(rowstore *rs, const batch *b)
{
    if (rs->sparse && !rs->absent) {
        rs->absent = tl_xcalloc((size_t)rs->ncols + 1, sizeof *rs->absent);
        for (int c = 0; c < rs->ncols; c++) rs->absent[c] = rs->n == 0 && !b->cols[c].d.raw;
    }
    rs_reserve(rs, rs->n + b->n);
    for (uint32_t i0 = 0; i0 < b->n; i0 += 256) {
        uint32_t i1 = b->n - i0 < 256 ? b->n : i0 + 256;
        if (tl_mem_budget_exceeded()) {
            for (int c = 0; c < rs->ncols; c++) {
                if (rs->absent && rs->absent[c]) continue;
                size_t es = tl_vec_elem_size(rs->types[c].id);
                memset(rs->nulls[c] + rs->n + i0, 1, b->n - i0);
                memset((char *)rs->data[c] + es * (rs->n + i0), 0, es * (b->n - i0));
            }
            break;
        }
        for (int c = 0; c < rs->ncols; c++) rs_put_range(rs, rs->n, c, &b->cols[c], i0, i1);
    }
    rs->n += b->n;
}


void rs_get(const rowstore *rs, int c, uint64_t r, tl_datum *d)
{
    if (rs->absent && rs->absent[c]) {
        memset(d, 0, sizeof *d);
        d->isnull = true;
        return;
    }
    tl_vec v = {.type = rs->types[c], .n = 1, .nulls = rs->nulls[c] + r};
    v.d.raw = (char *)rs->data[c] + tl_vec_elem_size(rs->types[c].id) * r;
    tl_vec_get(&v, 0, d);
}

/* Emit rows idx[from..from+n) as a batch. */
batch *rs_gather(const rowstore *rs, const uint64_t *idx, uint64_t from, uint32_t n, tl_arena *a)
{
    batch *b = batch_new(a, rs->ncols, n);
    for (int c = 0; c < rs->ncols; c++) {
        tl_vec *v = &b->cols[c];
        if (rs->absent && rs->absent[c]) { /* as a scan hands over a column nobody reads */
            memset(v, 0, sizeof *v);
            v->type = rs->types[c];
            v->n = n;
            continue;
        }
        tl_vec_alloc(v, rs->types[c], n, a);
        v->n = n;
        size_t es = tl_vec_elem_size(rs->types[c].id);
        if (!idx) {
            memcpy(v->d.raw, (char *)rs->data[c] + es * from, es * n);
            memcpy(v->nulls, rs->nulls[c] + from, n);
            continue;
        }
        const uint64_t *ix = idx + from;
        const uint8_t *sn = rs->nulls[c];
        switch (es) { /* the common widths with constant-size copies */
        case 8:
            for (uint32_t i = 0; i < n; i++) memcpy((char *)v->d.raw + 8 * i, (char *)rs->data[c] + 8 * ix[i], 8);
            break;
        case 16:
            for (uint32_t i = 0; i < n; i++)
                memcpy((char *)v->d.raw + 16 * i, (char *)rs->data[c] + 16 * ix[i], 16);
            break;
        default:
            for (uint32_t i = 0; i < n; i++)
                memcpy((char *)v->d.raw + es * i, (char *)rs->data[c] + es * ix[i], es);
        }
        for (uint32_t i = 0; i < n; i++) v->nulls[i] = sn[ix[i]];
    }
    return b;
}

/* ---- hash aggregate ------------------------------------------------------------------------------------- */

typedef struct hashagg_op {
    op base;
    op *child;
    int ngroups, naggs;
    tl_expr **groups, **aggs;
    bool scalar;        /* no GROUP BY: exactly one output row */
    rowstore keys;      /* one row per group */
    agg_state *states;  /* ngroups_found * naggs */
    uint64_t nfound, capfound;
    uint32_t *table;    /* group index + 1, 0 = empty */
    uint64_t *hashes;
    uint64_t nslots;
    bool built;
    uint64_t emitted;
    tl_arena keep;
    int fastkey;        /* FK_*: one key hashed and compared in place */
    struct pairset *psets; /* per aggregate: count(DISTINCT x) as a set of (group, x) */
} hashagg_op;

/* count(DISTINCT x) over a dictionary string (by pointer), a uuid or an integer-like x:
 * one open-addressing set of (group, value) for all groups, 24 bytes a pair, instead of
 * a hash set per group; a pair new to the set counts for its group. */
typedef struct pair_slot {
    uint64_t g1;  /* group + 1, 0 = empty */
    uint64_t a, b;
} pair_slot;

typedef struct pairset {
    int kind;     /* FK_PTR, FK_UUID, FK_I64; FK_NONE = not used */
    pair_slot *slots;
    uint64_t nslots, n;
} pairset;

static bool pairset_add(pairset *ps, uint64_t g, uint64_t a, uint64_t b)
{
    if ((ps->n + 1) * 2 > ps->nslots) {
        uint64_t ns = ps->nslots ? ps->nslots * 2 : 1024;
        pair_slot *t = tl_xcalloc(ns, sizeof *t);
        for (uint64_t i = 0; i < ps->nslots; i++) {
            pair_slot *e = &ps->slots[i];
            if (!e->g1) continue;
            uint64_t j = ptr_hash((const void *)(uintptr_t)(e->a ^ e->b * 0x9E3779B97F4A7C15ull ^ e->g1 * 0xC2B2AE3D27D4EB4Full)) & (ns - 1);
            while (t[j].g1) j = (j + 1) & (ns - 1);
            t[j] = *e;
        }
        free(ps->slots);
        ps->slots = t;
        ps->nslots = ns;
    }
    uint64_t j = ptr_hash((const void *)(uintptr_t)(a ^ b * 0x9E3779B97F4A7C15ull ^ (g + 1) * 0xC2B2AE3D27D4EB4Full)) &
                 (ps->nslots - 1);
    for (;; j = (j + 1) & (ps->nslots - 1)) {
        pair_slot *e = &ps->slots[j];
        if (!e->g1) {
            *e = (pair_slot){g + 1, a, b};
            ps->n++;
            return true;
        }
        if (e->g1 == g + 1 && e->a == a && e->b == b) return false;
    }
}

static uint64_t row_hash(const tl_vec *cols, int n, uint32_t i)
{
    uint64_t h = 0x243F6A8885A308D3ull;
    for (int c = 0; c < n; c++) {
        tl_datum d;
        uint64_t x;
        if (tl_vec_isnull(&cols[c], i)) {
            x = 0x9E3779B97F4A7C15ull;
        } else {
            tl_vec_get(&cols[c], i, &d);
            x = tl_datum_hash(cols[c].type.id == TL_UNKNOWN ? TL_TEXT : cols[c].type.id, &d);
        }
        h = (h ^ x) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

static bool group_equal(const hashagg_op *h, uint64_t g, const tl_vec *cols, uint32_t i)
{
    for (int c = 0; c < h->ngroups; c++) {
        tl_datum a, b;
        rs_get(&h->keys, c, g, &a);
        bool bn = tl_vec_isnull(&cols[c], i);
        if (a.isnull || bn) {
            if (a.isnull != bn) return false;
            continue;
        }
        tl_vec_get(&cols[c], i, &b);
        tl_type_id t = cols[c].type.id == TL_UNKNOWN ? TL_TEXT : cols[c].type.id;
        if (tl_datum_cmp(t, &a, &b) != 0) return false;
        if (t == TL_NUMERIC && a.v.n.scale != b.v.n.scale) return false; /* 1.0 vs 1.00 print differently */
    }
    return true;
}

static void agg_grow(hashagg_op *h)
{
    uint64_t ns = h->nslots ? h->nslots * 2 : 1024;
    uint32_t *t = tl_xcalloc(ns, sizeof *t);
    for (uint64_t s = 0; s < h->nslots; s++) {
        if (!h->table[s]) continue;
        uint64_t g = h->table[s] - 1, j = h->hashes[g] & (ns - 1);
        while (t[j]) j = (j + 1) & (ns - 1);
        t[j] = (uint32_t)(g + 1);
    }
    free(h->table);
    h->table = t;
    h->nslots = ns;
}

static uint64_t new_group(hashagg_op *h, const tl_vec *cols, uint32_t i, uint64_t hash)
{
    uint64_t g = h->nfound++;
    rs_reserve(&h->keys, h->nfound);
    for (int c = 0; c < h->ngroups; c++) rs_put(&h->keys, g, c, &cols[c], i);
    h->keys.n = h->nfound;
    if (h->nfound > h->capfound) {
        uint64_t cap = h->capfound ? h->capfound * 2 : 256;
        h->states = tl_xrealloc(h->states, sizeof *h->states * cap * (size_t)(h->naggs ? h->naggs : 1));
        h->hashes = tl_xrealloc(h->hashes, sizeof *h->hashes * cap);
        h->capfound = cap;
    }
    memset(&h->states[g * (uint64_t)h->naggs], 0, sizeof *h->states * (size_t)h->naggs);
    h->hashes[g] = hash;
    return g;
}

/* One row's values of aggregate k's inputs, as agg_add takes them. */
static int agg_update(hashagg_op *h, agg_state *st, const tl_expr *ae, const tl_vec *av, const tl_vec *dv,
                      const tl_vec *ov, uint32_t i, tl_error *err)
{
    tl_datum v, d, k;
    memset(&v, 0, sizeof v);
    if (ae->nargs) tl_vec_get(av, i, &v);
    if (ae->nargs > 1) tl_vec_get(dv, i, &d);
    if (ae->agg_order) tl_vec_get(ov, i, &k);
    return agg_add(st, ae, ae->nargs ? &v : NULL, ae->nargs > 1 ? &d : NULL, ae->agg_order ? &k : NULL, &h->keep,
                   err);
}

/* ---- hash aggregation fast paths -----------------------------------------------------------
 * One grouping key of an integer-like, string or uuid type is hashed and compared in
 * place (no datum round trip); count/sum/avg over integers, floats and numerics of one
 * scale fold in a loop per aggregate. Anything else takes the general path per row. */
enum { FK_NONE, FK_I64, FK_STR, FK_UUID, FK_PTR /* a string by its dictionary pointer (op.stable) */,
       FK_MULTI_I64 /* several keys, each integer-like (hash aggregate only) */ };

static int fast_key_kind(tl_type t)
{
    if (t.id == TL_UUID) return FK_UUID;
    if (tl_type_is_string(t.id) || t.id == TL_UNKNOWN || t.id == TL_ARRAY) return FK_STR;
    if (t.id == TL_FLOAT4 || t.id == TL_FLOAT8 || t.id == TL_NUMERIC || t.id == TL_BOOL || t.id == TL_INTERVAL)
        return FK_NONE;
    return tl_vec_elem_size(t.id) == sizeof(int64_t) ? FK_I64 : FK_NONE;
}

uint64_t ptr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    return x ^ (x >> 33);
}

static uint64_t fast_hash(int kind, const tl_vec *v, uint32_t i)
{
    if (v->nulls && v->nulls[i]) return 0x9E3779B97F4A7C15ull;
    switch (kind) {
    case FK_I64: {
        uint64_t x = (uint64_t)v->d.i[i] * 0xff51afd7ed558ccdull;
        return x ^ (x >> 32);
    }
    case FK_STR: return XXH3_64bits(v->d.s[i].ptr, v->d.s[i].len);
    case FK_PTR: return ptr_hash(v->d.s[i].ptr);
    default: return XXH3_64bits(v->d.u[i].b, 16);
    }
}

static bool fast_equal(const hashagg_op *h, int kind, uint64_t g, const tl_vec *v, uint32_t i)
{
    bool an = h->keys.nulls[0][g], bn = v->nulls && v->nulls[i];
    if (an || bn) return an == bn;
    switch (kind) {
    case FK_I64: return ((const int64_t *)h->keys.data[0])[g] == v->d.i[i];
    case FK_PTR: return ((const tl_str *)h->keys.data[0])[g].ptr == v->d.s[i].ptr;
    case FK_STR: {
        const tl_str *a = &((const tl_str *)h->keys.data[0])[g];
        return a->len == v->d.s[i].len && memcmp(a->ptr, v->d.s[i].ptr, a->len) == 0;
    }
    default: return memcmp(((const tl_uuid *)h->keys.data[0])[g].b, v->d.u[i].b, 16) == 0;
    }
}

static uint64_t multi_hash(const tl_vec *cols, int n, uint32_t i)
{
    uint64_t h = 0x243F6A8885A308D3ull;
    for (int c = 0; c < n; c++) {
        uint64_t x = tl_vec_isnull(&cols[c], i) ? 0x9E3779B97F4A7C15ull : (uint64_t)cols[c].d.i[i] * 0xff51afd7ed558ccdull;
        h = (h ^ x ^ (x >> 32)) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
    }
    return h;
}

static bool multi_equal(const hashagg_op *h, uint64_t g, const tl_vec *cols, uint32_t i)
{
    for (int c = 0; c < h->ngroups; c++) {
        bool an = h->keys.nulls[c][g], bn = tl_vec_isnull(&cols[c], i);
        if (an || bn) {
            if (an != bn) return false;
            continue;
        }
        if (((const int64_t *)h->keys.data[c])[g] != cols[c].d.i[i]) return false;
    }
    return true;
}

/* count / sum / avg folded over a batch; false when the aggregate needs the general path. */
static bool fast_update(hashagg_op *h, int k, const tl_expr *ae, const tl_vec *av, const tl_vec *fv,
                        const uint64_t *gidx, uint32_t n)
{
    agg_kind kind = ae->agg->kind;
    if (ae->agg_distinct || ae->agg_order) return false;
    tl_type_id t = ae->nargs ? ae->args[0]->type.id : TL_UNKNOWN;
    if ((kind == A_MIN || kind == A_MAX) && ae->nargs == 1 &&
        (tl_type_is_integer(t) || t == TL_DATE || t == TL_TIMESTAMP || t == TL_TIMESTAMPTZ)) {
        /* what fold keeps: best is the first value and then each strictly better one */
        const uint8_t *mn = av->d.raw ? av->nulls : NULL;
        uint64_t stride = (uint64_t)h->naggs;
        for (uint32_t i = 0; i < n; i++) {
            if ((fv && (tl_vec_isnull(fv, i) || !fv->d.b[i])) || (mn && mn[i]) || !av->d.raw) continue;
            agg_state *st = &h->states[gidx[i] * stride + (uint64_t)k];
            int64_t x = av->d.i[i];
            st->count++;
            if (!st->has || (kind == A_MIN ? x < st->best.v.i : x > st->best.v.i)) {
                st->best.isnull = false;
                st->best.v.i = x;
                st->has = true;
            }
        }
        return true;
    }
    if (kind != A_COUNT_STAR && kind != A_COUNT && kind != A_SUM && kind != A_AVG) return false;
    bool isint = ae->nargs && tl_type_is_integer(t);
    if ((kind == A_SUM || kind == A_AVG) && !isint && t != TL_FLOAT8 && t != TL_NUMERIC) return false;
    uint64_t stride = (uint64_t)h->naggs;
    agg_state *states = h->states;
    const uint8_t *nulls = ae->nargs ? (av->d.raw ? av->nulls : NULL) : NULL;
    if (t == TL_NUMERIC && (kind == A_SUM || kind == A_AVG)) {
        /* only when every value of the batch has the scale its group's sum already has,
         * and magnitudes stay far from the 10^38 limit (2048 * 10^34 < 10^38), so the
         * general path's overflow check cannot be needed */
        const tl_i128 lim = (tl_i128)10000000000000000LL * (tl_i128)1000000000000000000LL; /* 10^34 */
        for (uint32_t i = 0; i < n; i++) {
            if ((fv && (tl_vec_isnull(fv, i) || !fv->d.b[i])) || (nulls && nulls[i])) continue;
            agg_state *st = &states[gidx[i] * stride + (uint64_t)k];
            const tl_numeric *v = &av->d.n[i];
            if (v->nan || v->mant >= lim || v->mant <= -lim) return false;
            if (!st->has) {
                /* zero at the first value's scale: what the general fold would hold after
                 * adding that value, minus the value itself (added below or by it) */
                st->nsum = (tl_numeric){.mant = 0, .scale = v->scale, .nan = 0};
                st->has = true;
            }
            if (st->nsum.scale != v->scale || st->nsum.mant >= lim || st->nsum.mant <= -lim) return false;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        if (fv && (tl_vec_isnull(fv, i) || !fv->d.b[i])) continue;
        agg_state *st = &states[gidx[i] * stride + (uint64_t)k];
        if (kind == A_COUNT_STAR) {
            st->count++;
            continue;
        }
        if (nulls && nulls[i]) continue;
        st->count++;
        if (kind == A_COUNT) continue;
        if (isint) {
            st->isum += av->d.i[i];
        } else if (t == TL_FLOAT8) {
            st->fsum += av->d.f[i];
        } else {
            st->nsum.mant += av->d.n[i].mant; /* checked above: stays below 10^38 */
        }
    }
    return true;
}

static int hashagg_build(hashagg_op *h, qctx *q, tl_error *err)
{
    tl_arena scratch;
    tl_arena_init(&scratch);
    tl_vec *gv = tl_xcalloc((size_t)h->ngroups + 1, sizeof *gv);
    tl_vec *av = tl_xcalloc((size_t)h->naggs + 1, sizeof *av);
    tl_vec *fv = tl_xcalloc((size_t)h->naggs + 1, sizeof *fv);
    tl_vec *dv = tl_xcalloc((size_t)h->naggs + 1, sizeof *dv);
    tl_vec *ov = tl_xcalloc((size_t)h->naggs + 1, sizeof *ov);
    int rc = 0;
    for (;;) {
        batch *in;
        rc = h->child->next(h->child, q, &in, err);
        if (rc <= 0) break;
        tl_arena_reset(&scratch);
        if ((rc = q_check_cancel(q, err)) < 0) break;
        for (int c = 0; c < h->ngroups && rc == 0; c++) rc = expr_eval(q, h->groups[c], in, &gv[c], &scratch, err);
        for (int k = 0; k < h->naggs && rc == 0; k++) {
            const tl_expr *ae = h->aggs[k];
            if (ae->nargs) rc = expr_eval(q, ae->args[0], in, &av[k], &scratch, err);
            if (rc == 0 && ae->nargs > 1) rc = expr_eval(q, ae->args[1], in, &dv[k], &scratch, err);
            if (rc == 0 && ae->agg_order) rc = expr_eval(q, ae->agg_order, in, &ov[k], &scratch, err);
            if (rc == 0 && ae->agg_filter) rc = expr_eval(q, ae->agg_filter, in, &fv[k], &scratch, err);
        }
        if (rc < 0) break;
        uint64_t *gidx = tl_arena_alloc(&scratch, sizeof *gidx * (in->n ? in->n : 1));
        for (uint32_t i = 0; i < in->n; i++) {
            if (h->ngroups == 0) {
                gidx[i] = 0;
                continue;
            }
            uint64_t hash = h->fastkey == FK_MULTI_I64 ? multi_hash(gv, h->ngroups, i)
                            : h->fastkey                ? fast_hash(h->fastkey, &gv[0], i)
                                                        : row_hash(gv, h->ngroups, i);
            if ((h->nfound + 1) * 10 > h->nslots * 7) agg_grow(h);
            uint64_t j = hash & (h->nslots - 1);
            for (;;) {
                uint32_t t = h->table[j];
                if (!t) {
                    gidx[i] = new_group(h, gv, i, hash);
                    h->table[j] = (uint32_t)(gidx[i] + 1);
                    break;
                }
                if (h->hashes[t - 1] == hash &&
                    (h->fastkey == FK_MULTI_I64 ? multi_equal(h, t - 1, gv, i)
                     : h->fastkey               ? fast_equal(h, h->fastkey, t - 1, &gv[0], i)
                                                : group_equal(h, t - 1, gv, i))) {
                    gidx[i] = t - 1;
                    break;
                }
                j = (j + 1) & (h->nslots - 1);
            }
        }
        /* aggregates one at a time over the batch: the common ones in tight loops */
        for (int k = 0; k < h->naggs && rc == 0; k++) {
            const tl_expr *ae = h->aggs[k];
            if (h->psets && h->psets[k].kind != FK_NONE) {
                pairset *ps = &h->psets[k];
                const tl_vec *v = &av[k];
                for (uint32_t i = 0; i < in->n; i++) {
                    if (ae->agg_filter && (tl_vec_isnull(&fv[k], i) || !fv[k].d.b[i])) continue;
                    if (tl_vec_isnull(v, i)) continue;
                    uint64_t a, b = 0;
                    if (ps->kind == FK_PTR) {
                        a = (uint64_t)(uintptr_t)v->d.s[i].ptr;
                    } else if (ps->kind == FK_UUID) {
                        memcpy(&a, v->d.u[i].b, 8);
                        memcpy(&b, v->d.u[i].b + 8, 8);
                    } else {
                        a = (uint64_t)v->d.i[i];
                    }
                    if (pairset_add(ps, gidx[i], a, b)) h->states[gidx[i] * (uint64_t)h->naggs + (uint64_t)k].count++;
                }
                continue;
            }
            if (fast_update(h, k, ae, &av[k], ae->agg_filter ? &fv[k] : NULL, gidx, in->n)) continue;
            for (uint32_t i = 0; i < in->n && rc == 0; i++) {
                if (ae->agg_filter && (tl_vec_isnull(&fv[k], i) || !fv[k].d.b[i])) continue;
                agg_state *st = &h->states[gidx[i] * (uint64_t)h->naggs];
                rc = agg_update(h, &st[k], ae, &av[k], &dv[k], &ov[k], i, err);
            }
        }
        if (rc < 0) break;
    }
    free(gv);
    free(av);
    free(fv);
    free(dv);
    free(ov);
    tl_arena_free(&scratch);
    return rc < 0 ? -1 : 0;
}

static int hashagg_next(op *o, qctx *q, batch **out, tl_error *err)
{
    hashagg_op *h = (hashagg_op *)o;
    if (!h->built) {
        if (h->scalar) {
            tl_vec none;
            memset(&none, 0, sizeof none);
            new_group(h, &none, 0, 0);
        }
        if (hashagg_build(h, q, err) < 0) return -1;
        h->built = true;
    }
    if (h->emitted >= h->nfound) return 0;
    tl_arena_reset(&o->arena);
    uint64_t left = h->nfound - h->emitted;
    uint32_t n = left > TL_VEC_SIZE ? TL_VEC_SIZE : (uint32_t)left;
    batch *b = batch_new(&o->arena, o->ncols, n);
    if (h->ngroups) {
        batch *kb = rs_gather(&h->keys, NULL, h->emitted, n, &o->arena);
        for (int c = 0; c < h->ngroups; c++) b->cols[c] = kb->cols[c];
    }
    for (int k = 0; k < h->naggs; k++) {
        tl_vec *v = &b->cols[h->ngroups + k];
        tl_vec_alloc(v, h->aggs[k]->type, n, &o->arena);
        v->n = n;
        if (h->psets && h->psets[k].kind != FK_NONE) { /* count(DISTINCT x): the pairs counted */
            for (uint32_t i = 0; i < n; i++) {
                v->d.i[i] = h->states[(h->emitted + i) * (uint64_t)h->naggs + (uint64_t)k].count;
                v->nulls[i] = 0;
            }
            continue;
        }
        for (uint32_t i = 0; i < n; i++) {
            tl_datum d;
            if (agg_finish(q, &h->states[(h->emitted + i) * (uint64_t)h->naggs + (uint64_t)k], h->aggs[k], &d,
                           &o->arena, err) < 0)
                return -1;
            tl_vec_set(v, i, &d);
        }
    }
    h->emitted += n;
    *out = b;
    return 1;
}

static void hashagg_close(op *o)
{
    hashagg_op *h = (hashagg_op *)o;
    op_free(h->child);
    rs_free(&h->keys);
    for (uint64_t i = 0; i < h->nfound * (uint64_t)h->naggs; i++) agg_state_free(&h->states[i]);
    free(h->states);
    free(h->table);
    free(h->hashes);
    for (int k = 0; h->psets && k < h->naggs; k++) free(h->psets[k].slots);
    free(h->psets);
    tl_arena_free(&h->keep);
}

op *op_hashagg(qctx *q, op *child, int ngroups, tl_expr **groups, int naggs, tl_expr **aggs)
{
    hashagg_op *h = tl_xcalloc(1, sizeof *h);
    tl_type *types = tl_arena_alloc(&q->arena, sizeof *types * (size_t)(ngroups + naggs + 1));
    for (int i = 0; i < ngroups; i++) {
        types[i] = groups[i]->type;
        if (types[i].id == TL_UNKNOWN) types[i] = tl_type_make(TL_TEXT);
    }
    for (int i = 0; i < naggs; i++) types[ngroups + i] = aggs[i]->type;
    op_init(&h->base, ngroups + naggs, types, q);
    op_label(&h->base, ngroups ? tl_arena_printf(&q->arena, "HashAggregate (%d keys, %d aggregates)", ngroups, naggs)
                               : tl_arena_printf(&q->arena, "Aggregate (%d aggregates)", naggs),
             child, NULL);
    h->base.next = hashagg_next;
    h->base.close = hashagg_close;
    h->child = child;
    h->ngroups = ngroups;
    h->naggs = naggs;
    h->groups = groups;
    h->aggs = aggs;
    h->scalar = ngroups == 0;
    h->fastkey = ngroups == 1 ? fast_key_kind(types[0]) : FK_NONE;
    if (ngroups > 1) {
        h->fastkey = FK_MULTI_I64;
        for (int i = 0; i < ngroups; i++)
            if (fast_key_kind(types[i]) != FK_I64) h->fastkey = FK_NONE;
    }
    rs_init(&h->keys, ngroups, types);
    if (h->fastkey == FK_STR && op_col_stable(child, groups[0])) {
        h->fastkey = FK_PTR;
        h->base.stable = tl_arena_zalloc(&q->arena, (size_t)(ngroups + naggs));
        h->base.stable[0] = true;
        h->keys.stable = h->base.stable;
    }
    for (int k = 0; k < naggs; k++) {
        tl_expr *ae = aggs[k];
        ae->agg_arg_stable = ae->agg_distinct && ae->nargs == 1 && op_col_stable(child, ae->args[0]);
        if (ae->agg->kind != A_COUNT || !ae->agg_distinct || ae->nargs != 1 || ae->agg_order) continue;
        tl_type at = ae->args[0]->type;
        int kind = ae->agg_arg_stable ? FK_PTR : at.id == TL_UUID ? FK_UUID
                 : fast_key_kind(at) == FK_I64 && at.id != TL_UNKNOWN ? FK_I64 : FK_NONE;
        if (kind == FK_NONE) continue;
        if (!h->psets) h->psets = tl_xcalloc((size_t)naggs, sizeof *h->psets);
        h->psets[k].kind = kind;
    }
    tl_arena_init(&h->keep);
    return &h->base;
}

/* ---- sort ------------------------------------------------------------------------------------------------- */

typedef struct sort_op {
    op base;
    op *child;
    int nkeys;
    sort_key *keys;
    rowstore rows;
    uint64_t *idx;
    bool built;
    uint64_t emitted;
    int64_t limit;
    bool has_bound;     /* top-N: rows[0..limit) are the best so far; row limit-1 bounds them */
} sort_op;

static int cmp_rows(const sort_op *s, uint64_t a, uint64_t b)
{
    for (int k = 0; k < s->nkeys; k++) {
        const sort_key *key = &s->keys[k];
        int c = key->col;
        bool an = s->rows.nulls[c][a], bn = s->rows.nulls[c][b];
        if (an || bn) {
            if (an && bn) continue;
            /* nulls_first already folds in PostgreSQL's default (first when DESC) */
            return an == key->nulls_first ? -1 : 1;
        }
        tl_datum x, y;
        rs_get(&s->rows, c, a, &x);
        rs_get(&s->rows, c, b, &y);
        tl_type_id t = s->rows.types[c].id == TL_UNKNOWN ? TL_TEXT : s->rows.types[c].id;
        int r = tl_datum_cmp(t, &x, &y);
        if (r) return key->desc ? -r : r;
    }
    return a < b ? -1 : a > b;
}

static int sort_cmp(const void *pa, const void *pb, void *arg)
{
    return cmp_rows(arg, *(const uint64_t *)pa, *(const uint64_t *)pb);
}

/* Batch row i against stored row r on the sort keys (rows equal on every key: 0). */
static int cmp_batch_row(const sort_op *s, const batch *b, uint32_t i, uint64_t r)
{
    for (int k = 0; k < s->nkeys; k++) {
        const sort_key *key = &s->keys[k];
        int c = key->col;
        bool an = !b->cols[c].d.raw || tl_vec_isnull(&b->cols[c], i), bn = s->rows.nulls[c][r];
        if (an || bn) {
            if (an && bn) continue;
            return an == key->nulls_first ? -1 : 1;
        }
        tl_datum x, y;
        tl_vec_get(&b->cols[c], i, &x);
        rs_get(&s->rows, c, r, &y);
        tl_type_id t = s->rows.types[c].id == TL_UNKNOWN ? TL_TEXT : s->rows.types[c].id;
        int v = tl_datum_cmp(t, &x, &y);
        if (v) return key->desc ? -v : v;
    }
    return 0;
}

/* Top-N: keep only the best `limit` rows (sorted), so ORDER BY ... LIMIT holds
 * O(limit) rows and sorts 2*limit at a time instead of the whole input. */
static void sort_compact(sort_op *s)
{
    uint64_t n = s->rows.n, k = (uint64_t)s->limit;
    uint64_t *idx = tl_xmalloc(sizeof *idx * (n ? n : 1));
    for (uint64_t i = 0; i < n; i++) idx[i] = i;
    qsort_r(idx, n, sizeof *idx, sort_cmp, s);
    if (k > n) k = n;
    rowstore nr;
    rs_init(&nr, s->rows.ncols, s->rows.types);
    nr.sparse = true;
    tl_arena a;
    tl_arena_init(&a);
    for (uint64_t from = 0; from < k; from += TL_VEC_SIZE) {
        uint32_t m = k - from > TL_VEC_SIZE ? TL_VEC_SIZE : (uint32_t)(k - from);
        rs_append_batch(&nr, rs_gather(&s->rows, idx, from, m, &a));
        tl_arena_reset(&a);
    }
    tl_arena_free(&a);
    free(idx);
    rs_free(&s->rows);
    s->rows = nr;
    s->has_bound = k > 0 && k == (uint64_t)s->limit;
}

static int sort_next(op *o, qctx *q, batch **out, tl_error *err)
{
    sort_op *s = (sort_op *)o;
    if (!s->built) {
        uint64_t topn = s->limit >= 0 && s->limit <= 1000000 ? (uint64_t)s->limit : 0;
        tl_arena sel;
        tl_arena_init(&sel);
        for (;;) {
            batch *in;
            int rc = s->child->next(s->child, q, &in, err);
            if (rc < 0) {
                tl_arena_free(&sel);
                return -1;
            }
            if (rc == 0) break;
            if (q_check_cancel(q, err) < 0) {
                tl_arena_free(&sel);
                return -1;
            }
            if (s->limit == 0) continue;
            if (s->has_bound) {
                /* only rows that beat the current limit-th row can enter */
                tl_arena_reset(&sel);
                uint32_t *keep = tl_arena_alloc(&sel, sizeof *keep * (in->n ? in->n : 1)), nk = 0;
                uint64_t bound = (uint64_t)s->limit - 1;
                for (uint32_t i = 0; i < in->n; i++)
                    if (cmp_batch_row(s, in, i, bound) < 0) keep[nk++] = i;
                if (nk == 0) continue;
                if (nk < in->n) {
                    batch *b = batch_new(&sel, in->ncols, nk);
                    for (int c = 0; c < in->ncols; c++) {
                        const tl_vec *src = &in->cols[c];
                        b->cols[c] = *src;
                        b->cols[c].n = nk;
                        if (!src->d.raw) continue;
                        tl_vec_alloc(&b->cols[c], src->type, nk, &sel);
                        b->cols[c].n = nk;
                        size_t es = tl_vec_elem_size(src->type.id);
                        for (uint32_t j = 0; j < nk; j++) {
                            memcpy((char *)b->cols[c].d.raw + es * j, (const char *)src->d.raw + es * keep[j], es);
                            b->cols[c].nulls[j] = src->nulls ? src->nulls[keep[j]] : 0;
                        }
                    }
                    in = b;
                }
            }
            rs_append_batch(&s->rows, in);
            if (q_check_cancel(q, err) < 0) { /* the statement's memory budget too */
                tl_arena_free(&sel);
                return -1;
            }
            if (topn && s->rows.n >= 2 * topn + TL_VEC_SIZE) sort_compact(s);
        }
        tl_arena_free(&sel);
        s->idx = tl_xmalloc(sizeof *s->idx * (s->rows.n ? s->rows.n : 1));
        for (uint64_t i = 0; i < s->rows.n; i++) s->idx[i] = i;
        qsort_r(s->idx, s->rows.n, sizeof *s->idx, sort_cmp, s);
        s->built = true;
    }
    uint64_t total = s->rows.n;
    if (s->limit >= 0 && (uint64_t)s->limit < total) total = (uint64_t)s->limit;
    if (s->emitted >= total) return 0;
    tl_arena_reset(&o->arena);
    uint64_t left = total - s->emitted;
    uint32_t n = left > TL_VEC_SIZE ? TL_VEC_SIZE : (uint32_t)left;
    *out = rs_gather(&s->rows, s->idx, s->emitted, n, &o->arena);
    s->emitted += n;
    return 1;
}

static void sort_close(op *o)
{
    sort_op *s = (sort_op *)o;
    op_free(s->child);
    rs_free(&s->rows);
    free(s->idx);
}

op *op_sort(qctx *q, op *child, int nkeys, const sort_key *keys, int64_t limit_hint)
{
    sort_op *s = tl_xcalloc(1, sizeof *s);
    op_init(&s->base, child->ncols, child->types, q);
    op_label(&s->base, limit_hint >= 0 ? tl_arena_printf(&q->arena, "Sort (top-N %lld)", (long long)limit_hint) : "Sort",
             child, NULL);
    s->base.next = sort_next;
    s->base.close = sort_close;
    s->child = child;
    s->nkeys = nkeys;
    s->keys = tl_arena_alloc(&q->arena, sizeof *keys * (size_t)(nkeys + 1));
    memcpy(s->keys, keys, sizeof *keys * (size_t)nkeys);
    s->limit = limit_hint;
    rs_init(&s->rows, child->ncols, child->types);
    s->rows.sparse = true; /* columns nobody reads stay without data */
    return &s->base;
}

/* ---- limit ------------------------------------------------------------------------------------------------- */

typedef struct limit_op {
    op base;
    op *child;
    int64_t offset, count, seen, sent;
} limit_op;

static int limit_next(op *o, qctx *q, batch **out, tl_error *err)
{
    limit_op *l = (limit_op *)o;
    for (;;) {
        if (l->count >= 0 && l->sent >= l->count) return 0;
        batch *in;
        int rc = l->child->next(l->child, q, &in, err);
        if (rc <= 0) return rc;
        int64_t skip = 0;
        if (l->seen < l->offset) {
            skip = l->offset - l->seen;
            if (skip > (int64_t)in->n) skip = in->n;
        }
        l->seen += in->n;
        int64_t take = (int64_t)in->n - skip;
        if (l->count >= 0 && take > l->count - l->sent) take = l->count - l->sent;
        if (take <= 0) continue;
        tl_arena_reset(&o->arena);
        batch *b = batch_new(&o->arena, in->ncols, (uint32_t)take);
        for (int c = 0; c < in->ncols; c++) {
            tl_vec *dst = &b->cols[c];
            const tl_vec *src = &in->cols[c];
            *dst = *src;
            dst->n = (uint32_t)take;
            if (!src->d.raw) continue;
            size_t es = tl_vec_elem_size(src->type.id);
            dst->d.raw = (char *)src->d.raw + es * (size_t)skip;
            if (src->nulls) dst->nulls = src->nulls + skip;
        }
        l->sent += take;
        *out = b;
        return 1;
    }
}

op *op_limit(qctx *q, op *child, int64_t offset, int64_t count)
{
    limit_op *l = tl_xcalloc(1, sizeof *l);
    op_init(&l->base, child->ncols, child->types, q);
    op_label(&l->base, "Limit", child, NULL);
    l->base.next = limit_next;
    l->base.close = child_close;
    l->child = child;
    l->offset = offset;
    l->count = count;
    l->base.stable = child->stable;
    return &l->base;
}

/* ---- hash join ----------------------------------------------------------------------------------------------- */

typedef struct hashjoin_op {
    op base;
    op *left; /* first, for child_close style */
    op *right;
    int nkeys;
    tl_expr **lkeys, **rkeys;
    int jointype;
    tl_expr *residual;
    rowstore build;     /* build rows: the right input's, or the left's if swapped */
    rowstore bkeys;     /* build key values */
    bool swapped;       /* inner join built on the left: the right input is probed */
    rowstore pend;      /* probe rows read while choosing the build side, probed first */
    uint64_t pendpos;
    tl_arena pend_arena; /* the pend batch being joined */
    uint64_t *bhash;
    uint32_t *table;    /* row + 1 */
    uint32_t *chain;    /* next row + 1 with the same slot */
    /* four bits per slot, set by the build keys' hashes (bits other than the slot's): a
     * probe key whose bit is clear has no partner, found without touching the big table */
    uint64_t *bits;
    uint64_t nslots;
    bool built;
    int fastkey;        /* FK_*: one key of the same type on both sides, hashed in place */
    uint8_t *bmatched;  /* FULL: build rows that found a partner */
    uint64_t tailpos;   /* FULL: next build row to consider for the unmatched tail */
    bool left_done;
    batch *probe;       /* the probe batch being joined (the left child's memory) */
    uint32_t probe_pos; /* its first row not joined yet */
} hashjoin_op;

/* Pairs one call joins at most (one probe row's matches may go past it): a probe batch
 * whose rows each match thousands of build rows is joined in slices, so the statement
 * checks for cancel and the memory budget between them (a 2048-row probe batch of the
 * protocol suite's 5000 x 5000 / 7 join made 1.4M pairs, 0.4 s between checks). */
#define JOIN_SLICE_PAIRS 65536

/* Rows [from, to) of b, sharing its memory. */
static batch *batch_slice(tl_arena *a, const batch *b, uint32_t from, uint32_t to)
{
    batch *s = batch_new(a, b->ncols, to - from);
    for (int c = 0; c < b->ncols; c++) {
        tl_vec v = b->cols[c];
        if (v.d.raw) v.d.raw = (char *)v.d.raw + tl_vec_elem_size(v.type.id) * from;
        if (v.nulls) v.nulls += from;
        v.n = to - from;
        s->cols[c] = v;
    }
    return s;
}

#define JOIN_INNER 1
#define JOIN_LEFT 2
#define JOIN_FULL 3 /* = PG_QUERY__JOIN_TYPE__JOIN_FULL */

/* FULL JOIN's last part: build rows nobody matched, with NULL probe columns. */
static int hashjoin_tail(hashjoin_op *j, op *o, batch **out)
{
    int nl = j->left->ncols, nr = j->right->ncols;
    uint64_t *idx = tl_arena_alloc(&o->arena, sizeof *idx * TL_VEC_SIZE);
    uint32_t n = 0;
    while (j->tailpos < j->build.n && n < TL_VEC_SIZE) {
        if (!j->bmatched[j->tailpos]) idx[n++] = j->tailpos;
        j->tailpos++;
    }
    if (n == 0) return 0;
    batch *rb = rs_gather(&j->build, idx, 0, n, &o->arena);
    batch *b = batch_new(&o->arena, nl + nr, n);
    for (int c = 0; c < nl; c++) {
        tl_vec_alloc(&b->cols[c], j->left->types[c], n, &o->arena);
        b->cols[c].n = n;
        memset(b->cols[c].nulls, 1, n);
    }
    for (int c = 0; c < nr; c++) b->cols[nl + c] = rb->cols[c];
    *out = b;
    return 1;
}

/* One side's rows with their key values and hashes (UINT64_MAX: a NULL key). */
typedef struct join_side {
    rowstore rows, keys;
    uint64_t *hash;
} join_side;

static void side_init(join_side *s, const op *child, int nkeys, tl_expr **keys)
{
    rs_init(&s->rows, child->ncols, child->types);
    s->rows.sparse = true;
    s->rows.stable = child->stable;
    tl_type kt[nkeys + 1];
    for (int k = 0; k < nkeys; k++) kt[k] = keys[k]->type;
    rs_init(&s->keys, nkeys, kt);
    s->hash = NULL;
}

static void side_free(join_side *s)
{
    rs_free(&s->rows);
    rs_free(&s->keys);
    free(s->hash);
}

static int side_add(hashjoin_op *j, join_side *s, tl_expr **keys, batch *in, qctx *q, tl_arena *scratch, tl_vec *kv,
                    tl_error *err)
{
    tl_arena_reset(scratch);
    for (int k = 0; k < j->nkeys; k++)
        if (expr_eval(q, keys[k], in, &kv[k], scratch, err) < 0) return -1;
    uint64_t base = s->rows.n;
    rs_append_batch(&s->rows, in);
    rs_reserve(&s->keys, base + in->n);
    s->hash = tl_xrealloc(s->hash, sizeof *s->hash * s->rows.cap);
    for (int k = 0; k < j->nkeys; k++) rs_put_range(&s->keys, base, k, &kv[k], 0, in->n);
    s->keys.n = base + in->n;
    for (uint32_t i = 0; i < in->n; i++) {
        bool anynull = false;
        for (int k = 0; k < j->nkeys; k++) anynull |= tl_vec_isnull(&kv[k], i);
        s->hash[base + i] = anynull ? UINT64_MAX : j->fastkey ? fast_hash(j->fastkey, &kv[0], i) : row_hash(kv, j->nkeys, i);
    }
    /* a big build side is where a join's memory goes: stop it at the budget */
    return q_check_cancel(q, err);
}

/* The build side is read whole into the hash table. An inner join builds on whichever
 * input ends first: both are read in turns, the one with fewer rows so far next, so
 * neither is read much beyond the smaller one's size; the other side's rows read by
 * then are probed first (pend), then its child is read on. Outer joins build on the
 * right, whose unmatched rows (FULL) or NULL extension (LEFT) depend on the side. */
static int hashjoin_build(hashjoin_op *j, qctx *q, tl_error *err)
{
    tl_arena scratch;
    tl_arena_init(&scratch);
    tl_vec *kv = tl_xcalloc((size_t)j->nkeys + 1, sizeof *kv);
    join_side sd[2]; /* 0: right, 1: left */
    side_init(&sd[0], j->right, j->nkeys, j->rkeys);
    side_init(&sd[1], j->left, j->nkeys, j->lkeys);
    bool race = j->jointype == JOIN_INNER && j->nkeys > 0;
    int rc, done = -1;
    for (;;) {
        int s = race && sd[1].rows.n < sd[0].rows.n ? 1 : 0;
        batch *in;
        op *child = s ? j->left : j->right;
        rc = child->next(child, q, &in, err);
        if (rc <= 0) {
            done = s;
            break;
        }
        if ((rc = side_add(j, &sd[s], s ? j->lkeys : j->rkeys, in, q, &scratch, kv, err)) < 0) break;
    }
    free(kv);
    tl_arena_free(&scratch);
    if (rc < 0) {
        side_free(&sd[0]);
        side_free(&sd[1]);
        return -1;
    }
    j->swapped = done == 1;
    join_side *bs = &sd[done], *ps = &sd[1 - done];
    rs_free(&j->build);
    rs_free(&j->bkeys);
    rs_free(&j->pend);
    j->build = bs->rows;
    j->bkeys = bs->keys;
    j->bhash = bs->hash;
    j->pend = ps->rows;
    rs_free(&ps->keys);
    free(ps->hash);
    uint64_t n = j->build.n;
    if (j->jointype == JOIN_FULL) j->bmatched = tl_xcalloc(n ? n : 1, 1);
    j->nslots = 16;
    while (j->nslots < n * 2) j->nslots *= 2;
    j->table = tl_xcalloc(j->nslots, sizeof *j->table);
    j->chain = tl_xcalloc(n ? n : 1, sizeof *j->chain);
    j->bits = tl_xcalloc(j->nslots / 16 + 1, sizeof *j->bits); /* 4 bits a slot: few false hits */
    for (uint64_t r = 0; r < n; r++) {
        if (j->bhash[r] == UINT64_MAX) continue; /* NULL keys never match */
        uint64_t s = j->bhash[r] & (j->nslots - 1), b = (j->bhash[r] >> 36) & (j->nslots * 4 - 1);
        j->chain[r] = j->table[s];
        j->table[s] = (uint32_t)(r + 1);
        j->bits[b >> 6] |= 1ull << (b & 63);
    }
    return 0;
}

static bool keys_match(const hashjoin_op *j, const tl_vec *kv, uint32_t i, uint64_t r)
{
    if (j->fastkey == FK_I64) return ((const int64_t *)j->bkeys.data[0])[r] == kv[0].d.i[i];
    if (j->fastkey == FK_UUID) return memcmp(((const tl_uuid *)j->bkeys.data[0])[r].b, kv[0].d.u[i].b, 16) == 0;
    if (j->fastkey == FK_STR) {
        const tl_str *a = &((const tl_str *)j->bkeys.data[0])[r];
        return a->len == kv[0].d.s[i].len && memcmp(a->ptr, kv[0].d.s[i].ptr, a->len) == 0;
    }
    for (int k = 0; k < j->nkeys; k++) {
        tl_datum a, b;
        rs_get(&j->bkeys, k, r, &a);
        tl_vec_get(&kv[k], i, &b);
        tl_type_id t = kv[k].type.id == TL_UNKNOWN ? TL_TEXT : kv[k].type.id;
        if (tl_datum_cmp(t, &a, &b) != 0) return false;
    }
    return true;
}

/* One probe batch's matches all go into one output batch: before its pair lists double,
 * the statement's memory budget (53200) and the batch's 32-bit row count are checked. */
static int pairs_too_many(qctx *q, uint64_t np, uint32_t *li, uint64_t *ri, tl_error *err)
{
    int rc = q_check_cancel(q, err);
    if (rc == 0 && np * 2 > UINT32_MAX)
        rc = tl_errorf(err, "54000", "join result of one batch exceeds %u rows", UINT32_MAX);
    if (rc < 0) {
        free(li);
        free(ri);
    }
    return rc;
}

/* Gather rows of a vector by 32-bit positions into a new vector of n values. */
static void vec_take(tl_vec *dst, const tl_vec *src, const uint32_t *pos, uint64_t n, tl_arena *a)
{
    if (!src->d.raw) {
        *dst = *src;
        dst->n = (uint32_t)n;
        return;
    }
    tl_vec_alloc(dst, src->type, (uint32_t)n, a);
    dst->n = (uint32_t)n;
    size_t es = tl_vec_elem_size(src->type.id);
    if (es == 8)
        for (uint64_t p = 0; p < n; p++) memcpy((char *)dst->d.raw + 8 * p, (const char *)src->d.raw + 8 * pos[p], 8);
    else if (es == 16)
        for (uint64_t p = 0; p < n; p++)
            memcpy((char *)dst->d.raw + 16 * p, (const char *)src->d.raw + 16 * pos[p], 16);
    else
        for (uint64_t p = 0; p < n; p++)
            memcpy((char *)dst->d.raw + es * p, (const char *)src->d.raw + es * pos[p], es);
    if (src->nulls)
        for (uint64_t p = 0; p < n; p++) dst->nulls[p] = src->nulls[pos[p]];
    else
        memset(dst->nulls, 0, n);
}

static int hashjoin_next(op *o, qctx *q, batch **out, tl_error *err)
{
    hashjoin_op *j = (hashjoin_op *)o;
    if (!j->built) {
        if (hashjoin_build(j, q, err) < 0) return -1;
        j->built = true;
    }
    int nl = j->left->ncols, nr = j->right->ncols;
    bool outer_l = j->jointype == JOIN_LEFT || j->jointype == JOIN_FULL;
    /* output columns: the left input's, then the right's, whichever side was built */
    op *probe = j->swapped ? j->right : j->left;
    tl_expr **pkeys = j->swapped ? j->rkeys : j->lkeys;
    int poff = j->swapped ? nl : 0, boff = j->swapped ? 0 : nl, npc = j->swapped ? nr : nl, nbc = j->swapped ? nl : nr;
    for (;;) {
        batch *in;
        if (j->left_done) {
            tl_arena_reset(&o->arena);
            return hashjoin_tail(j, o, out);
        }
        if (j->probe && j->probe_pos < j->probe->n) {
            in = j->probe;
        } else if (j->pendpos < j->pend.n) {
            /* its own arena: the batch outlives the slices joined from it */
            tl_arena_reset(&j->pend_arena);
            uint64_t left = j->pend.n - j->pendpos;
            uint32_t n = left > TL_VEC_SIZE ? TL_VEC_SIZE : (uint32_t)left;
            in = rs_gather(&j->pend, NULL, j->pendpos, n, &j->pend_arena);
            j->pendpos += n;
            j->probe = in;
            j->probe_pos = 0;
        } else {
            int rc = probe->next(probe, q, &in, err);
            if (rc < 0) return rc;
            if (rc == 0) {
                j->probe = NULL;
                if (j->jointype != JOIN_FULL) return 0;
                j->left_done = true;
                continue;
            }
            j->probe = in;
            j->probe_pos = 0;
        }
        if (q_check_cancel(q, err) < 0) return -1;
        uint32_t from = j->probe_pos, to = in->n;
        tl_arena_reset(&o->arena);
        tl_vec *kv = tl_arena_zalloc(&o->arena, sizeof *kv * (size_t)(j->nkeys + 1));
        for (int k = 0; k < j->nkeys; k++)
            if (expr_eval(q, pkeys[k], in, &kv[k], &o->arena, err) < 0) return -1;
        /* candidate pairs */
        uint64_t cap = in->n * 2 + 16, np = 0;
        uint32_t *li = tl_xmalloc(sizeof *li * cap);
        uint64_t *ri = tl_xmalloc(sizeof *ri * cap);
        for (uint32_t i = from; i < in->n; i++) {
            if (np >= JOIN_SLICE_PAIRS) {
                to = i;
                break;
            }
            bool anynull = false;
            for (int k = 0; k < j->nkeys; k++) anynull |= tl_vec_isnull(&kv[k], i);
            if (anynull) continue;
            uint64_t h = j->fastkey ? fast_hash(j->fastkey, &kv[0], i) : j->nkeys ? row_hash(kv, j->nkeys, i) : 0;
            if (j->nkeys == 0) {
                for (uint64_t r = 0; r < j->build.n; r++) {
                    if (np == cap) {
                        if (pairs_too_many(q, np, li, ri, err) < 0) return -1;
                        cap *= 2;
                        li = tl_xrealloc(li, sizeof *li * cap);
                        ri = tl_xrealloc(ri, sizeof *ri * cap);
                    }
                    li[np] = i;
                    ri[np++] = r;
                }
                continue;
            }
            uint64_t bit = (h >> 36) & (j->nslots * 4 - 1);
            if (!(j->bits[bit >> 6] & (1ull << (bit & 63)))) continue;
            for (uint32_t e = j->table[h & (j->nslots - 1)]; e; e = j->chain[e - 1]) {
                uint64_t r = e - 1;
                if (j->bhash[r] != h || !keys_match(j, kv, i, r)) continue;
                if (np == cap) {
                    if (pairs_too_many(q, np, li, ri, err) < 0) return -1;
                    cap *= 2;
                    li = tl_xrealloc(li, sizeof *li * cap);
                    ri = tl_xrealloc(ri, sizeof *ri * cap);
                }
                li[np] = i;
                ri[np++] = r;
            }
        }
        j->probe_pos = to;
        if (from > 0 || to < in->n) {
            in = batch_slice(&o->arena, in, from, to);
            for (uint64_t p = 0; p < np; p++) li[p] -= from;
        }
        /* materialise joined pairs, then the residual condition */
        batch *b = batch_new(&o->arena, nl + nr, (uint32_t)np);
        for (int c = 0; c < npc; c++) vec_take(&b->cols[poff + c], &in->cols[c], li, np, &o->arena);
        batch *rb = rs_gather(&j->build, ri, 0, (uint32_t)np, &o->arena);
        for (int c = 0; c < nbc; c++) b->cols[boff + c] = rb->cols[c];
        uint8_t *keep = tl_arena_alloc(&o->arena, np + 1);
        memset(keep, 1, np);
        uint64_t nk = np;
        if (j->residual && np) {
            tl_vec v;
            if (expr_eval(q, j->residual, b, &v, &o->arena, err) < 0) {
                free(li);
                free(ri);
                return -1;
            }
            nk = 0;
            for (uint64_t p = 0; p < np; p++) nk += keep[p] = !(v.nulls && v.nulls[p]) && v.d.b[p];
        }
        if (!outer_l) { /* inner: the kept pairs, in either orientation */
            free(li);
            free(ri);
            if (nk == 0) continue;
            if (nk < np) {
                uint32_t *pos = tl_arena_alloc(&o->arena, sizeof *pos * nk);
                uint64_t w = 0;
                for (uint64_t p = 0; p < np; p++)
                    if (keep[p]) pos[w++] = (uint32_t)p;
                batch *kb = batch_new(&o->arena, nl + nr, (uint32_t)nk);
                for (int c = 0; c < nl + nr; c++) vec_take(&kb->cols[c], &b->cols[c], pos, nk, &o->arena);
                b = kb;
            }
            *out = b;
            return 1;
        }
        uint8_t *matched = tl_arena_zalloc(&o->arena, in->n + 1);
        for (uint64_t p = 0; p < np; p++)
            if (keep[p]) {
                matched[li[p]] = 1;
                if (j->bmatched) j->bmatched[ri[p]] = 1;
            }
        uint64_t nun = 0;
        for (uint32_t i = 0; i < in->n; i++) nun += !matched[i];
        uint64_t total = nk + nun;
        batch *ob = batch_new(&o->arena, nl + nr, (uint32_t)total);
        for (int c = 0; c < nl + nr; c++) {
            const tl_vec *src = c < nl ? NULL : &b->cols[c];
            tl_vec *dst = &ob->cols[c];
            tl_type t = c < nl ? in->cols[c].type : b->cols[c].type;
            bool have = (c < nl ? in->cols[c].d.raw : b->cols[c].d.raw) != NULL; /* sparse build rows */
            if (!have) {
                dst->type = t;
                dst->n = (uint32_t)total;
                continue;
            }
            tl_vec_alloc(dst, t, (uint32_t)total, &o->arena);
            dst->n = (uint32_t)total;
            size_t es = tl_vec_elem_size(t.id);
            uint64_t w = 0;
            for (uint64_t p = 0; p < np; p++) {
                if (!keep[p]) continue;
                const tl_vec *sv = c < nl ? &b->cols[c] : src;
                memcpy((char *)dst->d.raw + es * w, (const char *)sv->d.raw + es * p, es);
                dst->nulls[w] = sv->nulls ? sv->nulls[p] : 0;
                w++;
            }
            for (uint32_t i = 0; i < in->n; i++) {
                if (matched[i]) continue;
                if (c < nl) {
                    memcpy((char *)dst->d.raw + es * w, (const char *)in->cols[c].d.raw + es * i, es);
                    dst->nulls[w] = in->cols[c].nulls ? in->cols[c].nulls[i] : 0;
                } else {
                    memset((char *)dst->d.raw + es * w, 0, es);
                    dst->nulls[w] = 1;
                }
                w++;
            }
        }
        free(li);
        free(ri);
        if (total == 0) continue;
        *out = ob;
        return 1;
    }
}

static void hashjoin_stats(op *o, tl_buf *out)
{
    hashjoin_op *j = (hashjoin_op *)o;
    tl_buf_printf(out, "built on the %s input: %llu rows", j->swapped ? "left" : "right",
                  (unsigned long long)j->build.n);
}

static void hashjoin_close(op *o)
{
    hashjoin_op *j = (hashjoin_op *)o;
    op_free(j->left);
    op_free(j->right);
    rs_free(&j->build);
    rs_free(&j->bkeys);
    rs_free(&j->pend);
    tl_arena_free(&j->pend_arena);
    free(j->bhash);
    free(j->table);
    free(j->bits);
    free(j->chain);
    free(j->bmatched);
}

op *op_hashjoin(qctx *q, op *left, op *right, int nkeys, tl_expr **lkeys, tl_expr **rkeys, int jointype,
                tl_expr *residual)
{
    hashjoin_op *j = tl_xcalloc(1, sizeof *j);
    tl_arena_init(&j->pend_arena);
    int n = left->ncols + right->ncols;
    tl_type *types = tl_arena_alloc(&q->arena, sizeof *types * (size_t)(n + 1));
    memcpy(types, left->types, sizeof *types * (size_t)left->ncols);
    memcpy(types + left->ncols, right->types, sizeof *types * (size_t)right->ncols);
    op_init(&j->base, n, types, q);
    op_label(&j->base,
             tl_arena_printf(&q->arena, "Hash %sJoin (%d keys%s)",
                             jointype == JOIN_LEFT ? "Left " : jointype == JOIN_FULL ? "Full " : "", nkeys,
                             residual ? ", residual condition" : ""),
             left, right);
    j->base.next = hashjoin_next;
    j->base.close = hashjoin_close;
    j->base.stats = hashjoin_stats;
    j->left = left;
    j->right = right;
    j->nkeys = nkeys;
    j->lkeys = tl_arena_alloc(&q->arena, sizeof *lkeys * (size_t)(nkeys + 1));
    j->rkeys = tl_arena_alloc(&q->arena, sizeof *rkeys * (size_t)(nkeys + 1));
    memcpy(j->lkeys, lkeys, sizeof *lkeys * (size_t)nkeys);
    memcpy(j->rkeys, rkeys, sizeof *rkeys * (size_t)nkeys);
    j->jointype = jointype;
    j->residual = residual;
    if (left->stable || right->stable) {
        j->base.stable = tl_arena_zalloc(&q->arena, (size_t)n);
        if (left->stable) memcpy(j->base.stable, left->stable, (size_t)left->ncols);
        if (right->stable) memcpy(j->base.stable + left->ncols, right->stable, (size_t)right->ncols);
    }
    if (nkeys == 1 && lkeys[0]->type.id == rkeys[0]->type.id && lkeys[0]->type.id != TL_UNKNOWN)
        j->fastkey = fast_key_kind(lkeys[0]->type);
    rs_init(&j->build, right->ncols, right->types);
    tl_type *kt = tl_arena_alloc(&q->arena, sizeof *kt * (size_t)(nkeys + 1));
    for (int k = 0; k < nkeys; k++) kt[k] = rkeys[k]->type;
    rs_init(&j->bkeys, nkeys, kt);
    rs_init(&j->pend, 0, NULL);
    return &j->base;
}
