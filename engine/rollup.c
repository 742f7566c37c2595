/*
 * rollup.c — per-group aggregate states of incremental materialized views (see
 * tl_rollup.h for the split with the query layer). Every state is kept so that a
 * delete is the exact inverse of an append: integer and numeric sums (and sums of
 * squares, for stddev/variance) are 128-bit mantissas, numeric display scales are
 * counted per scale so a sum's scale shrinks back when its widest input leaves,
 * min/max/percentiles/count(distinct)/now()-relative counts use an ordered multiset
 * (distinct value -> count, sorted). Float sums are double-double (compensated), so
 * results match a naive sum to the last bit in all but contrived inputs.
 */
#include "engine_int.h"
#include "oset.h"
#include "tl_rollup.h"

#include <xxhash.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NSCALES 33 /* numeric display scales 0..TL_NUMERIC_MAX_SCALE */

/* ---- ordered multiset ------------------------------------------------------------------ */

typedef struct mset {
    tl_datum *v;
    int64_t *c;
    uint32_t n, cap;
    int64_t total;
} mset;

static uint32_t mset_lower(const mset *m, tl_type_id t, const tl_datum *d, bool *found)
{
    uint32_t lo = 0, hi = m->n;
    /* Appends of increasing values (timestamps) land at the end: check it first. */
    if (hi && tl_datum_cmp(t, &m->v[hi - 1], d) < 0) {
        *found = false;
        return hi;
    }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (tl_datum_cmp(t, &m->v[mid], d) < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < m->n && tl_datum_cmp(t, &m->v[lo], d) == 0;
    return lo;
}

static void mset_add(mset *m, tl_type_id t, const tl_datum *d, int sign)
{
    bool found;
    uint32_t i = mset_lower(m, t, d, &found);
    m->total += sign;
    if (found) {
        m->c[i] += sign;
        if (m->c[i] == 0) {
            memmove(&m->v[i], &m->v[i + 1], sizeof *m->v * (m->n - i - 1));
            memmove(&m->c[i], &m->c[i + 1], sizeof *m->c * (m->n - i - 1));
            m->n--;
            if (m->n == 0) {
                free(m->v);
                free(m->c);
                m->v = NULL;
                m->c = NULL;
                m->cap = 0;
            }
        }
        return;
    }
    if (sign < 0) tl_panic("rollup: deleting a value the view never saw");
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 4;
        m->v = tl_xrealloc(m->v, sizeof *m->v * m->cap);
        m->c = tl_xrealloc(m->c, sizeof *m->c * m->cap);
    }
    memmove(&m->v[i + 1], &m->v[i], sizeof *m->v * (m->n - i));
    memmove(&m->c[i + 1], &m->c[i], sizeof *m->c * (m->n - i));
    m->v[i] = *d;
    m->c[i] = 1;
    m->n++;
}

/* The value at 0-based position k of the multiset in order. */
static const tl_datum *mset_at(const mset *m, int64_t k)
{
    for (uint32_t i = 0; i < m->n; i++) {
        if (k < m->c[i]) return &m->v[i];
        k -= m->c[i];
    }
    return &m->v[m->n - 1];
}

/* ---- states ---------------------------------------------------------------------------- */

/* One aggregate's state in one group. An aggregate uses one member of the union (its
 * kind and argument type say which): 64 bytes a state, allocated for every group. */
typedef struct ragg_state {
    int64_t n; /* inputs counted (non-NULL, passing FILTER) */
    union {
        struct {
            tl_i128 s1, s2; /* integer or numeric mantissa sums of x and x*x */
            uint32_t *scnt; /* numeric: inputs per display scale, once scales differ */
            int16_t sc1;    /* numeric: scale of s1 (the widest ever seen; s2 is 2*sc1) */
            int16_t sc_only; /* numeric, while scnt is NULL: the one scale of every input */
        };
        struct {
            double fhi, flo, f2hi, f2lo; /* float sums, double-double */
        };
        int64_t ntrue; /* bool_and / bool_or */
        mset *ms;      /* SET_GENERIC */
        oset os;       /* SET_I64 / SET_F64 / SET_CODE, unless shared with another aggregate;
                        * in the state, not behind a pointer: one cache miss less a row */
    };
} ragg_state;
_Static_assert(sizeof(ragg_state) == 64, "a state is one cache line");

/* How an aggregate that needs its values keeps them. */
enum { SET_NONE, SET_I64, SET_F64, SET_CODE, SET_GENERIC };

#define GPAGE 4096

typedef struct group {
    int64_t nrows;
    uint64_t hash;
    uint64_t hash0;     /* of the first key alone */
    uint64_t hashL;     /* of the first and the last key (views of two keys or more) */
    uint32_t next0;     /* 1 + the previous group with the same first key, or 0 */
    uint32_t nextL;     /* 1 + the previous group with the same first and last keys, or 0 */
    tl_datum *keys;
    ragg_state *st;
} group;

struct tl_rollup {
    tl_engine *e;
    uint32_t source_oid;
    int nkeys, naggs, ncols;
    tl_type *key_types;
    tl_rollup_agg *aggs;
    int *setmode;           /* per aggregate, SET_* */
    int *owner;             /* per aggregate: whose value set it reads (itself unless shared) */
    int *colsrc;
    tl_rollup_derive_fn derive;
    void *arg;
    bool populated;
    tl_dict *dict;          /* strings of keys and multiset values */
    group **gpages;         /* groups in pages of GPAGE: growing never copies them */
    uint64_t ngroups, npages, nlive;
    uint32_t *slots;        /* group index + 1 */
    uint64_t nslots;
    /* While the group table grows, the previous table (intact) and how far its slots have
     * been copied: each lookup moves a few, so no append pays for a whole rehash. */
    uint32_t *old;
    uint64_t nold, migrated;
    /* first key -> its newest group (index + 1), chained by group.next0: a filter on the
     * first key (org_id) visits that key's groups only */
    uint32_t *slots0;
    uint64_t nslots0, nfirst;
    /* (first key, last key) -> its newest group, chained by group.nextL: a filter on both
     * (org_id and month of the leaderboard) visits that org's groups of that month only;
     * the first key's chain holds all of the org's months */
    uint32_t *slotsL;
    uint64_t nslotsL, npairs;
    size_t bytes;
};

static bool uses_mset(tl_ragg_kind k)
{
    return k == TL_RAGG_MIN || k == TL_RAGG_MAX || k == TL_RAGG_COUNT_DISTINCT || k == TL_RAGG_PCT_CONT ||
           k == TL_RAGG_PCT_DISC || k == TL_RAGG_COUNT_SINCE;
}

/* int64-valued types whose order is the order of the int64 (tl_datum_cmp agrees). */
static bool i64_ordered(tl_type_id t)
{
    return t == TL_INT2 || t == TL_INT4 || t == TL_INT8 || t == TL_DATE || t == TL_TIMESTAMP || t == TL_TIMESTAMPTZ;
}

static int set_mode(const tl_rollup_agg *ag)
{
    if (!uses_mset(ag->kind)) return SET_NONE;
    tl_type_id t = ag->arg_type.id;
    if (i64_ordered(t)) return SET_I64;
    if (ag->kind == TL_RAGG_COUNT_DISTINCT) /* equality only: -0 = 0 keeps floats generic */
        return t == TL_TEXT || t == TL_VARCHAR || t == TL_NAME || t == TL_UUID ? SET_CODE : SET_GENERIC;
    if (t == TL_FLOAT8) return SET_F64;
    return SET_GENERIC;
}

#define GRP(ru, i) (&(ru)->gpages[(i) / GPAGE][(i) % GPAGE])

/* 10^0 .. 10^38 (the largest power an int128 holds), filled when the first view is
 * created: under the exclusive catalog lock, before any reader or writer uses it. */
static tl_i128 pow10_tab[39];

tl_rollup *tl_rollup_create(tl_engine *e, tl_rel *source, const tl_rollup_def *def)
{
    for (int i = 0; i < 39; i++) pow10_tab[i] = i ? pow10_tab[i - 1] * 10 : 1;
    tl_rollup *ru = tl_xcalloc(1, sizeof *ru);
    ru->e = e;
    ru->source_oid = source->oid;
    ru->nkeys = def->nkeys;
    ru->naggs = def->naggs;
    ru->ncols = def->ncols;
    ru->key_types = tl_xmalloc(sizeof *ru->key_types * (size_t)(def->nkeys + 1));
    memcpy(ru->key_types, def->key_types, sizeof *ru->key_types * (size_t)def->nkeys);
    ru->aggs = tl_xmalloc(sizeof *ru->aggs * (size_t)(def->naggs + 1));
    memcpy(ru->aggs, def->aggs, sizeof *ru->aggs * (size_t)def->naggs);
    ru->colsrc = tl_xmalloc(sizeof *ru->colsrc * (size_t)(def->ncols + 1));
    memcpy(ru->colsrc, def->colsrc, sizeof *ru->colsrc * (size_t)def->ncols);
    ru->derive = def->derive;
    ru->arg = def->arg;
    ru->setmode = tl_xcalloc((size_t)def->naggs + 1, sizeof *ru->setmode);
    ru->owner = tl_xcalloc((size_t)def->naggs + 1, sizeof *ru->owner);
    for (int a = 0; a < def->naggs; a++) {
        ru->setmode[a] = set_mode(&def->aggs[a]);
        ru->owner[a] = a;
        int o = def->aggs[a].share_with - 1;
        if (o >= 0 && o < a && ru->setmode[a] != SET_NONE && ru->setmode[a] != SET_GENERIC &&
            ru->setmode[o] == ru->setmode[a] && ru->owner[o] == o)
            ru->owner[a] = o;
    }
    ru->dict = tl_dict_new();
    if (e->nrollups == e->caprollups) {
        e->caprollups = e->caprollups ? e->caprollups * 2 : 8;
        e->rollups = tl_xrealloc(e->rollups, sizeof *e->rollups * (size_t)e->caprollups);
    }
    e->rollups[e->nrollups++] = ru;
    return ru;
}

static void state_free(const tl_rollup *ru, int a, ragg_state *s)
{
    int mode = ru->setmode[a];
    if (mode == SET_GENERIC && s->ms) {
        free(s->ms->v);
        free(s->ms->c);
        free(s->ms);
    } else if (mode != SET_NONE && mode != SET_GENERIC) {
        oset_free(&s->os);
    } else if (mode == SET_NONE && ru->aggs[a].arg_type.id == TL_NUMERIC) {
        free(s->scnt);
    }
}

static void groups_free(tl_rollup *ru)
{
    for (uint64_t g = 0; g < ru->ngroups; g++) {
        group *gr = GRP(ru, g);
        for (int a = 0; a < ru->naggs; a++) state_free(ru, a, &gr->st[a]);
        free(gr->keys); /* the states share the keys' block */
    }
    for (uint64_t p = 0; p < (ru->ngroups + GPAGE - 1) / GPAGE; p++) free(ru->gpages[p]);
    free(ru->gpages);
    free(ru->slots);
    free(ru->old);
    ru->old = NULL;
    ru->nold = ru->migrated = 0;
    free(ru->slots0);
    free(ru->slotsL);
    ru->slotsL = NULL;
    ru->nslotsL = ru->npairs = 0;
    ru->gpages = NULL;
    ru->npages = 0;
    ru->slots = NULL;
    ru->slots0 = NULL;
    ru->ngroups = ru->nslots = ru->nlive = 0;
    ru->nslots0 = ru->nfirst = 0;
    ru->bytes = 0;
}

void tl_rollup_free(tl_rollup *ru)
{
    if (!ru) return;
    tl_engine *e = ru->e;
    for (int i = 0; i < e->nrollups; i++)
        if (e->rollups[i] == ru) {
            memmove(&e->rollups[i], &e->rollups[i + 1], sizeof *e->rollups * (size_t)(e->nrollups - i - 1));
            e->nrollups--;
            break;
        }
    groups_free(ru);
    tl_dict_free(ru->dict);
    free(ru->key_types);
    free(ru->aggs);
    free(ru->setmode);
    free(ru->owner);
    free(ru->colsrc);
    free(ru);
}

bool tl_rollup_populated(const tl_rollup *ru)
{
    return ru->populated;
}

void tl_rollup_clear(tl_rollup *ru)
{
    tl_rollup_write_lock_int(ru->e);
    groups_free(ru);
    ru->populated = false;
    tl_rollup_write_unlock_int(ru->e);
}

size_t tl_rollup_bytes(const tl_rollup *ru)
{
    return ru->bytes + (ru->ngroups + GPAGE - 1) / GPAGE * GPAGE * sizeof(group) +
           (ru->nslots + ru->nslots0 + ru->nslotsL + ru->nold) * sizeof(uint32_t) +
           tl_dict_bytes(ru->dict);
}

uint64_t tl_rollup_ngroups(const tl_rollup *ru)
{
    return ru->nlive;
}

/* ---- group table ------------------------------------------------------------------------- */

/* Key types hashed and compared straight from the vector (no datum round trip). The
 * group keeps its hash, so every path must hash a key the same way: this one. */
static uint64_t key_hash1(tl_type_id t, const tl_vec *v, uint32_t i)
{
    switch (t) {
    case TL_INT2: case TL_INT4: case TL_INT8: case TL_DATE: case TL_TIMESTAMP: case TL_TIMESTAMPTZ:
    case TL_BOOL: case TL_OID: {
        uint64_t x = t == TL_BOOL ? v->d.b[i] : (uint64_t)v->d.i[i];
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        return x;
    }
    case TL_UUID: return XXH3_64bits(v->d.u[i].b, 16);
    case TL_TEXT: case TL_VARCHAR: case TL_NAME: return XXH3_64bits(v->d.s[i].ptr, v->d.s[i].len);
    default: {
        tl_datum d;
        tl_vec_get(v, i, &d);
        return tl_datum_hash(t, &d);
    }
    }
}

static bool key_eq1(tl_type_id t, const tl_datum *g, const tl_vec *v, uint32_t i)
{
    switch (t) {
    case TL_INT2: case TL_INT4: case TL_INT8: case TL_DATE: case TL_TIMESTAMP: case TL_TIMESTAMPTZ: case TL_OID:
        return g->v.i == v->d.i[i];
    case TL_BOOL: return g->v.b == (v->d.b[i] != 0);
    case TL_UUID: return !memcmp(g->v.u.b, v->d.u[i].b, 16);
    case TL_TEXT: case TL_VARCHAR: case TL_NAME:
        return g->v.s.len == v->d.s[i].len && !memcmp(g->v.s.ptr, v->d.s[i].ptr, g->v.s.len);
    default: {
        tl_datum d;
        tl_vec_get(v, i, &d);
        if (tl_datum_cmp(t, g, &d) != 0) return false;
        return !(t == TL_NUMERIC && g->v.n.scale != d.v.n.scale); /* 1.0 vs 1.00 */
    }
    }
}

static uint64_t keys_hash(const tl_rollup *ru, const tl_vec *keys, uint32_t i)
{
    uint64_t h = 0x243F6A8885A308D3ull;
    for (int k = 0; k < ru->nkeys; k++) {
        uint64_t x = 0x9E3779B97F4A7C15ull;
        if (!tl_vec_isnull(&keys[k], i)) x = key_hash1(ru->key_types[k].id, &keys[k], i);
        h = (h ^ x) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

static bool keys_equal(const tl_rollup *ru, const group *g, const tl_vec *keys, uint32_t i)
{
    for (int k = 0; k < ru->nkeys; k++) {
        bool bn = tl_vec_isnull(&keys[k], i);
        if (g->keys[k].isnull || bn) {
            if (g->keys[k].isnull != bn) return false;
            continue;
        }
        if (!key_eq1(ru->key_types[k].id, &g->keys[k], &keys[k], i)) return false;
    }
    return true;
}

static void intern(tl_rollup *ru, tl_type_id t, tl_datum *d)
{
    if (d->isnull || !tl_type_is_string(t)) return;
    uint32_t code = tl_dict_intern(ru->dict, d->v.s.ptr, d->v.s.len);
    d->v.s = tl_dict_get(ru->dict, code);
}

static void slot_put(uint32_t *t, uint64_t ns, uint64_t h, uint32_t v)
{
    uint64_t j = h & (ns - 1);
    while (t[j]) j = (j + 1) & (ns - 1);
    t[j] = v;
}

/* Copy up to `n` slots of the previous table into the current one. */
static void slots_migrate(tl_rollup *ru, uint64_t n)
{
    for (; n > 0 && ru->migrated < ru->nold; n--, ru->migrated++) {
        uint32_t v = ru->old[ru->migrated];
        if (v) slot_put(ru->slots, ru->nslots, GRP(ru, v - 1)->hash, v);
    }
    if (ru->old && ru->migrated == ru->nold) {
        free(ru->old);
        ru->old = NULL;
        ru->nold = ru->migrated = 0;
    }
}

static void slots_grow(tl_rollup *ru)
{
    slots_migrate(ru, UINT64_MAX); /* a previous growth not finished: finish it (rare) */
    uint64_t ns = ru->nslots ? ru->nslots * 2 : 1024;
    ru->old = ru->slots;
    ru->nold = ru->nslots;
    ru->migrated = 0;
    ru->slots = tl_xcalloc(ns, sizeof *ru->slots);
    ru->nslots = ns;
    if (!ru->old) ru->nold = 0;
}

static uint64_t key0_hash(const tl_rollup *ru, const tl_vec *keys, uint32_t i)
{
    return tl_vec_isnull(&keys[0], i) ? 0x9E3779B97F4A7C15ull : key_hash1(ru->key_types[0].id, &keys[0], i);
}

static void slots0_grow(tl_rollup *ru)
{
    uint64_t ns = ru->nslots0 ? ru->nslots0 * 2 : 64;
    uint32_t *t = tl_xcalloc(ns, sizeof *t);
    for (uint64_t j = 0; j < ru->nslots0; j++) {
        uint32_t head = ru->slots0[j];
        if (!head) continue;
        uint64_t k = GRP(ru, head - 1)->hash0 & (ns - 1);
        while (t[k]) k = (k + 1) & (ns - 1);
        t[k] = head;
    }
    free(ru->slots0);
    ru->slots0 = t;
    ru->nslots0 = ns;
}

static bool key0_same(const tl_rollup *ru, const group *g, const tl_vec *keys, uint32_t i)
{
    bool bn = tl_vec_isnull(&keys[0], i);
    if (g->keys[0].isnull || bn) return g->keys[0].isnull == bn;
    return key_eq1(ru->key_types[0].id, &g->keys[0], &keys[0], i);
}

/* The slot of the first key's chain head for row i (0 slot content = no group yet). */
static uint64_t slot0_find(const tl_rollup *ru, const tl_vec *keys, uint32_t i, uint64_t h0)
{
    uint64_t mask = ru->nslots0 - 1, j = h0 & mask;
    while (ru->slots0[j]) {
        const group *g = GRP(ru, ru->slots0[j] - 1);
        if (g->hash0 == h0 && key0_same(ru, g, keys, i)) return j;
        j = (j + 1) & mask;
    }
    return j;
}

static uint64_t pairL_hash(const tl_rollup *ru, const tl_vec *keys, uint32_t i)
{
    int L = ru->nkeys - 1;
    uint64_t x = tl_vec_isnull(&keys[L], i) ? 0x9E3779B97F4A7C15ull : key_hash1(ru->key_types[L].id, &keys[L], i);
    uint64_t h = (key0_hash(ru, keys, i) ^ x) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
}

static void slotsL_grow(tl_rollup *ru)
{
    uint64_t ns = ru->nslotsL ? ru->nslotsL * 2 : 64;
    uint32_t *t = tl_xcalloc(ns, sizeof *t);
    for (uint64_t j = 0; j < ru->nslotsL; j++) {
        uint32_t head = ru->slotsL[j];
        if (!head) continue;
        uint64_t k = GRP(ru, head - 1)->hashL & (ns - 1);
        while (t[k]) k = (k + 1) & (ns - 1);
        t[k] = head;
    }
    free(ru->slotsL);
    ru->slotsL = t;
    ru->nslotsL = ns;
}

static bool pairL_same(const tl_rollup *ru, const group *g, const tl_vec *keys, uint32_t i)
{
    int L = ru->nkeys - 1;
    if (!key0_same(ru, g, keys, i)) return false;
    bool bn = tl_vec_isnull(&keys[L], i);
    if (g->keys[L].isnull || bn) return g->keys[L].isnull == bn;
    return key_eq1(ru->key_types[L].id, &g->keys[L], &keys[L], i);
}

static uint64_t slotL_find(const tl_rollup *ru, const tl_vec *keys, uint32_t i, uint64_t h)
{
    uint64_t mask = ru->nslotsL - 1, j = h & mask;
    while (ru->slotsL[j]) {
        const group *g = GRP(ru, ru->slotsL[j] - 1);
        if (g->hashL == h && pairL_same(ru, g, keys, i)) return j;
        j = (j + 1) & mask;
    }
    return j;
}

/* Groups are never removed from the table: an emptied group keeps its slot (states all
 * back to zero) and is skipped when emitting, so a later row of it reuses the slot. */
static group *find_group(tl_rollup *ru, const tl_vec *keys, uint32_t i, uint64_t h)
{
    if ((ru->ngroups + 1) * 10 > ru->nslots * 7) slots_grow(ru);
    if (ru->old) slots_migrate(ru, 16); /* done long before the new table fills */
    uint64_t mask = ru->nslots - 1, j = h & mask;
    while (ru->slots[j]) {
        group *g = GRP(ru, ru->slots[j] - 1);
        if (g->hash == h && keys_equal(ru, g, keys, i)) return g;
        j = (j + 1) & mask;
    }
    if (ru->old) { /* not copied yet? the previous table is intact */
        uint64_t omask = ru->nold - 1;
        for (uint64_t k = h & omask; ru->old[k]; k = (k + 1) & omask) {
            group *g = GRP(ru, ru->old[k] - 1);
            if (g->hash == h && keys_equal(ru, g, keys, i)) return g;
        }
    }
    if (ru->ngroups % GPAGE == 0) {
        uint64_t p = ru->ngroups / GPAGE;
        if (p == ru->npages) {
            ru->npages = ru->npages ? ru->npages * 2 : 4;
            ru->gpages = tl_xrealloc(ru->gpages, sizeof *ru->gpages * ru->npages);
        }
        ru->gpages[p] = tl_xmalloc(sizeof(group) * GPAGE);
    }
    group *g = GRP(ru, ru->ngroups);
    memset(g, 0, sizeof *g);
    g->hash = h;
    /* keys and states in one block: a lookup that compares keys then updates states
     * touches one allocation, not three */
    size_t kb = ((size_t)(ru->nkeys + 1) * sizeof *g->keys + 63) & ~(size_t)63;
    char *blk = tl_xcalloc(1, kb + sizeof *g->st * (size_t)(ru->naggs + 1));
    g->keys = (tl_datum *)blk;
    for (int k = 0; k < ru->nkeys; k++) {
        tl_vec_get(&keys[k], i, &g->keys[k]);
        g->keys[k].isnull = tl_vec_isnull(&keys[k], i);
        intern(ru, ru->key_types[k].id, &g->keys[k]);
    }
    g->st = (ragg_state *)(blk + kb);
    ru->bytes += sizeof(tl_datum) * (size_t)ru->nkeys + sizeof(ragg_state) * (size_t)ru->naggs;
    ru->ngroups++;
    ru->slots[j] = (uint32_t)ru->ngroups;
    if ((ru->nfirst + 1) * 10 > ru->nslots0 * 7) slots0_grow(ru);
    g->hash0 = key0_hash(ru, keys, i);
    uint64_t j0 = slot0_find(ru, keys, i, g->hash0);
    if (!ru->slots0[j0]) ru->nfirst++;
    g->next0 = ru->slots0[j0];
    ru->slots0[j0] = (uint32_t)ru->ngroups;
    if (ru->nkeys >= 2) {
        if ((ru->npairs + 1) * 10 > ru->nslotsL * 7) slotsL_grow(ru);
        g->hashL = pairL_hash(ru, keys, i);
        uint64_t jl = slotL_find(ru, keys, i, g->hashL);
        if (!ru->slotsL[jl]) ru->npairs++;
        g->nextL = ru->slotsL[jl];
        ru->slotsL[jl] = (uint32_t)ru->ngroups;
    }
    return g;
}

/* ---- applying rows ---------------------------------------------------------------------- */

static bool uses_sums(tl_ragg_kind k)
{
    return k == TL_RAGG_SUM || k == TL_RAGG_AVG || k == TL_RAGG_VAR_SAMP || k == TL_RAGG_VAR_POP ||
           k == TL_RAGG_STDDEV_SAMP || k == TL_RAGG_STDDEV_POP;
}

static tl_i128 pow10_i128(int k)
{
    if (k < 39) return pow10_tab[k];
    tl_i128 p = pow10_tab[38];
    for (k -= 38; k > 0; k--) p *= 10;
    return p;
}

/* Knuth's TwoSum: hi + lo carries the sum exactly while it fits 106 bits. */
static void dd_add(double *hi, double *lo, double x)
{
    double s = *hi + x;
    double bp = s - *hi;
    double err = (*hi - (s - bp)) + (x - bp);
    *hi = s;
    *lo += err;
}

static int64_t set_key(tl_rollup *ru, int mode, const tl_vec *arg, uint32_t i)
{
    switch (mode) {
    case SET_F64: return oset_from_double(arg->d.f[i]);
    case SET_CODE:
        if (arg->type.id == TL_UUID) return tl_dict_intern(ru->dict, (const char *)arg->d.u[i].b, 16);
        return tl_dict_intern(ru->dict, arg->d.s[i].ptr, arg->d.s[i].len);
    default: return arg->d.i[i];
    }
}

static void apply_agg(tl_rollup *ru, int a, ragg_state *st, const tl_rollup_agg *ag, const tl_vec *arg, uint32_t i,
                      int sign)
{
    if (ag->star && ag->kind == TL_RAGG_COUNT) {
        st->n += sign;
        return;
    }
    if (tl_vec_isnull(arg, i)) return;
    st->n += sign;
    tl_type_id t = arg->type.id;
    if (uses_sums(ag->kind)) {
        if (tl_type_is_integer(t)) {
            tl_i128 x = arg->d.i[i];
            st->s1 += sign * x;
            st->s2 += sign * x * x;
        } else if (t == TL_NUMERIC) {
            tl_numeric x = arg->d.n[i];
            /* Counts per scale (for the display scale once the widest input leaves) are
             * needed only when inputs' scales differ: most columns have one. */
            int64_t before = st->n - sign;
            if (!st->scnt && before > 0 && x.scale != st->sc_only) {
                st->scnt = tl_xcalloc(NSCALES, sizeof *st->scnt);
                ru->bytes += NSCALES * sizeof *st->scnt;
                st->scnt[st->sc_only] = (uint32_t)before;
            }
            if (!st->scnt) st->sc_only = x.scale;
            if (x.scale > st->sc1) {
                tl_i128 f = pow10_i128(x.scale - st->sc1);
                st->s1 *= f;
                st->s2 *= f * f;
                st->sc1 = x.scale;
            }
            tl_i128 m = x.mant * pow10_i128(st->sc1 - x.scale);
            st->s1 += sign * m;
            st->s2 += sign * m * m;
            if (st->scnt) st->scnt[x.scale] += (uint32_t)sign;
        } else {
            double x = arg->d.f[i];
            dd_add(&st->fhi, &st->flo, sign * x);
            dd_add(&st->f2hi, &st->f2lo, sign * x * x);
        }
        return;
    }
    if (ag->kind == TL_RAGG_BOOL_AND || ag->kind == TL_RAGG_BOOL_OR) {
        if (arg->d.b[i]) st->ntrue += sign;
        return;
    }
    int mode = ru->setmode[a];
    if (mode == SET_I64 || mode == SET_F64 || mode == SET_CODE) {
        if (ru->owner[a] != a) return; /* the owner keeps the values */
        size_t before = st->os.bytes;
        int64_t k = set_key(ru, mode, arg, i);
        if (sign > 0) oset_add(&st->os, k);
        else if (!oset_del(&st->os, k)) tl_panic("rollup: deleting a value the view never saw");
        ru->bytes += st->os.bytes - before;
        return;
    }
    if (uses_mset(ag->kind)) {
        if (!st->ms) st->ms = tl_xcalloc(1, sizeof *st->ms);
        tl_datum d;
        tl_vec_get(arg, i, &d);
        intern(ru, t, &d);
        uint32_t before = st->ms->cap;
        mset_add(st->ms, t, &d, sign);
        ru->bytes += ((size_t)st->ms->cap - before) * (sizeof(tl_datum) + sizeof(int64_t));
    }
}

/* Rows go through in blocks: hash the block's keys first, then look groups up while the
 * slot of a row PF_SLOT ahead, the group of a row PF_GROUP ahead and the keys and states
 * of a row PF_STATE ahead are being fetched. With hundreds of thousands of groups every
 * lookup is otherwise a chain of cache misses (slot, group, its keys and states), paid
 * one after the other. */
#define APPLY_BLOCK 256
#define PF_SLOT 16
#define PF_GROUP 8
#define PF_STATE 4
#define PF_SET 2

static const group *slot_group(const tl_rollup *ru, uint64_t h)
{
    uint32_t v = ru->slots[h & (ru->nslots - 1)];
    return v ? GRP(ru, v - 1) : NULL;
}

/* The value sets a row of group pg will insert into: their chunk index and last chunk
 * (appends of time-ordered values land there). */
static void prefetch_sets(const tl_rollup *ru, const group *pg, const int *sets, int nsets)
{
    for (int k = 0; k < nsets; k++) {
        const oset *os = &pg->st[sets[k]].os;
        if (!os->nch) continue;
        __builtin_prefetch(&os->first[os->nch - 1]);
        __builtin_prefetch(&os->ch[os->nch - 1]);
    }
}

static void apply_rows(tl_rollup *ru, const tl_rollup_rows *rows, int sign)
{
    uint64_t h[APPLY_BLOCK];
    int sets[64], nsets = 0;
    for (int a = 0; a < ru->naggs && nsets < 64; a++) {
        int mode = ru->setmode[a];
        if ((mode == SET_I64 || mode == SET_F64 || mode == SET_CODE) && ru->owner[a] == a) sets[nsets++] = a;
    }
    for (uint32_t b = 0; b < rows->n; b += APPLY_BLOCK) {
        uint32_t m = rows->n - b < APPLY_BLOCK ? rows->n - b : APPLY_BLOCK;
        for (uint32_t i = 0; i < m; i++) h[i] = keys_hash(ru, rows->keys, b + i);
        for (uint32_t i = 0; i < m; i++) {
            if (ru->nslots) {
                if (i + PF_SLOT < m) __builtin_prefetch(&ru->slots[h[i + PF_SLOT] & (ru->nslots - 1)]);
                const group *pg;
                if (i + PF_GROUP < m && (pg = slot_group(ru, h[i + PF_GROUP]))) __builtin_prefetch(pg);
                if (i + PF_STATE < m && (pg = slot_group(ru, h[i + PF_STATE]))) {
                    __builtin_prefetch(pg->keys); /* keys, then the states after them */
                    __builtin_prefetch((const char *)pg->keys + 64);
                    __builtin_prefetch(pg->st);
                    __builtin_prefetch((const char *)pg->st + 64);
                }
                if (nsets && i + PF_SET < m && (pg = slot_group(ru, h[i + PF_SET]))) prefetch_sets(ru, pg, sets, nsets);
            }
            group *g = find_group(ru, rows->keys, b + i, h[i]);
            if (g->nrows == 0) ru->nlive++;
            g->nrows += sign;
            if (g->nrows == 0) ru->nlive--;
            for (int a = 0; a < ru->naggs; a++)
                apply_agg(ru, a, &g->st[a], &ru->aggs[a], ru->aggs[a].star ? NULL : &rows->args[a], b + i, sign);
        }
    }
}

/* ---- pending deltas of a statement -------------------------------------------------------- */

typedef struct pend_item {
    tl_rollup *ru;
    int sign;
    tl_rollup_rows rows;
    struct pend_item *next;
} pend_item;

struct tl_rollup_pending {
    tl_arena arena;
    pend_item *head, *tail;
};

/* Derived vectors may point into the caller's batch memory: keep a private copy. */
static void copy_vec(tl_vec *v, uint32_t n, tl_arena *a)
{
    if (!v->d.raw) return;
    size_t es = tl_vec_elem_size(v->type.id);
    void *d = tl_arena_alloc(a, es * n + 1);
    memcpy(d, v->d.raw, es * n);
    v->d.raw = d;
    if (v->nulls) {
        uint8_t *nl = tl_arena_alloc(a, n + 1);
        memcpy(nl, v->nulls, n);
        v->nulls = nl;
    }
    if (tl_type_is_string(v->type.id))
        for (uint32_t i = 0; i < n; i++)
            if (!tl_vec_isnull(v, i)) v->d.s[i].ptr = tl_arena_strndup(a, v->d.s[i].ptr, v->d.s[i].len);
}

int tl_rollup_prepare(tl_engine *e, tl_rollup_pending **pp, tl_rel *r, const tl_vec *cols, uint32_t n, int sign,
                      tl_error *err)
{
    for (int i = 0; i < e->nrollups; i++) {
        tl_rollup *ru = e->rollups[i];
        if (ru->source_oid != r->oid || !ru->populated) continue;
        if (!*pp) {
            *pp = tl_xcalloc(1, sizeof **pp);
            tl_arena_init(&(*pp)->arena);
        }
        tl_rollup_pending *p = *pp;
        pend_item *it = tl_arena_zalloc(&p->arena, sizeof *it);
        it->ru = ru;
        it->sign = sign;
        it->rows.keys = tl_arena_zalloc(&p->arena, sizeof(tl_vec) * (size_t)(ru->nkeys + 1));
        it->rows.args = tl_arena_zalloc(&p->arena, sizeof(tl_vec) * (size_t)(ru->naggs + 1));
        tl_arena scratch;
        tl_arena_init(&scratch);
        int rc = ru->derive(ru->arg, cols, n, &it->rows, &scratch, err);
        if (rc == 0) {
            for (int k = 0; k < ru->nkeys; k++) copy_vec(&it->rows.keys[k], it->rows.n, &p->arena);
            for (int a = 0; a < ru->naggs; a++)
                if (!ru->aggs[a].star) copy_vec(&it->rows.args[a], it->rows.n, &p->arena);
        }
        tl_arena_free(&scratch);
        if (rc < 0) return -1;
        if (p->tail) p->tail->next = it;
        else p->head = it;
        p->tail = it;
    }
    return 0;
}

bool tl_rollup_has_views(tl_engine *e, uint32_t rel_oid)
{
    for (int i = 0; i < e->nrollups; i++)
        if (e->rollups[i]->source_oid == rel_oid && e->rollups[i]->populated) return true;
    return false;
}

void tl_rollup_discard(tl_rollup_pending *p)
{
    if (!p) return;
    tl_arena_free(&p->arena);
    free(p);
}

const void *tl_rollup_pending_mark(const tl_rollup_pending *p)
{
    return p ? p->tail : NULL;
}

/* The dropped items stay in the arena until the transaction ends: a savepoint rollback
 * is rare, and the arena cannot free from the middle. */
void tl_rollup_pending_truncate(tl_rollup_pending *p, const void *mark)
{
    if (!p) return;
    pend_item *m = (pend_item *)mark;
    p->tail = m;
    if (m) m->next = NULL;
    else p->head = NULL;
}

void tl_rollup_apply_pending(tl_rollup_pending *p)
{
    for (pend_item *it = p ? p->head : NULL; it; it = it->next) apply_rows(it->ru, &it->rows, it->sign);
}

void tl_rollup_commit_publish(tl_engine *e, tl_rollup_pending *p, tl_rel *const *rels, int n)
{
    tl_rollup_write_lock_int(e);
    for (pend_item *it = p ? p->head : NULL; it; it = it->next) apply_rows(it->ru, &it->rows, it->sign);
    tl_engine_publish_rows(e, rels, n);
    tl_rollup_write_unlock_int(e);
    tl_rollup_discard(p);
}

void tl_rollup_read_lock(tl_engine *e)
{
    pthread_rwlock_rdlock(&e->rollup_lock);
}

void tl_rollup_read_unlock(tl_engine *e)
{
    pthread_rwlock_unlock(&e->rollup_lock);
}

void tl_rollup_write_lock_int(tl_engine *e)
{
    pthread_rwlock_wrlock(&e->rollup_lock);
}

void tl_rollup_write_unlock_int(tl_engine *e)
{
    pthread_rwlock_unlock(&e->rollup_lock);
}

/* ---- rebuild from the facts ------------------------------------------------------------------ */

int tl_rollup_rebuild(tl_rollup *ru, tl_error *err)
{
    tl_rel *src = tl_catalog_rel_by_oid(ru->e, ru->source_oid);
    if (!src || !src->data) return tl_errorf(err, "XX000", "materialized view source is gone");
    tl_rollup_write_lock_int(ru->e);
    groups_free(ru);
    tl_arena meta, batch;
    tl_arena_init(&meta);
    tl_arena_init(&batch);
    tl_table_snap snap;
    tl_engine_snapshot(ru->e, &src, 1, &snap, &meta);
    tl_vec *cols = tl_arena_zalloc(&meta, sizeof *cols * (size_t)(src->natts + 1));
    tl_rollup_rows rows;
    rows.keys = tl_arena_zalloc(&meta, sizeof(tl_vec) * (size_t)(ru->nkeys + 1));
    rows.args = tl_arena_zalloc(&meta, sizeof(tl_vec) * (size_t)(ru->naggs + 1));
    int rc = 0;
    for (uint32_t p = 0; p < snap.nparts && rc == 0; p++) {
        for (uint64_t start = 0; start < snap.rows[p] && rc == 0; start += TL_VEC_SIZE) {
            uint64_t left = snap.rows[p] - start;
            uint32_t n = left < TL_VEC_SIZE ? (uint32_t)left : TL_VEC_SIZE;
            tl_arena_reset(&batch);
            for (int c = 0; c < src->natts; c++) tl_table_read(src->data, p, c, start, n, &cols[c], &batch);
            /* Deleted rows are not facts any more: keep the live ones only. */
            uint32_t m = 0;
            for (uint32_t i = 0; i < n; i++) {
                if (tl_table_is_deleted(src->data, p, start + i)) continue;
                if (m != i)
                    for (int c = 0; c < src->natts; c++) {
                        size_t es = tl_vec_elem_size(cols[c].type.id);
                        memcpy((char *)cols[c].d.raw + es * m, (char *)cols[c].d.raw + es * i, es);
                        if (cols[c].nulls) cols[c].nulls[m] = cols[c].nulls[i];
                    }
                m++;
            }
            for (int c = 0; c < src->natts; c++) cols[c].n = m;
            n = m;
            rows.n = 0;
            rc = ru->derive(ru->arg, cols, n, &rows, &batch, err);
            if (rc == 0) apply_rows(ru, &rows, 1);
        }
    }
    tl_arena_free(&batch);
    tl_arena_free(&meta);
    if (rc < 0) groups_free(ru);
    ru->populated = rc == 0;
    tl_rollup_write_unlock_int(ru->e);
    return rc;
}

/* ---- finalising ----------------------------------------------------------------------------- */

typedef struct u256 {
    tl_u128 hi, lo;
} u256;

static void u256_mul10(u256 *x)
{
    /* x*10 = x*8 + x*2 */
    tl_u128 lo8 = x->lo << 3, hi8 = (x->hi << 3) | (x->lo >> 125);
    tl_u128 lo2 = x->lo << 1, hi2 = (x->hi << 1) | (x->lo >> 127);
    x->lo = lo8 + lo2;
    x->hi = hi8 + hi2 + (x->lo < lo8);
}

static int u256_cmp(const u256 *a, const u256 *b)
{
    if (a->hi != b->hi) return a->hi < b->hi ? -1 : 1;
    if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
    return 0;
}

static void u256_sub(u256 *a, const u256 *b)
{
    tl_u128 lo = a->lo - b->lo;
    a->hi = a->hi - b->hi - (lo > a->lo);
    a->lo = lo;
}

static void u256_shl(u256 *a, int s)
{
    if (s == 0) return;
    if (s >= 128) {
        a->hi = a->lo << (s - 128);
        a->lo = 0;
        return;
    }
    a->hi = (a->hi << s) | (a->lo >> (128 - s));
    a->lo <<= s;
}

/* floor(sqrt(x)) by the bitwise method; the root of a 256-bit number fits 128 bits. */
static tl_u128 u256_isqrt(u256 x)
{
    u256 res = {0, 0};
    u256 bit = {(tl_u128)1 << 126, 0};
    while (u256_cmp(&bit, &x) > 0) {
        bit.lo = (bit.lo >> 2) | (bit.hi << 126);
        bit.hi >>= 2;
    }
    while (bit.hi || bit.lo) {
        u256 t = res;
        t.lo += bit.lo;
        t.hi += bit.hi + (t.lo < bit.lo);
        if (u256_cmp(&x, &t) >= 0) {
            u256_sub(&x, &t);
            /* res = (res >> 1) + bit */
            res.lo = (res.lo >> 1) | (res.hi << 127);
            res.hi >>= 1;
            res.lo += bit.lo;
            res.hi += bit.hi + (res.lo < bit.lo);
        } else {
            res.lo = (res.lo >> 1) | (res.hi << 127);
            res.hi >>= 1;
        }
        bit.lo = (bit.lo >> 2) | (bit.hi << 126);
        bit.hi >>= 2;
    }
    (void)u256_shl;
    return res.lo;
}

/* sqrt of a non-negative numeric, correctly rounded (half up) at the input's scale, as
 * PostgreSQL's sqrt_var(var, result, rscale) with rscale = var's display scale. */
static void numeric_sqrt_same_scale(const tl_numeric *v, tl_numeric *out)
{
    /* root(v) * 10^(s+1) = sqrt(mant * 10^(s+2)) */
    u256 x = {0, (tl_u128)v->mant};
    for (int i = 0; i < v->scale + 2; i++) u256_mul10(&x);
    tl_u128 r = u256_isqrt(x);
    r = (r + 5) / 10;
    out->mant = (tl_i128)r;
    out->scale = v->scale;
    out->nan = 0;
}

static int live_scale(const ragg_state *st)
{
    if (!st->scnt) return st->n > 0 ? st->sc_only : 0;
    for (int s = NSCALES - 1; s > 0; s--)
        if (st->scnt && st->scnt[s]) return s;
    return 0;
}

static void num_sum(const ragg_state *st, bool numeric_in, tl_numeric *out)
{
    out->nan = 0;
    if (!numeric_in) {
        out->mant = st->s1;
        out->scale = 0;
        return;
    }
    int ls = live_scale(st);
    out->mant = st->s1 / pow10_i128(st->sc1 - ls); /* exact: narrower digits are zero */
    out->scale = (int16_t)ls;
}

static int finalize_var(const ragg_state *st, const tl_rollup_agg *ag, tl_datum *out, tl_error *err)
{
    bool samp = ag->kind == TL_RAGG_VAR_SAMP || ag->kind == TL_RAGG_STDDEV_SAMP;
    bool root = ag->kind == TL_RAGG_STDDEV_SAMP || ag->kind == TL_RAGG_STDDEV_POP;
    if (st->n == 0 || (samp && st->n == 1)) {
        out->isnull = true;
        return 0;
    }
    tl_type_id at = ag->arg_type.id;
    if (at == TL_FLOAT8 || at == TL_FLOAT4) {
        long double n = (long double)st->n;
        long double s1 = (long double)st->fhi + st->flo, s2 = (long double)st->f2hi + st->f2lo;
        long double num = n * s2 - s1 * s1;
        double v = num <= 0 ? 0.0 : (double)(num / (n * (samp ? n - 1 : n)));
        out->v.f = root ? sqrt(v) : v;
        return 0;
    }
    /* numeric arithmetic as numeric_stddev_internal: N*sumX2 - sumX^2 at scale 2*dscale */
    bool numeric_in = at == TL_NUMERIC;
    int ds = numeric_in ? live_scale(st) : 0;
    tl_i128 f = numeric_in ? pow10_i128(st->sc1 - ds) : 1;
    tl_i128 s1 = st->s1 / f, s2 = st->s2 / (f * f);
    tl_numeric num = {.mant = (tl_i128)st->n * s2 - s1 * s1, .scale = (int16_t)(2 * ds), .nan = 0};
    if (num.mant <= 0) {
        tl_numeric_from_i64(0, &out->v.n);
        return 0;
    }
    tl_numeric den;
    tl_numeric_from_i64(samp ? st->n * (st->n - 1) : st->n * st->n, &den);
    tl_numeric var;
    if (tl_numeric_div(&num, &den, &var, err) < 0) return -1;
    if (root) numeric_sqrt_same_scale(&var, &out->v.n);
    else out->v.n = var;
    return 0;
}

static int64_t count_since(const ragg_state *st, const tl_rollup_agg *ag, int64_t now, const tl_tz *tz,
                           tl_error *err)
{
    if (!st->ms || st->ms->n == 0) return 0;
    tl_interval neg = {.us = -ag->window.us, .days = -ag->window.days, .months = -ag->window.months};
    int64_t thr;
    if (tl_ts_add_interval(now, &neg, tz, &thr, err) < 0) return -1;
    tl_datum d = {.isnull = false};
    d.v.i = thr;
    bool found;
    uint32_t i = mset_lower(st->ms, ag->arg_type.id, &d, &found);
    if (found && ag->strict) i++;
    int64_t c = 0;
    for (uint32_t k = i; k < st->ms->n; k++) c += st->ms->c[k];
    return c;
}

/* The value of the set-kept aggregate a, from its owner's ordered set. */
static int finalize_set(const tl_rollup *ru, const group *g, int a, int64_t now, const tl_tz *tz, tl_datum *out,
                        tl_error *err)
{
    const tl_rollup_agg *ag = &ru->aggs[a];
    const ragg_state *st = &g->st[a];
    const oset *os = &g->st[ru->owner[a]].os;
    bool f64 = ru->setmode[a] == SET_F64;
    memset(out, 0, sizeof *out);
    if (ag->kind == TL_RAGG_COUNT_DISTINCT) {
        out->v.i = os->ndistinct;
        return 0;
    }
    if (ag->kind == TL_RAGG_COUNT_SINCE) {
        if (os->total == 0) return 0;
        tl_interval neg = {.us = -ag->window.us, .days = -ag->window.days, .months = -ag->window.months};
        int64_t thr;
        if (tl_ts_add_interval(now, &neg, tz, &thr, err) < 0) return -1;
        out->v.i = oset_count_from(os, thr, ag->strict);
        return 0;
    }
    if (st->n == 0 || os->total == 0) {
        out->isnull = true;
        return 0;
    }
    int64_t k;
    switch (ag->kind) {
    case TL_RAGG_MIN: k = oset_min(os); break;
    case TL_RAGG_MAX: k = oset_max(os); break;
    case TL_RAGG_PCT_DISC: {
        int64_t row = (int64_t)ceil(ag->fraction * (double)os->total);
        if (row < 1) row = 1;
        k = oset_at(os, row - 1);
        break;
    }
    case TL_RAGG_PCT_CONT: {
        double pos = ag->fraction * (double)(os->total - 1);
        int64_t first = (int64_t)floor(pos), second = (int64_t)ceil(pos);
        double lo = oset_to_double(oset_at(os, first));
        if (first == second) {
            out->v.f = lo;
        } else {
            double hi = oset_to_double(oset_at(os, second));
            out->v.f = lo + (pos - (double)first) * (hi - lo);
        }
        return 0;
    }
    default: return tl_errorf(err, "XX000", "unknown rollup aggregate");
    }
    if (f64) out->v.f = oset_to_double(k);
    else out->v.i = k;
    return 0;
}

static int finalize(tl_rollup *ru, const ragg_state *st, const tl_rollup_agg *ag, int64_t now, const tl_tz *tz,
                    tl_datum *out, tl_error *err)
{
    memset(out, 0, sizeof *out);
    tl_type_id at = ag->arg_type.id;
    (void)ru;
    switch (ag->kind) {
    case TL_RAGG_COUNT:
        out->v.i = st->n;
        return 0;
    case TL_RAGG_COUNT_DISTINCT:
        out->v.i = st->ms ? st->ms->n : 0;
        return 0;
    case TL_RAGG_COUNT_SINCE: {
        int64_t c = count_since(st, ag, now, tz, err);
        if (c < 0) return -1;
        out->v.i = c;
        return 0;
    }
    default: break;
    }
    if (st->n == 0) {
        out->isnull = true;
        return 0;
    }
    switch (ag->kind) {
    case TL_RAGG_SUM:
    case TL_RAGG_AVG:
        if (at == TL_FLOAT8 || at == TL_FLOAT4) {
            double s = st->fhi + st->flo;
            out->v.f = ag->kind == TL_RAGG_SUM ? s : s / (double)st->n;
            return 0;
        } else {
            tl_numeric s;
            num_sum(st, at == TL_NUMERIC, &s);
            if (ag->kind == TL_RAGG_AVG) return tl_numeric_div_i64(&s, st->n, &out->v.n, err);
            if (ag->result_type.id == TL_INT8) {
                if (st->s1 > INT64_MAX || st->s1 < INT64_MIN) return tl_errorf(err, "22003", "bigint out of range");
                out->v.i = (int64_t)st->s1;
            } else {
                out->v.n = s;
            }
            return 0;
        }
    case TL_RAGG_VAR_SAMP:
    case TL_RAGG_VAR_POP:
    case TL_RAGG_STDDEV_SAMP:
    case TL_RAGG_STDDEV_POP:
        return finalize_var(st, ag, out, err);
    case TL_RAGG_MIN:
        *out = st->ms->v[0];
        return 0;
    case TL_RAGG_MAX:
        *out = st->ms->v[st->ms->n - 1];
        return 0;
    case TL_RAGG_PCT_DISC: {
        int64_t total = st->ms->total;
        int64_t row = (int64_t)ceil(ag->fraction * (double)total);
        if (row < 1) row = 1;
        *out = *mset_at(st->ms, row - 1);
        return 0;
    }
    case TL_RAGG_PCT_CONT: {
        int64_t total = st->ms->total;
        double pos = ag->fraction * (double)(total - 1);
        int64_t first = (int64_t)floor(pos), second = (int64_t)ceil(pos);
        double lo = mset_at(st->ms, first)->v.f;
        if (first == second) {
            out->v.f = lo;
        } else {
            double hi = mset_at(st->ms, second)->v.f;
            out->v.f = lo + (pos - (double)first) * (hi - lo);
        }
        return 0;
    }
    case TL_RAGG_BOOL_AND:
        out->v.b = st->ntrue == st->n;
        return 0;
    case TL_RAGG_BOOL_OR:
        out->v.b = st->ntrue > 0;
        return 0;
    default: break;
    }
    return tl_errorf(err, "XX000", "unknown rollup aggregate");
}

int tl_rollup_col_key(const tl_rollup *ru, int col)
{
    return col >= 0 && col < ru->ncols && ru->colsrc[col] < 0 ? -ru->colsrc[col] - 1 : -1;
}

static bool group_matches(const tl_rollup *ru, const group *g, int nfilt, const int *fkeys, const tl_datum *fvals)
{
    for (int f = 0; f < nfilt; f++) {
        const tl_datum *kd = &g->keys[fkeys[f]];
        if (kd->isnull || fvals[f].isnull || tl_datum_cmp(ru->key_types[fkeys[f]].id, kd, &fvals[f]) != 0)
            return false;
    }
    return true;
}

/* Types whose equality is equality of representation: a chain lookup by value finds
 * every group a filter on them keeps. */
static bool exact_type(tl_type_id t)
{
    return i64_ordered(t) || t == TL_BOOL || t == TL_OID || t == TL_UUID || t == TL_TEXT || t == TL_VARCHAR ||
           t == TL_NAME;
}

int tl_rollup_emit(tl_rollup *ru, int64_t now, const tl_tz *tz, int nfilt, const int *fkeys, const tl_datum *fvals,
                   tl_table *out, tl_error *err)
{
    if (!ru->populated) return tl_errorf(err, "55000", "materialized view has not been populated");
    tl_arena a;
    tl_arena_init(&a);
    /* A filter on the first key: follow its chain (groups of one org) rather than all;
     * with a filter on the last key too, the chain of that pair (one org's month). */
    uint32_t chain = 0;
    bool use_chain = false, pair = false;
    int L = ru->nkeys - 1;
    int f0 = -1, fL = -1;
    for (int f = 0; f < nfilt; f++) {
        if (fkeys[f] == 0 && f0 < 0 && exact_type(ru->key_types[0].id)) f0 = f;
        if (L > 0 && fkeys[f] == L && fL < 0 && exact_type(ru->key_types[L].id)) fL = f;
    }
    if (f0 >= 0) {
        use_chain = true;
        pair = fL >= 0;
        if (!fvals[f0].isnull && !(pair && fvals[fL].isnull) && (pair ? ru->nslotsL : ru->nslots0)) {
            tl_vec *kv = tl_arena_zalloc(&a, sizeof *kv * (size_t)(ru->nkeys + 1));
            for (int k = 0; k <= (pair ? 1 : 0); k++) {
                int key = k ? L : 0, f = k ? fL : f0;
                tl_vec_alloc(&kv[key], ru->key_types[key], 1, &a);
                kv[key].n = 1;
                tl_vec_set(&kv[key], 0, &fvals[f]);
                kv[key].nulls[0] = 0;
            }
            chain = pair ? ru->slotsL[slotL_find(ru, kv, 0, pairL_hash(ru, kv, 0))]
                         : ru->slots0[slot0_find(ru, kv, 0, key0_hash(ru, kv, 0))];
        }
    }
    tl_vec *cols = tl_arena_zalloc(&a, sizeof *cols * (size_t)(ru->ncols + 1));
    int rc = 0;
    uint32_t n = 0;
    bool fresh = false;
    uint64_t gi = use_chain ? (chain ? chain - 1 : ru->ngroups) : 0;
    for (;;) {
        bool last = gi >= ru->ngroups;
        if (!fresh) {
            fresh = true;
            for (int c = 0; c < ru->ncols; c++) {
                int s = ru->colsrc[c];
                tl_vec_alloc(&cols[c], s < 0 ? ru->key_types[-s - 1] : ru->aggs[s].result_type, TL_VEC_SIZE, &a);
            }
        }
        if (!last) {
            group *g = GRP(ru, gi);
            uint32_t nx = pair ? g->nextL : g->next0;
            uint64_t next = use_chain ? (nx ? nx - 1 : ru->ngroups) : gi + 1;
            if (g->nrows <= 0 || (nfilt > 0 && !group_matches(ru, g, nfilt, fkeys, fvals))) {
                gi = next;
                continue;
            }
            for (int c = 0; c < ru->ncols && rc == 0; c++) {
                int s = ru->colsrc[c];
                tl_datum d;
                if (s < 0) d = g->keys[-s - 1];
                else if (ru->setmode[s] != SET_NONE && ru->setmode[s] != SET_GENERIC)
                    rc = finalize_set(ru, g, s, now, tz, &d, err);
                else rc = finalize(ru, &g->st[s], &ru->aggs[s], now, tz, &d, err);
                if (rc == 0) {
                    tl_vec_set(&cols[c], n, &d);
                    cols[c].nulls[n] = d.isnull;
                }
            }
            n++;
            gi = next;
        }
        if (rc == 0 && n > 0 && (n == TL_VEC_SIZE || last)) {
            for (int c = 0; c < ru->ncols; c++) cols[c].n = n;
            rc = tl_table_append(out, cols, n, NULL, err);
            tl_arena_reset(&a);
            cols = tl_arena_zalloc(&a, sizeof *cols * (size_t)(ru->ncols + 1));
            n = 0;
            fresh = false;
        }
        if (last || rc != 0) break;
    }
    tl_arena_free(&a);
    return rc;
}
