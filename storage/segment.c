/*
 * segment.c — sealed column segments: build (NULL bitmap, zone map, distinct estimate,
 * cheapest codec per stream), validate, and read. See seg_int.h for the layout.
 */
#include "seg_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SEG_MAGIC 0x43534C54u
#define LC_BITS 4096 /* linear-counting bitmap for the distinct estimate */

static const uint8_t kind_streams[SK_NKINDS] = {1, 1, 1, 2, 3, 2, 3};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

seg_col *seg_build(seg_kind kind, uint32_t n, const uint8_t *nulls, int64_t *const *streams,
                   int nstreams)
{
    uint32_t nnull = 0;
    if (nulls)
        for (uint32_t i = 0; i < n; i++) nnull += nulls[i] != 0;
    bool allnull = n > 0 && nnull == n;
    /* NULL rows take the previous value so they extend runs and never widen the frame. */
    if (nnull && !allnull) {
        uint32_t first = 0;
        while (nulls[first]) first++;
        for (int k = 0; k < nstreams; k++) {
            int64_t *v = streams[k];
            int64_t prev = v[first];
            for (uint32_t i = 0; i < n; i++) {
                if (nulls[i]) v[i] = prev;
                else prev = v[i];
            }
        }
    }
    uint8_t hdr[SEG_HDR] = {0};
    uint32_t magic = SEG_MAGIC, nd = 0;
    memcpy(hdr, &magic, 4);
    hdr[4] = (uint8_t)kind;
    hdr[5] = allnull ? 0 : (uint8_t)nstreams;
    memcpy(hdr + 8, &n, 4);
    memcpy(hdr + 12, &nnull, 4);
    int64_t zmin = 0, zmax = 0;
    if (!allnull && n) {
        uint64_t lc[LC_BITS / 64] = {0};
        bool first = true;
        for (uint32_t i = 0; i < n; i++) {
            if (nulls && nulls[i]) continue;
            int64_t x = streams[0][i];
            if (first || x < zmin) zmin = x;
            if (first || x > zmax) zmax = x;
            first = false;
            uint64_t h = mix64((uint64_t)x) & (LC_BITS - 1);
            lc[h >> 6] |= UINT64_C(1) << (h & 63);
        }
        uint32_t set = 0;
        for (size_t i = 0; i < TL_ARRAY_LEN(lc); i++) set += (uint32_t)__builtin_popcountll(lc[i]);
        double est = set >= LC_BITS ? (double)(n - nnull)
                                    : -(double)LC_BITS * log((double)(LC_BITS - set) / LC_BITS);
        nd = (uint32_t)(est + 0.5);
        if (nd > n - nnull) nd = n - nnull;
        if (nd == 0) nd = 1;
        hdr[6] = kind == SK_INT || kind == SK_CODE;
    }
    memcpy(hdr + 16, &nd, 4);
    memcpy(hdr + 24, &zmin, 8);
    memcpy(hdr + 32, &zmax, 8);
    tl_buf b;
    tl_buf_init(&b);
    tl_buf_append(&b, hdr, SEG_HDR);
    if (nnull && !allnull) {
        size_t nw = ((size_t)n + 63) / 64;
        uint64_t *bm = tl_xcalloc(nw, 8);
        for (uint32_t i = 0; i < n; i++)
            if (nulls[i]) bm[i >> 6] |= UINT64_C(1) << (i & 63);
        tl_buf_append(&b, bm, nw * 8);
        free(bm);
    }
    if (!allnull) {
        for (int k = 0; k < nstreams; k++) {
            size_t before = b.len;
            enc_compress_best(streams[k], n, &b);
            uint32_t sl = (uint32_t)(b.len - before);
            memcpy(b.data + 40 + 4 * k, &sl, 4);
        }
    }
    seg_col *s = tl_xcalloc(1, sizeof *s);
    /* Copy into an exact-size buffer: a tl_buf's slack would count as resident bytes. */
    uint8_t *buf = tl_xmalloc(b.len);
    memcpy(buf, b.data, b.len);
    size_t len = b.len;
    tl_buf_free(&b);
    tl_error err = {0};
    if (seg_open(buf, len, n, s, &err) < 0) tl_panic("segment failed to reopen: %s", err.message);
    return s;
}

int seg_open(uint8_t *buf, size_t len, uint32_t n, seg_col *s, tl_error *err)
{
    memset(s, 0, sizeof *s);
    if (len < SEG_HDR) return enc__corrupt(err, "segment shorter than its header");
    if ((uintptr_t)buf & 7) return enc__corrupt(err, "misaligned segment");
    uint32_t magic, sl[SEG_MAX_STREAMS];
    memcpy(&magic, buf, 4);
    if (magic != SEG_MAGIC) return enc__corrupt(err, "bad segment magic");
    s->kind = buf[4];
    s->nstreams = buf[5];
    s->zone_valid = buf[6] != 0;
    memcpy(&s->n, buf + 8, 4);
    memcpy(&s->nnull, buf + 12, 4);
    memcpy(&s->ndistinct, buf + 16, 4);
    memcpy(&s->zmin, buf + 24, 8);
    memcpy(&s->zmax, buf + 32, 8);
    memcpy(sl, buf + 40, sizeof sl);
    if (s->kind >= SK_NKINDS) return enc__corrupt(err, "unknown segment kind");
    if (s->n != n || s->nnull > n) return enc__corrupt(err, "segment row count mismatch");
    bool allnull = n > 0 && s->nnull == n;
    if (s->nstreams != (allnull ? 0 : kind_streams[s->kind]))
        return enc__corrupt(err, "segment stream count mismatch");
    size_t off = SEG_HDR;
    if (s->nnull && !allnull) {
        size_t nw = ((size_t)n + 63) / 64;
        if (len - off < nw * 8) return enc__corrupt(err, "segment NULL bitmap truncated");
        s->nullbm = (const uint64_t *)(const void *)(buf + off);
        uint32_t cnt = 0;
        for (size_t i = 0; i < nw; i++) cnt += (uint32_t)__builtin_popcountll(s->nullbm[i]);
        if ((n & 63) && (s->nullbm[nw - 1] >> (n & 63)))
            return enc__corrupt(err, "segment NULL bitmap has bits past the last row");
        if (cnt != s->nnull) return enc__corrupt(err, "segment NULL count disagrees with its bitmap");
        off += nw * 8;
    }
    for (int k = 0; k < s->nstreams; k++) {
        if ((sl[k] & 7) || sl[k] > len - off) return enc__corrupt(err, "segment stream truncated");
        if (enc_open(buf + off, sl[k], n, &s->s[k], err) < 0) return -1;
        off += sl[k];
    }
    if (off != len) return enc__corrupt(err, "segment has trailing bytes");
    s->buf = buf;
    s->len = len;
    return 0;
}

void seg_free(seg_col *s)
{
    if (!s) return;
    free(s->buf);
    free(s);
}

bool seg_isnull(const seg_col *s, uint32_t row)
{
    if (s->nnull == 0) return false;
    if (!s->nullbm) return true;
    return (s->nullbm[row >> 6] >> (row & 63)) & 1;
}

bool seg_nulls(const seg_col *s, uint32_t start, uint32_t cnt, uint8_t *out)
{
    if (s->nnull == 0) {
        memset(out, 0, cnt);
        return false;
    }
    if (!s->nullbm) {
        memset(out, 1, cnt);
        return true;
    }
    uint8_t any = 0;
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t r = start + i;
        out[i] = (uint8_t)((s->nullbm[r >> 6] >> (r & 63)) & 1);
        any |= out[i];
    }
    return any;
}

void seg_scan(const seg_col *s, int k, uint32_t start, uint32_t cnt, int64_t *out)
{
    if (s->nstreams == 0) {
        memset(out, 0, (size_t)cnt * 8);
        return;
    }
    enc_by_id(s->s[k].id)->scan(&s->s[k], start, cnt, out);
}

int64_t seg_fetch(const seg_col *s, int k, uint32_t row)
{
    if (s->nstreams == 0) return 0;
    return enc_by_id(s->s[k].id)->fetch(&s->s[k], row);
}

const char *seg_encoding_name(const seg_col *s)
{
    if (s->nstreams == 0) return "all-null";
    return enc_by_id(s->s[0].id)->name;
}
