/*
 * codec_plain.c — values stored as they are (8 bytes each): the fallback for streams
 * nothing else shrinks, such as random uuid halves or float bit patterns.
 */
#include "codec_int.h"

#include <string.h>

static size_t plain_analyze(const enc_stats *st)
{
    return ENC_HDR + (size_t)st->n * 8;
}

static void plain_compress(const int64_t *v, const enc_stats *st, tl_buf *out)
{
    enc__header(out, ENC_PLAIN, 0, 0, 0);
    tl_buf_append(out, v, (size_t)st->n * 8);
}

static int plain_open(const uint8_t *p, size_t len, uint32_t n, enc_view *v, tl_error *err)
{
    if (len != ENC_HDR + (size_t)n * 8) return enc__corrupt(err, "plain stream size mismatch");
    v->vals = (const int64_t *)(const void *)(p + ENC_HDR);
    return 0;
}

static void plain_scan(const enc_view *v, uint32_t start, uint32_t cnt, int64_t *out)
{
    memcpy(out, v->vals + start, (size_t)cnt * 8);
}

static int64_t plain_fetch(const enc_view *v, uint32_t row)
{
    return v->vals[row];
}

static void plain_filter(const enc_view *v, uint32_t start, uint32_t cnt, int64_t lo, int64_t hi,
                         uint8_t *keep)
{
    const int64_t *x = v->vals + start;
    for (uint32_t i = 0; i < cnt; i++) keep[i] &= (uint8_t)(x[i] >= lo && x[i] <= hi);
}

const enc_codec enc_plain_codec = {ENC_PLAIN, "plain", plain_analyze, plain_compress, plain_open,
                                   plain_scan, plain_fetch, plain_filter};
