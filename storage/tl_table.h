/*
 * tl_table.h — a table's data: month partitions of column chunks, string columns
 * dictionary-encoded with one dictionary per column across partitions.
 *
 * Concurrency model (the walking skeleton's stand-in for full epochs): one writer at a
 * time appends (the engine serialises writers); readers never block it. Column data
 * lives in fixed-size chunks that are never moved, reached through directories that are
 * allocated once, so a reader holding an older row count can keep reading while the
 * writer appends. Rows become visible when the writer publishes new per-partition row
 * counts under the engine's sequence lock; a failed batch is rolled back by truncating
 * to the counts it started from, before anything was published.
 */
#ifndef TL_TABLE_H
#define TL_TABLE_H

#include "tl_value.h"

#define TL_CHUNK_SHIFT 16
#define TL_CHUNK_ROWS (1u << TL_CHUNK_SHIFT) /* rows per column chunk */
#define TL_MAX_CHUNKS 16384                  /* per partition column: 2^30 rows */
#define TL_MAX_PARTS 4096                    /* months per table */

/* ---- dictionary: strings <-> dense codes ---------------------------------------- */

typedef struct tl_dict tl_dict;
tl_dict *tl_dict_new(void);
void tl_dict_free(tl_dict *d);
/* Code of the string, adding it if new (writer only). */
uint32_t tl_dict_intern(tl_dict *d, const char *s, uint32_t len);
/* Code of the string, or -1 if absent (writer only: the hash index is not reader-safe). */
int64_t tl_dict_find(const tl_dict *d, const char *s, uint32_t len);
/* String of a code; safe for readers for any code they saw in a published row. */
tl_str tl_dict_get(const tl_dict *d, uint32_t code);
uint32_t tl_dict_size(const tl_dict *d);
size_t tl_dict_bytes(const tl_dict *d);

/* ---- tables ----------------------------------------------------------------------- */

typedef struct tl_table tl_table;
typedef struct tl_part tl_part;

/* part_col: index of a DATE column whose month picks the partition, or -1 for one
 * partition (dimension tables). Rows with NULL in that column go to a NULL partition. */
tl_table *tl_table_new(int ncols, const tl_type *types, int part_col);
void tl_table_free(tl_table *t);
int tl_table_ncols(const tl_table *t);
tl_type tl_table_coltype(const tl_table *t, int col);
tl_dict *tl_table_dict(const tl_table *t, int col); /* NULL for non-string columns */

/* Append n rows given as one vector per column (all columns, n <= vectors' length).
 * Not visible until tl_table_publish. Records where each row went in `loc` if non-NULL
 * (partition index, row within partition), for constraint indexes. */
typedef struct tl_rowloc {
    uint32_t part;
    uint32_t row;
} tl_rowloc;
int tl_table_append(tl_table *t, const tl_vec *cols, uint32_t n, tl_rowloc *loc, tl_error *err);

/* Writer side of visibility: `mark` remembers the current (unpublished-inclusive) sizes;
 * rollback truncates back to a mark; publish makes everything appended visible. The
 * engine wraps publish in its sequence lock so several tables publish together. */
typedef struct tl_table_mark {
    uint32_t nparts;
    uint64_t *rows; /* per partition, nparts entries (malloc'd) */
} tl_table_mark;
void tl_table_mark_take(const tl_table *t, tl_table_mark *m);
void tl_table_mark_release(tl_table_mark *m);
void tl_table_rollback(tl_table *t, const tl_table_mark *m);
void tl_table_publish(tl_table *t);
/* Publish only up to a mark taken after some appends (group commit publishes batches
 * in WAL order once their record is durable, while later batches are already appended).
 * The mark must not be beyond the current sizes; one publisher at a time. */
void tl_table_publish_mark(tl_table *t, const tl_table_mark *m);

/* Reader side: a snapshot of the published partition count and row counts. */
typedef struct tl_table_snap {
    uint32_t nparts;
    const uint64_t *rows; /* per partition */
} tl_table_snap;
/* Fill `snap` (rows array allocated in `a`). Caller provides consistency (seqlock). */
void tl_table_snapshot(const tl_table *t, tl_table_snap *snap, tl_arena *a);
uint64_t tl_table_snap_total(const tl_table_snap *snap);

/* Month key of a partition (months since 2000-01, NULL partition = INT32_MIN; a table
 * without partitioning has one partition with key 0). */
int32_t tl_table_part_month(const tl_table *t, uint32_t part);

/* Read rows [start, start+n) of column `col` of partition `part` into `out`
 * (n <= TL_VEC_SIZE, not crossing a chunk boundary is not required). Fixed-width data is
 * copied into vectors allocated in `a`; strings point into the dictionary. */
void tl_table_read(const tl_table *t, uint32_t part, int col, uint64_t start, uint32_t n,
                   tl_vec *out, tl_arena *a);
/* One value (constraint checks, point lookups). */
void tl_table_get(const tl_table *t, uint32_t part, int col, uint64_t row, tl_datum *out);
/* Raw dictionary code of a string column value (faster equality for constraints). */
uint32_t tl_table_get_code(const tl_table *t, uint32_t part, int col, uint64_t row);

size_t tl_table_bytes(const tl_table *t); /* resident bytes of data + dictionaries */

#endif
