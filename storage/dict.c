/*
 * dict.c — per-column string dictionaries. Codes are dense from 0 in insertion order.
 * Strings live in append-only blocks and the code->string table in fixed chunks reached
 * through a directory allocated once, so readers may resolve any code they have seen in
 * a published row without a lock while the writer keeps interning. The hash index
 * (string -> code) is the writer's; readers look a literal up once per statement
 * (tl_dict_find_shared) under a mutex that the writer takes only to rebuild the index,
 * and slots are stored with release order so a reader never sees a code before its entry.
 *
 * Bytes per entry: a uuid dictionary (tl_dict_new_fixed(16)) keeps its values back to
 * back in 16-byte cells (no per-entry tl_str, no NUL), and the index keeps 8 bits of
 * each slot's hash instead of 32 (enough to skip ~255 of 256 compares): ~26 bytes an
 * entry where it was ~49, which is what a 10M-entry attempt_id column of the KPI
 * events needs.
 */
#include "tl_table.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define DICT_CHUNK_SHIFT 16
#define DICT_CHUNK (1u << DICT_CHUNK_SHIFT)
#define DICT_MAX_CHUNKS 65536
#define DICT_BLOCK_MIN (1u << 12) /* string blocks double from 4 KiB ... */
#define DICT_BLOCK (1u << 20)     /* ... to 1 MiB, so a 6-entry dictionary costs a page */

typedef struct dict_block {
    struct dict_block *next;
    size_t used, cap;
    char data[];
} dict_block;

struct tl_dict {
    void **chunks;     /* directory: DICT_MAX_CHUNKS pointers to DICT_CHUNK entries
                        * (tl_str, or `fixed`-byte cells) */
    uint32_t fixed;    /* every value is this long (0: any) */
    uint32_t n;
    dict_block *blocks;
    uint32_t *slots;   /* open addressing: code + 1, 0 = empty */
    uint8_t *hashes;   /* low 8 bits of each slot's hash, to skip most compares */
    uint32_t nslots;   /* power of two */
    size_t bytes;
    pthread_mutex_t grow_mu; /* held by dict_grow and by readers' lookups */
};

tl_dict *tl_dict_new(void)
{
    tl_dict *d = tl_xcalloc(1, sizeof *d);
    d->chunks = tl_xcalloc(DICT_MAX_CHUNKS, sizeof *d->chunks);
    d->nslots = 64;
    d->slots = tl_xcalloc(d->nslots, sizeof *d->slots);
    d->hashes = tl_xcalloc(d->nslots, sizeof *d->hashes);
    pthread_mutex_init(&d->grow_mu, NULL);
    return d;
}

tl_dict *tl_dict_new_fixed(uint32_t len)
{
    tl_dict *d = tl_dict_new();
    d->fixed = len;
    return d;
}

void tl_dict_free(tl_dict *d)
{
    if (!d) return;
    for (uint32_t i = 0; i < DICT_MAX_CHUNKS && d->chunks[i]; i++) free(d->chunks[i]);
    free(d->chunks);
    dict_block *b = d->blocks;
    while (b) {
        dict_block *n = b->next;
        free(b);
        b = n;
    }
    free(d->slots);
    free(d->hashes);
    pthread_mutex_destroy(&d->grow_mu);
    free(d);
}

tl_str tl_dict_get(const tl_dict *d, uint32_t code)
{
    if (d->fixed)
        return (tl_str){(const char *)d->chunks[code >> DICT_CHUNK_SHIFT] +
                            (size_t)(code & (DICT_CHUNK - 1)) * d->fixed, d->fixed};
    return ((const tl_str *)d->chunks[code >> DICT_CHUNK_SHIFT])[code & (DICT_CHUNK - 1)];
}

uint32_t tl_dict_size(const tl_dict *d)
{
    return __atomic_load_n(&d->n, __ATOMIC_ACQUIRE);
}

size_t tl_dict_bytes(const tl_dict *d)
{
    return d->bytes + (size_t)d->nslots * (sizeof *d->slots + sizeof *d->hashes);
}

static const char *dict_store(tl_dict *d, const char *s, uint32_t len)
{
    dict_block *b = d->blocks;
    if (!b || b->cap - b->used < (size_t)len + 1) {
        size_t cap = b ? b->cap * 2 : DICT_BLOCK_MIN;
        if (cap > DICT_BLOCK) cap = DICT_BLOCK;
        if (cap < (size_t)len + 1) cap = (size_t)len + 1;
        b = tl_xmalloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        b->next = d->blocks;
        d->blocks = b;
        d->bytes += cap;
    }
    char *p = b->data + b->used;
    memcpy(p, s, len);
    p[len] = '\0';
    b->used += len + 1;
    return p;
}

static int64_t dict_probe(const tl_dict *d, const char *s, uint32_t len, uint64_t h, uint32_t *slot)
{
    uint32_t mask = d->nslots - 1, i = (uint32_t)(h >> 32) & mask;
    uint8_t h8 = (uint8_t)h;
    for (;;) {
        uint32_t c = __atomic_load_n(&d->slots[i], __ATOMIC_ACQUIRE);
        if (c == 0) {
            *slot = i;
            return -1;
        }
        if (__atomic_load_n(&d->hashes[i], __ATOMIC_RELAXED) == h8) {
            tl_str e = tl_dict_get(d, c - 1);
            if (e.len == len && memcmp(e.ptr, s, len) == 0) {
                *slot = i;
                return c - 1;
            }
        }
        i = (i + 1) & mask;
    }
}

static void dict_grow(tl_dict *d)
{
    pthread_mutex_lock(&d->grow_mu);
    uint32_t old_n = d->nslots;
    uint32_t *old_slots = d->slots;
    uint8_t *old_hashes = d->hashes;
    d->nslots *= 2;
    d->slots = tl_xcalloc(d->nslots, sizeof *d->slots);
    d->hashes = tl_xcalloc(d->nslots, sizeof *d->hashes);
    uint32_t mask = d->nslots - 1;
    for (uint32_t i = 0; i < old_n; i++) {
        uint32_t c = old_slots[i];
        if (!c) continue;
        tl_str e = tl_dict_get(d, c - 1);
        uint64_t h = XXH3_64bits(e.ptr, e.len);
        uint32_t j = (uint32_t)(h >> 32) & mask;
        while (d->slots[j]) j = (j + 1) & mask;
        d->slots[j] = c;
        d->hashes[j] = (uint8_t)h;
    }
    free(old_slots);
    free(old_hashes);
    pthread_mutex_unlock(&d->grow_mu);
}

int64_t tl_dict_find_shared(tl_dict *d, const char *s, uint32_t len)
{
    pthread_mutex_lock(&d->grow_mu);
    int64_t c = tl_dict_find(d, s, len);
    pthread_mutex_unlock(&d->grow_mu);
    return c;
}

int64_t tl_dict_find(const tl_dict *d, const char *s, uint32_t len)
{
    uint32_t slot;
    return dict_probe(d, s, len, XXH3_64bits(s, len), &slot);
}

uint32_t tl_dict_intern(tl_dict *d, const char *s, uint32_t len)
{
    uint64_t h = XXH3_64bits(s, len);
    uint32_t slot;
    int64_t c = dict_probe(d, s, len, h, &slot);
    if (c >= 0) return (uint32_t)c;
    uint32_t code = d->n;
    uint32_t ci = code >> DICT_CHUNK_SHIFT;
    if (ci >= DICT_MAX_CHUNKS) tl_panic("dictionary full (%u entries)", code);
    if (d->fixed) {
        if (len != d->fixed) tl_panic("value of %u bytes for a dictionary of %u-byte values", len, d->fixed);
        /* counted as filled: the kernel backs only the pages written */
        if (!d->chunks[ci]) d->chunks[ci] = tl_xmalloc((size_t)DICT_CHUNK * d->fixed);
        d->bytes += d->fixed;
        memcpy((char *)d->chunks[ci] + (size_t)(code & (DICT_CHUNK - 1)) * d->fixed, s, len);
    } else {
        if (!d->chunks[ci]) d->chunks[ci] = tl_xmalloc(DICT_CHUNK * sizeof(tl_str));
        tl_str *e = &((tl_str *)d->chunks[ci])[code & (DICT_CHUNK - 1)];
        e->ptr = dict_store(d, s, len);
        e->len = len;
        d->bytes += sizeof(tl_str);
    }
    __atomic_store_n(&d->hashes[slot], (uint8_t)h, __ATOMIC_RELAXED);
    __atomic_store_n(&d->slots[slot], code + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&d->n, code + 1, __ATOMIC_RELEASE);
    if ((uint64_t)d->n * 10 > (uint64_t)d->nslots * 7) dict_grow(d);
    return code;
}
