/*
 * stmt.c — one statement from parse tree to sink: dispatch by statement kind, result
 * emission (text format), transaction-control bookkeeping, and the small helpers the
 * binder files share (type names, string nodes).
 */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tl_qsession_reset(tl_qsession *s, const char *name, tl_error *err);
bool tl_qsession_guc_reported(const char *name);
const char *tl_qsession_guc_canonical(const char *name);
int tl_qsession_reset_all(tl_qsession *s, void (*fn)(void *ctx, const char *name, const char *value),
                          void *ctx);
void tl_qsession_each(tl_qsession *s, void (*fn)(void *ctx, const char *name, const char *value), void *ctx);

const char *pn_str(const pnode *n)
{
    if (n && n->node_case == PG_QUERY__NODE__NODE_STRING) return n->string->sval;
    return NULL;
}

typedef struct type_alias {
    const char *name;
    tl_type_id id;
} type_alias;

static const type_alias type_aliases[] = {
    {"bool", TL_BOOL},          {"boolean", TL_BOOL},
    {"int2", TL_INT2},          {"smallint", TL_INT2},
    {"int4", TL_INT4},          {"int", TL_INT4},
    {"integer", TL_INT4},       {"int8", TL_INT8},
    {"bigint", TL_INT8},        {"float4", TL_FLOAT4},
    {"real", TL_FLOAT4},        {"float8", TL_FLOAT8},
    {"double precision", TL_FLOAT8}, {"float", TL_FLOAT8},
    {"numeric", TL_NUMERIC},    {"decimal", TL_NUMERIC},
    {"text", TL_TEXT},          {"varchar", TL_VARCHAR},
    {"character varying", TL_VARCHAR}, {"bpchar", TL_BPCHAR},
    {"char", TL_CHAR},          {"character", TL_BPCHAR},
    {"name", TL_NAME},          {"uuid", TL_UUID},
    {"date", TL_DATE},          {"timestamp", TL_TIMESTAMP},
    {"timestamp without time zone", TL_TIMESTAMP},
    {"timestamptz", TL_TIMESTAMPTZ}, {"timestamp with time zone", TL_TIMESTAMPTZ},
    {"interval", TL_INTERVAL},  {"json", TL_JSON},
    {"jsonb", TL_JSONB},        {"oid", TL_OID},
    {"void", TL_VOID},
};

static int typmod_int(pnode *n, int *out)
{
    if (n && n->node_case == PG_QUERY__NODE__NODE_A_CONST && n->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
        *out = n->a_const->ival->ival;
        return 0;
    }
    return -1;
}

int type_from_typename(qctx *q, PgQuery__TypeName *tn, tl_type *out, tl_error *err)
{
    const char *name = NULL, *schema = NULL;
    if (tn->n_names == 1) {
        name = pn_str(tn->names[0]);
    } else if (tn->n_names == 2) {
        schema = pn_str(tn->names[0]);
        name = pn_str(tn->names[1]);
    }
    if (!name) return err_at(err, tn->location, "42601", "unsupported type name");
    if (tn->n_array_bounds > 0) {
        tl_type elem;
        PgQuery__TypeName et = *tn;
        et.n_array_bounds = 0;
        if (type_from_typename(q, &et, &elem, err) < 0) return -1;
        if (cat_array_of(q, elem, out) < 0)
            return err_at(err, tn->location, "0A000", "arrays of type %s are not supported yet",
                          q_type_display_name(q, elem));
        return 0;
    }
    for (size_t i = 0; i < TL_ARRAY_LEN(type_aliases); i++) {
        if (strcmp(type_aliases[i].name, name) != 0) continue;
        if (schema && strcmp(schema, "pg_catalog") != 0) break;
        *out = tl_type_make(type_aliases[i].id);
        if (out->id == TL_NUMERIC && tn->n_typmods > 0) {
            int p = 0, sc = 0;
            if (typmod_int(tn->typmods[0], &p) < 0 || (tn->n_typmods > 1 && typmod_int(tn->typmods[1], &sc) < 0))
                return err_at(err, tn->location, "42601", "type modifiers must be simple constants or identifiers");
            if (p < 1 || p > 1000)
                return err_at(err, tn->location, "22023", "NUMERIC precision %d must be between 1 and 1000", p);
            if (sc < 0 || sc > p)
                return err_at(err, tn->location, "22023", "NUMERIC scale %d must be between 0 and precision %d", sc, p);
            out->typmod = ((p << 16) | sc) + 4;
        } else if ((out->id == TL_VARCHAR || out->id == TL_BPCHAR) && tn->n_typmods > 0) {
            int len = 0;
            if (typmod_int(tn->typmods[0], &len) < 0 || len < 1)
                return err_at(err, tn->location, "22023", "length for type %s must be at least 1", name);
            out->typmod = len + 4;
        } else if (out->id == TL_BPCHAR && tn->n_typmods == 0 && strcmp(name, "bpchar") != 0) {
            out->typmod = 1 + 4; /* char means char(1) */
        }
        return 0;
    }
    if (cat_type_from_name(q, schema, name, out) == 0) return 0;
    uint32_t nsp = schema ? tl_catalog_nsp_oid(schema) : TL_NSP_PUBLIC;
    tl_enum *en = nsp ? tl_catalog_find_enum(q->eng, nsp, name) : NULL;
    if (en) {
        out->id = TL_ENUM;
        out->typmod = -1;
        out->oid = en->oid;
        return 0;
    }
    return err_at(err, tn->location, "42704", "type \"%s\" does not exist", name);
}

/* ---- result emission ------------------------------------------------------------------- */

int emit_result(qctx *q, qresult *r, tl_sink *sink, uint64_t *rows, tl_error *err)
{
    if (sink->describe && sink->describe(sink->ctx, r->ncols, r->desc) < 0)
        return tl_errorf(err, "08006", "connection lost");
    tl_buf buf;
    tl_buf_init(&buf);
    tl_cell *cells = tl_arena_alloc(&q->arena, sizeof *cells * (size_t)(r->ncols + 1));
    size_t *offs = tl_arena_alloc(&q->arena, sizeof *offs * (size_t)(r->ncols + 1));
    uint64_t n = 0;
    int rc = 0;
    for (;;) {
        batch *b;
        rc = r->root->next(r->root, q, &b, err);
        if (rc <= 0) break;
        if ((rc = q_check_cancel(q, err)) < 0) break;
        for (uint32_t i = 0; i < b->n; i++) {
            tl_buf_clear(&buf);
            for (int c = 0; c < r->ncols; c++) {
                const tl_vec *v = &b->cols[c];
                if (tl_vec_isnull(v, i)) {
                    offs[c] = SIZE_MAX;
                    continue;
                }
                tl_datum d;
                tl_vec_get(v, i, &d);
                offs[c] = buf.len;
                q_format_value(q, v->type, &d, &buf);
                tl_buf_putc(&buf, '\0');
            }
            for (int c = 0; c < r->ncols; c++) {
                if (offs[c] == SIZE_MAX) {
                    cells[c].ptr = NULL;
                    cells[c].len = 0;
                } else {
                    cells[c].ptr = buf.data + offs[c];
                    cells[c].len = strlen(buf.data + offs[c]);
                }
            }
            if (sink->row && sink->row(sink->ctx, r->ncols, cells) < 0) {
                rc = tl_errorf(err, "08006", "connection lost");
                break;
            }
            n++;
        }
        if (rc < 0) break;
    }
    tl_buf_free(&buf);
    if (rc < 0) return -1;
    *rows = n;
    return 0;
}

static int complete(tl_sink *sink, const char *tag)
{
    return sink->complete ? sink->complete(sink->ctx, tag) : 0;
}

int q_notice(tl_sink *sink, const char *sqlstate, const char *msg)
{
    tl_error n;
    tl_error_clear(&n);
    tl_errorf(&n, sqlstate, "%s", msg);
    n.severity = TL_SEV_NOTICE;
    return sink && sink->notice ? sink->notice(sink->ctx, &n) : 0;
}

/* ---- SET / SHOW ------------------------------------------------------------------------- */

static char *set_value_text(qctx *q, PgQuery__VariableSetStmt *st, tl_error *err)
{
    tl_buf b;
    tl_buf_init(&b);
    for (size_t i = 0; i < st->n_args; i++) {
        pnode *a = st->args[i];
        if (i) tl_buf_puts(&b, ", ");
        if (a->node_case == PG_QUERY__NODE__NODE_A_CONST) {
            PgQuery__AConst *c = a->a_const;
            switch (c->val_case) {
            case PG_QUERY__A__CONST__VAL_SVAL: tl_buf_puts(&b, c->sval->sval); break;
            case PG_QUERY__A__CONST__VAL_IVAL: tl_buf_printf(&b, "%d", c->ival->ival); break;
            case PG_QUERY__A__CONST__VAL_FVAL: tl_buf_puts(&b, c->fval->fval); break;
            case PG_QUERY__A__CONST__VAL_BOOLVAL: tl_buf_puts(&b, c->boolval->boolval ? "on" : "off"); break;
            default: break;
            }
        } else if (a->node_case == PG_QUERY__NODE__NODE_TYPE_CAST &&
                   a->type_cast->arg->node_case == PG_QUERY__NODE__NODE_A_CONST &&
                   a->type_cast->arg->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL) {
            /* SET TIME ZONE INTERVAL '+02:00' HOUR TO MINUTE */
            tl_buf_puts(&b, a->type_cast->arg->a_const->sval->sval);
        } else {
            tl_buf_free(&b);
            err_at(err, -1, "42601", "unsupported SET value");
            return NULL;
        }
    }
    char *s = tl_arena_strdup(&q->arena, b.data ? b.data : "");
    tl_buf_free(&b);
    return s;
}

static const char *guc_name_of(const char *name)
{
    if (strcasecmp(name, "timezone") == 0) return "TimeZone";
    if (strcasecmp(name, "datestyle") == 0) return "DateStyle";
    if (strcasecmp(name, "transaction_isolation") == 0) return "transaction_isolation";
    const char *c = tl_qsession_guc_canonical(name);
    return c ? c : name;
}

static int report_if_needed(qctx *q, tl_sink *sink, const char *name)
{
    if (!tl_qsession_guc_reported(name) || !sink->param_status) return 0;
    return sink->param_status(sink->ctx, tl_qsession_guc_canonical(name), tl_qsession_get(q->s, name));
}

static void report_cb(void *ctx, const char *name, const char *value)
{
    tl_sink *sink = ctx;
    if (sink->param_status) sink->param_status(sink->ctx, name, value);
}

/* Transaction characteristics from DefElems (BEGIN ... / SET TRANSACTION ... / SET SESSION
 * CHARACTERISTICS AS TRANSACTION ...): isolation level and read-only. Every isolation
 * level is accepted: a statement reads one epoch, which is at least what each promises
 * for the reads tally serves. */
static int tx_options(qctx *q, pnode **opts, size_t n, bool session, tl_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (opts[i]->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) continue;
        PgQuery__DefElem *d = opts[i]->def_elem;
        pnode *a = d->arg;
        if (strcmp(d->defname, "transaction_isolation") == 0) {
            const char *v = a && a->node_case == PG_QUERY__NODE__NODE_A_CONST &&
                                    a->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL
                                ? a->a_const->sval->sval
                                : "read committed";
            if (tl_qsession_set(q->s, session ? "default_transaction_isolation" : "transaction_isolation", v,
                                err) < 0)
                return -1;
        } else if (strcmp(d->defname, "transaction_read_only") == 0) {
            bool ro = a && a->node_case == PG_QUERY__NODE__NODE_A_CONST &&
                      ((a->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL && a->a_const->ival->ival) ||
                       (a->a_const->val_case == PG_QUERY__A__CONST__VAL_BOOLVAL && a->a_const->boolval->boolval));
            if (session) {
                if (tl_qsession_set(q->s, "default_transaction_read_only", ro ? "on" : "off", err) < 0) return -1;
            } else {
                q->s->tx_read_only = ro;
            }
        }
    }
    return 0;
}

static int set_multi(qctx *q, PgQuery__VariableSetStmt *st, tl_sink *sink, tl_error *err)
{
    if (strcmp(st->name, "TRANSACTION") == 0) {
        if (q->s->tx == 'I') {
            tl_error w;
            tl_error_clear(&w);
            tl_errorf(&w, "25P01", "SET TRANSACTION can only be used in transaction blocks");
            w.severity = TL_SEV_WARNING;
            if (sink->notice) sink->notice(sink->ctx, &w);
            return 0;
        }
        return tx_options(q, st->args, st->n_args, false, err);
    }
    if (strcmp(st->name, "SESSION CHARACTERISTICS") == 0) {
        if (tx_options(q, st->args, st->n_args, true, err) < 0) return -1;
        return report_if_needed(q, sink, "default_transaction_read_only");
    }
    return err_at(err, -1, "0A000", "SET %s is not supported", st->name);
}

int exec_set(qctx *q, PgQuery__VariableSetStmt *st, tl_sink *sink, tl_error *err)
{
    if (st->name && strcmp(st->name, "role") == 0 && st->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE) {
        /* SET ROLE: accepted for an existing role; privileges are the security layer's */
        char *v = set_value_text(q, st, err);
        if (!v) return -1;
        if (strcasecmp(v, "none") != 0 && !tl_catalog_find_role(q->eng, v))
            return tl_errorf(err, "22023", "role \"%s\" does not exist", v);
        return tl_qsession_set(q->s, "role", v, err);
    }
    if (st->name && strcmp(st->name, "session_authorization") == 0) return 0;
    switch (st->kind) {
    case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE: {
        const char *name = guc_name_of(st->name);
        char *v = set_value_text(q, st, err);
        if (!v) return -1;
        if (strcmp(name, "TimeZone") == 0 && strcasecmp(v, "local") == 0) v = "UTC";
        if (tl_qsession_set(q->s, name, v, err) < 0) return -1;
        return report_if_needed(q, sink, name);
    }
    case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT:
    case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET: {
        const char *name = guc_name_of(st->name);
        if (tl_qsession_reset(q->s, name, err) < 0) return -1;
        return report_if_needed(q, sink, name);
    }
    case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL:
        return tl_qsession_reset_all(q->s, report_cb, sink);
    case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_MULTI:
        return set_multi(q, st, sink, err);
    default:
        return err_at(err, -1, "0A000", "unsupported SET form");
    }
}

static void show_all_row(void *ctx, const char *name, const char *value)
{
    tl_sink *sink = ctx;
    tl_cell c[3] = {{name, strlen(name)}, {value, strlen(value)}, {"", 0}};
    if (sink->row) sink->row(sink->ctx, 3, c);
}

int exec_show(qctx *q, PgQuery__VariableShowStmt *st, tl_sink *sink, tl_error *err)
{
    const char *name = guc_name_of(st->name);
    if (strcasecmp(st->name, "all") == 0) {
        tl_coldesc d[3] = {
            {.name = "name", .type_oid = TL_OID_TEXT, .typlen = -1, .typmod = -1},
            {.name = "setting", .type_oid = TL_OID_TEXT, .typlen = -1, .typmod = -1},
            {.name = "description", .type_oid = TL_OID_TEXT, .typlen = -1, .typmod = -1},
        };
        if (sink->describe) sink->describe(sink->ctx, 3, d);
        tl_qsession_each(q->s, show_all_row, sink);
        return 0;
    }
    const char *v = tl_qsession_get(q->s, name);
    if (strcmp(name, "transaction_read_only") == 0)
        v = (q->s->tx != 'I' ? q->s->tx_read_only
                             : strcmp(tl_qsession_get(q->s, "default_transaction_read_only"), "on") == 0)
                ? "on"
                : "off";
    if (!v) return tl_errorf(err, "42704", "unrecognized configuration parameter \"%s\"", st->name);
    tl_coldesc d = {.name = st->name, .type_oid = TL_OID_TEXT, .typlen = -1, .typmod = -1};
    if (strcasecmp(st->name, "timezone") == 0) d.name = "TimeZone";
    else if (strcasecmp(st->name, "datestyle") == 0) d.name = "DateStyle";
    if (sink->describe) sink->describe(sink->ctx, 1, &d);
    tl_cell c = {.ptr = v, .len = strlen(v)};
    if (sink->row) sink->row(sink->ctx, 1, &c);
    return 0;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static void savepoints_truncate(tl_qsession *s, int keep)
{
    for (int i = keep; i < s->nsavepoints; i++) {
        free(s->savepoints[i]);
        tl_ingest_sp_free(s->sp_marks[i]);
    }
    s->nsavepoints = keep;
}

static void savepoints_clear(tl_qsession *s)
{
    savepoints_truncate(s, 0);
}

static int aborted_error(tl_error *err)
{
    return tl_errorf(err, "25P02", "current transaction is aborted, commands ignored until end of transaction block");
}

static int find_savepoint(tl_qsession *s, const char *name)
{
    for (int i = s->nsavepoints - 1; i >= 0; i--)
        if (strcmp(s->savepoints[i], name) == 0) return i;
    return -1;
}

/* Transaction control. A block's writes wait in the session's ingest (dml.c) and are
 * applied at COMMIT as one commit; ROLLBACK drops them. Reads see one epoch per
 * statement plus the block's own writes. A savepoint remembers the ingest's position,
 * so ROLLBACK TO undoes the writes after it (and leaves an aborted block usable). */
static int exec_transaction(qctx *q, PgQuery__TransactionStmt *st, tl_sink *sink, const char **tag,
                            tl_error *err)
{
    tl_qsession *s = q->s;
    switch (st->kind) {
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
        *tag = st->kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN ? "BEGIN" : "START TRANSACTION";
        if (s->tx != 'I') {
            tl_error w;
            tl_error_clear(&w);
            tl_errorf(&w, "25001", "there is already a transaction in progress");
            w.severity = TL_SEV_WARNING;
            if (sink->notice) sink->notice(sink->ctx, &w);
            return 0;
        }
        s->tx = 'T';
        s->implicit = false; /* as PG: the implicit transaction's writes join the block */
        s->tx_read_only = strcmp(tl_qsession_get(s, "default_transaction_read_only"), "on") == 0;
        tl_qsession_set(s, "transaction_isolation", tl_qsession_get(s, "default_transaction_isolation"), err);
        if (tx_options(q, st->options, st->n_options, false, err) < 0) {
            s->tx = 'I';
            return -1;
        }
        return 0;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK: {
        if (s->tx == 'I') {
            tl_error w;
            tl_error_clear(&w);
            tl_errorf(&w, "25P01", "there is no transaction in progress");
            w.severity = TL_SEV_WARNING;
            if (sink->notice) sink->notice(sink->ctx, &w);
        }
        bool commit = st->kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT && s->tx != 'E';
        *tag = commit ? "COMMIT" : "ROLLBACK";
        s->tx = 'I';
        s->tx_read_only = false;
        savepoints_clear(s);
        tl_qsession_set(s, "transaction_isolation", tl_qsession_get(s, "default_transaction_isolation"), err);
        /* PG: a COMMIT that fails (here: the WAL write) ends the block all the same */
        return q_tx_finish(q, commit, err);
    }
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_SAVEPOINT:
        if (s->tx == 'I')
            return tl_errorf(err, "25P01", "SAVEPOINT can only be used in transaction blocks");
        if (s->tx == 'E') return aborted_error(err);
        s->savepoints = tl_xrealloc(s->savepoints, sizeof *s->savepoints * (size_t)(s->nsavepoints + 1));
        s->sp_marks = tl_xrealloc(s->sp_marks, sizeof *s->sp_marks * (size_t)(s->nsavepoints + 1));
        s->sp_marks[s->nsavepoints] = s->txg ? tl_ingest_savepoint(s->txg) : NULL;
        s->savepoints[s->nsavepoints++] = tl_xstrdup(st->savepoint_name);
        *tag = "SAVEPOINT";
        return 0;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE:
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_TO: {
        bool release = st->kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE;
        if (s->tx == 'I')
            return tl_errorf(err, "25P01", "%s can only be used in transaction blocks",
                             release ? "RELEASE SAVEPOINT" : "ROLLBACK TO SAVEPOINT");
        if (release && s->tx == 'E') return aborted_error(err);
        int i = find_savepoint(s, st->savepoint_name);
        if (i < 0) return tl_errorf(err, "3B001", "savepoint \"%s\" does not exist", st->savepoint_name);
        if (!release && s->txg) tl_ingest_rollback_to(s->txg, s->sp_marks[i]);
        savepoints_truncate(s, release ? i : i + 1);
        if (!release) s->tx = 'T';
        *tag = release ? "RELEASE" : "ROLLBACK";
        return 0;
    }
    default:
        return err_at(err, -1, "0A000", "two-phase commit is not supported");
    }
}

/* A write in a read-only transaction (or with default_transaction_read_only on). */
static int check_writable(qctx *q, const char *what, tl_error *err)
{
    tl_qsession *s = q->s;
    bool ro = s->tx != 'I' ? s->tx_read_only
                           : strcmp(tl_qsession_get(s, "default_transaction_read_only"), "on") == 0;
    if (ro) return tl_errorf(err, "25006", "cannot execute %s in a read-only transaction", what);
    return 0;
}

static int exec_discard(qctx *q, PgQuery__DiscardStmt *d, tl_sink *sink, const char **tag, tl_error *err)
{
    switch (d->target) {
    case PG_QUERY__DISCARD_MODE__DISCARD_ALL:
        if (q->s->tx != 'I') return tl_errorf(err, "25001", "DISCARD ALL cannot run inside a transaction block");
        *tag = "DISCARD ALL";
        if (prepared_deallocate(q->s, NULL, err) < 0) return -1;
        return tl_qsession_reset_all(q->s, report_cb, sink);
    case PG_QUERY__DISCARD_MODE__DISCARD_PLANS:
        *tag = "DISCARD PLANS";
        return 0;
    case PG_QUERY__DISCARD_MODE__DISCARD_SEQUENCES:
        *tag = "DISCARD SEQUENCES";
        return 0;
    default:
        *tag = "DISCARD TEMP";
        return 0;
    }
}

static int statement_kind_is_write(pnode *stmt)
{
    switch (stmt->node_case) {
    case PG_QUERY__NODE__NODE_CREATE_STMT:
    case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
    case PG_QUERY__NODE__NODE_INDEX_STMT:
    case PG_QUERY__NODE__NODE_DROP_STMT:
    case PG_QUERY__NODE__NODE_VIEW_STMT:
    case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
    case PG_QUERY__NODE__NODE_REFRESH_MAT_VIEW_STMT:
    case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT:
    case PG_QUERY__NODE__NODE_COMMENT_STMT:
        return 2; /* exclusive catalog lock */
    default:
        return 0;
    }
}

int run_statement(qctx *q, pnode *stmt, int stmt_loc, int stmt_len, tl_sink *sink, tl_error *err)
{
    char tagbuf[64];
    const char *tag = NULL;
    int rc = 0;
    bool handled = false;
    tl_catalog_set_temp_nsp(q->s->temp_nsp);
    q->sink = sink;
    rc = exec_function_call(q, stmt, sink, &handled, err);
    if (handled || rc < 0) return rc;
    if (stmt->node_case == PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT &&
        stmt->create_table_as_stmt->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE) {
        rc = exec_create_table_as(q, stmt->create_table_as_stmt, sink, &tag, tagbuf, sizeof tagbuf, err);
        if (rc == 0) rc = complete(sink, tag) < 0 ? tl_errorf(err, "08006", "connection lost") : 0;
        return rc;
    }
    int lockmode = statement_kind_is_write(stmt);
    if (acl_statement_is_ddl(stmt)) lockmode = 2;
    if (q->s->txg && (lockmode == 2 || stmt->node_case == PG_QUERY__NODE__NODE_CHECK_POINT_STMT)) {
        if (!q->s->implicit)
            return tl_errorf(err, "25001", "%s cannot run inside a transaction block that has written rows",
                             lockmode == 2 ? "a catalog change" : "CHECKPOINT");
        /* the implicit transaction's writes so far commit first (README) */
        if (q_tx_finish(q, true, err) < 0) return -1;
    }
    if (lockmode == 2) {
        if (q->s->lock_depth > 0)
            return tl_errorf(err, "55006", "cannot change the catalog while this session has a suspended portal");
        if (check_writable(q, "CREATE/DROP", err) < 0) return -1;
        tl_engine_write_lock(q->eng);
    } else {
        if (stmt->node_case == PG_QUERY__NODE__NODE_INSERT_STMT && check_writable(q, "INSERT", err) < 0) return -1;
        if (stmt->node_case == PG_QUERY__NODE__NODE_COPY_STMT && stmt->copy_stmt->is_from &&
            check_writable(q, "COPY FROM", err) < 0)
            return -1;
        if (stmt->node_case == PG_QUERY__NODE__NODE_DELETE_STMT && check_writable(q, "DELETE", err) < 0) return -1;
        q_read_lock(q->s);
    }
    /* In a block that has written, a failed statement is undone back to here. */
    bool had_txg = q->s->txg != NULL;
    tl_ingest_sp *stmt_sp = had_txg && stmt->node_case != PG_QUERY__NODE__NODE_TRANSACTION_STMT
                                ? tl_ingest_savepoint(q->s->txg)
                                : NULL;
    /* privileges first (acl.c); role and grant statements run there */
    int acl = acl_statement(q, stmt, sink, &tag, err);
    if (acl != 0) {
        rc = acl < 0 ? -1 : 0;
        goto done;
    }
    switch (stmt->node_case) {
    case PG_QUERY__NODE__NODE_SELECT_STMT: {
        qresult r = {0};
        uint64_t rows = 0;
        rc = plan_select(q, stmt->select_stmt, &r, err);
        if (rc == 0) rc = emit_result(q, &r, sink, &rows, err);
        if (r.root) op_free(r.root);
        snprintf(tagbuf, sizeof tagbuf, "SELECT %llu", (unsigned long long)rows);
        tag = tagbuf;
        break;
    }
    case PG_QUERY__NODE__NODE_EXPLAIN_STMT:
        rc = exec_explain(q, stmt->explain_stmt, sink, err);
        tag = "EXPLAIN";
        break;
    case PG_QUERY__NODE__NODE_INSERT_STMT: {
        uint64_t rows = 0;
        rc = exec_insert(q, stmt->insert_stmt, &rows, err);
        snprintf(tagbuf, sizeof tagbuf, "INSERT 0 %llu", (unsigned long long)rows);
        tag = tagbuf;
        break;
    }
    case PG_QUERY__NODE__NODE_DELETE_STMT: {
        uint64_t rows = 0;
        rc = exec_delete(q, stmt->delete_stmt, &rows, err);
        snprintf(tagbuf, sizeof tagbuf, "DELETE %llu", (unsigned long long)rows);
        tag = tagbuf;
        break;
    }
    case PG_QUERY__NODE__NODE_COPY_STMT: {
        uint64_t rows = 0;
        rc = exec_copy(q, stmt->copy_stmt, sink, &rows, err);
        snprintf(tagbuf, sizeof tagbuf, "COPY %llu", (unsigned long long)rows);
        tag = tagbuf;
        break;
    }
    case PG_QUERY__NODE__NODE_CREATE_STMT:
        rc = exec_create_table(q, stmt->create_stmt, err);
        if (rc == 0) rc = acl_after_create_logged(q, stmt->create_stmt->relation, err);
        tag = "CREATE TABLE";
        break;
    case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
        rc = exec_create_enum(q, stmt->create_enum_stmt, err);
        tag = "CREATE TYPE";
        break;
    case PG_QUERY__NODE__NODE_INDEX_STMT:
        rc = exec_create_index(q, stmt->index_stmt, err);
        tag = "CREATE INDEX";
        break;
    case PG_QUERY__NODE__NODE_DROP_STMT:
        if (stmt->drop_stmt->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW) {
            rc = exec_drop_matview(q, stmt->drop_stmt, err);
            tag = "DROP MATERIALIZED VIEW";
            break;
        }
        if (stmt->drop_stmt->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE &&
            matview_drop_table_check(q, stmt->drop_stmt, err) < 0) {
            rc = -1;
            break;
        }
        rc = exec_drop(q, stmt->drop_stmt, &tag, err);
        break;
    case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT: {
        uint64_t rows = 0;
        bool with_rows = false;
        rc = exec_create_matview(q, stmt->create_table_as_stmt, sink, &rows, &with_rows, err);
        if (with_rows) {
            snprintf(tagbuf, sizeof tagbuf, "SELECT %llu", (unsigned long long)rows);
            tag = tagbuf;
        } else {
            tag = "CREATE MATERIALIZED VIEW";
        }
        break;
    }
    case PG_QUERY__NODE__NODE_VIEW_STMT:
        rc = exec_create_view(q, stmt->view_stmt, err);
        tag = "CREATE VIEW";
        break;
    case PG_QUERY__NODE__NODE_REFRESH_MAT_VIEW_STMT:
        rc = exec_refresh_matview(q, stmt->refresh_mat_view_stmt, err);
        tag = "REFRESH MATERIALIZED VIEW";
        break;
    case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT:
        rc = exec_create_function(q, stmt->create_function_stmt, err);
        tag = "CREATE FUNCTION";
        break;
    case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT:
        rc = prepared_declare(q, stmt->declare_cursor_stmt, stmt_loc, stmt_len, err);
        tag = "DECLARE CURSOR";
        break;
    case PG_QUERY__NODE__NODE_FETCH_STMT:
        rc = prepared_fetch(q, stmt->fetch_stmt, sink, err); /* completes itself */
        break;
    case PG_QUERY__NODE__NODE_CLOSE_PORTAL_STMT:
        rc = prepared_close_cursor(q, stmt->close_portal_stmt, err);
        tag = stmt->close_portal_stmt->portalname && stmt->close_portal_stmt->portalname[0] ? "CLOSE CURSOR"
                                                                                            : "CLOSE CURSOR ALL";
        break;
    case PG_QUERY__NODE__NODE_COMMENT_STMT:
        rc = exec_comment(q, stmt->comment_stmt, err);
        tag = "COMMENT";
        break;
    case PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT: {
        /* pgcrypto (gen_random_uuid) and friends are built in: accept, as installed. */
        PgQuery__CreateExtensionStmt *ce = stmt->create_extension_stmt;
        if (strcmp(ce->extname, "pgcrypto") != 0 && strcmp(ce->extname, "plpgsql") != 0 &&
            strcmp(ce->extname, "uuid-ossp") != 0) {
            rc = tl_errorf(err, "0A000", "extension \"%s\" is not available", ce->extname);
        } else if (!ce->if_not_exists) {
            char msg[160];
            snprintf(msg, sizeof msg, "extension \"%s\" is built into tally", ce->extname);
            q_notice(sink, "00000", msg);
        }
        tag = "CREATE EXTENSION";
        break;
    }
    case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
        rc = exec_set(q, stmt->variable_set_stmt, sink, err);
        tag = stmt->variable_set_stmt->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET ||
                      stmt->variable_set_stmt->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL
                  ? "RESET"
                  : "SET";
        break;
    case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT:
        rc = exec_show(q, stmt->variable_show_stmt, sink, err);
        tag = "SHOW";
        break;
    case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
        rc = exec_transaction(q, stmt->transaction_stmt, sink, &tag, err);
        break;
    case PG_QUERY__NODE__NODE_CHECK_POINT_STMT: {
        /* PostgreSQL: superuser (or pg_checkpoint) only; 42501 otherwise */
        tl_role *role = tl_catalog_find_role(q->eng, q->s->user);
        if (role && !role->superuser) {
            rc = tl_errorf(err, "42501", "must be superuser or have privileges of pg_checkpoint to do CHECKPOINT");
        } else {
            rc = tl_engine_checkpoint(q->eng, err); /* the statement's shared lock is held */
        }
        tag = "CHECKPOINT";
        break;
    }
    case PG_QUERY__NODE__NODE_DISCARD_STMT:
        rc = exec_discard(q, stmt->discard_stmt, sink, &tag, err);
        break;
    case PG_QUERY__NODE__NODE_DEALLOCATE_STMT: {
        const char *n = stmt->deallocate_stmt->name;
        rc = prepared_deallocate(q->s, n && n[0] ? n : NULL, err);
        tag = n && n[0] ? "DEALLOCATE" : "DEALLOCATE ALL";
        break;
    }
    case PG_QUERY__NODE__NODE_LISTEN_STMT:
        /* accepted; no notifications are ever sent (nothing issues NOTIFY) */
        tag = "LISTEN";
        break;
    case PG_QUERY__NODE__NODE_UNLISTEN_STMT:
        tag = "UNLISTEN";
        break;
    default:
        rc = tl_errorf(err, "0A000", "statement type %d is not supported yet", (int)stmt->node_case);
        break;
    }
done:
    if (rc < 0 && q->s->txg && stmt->node_case != PG_QUERY__NODE__NODE_TRANSACTION_STMT)
        tl_ingest_rollback_to(q->s->txg, had_txg ? stmt_sp : NULL);
    tl_ingest_sp_free(stmt_sp);
    if (lockmode == 2) tl_engine_unlock(q->eng);
    else q_read_unlock(q->s);
    if (rc == 0 && tag) rc = complete(sink, tag) < 0 ? tl_errorf(err, "08006", "connection lost") : 0;
    return rc;
}
