/*
 * base.c — errors, arenas, buffers and checked allocation shared by every layer.
 * Arenas are chains of blocks; a statement's whole working set is dropped with one
 * reset, so operators never free piecemeal (PostgreSQL's memory contexts, flattened).
 */
#include "tl_base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void tl_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tally: fatal: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static void budget_note(size_t n);

void *tl_xmalloc(size_t n)
{
    budget_note(n);
    void *p = malloc(n ? n : 1);
    if (!p) tl_panic("out of memory allocating %zu bytes", n);
    return p;
}

void *tl_xcalloc(size_t n, size_t sz)
{
    budget_note(sz && n > SIZE_MAX / sz ? SIZE_MAX : n * sz);
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) tl_panic("out of memory allocating %zu x %zu bytes", n, sz);
    return p;
}

void *tl_xrealloc(void *p, size_t n)
{
    budget_note(n);
    void *q = realloc(p, n ? n : 1);
    if (!q) tl_panic("out of memory reallocating %zu bytes", n);
    return q;
}

char *tl_xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = tl_xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

/* ---- per-statement memory budget ------------------------------------------ */

#ifdef TL_SANITIZE
/* ASan owns malloc in this build: its hooks keep the per-thread count. The free hook
 * runs before the chunk is released, so its size is still known. */
static _Thread_local int64_t asan_live;
/* compiler-rt's allocator interface (GCC installs no header for it) */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);

static void asan_malloc_hook(const volatile void *p, size_t n)
{
    (void)p;
    asan_live += (int64_t)n;
}

static void asan_free_hook(const volatile void *p)
{
    if (p) asan_live -= (int64_t)__sanitizer_get_allocated_size(p);
}

__attribute__((constructor)) static void asan_hooks_install(void)
{
    __sanitizer_install_malloc_and_free_hooks(asan_malloc_hook, asan_free_hook);
}

bool tl_mem_thread_live(int64_t *out)
{
    *out = asan_live;
    return true;
}
#else
/* jemalloc, when the executable links it (tallyd does): its per-thread cumulative
 * counters, read through pointers it hands out once per thread. Weak, so programs
 * without jemalloc (unit tests) link and simply have no budget. */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));
static _Thread_local const uint64_t *je_alloc, *je_dealloc;
static _Thread_local bool je_tried;

bool tl_mem_thread_live(int64_t *out)
{
    if (!je_tried) {
        je_tried = true;
        size_t sz = sizeof je_alloc;
        if (!mallctl || mallctl("thread.allocatedp", &je_alloc, &sz, NULL, 0) != 0 ||
            mallctl("thread.deallocatedp", &je_dealloc, &sz, NULL, 0) != 0)
            je_alloc = je_dealloc = NULL;
    }
    if (!je_alloc) return false;
    *out = (int64_t)(*je_alloc - *je_dealloc);
    return true;
}
#endif

static _Thread_local struct {
    bool on;
    size_t limit;
    int64_t base; /* live bytes when the statement began */
    size_t over;  /* bytes in use when the budget was crossed; 0 = not yet */
} budget;

void tl_mem_budget_begin(size_t limit)
{
    budget.on = false;
    budget.over = 0;
    int64_t live;
    if (limit == 0 || !tl_mem_thread_live(&live)) return;
    budget.on = true;
    budget.limit = limit;
    budget.base = live;
}

void tl_mem_budget_end(void)
{
    budget.on = false;
    budget.over = 0;
}

/* n: a request about to be made, so one huge request is caught before it is made. */
static void budget_note(size_t n)
{
    if (!budget.on || budget.over) return;
    int64_t live;
    tl_mem_thread_live(&live);
    int64_t used = live - budget.base;
    if (used < 0) used = 0;
    if (n > budget.limit || (size_t)used + n > budget.limit) budget.over = (size_t)used + n;
}

size_t tl_mem_budget_exceeded(void)
{
    if (!budget.on) return 0;
    budget_note(0);
    return budget.over;
}

/* ---- errors ---------------------------------------------------------------- */

int tl_verrorf(tl_error *e, const char *sqlstate, const char *fmt, va_list ap)
{
    if (!e || tl_error_set(e)) return -1;
    memcpy(e->sqlstate, sqlstate, 5);
    e->sqlstate[5] = '\0';
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    return -1;
}

int tl_errorf(tl_error *e, const char *sqlstate, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tl_verrorf(e, sqlstate, fmt, ap);
    va_end(ap);
    return -1;
}

void tl_error_detail(tl_error *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
}

void tl_error_clear(tl_error *e)
{
    memset(e, 0, sizeof *e);
}

const char *tl_severity_name(tl_severity s)
{
    switch (s) {
    case TL_SEV_FATAL: return "FATAL";
    case TL_SEV_NOTICE: return "NOTICE";
    case TL_SEV_WARNING: return "WARNING";
    case TL_SEV_ERROR: break;
    }
    return "ERROR";
}

/* ---- arena ----------------------------------------------------------------- */

struct tl_arena_block {
    tl_arena_block *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char data[];
};

#define ARENA_BLOCK 65536

void tl_arena_init(tl_arena *a)
{
    a->head = NULL;
    a->used = 0;
    a->limit = 0;
    a->cbs = NULL;
}

void *tl_arena_alloc(tl_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    tl_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
        b = tl_xmalloc(sizeof *b + cap);
        b->cap = cap;
        b->used = 0;
        if (cap > ARENA_BLOCK && a->head) {
            /* A big block goes behind the head so the head's free space stays usable. */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    a->used += n;
    return p;
}

void *tl_arena_zalloc(tl_arena *a, size_t n)
{
    void *p = tl_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *tl_arena_strndup(tl_arena *a, const char *s, size_t n)
{
    char *p = tl_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *tl_arena_strdup(tl_arena *a, const char *s)
{
    return tl_arena_strndup(a, s, strlen(s));
}

char *tl_arena_printf(tl_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = tl_arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

void tl_arena_reset(tl_arena *a)
{
    size_t limit = a->limit;
    tl_arena_free(a);
    a->limit = limit;
}

void tl_arena_on_free(tl_arena *a, void (*fn)(void *), void *arg)
{
    tl_arena_cb *cb = tl_arena_alloc(a, sizeof *cb);
    cb->fn = fn;
    cb->arg = arg;
    cb->next = a->cbs;
    a->cbs = cb;
}

void tl_arena_free(tl_arena *a)
{
    /* Callbacks first: their records live in the blocks freed below. */
    for (tl_arena_cb *cb = a->cbs; cb; cb = cb->next) cb->fn(cb->arg);
    a->cbs = NULL;
    tl_arena_block *b = a->head;
    while (b) {
        tl_arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->used = 0;
}

/* ---- buffer ---------------------------------------------------------------- */

void tl_buf_init(tl_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void tl_buf_free(tl_buf *b)
{
    free(b->data);
    tl_buf_init(b);
}

void tl_buf_reserve(tl_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->data = tl_xrealloc(b->data, cap);
    b->cap = cap;
}

void tl_buf_append(tl_buf *b, const void *p, size_t n)
{
    tl_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void tl_buf_putc(tl_buf *b, char c)
{
    tl_buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void tl_buf_puts(tl_buf *b, const char *s)
{
    tl_buf_append(b, s, strlen(s));
}

void tl_buf_printf(tl_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    tl_buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}
