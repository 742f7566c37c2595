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
#include "tl_roles.h"

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
    struct pstate *ext;  /* prepared.c: statements, portals, parse cache */
    int lock_depth;      /* read locks held for suspended portals (one real lock) */
    bool tx_read_only;   /* SET TRANSACTION READ ONLY / START TRANSACTION READ ONLY */
    char **savepoints;   /* names, innermost last, while in a transaction block */
    tl_ingest_sp **sp_marks; /* per savepoint: txg's position there (NULL: before its first write) */
    int nsavepoints;
    tl_ingest *txg;      /* the block's writes, from its first to COMMIT/ROLLBACK (dml.c);
                            while set, the session holds the writer mutex and one read lock */
    bool implicit;       /* txg belongs to the implicit transaction (no BEGIN): ends at Sync */
    bool pipeline;       /* extended messages since the last Sync, or a multi-statement Query:
                            PostgreSQL's implicit transaction, so writes wait for its end */
    char *role;          /* SET ROLE target, NULL = the session user (acl.c) */
    char *org_override;  /* superuser's SET tally.org_id (acl.c) */
    int64_t deadline_us; /* statement_timeout: monotonic deadline, 0 = none */
    uint32_t temp_nsp;   /* pg_temp_<n> once CREATE TEMP TABLE ran, else 0 */
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
    E_WIN,      /* window function call, only before the binder replaces it by E_COL */
    E_DISTINCT, /* args[0] IS DISTINCT FROM args[1]; negated: IS NOT DISTINCT FROM */
    E_LIKE,     /* args[0] LIKE args[1] [ESCAPE args[2]]; ilike; negated */
    E_MINMAX,   /* GREATEST (negated=false) / LEAST (negated=true) */
    E_SUBQ,     /* correlated subquery: args = the outer values it reads (+ ANY's left side) */
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
    tl_type_id args[8];
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
    bool agg_arg_stable;    /* DISTINCT over a dictionary column's strings (op.stable) */
    tl_expr *agg_filter;
    tl_expr *agg_order;     /* string_agg(x, d ORDER BY k), WITHIN GROUP (ORDER BY k) */
    bool agg_order_desc;
    bool agg_order_nulls_first; /* array_agg / string_agg (x ORDER BY k NULLS FIRST|LAST) */
    double agg_frac;        /* percentile_cont / percentile_disc fraction */
    double *agg_fracs;      /* percentile_*(ARRAY[...]): the fractions; result is an array */
    int agg_nfracs;
    bool ilike;             /* E_LIKE */
    struct win_spec *win;   /* E_WIN */
    int param;           /* E_CONST standing for $param while inferring (0 = none) */
    struct subq *subq;      /* E_SUBQ: the subquery and its per-statement result cache */
    /* provenance for RowDescription */
    uint32_t src_table;
    int16_t src_attnum;
};

/* ---- aggregates ------------------------------------------------------------------ */

typedef enum agg_kind {
    A_COUNT_STAR, A_COUNT, A_SUM, A_AVG, A_MIN, A_MAX,
    A_VAR_SAMP, A_VAR_POP, A_STDDEV_SAMP, A_STDDEV_POP,
    A_BOOL_AND, A_BOOL_OR, A_STRING_AGG, A_PCT_CONT, A_PCT_DISC, A_ARRAY_AGG,
    /* window-only functions */
    W_ROW_NUMBER, W_RANK, W_DENSE_RANK, W_PERCENT_RANK, W_CUME_DIST, W_NTILE, W_LAG, W_LEAD,
    W_FIRST_VALUE, W_LAST_VALUE, W_NTH_VALUE
} agg_kind;

struct agg_def {
    const char *name;
    agg_kind kind;
};

/* Values an aggregate must see all at once (DISTINCT, ordered-set, ordered string_agg). */
typedef struct agg_list {
    tl_datum *v, *k;
    uint64_t n, cap;
    /* DISTINCT: values already seen (open addressing over v[], index + 1; 0 = empty) */
    uint64_t *hash;
    uint32_t *slot;
    uint64_t nslots, hcap;
} agg_list;

typedef struct agg_state {
    int64_t count;
    tl_i128 isum;   /* integer sums (exact) */
    tl_numeric nsum;
    double fsum;
    double mean, m2; /* Welford's running variance */
    tl_datum best;   /* min / max / bool_and / bool_or */
    bool has;
    tl_buf *sbuf;    /* string_agg without ORDER BY */
    agg_list *list;
} agg_state;

/* Whether the aggregate collects its inputs (agg_list) instead of folding them. */
bool agg_collects(const tl_expr *ae);
/* Fold one input: v is args[0]'s value (NULL for count(*)), d the delimiter of
 * string_agg, k the ORDER BY key. Strings are copied into keep. */
int agg_add(agg_state *st, const tl_expr *ae, const tl_datum *v, const tl_datum *d, const tl_datum *k,
            tl_arena *keep, tl_error *err);
int agg_finish(qctx *q, agg_state *st, const tl_expr *ae, tl_datum *out, tl_arena *a, tl_error *err);
void agg_state_free(agg_state *st);

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
    /* per output column, or NULL: its strings point into a table column's dictionary,
     * which interns each value once and outlives the statement, so the pointer is the
     * value's identity (group and distinct keys hash and compare it) and need no copy */
    bool *stable;
    tl_arena arena;       /* output of the last next(); reset on each call */
    /* EXPLAIN (explain.c): what the operator is, its inputs, and under ANALYZE the rows
     * it returned and the time spent in it and below */
    const char *label;
    const char *detail;   /* extra line, or NULL */
    op *kids[2];
    void (*stats)(op *o, tl_buf *out); /* ANALYZE details (a scan's pruning), optional */
    int (*raw_next)(op *o, qctx *q, batch **out, tl_error *err);
    uint64_t an_rows, an_calls;
    int64_t an_us;
};
void op_label(op *o, const char *label, op *k0, op *k1);

/* Extended-protocol parameters ($n) of the statement being bound (prepared.c). While
 * inferring (Parse), a parameter binds as a NULL placeholder whose type is recorded by
 * the first cast the binder applies to it; after Bind, as a constant of its type. */
typedef struct qparams {
    int n;
    tl_type *types;    /* TL_UNKNOWN until declared or inferred */
    bool infer;
    tl_datum *values;  /* after Bind */
} qparams;

/* prepared.c: ParamRef -> expression; the cast hook that records inferred types. */
tl_expr *param_expr(qctx *q, int number, int location, tl_error *err);
tl_expr *param_cast_hook(qctx *q, tl_expr *e, tl_type to);

/* Per-statement context. */
struct qctx {
    tl_qsession *s;
    tl_engine *eng;
    tl_arena arena;       /* the statement's lifetime */
    const char *sql;
    tl_fmt_ctx fc;
    int64_t now;          /* statement start time (now() is stable in a statement) */
    qparams *params;      /* extended protocol: $n values/types, NULL for simple query */
    tl_sink *sink;        /* the running statement's (run_statement): NOTICEs from deep inside */
    /* tables materialised for virtual relations; freed with the statement */
    tl_table **temps;
    int ntemps, captemps;
    struct cte_def *ctes; /* WITH queries visible to the SELECT being bound */
    op **pending;         /* planned subqueries not yet attached to a plan (freed on error) */
    int npending, cappending;
    bool keep_unknown;    /* planning a set operation's branch */
    struct outer_frame *outer; /* enclosing queries while binding a subquery (innermost first) */
    /* virtual relations already materialised in this statement: source -> copy */
    tl_rel **mat_src, **mat_copy;
    int nmat;
    int view_depth; /* plain views being expanded (add_view) */
    struct explain_ctx *explain; /* EXPLAIN ANALYZE: per-operator counters (explain.c) */
    /* While a SELECT binds its FROM list: its WHERE and the name the relation being added
     * goes by, so a materialized view can answer only the groups an equality on one of
     * its keys selects (matview_fill). */
    pnode *from_where;
    const char *from_alias;
};


/* A correlated subquery's view of its enclosing queries. While binding (bc set) an
 * unresolved column is looked up in bc's scope and recorded as an outer reference;
 * while running (bc NULL) each recorded ColumnRef binds as a constant from vals. */
typedef struct outer_ref {
    const PgQuery__ColumnRef *cr;
    tl_expr *expr; /* the column in the enclosing query's scope */
    tl_type type;
} outer_ref;
typedef struct outer_frame {
    struct outer_frame *up;
    void *bc;      /* select.c's bindctx of the enclosing query, NULL when running */
    outer_ref *refs;
    int nrefs, cap;
    const tl_datum *vals;
} outer_frame;

/* subquery.c: E_SUBQ, evaluated per distinct tuple of outer values. */
typedef struct subq subq;
subq *subq_new(qctx *q, pnode *sel, int kind, const outer_frame *f, tl_type rtype, tl_type cmp_type);
int subq_eval(qctx *q, const tl_expr *e, const batch *in, tl_vec *out, tl_arena *a, tl_error *err);
/* Run a planned subquery to its end (or max rows), freeing it; values of column 0 of
 * type t copied into keep when want. */
int subq_drain(qctx *q, op *root, tl_type t, uint64_t max, bool want, tl_arena *keep, tl_datum **out, uint64_t *n,
               tl_error *err);
enum { SQ_EXISTS, SQ_EXPR, SQ_ANY, SQ_ALL, SQ_ARRAY };
/* ARRAY(subquery): the array type of elem (text[] when the catalog has none). */
tl_type subq_array_type(tl_type elem);
/* ARRAY(subquery)'s value: the elements in text form, in keep. */
void subq_array_value(qctx *q, tl_type elem, const tl_datum *v, uint64_t n, tl_datum *out, tl_arena *keep);

/* A statement-local copy of a virtual relation with its rows materialised now. */
tl_rel *q_materialize(qctx *q, tl_rel *r, tl_error *err);
int exec_comment(qctx *q, PgQuery__CommentStmt *st, tl_error *err); /* ddl.c */
void q_free_temps(qctx *q);

/* ---- functions in the layer ----------------------------------------------------------- */

int q_check_cancel(qctx *q, tl_error *err);
/* A statement (a simple Query, an Execute) starts/ends: statement_timeout's deadline
 * and the memory budget (tally.max_statement_memory) that q_check_cancel enforces. */
void q_statement_begin(tl_qsession *s);
void q_statement_end(tl_qsession *s);
bool q_synchronous_commit(qctx *q); /* the session's synchronous_commit is not off */
/* Write statements (dml.c): the ingest to append to — a fresh one holding the writer
 * mutex outside a transaction block, the block's (created at its first write) inside.
 * q_write_end commits (autocommit) or closes the statement (block); rc < 0 aborts
 * (autocommit) or is left to run_statement (block). q_tx_finish ends the block's writes
 * at COMMIT (commit) or ROLLBACK / end of session. */
tl_ingest *q_write_begin(qctx *q);
int q_write_end(qctx *q, tl_ingest *g, int rc, uint64_t *rows, tl_error *err);
int q_tx_finish(qctx *q, bool commit, tl_error *err);
int q_tx_finish_session(tl_qsession *s, bool commit, tl_error *err);
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
const agg_def *win_lookup(const char *name); /* window-only functions */
tl_type agg_result_type(const agg_def *a, tl_type arg);
/* Cast: 42846 if impossible, then run-time errors as PostgreSQL's input functions. */
/* Place of a numeric type in the implicit promotion order int2 < int4 < int8 < numeric <
 * float4 < float8; 0 for other types (func.c). */
int num_rank(tl_type_id t);
/* A sink that discards result sets and command tags (statements run for their effect:
 * function bodies, view replay); notices still go to the original (function.c). */
void sink_make_quiet(tl_sink *s);
tl_expr *cast_expr(qctx *q, tl_expr *e, tl_type to, bool explicit_, tl_error *err);
bool can_implicit_cast(tl_type_id from, tl_type_id to);
int cast_vec(qctx *q, const tl_vec *in, tl_type to, tl_vec *out, tl_arena *a, tl_error *err);
int cast_datum(qctx *q, const tl_datum *in, tl_type from, tl_type to, tl_datum *out, tl_arena *a,
               tl_error *err);
/* Enum text I/O (needs catalog labels). */
int enum_in(qctx *q, tl_type t, const char *s, size_t len, tl_datum *out, tl_error *err);

/* func_text.c: kernels registered in func.c */
int k_case_map(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
int k_to_char_ts(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
int k_json_get(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
int k_json_contains(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
/* func_array.c: arrays in text form */
tl_type array_elem_of(tl_type arr); /* text for an array type the catalog does not know */
tl_expr *array_any_expr(qctx *q, const char *opn, bool all, tl_expr *x, tl_expr *arr, int location);
tl_expr *array_subscript_expr(qctx *q, tl_expr *arr, tl_expr *idx, int location);
/* viewdef.c: a stored view query as pg_get_viewdef(oid, pretty) prints it; malloc'd, NULL if
 * not a SELECT */
char *q_viewdef(tl_engine *e, const char *sql, bool pretty);
int q_array_send(qctx *q, tl_type t, const tl_datum *d, tl_buf *out, tl_error *err);
tl_expr *array_ctor_expr(qctx *q, tl_type array_type, tl_expr **elems, int n, int location);
int k_array_cat(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
int array_elem_datum(qctx *q, const tl_str *txt, tl_type t, tl_datum *out, tl_arena *a, tl_error *err);
/* func_misc.c */
int k_age(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
int k_make_date(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
int k_make_timestamp(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
int k_justify(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
int k_format(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
int k_to_char_num(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
/* func_regex.c: ~ ~* !~ !~* */
int k_regex(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
int k_json_exists(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err);
/* catfuncs.c: catalog functions and reg* types, consulted after func.c's registry */
const fn_def *catfn_lookup(const char *name, int nargs, const tl_type_id *args);
const fn_def *catfn_lookup_name(const char *name);
/* 0 with *out for regclass, int2vector, information_schema's domains ...; -1 unknown. */
int cat_type_from_name(qctx *q, const char *schema, const char *name, tl_type *out);
int cat_array_of(qctx *q, tl_type elem, tl_type *out); /* -1: no such array type */
int cat_split_qualname(qctx *q, const char *s, char **schema, char **name); /* -1: bad syntax */
tl_rel *cat_find_rel(qctx *q, const char *schema, const char *name);        /* NULL: none */
int cat_cast_datum(qctx *q, const tl_datum *in, tl_type from, tl_type to, tl_datum *out, tl_error *err);
bool cat_format_value(qctx *q, tl_type t, const tl_datum *d, tl_buf *out);
void catfn_install_hooks(void);
/* format_type's text for a type oid and typmod (arena-owned; NULL for an unknown oid). */
const char *type_name_with_typmod(qctx *q, uint32_t oid, int32_t typmod);
void cat_quote_ident(const char *p, uint32_t len, tl_buf *out);
void catfn_set_session(tl_qsession *s);
/* session.c: every setting of the session, for pg_settings */
void q_each_setting(tl_qsession *s, void *ctx,
                    void (*emit)(void *ctx, const char *name, const char *setting, const char *vartype));

/* output.c */
void q_format_value(qctx *q, tl_type t, const tl_datum *d, tl_buf *out);
const char *q_type_display_name(qctx *q, tl_type t);

/* exec.c: a growable column store for materialising operators */
typedef struct rowstore {
    int ncols;
    tl_type *types;
    uint64_t n, cap;
    void **data;      /* per column: cap * elem size */
    uint8_t **nulls;  /* per column */
    tl_arena strings; /* deep copies of string values */
    /* sparse: a column that arrives without data (a scan column nobody reads) is kept
     * without data too, instead of as NULLs; set before the first append */
    bool sparse;
    bool *absent;     /* per column, with sparse */
    const bool *stable; /* per column or NULL: strings kept by pointer (op.stable) */
} rowstore;
void rs_init(rowstore *rs, int ncols, const tl_type *types);
void rs_free(rowstore *rs);
void rs_reserve(rowstore *rs, uint64_t n);
void rs_put(rowstore *rs, uint64_t at, int c, const tl_vec *v, uint32_t i);
/* e reads a column of child that op.stable marks, unchanged */
bool op_col_stable(const op *child, const tl_expr *e);
uint64_t ptr_hash(const void *p);
void rs_put_range(rowstore *rs, uint64_t base, int c, const tl_vec *v, uint32_t i0, uint32_t i1);
void rs_append_batch(rowstore *rs, const batch *b);
void rs_get(const rowstore *rs, int c, uint64_t r, tl_datum *d);
/* Rows idx[from..from+n) (or from..from+n without idx) as a batch in a. */
batch *rs_gather(const rowstore *rs, const uint64_t *idx, uint64_t from, uint32_t n, tl_arena *a);
batch *batch_new(tl_arena *a, int ncols, uint32_t n);
void op_init(op *o, int ncols, const tl_type *types, qctx *q);

/* exec.c: operators */
op *op_scan(qctx *q, tl_rel *rel, const tl_table_snap *snap, const bool *need, tl_expr *filter);
/* need_nofilter (or NULL): the columns needed were the filter not there; when storage's
 * predicates are the whole filter, only those are read and the filter is not run
 * again (a count over an org and a month reads no column at all). */
op *op_scan_ex(qctx *q, tl_rel *rel, const tl_table_snap *snap, const bool *need, tl_expr *filter,
               const bool *need_nofilter);
/* scanpred.c: storage predicates implied by a scan's filter (arena-allocated); count. */
int scanpred_extract(qctx *q, tl_rel *rel, const tl_expr *filter, tl_scan_pred **out);
/* The same; *exact when the predicates select exactly the rows the filter passes. */
int scanpred_extract_exact(qctx *q, tl_rel *rel, const tl_expr *filter, tl_scan_pred **out, bool *exact);
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
/* window.c */
typedef struct win_spec {
    int npart, norder;
    tl_expr **part, **order;
    sort_key *okeys;       /* directions of order; col filled by the planner */
    int frame;             /* FRAMEOPTION_* bits from the parse tree, 0 = default */
    tl_expr *start_off, *end_off;
} win_spec;
/* Appends one column per window function to the child's columns. The functions share
 * one spec (partitioning and ordering); the planner stacks one op per distinct spec. */
op *op_window(qctx *q, op *child, const win_spec *ws, int nfn, tl_expr **fns);

/* srf.c: set-returning functions, VALUES */
typedef struct srf_call {
    int kind;
    int nargs;
    tl_expr **args;
    int ncols;          /* 1, or 2 for _pg_expandarray (x, n) */
    tl_type types[2];
    const char *names[2];
    int pick;           /* target list: the output column used, -1 = a record of all */
} srf_call;
/* _pg_expandarray's (x, n) as a value: PostgreSQL's record text "(x,n)", type record
 * (oid 2249) with typmod = x's tl_type_id so that (r).x / (r).n can be typed. */
#define TL_OID_RECORD 2249
tl_expr *record_field_expr(qctx *q, tl_expr *rec, const char *field, int location, tl_error *err);
bool srf_is(const char *name);
/* 1 bound (args coerced in place), -1 error (42883 when no variant fits). */
int srf_bind(qctx *q, const char *name, tl_expr **args, int nargs, srf_call *c, int location, tl_error *err);
op *srf_from_op(qctx *q, const srf_call *c, bool ordinality, tl_error *err);
op *values_rows_op(qctx *q, int ncols, const tl_type *types, int nrows, tl_expr ***rows, tl_error *err);
op *op_project_set(qctx *q, op *child, int nsrf, const srf_call *calls);

/* sets.c */
op *op_append(qctx *q, op *l, op *r);
/* INTERSECT / EXCEPT [ALL] over two inputs of the same column types. */
op *op_setop(qctx *q, op *l, op *r, bool intersect, bool all);
/* Keep the first row of each run of equal keys[].col values. */
op *op_unique(qctx *q, op *child, int nkeys, const sort_key *keys);

typedef struct qresult {
    op *root;
    int ncols;          /* visible columns (root may carry hidden ones after them) */
    tl_coldesc *desc;
    tl_type *types;
} qresult;
int plan_select(qctx *q, PgQuery__SelectStmt *st, qresult *res, tl_error *err);
/* Bind an expression over one relation's columns (defaults, generated columns). */
tl_expr *bind_rel_expr(qctx *q, tl_rel *rel, pnode *n, tl_error *err);

/* prepared.c: session teardown and the statement-level hooks */
void prepared_free(tl_qsession *s);
void prepared_end_tx(tl_qsession *s);      /* COMMIT/ROLLBACK: non-holdable portals go */
int prepared_deallocate(tl_qsession *s, const char *name, tl_error *err); /* NULL = ALL */
/* SQL cursors are named portals of the session (one namespace with the protocol's). */
int prepared_declare(qctx *q, PgQuery__DeclareCursorStmt *d, int stmt_loc, int stmt_len, tl_error *err);
int prepared_fetch(qctx *q, PgQuery__FetchStmt *f, tl_sink *sink, tl_error *err);
int prepared_close_cursor(qctx *q, PgQuery__ClosePortalStmt *c, tl_error *err);
/* The engine read lock for a statement, shared with this session's suspended portals. */
void q_read_lock(tl_qsession *s);
void q_read_unlock(tl_qsession *s);

/* stmt.c */
int run_statement(qctx *q, pnode *stmt, int stmt_loc, int stmt_len, tl_sink *sink, tl_error *err);

/* ddl.c, dml.c */
int exec_create_table(qctx *q, PgQuery__CreateStmt *st, tl_error *err);
int exec_create_enum(qctx *q, PgQuery__CreateEnumStmt *st, tl_error *err);
int exec_create_index(qctx *q, PgQuery__IndexStmt *st, tl_error *err);
int exec_drop(qctx *q, PgQuery__DropStmt *st, const char **tag, tl_error *err);
int exec_insert(qctx *q, PgQuery__InsertStmt *st, uint64_t *rows, tl_error *err);
int exec_delete(qctx *q, PgQuery__DeleteStmt *st, uint64_t *rows, tl_error *err);
int exec_copy(qctx *q, PgQuery__CopyStmt *st, tl_sink *sink, uint64_t *rows, tl_error *err);
int exec_set(qctx *q, PgQuery__VariableSetStmt *st, tl_sink *sink, tl_error *err);
int exec_show(qctx *q, PgQuery__VariableShowStmt *st, tl_sink *sink, tl_error *err);

/* helpers shared by binder files */
const char *pn_str(const pnode *n); /* String node's value or NULL */
int type_from_typename(qctx *q, PgQuery__TypeName *tn, tl_type *out, tl_error *err);
int err_at(tl_error *err, int location, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
char *deparse_expr(qctx *q, pnode *n, tl_error *err); /* for defaults; NULL if unsupported */

/* acl.c: privileges, role statements, org scoping (see the file's comment) */
int acl_check_rel(qctx *q, tl_rel *rel, unsigned privs, bool qualified, int location, tl_error *err);
op *acl_scan(qctx *q, tl_rel *rel, const tl_table_snap *snap, const bool *need, tl_expr *filter);
op *acl_scan_ex(qctx *q, tl_rel *rel, const tl_table_snap *snap, const bool *need, tl_expr *filter,
                const bool *need_nofilter);
int acl_statement(qctx *q, pnode *stmt, tl_sink *sink, const char **tag, tl_error *err);
bool acl_statement_is_ddl(const pnode *stmt);
void acl_after_create(qctx *q, PgQuery__RangeVar *rv);
/* The same, logging the grants it made when a data directory is in use. */
int acl_after_create_logged(qctx *q, PgQuery__RangeVar *rv, tl_error *err);
void matview_register_durable(void);
const char *acl_current_user(const tl_qsession *s);
/* The org the session's statements are confined to (org-scoped roles), or NULL. */
const char *acl_org_scope(tl_qsession *s);
const fn_def *acl_fn_lookup(const char *name, int nargs, const tl_type_id *args);
const fn_def *acl_fn_lookup_name(const char *name);
/* select.c: PostgreSQL's output column name of a target */
const char *target_name(qctx *q, PgQuery__ResTarget *rt, const tl_expr *e);

/* matview.c: materialized views (incremental rollups or recomputed on REFRESH) */
int exec_create_matview(qctx *q, PgQuery__CreateTableAsStmt *st, tl_sink *sink, uint64_t *rows, bool *with_rows,
                        tl_error *err);
int exec_refresh_matview(qctx *q, PgQuery__RefreshMatViewStmt *st, tl_error *err);
int exec_drop_matview(qctx *q, PgQuery__DropStmt *st, tl_error *err);
int matview_drop_table_check(qctx *q, PgQuery__DropStmt *st, tl_error *err);
int matview_fill(qctx *q, tl_rel *r, tl_table *out, tl_error *err);
size_t matview_state_bytes(tl_engine *e);

/* function.c: CREATE FUNCTION (sql, plpgsql bodies of plain statements), calling them
 * as `SELECT f()`, and pg_cron's cron.schedule. *handled = false when `st` is not such
 * a call. Runs without the catalog lock held (the body takes its own). */
int exec_create_function(qctx *q, PgQuery__CreateFunctionStmt *st, tl_error *err);
/* CREATE VIEW: a relation of kind 'v' read as its SELECT (matview.c). */
int exec_create_view(qctx *q, PgQuery__ViewStmt *st, tl_error *err);
bool matview_is_plain_view(const tl_rel *r);
/* A SELECT's SQL text as libpg_query deparses it (malloc'd; NULL if it cannot) (matview.c). */
char *deparse_select(pnode *query);
/* CREATE [TEMP] TABLE … AS SELECT …, run before any lock is taken (ddl.c). */
int exec_create_table_as(qctx *q, PgQuery__CreateTableAsStmt *st, tl_sink *sink, const char **tag, char *tagbuf,
                         size_t tagsize, tl_error *err);
/* Run the statements of a SQL text (arena- or caller-owned, alive until the calling
 * statement ends) one by one through run_statement, each taking its own locks; stops at
 * the first error. A function body refuses COPY and transaction control (function.c). */
int run_sql_text(qctx *q, char *text, tl_sink *sink, bool function_body, tl_error *err);
/* Equal values of this type have one representation, so they hash equally (expr.c):
 * not numeric (1.0 = 1.00), floats (-0 = 0) or bpchar (trailing blanks). */
bool hash_exact_type(tl_type_id t);
/* Send a NOTICE with this SQLSTATE and message to the client, if the sink takes them (stmt.c). */
int q_notice(tl_sink *sink, const char *sqlstate, const char *msg);
int exec_function_call(qctx *q, pnode *stmt, tl_sink *sink, bool *handled, tl_error *err);

/* explain.c: EXPLAIN [ANALYZE] of a SELECT, as "QUERY PLAN" text rows */
int exec_explain(qctx *q, PgQuery__ExplainStmt *st, tl_sink *sink, tl_error *err);

/* Run a SELECT to completion into the sink (shared by simple query and COPY TO). */
int emit_result(qctx *q, qresult *r, tl_sink *sink, uint64_t *rows, tl_error *err);

#endif
