/*
 * codec.c — what the encodings share: stream statistics, the header, validation
 * dispatch and the per-stream choice of codec (cheapest analyze() estimate wins; ties
 * go to the codec listed first, which is also the cheapest to decode).
 */
#include "codec_int.h"

#include <string.h>

static const enc_codec *const codecs[] = {&enc_const_codec, &enc_rle_codec, &enc_for_codec,
                                          &enc_fork_codec, &enc_plain_codec};

const enc_codec *enc_by_id(int id)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(codecs); i++)
        if ((int)codecs[i]->id == id) return codecs[i];
    return NULL;
}

void enc_stats_of(const int64_t *v, uint32_t n, enc_stats *st)
{
    st->n = n;
    st->min = n ? v[0] : 0;
    st->max = st->min;
    st->runs = n ? 1 : 0;
    for (uint32_t i = 1; i < n; i++) {
        if (v[i] < st->min) st->min = v[i];
        if (v[i] > st->max) st->max = v[i];
        st->runs += v[i] != v[i - 1];
    }
    /* gcd of the offsets from min: stops early (at 1) for most integer columns */
    uint64_t g = 0;
    for (uint32_t i = 0; i < n && g != 1; i++) {
        uint64_t x = (uint64_t)v[i] - (uint64_t)st->min;
        while (x) {
            uint64_t r = g % x;
            g = x;
            x = r;
        }
    }
    st->gcd = g;
}

void enc__header(tl_buf *out, enc_id id, unsigned width, uint32_t nruns, int64_t base)
{
    uint8_t h[ENC_HDR] = {0};
    h[0] = (uint8_t)id;
    h[1] = (uint8_t)width;
    memcpy(h + 4, &nruns, 4);
    memcpy(h + 8, &base, 8);
    tl_buf_append(out, h, sizeof h);
}

int enc__corrupt(tl_error *err, const char *what)
{
    return tl_errorf(err, "XX001", "invalid encoded column data: %s", what);
}

const enc_codec *enc_compress_best(const int64_t *v, uint32_t n, tl_buf *out)
{
    enc_stats st;
    enc_stats_of(v, n, &st);
    const enc_codec *best = NULL;
    size_t best_sz = SIZE_MAX;
    for (size_t i = 0; i < TL_ARRAY_LEN(codecs); i++) {
        size_t sz = codecs[i]->analyze(&st);
        if (sz < best_sz) {
            best_sz = sz;
            best = codecs[i];
        }
    }
    size_t before = out->len;
    best->compress(v, &st, out);
    while ((out->len - before) & 7) tl_buf_putc(out, 0);
    return best;
}

int enc_open(const uint8_t *p, size_t len, uint32_t n, enc_view *v, tl_error *err)
{
    if (len < ENC_HDR) return enc__corrupt(err, "stream shorter than its header");
    if ((uintptr_t)p & 7) return enc__corrupt(err, "misaligned stream");
    const enc_codec *c = enc_by_id(p[0]);
    if (!c) return enc__corrupt(err, "unknown encoding");
    memset(v, 0, sizeof *v);
    v->id = p[0];
    v->width = p[1];
    v->n = n;
    memcpy(&v->nruns, p + 4, 4);
    memcpy(&v->base, p + 8, 8);
    return c->open(p, len, n, v, err);
}
