/*
 * seg_int.h — one sealed column segment: a self-describing, immutable buffer holding
 * the null bitmap, the zone map and one to three encoded int64 streams (see codec_int.h
 * for the streams and table.c for how each SQL type maps onto them). The buffer is the
 * only allocation; seg_col is a validated view of it, so the same bytes can be written
 * to a snapshot file and reopened with seg_open.
 *
 *   OFFSET SIZE DESCRIPTION
 *   0      4    magic "TLSC"
 *   4      1    kind (seg_kind)       5  1  number of streams   6  1  zone map valid
 *   8      4    rows                  12 4  NULL count
 *   16     4    distinct estimate (non-NULL values of stream 0, linear counting)
 *   24     8    zone min              32 8  zone max (stream 0 over non-NULL rows)
 *   40     12   byte length of each stream (multiples of 8), 4 reserved
 *   56     ...  NULL bitmap, ceil(rows/64) words, only when 0 < NULL count < rows
 *   ...         streams, back to back
 */
#ifndef TL_SEG_INT_H
#define TL_SEG_INT_H

#include "codec_int.h"

typedef enum seg_kind {
    SK_INT,     /* bool, int2/4/8, date, timestamp[tz], oid, enum */
    SK_CODE,    /* dictionary code */
    SK_F64,     /* float bit pattern */
    SK_NUM64,   /* numeric: mantissa, scale (-1 = NaN) */
    SK_NUM128,  /* numeric with wide mantissas: high, low, scale */
    SK_UUID,    /* first 8 bytes, last 8 bytes */
    SK_IV,      /* interval: microseconds, days, months */
    SK_NKINDS
} seg_kind;

#define SEG_HDR 56
#define SEG_MAX_STREAMS 3

typedef struct seg_col {
    uint8_t *buf;        /* owned; the whole segment */
    size_t len;
    uint8_t kind, nstreams;
    bool zone_valid;
    uint32_t n, nnull, ndistinct;
    int64_t zmin, zmax;
    const uint64_t *nullbm; /* NULL unless some but not all rows are NULL */
    enc_view s[SEG_MAX_STREAMS];
} seg_col;

/* Encode n rows given as nstreams int64 arrays (values at NULL rows are ignored) and a
 * NULL byte per row (NULL pointer: none). Returns a heap seg_col; free with seg_free. */
seg_col *seg_build(seg_kind kind, uint32_t n, const uint8_t *nulls, int64_t *const *streams,
                   int nstreams);
/* Validate `len` bytes (8-aligned) as a segment of n rows; the view points into buf. */
int seg_open(uint8_t *buf, size_t len, uint32_t n, seg_col *out, tl_error *err);
void seg_free(seg_col *s);
/* NULL bytes of rows [start, start+cnt); returns whether any is NULL. */
bool seg_nulls(const seg_col *s, uint32_t start, uint32_t cnt, uint8_t *out);
bool seg_isnull(const seg_col *s, uint32_t row);
void seg_scan(const seg_col *s, int k, uint32_t start, uint32_t cnt, int64_t *out);
int64_t seg_fetch(const seg_col *s, int k, uint32_t row);
const char *seg_encoding_name(const seg_col *s); /* "for", "rle+dict" ... for tally_storage */

#endif
