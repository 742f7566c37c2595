/*
 * table.c — month-partitioned column storage for the walking skeleton: uncompressed
 * fixed-width chunks per column (compression replaces the chunk format in the storage
 * issue; the read/append interface stays). See tl_table.h for the concurrency model.
 */
#include "tl_table.h"

#include <stdlib.h>
#include <string.h>

typedef enum phys {
    P_U8, P_I32, P_I64, P_F64, P_NUM, P_CODE, P_UUID, P_IV
} phys;

typedef struct part_col {
    void **chunks;     /* TL_MAX_CHUNKS slots, chunk i holds rows [i<<SHIFT, ...) */
    uint8_t **nulls;   /* parallel null bytes, allocated with the chunk */
} pcol;

typedef struct part {
    int32_t month;
    uint64_t rows;     /* writer's count, including unpublished rows */
    uint64_t pub_rows; /* readers' count (atomic) */
    pcol cols[];
} part;

#define MAP_SLOTS (TL_MAX_PARTS * 2)

struct tl_table {
    int ncols;
    tl_type *types;
    uint8_t *phys;
    int part_col;
    tl_dict **dicts;
    part **parts;       /* TL_MAX_PARTS slots, append-only */
    uint32_t nparts;    /* writer's count */
    uint32_t pub_nparts;
    int32_t map_key[MAP_SLOTS];
    int32_t map_val[MAP_SLOTS]; /* partition index + 1, 0 = empty */
    size_t bytes;
};

static phys phys_of(tl_type_id id)
{
    switch (id) {
    case TL_BOOL: return P_U8;
    case TL_INT2: case TL_INT4: case TL_DATE: case TL_ENUM: case TL_OID: return P_I32;
    case TL_INT8: case TL_TIMESTAMP: case TL_TIMESTAMPTZ: return P_I64;
    case TL_FLOAT4: case TL_FLOAT8: return P_F64;
    case TL_NUMERIC: return P_NUM;
    case TL_UUID: return P_UUID;
    case TL_INTERVAL: return P_IV;
    default: return P_CODE;
    }
}

static size_t phys_size(phys p)
{
    static const size_t sz[] = {1, 4, 8, 8, sizeof(tl_numeric), 4, 16, sizeof(tl_interval)};
    return sz[p];
}

tl_table *tl_table_new(int ncols, const tl_type *types, int part_col)
{
    tl_table *t = tl_xcalloc(1, sizeof *t);
    t->ncols = ncols;
    t->types = tl_xmalloc(sizeof *t->types * (size_t)(ncols ? ncols : 1));
    memcpy(t->types, types, sizeof *t->types * (size_t)ncols);
    t->phys = tl_xcalloc((size_t)ncols + 1, 1);
    t->dicts = tl_xcalloc((size_t)ncols + 1, sizeof *t->dicts);
    for (int c = 0; c < ncols; c++) {
        t->phys[c] = (uint8_t)phys_of(types[c].id);
        if (t->phys[c] == P_CODE) t->dicts[c] = tl_dict_new();
    }
    t->part_col = part_col;
    t->parts = tl_xcalloc(TL_MAX_PARTS, sizeof *t->parts);
    return t;
}

void tl_table_free(tl_table *t)
{
    if (!t) return;
    for (uint32_t p = 0; p < t->nparts; p++) {
        part *pt = t->parts[p];
        for (int c = 0; c < t->ncols; c++) {
            for (uint32_t k = 0; k < TL_MAX_CHUNKS && pt->cols[c].chunks[k]; k++) {
                free(pt->cols[c].chunks[k]);
                free(pt->cols[c].nulls[k]);
            }
            free(pt->cols[c].chunks);
            free(pt->cols[c].nulls);
        }
        free(pt);
    }
    for (int c = 0; c < t->ncols; c++) tl_dict_free(t->dicts[c]);
    free(t->parts);
    free(t->dicts);
    free(t->phys);
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
    for (int c = 0; c < t->ncols; c++) {
        pt->cols[c].chunks = tl_xcalloc(TL_MAX_CHUNKS, sizeof(void *));
        pt->cols[c].nulls = tl_xcalloc(TL_MAX_CHUNKS, sizeof(uint8_t *));
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
        t->bytes += (phys_size(p) + 1) * TL_CHUNK_ROWS;
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
    }
}

int tl_table_append(tl_table *t, const tl_vec *cols, uint32_t n, tl_rowloc *loc, tl_error *err)
{
    for (uint32_t i = 0; i < n; i++) {
        int32_t month = 0;
        if (t->part_col >= 0) {
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
     * may not see them yet, and an empty partition costs only its directories. */
    for (uint32_t p = 0; p < t->nparts; p++) t->parts[p]->rows = p < m->nparts ? m->rows[p] : 0;
}

void tl_table_publish(tl_table *t)
{
    for (uint32_t p = 0; p < t->nparts; p++)
        __atomic_store_n(&t->parts[p]->pub_rows, t->parts[p]->rows, __ATOMIC_RELEASE);
    __atomic_store_n(&t->pub_nparts, t->nparts, __ATOMIC_RELEASE);
}

void tl_table_publish_mark(tl_table *t, const tl_table_mark *m)
{
    for (uint32_t p = 0; p < m->nparts; p++)
        __atomic_store_n(&t->parts[p]->pub_rows, m->rows[p], __ATOMIC_RELEASE);
    __atomic_store_n(&t->pub_nparts, m->nparts, __ATOMIC_RELEASE);
}

void tl_table_snapshot(const tl_table *t, tl_table_snap *snap, tl_arena *a)
{
    uint32_t np = __atomic_load_n(&t->pub_nparts, __ATOMIC_ACQUIRE);
    uint64_t *rows = tl_arena_alloc(a, sizeof *rows * (np ? np : 1));
    for (uint32_t p = 0; p < np; p++) rows[p] = __atomic_load_n(&t->parts[p]->pub_rows, __ATOMIC_ACQUIRE);
    snap->nparts = np;
    snap->rows = rows;
}

uint64_t tl_table_snap_total(const tl_table_snap *snap)
{
    uint64_t n = 0;
    for (uint32_t p = 0; p < snap->nparts; p++) n += snap->rows[p];
    return n;
}

void tl_table_read(const tl_table *t, uint32_t pi, int c, uint64_t start, uint32_t n, tl_vec *out,
                   tl_arena *a)
{
    const pcol *pc = &t->parts[pi]->cols[c];
    phys p = (phys)t->phys[c];
    tl_vec_alloc(out, t->types[c], n, a);
    out->n = n;
    bool anynull = false;
    uint32_t i = 0;
    while (i < n) {
        uint64_t row = start + i;
        uint32_t k = (uint32_t)(row >> TL_CHUNK_SHIFT), off = (uint32_t)(row & (TL_CHUNK_ROWS - 1));
        uint32_t m = TL_CHUNK_ROWS - off;
        if (m > n - i) m = n - i;
        const uint8_t *nl = pc->nulls[k] + off;
        memcpy(out->nulls + i, nl, m);
        for (uint32_t j = 0; j < m && !anynull; j++) anynull |= nl[j];
        const char *src = (const char *)pc->chunks[k] + (size_t)off * phys_size(p);
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
            for (uint32_t j = 0; j < m; j++) {
                if (nl[j]) {
                    out->d.s[i + j].ptr = "";
                    out->d.s[i + j].len = 0;
                } else {
                    out->d.s[i + j] = tl_dict_get(t->dicts[c], ((const uint32_t *)src)[j]);
                }
            }
            break;
        }
        i += m;
    }
    if (!anynull) out->nulls = NULL;
}

void tl_table_get(const tl_table *t, uint32_t pi, int c, uint64_t row, tl_datum *out)
{
    const pcol *pc = &t->parts[pi]->cols[c];
    phys p = (phys)t->phys[c];
    uint32_t k = (uint32_t)(row >> TL_CHUNK_SHIFT), off = (uint32_t)(row & (TL_CHUNK_ROWS - 1));
    memset(out, 0, sizeof *out);
    if (pc->nulls[k][off]) {
        out->isnull = true;
        return;
    }
    const char *src = (const char *)pc->chunks[k] + (size_t)off * phys_size(p);
    switch (p) {
    case P_U8: out->v.b = *(const uint8_t *)src; break;
    case P_I32:
        out->v.i = t->types[c].id == TL_OID ? (int64_t)*(const uint32_t *)src : *(const int32_t *)src;
        break;
    case P_I64: out->v.i = *(const int64_t *)src; break;
    case P_F64: out->v.f = *(const double *)src; break;
    case P_NUM: out->v.n = *(const tl_numeric *)src; break;
    case P_UUID: out->v.u = *(const tl_uuid *)src; break;
    case P_IV: out->v.iv = *(const tl_interval *)src; break;
    case P_CODE: out->v.s = tl_dict_get(t->dicts[c], *(const uint32_t *)src); break;
    }
}

uint32_t tl_table_get_code(const tl_table *t, uint32_t pi, int c, uint64_t row)
{
    const pcol *pc = &t->parts[pi]->cols[c];
    uint32_t k = (uint32_t)(row >> TL_CHUNK_SHIFT), off = (uint32_t)(row & (TL_CHUNK_ROWS - 1));
    return ((const uint32_t *)pc->chunks[k])[off];
}

size_t tl_table_bytes(const tl_table *t)
{
    size_t b = t->bytes;
    for (int c = 0; c < t->ncols; c++)
        if (t->dicts[c]) b += tl_dict_bytes(t->dicts[c]);
    return b;
}
