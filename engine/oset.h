/*
 * oset.h — a chunked ordered multiset of 64-bit keys, the state behind a rollup's
 * min/max, percentiles, now()-relative counts and count(distinct) for values that map
 * to an order-preserving int64 (integers, dates, timestamps, float8 by bit pattern,
 * strings and uuids by dictionary code when only equality matters).
 *
 * Why chunks: one sorted array per group made every out-of-order insert a memmove of the
 * whole group (tens of ms when it grew) and spent 56 bytes a value on datums and counts.
 * Chunks of at most OSET_CHUNK keys bound an insert or delete to one small memmove, and
 * an append past the end starts a new chunk instead of splitting, so time-ordered data
 * fills chunks completely (8 bytes a value).
 */
#ifndef TL_OSET_H
#define TL_OSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct oset_chunk oset_chunk;

typedef struct oset {
    oset_chunk **ch;
    int64_t *first;   /* ch[i]'s first key: finding a chunk reads this array, not chunks */
    uint32_t nch, capch;
    int64_t total;    /* keys held, duplicates included */
    int64_t ndistinct;
    size_t bytes;     /* chunks and index, allocated */
} oset;

void oset_free(oset *s);
void oset_add(oset *s, int64_t x);
/* Remove one occurrence; false when x is not held (the caller's invariant broke). */
bool oset_del(oset *s, int64_t x);
int64_t oset_min(const oset *s);
int64_t oset_max(const oset *s);
/* Keys >= x (or > x when strict). */
int64_t oset_count_from(const oset *s, int64_t x, bool strict);
/* The key at 0-based position k in order (0 <= k < total). */
int64_t oset_at(const oset *s, int64_t k);
size_t oset_bytes(const oset *s);

/* float8 <-> order-preserving int64 (NaN greatest, as PostgreSQL sorts it). */
int64_t oset_from_double(double d);
double oset_to_double(int64_t k);

#endif
