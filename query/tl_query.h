/*
 * tl_query.h — what the server layer sees of SQL: a per-connection query session
 * (settings such as TimeZone, the current role) and one call that runs a query
 * string, reporting results through a sink of callbacks. The server turns those
 * callbacks into RowDescription / DataRow / CommandComplete / CopyInResponse ...;
 * the query layer never touches a socket.
 */
#ifndef TL_QUERY_H
#define TL_QUERY_H

#include "tl_base.h"
#include "tl_value.h"

typedef struct tl_engine tl_engine;
typedef struct tl_qsession tl_qsession;

/* One result column as RowDescription needs it. */
typedef struct tl_coldesc {
    const char *name;
    uint32_t table_oid; /* 0 when not a plain column reference */
    int16_t attnum;     /* 0 when not a plain column reference */
    uint32_t type_oid;
    int16_t typlen;
    int32_t typmod;
    int16_t format;     /* 0 text, 1 binary (RowDescription of a bound portal) */
} tl_coldesc;

/* One value of a result row in text format; NULL ptr = SQL NULL. */
typedef struct tl_cell {
    const char *ptr;
    size_t len;
} tl_cell;

typedef struct tl_sink {
    void *ctx;
    /* A result set starts (RowDescription). */
    int (*describe)(void *ctx, int ncols, const tl_coldesc *cols);
    /* One row (DataRow). Cells are valid only during the call. */
    int (*row)(void *ctx, int ncols, const tl_cell *cells);
    /* A statement finished (CommandComplete), e.g. "SELECT 3", "INSERT 0 5", "COPY 10". */
    int (*complete)(void *ctx, const char *tag);
    /* A NOTICE / WARNING raised by the statement. */
    int (*notice)(void *ctx, const tl_error *notice);
    /* A reported setting changed (ParameterStatus), e.g. after SET TimeZone. */
    int (*param_status)(void *ctx, const char *name, const char *value);
    /* COPY ... FROM STDIN: tell the client to send data (CopyInResponse), then read it.
     * copy_in_read returns bytes read (>0), 0 at CopyDone, or -1 with err set (CopyFail:
     * 57014 "COPY from stdin failed: <client message>", or a broken connection). */
    int (*copy_in_begin)(void *ctx, int ncols, bool binary);
    long (*copy_in_read)(void *ctx, char *buf, size_t cap, tl_error *err);
    /* COPY ... TO STDOUT: CopyOutResponse, then CopyData chunks, then CopyDone. */
    int (*copy_out_begin)(void *ctx, int ncols, bool binary);
    int (*copy_out_data)(void *ctx, const char *data, size_t len);
    int (*copy_out_end)(void *ctx);
    /* An empty query string (EmptyQueryResponse). */
    int (*empty)(void *ctx);
} tl_sink;

/* Session lifecycle. `user` and `database` come from the StartupMessage; the server has
 * already checked that the database exists (tl_engine_database_exists). */
/* Register what the query layer keeps in the WAL (materialized views, replayed as
 * statements). Call once before tl_engine_open with a data directory. */
void tl_query_register_durable(void);

tl_qsession *tl_qsession_new(tl_engine *eng, const char *user, const char *database);
void tl_qsession_free(tl_qsession *s);
/* Apply a startup parameter or SET: 0, or -1 with err (22023 bad value, 42704 unknown
 * parameter for SET; unknown startup options are accepted silently as PostgreSQL does
 * for settings it knows, FATAL 42704 for ones it does not). */
int tl_qsession_set(tl_qsession *s, const char *name, const char *value, tl_error *err);
/* Current value of a setting, or NULL if unknown. */
const char *tl_qsession_get(tl_qsession *s, const char *name);
/* The settings PostgreSQL reports in ParameterStatus at startup, in order:
 * calls fn(name, value) for each. */
void tl_qsession_report_params(tl_qsession *s,
                               void (*fn)(void *ctx, const char *name, const char *value),
                               void *ctx);
/* 'I' idle, 'T' in a transaction block, 'E' in a failed transaction block. */
char tl_qsession_tx_status(const tl_qsession *s);

/* Run a simple-protocol query string: every statement in turn; stops at the first error,
 * which is returned (-1) in err with its position. Results go to the sink. */
int tl_query_simple(tl_qsession *s, const char *sql, tl_sink *sink, tl_error *err);

/* Ask the running statement of this session to stop (CancelRequest; may be called from
 * another thread). The statement fails with 57014. */
void tl_qsession_cancel(tl_qsession *s);

/* The most working memory one statement may use (tallyd --max-statement-memory), 0 =
 * no limit. Beyond it the statement fails with 53200 "out of memory"; the session and
 * every other session go on. A session may lower its own (tally.max_statement_memory). */
void tl_query_set_max_statement_memory(size_t bytes);
/* "1GB", "256MB", "65536kB", "8192" (kB, as PostgreSQL's memory settings): bytes, or -1. */
int64_t tl_query_parse_memory(const char *v);

/* ---- extended query protocol (prepared.c) ------------------------------------------
 * Names are the protocol's: "" is the unnamed statement/portal. Every call returns 0, or
 * -1 with err set (the server then skips to Sync). Parse trees are cached per session by
 * query text, so re-parsing the same text (pgjdbc's unnamed statements) is cheap. */

/* Parse: one statement (or none), with `nparams` declared parameter type OIDs (0 =
 * infer). Types of the rest are inferred from context as PostgreSQL does. */
int tl_prepare(tl_qsession *s, const char *name, const char *sql, int nparams,
               const uint32_t *param_oids, tl_error *err);
/* Describe statement: parameter type OIDs, and the result columns (*ncols = -1: NoData). */
int tl_prepared_describe(tl_qsession *s, const char *name, int *nparams, const uint32_t **oids,
                         int *ncols, const tl_coldesc **cols, tl_error *err);
/* Bind: values[i].ptr NULL = SQL NULL; formats as the Bind message gives them (0, 1 or
 * n entries, each 0 text or 1 binary). */
int tl_bind(tl_qsession *s, const char *portal, const char *stmt, int nformats,
            const int16_t *formats, int nvalues, const tl_cell *values, int nrformats,
            const int16_t *rformats, tl_error *err);
/* Describe portal: result columns with their formats (*ncols = -1: NoData). */
int tl_portal_describe(tl_qsession *s, const char *portal, int *ncols, const tl_coldesc **cols,
                       tl_error *err);
/* Execute: at most max_rows rows (0 = all) through sink->row, then sink->complete, or
 * *suspended = true when max_rows rows were sent (the portal continues next time). */
int tl_execute(tl_qsession *s, const char *portal, int64_t max_rows, tl_sink *sink,
               bool *suspended, tl_error *err);
/* Close: 0 also when the name does not exist (as PostgreSQL). */
int tl_close_statement(tl_qsession *s, const char *name);
int tl_close_portal(tl_qsession *s, const char *name);
/* Sync: ends the implicit transaction — its writes commit, or are dropped when `failed`
 * (an error since the last Sync), as PostgreSQL's; outside a transaction block every
 * portal closes. -1 with err when the commit failed (the WAL write). */
int tl_sync(tl_qsession *s, bool failed, tl_error *err);

#endif
