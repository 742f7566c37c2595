/*
 * ingest.c — the write path's validation and atomicity. A batch is appended to the
 * tables first (invisible to readers), then checked row by row against NOT NULL,
 * primary keys and foreign keys; the first violation truncates every table of the
 * statement back to where it started and removes the key entries it added, so a
 * failed COPY of a million rows leaves nothing behind. Success publishes all tables
 * at one epoch.
 *
 * Primary keys are a hash index of row locations (12 bytes a row): the key values stay
 * in the columns and are compared from there, so the index costs no second copy.
 */
#include "engine_int.h"
#include "tl_rollup.h"
#include "tl_vecio.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- primary-key index ----------------------------------------------------------- */

/* Open addressing with linear probing over 5 bytes a slot: a 32-bit row id and 8 bits
 * of the key's hash (so a probe fetches the stored key only on a tag match, ~1/256 of
 * the others). The key itself stays in the table's column (the 16-byte uuid keys are
 * not copied), and so does everything else: a grow rehashes from the stored keys.
 * Sizes are not powers of two (home slot = multiply-shift of the hash), so the load
 * stays between 0.53 and 0.8 instead of 0.35-0.7: at 10M uuid keys this is ~7 bytes a
 * row where the former 12-byte slots with a stored hash took 20.
 *
 * Row ids: partitions grow independently, so a row id is a global chunk number (given
 * to a partition's 16Ki-row chunk the first time one of its rows is indexed) times
 * TL_CHUNK_ROWS plus the offset; two small arrays map it back to (partition, row). */

#define SLOT_EMPTY 0u
#define SLOT_TOMB UINT32_MAX
#define PK_MAX_GCHUNKS ((UINT32_MAX >> TL_CHUNK_SHIFT) - 1)

struct tl_pkindex {
    uint32_t *slots; /* row id + 1; SLOT_EMPTY or SLOT_TOMB */
    uint8_t *tags;
    uint32_t nslots;
    uint32_t used;   /* live + tombstones */
    uint32_t ngc, capgc;
    uint32_t *gc_part, *gc_chunk; /* global chunk -> partition, chunk within it */
    uint32_t npmap;
    uint32_t **pmap;  /* per partition: chunk -> global chunk + 1 (0 = none yet) */
    uint32_t *pmap_n;
};

tl_pkindex *tl_pkindex_new(void)
{
    tl_pkindex *ix = tl_xcalloc(1, sizeof *ix);
    ix->nslots = 1024;
    ix->slots = tl_xcalloc(ix->nslots, sizeof *ix->slots);
    ix->tags = tl_xcalloc(ix->nslots, 1);
    return ix;
}

void tl_pkindex_free(tl_pkindex *ix)
{
    if (!ix) return;
    free(ix->slots);
    free(ix->tags);
    free(ix->gc_part);
    free(ix->gc_chunk);
    for (uint32_t p = 0; p < ix->npmap; p++) free(ix->pmap[p]);
    free(ix->pmap);
    free(ix->pmap_n);
    free(ix);
}

size_t tl_catalog_index_bytes(const tl_rel *r)
{
    /* Read by system views while the writer may grow the table: nslots is one word,
     * and a stale size is as good as PostgreSQL's own statistics. */
    if (!r->pkidx) return 0;
    size_t n = __atomic_load_n(&r->pkidx->nslots, __ATOMIC_RELAXED);
    size_t gc = __atomic_load_n(&r->pkidx->capgc, __ATOMIC_RELAXED);
    return sizeof *r->pkidx + n * (sizeof(uint32_t) + 1) + gc * 16;
}

/* Row id of (part, row), giving its chunk a global number if it has none. */
static uint32_t pk_rowid(tl_pkindex *ix, uint32_t part, uint32_t row)
{
    uint32_t k = row >> TL_CHUNK_SHIFT;
    if (part >= ix->npmap) {
        uint32_t n = part + 1 > ix->npmap * 2 ? part + 1 : ix->npmap * 2;
        ix->pmap = tl_xrealloc(ix->pmap, sizeof *ix->pmap * n);
        ix->pmap_n = tl_xrealloc(ix->pmap_n, sizeof *ix->pmap_n * n);
        for (uint32_t p = ix->npmap; p < n; p++) {
            ix->pmap[p] = NULL;
            ix->pmap_n[p] = 0;
        }
        ix->npmap = n;
    }
    if (k >= ix->pmap_n[part]) {
        uint32_t n = k + 1 > ix->pmap_n[part] * 2 ? k + 1 : ix->pmap_n[part] * 2;
        ix->pmap[part] = tl_xrealloc(ix->pmap[part], sizeof **ix->pmap * n);
        memset(ix->pmap[part] + ix->pmap_n[part], 0, sizeof **ix->pmap * (n - ix->pmap_n[part]));
        ix->pmap_n[part] = n;
    }
    uint32_t g1 = ix->pmap[part][k];
    if (!g1) {
        if (ix->ngc >= PK_MAX_GCHUNKS) tl_panic("primary-key index: more than 2^32 rows");
        if (ix->ngc == ix->capgc) {
            uint32_t cap = ix->capgc ? ix->capgc * 2 : 64;
            ix->gc_part = tl_xrealloc(ix->gc_part, sizeof *ix->gc_part * cap);
            ix->gc_chunk = tl_xrealloc(ix->gc_chunk, sizeof *ix->gc_chunk * cap);
            __atomic_store_n(&ix->capgc, cap, __ATOMIC_RELAXED);
        }
        ix->gc_part[ix->ngc] = part;
        ix->gc_chunk[ix->ngc] = k;
        g1 = ++ix->ngc;
        ix->pmap[part][k] = g1;
    }
    return ((g1 - 1) << TL_CHUNK_SHIFT) | (row & (TL_CHUNK_ROWS - 1));
}

static void pk_loc(const tl_pkindex *ix, uint32_t id, uint32_t *part, uint32_t *row)
{
    uint32_t g = id >> TL_CHUNK_SHIFT;
    *part = ix->gc_part[g];
    *row = (ix->gc_chunk[g] << TL_CHUNK_SHIFT) | (id & (TL_CHUNK_ROWS - 1));
}

static uint64_t key_hash(const tl_rel *r, const int *cols, int n, const tl_datum *vals)
{
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < n; i++) {
        tl_type_id t = r->atts[cols[i]].type.id;
        h = (h ^ tl_datum_hash(t, &vals[i])) * 0x100000001B3ull;
        h ^= h >> 29;
    }
    return h;
}

static void row_key(const tl_rel *r, const int *cols, int n, uint32_t part, uint64_t row, tl_datum *vals);

static uint64_t row_hash(const tl_rel *r, const tl_pkindex *ix, uint32_t id)
{
    tl_datum vals[TL_MAX_KEY_COLS];
    uint32_t part, row;
    pk_loc(ix, id, &part, &row);
    row_key(r, r->pk, r->npk, part, row, vals);
    return key_hash(r, r->pk, r->npk, vals);
}

static inline uint32_t pk_home(const tl_pkindex *ix, uint64_t h)
{
    return (uint32_t)(((h >> 32) * (uint64_t)ix->nslots) >> 32);
}

static inline uint8_t pk_tag(uint64_t h)
{
    return (uint8_t)(h >> 8);
}

/* Rehash into 1.5 times the slots, keys read back from the table; tombstones go. */
static void pk_grow(const tl_rel *r, tl_pkindex *ix)
{
    uint32_t old_n = ix->nslots, *old = ix->slots;
    uint64_t n = (uint64_t)old_n * 3 / 2;
    if (n > UINT32_MAX / 2) tl_panic("primary-key index too large");
    ix->slots = tl_xcalloc(n, sizeof *ix->slots);
    free(ix->tags);
    ix->tags = tl_xcalloc(n, 1);
    ix->used = 0;
    __atomic_store_n(&ix->nslots, (uint32_t)n, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i < old_n; i++) {
        if (old[i] == SLOT_EMPTY || old[i] == SLOT_TOMB) continue;
        uint64_t h = row_hash(r, ix, old[i] - 1);
        uint32_t j = pk_home(ix, h);
        while (ix->slots[j] != SLOT_EMPTY) j = j + 1 == ix->nslots ? 0 : j + 1;
        ix->slots[j] = old[i];
        ix->tags[j] = pk_tag(h);
        ix->used++;
    }
    free(old);
}

static bool key_equal_row(const tl_rel *r, const int *cols, int n, const tl_datum *vals,
                          uint32_t part, uint32_t row)
{
    for (int i = 0; i < n; i++) {
        tl_datum d;
        tl_table_get(r->data, part, cols[i], row, &d);
        if (d.isnull || tl_datum_cmp(r->atts[cols[i]].type.id, &d, &vals[i]) != 0) return false;
    }
    return true;
}

/* Find the slot holding this key; returns its index or -1, and in *ins the slot where
 * a new entry would go. */
static int64_t pk_find(const tl_rel *r, const tl_pkindex *ix, const int *cols, int n,
                       const tl_datum *vals, uint64_t h, uint32_t *ins)
{
    uint32_t j = pk_home(ix, h);
    uint8_t tag = pk_tag(h);
    int64_t first_tomb = -1;
    for (;;) {
        uint32_t s = ix->slots[j];
        if (s == SLOT_EMPTY) break;
        if (s == SLOT_TOMB) {
            if (first_tomb < 0) first_tomb = j;
        } else if (ix->tags[j] == tag) {
            uint32_t part, row;
            pk_loc(ix, s - 1, &part, &row);
            if (key_equal_row(r, cols, n, vals, part, row)) return j;
        }
        j = j + 1 == ix->nslots ? 0 : j + 1;
    }
    if (ins) *ins = first_tomb >= 0 ? (uint32_t)first_tomb : j;
    return -1;
}

/* Partition of the row a slot points at. */
static uint32_t pk_slot_part(const tl_pkindex *ix, int64_t slot)
{
    return ix->gc_part[(ix->slots[slot] - 1) >> TL_CHUNK_SHIFT];
}

/* Put row id `id` (whose key hashes to h) into the index; the key must be absent. */
static void pk_put(const tl_rel *r, tl_pkindex *ix, uint32_t id, uint64_t h)
{
    if ((uint64_t)(ix->used + 1) * 5 > (uint64_t)ix->nslots * 4) pk_grow(r, ix);
    uint32_t j = pk_home(ix, h);
    while (ix->slots[j] != SLOT_EMPTY && ix->slots[j] != SLOT_TOMB) j = j + 1 == ix->nslots ? 0 : j + 1;
    if (ix->slots[j] == SLOT_EMPTY) ix->used++;
    ix->slots[j] = id + 1;
    ix->tags[j] = pk_tag(h);
}

/* Tombstone the slot holding row id `id` (whose key hashes to h), if any. */
static void pk_remove_id(tl_pkindex *ix, uint32_t id, uint64_t h)
{
    uint32_t j = pk_home(ix, h);
    while (ix->slots[j] != SLOT_EMPTY) {
        if (ix->slots[j] == id + 1) {
            ix->slots[j] = SLOT_TOMB;
            return;
        }
        j = j + 1 == ix->nslots ? 0 : j + 1;
    }
}

/* ---- ingest ------------------------------------------------------------------------ */

#define MAX_INGEST_RELS 64 /* a transaction block may write many tables */

/* 8 bytes a key: a 80M-row COPY keeps one per row until it commits. Entries name rows,
 * not slots, since a grow moves every slot. */
typedef struct undo_ent {
    uint32_t id;    /* row id in the index */
    uint8_t rel;    /* index into rels */
    bool restore;   /* a delete's tombstone: put the row back on abort */
} undo_ent;

/* A set of key hashes: the deleted parent keys whose referencing rows need their
 * ON DELETE rule applied (hits are confirmed against the primary-key index). */
typedef struct keyset {
    uint64_t *h;   /* open addressing over key hashes; 0 = empty */
    uint32_t cap, n;
} keyset;

static void keyset_add(keyset *k, uint64_t h)
{
    h |= 1;
    if ((uint64_t)(k->n + 1) * 2 > k->cap) {
        keyset nk = {.cap = k->cap ? k->cap * 2 : 1024};
        nk.h = tl_xcalloc(nk.cap, 8);
        for (uint32_t i = 0; i < k->cap; i++)
            if (k->h[i]) keyset_add(&nk, k->h[i]);
        free(k->h);
        *k = nk;
    }
    uint32_t j = (uint32_t)(h * 0x9E3779B97F4A7C15ull >> 40) & (k->cap - 1);
    while (k->h[j] && k->h[j] != h) j = (j + 1) & (k->cap - 1);
    if (!k->h[j]) {
        k->h[j] = h;
        k->n++;
    }
}

static bool keyset_has(const keyset *k, uint64_t h)
{
    if (!k->cap) return false;
    h |= 1;
    uint32_t j = (uint32_t)(h * 0x9E3779B97F4A7C15ull >> 40) & (k->cap - 1);
    while (k->h[j]) {
        if (k->h[j] == h) return true;
        j = (j + 1) & (k->cap - 1);
    }
    return false;
}

struct tl_ingest {
    tl_engine *e;
    int nrels;
    tl_rel *rels[MAX_INGEST_RELS];
    tl_table_mark marks[MAX_INGEST_RELS];
    undo_ent *undo;
    size_t nundo, capundo;
    uint64_t rows;
    long failed_row;
    /* durability (durable.c): the batch's WAL record, built as it is appended */
    tl_buf rec;
    bool sync;
    bool ends_taken;
    tl_table_mark ends[MAX_INGEST_RELS]; /* sizes at commit: what publishing shows */
    uint64_t lsn;                         /* WAL position just past the record */
    int state;                            /* 0 pending, 1 published, -1 failed */
    tl_ingest *next;                      /* durable.c's pending list */
    /* rows this batch deleted (cascades included), logged at commit by partition month */
    struct delent {
        uint32_t oid, part;
        uint64_t row;
    } *dels;
    size_t ndels, capdels;
    size_t dels_logged; /* dels[0, dels_logged) are in rec already (earlier statements) */
    bool redo; /* replaying a delete item: cascades were logged as items of their own */
    tl_rollup_pending *pending; /* view deltas of this statement, applied at commit */
    /* DELETE: keys of deleted parent rows whose referencing rows are handled once, at
     * tl_ingest_delete_finish (one scan of each child instead of one per row). */
    bool defer_fk;
    tl_rel *deferred_rel;
    keyset deferred;
};

void tl_ingest_set_synchronous(tl_ingest *g, bool sync)
{
    g->sync = sync;
}
bool tl_ingest_sync(const tl_ingest *g)
{
    return g->sync;
}
const tl_buf *tl_ingest_record(const tl_ingest *g)
{
    return &g->rec;
}
uint64_t tl_ingest_rows(const tl_ingest *g)
{
    return g->rows;
}
tl_ingest **tl_ingest_next(tl_ingest *g)
{
    return &g->next;
}
int *tl_ingest_state(tl_ingest *g)
{
    return &g->state;
}
void tl_ingest_set_lsn(tl_ingest *g, uint64_t lsn)
{
    g->lsn = lsn;
}
uint64_t tl_ingest_lsn(const tl_ingest *g)
{
    return g->lsn;
}

tl_ingest *tl_ingest_begin(tl_engine *e)
{
    tl_ingest *g = tl_xcalloc(1, sizeof *g);
    g->e = e;
    g->failed_row = -1;
    g->sync = !e->async_default;
    tl_buf_init(&g->rec);
    return g;
}

long tl_ingest_failed_row(const tl_ingest *g)
{
    return g->failed_row;
}

void tl_engine_format_key(tl_engine *e, const tl_rel *r, const int *cols, int ncols,
                          const tl_datum *vals, tl_buf *out)
{
    tl_buf_putc(out, '(');
    for (int i = 0; i < ncols; i++) tl_buf_printf(out, "%s%s", i ? ", " : "", r->atts[cols[i]].name);
    tl_buf_puts(out, ")=(");
    tl_fmt_ctx fc = {.tz = tl_tz_utc(), .extra_float_digits = 1};
    for (int i = 0; i < ncols; i++) {
        if (i) tl_buf_puts(out, ", ");
        tl_type t = r->atts[cols[i]].type;
        if (vals[i].isnull) {
            tl_buf_puts(out, "null");
        } else if (t.id == TL_ENUM) {
            tl_enum *en = tl_catalog_enum_by_oid(e, t.oid);
            if (en && vals[i].v.i >= 0 && vals[i].v.i < en->nlabels) tl_buf_puts(out, en->labels[vals[i].v.i]);
        } else {
            tl_value_out(t, &vals[i], &fc, out);
        }
    }
    tl_buf_putc(out, ')');
}

static int register_rel(tl_ingest *g, tl_rel *r, tl_error *err)
{
    for (int i = 0; i < g->nrels; i++)
        if (g->rels[i] == r) return 0;
    if (g->nrels == MAX_INGEST_RELS)
        return tl_errorf(err, "54000", "too many tables written by one statement or transaction block");
    tl_table_mark_take(r->data, &g->marks[g->nrels]);
    g->rels[g->nrels++] = r;
    return 0;
}

static void undo_push(tl_ingest *g, const tl_rel *r, uint32_t id, bool restore)
{
    if (g->nundo == g->capundo) {
        g->capundo = g->capundo ? g->capundo * 2 : 1024;
        g->undo = tl_xrealloc(g->undo, sizeof *g->undo * g->capundo);
    }
    int k = 0;
    while (k < g->nrels && g->rels[k] != r) k++;
    if (k == g->nrels) tl_panic("undo for a relation outside the statement");
    g->undo[g->nundo].id = id;
    g->undo[g->nundo].rel = (uint8_t)k;
    g->undo[g->nundo].restore = restore;
    g->nundo++;
}

static int check_not_null(const tl_rel *r, const tl_vec *cols, uint32_t n, tl_ingest *g, tl_error *err)
{
    for (int c = 0; c < r->natts; c++) {
        if (!r->atts[c].not_null || !cols[c].nulls) continue;
        for (uint32_t i = 0; i < n; i++) {
            if (!cols[c].nulls[i]) continue;
            g->failed_row = i;
            return tl_errorf(err, "23502",
                             "null value in column \"%s\" of relation \"%s\" violates not-null constraint",
                             r->atts[c].name, r->name);
        }
    }
    return 0;
}

int tl__month_fk(tl_engine *e, const tl_rel *r)
{
    if (r->part_col >= 0 || !r->data) return -1;
    for (int k = 0; k < r->nfk; k++) {
        tl_rel *ref = tl_catalog_rel_by_oid(e, r->fks[k].ref_oid);
        if (ref && ref->data && ref->part_col >= 0 && ref->pkidx) return k;
    }
    return -1;
}

/* Check every foreign key of the batch's rows. With `months` (the table is filed under
 * its parent's month, foreign key `mfk`), also record each row's month: the parent row's
 * partition, found by the lookup the check does anyway; NULL partition without a parent. */
static int check_fkeys(tl_ingest *g, const tl_rel *r, const tl_vec *cols, uint32_t n, int mfk,
                       int32_t *months, tl_error *err)
{
    if (months)
        for (uint32_t i = 0; i < n; i++) months[i] = INT32_MIN;
    for (int k = 0; k < r->nfk; k++) {
        const tl_fkey *fk = &r->fks[k];
        tl_rel *ref = tl_catalog_rel_by_oid(g->e, fk->ref_oid);
        if (!ref || !ref->pkidx) continue;
        tl_datum vals[TL_MAX_KEY_COLS];
        for (uint32_t i = 0; i < n; i++) {
            bool anynull = false;
            for (int c = 0; c < fk->ncols; c++) {
                tl_vec_get(&cols[fk->cols[c]], i, &vals[c]);
                anynull |= vals[c].isnull;
            }
            if (anynull) continue; /* MATCH SIMPLE: a NULL column satisfies the key */
            uint64_t h = key_hash(ref, fk->ref_cols, fk->ncols, vals);
            int64_t slot = pk_find(ref, ref->pkidx, fk->ref_cols, fk->ncols, vals, h, NULL);
            if (slot >= 0) {
                if (months && k == mfk) months[i] = tl_table_part_month(ref->data, pk_slot_part(ref->pkidx, slot));
                continue;
            }
            g->failed_row = i;
            tl_errorf(err, "23503", "insert or update on table \"%s\" violates foreign key constraint \"%s\"",
                      r->name, fk->name);
            tl_buf b;
            tl_buf_init(&b);
            tl_buf_puts(&b, "Key ");
            tl_engine_format_key(g->e, r, fk->cols, fk->ncols, vals, &b);
            tl_error_detail(err, "%s is not present in table \"%s\".", b.data, ref->name);
            tl_buf_free(&b);
            return -1;
        }
    }
    return 0;
}

/* ---- snapshot load -------------------------------------------------------------------
 * A snapshot keeps deleted rows (row positions must not move: later WAL records name
 * them), so a key deleted and inserted again is in it twice. While a snapshot loads, a
 * row whose key is already indexed gets no entry and is remembered here; once its
 * table's deletes are applied, tl_ingest_snapshot_keys gives each remembered live row
 * its key's entry. */
typedef struct tl_rowref {
    tl_rel *r;
    uint32_t part;
    uint64_t row;
} tl_rowref;

static void snap_dup_push(tl_engine *e, tl_rel *r, uint32_t part, uint64_t row)
{
    if (e->nsnap_dups == e->capsnap_dups) {
        e->capsnap_dups = e->capsnap_dups ? e->capsnap_dups * 2 : 64;
        e->snap_dups = tl_xrealloc(e->snap_dups, sizeof *e->snap_dups * e->capsnap_dups);
    }
    e->snap_dups[e->nsnap_dups++] = (tl_rowref){r, part, row};
}

static void row_key(const tl_rel *r, const int *cols, int n, uint32_t part, uint64_t row, tl_datum *vals);

int tl_ingest_snapshot_keys(tl_engine *e, tl_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < e->nsnap_dups && rc == 0; i++) {
        tl_rowref *d = &e->snap_dups[i];
        tl_rel *r = d->r;
        if (tl_table_is_deleted(r->data, d->part, d->row)) continue;
        tl_pkindex *ix = r->pkidx;
        if ((uint64_t)(ix->used + 1) * 5 > (uint64_t)ix->nslots * 4) pk_grow(r, ix);
        tl_datum vals[TL_MAX_KEY_COLS];
        row_key(r, r->pk, r->npk, d->part, d->row, vals);
        uint64_t h = key_hash(r, r->pk, r->npk, vals);
        uint32_t ins;
        int64_t slot = pk_find(r, ix, r->pk, r->npk, vals, h, &ins);
        if (slot >= 0) {
            uint32_t part, row;
            pk_loc(ix, ix->slots[slot] - 1, &part, &row);
            if (!tl_table_is_deleted(r->data, part, row)) {
                rc = tl_errorf(err, "23505", "duplicate key value violates unique constraint \"%s\"", r->pk_name);
                break;
            }
            ins = (uint32_t)slot;
        } else if (ix->slots[ins] == SLOT_EMPTY) {
            ix->used++;
        }
        ix->slots[ins] = pk_rowid(ix, d->part, (uint32_t)d->row) + 1;
        ix->tags[ins] = pk_tag(h);
    }
    e->nsnap_dups = 0;
    return rc;
}

static int insert_keys(tl_ingest *g, tl_rel *r, const tl_vec *cols, uint32_t n,
                       const tl_rowloc *loc, tl_error *err)
{
    tl_pkindex *ix = r->pkidx;
    tl_datum vals[TL_MAX_KEY_COLS];
    for (uint32_t i = 0; i < n; i++) {
        if ((uint64_t)(ix->used + 1) * 5 > (uint64_t)ix->nslots * 4) pk_grow(r, ix);
        for (int c = 0; c < r->npk; c++) tl_vec_get(&cols[r->pk[c]], i, &vals[c]);
        uint64_t h = key_hash(r, r->pk, r->npk, vals);
        uint32_t ins;
        if (pk_find(r, ix, r->pk, r->npk, vals, h, &ins) >= 0) {
            if (g->e->snap_load) {
                snap_dup_push(g->e, r, loc[i].part, loc[i].row);
                continue;
            }
            g->failed_row = i;
            tl_errorf(err, "23505", "duplicate key value violates unique constraint \"%s\"", r->pk_name);
            tl_buf b;
            tl_buf_init(&b);
            tl_buf_puts(&b, "Key ");
            tl_engine_format_key(g->e, r, r->pk, r->npk, vals, &b);
            tl_error_detail(err, "%s already exists.", b.data);
            tl_buf_free(&b);
            return -1;
        }
        uint32_t id = pk_rowid(ix, loc[i].part, loc[i].row);
        if (ix->slots[ins] == SLOT_EMPTY) ix->used++;
        ix->slots[ins] = id + 1;
        ix->tags[ins] = pk_tag(h);
        undo_push(g, r, id, false);
    }
    return 0;
}

int tl_ingest_append(tl_ingest *g, tl_rel *r, const tl_vec *cols, uint32_t n, tl_error *err)
{
    g->failed_row = -1;
    if (n == 0) return 0;
    if (register_rel(g, r, err) < 0) return -1;
    /* replayed batches were checked when first committed; the FK lookup still runs when
     * it files rows under their parent's month */
    if (!g->e->replaying && check_not_null(r, cols, n, g, err) < 0) return -1;
    int mfk = tl__month_fk(g->e, r);
    int32_t *months = mfk >= 0 ? tl_xmalloc(sizeof *months * n) : NULL;
    if ((!g->e->replaying || months) && check_fkeys(g, r, cols, n, mfk, months, err) < 0) {
        free(months);
        return -1;
    }
    tl_rowloc *loc = r->pkidx ? tl_xmalloc(sizeof *loc * n) : NULL;
    int rc = months ? tl_table_append_months(r->data, cols, n, months, loc, err)
                    : tl_table_append(r->data, cols, n, loc, err);
    free(months);
    if (rc == 0 && r->pkidx) rc = insert_keys(g, r, cols, n, loc, err);
    free(loc);
    /* Derive view deltas now, so an aggregate argument's error fails the statement. */
    if (rc == 0) rc = tl_rollup_prepare(g->e, &g->pending, r, cols, n, 1, err);
    if (rc == 0) g->rows += n;
    if (rc == 0 && g->e->dur && !g->e->replaying) {
        /* item: kind 1 = append, table oid, columns, rows, one encoded vector a column */
        tl_put_u8(&g->rec, 1);
        tl_put_u32(&g->rec, r->oid);
        tl_put_u32(&g->rec, (uint32_t)r->natts);
        tl_put_u32(&g->rec, n);
        for (int c = 0; c < r->natts; c++) tl_vec_encode(&cols[c], n, &g->rec);
    }
    return rc;
}

static int delete_row(tl_ingest *g, tl_rel *r, uint32_t part, uint64_t row, tl_error *err);

/* Replay one batch record's payload (durable.c): appends and deletes, applied and
 * published together. */
int tl_ingest_redo(tl_engine *e, const char *p, size_t len, tl_error *err);
int tl_ingest_redo(tl_engine *e, const char *p, size_t len, tl_error *err)
{
    tl_ingest *g = tl_ingest_begin(e);
    tl_arena a;
    tl_arena_init(&a);
    const char *end = p + len;
    int rc = 0;
    while (rc == 0 && p < end) {
        tl_reader rd = {p, end, false};
        uint8_t kind = tl_get_u8(&rd);
        uint32_t oid = tl_get_u32(&rd);
        uint32_t x = tl_get_u32(&rd);
        uint32_t n = tl_get_u32(&rd);
        if (rd.bad) {
            rc = tl_errorf(err, "XX001", "malformed batch record");
            break;
        }
        p = rd.p;
        tl_rel *r = tl_catalog_rel_by_oid(e, oid);
        if (!r || !r->data) {
            rc = tl_errorf(err, "XX001", "batch record names table oid %u, which does not exist", oid);
            break;
        }
        if (kind == 1) {
            if ((int)x != r->natts) {
                rc = tl_errorf(err, "XX001", "batch record for \"%s\" has %u columns, the table %d", r->name, x,
                               r->natts);
                break;
            }
            tl_vec *cols = tl_arena_alloc(&a, sizeof *cols * (size_t)(r->natts + 1));
            for (int c = 0; c < r->natts && rc == 0; c++)
                if (tl_vec_decode(&p, end, r->atts[c].type, n, &cols[c], &a) < 0)
                    rc = tl_errorf(err, "XX001", "malformed column %d in batch record for \"%s\"", c + 1, r->name);
            if (rc == 0) rc = tl_ingest_append(g, r, cols, n, err);
        } else if (kind == 2) {
            int64_t *rows = tl_arena_alloc(&a, sizeof *rows * (n ? n : 1));
            if (tl_i64_decode(&p, end, n, rows) < 0) {
                rc = tl_errorf(err, "XX001", "malformed delete item in batch record");
                break;
            }
            int64_t part = tl_table_find_month(r->data, (int32_t)x);
            if (part < 0) {
                rc = tl_errorf(err, "XX001", "DELETE record names a partition of \"%s\" that does not exist", r->name);
                break;
            }
            /* Cascaded rows have their own items: no foreign-key rules on replay. */
            g->redo = true;
            for (uint32_t k = 0; k < n && rc == 0; k++) {
                uint64_t rowk = (uint64_t)rows[k];
                if (rowk >= tl_table_part_rows(r->data, (uint32_t)part))
                    rc = tl_errorf(err, "XX001", "DELETE record names row %" PRIu64 " past the end of \"%s\"", rowk,
                                   r->name);
                else rc = delete_row(g, r, (uint32_t)part, rowk, err);
            }
            g->redo = false;
        } else {
            rc = tl_errorf(err, "XX001", "unknown item kind %u in batch record", kind);
        }
        tl_arena_reset(&a);
    }
    if (rc == 0) tl_ingest_publish_now(g);
    else tl_ingest_abort(g);
    tl_arena_free(&a);
    return rc;
}

void tl_ingest_free(tl_ingest *g)
{
    for (int i = 0; i < g->nrels; i++) {
        tl_table_mark_release(&g->marks[i]);
        if (g->ends_taken) tl_table_mark_release(&g->ends[i]);
    }
    tl_buf_free(&g->rec);
    tl_rollup_discard(g->pending);
    free(g->dels);
    free(g->undo);
    free(g->deferred.h);
    free(g);
}

void tl_ingest_take_end_marks(tl_ingest *g)
{
    for (int i = 0; i < g->nrels; i++) tl_table_mark_take(g->rels[i]->data, &g->ends[i]);
    g->ends_taken = true;
}

void tl_ingest_publish_marks(tl_ingest *g)
{
    for (int i = 0; i < g->nrels; i++) tl_table_publish_mark(g->rels[i]->data, &g->ends[i]);
}

void tl_ingest_publish_now(tl_ingest *g)
{
    tl_rollup_commit_publish(g->e, g->pending, g->rels, g->nrels);
    g->pending = NULL;
    tl_ingest_free(g);
}

void tl_ingest_apply_views(tl_ingest *g)
{
    tl_rollup_apply_pending(g->pending);
}

bool tl_ingest_has_deletes(const tl_ingest *g)
{
    return g->ndels > 0;
}

void tl_ingest_publish_all(tl_ingest *g)
{
    for (int i = 0; i < g->nrels; i++) tl_table_publish(g->rels[i]->data);
}

static int delent_cmp(const void *a, const void *b)
{
    const struct delent *x = a, *y = b;
    if (x->oid != y->oid) return x->oid < y->oid ? -1 : 1;
    if (x->part != y->part) return x->part < y->part ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* A statement's delete items go after its appends (a statement deletes only rows that
 * existed before it, so replaying them after its appends is the same), and before the
 * next statement's items: a transaction block that deletes a key and inserts it again
 * replays in that order. */
static void encode_deletes(tl_ingest *g)
{
    size_t from = g->dels_logged;
    g->dels_logged = g->ndels;
    if (from == g->ndels || !g->e->dur || g->e->replaying) return;
    qsort(g->dels + from, g->ndels - from, sizeof *g->dels, delent_cmp);
    int64_t *rows = tl_xmalloc(sizeof *rows * (g->ndels - from + 1));
    for (size_t i = from; i < g->ndels;) {
        size_t j = i;
        while (j < g->ndels && g->dels[j].oid == g->dels[i].oid && g->dels[j].part == g->dels[i].part) {
            rows[j - i] = (int64_t)g->dels[j].row;
            j++;
        }
        tl_rel *r = tl_catalog_rel_by_oid(g->e, g->dels[i].oid);
        tl_put_u8(&g->rec, 2);
        tl_put_u32(&g->rec, g->dels[i].oid);
        tl_put_u32(&g->rec, (uint32_t)tl_table_part_month(r->data, g->dels[i].part));
        tl_put_u32(&g->rec, (uint32_t)(j - i));
        tl_i64_encode(rows, NULL, (uint32_t)(j - i), &g->rec);
        i = j;
    }
    free(rows);
}

int tl_ingest_commit(tl_ingest *g, uint64_t *rows, tl_error *err)
{
    tl_engine *e = g->e;
    *rows = g->rows;
    if (!e->dur || e->replaying) {
        tl_ingest_publish_now(g);
        tl_engine_writer_end(e);
        return 0;
    }
    if (g->rec.len == 0 && g->ndels == 0) {
        /* Nothing changed. Publishing anyway would show batches ahead of this one that
         * still wait for their sync. */
        tl_ingest_free(g);
        tl_engine_writer_end(e);
        return 0;
    }
    encode_deletes(g);
    /* The WAL thread publishes (tl_table_publish_mark), which hands full chunks to the
     * sealer thread: nothing here waits for encoding. */
    tl_ingest_take_end_marks(g);
    int rc = tl_dur_commit(e, g, err); /* releases the writer mutex, frees g */
    if (rc < 0) *rows = 0;
    return rc;
}

/* Undo the key-index changes after the first `keep` (newest first). Tombstones, not
 * empties: later entries of a probe chain must stay reachable. */
static void undo_keys(tl_ingest *g, size_t keep)
{
    for (size_t i = g->nundo; i-- > keep;) {
        undo_ent *u = &g->undo[i];
        const tl_rel *r = g->rels[u->rel];
        uint64_t h = row_hash(r, r->pkidx, u->id);
        if (u->restore) pk_put(r, r->pkidx, u->id, h);
        else pk_remove_id(r->pkidx, u->id, h);
    }
    g->nundo = keep;
}

void tl_ingest_rollback(tl_ingest *g)
{
    undo_keys(g, 0);
    for (int i = 0; i < g->nrels; i++) tl_table_rollback(g->rels[i]->data, &g->marks[i]);
}

void tl_ingest_abort(tl_ingest *g)
{
    tl_ingest_rollback(g);
    tl_ingest_free(g);
}

/* ---- deletes ---------------------------------------------------------------------------- */

/* Key values of a stored row. */
static void row_key(const tl_rel *r, const int *cols, int n, uint32_t part, uint64_t row, tl_datum *vals)
{
    for (int i = 0; i < n; i++) tl_table_get(r->data, part, cols[i], row, &vals[i]);
}


/* Apply each referencing table's ON DELETE rule to the rows whose keys are in `keys`
 * (hashes of deleted parent keys; a hash hit is confirmed by a PK lookup showing the
 * parent key no longer live). */
static int apply_fk_rules(tl_ingest *g, tl_rel *parent, const keyset *keys, tl_error *err)
{
    int nrels = tl_catalog_nrels(g->e);
    for (int i = 0; i < nrels; i++) {
        tl_rel *c = tl_catalog_rel_at(g->e, i);
        if (!c || c->kind != TL_REL_TABLE || !c->data) continue;
        for (int k = 0; k < c->nfk; k++) {
            const tl_fkey *fk = &c->fks[k];
            if (fk->ref_oid != parent->oid) continue;
            tl_arena a;
            tl_arena_init(&a);
            tl_table_snap snap;
            /* the writer's view: rows this transaction block appended reference too */
            tl_table_snapshot_writer(c->data, &snap, &a);
            int rc = 0;
            for (uint32_t p = 0; p < snap.nparts && rc == 0; p++) {
                for (uint64_t row = 0; row < snap.rows[p] && rc == 0; row++) {
                    if (tl_table_is_deleted(c->data, p, row)) continue;
                    tl_datum vals[TL_MAX_KEY_COLS];
                    bool anynull = false;
                    row_key(c, fk->cols, fk->ncols, p, row, vals);
                    for (int j = 0; j < fk->ncols; j++) anynull |= vals[j].isnull;
                    if (anynull) continue;
                    uint64_t h = key_hash(parent, fk->ref_cols, fk->ncols, vals);
                    if (!keyset_has(keys, h)) continue;
                    if (pk_find(parent, parent->pkidx, fk->ref_cols, fk->ncols, vals, h, NULL) >= 0) continue;
                    if (fk->on_delete == 'c') {
                        rc = delete_row(g, c, p, row, err);
                    } else {
                        rc = tl_errorf(err, "23503",
                                       "update or delete on table \"%s\" violates foreign key constraint \"%s\" on table \"%s\"",
                                       parent->name, fk->name, c->name);
                        tl_buf b;
                        tl_buf_init(&b);
                        tl_buf_puts(&b, "Key ");
                        tl_engine_format_key(g->e, parent, fk->ref_cols, fk->ncols, vals, &b);
                        tl_error_detail(err, "%s is still referenced from table \"%s\".", b.data, c->name);
                        tl_buf_free(&b);
                    }
                }
            }
            tl_arena_free(&a);
            if (rc < 0) return -1;
        }
    }
    return 0;
}

static int delete_row(tl_ingest *g, tl_rel *r, uint32_t part, uint64_t row, tl_error *err)
{
    if (register_rel(g, r, err) < 0) return -1;
    if (!tl_table_delete(r->data, part, row)) return 0;
    g->rows++;
    /* kept in memory-only mode too: a savepoint rollback marks them again */
    if (!g->e->replaying) {
        if (g->ndels == g->capdels) {
            g->capdels = g->capdels ? g->capdels * 2 : 64;
            g->dels = tl_xrealloc(g->dels, sizeof *g->dels * g->capdels);
        }
        g->dels[g->ndels++] = (struct delent){r->oid, part, row};
    }
    if (tl_rollup_has_views(g->e, r->oid)) {
        /* The row leaves every view over r in this statement's commit. */
        tl_arena a;
        tl_arena_init(&a);
        tl_vec *cols = tl_arena_zalloc(&a, sizeof *cols * (size_t)(r->natts + 1));
        for (int c = 0; c < r->natts; c++) {
            tl_datum d;
            tl_table_get(r->data, part, c, row, &d);
            tl_vec_alloc(&cols[c], r->atts[c].type, 1, &a);
            tl_vec_set(&cols[c], 0, &d);
            cols[c].nulls[0] = d.isnull;
            cols[c].n = 1;
        }
        int rc = tl_rollup_prepare(g->e, &g->pending, r, cols, 1, -1, err);
        tl_arena_free(&a);
        if (rc < 0) return -1;
    }
    if (!r->pkidx) return 0;
    tl_datum vals[TL_MAX_KEY_COLS];
    row_key(r, r->pk, r->npk, part, row, vals);
    uint64_t h = key_hash(r, r->pk, r->npk, vals);
    int64_t slot = pk_find(r, r->pkidx, r->pk, r->npk, vals, h, NULL);
    /* the entry must be this row's: while a snapshot loads, a deleted row's key may be
     * indexed for the live row that holds it again (see tl_ingest_snapshot_keys) */
    uint32_t epart = 0, erow = 0;
    if (slot >= 0) pk_loc(r->pkidx, r->pkidx->slots[slot] - 1, &epart, &erow);
    if (slot >= 0 && epart == part && erow == row) {
        undo_push(g, r, r->pkidx->slots[slot] - 1, true);
        r->pkidx->slots[slot] = SLOT_TOMB;
    }
    /* Children referencing this key: one row at a time is fine for single deletes;
     * tl_ingest_delete_rows batches the common case. */
    if (g->redo) return 0;
    if (g->defer_fk) {
        keyset_add(&g->deferred, h);
        return 0;
    }
    keyset one = {0};
    keyset_add(&one, h);
    int rc = apply_fk_rules(g, r, &one, err);
    free(one.h);
    return rc;
}

int tl_ingest_delete_rows(tl_ingest *g, tl_rel *r, uint32_t part, const uint64_t *rows, uint32_t n,
                          tl_error *err)
{
    g->defer_fk = true;
    g->deferred_rel = r;
    for (uint32_t i = 0; i < n; i++)
        if (delete_row(g, r, part, rows[i], err) < 0) {
            g->defer_fk = false;
            return -1;
        }
    g->defer_fk = false;
    return 0;
}

int tl_ingest_delete_finish(tl_ingest *g, tl_error *err)
{
    if (!g->deferred_rel || !g->deferred.n) return 0;
    int rc = apply_fk_rules(g, g->deferred_rel, &g->deferred, err);
    free(g->deferred.h);
    g->deferred = (keyset){0};
    return rc;
}

int tl_rollup_apply_delete(tl_ingest *g, tl_rel *r, const tl_vec *cols, uint32_t n, tl_error *err)
{
    return tl_rollup_prepare(g->e, &g->pending, r, cols, n, -1, err);
}

/* ---- transaction blocks --------------------------------------------------------------- */

void tl_ingest_statement_end(tl_ingest *g)
{
    encode_deletes(g);
}

struct tl_ingest_sp {
    int nrels;
    tl_table_mark marks[MAX_INGEST_RELS];
    size_t nundo, reclen, ndels, dels_logged;
    uint64_t rows;
    const void *pending; /* tl_rollup_pending_mark */
};

tl_ingest_sp *tl_ingest_savepoint(const tl_ingest *g)
{
    tl_ingest_sp *sp = tl_xcalloc(1, sizeof *sp);
    sp->nrels = g->nrels;
    for (int i = 0; i < g->nrels; i++) tl_table_mark_take(g->rels[i]->data, &sp->marks[i]);
    sp->nundo = g->nundo;
    sp->reclen = g->rec.len;
    sp->ndels = g->ndels;
    sp->dels_logged = g->dels_logged;
    sp->rows = g->rows;
    sp->pending = tl_rollup_pending_mark(g->pending);
    return sp;
}

void tl_ingest_sp_free(tl_ingest_sp *sp)
{
    if (!sp) return;
    for (int i = 0; i < sp->nrels; i++) tl_table_mark_release(&sp->marks[i]);
    free(sp);
}

void tl_ingest_rollback_to(tl_ingest *g, const tl_ingest_sp *sp)
{
    undo_keys(g, sp ? sp->nundo : 0);
    /* Table rollback drops every pending delete; the ones made before the savepoint are
     * marked again (their key entries were never restored). */
    for (int i = 0; i < g->nrels; i++)
        tl_table_rollback(g->rels[i]->data, sp && i < sp->nrels ? &sp->marks[i] : &g->marks[i]);
    g->ndels = sp ? sp->ndels : 0;
    for (size_t k = 0; k < g->ndels; k++) {
        tl_rel *r = tl_catalog_rel_by_oid(g->e, g->dels[k].oid);
        if (r && r->data) tl_table_delete(r->data, g->dels[k].part, g->dels[k].row);
    }
    g->dels_logged = sp ? sp->dels_logged : 0;
    g->rec.len = sp ? sp->reclen : 0;
    g->rows = sp ? sp->rows : 0;
    tl_rollup_pending_truncate(g->pending, sp ? sp->pending : NULL);
    g->failed_row = -1;
    g->defer_fk = false;
    g->deferred_rel = NULL;
    free(g->deferred.h);
    g->deferred = (keyset){0};
}

void tl_ingest_snapshot(const tl_ingest *g, tl_rel *r, tl_table_snap *snap, tl_arena *a)
{
    for (int i = 0; g && i < g->nrels; i++)
        if (g->rels[i] == r) {
            tl_table_snapshot_writer(r->data, snap, a);
            return;
        }
    tl_table_snapshot(r->data, snap, a);
}
