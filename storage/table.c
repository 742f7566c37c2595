/*
 * table.c — month-partitioned column storage: per partition and column, a directory of
 * TL_CHUNK_ROWS-row chunks; the last, filling one is an uncompressed tail, every full
 * and published one is sealed into an immutable compressed segment (segment.c) at
 * publish. Deletes are copy-on-write bitmaps per chunk, published with the row counts.
 * See tl_table.h for the concurrency model and the pin that guards freed tails.
 */
#include "seg_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum phys {
    P_U8, P_I32, P_I64, P_F64, P_NUM, P_CODE, P_UUID, P_IV, P_UCODE /* uuid as dictionary code */
} phys;

typedef struct part_col {
    void **chunks;     /* TL_MAX_CHUNKS slots: raw tail chunks (NULL once sealed and freed) */
    uint8_t **nulls;   /* parallel null bytes, allocated with the chunk */
    seg_col **segs;    /* TL_MAX_CHUNKS slots: sealed segments (atomic pointer swap) */
} pcol;

#define DEL_WORDS (TL_CHUNK_ROWS / 64)

/* Deleted rows of one partition at one epoch; immutable once published. */
struct tl_delmap {
    uint32_t nchunks;
    uint64_t ndel;        /* deleted rows in the partition */
    uint64_t *bm[];       /* per chunk: DEL_WORDS words, or NULL for none deleted */
};

typedef struct part {
    int32_t month;
    uint16_t *compacted; /* per chunk: deleted rows when last compacted (TL_MAX_CHUNKS) */
    const tl_delmap *compact_seen; /* the published delete map the sealer last looked at */
    uint64_t rows;      /* writer's count, including unpublished rows */
    uint64_t pub_rows;  /* readers' count (atomic) */
    uint32_t nsealed;   /* chunks [0, nsealed) are sealed (atomic: the sealer's) */
    uint32_t seal_want; /* chunks the writer has asked sealed (under seal_mu) */
    tl_delmap *dels;    /* writer's version (== pub_dels when nothing is pending) */
    tl_delmap *pub_dels;/* readers' version (atomic) */
    pcol cols[];
} part;

#define MAP_SLOTS (TL_MAX_PARTS * 2)

typedef struct retired {
    struct retired *next;
    void *p[3];
} retired;

struct tl_table {
    int ncols;
    tl_type *types;
    uint8_t *phys;
    uint8_t *keep;      /* per column: values of deleted rows must stay (tl_table_hint_key) */
    int part_col;
    tl_dict **dicts;
    part **parts;       /* TL_MAX_PARTS slots, append-only */
    uint32_t nparts;    /* writer's count */
    uint32_t pub_nparts;
    int32_t map_key[MAP_SLOTS];
    int32_t map_val[MAP_SLOTS]; /* partition index + 1, 0 = empty */
    size_t seg_bytes;   /* sealed segments (atomic) */
    int readers;        /* pins (atomic) */
    retired *retire;    /* memory to free once no reader is pinned (under seal_mu) */
    /* The background sealer: a thread per table, started when its first chunk fills.
     * seal_mu guards seal_want, nparts as the sealer sees it, the retire list and the
     * flags; seal_cv wakes the sealer, done_cv wakes tl_table_seal's waiters. */
    pthread_mutex_t seal_mu;
    pthread_cond_t seal_cv, done_cv;
    pthread_t sealer;
    bool sealer_on, stop;
    bool compact_check;  /* deletes were published since the sealer last looked */
    bool compacting;     /* someone is in compact_all (the sealer or tl_table_compact) */
    uint32_t seal_nparts;
    uint64_t compactions; /* chunks rewritten (atomic) */
};

static phys phys_of(tl_type_id id)
{
    switch (id) {
    case TL_BOOL: return P_U8;
    case TL_INT2: case TL_INT4: case TL_DATE: case TL_ENUM: case TL_OID: return P_I32;
    case TL_INT8: case TL_TIMESTAMP: case TL_TIMESTAMPTZ: return P_I64;
    case TL_FLOAT4: case TL_FLOAT8: return P_F64;
    case TL_NUMERIC: return P_NUM;
    case TL_UUID: return P_UCODE;
    case TL_INTERVAL: return P_IV;
    default: return P_CODE;
    }
}

static size_t phys_size(phys p)
{
    static const size_t sz[] = {1, 4, 8, 8, sizeof(tl_numeric), 4, 16, sizeof(tl_interval), 4};
    return sz[p];
}

static bool is_code(phys p)
{
    return p == P_CODE || p == P_UCODE;
}

tl_table *tl_table_new(int ncols, const tl_type *types, int part_col)
{
    tl_table *t = tl_xcalloc(1, sizeof *t);
    t->ncols = ncols;
    t->types = tl_xmalloc(sizeof *t->types * (size_t)(ncols ? ncols : 1));
    memcpy(t->types, types, sizeof *t->types * (size_t)ncols);
    t->phys = tl_xcalloc((size_t)ncols + 1, 1);
    t->keep = tl_xcalloc((size_t)ncols + 1, 1);
    t->dicts = tl_xcalloc((size_t)ncols + 1, sizeof *t->dicts);
    for (int c = 0; c < ncols; c++) {
        t->phys[c] = (uint8_t)phys_of(types[c].id);
        if (is_code((phys)t->phys[c]))
            t->dicts[c] = t->phys[c] == P_UCODE ? tl_dict_new_fixed(16) : tl_dict_new();
    }
    t->part_col = part_col;
    t->parts = tl_xcalloc(TL_MAX_PARTS, sizeof *t->parts);
    pthread_mutex_init(&t->seal_mu, NULL);
    pthread_cond_init(&t->seal_cv, NULL);
    pthread_cond_init(&t->done_cv, NULL);
    return t;
}

void tl_table_hint_key(tl_table *t, int col)
{
    t->keep[col] = 1;
}

void tl_table_hint_unique(tl_table *t, int col)
{
    if (t->phys[col] != P_UCODE || t->nparts) return;
    t->phys[col] = P_UUID;
    tl_dict_free(t->dicts[col]);
    t->dicts[col] = NULL;
}

static void delmap_free_unshared(tl_delmap *m, const tl_delmap *keep)
{
    if (!m) return;
    for (uint32_t k = 0; k < m->nchunks; k++)
        if (m->bm[k] && !(keep && k < keep->nchunks && keep->bm[k] == m->bm[k])) free(m->bm[k]);
    free(m);
}

static void free_list(retired *r)
{
    while (r) {
        retired *next = r->next;
        for (int i = 0; i < 3; i++) free(r->p[i]);
        free(r);
        r = next;
    }
}

static void free_retired(tl_table *t)
{
    free_list(t->retire);
    t->retire = NULL;
}

void tl_table_free(tl_table *t)
{
    if (!t) return;
    if (t->sealer_on) {
        pthread_mutex_lock(&t->seal_mu);
        t->stop = true;
        pthread_cond_signal(&t->seal_cv);
        pthread_mutex_unlock(&t->seal_mu);
        pthread_join(t->sealer, NULL);
    }
    pthread_mutex_destroy(&t->seal_mu);
    pthread_cond_destroy(&t->seal_cv);
    pthread_cond_destroy(&t->done_cv);
    free_retired(t);
    for (uint32_t p = 0; p < t->nparts; p++) {
        part *pt = t->parts[p];
        for (int c = 0; c < t->ncols; c++) {
            for (uint32_t k = 0; k < TL_MAX_CHUNKS; k++) {
                if (!pt->cols[c].chunks[k] && !pt->cols[c].segs[k]) break;
                if (pt->cols[c].segs[k]) {
                    seg_free(pt->cols[c].segs[k]); /* its raw chunk was on the retire list */
                } else {
                    free(pt->cols[c].chunks[k]);
                    free(pt->cols[c].nulls[k]);
                }
            }
            free(pt->cols[c].chunks);
            free(pt->cols[c].nulls);
            free(pt->cols[c].segs);
        }
        if (pt->dels != pt->pub_dels) delmap_free_unshared(pt->dels, pt->pub_dels);
        delmap_free_unshared(pt->pub_dels, NULL);
        free(pt->compacted);
        free(pt);
    }
    for (int c = 0; c < t->ncols; c++) tl_dict_free(t->dicts[c]);
    free(t->parts);
    free(t->dicts);
    free(t->phys);
    free(t->keep);
    free(t->types);
    free(t);
}

int tl_table_ncols(const tl_table *t)
{
    return t->ncols;
}

tl_type tl_table_coltype(const tl_table *t, int col)
{
    return t->types[col];
}

tl_dict *tl_table_dict(const tl_table *t, int col)
{
    return t->dicts[col];
}

int32_t tl_table_part_month(const tl_table *t, uint32_t p)
{
    return t->parts[p]->month;
}

void tl_table_pin(tl_table *t)
{
    __atomic_add_fetch(&t->readers, 1, __ATOMIC_SEQ_CST);
}

void tl_table_unpin(tl_table *t)
{
    __atomic_sub_fetch(&t->readers, 1, __ATOMIC_SEQ_CST);
}

/* Queue memory unreachable from the published directories (seal_mu held); free the
 * queue if no reader is pinned. A reader pinning after this check loads the new
 * pointers (both sides are sequentially consistent), so it cannot reach what is freed.
 * The writer's own unpinned reads (tl_table_get, tl_table_get_code) pin internally, since
 * the sealer thread retires and reclaims while the writer runs. */
static void retire(tl_table *t, void *a, void *b, void *c)
{
    retired *r = tl_xmalloc(sizeof *r);
    r->p[0] = a;
    r->p[1] = b;
    r->p[2] = c;
    r->next = t->retire;
    t->retire = r;
}

/* Detach the retired list if no reader is pinned (seal_mu held); the caller frees it
 * with free_list after unlocking, so large frees never hold up a publish. */
static retired *reclaim(tl_table *t)
{
    if (__atomic_load_n(&t->readers, __ATOMIC_SEQ_CST) != 0) return NULL;
    retired *r = t->retire;
    t->retire = NULL;
    return r;
}

static int32_t month_of_date(int64_t days)
{
    int y, m, d;
    tl_date_to_ymd((int32_t)days, &y, &m, &d);
    return (y - 2000) * 12 + (m - 1);
}

static int part_for_month(tl_table *t, int32_t month, tl_error *err)
{
    uint32_t h = ((uint32_t)month * 2654435761u) % MAP_SLOTS;
    for (;;) {
        if (t->map_val[h] == 0) break;
        if (t->map_key[h] == month) return t->map_val[h] - 1;
        h = (h + 1) % MAP_SLOTS;
    }
    if (t->nparts >= TL_MAX_PARTS)
        return tl_errorf(err, "54000", "too many partitions (more than %d months)", TL_MAX_PARTS);
    part *pt = tl_xcalloc(1, sizeof *pt + sizeof(pcol) * (size_t)t->ncols);
    pt->month = month;
    pt->compacted = tl_xcalloc(TL_MAX_CHUNKS, sizeof *pt->compacted);
    for (int c = 0; c < t->ncols; c++) {
        pt->cols[c].chunks = tl_xcalloc(TL_MAX_CHUNKS, sizeof(void *));
        pt->cols[c].nulls = tl_xcalloc(TL_MAX_CHUNKS, sizeof(uint8_t *));
        pt->cols[c].segs = tl_xcalloc(TL_MAX_CHUNKS, sizeof(seg_col *));
    }
    t->parts[t->nparts] = pt;
    t->map_key[h] = month;
    t->map_val[h] = (int32_t)t->nparts + 1;
    return (int)t->nparts++;
}

static void col_store(tl_table *t, part *pt, int c, uint64_t row, const tl_vec *v, uint32_t i)
{
    pcol *pc = &pt->cols[c];
    uint32_t k = (uint32_t)(row >> TL_CHUNK_SHIFT), off = (uint32_t)(row & (TL_CHUNK_ROWS - 1));
    phys p = (phys)t->phys[c];
    if (!pc->chunks[k]) {
        pc->chunks[k] = tl_xmalloc(phys_size(p) * TL_CHUNK_ROWS);
        pc->nulls[k] = tl_xmalloc(TL_CHUNK_ROWS);
    }
    bool isnull = v->nulls && v->nulls[i];
    pc->nulls[k][off] = isnull;
    void *dst = (char *)pc->chunks[k] + (size_t)off * phys_size(p);
    if (isnull) {
        memset(dst, 0, phys_size(p));
        return;
    }
    switch (p) {
    case P_U8: *(uint8_t *)dst = v->d.b[i]; break;
    case P_I32: *(int32_t *)dst = (int32_t)v->d.i[i]; break;
    case P_I64: *(int64_t *)dst = v->d.i[i]; break;
    case P_F64: *(double *)dst = v->d.f[i]; break;
    case P_NUM: *(tl_numeric *)dst = v->d.n[i]; break;
    case P_UUID: *(tl_uuid *)dst = v->d.u[i]; break;
    case P_IV: *(tl_interval *)dst = v->d.iv[i]; break;
    case P_CODE:
        *(uint32_t *)dst = tl_dict_intern(t->dicts[c], v->d.s[i].ptr, v->d.s[i].len);
        break;
    case P_UCODE:
        *(uint32_t *)dst = tl_dict_intern(t->dicts[c], (const char *)v->d.u[i].b, 16);
        break;
    }
}

int tl_table_append_months(tl_table *t, const tl_vec *cols, uint32_t n, const int32_t *months,
                           tl_rowloc *loc, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) {
        int32_t month = 0;
        if (months) {
            month = months[i];
        } else if (t->part_col >= 0) {
            const tl_vec *pv = &cols[t->part_col];
            month = (pv->nulls && pv->nulls[i]) ? INT32_MIN : month_of_date(pv->d.i[i]);
        }
        int pi = part_for_month(t, month, err);
        if (pi < 0) return -1;
        part *pt = t->parts[pi];
        if (pt->rows >= (uint64_t)TL_MAX_CHUNKS * TL_CHUNK_ROWS)
            return tl_errorf(err, "54000", "partition is full");
        uint64_t row = pt->rows;
        for (int c = 0; c < t->ncols; c++) col_store(t, pt, c, row, &cols[c], i);
        pt->rows = row + 1;
        if (loc) {
            loc[i].part = (uint32_t)pi;
            loc[i].row = (uint32_t)row;
        }
    }
    return 0;
}

int tl_table_append(tl_table *t, const tl_vec *cols, uint32_t n, tl_rowloc *loc, tl_error *err)
{
    return tl_table_append_months(t, cols, n, NULL, loc, err);
}

void tl_table_mark_take(const tl_table *t, tl_table_mark *m)
{
    m->nparts = t->nparts;
    m->rows = tl_xmalloc(sizeof *m->rows * (t->nparts ? t->nparts : 1));
    for (uint32_t p = 0; p < t->nparts; p++) m->rows[p] = t->parts[p]->rows;
}

void tl_table_mark_release(tl_table_mark *m)
{
    free(m->rows);
    m->rows = NULL;
}

void tl_table_rollback(tl_table *t, const tl_table_mark *m)
{
    /* Partitions created since the mark stay (empty, unpublished rows dropped): readers
     * may not see them yet, and an empty partition costs only its directories. Pending
     * deletes go too: a statement's deletes publish with its appends or not at all. */
    for (uint32_t p = 0; p < t->nparts; p++) {
        part *pt = t->parts[p];
        pt->rows = p < m->nparts ? m->rows[p] : 0;
        if (pt->rows < pt->pub_rows) pt->rows = pt->pub_rows; /* marks are never below */
        if (pt->dels != pt->pub_dels) {
            delmap_free_unshared(pt->dels, pt->pub_dels);
            pt->dels = pt->pub_dels;
        }
    }
}

/* ---- sealing ------------------------------------------------------------------------------ */

static seg_col *seal_chunk(const tl_table *t, int c, const void *raw, const uint8_t *nulls,
                           uint32_t n)
{
    phys p = (phys)t->phys[c];
    int64_t *st[SEG_MAX_STREAMS] = {0};
    int ns = 1;
    seg_kind kind = SK_INT;
    for (int k = 0; k < SEG_MAX_STREAMS; k++) st[k] = tl_xmalloc((size_t)n * 8 + 8);
    switch (p) {
    case P_U8:
        for (uint32_t i = 0; i < n; i++) st[0][i] = ((const uint8_t *)raw)[i];
        break;
    case P_I32:
        for (uint32_t i = 0; i < n; i++) st[0][i] = ((const int32_t *)raw)[i];
        break;
    case P_I64: memcpy(st[0], raw, (size_t)n * 8); break;
    case P_F64:
        kind = SK_F64;
        memcpy(st[0], raw, (size_t)n * 8);
        break;
    case P_CODE: case P_UCODE:
        kind = SK_CODE;
        for (uint32_t i = 0; i < n; i++) st[0][i] = ((const uint32_t *)raw)[i];
        break;
    case P_UUID:
        kind = SK_UUID;
        ns = 2;
        for (uint32_t i = 0; i < n; i++) {
            memcpy(&st[0][i], ((const tl_uuid *)raw)[i].b, 8);
            memcpy(&st[1][i], ((const tl_uuid *)raw)[i].b + 8, 8);
        }
        break;
    case P_IV:
        kind = SK_IV;
        ns = 3;
        for (uint32_t i = 0; i < n; i++) {
            const tl_interval *iv = &((const tl_interval *)raw)[i];
            st[0][i] = iv->us;
            st[1][i] = iv->days;
            st[2][i] = iv->months;
        }
        break;
    case P_NUM: {
        const tl_numeric *v = raw;
        bool narrow = true;
        for (uint32_t i = 0; i < n && narrow; i++)
            narrow = nulls[i] || (v[i].mant >= INT64_MIN && v[i].mant <= INT64_MAX);
        kind = narrow ? SK_NUM64 : SK_NUM128;
        ns = narrow ? 2 : 3;
        for (uint32_t i = 0; i < n; i++) {
            int64_t scale = v[i].nan ? -1 : v[i].scale;
            if (narrow) {
                st[0][i] = (int64_t)v[i].mant;
                st[1][i] = scale;
            } else {
                st[0][i] = (int64_t)(v[i].mant >> 64);
                st[1][i] = (int64_t)(uint64_t)v[i].mant;
                st[2][i] = scale;
            }
        }
        break;
    }
    }
    uint8_t *nl = NULL;
    for (uint32_t i = 0; i < n; i++)
        if (nulls[i]) {
            nl = (uint8_t *)nulls;
            break;
        }
    seg_col *s = seg_build(kind, n, nl, st, ns);
    for (int k = 0; k < SEG_MAX_STREAMS; k++) free(st[k]);
    return s;
}

/* Raw bytes of a chunk in its plain width (strings: their bytes), for tally_storage. */
static uint64_t chunk_raw_bytes(const tl_table *t, int c, const seg_col *s, uint32_t n)
{
    phys p = (phys)t->phys[c];
    if (p == P_UCODE) return (uint64_t)(n - s->nnull) * 16;
    if (p != P_CODE) return (uint64_t)(n - s->nnull) * phys_size(p);
    uint64_t b = 0;
    int64_t *codes = tl_xmalloc((size_t)n * 8 + 8);
    seg_scan(s, 0, 0, n, codes);
    for (uint32_t i = 0; i < n; i++)
        if (!seg_isnull(s, i)) b += tl_dict_get(t->dicts[c], (uint32_t)codes[i]).len;
    free(codes);
    return b;
}

/* ---- compaction ------------------------------------------------------------------------------ */

/* A sealed chunk is rewritten once half of its rows are deleted, and again whenever
 * another eighth of it has been since: below half, the rewrite rarely changes a
 * codec's width, and the bound keeps a chunk from being rewritten for every delete.
 * Row positions never move (constraint indexes, WAL delete items and snapshots name
 * rows by position), so a rewrite cannot drop rows: every deleted row takes the value
 * and NULL flag of the live row before it (the first live row's, for leading ones), so
 * runs lengthen, frames narrow to the live values (zone maps with them) and a chunk
 * deleted whole becomes constant segments of a header each. Columns hinted with
 * tl_table_hint_key keep their values: a snapshot re-inserts deleted rows' keys into
 * the primary-key index before deleting them again.
 *
 * The rewrite runs on the sealer thread, off the append path. The new segments go in
 * only at a moment when no reader is pinned: a reader whose snapshot predates the
 * deletes could otherwise read filled values for rows it still sees live; any reader
 * that pins later snapshots the delete map the rewrite used, or a newer one. Busy
 * tables are retried every 50 ms. */
#define COMPACT_MIN_DEL (TL_CHUNK_ROWS / 2)
#define COMPACT_STEP (TL_CHUNK_ROWS / 8)

static inline bool bm_get(const uint64_t *bm, uint32_t i)
{
    return (bm[i >> 6] >> (i & 63)) & 1;
}

/* The segment re-encoded with deleted rows filled, or NULL if that is no smaller. */
static seg_col *compact_seg(const seg_col *old, const uint64_t *bm)
{
    uint32_t n = old->n;
    if (old->nstreams == 0) return NULL; /* all NULL: a header already */
    uint8_t *nulls = tl_xmalloc(n);
    seg_nulls(old, 0, n, nulls);
    int64_t *st[SEG_MAX_STREAMS] = {0};
    for (int k = 0; k < old->nstreams; k++) {
        st[k] = tl_xmalloc((size_t)n * 8 + 8);
        seg_scan(old, k, 0, n, st[k]);
    }
    uint32_t src = 0;
    while (src < n && bm_get(bm, src)) src++;
    if (src == n) src = 0; /* all deleted: every row takes row 0's value */
    bool anynull = false;
    for (uint32_t i = 0; i < n; i++) {
        if (!bm_get(bm, i)) {
            src = i;
        } else if (i != src) {
            nulls[i] = nulls[src];
            for (int k = 0; k < old->nstreams; k++) st[k][i] = st[k][src];
        }
        anynull |= nulls[i];
    }
    seg_col *s = seg_build((seg_kind)old->kind, n, anynull ? nulls : NULL, st, old->nstreams);
    for (int k = 0; k < old->nstreams; k++) free(st[k]);
    free(nulls);
    if (s->len >= old->len) {
        seg_free(s);
        return NULL;
    }
    return s;
}

/* One chunk due for a rewrite (seal_mu held): its partition, index, a copy of its delete
 * bitmap and deleted count. */
static bool compact_pick(tl_table *t, part **ppt, uint32_t *pk, uint64_t *bm, uint32_t *pnd)
{
    for (uint32_t p = 0; p < t->seal_nparts; p++) {
        part *pt = t->parts[p];
        const tl_delmap *dm = __atomic_load_n(&pt->pub_dels, __ATOMIC_SEQ_CST);
        if (!dm) continue;
        uint32_t nk = __atomic_load_n(&pt->nsealed, __ATOMIC_ACQUIRE);
        if (nk > dm->nchunks) nk = dm->nchunks;
        for (uint32_t k = 0; k < nk; k++) {
            if (!dm->bm[k]) continue;
            uint32_t nd = 0;
            for (uint32_t w = 0; w < DEL_WORDS; w++) nd += (uint32_t)__builtin_popcountll(dm->bm[k][w]);
            if (nd < COMPACT_MIN_DEL || (pt->compacted[k] && nd < pt->compacted[k] + COMPACT_STEP)) continue;
            /* under seal_mu no publish can retire this map, so the copy is of live memory */
            memcpy(bm, dm->bm[k], DEL_WORDS * 8);
            *ppt = pt;
            *pk = k;
            *pnd = nd;
            return true;
        }
    }
    return false;
}

/* Rewrite one chunk due for it (seal_mu held; released while encoding). Returns 1 if
 * one was rewritten, 0 if none is due, -1 if one waits for a moment without readers. */
static int compact_one(tl_table *t)
{
    uint64_t bm[DEL_WORDS];
    part *pt;
    uint32_t k, nd;
    if (!compact_pick(t, &pt, &k, bm, &nd)) return 0;
    pthread_mutex_unlock(&t->seal_mu);
    seg_col **nsegs = tl_xcalloc((size_t)t->ncols + 1, sizeof *nsegs);
    for (int c = 0; c < t->ncols; c++)
        if (!t->keep[c]) nsegs[c] = compact_seg(pt->cols[c].segs[k], bm); /* only this thread swaps segs */
    pthread_mutex_lock(&t->seal_mu);
    int rc = 1;
    if (__atomic_load_n(&t->readers, __ATOMIC_SEQ_CST) != 0) {
        for (int c = 0; c < t->ncols; c++) seg_free(nsegs[c]);
        rc = -1;
    } else {
        for (int c = 0; c < t->ncols; c++) {
            if (!nsegs[c]) continue;
            pcol *pc = &pt->cols[c];
            seg_col *old = pc->segs[k];
            __atomic_store_n(&pc->segs[k], nsegs[c], __ATOMIC_SEQ_CST);
            __atomic_add_fetch(&t->seg_bytes, nsegs[c]->len + sizeof *nsegs[c], __ATOMIC_RELAXED);
            __atomic_sub_fetch(&t->seg_bytes, old->len + sizeof *old, __ATOMIC_RELAXED);
            retire(t, old->buf, old, NULL);
        }
        pt->compacted[k] = (uint16_t)(nd > UINT16_MAX ? UINT16_MAX : nd);
        __atomic_add_fetch(&t->compactions, 1, __ATOMIC_RELAXED);
    }
    free(nsegs);
    return rc;
}

/* Rewrite every chunk due (seal_mu held). Returns -1 if some wait for readers. */
static int compact_all(tl_table *t)
{
    while (t->compacting) pthread_cond_wait(&t->done_cv, &t->seal_mu);
    t->compacting = true;
    int rc;
    while ((rc = compact_one(t)) > 0 && !t->stop) {
    }
    t->compacting = false;
    pthread_cond_broadcast(&t->done_cv);
    return rc;
}

void tl_table_compact(tl_table *t)
{
    pthread_mutex_lock(&t->seal_mu);
    if (t->nparts > t->seal_nparts) t->seal_nparts = t->nparts;
    compact_all(t);
    retired *dead = reclaim(t);
    pthread_mutex_unlock(&t->seal_mu);
    free_list(dead);
}

bool tl_table_compaction_pending(tl_table *t)
{
    pthread_mutex_lock(&t->seal_mu);
    bool p = t->compact_check || t->compacting;
    pthread_mutex_unlock(&t->seal_mu);
    return p;
}

uint64_t tl_table_compactions(const tl_table *t)
{
    return __atomic_load_n(&t->compactions, __ATOMIC_RELAXED);
}

/* The sealer thread: encode the oldest requested chunk of any partition outside the
 * lock (the chunk is full and published, so nobody writes it any more), then swap the
 * segment in and retire the raw chunk under the lock. Appends never wait for encoding;
 * what they share with the sealer is seal_mu, held only for these pointer updates. */
static void *sealer_main(void *arg)
{
    tl_table *t = arg;
    pthread_mutex_lock(&t->seal_mu);
    for (;;) {
        part *pt = NULL;
        for (uint32_t p = 0; p < t->seal_nparts && !pt; p++)
            if (t->parts[p]->nsealed < t->parts[p]->seal_want) pt = t->parts[p];
        if (!pt) {
            pthread_cond_broadcast(&t->done_cv);
            if (t->stop) break;
            if (t->compact_check) {
                t->compact_check = false;
                if (compact_all(t) < 0) t->compact_check = true; /* readers: try again soon */
                retired *dead = reclaim(t);
                if (dead) {
                    pthread_mutex_unlock(&t->seal_mu);
                    free_list(dead);
                    pthread_mutex_lock(&t->seal_mu);
                }
                if (t->compact_check && !t->stop) {
                    struct timespec ts;
                    clock_gettime(CLOCK_REALTIME, &ts);
                    ts.tv_nsec += 50 * 1000000L;
                    if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                    }
                    pthread_cond_timedwait(&t->seal_cv, &t->seal_mu, &ts);
                }
                continue;
            }
            pthread_cond_wait(&t->seal_cv, &t->seal_mu);
            continue;
        }
        uint32_t k = pt->nsealed;
        pthread_mutex_unlock(&t->seal_mu);
        seg_col **segs = tl_xmalloc(sizeof *segs * (size_t)(t->ncols + 1));
        for (int c = 0; c < t->ncols; c++)
            segs[c] = seal_chunk(t, c, pt->cols[c].chunks[k], pt->cols[c].nulls[k], TL_CHUNK_ROWS);
        pthread_mutex_lock(&t->seal_mu);
        for (int c = 0; c < t->ncols; c++) {
            pcol *pc = &pt->cols[c];
            __atomic_store_n(&pc->segs[k], segs[c], __ATOMIC_SEQ_CST);
            __atomic_add_fetch(&t->seg_bytes, segs[c]->len + sizeof *segs[c], __ATOMIC_RELAXED);
            /* The slots keep their (soon dangling) pointers: a reader that loaded a NULL
             * segment just before the swap still finds the chunk, alive while it is pinned.
             * Nobody dereferences them once the segment is set. */
            retire(t, pc->chunks[k], pc->nulls[k], NULL);
        }
        __atomic_store_n(&pt->nsealed, k + 1, __ATOMIC_RELEASE);
        retired *dead = reclaim(t);
        pthread_mutex_unlock(&t->seal_mu);
        free(segs);
        free_list(dead);
        pthread_mutex_lock(&t->seal_mu);
    }
    pthread_mutex_unlock(&t->seal_mu);
    return NULL;
}

/* Ask for every full, published chunk to be sealed (seal_mu held); true if any is pending. */
static bool request_seal(tl_table *t)
{
    bool pending = false;
    t->seal_nparts = t->nparts;
    for (uint32_t p = 0; p < t->nparts; p++) {
        part *pt = t->parts[p];
        /* atomic: with group commit the WAL thread publishes row counts */
        uint32_t full = (uint32_t)(__atomic_load_n(&pt->pub_rows, __ATOMIC_ACQUIRE) >> TL_CHUNK_SHIFT);
        if (full > pt->seal_want) pt->seal_want = full;
        pending |= pt->nsealed < pt->seal_want;
    }
    if ((pending || t->compact_check) && !t->sealer_on) {
        if (pthread_create(&t->sealer, NULL, sealer_main, t) != 0) tl_panic("cannot start the sealer thread");
        t->sealer_on = true;
    }
    if (pending || t->compact_check) pthread_cond_signal(&t->seal_cv);
    return pending;
}

void tl_table_seal(tl_table *t)
{
    pthread_mutex_lock(&t->seal_mu);
    if (request_seal(t)) {
        for (;;) {
            bool pending = false;
            for (uint32_t p = 0; p < t->nparts; p++)
                pending |= t->parts[p]->nsealed < t->parts[p]->seal_want;
            if (!pending) break;
            pthread_cond_wait(&t->done_cv, &t->seal_mu);
        }
    }
    retired *dead = reclaim(t);
    pthread_mutex_unlock(&t->seal_mu);
    free_list(dead);
}

void tl_table_settle(tl_table *t)
{
    pthread_mutex_lock(&t->seal_mu);
    for (;;) {
        bool pending = false;
        for (uint32_t p = 0; p < t->seal_nparts; p++)
            pending |= t->parts[p]->nsealed < t->parts[p]->seal_want;
        if (!pending || !t->sealer_on) break;
        pthread_cond_wait(&t->done_cv, &t->seal_mu);
    }
    pthread_mutex_unlock(&t->seal_mu);
}

void tl_table_publish(tl_table *t)
{
    pthread_mutex_lock(&t->seal_mu);
    for (uint32_t p = 0; p < t->nparts; p++) {
        part *pt = t->parts[p];
        __atomic_store_n(&pt->pub_rows, pt->rows, __ATOMIC_RELEASE);
        if (pt->dels != pt->pub_dels) {
            tl_delmap *old = pt->pub_dels;
            t->compact_check = true;
            __atomic_store_n(&pt->pub_dels, pt->dels, __ATOMIC_SEQ_CST);
            if (old) {
                /* Bitmaps the new version replaced, then the old directory. */
                for (uint32_t k = 0; k < old->nchunks; k++)
                    if (old->bm[k] && !(k < pt->dels->nchunks && pt->dels->bm[k] == old->bm[k]))
                        retire(t, old->bm[k], NULL, NULL);
                retire(t, old, NULL, NULL);
            }
        }
    }
    __atomic_store_n(&t->pub_nparts, t->nparts, __ATOMIC_RELEASE);
    request_seal(t);
    retired *dead = reclaim(t);
    pthread_mutex_unlock(&t->seal_mu);
    free_list(dead);
}

int64_t tl_table_find_month(const tl_table *t, int32_t month)
{
    for (uint32_t p = 0; p < t->nparts; p++)
        if (t->parts[p]->month == month) return p;
    return -1;
}

uint64_t tl_table_part_rows(const tl_table *t, uint32_t pi)
{
    return pi < t->nparts ? t->parts[pi]->rows : 0;
}

void tl_table_publish_mark(tl_table *t, const tl_table_mark *m)
{
    for (uint32_t p = 0; p < m->nparts; p++)
        __atomic_store_n(&t->parts[p]->pub_rows, m->rows[p], __ATOMIC_RELEASE);
    __atomic_store_n(&t->pub_nparts, m->nparts, __ATOMIC_RELEASE);
    /* chunks filled by this batch are sealed in the background, as after a publish */
    pthread_mutex_lock(&t->seal_mu);
    request_seal(t);
    retired *dead = reclaim(t);
    pthread_mutex_unlock(&t->seal_mu);
    free_list(dead);
}

static void unpin_cb(void *t)
{
    tl_table_unpin(t);
}

void tl_table_snapshot(const tl_table *t, tl_table_snap *snap, tl_arena *a)
{
    /* The snapshot's memory holds a pin until the arena goes, so the delete maps and
     * tail chunks it can reach are not freed under it; pin before loading pointers. */
    tl_table_pin((tl_table *)t);
    tl_arena_on_free(a, unpin_cb, (void *)t);
    uint32_t np = __atomic_load_n(&t->pub_nparts, __ATOMIC_ACQUIRE);
    uint64_t *rows = tl_arena_alloc(a, sizeof *rows * (np ? np : 1));
    const tl_delmap **dels = tl_arena_alloc(a, sizeof *dels * (np ? np : 1));
    for (uint32_t p = 0; p < np; p++) {
        rows[p] = __atomic_load_n(&t->parts[p]->pub_rows, __ATOMIC_ACQUIRE);
        dels[p] = __atomic_load_n(&t->parts[p]->pub_dels, __ATOMIC_SEQ_CST);
    }
    snap->nparts = np;
    snap->rows = rows;
    snap->dels = dels;
}

void tl_table_snapshot_writer(const tl_table *t, tl_table_snap *snap, tl_arena *a)
{
    tl_table_pin((tl_table *)t);
    tl_arena_on_free(a, unpin_cb, (void *)t);
    uint32_t np = t->nparts;
    uint64_t *rows = tl_arena_alloc(a, sizeof *rows * (np ? np : 1));
    const tl_delmap **dels = tl_arena_alloc(a, sizeof *dels * (np ? np : 1));
    for (uint32_t p = 0; p < np; p++) {
        const part *pt = t->parts[p];
        rows[p] = pt->rows;
        const tl_delmap *m = pt->dels, *pub = pt->pub_dels;
        if (m == pub) {
            dels[p] = m; /* published: the pin keeps it */
            continue;
        }
        tl_delmap *c = tl_arena_alloc(a, sizeof *c + sizeof(uint64_t *) * (m->nchunks ? m->nchunks : 1));
        c->nchunks = m->nchunks;
        c->ndel = m->ndel;
        for (uint32_t k = 0; k < m->nchunks; k++) {
            if (!m->bm[k] || (pub && k < pub->nchunks && pub->bm[k] == m->bm[k])) {
                c->bm[k] = m->bm[k];
                continue;
            }
            c->bm[k] = tl_arena_alloc(a, DEL_WORDS * 8);
            memcpy(c->bm[k], m->bm[k], DEL_WORDS * 8);
        }
        dels[p] = c;
    }
    snap->nparts = np;
    snap->rows = rows;
    snap->dels = dels;
}

uint64_t tl_table_snap_total(const tl_table_snap *snap)
{
    uint64_t n = 0;
    for (uint32_t p = 0; p < snap->nparts; p++)
        n += snap->rows[p] - (snap->dels && snap->dels[p] ? snap->dels[p]->ndel : 0);
    return n;
}

/* ---- reading ------------------------------------------------------------------------------- */

/* Decode rows [off, off+m) of a sealed chunk into out[i..i+m). */
static void read_sealed(const tl_table *t, int c, const seg_col *s, uint32_t off, uint32_t m,
                        tl_vec *out, uint32_t i, bool *anynull, tl_arena *a)
{
    phys p = (phys)t->phys[c];
    *anynull |= seg_nulls(s, off, m, out->nulls + i);
    if (s->nstreams == 0) {
        memset((char *)out->d.raw + tl_vec_elem_size(out->type.id) * i, 0,
               tl_vec_elem_size(out->type.id) * m);
        if (p == P_CODE)
            for (uint32_t j = 0; j < m; j++) out->d.s[i + j] = (tl_str){"", 0};
        return;
    }
    if (p == P_I32 || p == P_I64) {
        seg_scan(s, 0, off, m, out->d.i + i);
        if (t->types[c].id == TL_OID)
            for (uint32_t j = 0; j < m; j++) out->d.i[i + j] = (uint32_t)out->d.i[i + j];
        return;
    }
    if (p == P_F64) {
        seg_scan(s, 0, off, m, (int64_t *)(void *)(out->d.f + i));
        return;
    }
    int64_t *tmp[SEG_MAX_STREAMS];
    for (int k = 0; k < s->nstreams; k++) {
        tmp[k] = tl_arena_alloc(a, (size_t)m * 8 + 8);
        seg_scan(s, k, off, m, tmp[k]);
    }
    const uint8_t *nl = out->nulls + i;
    switch (p) {
    case P_U8:
        for (uint32_t j = 0; j < m; j++) out->d.b[i + j] = (uint8_t)tmp[0][j];
        break;
    case P_CODE:
        for (uint32_t j = 0; j < m; j++)
            out->d.s[i + j] = nl[j] ? (tl_str){"", 0} : tl_dict_get(t->dicts[c], (uint32_t)tmp[0][j]);
        break;
    case P_UCODE:
        for (uint32_t j = 0; j < m; j++) {
            if (nl[j]) memset(&out->d.u[i + j], 0, 16);
            else memcpy(out->d.u[i + j].b, tl_dict_get(t->dicts[c], (uint32_t)tmp[0][j]).ptr, 16);
        }
        break;
    case P_UUID:
        for (uint32_t j = 0; j < m; j++) {
            memcpy(out->d.u[i + j].b, &tmp[0][j], 8);
            memcpy(out->d.u[i + j].b + 8, &tmp[1][j], 8);
        }
        break;
    case P_IV:
        for (uint32_t j = 0; j < m; j++)
            out->d.iv[i + j] = (tl_interval){.us = tmp[0][j], .days = (int32_t)tmp[1][j],
                                             .months = (int32_t)tmp[2][j]};
        break;
    case P_NUM:
        for (uint32_t j = 0; j < m; j++) {
            tl_numeric *n = &out->d.n[i + j];
            int64_t sc = s->kind == SK_NUM64 ? tmp[1][j] : tmp[2][j];
            memset(n, 0, sizeof *n);
            if (nl[j]) continue;
            if (s->kind == SK_NUM64) n->mant = tmp[0][j];
            else n->mant = (tl_i128)(((tl_u128)(uint64_t)tmp[0][j] << 64) | (uint64_t)tmp[1][j]);
            n->nan = sc < 0;
            n->scale = (int16_t)(sc < 0 ? 0 : sc);
        }
        break;
    default: break;
    }
}

static void read_raw(const tl_table *t, int c, const void *chunk, const uint8_t *nulls, uint32_t off,
                     uint32_t m, tl_vec *out, uint32_t i, bool *anynull)
{
    phys p = (phys)t->phys[c];
    const uint8_t *nl = nulls + off;
    memcpy(out->nulls + i, nl, m);
    for (uint32_t j = 0; j < m && !*anynull; j++) *anynull |= nl[j];
    const char *src = (const char *)chunk + (size_t)off * phys_size(p);
    switch (p) {
    case P_U8: memcpy(out->d.b + i, src, m); break;
    case P_I32:
        for (uint32_t j = 0; j < m; j++) out->d.i[i + j] = ((const int32_t *)src)[j];
        if (t->types[c].id == TL_OID)
            for (uint32_t j = 0; j < m; j++) out->d.i[i + j] = (uint32_t)((const int32_t *)src)[j];
        break;
    case P_I64: memcpy(out->d.i + i, src, (size_t)m * 8); break;
    case P_F64: memcpy(out->d.f + i, src, (size_t)m * 8); break;
    case P_NUM: memcpy(out->d.n + i, src, (size_t)m * sizeof(tl_numeric)); break;
    case P_UUID: memcpy(out->d.u + i, src, (size_t)m * 16); break;
    case P_IV: memcpy(out->d.iv + i, src, (size_t)m * sizeof(tl_interval)); break;
    case P_CODE:
        for (uint32_t j = 0; j < m; j++)
            out->d.s[i + j] = nl[j] ? (tl_str){"", 0} : tl_dict_get(t->dicts[c], ((const uint32_t *)src)[j]);
        break;
    case P_UCODE:
        for (uint32_t j = 0; j < m; j++) {
            if (nl[j]) memset(&out->d.u[i + j], 0, 16);
            else memcpy(out->d.u[i + j].b, tl_dict_get(t->dicts[c], ((const uint32_t *)src)[j]).ptr, 16);
        }
        break;
    }
}

void tl_table_read(const tl_table *t, uint32_t pi, int c, uint64_t start, uint32_t n, tl_vec *out,
                   tl_arena *a)
{
    const pcol *pc = &t->parts[pi]->cols[c];
    tl_vec_alloc(out, t->types[c], n, a);
    out->n = n;
    bool anynull = false;
    uint32_t i = 0;
    while (i < n) {
        uint64_t row = start + i;
        uint32_t k = (uint32_t)(row >> TL_CHUNK_SHIFT), off = (uint32_t)(row & (TL_CHUNK_ROWS - 1));
        uint32_t m = TL_CHUNK_ROWS - off;
        if (m > n - i) m = n - i;
        const seg_col *s = __atomic_load_n(&pc->segs[k], __ATOMIC_SEQ_CST);
        if (s) read_sealed(t, c, s, off, m, out, i, &anynull, a);
        else read_raw(t, c, pc->chunks[k], pc->nulls[k], off, m, out, i, &anynull);
        i += m;
    }
    if (!anynull) out->nulls = NULL;
}

static void table_get(const tl_table *t, uint32_t pi, int c, uint64_t row, tl_datum *out);

/* Pinned: the writer calls this without a snapshot (constraint checks) while the
 * sealer may swap the row's chunk for a segment and free the chunk. */
void tl_table_get(const tl_table *t, uint32_t pi, int c, uint64_t row, tl_datum *out)
{
    tl_table_pin((tl_table *)t);
    table_get(t, pi, c, row, out);
    tl_table_unpin((tl_table *)t);
}

static void table_get(const tl_table *t, uint32_t pi, int c, uint64_t row, tl_datum *out)
{
    tl_arena a;
    tl_vec v;
    const pcol *pc = &t->parts[pi]->cols[c];
    uint32_t k = (uint32_t)(row >> TL_CHUNK_SHIFT);
    const seg_col *s = __atomic_load_n(&pc->segs[k], __ATOMIC_SEQ_CST);
    memset(out, 0, sizeof *out);
    if (!s) {
        uint32_t off = (uint32_t)(row & (TL_CHUNK_ROWS - 1));
        if (pc->nulls[k][off]) {
            out->isnull = true;
            return;
        }
        phys p = (phys)t->phys[c];
        const char *src = (const char *)pc->chunks[k] + (size_t)off * phys_size(p);
        switch (p) {
        case P_U8: out->v.b = *(const uint8_t *)src; return;
        case P_I32:
            out->v.i = t->types[c].id == TL_OID ? (int64_t)*(const uint32_t *)src : *(const int32_t *)src;
            return;
        case P_I64: out->v.i = *(const int64_t *)src; return;
        case P_F64: out->v.f = *(const double *)src; return;
        case P_NUM: out->v.n = *(const tl_numeric *)src; return;
        case P_UUID: out->v.u = *(const tl_uuid *)src; return;
        case P_IV: out->v.iv = *(const tl_interval *)src; return;
        case P_CODE: out->v.s = tl_dict_get(t->dicts[c], *(const uint32_t *)src); return;
        case P_UCODE:
            memcpy(out->v.u.b, tl_dict_get(t->dicts[c], *(const uint32_t *)src).ptr, 16);
            return;
        }
    }
    /* Sealed: one value straight from the streams (primary-key probes and grows fetch
     * keys this way); the wider kinds through the vector path. */
    uint32_t off = (uint32_t)(row & (TL_CHUNK_ROWS - 1));
    if (seg_isnull(s, off)) {
        out->isnull = true;
        return;
    }
    switch ((phys)t->phys[c]) {
    case P_U8: out->v.b = seg_fetch(s, 0, off) != 0; return;
    case P_I32: {
        int64_t x = seg_fetch(s, 0, off);
        out->v.i = t->types[c].id == TL_OID ? (int64_t)(uint32_t)x : x;
        return;
    }
    case P_I64: out->v.i = seg_fetch(s, 0, off); return;
    case P_F64: {
        int64_t bits = seg_fetch(s, 0, off);
        memcpy(&out->v.f, &bits, 8);
        return;
    }
    case P_CODE: out->v.s = tl_dict_get(t->dicts[c], (uint32_t)seg_fetch(s, 0, off)); return;
    case P_UCODE: memcpy(out->v.u.b, tl_dict_get(t->dicts[c], (uint32_t)seg_fetch(s, 0, off)).ptr, 16); return;
    case P_UUID: {
        int64_t hi = seg_fetch(s, 0, off), lo = seg_fetch(s, 1, off);
        memcpy(out->v.u.b, &hi, 8);
        memcpy(out->v.u.b + 8, &lo, 8);
        return;
    }
    default: break;
    }
    tl_arena_init(&a);
    tl_table_read(t, pi, c, row, 1, &v, &a);
    tl_vec_get(&v, 0, out);
    tl_arena_free(&a);
}

uint32_t tl_table_get_code(const tl_table *t, uint32_t pi, int c, uint64_t row)
{
    const pcol *pc = &t->parts[pi]->cols[c];
    uint32_t k = (uint32_t)(row >> TL_CHUNK_SHIFT), off = (uint32_t)(row & (TL_CHUNK_ROWS - 1));
    tl_table_pin((tl_table *)t); /* as tl_table_get */
    const seg_col *s = __atomic_load_n(&pc->segs[k], __ATOMIC_SEQ_CST);
    uint32_t code = s ? (uint32_t)seg_fetch(s, 0, off) : ((const uint32_t *)pc->chunks[k])[off];
    tl_table_unpin((tl_table *)t);
    return code;
}

/* Pages a tail's rows occupy in one column: tail chunks are allocated whole, but the
 * kernel backs only the pages written, so count what the rows take, not the capacity. */
static uint64_t tail_bytes(const tl_table *t, int c, uint64_t rows)
{
    return ((phys_size((phys)t->phys[c]) + 1) * rows + 4095) & ~(uint64_t)4095;
}

size_t tl_table_delete_bytes(const tl_table *t)
{
    size_t b = 0;
    uint32_t np = __atomic_load_n(&t->pub_nparts, __ATOMIC_ACQUIRE);
    for (uint32_t p = 0; p < np; p++) {
        const tl_delmap *m = __atomic_load_n(&t->parts[p]->pub_dels, __ATOMIC_SEQ_CST);
        if (!m) continue;
        b += sizeof *m + m->nchunks * sizeof(void *);
        for (uint32_t k = 0; k < m->nchunks; k++) b += m->bm[k] ? DEL_WORDS * 8 : 0;
    }
    return b;
}

size_t tl_table_bytes(const tl_table *t)
{
    tl_table_settle((tl_table *)t);
    size_t b = __atomic_load_n(&t->seg_bytes, __ATOMIC_RELAXED);
    for (uint32_t p = 0; p < t->nparts; p++) {
        uint64_t tail = t->parts[p]->rows -
                        (uint64_t)__atomic_load_n(&t->parts[p]->nsealed, __ATOMIC_ACQUIRE) * TL_CHUNK_ROWS;
        for (int c = 0; c < t->ncols; c++) {
            uint64_t left = tail;
            while (left) { /* full unsealed chunks, then the last */
                uint64_t r = left > TL_CHUNK_ROWS ? TL_CHUNK_ROWS : left;
                b += tail_bytes(t, c, r);
                left -= r;
            }
        }
    }
    b += tl_table_delete_bytes(t);
    for (int c = 0; c < t->ncols; c++)
        if (t->dicts[c]) b += tl_dict_bytes(t->dicts[c]);
    return b;
}

/* ---- deletes ------------------------------------------------------------------------------- */

static bool del_bit(const tl_delmap *m, uint64_t row)
{
    uint32_t k = (uint32_t)(row >> TL_CHUNK_SHIFT), off = (uint32_t)(row & (TL_CHUNK_ROWS - 1));
    if (!m || k >= m->nchunks || !m->bm[k]) return false;
    return (m->bm[k][off >> 6] >> (off & 63)) & 1;
}

uint64_t tl_table_snap_ndel(const tl_table_snap *snap, uint32_t pi)
{
    return snap->dels && snap->dels[pi] ? snap->dels[pi]->ndel : 0;
}

bool tl_table_snap_is_deleted(const tl_table_snap *snap, uint32_t pi, uint64_t row)
{
    return snap->dels && del_bit(snap->dels[pi], row);
}

bool tl_table_is_deleted(const tl_table *t, uint32_t pi, uint64_t row)
{
    return del_bit(t->parts[pi]->dels, row);
}

bool tl_table_delete(tl_table *t, uint32_t pi, uint64_t row)
{
    part *pt = t->parts[pi];
    if (del_bit(pt->dels, row)) return false;
    uint32_t k = (uint32_t)(row >> TL_CHUNK_SHIFT), off = (uint32_t)(row & (TL_CHUNK_ROWS - 1));
    uint32_t need = (uint32_t)((pt->rows + TL_CHUNK_ROWS - 1) >> TL_CHUNK_SHIFT);
    if (need <= k) need = k + 1;
    tl_delmap *m = pt->dels;
    if (m == pt->pub_dels || m->nchunks < need) {
        /* First delete of this statement in this partition (or the partition grew): a new
         * directory sharing the published bitmaps, copied on write below. */
        tl_delmap *nm = tl_xcalloc(1, sizeof *nm + sizeof(uint64_t *) * need);
        nm->nchunks = need;
        if (m) {
            memcpy(nm->bm, m->bm, sizeof(uint64_t *) * m->nchunks);
            nm->ndel = m->ndel;
            if (m != pt->pub_dels) free(m);
        }
        pt->dels = m = nm;
    }
    const tl_delmap *pub = pt->pub_dels;
    if (!m->bm[k] || (pub && k < pub->nchunks && pub->bm[k] == m->bm[k])) {
        uint64_t *bm = tl_xcalloc(DEL_WORDS, 8);
        if (m->bm[k]) memcpy(bm, m->bm[k], DEL_WORDS * 8);
        m->bm[k] = bm;
    }
    m->bm[k][off >> 6] |= UINT64_C(1) << (off & 63);
    m->ndel++;
    return true;
}

/* ---- predicates on encoded data --------------------------------------------------------------- */

char tl_table_pred_domain(const tl_table *t, int col)
{
    switch ((phys)t->phys[col]) {
    case P_U8: case P_I64: return 'i';
    case P_I32: return t->types[col].id == TL_OID || t->types[col].id == TL_ENUM ? 0 : 'i';
    case P_UCODE: return 'c';
    case P_CODE: {
        /* Byte equality of codes is SQL equality only for these (bpchar ignores trailing
         * blanks, json keeps whitespace, jsonb compares semantically). */
        tl_type_id id = t->types[col].id;
        return id == TL_TEXT || id == TL_VARCHAR || id == TL_NAME ? 'c' : 0;
    }
    default: return 0;
    }
}

int64_t tl_table_lookup_code(const tl_table *t, int col, const char *s, uint32_t len)
{
    if (!t->dicts[col]) return -1;
    return tl_dict_find_shared(t->dicts[col], s, len);
}

static bool range_overlaps(const tl_scan_pred *p, int64_t lo, int64_t hi)
{
    if (p->kind == TL_PRED_RANGE) return !(p->hi < lo || p->lo > hi);
    if (p->kind == TL_PRED_IN) {
        for (uint32_t i = 0; i < p->nin; i++)
            if (p->in[i] >= lo && p->in[i] <= hi) return true;
        return false;
    }
    return true;
}

/* Whether the partition's month can hold rows matching p (p on the partitioning date). */
static bool month_may_match(const tl_table *t, const part *pt, const tl_scan_pred *p)
{
    if (p->col != t->part_col) return true;
    if (pt->month == INT32_MIN) return p->kind == TL_PRED_ISNULL;
    if (p->kind == TL_PRED_ISNULL) return false;
    int y = 2000 + (pt->month >= 0 ? pt->month / 12 : -((-pt->month + 11) / 12));
    int mo = pt->month - (y - 2000) * 12 + 1;
    int64_t first = tl_ymd_to_date(y, mo, 1);
    int64_t last = (mo == 12 ? tl_ymd_to_date(y + 1, 1, 1) : tl_ymd_to_date(y, mo + 1, 1)) - 1;
    return range_overlaps(p, first, last);
}

static bool seg_may_match(const seg_col *s, const tl_scan_pred *p)
{
    switch (p->kind) {
    case TL_PRED_FALSE: return false;
    case TL_PRED_ISNULL: return s->nnull > 0;
    case TL_PRED_NOTNULL: return s->nnull < s->n;
    default:
        if (s->nnull == s->n) return false;
        return !s->zone_valid || range_overlaps(p, s->zmin, s->zmax);
    }
}

uint64_t tl_table_skip(const tl_table *t, const tl_table_snap *snap, uint32_t pi, uint64_t row,
                       const tl_scan_pred *preds, int npreds)
{
    const part *pt = t->parts[pi];
    uint64_t end = snap->rows[pi];
    for (int i = 0; i < npreds; i++)
        if (preds[i].kind == TL_PRED_FALSE || !month_may_match(t, pt, &preds[i])) return end;
    while (row < end) {
        uint32_t k = (uint32_t)(row >> TL_CHUNK_SHIFT);
        bool ok = true;
        for (int i = 0; i < npreds && ok; i++) {
            const seg_col *s = __atomic_load_n(&pt->cols[preds[i].col].segs[k], __ATOMIC_SEQ_CST);
            if (s) ok = seg_may_match(s, &preds[i]);
        }
        if (ok) return row;
        row = (uint64_t)(k + 1) << TL_CHUNK_SHIFT;
    }
    return end;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool in_list(const tl_scan_pred *p, int64_t v)
{
    return bsearch(&v, p->in, p->nin, sizeof v, cmp_i64) != NULL;
}

/* keep[j] &= pred(row off+j) for m rows of one chunk. */
static void pred_chunk(const tl_table *t, const part *pt, const tl_scan_pred *p, uint32_t k,
                       uint32_t off, uint32_t m, uint8_t *keep, int64_t *tmp)
{
    const pcol *pc = &pt->cols[p->col];
    const seg_col *s = __atomic_load_n(&pc->segs[k], __ATOMIC_SEQ_CST);
    if (p->kind == TL_PRED_FALSE) {
        memset(keep, 0, m);
        return;
    }
    uint8_t nl[TL_VEC_SIZE];
    bool anynull = true; /* a sealed segment without NULLs skips the NULL pass */
    if (s) anynull = seg_nulls(s, off, m, nl);
    else memcpy(nl, pc->nulls[k] + off, m);
    if (p->kind == TL_PRED_ISNULL || p->kind == TL_PRED_NOTNULL) {
        uint8_t want = p->kind == TL_PRED_ISNULL;
        for (uint32_t j = 0; j < m; j++) keep[j] &= (uint8_t)(nl[j] == want);
        return;
    }
    if (anynull)
        for (uint32_t j = 0; j < m; j++) keep[j] &= (uint8_t)(nl[j] ^ 1);
    if (s && s->nstreams && p->kind == TL_PRED_RANGE) {
        /* On the packed form: no decode of the column. */
        enc_by_id(s->s[0].id)->filter(&s->s[0], off, m, p->lo, p->hi, keep);
        return;
    }
    if (s) {
        if (!s->nstreams) return;
        seg_scan(s, 0, off, m, tmp);
    } else {
        /* one loop per width, not a switch per row */
        const char *src = (const char *)pc->chunks[k];
        switch ((phys)t->phys[p->col]) {
        case P_U8:
            for (uint32_t j = 0; j < m; j++) tmp[j] = ((const uint8_t *)src)[off + j];
            break;
        case P_I32:
            for (uint32_t j = 0; j < m; j++) tmp[j] = ((const int32_t *)src)[off + j];
            break;
        case P_I64: memcpy(tmp, (const int64_t *)src + off, (size_t)m * 8); break;
        case P_CODE: case P_UCODE:
            for (uint32_t j = 0; j < m; j++) tmp[j] = ((const uint32_t *)src)[off + j];
            break;
        default: memset(tmp, 0, (size_t)m * 8); break;
        }
    }
    if (p->kind == TL_PRED_RANGE) {
        for (uint32_t j = 0; j < m; j++) keep[j] &= (uint8_t)(tmp[j] >= p->lo && tmp[j] <= p->hi);
    } else {
        for (uint32_t j = 0; j < m; j++)
            if (keep[j]) keep[j] = in_list(p, tmp[j]);
    }
}

uint32_t tl_table_select(const tl_table *t, const tl_table_snap *snap, uint32_t pi, uint64_t start,
                         uint32_t n, const tl_scan_pred *preds, int npreds, uint32_t *sel)
{
    const part *pt = t->parts[pi];
    const tl_delmap *dm = snap->dels ? snap->dels[pi] : NULL;
    uint8_t keep[TL_VEC_SIZE];
    int64_t tmp[TL_VEC_SIZE + 1];
    memset(keep, 1, n);
    uint32_t i = 0;
    while (i < n) {
        uint64_t row = start + i;
        uint32_t k = (uint32_t)(row >> TL_CHUNK_SHIFT), off = (uint32_t)(row & (TL_CHUNK_ROWS - 1));
        uint32_t m = TL_CHUNK_ROWS - off;
        if (m > n - i) m = n - i;
        if (dm && k < dm->nchunks && dm->bm[k])
            for (uint32_t j = 0; j < m; j++)
                keep[i + j] &= (uint8_t)!((dm->bm[k][(off + j) >> 6] >> ((off + j) & 63)) & 1);
        for (int q = 0; q < npreds; q++) pred_chunk(t, pt, &preds[q], k, off, m, keep + i, tmp);
        i += m;
    }
    /* eight keep bytes at a time: runs of unselected rows cost a load each */
    uint32_t ns = 0, j = 0;
    for (; j + 8 <= n; j += 8) {
        uint64_t w;
        memcpy(&w, keep + j, 8);
        if (!w) continue;
        for (uint32_t b = 0; b < 8; b++) {
            sel[ns] = j + b;
            ns += keep[j + b];
        }
    }
    for (; j < n; j++) {
        sel[ns] = j;
        ns += keep[j];
    }
    return ns;
}

/* ---- statistics ------------------------------------------------------------------------------ */

void tl_table_storage_stats(const tl_table *t, void (*fn)(void *arg, const tl_storage_stat *st),
                            void *arg)
{
    tl_table_settle((tl_table *)t);
    uint32_t np = __atomic_load_n(&t->pub_nparts, __ATOMIC_ACQUIRE);
    for (uint32_t p = 0; p < np; p++) {
        const part *pt = t->parts[p];
        uint64_t rows = __atomic_load_n(&pt->pub_rows, __ATOMIC_ACQUIRE);
        for (int c = 0; c < t->ncols; c++) {
            tl_storage_stat acc[ENC_NCODECS + 2];
            memset(acc, 0, sizeof acc);
            const pcol *pc = &pt->cols[c];
            uint32_t nk = (uint32_t)((rows + TL_CHUNK_ROWS - 1) >> TL_CHUNK_SHIFT);
            for (uint32_t k = 0; k < nk; k++) {
                const seg_col *s = __atomic_load_n(&pc->segs[k], __ATOMIC_SEQ_CST);
                tl_storage_stat *a;
                if (s) {
                    a = &acc[s->nstreams ? s->s[0].id : 0];
                    a->encoding = seg_encoding_name(s);
                    a->rows += s->n;
                    a->raw_bytes += chunk_raw_bytes(t, c, s, s->n);
                    a->stored_bytes += s->len + sizeof *s;
                } else {
                    a = &acc[ENC_NCODECS + 1];
                    a->encoding = "tail";
                    uint64_t r = rows - ((uint64_t)k << TL_CHUNK_SHIFT);
                    if (r > TL_CHUNK_ROWS) r = TL_CHUNK_ROWS;
                    a->rows += r;
                    a->raw_bytes += r * phys_size((phys)t->phys[c]);
                    a->stored_bytes += tail_bytes(t, c, r);
                }
                a->segments++;
            }
            for (size_t e = 0; e < TL_ARRAY_LEN(acc); e++) {
                if (!acc[e].segments) continue;
                acc[e].part = p;
                acc[e].col = c;
                fn(arg, &acc[e]);
            }
        }
    }
}
