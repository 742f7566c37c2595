/*
 * value_int.h — private seams between the value files (value.c dispatches text I/O,
 * comparison and hashing; numeric.c, datetime.c and jsonb.c own their types). Nothing
 * outside storage/ includes this: the public contract stays tl_value.h.
 */
#ifndef TL_VALUE_INT_H
#define TL_VALUE_INT_H

#include "tl_value.h"

/* PostgreSQL's message for unparsable input: the whole original string is quoted. */
int val__syntax_error(tl_error *err, const char *sqlstate, const char *type_name, const char *s,
                      size_t len);

/* numeric.c */
int val__numeric_in(const char *s, size_t len, tl_numeric *out, tl_error *err);
void val__numeric_out(const tl_numeric *n, tl_buf *out);
uint64_t val__numeric_hash(const tl_numeric *n);

/* datetime.c: infinities as PostgreSQL stores them. */
#define TL_DATE_NOBEGIN INT32_MIN
#define TL_DATE_NOEND INT32_MAX
#define TL_TS_NOBEGIN INT64_MIN
#define TL_TS_NOEND INT64_MAX
int val__date_in(const char *s, size_t len, const tl_fmt_ctx *fc, int64_t *out, tl_error *err);
void val__date_out(int64_t d, tl_buf *out);
int val__ts_in(const char *s, size_t len, bool with_tz, const tl_fmt_ctx *fc, int64_t *out,
               tl_error *err);
void val__ts_out(int64_t ts, bool with_tz, const tl_fmt_ctx *fc, tl_buf *out);
int val__interval_in(const char *s, size_t len, tl_interval *out, tl_error *err);
void val__interval_out(const tl_interval *iv, tl_buf *out);
tl_i128 val__interval_key(const tl_interval *iv);

/* tz.c: the offset in effect on either side of the first transition after `utc_s`. */
bool val__tz_next_transition(const tl_tz *tz, int64_t utc_s, int64_t *at, int32_t *before,
                             int32_t *after);

/* jsonb.c: validate (json) or validate and normalize (jsonb) into the arena. */
int val__array_in(tl_type t, const char *s, size_t len, tl_arena *a, tl_str *out, tl_error *err);
int val__json_in(const char *s, size_t len, bool jsonb, tl_arena *a, tl_str *out, tl_error *err);

#endif
