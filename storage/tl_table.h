/*
 * tl_table.h — a table's data: month partitions of sealed, compressed column segments
 * (TL_CHUNK_ROWS rows each; see seg_int.h and codec_int.h) plus one uncompressed tail
 * chunk per partition; string and (non-unique) uuid columns dictionary-encoded with one
 * dictionary per column across partitions; per-segment delete bitmaps.
 *
 * Concurrency model (the walking skeleton's stand-in for full epochs): one writer at a
 * time appends (the engine serialises writers); readers never block it. Column data
 * lives in fixed-size chunks that are never moved, reached through directories that are
 * allocated once, so a reader holding an older row count can keep reading while the
 * writer appends. Rows become visible when the writer publishes new per-partition row
 * counts under the engine's sequence lock; a failed batch is rolled back by truncating
 * to the counts it started from, before anything was published.
 *
 * Sealing: tl_table_publish hands every full, published tail chunk to the table's
 * sealer thread (started when the first chunk fills), which encodes it into a segment
 * off the append path and swaps the segment in; tl_table_seal waits for it. The raw
 * chunk it replaces is freed only when no reader holds a pin, so anything that reads a
 * table's columns (scans, snapshot writers, system views) brackets its reads with
 * tl_table_pin/tl_table_unpin or holds a snapshot; tl_table_get and tl_table_get_code
 * pin by themselves. Rollback never reaches a sealed chunk: only published rows are
 * sealed, and marks are never below them.
 *
 * Deletes: tl_table_delete marks rows in copy-on-write bitmaps per chunk; the new bitmaps
 * are published with the row counts (tl_table_publish) or dropped (tl_table_rollback),
 * and each snapshot keeps the bitmap directory of its epoch, so a reader never sees half
 * a delete. Row positions never move (constraint indexes hold them).
 */
#ifndef TL_TABLE_H
#define TL_TABLE_H

#include "tl_value.h"

/* 16,384-row segments: a month of attempts (~40k rows at 1M attempts over two years)
 * must seal most of its rows, and an unsealed tail costs the plain width; 64Ki-row
 * segments left 87% of the attempts in tails at that scale. Smaller segments also give
 * zone maps a finer grain. */
#define TL_CHUNK_SHIFT 14
#define TL_CHUNK_ROWS (1u << TL_CHUNK_SHIFT) /* rows per column chunk */
#define TL_MAX_CHUNKS 65536                  /* per partition column: 2^30 rows */
#define TL_MAX_PARTS 4096                    /* months per table */

/* ---- dictionary: strings <-> dense codes ---------------------------------------- */

typedef struct tl_dict tl_dict;
tl_dict *tl_dict_new(void);
/* A dictionary whose values all have `len` bytes (uuids: 16), stored without per-entry
 * overhead; interning a value of another length is a bug (panics). */
tl_dict *tl_dict_new_fixed(uint32_t len);
void tl_dict_free(tl_dict *d);
/* Code of the string, adding it if new (writer only). */
uint32_t tl_dict_intern(tl_dict *d, const char *s, uint32_t len);
/* Code of the string, or -1 if absent (writer only: the hash index is not reader-safe). */
int64_t tl_dict_find(const tl_dict *d, const char *s, uint32_t len);
/* The same for readers concurrent with the writer. */
int64_t tl_dict_find_shared(tl_dict *d, const char *s, uint32_t len);
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
 * The mark must not be beyond the current sizes; one publisher at a time. Row counts
 * only: pending deletes stay pending (the engine publishes a batch with deletes with
 * tl_table_publish, holding the writer back until then). */
void tl_table_publish_mark(tl_table *t, const tl_table_mark *m);
/* Partition of a month key (tl_table_part_month's domain), -1 if none (writer only). */
int64_t tl_table_find_month(const tl_table *t, int32_t month);
/* Rows of a partition, unpublished included (writer only). */
uint64_t tl_table_part_rows(const tl_table *t, uint32_t part);

/* Reader side: a snapshot of the published partition count and row counts. */
typedef struct tl_delmap tl_delmap;
typedef struct tl_table_snap {
    uint32_t nparts;
    const uint64_t *rows;          /* per partition: row positions [0, rows) */
    const tl_delmap *const *dels;  /* per partition: deleted rows at this epoch (NULL: none) */
} tl_table_snap;
/* Fill `snap` (rows array allocated in `a`). Caller provides consistency (seqlock).
 * The snapshot pins the table until `a` is freed or reset, so free `a` before the table. */
void tl_table_snapshot(const tl_table *t, tl_table_snap *snap, tl_arena *a);
/* The writer's own view (writer only): every appended row and pending delete, published
 * or not, for a transaction block reading what it wrote. Pending delete bitmaps are
 * copied into `a`, since the writer's next delete or rollback may change or free them. */
void tl_table_snapshot_writer(const tl_table *t, tl_table_snap *snap, tl_arena *a);
uint64_t tl_table_snap_total(const tl_table_snap *snap); /* live rows (deleted ones excluded) */

/* Readers outside the writer pin the table for as long as they read its columns. */
void tl_table_pin(tl_table *t);
void tl_table_unpin(tl_table *t);

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

size_t tl_table_bytes(const tl_table *t); /* resident bytes of data + dictionaries + deletes */
size_t tl_table_delete_bytes(const tl_table *t); /* the published delete bitmaps' share */

/* The column is (nearly) unique, e.g. a single-column uuid primary key: store values
 * rather than dictionary codes, since a dictionary of unique keys only adds its index.
 * Call before the first append. */
void tl_table_hint_unique(tl_table *t, int col);

/* The column's values must survive deletes (primary-key columns: a snapshot re-inserts
 * deleted rows' keys before deleting them again); compaction leaves it alone. */
void tl_table_hint_key(tl_table *t, int col);

/* Compaction (see table.c): sealed chunks with at least half their rows deleted are
 * re-encoded by the sealer thread with deleted rows filled from live neighbours.
 * tl_table_compact does it now, in the caller (tests; the caller must hold no pin). */
void tl_table_compact(tl_table *t);
uint64_t tl_table_compactions(const tl_table *t); /* chunks rewritten so far */
/* Deletes were published that the sealer has not finished looking at (or a rewrite
 * waits for a moment without readers). */
bool tl_table_compaction_pending(tl_table *t);

/* Like tl_table_append, but the caller chooses each row's partition by month key
 * (months since 2000-01; INT32_MIN = the NULL partition): rows of a child table filed
 * under their parent's month (fact_kpi_events under its attempt's started_at). */
int tl_table_append_months(tl_table *t, const tl_vec *cols, uint32_t n, const int32_t *months,
                           tl_rowloc *loc, tl_error *err);

/* Seal every full, published tail chunk and wait until the sealer is done (tests,
 * checkpoints, benchmarks); publish only asks the sealer. */
void tl_table_seal(tl_table *t);
/* Wait until the sealer has encoded what publishes so far asked for, asking nothing
 * new: safe from readers. The size figures (tl_table_bytes, tl_table_storage_stats)
 * settle first, so two views read one after the other agree. */
void tl_table_settle(tl_table *t);

/* ---- deletes ------------------------------------------------------------------------ */

/* Mark a published row deleted (writer only). Visible at the next publish; dropped by
 * rollback. Returns false if it was already deleted (in this epoch or pending). */
bool tl_table_delete(tl_table *t, uint32_t part, uint64_t row);
/* Whether a row is deleted in the writer's (pending-inclusive) view. */
bool tl_table_is_deleted(const tl_table *t, uint32_t part, uint64_t row);
/* Deleted rows of a partition in a snapshot's epoch (snapshot files). */
uint64_t tl_table_snap_ndel(const tl_table_snap *snap, uint32_t part);
bool tl_table_snap_is_deleted(const tl_table_snap *snap, uint32_t part, uint64_t row);

/* ---- scans in compressed form ---------------------------------------------------------- */

/* A simple predicate evaluated by storage on encoded data. Values are in the column's
 * storage domain: integer-like types (int2/4/8, date, timestamp[tz], bool as 0/1) as
 * int64; dictionary-coded columns (text, non-unique uuid) as codes from
 * tl_table_lookup_code, equality only. Other column types take no predicates. NULLs
 * never satisfy RANGE or IN. The caller keeps its own filter: predicates only narrow. */
typedef enum tl_pred_kind { TL_PRED_RANGE, TL_PRED_IN, TL_PRED_ISNULL, TL_PRED_NOTNULL, TL_PRED_FALSE } tl_pred_kind;
typedef struct tl_scan_pred {
    int col;
    tl_pred_kind kind;
    int64_t lo, hi;      /* RANGE: inclusive bounds */
    uint32_t nin;        /* IN: sorted distinct values */
    const int64_t *in;
} tl_scan_pred;

/* Which kind of domain a column has for predicates: 'i' integer-like, 'c' code, 0 none. */
char tl_table_pred_domain(const tl_table *t, int col);
/* Reader-safe dictionary lookup: code of a string (or 16 raw uuid bytes), -1 if absent. */
int64_t tl_table_lookup_code(const tl_table *t, int col, const char *s, uint32_t len);
/* First row >= `row` of partition `part` that might satisfy the predicates, judged by the
 * partition's month and the zone maps of sealed segments; snap->rows[part] if none. */
uint64_t tl_table_skip(const tl_table *t, const tl_table_snap *snap, uint32_t part, uint64_t row,
                       const tl_scan_pred *preds, int npreds);
/* Live rows of [start, start+n) (n <= TL_VEC_SIZE) satisfying all predicates, as offsets
 * from start in `sel` (ascending); returns how many. Deleted rows are never selected. */
uint32_t tl_table_select(const tl_table *t, const tl_table_snap *snap, uint32_t part,
                         uint64_t start, uint32_t n, const tl_scan_pred *preds, int npreds,
                         uint32_t *sel);

/* ---- storage statistics (tally_storage) -------------------------------------------------- */

typedef struct tl_storage_stat {
    uint32_t part;
    int col;
    const char *encoding;  /* "for", "rle", "constant", "plain", "all-null", "tail" */
    uint64_t rows, segments;
    uint64_t raw_bytes;    /* the values' plain width (strings: their bytes) */
    uint64_t stored_bytes; /* resident bytes of the encoded segments or tail chunks */
} tl_storage_stat;
/* Call fn once per (partition, column, encoding) present. Pin the table around it. */
void tl_table_storage_stats(const tl_table *t, void (*fn)(void *arg, const tl_storage_stat *st),
                            void *arg);

#endif
