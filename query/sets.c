/*
 * sets.c — UNION ALL (append) and INTERSECT / EXCEPT [ALL]. UNION without ALL is append
 * followed by the hash aggregate's DISTINCT. INTERSECT and EXCEPT count each distinct
 * row on both sides (NULLs equal, as PostgreSQL's set operations compare rows) and emit
 * a left row min(l, r) or l - r times (ALL), or once when it qualifies.
 */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct append_op {
    op base;
    op *l, *r;
    bool left_done;
} append_op;

static int append_next(op *o, qctx *q, batch **out, tl_error *err)
{
    append_op *a = (append_op *)o;
    if (!a->left_done) {
        int rc = a->l->next(a->l, q, out, err);
        if (rc != 0) return rc;
        a->left_done = true;
    }
    return a->r->next(a->r, q, out, err);
}

static void append_close(op *o)
{
    append_op *a = (append_op *)o;
    op_free(a->l);
    op_free(a->r);
}

op *op_append(qctx *q, op *l, op *r)
{
    append_op *a = tl_xcalloc(1, sizeof *a);
    op_init(&a->base, l->ncols, l->types, q);
    op_label(&a->base, "Append", l, r);
    a->base.next = append_next;
    a->base.close = append_close;
    a->l = l;
    a->r = r;
    return &a->base;
}

typedef struct setop_op {
    op base;
    op *l, *r;
    bool intersect, all, built;
    rowstore rows;          /* distinct rows, left ones first */
    int64_t *cl, *cr;       /* per distinct row: occurrences on each side */
    uint64_t *hashes;
    uint64_t *table, nslots;
    uint64_t nleft;         /* distinct rows first seen on the left */
    uint64_t emit_row;      /* next distinct row to emit */
    int64_t emit_left;      /* copies of it still to emit */
} setop_op;

static uint64_t vec_row_hash(const batch *b, uint32_t i)
{
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int c = 0; c < b->ncols; c++) {
        uint64_t x = 0x51ED270B27F1A3ull;
        if (!tl_vec_isnull(&b->cols[c], i)) {
            tl_datum d;
            tl_vec_get(&b->cols[c], i, &d);
            x = tl_datum_hash(b->cols[c].type.id == TL_UNKNOWN ? TL_TEXT : b->cols[c].type.id, &d);
        }
        h = (h ^ x) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    return h;
}

static bool row_equal(const setop_op *s, uint64_t g, const batch *b, uint32_t i)
{
    for (int c = 0; c < b->ncols; c++) {
        tl_datum x, y;
        rs_get(&s->rows, c, g, &x);
        bool yn = tl_vec_isnull(&b->cols[c], i);
        if (x.isnull || yn) {
            if (x.isnull != yn) return false;
            continue;
        }
        tl_vec_get(&b->cols[c], i, &y);
        tl_type_id t = s->rows.types[c].id == TL_UNKNOWN ? TL_TEXT : s->rows.types[c].id;
        if (tl_datum_cmp(t, &x, &y) != 0) return false;
    }
    return true;
}

static void setop_grow(setop_op *s)
{
    uint64_t ns = s->nslots ? s->nslots * 2 : 1024;
    uint64_t *t = tl_xcalloc(ns, sizeof *t);
    for (uint64_t k = 0; k < s->nslots; k++) {
        if (!s->table[k]) continue;
        uint64_t g = s->table[k] - 1, j = s->hashes[g] & (ns - 1);
        while (t[j]) j = (j + 1) & (ns - 1);
        t[j] = g + 1;
    }
    free(s->table);
    s->table = t;
    s->nslots = ns;
}

/* Count the rows of one side; the right side adds no new distinct rows that matter,
 * but counting them all keeps the code single-path. */
static int setop_consume(setop_op *s, qctx *q, op *side, bool left, tl_error *err)
{
    for (;;) {
        batch *b;
        int rc = side->next(side, q, &b, err);
        if (rc <= 0) return rc;
        if (q_check_cancel(q, err) < 0) return -1;
        for (uint32_t i = 0; i < b->n; i++) {
            uint64_t h = vec_row_hash(b, i);
            if ((s->rows.n + 1) * 10 > s->nslots * 7) setop_grow(s);
            uint64_t j = h & (s->nslots - 1), g;
            for (;;) {
                if (!s->table[j]) {
                    if (!left) {
                        g = UINT64_MAX; /* right-only rows are never emitted */
                        break;
                    }
                    g = s->rows.n;
                    rs_reserve(&s->rows, g + 1);
                    for (int c = 0; c < b->ncols; c++) rs_put(&s->rows, g, c, &b->cols[c], i);
                    s->rows.n = g + 1;
                    s->cl = tl_xrealloc(s->cl, sizeof *s->cl * s->rows.cap);
                    s->cr = tl_xrealloc(s->cr, sizeof *s->cr * s->rows.cap);
                    s->hashes = tl_xrealloc(s->hashes, sizeof *s->hashes * s->rows.cap);
                    s->cl[g] = s->cr[g] = 0;
                    s->hashes[g] = h;
                    s->table[j] = g + 1;
                    break;
                }
                uint64_t c = s->table[j] - 1;
                if (s->hashes[c] == h && row_equal(s, c, b, i)) {
                    g = c;
                    break;
                }
                j = (j + 1) & (s->nslots - 1);
            }
            if (g == UINT64_MAX) continue;
            if (left) s->cl[g]++;
            else s->cr[g]++;
        }
    }
}

static int setop_next(op *o, qctx *q, batch **out, tl_error *err)
{
    setop_op *s = (setop_op *)o;
    if (!s->built) {
        if (setop_consume(s, q, s->l, true, err) < 0 || setop_consume(s, q, s->r, false, err) < 0) return -1;
        s->built = true;
        s->emit_left = -1;
    }
    tl_arena_reset(&o->arena);
    uint64_t *idx = tl_arena_alloc(&o->arena, sizeof *idx * TL_VEC_SIZE);
    uint32_t n = 0;
    while (n < TL_VEC_SIZE && s->emit_row < s->rows.n) {
        uint64_t g = s->emit_row;
        if (s->emit_left < 0) {
            int64_t l = s->cl[g], r = s->cr[g];
            if (s->intersect) s->emit_left = s->all ? (l < r ? l : r) : (r > 0);
            else s->emit_left = s->all ? (l > r ? l - r : 0) : (r == 0);
        }
        if (s->emit_left == 0) {
            s->emit_row++;
            s->emit_left = -1;
            continue;
        }
        idx[n++] = g;
        s->emit_left--;
    }
    if (n == 0) return 0;
    *out = rs_gather(&s->rows, idx, 0, n, &o->arena);
    return 1;
}

static void setop_close(op *o)
{
    setop_op *s = (setop_op *)o;
    op_free(s->l);
    op_free(s->r);
    rs_free(&s->rows);
    free(s->cl);
    free(s->cr);
    free(s->hashes);
    free(s->table);
}

op *op_setop(qctx *q, op *l, op *r, bool intersect, bool all)
{
    setop_op *s = tl_xcalloc(1, sizeof *s);
    op_init(&s->base, l->ncols, l->types, q);
    op_label(&s->base, intersect ? "HashSetOp Intersect" : "HashSetOp Except", l, r);
    s->base.next = setop_next;
    s->base.close = setop_close;
    s->l = l;
    s->r = r;
    s->intersect = intersect;
    s->all = all;
    rs_init(&s->rows, l->ncols, l->types);
    return &s->base;
}

/* DISTINCT ON: the first row of each run of equal key columns (input sorted by them). */
typedef struct unique_op {
    op base;
    op *child;
    int nkeys;
    sort_key *keys;
    rowstore last; /* the previous kept row's keys */
    bool have;
} unique_op;

static bool same_keys(unique_op *u, const batch *b, uint32_t i)
{
    for (int k = 0; k < u->nkeys; k++) {
        tl_datum x, y;
        rs_get(&u->last, k, 0, &x);
        const tl_vec *v = &b->cols[u->keys[k].col];
        bool yn = tl_vec_isnull(v, i);
        if (x.isnull || yn) {
            if (x.isnull != yn) return false;
            continue;
        }
        tl_vec_get(v, i, &y);
        tl_type_id t = v->type.id == TL_UNKNOWN ? TL_TEXT : v->type.id;
        if (tl_datum_cmp(t, &x, &y) != 0) return false;
    }
    return true;
}

static int unique_next(op *o, qctx *q, batch **out, tl_error *err)
{
    unique_op *u = (unique_op *)o;
    for (;;) {
        batch *in;
        int rc = u->child->next(u->child, q, &in, err);
        if (rc <= 0) return rc;
        tl_arena_reset(&o->arena);
        uint64_t *keep = tl_arena_alloc(&o->arena, sizeof *keep * (in->n ? in->n : 1));
        uint32_t nk = 0;
        rowstore rows;
        rs_init(&rows, in->ncols, o->types);
        for (uint32_t i = 0; i < in->n; i++) {
            if (u->have && same_keys(u, in, i)) continue;
            /* a new group: remember its keys */
            tl_arena_free(&u->last.strings);
            tl_arena_init(&u->last.strings);
            for (int k = 0; k < u->nkeys; k++) rs_put(&u->last, 0, k, &in->cols[u->keys[k].col], i);
            u->last.n = 1;
            u->have = true;
            keep[nk++] = i;
        }
        if (nk == 0) {
            rs_free(&rows);
            continue;
        }
        rs_reserve(&rows, nk);
        for (int c = 0; c < in->ncols; c++)
            for (uint32_t i = 0; i < nk; i++) rs_put(&rows, i, c, &in->cols[c], (uint32_t)keep[i]);
        rows.n = nk;
        /* the batch must outlive this call's row store: copy into the op's arena */
        batch *b = rs_gather(&rows, NULL, 0, nk, &o->arena);
        for (int c = 0; c < in->ncols; c++) {
            if (!tl_type_is_string(o->types[c].id) && o->types[c].id != TL_UNKNOWN) continue;
            for (uint32_t i = 0; i < nk; i++)
                if (!b->cols[c].nulls[i])
                    b->cols[c].d.s[i].ptr = tl_arena_strndup(&o->arena, b->cols[c].d.s[i].ptr, b->cols[c].d.s[i].len);
        }
        rs_free(&rows);
        *out = b;
        return 1;
    }
}

static void unique_close(op *o)
{
    unique_op *u = (unique_op *)o;
    op_free(u->child);
    rs_free(&u->last);
}

op *op_unique(qctx *q, op *child, int nkeys, const sort_key *keys)
{
    unique_op *u = tl_xcalloc(1, sizeof *u);
    op_init(&u->base, child->ncols, child->types, q);
    op_label(&u->base, "Unique", child, NULL);
    u->base.next = unique_next;
    u->base.close = unique_close;
    u->child = child;
    u->nkeys = nkeys;
    u->keys = tl_arena_alloc(&q->arena, sizeof *keys * (size_t)(nkeys + 1));
    memcpy(u->keys, keys, sizeof *keys * (size_t)nkeys);
    tl_type *kt = tl_arena_alloc(&q->arena, sizeof *kt * (size_t)(nkeys + 1));
    for (int k = 0; k < nkeys; k++) kt[k] = child->types[keys[k].col];
    rs_init(&u->last, nkeys, kt);
    rs_reserve(&u->last, 1);
    return &u->base;
}
