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

#define SLOT_EMPTY 0u
#define SLOT_TOMB UINT32_MAX

typedef struct pk_slot {
    uint32_t h32;
    uint32_t part1; /* partition + 1; SLOT_EMPTY or SLOT_TOMB */
    uint32_t row;
} pk_slot;

/* Growing doubles the table but moves entries a few per insert (PK_MIGRATE slots), so no
 * append pays for rehashing the whole index (about 0.5 s at 10M rows). Until every entry
 * has moved, lookups probe the new table, then the previous one; a moved entry leaves a
 * tombstone there, so the previous table's probe chains stay intact. */
#define PK_MIGRATE 32

struct tl_pkindex {
    pk_slot *slots;
    uint32_t nslots; /* power of two */
    uint32_t used;   /* live + tombstones */
    pk_slot *old;    /* the previous table while entries move, else NULL */
    uint32_t nold, migrated;
};

tl_pkindex *tl_pkindex_new(void)
{
    tl_pkindex *ix = tl_xcalloc(1, sizeof *ix);
    ix->nslots = 1024;
    ix->slots = tl_xcalloc(ix->nslots, sizeof *ix->slots);
    return ix;
}

void tl_pkindex_free(tl_pkindex *ix)
{
    if (!ix) return;
    free(ix->slots);
    free(ix->old);
    free(ix);
}

size_t tl_catalog_index_bytes(const tl_rel *r)
{
    /* Read by system views while the writer may grow the table: nslots is one word,
     * and a stale size is as good as PostgreSQL's own statistics. */
    if (!r->pkidx) return 0;
    return sizeof *r->pkidx + ((size_t)__atomic_load_n(&r->pkidx->nslots, __ATOMIC_RELAXED) +
                                __atomic_load_n(&r->pkidx->nold, __ATOMIC_RELAXED)) * sizeof(pk_slot);
}

static uint32_t pk_start(uint32_t h32, uint32_t mask)
{
    return (h32 * 2654435761u) & mask;
}

/* Put an entry in the first free slot of its probe chain in the current table. */
static void pk_place(tl_pkindex *ix, pk_slot e)
{
    uint32_t mask = ix->nslots - 1, j = pk_start(e.h32, mask);
    while (ix->slots[j].part1 != SLOT_EMPTY && ix->slots[j].part1 != SLOT_TOMB) j = (j + 1) & mask;
    if (ix->slots[j].part1 == SLOT_EMPTY) ix->used++;
    ix->slots[j] = e;
}

/* Move the entries of the next n slots of the previous table into the current one. */
static void pk_migrate(tl_pkindex *ix, uint32_t n)
{
    for (; n > 0 && ix->migrated < ix->nold; ix->migrated++, n--) {
        pk_slot *o = &ix->old[ix->migrated];
        if (o->part1 == SLOT_EMPTY || o->part1 == SLOT_TOMB) continue;
        pk_place(ix, *o);
        o->part1 = SLOT_TOMB;
    }
    if (ix->old && ix->migrated == ix->nold) {
        pk_slot *old = ix->old;
        __atomic_store_n(&ix->nold, 0, __ATOMIC_RELAXED);
        ix->old = NULL;
        ix->migrated = 0;
        free(old);
    }
}

static void pk_grow(tl_pkindex *ix)
{
    pk_migrate(ix, UINT32_MAX); /* the previous growth unfinished: finish it (rare) */
    ix->old = ix->slots;
    ix->migrated = 0;
    __atomic_store_n(&ix->nold, ix->nslots, __ATOMIC_RELAXED);
    ix->slots = tl_xcalloc((size_t)ix->nslots * 2, sizeof *ix->slots);
    __atomic_store_n(&ix->nslots, ix->nslots * 2, __ATOMIC_RELAXED);
    ix->used = 0;
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

/* Find the entry of the row holding this key (NULL if none), and in *ins the slot of
 * the current table where a new entry would go. */
static pk_slot *pk_find(const tl_rel *r, const tl_pkindex *ix, const int *cols, int n, const tl_datum *vals,
                        uint64_t h, uint32_t *ins)
{
    uint32_t mask = ix->nslots - 1, h32 = (uint32_t)(h >> 32);
    uint32_t j = pk_start(h32, mask);
    int64_t first_tomb = -1;
    for (;;) {
        pk_slot *s = &ix->slots[j];
        if (s->part1 == SLOT_EMPTY) break;
        if (s->part1 == SLOT_TOMB) {
            if (first_tomb < 0) first_tomb = j;
        } else if (s->h32 == h32 && key_equal_row(r, cols, n, vals, s->part1 - 1, s->row)) {
            return s;
        }
        j = (j + 1) & mask;
    }
    if (ins) *ins = first_tomb >= 0 ? (uint32_t)first_tomb : j;
    if (ix->old) {
        uint32_t omask = ix->nold - 1;
        for (uint32_t k = pk_start(h32, omask); ix->old[k].part1 != SLOT_EMPTY; k = (k + 1) & omask) {
            pk_slot *s = &ix->old[k];
            if (s->part1 != SLOT_TOMB && s->h32 == h32 && key_equal_row(r, cols, n, vals, s->part1 - 1, s->row))
                return s;
        }
    }
    return NULL;
}

/* ---- ingest ------------------------------------------------------------------------ */

#define MAX_INGEST_RELS 16

/* Entries are found again by their hash and row on rollback, not by slot: an index that
 * grew during the statement has moved every entry (and dropped the tombstones). */
typedef struct undo_ent {
    tl_pkindex *ix;
    bool restore;   /* a delete: put `saved` back on abort; else remove the insert `saved` */
    pk_slot saved;
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
        return tl_errorf(err, "54000", "too many tables written by one statement");
    tl_table_mark_take(r->data, &g->marks[g->nrels]);
    g->rels[g->nrels++] = r;
    return 0;
}

static void undo_push(tl_ingest *g, tl_pkindex *ix, pk_slot entry, bool restore)
{
    if (g->nundo == g->capundo) {
        g->capundo = g->capundo ? g->capundo * 2 : 1024;
        g->undo = tl_xrealloc(g->undo, sizeof *g->undo * g->capundo);
    }
    g->undo[g->nundo].ix = ix;
    g->undo[g->nundo].saved = entry;
    g->undo[g->nundo].restore = restore;
    g->nundo++;
}

static bool pk_unset(pk_slot *t, uint32_t ns, const pk_slot *e)
{
    if (!t) return false;
    for (uint32_t j = pk_start(e->h32, ns - 1); t[j].part1 != SLOT_EMPTY; j = (j + 1) & (ns - 1))
        if (t[j].part1 == e->part1 && t[j].row == e->row) {
            t[j].part1 = SLOT_TOMB;
            return true;
        }
    return false;
}

static void undo_one(const undo_ent *u)
{
    tl_pkindex *ix = u->ix;
    if (u->restore) pk_place(ix, u->saved); /* lookups pass tombstones, stop at empties */
    else if (!pk_unset(ix->slots, ix->nslots, &u->saved) && !pk_unset(ix->old, ix->nold, &u->saved))
        tl_panic("primary-key index: the entry of an aborted insert is gone");
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
            pk_slot *slot = pk_find(ref, ref->pkidx, fk->ref_cols, fk->ncols, vals, h, NULL);
            if (slot) {
                if (months && k == mfk) months[i] = tl_table_part_month(ref->data, slot->part1 - 1);
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

static int insert_keys(tl_ingest *g, tl_rel *r, const tl_vec *cols, uint32_t n,
                       const tl_rowloc *loc, tl_error *err)
{
    tl_pkindex *ix = r->pkidx;
    tl_datum vals[TL_MAX_KEY_COLS];
    for (uint32_t i = 0; i < n; i++) {
        if ((uint64_t)(ix->used + 1) * 10 > (uint64_t)ix->nslots * 7) pk_grow(ix);
        if (ix->old) pk_migrate(ix, PK_MIGRATE); /* done long before the new table fills */
        for (int c = 0; c < r->npk; c++) tl_vec_get(&cols[r->pk[c]], i, &vals[c]);
        uint64_t h = key_hash(r, r->pk, r->npk, vals);
        uint32_t ins;
        if (pk_find(r, ix, r->pk, r->npk, vals, h, &ins)) {
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
        pk_slot *s = &ix->slots[ins];
        if (s->part1 == SLOT_EMPTY) ix->used++;
        s->h32 = (uint32_t)(h >> 32);
        s->part1 = loc[i].part + 1;
        s->row = loc[i].row;
        undo_push(g, ix, *s, false);
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

/* Delete items go after the appends: a statement deletes only rows published before
 * it, so replaying them after its appends is the same. */
static void encode_deletes(tl_ingest *g)
{
    if (!g->ndels) return;
    qsort(g->dels, g->ndels, sizeof *g->dels, delent_cmp);
    int64_t *rows = tl_xmalloc(sizeof *rows * (g->ndels + 1));
    for (size_t i = 0; i < g->ndels;) {
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
    /* The WAL thread publishes; sealing is the writer's, so chunks filled by batches
     * already published are sealed here. */
    for (int i = 0; i < g->nrels; i++) tl_table_seal(g->rels[i]->data);
    tl_ingest_take_end_marks(g);
    int rc = tl_dur_commit(e, g, err); /* releases the writer mutex, frees g */
    if (rc < 0) *rows = 0;
    return rc;
}

void tl_ingest_rollback(tl_ingest *g)
{
    /* Tombstones, not empties: later entries of a probe chain must stay reachable. */
    for (size_t i = g->nundo; i-- > 0;) undo_one(&g->undo[i]);
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
            tl_table_snapshot(c->data, &snap, &a);
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
                    if (pk_find(parent, parent->pkidx, fk->ref_cols, fk->ncols, vals, h, NULL)) continue;
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
    if (g->e->dur && !g->e->replaying) {
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
    pk_slot *slot = pk_find(r, r->pkidx, r->pk, r->npk, vals, h, NULL);
    if (slot) {
        undo_push(g, r->pkidx, *slot, true);
        slot->part1 = SLOT_TOMB;
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
