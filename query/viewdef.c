/*
 * viewdef.c — a view's stored query printed back as PostgreSQL's pg_get_viewdef(oid, true)
 * prints it (ruleutils.c, pretty mode): one target per line, FROM/WHERE/GROUP BY on their
 * own indented lines, every column qualified by its relation, every constant with its
 * type ('month'::text, '7 days'::interval), the implicit casts PostgreSQL's parser adds
 * made visible (talk_ms::double precision), non-column GROUP BY / ORDER BY keys in
 * parentheses, and parentheses where ruleutils puts them. psql's \d+ and
 * pg_matviews.definition show this text.
 *
 * The types come from a small bottom-up typing of the parse tree (column types from the
 * catalog, the usual numeric promotions, the return types of common functions), not from
 * the binder: a construct outside what is typed here is printed without an implicit cast
 * PostgreSQL might have shown, and a construct not printed here at all makes the whole
 * definition fall back to libpg_query's deparser (valid SQL, PostgreSQL's meaning, not its
 * layout).
 */
#include "query_int.h"

#include <string.h>

enum dx_kind { DX_SIMPLE, DX_ARITH, DX_OP, DX_AND, DX_OR, DX_NOT, DX_TEST, DX_CAST };

typedef struct dx {
    char *s;          /* the text */
    tl_type t;        /* its type (TL_UNKNOWN: an untyped literal, or not known) */
    int kind;
    char op;          /* DX_ARITH: the operator's first character */
    bool typed;       /* t is known (a literal's type is known once resolved) */
    const char *lit;  /* an untyped string literal's value, still to be typed */
    bool num_const;   /* an integer or numeric literal (casts print as val::type) */
} dx;

typedef struct vd_rel {
    const char *ref; /* alias or relation name */
    tl_rel *rel;
} vd_rel;

typedef struct vd {
    qctx *q;
    vd_rel rels[16];
    int nrels;
    bool bad;    /* something not printed here: fall back */
    bool pretty; /* pg_get_viewdef(oid, true): ruleutils' PRETTYFLAG_PAREN (fewer parentheses) */
} vd;

static dx expr(vd *v, pnode *n);

static char *fmt(vd *v, const char *f, const char *a, const char *b, const char *c)
{
    return tl_arena_printf(&v->q->arena, f, a, b ? b : "", c ? c : "");
}

static const char *type_text(vd *v, tl_type t)
{
    char buf[128];
    uint32_t oid = tl_type_oid(t);
    const char *nm = tl_syscat_type_name(v->q->eng, oid, buf, sizeof buf);
    if (!nm) nm = tl_type_name(t.id);
    if (t.id == TL_NUMERIC && t.typmod >= 4)
        return tl_arena_printf(&v->q->arena, "numeric(%d,%d)", (t.typmod - 4) >> 16, (t.typmod - 4) & 0xffff);
    if ((t.id == TL_VARCHAR || t.id == TL_BPCHAR) && t.typmod >= 4)
        return tl_arena_printf(&v->q->arena, "%s(%d)", nm, t.typmod - 4);
    return tl_arena_strdup(&v->q->arena, nm);
}

static void quote_lit(tl_buf *b, const char *s)
{
    tl_buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'') tl_buf_putc(b, '\'');
        tl_buf_putc(b, *s);
    }
    tl_buf_putc(b, '\'');
}

/* An untyped literal given its type, or any expression cast to t (implicitly). */
static dx retype(vd *v, dx x, tl_type t)
{
    if (x.lit) {
        tl_buf b;
        tl_buf_init(&b);
        quote_lit(&b, x.lit);
        x.s = tl_arena_printf(&v->q->arena, "%s::%s", b.data, type_text(v, t));
        tl_buf_free(&b);
        x.lit = NULL;
    } else if (!v->pretty) { /* without PRETTYFLAG_PAREN every coerced argument is parenthesised */
        x.s = tl_arena_printf(&v->q->arena, "(%s)::%s", x.s, type_text(v, t));
    } else if (x.num_const) {
        x.s = tl_arena_printf(&v->q->arena, "%s::%s", x.s, type_text(v, t));
    } else if (x.kind == DX_SIMPLE || x.kind == DX_CAST) {
        x.s = tl_arena_printf(&v->q->arena, "%s::%s", x.s, type_text(v, t));
    } else {
        x.s = tl_arena_printf(&v->q->arena, "(%s)::%s", x.s, type_text(v, t));
    }
    x.t = t;
    x.typed = true;
    x.kind = DX_CAST;
    x.num_const = false;
    return x;
}

static dx settle(vd *v, dx x) /* an untyped literal nobody typed is text */
{
    return x.lit ? retype(v, x, tl_type_make(TL_TEXT)) : x;
}

/* ruleutils' isSimpleNode for a child of an operator: does it print bare? */
static bool simple_in_op(const dx *c, char parent_op, bool left)
{
    if (c->kind == DX_SIMPLE || c->kind == DX_CAST || c->kind == DX_TEST) return c->kind != DX_TEST;
    if (c->kind != DX_ARITH || !parent_op) return false;
    bool lo = strchr("+-", c->op) != NULL, plo = strchr("+-", parent_op) != NULL;
    if (!lo && plo) return true;
    if (lo && !plo) return false;
    return left;
}

static char *paren(vd *v, const dx *c, bool simple)
{
    return simple ? c->s : fmt(v, "(%s)", c->s, NULL, NULL);
}

static dx binop(vd *v, const char *opn, dx l, dx r)
{
    /* the untyped side takes the other's type; numeric promotions cast one side */
    if (l.lit && !r.lit && r.typed) l = retype(v, l, r.t);
    else if (r.lit && !l.lit && l.typed) r = retype(v, r, l.t);
    l = settle(v, l);
    r = settle(v, r);
    int rl = num_rank(l.t.id), rr = num_rank(r.t.id);
    bool both_int = rl && rl <= 3 && rr && rr <= 3;
    if (rl && rr && rl != rr && !both_int) {
        if (rl < rr) l = retype(v, l, tl_type_make(r.t.id));
        else r = retype(v, r, tl_type_make(l.t.id));
    }
    bool arith = strlen(opn) == 1 && strchr("+-*/%", opn[0]);
    char pop = arith ? opn[0] : 0;
    dx o = {0};
    if (v->pretty)
        o.s = tl_arena_printf(&v->q->arena, "%s %s %s", paren(v, &l, simple_in_op(&l, pop, true)), opn,
                              paren(v, &r, simple_in_op(&r, pop, false)));
    else /* each operator parenthesises itself */
        o.s = tl_arena_printf(&v->q->arena, "(%s %s %s)", l.s, opn, r.s);
    o.kind = arith ? DX_ARITH : DX_OP;
    o.op = pop;
    o.typed = true;
    if (!arith) {
        o.t = tl_type_make(TL_BOOL);
    } else if (l.t.id == TL_TIMESTAMPTZ || l.t.id == TL_TIMESTAMP || l.t.id == TL_DATE) {
        bool both_time = r.t.id == TL_TIMESTAMPTZ || r.t.id == TL_TIMESTAMP;
        o.t = both_time ? tl_type_make(TL_INTERVAL) : l.t;
    } else {
        o.t = num_rank(l.t.id) >= num_rank(r.t.id) ? l.t : r.t;
        if (o.t.id == TL_NUMERIC) o.t = tl_type_make(TL_NUMERIC);
        if (both_int) o.t = tl_type_make(rl > rr ? l.t.id : r.t.id);
    }
    return o;
}

static tl_type col_type(vd *v, pnode *n, char **qual)
{
    PgQuery__ColumnRef *cr = n->column_ref;
    const char *rel = cr->n_fields >= 2 ? pn_str(cr->fields[cr->n_fields - 2]) : NULL;
    const char *col = pn_str(cr->fields[cr->n_fields - 1]);
    if (!col) {
        v->bad = true;
        return tl_type_make(TL_UNKNOWN);
    }
    for (int i = 0; i < v->nrels; i++) {
        if (rel && strcmp(rel, v->rels[i].ref) != 0) continue;
        tl_rel *r = v->rels[i].rel;
        for (int a = 0; r && a < r->natts; a++)
            if (!strcmp(r->atts[a].name, col)) {
                *qual = tl_arena_printf(&v->q->arena, "%s.%s", v->rels[i].ref, col);
                tl_type t = r->atts[a].type;
                if (t.id == TL_VARCHAR || t.id == TL_BPCHAR || t.id == TL_NUMERIC) t.typmod = -1;
                return t;
            }
    }
    v->bad = true; /* an output alias, an outer reference ...: not printed here */
    return tl_type_make(TL_UNKNOWN);
}

/* Return types of the functions views commonly use; unknown for the rest. */
static tl_type func_type(const char *name, const dx *args, int n)
{
    tl_type a0 = n ? args[0].t : tl_type_make(TL_UNKNOWN);
    if (!strcmp(name, "count") || !strcmp(name, "rank") || !strcmp(name, "row_number") ||
        !strcmp(name, "dense_rank"))
        return tl_type_make(TL_INT8);
    if (!strcmp(name, "sum")) {
        if (a0.id == TL_INT2 || a0.id == TL_INT4) return tl_type_make(TL_INT8);
        if (a0.id == TL_INT8 || a0.id == TL_NUMERIC) return tl_type_make(TL_NUMERIC);
        return a0;
    }
    if (!strcmp(name, "avg") || !strncmp(name, "stddev", 6) || !strncmp(name, "var", 3))
        return num_rank(a0.id) >= 5 ? tl_type_make(TL_FLOAT8) : tl_type_make(TL_NUMERIC);
    if (!strcmp(name, "min") || !strcmp(name, "max")) return a0;
    if (!strcmp(name, "percentile_cont")) return tl_type_make(TL_FLOAT8);
    if (!strcmp(name, "date_trunc") && n == 2) return args[1].t;
    if (!strcmp(name, "now")) return tl_type_make(TL_TIMESTAMPTZ);
    if (!strcmp(name, "lower") || !strcmp(name, "upper")) return tl_type_make(TL_TEXT);
    if (!strcmp(name, "length")) return tl_type_make(TL_INT4);
    if (!strcmp(name, "round")) return tl_type_make(TL_NUMERIC);
    return tl_type_make(TL_UNKNOWN);
}

static const char *join_list(vd *v, const char **items, int n, const char *sep)
{
    tl_buf b;
    tl_buf_init(&b);
    for (int i = 0; i < n; i++) {
        if (i) tl_buf_puts(&b, sep);
        tl_buf_puts(&b, items[i]);
    }
    char *s = tl_arena_strndup(&v->q->arena, b.data ? b.data : "", b.len);
    tl_buf_free(&b);
    return s;
}

/* A GROUP BY / ORDER BY key: columns and constants bare, anything else in parentheses. */
static const char *group_key(vd *v, pnode *n)
{
    dx x = settle(v, expr(v, n));
    if (n->node_case == PG_QUERY__NODE__NODE_COLUMN_REF) return x.s;
    return fmt(v, "(%s)", x.s, NULL, NULL);
}

static dx func(vd *v, PgQuery__FuncCall *fc)
{
    const char *name = pn_str(fc->funcname[fc->n_funcname - 1]);
    if (!name || fc->over || fc->func_variadic || (fc->n_funcname == 2 && strcmp(pn_str(fc->funcname[0]), "pg_catalog"))) {
        v->bad = true;
        return (dx){.s = ""};
    }
    int n = (int)fc->n_args;
    dx *args = tl_arena_alloc(&v->q->arena, sizeof *args * (size_t)(n + 1));
    const char **txt = tl_arena_alloc(&v->q->arena, sizeof *txt * (size_t)(n + 1));
    bool ordered_set = fc->agg_within_group;
    for (int i = 0; i < n; i++) {
        args[i] = expr(v, fc->args[i]);
        if (!strcmp(name, "date_trunc") && i == 0 && args[i].lit) args[i] = retype(v, args[i], tl_type_make(TL_TEXT));
        if (ordered_set && num_rank(args[i].t.id) && args[i].t.id != TL_FLOAT8)
            args[i] = retype(v, args[i], tl_type_make(TL_FLOAT8));
        args[i] = settle(v, args[i]);
        txt[i] = args[i].s;
    }
    dx o = {0};
    o.kind = DX_SIMPLE;
    tl_buf b;
    tl_buf_init(&b);
    tl_buf_printf(&b, "%s(", name);
    if (fc->agg_star) tl_buf_putc(&b, '*');
    if (fc->agg_distinct) tl_buf_puts(&b, "DISTINCT ");
    tl_buf_puts(&b, join_list(v, txt, n, ", "));
    if (fc->n_agg_order && !ordered_set) {
        tl_buf_puts(&b, " ORDER BY ");
        for (size_t i = 0; i < fc->n_agg_order; i++) {
            PgQuery__SortBy *sb = fc->agg_order[i]->sort_by;
            dx k = settle(v, expr(v, sb->node));
            tl_buf_printf(&b, "%s%s%s", i ? ", " : "", k.s,
                          sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC ? " DESC" : "");
        }
    }
    tl_buf_putc(&b, ')');
    if (ordered_set) {
        tl_buf_puts(&b, " WITHIN GROUP (ORDER BY ");
        for (size_t i = 0; i < fc->n_agg_order; i++) {
            PgQuery__SortBy *sb = fc->agg_order[i]->sort_by;
            dx k = expr(v, sb->node);
            if (!strcmp(name, "percentile_cont") && k.t.id != TL_FLOAT8 && num_rank(k.t.id)) k = retype(v, k, tl_type_make(TL_FLOAT8));
            k = settle(v, k);
            bool col = sb->node->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && k.kind == DX_SIMPLE;
            tl_buf_printf(&b, "%s%s%s", i ? ", " : "", col ? k.s : fmt(v, "(%s)", k.s, NULL, NULL),
                          sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC ? " DESC" : "");
        }
        tl_buf_putc(&b, ')');
    }
    if (fc->agg_filter) {
        dx f = settle(v, expr(v, fc->agg_filter));
        tl_buf_printf(&b, " FILTER (WHERE %s)", f.s);
    }
    o.s = tl_arena_strndup(&v->q->arena, b.data, b.len);
    tl_buf_free(&b);
    o.t = func_type(name, args, n);
    o.typed = true;
    return o;
}

static dx expr(vd *v, pnode *n)
{
    dx o = {0};
    o.kind = DX_SIMPLE;
    o.s = "";
    if (!n || v->bad) {
        v->bad = true;
        return o;
    }
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_COLUMN_REF: {
        char *q = NULL;
        o.t = col_type(v, n, &q);
        o.s = q ? q : "";
        o.typed = true;
        return o;
    }
    case PG_QUERY__NODE__NODE_A_CONST: {
        PgQuery__AConst *c = n->a_const;
        if (c->isnull) {
            o.s = "NULL";
            o.t = tl_type_make(TL_UNKNOWN);
            return o;
        }
        switch (c->val_case) {
        case PG_QUERY__A__CONST__VAL_IVAL:
            o.s = tl_arena_printf(&v->q->arena, "%d", c->ival->ival);
            o.t = tl_type_make(TL_INT4);
            o.typed = o.num_const = true;
            if (c->ival->ival < 0) o = retype(v, (dx){.s = tl_arena_printf(&v->q->arena, "'%d'", c->ival->ival), .kind = DX_SIMPLE}, o.t);
            return o;
        case PG_QUERY__A__CONST__VAL_FVAL:
            o.s = c->fval->fval;
            o.t = tl_type_make(TL_NUMERIC);
            o.typed = o.num_const = true;
            return o;
        case PG_QUERY__A__CONST__VAL_BOOLVAL:
            o.s = c->boolval->boolval ? "true" : "false";
            o.t = tl_type_make(TL_BOOL);
            o.typed = true;
            return o;
        case PG_QUERY__A__CONST__VAL_SVAL:
            o.lit = c->sval->sval;
            o.s = "";
            o.t = tl_type_make(TL_UNKNOWN);
            return o;
        default:
            v->bad = true;
            return o;
        }
    }
    case PG_QUERY__NODE__NODE_TYPE_CAST: {
        dx a = expr(v, n->type_cast->arg);
        tl_type t;
        tl_error e;
        if (type_from_typename(v->q, n->type_cast->type_name, &t, &e) < 0) {
            v->bad = true;
            return o;
        }
        if (a.typed && !a.lit && a.t.id == t.id && a.t.oid == t.oid && t.typmod < 0) return a;
        return retype(v, a, t);
    }
    case PG_QUERY__NODE__NODE_A_EXPR: {
        PgQuery__AExpr *ae = n->a_expr;
        const char *opn = ae->n_name ? pn_str(ae->name[ae->n_name - 1]) : NULL;
        if (ae->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || !opn || !ae->lexpr) {
            v->bad = true;
            return o;
        }
        return binop(v, opn, expr(v, ae->lexpr), expr(v, ae->rexpr));
    }
    case PG_QUERY__NODE__NODE_BOOL_EXPR: {
        PgQuery__BoolExpr *be = n->bool_expr;
        int k = be->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR ? DX_AND
                : be->boolop == PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR ? DX_OR : DX_NOT;
        const char **parts = tl_arena_alloc(&v->q->arena, sizeof *parts * (be->n_args + 1));
        for (size_t i = 0; i < be->n_args; i++) {
            dx c = settle(v, expr(v, be->args[i]));
            /* ruleutils: AND/NOT inside AND or OR, OR inside OR, and non-boolean nodes print bare */
            bool simple = (c.kind != DX_AND && c.kind != DX_OR && c.kind != DX_NOT) ||
                          (k != DX_NOT && (c.kind == DX_AND || c.kind == DX_NOT)) || (k == DX_OR && c.kind == DX_OR);
            parts[i] = paren(v, &c, simple || !v->pretty);
        }
        o.s = k == DX_NOT ? fmt(v, "NOT %s", parts[0], NULL, NULL)
                          : (char *)join_list(v, parts, (int)be->n_args, k == DX_AND ? " AND " : " OR ");
        if (!v->pretty) o.s = fmt(v, "(%s)", o.s, NULL, NULL);
        o.kind = k;
        o.t = tl_type_make(TL_BOOL);
        o.typed = true;
        return o;
    }
    case PG_QUERY__NODE__NODE_NULL_TEST: {
        dx a = settle(v, expr(v, n->null_test->arg));
        bool simple = a.kind == DX_SIMPLE || a.kind == DX_CAST;
        o.s = fmt(v, v->pretty ? "%s IS %sNULL" : "(%s IS %sNULL)", paren(v, &a, simple || !v->pretty),
                  n->null_test->nulltesttype == PG_QUERY__NULL_TEST_TYPE__IS_NULL ? "" : "NOT ", NULL);
        o.kind = DX_TEST;
        o.t = tl_type_make(TL_BOOL);
        o.typed = true;
        return o;
    }
    case PG_QUERY__NODE__NODE_FUNC_CALL:
        return func(v, n->func_call);
    default:
        v->bad = true;
        return o;
    }
}

static const char *target_col_name(pnode *val, const char *alias)
{
    if (alias && *alias) return alias;
    pnode *x = val;
    while (x && x->node_case == PG_QUERY__NODE__NODE_TYPE_CAST) x = x->type_cast->arg;
    if (x && x->node_case == PG_QUERY__NODE__NODE_COLUMN_REF)
        return pn_str(x->column_ref->fields[x->column_ref->n_fields - 1]);
    if (x && x->node_case == PG_QUERY__NODE__NODE_FUNC_CALL)
        return pn_str(x->func_call->funcname[x->func_call->n_funcname - 1]);
    return "?column?";
}

static char *print_select(vd *v, PgQuery__SelectStmt *st)
{
    if (st->op != PG_QUERY__SET_OPERATION__SETOP_NONE || st->with_clause || st->n_distinct_clause ||
        st->n_values_lists || st->having_clause || st->n_window_clause || st->limit_count || st->limit_offset ||
        st->n_sort_clause || st->n_from_clause == 0)
        return NULL;
    /* FROM: plain relations only (joins fall back) */
    for (size_t i = 0; i < st->n_from_clause; i++) {
        pnode *f = st->from_clause[i];
        if (f->node_case != PG_QUERY__NODE__NODE_RANGE_VAR || v->nrels == 16) return NULL;
        PgQuery__RangeVar *rv = f->range_var;
        tl_rel *r = cat_find_rel(v->q, rv->schemaname && *rv->schemaname ? rv->schemaname : NULL, rv->relname);
        if (!r) return NULL;
        v->rels[v->nrels].rel = r;
        v->rels[v->nrels++].ref = rv->alias && rv->alias->aliasname ? rv->alias->aliasname : rv->relname;
    }
    tl_buf b;
    tl_buf_init(&b);
    tl_buf_puts(&b, " SELECT ");
    for (size_t i = 0; i < st->n_target_list; i++) {
        PgQuery__ResTarget *rt = st->target_list[i]->res_target;
        if (rt->val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF &&
            rt->val->column_ref->fields[rt->val->column_ref->n_fields - 1]->node_case == PG_QUERY__NODE__NODE_A_STAR) {
            v->bad = true;
            break;
        }
        dx x = settle(v, expr(v, rt->val));
        const char *name = target_col_name(rt->val, rt->name);
        bool bare_col = rt->val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && !(rt->name && *rt->name &&
                        strcmp(rt->name, pn_str(rt->val->column_ref->fields[rt->val->column_ref->n_fields - 1])));
        if (i) tl_buf_puts(&b, ",\n    ");
        tl_buf_puts(&b, x.s);
        if (!bare_col) tl_buf_printf(&b, " AS %s", name);
    }
    tl_buf_puts(&b, "\n   FROM ");
    for (int i = 0; i < v->nrels; i++) {
        PgQuery__RangeVar *rv = st->from_clause[i]->range_var;
        tl_buf_printf(&b, "%s%s", i ? ",\n    " : "", rv->relname);
        if (rv->alias && rv->alias->aliasname) tl_buf_printf(&b, " %s", rv->alias->aliasname);
    }
    if (st->where_clause) tl_buf_printf(&b, "\n  WHERE %s", settle(v, expr(v, st->where_clause)).s);
    if (st->n_group_clause) {
        const char **keys = tl_arena_alloc(&v->q->arena, sizeof *keys * st->n_group_clause);
        for (size_t i = 0; i < st->n_group_clause; i++) keys[i] = group_key(v, st->group_clause[i]);
        tl_buf_printf(&b, "\n  GROUP BY %s", join_list(v, keys, (int)st->n_group_clause, ", "));
    }
    tl_buf_putc(&b, ';');
    char *s = v->bad ? NULL : tl_xstrdup(b.data);
    tl_buf_free(&b);
    return s;
}

/* libpg_query's deparser: PostgreSQL's meaning, not its layout. */
static char *fallback(const char *sql)
{
    PgQueryProtobufParseResult pr = pg_query_parse_protobuf(sql);
    char *out = NULL;
    if (!pr.error) {
        PgQueryDeparseResult d = pg_query_deparse_protobuf(pr.parse_tree);
        if (!d.error && d.query) {
            size_t n = strlen(d.query);
            out = tl_xmalloc(n + 3);
            out[0] = ' ';
            memcpy(out + 1, d.query, n);
            out[n + 1] = ';';
            out[n + 2] = 0;
        }
        pg_query_free_deparse_result(d);
    }
    pg_query_free_protobuf_parse_result(pr);
    return out;
}

char *q_viewdef(tl_engine *e, const char *sql, bool pretty)
{
    if (!sql) return NULL;
    PgQueryProtobufParseResult pr = pg_query_parse_protobuf(sql);
    if (pr.error) {
        pg_query_free_protobuf_parse_result(pr);
        return NULL;
    }
    PgQuery__ParseResult *res = pg_query__parse_result__unpack(NULL, pr.parse_tree.len, (const uint8_t *)pr.parse_tree.data);
    pg_query_free_protobuf_parse_result(pr);
    char *out = NULL;
    if (res && res->n_stmts == 1 && res->stmts[0]->stmt->node_case == PG_QUERY__NODE__NODE_SELECT_STMT) {
        qctx q;
        memset(&q, 0, sizeof q);
        q.eng = e;
        tl_arena_init(&q.arena);
        vd v = {.q = &q, .pretty = pretty};
        out = print_select(&v, res->stmts[0]->stmt->select_stmt);
        tl_arena_free(&q.arena);
    }
    if (res) pg_query__parse_result__free_unpacked(res, NULL);
    return out ? out : fallback(sql);
}
