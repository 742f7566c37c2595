/*
 * function.c — user functions as the reporting document uses them: CREATE [OR REPLACE]
 * FUNCTION … LANGUAGE sql, or LANGUAGE plpgsql whose body is BEGIN <statements> END
 * (refresh_reporting_views()), called as `SELECT f()`; and pg_cron's cron.schedule(),
 * which records the job (tally's views are never stale, so nothing runs it).
 *
 * PL/pgSQL bodies are checked with libpg_query's PL/pgSQL parser at CREATE; at call
 * time the statements between BEGIN and END are run in turn as ordinary statements,
 * their results discarded (as PERFORM would), so each takes its own locks.
 */
#include "query_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *defel_str(PgQuery__DefElem *d)
{
    if (!d->arg) return NULL;
    if (d->arg->node_case == PG_QUERY__NODE__NODE_STRING) return d->arg->string->sval;
    if (d->arg->node_case == PG_QUERY__NODE__NODE_LIST && d->arg->list->n_items > 0)
        return pn_str(d->arg->list->items[0]);
    return NULL;
}

int exec_create_function(qctx *q, PgQuery__CreateFunctionStmt *st, tl_error *err)
{
    if (st->is_procedure) return tl_errorf(err, "0A000", "procedures are not supported yet");
    if (st->n_parameters) return tl_errorf(err, "0A000", "functions with parameters are not supported yet");
    const char *name = pn_str(st->funcname[st->n_funcname - 1]);
    const char *schema = st->n_funcname > 1 ? pn_str(st->funcname[0]) : NULL;
    uint32_t nsp = schema ? tl_catalog_nsp_oid(schema) : TL_NSP_PUBLIC;
    if (!nsp) return tl_errorf(err, "3F000", "schema \"%s\" does not exist", schema);
    tl_func f = {.name = (char *)name, .nsp = nsp, .ret = tl_type_make(TL_VOID)};
    if (st->return_type && type_from_typename(q, st->return_type, &f.ret, err) < 0) return -1;
    for (size_t i = 0; i < st->n_options; i++) {
        PgQuery__DefElem *d = st->options[i]->def_elem;
        if (!strcmp(d->defname, "as")) f.body = (char *)defel_str(d);
        else if (!strcmp(d->defname, "language")) f.language = (char *)defel_str(d);
        else if (!strcmp(d->defname, "security")) f.security_definer = d->arg && d->arg->node_case == PG_QUERY__NODE__NODE_BOOLEAN && d->arg->boolean->boolval;
    }
    if (!f.body) return tl_errorf(err, "42P13", "no function body specified");
    if (!f.language) f.language = "sql";
    if (strcasecmp(f.language, "sql") && strcasecmp(f.language, "plpgsql"))
        return tl_errorf(err, "42704", "language \"%s\" does not exist", f.language);
    if (!strcasecmp(f.language, "plpgsql")) {
        char *full = tl_arena_printf(&q->arena, "CREATE FUNCTION %s() RETURNS void LANGUAGE plpgsql AS $tally$%s$tally$",
                                     name, f.body);
        PgQueryPlpgsqlParseResult pr = pg_query_parse_plpgsql(full);
        if (pr.error) {
            tl_errorf(err, "42601", "%s", pr.error->message);
            pg_query_free_plpgsql_parse_result(pr);
            return -1;
        }
        pg_query_free_plpgsql_parse_result(pr);
    } else {
        PgQueryProtobufParseResult pr = pg_query_parse_protobuf(f.body);
        if (pr.error) {
            tl_errorf(err, "42601", "%s", pr.error->message);
            pg_query_free_protobuf_parse_result(pr);
            return -1;
        }
        pg_query_free_protobuf_parse_result(pr);
    }
    if (!tl_catalog_create_func(q->eng, &f, st->replace, err)) return -1;
    return tl_catalog_registry_log(q->eng, err);
}

/* The statements of a body: a plpgsql block's text between BEGIN and its END. */
static char *body_statements(qctx *q, const tl_func *f, tl_error *err)
{
    if (strcasecmp(f->language, "plpgsql") != 0) return tl_arena_strdup(&q->arena, f->body);
    const char *s = f->body;
    const char *b = NULL, *e = NULL;
    size_t n = strlen(s);
    for (size_t i = 0; i + 5 <= n; i++) {
        bool word = (i == 0 || !isalnum((unsigned char)s[i - 1])) && (i + 5 == n || !isalnum((unsigned char)s[i + 5]));
        if (word && !strncasecmp(s + i, "begin", 5)) {
            b = s + i + 5;
            break;
        }
    }
    for (size_t i = n; b && i-- > (size_t)(b - s);) {
        bool word = (i == 0 || !isalnum((unsigned char)s[i - 1])) && (i + 3 >= n || !isalnum((unsigned char)s[i + 3]));
        if (i + 3 <= n && word && !strncasecmp(s + i, "end", 3)) {
            e = s + i;
            break;
        }
    }
    if (!b || !e) {
        tl_errorf(err, "0A000", "only PL/pgSQL bodies of plain SQL statements are supported");
        return NULL;
    }
    return tl_arena_strndup(&q->arena, b, (size_t)(e - b));
}

static int quiet_describe(void *ctx, int n, const tl_coldesc *c)
{
    (void)ctx, (void)n, (void)c;
    return 0;
}

static int quiet_row(void *ctx, int n, const tl_cell *c)
{
    (void)ctx, (void)n, (void)c;
    return 0;
}

static int quiet_complete(void *ctx, const char *tag)
{
    (void)ctx, (void)tag;
    return 0;
}

void sink_make_quiet(tl_sink *s)
{
    s->describe = quiet_describe;
    s->row = quiet_row;
    s->complete = quiet_complete;
}

int run_sql_text(qctx *q, char *text, tl_sink *sink, bool function_body, tl_error *err)
{
    PgQueryProtobufParseResult pr = pg_query_parse_protobuf(text);
    if (pr.error) {
        tl_errorf(err, "42601", "%s", pr.error->message);
        pg_query_free_protobuf_parse_result(pr);
        return -1;
    }
    PgQuery__ParseResult *res = pg_query__parse_result__unpack(NULL, pr.parse_tree.len, (const uint8_t *)pr.parse_tree.data);
    pg_query_free_protobuf_parse_result(pr);
    if (!res) return tl_errorf(err, "XX000", "could not decode parse tree");
    const char *saved = q->sql;
    q->sql = text;
    int rc = 0;
    for (size_t i = 0; i < res->n_stmts && rc == 0; i++) {
        pnode *s = res->stmts[i]->stmt;
        if (function_body &&
            (s->node_case == PG_QUERY__NODE__NODE_COPY_STMT || s->node_case == PG_QUERY__NODE__NODE_TRANSACTION_STMT)) {
            rc = tl_errorf(err, "0A000", "this statement is not allowed in a function body");
            break;
        }
        /* virtual relations read here stay until the calling statement ends: its arena
         * still pins them */
        rc = run_statement(q, s, res->stmts[i]->stmt_location, res->stmts[i]->stmt_len, sink, err);
    }
    q->sql = saved;
    pg_query__parse_result__free_unpacked(res, NULL);
    return rc;
}

static int run_body(qctx *q, const tl_func *f, tl_sink *sink, tl_error *err)
{
    char *text = body_statements(q, f, err);
    if (!text) return -1;
    tl_sink quiet = *sink;
    sink_make_quiet(&quiet);
    int rc = run_sql_text(q, text, &quiet, true, err);
    if (rc < 0 && !err->context[0])
        snprintf(err->context, sizeof err->context, "SQL statement in function %s()", f->name);
    return rc;
}

static const char *const_str(pnode *n)
{
    if (n && n->node_case == PG_QUERY__NODE__NODE_A_CONST && n->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL)
        return n->a_const->sval->sval;
    return NULL;
}

static int emit_one(tl_sink *sink, const char *name, uint32_t oid, int16_t len, const char *val)
{
    tl_coldesc d = {.name = name, .type_oid = oid, .typlen = len, .typmod = -1};
    if (sink->describe && sink->describe(sink->ctx, 1, &d) < 0) return -1;
    tl_cell c = {.ptr = val, .len = strlen(val)};
    if (sink->row && sink->row(sink->ctx, 1, &c) < 0) return -1;
    return sink->complete ? sink->complete(sink->ctx, "SELECT 1") : 0;
}

int exec_function_call(qctx *q, pnode *stmt, tl_sink *sink, bool *handled, tl_error *err)
{
    *handled = false;
    if (stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) return 0;
    PgQuery__SelectStmt *sel = stmt->select_stmt;
    if (sel->n_from_clause || sel->n_target_list != 1 || sel->where_clause || sel->op != PG_QUERY__SET_OPERATION__SETOP_NONE)
        return 0;
    PgQuery__ResTarget *rt = sel->target_list[0]->res_target;
    if (!rt->val || rt->val->node_case != PG_QUERY__NODE__NODE_FUNC_CALL) return 0;
    PgQuery__FuncCall *fc = rt->val->func_call;
    const char *name = pn_str(fc->funcname[fc->n_funcname - 1]);
    const char *schema = fc->n_funcname > 1 ? pn_str(fc->funcname[0]) : NULL;
    const char *colname = rt->name && *rt->name ? rt->name : name;
    if (schema && !strcmp(schema, "cron") && !strcmp(name, "schedule")) {
        *handled = true;
        const char *a[3] = {0};
        for (size_t i = 0; i < fc->n_args && i < 3; i++) a[i] = const_str(fc->args[i]);
        if ((fc->n_args != 2 && fc->n_args != 3) || !a[0] || !a[1] || (fc->n_args == 3 && !a[2]))
            return err_at(err, fc->location, "42883", "function cron.schedule with these arguments does not exist");
        const char *jname = fc->n_args == 3 ? a[0] : NULL;
        const char *sched = fc->n_args == 3 ? a[1] : a[0];
        const char *cmd = fc->n_args == 3 ? a[2] : a[1];
        if (q->s->txg)
            return tl_errorf(err, "25001", "cron.schedule cannot run inside a transaction block that has written rows");
        tl_engine_write_lock(q->eng);
        int64_t id = tl_catalog_cron_schedule(q->eng, jname, sched, cmd);
        int lrc = tl_catalog_registry_log(q->eng, err);
        tl_engine_unlock(q->eng);
        if (lrc < 0) return -1;
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)id);
        if (emit_one(sink, colname, TL_OID_INT8, 8, buf) < 0) return tl_errorf(err, "08006", "connection lost");
        return 0;
    }
    if (schema && strcmp(schema, "public")) return 0;
    q_read_lock(q->s); /* not a second rdlock: a queued DDL would block it behind our own */
    tl_func *f = tl_catalog_find_func(q->eng, TL_NSP_PUBLIC, name);
    tl_func copy = {0};
    if (f) {
        copy = *f;
        copy.name = tl_arena_strdup(&q->arena, f->name);
        copy.language = tl_arena_strdup(&q->arena, f->language);
        copy.body = tl_arena_strdup(&q->arena, f->body);
    }
    q_read_unlock(q->s);
    if (!f) return 0;
    *handled = true;
    if (fc->n_args) return err_at(err, fc->location, "42883", "function %s with arguments does not exist", name);
    if (run_body(q, &copy, sink, err) < 0) return -1;
    if (copy.ret.id != TL_VOID) return tl_errorf(err, "0A000", "only functions returning void are supported yet");
    if (emit_one(sink, colname, TL_OID_VOID, 4, "") < 0) return tl_errorf(err, "08006", "connection lost");
    return 0;
}
