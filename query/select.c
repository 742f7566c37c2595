/*
 * select.c — binding and planning of SELECT: resolve FROM items against the catalog,
 * bind every expression with PostgreSQL's name-resolution and typing rules, split
 * aggregate queries into grouping and projection, and assemble the operator tree
 * (scan with pushed-down filter -> join -> aggregate -> having -> project -> sort ->
 * limit). The binder never looks at query text; positions in errors come from the
 * parse tree's locations.
 */
#include "query_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- scopes ------------------------------------------------------------------------ */

typedef struct scope_rel {
    const char *alias; /* name columns are qualified with */
    tl_rel *rel;
    int base;          /* first column's index in the joined row */
    int ncols;
} scope_rel;

typedef struct scope {
    int nrels;
    scope_rel rels[16];
    int ncols;
    tl_type *types; /* ncols entries */
} scope;

/* Aggregate context while binding a grouped query's outputs. */
typedef struct bindctx {
    qctx *q;
    scope *sc;
    bool allow_agg;
    bool in_agg;
    int naggs;        /* aggregates found (E_AGG nodes collected) */
    tl_expr **aggs;
    int capaggs;
} bindctx;

static tl_expr *bind_expr(bindctx *bc, pnode *n, tl_error *err);
tl_type *tl_arena_realloc_types(qctx *q, tl_type *old, int n, int m);

static int add_rel(qctx *q, scope *sc, PgQuery__RangeVar *rv, tl_error *err)
{
    uint32_t nsp = TL_NSP_PUBLIC;
    if (rv->schemaname && *rv->schemaname) {
        nsp = tl_catalog_nsp_oid(rv->schemaname);
        if (!nsp) return err_at(err, rv->location, "3F000", "schema \"%s\" does not exist", rv->schemaname);
    }
    tl_rel *r = tl_catalog_find_rel(q->eng, nsp, rv->relname);
    if (!r || r->kind == TL_REL_INDEX) {
        if (rv->schemaname && *rv->schemaname)
            return err_at(err, rv->location, "42P01", "relation \"%s.%s\" does not exist", rv->schemaname,
                          rv->relname);
        return err_at(err, rv->location, "42P01", "relation \"%s\" does not exist", rv->relname);
    }
    if (sc->nrels == (int)TL_ARRAY_LEN(sc->rels))
        return err_at(err, rv->location, "54000", "too many tables in FROM");
    if (r->materialize && !(r = q_materialize(q, r, err))) return -1;
    const char *alias = rv->alias && rv->alias->aliasname ? rv->alias->aliasname : r->name;
    for (int i = 0; i < sc->nrels; i++)
        if (strcmp(sc->rels[i].alias, alias) == 0)
            return err_at(err, rv->location, "42712", "table name \"%s\" specified more than once", alias);
    scope_rel *sr = &sc->rels[sc->nrels++];
    sr->alias = alias;
    sr->rel = r;
    sr->base = sc->ncols;
    sr->ncols = r->natts;
    sc->types = tl_arena_realloc_types(q, sc->types, sc->ncols, sc->ncols + r->natts);
    for (int i = 0; i < r->natts; i++) sc->types[sc->ncols + i] = r->atts[i].type;
    sc->ncols += r->natts;
    return 0;
}

/* ---- column references --------------------------------------------------------------- */

static tl_expr *col_expr(bindctx *bc, scope_rel *sr, int att, int location)
{
    tl_expr *e = expr_new(bc->q, E_COL, sr->rel->atts[att].type, location);
    e->col = sr->base + att;
    e->name = sr->rel->atts[att].name;
    e->src_table = sr->rel->oid;
    e->src_attnum = (int16_t)(att + 1);
    return e;
}

static int find_att(tl_rel *r, const char *name)
{
    for (int i = 0; i < r->natts; i++)
        if (strcmp(r->atts[i].name, name) == 0) return i;
    return -1;
}

static tl_expr *bind_colref(bindctx *bc, PgQuery__ColumnRef *cr, tl_error *err)
{
    scope *sc = bc->sc;
    const char *f[3] = {0};
    size_t nf = cr->n_fields;
    if (nf > 3) {
        err_at(err, cr->location, "42601", "improper qualified name (too many dotted names)");
        return NULL;
    }
    for (size_t i = 0; i < nf; i++) {
        if (cr->fields[i]->node_case == PG_QUERY__NODE__NODE_A_STAR) {
            err_at(err, cr->location, "42601", "\"*\" is not allowed here");
            return NULL;
        }
        f[i] = pn_str(cr->fields[i]);
    }
    if (nf == 1) {
        tl_expr *found = NULL;
        for (int i = 0; i < sc->nrels; i++) {
            int a = find_att(sc->rels[i].rel, f[0]);
            if (a < 0) continue;
            if (found) {
                err_at(err, cr->location, "42702", "column reference \"%s\" is ambiguous", f[0]);
                return NULL;
            }
            found = col_expr(bc, &sc->rels[i], a, cr->location);
        }
        if (!found) err_at(err, cr->location, "42703", "column \"%s\" does not exist", f[0]);
        return found;
    }
    const char *relname = f[nf - 2], *colname = f[nf - 1];
    for (int i = 0; i < sc->nrels; i++) {
        scope_rel *sr = &sc->rels[i];
        if (strcmp(sr->alias, relname) != 0) continue;
        if (nf == 3 && strcmp(f[0], "public") != 0 && strcmp(f[0], "pg_catalog") != 0) continue;
        int a = find_att(sr->rel, colname);
        if (a < 0) {
            err_at(err, cr->location, "42703", "column %s.%s does not exist", relname, colname);
            return NULL;
        }
        return col_expr(bc, sr, a, cr->location);
    }
    err_at(err, cr->location, "42P01", "missing FROM-clause entry for table \"%s\"", relname);
    return NULL;
}

/* ---- constants ------------------------------------------------------------------------ */

static tl_expr *bind_const(bindctx *bc, PgQuery__AConst *c, tl_error *err)
{
    tl_datum d;
    memset(&d, 0, sizeof d);
    if (c->isnull) {
        d.isnull = true;
        return expr_const(bc->q, tl_type_make(TL_UNKNOWN), &d, c->location);
    }
    switch (c->val_case) {
    case PG_QUERY__A__CONST__VAL_IVAL:
        d.v.i = c->ival->ival;
        return expr_const(bc->q, tl_type_make(TL_INT4), &d, c->location);
    case PG_QUERY__A__CONST__VAL_FVAL: {
        const char *s = c->fval->fval;
        /* PostgreSQL: an integer literal too big for int4 is int8, then numeric. */
        if (!strpbrk(s, ".eE")) {
            char *end;
            errno = 0;
            long long v = strtoll(s, &end, 10);
            if (!*end && errno == 0) {
                d.v.i = v;
                return expr_const(bc->q, tl_type_make(TL_INT8), &d, c->location);
            }
        }
        if (tl_value_in(tl_type_make(TL_NUMERIC), s, strlen(s), &bc->q->fc, &d, &bc->q->arena, err) < 0) {
            err->position = c->location + 1;
            return NULL;
        }
        return expr_const(bc->q, tl_type_make(TL_NUMERIC), &d, c->location);
    }
    case PG_QUERY__A__CONST__VAL_BOOLVAL:
        d.v.b = c->boolval->boolval;
        return expr_const(bc->q, tl_type_make(TL_BOOL), &d, c->location);
    case PG_QUERY__A__CONST__VAL_SVAL: {
        const char *s = c->sval->sval;
        d.v.s.ptr = tl_arena_strdup(&bc->q->arena, s);
        d.v.s.len = (uint32_t)strlen(s);
        return expr_const(bc->q, tl_type_make(TL_UNKNOWN), &d, c->location);
    }
    default:
        err_at(err, c->location, "0A000", "bit-string constants are not supported");
        return NULL;
    }
}

/* ---- type unification ------------------------------------------------------------------ */

static int num_rank(tl_type_id t)
{
    switch (t) {
    case TL_INT2: return 1;
    case TL_INT4: return 2;
    case TL_INT8: return 3;
    case TL_NUMERIC: return 4;
    case TL_FLOAT4: return 5;
    case TL_FLOAT8: return 6;
    default: return 0;
    }
}

static bool is_stringish(tl_type_id t)
{
    return t == TL_TEXT || t == TL_VARCHAR || t == TL_NAME || t == TL_BPCHAR;
}

/* The common type of two operands, as PostgreSQL's operator resolution would pick for
 * the operators we have; TL_TYPE_COUNT when there is none. */
static tl_type common_type(tl_type a, tl_type b)
{
    if (a.id == TL_UNKNOWN && b.id == TL_UNKNOWN) return tl_type_make(TL_TEXT);
    if (a.id == TL_UNKNOWN) return b;
    if (b.id == TL_UNKNOWN) return a;
    if (a.id == b.id) {
        if (a.id == TL_ENUM && a.oid != b.oid) return tl_type_make(TL_TYPE_COUNT);
        if (a.id == TL_NUMERIC || a.id == TL_VARCHAR || a.id == TL_BPCHAR) return tl_type_make(a.id);
        return a;
    }
    int ra = num_rank(a.id), rb = num_rank(b.id);
    if (ra && rb) return tl_type_make(ra > rb ? a.id : b.id);
    if (is_stringish(a.id) && is_stringish(b.id)) return tl_type_make(TL_TEXT);
    bool a_time = a.id == TL_DATE || a.id == TL_TIMESTAMP || a.id == TL_TIMESTAMPTZ;
    bool b_time = b.id == TL_DATE || b.id == TL_TIMESTAMP || b.id == TL_TIMESTAMPTZ;
    if (a_time && b_time) {
        if (a.id == TL_TIMESTAMPTZ || b.id == TL_TIMESTAMPTZ) return tl_type_make(TL_TIMESTAMPTZ);
        return tl_type_make(TL_TIMESTAMP);
    }
    if ((a.id == TL_JSON && b.id == TL_JSONB) || (a.id == TL_JSONB && b.id == TL_JSON))
        return tl_type_make(TL_JSONB);
    return tl_type_make(TL_TYPE_COUNT);
}

static tl_expr *coerce(bindctx *bc, tl_expr *e, tl_type to, tl_error *err)
{
    if (e->type.id == to.id && (to.id != TL_ENUM || e->type.oid == to.oid)) return e;
    return cast_expr(bc->q, e, to, false, err);
}

static const char *op_display(tl_type t, qctx *q)
{
    return q_type_display_name(q, t);
}

/* ---- operators and functions ------------------------------------------------------------- */

static tl_expr *make_func(bindctx *bc, const fn_def *fn, const char *name, int nargs, tl_expr **args,
                          int location)
{
    tl_expr *e = expr_new(bc->q, E_FUNC, tl_type_make(fn->ret == TL_UNKNOWN ? args[0]->type.id : fn->ret),
                          location);
    if (fn->ret == TL_UNKNOWN) e->type = args[0]->type;
    e->fn = fn;
    e->name = name;
    e->nargs = nargs;
    e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args * (size_t)(nargs ? nargs : 1));
    memcpy(e->args, args, sizeof *args * (size_t)nargs);
    return e;
}

static bool is_cmp_op(const char *opn)
{
    return !strcmp(opn, "=") || !strcmp(opn, "<>") || !strcmp(opn, "!=") || !strcmp(opn, "<") ||
           !strcmp(opn, "<=") || !strcmp(opn, ">") || !strcmp(opn, ">=");
}

static tl_expr *bind_binop(bindctx *bc, const char *opn, tl_expr *l, tl_expr *r, int location, tl_error *err)
{
    if (!strcmp(opn, "!=")) opn = "<>";
    tl_type_id args[2] = {l->type.id, r->type.id};
    /* Exact overloads first (timestamptz - interval, date + int, text || anything). */
    const fn_def *fn = NULL;
    if (l->type.id != TL_UNKNOWN && r->type.id != TL_UNKNOWN) fn = fn_lookup(opn, 2, args);
    if (!fn && is_cmp_op(opn)) {
        tl_type t = common_type(l->type, r->type);
        if (t.id != TL_TYPE_COUNT) {
            if (!(l = coerce(bc, l, t, err)) || !(r = coerce(bc, r, t, err))) return NULL;
            tl_type_id a2[2] = {t.id, t.id};
            fn = fn_lookup(opn, 2, a2);
        }
    }
    if (!fn && (l->type.id == TL_UNKNOWN || r->type.id == TL_UNKNOWN)) {
        /* An untyped literal takes the other side's type, else a type that has this
         * operator with the other side (interval for timestamptz - '7 days'). */
        tl_expr **u = l->type.id == TL_UNKNOWN ? &l : &r;
        tl_expr *k = l->type.id == TL_UNKNOWN ? r : l;
        static const tl_type_id tries[] = {TL_UNKNOWN, TL_INTERVAL, TL_INT4, TL_TEXT};
        for (size_t i = 0; i < TL_ARRAY_LEN(tries) && !fn; i++) {
            tl_type_id cand = tries[i] == TL_UNKNOWN ? (k->type.id == TL_UNKNOWN ? TL_TEXT : k->type.id) : tries[i];
            tl_type_id a2[2] = {u == &l ? cand : k->type.id, u == &l ? k->type.id : cand};
            const fn_def *f2 = fn_lookup(opn, 2, a2);
            if (f2) {
                tl_type ct = cand == k->type.id ? k->type : tl_type_make(cand);
                if (!(*u = coerce(bc, *u, ct, err))) return NULL;
                fn = f2;
            }
        }
    }
    if (!fn) {
        /* Numeric promotion for arithmetic. */
        tl_type t = common_type(l->type, r->type);
        if (t.id != TL_TYPE_COUNT && num_rank(t.id)) {
            tl_type_id a2[2] = {t.id, t.id};
            fn = fn_lookup(opn, 2, a2);
            if (fn && (!(l = coerce(bc, l, t, err)) || !(r = coerce(bc, r, t, err)))) return NULL;
        }
    }
    if (!fn) {
        err_at(err, location, "42883", "operator does not exist: %s %s %s", op_display(l->type, bc->q), opn,
               op_display(r->type, bc->q));
        snprintf(err->hint, sizeof err->hint,
                 "No operator matches the given name and argument types. You might need to add explicit type casts.");
        return NULL;
    }
    /* fn_lookup also matches through implicit casts (float8 / int4 finds float8 / float8):
     * the kernels read their declared argument types, so cast the operands to them. */
    if (fn->nargs == 2) {
        if (fn->args[0] != TL_UNKNOWN && fn->args[0] != l->type.id && num_rank(l->type.id) && num_rank(fn->args[0]) &&
            !(l = coerce(bc, l, tl_type_make(fn->args[0]), err)))
            return NULL;
        if (fn->args[1] != TL_UNKNOWN && fn->args[1] != r->type.id && num_rank(r->type.id) && num_rank(fn->args[1]) &&
            !(r = coerce(bc, r, tl_type_make(fn->args[1]), err)))
            return NULL;
    }
    tl_expr *a[2] = {l, r};
    tl_expr *e = make_func(bc, fn, opn, 2, a, location);
    if (fn->ret == TL_UNKNOWN) e->type = l->type;
    return e;
}

static tl_expr *bind_aexpr(bindctx *bc, PgQuery__AExpr *ae, tl_error *err)
{
    const char *opn = ae->n_name ? pn_str(ae->name[ae->n_name - 1]) : "";
    switch (ae->kind) {
    case PG_QUERY__A__EXPR__KIND__AEXPR_OP: {
        if (!ae->lexpr) {
            tl_expr *r = bind_expr(bc, ae->rexpr, err);
            if (!r) return NULL;
            if (!strcmp(opn, "-")) {
                tl_datum z;
                memset(&z, 0, sizeof z);
                tl_expr *zero = expr_const(bc->q, tl_type_make(TL_INT4), &z, ae->location);
                if (r->type.id == TL_NUMERIC) tl_numeric_from_i64(0, &zero->cval.v.n), zero->type = r->type;
                else if (r->type.id == TL_FLOAT8 || r->type.id == TL_FLOAT4) zero->type = r->type;
                else if (r->type.id == TL_INT8 || r->type.id == TL_INT2) zero->type = r->type;
                else if (r->type.id == TL_INTERVAL) zero->type = r->type;
                return bind_binop(bc, "-", zero, r, ae->location, err);
            }
            if (!strcmp(opn, "+")) return r;
            err_at(err, ae->location, "42883", "operator does not exist: %s %s", opn,
                   op_display(r->type, bc->q));
            return NULL;
        }
        tl_expr *l = bind_expr(bc, ae->lexpr, err);
        if (!l) return NULL;
        tl_expr *r = bind_expr(bc, ae->rexpr, err);
        if (!r) return NULL;
        return bind_binop(bc, opn, l, r, ae->location, err);
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_IN: {
        tl_expr *l = bind_expr(bc, ae->lexpr, err);
        if (!l) return NULL;
        PgQuery__List *lst = ae->rexpr->list;
        int n = (int)lst->n_items;
        tl_expr **items = tl_arena_alloc(&bc->q->arena, sizeof *items * (size_t)(n + 1));
        tl_type t = l->type;
        for (int i = 0; i < n; i++) {
            if (!(items[i + 1] = bind_expr(bc, lst->items[i], err))) return NULL;
            tl_type c = common_type(t, items[i + 1]->type);
            if (c.id == TL_TYPE_COUNT) {
                err_at(err, ae->location, "42883", "operator does not exist: %s = %s", op_display(l->type, bc->q),
                       op_display(items[i + 1]->type, bc->q));
                return NULL;
            }
            t = c;
        }
        if (t.id == TL_UNKNOWN) t = tl_type_make(TL_TEXT);
        if (!(items[0] = coerce(bc, l, t, err))) return NULL;
        for (int i = 1; i <= n; i++)
            if (!(items[i] = coerce(bc, items[i], t, err))) return NULL;
        tl_type_id a2[2] = {t.id, t.id};
        if (!fn_lookup("=", 2, a2)) {
            err_at(err, ae->location, "42883", "operator does not exist: %s = %s", op_display(t, bc->q),
                   op_display(t, bc->q));
            return NULL;
        }
        tl_expr *e = expr_new(bc->q, E_IN, tl_type_make(TL_BOOL), ae->location);
        e->nargs = n + 1;
        e->args = items;
        e->negated = !strcmp(opn, "<>");
        return e;
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN:
    case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN: {
        PgQuery__List *lst = ae->rexpr->list;
        tl_expr *x1 = bind_expr(bc, ae->lexpr, err);
        tl_expr *lo = x1 ? bind_expr(bc, lst->items[0], err) : NULL;
        tl_expr *x2 = lo ? bind_expr(bc, ae->lexpr, err) : NULL;
        tl_expr *hi = x2 ? bind_expr(bc, lst->items[1], err) : NULL;
        if (!hi) return NULL;
        bool neg = ae->kind == PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN;
        tl_expr *a = bind_binop(bc, neg ? "<" : ">=", x1, lo, ae->location, err);
        tl_expr *b = a ? bind_binop(bc, neg ? ">" : "<=", x2, hi, ae->location, err) : NULL;
        if (!b) return NULL;
        tl_expr *e = expr_new(bc->q, neg ? E_OR : E_AND, tl_type_make(TL_BOOL), ae->location);
        e->nargs = 2;
        e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args * 2);
        e->args[0] = a;
        e->args[1] = b;
        return e;
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_NULLIF: {
        tl_expr *l = bind_expr(bc, ae->lexpr, err);
        tl_expr *r = l ? bind_expr(bc, ae->rexpr, err) : NULL;
        if (!r) return NULL;
        tl_type t = common_type(l->type, r->type);
        if (t.id == TL_TYPE_COUNT || !(l = coerce(bc, l, t, err)) || !(r = coerce(bc, r, t, err))) {
            if (!tl_error_set(err)) err_at(err, ae->location, "42883", "operator does not exist");
            return NULL;
        }
        const fn_def *fn = fn_lookup_name("nullif");
        tl_expr *a[2] = {l, r};
        tl_expr *e = make_func(bc, fn, "nullif", 2, a, ae->location);
        e->type = l->type;
        return e;
    }
    default:
        err_at(err, ae->location, "0A000", "this operator form is not supported yet");
        return NULL;
    }
}

static tl_expr *bind_func(bindctx *bc, PgQuery__FuncCall *fc, tl_error *err)
{
    const char *name = pn_str(fc->funcname[fc->n_funcname - 1]);
    if (fc->n_funcname == 2 && strcmp(pn_str(fc->funcname[0]), "pg_catalog") != 0) {
        err_at(err, fc->location, "42883", "function %s.%s does not exist", pn_str(fc->funcname[0]), name);
        return NULL;
    }
    if (fc->over) {
        err_at(err, fc->location, "0A000", "window functions are not supported yet");
        return NULL;
    }
    const agg_def *ad = agg_lookup(name);
    if (ad && (fc->agg_star || fc->n_args == 1)) {
        if (!bc->allow_agg) {
            err_at(err, fc->location, "42803", "aggregate functions are not allowed in %s",
                   bc->sc ? "WHERE" : "this context");
            return NULL;
        }
        if (bc->in_agg) {
            err_at(err, fc->location, "42803", "aggregate function calls cannot be nested");
            return NULL;
        }
        tl_expr *e = expr_new(bc->q, E_AGG, tl_type_make(TL_INT8), fc->location);
        e->agg = ad;
        e->name = ad->name;
        e->agg_star = fc->agg_star;
        e->agg_distinct = fc->agg_distinct;
        bc->in_agg = true;
        if (!fc->agg_star) {
            if (strcmp(name, "count") != 0 && fc->agg_star) { /* unreachable guard */ }
            tl_expr *arg = bind_expr(bc, fc->args[0], err);
            if (!arg) return NULL;
            if (arg->type.id == TL_UNKNOWN && !(arg = coerce(bc, arg, tl_type_make(TL_TEXT), err))) return NULL;
            e->nargs = 1;
            e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args);
            e->args[0] = arg;
            e->type = agg_result_type(ad, arg->type);
            if (e->type.id == TL_TYPE_COUNT) {
                err_at(err, fc->location, "42883", "function %s(%s) does not exist", name,
                       op_display(arg->type, bc->q));
                snprintf(err->hint, sizeof err->hint,
                         "No function matches the given name and argument types. You might need to add explicit type casts.");
                return NULL;
            }
        } else if (strcmp(name, "count") != 0) {
            err_at(err, fc->location, "42809", "%s(*) specified, but %s is not an aggregate function", name, name);
            return NULL;
        } else {
            e->agg = agg_lookup("count(*)");
        }
        if (fc->agg_filter) {
            tl_expr *f = bind_expr(bc, fc->agg_filter, err);
            if (!f || !(f = coerce(bc, f, tl_type_make(TL_BOOL), err))) return NULL;
            e->agg_filter = f;
        }
        bc->in_agg = false;
        if (fc->agg_distinct) {
            err_at(err, fc->location, "0A000", "DISTINCT aggregates are not supported yet");
            return NULL;
        }
        return e;
    }
    int n = (int)fc->n_args;
    tl_expr **args = tl_arena_alloc(&bc->q->arena, sizeof *args * (size_t)(n + 1));
    tl_type_id types[8];
    if (n > 8) {
        err_at(err, fc->location, "54023", "too many arguments");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (!(args[i] = bind_expr(bc, fc->args[i], err))) return NULL;
        types[i] = args[i]->type.id;
    }
    const fn_def *fn = fn_lookup(name, n, types);
    if (!fn) {
        /* Untyped literals: try each candidate signature by coercion. */
        for (int pass = 0; pass < 2 && !fn; pass++) {
            tl_type_id t2[8];
            for (int i = 0; i < n; i++) t2[i] = types[i] == TL_UNKNOWN ? TL_TEXT : types[i];
            if (pass == 1)
                for (int i = 0; i < n; i++)
                    if (types[i] == TL_UNKNOWN) t2[i] = TL_TIMESTAMPTZ;
            fn = fn_lookup(name, n, t2);
        }
        if (fn) {
            for (int i = 0; i < n && i < 4; i++) {
                tl_type_id want = fn->nargs < 0 ? fn->args[0] : fn->args[i];
                if (want != TL_UNKNOWN && args[i]->type.id != want &&
                    !(args[i] = coerce(bc, args[i], tl_type_make(want), err)))
                    return NULL;
            }
        }
    }
    if (!fn) {
        tl_buf b;
        tl_buf_init(&b);
        for (int i = 0; i < n; i++) tl_buf_printf(&b, "%s%s", i ? ", " : "", op_display(args[i]->type, bc->q));
        err_at(err, fc->location, "42883", "function %s(%s) does not exist", name, b.data ? b.data : "");
        snprintf(err->hint, sizeof err->hint,
                 "No function matches the given name and argument types. You might need to add explicit type casts.");
        tl_buf_free(&b);
        return NULL;
    }
    tl_expr *e = make_func(bc, fn, name, n, args, fc->location);
    return e;
}

static tl_expr *bind_bool_args(bindctx *bc, ekind k, pnode **args, size_t n, int location, tl_error *err)
{
    tl_expr *e = expr_new(bc->q, k, tl_type_make(TL_BOOL), location);
    e->nargs = (int)n;
    e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        tl_expr *a = bind_expr(bc, args[i], err);
        if (!a) return NULL;
        if (a->type.id != TL_BOOL) {
            if (a->type.id != TL_UNKNOWN) {
                err_at(err, a->location, "42804", "argument of %s must be type boolean, not type %s",
                       k == E_AND ? "AND" : k == E_OR ? "OR" : "NOT", op_display(a->type, bc->q));
                return NULL;
            }
            if (!(a = coerce(bc, a, tl_type_make(TL_BOOL), err))) return NULL;
        }
        e->args[i] = a;
    }
    return e;
}

static tl_expr *bind_case(bindctx *bc, PgQuery__CaseExpr *ce, tl_error *err)
{
    int nw = (int)ce->n_args;
    tl_expr *e = expr_new(bc->q, E_CASE, tl_type_make(TL_UNKNOWN), ce->location);
    e->has_else = ce->defresult != NULL;
    e->nargs = nw * 2 + (e->has_else ? 1 : 0);
    e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args * (size_t)e->nargs);
    tl_expr *arg = ce->arg ? bind_expr(bc, ce->arg, err) : NULL;
    if (ce->arg && !arg) return NULL;
    tl_type rt = tl_type_make(TL_UNKNOWN);
    for (int i = 0; i < nw; i++) {
        PgQuery__CaseWhen *w = ce->args[i]->case_when;
        tl_expr *c = bind_expr(bc, w->expr, err);
        if (!c) return NULL;
        if (arg) {
            tl_expr *a2 = bind_expr(bc, ce->arg, err);
            if (!a2 || !(c = bind_binop(bc, "=", a2, c, w->location, err))) return NULL;
        }
        if (!(c = coerce(bc, c, tl_type_make(TL_BOOL), err))) return NULL;
        tl_expr *r = bind_expr(bc, w->result, err);
        if (!r) return NULL;
        e->args[2 * i] = c;
        e->args[2 * i + 1] = r;
        tl_type ct = common_type(rt, r->type);
        if (ct.id == TL_TYPE_COUNT) {
            err_at(err, r->location, "42804", "CASE types %s and %s cannot be matched", op_display(rt, bc->q),
                   op_display(r->type, bc->q));
            return NULL;
        }
        rt = ct;
    }
    if (e->has_else) {
        tl_expr *r = bind_expr(bc, ce->defresult, err);
        if (!r) return NULL;
        e->args[e->nargs - 1] = r;
        tl_type ct = common_type(rt, r->type);
        if (ct.id == TL_TYPE_COUNT) {
            err_at(err, r->location, "42804", "CASE types %s and %s cannot be matched", op_display(rt, bc->q),
                   op_display(r->type, bc->q));
            return NULL;
        }
        rt = ct;
    }
    if (rt.id == TL_UNKNOWN) rt = tl_type_make(TL_TEXT);
    for (int i = 0; i < nw; i++)
        if (!(e->args[2 * i + 1] = coerce(bc, e->args[2 * i + 1], rt, err))) return NULL;
    if (e->has_else && !(e->args[e->nargs - 1] = coerce(bc, e->args[e->nargs - 1], rt, err))) return NULL;
    e->type = rt;
    return e;
}

static tl_expr *bind_coalesce(bindctx *bc, PgQuery__CoalesceExpr *ce, tl_error *err)
{
    int n = (int)ce->n_args;
    tl_expr *e = expr_new(bc->q, E_COALESCE, tl_type_make(TL_UNKNOWN), ce->location);
    e->nargs = n;
    e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args * (size_t)n);
    tl_type t = tl_type_make(TL_UNKNOWN);
    for (int i = 0; i < n; i++) {
        if (!(e->args[i] = bind_expr(bc, ce->args[i], err))) return NULL;
        tl_type c = common_type(t, e->args[i]->type);
        if (c.id == TL_TYPE_COUNT) {
            err_at(err, e->args[i]->location, "42804", "COALESCE types %s and %s cannot be matched",
                   op_display(t, bc->q), op_display(e->args[i]->type, bc->q));
            return NULL;
        }
        t = c;
    }
    if (t.id == TL_UNKNOWN) t = tl_type_make(TL_TEXT);
    for (int i = 0; i < n; i++)
        if (!(e->args[i] = coerce(bc, e->args[i], t, err))) return NULL;
    e->type = t;
    return e;
}

static tl_expr *bind_sqlvalue(bindctx *bc, PgQuery__SQLValueFunction *sv, tl_error *err)
{
    const char *fname = NULL;
    switch (sv->op) {
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP_N:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP_N:
        fname = sv->op == PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP ||
                        sv->op == PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP_N
                    ? "localtimestamp"
                    : "current_timestamp";
        break;
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_DATE: fname = "current_date"; break;
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_USER:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_USER:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_SESSION_USER:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_ROLE: {
        tl_datum d;
        memset(&d, 0, sizeof d);
        d.v.s.ptr = bc->q->s->user;
        d.v.s.len = (uint32_t)strlen(bc->q->s->user);
        tl_expr *e = expr_const(bc->q, tl_type_make(TL_NAME), &d, sv->location);
        e->name = sv->op == PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_SESSION_USER ? "session_user"
                  : sv->op == PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_USER       ? "current_user"
                                                                                : "current_user";
        return e;
    }
    default:
        err_at(err, sv->location, "0A000", "this SQL value function is not supported yet");
        return NULL;
    }
    const fn_def *fn = fn_lookup(fname, 0, NULL);
    tl_expr *e = make_func(bc, fn, fname, 0, NULL, sv->location);
    return e;
}

static tl_expr *bind_expr(bindctx *bc, pnode *n, tl_error *err)
{
    if (!n) {
        err_at(err, -1, "XX000", "missing expression");
        return NULL;
    }
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_COLUMN_REF:
        if (!bc->sc || bc->sc->nrels == 0) {
            const char *f = pn_str(n->column_ref->fields[0]);
            err_at(err, n->column_ref->location, "42703", "column \"%s\" does not exist", f ? f : "*");
            return NULL;
        }
        return bind_colref(bc, n->column_ref, err);
    case PG_QUERY__NODE__NODE_A_CONST:
        return bind_const(bc, n->a_const, err);
    case PG_QUERY__NODE__NODE_TYPE_CAST: {
        tl_expr *a = bind_expr(bc, n->type_cast->arg, err);
        if (!a) return NULL;
        tl_type t;
        if (type_from_typename(bc->q, n->type_cast->type_name, &t, err) < 0) return NULL;
        tl_expr *c = cast_expr(bc->q, a, t, true, err);
        if (c && c != a) c->location = n->type_cast->location;
        if (!c && err->position == 0) err->position = n->type_cast->location + 1;
        return c;
    }
    case PG_QUERY__NODE__NODE_A_EXPR:
        return bind_aexpr(bc, n->a_expr, err);
    case PG_QUERY__NODE__NODE_BOOL_EXPR: {
        PgQuery__BoolExpr *be = n->bool_expr;
        ekind k = be->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR  ? E_AND
                  : be->boolop == PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR ? E_OR
                                                                    : E_NOT;
        return bind_bool_args(bc, k, be->args, be->n_args, be->location, err);
    }
    case PG_QUERY__NODE__NODE_NULL_TEST: {
        PgQuery__NullTest *nt = n->null_test;
        tl_expr *a = bind_expr(bc, nt->arg, err);
        if (!a) return NULL;
        tl_expr *e = expr_new(bc->q, nt->nulltesttype == PG_QUERY__NULL_TEST_TYPE__IS_NULL ? E_ISNULL : E_ISNOTNULL,
                              tl_type_make(TL_BOOL), nt->location);
        e->nargs = 1;
        e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args);
        e->args[0] = a;
        return e;
    }
    case PG_QUERY__NODE__NODE_FUNC_CALL:
        return bind_func(bc, n->func_call, err);
    case PG_QUERY__NODE__NODE_CASE_EXPR:
        return bind_case(bc, n->case_expr, err);
    case PG_QUERY__NODE__NODE_COALESCE_EXPR:
        return bind_coalesce(bc, n->coalesce_expr, err);
    case PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION:
        return bind_sqlvalue(bc, n->sqlvalue_function, err);
    case PG_QUERY__NODE__NODE_PARAM_REF:
        err_at(err, n->param_ref->location, "42P02", "there is no parameter $%d", n->param_ref->number);
        return NULL;
    case PG_QUERY__NODE__NODE_SUB_LINK:
        err_at(err, n->sub_link->location, "0A000", "subqueries are not supported yet");
        return NULL;
    default:
        err_at(err, -1, "0A000", "expression kind %d is not supported yet", (int)n->node_case);
        return NULL;
    }
}

tl_expr *bind_rel_expr(qctx *q, tl_rel *rel, pnode *n, tl_error *err)
{
    scope *sc = tl_arena_zalloc(&q->arena, sizeof *sc);
    if (rel) {
        sc->nrels = 1;
        sc->rels[0].alias = rel->name;
        sc->rels[0].rel = rel;
        sc->rels[0].base = 0;
        sc->rels[0].ncols = rel->natts;
        sc->ncols = rel->natts;
    }
    bindctx bc = {.q = q, .sc = sc};
    return bind_expr(&bc, n, err);
}

/* ---- grouped queries: replace group expressions and aggregates by agg-output columns ---- */

typedef struct groupctx {
    int ngroups;
    tl_expr **groups;
    int naggs, capaggs;
    tl_expr **aggs;
} groupctx;

static tl_expr *regroup(qctx *q, groupctx *g, tl_expr *e, tl_error *err)
{
    for (int i = 0; i < g->ngroups; i++) {
        if (expr_equal(e, g->groups[i])) {
            tl_expr *c = expr_new(q, E_COL, e->type, e->location);
            c->col = i;
            c->name = e->name;
            c->src_table = e->src_table;
            c->src_attnum = e->src_attnum;
            return c;
        }
    }
    if (e->kind == E_AGG) {
        int k = -1;
        for (int i = 0; i < g->naggs; i++)
            if (expr_equal(e, g->aggs[i])) k = i;
        if (k < 0) {
            if (g->naggs == g->capaggs) {
                g->capaggs = g->capaggs ? g->capaggs * 2 : 8;
                tl_expr **na = tl_arena_alloc(&q->arena, sizeof *na * (size_t)g->capaggs);
                if (g->naggs) memcpy(na, g->aggs, sizeof *na * (size_t)g->naggs);
                g->aggs = na;
            }
            k = g->naggs;
            g->aggs[g->naggs++] = e;
        }
        tl_expr *c = expr_new(q, E_COL, e->type, e->location);
        c->col = g->ngroups + k;
        c->name = e->name;
        return c;
    }
    if (e->kind == E_COL) {
        err_at(err, e->location, "42803",
               "column \"%s\" must appear in the GROUP BY clause or be used in an aggregate function",
               e->name ? e->name : "?");
        return NULL;
    }
    if (e->nargs == 0) return e;
    tl_expr *c = expr_new(q, e->kind, e->type, e->location);
    *c = *e;
    c->args = tl_arena_alloc(&q->arena, sizeof *c->args * (size_t)e->nargs);
    for (int i = 0; i < e->nargs; i++)
        if (!(c->args[i] = regroup(q, g, e->args[i], err))) return NULL;
    return c;
}

static bool has_agg(const tl_expr *e)
{
    if (!e) return false;
    if (e->kind == E_AGG) return true;
    for (int i = 0; i < e->nargs; i++)
        if (has_agg(e->args[i])) return true;
    return false;
}

static void mark_cols(const tl_expr *e, bool *need)
{
    if (!e) return;
    if (e->kind == E_COL) need[e->col] = true;
    for (int i = 0; i < e->nargs; i++) mark_cols(e->args[i], need);
    mark_cols(e->agg_filter, need);
}

/* ---- the target list -------------------------------------------------------------------- */

typedef struct target {
    tl_expr *e;
    const char *name;
} target;

static const char *expr_colname(const tl_expr *e)
{
    if (e->kind == E_COL || e->kind == E_FUNC || e->kind == E_AGG) return e->name ? e->name : "?column?";
    if (e->kind == E_CONST && e->name) return e->name;
    if (e->kind == E_CASE) return "case";
    if (e->kind == E_COALESCE) return "coalesce";
    return "?column?";
}

/* Column name PostgreSQL gives an unaliased target: the last column name for a column
 * reference, the function's name, the type name for a bare cast, else ?column?. */
const char *target_name(qctx *q, PgQuery__ResTarget *rt, const tl_expr *e)
{
    if (rt->name && *rt->name) return rt->name;
    pnode *v = rt->val;
    while (v && v->node_case == PG_QUERY__NODE__NODE_TYPE_CAST) {
        pnode *inner = v->type_cast->arg;
        if (inner->node_case == PG_QUERY__NODE__NODE_A_CONST || inner->node_case == PG_QUERY__NODE__NODE_TYPE_CAST) {
            if (inner->node_case == PG_QUERY__NODE__NODE_A_CONST) {
                PgQuery__TypeName *tn = v->type_cast->type_name;
                const char *n = pn_str(tn->names[tn->n_names - 1]);
                return n ? tl_arena_strdup(&q->arena, n) : "?column?";
            }
            v = inner;
            continue;
        }
        v = inner;
    }
    if (v && v->node_case == PG_QUERY__NODE__NODE_COLUMN_REF) {
        PgQuery__ColumnRef *cr = v->column_ref;
        const char *n = pn_str(cr->fields[cr->n_fields - 1]);
        if (n) return n;
    }
    if (v && v->node_case == PG_QUERY__NODE__NODE_FUNC_CALL) {
        PgQuery__FuncCall *fc = v->func_call;
        return pn_str(fc->funcname[fc->n_funcname - 1]);
    }
    if (v && v->node_case == PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION) return expr_colname(e);
    if (v && v->node_case == PG_QUERY__NODE__NODE_CASE_EXPR) return "case";
    if (v && v->node_case == PG_QUERY__NODE__NODE_COALESCE_EXPR) return "coalesce";
    if (v && v->node_case == PG_QUERY__NODE__NODE_A_EXPR && v->a_expr->kind == PG_QUERY__A__EXPR__KIND__AEXPR_NULLIF)
        return "nullif";
    return "?column?";
}

static int expand_star(bindctx *bc, PgQuery__ColumnRef *cr, target **tl, int *nt, int *cap, tl_error *err)
{
    scope *sc = bc->sc;
    const char *rel = cr->n_fields >= 2 ? pn_str(cr->fields[cr->n_fields - 2]) : NULL;
    bool any = false;
    if (!sc || sc->nrels == 0)
        return err_at(err, cr->location, "42601", "SELECT * with no tables specified is not valid");
    for (int i = 0; i < sc->nrels; i++) {
        scope_rel *sr = &sc->rels[i];
        if (rel && strcmp(sr->alias, rel) != 0) continue;
        any = true;
        for (int a = 0; a < sr->rel->natts; a++) {
            if (*nt == *cap) {
                *cap *= 2;
                target *n2 = tl_arena_alloc(&bc->q->arena, sizeof *n2 * (size_t)*cap);
                memcpy(n2, *tl, sizeof *n2 * (size_t)*nt);
                *tl = n2;
            }
            (*tl)[*nt].e = col_expr(bc, sr, a, cr->location);
            (*tl)[*nt].name = sr->rel->atts[a].name;
            (*nt)++;
        }
    }
    if (!any) return err_at(err, cr->location, "42P01", "missing FROM-clause entry for table \"%s\"", rel);
    return 0;
}

static int const_int(qctx *q, bindctx *bc, pnode *n, int64_t *out, const char *what, tl_error *err)
{
    tl_expr *e = bind_expr(bc, n, err);
    if (!e) return -1;
    if (e->type.id == TL_UNKNOWN || num_rank(e->type.id)) {
        if (!(e = cast_expr(q, e, tl_type_make(TL_INT8), false, err))) return -1;
    } else {
        return err_at(err, e->location, "42804", "argument of %s must be type bigint, not type %s", what,
                      op_display(e->type, q));
    }
    tl_datum d;
    if (expr_eval_scalar(q, e, &d, &q->arena, err) < 0) return -1;
    if (d.isnull) {
        *out = -1;
        return 0;
    }
    if (d.v.i < 0)
        return err_at(err, e->location, "2201W", "%s must not be negative", what);
    *out = d.v.i;
    return 0;
}

/* ---- FROM -------------------------------------------------------------------------------- */

typedef struct fromitem {
    int kind; /* 0 relation, 1 join */
    int rel;  /* scope index */
    struct fromitem *l, *r;
    int jointype;
    pnode *quals;
    int location;
} fromitem;

static fromitem *bind_from(qctx *q, scope *sc, pnode *n, tl_error *err)
{
    fromitem *fi = tl_arena_zalloc(&q->arena, sizeof *fi);
    if (n->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
        if (add_rel(q, sc, n->range_var, err) < 0) return NULL;
        fi->kind = 0;
        fi->rel = sc->nrels - 1;
        return fi;
    }
    if (n->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR) {
        PgQuery__JoinExpr *je = n->join_expr;
        if (je->is_natural || je->n_using_clause) {
            err_at(err, -1, "0A000", "NATURAL and USING joins are not supported yet");
            return NULL;
        }
        fi->kind = 1;
        if (!(fi->l = bind_from(q, sc, je->larg, err))) return NULL;
        if (!(fi->r = bind_from(q, sc, je->rarg, err))) return NULL;
        fi->jointype = je->jointype;
        if (je->jointype != PG_QUERY__JOIN_TYPE__JOIN_INNER && je->jointype != PG_QUERY__JOIN_TYPE__JOIN_LEFT) {
            err_at(err, -1, "0A000", "RIGHT and FULL joins are not supported yet");
            return NULL;
        }
        fi->quals = je->quals;
        return fi;
    }
    err_at(err, -1, "0A000", "this kind of FROM item is not supported yet");
    return NULL;
}

/* Split an ON condition into equi-join keys between the two sides plus a residual. */
static void collect_conj(tl_expr *e, tl_expr **out, int *n, int cap)
{
    if (e->kind == E_AND) {
        for (int i = 0; i < e->nargs; i++) collect_conj(e->args[i], out, n, cap);
    } else if (*n < cap) {
        out[(*n)++] = e;
    }
}

static bool cols_within(const tl_expr *e, int lo, int hi)
{
    if (e->kind == E_COL) return e->col >= lo && e->col < hi;
    for (int i = 0; i < e->nargs; i++)
        if (!cols_within(e->args[i], lo, hi)) return false;
    return true;
}

static void span_of(const fromitem *fi, const scope *sc, int *lo, int *hi)
{
    if (fi->kind == 0) {
        *lo = sc->rels[fi->rel].base;
        *hi = *lo + sc->rels[fi->rel].ncols;
        return;
    }
    int a, b, c, d;
    span_of(fi->l, sc, &a, &b);
    span_of(fi->r, sc, &c, &d);
    *lo = a < c ? a : c;
    *hi = b > d ? b : d;
}

static tl_expr *shift_cols(qctx *q, const tl_expr *e, int delta)
{
    tl_expr *c = expr_new(q, e->kind, e->type, e->location);
    *c = *e;
    if (e->kind == E_COL) c->col += delta;
    if (e->nargs) {
        c->args = tl_arena_alloc(&q->arena, sizeof *c->args * (size_t)e->nargs);
        for (int i = 0; i < e->nargs; i++) c->args[i] = shift_cols(q, e->args[i], delta);
    }
    return c;
}

/* Operators over a FROM tree. Every join outputs all scope columns of its subtree at the
 * scope's own positions relative to the subtree's first column. */
static op *build_from(qctx *q, scope *sc, fromitem *fi, bool *need, const tl_table_snap *snaps,
                      tl_expr *pushed, tl_error *err)
{
    if (fi->kind == 0) {
        scope_rel *sr = &sc->rels[fi->rel];
        return op_scan(q, sr->rel, &snaps[fi->rel], need + sr->base, pushed);
    }
    int llo, lhi, rlo, rhi;
    span_of(fi->l, sc, &llo, &lhi);
    span_of(fi->r, sc, &rlo, &rhi);
    /* Bind ON first: its columns must be read by the scans below. */
    bindctx bc = {.q = q, .sc = sc};
    tl_expr *on = NULL;
    if (fi->quals) {
        on = bind_expr(&bc, fi->quals, err);
        if (!on || !(on = coerce(&bc, on, tl_type_make(TL_BOOL), err))) return NULL;
        mark_cols(on, need);
    }
    op *l = build_from(q, sc, fi->l, need, snaps, NULL, err);
    op *r = l ? build_from(q, sc, fi->r, need, snaps, NULL, err) : NULL;
    if (!r) {
        if (l) op_free(l);
        return NULL;
    }
    tl_expr *conj[32];
    int nconj = 0;
    if (on) collect_conj(on, conj, &nconj, 32);
    tl_expr *lk[32], *rk[32];
    int nk = 0;
    tl_expr *residual = NULL;
    for (int i = 0; i < nconj; i++) {
        tl_expr *c = conj[i];
        if (c->kind == E_FUNC && c->nargs == 2 && !strcmp(c->name, "=")) {
            tl_expr *a = c->args[0], *b = c->args[1];
            if (cols_within(a, llo, lhi) && cols_within(b, rlo, rhi)) {
                lk[nk] = shift_cols(q, a, -llo);
                rk[nk++] = shift_cols(q, b, -rlo);
                continue;
            }
            if (cols_within(b, llo, lhi) && cols_within(a, rlo, rhi)) {
                lk[nk] = shift_cols(q, b, -llo);
                rk[nk++] = shift_cols(q, a, -rlo);
                continue;
            }
        }
        if (!residual) {
            residual = c;
        } else {
            tl_expr *and = expr_new(q, E_AND, tl_type_make(TL_BOOL), c->location);
            and->nargs = 2;
            and->args = tl_arena_alloc(&q->arena, sizeof *and->args * 2);
            and->args[0] = residual;
            and->args[1] = c;
            residual = and;
        }
    }
    if (residual) residual = shift_cols(q, residual, -llo);
    return op_hashjoin(q, l, r, nk, lk, rk, fi->jointype, residual);
}

/* ---- the whole SELECT --------------------------------------------------------------------- */

tl_type *tl_arena_realloc_types(qctx *q, tl_type *old, int n, int m)
{
    tl_type *t = tl_arena_alloc(&q->arena, sizeof *t * (size_t)(m ? m : 1));
    if (n) memcpy(t, old, sizeof *t * (size_t)n);
    return t;
}

static tl_expr *resolve_order_target(qctx *q, bindctx *bc, pnode *node, target *tl, int nt, int *col,
                                     tl_error *err)
{
    (void)q;
    *col = -1;
    if (node->node_case == PG_QUERY__NODE__NODE_A_CONST &&
        node->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
        int k = node->a_const->ival->ival;
        if (k < 1 || k > nt) {
            err_at(err, node->a_const->location, "42P10", "ORDER BY position %d is not in select list", k);
            return NULL;
        }
        *col = k - 1;
        return tl[k - 1].e;
    }
    if (node->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && node->column_ref->n_fields == 1) {
        const char *name = pn_str(node->column_ref->fields[0]);
        int found = -1;
        for (int i = 0; name && i < nt; i++) {
            if (tl[i].name && strcmp(tl[i].name, name) == 0) {
                if (found >= 0 && !expr_equal(tl[found].e, tl[i].e)) {
                    err_at(err, node->column_ref->location, "42702", "ORDER BY \"%s\" is ambiguous", name);
                    return NULL;
                }
                if (found < 0) found = i;
            }
        }
        if (found >= 0) {
            *col = found;
            return tl[found].e;
        }
    }
    return bind_expr(bc, node, err);
}

int plan_select(qctx *q, PgQuery__SelectStmt *st, qresult *res, tl_error *err)
{
    if (st->op != PG_QUERY__SET_OPERATION__SETOP_NONE)
        return err_at(err, -1, "0A000", "UNION, INTERSECT and EXCEPT are not supported yet");
    if (st->with_clause) return err_at(err, -1, "0A000", "WITH queries are not supported yet");
    if (st->n_window_clause) return err_at(err, -1, "0A000", "window functions are not supported yet");
    if (st->n_values_lists) return err_at(err, -1, "0A000", "VALUES lists are not supported yet");
    if (st->into_clause) return err_at(err, -1, "0A000", "SELECT INTO is not supported");
    if (st->n_locking_clause) return err_at(err, -1, "0A000", "FOR UPDATE/SHARE is not supported");
    if (st->n_distinct_clause && st->distinct_clause[0] != NULL &&
        st->distinct_clause[0]->node_case != PG_QUERY__NODE__NODE__NOT_SET)
        return err_at(err, -1, "0A000", "DISTINCT ON is not supported yet");

    scope *sc = tl_arena_zalloc(&q->arena, sizeof *sc);
    fromitem **from = tl_arena_alloc(&q->arena, sizeof *from * (st->n_from_clause + 1));
    for (size_t i = 0; i < st->n_from_clause; i++)
        if (!(from[i] = bind_from(q, sc, st->from_clause[i], err))) return -1;
    if (st->n_from_clause > 1) return err_at(err, -1, "0A000", "comma-separated FROM lists are not supported yet; use JOIN");

    bindctx bc = {.q = q, .sc = sc, .allow_agg = false};

    /* WHERE */
    tl_expr *where = NULL;
    if (st->where_clause) {
        if (!(where = bind_expr(&bc, st->where_clause, err))) return -1;
        if (where->type.id != TL_BOOL) {
            if (where->type.id == TL_UNKNOWN) {
                if (!(where = coerce(&bc, where, tl_type_make(TL_BOOL), err))) return -1;
            } else {
                return err_at(err, where->location, "42804", "argument of WHERE must be type boolean, not type %s",
                              op_display(where->type, q));
            }
        }
    }

    /* target list */
    int cap = 16, nt = 0;
    target *tl = tl_arena_alloc(&q->arena, sizeof *tl * (size_t)cap);
    bc.allow_agg = true;
    for (size_t i = 0; i < st->n_target_list; i++) {
        PgQuery__ResTarget *rt = st->target_list[i]->res_target;
        if (rt->val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF) {
            PgQuery__ColumnRef *cr = rt->val->column_ref;
            if (cr->fields[cr->n_fields - 1]->node_case == PG_QUERY__NODE__NODE_A_STAR) {
                if (expand_star(&bc, cr, &tl, &nt, &cap, err) < 0) return -1;
                continue;
            }
        }
        tl_expr *e = bind_expr(&bc, rt->val, err);
        if (!e) return -1;
        if (e->type.id == TL_UNKNOWN && !(e = coerce(&bc, e, tl_type_make(TL_TEXT), err))) return -1;
        if (nt == cap) {
            cap *= 2;
            target *n2 = tl_arena_alloc(&q->arena, sizeof *n2 * (size_t)cap);
            memcpy(n2, tl, sizeof *n2 * (size_t)nt);
            tl = n2;
        }
        tl[nt].e = e;
        tl[nt].name = target_name(q, rt, e);
        nt++;
    }

    /* GROUP BY: a name matches an input column first, then an output alias (PostgreSQL). */
    groupctx g = {0};
    g.ngroups = (int)st->n_group_clause;
    g.groups = tl_arena_alloc(&q->arena, sizeof *g.groups * (size_t)(g.ngroups + 1));
    bc.allow_agg = false;
    for (int i = 0; i < g.ngroups; i++) {
        pnode *gn = st->group_clause[i];
        tl_expr *e = NULL;
        if (gn->node_case == PG_QUERY__NODE__NODE_A_CONST && gn->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
            int k = gn->a_const->ival->ival;
            if (k < 1 || k > nt)
                return err_at(err, gn->a_const->location, "42P10", "GROUP BY position %d is not in select list", k);
            e = tl[k - 1].e;
            if (has_agg(e)) return err_at(err, gn->a_const->location, "42803", "aggregate functions are not allowed in GROUP BY");
        } else {
            tl_error e2;
            tl_error_clear(&e2);
            e = bind_expr(&bc, gn, &e2);
            if (!e && gn->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && gn->column_ref->n_fields == 1 &&
                !strcmp(e2.sqlstate, "42703")) {
                const char *name = pn_str(gn->column_ref->fields[0]);
                for (int k = 0; k < nt && !e; k++)
                    if (tl[k].name && name && !strcmp(tl[k].name, name)) e = tl[k].e;
            }
            if (!e) {
                *err = e2;
                return -1;
            }
        }
        g.groups[i] = e;
    }
    bool grouped = g.ngroups > 0;
    for (int i = 0; i < nt && !grouped; i++) grouped = has_agg(tl[i].e);
    tl_expr *having = NULL;
    if (st->having_clause) {
        bc.allow_agg = true;
        if (!(having = bind_expr(&bc, st->having_clause, err))) return -1;
        if (!(having = coerce(&bc, having, tl_type_make(TL_BOOL), err))) return -1;
        grouped = true;
    }

    /* ORDER BY: resolve against outputs first, then as expressions over the input. */
    int nsort = (int)st->n_sort_clause;
    sort_key *keys = tl_arena_alloc(&q->arena, sizeof *keys * (size_t)(nsort + 1));
    tl_expr **sortexpr = tl_arena_alloc(&q->arena, sizeof *sortexpr * (size_t)(nsort + 1));
    bc.allow_agg = grouped;
    for (int i = 0; i < nsort; i++) {
        PgQuery__SortBy *sb = st->sort_clause[i]->sort_by;
        int col;
        tl_expr *e = resolve_order_target(q, &bc, sb->node, tl, nt, &col, err);
        if (!e) return -1;
        if (e->type.id == TL_UNKNOWN && !(e = coerce(&bc, e, tl_type_make(TL_TEXT), err))) return -1;
        if (sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_USING)
            return err_at(err, sb->location, "0A000", "ORDER BY USING is not supported");
        keys[i].desc = sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC;
        keys[i].nulls_first = sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_FIRST ||
                              (keys[i].desc && sb->sortby_nulls != PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_LAST);
        if (col < 0)
            for (int k = 0; k < nt; k++)
                if (expr_equal(tl[k].e, e)) col = k;
        keys[i].col = col;
        sortexpr[i] = e;
    }
    bool distinct = st->n_distinct_clause > 0;

    /* Which input columns are read. */
    bool *need = tl_arena_zalloc(&q->arena, (size_t)sc->ncols + 1);
    mark_cols(where, need);
    for (int i = 0; i < nt; i++) mark_cols(tl[i].e, need);
    for (int i = 0; i < g.ngroups; i++) mark_cols(g.groups[i], need);
    mark_cols(having, need);
    for (int i = 0; i < nsort; i++) mark_cols(sortexpr[i], need);
    if (distinct)
        for (int i = 0; i < nsort; i++)
            if (keys[i].col < 0)
                return err_at(err, sortexpr[i]->location, "42P10",
                              "for SELECT DISTINCT, ORDER BY expressions must appear in select list");

    /* Rewrite outputs over the aggregate's columns. */
    if (grouped) {
        for (int i = 0; i < nt; i++)
            if (!(tl[i].e = regroup(q, &g, tl[i].e, err))) return -1;
        if (having && !(having = regroup(q, &g, having, err))) return -1;
        for (int i = 0; i < nsort; i++)
            if (!(sortexpr[i] = regroup(q, &g, sortexpr[i], err))) return -1;
    }
    /* Hidden sort columns go after the visible ones. */
    int nproj = nt;
    tl_expr **proj = tl_arena_alloc(&q->arena, sizeof *proj * (size_t)(nt + nsort + 1));
    for (int i = 0; i < nt; i++) proj[i] = tl[i].e;
    for (int i = 0; i < nsort; i++)
        if (keys[i].col < 0) {
            proj[nproj] = sortexpr[i];
            keys[i].col = nproj++;
        }

    /* Snapshot every table at one epoch, then build operators bottom-up. */
    tl_rel **rels = tl_arena_alloc(&q->arena, sizeof *rels * (size_t)(sc->nrels + 1));
    for (int i = 0; i < sc->nrels; i++) rels[i] = sc->rels[i].rel;
    tl_table_snap *snaps = tl_arena_zalloc(&q->arena, sizeof *snaps * (size_t)(sc->nrels + 1));
    tl_engine_snapshot(q->eng, rels, sc->nrels, snaps, &q->arena);

    op *root;
    if (st->n_from_clause == 0) {
        root = op_values(q, 0, NULL, 1, NULL);
        if (where) root = op_filter(q, root, where);
    } else {
        bool single = from[0]->kind == 0;
        root = build_from(q, sc, from[0], need, snaps, single ? where : NULL, err);
        if (!root) return -1;
        if (!single && where) root = op_filter(q, root, where);
    }
    if (grouped) {
        root = op_hashagg(q, root, g.ngroups, g.groups, g.naggs, g.aggs);
        if (having) root = op_filter(q, root, having);
    }
    root = op_project(q, root, nproj, proj);
    if (distinct) {
        tl_expr **cols = tl_arena_alloc(&q->arena, sizeof *cols * (size_t)(nt + 1));
        for (int i = 0; i < nt; i++) {
            cols[i] = expr_new(q, E_COL, proj[i]->type, -1);
            cols[i]->col = i;
        }
        root = op_hashagg(q, root, nt, cols, 0, NULL);
    }
    int64_t limit = -1, offset = 0;
    if (st->limit_count && !(st->limit_count->node_case == PG_QUERY__NODE__NODE_A_CONST && st->limit_count->a_const->isnull)) {
        bc.allow_agg = false;
        bindctx nb = {.q = q};
        if (const_int(q, &nb, st->limit_count, &limit, "LIMIT", err) < 0) {
            op_free(root);
            return -1;
        }
    }
    if (st->limit_offset) {
        bindctx nb = {.q = q};
        if (const_int(q, &nb, st->limit_offset, &offset, "OFFSET", err) < 0) {
            op_free(root);
            return -1;
        }
        if (offset < 0) offset = 0;
    }
    if (nsort) root = op_sort(q, root, nsort, keys, limit >= 0 ? limit + offset : -1);
    if (limit >= 0 || offset > 0) root = op_limit(q, root, offset, limit);

    res->root = root;
    res->ncols = nt;
    res->desc = tl_arena_zalloc(&q->arena, sizeof *res->desc * (size_t)(nt + 1));
    res->types = tl_arena_alloc(&q->arena, sizeof *res->types * (size_t)(nt + 1));
    for (int i = 0; i < nt; i++) {
        tl_coldesc *d = &res->desc[i];
        tl_expr *src = tl[i].e;
        d->name = tl[i].name;
        d->type_oid = tl_type_oid(src->type);
        d->typlen = src->type.id == TL_ENUM ? 4 : tl_type_len(src->type.id);
        d->typmod = src->type.typmod;
        if (src->kind == E_COL && src->src_table) {
            d->table_oid = src->src_table;
            d->attnum = src->src_attnum;
        }
        res->types[i] = src->type;
    }
    return 0;
}
