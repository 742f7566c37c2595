/*
 * vecio.c — vectors to bytes and back (see tl_vecio.h). Integer-like columns dominate
 * the facts (dates, timestamps, enum ordinals, scores), and within one vector their
 * range is small: storing offsets from the minimum in the narrowest width that holds
 * them makes WAL records and snapshots 2-8x smaller than raw int64 at a cost of one
 * pass over the values.
 */
#include "tl_vecio.h"

#include <stdlib.h>
#include <string.h>

void tl_put_u8(tl_buf *b, uint8_t v)
{
    tl_buf_append(b, &v, 1);
}
void tl_put_u16(tl_buf *b, uint16_t v)
{
    tl_buf_append(b, &v, 2);
}
void tl_put_u32(tl_buf *b, uint32_t v)
{
    tl_buf_append(b, &v, 4);
}
void tl_put_u64(tl_buf *b, uint64_t v)
{
    tl_buf_append(b, &v, 8);
}
void tl_put_str(tl_buf *b, const char *s)
{
    if (!s) {
        tl_put_u32(b, UINT32_MAX);
        return;
    }
    uint32_t n = (uint32_t)strlen(s);
    tl_put_u32(b, n);
    tl_buf_append(b, s, n);
}

static const void *take(tl_reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const void *q = r->p;
    r->p += n;
    return q;
}
uint8_t tl_get_u8(tl_reader *r)
{
    const void *q = take(r, 1);
    return q ? *(const uint8_t *)q : 0;
}
uint16_t tl_get_u16(tl_reader *r)
{
    uint16_t v = 0;
    const void *q = take(r, 2);
    if (q) memcpy(&v, q, 2);
    return v;
}
uint32_t tl_get_u32(tl_reader *r)
{
    uint32_t v = 0;
    const void *q = take(r, 4);
    if (q) memcpy(&v, q, 4);
    return v;
}
uint64_t tl_get_u64(tl_reader *r)
{
    uint64_t v = 0;
    const void *q = take(r, 8);
    if (q) memcpy(&v, q, 8);
    return v;
}
char *tl_get_str(tl_reader *r)
{
    uint32_t n = tl_get_u32(r);
    if (r->bad || n == UINT32_MAX) return NULL;
    const char *q = take(r, n);
    if (!q) return NULL;
    char *s = tl_xmalloc((size_t)n + 1);
    memcpy(s, q, n);
    s[n] = '\0';
    return s;
}

typedef enum vclass { VC_INT, VC_BOOL, VC_F64, VC_NUM, VC_UUID, VC_IV, VC_STR } vclass;

static vclass class_of(tl_type_id id)
{
    switch (id) {
    case TL_INT2: case TL_INT4: case TL_INT8: case TL_DATE: case TL_TIMESTAMP:
    case TL_TIMESTAMPTZ: case TL_OID: case TL_ENUM:
        return VC_INT;
    case TL_BOOL: return VC_BOOL;
    case TL_FLOAT4: case TL_FLOAT8: return VC_F64;
    case TL_NUMERIC: return VC_NUM;
    case TL_UUID: return VC_UUID;
    case TL_INTERVAL: return VC_IV;
    default: return VC_STR;
    }
}

void tl_i64_encode(const int64_t *v, const uint8_t *nulls, uint32_t n, tl_buf *out)
{
    bool any = false;
    int64_t mn = 0, mx = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (nulls && nulls[i]) continue;
        if (!any || v[i] < mn) mn = v[i];
        if (!any || v[i] > mx) mx = v[i];
        any = true;
    }
    uint64_t range = (uint64_t)mx - (uint64_t)mn;
    uint8_t w = range == 0 ? 0 : range <= 0xFF ? 1 : range <= 0xFFFF ? 2 : range <= 0xFFFFFFFFu ? 4 : 8;
    tl_put_u64(out, (uint64_t)mn);
    tl_put_u8(out, w);
    if (w == 0) return;
    tl_buf_reserve(out, (size_t)n * w);
    char *p = out->data + out->len;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t d = (nulls && nulls[i]) ? 0 : (uint64_t)v[i] - (uint64_t)mn;
        switch (w) {
        case 1: p[i] = (char)(uint8_t)d; break;
        case 2: { uint16_t x = (uint16_t)d; memcpy(p + 2 * (size_t)i, &x, 2); break; }
        case 4: { uint32_t x = (uint32_t)d; memcpy(p + 4 * (size_t)i, &x, 4); break; }
        default: memcpy(p + 8 * (size_t)i, &d, 8); break;
        }
    }
    out->len += (size_t)n * w;
}

int tl_i64_decode(const char **pp, const char *end, uint32_t n, int64_t *out)
{
    tl_reader r = {*pp, end, false};
    uint64_t mn = tl_get_u64(&r);
    uint8_t w = tl_get_u8(&r);
    if (r.bad || (w != 0 && w != 1 && w != 2 && w != 4 && w != 8)) return -1;
    const char *p = take(&r, (size_t)n * w);
    if (r.bad) return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t d = 0;
        switch (w) {
        case 0: break;
        case 1: d = (uint8_t)p[i]; break;
        case 2: { uint16_t x; memcpy(&x, p + 2 * (size_t)i, 2); d = x; break; }
        case 4: { uint32_t x; memcpy(&x, p + 4 * (size_t)i, 4); d = x; break; }
        default: memcpy(&d, p + 8 * (size_t)i, 8); break;
        }
        out[i] = (int64_t)(mn + d);
    }
    *pp = r.p;
    return 0;
}

void tl_vec_encode(const tl_vec *v, uint32_t n, tl_buf *out)
{
    bool anynull = false;
    if (v->nulls)
        for (uint32_t i = 0; i < n && !anynull; i++) anynull = v->nulls[i];
    tl_put_u8(out, anynull);
    const uint8_t *nulls = anynull ? v->nulls : NULL;
    if (anynull) {
        size_t nb = ((size_t)n + 7) / 8;
        tl_buf_reserve(out, nb);
        uint8_t *bm = (uint8_t *)out->data + out->len;
        memset(bm, 0, nb);
        for (uint32_t i = 0; i < n; i++)
            if (nulls[i]) bm[i >> 3] |= (uint8_t)(1u << (i & 7));
        out->len += nb;
    }
    switch (class_of(v->type.id)) {
    case VC_INT: tl_i64_encode(v->d.i, nulls, n, out); break;
    case VC_BOOL:
        tl_buf_reserve(out, n);
        for (uint32_t i = 0; i < n; i++) out->data[out->len + i] = (nulls && nulls[i]) ? 0 : (char)v->d.b[i];
        out->len += n;
        break;
    case VC_F64: tl_buf_append(out, v->d.f, (size_t)n * 8); break;
    case VC_NUM:
        for (uint32_t i = 0; i < n; i++) {
            tl_numeric x = (nulls && nulls[i]) ? (tl_numeric){0} : v->d.n[i];
            tl_buf_append(out, &x.mant, 16);
            tl_put_u16(out, (uint16_t)x.scale);
            tl_put_u16(out, (uint16_t)x.nan);
        }
        break;
    case VC_UUID: tl_buf_append(out, v->d.u, (size_t)n * 16); break;
    case VC_IV:
        for (uint32_t i = 0; i < n; i++) {
            tl_interval x = (nulls && nulls[i]) ? (tl_interval){0} : v->d.iv[i];
            tl_put_u64(out, (uint64_t)x.us);
            tl_put_u32(out, (uint32_t)x.days);
            tl_put_u32(out, (uint32_t)x.months);
        }
        break;
    case VC_STR:
        for (uint32_t i = 0; i < n; i++) {
            if (nulls && nulls[i]) {
                tl_put_u32(out, 0);
                continue;
            }
            tl_put_u32(out, v->d.s[i].len);
            tl_buf_append(out, v->d.s[i].ptr, v->d.s[i].len);
        }
        break;
    }
}

int tl_vec_decode(const char **pp, const char *end, tl_type t, uint32_t n, tl_vec *out, tl_arena *a)
{
    tl_reader r = {*pp, end, false};
    tl_vec_alloc(out, t, n ? n : 1, a);
    out->n = n;
    uint8_t anynull = tl_get_u8(&r);
    if (r.bad || anynull > 1) return -1;
    memset(out->nulls, 0, n);
    if (anynull) {
        const uint8_t *bm = take(&r, ((size_t)n + 7) / 8);
        if (!bm) return -1;
        for (uint32_t i = 0; i < n; i++) out->nulls[i] = (bm[i >> 3] >> (i & 7)) & 1;
    }
    switch (class_of(t.id)) {
    case VC_INT:
        if (tl_i64_decode(&r.p, r.end, n, out->d.i) < 0) return -1;
        break;
    case VC_BOOL: {
        const uint8_t *q = take(&r, n);
        if (!q) return -1;
        for (uint32_t i = 0; i < n; i++) out->d.b[i] = q[i] != 0;
        break;
    }
    case VC_F64: {
        const void *q = take(&r, (size_t)n * 8);
        if (!q) return -1;
        memcpy(out->d.f, q, (size_t)n * 8);
        break;
    }
    case VC_NUM:
        for (uint32_t i = 0; i < n; i++) {
            const void *q = take(&r, 16);
            if (!q) return -1;
            memcpy(&out->d.n[i].mant, q, 16);
            out->d.n[i].scale = (int16_t)tl_get_u16(&r);
            out->d.n[i].nan = (int16_t)tl_get_u16(&r);
        }
        break;
    case VC_UUID: {
        const void *q = take(&r, (size_t)n * 16);
        if (!q) return -1;
        memcpy(out->d.u, q, (size_t)n * 16);
        break;
    }
    case VC_IV:
        for (uint32_t i = 0; i < n; i++) {
            out->d.iv[i].us = (int64_t)tl_get_u64(&r);
            out->d.iv[i].days = (int32_t)tl_get_u32(&r);
            out->d.iv[i].months = (int32_t)tl_get_u32(&r);
        }
        break;
    case VC_STR:
        for (uint32_t i = 0; i < n; i++) {
            uint32_t len = tl_get_u32(&r);
            const char *q = take(&r, len);
            if (r.bad) return -1;
            out->d.s[i].ptr = len ? q : "";
            out->d.s[i].len = len;
        }
        break;
    }
    if (r.bad) return -1;
    if (!anynull) out->nulls = NULL;
    *pp = r.p;
    return 0;
}
