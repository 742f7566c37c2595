/*
 * query_int.h — the query layer's private vocabulary: bound expressions, the function
 * registry, batches, operators and the per-statement context. Parse trees come from
 * libpg_query (PostgreSQL 15's grammar) as protobuf-c structs; everything after the
 * binder works on the types here.
 */
#ifndef TL_QUERY_INT_H
#define TL_QUERY_INT_H

#include "tl_catalog.h"
#include "tl_copy.h"
#include "tl_query.h"

#include <stdio.h>

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

typedef PgQuery__Node pnode;

/* ---- session ------------------------------------------------------------------- */

typedef struct guc_def guc_def;

struct tl_qsession {
    tl_engine *eng;
    char *user;
    char *database;
    char **values;       /* one per entry of the GUC table */
    const tl_tz *tz;     /* parsed TimeZone */
    int extra_float_digits;
    char tx;             /* 'I', 'T', 'E' */
    volatile int cancel; /* set by tl_qsession_cancel from another thread */
    int64_t fixed_now;   /* tests: tally.now_override, 0 = real clock */
};

/* ---- expressions ----------------------------------------------------------------- */

typedef enum ekind {
    E_CONST,
    E_COL,      /* input column of the operator evaluating it */
    E_FUNC,     /* scalar function or operator */
    E_AND,
    E_OR,
    E_NOT,
    E_ISNULL,
    E_ISNOTNULL,
    E_CASE,     /* args: [when1, then1, ..., else?]; has_else */
    E_COALESCE,
    E_IN,       /* args[0] IN (args[1..]) ; negated */
    E_AGG,      /* aggregate call, only before the binder replaces it by E_COL */
} ekind;

typedef struct tl_expr tl_expr;
typedef struct fn_def fn_def;
typedef struct agg_def agg_def;
typedef struct qctx qctx;

/* Vectorised scalar kernel: out already allocated for n values; called only for rows
 * whose arguments are all non-NULL when the function is strict (the caller masks). */
typedef int (*fn_kernel)(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out,
                         tl_error *err);

struct fn_def {
    const char *name;
    int nargs;                 /* -1 variadic */
    tl_type_id args[4];
    tl_type_id ret;            /* TL_UNKNOWN: same as first argument */
    fn_kernel fn;
    bool nonstrict;            /* handles NULLs itself */
    bool volatile_;            /* now(), random(): not constant-folded */
};

struct tl_expr {
    ekind kind;
    tl_type type;
    int location;        /* byte offset in the query text, -1 none */
    tl_datum cval;       /* E_CONST */
    int col;             /* E_COL */
    const fn_def *fn;    /* E_FUNC */
    const char *name;    /* E_FUNC / E_AGG: name for column headers */
    int nargs;
    tl_expr **args;
    bool negated;        /* E_IN: NOT IN */
    bool has_else;       /* E_CASE */
    /* E_AGG */
    const agg_def *agg;
    bool agg_star, agg_distinct;
    tl_expr *agg_filter;
    /* provenance for RowDescription */
    uint32_t src_table;
    int16_t src_attnum;
};

/* ---- aggregates ------------------------------------------------------------------ */

typedef enum agg_kind {
    A_COUNT_STAR, A_COUNT, A_SUM, A_AVG, A_MIN, A_MAX
} agg_kind;

struct agg_def {
    const char *name;
    agg_kind kind;
};

/* ---- batches and operators --------------------------------------------------------- */

typedef struct batch {
    int ncols;
    uint32_t n;
    tl_vec *cols;
} batch;

typedef struct op op;
struct op {
    /* 1 = a batch in *out (valid until the next call), 0 = end, -1 = error */
    int (*next)(op *o, qctx *q, batch **out, tl_error *err);
    void (*close)(op *o);
    int ncols;
    tl_type *types;
    tl_arena arena;       /* output of the last next(); reset on each call */
};

/* Per-statement context. */
struct qctx {
    tl_qsession *s;
    tl_engine *eng;
    tl_arena arena;       /* the statement's lifetime */
    const char *sql;
    tl_fmt_ctx fc;
    int64_t now;          /* statement start time (now() is stable in a statement) */
};

/* ---- functions in the layer ----------------------------------------------------------- */

int q_check_cancel(qctx *q, tl_error *err);
bool q_synchronous_commit(qctx *q); /* the session's synchronous_commit is not off */
int64_t q_clock_now(const tl_qsession *s);

/* expr.c */
tl_expr *expr_new(qctx *q, ekind k, tl_type t, int location);
tl_expr *expr_const(qctx *q, tl_type t, const tl_datum *d, int location);
int expr_eval(qctx *q, const tl_expr *e, const batch *in, tl_vec *out, tl_arena *a, tl_error *err);
/* Evaluate an expression without input (constants, now()). */
int expr_eval_scalar(qctx *q, const tl_expr *e, tl_datum *out, tl_arena *a, tl_error *err);
bool expr_equal(const tl_expr *a, const tl_expr *b);
bool expr_is_const(const tl_expr *e);

/* func.c */
const fn_def *fn_lookup(const char *name, int nargs, const tl_type_id *args);
const fn_def *fn_lookup_name(const char *name); /* any overload exists */
const agg_def *agg_lookup(const char *name);
tl_type agg_result_type(const agg_def *a, tl_type arg);
/* Cast: 42846 if impossible, then run-time errors as PostgreSQL's input functions. */
tl_expr *cast_expr(qctx *q, tl_expr *e, tl_type to, bool explicit_, tl_error *err);
bool can_implicit_cast(tl_type_id from, tl_type_id to);
int cast_vec(qctx *q, const tl_vec *in, tl_type to, tl_vec *out, tl_arena *a, tl_error *err);
int cast_datum(qctx *q, const tl_datum *in, tl_type from, tl_type to, tl_datum *out, tl_arena *a,
               tl_error *err);
/* Enum text I/O (needs catalog labels). */
int enum_in(qctx *q, tl_type t, const char *s, size_t len, tl_datum *out, tl_error *err);

/* output.c */
void q_format_value(qctx *q, tl_type t, const tl_datum *d, tl_buf *out);
const char *q_type_display_name(qctx *q, tl_type t);

/* exec.c: operators */
op *op_scan(qctx *q, tl_rel *rel, const tl_table_snap *snap, const bool *need, tl_expr *filter);
op *op_values(qctx *q, int ncols, const tl_type *types, int nrows, tl_expr ***rows);
op *op_filter(qctx *q, op *child, tl_expr *pred);
op *op_project(qctx *q, op *child, int n, tl_expr **exprs);
op *op_hashagg(qctx *q, op *child, int ngroup, tl_expr **groups, int naggs, tl_expr **aggs);
typedef struct sort_key {
    int col;
    bool desc;
    bool nulls_first;
} sort_key;
op *op_sort(qctx *q, op *child, int nkeys, const sort_key *keys, int64_t limit_hint);
op *op_limit(qctx *q, op *child, int64_t offset, int64_t count);
op *op_hashjoin(qctx *q, op *left, op *right, int nkeys, tl_expr **lkeys, tl_expr **rkeys,
                int jointype, tl_expr *residual);
void op_free(op *o);

/* select.c: binding and planning a SELECT */
typedef struct qresult {
    op *root;
    int ncols;          /* visible columns (root may carry hidden ones after them) */
    tl_coldesc *desc;
    tl_type *types;
} qresult;
int plan_select(qctx *q, PgQuery__SelectStmt *st, qresult *res, tl_error *err);
/* Bind an expression over one relation's columns (defaults, generated columns). */
tl_expr *bind_rel_expr(qctx *q, tl_rel *rel, pnode *n, tl_error *err);

/* stmt.c */
int run_statement(qctx *q, pnode *stmt, int stmt_loc, int stmt_len, tl_sink *sink, tl_error *err);

/* ddl.c, dml.c */
int exec_create_table(qctx *q, PgQuery__CreateStmt *st, tl_error *err);
int exec_create_enum(qctx *q, PgQuery__CreateEnumStmt *st, tl_error *err);
int exec_create_index(qctx *q, PgQuery__IndexStmt *st, tl_error *err);
int exec_drop(qctx *q, PgQuery__DropStmt *st, const char **tag, tl_error *err);
int exec_insert(qctx *q, PgQuery__InsertStmt *st, uint64_t *rows, tl_error *err);
int exec_copy(qctx *q, PgQuery__CopyStmt *st, tl_sink *sink, uint64_t *rows, tl_error *err);
int exec_set(qctx *q, PgQuery__VariableSetStmt *st, tl_sink *sink, tl_error *err);
int exec_show(qctx *q, PgQuery__VariableShowStmt *st, tl_sink *sink, tl_error *err);

/* helpers shared by binder files */
const char *pn_str(const pnode *n); /* String node's value or NULL */
int type_from_typename(qctx *q, PgQuery__TypeName *tn, tl_type *out, tl_error *err);
int err_at(tl_error *err, int location, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
char *deparse_expr(qctx *q, pnode *n, tl_error *err); /* for defaults; NULL if unsupported */

/* Run a SELECT to completion into the sink (shared by simple query and COPY TO). */
int emit_result(qctx *q, qresult *r, tl_sink *sink, uint64_t *rows, tl_error *err);

#endif
