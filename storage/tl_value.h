/*
 * tl_value.h — SQL values as tally holds them: the type ids with their PostgreSQL
 * OIDs, the scalar datum, the 2048-value executor vector, and the text input/output
 * functions that must match PostgreSQL's formats byte for byte (numeric scale,
 * timestamptz in the session TimeZone, uuid, date, boolean t/f, jsonb normal form).
 *
 * Physical classes: every integer-like type (int2/4/8, date, timestamp[tz], oid, enum
 * ordinal) travels as int64 in datums and vectors; floats as double; numeric as a
 * 128-bit mantissa with a decimal scale; strings as (ptr,len) into an arena or a
 * dictionary. Storage may encode columns more tightly; vectors are the common form.
 */
#ifndef TL_VALUE_H
#define TL_VALUE_H

#include "tl_base.h"

typedef enum tl_type_id {
    TL_UNKNOWN = 0, /* an untyped literal ('...') before resolution */
    TL_BOOL,
    TL_INT2,
    TL_INT4,
    TL_INT8,
    TL_FLOAT4,
    TL_FLOAT8,
    TL_NUMERIC,
    TL_TEXT,
    TL_VARCHAR,
    TL_BPCHAR,
    TL_NAME,
    TL_UUID,
    TL_DATE,
    TL_TIMESTAMP,
    TL_TIMESTAMPTZ,
    TL_INTERVAL,
    TL_JSON,
    TL_JSONB,
    TL_OID,
    TL_ENUM,  /* user enum: oid names the type, value is the label's ordinal */
    TL_VOID,  /* result of a function returning nothing (refresh_reporting_views) */
    TL_CHAR,  /* PostgreSQL's one-byte "char" (pg_class.relkind ...) */
    TL_ARRAY, /* an array held in its text form '{a,b}'; tl_type.oid names the array type
               * (int2vector, oid[], text[] ...): catalogs return these, clients read them */
    TL_TYPE_COUNT
} tl_type_id;

/* PostgreSQL's fixed type OIDs (pg_type.dat). */
enum {
    TL_OID_BOOL = 16, TL_OID_BYTEA = 17, TL_OID_NAME = 19, TL_OID_INT8 = 20, TL_OID_INT2 = 21,
    TL_OID_INT4 = 23, TL_OID_TEXT = 25, TL_OID_OID = 26, TL_OID_JSON = 114, TL_OID_FLOAT4 = 700,
    TL_OID_FLOAT8 = 701, TL_OID_UNKNOWN = 705, TL_OID_BPCHAR = 1042, TL_OID_VARCHAR = 1043,
    TL_OID_DATE = 1082, TL_OID_TIMESTAMP = 1114, TL_OID_TIMESTAMPTZ = 1184,
    TL_OID_INTERVAL = 1186, TL_OID_NUMERIC = 1700, TL_OID_UUID = 2950, TL_OID_VOID = 2278,
    TL_OID_JSONB = 3802, TL_OID_CHAR = 18, TL_OID_INT2VECTOR = 22, TL_OID_REGPROC = 24,
    TL_OID_OIDVECTOR = 30, TL_OID_PG_NODE_TREE = 194, TL_OID_INT2ARRAY = 1005,
    TL_OID_TEXTARRAY = 1009, TL_OID_NAMEARRAY = 1003, TL_OID_OIDARRAY = 1028,
    TL_OID_CHARARRAY = 1002, TL_OID_ACLITEMARRAY = 1034, TL_OID_REGCLASS = 2205,
    TL_OID_REGTYPE = 2206, TL_OID_REGNAMESPACE = 4089, TL_OID_REGROLE = 4096,
    TL_OID_REGPROCEDURE = 2202
};

typedef struct tl_type {
    tl_type_id id;
    int32_t typmod; /* -1 = none; numeric(p,s) as PostgreSQL: ((p << 16) | s) + 4 */
    uint32_t oid;   /* for TL_ENUM the catalog's type oid; otherwise the fixed OID, or a
                     * variant's: TL_OID carrying regclass/regtype/regproc..., TL_TEXT
                     * carrying pg_node_tree, TL_ARRAY its array type */
} tl_type;

tl_type tl_type_make(tl_type_id id); /* typmod -1, fixed oid */
uint32_t tl_type_oid(tl_type t);
const char *tl_type_name(tl_type_id id);   /* PostgreSQL's name: "integer", "timestamp with time zone" */
int16_t tl_type_len(tl_type_id id);        /* pg_type.typlen: 4, 8, -1 ... */
bool tl_type_is_string(tl_type_id id);     /* text, varchar, bpchar, name, json, jsonb */
bool tl_type_is_integer(tl_type_id id);    /* int2, int4, int8, oid */

/* ---- scalar payloads ------------------------------------------------------ */

typedef struct tl_numeric {
    tl_i128 mant;  /* value = mant / 10^scale */
    int16_t scale; /* 0..TL_NUMERIC_MAX_SCALE; the display scale, as PostgreSQL's dscale */
    int16_t nan;   /* 1 for 'NaN' */
} tl_numeric;
#define TL_NUMERIC_MAX_SCALE 32
#define TL_NUMERIC_MAX_DIGITS 38 /* |mant| < 10^38; beyond it: 22003 */

typedef struct tl_interval {
    int64_t us; /* microseconds */
    int32_t days;
    int32_t months;
} tl_interval;

typedef struct tl_str {
    const char *ptr;
    uint32_t len;
} tl_str;

typedef struct tl_uuid {
    uint8_t b[16];
} tl_uuid;

/* Times are PostgreSQL's: microseconds (timestamps) or days (dates) since 2000-01-01. */
#define TL_USECS_PER_DAY INT64_C(86400000000)
#define TL_UNIX_EPOCH_DAYS 10957 /* 1970-01-01 as days before 2000-01-01 */

typedef struct tl_datum {
    bool isnull;
    union {
        bool b;
        int64_t i; /* every integer-like type */
        double f;
        tl_numeric n;
        tl_str s;
        tl_uuid u;
        tl_interval iv;
    } v;
} tl_datum;

/* ---- vectors ---------------------------------------------------------------- */

typedef struct tl_vec {
    tl_type type;
    uint32_t n;      /* number of values */
    uint8_t *nulls;  /* one byte a value, 1 = NULL; NULL pointer means no NULLs */
    union {
        void *raw;
        uint8_t *b;
        int64_t *i;
        double *f;
        tl_numeric *n;
        tl_str *s;
        tl_uuid *u;
        tl_interval *iv;
    } d;
} tl_vec;

/* Bytes one value of this type occupies in a vector. */
size_t tl_vec_elem_size(tl_type_id id);
/* Allocate a vector of capacity TL_VEC_SIZE (or cap) in the arena; nulls allocated too. */
void tl_vec_alloc(tl_vec *v, tl_type t, uint32_t cap, tl_arena *a);
bool tl_vec_isnull(const tl_vec *v, uint32_t i);
void tl_vec_get(const tl_vec *v, uint32_t i, tl_datum *out);       /* shallow (strings shared) */
void tl_vec_set(tl_vec *v, uint32_t i, const tl_datum *d);         /* shallow */

/* ---- time zones ------------------------------------------------------------- */

typedef struct tl_tz tl_tz;
/* Load an IANA zone ("UTC", "Europe/Berlin", "America/New_York") from the system's
 * zoneinfo, or a POSIX-style fixed offset ("+02", "-05:30", "UTC+3" as PostgreSQL reads
 * it). Zones are cached and never freed: the pointer stays valid for the process. */
const tl_tz *tl_tz_get(const char *name, tl_error *err);
const tl_tz *tl_tz_utc(void);
const char *tl_tz_name(const tl_tz *tz);
/* Offset east of UTC in seconds for the UTC instant `utc_us`; abbreviation optional. */
int32_t tl_tz_offset_utc(const tl_tz *tz, int64_t utc_us, const char **abbrev);
/* Offset for a local wall-clock time (PostgreSQL's rule for ambiguous/skipped times). */
int32_t tl_tz_offset_local(const tl_tz *tz, int64_t local_us);

/* ---- session-dependent formatting context ------------------------------------ */

typedef struct tl_fmt_ctx {
    const tl_tz *tz;          /* session TimeZone */
    int extra_float_digits;   /* PostgreSQL default 1: shortest round-trip output */
} tl_fmt_ctx;

/* ---- text input/output --------------------------------------------------------- */

/* Parse the text form of `t` into `out`. Strings are copied into `a`. Errors as
 * PostgreSQL: 22P02 invalid input syntax, 22007 bad datetime format, 22008 field out of
 * range, 22003 numeric out of range. Enum input is the engine's job (needs labels). */
int tl_value_in(tl_type t, const char *s, size_t len, const tl_fmt_ctx *fc, tl_datum *out,
                tl_arena *a, tl_error *err);
/* Append the text form of a non-NULL datum to `out`. Enum output is the engine's job. */
void tl_value_out(tl_type t, const tl_datum *d, const tl_fmt_ctx *fc, tl_buf *out);

/* ---- binary input/output (PostgreSQL's typsend/typrecv) --------------------------- */

/* Whether the type has a binary form here (enum's is its label: the engine's job). */
bool tl_type_has_binary(tl_type_id id);
/* Whether values of t have a binary form (arrays: by their element type). */
bool tl_type_binary_ok(tl_type t);
/* Append the binary form of a non-NULL datum (int64 microsecond timestamps, numeric in
 * base-10000 digits, jsonb with its version byte 1). */
void tl_value_send(tl_type t, const tl_datum *d, tl_buf *out);
/* Decode a binary value (a Bind parameter). 08P01 when data is short, 22P03 when bytes
 * are left over or malformed, 22021 for bad UTF-8, the type's range errors otherwise. */
int tl_value_recv(tl_type t, const char *p, size_t len, tl_datum *out, tl_arena *a, tl_error *err);

/* Compare two non-NULL datums of the same type: <0, 0, >0 (text by bytes, as the C
 * collation). Hash consistent with equality (numeric 1.0 and 1.00 hash alike). */
int tl_datum_cmp(tl_type_id t, const tl_datum *a, const tl_datum *b);
uint64_t tl_datum_hash(tl_type_id t, const tl_datum *d);

/* ---- numeric ------------------------------------------------------------------ */

int tl_numeric_from_i64(int64_t v, tl_numeric *out);
int tl_numeric_from_double(double v, tl_numeric *out, tl_error *err);
double tl_numeric_to_double(const tl_numeric *n);
int tl_numeric_to_i64(const tl_numeric *n, int64_t *out, tl_error *err); /* rounds half away */
int tl_numeric_add(const tl_numeric *a, const tl_numeric *b, tl_numeric *out, tl_error *err);
int tl_numeric_sub(const tl_numeric *a, const tl_numeric *b, tl_numeric *out, tl_error *err);
int tl_numeric_mul(const tl_numeric *a, const tl_numeric *b, tl_numeric *out, tl_error *err);
/* Division picks the result scale as PostgreSQL's select_div_scale does. 22012 on /0. */
int tl_numeric_div(const tl_numeric *a, const tl_numeric *b, tl_numeric *out, tl_error *err);
/* Divide by a count, for avg(): PostgreSQL's avg(numeric) result scale rules. */
int tl_numeric_div_i64(const tl_numeric *a, int64_t d, tl_numeric *out, tl_error *err);
int tl_numeric_round(const tl_numeric *a, int scale, tl_numeric *out, tl_error *err);
int tl_numeric_cmp(const tl_numeric *a, const tl_numeric *b);
/* Apply a numeric(p,s) typmod: round to s, 22003 if more than p-s integer digits. */
int tl_numeric_apply_typmod(tl_numeric *n, int32_t typmod, tl_error *err);

/* ---- dates, timestamps, intervals ---------------------------------------------- */

void tl_date_to_ymd(int32_t days, int *y, int *m, int *d);
int32_t tl_ymd_to_date(int y, int m, int d);
bool tl_ymd_valid(int y, int m, int d);
/* timestamptz (UTC us) <-> local wall clock us in tz */
int64_t tl_ts_to_local(int64_t utc_us, const tl_tz *tz);
int64_t tl_local_to_ts(int64_t local_us, const tl_tz *tz);
/* date_trunc on a wall-clock timestamp; unit as PostgreSQL spells it (microseconds ..
 * millennium, week = ISO Monday). Returns -1 + 22023 for an unknown unit. */
int tl_trunc_local(const char *unit, int64_t local_us, int64_t *out, tl_error *err);
/* date_trunc(unit, timestamptz) in `tz`: day and coarser units re-resolve the offset of
 * the truncated wall-clock time, finer ones keep the instant's offset (as PostgreSQL). */
int tl_trunc_ts(const char *unit, int64_t ts, const tl_tz *tz, int64_t *out, tl_error *err);
/* extract/date_part on a wall-clock timestamp (epoch handled by caller). 22023 for unknown. */
int tl_extract_local(const char *unit, int64_t local_us, tl_numeric *out, tl_error *err);
/* ts + interval, as PostgreSQL: months then days in `tz` wall-clock time, then us. */
int tl_ts_add_interval(int64_t ts, const tl_interval *iv, const tl_tz *tz, int64_t *out,
                       tl_error *err);
int tl_interval_cmp(const tl_interval *a, const tl_interval *b);

/* ---- arrays (text form; see array.c) -------------------------------------------- */

typedef struct tl_array_elems {
    int n;
    tl_str *v;     /* element text forms */
    bool *isnull;
} tl_array_elems;

tl_type tl_array_type(uint32_t array_oid);          /* TL_ARRAY carrying its oid */
tl_type tl_array_elem_type(uint32_t array_oid);     /* int2vector -> int2 ... */
uint32_t tl_array_elem_oid(uint32_t array_oid);     /* 0 if unknown */
uint32_t tl_array_oid_of(uint32_t elem_oid);        /* int4 -> int4[]; 0 if none */
/* Split an array's text form into its elements (allocated in a). 22P02 if malformed. */
int tl_array_parse(uint32_t array_oid, const char *s, size_t len, tl_array_elems *out, tl_arena *a,
                   tl_error *err);
/* array_out: braces, commas and quoting as PostgreSQL (space-separated for vectors). */
void tl_array_format(uint32_t array_oid, const tl_array_elems *el, tl_buf *out);

/* ---- uuid ---------------------------------------------------------------------- */

void tl_uuid_v4(tl_uuid *out); /* random (gen_random_uuid) */

#endif
