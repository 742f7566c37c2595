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
    tl_rel *rel;       /* NULL for a subquery, CTE or function in FROM */
    int base;          /* first column's index in the joined row */
    int ncols;
    const char **names;
    tl_type *types;
    uint32_t *src_table; /* provenance for RowDescription */
    int16_t *src_attnum;
    bool *hidden;      /* USING: the right side's merged columns, not found unqualified */
    op *sub;           /* planned subquery, consumed by build_from */
    bool shadowed;     /* inside a JOIN with an alias: reachable only through the alias */
    bool is_alias;     /* a JOIN's alias: USING's duplicate columns stay hidden even qualified */
} scope_rel;

typedef struct scope {
    int nrels;
    scope_rel rels[16];
    int ncols;
    tl_type *types; /* ncols entries */
} scope;

/* Aggregate context while binding a grouped query's outputs. */
struct bindctx {
    qctx *q;
    scope *sc;
    bool allow_agg;
    bool in_agg;
    int naggs;        /* aggregates found (E_AGG nodes collected) */
    tl_expr **aggs;
    int capaggs;
    bool allow_win;
    PgQuery__SelectStmt *st; /* for WINDOW clauses */
    /* set-returning functions of the target list: column srf_base + k of op_project_set */
    bool allow_srf;
    int srf_base, nsrf, capsrf;
    srf_call *srfs;
};

typedef struct winlist {
    int base;      /* the window operators' input width */
    int n, cap;
    tl_expr **wins;
} winlist;

static bool has_win(const tl_expr *e);
static bool has_agg(const tl_expr *e);
typedef struct fromitem fromitem;
static void span_of(const fromitem *fi, const scope *sc, int *lo, int *hi);
static bool attach_conj(qctx *q, scope *sc, fromitem *fi, tl_expr *e);
static tl_expr *extract_wins(qctx *q, winlist *wl, tl_expr *e);
static int add_cte_ref(qctx *q, scope *sc, PgQuery__RangeVar *rv, tl_error *err);
static int add_range_function(qctx *q, scope *sc, PgQuery__RangeFunction *rf, tl_error *err);
typedef struct bindctx bindctx;
static int const_int(qctx *q, bindctx *bc, pnode *n, int64_t *out, const char *what, tl_error *err);
static int bind_srf_call(bindctx *bc, PgQuery__FuncCall *fc, const char *name, srf_call *c, tl_error *err);
static tl_expr *make_bool2(qctx *q, ekind k, tl_expr *a, tl_expr *b);

static tl_expr *bind_expr(bindctx *bc, pnode *n, tl_error *err);
tl_type *tl_arena_realloc_types(qctx *q, tl_type *old, int n, int m);

static scope_rel *push_rel(qctx *q, scope *sc, const char *alias, int ncols)
{
    scope_rel *sr = &sc->rels[sc->nrels++];
    memset(sr, 0, sizeof *sr);
    sr->alias = alias;
    sr->base = sc->ncols;
    sr->ncols = ncols;
    size_t n = (size_t)(ncols ? ncols : 1);
    sr->names = tl_arena_zalloc(&q->arena, sizeof *sr->names * n);
    sr->types = tl_arena_zalloc(&q->arena, sizeof *sr->types * n);
    sr->src_table = tl_arena_zalloc(&q->arena, sizeof *sr->src_table * n);
    sr->src_attnum = tl_arena_zalloc(&q->arena, sizeof *sr->src_attnum * n);
    sr->hidden = tl_arena_zalloc(&q->arena, sizeof *sr->hidden * n);
    sc->ncols += ncols;
    return sr;
}

/* After push_rel filled the new relation's types: the joined row's types. */
static void sync_types(qctx *q, scope *sc)
{
    sc->types = tl_arena_realloc_types(q, sc->types, 0, sc->ncols);
    for (int i = 0; i < sc->nrels; i++)
        for (int c = 0; c < sc->rels[i].ncols; c++) sc->types[sc->rels[i].base + c] = sc->rels[i].types[c];
}

static int add_sub(qctx *q, scope *sc, const char *alias, PgQuery__Alias *al, qresult *r, int location,
                   tl_error *err);

static void *view_tree_alloc(void *data, size_t size)
{
    return tl_arena_alloc(data, size ? size : 1);
}

static void view_tree_free(void *data, void *p)
{
    (void)data, (void)p; /* the statement's arena owns it */
}

/* A plain view in FROM is its SELECT in parentheses, under the view's name (or the alias)
 * and with the view's column names. Its parse tree lives in the statement's arena: the
 * plan may point into it (names, constants). */
static int add_view(qctx *q, scope *sc, tl_rel *v, PgQuery__RangeVar *rv, tl_error *err)
{
    if (q->view_depth >= 32) return err_at(err, rv->location, "54001", "views nested too deeply");
    PgQueryProtobufParseResult pr = pg_query_parse_protobuf(v->view_def);
    if (pr.error) {
        pg_query_free_protobuf_parse_result(pr);
        return err_at(err, rv->location, "XX000", "view \"%s\" has a definition that does not parse", v->name);
    }
    ProtobufCAllocator alloc = {view_tree_alloc, view_tree_free, &q->arena};
    PgQuery__ParseResult *res =
        pg_query__parse_result__unpack(&alloc, pr.parse_tree.len, (const uint8_t *)pr.parse_tree.data);
    pg_query_free_protobuf_parse_result(pr);
    if (!res || res->n_stmts != 1 || res->stmts[0]->stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return err_at(err, rv->location, "XX000", "view \"%s\" has a definition that is not a SELECT", v->name);
    q->view_depth++;
    qresult r = {0};
    int rc = plan_select(q, res->stmts[0]->stmt->select_stmt, &r, err);
    q->view_depth--;
    if (rc < 0) return -1;
    if (r.ncols != v->natts) {
        op_free(r.root);
        return err_at(err, rv->location, "XX000", "view \"%s\" no longer matches its columns", v->name);
    }
    const char *alias = rv->alias && rv->alias->aliasname ? rv->alias->aliasname : v->name;
    if (add_sub(q, sc, alias, rv->alias, &r, rv->location, err) < 0) return -1;
    scope_rel *sr = &sc->rels[sc->nrels - 1];
    size_t nal = rv->alias ? rv->alias->n_colnames : 0;
    for (int i = (int)nal; i < v->natts; i++) sr->names[i] = v->atts[i].name;
    return 0;
}

static int add_rel(qctx *q, scope *sc, PgQuery__RangeVar *rv, tl_error *err)
{
    if (!(rv->schemaname && *rv->schemaname)) {
        int rc = add_cte_ref(q, sc, rv, err);
        if (rc != 1) return rc;
    }
    uint32_t nsp = TL_NSP_PUBLIC;
    if (rv->schemaname && *rv->schemaname) {
        nsp = tl_catalog_nsp_oid(rv->schemaname);
        if (!nsp) return err_at(err, rv->location, "3F000", "schema \"%s\" does not exist", rv->schemaname);
    }
    tl_rel *r = NULL;
    /* pg_catalog is searched first, implicitly, as in PostgreSQL's search_path */
    if (!(rv->schemaname && *rv->schemaname)) r = tl_catalog_find_rel(q->eng, TL_NSP_PG_CATALOG, rv->relname);
    if (!r) r = tl_catalog_find_rel(q->eng, nsp, rv->relname);
    if (!r || r->kind == TL_REL_INDEX) {
        if (rv->schemaname && *rv->schemaname)
            return err_at(err, rv->location, "42P01", "relation \"%s.%s\" does not exist", rv->schemaname,
                          rv->relname);
        return err_at(err, rv->location, "42P01", "relation \"%s\" does not exist", rv->relname);
    }
    if (acl_check_rel(q, r, TL_ACL_SELECT, rv->schemaname && *rv->schemaname, rv->location, err) < 0) return -1;
    if (matview_is_plain_view(r)) return add_view(q, sc, r, rv, err);
    if (sc->nrels == (int)TL_ARRAY_LEN(sc->rels))
        return err_at(err, rv->location, "54000", "too many tables in FROM");
    q->from_alias = rv->alias && rv->alias->aliasname ? rv->alias->aliasname : r->name;
    if (r->materialize && !(r = q_materialize(q, r, err))) return -1;
    const char *alias = rv->alias && rv->alias->aliasname ? rv->alias->aliasname : r->name;
    for (int i = 0; i < sc->nrels; i++)
        if (strcmp(sc->rels[i].alias, alias) == 0)
            return err_at(err, rv->location, "42712", "table name \"%s\" specified more than once", alias);
    scope_rel *sr = push_rel(q, sc, alias, r->natts);
    sr->rel = r;
    for (int i = 0; i < r->natts; i++) {
        sr->names[i] = r->atts[i].name;
        sr->types[i] = r->atts[i].type;
        sr->src_table[i] = r->oid;
        sr->src_attnum[i] = (int16_t)(i + 1);
    }
    sync_types(q, sc);
    return 0;
}

/* ---- column references --------------------------------------------------------------- */

static tl_expr *col_expr(bindctx *bc, scope_rel *sr, int att, int location)
{
    tl_expr *e = expr_new(bc->q, E_COL, sr->types[att], location);
    e->col = sr->base + att;
    e->name = sr->names[att];
    e->src_table = sr->src_table[att];
    e->src_attnum = sr->src_attnum[att];
    return e;
}

/* Column `name` of a FROM item; -2 if the name is ambiguous within it (a subquery
 * with two outputs of that name), -1 if absent. */
static int find_att(const scope_rel *sr, const char *name, bool unqualified)
{
    int found = -1;
    for (int i = 0; i < sr->ncols; i++) {
        if (!sr->names[i] || strcmp(sr->names[i], name) != 0) continue;
        if (unqualified && sr->hidden[i]) continue;
        if (found >= 0) return -2;
        found = i;
    }
    return found;
}

/* Resolve a column reference in one query level's scope: 1 found (*out), 0 not there
 * (look in enclosing queries), -1 error (ambiguous, or the table is here but not the
 * column: PostgreSQL stops at the level that has the table). */
static int colref_here(bindctx *bc, PgQuery__ColumnRef *cr, const char **f, size_t nf, tl_expr **out, tl_error *err)
{
    scope *sc = bc->sc;
    if (!sc) return 0;
    if (nf == 1) {
        tl_expr *found = NULL;
        for (int i = 0; i < sc->nrels; i++) {
            if (sc->rels[i].shadowed) continue;
            int a = find_att(&sc->rels[i], f[0], true);
            if (a == -1) continue;
            if (found || a == -2)
                return err_at(err, cr->location, "42702", "column reference \"%s\" is ambiguous", f[0]);
            found = col_expr(bc, &sc->rels[i], a, cr->location);
        }
        *out = found;
        return found ? 1 : 0;
    }
    const char *relname = f[nf - 2], *colname = f[nf - 1];
    for (int i = 0; i < sc->nrels; i++) {
        scope_rel *sr = &sc->rels[i];
        if (sr->shadowed || strcmp(sr->alias, relname) != 0) continue;
        if (nf == 3 && strcmp(f[0], "public") != 0 && strcmp(f[0], "pg_catalog") != 0) continue;
        int a = find_att(sr, colname, sr->is_alias);
        if (a == -2) return err_at(err, cr->location, "42702", "column reference \"%s\" is ambiguous", colname);
        if (a < 0) return err_at(err, cr->location, "42703", "column %s.%s does not exist", relname, colname);
        *out = col_expr(bc, sr, a, cr->location);
        return 1;
    }
    return 0;
}

/* A column of an enclosing query: recorded as the subquery's outer reference while
 * binding (a typed NULL stands in for it), a constant while running. */
static int colref_outer(bindctx *bc, PgQuery__ColumnRef *cr, const char **f, size_t nf, tl_expr **out,
                        tl_error *err)
{
    qctx *q = bc->q;
    for (outer_frame *fr = q->outer; fr; fr = fr->up) {
        if (!fr->bc) {
            for (int i = 0; i < fr->nrefs; i++)
                if (fr->refs[i].cr == cr) {
                    *out = expr_const(q, fr->refs[i].type, &fr->vals[i], cr->location);
                    (*out)->name = f[nf - 1];
                    return 1;
                }
            continue;
        }
        tl_expr *e = NULL;
        int rc = colref_here(fr->bc, cr, f, nf, &e, err);
        if (rc < 0) return -1;
        if (rc == 0) continue;
        if (e->type.id == TL_UNKNOWN) e->type = tl_type_make(TL_TEXT);
        if (fr->nrefs == fr->cap) {
            fr->cap = fr->cap ? fr->cap * 2 : 4;
            outer_ref *n = tl_arena_alloc(&q->arena, sizeof *n * (size_t)fr->cap);
            if (fr->nrefs) memcpy(n, fr->refs, sizeof *n * (size_t)fr->nrefs);
            fr->refs = n;
        }
        fr->refs[fr->nrefs++] = (outer_ref){.cr = cr, .expr = e, .type = e->type};
        tl_datum null = {.isnull = true};
        *out = expr_const(q, e->type, &null, cr->location);
        (*out)->name = e->name;
        return 1;
    }
    return 0;
}

static tl_expr *bind_colref(bindctx *bc, PgQuery__ColumnRef *cr, tl_error *err)
{
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
    tl_expr *e = NULL;
    int rc = colref_here(bc, cr, f, nf, &e, err);
    if (rc == 0) rc = colref_outer(bc, cr, f, nf, &e, err);
    if (rc < 0) return NULL;
    if (rc == 1) return e;
    if (nf == 1) err_at(err, cr->location, "42703", "column \"%s\" does not exist", f[0]);
    else err_at(err, cr->location, "42P01", "missing FROM-clause entry for table \"%s\"", f[nf - 2]);
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

/* common_type for CASE, COALESCE, GREATEST and set operations: two untyped inputs stay
 * untyped (PostgreSQL resolves them to text only at the end). */
static tl_type merge_type(tl_type a, tl_type b)
{
    if (a.id == TL_UNKNOWN && b.id == TL_UNKNOWN) return a;
    return common_type(a, b);
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
    if (fn->ret == TL_ARRAY && !strcmp(fn->name, "current_schemas")) e->type = tl_array_type(TL_OID_NAMEARRAY);
    if (!strcmp(fn->name, "pg_typeof")) e->type.oid = TL_OID_REGTYPE;
    e->fn = fn;
    e->name = name;
    e->nargs = nargs;
    e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args * (size_t)(nargs ? nargs : 1));
    if (nargs) memcpy(e->args, args, sizeof *args * (size_t)nargs);
    return e;
}

/* Arguments found through implicit casts get those casts (date -> timestamptz for
 * date_trunc, int -> numeric for numeric / int). */
static int coerce_args(bindctx *bc, const fn_def *fn, tl_expr **args, int n, tl_error *err)
{
    for (int i = 0; i < n; i++) {
        tl_type_id want = fn->nargs < 0 ? fn->args[0] : i < 8 ? fn->args[i] : TL_UNKNOWN;
        tl_type_id have = args[i]->type.id;
        if (want == TL_UNKNOWN || want == have) continue;
        bool sw = is_stringish(want);
        bool sh = is_stringish(have);
        if (sw && sh) continue;
        if (!(args[i] = coerce(bc, args[i], tl_type_make(want), err))) return -1;
    }
    return 0;
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
        /* text before int4: an untyped literal is a string first (jsonb ->> 'key') */
        static const tl_type_id tries[] = {TL_UNKNOWN, TL_INTERVAL, TL_TEXT, TL_INT4};
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
    if (!fn && !strcmp(opn, "||")) {
        /* text || anynonarray and anynonarray || text (textanycat, anytextcat): the
         * non-text side is rendered by its output function; an untyped side is text. */
        bool lt = is_stringish(l->type.id) || l->type.id == TL_UNKNOWN;
        bool rt = is_stringish(r->type.id) || r->type.id == TL_UNKNOWN;
        if ((lt || rt) && l->type.id != TL_ARRAY && r->type.id != TL_ARRAY) {
            tl_type text = tl_type_make(TL_TEXT);
            if (!(l = cast_expr(bc->q, l, text, true, err)) || !(r = cast_expr(bc->q, r, text, true, err)))
                return NULL;
            tl_type_id a2[2] = {TL_TEXT, TL_TEXT};
            fn = fn_lookup(opn, 2, a2);
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
    if (fn->args[0] != TL_UNKNOWN && coerce_args(bc, fn, a, 2, err) < 0) return NULL;
    tl_expr *e = make_func(bc, fn, opn, 2, a, location);
    if (fn->ret == TL_UNKNOWN) e->type = a[0]->type;
    return e;
}

/* Elements of an array literal '{a,b,"c d",NULL}' as untyped constants. */
static int parse_array_literal(qctx *q, const char *s, int location, tl_expr ***items, int *n, tl_error *err)
{
    while (*s == ' ') s++;
    if (*s != '{') return err_at(err, location, "22P02", "malformed array literal: \"%s\"", s);
    int cap = 8;
    *items = tl_arena_alloc(&q->arena, sizeof **items * (size_t)cap);
    *n = 0;
    const char *p = s + 1;
    while (*p == ' ') p++;
    if (*p == '}') return 0;
    for (;;) {
        tl_buf b;
        tl_buf_init(&b);
        bool quoted = false;
        while (*p == ' ') p++;
        if (*p == '"') {
            quoted = true;
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) p++;
                tl_buf_append(&b, p, 1);
                p++;
            }
            if (*p != '"') {
                tl_buf_free(&b);
                return err_at(err, location, "22P02", "malformed array literal: \"%s\"", s);
            }
            p++;
        } else {
            while (*p && *p != ',' && *p != '}') {
                if (*p == '\\' && p[1]) p++;
                tl_buf_append(&b, p, 1);
                p++;
            }
            while (b.len && b.data[b.len - 1] == ' ') b.len--;
        }
        tl_datum d;
        memset(&d, 0, sizeof d);
        if (!quoted && b.len == 4 && !strncasecmp(b.data, "NULL", 4)) {
            d.isnull = true;
        } else {
            d.v.s.ptr = tl_arena_strndup(&q->arena, b.data ? b.data : "", b.len);
            d.v.s.len = (uint32_t)b.len;
        }
        tl_buf_free(&b);
        if (*n == cap) {
            cap *= 2;
            tl_expr **m = tl_arena_alloc(&q->arena, sizeof *m * (size_t)cap);
            memcpy(m, *items, sizeof *m * (size_t)*n);
            *items = m;
        }
        (*items)[(*n)++] = expr_const(q, tl_type_make(TL_UNKNOWN), &d, location);
        while (*p == ' ') p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}') return 0;
        return err_at(err, location, "22P02", "malformed array literal: \"%s\"", s);
    }
}

/* x op ANY (array) / x op ALL (array): ARRAY[...] and '{...}' literals, optionally cast
 * to an array type. = ANY is IN, <> ALL is NOT IN; other operators OR / AND the
 * comparisons (NULLs follow the same three-valued rules). */
static tl_expr *bind_any_all(bindctx *bc, PgQuery__AExpr *ae, const char *opn, tl_error *err)
{
    bool any = ae->kind == PG_QUERY__A__EXPR__KIND__AEXPR_OP_ANY;
    pnode *r = ae->rexpr;
    tl_type elem = tl_type_make(TL_UNKNOWN);
    bool typed = false;
    if (r->node_case == PG_QUERY__NODE__NODE_TYPE_CAST && r->type_cast->type_name->n_array_bounds > 0 &&
        (r->type_cast->arg->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR ||
         (r->type_cast->arg->node_case == PG_QUERY__NODE__NODE_A_CONST &&
          r->type_cast->arg->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL))) {
        PgQuery__TypeName tn = *r->type_cast->type_name;
        tn.n_array_bounds = 0;
        if (type_from_typename(bc->q, &tn, &elem, err) < 0) return NULL;
        typed = true;
        r = r->type_cast->arg;
    }
    tl_expr **items = NULL;
    int n = 0;
    if (r->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR) {
        PgQuery__AArrayExpr *ax = r->a_array_expr;
        n = (int)ax->n_elements;
        items = tl_arena_alloc(&bc->q->arena, sizeof *items * (size_t)(n + 1));
        for (int i = 0; i < n; i++)
            if (!(items[i] = bind_expr(bc, ax->elements[i], err))) return NULL;
    } else if (r->node_case == PG_QUERY__NODE__NODE_A_CONST && r->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL) {
        if (parse_array_literal(bc->q, r->a_const->sval->sval, r->a_const->location, &items, &n, err) < 0) return NULL;
    } else if (r->node_case == PG_QUERY__NODE__NODE_SUB_LINK) {
        err_at(err, ae->location, "0A000", "this form of ANY/ALL is not supported yet");
        return NULL;
    } else {
        tl_expr *x = bind_expr(bc, r, err);
        if (!x) return NULL;
        if (x->type.id != TL_ARRAY) {
            err_at(err, ae->location, "42809", "op ANY/ALL (array) requires array on right side");
            return NULL;
        }
        /* an array value: compared element by element at run time */
        tl_expr *l = bind_expr(bc, ae->lexpr, err);
        if (!l) return NULL;
        tl_type et = array_elem_of(x->type);
        tl_type ct = common_type(l->type, et);
        tl_type_id a2[2] = {ct.id, ct.id};
        if (ct.id == TL_TYPE_COUNT || !is_cmp_op(opn) || !fn_lookup("=", 2, a2)) {
            err_at(err, ae->location, "42883", "operator does not exist: %s %s %s", op_display(l->type, bc->q), opn,
                   op_display(et, bc->q));
            return NULL;
        }
        if (ct.id == TL_UNKNOWN) ct = tl_type_make(TL_TEXT);
        if (!(l = coerce(bc, l, ct, err))) return NULL;
        return array_any_expr(bc->q, opn, !any, l, x, ae->location);
    }
    tl_expr *l = bind_expr(bc, ae->lexpr, err);
    if (!l) return NULL;
    if (typed)
        for (int i = 0; i < n; i++)
            if (!(items[i] = cast_expr(bc->q, items[i], elem, true, err))) return NULL;
    if (n == 0) {
        tl_datum d = {.v.b = !any};
        return expr_const(bc->q, tl_type_make(TL_BOOL), &d, ae->location);
    }
    if ((any && !strcmp(opn, "=")) || (!any && (!strcmp(opn, "<>") || !strcmp(opn, "!=")))) {
        tl_type t = l->type;
        for (int i = 0; i < n; i++) {
            tl_type c = common_type(t, items[i]->type);
            if (c.id == TL_TYPE_COUNT) {
                err_at(err, ae->location, "42883", "operator does not exist: %s = %s", op_display(l->type, bc->q),
                       op_display(items[i]->type, bc->q));
                return NULL;
            }
            t = c;
        }
        if (t.id == TL_UNKNOWN) t = tl_type_make(TL_TEXT);
        tl_expr *e = expr_new(bc->q, E_IN, tl_type_make(TL_BOOL), ae->location);
        e->nargs = n + 1;
        e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args * (size_t)(n + 1));
        if (!(e->args[0] = coerce(bc, l, t, err))) return NULL;
        for (int i = 0; i < n; i++)
            if (!(e->args[i + 1] = coerce(bc, items[i], t, err))) return NULL;
        e->negated = !any;
        return e;
    }
    tl_expr *acc = NULL;
    for (int i = 0; i < n; i++) {
        tl_expr *c = bind_binop(bc, opn, l, items[i], ae->location, err);
        if (!c) return NULL;
        acc = make_bool2(bc->q, any ? E_OR : E_AND, acc, c);
    }
    return acc;
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
            if (!strcmp(opn, "~")) { /* bitwise not of an integer */
                tl_type_id a1[1] = {r->type.id == TL_UNKNOWN ? TL_INT4 : r->type.id};
                const fn_def *fd = fn_lookup("~", 1, a1);
                if (fd && fd->args[0] == a1[0] && (r = coerce(bc, r, tl_type_make(a1[0]), err)))
                    return make_func(bc, fd, "?column?", 1, &r, ae->location);
                if (!r) return NULL;
            }
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
    case PG_QUERY__A__EXPR__KIND__AEXPR_DISTINCT:
    case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_DISTINCT: {
        tl_expr *l = bind_expr(bc, ae->lexpr, err);
        tl_expr *r = l ? bind_expr(bc, ae->rexpr, err) : NULL;
        if (!r) return NULL;
        tl_type t = common_type(l->type, r->type);
        if (t.id == TL_TYPE_COUNT) {
            err_at(err, ae->location, "42883", "operator does not exist: %s = %s", op_display(l->type, bc->q),
                   op_display(r->type, bc->q));
            return NULL;
        }
        if (!(l = coerce(bc, l, t, err)) || !(r = coerce(bc, r, t, err))) return NULL;
        tl_expr *e = expr_new(bc->q, E_DISTINCT, tl_type_make(TL_BOOL), ae->location);
        e->negated = ae->kind == PG_QUERY__A__EXPR__KIND__AEXPR_NOT_DISTINCT;
        e->nargs = 2;
        e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args * 2);
        e->args[0] = l;
        e->args[1] = r;
        return e;
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_LIKE:
    case PG_QUERY__A__EXPR__KIND__AEXPR_ILIKE: {
        tl_expr *l = bind_expr(bc, ae->lexpr, err);
        if (!l) return NULL;
        pnode *pat = ae->rexpr, *esc = NULL;
        if (pat->node_case == PG_QUERY__NODE__NODE_FUNC_CALL && pat->func_call->n_args == 2 &&
            !strcmp(pn_str(pat->func_call->funcname[pat->func_call->n_funcname - 1]), "like_escape")) {
            esc = pat->func_call->args[1];
            pat = pat->func_call->args[0];
        }
        tl_expr *r = bind_expr(bc, pat, err);
        tl_expr *x = r && esc ? bind_expr(bc, esc, err) : NULL;
        if (!r || (esc && !x)) return NULL;
        tl_type tt = tl_type_make(TL_TEXT);
        if (!tl_type_is_string(l->type.id) && l->type.id != TL_UNKNOWN) {
            err_at(err, ae->location, "42883", "operator does not exist: %s %s %s", op_display(l->type, bc->q), opn,
                   op_display(r->type, bc->q));
            snprintf(err->hint, sizeof err->hint,
                     "No operator matches the given name and argument types. You might need to add explicit type casts.");
            return NULL;
        }
        if (!(l = coerce(bc, l, tt, err)) || !(r = coerce(bc, r, tt, err)) || (x && !(x = coerce(bc, x, tt, err))))
            return NULL;
        tl_expr *e = expr_new(bc->q, E_LIKE, tl_type_make(TL_BOOL), ae->location);
        e->ilike = ae->kind == PG_QUERY__A__EXPR__KIND__AEXPR_ILIKE;
        e->negated = opn[0] == '!';
        e->nargs = x ? 3 : 2;
        e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args * 3);
        e->args[0] = l;
        e->args[1] = r;
        e->args[2] = x;
        return e;
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_OP_ANY:
    case PG_QUERY__A__EXPR__KIND__AEXPR_OP_ALL:
        return bind_any_all(bc, ae, opn, err);
    default:
        err_at(err, ae->location, "0A000", "this operator form is not supported yet");
        return NULL;
    }
}

static tl_expr *coerce(bindctx *bc, tl_expr *e, tl_type to, tl_error *err);

static int const_double(bindctx *bc, pnode *n, double *out, tl_error *err)
{
    tl_expr *e = bind_expr(bc, n, err);
    if (!e || !(e = cast_expr(bc->q, e, tl_type_make(TL_FLOAT8), false, err))) return -1;
    if (!expr_is_const(e) && e->kind != E_FUNC)
        return err_at(err, e->location, "0A000", "only constant percentile fractions are supported");
    tl_datum d;
    if (expr_eval_scalar(bc->q, e, &d, &bc->q->arena, err) < 0) return -1;
    if (d.isnull) return err_at(err, e->location, "0A000", "percentile fraction must not be null");
    if (d.v.f < 0 || d.v.f > 1 || d.v.f != d.v.f)
        return err_at(err, -1, "22003", "percentile value %g is not between 0 and 1", d.v.f);
    *out = d.v.f;
    return 0;
}

/* An aggregate call (not a window): args, DISTINCT, FILTER, ORDER BY inside, WITHIN GROUP. */
static tl_type array_type_for(qctx *q, tl_type elem);
static tl_expr *bind_agg_call(bindctx *bc, PgQuery__FuncCall *fc, const agg_def *ad, const char *name, tl_error *err)
{
    tl_expr *e = expr_new(bc->q, E_AGG, tl_type_make(TL_INT8), fc->location);
    e->agg = ad;
    e->name = ad->name;
    e->agg_star = fc->agg_star;
    e->agg_distinct = fc->agg_distinct;
    bool ordered_set = ad->kind == A_PCT_CONT || ad->kind == A_PCT_DISC;
    if (ordered_set != fc->agg_within_group) {
        if (ordered_set)
            err_at(err, fc->location, "42809", "WITHIN GROUP is required for ordered-set aggregate %s", name);
        else
            err_at(err, fc->location, "42809", "%s is not an ordered-set aggregate, so it cannot have WITHIN GROUP", name);
        return NULL;
    }
    if (fc->agg_star) {
        if (strcmp(name, "count") != 0) {
            err_at(err, fc->location, "42809", "%s(*) specified, but %s is not an aggregate function", name, name);
            return NULL;
        }
        e->agg = agg_lookup("count(*)");
    } else if (ordered_set) {
        if (fc->n_args != 1 || fc->n_agg_order != 1) {
            err_at(err, fc->location, "42883", "function %s with these arguments does not exist", name);
            return NULL;
        }
        pnode *fa = fc->args[0];
        if (fa->node_case == PG_QUERY__NODE__NODE_TYPE_CAST && fa->type_cast->type_name->n_array_bounds > 0)
            fa = fa->type_cast->arg;
        if (fa->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR) {
            /* percentile_cont(ARRAY[0.25, 0.5]): an array of results */
            PgQuery__AArrayExpr *ax = fa->a_array_expr;
            e->agg_nfracs = (int)ax->n_elements;
            e->agg_fracs = tl_arena_alloc(&bc->q->arena, sizeof *e->agg_fracs * (ax->n_elements + 1));
            for (size_t i = 0; i < ax->n_elements; i++)
                if (const_double(bc, ax->elements[i], &e->agg_fracs[i], err) < 0) return NULL;
            if (!e->agg_nfracs) {
                err_at(err, fc->location, "0A000", "percentile of an empty array is not supported");
                return NULL;
            }
        } else if (const_double(bc, fc->args[0], &e->agg_frac, err) < 0) {
            return NULL;
        }
        PgQuery__SortBy *sb = fc->agg_order[0]->sort_by;
        tl_expr *arg = bind_expr(bc, sb->node, err);
        if (!arg) return NULL;
        if (ad->kind == A_PCT_CONT) {
            if (arg->type.id == TL_INTERVAL) {
                err_at(err, fc->location, "0A000", "percentile_cont over intervals is not supported yet");
                return NULL;
            }
            if (!(arg = coerce(bc, arg, tl_type_make(TL_FLOAT8), err))) return NULL;
        } else if (arg->type.id == TL_UNKNOWN && !(arg = coerce(bc, arg, tl_type_make(TL_TEXT), err))) {
            return NULL;
        }
        e->agg_order_desc = sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC;
        e->nargs = 1;
        e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args);
        e->args[0] = arg;
        e->type = agg_result_type(ad, arg->type);
        if (e->agg_nfracs && e->type.id != TL_TYPE_COUNT) e->type = subq_array_type(e->type);
    } else {
        int want = ad->kind == A_STRING_AGG ? 2 : 1;
        if ((int)fc->n_args != want) {
            tl_buf b;
            tl_buf_init(&b);
            for (size_t i = 0; i < fc->n_args; i++) {
                tl_expr *x = bind_expr(bc, fc->args[i], err);
                if (!x) {
                    tl_buf_free(&b);
                    return NULL;
                }
                tl_buf_printf(&b, "%s%s", i ? ", " : "", op_display(x->type, bc->q));
            }
            err_at(err, fc->location, "42883", "function %s(%s) does not exist", name, b.data ? b.data : "");
            snprintf(err->hint, sizeof err->hint,
                     "No function matches the given name and argument types. You might need to add explicit type casts.");
            tl_buf_free(&b);
            return NULL;
        }
        e->nargs = want;
        e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args * (size_t)want);
        for (int i = 0; i < want; i++) {
            tl_expr *arg = bind_expr(bc, fc->args[i], err);
            if (!arg) return NULL;
            if (arg->type.id == TL_UNKNOWN && !(arg = coerce(bc, arg, tl_type_make(TL_TEXT), err))) return NULL;
            if (ad->kind == A_STRING_AGG && tl_type_is_string(arg->type.id) && arg->type.id != TL_TEXT &&
                arg->type.id != TL_JSON && arg->type.id != TL_JSONB && !(arg = coerce(bc, arg, tl_type_make(TL_TEXT), err)))
                return NULL;
            e->args[i] = arg;
        }
        e->type = agg_result_type(ad, e->args[0]->type);
        if (ad->kind == A_STRING_AGG && (e->args[1]->type.id != TL_TEXT)) e->type = tl_type_make(TL_TYPE_COUNT);
        if (fc->n_agg_order) {
            if (fc->n_agg_order > 1 || (ad->kind != A_STRING_AGG && ad->kind != A_ARRAY_AGG)) {
                err_at(err, fc->location, "0A000", "ORDER BY inside %s is not supported yet", name);
                return NULL;
            }
            PgQuery__SortBy *sb = fc->agg_order[0]->sort_by;
            tl_expr *k = bind_expr(bc, sb->node, err);
            if (!k) return NULL;
            if (k->type.id == TL_UNKNOWN && !(k = coerce(bc, k, tl_type_make(TL_TEXT), err))) return NULL;
            e->agg_order = k;
            e->agg_order_desc = sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC;
            e->agg_order_nulls_first = sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_FIRST ||
                                       (e->agg_order_desc && sb->sortby_nulls != PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_LAST);
        } else if (ad->kind == A_STRING_AGG && fc->agg_distinct) {
            e->agg_order = e->args[0];
        }
    }
    if (ad->kind == A_ARRAY_AGG && e->type.id == TL_ARRAY) e->type = array_type_for(bc->q, e->args[0]->type);
    if (e->type.id == TL_TYPE_COUNT) {
        tl_buf b;
        tl_buf_init(&b);
        for (int i = 0; i < e->nargs; i++) tl_buf_printf(&b, "%s%s", i ? ", " : "", op_display(e->args[i]->type, bc->q));
        err_at(err, fc->location, "42883", "function %s(%s) does not exist", name, b.data ? b.data : "");
        snprintf(err->hint, sizeof err->hint,
                 "No function matches the given name and argument types. You might need to add explicit type casts.");
        tl_buf_free(&b);
        return NULL;
    }
    if (fc->agg_filter) {
        tl_expr *f = bind_expr(bc, fc->agg_filter, err);
        if (!f || !(f = coerce(bc, f, tl_type_make(TL_BOOL), err))) return NULL;
        e->agg_filter = f;
    }
    return e;
}

/* f(...) OVER (PARTITION BY ... ORDER BY ... frame) or OVER name. */
static tl_expr *bind_window(bindctx *bc, PgQuery__FuncCall *fc, const char *name, tl_error *err)
{
    if (!bc->allow_win) {
        err_at(err, fc->location, "42P20", "window functions are not allowed in %s",
               bc->allow_agg ? "this context" : "WHERE");
        return NULL;
    }
    if (bc->in_agg) {
        err_at(err, fc->location, "42803", "aggregate function calls cannot contain window function calls");
        return NULL;
    }
    PgQuery__WindowDef *wd = fc->over;
    PgQuery__WindowDef *base = NULL;
    const char *ref = wd->refname && *wd->refname ? wd->refname : wd->name && *wd->name ? wd->name : NULL;
    if (ref) {
        for (size_t i = 0; bc->st && i < bc->st->n_window_clause; i++) {
            PgQuery__WindowDef *w = bc->st->window_clause[i]->window_def;
            if (w->name && !strcmp(w->name, ref)) base = w;
        }
        if (!base) {
            err_at(err, wd->location, "42704", "window \"%s\" does not exist", ref);
            return NULL;
        }
    }
    size_t npart = base && !wd->n_partition_clause ? base->n_partition_clause : wd->n_partition_clause;
    pnode **part = base && !wd->n_partition_clause ? base->partition_clause : wd->partition_clause;
    size_t norder = base && !wd->n_order_clause ? base->n_order_clause : wd->n_order_clause;
    pnode **order = base && !wd->n_order_clause ? base->order_clause : wd->order_clause;
    PgQuery__WindowDef *fw = base && !(wd->frame_options & 1) ? base : wd;

    const agg_def *ad = win_lookup(name);
    bool is_agg = false;
    if (!ad) {
        ad = agg_lookup(name);
        is_agg = ad != NULL;
    }
    if (!ad) {
        err_at(err, fc->location, "42883", "function %s does not exist", name);
        return NULL;
    }
    if (fc->agg_distinct) {
        err_at(err, fc->location, "0A000", "DISTINCT is not implemented for window functions");
        return NULL;
    }
    if (fc->agg_within_group || fc->n_agg_order) {
        err_at(err, fc->location, "0A000", "ordered aggregates are not supported as window functions");
        return NULL;
    }
    tl_expr *e = expr_new(bc->q, E_WIN, tl_type_make(TL_INT8), fc->location);
    e->agg = fc->agg_star ? agg_lookup("count(*)") : ad;
    e->name = name;
    e->agg_star = fc->agg_star;
    int na = fc->agg_star ? 0 : (int)fc->n_args;
    int minargs = 0, maxargs = 0;
    switch (ad->kind) {
    case W_ROW_NUMBER: case W_RANK: case W_DENSE_RANK: case W_PERCENT_RANK: case W_CUME_DIST: break;
    case W_NTILE: minargs = maxargs = 1; break;
    case W_LAG: case W_LEAD: minargs = 1; maxargs = 3; break;
    case W_FIRST_VALUE: case W_LAST_VALUE: minargs = maxargs = 1; break;
    case W_NTH_VALUE: minargs = maxargs = 2; break;
    case A_STRING_AGG: minargs = maxargs = 2; break;
    case A_COUNT: minargs = 0; maxargs = 1; break;
    default: minargs = maxargs = 1; break;
    }
    if (fc->agg_star && ad->kind != A_COUNT) {
        err_at(err, fc->location, "42809", "%s(*) specified, but %s is not an aggregate function", name, name);
        return NULL;
    }
    if (!fc->agg_star && (na < minargs || na > maxargs || (ad->kind == A_COUNT && na == 0))) {
        err_at(err, fc->location, "42883", "function %s with %d arguments does not exist", name, na);
        snprintf(err->hint, sizeof err->hint,
                 "No function matches the given name and argument types. You might need to add explicit type casts.");
        return NULL;
    }
    int total = na + (int)npart + (int)norder;
    e->nargs = total;
    e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args * (size_t)(total + 1));
    for (int i = 0; i < na; i++) {
        tl_expr *a = bind_expr(bc, fc->args[i], err);
        if (!a) return NULL;
        if (a->type.id == TL_UNKNOWN && !(a = coerce(bc, a, tl_type_make(TL_TEXT), err))) return NULL;
        if (i > 0 && (ad->kind == W_LAG || ad->kind == W_LEAD || ad->kind == W_NTH_VALUE)) {
            tl_type want = i == 1 ? tl_type_make(TL_INT8) : e->args[0]->type;
            if (!(a = coerce(bc, a, want, err))) return NULL;
        }
        if (ad->kind == W_NTILE && !(a = coerce(bc, a, tl_type_make(TL_INT8), err))) return NULL;
        e->args[i] = a;
    }
    if (is_agg) {
        e->type = na ? agg_result_type(ad, e->args[0]->type) : tl_type_make(TL_INT8);
        if (e->type.id == TL_TYPE_COUNT) {
            err_at(err, fc->location, "42883", "function %s(%s) does not exist", name, op_display(e->args[0]->type, bc->q));
            return NULL;
        }
        if (fc->agg_filter) {
            tl_expr *f = bind_expr(bc, fc->agg_filter, err);
            if (!f || !(f = coerce(bc, f, tl_type_make(TL_BOOL), err))) return NULL;
            e->agg_filter = f;
        }
    } else {
        e->type = agg_result_type(ad, na ? e->args[0]->type : tl_type_make(TL_INT8));
    }
    win_spec *ws = tl_arena_zalloc(&bc->q->arena, sizeof *ws);
    ws->npart = (int)npart;
    ws->norder = (int)norder;
    ws->okeys = tl_arena_zalloc(&bc->q->arena, sizeof *ws->okeys * (norder + 1));
    for (size_t i = 0; i < npart; i++) {
        tl_expr *p = bind_expr(bc, part[i], err);
        if (!p) return NULL;
        if (p->type.id == TL_UNKNOWN && !(p = coerce(bc, p, tl_type_make(TL_TEXT), err))) return NULL;
        e->args[na + (int)i] = p;
    }
    for (size_t i = 0; i < norder; i++) {
        PgQuery__SortBy *sb = order[i]->sort_by;
        tl_expr *o = bind_expr(bc, sb->node, err);
        if (!o) return NULL;
        if (o->type.id == TL_UNKNOWN && !(o = coerce(bc, o, tl_type_make(TL_TEXT), err))) return NULL;
        e->args[na + (int)npart + (int)i] = o;
        ws->okeys[i].desc = sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC;
        ws->okeys[i].nulls_first = sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_FIRST ||
                                   (ws->okeys[i].desc && sb->sortby_nulls != PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_LAST);
    }
    ws->frame = fw->frame_options & 1 ? fw->frame_options : 0;
    if (ws->frame) {
        bindctx nb = {.q = bc->q};
        if (fw->start_offset) {
            if (!(ws->start_off = bind_expr(&nb, fw->start_offset, err))) return NULL;
            if (!(ws->start_off = coerce(&nb, ws->start_off, tl_type_make(TL_INT8), err))) return NULL;
        }
        if (fw->end_offset) {
            if (!(ws->end_off = bind_expr(&nb, fw->end_offset, err))) return NULL;
            if (!(ws->end_off = coerce(&nb, ws->end_off, tl_type_make(TL_INT8), err))) return NULL;
        }
    }
    e->win = ws;
    return e;
}

/* A set-returning function's arguments (bound in bc's scope) and its call. */
static int bind_srf_call(bindctx *bc, PgQuery__FuncCall *fc, const char *name, srf_call *c, tl_error *err)
{
    int n = (int)fc->n_args;
    if (n > 4 || fc->agg_star || fc->agg_distinct || fc->n_agg_order || fc->agg_filter)
        return err_at(err, fc->location, "42883", "function %s does not exist", name);
    tl_expr **args = tl_arena_alloc(&bc->q->arena, sizeof *args * (size_t)(n + 1));
    for (int i = 0; i < n; i++)
        if (!(args[i] = bind_expr(bc, fc->args[i], err))) return -1;
    return srf_bind(bc->q, name, args, n, c, fc->location, err) < 0 ? -1 : 0;
}

/* An SRF in the target list becomes a column appended by op_project_set. */
static tl_expr *bind_srf_target_pick(bindctx *bc, PgQuery__FuncCall *fc, const char *name, const char *field,
                                     tl_error *err);
static tl_expr *bind_srf_target(bindctx *bc, PgQuery__FuncCall *fc, const char *name, tl_error *err)
{
    return bind_srf_target_pick(bc, fc, name, NULL, err);
}

static tl_expr *bind_srf_target_pick(bindctx *bc, PgQuery__FuncCall *fc, const char *name, const char *field,
                                     tl_error *err)
{
    if (!bc->allow_srf) {
        err_at(err, fc->location, "0A000", "set-returning functions are not allowed in %s",
               bc->allow_agg ? "this context" : "WHERE");
        return NULL;
    }
    srf_call c;
    bc->allow_srf = false; /* not nested in their own arguments */
    int rc = bind_srf_call(bc, fc, name, &c, err);
    bc->allow_srf = true;
    if (rc < 0) return NULL;
    tl_type rt = c.types[0];
    if (c.ncols != 1) {
        /* (f(...)).field picks one output column; f(...) alone is a record value */
        if (field) {
            c.pick = -1;
            for (int k = 0; k < c.ncols; k++)
                if (!strcmp(c.names[k], field)) c.pick = k;
            if (c.pick < 0) {
                err_at(err, fc->location, "42703", "column \"%s\" not found in data type record", field);
                return NULL;
            }
            rt = c.types[c.pick];
        } else {
            rt = tl_type_make(TL_TEXT);
            rt.oid = TL_OID_RECORD;
            rt.typmod = (int32_t)c.types[0].id;
        }
    } else if (field) {
        err_at(err, fc->location, "42809", "column notation .%s applied to type %s, which is not a composite type", field,
               op_display(c.types[0], bc->q));
        return NULL;
    }
    if (bc->nsrf == bc->capsrf) {
        bc->capsrf = bc->capsrf ? bc->capsrf * 2 : 4;
        srf_call *m = tl_arena_alloc(&bc->q->arena, sizeof *m * (size_t)bc->capsrf);
        if (bc->nsrf) memcpy(m, bc->srfs, sizeof *m * (size_t)bc->nsrf);
        bc->srfs = m;
    }
    bc->srfs[bc->nsrf] = c;
    tl_expr *e = expr_new(bc->q, E_COL, rt, fc->location);
    e->col = bc->srf_base + bc->nsrf++;
    e->name = name;
    return e;
}

static tl_expr *bind_func(bindctx *bc, PgQuery__FuncCall *fc, tl_error *err)
{
    const char *name = pn_str(fc->funcname[fc->n_funcname - 1]);
    bool infoschema = fc->n_funcname == 2 && !strcmp(pn_str(fc->funcname[0]), "information_schema") &&
                      !strcmp(name, "_pg_expandarray");
    if (fc->n_funcname == 2 && strcmp(pn_str(fc->funcname[0]), "pg_catalog") != 0 && !infoschema) {
        err_at(err, fc->location, "42883", "function %s.%s does not exist", pn_str(fc->funcname[0]), name);
        return NULL;
    }
    if (fc->over) return bind_window(bc, fc, name, err);
    const agg_def *ad = agg_lookup(name);
    if (ad && (fc->agg_star || fc->n_args >= 1)) {
        if (!bc->allow_agg) {
            err_at(err, fc->location, "42803", "aggregate functions are not allowed in %s",
                   bc->sc ? "WHERE" : "this context");
            return NULL;
        }
        if (bc->in_agg) {
            err_at(err, fc->location, "42803", "aggregate function calls cannot be nested");
            return NULL;
        }
        bc->in_agg = true;
        tl_expr *e = bind_agg_call(bc, fc, ad, name, err);
        bc->in_agg = false;
        return e;
    }
    if (srf_is(name) && (strcmp(name, "_pg_expandarray") != 0 || infoschema)) return bind_srf_target(bc, fc, name, err);
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
            for (int i = 0; i < n && i < 8; i++) {
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
    if (coerce_args(bc, fn, args, n, err) < 0) return NULL;
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
        tl_type ct = merge_type(rt, r->type);
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
        tl_type ct = merge_type(rt, r->type);
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
        tl_type c = merge_type(t, e->args[i]->type);
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

/* Plan a subquery with the enclosing query's scope visible through an outer frame:
 * f->nrefs > 0 afterwards means it is correlated. */
static int plan_sub(bindctx *bc, pnode *sel, int location, outer_frame *f, qresult *r, tl_error *err)
{
    qctx *q = bc->q;
    if (sel->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return err_at(err, location, "0A000", "this kind of subquery is not supported");
    memset(f, 0, sizeof *f);
    f->up = q->outer;
    f->bc = bc;
    q->outer = f;
    int rc = plan_select(q, sel->select_stmt, r, err);
    q->outer = f->up;
    return rc;
}

/* The array type over elem: the catalog's for enums (user_role[]), text[] if none. */
static tl_type array_type_for(qctx *q, tl_type elem)
{
    tl_type t = subq_array_type(elem);
    tl_type o;
    if (elem.id == TL_ENUM && cat_array_of(q, elem, &o) == 0) t = o;
    return t;
}

/* A correlated subquery: evaluated per outer row by subquery.c. extra: ANY's left side. */
static tl_expr *make_subq(bindctx *bc, PgQuery__SubLink *sl, int kind, const outer_frame *f, tl_type rtype,
                          tl_type ctype, tl_expr *extra)
{
    qctx *q = bc->q;
    tl_type t = kind == SQ_EXPR ? rtype : kind == SQ_ARRAY ? array_type_for(q, rtype) : tl_type_make(TL_BOOL);
    tl_expr *e = expr_new(q, E_SUBQ, t, sl->location);
    e->nargs = f->nrefs + (extra ? 1 : 0);
    e->args = tl_arena_alloc(&q->arena, sizeof *e->args * (size_t)e->nargs);
    for (int i = 0; i < f->nrefs; i++) e->args[i] = f->refs[i].expr;
    if (extra) e->args[f->nrefs] = extra;
    e->subq = subq_new(q, sl->subselect, kind, f, rtype, ctype);
    return e;
}

static tl_expr *bind_sublink(bindctx *bc, PgQuery__SubLink *sl, tl_error *err)
{
    qctx *q = bc->q;
    tl_datum *vals;
    uint64_t n;
    outer_frame f;
    qresult r;
    switch (sl->sub_link_type) {
    case PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK: {
        if (plan_sub(bc, sl->subselect, sl->location, &f, &r, err) < 0) return NULL;
        if (f.nrefs) {
            op_free(r.root);
            return make_subq(bc, sl, SQ_EXISTS, &f, tl_type_make(TL_BOOL), tl_type_make(TL_BOOL), NULL);
        }
        if (subq_drain(q, r.root, r.types[0], 1, false, &q->arena, NULL, &n, err) < 0) return NULL;
        tl_datum d = {.v.b = n > 0};
        return expr_const(q, tl_type_make(TL_BOOL), &d, sl->location);
    }
    case PG_QUERY__SUB_LINK_TYPE__EXPR_SUBLINK: {
        if (plan_sub(bc, sl->subselect, sl->location, &f, &r, err) < 0) return NULL;
        if (r.ncols != 1) {
            op_free(r.root);
            err_at(err, sl->location, "42601", r.ncols > 1 ? "subquery must return only one column" : "subquery has too few columns");
            return NULL;
        }
        tl_type t = r.types[0];
        if (f.nrefs) {
            op_free(r.root);
            if (t.id == TL_UNKNOWN) t = tl_type_make(TL_TEXT);
            return make_subq(bc, sl, SQ_EXPR, &f, t, t, NULL);
        }
        if (subq_drain(q, r.root, t, 2, true, &q->arena, &vals, &n, err) < 0) return NULL;
        if (n > 1) {
            err_at(err, -1, "21000", "more than one row returned by a subquery used as an expression");
            return NULL;
        }
        tl_datum d = {.isnull = true};
        tl_expr *e = expr_const(q, t, n ? &vals[0] : &d, sl->location);
        return e;
    }
    case PG_QUERY__SUB_LINK_TYPE__ARRAY_SUBLINK: {
        if (plan_sub(bc, sl->subselect, sl->location, &f, &r, err) < 0) return NULL;
        if (r.ncols != 1) {
            op_free(r.root);
            err_at(err, sl->location, "42601", "subquery must return only one column");
            return NULL;
        }
        tl_type t = r.types[0];
        if (t.id == TL_UNKNOWN) t = tl_type_make(TL_TEXT);
        if (f.nrefs) {
            op_free(r.root);
            return make_subq(bc, sl, SQ_ARRAY, &f, t, t, NULL);
        }
        if (subq_drain(q, r.root, r.types[0], UINT64_MAX, true, &q->arena, &vals, &n, err) < 0) return NULL;
        tl_datum d;
        subq_array_value(q, t, vals, n, &d, &q->arena);
        return expr_const(q, array_type_for(q, t), &d, sl->location);
    }
    case PG_QUERY__SUB_LINK_TYPE__ANY_SUBLINK:
    case PG_QUERY__SUB_LINK_TYPE__ALL_SUBLINK: {
        const char *opn = sl->n_oper_name ? pn_str(sl->oper_name[sl->n_oper_name - 1]) : "=";
        bool any = sl->sub_link_type == PG_QUERY__SUB_LINK_TYPE__ANY_SUBLINK;
        if (!((any && !strcmp(opn, "=")) || (!any && !strcmp(opn, "<>")))) {
            err_at(err, sl->location, "0A000", "%s %s (subquery) is not supported yet", opn, any ? "ANY" : "ALL");
            return NULL;
        }
        tl_expr *l = bind_expr(bc, sl->testexpr, err);
        if (!l) return NULL;
        if (plan_sub(bc, sl->subselect, sl->location, &f, &r, err) < 0) return NULL;
        if (r.ncols != 1) {
            op_free(r.root);
            err_at(err, sl->location, "42601", r.ncols > 1 ? "subquery has too many columns" : "subquery has too few columns");
            return NULL;
        }
        tl_type t = r.types[0];
        tl_type ct = common_type(l->type, t);
        if (ct.id == TL_TYPE_COUNT) {
            op_free(r.root);
            err_at(err, sl->location, "42883", "operator does not exist: %s = %s", op_display(l->type, q),
                   op_display(t, q));
            return NULL;
        }
        if (ct.id == TL_UNKNOWN) ct = tl_type_make(TL_TEXT);
        if (f.nrefs) {
            op_free(r.root);
            if (!(l = coerce(bc, l, ct, err))) return NULL;
            return make_subq(bc, sl, any ? SQ_ANY : SQ_ALL, &f, t, ct, l);
        }
        if (subq_drain(q, r.root, t, UINT64_MAX, true, &q->arena, &vals, &n, err) < 0) return NULL;
        tl_expr *e = expr_new(q, E_IN, tl_type_make(TL_BOOL), sl->location);
        e->negated = !any;
        e->nargs = (int)n + 1;
        e->args = tl_arena_alloc(&q->arena, sizeof *e->args * (n + 1));
        if (!(e->args[0] = coerce(bc, l, ct, err))) return NULL;
        for (uint64_t i = 0; i < n; i++) {
            tl_expr *c = expr_const(q, t, &vals[i], sl->location);
            if (!(e->args[i + 1] = coerce(bc, c, ct, err))) return NULL;
        }
        return e;
    }
    default:
        err_at(err, sl->location, "0A000", "this kind of subquery is not supported yet");
        return NULL;
    }
}

/* COLLATE: tally compares strings bytewise, which is the "C" collation; the database's
 * default collation is accepted as the same (the oracle runs in C.UTF-8). */
static tl_expr *bind_collate(bindctx *bc, PgQuery__CollateClause *cc, tl_error *err)
{
    tl_expr *a = bind_expr(bc, cc->arg, err);
    if (!a) return NULL;
    const char *schema = cc->n_collname > 1 ? pn_str(cc->collname[0]) : NULL;
    const char *name = cc->n_collname ? pn_str(cc->collname[cc->n_collname - 1]) : "";
    bool ok = (!schema || !strcmp(schema, "pg_catalog")) &&
              (!strcmp(name, "default") || !strcmp(name, "C") || !strcmp(name, "POSIX") || !strcmp(name, "ucs_basic") ||
               !strcmp(name, "C.UTF-8") || !strcmp(name, "C.utf8"));
    if (!ok) {
        err_at(err, cc->location, "42704", "collation \"%s\" for encoding \"UTF8\" does not exist", name);
        return NULL;
    }
    if (a->type.id == TL_UNKNOWN && !(a = coerce(bc, a, tl_type_make(TL_TEXT), err))) return NULL;
    if (!tl_type_is_string(a->type.id) || a->type.id == TL_JSON || a->type.id == TL_JSONB) {
        err_at(err, cc->location, "42804", "collations are not supported by type %s", op_display(a->type, bc->q));
        return NULL;
    }
    return a;
}

/* arr[i] (and arr[i][j] on a one-dimensional array: NULL, as PostgreSQL). */
static tl_expr *bind_indirection(bindctx *bc, PgQuery__AIndirection *ai, tl_error *err)
{
    /* (srf(...)).field in a target list: the SRF's column */
    if (ai->arg->node_case == PG_QUERY__NODE__NODE_FUNC_CALL && ai->n_indirection == 1 &&
        ai->indirection[0]->node_case == PG_QUERY__NODE__NODE_STRING) {
        PgQuery__FuncCall *fc = ai->arg->func_call;
        const char *fname = pn_str(fc->funcname[fc->n_funcname - 1]);
        if (srf_is(fname)) return bind_srf_target_pick(bc, fc, fname, pn_str(ai->indirection[0]), err);
    }
    tl_expr *a = bind_expr(bc, ai->arg, err);
    if (!a) return NULL;
    for (size_t i = 0; i < ai->n_indirection; i++) {
        pnode *ind = ai->indirection[i];
        if (ind->node_case == PG_QUERY__NODE__NODE_STRING && a->type.oid == TL_OID_RECORD) {
            if (!(a = record_field_expr(bc->q, a, pn_str(ind), a->location, err))) return NULL;
            continue;
        }
        if (ind->node_case != PG_QUERY__NODE__NODE_A_INDICES) {
            err_at(err, a->location, "0A000", "field selection is not supported yet");
            return NULL;
        }
        PgQuery__AIndices *ix = ind->a_indices;
        if (i > 0 && ai->indirection[i - 1]->node_case == PG_QUERY__NODE__NODE_A_INDICES && !ix->is_slice) {
            /* arr[i][j]: tally's arrays are one-dimensional, and PostgreSQL answers NULL */
            tl_datum null = {.isnull = true};
            return expr_const(bc->q, a->type, &null, a->location);
        }
        if (a->type.id != TL_ARRAY) {
            err_at(err, a->location, "42804", "cannot subscript type %s because it does not support subscripting",
                   op_display(a->type, bc->q));
            return NULL;
        }
        if (ix->is_slice || !ix->uidx) {
            err_at(err, a->location, "0A000", "array slices are not supported yet");
            return NULL;
        }
        tl_expr *k = bind_expr(bc, ix->uidx, err);
        if (!k) return NULL;
        if (!(k = coerce(bc, k, tl_type_make(TL_INT4), err))) return NULL;
        a = array_subscript_expr(bc->q, a, k, a->location);
    }
    return a;
}

/* ARRAY[...]: the elements' common type (text if all are untyped), or with elem the
 * element type of a cast around the constructor, which PostgreSQL applies to each
 * element (ARRAY['..', '..']::uuid[]). arr_type: that cast's array type. */
static tl_expr *bind_array_ctor(bindctx *bc, PgQuery__AArrayExpr *ax, const tl_type *elem, const tl_type *arr_type,
                                tl_error *err)
{
    qctx *q = bc->q;
    int n = (int)ax->n_elements;
    tl_expr **items = tl_arena_alloc(&q->arena, sizeof *items * (size_t)(n + 1));
    tl_type t = tl_type_make(TL_UNKNOWN);
    for (int i = 0; i < n; i++) {
        if (ax->elements[i]->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR) {
            err_at(err, ax->location, "0A000", "multidimensional arrays are not supported yet");
            return NULL;
        }
        if (!(items[i] = bind_expr(bc, ax->elements[i], err))) return NULL;
        if (items[i]->type.id == TL_ARRAY) {
            err_at(err, items[i]->location, "0A000", "multidimensional arrays are not supported yet");
            return NULL;
        }
        if (elem) continue;
        tl_type c = merge_type(t, items[i]->type);
        if (c.id == TL_TYPE_COUNT) {
            err_at(err, items[i]->location, "42804", "ARRAY types %s and %s cannot be matched", op_display(t, q),
                   op_display(items[i]->type, q));
            return NULL;
        }
        t = c;
    }
    tl_type at;
    if (elem) {
        t = *elem;
        at = *arr_type;
        for (int i = 0; i < n; i++)
            if (!(items[i] = cast_expr(q, items[i], t, true, err))) return NULL;
    } else {
        if (n == 0) {
            err_at(err, ax->location, "42P18", "cannot determine type of empty array");
            snprintf(err->hint, sizeof err->hint, "Explicitly cast to the desired type, for example ARRAY[]::integer[].");
            return NULL;
        }
        if (t.id == TL_UNKNOWN) t = tl_type_make(TL_TEXT);
        for (int i = 0; i < n; i++)
            if (!(items[i] = coerce(bc, items[i], t, err))) return NULL;
        if (t.id == TL_ENUM) {
            if (cat_array_of(q, t, &at) < 0) at = tl_type_make(TL_TYPE_COUNT);
        } else {
            uint32_t aoid = tl_array_oid_of(tl_type_oid(t));
            at = aoid ? tl_array_type(aoid) : tl_type_make(TL_TYPE_COUNT);
        }
        if (at.id == TL_TYPE_COUNT) {
            err_at(err, ax->location, "42704", "could not find array type for data type %s", op_display(t, q));
            return NULL;
        }
    }
    return array_ctor_expr(q, at, items, n, ax->location);
}

static tl_expr *bind_expr(bindctx *bc, pnode *n, tl_error *err)
{
    if (!n) {
        err_at(err, -1, "XX000", "missing expression");
        return NULL;
    }
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_COLUMN_REF:
        if ((!bc->sc || bc->sc->nrels == 0) && !bc->q->outer) {
            const char *f = pn_str(n->column_ref->fields[0]);
            err_at(err, n->column_ref->location, "42703", "column \"%s\" does not exist", f ? f : "*");
            return NULL;
        }
        return bind_colref(bc, n->column_ref, err);
    case PG_QUERY__NODE__NODE_A_CONST:
        return bind_const(bc, n->a_const, err);
    case PG_QUERY__NODE__NODE_TYPE_CAST: {
        tl_type t;
        if (n->type_cast->arg->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR &&
            n->type_cast->type_name->n_array_bounds > 0) {
            PgQuery__TypeName tn = *n->type_cast->type_name;
            tn.n_array_bounds = 0;
            tl_type et;
            if (type_from_typename(bc->q, &tn, &et, err) < 0 ||
                type_from_typename(bc->q, n->type_cast->type_name, &t, err) < 0)
                return NULL;
            return bind_array_ctor(bc, n->type_cast->arg->a_array_expr, &et, &t, err);
        }
        tl_expr *a = bind_expr(bc, n->type_cast->arg, err);
        if (!a) return NULL;
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
    case PG_QUERY__NODE__NODE_PARAM_REF: /* extended protocol: prepared.c owns $n */
        return param_expr(bc->q, n->param_ref->number, n->param_ref->location, err);
    case PG_QUERY__NODE__NODE_SUB_LINK:
        return bind_sublink(bc, n->sub_link, err);
    case PG_QUERY__NODE__NODE_COLLATE_CLAUSE:
        return bind_collate(bc, n->collate_clause, err);
    case PG_QUERY__NODE__NODE_A_INDIRECTION:
        return bind_indirection(bc, n->a_indirection, err);
    case PG_QUERY__NODE__NODE_A_ARRAY_EXPR:
        return bind_array_ctor(bc, n->a_array_expr, NULL, NULL, err);
    case PG_QUERY__NODE__NODE_MIN_MAX_EXPR: {
        PgQuery__MinMaxExpr *mm = n->min_max_expr;
        tl_expr *e = expr_new(bc->q, E_MINMAX, tl_type_make(TL_UNKNOWN), mm->location);
        e->negated = mm->op == PG_QUERY__MIN_MAX_OP__IS_LEAST;
        e->nargs = (int)mm->n_args;
        e->args = tl_arena_alloc(&bc->q->arena, sizeof *e->args * (mm->n_args + 1));
        tl_type t = tl_type_make(TL_UNKNOWN);
        for (int i = 0; i < e->nargs; i++) {
            if (!(e->args[i] = bind_expr(bc, mm->args[i], err))) return NULL;
            tl_type c = merge_type(t, e->args[i]->type);
            if (c.id == TL_TYPE_COUNT) {
                err_at(err, e->args[i]->location, "42804", "%s types %s and %s cannot be matched",
                       e->negated ? "LEAST" : "GREATEST", op_display(t, bc->q), op_display(e->args[i]->type, bc->q));
                return NULL;
            }
            t = c;
        }
        if (t.id == TL_UNKNOWN) t = tl_type_make(TL_TEXT);
        for (int i = 0; i < e->nargs; i++)
            if (!(e->args[i] = coerce(bc, e->args[i], t, err))) return NULL;
        e->type = t;
        e->name = e->negated ? "least" : "greatest";
        return e;
    }
    case PG_QUERY__NODE__NODE_BOOLEAN_TEST: {
        PgQuery__BooleanTest *bt = n->boolean_test;
        tl_expr *a = bind_expr(bc, bt->arg, err);
        if (!a || !(a = coerce(bc, a, tl_type_make(TL_BOOL), err))) return NULL;
        qctx *q = bc->q;
        tl_datum t = {.v.b = true}, f = {.v.b = false};
        tl_expr *e;
        switch (bt->booltesttype) {
        case PG_QUERY__BOOL_TEST_TYPE__IS_UNKNOWN:
        case PG_QUERY__BOOL_TEST_TYPE__IS_NOT_UNKNOWN:
            e = expr_new(q, bt->booltesttype == PG_QUERY__BOOL_TEST_TYPE__IS_UNKNOWN ? E_ISNULL : E_ISNOTNULL,
                         tl_type_make(TL_BOOL), bt->location);
            e->nargs = 1;
            e->args = tl_arena_alloc(&q->arena, sizeof *e->args);
            e->args[0] = a;
            return e;
        default: break;
        }
        /* IS TRUE = coalesce(x, false); IS NOT FALSE = coalesce(x, true); negations */
        bool truth = bt->booltesttype == PG_QUERY__BOOL_TEST_TYPE__IS_TRUE ||
                     bt->booltesttype == PG_QUERY__BOOL_TEST_TYPE__IS_NOT_TRUE;
        bool neg = bt->booltesttype == PG_QUERY__BOOL_TEST_TYPE__IS_NOT_TRUE ||
                   bt->booltesttype == PG_QUERY__BOOL_TEST_TYPE__IS_FALSE;
        e = expr_new(q, E_COALESCE, tl_type_make(TL_BOOL), bt->location);
        e->nargs = 2;
        e->args = tl_arena_alloc(&q->arena, sizeof *e->args * 2);
        e->args[0] = a;
        e->args[1] = expr_const(q, tl_type_make(TL_BOOL), truth ? &f : &t, bt->location);
        if (!neg) return e;
        tl_expr *nt = expr_new(q, E_NOT, tl_type_make(TL_BOOL), bt->location);
        nt->nargs = 1;
        nt->args = tl_arena_alloc(&q->arena, sizeof *nt->args);
        nt->args[0] = e;
        return nt;
    }
    default:
        err_at(err, -1, "0A000", "expression kind %d is not supported yet", (int)n->node_case);
        return NULL;
    }
}

tl_expr *bind_rel_expr(qctx *q, tl_rel *rel, pnode *n, tl_error *err)
{
    scope *sc = tl_arena_zalloc(&q->arena, sizeof *sc);
    if (rel) {
        scope_rel *sr = push_rel(q, sc, rel->name, rel->natts);
        sr->rel = rel;
        for (int i = 0; i < rel->natts; i++) {
            sr->names[i] = rel->atts[i].name;
            sr->types[i] = rel->atts[i].type;
        }
        sync_types(q, sc);
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

static bool has_win(const tl_expr *e)
{
    if (!e) return false;
    if (e->kind == E_WIN) return true;
    for (int i = 0; i < e->nargs; i++)
        if (has_win(e->args[i])) return true;
    return false;
}

static void mark_cols(const tl_expr *e, bool *need)
{
    if (!e) return;
    if (e->kind == E_COL) need[e->col] = true;
    for (int i = 0; i < e->nargs; i++) mark_cols(e->args[i], need);
    mark_cols(e->agg_filter, need);
    mark_cols(e->agg_order, need);
}

/* ---- the target list -------------------------------------------------------------------- */

typedef struct target {
    tl_expr *e;
    const char *name;
} target;

static bool nsort_has_win(const target *tl, int nt)
{
    for (int i = 0; i < nt; i++)
        if (has_win(tl[i].e)) return true;
    return false;
}

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
static const char *inner_name(qctx *q, pnode *v, const tl_expr *e);

/* as PostgreSQL's FigureColname: a cast names the column after its (outermost) type
 * only when what it casts has no stronger name of its own (a constant, CASE). */
static const char *figure_name(qctx *q, pnode *v, const tl_expr *e);

const char *target_name(qctx *q, PgQuery__ResTarget *rt, const tl_expr *e)
{
    if (rt->name && *rt->name) return rt->name;
    return figure_name(q, rt->val, e);
}

static const char *figure_name(qctx *q, pnode *v, const tl_expr *e)
{
    PgQuery__TypeName *outer = NULL;
    while (v && v->node_case == PG_QUERY__NODE__NODE_TYPE_CAST) {
        if (!outer) outer = v->type_cast->type_name;
        v = v->type_cast->arg;
    }
    const char *n = inner_name(q, v, e);
    if (outer && (!strcmp(n, "?column?") || (v && v->node_case == PG_QUERY__NODE__NODE_CASE_EXPR))) {
        const char *tn = outer->n_names ? pn_str(outer->names[outer->n_names - 1]) : NULL;
        if (tn) return tl_arena_strdup(&q->arena, tn);
    }
    return n;
}

static const char *inner_name(qctx *q, pnode *v, const tl_expr *e)
{
    /* as PostgreSQL's FigureColname: a field selection names the field; a subscript or
     * COLLATE names like its argument */
    if (v && v->node_case == PG_QUERY__NODE__NODE_A_INDIRECTION && v->a_indirection->n_indirection &&
        v->a_indirection->indirection[v->a_indirection->n_indirection - 1]->node_case == PG_QUERY__NODE__NODE_STRING)
        return pn_str(v->a_indirection->indirection[v->a_indirection->n_indirection - 1]);
    while (v && (v->node_case == PG_QUERY__NODE__NODE_A_INDIRECTION || v->node_case == PG_QUERY__NODE__NODE_COLLATE_CLAUSE))
        v = v->node_case == PG_QUERY__NODE__NODE_A_INDIRECTION ? v->a_indirection->arg : v->collate_clause->arg;
    if (v && v->node_case == PG_QUERY__NODE__NODE_TYPE_CAST) return figure_name(q, v, e);
    if (v && v->node_case == PG_QUERY__NODE__NODE_COLUMN_REF) {
        PgQuery__ColumnRef *cr = v->column_ref;
        const char *n = pn_str(cr->fields[cr->n_fields - 1]);
        if (n) return n;
    }
    if (v && v->node_case == PG_QUERY__NODE__NODE_SUB_LINK && v->sub_link->sub_link_type == PG_QUERY__SUB_LINK_TYPE__ARRAY_SUBLINK)
        return "array";
    if (v && v->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR) return "array";
    if (v && v->node_case == PG_QUERY__NODE__NODE_FUNC_CALL) {
        PgQuery__FuncCall *fc = v->func_call;
        return pn_str(fc->funcname[fc->n_funcname - 1]);
    }
    if (v && v->node_case == PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION) return expr_colname(e);
    if (v && v->node_case == PG_QUERY__NODE__NODE_CASE_EXPR) return "case";
    if (v && v->node_case == PG_QUERY__NODE__NODE_MIN_MAX_EXPR)
        return v->min_max_expr->op == PG_QUERY__MIN_MAX_OP__IS_LEAST ? "least" : "greatest";
    if (v && v->node_case == PG_QUERY__NODE__NODE_SUB_LINK) {
        PgQuery__SubLink *sl = v->sub_link;
        if (sl->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK) return "exists";
        if (sl->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXPR_SUBLINK && sl->subselect &&
            sl->subselect->node_case == PG_QUERY__NODE__NODE_SELECT_STMT) {
            PgQuery__SelectStmt *ss = sl->subselect->select_stmt;
            while (ss->op != PG_QUERY__SET_OPERATION__SETOP_NONE && ss->larg) ss = ss->larg;
            if (ss->n_target_list == 1) return target_name(q, ss->target_list[0]->res_target, e);
        }
    }
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
        if (sr->shadowed || (rel && strcmp(sr->alias, rel) != 0)) continue;
        any = true;
        for (int a = 0; a < sr->ncols; a++) {
            if ((!rel || sr->is_alias) && sr->hidden[a]) continue;
            if (*nt == *cap) {
                *cap *= 2;
                target *n2 = tl_arena_alloc(&bc->q->arena, sizeof *n2 * (size_t)*cap);
                memcpy(n2, *tl, sizeof *n2 * (size_t)*nt);
                *tl = n2;
            }
            (*tl)[*nt].e = col_expr(bc, sr, a, cr->location);
            (*tl)[*nt].name = sr->names[a];
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

struct fromitem {
    int kind; /* 0 relation or subquery, 1 join */
    int rel;  /* scope index */
    struct fromitem *l, *r;
    int jointype;
    pnode *quals;
    tl_expr *extra_on; /* USING / NATURAL equalities, WHERE conjuncts of comma joins */
    tl_expr *pushed;   /* relation: WHERE conjuncts on it alone, filtered in its scan */
    int location;
};

/* ---- subqueries and CTEs in FROM ---------------------------------------------------------- */

typedef struct cte_def {
    const char *name;
    PgQuery__CommonTableExpr *cte;
    struct cte_def *visible; /* the WITH items before this one */
    struct cte_def *next;
} cte_def;

static void pending_add(qctx *q, op *o)
{
    if (q->npending == q->cappending) {
        int cap = q->cappending ? q->cappending * 2 : 8;
        op **n = tl_arena_alloc(&q->arena, sizeof *n * (size_t)cap);
        if (q->npending) memcpy(n, q->pending, sizeof *n * (size_t)q->npending);
        q->pending = n;
        q->cappending = cap;
    }
    q->pending[q->npending++] = o;
}

static void pending_take(qctx *q, op *o)
{
    for (int i = 0; i < q->npending; i++)
        if (q->pending[i] == o) q->pending[i] = NULL;
}

/* A planned SELECT as the columns of a FROM item. */
static int add_sub(qctx *q, scope *sc, const char *alias, PgQuery__Alias *al, qresult *r, int location,
                   tl_error *err)
{
    if (sc->nrels == (int)TL_ARRAY_LEN(sc->rels)) {
        op_free(r->root);
        return err_at(err, location, "54000", "too many tables in FROM");
    }
    for (int i = 0; i < sc->nrels; i++)
        if (strcmp(sc->rels[i].alias, alias) == 0) {
            op_free(r->root);
            return err_at(err, location, "42712", "table name \"%s\" specified more than once", alias);
        }
    op *root = r->root;
    if (root->ncols > r->ncols) {
        tl_expr **cols = tl_arena_alloc(&q->arena, sizeof *cols * (size_t)(r->ncols + 1));
        for (int i = 0; i < r->ncols; i++) {
            cols[i] = expr_new(q, E_COL, r->types[i], -1);
            cols[i]->col = i;
        }
        root = op_project(q, root, r->ncols, cols);
    }
    scope_rel *sr = push_rel(q, sc, alias, r->ncols);
    sr->sub = root;
    pending_add(q, root);
    size_t nal = al ? al->n_colnames : 0;
    if ((int)nal > r->ncols)
        return err_at(err, location, "42P10", "table \"%s\" has %d columns available but %d columns specified", alias,
                      r->ncols, (int)nal);
    for (int i = 0; i < r->ncols; i++) {
        sr->names[i] = i < (int)nal ? pn_str(al->colnames[i]) : r->desc[i].name;
        sr->types[i] = r->types[i];
        sr->src_table[i] = r->desc[i].table_oid;
        sr->src_attnum[i] = r->desc[i].attnum;
    }
    sync_types(q, sc);
    return 0;
}

/* A set-returning function in FROM: rows computed now from constant arguments (or a
 * correlated subquery's outer values). */
static int add_range_function(qctx *q, scope *sc, PgQuery__RangeFunction *rf, tl_error *err)
{
    if (rf->is_rowsfrom || rf->n_functions != 1 || rf->n_coldeflist)
        return err_at(err, -1, "0A000", "ROWS FROM and column definition lists are not supported yet");
    pnode *item = rf->functions[0];
    pnode *call = item->node_case == PG_QUERY__NODE__NODE_LIST && item->list->n_items ? item->list->items[0] : item;
    if (call->node_case != PG_QUERY__NODE__NODE_FUNC_CALL)
        return err_at(err, -1, "0A000", "this kind of function in FROM is not supported yet");
    PgQuery__FuncCall *fc = call->func_call;
    const char *name = pn_str(fc->funcname[fc->n_funcname - 1]);
    const char *schema = fc->n_funcname == 2 ? pn_str(fc->funcname[0]) : NULL;
    if (!srf_is(name) || (schema && strcmp(schema, "pg_catalog") && strcmp(schema, "information_schema")) ||
        (!strcmp(name, "_pg_expandarray") && !(schema && !strcmp(schema, "information_schema")))) {
        if (fn_lookup_name(name) || agg_lookup(name))
            return err_at(err, fc->location, "0A000", "function %s in FROM is not supported yet", name);
        return err_at(err, fc->location, "42883", "function %s does not exist", name);
    }
    scope empty = {0};
    bindctx nb = {.q = q, .sc = &empty};
    srf_call c;
    if (bind_srf_call(&nb, fc, name, &c, err) < 0) return -1;
    op *o = srf_from_op(q, &c, rf->ordinality, err);
    if (!o) return -1;
    qresult r = {.root = o, .ncols = o->ncols, .types = o->types};
    r.desc = tl_arena_zalloc(&q->arena, sizeof *r.desc * (size_t)(o->ncols + 1));
    const char *alias = rf->alias && rf->alias->aliasname ? rf->alias->aliasname : name;
    for (int i = 0; i < c.ncols; i++) r.desc[i].name = c.ncols == 1 ? alias : c.names[i];
    if (rf->ordinality) r.desc[c.ncols].name = "ordinality";
    return add_sub(q, sc, alias, rf->alias, &r, fc->location, err);
}

/* 1 = not a CTE name, 0 = added, -1 = error. */
static int add_cte_ref(qctx *q, scope *sc, PgQuery__RangeVar *rv, tl_error *err)
{
    cte_def *d = q->ctes;
    while (d && strcmp(d->name, rv->relname) != 0) d = d->next;
    if (!d) return 1;
    pnode *body = d->cte->ctequery;
    if (!body || body->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return err_at(err, rv->location, "0A000", "only SELECT is supported in WITH");
    cte_def *saved = q->ctes;
    q->ctes = d->visible;
    qresult r;
    int rc = plan_select(q, body->select_stmt, &r, err);
    q->ctes = saved;
    if (rc < 0) return -1;
    PgQuery__Alias al = PG_QUERY__ALIAS__INIT;
    al.n_colnames = d->cte->n_aliascolnames;
    al.colnames = d->cte->aliascolnames;
    const char *alias = rv->alias && rv->alias->aliasname ? rv->alias->aliasname : d->name;
    return add_sub(q, sc, alias, rv->alias && rv->alias->n_colnames ? rv->alias : &al, &r, rv->location, err);
}

static tl_expr *make_bool2(qctx *q, ekind k, tl_expr *a, tl_expr *b)
{
    if (!a) return b;
    if (!b) return a;
    tl_expr *e = expr_new(q, k, tl_type_make(TL_BOOL), a->location);
    e->nargs = 2;
    e->args = tl_arena_alloc(&q->arena, sizeof *e->args * 2);
    e->args[0] = a;
    e->args[1] = b;
    return e;
}

static tl_expr *bind_binop(bindctx *bc, const char *opn, tl_expr *l, tl_expr *r, int location, tl_error *err);

/* USING (cols) / NATURAL: equality conditions, and the right side's columns hidden from
 * unqualified references (they are merged into the left's). */
static int bind_using(qctx *q, scope *sc, fromitem *fi, PgQuery__JoinExpr *je, tl_error *err)
{
    int llo, lhi, rlo, rhi;
    span_of(fi->l, sc, &llo, &lhi);
    span_of(fi->r, sc, &rlo, &rhi);
    const char *names[64];
    int n = 0;
    if (je->is_natural) {
        for (int i = 0; i < sc->nrels; i++) {
            scope_rel *lr = &sc->rels[i];
            if (lr->base < llo || lr->base >= lhi) continue;
            for (int c = 0; c < lr->ncols && n < 64; c++) {
                if (lr->hidden[c]) continue;
                for (int k = 0; k < sc->nrels; k++) {
                    scope_rel *rr = &sc->rels[k];
                    if (rr->base < rlo || rr->base >= rhi) continue;
                    if (find_att(rr, lr->names[c], true) >= 0) names[n++] = lr->names[c];
                }
            }
        }
    } else {
        for (size_t i = 0; i < je->n_using_clause && n < 64; i++) names[n++] = pn_str(je->using_clause[i]);
    }
    bindctx bc = {.q = q, .sc = sc};
    for (int u = 0; u < n; u++) {
        tl_expr *sides[2] = {NULL, NULL};
        for (int side = 0; side < 2; side++) {
            int lo = side ? rlo : llo, hi = side ? rhi : lhi;
            for (int i = 0; i < sc->nrels; i++) {
                scope_rel *sr = &sc->rels[i];
                if (sr->base < lo || sr->base >= hi) continue;
                int a = find_att(sr, names[u], true);
                if (a == -1) continue;
                if (sides[side] || a == -2)
                    return err_at(err, fi->location, "42702",
                                  "common column name \"%s\" appears more than once in %s table", names[u],
                                  side ? "right" : "left");
                sides[side] = col_expr(&bc, sr, a, fi->location);
                if (side) sr->hidden[a] = true;
            }
            if (!sides[side])
                return err_at(err, fi->location, "42703", "column \"%s\" specified in USING clause does not exist in %s table",
                              names[u], side ? "right" : "left");
        }
        tl_expr *eq = bind_binop(&bc, "=", sides[0], sides[1], fi->location, err);
        if (!eq) return -1;
        fi->extra_on = make_bool2(q, E_AND, fi->extra_on, eq);
    }
    return 0;
}

/* (a JOIN b) AS j: the join's columns under one name; a and b are no longer visible. */
static int alias_join(qctx *q, scope *sc, fromitem *fi, PgQuery__Alias *al, tl_error *err)
{
    int lo, hi;
    span_of(fi, sc, &lo, &hi);
    if (sc->nrels == (int)TL_ARRAY_LEN(sc->rels)) return err_at(err, -1, "54000", "too many tables in FROM");
    for (int i = 0; i < sc->nrels; i++) {
        if (!strcmp(sc->rels[i].alias, al->aliasname) && !(sc->rels[i].base >= lo && sc->rels[i].base < hi))
            return err_at(err, -1, "42712", "table name \"%s\" specified more than once", al->aliasname);
    }
    int ncols = hi - lo;
    if ((int)al->n_colnames > ncols)
        return err_at(err, -1, "42P10", "table \"%s\" has %d columns available but %d columns specified", al->aliasname,
                      ncols, (int)al->n_colnames);
    scope_rel *sr = &sc->rels[sc->nrels];
    memset(sr, 0, sizeof *sr);
    size_t n = (size_t)(ncols ? ncols : 1);
    sr->names = tl_arena_zalloc(&q->arena, sizeof *sr->names * n);
    sr->types = tl_arena_zalloc(&q->arena, sizeof *sr->types * n);
    sr->src_table = tl_arena_zalloc(&q->arena, sizeof *sr->src_table * n);
    sr->src_attnum = tl_arena_zalloc(&q->arena, sizeof *sr->src_attnum * n);
    sr->hidden = tl_arena_zalloc(&q->arena, sizeof *sr->hidden * n);
    for (int i = 0; i < sc->nrels; i++) {
        scope_rel *in = &sc->rels[i];
        if (in->shadowed || in->base < lo || in->base >= hi) continue;
        for (int c = 0; c < in->ncols; c++) {
            int at = in->base + c - lo;
            sr->names[at] = in->names[c];
            sr->types[at] = in->types[c];
            sr->src_table[at] = in->src_table[c];
            sr->src_attnum[at] = in->src_attnum[c];
            sr->hidden[at] = in->hidden[c];
        }
        in->shadowed = true;
    }
    for (size_t c = 0; c < al->n_colnames; c++) sr->names[c] = pn_str(al->colnames[c]);
    sr->alias = al->aliasname;
    sr->base = lo;
    sr->ncols = ncols;
    sr->is_alias = true;
    sc->nrels++;
    return 0;
}

static fromitem *bind_from(qctx *q, scope *sc, pnode *n, tl_error *err)
{
    fromitem *fi = tl_arena_zalloc(&q->arena, sizeof *fi);
    if (n->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
        if (add_rel(q, sc, n->range_var, err) < 0) return NULL;
        fi->kind = 0;
        fi->rel = sc->nrels - 1;
        return fi;
    }
    if (n->node_case == PG_QUERY__NODE__NODE_RANGE_SUBSELECT) {
        PgQuery__RangeSubselect *rs = n->range_subselect;
        if (rs->lateral) {
            err_at(err, -1, "0A000", "LATERAL subqueries are not supported yet");
            return NULL;
        }
        if (!rs->alias || !rs->alias->aliasname) {
            err_at(err, -1, "42601", "subquery in FROM must have an alias");
            snprintf(err->hint, sizeof err->hint, "For example, FROM (SELECT ...) [AS] foo.");
            return NULL;
        }
        qresult r;
        if (rs->subquery->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) {
            err_at(err, -1, "0A000", "this kind of subquery is not supported");
            return NULL;
        }
        if (plan_select(q, rs->subquery->select_stmt, &r, err) < 0) return NULL;
        if (add_sub(q, sc, rs->alias->aliasname, rs->alias, &r, -1, err) < 0) return NULL;
        fi->kind = 0;
        fi->rel = sc->nrels - 1;
        return fi;
    }
    if (n->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR) {
        PgQuery__JoinExpr *je = n->join_expr;
        fi->kind = 1;
        if (!(fi->l = bind_from(q, sc, je->larg, err))) return NULL;
        if (!(fi->r = bind_from(q, sc, je->rarg, err))) return NULL;
        fi->jointype = je->jointype;
        if (je->jointype == PG_QUERY__JOIN_TYPE__JOIN_FULL && (je->is_natural || je->n_using_clause)) {
            err_at(err, -1, "0A000", "FULL JOIN with USING or NATURAL is not supported yet");
            return NULL;
        }
        fi->quals = je->quals;
        if ((je->is_natural || je->n_using_clause) && bind_using(q, sc, fi, je, err) < 0) return NULL;
        if (je->alias && je->alias->aliasname && alias_join(q, sc, fi, je->alias, err) < 0) return NULL;
        return fi;
    }
    if (n->node_case == PG_QUERY__NODE__NODE_RANGE_FUNCTION) {
        if (add_range_function(q, sc, n->range_function, err) < 0) return NULL;
        fi->kind = 0;
        fi->rel = sc->nrels - 1;
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

/* Copy of e with every column c renumbered map[c]. */
static tl_expr *remap_cols(qctx *q, const tl_expr *e, const int *map)
{
    tl_expr *c = expr_new(q, e->kind, e->type, e->location);
    *c = *e;
    if (e->kind == E_COL) c->col = map[e->col];
    if (e->nargs) {
        c->args = tl_arena_alloc(&q->arena, sizeof *c->args * (size_t)e->nargs);
        for (int i = 0; i < e->nargs; i++) c->args[i] = remap_cols(q, e->args[i], map);
    }
    return c;
}

/* Operators over a FROM tree. Every join outputs all scope columns of its subtree at the
 * scope's own positions relative to the subtree's first column. */
static op *build_from(qctx *q, scope *sc, fromitem *fi, bool *need, const tl_table_snap *snaps,
                      tl_expr *pushed, const bool *need_nowhere, tl_error *err)
{
    if (fi->kind == 0) {
        scope_rel *sr = &sc->rels[fi->rel];
        bool *nofilter = NULL;
        if (fi->pushed && !pushed && !sr->sub) {
            /* what the rest of the statement needs, should storage take the whole filter */
            nofilter = tl_arena_alloc(&q->arena, (size_t)sr->rel->natts + 1);
            memcpy(nofilter, need + sr->base, (size_t)sr->rel->natts);
        } else if (pushed && !fi->pushed && need_nowhere && !sr->sub) {
            nofilter = tl_arena_alloc(&q->arena, (size_t)sr->rel->natts + 1);
            memcpy(nofilter, need_nowhere + sr->base, (size_t)sr->rel->natts);
        }
        if (fi->pushed) {
            mark_cols(fi->pushed, need); /* WHERE no longer holds it: its columns must still be read */
            pushed = make_bool2(q, E_AND, pushed, shift_cols(q, fi->pushed, -sr->base));
        }
        if (sr->sub) {
            op *o = sr->sub;
            pending_take(q, o);
            sr->sub = NULL;
            if (pushed) o = op_filter(q, o, pushed);
            return o;
        }
        return acl_scan_ex(q, sr->rel, &snaps[fi->rel], need + sr->base, pushed, nofilter); /* org scoping */
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
    }
    on = make_bool2(q, E_AND, on, fi->extra_on);
    mark_cols(on, need);
    op *l = build_from(q, sc, fi->l, need, snaps, NULL, NULL, err);
    op *r = l ? build_from(q, sc, fi->r, need, snaps, NULL, NULL, err) : NULL;
    if (!r) {
        if (l) op_free(l);
        return NULL;
    }
    bool right = fi->jointype == PG_QUERY__JOIN_TYPE__JOIN_RIGHT;
    if (right) {
        /* RIGHT JOIN is a LEFT JOIN with the sides exchanged, then columns put back. */
        op *t = l;
        l = r;
        r = t;
        int a = llo, b = lhi;
        llo = rlo;
        lhi = rhi;
        rlo = a;
        rhi = b;
    }
    tl_expr *conj[32];
    int nconj = 0;
    if (on) collect_conj(on, conj, &nconj, 32);
    tl_expr *lk[32], *rk[32];
    int nk = 0;
    tl_expr *residual = NULL;
    for (int i = 0; i < nconj; i++) {
        tl_expr *c = conj[i];
        if (c->kind == E_FUNC && c->nargs == 2 && c->fn && !strcmp(c->fn->name, "=")) {
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
        residual = make_bool2(q, E_AND, residual, c);
    }
    int nl = lhi - llo, nr = rhi - rlo;
    /* positions in the join's output (probe side's columns, then build side's) */
    int *map = tl_arena_alloc(&q->arena, sizeof *map * (size_t)(sc->ncols + 1));
    for (int c = 0; c < sc->ncols; c++) map[c] = 0;
    for (int c = llo; c < lhi; c++) map[c] = c - llo;
    for (int c = rlo; c < rhi; c++) map[c] = nl + (c - rlo);
    if (residual) residual = remap_cols(q, residual, map);
    op *j = op_hashjoin(q, l, r, nk, lk, rk, right ? PG_QUERY__JOIN_TYPE__JOIN_LEFT : fi->jointype, residual);
    if (!right) return j;
    /* back to scope order: the original left (now build side) first */
    int lo = rlo < llo ? rlo : llo;
    tl_expr **cols = tl_arena_alloc(&q->arena, sizeof *cols * (size_t)(nl + nr + 1));
    for (int c = lo; c < lo + nl + nr; c++) {
        int at = map[c];
        cols[c - lo] = expr_new(q, E_COL, j->types[at], -1);
        cols[c - lo]->col = at;
    }
    return op_project(q, j, nl + nr, cols);
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

/* Attach a WHERE conjunct to the lowest inner join whose two sides it spans. */
static bool attach_conj(qctx *q, scope *sc, fromitem *fi, tl_expr *e)
{
    if (has_win(e) || has_agg(e)) return false;
    if (fi->kind == 0) {
        /* a condition on one relation runs in its scan, before any join: storage
         * predicates and zone maps apply, and joins see fewer rows */
        fi->pushed = make_bool2(q, E_AND, fi->pushed, e);
        return true;
    }
    int llo, lhi, rlo, rhi;
    span_of(fi->l, sc, &llo, &lhi);
    span_of(fi->r, sc, &rlo, &rhi);
    /* WHERE over an outer join may filter its preserved side early, never the other */
    if (fi->jointype == PG_QUERY__JOIN_TYPE__JOIN_LEFT)
        return cols_within(e, llo, lhi) && attach_conj(q, sc, fi->l, e);
    if (fi->jointype == PG_QUERY__JOIN_TYPE__JOIN_RIGHT)
        return cols_within(e, rlo, rhi) && attach_conj(q, sc, fi->r, e);
    if (fi->jointype != PG_QUERY__JOIN_TYPE__JOIN_INNER) return false;
    if (cols_within(e, llo, lhi)) return attach_conj(q, sc, fi->l, e);
    if (cols_within(e, rlo, rhi)) return attach_conj(q, sc, fi->r, e);
    int lo = llo < rlo ? llo : rlo, hi = lhi > rhi ? lhi : rhi;
    if (!cols_within(e, lo, hi)) return false;
    fi->extra_on = make_bool2(q, E_AND, fi->extra_on, e);
    return true;
}

/* Replace window calls by columns numbered after the window operators' input. */
static tl_expr *extract_wins(qctx *q, winlist *wl, tl_expr *e)
{
    if (!e) return e;
    if (e->kind == E_WIN) {
        for (int k = 0; k < wl->n; k++)
            if (expr_equal(wl->wins[k], e) && wl->wins[k]->win == e->win) {
                tl_expr *c = expr_new(q, E_COL, e->type, e->location);
                c->col = wl->base + k;
                c->name = e->name;
                return c;
            }
        if (wl->n == wl->cap) {
            wl->cap = wl->cap ? wl->cap * 2 : 8;
            tl_expr **n = tl_arena_alloc(&q->arena, sizeof *n * (size_t)wl->cap);
            if (wl->n) memcpy(n, wl->wins, sizeof *n * (size_t)wl->n);
            wl->wins = n;
        }
        wl->wins[wl->n] = e;
        tl_expr *c = expr_new(q, E_COL, e->type, e->location);
        c->col = wl->base + wl->n++;
        c->name = e->name;
        return c;
    }
    if (!has_win(e)) return e;
    tl_expr *c = expr_new(q, e->kind, e->type, e->location);
    *c = *e;
    c->args = tl_arena_alloc(&q->arena, sizeof *c->args * (size_t)e->nargs);
    for (int i = 0; i < e->nargs; i++) c->args[i] = extract_wins(q, wl, e->args[i]);
    return c;
}

/* Column k of a planned SELECT as an expression of type `to`. */
static op *conform(qctx *q, qresult *r, const tl_type *to, tl_error *err)
{
    bool need = r->root->ncols != r->ncols;
    for (int i = 0; i < r->ncols; i++)
        need |= r->types[i].id != to[i].id || r->types[i].typmod != to[i].typmod;
    if (!need) return r->root;
    tl_expr **cols = tl_arena_alloc(&q->arena, sizeof *cols * (size_t)(r->ncols + 1));
    for (int i = 0; i < r->ncols; i++) {
        cols[i] = expr_new(q, E_COL, r->types[i], -1);
        cols[i]->col = i;
        if (r->types[i].id != to[i].id || r->types[i].typmod != to[i].typmod) {
            if (!(cols[i] = cast_expr(q, cols[i], to[i], false, err))) return NULL;
        }
    }
    return op_project(q, r->root, r->ncols, cols);
}

static int plan_setop(qctx *q, PgQuery__SelectStmt *st, qresult *res, tl_error *err)
{
    const char *what = st->op == PG_QUERY__SET_OPERATION__SETOP_UNION       ? "UNION"
                       : st->op == PG_QUERY__SET_OPERATION__SETOP_INTERSECT ? "INTERSECT"
                                                                            : "EXCEPT";
    qresult l, r;
    q->keep_unknown = true;
    if (plan_select(q, st->larg, &l, err) < 0) return -1;
    pending_add(q, l.root);
    q->keep_unknown = true;
    if (plan_select(q, st->rarg, &r, err) < 0) return -1;
    pending_add(q, r.root);
    if (l.ncols != r.ncols) return err_at(err, -1, "42601", "each %s query must have the same number of columns", what);
    int n = l.ncols;
    tl_type *types = tl_arena_alloc(&q->arena, sizeof *types * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        tl_type t = merge_type(l.types[i], r.types[i]);
        if (t.id == TL_TYPE_COUNT)
            return err_at(err, -1, "42804", "%s types %s and %s cannot be matched", what, op_display(l.types[i], q),
                          op_display(r.types[i], q));
        if (l.types[i].id == r.types[i].id && l.types[i].typmod == r.types[i].typmod) t = l.types[i];
        if (t.id == TL_UNKNOWN) t = tl_type_make(TL_TEXT);
        types[i] = t;
    }
    op *lo = conform(q, &l, types, err);
    op *ro = lo ? conform(q, &r, types, err) : NULL;
    if (!ro) {
        if (lo && lo != l.root) {
            pending_take(q, l.root);
            pending_add(q, lo);
        }
        return -1;
    }
    pending_take(q, l.root);
    pending_take(q, r.root);
    op *root;
    if (st->op == PG_QUERY__SET_OPERATION__SETOP_UNION) {
        root = op_append(q, lo, ro);
        if (!st->all) {
            tl_expr **cols = tl_arena_alloc(&q->arena, sizeof *cols * (size_t)(n + 1));
            for (int i = 0; i < n; i++) {
                cols[i] = expr_new(q, E_COL, types[i], -1);
                cols[i]->col = i;
            }
            root = op_hashagg(q, root, n, cols, 0, NULL);
        }
    } else {
        root = op_setop(q, lo, ro, st->op == PG_QUERY__SET_OPERATION__SETOP_INTERSECT, st->all);
    }
    pending_add(q, root);
    /* ORDER BY over the result's column names or positions */
    int nsort = (int)st->n_sort_clause;
    sort_key *keys = tl_arena_zalloc(&q->arena, sizeof *keys * (size_t)(nsort + 1));
    for (int i = 0; i < nsort; i++) {
        PgQuery__SortBy *sb = st->sort_clause[i]->sort_by;
        pnode *nd = sb->node;
        int col = -1;
        if (nd->node_case == PG_QUERY__NODE__NODE_A_CONST && nd->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
            col = nd->a_const->ival->ival - 1;
            if (col < 0 || col >= n)
                return err_at(err, nd->a_const->location, "42P10", "ORDER BY position %d is not in select list", col + 1);
        } else if (nd->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && nd->column_ref->n_fields == 1) {
            const char *name = pn_str(nd->column_ref->fields[0]);
            for (int k = 0; k < n && col < 0; k++)
                if (name && !strcmp(l.desc[k].name, name)) col = k;
            if (col < 0)
                return err_at(err, nd->column_ref->location, "42703", "column \"%s\" does not exist", name ? name : "?");
        } else {
            return err_at(err, sb->location, "0A000",
                          "invalid UNION/INTERSECT/EXCEPT ORDER BY clause");
        }
        keys[i].col = col;
        keys[i].desc = sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC;
        keys[i].nulls_first = sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_FIRST ||
                              (keys[i].desc && sb->sortby_nulls != PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_LAST);
    }
    int64_t limit = -1, offset = 0;
    bindctx nb = {.q = q};
    if (st->limit_count && !(st->limit_count->node_case == PG_QUERY__NODE__NODE_A_CONST && st->limit_count->a_const->isnull) &&
        const_int(q, &nb, st->limit_count, &limit, "LIMIT", err) < 0)
        return -1;
    if (st->limit_offset && const_int(q, &nb, st->limit_offset, &offset, "OFFSET", err) < 0) return -1;
    if (offset < 0) offset = 0;
    pending_take(q, root);
    if (nsort) root = op_sort(q, root, nsort, keys, limit >= 0 ? limit + offset : -1);
    if (limit >= 0 || offset > 0) root = op_limit(q, root, offset, limit);
    res->root = root;
    res->ncols = n;
    res->desc = tl_arena_zalloc(&q->arena, sizeof *res->desc * (size_t)(n + 1));
    res->types = types;
    for (int i = 0; i < n; i++) {
        res->desc[i] = l.desc[i];
        res->desc[i].type_oid = tl_type_oid(types[i]);
        res->desc[i].typlen = types[i].id == TL_ENUM ? 4 : tl_type_len(types[i].id);
        res->desc[i].typmod = types[i].typmod;
        if (types[i].id != l.types[i].id) res->desc[i].table_oid = 0, res->desc[i].attnum = 0;
    }
    return 0;
}

/* VALUES (...), (...): rows computed now (constants, or a correlated subquery's outer
 * values); columns typed as UNION would type them; ORDER BY by position or columnN. */
static int plan_values(qctx *q, PgQuery__SelectStmt *st, qresult *res, bool keep_unknown, tl_error *err)
{
    int nrows = (int)st->n_values_lists;
    int ncols = -1;
    scope empty = {0};
    bindctx nb = {.q = q, .sc = &empty};
    tl_expr ***rows = tl_arena_alloc(&q->arena, sizeof *rows * (size_t)nrows);
    for (int r = 0; r < nrows; r++) {
        PgQuery__List *l = st->values_lists[r]->list;
        if (ncols < 0) ncols = (int)l->n_items;
        if ((int)l->n_items != ncols)
            return err_at(err, -1, "42601", "VALUES lists must all be the same length");
        rows[r] = tl_arena_alloc(&q->arena, sizeof **rows * (size_t)(ncols + 1));
        for (int c = 0; c < ncols; c++)
            if (!(rows[r][c] = bind_expr(&nb, l->items[c], err))) return -1;
    }
    tl_type *types = tl_arena_alloc(&q->arena, sizeof *types * (size_t)(ncols + 1));
    for (int c = 0; c < ncols; c++) {
        tl_type t = tl_type_make(TL_UNKNOWN);
        for (int r = 0; r < nrows; r++) {
            tl_type m = merge_type(t, rows[r][c]->type);
            if (m.id == TL_TYPE_COUNT)
                return err_at(err, rows[r][c]->location, "42804", "VALUES types %s and %s cannot be matched",
                              op_display(t, q), op_display(rows[r][c]->type, q));
            t = m;
        }
        if (t.id == TL_UNKNOWN && !keep_unknown) t = tl_type_make(TL_TEXT);
        types[c] = t;
        for (int r = 0; r < nrows; r++)
            if (t.id != TL_UNKNOWN && !(rows[r][c] = coerce(&nb, rows[r][c], t, err))) return -1;
    }
    op *root = values_rows_op(q, ncols, types, nrows, rows, err);
    if (!root) return -1;
    int nsort = (int)st->n_sort_clause;
    sort_key *keys = tl_arena_zalloc(&q->arena, sizeof *keys * (size_t)(nsort + 1));
    for (int i = 0; i < nsort; i++) {
        PgQuery__SortBy *sb = st->sort_clause[i]->sort_by;
        int col = -1;
        pnode *k = sb->node;
        if (k->node_case == PG_QUERY__NODE__NODE_A_CONST && k->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL)
            col = k->a_const->ival->ival - 1;
        else if (k->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && k->column_ref->n_fields == 1) {
            const char *nm = pn_str(k->column_ref->fields[0]);
            if (nm && !strncmp(nm, "column", 6)) col = atoi(nm + 6) - 1;
        }
        if (col < 0 || col >= ncols) {
            op_free(root);
            return err_at(err, sb->location, "0A000", "ORDER BY on VALUES supports only column positions and names");
        }
        keys[i].col = col;
        keys[i].desc = sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC;
        keys[i].nulls_first = sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_FIRST ||
                              (keys[i].desc && sb->sortby_nulls != PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_LAST);
    }
    int64_t limit = -1, offset = 0;
    if (st->limit_count && !(st->limit_count->node_case == PG_QUERY__NODE__NODE_A_CONST && st->limit_count->a_const->isnull) &&
        const_int(q, &nb, st->limit_count, &limit, "LIMIT", err) < 0) {
        op_free(root);
        return -1;
    }
    if (st->limit_offset && const_int(q, &nb, st->limit_offset, &offset, "OFFSET", err) < 0) {
        op_free(root);
        return -1;
    }
    if (nsort) root = op_sort(q, root, nsort, keys, limit >= 0 ? limit + offset : -1);
    if (limit >= 0 || offset > 0) root = op_limit(q, root, offset < 0 ? 0 : offset, limit);
    res->root = root;
    res->ncols = ncols;
    res->types = types;
    res->desc = tl_arena_zalloc(&q->arena, sizeof *res->desc * (size_t)(ncols + 1));
    for (int c = 0; c < ncols; c++) {
        res->desc[c].name = tl_arena_printf(&q->arena, "column%d", c + 1);
        res->desc[c].type_oid = tl_type_oid(types[c]);
        res->desc[c].typlen = types[c].id == TL_ENUM ? 4 : tl_type_len(types[c].id);
        res->desc[c].typmod = types[c].typmod;
    }
    return 0;
}

static int plan_simple(qctx *q, PgQuery__SelectStmt *st, qresult *res, tl_error *err)
{
    bool keep_unknown = q->keep_unknown; /* a set operation's branch: outputs stay untyped */
    q->keep_unknown = false;
    if (st->n_values_lists) return plan_values(q, st, res, keep_unknown, err);
    if (st->into_clause) return err_at(err, -1, "0A000", "SELECT INTO is not supported");
    if (st->n_locking_clause) return err_at(err, -1, "0A000", "FOR UPDATE/SHARE is not supported");
    bool distinct_on = st->n_distinct_clause && st->distinct_clause[0] != NULL &&
                       st->distinct_clause[0]->node_case != PG_QUERY__NODE__NODE__NOT_SET;

    scope *sc = tl_arena_zalloc(&q->arena, sizeof *sc);
    fromitem **from = tl_arena_alloc(&q->arena, sizeof *from * (st->n_from_clause + 1));
    pnode *outer_where = q->from_where;
    q->from_where = st->where_clause;
    for (size_t i = 0; i < st->n_from_clause; i++)
        if (!(from[i] = bind_from(q, sc, st->from_clause[i], err))) {
            q->from_where = outer_where;
            return -1;
        }
    q->from_where = outer_where;
    /* FROM a, b, c: a left-deep chain of cross joins; WHERE supplies their conditions */
    for (size_t i = 1; i < st->n_from_clause; i++) {
        fromitem *j = tl_arena_zalloc(&q->arena, sizeof *j);
        j->kind = 1;
        j->l = from[0];
        j->r = from[i];
        j->jointype = PG_QUERY__JOIN_TYPE__JOIN_INNER;
        from[0] = j;
    }

    bindctx bc = {.q = q, .sc = sc, .allow_agg = false, .st = st};

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
        /* Conditions across the sides of inner joins become join conditions. */
        if (st->n_from_clause && from[0]->kind == 1) {
            tl_expr *conj[64];
            int nconj = 0;
            collect_conj(where, conj, &nconj, 64);
            if (nconj < 64) {
                tl_expr *rest = NULL;
                for (int i = 0; i < nconj; i++)
                    if (!attach_conj(q, sc, from[0], conj[i])) rest = make_bool2(q, E_AND, rest, conj[i]);
                where = rest;
            }
        }
    }

    /* target list */
    int cap = 16, nt = 0;
    target *tl = tl_arena_alloc(&q->arena, sizeof *tl * (size_t)cap);
    bc.allow_agg = true;
    bc.allow_win = true;
    bc.allow_srf = true;
    bc.srf_base = sc->ncols;
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
        if (e->type.id == TL_UNKNOWN && !keep_unknown && !(e = coerce(&bc, e, tl_type_make(TL_TEXT), err))) return -1;
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

    bc.allow_srf = false;
    /* GROUP BY: a name matches an input column first, then an output alias (PostgreSQL). */
    groupctx g = {0};
    g.ngroups = (int)st->n_group_clause;
    g.groups = tl_arena_alloc(&q->arena, sizeof *g.groups * (size_t)(g.ngroups + 1));
    bc.allow_agg = false;
    bc.allow_win = false;
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
    if (where && has_win(where)) return err_at(err, where->location, "42P20", "window functions are not allowed in WHERE");
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
    bc.allow_win = true;
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
    bool distinct = st->n_distinct_clause > 0 && !distinct_on;
    /* DISTINCT ON (keys): sort by the keys (in ORDER BY's directions where it names
     * them), then keep each key group's first row. */
    int ndon = distinct_on ? (int)st->n_distinct_clause : 0;
    sort_key *donkeys = NULL;
    tl_expr **donexpr = NULL;
    if (ndon) {
        donkeys = tl_arena_zalloc(&q->arena, sizeof *donkeys * (size_t)(ndon + nsort + 1));
        donexpr = tl_arena_zalloc(&q->arena, sizeof *donexpr * (size_t)(ndon + nsort + 1));
        for (int i = 0; i < ndon; i++) {
            int col;
            tl_expr *e = resolve_order_target(q, &bc, st->distinct_clause[i], tl, nt, &col, err);
            if (!e) return -1;
            if (col < 0)
                for (int k = 0; k < nt; k++)
                    if (expr_equal(tl[k].e, e)) col = k;
            donkeys[i].col = col;
            donexpr[i] = e;
            if (i < nsort) {
                if (!expr_equal(sortexpr[i], e))
                    return err_at(err, sortexpr[i]->location, "42P10",
                                  "SELECT DISTINCT ON expressions must match initial ORDER BY expressions");
                donkeys[i].desc = keys[i].desc;
                donkeys[i].nulls_first = keys[i].nulls_first;
            }
        }
        for (int i = ndon; i < nsort; i++) {
            donkeys[i] = keys[i];
            donexpr[i] = sortexpr[i];
        }
        if (nsort < ndon) {
            nsort = ndon;
        }
        keys = donkeys;
        sortexpr = donexpr;
    }

    if (bc.nsrf && (grouped || nsort_has_win(tl, nt)))
        return err_at(err, bc.srfs[0].args && bc.srfs[0].nargs ? bc.srfs[0].args[0]->location : -1, "0A000",
                      "set-returning functions in grouped or windowed queries are not supported yet");
    /* Which input columns are read. */
    bool *need = tl_arena_zalloc(&q->arena, (size_t)sc->ncols + (size_t)bc.nsrf + 1);
    for (int i = 0; i < nt; i++) mark_cols(tl[i].e, need);
    for (int k = 0; k < bc.nsrf; k++) /* op_project_set evaluates these below the targets */
        for (int a = 0; a < bc.srfs[k].nargs; a++) mark_cols(bc.srfs[k].args[a], need);
    for (int i = 0; i < g.ngroups; i++) mark_cols(g.groups[i], need);
    mark_cols(having, need);
    for (int i = 0; i < nsort; i++) mark_cols(sortexpr[i], need);
    /* the columns without WHERE's: a single-table scan whose WHERE storage takes whole
     * reads only these */
    bool *need_nowhere = tl_arena_alloc(&q->arena, (size_t)sc->ncols + (size_t)bc.nsrf + 1);
    memcpy(need_nowhere, need, (size_t)sc->ncols + (size_t)bc.nsrf + 1);
    mark_cols(where, need);
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
    /* Window functions: each becomes a column appended by its own window operator. */
    winlist wl = {.base = grouped ? g.ngroups + g.naggs : sc->ncols};
    for (int i = 0; i < nt; i++) tl[i].e = extract_wins(q, &wl, tl[i].e);
    for (int i = 0; i < nsort; i++) sortexpr[i] = extract_wins(q, &wl, sortexpr[i]);
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
    int nreal = 0;
    for (int i = 0; i < sc->nrels; i++)
        if (sc->rels[i].rel) rels[nreal++] = sc->rels[i].rel;
    tl_table_snap *real = tl_arena_zalloc(&q->arena, sizeof *real * (size_t)(nreal + 1));
    tl_engine_snapshot_own(q->eng, q->s ? q->s->txg : NULL, rels, nreal, real, &q->arena);
    tl_table_snap *snaps = tl_arena_zalloc(&q->arena, sizeof *snaps * (size_t)(sc->nrels + 1));
    for (int i = 0, k = 0; i < sc->nrels; i++)
        if (sc->rels[i].rel) snaps[i] = real[k++];

    op *root;
    if (st->n_from_clause == 0) {
        root = op_values(q, 0, NULL, 1, NULL);
        if (where) root = op_filter(q, root, where);
    } else {
        bool single = from[0]->kind == 0;
        root = build_from(q, sc, from[0], need, snaps, single ? where : NULL, single ? need_nowhere : NULL, err);
        if (!root) return -1;
        if (!single && where) root = op_filter(q, root, where);
    }
    if (bc.nsrf) root = op_project_set(q, root, bc.nsrf, bc.srfs);
    if (grouped) {
        root = op_hashagg(q, root, g.ngroups, g.groups, g.naggs, g.aggs);
        if (having) root = op_filter(q, root, having);
    }
    for (int k = 0; k < wl.n; k++) {
        tl_expr *we = wl.wins[k];
        win_spec *ws = tl_arena_alloc(&q->arena, sizeof *ws);
        *ws = *we->win;
        int na = we->nargs - ws->npart - ws->norder;
        ws->part = we->args + na;
        ws->order = we->args + na + ws->npart;
        root = op_window(q, root, ws, 1, &wl.wins[k]);
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
    if (nsort) root = op_sort(q, root, nsort, keys, ndon ? -1 : limit >= 0 ? limit + offset : -1);
    if (ndon) root = op_unique(q, root, ndon, keys);
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


int plan_select(qctx *q, PgQuery__SelectStmt *st, qresult *res, tl_error *err)
{
    int mark = q->npending;
    cte_def *saved = q->ctes;
    bool keep_unknown = q->keep_unknown;
    q->keep_unknown = false;
    int rc = 0;
    if (st->with_clause) {
        PgQuery__WithClause *w = st->with_clause;
        if (w->recursive) rc = err_at(err, w->location, "0A000", "WITH RECURSIVE is not supported yet");
        for (size_t i = 0; i < w->n_ctes && rc == 0; i++) {
            PgQuery__CommonTableExpr *c = w->ctes[i]->common_table_expr;
            for (cte_def *d = q->ctes; d != saved; d = d->next)
                if (!strcmp(d->name, c->ctename)) {
                    rc = err_at(err, c->location, "42712", "WITH query name \"%s\" specified more than once", c->ctename);
                    break;
                }
            if (rc) break;
            cte_def *d = tl_arena_zalloc(&q->arena, sizeof *d);
            d->name = c->ctename;
            d->cte = c;
            d->visible = q->ctes;
            d->next = q->ctes;
            q->ctes = d;
        }
    }
    q->keep_unknown = keep_unknown && st->op == PG_QUERY__SET_OPERATION__SETOP_NONE;
    if (rc == 0)
        rc = st->op != PG_QUERY__SET_OPERATION__SETOP_NONE ? plan_setop(q, st, res, err) : plan_simple(q, st, res, err);
    q->keep_unknown = false;
    q->ctes = saved;
    if (rc < 0)
        for (int i = mark; i < q->npending; i++)
            if (q->pending[i]) op_free(q->pending[i]);
    q->npending = mark;
    return rc;
}
