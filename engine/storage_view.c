/*
 * storage_view.c — the tally_storage and tally_storage_totals system views: how every
 * table is stored, so the compression claims in bench/ and the README can be checked
 * with a plain SELECT. Both are virtual relations in pg_catalog (visible without a
 * schema, as PostgreSQL's own system views are), produced at statement time from
 * tl_table_storage_stats, the dictionaries and the primary-key indexes.
 *
 * tally_storage: one row per table x partition x column x encoding (segments of one
 * encoding are summed; "tail" is the uncompressed append buffer), plus one
 * "dictionary" row per dictionary-coded column with partition NULL (a dictionary is
 * shared by all partitions), and one "delete bitmap" row (column NULL) per table with
 * deletes. tally_storage_totals: per table, the same bytes summed,
 * the primary-key index, and bytes per live row — the figure the targets name;
 * then how many sealed chunks compaction has rewritten and whether a rewrite is still
 * due (it runs in the background, at a moment no reader is pinned).
 */
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

/* Fixed oids from PostgreSQL's development range (8000-9999), never handed to user
 * relations, so creating these views does not shift the oids users see. */
#define OID_TALLY_STORAGE 9970
#define OID_TALLY_STORAGE_TOTALS 9971

enum { S_TABLE, S_PART, S_COLUMN, S_ENCODING, S_SEGMENTS, S_ROWS, S_RAW, S_STORED, S_RATIO, S_NCOLS };
enum { T_TABLE, T_ROWS, T_DATA, T_DICT, T_INDEX, T_TOTAL, T_BPR, T_COMPACTED, T_PENDING, T_NCOLS };

/* Rows buffered one vector at a time, then appended to the statement's table. */
typedef struct vrows {
    tl_table *out;
    int ncols;
    tl_vec v[S_NCOLS];
    uint32_t n;
    tl_arena a;
    int rc;
    tl_error *err;
} vrows;

static void vr_alloc(vrows *b)
{
    for (int i = 0; i < b->ncols; i++) tl_vec_alloc(&b->v[i], tl_table_coltype(b->out, i), TL_VEC_SIZE, &b->a);
}

static void vr_init(vrows *b, tl_table *out, tl_error *err)
{
    memset(b, 0, sizeof *b);
    b->out = out;
    b->ncols = tl_table_ncols(out);
    b->err = err;
    tl_arena_init(&b->a);
    vr_alloc(b);
}

static void vr_flush(vrows *b)
{
    if (b->n == 0 || b->rc < 0) return;
    for (int i = 0; i < b->ncols; i++) b->v[i].n = b->n;
    b->rc = tl_table_append(b->out, b->v, b->n, NULL, b->err);
    b->n = 0;
    tl_arena_reset(&b->a);
    vr_alloc(b);
}

static void vr_text(vrows *b, int c, const char *s)
{
    tl_datum d = {.isnull = s == NULL};
    if (s) {
        size_t len = strlen(s);
        char *copy = tl_arena_alloc(&b->a, len + 1);
        memcpy(copy, s, len + 1);
        d.v.s = (tl_str){copy, (uint32_t)len};
    }
    tl_vec_set(&b->v[c], b->n, &d);
}

static void vr_int(vrows *b, int c, uint64_t x)
{
    tl_datum d = {.v.i = (int64_t)x};
    tl_vec_set(&b->v[c], b->n, &d);
}

/* num / den as numeric(.., 2), NULL when den is 0: ratios and bytes per row. */
static void vr_ratio(vrows *b, int c, uint64_t num, uint64_t den)
{
    tl_datum d = {.isnull = den == 0};
    if (den) {
        d.v.n.mant = (tl_i128)(((tl_u128)num * 100 + den / 2) / den);
        d.v.n.scale = 2;
    }
    tl_vec_set(&b->v[c], b->n, &d);
}

static void vr_row(vrows *b)
{
    if (++b->n == TL_VEC_SIZE) vr_flush(b);
}

static int vr_done(vrows *b)
{
    vr_flush(b);
    tl_arena_free(&b->a);
    return b->rc;
}

static void part_name(tl_engine *e, const tl_rel *r, uint32_t p, char *buf, size_t cap)
{
    int32_t m = tl_table_part_month(r->data, p);
    if (r->part_col < 0 && m == 0 && tl__month_fk(e, r) < 0) {
        snprintf(buf, cap, "all");
    } else if (m == INT32_MIN) {
        snprintf(buf, cap, "null");
    } else {
        int y = 2000 + (m >= 0 ? m / 12 : -((-m + 11) / 12));
        snprintf(buf, cap, "%04d-%02d", y, m - (y - 2000) * 12 + 1);
    }
}

typedef struct stat_ctx {
    tl_engine *e;
    vrows *b;
    const tl_rel *r;
} stat_ctx;

static void emit_stat(void *arg, const tl_storage_stat *st)
{
    stat_ctx *x = arg;
    vrows *b = x->b;
    char pn[32];
    part_name(x->e, x->r, st->part, pn, sizeof pn);
    vr_text(b, S_TABLE, x->r->name);
    vr_text(b, S_PART, pn);
    vr_text(b, S_COLUMN, x->r->atts[st->col].name);
    vr_text(b, S_ENCODING, st->encoding);
    vr_int(b, S_SEGMENTS, st->segments);
    vr_int(b, S_ROWS, st->rows);
    vr_int(b, S_RAW, st->raw_bytes);
    vr_int(b, S_STORED, st->stored_bytes);
    vr_ratio(b, S_RATIO, st->raw_bytes, st->stored_bytes);
    vr_row(b);
}

static bool listed(const tl_rel *r)
{
    return r->kind == TL_REL_TABLE && r->data;
}

static int storage_rows(tl_engine *e, const tl_rel *self, tl_table *out, tl_error *err)
{
    (void)self;
    vrows b;
    vr_init(&b, out, err);
    for (int i = 0; i < tl_catalog_nrels(e); i++) {
        tl_rel *r = tl_catalog_rel_at(e, i);
        if (!listed(r)) continue;
        tl_table_pin(r->data);
        stat_ctx x = {e, &b, r};
        tl_table_storage_stats(r->data, emit_stat, &x);
        for (int c = 0; c < r->natts; c++) {
            tl_dict *d = tl_table_dict(r->data, c);
            if (!d) continue;
            uint32_t n = tl_dict_size(d);
            uint64_t raw = 0;
            for (uint32_t k = 0; k < n; k++) raw += tl_dict_get(d, k).len;
            vr_text(&b, S_TABLE, r->name);
            vr_text(&b, S_PART, NULL);
            vr_text(&b, S_COLUMN, r->atts[c].name);
            vr_text(&b, S_ENCODING, "dictionary");
            vr_int(&b, S_SEGMENTS, 0);
            vr_int(&b, S_ROWS, n);
            vr_int(&b, S_RAW, raw);
            vr_int(&b, S_STORED, tl_dict_bytes(d));
            vr_ratio(&b, S_RATIO, raw, tl_dict_bytes(d));
            vr_row(&b);
        }
        size_t del = tl_table_delete_bytes(r->data);
        tl_table_unpin(r->data);
        if (!del) continue;
        vr_text(&b, S_TABLE, r->name);
        vr_text(&b, S_PART, NULL);
        vr_text(&b, S_COLUMN, NULL);
        vr_text(&b, S_ENCODING, "delete bitmap");
        vr_int(&b, S_SEGMENTS, 0);
        vr_int(&b, S_ROWS, r->data ? tl_catalog_row_count(e, r) : 0);
        vr_int(&b, S_RAW, 0);
        vr_int(&b, S_STORED, del);
        vr_ratio(&b, S_RATIO, 0, 0);
        vr_row(&b);
    }
    return vr_done(&b);
}

static int totals_rows(tl_engine *e, const tl_rel *self, tl_table *out, tl_error *err)
{
    (void)self;
    vrows b;
    vr_init(&b, out, err);
    for (int i = 0; i < tl_catalog_nrels(e); i++) {
        tl_rel *r = tl_catalog_rel_at(e, i);
        if (!listed(r)) continue;
        tl_table_pin(r->data);
        uint64_t dict = 0;
        for (int c = 0; c < r->natts; c++)
            if (tl_table_dict(r->data, c)) dict += tl_dict_bytes(tl_table_dict(r->data, c));
        uint64_t all = tl_table_bytes(r->data), idx = tl_catalog_index_bytes(r);
        uint64_t rows = tl_catalog_row_count(e, r);
        uint64_t compacted = tl_table_compactions(r->data);
        bool pending = tl_table_compaction_pending(r->data);
        tl_table_unpin(r->data);
        vr_text(&b, T_TABLE, r->name);
        vr_int(&b, T_ROWS, rows);
        vr_int(&b, T_DATA, all - dict);
        vr_int(&b, T_DICT, dict);
        vr_int(&b, T_INDEX, idx);
        vr_int(&b, T_TOTAL, all + idx);
        vr_ratio(&b, T_BPR, all + idx, rows);
        vr_int(&b, T_COMPACTED, compacted);
        tl_datum pd = {.v.b = pending};
        tl_vec_set(&b.v[T_PENDING], b.n, &pd);
        vr_row(&b);
    }
    return vr_done(&b);
}

static tl_attr att(const char *name, tl_type_id t)
{
    tl_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = tl_type_make(t);
    return a;
}

int tl_storage_view_register(tl_engine *e, tl_error *err)
{
    tl_attr s[S_NCOLS] = {
        att("table_name", TL_TEXT),    att("partition", TL_TEXT),   att("column_name", TL_TEXT),
        att("encoding", TL_TEXT),      att("segments", TL_INT8),    att("rows", TL_INT8),
        att("raw_bytes", TL_INT8),     att("stored_bytes", TL_INT8), att("ratio", TL_NUMERIC),
    };
    tl_attr t[T_NCOLS] = {
        att("table_name", TL_TEXT),    att("rows", TL_INT8),        att("data_bytes", TL_INT8),
        att("dictionary_bytes", TL_INT8), att("index_bytes", TL_INT8), att("total_bytes", TL_INT8),
        att("bytes_per_row", TL_NUMERIC), att("compacted_segments", TL_INT8),
        att("compaction_pending", TL_BOOL),
    };
    tl_rel *r = tl_catalog_create_virtual(e, "tally_storage", TL_NSP_PG_CATALOG, TL_REL_VIEW, S_NCOLS, s,
                                          storage_rows, NULL, err);
    if (!r) return -1;
    r->oid = OID_TALLY_STORAGE;
    r = tl_catalog_create_virtual(e, "tally_storage_totals", TL_NSP_PG_CATALOG, TL_REL_VIEW, T_NCOLS, t,
                                  totals_rows, NULL, err);
    if (!r) return -1;
    r->oid = OID_TALLY_STORAGE_TOTALS;
    return 0;
}
