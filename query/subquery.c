/*
 * subquery.c — correlated subqueries (scalar, EXISTS, = ANY / IN, <> ALL). The binder
 * (select.c) records which columns of enclosing queries a subquery reads; here the
 * subquery is bound, planned and run once per distinct tuple of those outer values,
 * with each outer column bound as a constant. Results are cached by the tuple for the
 * statement, so a subquery keyed by a dimension runs once per dimension row rather
 * than once per fact row. Re-planning costs more than a rescan would, but the plans
 * of psql's and Metabase's catalog queries are small and the operators have no rescan.
 * Each run plans in a scratch arena freed afterwards: memory grows with the number of
 * distinct outer tuples (the cache), not with the number of runs.
 */
#include "query_int.h"

#include <string.h>
#include <xxhash.h>

typedef struct sq_entry {
    uint64_t h;
    char *key;
    uint32_t klen;
    bool used;
    tl_datum val;    /* EXISTS: v.b; EXPR: the value */
    tl_datum *list;  /* ANY/ALL: the subquery's values, cast to ctype */
    uint64_t nlist;
    uint32_t *hidx;  /* ANY/ALL over many values: open-addressing set of list index + 1 */
    uint64_t hmask;
    bool hasnull;    /* the list holds a NULL (IN's NULL rules) */
} sq_entry;

/* x IN (subquery) / x NOT IN (subquery) probes a set, not the whole list per row (a
 * 1M-row NOT IN over 2,000 values took 44 s). */
static void entry_hash(sq_entry *ent, tl_type_id t, tl_arena *a)
{
    uint64_t cap = 16;
    while (cap < ent->nlist * 2) cap <<= 1;
    ent->hidx = tl_arena_zalloc(a, sizeof *ent->hidx * cap);
    ent->hmask = cap - 1;
    for (uint64_t k = 0; k < ent->nlist; k++) {
        if (ent->list[k].isnull) {
            ent->hasnull = true;
            continue;
        }
        uint64_t j = tl_datum_hash(t, &ent->list[k]) & ent->hmask;
        while (ent->hidx[j]) j = (j + 1) & ent->hmask;
        ent->hidx[j] = (uint32_t)(k + 1);
    }
}

static bool entry_find(const sq_entry *ent, tl_type_id t, const tl_datum *x)
{
    uint64_t j = tl_datum_hash(t, x) & ent->hmask;
    for (; ent->hidx[j]; j = (j + 1) & ent->hmask)
        if (tl_datum_cmp(t, x, &ent->list[ent->hidx[j] - 1]) == 0) return true;
    return false;
}

struct subq {
    pnode *sel;
    int kind;
    int nrefs;
    const PgQuery__ColumnRef **crs;
    tl_type *types;
    tl_type rtype, ctype; /* the subquery's column; ANY/ALL's comparison type */
    struct cte_def *ctes; /* WITH items visible where the subquery was written */
    sq_entry *tab;
    uint64_t cap, used;
};

subq *subq_new(qctx *q, pnode *sel, int kind, const outer_frame *f, tl_type rtype, tl_type cmp_type)
{
    subq *s = tl_arena_zalloc(&q->arena, sizeof *s);
    s->sel = sel;
    s->kind = kind;
    s->nrefs = f->nrefs;
    s->crs = tl_arena_alloc(&q->arena, sizeof *s->crs * (size_t)(f->nrefs + 1));
    s->types = tl_arena_alloc(&q->arena, sizeof *s->types * (size_t)(f->nrefs + 1));
    for (int i = 0; i < f->nrefs; i++) {
        s->crs[i] = f->refs[i].cr;
        s->types[i] = f->refs[i].type;
    }
    s->rtype = rtype;
    s->ctype = cmp_type;
    s->ctes = q->ctes;
    return s;
}

static bool is_strlike(tl_type_id id)
{
    return tl_type_is_string(id) || id == TL_ARRAY || id == TL_UNKNOWN ||
           (tl_vec_elem_size(id) == sizeof(tl_str) && id != TL_UUID && id != TL_INTERVAL);
}

/* The outer tuple as bytes: equal values give equal keys (numerics of different scale
 * may not, which costs only a cache miss). */
static void key_put(tl_buf *b, tl_type t, const tl_datum *d)
{
    uint8_t isnull = d->isnull;
    tl_buf_append(b, (const char *)&isnull, 1);
    if (d->isnull) return;
    if (is_strlike(t.id)) {
        tl_buf_append(b, (const char *)&d->v.s.len, sizeof d->v.s.len);
        tl_buf_append(b, d->v.s.ptr, d->v.s.len);
    } else if (t.id == TL_NUMERIC) {
        tl_buf_append(b, (const char *)&d->v.n.mant, sizeof d->v.n.mant);
        tl_buf_append(b, (const char *)&d->v.n.scale, sizeof d->v.n.scale);
        tl_buf_append(b, (const char *)&d->v.n.nan, sizeof d->v.n.nan);
    } else if (t.id == TL_INTERVAL) {
        tl_buf_append(b, (const char *)&d->v.iv.us, sizeof d->v.iv.us);
        tl_buf_append(b, (const char *)&d->v.iv.days, sizeof d->v.iv.days);
        tl_buf_append(b, (const char *)&d->v.iv.months, sizeof d->v.iv.months);
    } else if (t.id == TL_UUID) {
        tl_buf_append(b, (const char *)d->v.u.b, 16);
    } else if (t.id == TL_BOOL) {
        uint8_t v = d->v.b;
        tl_buf_append(b, (const char *)&v, 1);
    } else {
        tl_buf_append(b, (const char *)&d->v.i, sizeof d->v.i);
    }
}

static void keep_datum(tl_arena *a, tl_type t, tl_datum *d)
{
    if (!d->isnull && is_strlike(t.id) && d->v.s.len) d->v.s.ptr = tl_arena_strndup(a, d->v.s.ptr, d->v.s.len);
}

int subq_drain(qctx *q, op *root, tl_type t, uint64_t max, bool want, tl_arena *keep, tl_datum **out, uint64_t *n,
               tl_error *err)
{
    uint64_t cap = 16, cnt = 0;
    tl_datum *v = want ? tl_arena_alloc(keep, sizeof *v * cap) : NULL;
    int rc;
    for (;;) {
        batch *b;
        rc = root->next(root, q, &b, err);
        if (rc <= 0) break;
        for (uint32_t i = 0; i < b->n && cnt < max; i++) {
            if (want) {
                if (cnt == cap) {
                    cap *= 2;
                    tl_datum *m = tl_arena_alloc(keep, sizeof *m * cap);
                    memcpy(m, v, sizeof *m * cnt);
                    v = m;
                }
                tl_vec_get(&b->cols[0], i, &v[cnt]);
                keep_datum(keep, t, &v[cnt]);
            }
            cnt++;
        }
        if (cnt >= max) break;
    }
    op_free(root);
    if (rc < 0) return -1;
    if (out) *out = v;
    *n = cnt;
    return 0;
}

tl_type subq_array_type(tl_type elem)
{
    uint32_t oid = tl_array_oid_of(tl_type_oid(elem));
    return tl_array_type(oid ? oid : TL_OID_TEXTARRAY);
}

void subq_array_value(qctx *q, tl_type elem, const tl_datum *v, uint64_t n, tl_datum *out, tl_arena *keep)
{
    tl_array_elems el = {.n = (int)n};
    el.v = tl_arena_alloc(keep, sizeof *el.v * (n + 1));
    el.isnull = tl_arena_alloc(keep, sizeof *el.isnull * (n + 1));
    tl_buf b;
    tl_buf_init(&b);
    for (uint64_t i = 0; i < n; i++) {
        el.isnull[i] = v[i].isnull;
        el.v[i] = (tl_str){0};
        if (v[i].isnull) continue;
        tl_buf_clear(&b);
        q_format_value(q, elem, &v[i], &b);
        el.v[i].ptr = tl_arena_strndup(keep, b.data, b.len);
        el.v[i].len = (uint32_t)b.len;
    }
    tl_buf_clear(&b);
    tl_array_format(subq_array_type(elem).oid, &el, &b);
    out->isnull = false;
    out->v.s.ptr = tl_arena_strndup(keep, b.data, b.len);
    out->v.s.len = (uint32_t)b.len;
    tl_buf_free(&b);
}

/* Bind, plan and run the subquery with the outer values vals; results into e's entry. */
static int run_once(qctx *q, subq *s, const tl_datum *vals, sq_entry *ent, tl_error *err)
{
    outer_ref *refs = tl_arena_alloc(&q->arena, sizeof *refs * (size_t)s->nrefs);
    for (int i = 0; i < s->nrefs; i++) {
        refs[i].cr = s->crs[i];
        refs[i].type = s->types[i];
        refs[i].expr = NULL;
    }
    outer_frame f = {.up = q->outer, .bc = NULL, .refs = refs, .nrefs = s->nrefs, .vals = vals};
    /* Swap in a scratch arena: everything the run allocates dies with it, except the
     * results, which go to the statement's arena (saved). */
    tl_arena saved = q->arena;
    op **pend = q->pending;
    int npend = q->npending, cappend = q->cappending;
    struct cte_def *ctes = q->ctes;
    bool keep_unknown = q->keep_unknown;
    tl_arena_init(&q->arena);
    q->pending = NULL;
    q->npending = q->cappending = 0;
    q->ctes = s->ctes;
    q->keep_unknown = false;
    q->outer = &f;
    qresult r;
    /* the frame stays while the plan runs: a correlated subquery nested in this one
     * is bound during the run and may read these values too */
    int rc = plan_select(q, s->sel->select_stmt, &r, err);
    if (rc == 0) {
        uint64_t n = 0;
        tl_datum *v = NULL;
        switch (s->kind) {
        case SQ_EXISTS:
            rc = subq_drain(q, r.root, r.types[0], 1, false, &saved, NULL, &n, err);
            ent->val.isnull = false;
            ent->val.v.b = n > 0;
            break;
        case SQ_EXPR:
            rc = subq_drain(q, r.root, r.types[0], 2, true, &saved, &v, &n, err);
            if (rc == 0 && n > 1)
                rc = tl_errorf(err, "21000", "more than one row returned by a subquery used as an expression");
            if (rc == 0) {
                ent->val.isnull = true;
                if (n == 1 && cast_datum(q, &v[0], r.types[0], s->rtype, &ent->val, &saved, err) < 0) rc = -1;
                if (rc == 0) keep_datum(&saved, s->rtype, &ent->val);
            }
            break;
        case SQ_ARRAY:
            rc = subq_drain(q, r.root, r.types[0], UINT64_MAX, true, &saved, &v, &n, err);
            if (rc == 0) subq_array_value(q, r.types[0], v, n, &ent->val, &saved);
            break;
        default:
            rc = subq_drain(q, r.root, r.types[0], UINT64_MAX, true, &saved, &v, &n, err);
            for (uint64_t i = 0; rc == 0 && i < n; i++) {
                tl_datum c;
                if (v[i].isnull) continue;
                if (cast_datum(q, &v[i], r.types[0], s->ctype, &c, &saved, err) < 0) {
                    rc = -1;
                    break;
                }
                keep_datum(&saved, s->ctype, &c);
                v[i] = c;
            }
            ent->list = v;
            ent->nlist = n;
            if (rc == 0 && n > 8 && n < UINT32_MAX && hash_exact_type(s->ctype.id)) entry_hash(ent, s->ctype.id, &saved);
            break;
        }
    }
    q->outer = f.up;
    for (int i = 0; i < q->npending; i++)
        if (q->pending[i]) op_free(q->pending[i]);
    tl_arena_free(&q->arena);
    q->arena = saved;
    q->pending = pend;
    q->npending = npend;
    q->cappending = cappend;
    q->ctes = ctes;
    q->keep_unknown = keep_unknown;
    return rc;
}

static sq_entry *lookup(qctx *q, subq *s, const char *key, uint32_t klen, bool *fresh)
{
    if (s->used * 2 >= s->cap) {
        uint64_t ncap = s->cap ? s->cap * 2 : 64;
        sq_entry *nt = tl_arena_zalloc(&q->arena, sizeof *nt * ncap);
        for (uint64_t i = 0; i < s->cap; i++) {
            if (!s->tab[i].used) continue;
            uint64_t j = s->tab[i].h & (ncap - 1);
            while (nt[j].used) j = (j + 1) & (ncap - 1);
            nt[j] = s->tab[i];
        }
        s->tab = nt;
        s->cap = ncap;
    }
    uint64_t h = XXH3_64bits(key, klen);
    uint64_t j = h & (s->cap - 1);
    while (s->tab[j].used) {
        sq_entry *e = &s->tab[j];
        if (e->h == h && e->klen == klen && memcmp(e->key, key, klen) == 0) {
            *fresh = false;
            return e;
        }
        j = (j + 1) & (s->cap - 1);
    }
    sq_entry *e = &s->tab[j];
    memset(e, 0, sizeof *e);
    e->used = true;
    e->h = h;
    e->klen = klen;
    e->key = tl_arena_alloc(&q->arena, klen ? klen : 1);
    memcpy(e->key, key, klen);
    s->used++;
    *fresh = true;
    return e;
}

int subq_eval(qctx *q, const tl_expr *e, const batch *in, tl_vec *out, tl_arena *a, tl_error *err)
{
    subq *s = e->subq;
    uint32_t n = in->n;
    tl_vec *args = tl_arena_alloc(a, sizeof *args * (size_t)(e->nargs ? e->nargs : 1));
    for (int i = 0; i < e->nargs; i++)
        if (expr_eval(q, e->args[i], in, &args[i], a, err) < 0) return -1;
    tl_vec_alloc(out, e->type, n, a);
    out->n = n;
    tl_datum *vals = tl_arena_alloc(a, sizeof *vals * (size_t)(s->nrefs ? s->nrefs : 1));
    tl_buf key;
    tl_buf_init(&key);
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        tl_buf_clear(&key);
        for (int k = 0; k < s->nrefs; k++) {
            tl_vec_get(&args[k], i, &vals[k]);
            key_put(&key, s->types[k], &vals[k]);
        }
        bool fresh;
        sq_entry *ent = lookup(q, s, key.data, (uint32_t)key.len, &fresh);
        if (fresh) {
            if ((rc = q_check_cancel(q, err)) < 0) break;
            /* an error leaves the entry without a result: the statement fails anyway */
            if ((rc = run_once(q, s, vals, ent, err)) < 0) break;
        }
        out->nulls[i] = 0;
        if (s->kind == SQ_EXISTS || s->kind == SQ_EXPR || s->kind == SQ_ARRAY) {
            if (ent->val.isnull) out->nulls[i] = 1;
            else tl_vec_set(out, i, &ent->val);
            continue;
        }
        /* x = ANY (sub) / x <> ALL (sub), with IN's NULL rules */
        bool any = s->kind == SQ_ANY;
        if (ent->nlist == 0) {
            out->d.b[i] = !any;
            continue;
        }
        const tl_vec *lv = &args[s->nrefs];
        if (tl_vec_isnull(lv, i)) {
            out->nulls[i] = 1;
            continue;
        }
        tl_datum l;
        tl_vec_get(lv, i, &l);
        bool found = false, sawnull = false;
        if (ent->hidx) {
            found = entry_find(ent, s->ctype.id, &l);
            sawnull = ent->hasnull;
        } else {
            for (uint64_t k = 0; k < ent->nlist && !found; k++) {
                if (ent->list[k].isnull) sawnull = true;
                else found = tl_datum_cmp(s->ctype.id, &l, &ent->list[k]) == 0;
            }
        }
        if (found) out->d.b[i] = any;
        else if (sawnull) out->nulls[i] = 1;
        else out->d.b[i] = !any;
    }
    tl_buf_free(&key);
    return rc;
}
