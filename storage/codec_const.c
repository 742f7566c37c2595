/*
 * codec_const.c — a stream whose values are all equal: the header's base is the value
 * and there is no payload (a month's constant org in a one-org segment, all-false flags).
 */
#include "codec_int.h"

static size_t const_analyze(const enc_stats *st)
{
    return st->min == st->max ? ENC_HDR : SIZE_MAX;
}

static void const_compress(const int64_t *v, const enc_stats *st, tl_buf *out)
{
    (void)v;
    enc__header(out, ENC_CONST, 0, 0, st->min);
}

static int const_open(const uint8_t *p, size_t len, uint32_t n, enc_view *v, tl_error *err)
{
    (void)p;
    (void)n;
    (void)v;
    if (len != ENC_HDR) return enc__corrupt(err, "constant stream has a payload");
    return 0;
}

static void const_scan(const enc_view *v, uint32_t start, uint32_t cnt, int64_t *out)
{
    (void)start;
    for (uint32_t i = 0; i < cnt; i++) out[i] = v->base;
}

static int64_t const_fetch(const enc_view *v, uint32_t row)
{
    (void)row;
    return v->base;
}

static void const_filter(const enc_view *v, uint32_t start, uint32_t cnt, int64_t lo, int64_t hi,
                         uint8_t *keep)
{
    (void)start;
    if (v->base >= lo && v->base <= hi) return;
    for (uint32_t i = 0; i < cnt; i++) keep[i] = 0;
}

const enc_codec enc_const_codec = {ENC_CONST, "constant", const_analyze, const_compress, const_open,
                                   const_scan, const_fetch, const_filter};
