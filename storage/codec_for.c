/*
 * codec_for.c — frame of reference + bit-packing: value = base + w-bit unsigned offset,
 * packed little-endian into 64-bit words. Scores in hundredths, durations, dates within
 * a month and dictionary codes all land in a few bits. The unpacker is instantiated
 * once per width (a switch over constant widths) so each loop body is shift-and-mask
 * with no data-dependent branch; range filters compare packed offsets directly after
 * moving the bounds into the frame.
 *
 * The scaled variant (ENC_FORK) packs (value - base) / k, k the offsets' greatest common
 * divisor (header field "run count"): timestamps of whole seconds are multiples of
 * 10^6 microseconds, which takes a day of them from 37 bits to 17. Same unpackers, one
 * multiply more; a separate codec so the plain frame's loop stays as it is.
 */
#include "codec_int.h"

#include <stdlib.h>
#include <string.h>

static size_t for_words(uint32_t n, unsigned w)
{
    return ((size_t)n * w + 63) / 64 + 1;
}

static size_t for_analyze(const enc_stats *st)
{
    unsigned w = enc_width((uint64_t)st->max - (uint64_t)st->min);
    return ENC_HDR + for_words(st->n, w) * 8;
}

static void for_compress(const int64_t *v, const enc_stats *st, tl_buf *out)
{
    unsigned w = enc_width((uint64_t)st->max - (uint64_t)st->min);
    size_t nw = for_words(st->n, w);
    uint64_t *words = tl_xcalloc(nw, 8);
    uint64_t bit = 0;
    for (uint32_t i = 0; i < st->n && w; i++, bit += w) {
        uint64_t x = (uint64_t)v[i] - (uint64_t)st->min;
        size_t wi = bit >> 6;
        unsigned sh = (unsigned)(bit & 63);
        words[wi] |= x << sh;
        if (sh + w > 64) words[wi + 1] |= x >> (64 - sh);
    }
    enc__header(out, ENC_FOR, w, 0, st->min);
    tl_buf_append(out, words, nw * 8);
    free(words);
}

static int for_open(const uint8_t *p, size_t len, uint32_t n, enc_view *v, tl_error *err)
{
    if (v->width > 64) return enc__corrupt(err, "bit width above 64");
    if (len != ENC_HDR + for_words(n, v->width) * 8) return enc__corrupt(err, "packed stream size mismatch");
    v->words = (const uint64_t *)(const void *)(p + ENC_HDR);
    return 0;
}

/* Offset of value i; the word after the last is padding, so reading it is in bounds. */
static inline uint64_t get_packed(const uint64_t *words, uint64_t bit, const unsigned w)
{
    uint64_t wi = bit >> 6;
    unsigned sh = (unsigned)(bit & 63);
    uint64_t x = (words[wi] >> sh) | ((words[wi + 1] << 1) << (63 - sh));
    return w == 64 ? x : x & ((UINT64_C(1) << w) - 1);
}

/* 64 values of width w start on a word boundary and fill exactly w words, so a block
 * unrolled for a constant w is straight-line shifts and masks with constant amounts (no
 * loop-carried bit offset, no second load unless the value straddles words): this is
 * what takes decoding from ~0.5 to several billion values/s. Vectors start at multiples
 * of 2048 within a segment, so whole blocks are the common case. */
static inline void unpack64(const uint64_t *restrict in, uint64_t base, int64_t *restrict out,
                            const unsigned w)
{
    const uint64_t mask = w == 64 ? ~UINT64_C(0) : (UINT64_C(1) << w) - 1;
#pragma GCC unroll 64
    for (unsigned i = 0; i < 64; i++) {
        const unsigned bit = i * w, wi = bit >> 6, sh = bit & 63;
        uint64_t x = in[wi] >> sh;
        if (sh + w > 64) x |= in[wi + 1] << (64 - sh);
        out[i] = (int64_t)(base + (x & mask));
    }
}

static inline void unpack_w(const uint64_t *words, uint32_t start, uint32_t cnt, int64_t base,
                            int64_t *out, const unsigned w)
{
    uint64_t bit = (uint64_t)start * w;
    uint32_t i = 0;
    for (; i < cnt && ((start + i) & 63); i++, bit += w) /* up to a block boundary */
        out[i] = (int64_t)((uint64_t)base + get_packed(words, bit, w));
    for (; i + 64 <= cnt; i += 64, bit += 64 * (uint64_t)w)
        unpack64(words + (bit >> 6), (uint64_t)base, out + i, w);
    for (; i < cnt; i++, bit += w)
        out[i] = (int64_t)((uint64_t)base + get_packed(words, bit, w));
}

static inline void filter_w(const uint64_t *restrict words, uint32_t start, uint32_t cnt, uint64_t plo,
                            uint64_t phi, uint8_t *restrict keep, const unsigned w)
{
    uint64_t bit = (uint64_t)start * w;
    uint32_t i = 0;
    for (; i < cnt && ((start + i) & 63); i++, bit += w) {
        uint64_t x = get_packed(words, bit, w);
        keep[i] &= (uint8_t)(x >= plo && x <= phi);
    }
    int64_t blk[64];
    for (; i + 64 <= cnt; i += 64, bit += 64 * (uint64_t)w) {
        unpack64(words + (bit >> 6), 0, blk, w);
        /* Unsigned range test as one subtraction: x in [plo, phi] <=> x - plo <= phi - plo. */
        for (unsigned j = 0; j < 64; j++)
            keep[i + j] &= (uint8_t)((uint64_t)blk[j] - plo <= phi - plo);
    }
    for (; i < cnt; i++, bit += w) {
        uint64_t x = get_packed(words, bit, w);
        keep[i] &= (uint8_t)(x >= plo && x <= phi);
    }
}

#define W8(m, x) m(x) m(x + 1) m(x + 2) m(x + 3) m(x + 4) m(x + 5) m(x + 6) m(x + 7)
#define W64(m) W8(m, 1) W8(m, 9) W8(m, 17) W8(m, 25) W8(m, 33) W8(m, 41) W8(m, 49) W8(m, 57)

static void for_scan(const enc_view *v, uint32_t start, uint32_t cnt, int64_t *out)
{
    switch (v->width) {
    case 0:
        for (uint32_t i = 0; i < cnt; i++) out[i] = v->base;
        break;
#define CASE(x) case x: unpack_w(v->words, start, cnt, v->base, out, x); break;
        W64(CASE)
#undef CASE
    default: break;
    }
}

static int64_t for_fetch(const enc_view *v, uint32_t row)
{
    if (v->width == 0) return v->base;
    return (int64_t)((uint64_t)v->base + get_packed(v->words, (uint64_t)row * v->width, v->width));
}

static void for_filter(const enc_view *v, uint32_t start, uint32_t cnt, int64_t lo, int64_t hi,
                       uint8_t *keep)
{
    /* Move [lo, hi] into the frame: offsets are value - base as unsigned. */
    if (hi < v->base) {
        memset(keep, 0, cnt);
        return;
    }
    uint64_t plo = lo <= v->base ? 0 : (uint64_t)lo - (uint64_t)v->base;
    uint64_t phi = (uint64_t)hi - (uint64_t)v->base;
    if (lo > hi || plo > phi) {
        memset(keep, 0, cnt);
        return;
    }
    if (v->width < 64) {
        uint64_t top = (UINT64_C(1) << v->width) - 1;
        if (plo > top) {
            memset(keep, 0, cnt);
            return;
        }
        if (plo == 0 && phi >= top) return;
    }
    switch (v->width) {
    case 0: break;
#define CASE(x) case x: filter_w(v->words, start, cnt, plo, phi, keep, x); break;
        W64(CASE)
#undef CASE
    default: break;
    }
}

const enc_codec enc_for_codec = {ENC_FOR, "for", for_analyze, for_compress, for_open, for_scan,
                                 for_fetch, for_filter};

/* ---- scaled: value = base + k * packed ---------------------------------------------- */

static bool fork_usable(const enc_stats *st)
{
    return st->gcd > 1 && st->gcd <= UINT32_MAX;
}

static size_t fork_analyze(const enc_stats *st)
{
    if (!fork_usable(st)) return SIZE_MAX;
    unsigned w = enc_width(((uint64_t)st->max - (uint64_t)st->min) / st->gcd);
    return ENC_HDR + for_words(st->n, w) * 8;
}

static void fork_compress(const int64_t *v, const enc_stats *st, tl_buf *out)
{
    uint64_t k = st->gcd;
    unsigned w = enc_width(((uint64_t)st->max - (uint64_t)st->min) / k);
    size_t nw = for_words(st->n, w);
    uint64_t *words = tl_xcalloc(nw, 8);
    uint64_t bit = 0;
    for (uint32_t i = 0; i < st->n && w; i++, bit += w) {
        uint64_t x = ((uint64_t)v[i] - (uint64_t)st->min) / k;
        size_t wi = bit >> 6;
        unsigned sh = (unsigned)(bit & 63);
        words[wi] |= x << sh;
        if (sh + w > 64) words[wi + 1] |= x >> (64 - sh);
    }
    enc__header(out, ENC_FORK, w, (uint32_t)k, st->min);
    tl_buf_append(out, words, nw * 8);
    free(words);
}

static int fork_open(const uint8_t *p, size_t len, uint32_t n, enc_view *v, tl_error *err)
{
    if (v->nruns < 2) return enc__corrupt(err, "scale factor below 2");
    return for_open(p, len, n, v, err);
}

static void fork_scan(const enc_view *v, uint32_t start, uint32_t cnt, int64_t *out)
{
    enc_view u = *v;
    u.base = 0;
    for_scan(&u, start, cnt, out);
    uint64_t k = v->nruns, b = (uint64_t)v->base;
    for (uint32_t i = 0; i < cnt; i++) out[i] = (int64_t)(b + k * (uint64_t)out[i]);
}

static int64_t fork_fetch(const enc_view *v, uint32_t row)
{
    if (v->width == 0) return v->base;
    return (int64_t)((uint64_t)v->base + v->nruns * get_packed(v->words, (uint64_t)row * v->width, v->width));
}

static void fork_filter(const enc_view *v, uint32_t start, uint32_t cnt, int64_t lo, int64_t hi,
                        uint8_t *keep)
{
    /* value in [lo, hi] <=> packed in [ceil((lo - base) / k), floor((hi - base) / k)] */
    if (lo > hi || hi < v->base) {
        memset(keep, 0, cnt);
        return;
    }
    uint64_t k = v->nruns;
    uint64_t dlo = lo <= v->base ? 0 : (uint64_t)lo - (uint64_t)v->base;
    uint64_t plo = dlo / k + (dlo % k != 0), phi = ((uint64_t)hi - (uint64_t)v->base) / k;
    if (plo > phi || plo > INT64_MAX) { /* packed offsets are below 2^63 (k >= 2) */
        memset(keep, 0, cnt);
        return;
    }
    enc_view u = *v;
    u.base = 0;
    for_filter(&u, start, cnt, (int64_t)plo, phi > INT64_MAX ? INT64_MAX : (int64_t)phi, keep);
}

const enc_codec enc_fork_codec = {ENC_FORK, "for-scaled", fork_analyze, fork_compress, fork_open,
                                  fork_scan, fork_fetch, fork_filter};
