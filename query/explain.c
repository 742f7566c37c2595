/*
 * explain.c — EXPLAIN and EXPLAIN ANALYZE of a SELECT: the operator tree as text, one
 * "QUERY PLAN" row per line as PostgreSQL returns it. Operators name themselves when
 * built (op_label); ANALYZE runs the query to its end, discarding rows, with each
 * operator's next() wrapped to count the rows it returned and the time spent in it
 * and its inputs (inclusive, like PostgreSQL's "actual time"). Scans add what storage
 * pruned: partitions skipped by month, segments skipped by zone maps. No cost model
 * exists, so there are no cost estimates; the text is for people, not for parsers.
 */
#include "query_int.h"

#include <string.h>
#include <time.h>

void op_label(op *o, const char *label, op *k0, op *k1)
{
    o->label = label;
    o->kids[0] = k0;
    o->kids[1] = k1;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int counting_next(op *o, qctx *q, batch **out, tl_error *err)
{
    int64_t t0 = now_us();
    int rc = o->raw_next(o, q, out, err);
    o->an_us += now_us() - t0;
    o->an_calls++;
    if (rc == 1) o->an_rows += (*out)->n;
    return rc;
}

static void instrument(op *o)
{
    if (!o || o->raw_next) return;
    o->raw_next = o->next;
    o->next = counting_next;
    instrument(o->kids[0]);
    instrument(o->kids[1]);
}

typedef struct lines {
    tl_buf text;
    int n;
} lines;

static void line_end(lines *l)
{
    tl_buf_putc(&l->text, '\n');
    l->n++;
}

static void print_op(const op *o, int depth, bool analyze, lines *l)
{
    if (!o) return;
    for (int i = 0; i < depth; i++) tl_buf_puts(&l->text, i == depth - 1 ? "  ->  " : "      ");
    tl_buf_puts(&l->text, o->label ? o->label : "Operator");
    if (analyze)
        tl_buf_printf(&l->text, "  (actual time=%.3f ms rows=%llu batches=%llu)", (double)o->an_us / 1000.0,
                      (unsigned long long)o->an_rows, (unsigned long long)o->an_calls);
    line_end(l);
    if (o->detail || (analyze && o->stats)) {
        for (int i = 0; i < depth; i++) tl_buf_puts(&l->text, "      ");
        tl_buf_puts(&l->text, "      ");
        if (o->detail) tl_buf_puts(&l->text, o->detail);
        if (analyze && o->stats) {
            if (o->detail) tl_buf_puts(&l->text, "; ");
            o->stats((op *)o, &l->text);
        }
        line_end(l);
    }
    print_op(o->kids[0], depth + 1, analyze, l);
    print_op(o->kids[1], depth + 1, analyze, l);
}

static bool opt_on(PgQuery__DefElem *d)
{
    if (!d->arg) return true;
    const char *v = pn_str(d->arg);
    if (!v && d->arg->node_case == PG_QUERY__NODE__NODE_BOOLEAN) return d->arg->boolean->boolval;
    if (!v && d->arg->node_case == PG_QUERY__NODE__NODE_INTEGER) return d->arg->integer->ival != 0;
    return !v || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1");
}

int exec_explain(qctx *q, PgQuery__ExplainStmt *st, tl_sink *sink, tl_error *err)
{
    bool analyze = false;
    for (size_t i = 0; i < st->n_options; i++) {
        PgQuery__DefElem *d = st->options[i]->def_elem;
        if (!d) continue;
        if (!strcmp(d->defname, "analyze")) analyze = opt_on(d);
        else if (!strcmp(d->defname, "format")) {
            const char *v = d->arg ? pn_str(d->arg) : NULL;
            if (v && strcmp(v, "text") != 0)
                return tl_errorf(err, "0A000", "EXPLAIN (FORMAT %s) is not supported; only text", v);
        } else if (strcmp(d->defname, "verbose") && strcmp(d->defname, "costs") && strcmp(d->defname, "buffers") &&
                   strcmp(d->defname, "timing") && strcmp(d->defname, "summary") && strcmp(d->defname, "settings") &&
                   strcmp(d->defname, "wal")) {
            return tl_errorf(err, "42601", "unrecognized EXPLAIN option \"%s\"", d->defname);
        }
    }
    if (!st->query || st->query->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return tl_errorf(err, "0A000", "EXPLAIN is supported for SELECT only");
    int64_t t0 = now_us();
    qresult r = {0};
    if (plan_select(q, st->query->select_stmt, &r, err) < 0) return -1;
    int64_t planned = now_us();
    uint64_t rows = 0;
    int rc = 0;
    if (analyze) {
        instrument(r.root);
        for (;;) {
            batch *b;
            rc = r.root->next(r.root, q, &b, err);
            if (rc <= 0) break;
            rows += b->n;
        }
    }
    int64_t done = now_us();
    lines l = {0};
    tl_buf_init(&l.text);
    if (rc == 0) {
        print_op(r.root, 0, analyze, &l);
        tl_buf_printf(&l.text, "Planning Time: %.3f ms", (double)(planned - t0) / 1000.0);
        line_end(&l);
        if (analyze) {
            tl_buf_printf(&l.text, "Execution Time: %.3f ms (%llu rows)", (double)(done - planned) / 1000.0,
                          (unsigned long long)rows);
            line_end(&l);
        }
        tl_coldesc d = {.name = "QUERY PLAN", .type_oid = TL_OID_TEXT, .typlen = -1, .typmod = -1};
        if (sink->describe && sink->describe(sink->ctx, 1, &d) < 0) rc = tl_errorf(err, "08006", "connection lost");
        const char *p = l.text.data ? l.text.data : "";
        for (int i = 0; i < l.n && rc == 0; i++) {
            const char *e = strchr(p, '\n');
            tl_cell c = {.ptr = p, .len = (size_t)(e - p)};
            if (sink->row && sink->row(sink->ctx, 1, &c) < 0) rc = tl_errorf(err, "08006", "connection lost");
            p = e + 1;
        }
    }
    tl_buf_free(&l.text);
    op_free(r.root);
    return rc;
}
