/*
 * tl_copy.h — the COPY text and CSV formats as a streaming decoder. Bytes arrive in
 * arbitrary chunks (CopyData messages split lines anywhere); the decoder hands each
 * complete row to a callback as NUL-terminated fields with the 1-based line number,
 * so ingest can report "line N" exactly as PostgreSQL does.
 * The encoder side formats rows for COPY ... TO.
 */
#ifndef TL_COPY_H
#define TL_COPY_H

#include "tl_base.h"

typedef struct tl_copy_opts {
    bool csv;             /* FORMAT csv (else text) */
    bool header;          /* HEADER: first line skipped on input, written on output */
    char delim;           /* '\t' text, ',' csv */
    char quote;           /* csv only, default '"' */
    char escape;          /* csv only, default = quote */
    const char *null_str; /* "\\N" text, "" csv */
    /* FORCE_NOT_NULL / FORCE_NULL are not supported yet */
} tl_copy_opts;

void tl_copy_opts_default(tl_copy_opts *o, bool csv);

/* Called once per data row. fields[i] is NULL for SQL NULL, else a NUL-terminated
 * string of lens[i] bytes (escapes already decoded). The arrays are only valid during
 * the call. Return 0 to go on, -1 (with err set) to stop decoding. */
typedef int (*tl_copy_row_fn)(void *ctx, int nfields, char **fields, const size_t *lens,
                              long lineno, tl_error *err);

typedef struct tl_copy_decoder tl_copy_decoder;

tl_copy_decoder *tl_copy_decoder_new(const tl_copy_opts *o, tl_copy_row_fn fn, void *ctx);
/* Feed the next chunk. Errors (22P04 bad COPY data: unterminated CSV quote, ...) carry
 * the line number in the message context ("COPY ..., line N") via tl_copy_decoder_line. */
int tl_copy_decoder_feed(tl_copy_decoder *d, const char *data, size_t len, tl_error *err);
/* End of data: flushes a last line without newline; a text-format "\\." line ends data. */
int tl_copy_decoder_finish(tl_copy_decoder *d, tl_error *err);
long tl_copy_decoder_line(const tl_copy_decoder *d); /* line being decoded now (1-based) */
/* The raw text of the line whose fields are being reported (during the row callback, and
 * after an error raised while splitting it), else NULL: PostgreSQL's error context quotes
 * it ("COPY t, line 3: \"...\"") only once the whole line has been read. */
const char *tl_copy_decoder_line_text(const tl_copy_decoder *d, size_t *len);
void tl_copy_decoder_free(tl_copy_decoder *d);

/* Encode one row (values NULL = SQL NULL) in the chosen format, newline included. */
void tl_copy_encode_row(const tl_copy_opts *o, int nfields, const char *const *values,
                        const size_t *lens, tl_buf *out);

#endif
