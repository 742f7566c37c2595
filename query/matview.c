/*
 * matview.c — CREATE/REFRESH/DROP MATERIALIZED VIEW. A view of the shape
 * `SELECT keys, aggregates FROM one_table [WHERE …] GROUP BY keys` is compiled into a
 * rollup (engine/rollup.c): this file binds its WHERE, group keys, aggregate arguments
 * and FILTERs once, over the source table's columns, and derives rollup rows from each
 * appended or deleted batch. Any other view is computed by the ordinary planner on
 * CREATE and REFRESH (as PostgreSQL does), with a NOTICE saying so.
 *
 * Expressions of an incremental view are evaluated in the TimeZone of the session that
 * created it (date_trunc('month', started_at) depends on it); PostgreSQL likewise uses
 * the refreshing session's zone. now() is allowed only as the threshold of
 * count(*) FILTER (WHERE x >= now() - interval '…'), answered at read time.
 */
#include "query_int.h"
#include "tl_rollup.h"
#include "tl_vecio.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct matview {
    tl_engine *eng;
    tl_rel *rel;
    uint32_t source_oid;
    bool incremental;
    qctx q;            /* long-lived: arena holds the bound expressions, fc.tz is frozen */
    tl_expr *where;
    int nkeys;
    tl_expr **keys;
    int naggs;
    tl_expr **args;    /* NULL for count(*) */
    tl_expr **filters; /* NULL = none */
    int *share;        /* per aggregate: 1 + an earlier aggregate with the same argument, or 0 */
    tl_rollup *ru;
    tl_table *data;    /* non-incremental: the rows of the last refresh */
    char *sql;         /* the defining SELECT, deparsed */
    char *tzname;      /* TimeZone of the creating session (replayed with the view) */
} matview;

static void mv_free(void *arg)
{
    matview *mv = arg;
    if (!mv) return;
    tl_rollup_free(mv->ru);
    tl_table_free(mv->data);
    tl_arena_free(&mv->q.arena);
    free(mv->sql);
    free(mv->tzname);
    free(mv);
}

/* ---- deriving rollup rows ------------------------------------------------------------------ */

static void gather(const batch *in, const uint32_t *idx, uint32_t m, batch *out, tl_arena *a)
{
    out->ncols = in->ncols;
    out->n = m;
    out->cols = tl_arena_alloc(a, sizeof *out->cols * (size_t)(in->ncols + 1));
    for (int c = 0; c < in->ncols; c++) {
        const tl_vec *v = &in->cols[c];
        tl_vec *o = &out->cols[c];
        tl_vec_alloc(o, v->type, m ? m : 1, a);
        o->n = m;
        size_t es = tl_vec_elem_size(v->type.id);
        for (uint32_t i = 0; i < m; i++) {
            memcpy((char *)o->d.raw + es * i, (const char *)v->d.raw + es * idx[i], es);
            o->nulls[i] = tl_vec_isnull(v, idx[i]);
        }
    }
}

static uint32_t select_true(const tl_vec *v, uint32_t n, uint32_t *idx)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!tl_vec_isnull(v, i) && v->d.b[i]) idx[m++] = i;
    return m;
}

static int mv_derive(void *arg, const tl_vec *cols, uint32_t n, tl_rollup_rows *out, tl_arena *a, tl_error *err)
{
    matview *mv = arg;
    qctx *q = &mv->q;
    tl_rel *src = tl_catalog_rel_by_oid(mv->eng, mv->source_oid);
    batch in = {.ncols = src->natts, .n = n, .cols = (tl_vec *)cols};
    batch sel = in;
    uint32_t *idx = tl_arena_alloc(a, sizeof *idx * (size_t)(n + 1));
    if (mv->where) {
        tl_vec w;
        if (expr_eval(q, mv->where, &in, &w, a, err) < 0) return -1;
        uint32_t m = select_true(&w, n, idx);
        if (m < n) gather(&in, idx, m, &sel, a);
    }
    out->n = sel.n;
    if (sel.n == 0) return 0;
    for (int k = 0; k < mv->nkeys; k++)
        if (expr_eval(q, mv->keys[k], &sel, &out->keys[k], a, err) < 0) return -1;
    for (int g = 0; g < mv->naggs; g++) {
        if (mv->share[g]) {
            out->args[g] = out->args[mv->share[g] - 1];
            continue;
        }
        if (!mv->filters[g]) {
            if (mv->args[g] && expr_eval(q, mv->args[g], &sel, &out->args[g], a, err) < 0) return -1;
            continue;
        }
        /* FILTER first: arguments of rejected rows are never evaluated (as PostgreSQL). */
        tl_vec f;
        if (expr_eval(q, mv->filters[g], &sel, &f, a, err) < 0) return -1;
        uint32_t m = select_true(&f, sel.n, idx);
        tl_vec *o = &out->args[g];
        tl_type t = mv->args[g] ? mv->args[g]->type : tl_type_make(TL_BOOL);
        tl_vec_alloc(o, t, sel.n, a);
        o->n = sel.n;
        memset(o->nulls, 1, sel.n);
        if (!mv->args[g]) {
            for (uint32_t i = 0; i < m; i++) {
                o->d.b[idx[i]] = true;
                o->nulls[idx[i]] = 0;
            }
            continue;
        }
        batch sub;
        gather(&sel, idx, m, &sub, a);
        tl_vec v;
        if (m && expr_eval(q, mv->args[g], &sub, &v, a, err) < 0) return -1;
        size_t es = tl_vec_elem_size(t.id);
        for (uint32_t i = 0; i < m; i++) {
            memcpy((char *)o->d.raw + es * idx[i], (const char *)v.d.raw + es * i, es);
            o->nulls[idx[i]] = tl_vec_isnull(&v, i);
        }
    }
    return 0;
}

/* ---- compiling the defining query ------------------------------------------------------------- */

static bool expr_volatile(const tl_expr *e)
{
    if (!e) return false;
    if (e->kind == E_FUNC && e->fn && e->fn->volatile_) return true;
    for (int i = 0; i < e->nargs; i++)
        if (expr_volatile(e->args[i])) return true;
    return expr_volatile(e->agg_filter);
}

typedef struct compiled {
    int ncols;
    tl_attr *atts;
    int *colsrc;
    tl_type *key_types;
    tl_rollup_agg *aggs;
} compiled;

static const char *fname_of(PgQuery__FuncCall *fc)
{
    return pn_str(fc->funcname[fc->n_funcname - 1]);
}

static bool is_rollup_agg(const char *n)
{
    static const char *names[] = {"count",      "sum",         "avg",      "min",         "max",
                                  "stddev",     "stddev_samp", "stddev_pop", "variance", "var_samp",
                                  "var_pop",    "percentile_cont", "percentile_disc", "bool_and", "bool_or",
                                  "every"};
    for (size_t i = 0; i < TL_ARRAY_LEN(names); i++)
        if (!strcmp(n, names[i])) return true;
    return false;
}

/* `x >= now() - <constant interval>` (or >): the one use of now() an incremental view
 * allows, as the document's attempts_this_week. */
static bool since_pattern(matview *mv, tl_rel *src, pnode *f, tl_expr **x, tl_interval *win, bool *strict,
                          tl_error *err)
{
    if (!f || f->node_case != PG_QUERY__NODE__NODE_A_EXPR) return false;
    PgQuery__AExpr *ae = f->a_expr;
    if (ae->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || ae->n_name != 1 || !ae->lexpr || !ae->rexpr) return false;
    const char *opn = pn_str(ae->name[0]);
    if (!opn || (strcmp(opn, ">=") && strcmp(opn, ">"))) return false;
    pnode *r = ae->rexpr;
    if (r->node_case != PG_QUERY__NODE__NODE_A_EXPR || r->a_expr->n_name != 1 || !r->a_expr->lexpr ||
        strcmp(pn_str(r->a_expr->name[0]) ? pn_str(r->a_expr->name[0]) : "", "-"))
        return false;
    pnode *nowp = r->a_expr->lexpr;
    bool is_now = (nowp->node_case == PG_QUERY__NODE__NODE_FUNC_CALL && nowp->func_call->n_args == 0 &&
                   !strcmp(fname_of(nowp->func_call), "now")) ||
                  (nowp->node_case == PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION &&
                   nowp->sqlvalue_function->op == PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP);
    if (!is_now) return false;
    tl_error e2;
    tl_error_clear(&e2);
    tl_expr *iv = bind_rel_expr(&mv->q, NULL, r->a_expr->rexpr, &e2);
    if (!iv || !expr_is_const(iv)) return false;
    if (iv->type.id == TL_UNKNOWN && !(iv = cast_expr(&mv->q, iv, tl_type_make(TL_INTERVAL), false, &e2))) return false;
    if (iv->type.id != TL_INTERVAL) return false;
    tl_datum d;
    if (expr_eval_scalar(&mv->q, iv, &d, &mv->q.arena, &e2) < 0 || d.isnull) return false;
    tl_expr *xe = bind_rel_expr(&mv->q, src, ae->lexpr, &e2);
    if (!xe || xe->type.id != TL_TIMESTAMPTZ || expr_volatile(xe)) return false;
    (void)err;
    *x = xe;
    *win = d.v.iv;
    *strict = !strcmp(opn, ">");
    return true;
}

static bool num_arg(tl_type_id t)
{
    return tl_type_is_integer(t) || t == TL_NUMERIC || t == TL_FLOAT4 || t == TL_FLOAT8;
}

/* One aggregate call; false = not maintainable (the view falls back to recomputation). */
static bool compile_agg(matview *mv, tl_rel *src, PgQuery__FuncCall *fc, tl_rollup_agg *ag, int slot)
{
    qctx *q = &mv->q;
    tl_error e2;
    tl_error_clear(&e2);
    const char *name = fname_of(fc);
    if (fc->over || fc->agg_star != (fc->n_args == 0) || (fc->agg_distinct && strcmp(name, "count"))) return false;
    if (fc->n_funcname == 2 && strcmp(pn_str(fc->funcname[0]), "pg_catalog")) return false;
    memset(ag, 0, sizeof *ag);
    mv->args[slot] = NULL;
    mv->filters[slot] = NULL;
    bool pct = !strcmp(name, "percentile_cont") || !strcmp(name, "percentile_disc");
    if (pct != fc->agg_within_group) return false;
    if (fc->n_agg_order && !pct) return false; /* ORDER BY inside an ordinary aggregate */
    if (!strcmp(name, "count") && fc->agg_star) {
        ag->kind = TL_RAGG_COUNT;
        ag->star = true;
        ag->result_type = tl_type_make(TL_INT8);
        if (fc->agg_filter) {
            tl_expr *x;
            if (since_pattern(mv, src, fc->agg_filter, &x, &ag->window, &ag->strict, &e2)) {
                ag->kind = TL_RAGG_COUNT_SINCE;
                ag->star = false;
                ag->arg_type = x->type;
                mv->args[slot] = x;
                return true;
            }
            /* Any other FILTER: count the rows it passes. The derive step turns the
             * filter into a boolean that is non-NULL exactly there, so this is count(x). */
            ag->star = false;
            ag->arg_type = tl_type_make(TL_BOOL);
        }
    } else {
        pnode *argn;
        if (pct) {
            if (fc->n_args != 1 || fc->n_agg_order != 1) return false;
            PgQuery__SortBy *sb = fc->agg_order[0]->sort_by;
            if (sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC) return false;
            argn = sb->node;
            tl_expr *fr = bind_rel_expr(q, NULL, fc->args[0], &e2);
            if (!fr || !expr_is_const(fr)) return false;
            if (!(fr = cast_expr(q, fr, tl_type_make(TL_FLOAT8), false, &e2))) return false;
            tl_datum d;
            if (expr_eval_scalar(q, fr, &d, &q->arena, &e2) < 0 || d.isnull || d.v.f < 0 || d.v.f > 1) return false;
            ag->fraction = d.v.f;
        } else {
            if (fc->n_args != 1) return false;
            argn = fc->args[0];
        }
        tl_expr *a = bind_rel_expr(q, src, argn, &e2);
        if (!a || expr_volatile(a)) return false;
        tl_type_id t = a->type.id;
        if (t == TL_UNKNOWN) return false;
        if (!strcmp(name, "count")) {
            ag->kind = fc->agg_distinct ? TL_RAGG_COUNT_DISTINCT : TL_RAGG_COUNT;
            ag->result_type = tl_type_make(TL_INT8);
            if (fc->agg_distinct && (t == TL_JSON)) return false;
        } else if (!strcmp(name, "sum") || !strcmp(name, "avg")) {
            if (!num_arg(t)) return false;
            ag->kind = name[0] == 's' ? TL_RAGG_SUM : TL_RAGG_AVG;
            if (ag->kind == TL_RAGG_SUM)
                ag->result_type = tl_type_make(t == TL_INT2 || t == TL_INT4 ? TL_INT8
                                               : t == TL_FLOAT4 || t == TL_FLOAT8 ? t
                                                                                  : TL_NUMERIC);
            else
                ag->result_type = tl_type_make(t == TL_FLOAT4 || t == TL_FLOAT8 ? TL_FLOAT8 : TL_NUMERIC);
            if (t == TL_OID) return false;
        } else if (!strcmp(name, "min") || !strcmp(name, "max")) {
            const agg_def *ad = agg_lookup(name);
            tl_type rt = ad ? agg_result_type(ad, a->type) : tl_type_make(TL_TYPE_COUNT);
            if (rt.id == TL_TYPE_COUNT) return false;
            if (rt.id != t && !(a = cast_expr(q, a, rt, false, &e2))) return false;
            ag->kind = name[1] == 'i' ? TL_RAGG_MIN : TL_RAGG_MAX;
            ag->result_type = rt.id == TL_NUMERIC ? tl_type_make(TL_NUMERIC) : a->type;
        } else if (!strncmp(name, "stddev", 6) || !strncmp(name, "var", 3)) {
            if (!num_arg(t) || t == TL_OID) return false;
            if (t == TL_FLOAT4 && !(a = cast_expr(q, a, tl_type_make(TL_FLOAT8), false, &e2))) return false;
            bool pop = strstr(name, "_pop") != NULL;
            bool sd = name[0] == 's';
            ag->kind = sd ? (pop ? TL_RAGG_STDDEV_POP : TL_RAGG_STDDEV_SAMP) : (pop ? TL_RAGG_VAR_POP : TL_RAGG_VAR_SAMP);
            ag->result_type = tl_type_make(t == TL_FLOAT4 || t == TL_FLOAT8 ? TL_FLOAT8 : TL_NUMERIC);
        } else if (!strcmp(name, "percentile_cont")) {
            if (!num_arg(t) || !(a = cast_expr(q, a, tl_type_make(TL_FLOAT8), false, &e2))) return false;
            ag->kind = TL_RAGG_PCT_CONT;
            ag->result_type = tl_type_make(TL_FLOAT8);
        } else if (!strcmp(name, "percentile_disc")) {
            if (t == TL_JSON || t == TL_JSONB || t == TL_BOOL) return false;
            ag->kind = TL_RAGG_PCT_DISC;
            ag->result_type = a->type.id == TL_NUMERIC ? tl_type_make(TL_NUMERIC) : a->type;
        } else if (!strcmp(name, "bool_and") || !strcmp(name, "bool_or") || !strcmp(name, "every")) {
            if (t != TL_BOOL) return false;
            ag->kind = !strcmp(name, "bool_or") ? TL_RAGG_BOOL_OR : TL_RAGG_BOOL_AND;
            ag->result_type = tl_type_make(TL_BOOL);
        } else {
            return false;
        }
        ag->arg_type = a->type;
        mv->args[slot] = a;
    }
    if (fc->agg_filter) {
        tl_expr *f = bind_rel_expr(q, src, fc->agg_filter, &e2);
        if (!f || expr_volatile(f)) return false;
        if (f->type.id != TL_BOOL && !(f = cast_expr(q, f, tl_type_make(TL_BOOL), false, &e2))) return false;
        mv->filters[slot] = f;
    }
    return true;
}

/* Bind `sel` as an incremental view over one table. false (with nothing reported) when
 * the query is outside the maintainable shape or does not bind that way. */
static bool compile_incremental(matview *mv, qctx *sq, PgQuery__SelectStmt *sel, compiled *c)
{
    if (sel->op != PG_QUERY__SET_OPERATION__SETOP_NONE || sel->with_clause || sel->n_window_clause ||
        sel->n_values_lists || sel->n_distinct_clause || sel->n_sort_clause || sel->limit_count ||
        sel->limit_offset || sel->having_clause || sel->n_from_clause != 1 || sel->n_group_clause == 0 ||
        sel->into_clause || sel->n_locking_clause)
        return false;
    pnode *fn = sel->from_clause[0];
    if (fn->node_case != PG_QUERY__NODE__NODE_RANGE_VAR) return false;
    PgQuery__RangeVar *rv = fn->range_var;
    if (rv->alias) return false;
    uint32_t nsp = rv->schemaname && *rv->schemaname ? tl_catalog_nsp_oid(rv->schemaname) : TL_NSP_PUBLIC;
    tl_rel *src = nsp ? tl_catalog_find_rel(mv->eng, nsp, rv->relname) : NULL;
    if (!src || src->kind != TL_REL_TABLE) return false;
    qctx *q = &mv->q;
    tl_error e2;
    tl_error_clear(&e2);
    if (sel->where_clause) {
        mv->where = bind_rel_expr(q, src, sel->where_clause, &e2);
        if (!mv->where || mv->where->type.id != TL_BOOL || expr_volatile(mv->where)) return false;
    }
    int nt = (int)sel->n_target_list;
    mv->nkeys = (int)sel->n_group_clause;
    mv->keys = tl_arena_zalloc(&q->arena, sizeof *mv->keys * (size_t)(mv->nkeys + 1));
    for (int k = 0; k < mv->nkeys; k++) {
        pnode *gn = sel->group_clause[k];
        if (gn->node_case == PG_QUERY__NODE__NODE_A_CONST && gn->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
            int pos = gn->a_const->ival->ival;
            if (pos < 1 || pos > nt) return false;
            gn = sel->target_list[pos - 1]->res_target->val;
        }
        tl_expr *e = bind_rel_expr(q, src, gn, &e2);
        if (!e && gn->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && gn->column_ref->n_fields == 1) {
            /* an output alias */
            const char *name = pn_str(gn->column_ref->fields[0]);
            tl_error_clear(&e2);
            for (int t = 0; t < nt && !e && name; t++) {
                PgQuery__ResTarget *rt = sel->target_list[t]->res_target;
                if (rt->name && !strcmp(rt->name, name)) e = bind_rel_expr(q, src, rt->val, &e2);
            }
        }
        if (!e || expr_volatile(e) || e->type.id == TL_UNKNOWN || e->type.id == TL_JSON) return false;
        mv->keys[k] = e;
    }
    c->ncols = nt;
    c->atts = tl_arena_zalloc(&sq->arena, sizeof *c->atts * (size_t)(nt + 1));
    c->colsrc = tl_arena_zalloc(&sq->arena, sizeof *c->colsrc * (size_t)(nt + 1));
    c->aggs = tl_arena_zalloc(&sq->arena, sizeof *c->aggs * (size_t)(nt + 1));
    mv->args = tl_arena_zalloc(&q->arena, sizeof *mv->args * (size_t)(nt + 1));
    mv->filters = tl_arena_zalloc(&q->arena, sizeof *mv->filters * (size_t)(nt + 1));
    c->key_types = tl_arena_zalloc(&sq->arena, sizeof *c->key_types * (size_t)(mv->nkeys + 1));
    for (int k = 0; k < mv->nkeys; k++) c->key_types[k] = mv->keys[k]->type;
    for (int t = 0; t < nt; t++) {
        PgQuery__ResTarget *rt = sel->target_list[t]->res_target;
        if (!rt->val || (rt->val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF &&
                         rt->val->column_ref->fields[rt->val->column_ref->n_fields - 1]->node_case ==
                             PG_QUERY__NODE__NODE_A_STAR))
            return false;
        tl_expr *e = NULL;
        if (rt->val->node_case == PG_QUERY__NODE__NODE_FUNC_CALL && is_rollup_agg(fname_of(rt->val->func_call))) {
            int slot = mv->naggs++;
            if (!compile_agg(mv, src, rt->val->func_call, &c->aggs[slot], slot)) return false;
            c->colsrc[t] = slot;
            c->atts[t].type = c->aggs[slot].result_type;
        } else {
            e = bind_rel_expr(q, src, rt->val, &e2);
            if (!e) return false;
            int k = -1;
            for (int j = 0; j < mv->nkeys && k < 0; j++)
                if (expr_equal(e, mv->keys[j])) k = j;
            if (k < 0) return false;
            c->colsrc[t] = -(k + 1);
            c->atts[t].type = mv->keys[k]->type;
        }
        c->atts[t].name = (char *)target_name(sq, rt, e);
        if (!c->atts[t].name) c->atts[t].name = "?column?";
    }
    /* Aggregates over the same values (max(ended_at) and the now()-relative counts of
     * ended_at) share one ordered multiset in the engine, and one derived vector. */
    for (int a = 0; a < mv->naggs; a++)
        for (int b = 0; b < a && !c->aggs[a].share_with; b++)
            if (mv->args[a] && mv->args[b] && !mv->filters[a] && !mv->filters[b] &&
                c->aggs[b].share_with == 0 && expr_equal(mv->args[a], mv->args[b]) &&
                c->aggs[a].arg_type.id == c->aggs[b].arg_type.id)
                c->aggs[a].share_with = b + 1;
    mv->share = tl_arena_zalloc(&q->arena, sizeof *mv->share * (size_t)(mv->naggs + 1));
    for (int a = 0; a < mv->naggs; a++) mv->share[a] = c->aggs[a].share_with;
    mv->source_oid = src->oid;
    return true;
}

/* ---- non-incremental views: computed by the planner --------------------------------------------- */

static PgQuery__ParseResult *parse_one(const char *sql, tl_error *err)
{
    PgQueryProtobufParseResult pr = pg_query_parse_protobuf(sql);
    if (pr.error) {
        tl_errorf(err, "XX000", "stored view query does not parse: %s", pr.error->message);
        pg_query_free_protobuf_parse_result(pr);
        return NULL;
    }
    PgQuery__ParseResult *res = pg_query__parse_result__unpack(NULL, pr.parse_tree.len, (const uint8_t *)pr.parse_tree.data);
    pg_query_free_protobuf_parse_result(pr);
    if (!res || res->n_stmts != 1 || res->stmts[0]->stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) {
        if (res) pg_query__parse_result__free_unpacked(res, NULL);
        tl_errorf(err, "XX000", "stored view query is not a SELECT");
        return NULL;
    }
    return res;
}

/* Run the defining query now into a new table; names and types of its columns in *c. */
static tl_table *compute_rows(qctx *q, PgQuery__SelectStmt *sel, compiled *c, uint64_t *rows, tl_error *err)
{
    qresult res = {0};
    if (plan_select(q, sel, &res, err) < 0) return NULL;
    if (c) {
        c->ncols = res.ncols;
        c->atts = tl_arena_zalloc(&q->arena, sizeof *c->atts * (size_t)(res.ncols + 1));
        for (int i = 0; i < res.ncols; i++) {
            c->atts[i].name = (char *)res.desc[i].name;
            c->atts[i].type = res.types[i];
            if (c->atts[i].type.id == TL_UNKNOWN) c->atts[i].type = tl_type_make(TL_TEXT);
        }
    }
    tl_type *types = tl_arena_alloc(&q->arena, sizeof *types * (size_t)(res.ncols + 1));
    for (int i = 0; i < res.ncols; i++) types[i] = res.types[i].id == TL_UNKNOWN ? tl_type_make(TL_TEXT) : res.types[i];
    tl_table *t = tl_table_new(res.ncols, types, -1);
    uint64_t n = 0;
    int rc;
    for (;;) {
        batch *b;
        rc = res.root->next(res.root, q, &b, err);
        if (rc <= 0) break;
        if ((rc = tl_table_append(t, b->cols, b->n, NULL, err)) < 0) break;
        n += b->n;
    }
    op_free(res.root);
    if (rc < 0) {
        tl_table_free(t);
        return NULL;
    }
    tl_table_publish(t);
    *rows = n;
    return t;
}

static int copy_table(const tl_table *from, tl_table *to, tl_error *err)
{
    tl_arena a, meta;
    tl_arena_init(&a);
    tl_arena_init(&meta);
    tl_table_snap snap;
    tl_table_snapshot(from, &snap, &meta);
    int nc = tl_table_ncols(from);
    tl_vec *cols = tl_arena_zalloc(&meta, sizeof *cols * (size_t)(nc + 1));
    int rc = 0;
    for (uint32_t p = 0; p < snap.nparts && rc == 0; p++)
        for (uint64_t s = 0; s < snap.rows[p] && rc == 0; s += TL_VEC_SIZE) {
            uint32_t n = snap.rows[p] - s < TL_VEC_SIZE ? (uint32_t)(snap.rows[p] - s) : TL_VEC_SIZE;
            tl_arena_reset(&a);
            for (int c = 0; c < nc; c++) tl_table_read(from, p, c, s, n, &cols[c], &a);
            rc = tl_table_append(to, cols, n, NULL, err);
        }
    tl_arena_free(&a);
    tl_arena_free(&meta);
    return rc;
}

/* ---- reading a view -------------------------------------------------------------------------------- */

static int not_populated(const tl_rel *r, tl_error *err)
{
    tl_errorf(err, "55000", "materialized view \"%s\" has not been populated", r->name);
    snprintf(err->hint, sizeof err->hint, "Use the REFRESH MATERIALIZED VIEW command.");
    return -1;
}

#define MAX_PUSHED 8

/* `col = constant` (either side) where col names a group key of the view as the FROM
 * item `alias` sees it: the key and the constant in the key's type. Anything else,
 * including a constant that does not convert, is left to the ordinary WHERE. */
static bool key_equality(qctx *q, matview *mv, const char *alias, pnode *n, int *key, tl_datum *val)
{
    if (!n || n->node_case != PG_QUERY__NODE__NODE_A_EXPR) return false;
    PgQuery__AExpr *ae = n->a_expr;
    if (ae->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || ae->n_name != 1 || !ae->lexpr || !ae->rexpr) return false;
    const char *opname = pn_str(ae->name[0]);
    if (!opname || strcmp(opname, "=")) return false;
    for (int side = 0; side < 2; side++) {
        pnode *c = side ? ae->rexpr : ae->lexpr, *k = side ? ae->lexpr : ae->rexpr;
        pnode *inner = k->node_case == PG_QUERY__NODE__NODE_TYPE_CAST ? k->type_cast->arg : k;
        if (c->node_case != PG_QUERY__NODE__NODE_COLUMN_REF || !inner ||
            inner->node_case != PG_QUERY__NODE__NODE_A_CONST)
            continue;
        PgQuery__ColumnRef *cr = c->column_ref;
        if (cr->n_fields < 1 || cr->n_fields > 2) continue;
        const char *col = pn_str(cr->fields[cr->n_fields - 1]);
        if (!col || (cr->n_fields == 2 && (!pn_str(cr->fields[0]) || strcmp(pn_str(cr->fields[0]), alias))))
            continue;
        int att = -1;
        for (int i = 0; i < mv->rel->natts && att < 0; i++)
            if (!strcmp(mv->rel->atts[i].name, col)) att = i;
        int kx = att < 0 ? -1 : tl_rollup_col_key(mv->ru, att);
        if (kx < 0) continue;
        tl_error e2;
        tl_error_clear(&e2);
        tl_expr *e = bind_rel_expr(q, NULL, k, &e2);
        if (!e || !expr_is_const(e)) continue;
        tl_type kt = mv->rel->atts[att].type;
        if (e->type.id != kt.id && !(e = cast_expr(q, e, kt, false, &e2))) continue;
        if (e->type.id != kt.id || expr_eval_scalar(q, e, val, &q->arena, &e2) < 0) continue;
        *key = kx;
        return true;
    }
    return false;
}

/* The equalities on group keys among the top-level AND terms of the WHERE being bound. */
static int pushed_filters(qctx *q, matview *mv, int *keys, tl_datum *vals)
{
    pnode *w = q->from_where;
    const char *alias = q->from_alias;
    if (!w || !alias) return 0;
    pnode **terms = &w;
    size_t nterms = 1;
    if (w->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR && w->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) {
        terms = w->bool_expr->args;
        nterms = w->bool_expr->n_args;
    }
    int n = 0;
    for (size_t i = 0; i < nterms && n < MAX_PUSHED; i++)
        if (key_equality(q, mv, alias, terms[i], &keys[n], &vals[n])) n++;
    return n;
}

int matview_fill(qctx *q, tl_rel *r, tl_table *out, tl_error *err)
{
    matview *mv = r->mat_arg;
    if (!r->populated) return not_populated(r, err);
    if (!mv->incremental) return copy_table(mv->data, out, err);
    int keys[MAX_PUSHED];
    tl_datum vals[MAX_PUSHED];
    int nf = mv->rel == r ? pushed_filters(q, mv, keys, vals) : 0;
    tl_rollup_read_lock(q->eng);
    int rc = tl_rollup_emit(mv->ru, q->now, q->fc.tz, nf, keys, vals, out, err);
    tl_rollup_read_unlock(q->eng);
    return rc;
}

/* Engine-level readers (system catalogs, tools) without a session: real clock, UTC. */
static int mv_materialize(tl_engine *e, const tl_rel *r, tl_table *out, tl_error *err)
{
    qctx q = {0};
    q.eng = e;
    q.fc.tz = tl_tz_utc();
    q.fc.extra_float_digits = 1;
    q.now = q_clock_now(NULL);
    int rc = matview_fill(&q, (tl_rel *)r, out, err);
    tl_arena_free(&q.arena);
    return rc;
}

/* ---- statements ------------------------------------------------------------------------------------- */

char *deparse_select(pnode *query)
{
    PgQuery__RawStmt raw = PG_QUERY__RAW_STMT__INIT;
    raw.stmt = query;
    PgQuery__RawStmt *stmts[1] = {&raw};
    PgQuery__ParseResult pr = PG_QUERY__PARSE_RESULT__INIT;
    pr.version = PG_VERSION_NUM;
    pr.n_stmts = 1;
    pr.stmts = stmts;
    size_t len = pg_query__parse_result__get_packed_size(&pr);
    PgQueryProtobuf pb;
    pb.len = len;
    pb.data = tl_xmalloc(len + 1);
    pg_query__parse_result__pack(&pr, (uint8_t *)pb.data);
    PgQueryDeparseResult dr = pg_query_deparse_protobuf(pb);
    free(pb.data);
    char *s = dr.error ? NULL : tl_xstrdup(dr.query);
    pg_query_free_deparse_result(dr);
    return s;
}

static tl_rel *find_view(qctx *q, PgQuery__RangeVar *rv, bool missing_ok, tl_error *err)
{
    uint32_t nsp = rv->schemaname && *rv->schemaname ? tl_catalog_nsp_oid(rv->schemaname) : TL_NSP_PUBLIC;
    tl_rel *r = nsp ? tl_catalog_find_rel(q->eng, nsp, rv->relname) : NULL;
    if (r && r->kind != TL_REL_MATVIEW) {
        err_at(err, rv->location, "42809", "\"%s\" is not a materialized view", rv->relname);
        return NULL;
    }
    if (!r && !missing_ok) err_at(err, rv->location, "42P01", "relation \"%s\" does not exist", rv->relname);
    return r;
}

/* ---- durability --------------------------------------------------------------------------------
 * A view is logged as the statement that recreates it (TL_CATREC_SQL): its oid, the
 * TimeZone it was created in, and CREATE MATERIALIZED VIEW with its columns and the
 * deparsed defining SELECT. Replaying that statement over the facts recovered so far
 * rebuilds the view's state from the facts, so after a restart a view equals its
 * defining query. Snapshots dump each view the same way after the rows. */

static void put_ident(tl_buf *b, const char *s)
{
    tl_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"') tl_buf_putc(b, '"');
        tl_buf_putc(b, *s);
    }
    tl_buf_putc(b, '"');
}

static void view_qualified(tl_buf *b, const tl_rel *r)
{
    if (r->nsp == TL_NSP_PUBLIC) tl_buf_puts(b, "public.");
    put_ident(b, r->name);
}

static void view_payload(tl_buf *b, uint32_t oid, const char *tz, const char *sql)
{
    tl_put_u32(b, oid);
    tl_put_u32(b, (uint32_t)strlen(tz));
    tl_buf_puts(b, tz);
    tl_buf_puts(b, sql);
}

/* CREATE [MATERIALIZED] VIEW name (columns) AS select: how a view is logged and dumped. */
static void view_statement(const tl_rel *r, const char *kind, const char *sql, tl_buf *b)
{
    tl_buf_puts(b, "CREATE ");
    tl_buf_puts(b, kind);
    tl_buf_putc(b, ' ');
    view_qualified(b, r);
    tl_buf_puts(b, " (");
    for (int i = 0; i < r->natts; i++) {
        if (i) tl_buf_puts(b, ", ");
        put_ident(b, r->atts[i].name);
    }
    tl_buf_puts(b, ") AS ");
    tl_buf_puts(b, sql);
}

static void view_create_sql(const tl_rel *r, const matview *mv, tl_buf *b)
{
    view_statement(r, "MATERIALIZED VIEW", mv->sql, b);
    if (!r->populated) tl_buf_puts(b, " WITH NO DATA");
}

/* ---- plain views (CREATE VIEW) ------------------------------------------------------------------
 * A plain view is a catalog relation of kind 'v' holding its deparsed SELECT (view_def) and
 * no data: the binder reads it as that SELECT in parentheses (add_rel), so a view is always
 * what its query returns now, as in PostgreSQL. It is logged and dumped as its CREATE VIEW
 * statement, like the materialized views. */

bool matview_is_plain_view(const tl_rel *r)
{
    return r->kind == TL_REL_VIEW && r->view_def && !r->materialize && r->nsp != TL_NSP_PG_CATALOG;
}

static void plain_view_sql(const tl_rel *r, tl_buf *b)
{
    view_statement(r, "VIEW", r->view_def, b);
}

static int view_log(tl_engine *e, uint32_t oid, const matview *mv, const char *sql, tl_error *err)
{
    tl_buf b;
    tl_buf_init(&b);
    view_payload(&b, oid, mv->tzname ? mv->tzname : "", sql);
    int rc = tl_engine_log_catalog(e, TL_CATREC_SQL, b.data, b.len, err);
    tl_buf_free(&b);
    return rc;
}

static int view_redo(tl_engine *e, const void *payload, size_t len, tl_error *err)
{
    tl_reader rd = {payload, (const char *)payload + len, false};
    uint32_t oid = tl_get_u32(&rd);
    uint32_t tzlen = tl_get_u32(&rd);
    if (rd.bad || tzlen > (size_t)(rd.end - rd.p)) return tl_errorf(err, "XX001", "malformed view record");
    char *tz = tl_xmalloc(tzlen + 1);
    memcpy(tz, rd.p, tzlen);
    tz[tzlen] = '\0';
    rd.p += tzlen;
    size_t sl = (size_t)(rd.end - rd.p);
    char *sql = tl_xmalloc(sl + 1);
    memcpy(sql, rd.p, sl);
    sql[sl] = '\0';
    tl_qsession *s = tl_qsession_new(e, tl_catalog_role_at(e, 0)->name, tl_engine_database(e));
    int rc = tz[0] ? tl_qsession_set(s, "TimeZone", tz, err) : 0;
    uint32_t prev = oid ? tl_catalog_reset_next_oid(e, oid) : 0;
    tl_sink sink = {0};
    sink_make_quiet(&sink);
    if (rc == 0) rc = tl_query_simple(s, sql, &sink, err);
    if (oid) {
        uint32_t now = tl_catalog_reset_next_oid(e, prev);
        if (now > prev) tl_catalog_reset_next_oid(e, now);
    }
    if (rc == 0 && oid && !tl_catalog_rel_by_oid(e, oid))
        rc = tl_errorf(err, "XX001", "replaying \"%s\" did not recreate relation oid %u", sql, oid);
    if (rc < 0) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        tl_error_clear(err);
        tl_errorf(err, "XX001", "could not recreate a materialized view from the log: %s", msg);
        tl_error_detail(err, "Statement: %.400s", sql);
    }
    tl_qsession_free(s);
    free(sql);
    free(tz);
    return rc;
}

static int view_dump(tl_engine *e, tl_catalog_emit_fn emit, void *ctx)
{
    tl_buf sql, b;
    tl_buf_init(&sql);
    tl_buf_init(&b);
    for (int i = 0; i < tl_catalog_nrels(e); i++) {
        tl_rel *r = tl_catalog_rel_at(e, i);
        bool plain = r && matview_is_plain_view(r);
        if (!r || (!plain && (r->kind != TL_REL_MATVIEW || r->mat_free != mv_free))) continue;
        matview *mv = plain ? NULL : r->mat_arg;
        sql.len = b.len = 0;
        if (plain) plain_view_sql(r, &sql);
        else view_create_sql(r, mv, &sql);
        tl_buf_putc(&sql, '\0');
        view_payload(&b, r->oid, mv && mv->tzname ? mv->tzname : "", sql.data);
        emit(ctx, TL_CATREC_SQL, b.data, b.len);
    }
    tl_buf_free(&sql);
    tl_buf_free(&b);
    return 0;
}

void matview_register_durable(void)
{
    tl_engine_register_catalog_kind(TL_CATREC_SQL, view_redo, view_dump);
}

int exec_create_matview(qctx *q, PgQuery__CreateTableAsStmt *st, tl_sink *sink, uint64_t *rows, bool *with_rows,
                        tl_error *err)
{
    PgQuery__IntoClause *into = st->into;
    PgQuery__RangeVar *rv = into->rel;
    *with_rows = false;
    if (st->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW)
        return err_at(err, rv->location, "0A000", "CREATE TABLE AS is not supported yet");
    if (!st->query || st->query->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return err_at(err, rv->location, "0A000", "materialized views must be defined by a SELECT");
    uint32_t nsp = rv->schemaname && *rv->schemaname ? tl_catalog_nsp_oid(rv->schemaname) : TL_NSP_PUBLIC;
    if (!nsp) return err_at(err, rv->location, "3F000", "schema \"%s\" does not exist", rv->schemaname);
    if (tl_catalog_find_rel(q->eng, nsp, rv->relname) || tl_catalog_find_enum(q->eng, nsp, rv->relname)) {
        if (st->if_not_exists) {
            char msg[200];
            snprintf(msg, sizeof msg, "relation \"%s\" already exists, skipping", rv->relname);
            q_notice(sink, "42P07", msg);
            return 0;
        }
        return err_at(err, rv->location, "42P07", "relation \"%s\" already exists", rv->relname);
    }
    PgQuery__SelectStmt *sel = st->query->select_stmt;
    matview *mv = tl_xcalloc(1, sizeof *mv);
    mv->eng = q->eng;
    mv->q.eng = q->eng;
    mv->q.fc = q->fc;
    mv->q.now = q->now;
    tl_arena_init(&mv->q.arena);
    mv->sql = deparse_select(st->query);
    const char *tzname = tl_qsession_get(q->s, "TimeZone");
    mv->tzname = tl_xstrdup(tzname ? tzname : "");
    compiled c = {0};
    mv->incremental = compile_incremental(mv, q, sel, &c);
    uint64_t n = 0;
    if (!mv->incremental) {
        /* Recompute-on-refresh view: the planner binds it (and reports its errors). */
        tl_arena_reset(&mv->q.arena);
        mv->where = NULL;
        tl_table *t = compute_rows(q, sel, &c, &n, err);
        if (!t) {
            mv_free(mv);
            return -1;
        }
        if (into->skip_data) tl_table_free(t);
        else mv->data = t;
    }
    if (into->n_col_names) {
        if ((int)into->n_col_names > c.ncols) {
            mv_free(mv);
            return tl_errorf(err, "42601", "too many column names were specified");
        }
        for (size_t i = 0; i < into->n_col_names; i++) c.atts[i].name = (char *)pn_str(into->col_names[i]);
    }
    for (int i = 0; i < c.ncols; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(c.atts[i].name, c.atts[j].name)) {
                mv_free(mv);
                return tl_errorf(err, "42701", "column \"%s\" specified more than once", c.atts[i].name);
            }
    tl_rel *r = tl_catalog_create_virtual(q->eng, rv->relname, nsp, TL_REL_MATVIEW, c.ncols, c.atts, mv_materialize,
                                          mv, err);
    if (!r) {
        mv_free(mv);
        return -1;
    }
    r->mat_free = mv_free;
    r->view_def = mv->sql ? tl_xstrdup(mv->sql) : NULL;
    mv->rel = r;
    if (mv->incremental) {
        tl_rollup_def def = {.nkeys = mv->nkeys, .key_types = c.key_types, .naggs = mv->naggs, .aggs = c.aggs,
                             .ncols = c.ncols, .colsrc = c.colsrc, .derive = mv_derive, .arg = mv};
        mv->ru = tl_rollup_create(q->eng, tl_catalog_rel_by_oid(q->eng, mv->source_oid), &def);
        if (!into->skip_data) {
            if (tl_rollup_rebuild(mv->ru, err) < 0) {
                tl_catalog_drop_rel(q->eng, r, false, err);
                return -1;
            }
            n = tl_rollup_ngroups(mv->ru);
        }
    } else {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "materialized view \"%s\" is not maintained incrementally: it is computed on CREATE and "
                 "REFRESH, as in PostgreSQL",
                 rv->relname);
        q_notice(sink, "00000", msg);
    }
    r->populated = !into->skip_data;
    if (tl_engine_durable(q->eng)) {
        tl_buf sql;
        tl_buf_init(&sql);
        view_create_sql(r, mv, &sql);
        tl_buf_putc(&sql, '\0');
        int lrc = view_log(q->eng, r->oid, mv, sql.data, err);
        tl_buf_free(&sql);
        if (lrc < 0) {
            tl_error keep = *err;
            tl_catalog_drop_rel(q->eng, r, false, err);
            *err = keep;
            return -1;
        }
    }
    *with_rows = !into->skip_data;
    *rows = n;
    return 0;
}

static bool has_unique_index(qctx *q, const tl_rel *r)
{
    for (int i = 0; i < tl_catalog_nrels(q->eng); i++) {
        tl_rel *x = tl_catalog_rel_at(q->eng, i);
        if (x->kind == TL_REL_INDEX && x->index_of == r->oid && x->idx_unique) return true;
    }
    return false;
}

static int refresh_matview(qctx *q, PgQuery__RefreshMatViewStmt *st, tl_error *err);

int exec_refresh_matview(qctx *q, PgQuery__RefreshMatViewStmt *st, tl_error *err)
{
    if (refresh_matview(q, st, err) < 0) return -1;
    if (!tl_engine_durable(q->eng)) return 0;
    /* The refresh replays as itself (populated state; a non-incremental view's rows). */
    tl_rel *r = find_view(q, st->relation, false, err);
    if (!r) return -1;
    tl_buf sql;
    tl_buf_init(&sql);
    tl_buf_puts(&sql, "REFRESH MATERIALIZED VIEW ");
    view_qualified(&sql, r);
    if (st->skip_data) tl_buf_puts(&sql, " WITH NO DATA");
    tl_buf_putc(&sql, '\0');
    int rc = view_log(q->eng, 0, r->mat_arg, sql.data, err);
    tl_buf_free(&sql);
    return rc;
}

static int refresh_matview(qctx *q, PgQuery__RefreshMatViewStmt *st, tl_error *err)
{
    tl_rel *r = find_view(q, st->relation, false, err);
    if (!r) return -1;
    matview *mv = r->mat_arg;
    if (st->concurrent) {
        if (st->skip_data)
            return tl_errorf(err, "0A000", "REFRESH options CONCURRENTLY and WITH NO DATA cannot be used together");
        if (!r->populated)
            return tl_errorf(err, "0A000", "CONCURRENTLY cannot be used when the materialized view is not populated");
        if (!has_unique_index(q, r)) {
            tl_errorf(err, "55000", "cannot refresh materialized view \"public.%s\" concurrently", r->name);
            snprintf(err->hint, sizeof err->hint,
                     "Create a unique index with no WHERE clause on one or more columns of the materialized view.");
            return -1;
        }
    }
    if (st->skip_data) {
        if (mv->incremental) tl_rollup_clear(mv->ru);
        tl_table_free(mv->data);
        mv->data = NULL;
        r->populated = false;
        return 0;
    }
    if (mv->incremental) {
        /* Already exact: only a view left unpopulated needs its states built. */
        if (!tl_rollup_populated(mv->ru) && tl_rollup_rebuild(mv->ru, err) < 0) return -1;
        r->populated = true;
        return 0;
    }
    PgQuery__ParseResult *pr = parse_one(mv->sql, err);
    if (!pr) return -1;
    uint64_t n;
    tl_table *t = compute_rows(q, pr->stmts[0]->stmt->select_stmt, NULL, &n, err);
    pg_query__parse_result__free_unpacked(pr, NULL);
    if (!t) return -1;
    if (tl_table_ncols(t) != r->natts) {
        tl_table_free(t);
        return tl_errorf(err, "XX000", "materialized view \"%s\" changed shape", r->name);
    }
    tl_table_free(mv->data);
    mv->data = t;
    r->populated = true;
    return 0;
}

/* DROP MATERIALIZED VIEW, and the check DROP TABLE needs: views over a table depend on it. */
int exec_drop_matview(qctx *q, PgQuery__DropStmt *st, tl_error *err)
{
    int n = (int)st->n_objects;
    tl_rel **objs = tl_arena_zalloc(&q->arena, sizeof *objs * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        PgQuery__List *l = st->objects[i]->list;
        const char *name = pn_str(l->items[l->n_items - 1]);
        const char *schema = l->n_items > 1 ? pn_str(l->items[l->n_items - 2]) : NULL;
        uint32_t nsp = schema ? tl_catalog_nsp_oid(schema) : TL_NSP_PUBLIC;
        tl_rel *r = nsp ? tl_catalog_find_rel(q->eng, nsp, name) : NULL;
        if (r && r->kind != TL_REL_MATVIEW) return tl_errorf(err, "42809", "\"%s\" is not a materialized view", name);
        if (!r && !st->missing_ok) return tl_errorf(err, "42P01", "materialized view \"%s\" does not exist", name);
        if (!r) {
            /* PostgreSQL: NOTICE "materialized view ... does not exist, skipping" (left to the caller) */
        }
        objs[i] = r;
    }
    for (int i = 0; i < n; i++) {
        if (!objs[i]) continue;
        for (int k = 0; k < tl_catalog_nrels(q->eng); k++) {
            tl_rel *x = tl_catalog_rel_at(q->eng, k);
            if (x->kind == TL_REL_INDEX && x->index_of == objs[i]->oid) {
                tl_catalog_drop_rel(q->eng, x, false, err);
                k--;
            }
        }
        if (tl_catalog_drop_rel(q->eng, objs[i], false, err) < 0) return -1;
    }
    return 0;
}

int matview_drop_table_check(qctx *q, PgQuery__DropStmt *st, tl_error *err)
{
    bool cascade = st->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE;
    for (size_t i = 0; i < st->n_objects; i++) {
        if (st->objects[i]->node_case != PG_QUERY__NODE__NODE_LIST) continue;
        PgQuery__List *l = st->objects[i]->list;
        const char *name = pn_str(l->items[l->n_items - 1]);
        tl_rel *t = name ? tl_catalog_find_rel(q->eng, TL_NSP_PUBLIC, name) : NULL;
        if (!t || t->kind != TL_REL_TABLE) continue;
        for (int k = 0; k < tl_catalog_nrels(q->eng); k++) {
            tl_rel *v = tl_catalog_rel_at(q->eng, k);
            if (v->kind != TL_REL_MATVIEW) continue;
            matview *mv = v->mat_arg;
            bool dep = mv->incremental ? mv->source_oid == t->oid : (mv->sql && strstr(mv->sql, t->name));
            if (!dep) continue;
            if (!cascade) {
                tl_errorf(err, "2BP01", "cannot drop table %s because other objects depend on it", t->name);
                tl_error_detail(err, "materialized view %s depends on table %s", v->name, t->name);
                snprintf(err->hint, sizeof err->hint, "Use DROP ... CASCADE to drop the dependent objects too.");
                return -1;
            }
            for (int j = 0; j < tl_catalog_nrels(q->eng); j++) {
                tl_rel *x = tl_catalog_rel_at(q->eng, j);
                if (x->kind == TL_REL_INDEX && x->index_of == v->oid) {
                    tl_catalog_drop_rel(q->eng, x, false, err);
                    j--;
                }
            }
            tl_catalog_drop_rel(q->eng, v, false, err);
            k = -1;
        }
    }
    return 0;
}

/* Resident bytes of every incremental view's states (tally-bench, tally_storage). */
size_t matview_state_bytes(tl_engine *e)
{
    size_t b = 0;
    for (int i = 0; i < tl_catalog_nrels(e); i++) {
        tl_rel *r = tl_catalog_rel_at(e, i);
        if (r->kind == TL_REL_MATVIEW && r->mat_free == mv_free && ((matview *)r->mat_arg)->ru)
            b += tl_rollup_bytes(((matview *)r->mat_arg)->ru);
    }
    return b;
}

int exec_create_view(qctx *q, PgQuery__ViewStmt *st, tl_error *err)
{
    PgQuery__RangeVar *rv = st->view;
    if (!st->query || st->query->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return err_at(err, rv->location, "0A000", "views must be defined by a SELECT");
    if (st->with_check_option == PG_QUERY__VIEW_CHECK_OPTION__LOCAL_CHECK_OPTION ||
        st->with_check_option == PG_QUERY__VIEW_CHECK_OPTION__CASCADED_CHECK_OPTION)
        return err_at(err, rv->location, "0A000", "WITH CHECK OPTION is not supported (tally's views are read-only)");
    if (rv->relpersistence && rv->relpersistence[0] == 't')
        return err_at(err, rv->location, "0A000", "temporary views are not supported yet");
    uint32_t nsp = rv->schemaname && *rv->schemaname ? tl_catalog_nsp_oid(rv->schemaname) : TL_NSP_PUBLIC;
    if (!nsp) return err_at(err, rv->location, "3F000", "schema \"%s\" does not exist", rv->schemaname);
    tl_rel *old = tl_catalog_find_rel(q->eng, nsp, rv->relname);
    if (old && st->replace && matview_is_plain_view(old))
        return err_at(err, rv->location, "0A000",
                      "CREATE OR REPLACE of an existing view is not supported yet: DROP VIEW it first");
    if (old || tl_catalog_find_enum(q->eng, nsp, rv->relname))
        return tl_errorf(err, "42P07", "relation \"%s\" already exists", rv->relname);
    qresult res = {0};
    if (plan_select(q, st->query->select_stmt, &res, err) < 0) return -1;
    int n = res.ncols;
    if ((int)st->n_aliases > n) {
        op_free(res.root);
        return tl_errorf(err, "42601", "CREATE VIEW specifies more column names than columns");
    }
    tl_attr *atts = tl_arena_zalloc(&q->arena, sizeof *atts * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        atts[i].name = (char *)(i < (int)st->n_aliases ? pn_str(st->aliases[i]) : res.desc[i].name);
        atts[i].type = res.types[i].id == TL_UNKNOWN ? tl_type_make(TL_TEXT) : res.types[i];
    }
    op_free(res.root);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(atts[i].name, atts[j].name))
                return tl_errorf(err, "42701", "column \"%s\" specified more than once", atts[i].name);
    char *sql = deparse_select(st->query);
    if (!sql) return err_at(err, rv->location, "XX000", "could not deparse the view's query");
    tl_rel *r = tl_catalog_create_virtual(q->eng, rv->relname, nsp, TL_REL_VIEW, n, atts, NULL, NULL, err);
    if (!r) {
        free(sql);
        return -1;
    }
    r->view_def = sql;
    r->populated = true;
    if (tl_engine_durable(q->eng)) {
        tl_buf text;
        tl_buf_init(&text);
        plain_view_sql(r, &text);
        tl_buf_putc(&text, '\0');
        tl_buf b;
        tl_buf_init(&b);
        view_payload(&b, r->oid, "", text.data);
        int lrc = tl_engine_log_catalog(q->eng, TL_CATREC_SQL, b.data, b.len, err);
        tl_buf_free(&b);
        tl_buf_free(&text);
        if (lrc < 0) {
            tl_error keep = *err;
            tl_catalog_drop_rel(q->eng, r, false, err);
            *err = keep;
            return -1;
        }
    }
    return 0;
}
