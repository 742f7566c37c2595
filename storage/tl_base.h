/*
 * tl_base.h — the few things every layer of tally shares: the error record that
 * carries a SQLSTATE up to the wire, a bump arena for per-statement memory, and a
 * growable byte buffer. Nothing here knows about SQL or sockets; SQLSTATE is just
 * five characters that storage can already pick correctly (22P02 for bad input).
 */
#ifndef TL_BASE_H
#define TL_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 128-bit integers carry numeric mantissas; __extension__ keeps -Wpedantic quiet. */
__extension__ typedef __int128 tl_i128;
__extension__ typedef unsigned __int128 tl_u128;

#define TL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TL_VEC_SIZE 2048 /* values per executor vector; see DESIGN.md */

/* ---- errors ------------------------------------------------------------ */

typedef enum tl_severity { TL_SEV_ERROR = 0, TL_SEV_FATAL, TL_SEV_NOTICE, TL_SEV_WARNING } tl_severity;

typedef struct tl_error {
    tl_severity severity;
    char sqlstate[6];   /* "" means no error recorded */
    int position;       /* 1-based character offset into the query text, 0 = none */
    char message[512];
    char detail[512];
    char hint[256];
    char context[256];  /* PostgreSQL's CONTEXT field, e.g. "COPY t, line 3" */
} tl_error;

/* Record an error and return -1, so callers can write `return tl_errorf(...)`.
 * The first error wins: a later call does not overwrite an earlier, more precise one. */
int tl_errorf(tl_error *e, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int tl_verrorf(tl_error *e, const char *sqlstate, const char *fmt, va_list ap);
void tl_error_detail(tl_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tl_error_clear(tl_error *e);
static inline bool tl_error_set(const tl_error *e)
{
    return e->sqlstate[0] != '\0';
}
const char *tl_severity_name(tl_severity s);

/* ---- arena: bump allocation freed all at once ---------------------------- */

typedef struct tl_arena_block tl_arena_block;
typedef struct tl_arena_cb {
    struct tl_arena_cb *next;
    void (*fn)(void *);
    void *arg;
} tl_arena_cb;
typedef struct tl_arena {
    tl_arena_block *head;
    tl_arena_cb *cbs; /* run (newest first) when the arena is freed or reset */
    size_t used;  /* bytes handed out, for memory limits */
    size_t limit; /* 0 = unlimited; beyond it allocation fails (53200 upstream) */
} tl_arena;

void tl_arena_init(tl_arena *a);
void *tl_arena_alloc(tl_arena *a, size_t n);   /* 16-byte aligned, never NULL (aborts on OOM) */
void *tl_arena_zalloc(tl_arena *a, size_t n);
char *tl_arena_strndup(tl_arena *a, const char *s, size_t n);
char *tl_arena_strdup(tl_arena *a, const char *s);
char *tl_arena_printf(tl_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tl_arena_reset(tl_arena *a); /* frees everything but keeps the arena usable */
/* Run fn(arg) when the arena is next freed or reset: releases what the arena's memory
 * stands for, such as a table pin held by a snapshot allocated in it. */
void tl_arena_on_free(tl_arena *a, void (*fn)(void *), void *arg);
void tl_arena_free(tl_arena *a);

/* ---- per-statement memory budget ------------------------------------------- */

/* A statement's memory is whatever its thread allocates between begin and end, net of
 * what it frees: the allocator's own per-thread counters (jemalloc's thread.allocated /
 * thread.deallocated; ASan's malloc hooks in the sanitizer build), so every operator,
 * arena block and buffer is counted without passing a context around. Crossing the
 * budget only marks the statement: allocation never fails here (callers rely on
 * tl_xmalloc never returning NULL), and the executor's cancellation checks, which run
 * at least once per batch, turn the mark into 53200. Growth past the budget is thus
 * bounded by one batch and one doubling of a buffer. Budgets do not nest. */
void tl_mem_budget_begin(size_t limit); /* 0 = no limit */
void tl_mem_budget_end(void);
/* 0 while within budget, else the bytes in use since begin when it was crossed. */
size_t tl_mem_budget_exceeded(void);
/* Net bytes this thread holds from the allocator; false if it keeps no such count. */
bool tl_mem_thread_live(int64_t *out);

/* ---- buffer ---------------------------------------------------------------- */

typedef struct tl_buf {
    char *data;
    size_t len;
    size_t cap;
} tl_buf;

void tl_buf_init(tl_buf *b);
void tl_buf_free(tl_buf *b);
void tl_buf_reserve(tl_buf *b, size_t extra);
void tl_buf_append(tl_buf *b, const void *p, size_t n);
void tl_buf_putc(tl_buf *b, char c);
void tl_buf_puts(tl_buf *b, const char *s);
void tl_buf_printf(tl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void tl_buf_clear(tl_buf *b)
{
    b->len = 0;
}

/* Abort with a message: only for broken invariants and out-of-memory, never for input. */
_Noreturn void tl_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *tl_xmalloc(size_t n);
void *tl_xcalloc(size_t n, size_t sz);
void *tl_xrealloc(void *p, size_t n);
char *tl_xstrdup(const char *s);

#endif
