/*
 * tl_vecio.h — column vectors as bytes, for the WAL's insert records and the snapshot
 * files: a null bitmap, then the values in a compact form (integer-like types as
 * frame-of-reference offsets in 0/1/2/4/8 bytes, strings as length + bytes, the rest
 * in their fixed width). Decoding checks every length against the bytes it is given:
 * these bytes come from disk and may be damaged.
 */
#ifndef TL_VECIO_H
#define TL_VECIO_H

#include "tl_value.h"

/* Append values [0, n) of v to out. */
void tl_vec_encode(const tl_vec *v, uint32_t n, tl_buf *out);
/* Decode n values of type t from *p (advanced past them, bounded by end) into out,
 * allocated in a. Strings point into the input bytes (they must outlive out).
 * 0, or -1 when the bytes are malformed. */
int tl_vec_decode(const char **p, const char *end, tl_type t, uint32_t n, tl_vec *out, tl_arena *a);

/* The integer part alone, for dictionary codes and the like. */
void tl_i64_encode(const int64_t *v, const uint8_t *nulls, uint32_t n, tl_buf *out);
int tl_i64_decode(const char **p, const char *end, uint32_t n, int64_t *out);

/* Little helpers for length-checked serialisation of records. */
void tl_put_u8(tl_buf *b, uint8_t v);
void tl_put_u16(tl_buf *b, uint16_t v);
void tl_put_u32(tl_buf *b, uint32_t v);
void tl_put_u64(tl_buf *b, uint64_t v);
void tl_put_str(tl_buf *b, const char *s); /* NULL allowed */

typedef struct tl_reader {
    const char *p, *end;
    bool bad; /* set by the first read past the end; later reads return zeros */
} tl_reader;
uint8_t tl_get_u8(tl_reader *r);
uint16_t tl_get_u16(tl_reader *r);
uint32_t tl_get_u32(tl_reader *r);
uint64_t tl_get_u64(tl_reader *r);
/* malloc'd copy, or NULL for a NULL string (check r->bad to tell apart from damage) */
char *tl_get_str(tl_reader *r);

#endif
