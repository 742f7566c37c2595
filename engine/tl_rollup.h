/*
 * tl_rollup.h — incremental rollups: per-group aggregate states of a materialized view,
 * kept exact under every append and delete of its source table, in the same commit.
 *
 * The split of work: the query layer compiles a view's defining query and gives the
 * engine a `derive` callback that turns source rows into rollup rows (the rows passing
 * WHERE, their group keys and one argument per aggregate, NULL where the argument is
 * NULL or FILTER rejects the row). The engine owns the states: group hash table,
 * exact integer/numeric sums and sums of squares, ordered multisets (min/max,
 * percentiles, count(distinct), now()-relative counts), and finalises them into rows
 * at statement time.
 *
 * Atomicity: ingest derives the rows of a batch when it is appended (an error, e.g.
 * division by zero in an aggregate argument, fails the statement) and applies them all
 * at commit, under the rollup lock, before the facts are published; abort drops them.
 */
#ifndef TL_ROLLUP_H
#define TL_ROLLUP_H

#include "tl_catalog.h"

typedef enum tl_ragg_kind {
    TL_RAGG_COUNT,          /* count(*) (arg NULL vector pointer = every row) or count(x) */
    TL_RAGG_SUM,
    TL_RAGG_AVG,
    TL_RAGG_MIN,
    TL_RAGG_MAX,
    TL_RAGG_VAR_SAMP,
    TL_RAGG_VAR_POP,
    TL_RAGG_STDDEV_SAMP,
    TL_RAGG_STDDEV_POP,
    TL_RAGG_COUNT_DISTINCT,
    TL_RAGG_PCT_CONT,       /* percentile_cont(f) WITHIN GROUP (ORDER BY float8 arg) */
    TL_RAGG_PCT_DISC,
    TL_RAGG_BOOL_AND,
    TL_RAGG_BOOL_OR,
    TL_RAGG_COUNT_SINCE,    /* count(*) FILTER (WHERE arg >= now() - window), at read time */
} tl_ragg_kind;

typedef struct tl_rollup_agg {
    tl_ragg_kind kind;
    bool star;            /* count(*): no argument vector */
    tl_type arg_type;
    tl_type result_type;
    double fraction;      /* percentiles */
    tl_interval window;   /* COUNT_SINCE */
    bool strict;          /* COUNT_SINCE: '>' rather than '>=' */
    /* 1 + the index of an earlier aggregate whose argument is the same expression over the
     * same rows (no FILTER on either), or 0: their value multisets are one state. */
    int share_with;
} tl_rollup_agg;

/* Rows of a source batch as the rollup sees them. Vectors have n values. */
typedef struct tl_rollup_rows {
    uint32_t n;
    tl_vec *keys; /* nkeys */
    tl_vec *args; /* naggs; unused for star aggregates */
} tl_rollup_rows;

typedef int (*tl_rollup_derive_fn)(void *arg, const tl_vec *cols, uint32_t n, tl_rollup_rows *out,
                                   tl_arena *a, tl_error *err);

typedef struct tl_rollup_def {
    int nkeys;
    const tl_type *key_types;
    int naggs;
    const tl_rollup_agg *aggs;
    /* output columns: >= 0 an aggregate's index, < 0 the key -(k + 1) */
    int ncols;
    const int *colsrc;
    tl_rollup_derive_fn derive;
    void *arg;
} tl_rollup_def;

typedef struct tl_rollup tl_rollup;

/* Exclusive catalog lock held. The rollup starts empty and disabled (unpopulated). */
tl_rollup *tl_rollup_create(tl_engine *e, tl_rel *source, const tl_rollup_def *def);
void tl_rollup_free(tl_rollup *ru);
/* Recompute the states from the source's published rows and enable maintenance
 * (CREATE, REFRESH of an unpopulated view, start-up after the facts are loaded).
 * Exclusive catalog lock held, so no writer runs. */
int tl_rollup_rebuild(tl_rollup *ru, tl_error *err);
/* Stop maintenance and drop the states (REFRESH ... WITH NO DATA). */
void tl_rollup_clear(tl_rollup *ru);
bool tl_rollup_populated(const tl_rollup *ru);
/* The view's rows now: one per non-empty group; `now` and `tz` answer COUNT_SINCE.
 * With nfilt > 0, only groups whose key fkeys[i] equals fvals[i] for every i (equality
 * filters pushed down from a query; a NULL value matches nothing). A filter on the first
 * key walks that key's chain of groups instead of every group. */
int tl_rollup_emit(tl_rollup *ru, int64_t now, const tl_tz *tz, int nfilt, const int *fkeys, const tl_datum *fvals,
                   tl_table *out, tl_error *err);
/* The group key an output column shows, or -1 for an aggregate column. */
int tl_rollup_col_key(const tl_rollup *ru, int col);
size_t tl_rollup_bytes(const tl_rollup *ru); /* resident bytes of the states */
uint64_t tl_rollup_ngroups(const tl_rollup *ru); /* groups with rows */

/* ---- hooks on the write path (ingest.c calls these) ----------------------------------- */

typedef struct tl_rollup_pending tl_rollup_pending;
/* Derive the rollup rows of n rows appended to (sign +1) or deleted from (sign -1) `r`,
 * for every view on it; kept in *p until commit. Fails with the derivation's error. */
int tl_rollup_prepare(tl_engine *e, tl_rollup_pending **p, tl_rel *r, const tl_vec *cols, uint32_t n,
                      int sign, tl_error *err);
/* Apply the pending view deltas and publish the facts of `rels`, as one step for readers
 * that take the rollup read lock (p may be NULL: publish only). Frees p. */
void tl_rollup_commit_publish(tl_engine *e, tl_rollup_pending *p, tl_rel *const *rels, int n);
void tl_rollup_discard(tl_rollup_pending *p);
/* Apply without publishing (the group-commit publisher holds the rollup lock and
 * publishes several batches at one epoch). */
void tl_rollup_apply_pending(tl_rollup_pending *p);
/* Savepoints of a transaction block: the deltas prepared so far (an opaque position,
 * NULL for none), and dropping every delta prepared after such a position. */
const void *tl_rollup_pending_mark(const tl_rollup_pending *p);
void tl_rollup_pending_truncate(tl_rollup_pending *p, const void *mark);

/* Whether any populated view reads the relation (the delete path skips work if not). */
bool tl_rollup_has_views(tl_engine *e, uint32_t rel_oid);

/* The delete hook: rows (all attributes, as read before deletion) leaving `r` in the
 * statement of `g`. Their view deltas apply when g commits; an abort drops them. */
int tl_rollup_apply_delete(tl_ingest *g, tl_rel *r, const tl_vec *cols, uint32_t n, tl_error *err);

/* Readers take this around tl_rollup_emit; commit takes it exclusively. */
void tl_rollup_read_lock(tl_engine *e);
void tl_rollup_read_unlock(tl_engine *e);

#endif
