/*
 * codec_rle.c — run-length: (value, end) pairs. Chosen when runs are long, e.g. a
 * segment of one org's rows loaded in order, or a mostly-NULL column (NULL slots repeat
 * the previous value, so they extend runs). Random access is a binary search over ends.
 */
#include "codec_int.h"

#include <string.h>

static size_t rle_analyze(const enc_stats *st)
{
    return ENC_HDR + (size_t)st->runs * 12 + 8;
}

static void rle_compress(const int64_t *v, const enc_stats *st, tl_buf *out)
{
    enc__header(out, ENC_RLE, 0, st->runs, 0);
    for (uint32_t i = 0; i < st->n; i++)
        if (i == 0 || v[i] != v[i - 1]) tl_buf_append(out, &v[i], 8);
    for (uint32_t i = 1; i <= st->n; i++)
        if (i == st->n || v[i] != v[i - 1]) tl_buf_append(out, &i, 4);
}

static int rle_open(const uint8_t *p, size_t len, uint32_t n, enc_view *v, tl_error *err)
{
    size_t need = ENC_HDR + (size_t)v->nruns * 12;
    if (v->nruns == 0 || v->nruns > n || len < need || len > ((need + 7) & ~(size_t)7))
        return enc__corrupt(err, "run-length stream size mismatch");
    v->vals = (const int64_t *)(const void *)(p + ENC_HDR);
    v->ends = (const uint32_t *)(const void *)(p + ENC_HDR + (size_t)v->nruns * 8);
    uint32_t prev = 0;
    for (uint32_t r = 0; r < v->nruns; r++) {
        if (v->ends[r] <= prev) return enc__corrupt(err, "run ends out of order");
        prev = v->ends[r];
    }
    if (prev != n) return enc__corrupt(err, "runs do not cover the segment");
    return 0;
}

static uint32_t run_of(const enc_view *v, uint32_t row)
{
    uint32_t lo = 0, hi = v->nruns - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v->ends[mid] <= row) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void rle_scan(const enc_view *v, uint32_t start, uint32_t cnt, int64_t *out)
{
    uint32_t r = run_of(v, start), i = 0;
    while (i < cnt) {
        uint32_t end = v->ends[r] - start;
        if (end > cnt) end = cnt;
        for (; i < end; i++) out[i] = v->vals[r];
        r++;
    }
}

static int64_t rle_fetch(const enc_view *v, uint32_t row)
{
    return v->vals[run_of(v, row)];
}

static void rle_filter(const enc_view *v, uint32_t start, uint32_t cnt, int64_t lo, int64_t hi,
                       uint8_t *keep)
{
    uint32_t r = run_of(v, start), i = 0;
    while (i < cnt) {
        uint32_t end = v->ends[r] - start;
        if (end > cnt) end = cnt;
        if (v->vals[r] < lo || v->vals[r] > hi) memset(keep + i, 0, end - i);
        i = end;
        r++;
    }
}

const enc_codec enc_rle_codec = {ENC_RLE, "rle", rle_analyze, rle_compress, rle_open, rle_scan,
                                 rle_fetch, rle_filter};
