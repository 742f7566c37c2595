/*
 * codec_int.h — storage's column encodings, private to storage/.
 *
 * Every sealed column is reduced to one to three streams of int64 (integers, dates and
 * timestamps as themselves; dictionary codes; numeric as mantissa + display scale;
 * floats, uuids and intervals as their bit patterns), so one small set of integer
 * codecs serves every type. A codec is a table of functions in the DuckDB manner:
 * analyze (estimated bytes from the stream's statistics, so the cheapest is chosen per
 * segment without trial encoding), compress, open (validate a buffer: sizes are checked
 * before anything is trusted, so a corrupt buffer is XX001 and never an out-of-bounds
 * read), scan a range into a vector, fetch one value, and filter a range on the encoded
 * form (packed values and run heads are compared without materialising the column).
 *
 * Stream layout, 8-byte aligned, native byte order (these buffers are also what
 * snapshot files store):
 *
 *   OFFSET SIZE DESCRIPTION
 *   0      1    codec id (enc_id)
 *   1      1    bit width (FOR), 0 otherwise
 *   2      2    reserved, 0
 *   4      4    run count (RLE), scale factor (FORK), 0 otherwise
 *   8      8    base: frame of reference (FOR) or the value (CONST)
 *   16     ...  payload: FOR  ceil(n*width/64)+1 words (the +1 lets the unpacker read
 *                             a word ahead without a branch); FORK the same
 *                        RLE  runs * int64 values, then runs * uint32 ends (exclusive),
 *                             padded to 8
 *                        PLAIN n * int64
 */
#ifndef TL_CODEC_INT_H
#define TL_CODEC_INT_H

#include "tl_table.h"

typedef enum enc_id { ENC_CONST = 1, ENC_FOR = 2, ENC_RLE = 3, ENC_PLAIN = 4, ENC_FORK = 5, ENC_NCODECS = 6 } enc_id;

#define ENC_HDR 16

/* Statistics of one stream, computed once and shared by every codec's analyze. */
typedef struct enc_stats {
    uint32_t n;
    int64_t min, max;
    uint32_t runs; /* maximal runs of equal values */
    uint64_t gcd;  /* of the offsets from min (0 when all are equal) */
} enc_stats;

/* A validated stream: pointers into the caller's buffer, which must outlive the view. */
typedef struct enc_view {
    uint8_t id, width;
    uint32_t n, nruns;
    int64_t base;
    const uint64_t *words;  /* FOR */
    const int64_t *vals;    /* RLE run values, PLAIN values */
    const uint32_t *ends;   /* RLE run ends */
} enc_view;

typedef struct enc_codec {
    enc_id id;
    const char *name;
    size_t (*analyze)(const enc_stats *st); /* bytes incl. header; SIZE_MAX = unusable */
    void (*compress)(const int64_t *v, const enc_stats *st, tl_buf *out);
    int (*open)(const uint8_t *p, size_t len, uint32_t n, enc_view *v, tl_error *err);
    void (*scan)(const enc_view *v, uint32_t start, uint32_t cnt, int64_t *out);
    int64_t (*fetch)(const enc_view *v, uint32_t row);
    /* keep[i] = 0 where value(start+i) is outside [lo, hi]; returns survivors counted
     * over the range (rows already 0 in keep stay 0). */
    void (*filter)(const enc_view *v, uint32_t start, uint32_t cnt, int64_t lo, int64_t hi,
                   uint8_t *keep);
} enc_codec;

extern const enc_codec enc_const_codec, enc_for_codec, enc_rle_codec, enc_plain_codec, enc_fork_codec;

const enc_codec *enc_by_id(int id);
void enc_stats_of(const int64_t *v, uint32_t n, enc_stats *st);
/* Choose the cheapest codec for these values and append its stream to out (8-aligned). */
const enc_codec *enc_compress_best(const int64_t *v, uint32_t n, tl_buf *out);
/* Validate a stream buffer of `len` bytes holding n values. XX001 on any inconsistency. */
int enc_open(const uint8_t *p, size_t len, uint32_t n, enc_view *v, tl_error *err);
static inline unsigned enc_width(uint64_t range)
{
    return range ? 64u - (unsigned)__builtin_clzll(range) : 0u;
}
void enc__header(tl_buf *out, enc_id id, unsigned width, uint32_t nruns, int64_t base);
int enc__corrupt(tl_error *err, const char *what);

#endif
