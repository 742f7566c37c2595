/*
 * deparse.c — turn the small expressions that column DEFAULT and GENERATED clauses use
 * back into SQL text, so the catalog can keep them as PostgreSQL does (pg_attrdef) and
 * the write path can re-bind them. Anything outside this subset is refused at CREATE
 * time rather than stored in a form we could not read back.
 */
#include "query_int.h"

#include <string.h>

static int dp(qctx *q, pnode *n, tl_buf *b, tl_error *err);

static void quote_literal(tl_buf *b, const char *s)
{
    tl_buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'') tl_buf_putc(b, '\'');
        tl_buf_putc(b, *s);
    }
    tl_buf_putc(b, '\'');
}

static void typename_text(PgQuery__TypeName *tn, tl_buf *b)
{
    bool first = true;
    for (size_t i = 0; i < tn->n_names; i++) {
        const char *s = pn_str(tn->names[i]);
        if (!s || (!strcmp(s, "pg_catalog") && tn->n_names > 1)) continue;
        if (!first) tl_buf_putc(b, '.');
        tl_buf_puts(b, s);
        first = false;
    }
    if (tn->n_typmods) {
        tl_buf_putc(b, '(');
        for (size_t i = 0; i < tn->n_typmods; i++) {
            pnode *m = tn->typmods[i];
            if (i) tl_buf_putc(b, ',');
            if (m->node_case == PG_QUERY__NODE__NODE_A_CONST && m->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL)
                tl_buf_printf(b, "%d", m->a_const->ival->ival);
        }
        tl_buf_putc(b, ')');
    }
}

static int dp(qctx *q, pnode *n, tl_buf *b, tl_error *err)
{
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_A_CONST: {
        PgQuery__AConst *c = n->a_const;
        if (c->isnull) {
            tl_buf_puts(b, "NULL");
            return 0;
        }
        switch (c->val_case) {
        case PG_QUERY__A__CONST__VAL_IVAL: tl_buf_printf(b, "%d", c->ival->ival); return 0;
        case PG_QUERY__A__CONST__VAL_FVAL: tl_buf_puts(b, c->fval->fval); return 0;
        case PG_QUERY__A__CONST__VAL_BOOLVAL: tl_buf_puts(b, c->boolval->boolval ? "true" : "false"); return 0;
        case PG_QUERY__A__CONST__VAL_SVAL: quote_literal(b, c->sval->sval); return 0;
        default: break;
        }
        break;
    }
    case PG_QUERY__NODE__NODE_COLUMN_REF: {
        PgQuery__ColumnRef *cr = n->column_ref;
        for (size_t i = 0; i < cr->n_fields; i++) {
            const char *s = pn_str(cr->fields[i]);
            if (!s) break;
            tl_buf_printf(b, "%s%s", i ? "." : "", s);
        }
        return 0;
    }
    case PG_QUERY__NODE__NODE_FUNC_CALL: {
        PgQuery__FuncCall *fc = n->func_call;
        if (fc->agg_star || fc->over || fc->n_agg_order || fc->agg_filter) break;
        if (fc->funcformat == PG_QUERY__COERCION_FORM__COERCE_SQL_SYNTAX && fc->n_args == 2 &&
            !strcmp(pn_str(fc->funcname[fc->n_funcname - 1]), "timezone")) {
            /* x AT TIME ZONE z, as PostgreSQL prints it (a literal zone is text) */
            pnode *z = fc->args[0];
            tl_buf_putc(b, '(');
            if (dp(q, fc->args[1], b, err) < 0) return -1;
            tl_buf_puts(b, " AT TIME ZONE ");
            if (dp(q, z, b, err) < 0) return -1;
            if (z->node_case == PG_QUERY__NODE__NODE_A_CONST && z->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL)
                tl_buf_puts(b, "::text");
            tl_buf_putc(b, ')');
            return 0;
        }
        tl_buf_puts(b, pn_str(fc->funcname[fc->n_funcname - 1]));
        tl_buf_putc(b, '(');
        for (size_t i = 0; i < fc->n_args; i++) {
            if (i) tl_buf_puts(b, ", ");
            if (dp(q, fc->args[i], b, err) < 0) return -1;
        }
        tl_buf_putc(b, ')');
        return 0;
    }
    case PG_QUERY__NODE__NODE_TYPE_CAST:
        tl_buf_putc(b, '(');
        if (dp(q, n->type_cast->arg, b, err) < 0) return -1;
        tl_buf_puts(b, ")::");
        typename_text(n->type_cast->type_name, b);
        return 0;
    case PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION:
        switch (n->sqlvalue_function->op) {
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP: tl_buf_puts(b, "CURRENT_TIMESTAMP"); return 0;
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_DATE: tl_buf_puts(b, "CURRENT_DATE"); return 0;
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP: tl_buf_puts(b, "LOCALTIMESTAMP"); return 0;
        default: break;
        }
        break;
    case PG_QUERY__NODE__NODE_A_EXPR: {
        PgQuery__AExpr *ae = n->a_expr;
        if (ae->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || ae->n_name != 1) break;
        tl_buf_putc(b, '(');
        if (ae->lexpr) {
            if (dp(q, ae->lexpr, b, err) < 0) return -1;
            tl_buf_putc(b, ' ');
        }
        tl_buf_puts(b, pn_str(ae->name[0]));
        tl_buf_putc(b, ' ');
        if (dp(q, ae->rexpr, b, err) < 0) return -1;
        tl_buf_putc(b, ')');
        return 0;
    }
    default:
        break;
    }
    return tl_errorf(err, "0A000", "this default or generation expression is not supported yet");
}

char *deparse_expr(qctx *q, pnode *n, tl_error *err)
{
    tl_buf b;
    tl_buf_init(&b);
    if (dp(q, n, &b, err) < 0) {
        tl_buf_free(&b);
        return NULL;
    }
    char *s = tl_arena_strdup(&q->arena, b.data ? b.data : "");
    tl_buf_free(&b);
    return s;
}
