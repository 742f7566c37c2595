/*
 * dml.c — INSERT and COPY. Rows are built in 2048-row column batches: explicit values
 * (with PostgreSQL's assignment casts), then column defaults evaluated per row (so
 * gen_random_uuid() differs row by row), then generated columns computed from the row
 * in UTC (see README: the seed's `started_at::date` is not immutable in PostgreSQL).
 * Batches go to the engine's ingest, which checks constraints; any error aborts the
 * whole statement, so a failed COPY leaves nothing behind.
 */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Per-statement write context for one table. */
typedef struct wctx {
    qctx *q;
    tl_rel *rel;
    tl_ingest *ing;
    tl_expr **defaults;  /* per attribute, NULL = none */
    tl_expr **generated; /* per attribute, NULL = none */
    bool *provided;      /* per attribute: value comes from the statement */
    tl_vec *cols;        /* current batch, one vector per attribute */
    uint32_t n;
    long *lines;         /* COPY: line number of each buffered row */
    tl_arena batch_arena;
    uint64_t total;
} wctx;

static tl_expr *parse_bind_expr(qctx *q, tl_rel *rel, const char *sql, tl_type to, tl_error *err)
{
    char *text = tl_arena_printf(&q->arena, "SELECT %s", sql);
    PgQueryProtobufParseResult pr = pg_query_parse_protobuf(text);
    if (pr.error) {
        pg_query_free_protobuf_parse_result(pr);
        tl_errorf(err, "XX000", "stored expression \"%s\" does not parse", sql);
        return NULL;
    }
    PgQuery__ParseResult *res = pg_query__parse_result__unpack(NULL, pr.parse_tree.len, (const uint8_t *)pr.parse_tree.data);
    pg_query_free_protobuf_parse_result(pr);
    tl_expr *e = bind_rel_expr(q, rel, res->stmts[0]->stmt->select_stmt->target_list[0]->res_target->val, err);
    pg_query__parse_result__free_unpacked(res, NULL);
    if (!e) return NULL;
    return cast_expr(q, e, to, false, err);
}

static int wctx_init(wctx *w, qctx *q, tl_rel *rel, tl_error *err)
{
    memset(w, 0, sizeof *w);
    w->q = q;
    w->rel = rel;
    int n = rel->natts;
    w->defaults = tl_arena_zalloc(&q->arena, sizeof *w->defaults * (size_t)(n + 1));
    w->generated = tl_arena_zalloc(&q->arena, sizeof *w->generated * (size_t)(n + 1));
    w->provided = tl_arena_zalloc(&q->arena, (size_t)n + 1);
    w->cols = tl_arena_zalloc(&q->arena, sizeof *w->cols * (size_t)(n + 1));
    w->lines = tl_arena_zalloc(&q->arena, sizeof *w->lines * TL_VEC_SIZE);
    for (int i = 0; i < n; i++) {
        const tl_attr *a = &rel->atts[i];
        if (a->default_sql && !(w->defaults[i] = parse_bind_expr(q, NULL, a->default_sql, a->type, err))) return -1;
        if (a->generated_sql && !(w->generated[i] = parse_bind_expr(q, rel, a->generated_sql, a->type, err))) return -1;
    }
    tl_arena_init(&w->batch_arena);
    return 0;
}

static void wctx_new_batch(wctx *w)
{
    tl_arena_reset(&w->batch_arena);
    for (int i = 0; i < w->rel->natts; i++) tl_vec_alloc(&w->cols[i], w->rel->atts[i].type, TL_VEC_SIZE, &w->batch_arena);
    w->n = 0;
}

/* Fill defaults and generated columns of the buffered rows, then hand them to ingest. */
static int wctx_flush(wctx *w, tl_error *err)
{
    if (w->n == 0) return 0;
    qctx *q = w->q;
    uint32_t n = w->n;
    tl_rel *r = w->rel;
    batch in = {.ncols = r->natts, .n = n, .cols = w->cols};
    for (int i = 0; i < r->natts; i++) {
        w->cols[i].n = n;
        if (w->provided[i] || r->atts[i].generated_sql) continue;
        if (!w->defaults[i]) {
            memset(w->cols[i].nulls, 1, n);
            continue;
        }
        batch none = {.ncols = 0, .n = n, .cols = NULL};
        tl_vec v;
        if (expr_eval(q, w->defaults[i], &none, &v, &w->batch_arena, err) < 0) return -1;
        w->cols[i] = v;
    }
    const tl_tz *saved = q->fc.tz;
    q->fc.tz = tl_tz_utc();
    for (int i = 0; i < r->natts; i++) {
        if (!w->generated[i]) continue;
        tl_vec v;
        int rc = expr_eval(q, w->generated[i], &in, &v, &w->batch_arena, err);
        if (rc < 0) {
            q->fc.tz = saved;
            return -1;
        }
        w->cols[i] = v;
    }
    q->fc.tz = saved;
    if (tl_ingest_append(w->ing, r, w->cols, n, err) < 0) {
        long row = tl_ingest_failed_row(w->ing);
        if (row >= 0 && w->lines[row] > 0 && !err->context[0])
            snprintf(err->context, sizeof err->context, "COPY %s, line %ld", r->name, w->lines[row]);
        return -1;
    }
    w->total += n;
    wctx_new_batch(w);
    return 0;
}

static void wctx_done(wctx *w)
{
    tl_arena_free(&w->batch_arena);
}

static tl_rel *target_table(qctx *q, PgQuery__RangeVar *rv, tl_error *err)
{
    uint32_t nsp = TL_NSP_PUBLIC;
    if (rv->schemaname && *rv->schemaname) {
        nsp = tl_catalog_nsp_oid(rv->schemaname);
        if (!nsp) {
            err_at(err, rv->location, "3F000", "schema \"%s\" does not exist", rv->schemaname);
            return NULL;
        }
    }
    tl_rel *r = tl_catalog_find_rel(q->eng, nsp, rv->relname);
    if (!r) {
        err_at(err, rv->location, "42P01", "relation \"%s\" does not exist", rv->relname);
        return NULL;
    }
    if (r->kind != TL_REL_TABLE) {
        err_at(err, rv->location, "42809", "cannot change relation \"%s\"", rv->relname);
        return NULL;
    }
    return r;
}

/* Map the statement's column list to attribute indexes (all columns if none given). */
static int target_columns(qctx *q, tl_rel *r, pnode **cols, size_t ncols, bool copy, int **out, int *nout, tl_error *err)
{
    int *idx = tl_arena_alloc(&q->arena, sizeof *idx * (size_t)(r->natts + ncols + 1));
    int n = 0;
    if (ncols == 0) {
        for (int i = 0; i < r->natts; i++)
            if (!r->atts[i].generated_sql) idx[n++] = i;
    } else {
        for (size_t k = 0; k < ncols; k++) {
            const char *name;
            int loc = -1;
            if (cols[k]->node_case == PG_QUERY__NODE__NODE_RES_TARGET) {
                name = cols[k]->res_target->name;
                loc = cols[k]->res_target->location;
                if (cols[k]->res_target->n_indirection)
                    return err_at(err, loc, "0A000", "subfield and array assignment is not supported");
            } else {
                name = pn_str(cols[k]);
            }
            int a = -1;
            for (int i = 0; i < r->natts; i++)
                if (!strcmp(r->atts[i].name, name)) a = i;
            if (a < 0) {
                if (copy) return tl_errorf(err, "42703", "column \"%s\" of relation \"%s\" does not exist", name, r->name);
                return err_at(err, loc, "42703", "column \"%s\" of relation \"%s\" does not exist", name, r->name);
            }
            for (int j = 0; j < n; j++)
                if (idx[j] == a) return err_at(err, loc, "42701", "column \"%s\" specified more than once", name);
            if (r->atts[a].generated_sql && copy) {
                tl_errorf(err, "428C9", "column \"%s\" is a generated column", name);
                tl_error_detail(err, "Generated columns cannot be used in COPY.");
                return -1;
            }
            idx[n++] = a;
        }
    }
    *out = idx;
    *nout = n;
    return 0;
}

/* ---- INSERT ---------------------------------------------------------------------------------- */

static int insert_values(wctx *w, PgQuery__SelectStmt *vs, const int *idx, int ncols, tl_error *err)
{
    qctx *q = w->q;
    tl_rel *r = w->rel;
    for (size_t row = 0; row < vs->n_values_lists; row++) {
        PgQuery__List *l = vs->values_lists[row]->list;
        if ((int)l->n_items > ncols) {
            int loc = -1;
            pnode *extra = l->items[ncols];
            if (extra->node_case == PG_QUERY__NODE__NODE_A_CONST) loc = extra->a_const->location;
            return err_at(err, loc, "42601", "INSERT has more expressions than target columns");
        }
        if ((int)l->n_items < ncols)
            return err_at(err, -1, "42601", "INSERT has more target columns than expressions");
        for (int k = 0; k < ncols; k++) {
            int a = idx[k];
            pnode *item = l->items[k];
            tl_vec *v = &w->cols[a];
            if (item->node_case == PG_QUERY__NODE__NODE_SET_TO_DEFAULT) {
                tl_datum d;
                memset(&d, 0, sizeof d);
                d.isnull = true;
                if (w->defaults[a] && expr_eval_scalar(q, w->defaults[a], &d, &w->batch_arena, err) < 0) return -1;
                tl_vec_set(v, w->n, &d);
                v->nulls[w->n] = d.isnull;
                continue;
            }
            if (r->atts[a].generated_sql) {
                tl_errorf(err, "428C9", "cannot insert a non-DEFAULT value into column \"%s\"", r->atts[a].name);
                tl_error_detail(err, "Column \"%s\" is a generated column.", r->atts[a].name);
                return -1;
            }
            tl_expr *e = bind_rel_expr(q, NULL, item, err);
            if (!e) return -1;
            tl_expr *c = cast_expr(q, e, r->atts[a].type, false, err);
            if (!c) {
                if (!strcmp(err->sqlstate, "42846")) {
                    tl_error_clear(err);
                    err_at(err, e->location, "42804", "column \"%s\" is of type %s but expression is of type %s",
                           r->atts[a].name, q_type_display_name(q, r->atts[a].type), q_type_display_name(q, e->type));
                    snprintf(err->hint, sizeof err->hint, "You will need to rewrite or cast the expression.");
                }
                return -1;
            }
            tl_datum d;
            if (expr_eval_scalar(q, c, &d, &w->batch_arena, err) < 0) return -1;
            if (!d.isnull && tl_type_is_string(r->atts[a].type.id)) {
                char *copy = tl_arena_strndup(&w->batch_arena, d.v.s.ptr, d.v.s.len);
                d.v.s.ptr = copy;
            }
            tl_vec_set(v, w->n, &d);
            v->nulls[w->n] = d.isnull;
        }
        w->n++;
        if (w->n == TL_VEC_SIZE && wctx_flush(w, err) < 0) return -1;
        if (q_check_cancel(q, err) < 0) return -1;
    }
    return 0;
}

static int insert_select(wctx *w, PgQuery__SelectStmt *ss, const int *idx, int ncols, tl_error *err)
{
    qctx *q = w->q;
    qresult res = {0};
    if (plan_select(q, ss, &res, err) < 0) return -1;
    if (res.ncols > ncols) {
        op_free(res.root);
        return err_at(err, -1, "42601", "INSERT has more expressions than target columns");
    }
    if (res.ncols < ncols) {
        op_free(res.root);
        return err_at(err, -1, "42601", "INSERT has more target columns than expressions");
    }
    tl_rel *r = w->rel;
    for (int k = 0; k < ncols; k++) {
        tl_type from = res.types[k], to = r->atts[idx[k]].type;
        tl_expr probe = {.kind = E_COL, .type = from, .location = -1};
        if (!cast_expr(q, &probe, to, false, err)) {
            op_free(res.root);
            return -1;
        }
    }
    int rc;
    for (;;) {
        batch *b;
        rc = res.root->next(res.root, q, &b, err);
        if (rc <= 0) break;
        for (uint32_t i = 0; i < b->n && rc >= 0; i++) {
            for (int k = 0; k < ncols; k++) {
                tl_datum d, c;
                tl_vec_get(&b->cols[k], i, &d);
                if ((rc = cast_datum(q, &d, res.types[k], r->atts[idx[k]].type, &c, &w->batch_arena, err)) < 0) break;
                if (!c.isnull && tl_type_is_string(c.isnull ? TL_TEXT : r->atts[idx[k]].type.id))
                    c.v.s.ptr = tl_arena_strndup(&w->batch_arena, c.v.s.ptr, c.v.s.len);
                tl_vec_set(&w->cols[idx[k]], w->n, &c);
                w->cols[idx[k]].nulls[w->n] = c.isnull;
            }
            if (rc < 0) break;
            w->n++;
            if (w->n == TL_VEC_SIZE) rc = wctx_flush(w, err);
        }
        if (rc < 0) break;
    }
    op_free(res.root);
    return rc < 0 ? -1 : 0;
}

int exec_insert(qctx *q, PgQuery__InsertStmt *st, uint64_t *rows, tl_error *err)
{
    if (st->on_conflict_clause) return err_at(err, -1, "0A000", "ON CONFLICT is not supported yet");
    if (st->n_returning_list) return err_at(err, -1, "0A000", "RETURNING is not supported yet");
    if (st->with_clause) return err_at(err, -1, "0A000", "WITH is not supported in INSERT yet");
    tl_rel *r = target_table(q, st->relation, err);
    if (!r) return -1;
    int *idx, ncols;
    if (target_columns(q, r, st->cols, st->n_cols, false, &idx, &ncols, err) < 0) return -1;
    wctx w;
    if (wctx_init(&w, q, r, err) < 0) return -1;
    for (int k = 0; k < ncols; k++) w.provided[idx[k]] = true;
    w.ing = q_write_begin(q);
    wctx_new_batch(&w);
    int rc;
    PgQuery__SelectStmt *ss = st->select_stmt ? st->select_stmt->select_stmt : NULL;
    if (!ss) {
        /* INSERT ... DEFAULT VALUES */
        w.n = 1;
        rc = 0;
    } else if (ss->n_values_lists) {
        rc = insert_values(&w, ss, idx, ncols, err);
    } else {
        rc = insert_select(&w, ss, idx, ncols, err);
    }
    if (rc == 0) rc = wctx_flush(&w, err);
    *rows = w.total;
    rc = q_write_end(q, w.ing, rc, rows, err);
    wctx_done(&w);
    return rc;
}

/* ---- COPY ----------------------------------------------------------------------------------------- */

typedef struct copy_in {
    wctx w;
    int *idx;
    int ncols;
    const char *relname;
    tl_copy_decoder *dec;
} copy_in;

/* PostgreSQL's limit_printout_length: at most 100 bytes of data in a CONTEXT line,
 * cut on a character boundary, then "...". */
static void context_data(char *dst, size_t cap, const char *s, size_t len)
{
    size_t n = len;
    if (n > 100) {
        n = 100;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    }
    snprintf(dst, cap, "%.*s%s", (int)n, s, len > 100 ? "..." : "");
}

static void copy_context(char *ctx, size_t cap, const char *rel, long line, const char *col, const char *s, size_t len)
{
    char data[128];
    if (s) context_data(data, sizeof data, s, len);
    if (col) snprintf(ctx, cap, "COPY %s, line %ld, column %s: \"%s\"", rel, line, col, s ? data : "");
    else if (s && len) snprintf(ctx, cap, "COPY %s, line %ld: \"%s\"", rel, line, data);
    else snprintf(ctx, cap, "COPY %s, line %ld", rel, line);
}

static int copy_row(void *ctx, int nfields, char **fields, const size_t *lens, long lineno, tl_error *err)
{
    copy_in *c = ctx;
    wctx *w = &c->w;
    qctx *q = w->q;
    tl_rel *r = w->rel;
    if (c->ncols == 0 && nfields == 1 && (!fields[0] || lens[0] == 0)) nfields = 0;
    if (nfields > c->ncols) {
        tl_errorf(err, "22P04", "extra data after last expected column");
        goto context;
    }
    if (nfields < c->ncols) {
        tl_errorf(err, "22P04", "missing data for column \"%s\"", r->atts[c->idx[nfields]].name);
        goto context;
    }
    for (int k = 0; k < nfields; k++) {
        int a = c->idx[k];
        tl_vec *v = &w->cols[a];
        if (!fields[k]) {
            v->nulls[w->n] = 1;
            continue;
        }
        tl_datum d;
        tl_type t = r->atts[a].type;
        int rc = t.id == TL_ENUM ? enum_in(q, t, fields[k], lens[k], &d, err)
                                 : tl_value_in(t, fields[k], lens[k], &q->fc, &d, &w->batch_arena, err);
        if (rc == 0 && t.id == TL_NUMERIC && t.typmod >= 0) rc = tl_numeric_apply_typmod(&d.v.n, t.typmod, err);
        if (rc < 0) {
            copy_context(err->context, sizeof err->context, c->relname, lineno, r->atts[a].name, fields[k], lens[k]);
            return -1;
        }
        tl_vec_set(v, w->n, &d);
        v->nulls[w->n] = 0;
    }
    w->lines[w->n] = lineno;
    w->n++;
    if (w->n == TL_VEC_SIZE && wctx_flush(w, err) < 0) return -1;
    return 0;
context:
    {
        size_t len = 0;
        const char *text = tl_copy_decoder_line_text(c->dec, &len);
        copy_context(err->context, sizeof err->context, c->relname, lineno, NULL, text, len);
    }
    return -1;
}

/* An error of the decoder itself (quoting, encoding) names the line it was reading. */
static void decoder_context(copy_in *c, tl_error *err)
{
    size_t len = 0;
    const char *text = tl_copy_decoder_line_text(c->dec, &len);
    copy_context(err->context, sizeof err->context, c->relname, tl_copy_decoder_line(c->dec), NULL, text, len);
}

static const char *defel_string(qctx *q, PgQuery__DefElem *d)
{
    if (!d->arg) return NULL;
    if (d->arg->node_case == PG_QUERY__NODE__NODE_STRING) return d->arg->string->sval;
    if (d->arg->node_case == PG_QUERY__NODE__NODE_INTEGER) return tl_arena_printf(&q->arena, "%d", d->arg->integer->ival);
    if (d->arg->node_case == PG_QUERY__NODE__NODE_BOOLEAN) return d->arg->boolean->boolval ? "true" : "false";
    if (d->arg->node_case == PG_QUERY__NODE__NODE_A_STAR) return "*";
    return NULL;
}

static bool truthy(const char *s)
{
    return !s || !strcasecmp(s, "true") || !strcasecmp(s, "on") || !strcmp(s, "1") || !strcasecmp(s, "yes");
}

static int copy_options(qctx *q, PgQuery__CopyStmt *st, tl_copy_opts *o, tl_error *err)
{
    bool csv = false;
    for (size_t i = 0; i < st->n_options; i++) {
        PgQuery__DefElem *d = st->options[i]->def_elem;
        if (!strcmp(d->defname, "format")) {
            const char *f = defel_string(q, d);
            if (f && !strcasecmp(f, "csv")) csv = true;
            else if (f && !strcasecmp(f, "text")) csv = false;
            else if (f && !strcasecmp(f, "binary")) return err_at(err, d->location, "0A000", "COPY BINARY is not supported yet");
            else return err_at(err, d->location, "22023", "COPY format \"%s\" not recognized", f ? f : "");
        }
    }
    tl_copy_opts_default(o, csv);
    bool quote_set = false, escape_set = false;
    for (size_t i = 0; i < st->n_options; i++) {
        PgQuery__DefElem *d = st->options[i]->def_elem;
        const char *v = defel_string(q, d);
        if (!strcmp(d->defname, "format")) continue;
        if (!strcmp(d->defname, "header")) {
            o->header = truthy(v);
        } else if (!strcmp(d->defname, "delimiter")) {
            if (!v || strlen(v) != 1)
                return err_at(err, d->location, "0A000", "COPY delimiter must be a single one-byte character");
            o->delim = v[0];
        } else if (!strcmp(d->defname, "null")) {
            o->null_str = v ? v : "";
        } else if (!strcmp(d->defname, "quote")) {
            if (!csv) return err_at(err, d->location, "0A000", "COPY quote available only in CSV mode");
            if (!v || strlen(v) != 1) return err_at(err, d->location, "0A000", "COPY quote must be a single one-byte character");
            o->quote = v[0];
            quote_set = true;
        } else if (!strcmp(d->defname, "escape")) {
            if (!csv) return err_at(err, d->location, "0A000", "COPY escape available only in CSV mode");
            if (!v || strlen(v) != 1) return err_at(err, d->location, "0A000", "COPY escape must be a single one-byte character");
            o->escape = v[0];
            escape_set = true;
        } else if (!strcmp(d->defname, "encoding")) {
            if (!v || (strcasecmp(v, "utf8") && strcasecmp(v, "utf-8")))
                return err_at(err, d->location, "0A000", "only UTF8 COPY encoding is supported");
        } else if (!strcmp(d->defname, "freeze")) {
            /* nothing to freeze in memory */
        } else {
            return err_at(err, d->location, "0A000", "COPY option \"%s\" is not supported yet", d->defname);
        }
    }
    if (quote_set && !escape_set) o->escape = o->quote;
    if (csv && o->delim == o->quote) return err_at(err, -1, "22023", "COPY delimiter and quote must be different");
    return 0;
}

static int copy_from(qctx *q, PgQuery__CopyStmt *st, tl_sink *sink, uint64_t *rows, tl_error *err)
{
    tl_rel *r = target_table(q, st->relation, err);
    if (!r) return -1;
    tl_copy_opts o;
    if (copy_options(q, st, &o, err) < 0) return -1;
    if (st->where_clause) return err_at(err, -1, "0A000", "COPY FROM ... WHERE is not supported yet");
    copy_in c;
    memset(&c, 0, sizeof c);
    c.relname = r->name;
    if (target_columns(q, r, st->attlist, st->n_attlist, true, &c.idx, &c.ncols, err) < 0) return -1;
    if (wctx_init(&c.w, q, r, err) < 0) return -1;
    for (int k = 0; k < c.ncols; k++) c.w.provided[c.idx[k]] = true;
    if (!sink->copy_in_begin || sink->copy_in_begin(sink->ctx, c.ncols, false) < 0) {
        wctx_done(&c.w);
        return tl_errorf(err, "08006", "connection lost");
    }
    c.w.ing = q_write_begin(q);
    wctx_new_batch(&c.w);
    c.dec = tl_copy_decoder_new(&o, copy_row, &c);
    char *buf = tl_xmalloc(65536);
    int rc = 0;
    for (;;) {
        long got = sink->copy_in_read(sink->ctx, buf, 65536, err);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got == 0) break;
        if (rc == 0 && tl_copy_decoder_feed(c.dec, buf, (size_t)got, err) < 0) rc = -1;
        if (rc < 0 && !err->context[0] && !strncmp(err->sqlstate, "22", 2)) decoder_context(&c, err);
        if (rc == 0 && q_check_cancel(q, err) < 0) rc = -1;
        /* after an error, keep draining the client's data up to CopyDone/CopyFail */
    }
    if (rc == 0 && tl_copy_decoder_finish(c.dec, err) < 0) {
        rc = -1;
        if (!err->context[0]) decoder_context(&c, err);
    }
    if (rc == 0) rc = wctx_flush(&c.w, err);
    *rows = c.w.total;
    rc = q_write_end(q, c.w.ing, rc, rows, err);
    free(buf);
    tl_copy_decoder_free(c.dec);
    wctx_done(&c.w);
    return rc;
}

static char *quote_ident(qctx *q, const char *s)
{
    tl_buf b;
    tl_buf_init(&b);
    tl_buf_putc(&b, '"');
    for (; *s; s++) {
        if (*s == '"') tl_buf_putc(&b, '"');
        tl_buf_putc(&b, *s);
    }
    tl_buf_putc(&b, '"');
    char *r = tl_arena_strdup(&q->arena, b.data);
    tl_buf_free(&b);
    return r;
}

static int copy_to(qctx *q, PgQuery__CopyStmt *st, tl_sink *sink, uint64_t *rows, tl_error *err)
{
    tl_copy_opts o;
    if (copy_options(q, st, &o, err) < 0) return -1;
    PgQuery__ParseResult *parsed = NULL;
    PgQuery__SelectStmt *sel;
    if (st->query) {
        if (st->query->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
            return err_at(err, -1, "0A000", "COPY of a non-SELECT query is not supported");
        sel = st->query->select_stmt;
    } else {
        tl_rel *r = target_table(q, st->relation, err);
        if (!r) return -1;
        int *idx, n;
        if (target_columns(q, r, st->attlist, st->n_attlist, false, &idx, &n, err) < 0) return -1;
        if (st->n_attlist == 0) {
            n = r->natts;
            for (int i = 0; i < n; i++) idx[i] = i;
        }
        tl_buf b;
        tl_buf_init(&b);
        tl_buf_puts(&b, "SELECT ");
        for (int i = 0; i < n; i++) tl_buf_printf(&b, "%s%s", i ? ", " : "", quote_ident(q, r->atts[idx[i]].name));
        tl_buf_printf(&b, " FROM public.%s", quote_ident(q, r->name));
        PgQueryProtobufParseResult pr = pg_query_parse_protobuf(b.data);
        tl_buf_free(&b);
        if (pr.error) {
            pg_query_free_protobuf_parse_result(pr);
            return tl_errorf(err, "XX000", "internal error building COPY query");
        }
        parsed = pg_query__parse_result__unpack(NULL, pr.parse_tree.len, (const uint8_t *)pr.parse_tree.data);
        pg_query_free_protobuf_parse_result(pr);
        sel = parsed->stmts[0]->stmt->select_stmt;
    }
    qresult res = {0};
    int rc = plan_select(q, sel, &res, err);
    if (parsed) pg_query__parse_result__free_unpacked(parsed, NULL);
    if (rc < 0) return -1;
    if (!sink->copy_out_begin || sink->copy_out_begin(sink->ctx, res.ncols, false) < 0) {
        op_free(res.root);
        return tl_errorf(err, "08006", "connection lost");
    }
    tl_buf line, vals;
    tl_buf_init(&line);
    tl_buf_init(&vals);
    const char **pv = tl_arena_alloc(&q->arena, sizeof *pv * (size_t)(res.ncols + 1));
    size_t *lens = tl_arena_alloc(&q->arena, sizeof *lens * (size_t)(res.ncols + 1));
    size_t *offs = tl_arena_alloc(&q->arena, sizeof *offs * (size_t)(res.ncols + 1));
    if (o.header) {
        for (int i = 0; i < res.ncols; i++) {
            pv[i] = res.desc[i].name;
            lens[i] = strlen(pv[i]);
        }
        tl_copy_encode_row(&o, res.ncols, pv, lens, &line);
    }
    uint64_t n = 0;
    for (;;) {
        batch *b;
        rc = res.root->next(res.root, q, &b, err);
        if (rc <= 0) break;
        for (uint32_t i = 0; i < b->n; i++) {
            tl_buf_clear(&vals);
            for (int c = 0; c < res.ncols; c++) {
                if (tl_vec_isnull(&b->cols[c], i)) {
                    offs[c] = SIZE_MAX;
                    continue;
                }
                tl_datum d;
                tl_vec_get(&b->cols[c], i, &d);
                offs[c] = vals.len;
                q_format_value(q, b->cols[c].type, &d, &vals);
                lens[c] = vals.len - offs[c];
            }
            for (int c = 0; c < res.ncols; c++) pv[c] = offs[c] == SIZE_MAX ? NULL : vals.data + offs[c];
            tl_copy_encode_row(&o, res.ncols, pv, lens, &line);
            n++;
        }
        if (line.len >= 65536) {
            if (sink->copy_out_data(sink->ctx, line.data, line.len) < 0) {
                rc = tl_errorf(err, "08006", "connection lost");
                break;
            }
            tl_buf_clear(&line);
        }
        if ((rc = q_check_cancel(q, err)) < 0) break;
    }
    if (rc == 0 && line.len && sink->copy_out_data(sink->ctx, line.data, line.len) < 0)
        rc = tl_errorf(err, "08006", "connection lost");
    if (rc == 0 && sink->copy_out_end(sink->ctx) < 0) rc = tl_errorf(err, "08006", "connection lost");
    tl_buf_free(&line);
    tl_buf_free(&vals);
    op_free(res.root);
    *rows = n;
    return rc < 0 ? -1 : 0;
}

int exec_copy(qctx *q, PgQuery__CopyStmt *st, tl_sink *sink, uint64_t *rows, tl_error *err)
{
    if ((st->filename && *st->filename) || st->is_program)
        return err_at(err, -1, "0A000", "COPY to or from a server file or program is not supported; use STDIN/STDOUT (psql's \\copy)");
    return st->is_from ? copy_from(q, st, sink, rows, err) : copy_to(q, st, sink, rows, err);
}

/* ---- DELETE ------------------------------------------------------------------------------------------ */

/* DELETE FROM t [WHERE cond]: scan the published rows (the writer mutex keeps them
 * current; in a transaction block, with the block's own rows and deletes), evaluate the condition on 2048-row batches (storage narrows first with the
 * same predicates a SELECT would use), mark matches deleted through ingest, then apply
 * ON DELETE rules of referencing tables; everything publishes at one epoch or not at all. */
int exec_delete(qctx *q, PgQuery__DeleteStmt *st, uint64_t *rows, tl_error *err)
{
    if (st->n_using_clause) return err_at(err, -1, "0A000", "DELETE ... USING is not supported yet");
    if (st->n_returning_list) return err_at(err, -1, "0A000", "RETURNING is not supported yet");
    if (st->with_clause) return err_at(err, -1, "0A000", "WITH is not supported in DELETE yet");
    tl_rel *r = target_table(q, st->relation, err);
    if (!r) return -1;
    tl_expr *where = NULL;
    if (st->where_clause) {
        where = bind_rel_expr(q, r, st->where_clause, err);
        if (!where) return -1;
        if (where->type.id == TL_UNKNOWN) where = cast_expr(q, where, tl_type_make(TL_BOOL), false, err);
        if (!where) return -1;
        if (where->type.id != TL_BOOL)
            return err_at(err, where->location, "42804", "argument of WHERE must be type boolean, not type %s",
                          tl_type_name(where->type.id));
    }
    tl_ingest *g = q_write_begin(q);
    tl_arena a;
    tl_arena_init(&a);
    tl_table_snap snap;
    tl_ingest_snapshot(g, r, &snap, &a);
    tl_scan_pred *preds = NULL;
    int npreds = scanpred_extract(q, r, where, &preds);
    uint64_t *hits = tl_xmalloc(sizeof *hits * TL_VEC_SIZE);
    uint32_t sel[TL_VEC_SIZE];
    uint64_t n_deleted = 0;
    int rc = 0;
    tl_arena ba;
    tl_arena_init(&ba);
    for (uint32_t p = 0; p < snap.nparts && rc == 0; p++) {
        uint64_t row = tl_table_skip(r->data, &snap, p, 0, preds, npreds);
        while (row < snap.rows[p] && rc == 0) {
            rc = q_check_cancel(q, err);
            if (rc < 0) break;
            tl_arena_reset(&ba);
            uint64_t left = snap.rows[p] - row;
            uint32_t n = left > TL_VEC_SIZE ? TL_VEC_SIZE : (uint32_t)left;
            uint32_t ns = tl_table_select(r->data, &snap, p, row, n, preds, npreds, sel);
            uint32_t nh = 0;
            if (ns && where) {
                batch b = {.ncols = r->natts, .n = n};
                b.cols = tl_arena_zalloc(&ba, sizeof *b.cols * (size_t)(r->natts + 1));
                for (int c = 0; c < r->natts; c++) tl_table_read(r->data, p, c, row, n, &b.cols[c], &ba);
                tl_vec v;
                rc = expr_eval(q, where, &b, &v, &ba, err);
                if (rc < 0) break;
                for (uint32_t i = 0; i < ns; i++)
                    if (!(v.nulls && v.nulls[sel[i]]) && v.d.b[sel[i]]) hits[nh++] = row + sel[i];
            } else {
                for (uint32_t i = 0; i < ns; i++) hits[nh++] = row + sel[i];
            }
            if (nh) rc = tl_ingest_delete_rows(g, r, p, hits, nh, err);
            n_deleted += nh;
            row += n;
        }
    }
    if (rc == 0) rc = tl_ingest_delete_finish(g, err);
    tl_arena_free(&ba);
    tl_arena_free(&a);
    free(hits);
    uint64_t changed = 0;
    rc = q_write_end(q, g, rc, &changed, err);
    *rows = rc == 0 ? n_deleted : 0;
    return rc;
}

/* ---- the write statements' ingest ------------------------------------------------------------ */

tl_ingest *q_write_begin(qctx *q)
{
    tl_qsession *s = q->s;
    if (s->tx == 'I' && !s->pipeline && !s->txg) {
        tl_engine_writer_begin(q->eng);
        return tl_ingest_begin(q->eng);
    }
    if (!s->txg) {
        s->implicit = s->tx == 'I';
        /* Held to COMMIT/ROLLBACK: the writer mutex keeps the block's pending rows the
         * tables' newest; the extra read lock keeps DDL from changing the tables under
         * them (as PostgreSQL's locks are held to the end of the transaction). */
        q_read_lock(s);
        tl_engine_writer_begin(q->eng);
        s->txg = tl_ingest_begin(q->eng);
    }
    return s->txg;
}

int q_write_end(qctx *q, tl_ingest *g, int rc, uint64_t *rows, tl_error *err)
{
    if (g == q->s->txg) {
        /* a failed statement is undone by run_statement, back to where it started */
        if (rc == 0) tl_ingest_statement_end(g);
        return rc;
    }
    if (rc < 0) {
        tl_ingest_abort(g);
        tl_engine_writer_end(q->eng);
        return -1;
    }
    tl_ingest_set_synchronous(g, q_synchronous_commit(q));
    return tl_ingest_commit(g, rows, err); /* releases the writer mutex */
}

int q_tx_finish(qctx *q, bool commit, tl_error *err)
{
    return q_tx_finish_session(q->s, commit, err);
}

int q_tx_finish_session(tl_qsession *s, bool commit, tl_error *err)
{
    tl_ingest *g = s->txg;
    if (!g) return 0;
    s->txg = NULL;
    s->implicit = false;
    int rc = 0;
    if (commit) {
        uint64_t rows;
        qctx q = {.s = s, .eng = s->eng};
        tl_ingest_set_synchronous(g, q_synchronous_commit(&q));
        rc = tl_ingest_commit(g, &rows, err); /* releases the writer mutex */
    } else {
        tl_ingest_abort(g);
        tl_engine_writer_end(s->eng);
    }
    q_read_unlock(s);
    return rc;
}
