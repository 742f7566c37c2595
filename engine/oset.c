/*
 * oset.c — chunked ordered multiset of int64 keys (see oset.h for why chunks).
 */
#include "oset.h"

#include "tl_base.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OSET_CHUNK 256 /* keys a chunk holds at most: a memmove of <= 2 KB */

struct oset_chunk {
    uint32_t n, cap;
    int64_t v[];
};

static oset_chunk *chunk_new(oset *s, uint32_t cap)
{
    s->bytes += sizeof(oset_chunk) + sizeof(int64_t) * cap;
    oset_chunk *c = tl_xmalloc(sizeof *c + sizeof(int64_t) * cap);
    c->n = 0;
    c->cap = cap;
    return c;
}

/* The last chunk whose first key is <= x (0 when x precedes every key). Appends of
 * increasing keys, the common case, answer from the last chunk. */
static uint32_t find_chunk(const oset *s, int64_t x)
{
    if (s->nch == 0) return 0;
    if (s->first[s->nch - 1] <= x) return s->nch - 1;
    uint32_t lo = 0, hi = s->nch - 1; /* answer in [lo, hi) or 0 */
    while (lo + 1 < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->first[mid] <= x) lo = mid;
        else hi = mid;
    }
    return lo;
}

static uint32_t lower(const oset_chunk *c, int64_t x)
{
    uint32_t lo = 0, hi = c->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static uint32_t upper(const oset_chunk *c, int64_t x)
{
    if (c->n && c->v[c->n - 1] <= x) return c->n;
    uint32_t lo = 0, hi = c->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->v[mid] <= x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void index_insert(oset *s, uint32_t at, oset_chunk *c)
{
    if (s->nch == s->capch) {
        s->bytes += (sizeof *s->ch + sizeof *s->first) * s->capch;
        s->capch = s->capch ? s->capch * 2 : 4;
        s->ch = tl_xrealloc(s->ch, sizeof *s->ch * s->capch);
        s->first = tl_xrealloc(s->first, sizeof *s->first * s->capch);
    }
    memmove(&s->ch[at + 1], &s->ch[at], sizeof *s->ch * (s->nch - at));
    memmove(&s->first[at + 1], &s->first[at], sizeof *s->first * (s->nch - at));
    s->ch[at] = c;
    s->first[at] = c->v[0];
    s->nch++;
}

void oset_free(oset *s)
{
    for (uint32_t i = 0; i < s->nch; i++) free(s->ch[i]);
    free(s->ch);
    free(s->first);
    memset(s, 0, sizeof *s);
}

void oset_add(oset *s, int64_t x)
{
    s->total++;
    if (s->nch == 0) {
        s->ndistinct++;
        oset_chunk *c = chunk_new(s, 4);
        c->v[c->n++] = x;
        index_insert(s, 0, c);
        return;
    }
    uint32_t j = find_chunk(s, x);
    oset_chunk *c = s->ch[j];
    uint32_t p = upper(c, x);
    /* every copy of x is in chunk j (later chunks start above x), just before p */
    if (!(p > 0 && c->v[p - 1] == x)) s->ndistinct++;
    if (c->n == c->cap) {
        if (c->cap < OSET_CHUNK) {
            s->bytes += sizeof(int64_t) * c->cap;
            c->cap *= 2;
            c = s->ch[j] = tl_xrealloc(c, sizeof *c + sizeof(int64_t) * c->cap);
        } else if (j == s->nch - 1 && p == c->n) {
            /* past the end: a fresh chunk, so ordered appends leave full chunks behind */
            oset_chunk *d = chunk_new(s, 16);
            d->v[d->n++] = x;
            index_insert(s, j + 1, d);
            return;
        } else {
            uint32_t half = c->n / 2;
            oset_chunk *d = chunk_new(s, OSET_CHUNK);
            d->n = c->n - half;
            memcpy(d->v, &c->v[half], sizeof(int64_t) * d->n);
            c->n = half;
            index_insert(s, j + 1, d);
            if (p > half) {
                c = d;
                p -= half;
                j++;
            }
        }
    }
    memmove(&c->v[p + 1], &c->v[p], sizeof(int64_t) * (c->n - p));
    c->v[p] = x;
    c->n++;
    if (p == 0) s->first[j] = x;
}

bool oset_del(oset *s, int64_t x)
{
    if (s->nch == 0) return false;
    uint32_t j = find_chunk(s, x);
    oset_chunk *c = s->ch[j];
    uint32_t p = lower(c, x);
    if (p >= c->n || c->v[p] != x) return false;
    memmove(&c->v[p], &c->v[p + 1], sizeof(int64_t) * (c->n - p - 1));
    c->n--;
    /* duplicates of x sit at p in this chunk, or at the end of the previous one */
    bool still = (p < c->n && c->v[p] == x) || (p == 0 && j > 0 && s->ch[j - 1]->v[s->ch[j - 1]->n - 1] == x);
    if (!still) s->ndistinct--;
    s->total--;
    if (c->n == 0) {
        s->bytes -= sizeof(oset_chunk) + sizeof(int64_t) * c->cap;
        free(c);
        memmove(&s->ch[j], &s->ch[j + 1], sizeof *s->ch * (s->nch - j - 1));
        memmove(&s->first[j], &s->first[j + 1], sizeof *s->first * (s->nch - j - 1));
        s->nch--;
        if (s->nch == 0) oset_free(s);
    } else if (p == 0) {
        s->first[j] = c->v[0];
    }
    return true;
}

int64_t oset_min(const oset *s)
{
    return s->ch[0]->v[0];
}

int64_t oset_max(const oset *s)
{
    const oset_chunk *c = s->ch[s->nch - 1];
    return c->v[c->n - 1];
}

int64_t oset_count_from(const oset *s, int64_t x, bool strict)
{
    int64_t n = 0;
    /* whole chunks whose first key qualifies, newest first (windows are recent) */
    uint32_t i = s->nch;
    while (i > 0 && (strict ? s->first[i - 1] > x : s->first[i - 1] >= x)) n += s->ch[--i]->n;
    if (i > 0) {
        const oset_chunk *c = s->ch[i - 1];
        n += c->n - (strict ? upper(c, x) : lower(c, x));
    }
    return n;
}

int64_t oset_at(const oset *s, int64_t k)
{
    for (uint32_t i = 0; i < s->nch; i++) {
        if (k < s->ch[i]->n) return s->ch[i]->v[k];
        k -= s->ch[i]->n;
    }
    return oset_max(s);
}

size_t oset_bytes(const oset *s)
{
    return s->bytes;
}

int64_t oset_from_double(double d)
{
    int64_t k;
    if (isnan(d)) d = NAN; /* one NaN pattern: all NaNs are equal */
    memcpy(&k, &d, sizeof k);
    return k < 0 ? k ^ INT64_MAX : k;
}

double oset_to_double(int64_t k)
{
    if (k < 0) k ^= INT64_MAX;
    double d;
    memcpy(&d, &k, sizeof d);
    return d;
}
