/*
 * srf.c — set-returning functions and row sets computed at plan time:
 * generate_series (int4, int8, timestamp[tz] by interval; dates resolve to timestamptz
 * as in PostgreSQL), unnest, generate_subscripts, information_schema._pg_expandarray,
 * in FROM (evaluated once: their arguments are constants, or outer values of a
 * correlated subquery, which binds them as constants too) and in the target list
 * (op_project_set: per input row, several SRFs in lockstep up to the longest, as
 * PostgreSQL 10+ does). VALUES lists use the same datum-row operator.
 */
#include "query_int.h"

#include <string.h>

enum { SRF_SERIES_INT, SRF_SERIES_TS, SRF_UNNEST, SRF_SUBSCRIPTS, SRF_EXPANDARRAY, SRF_ANCESTORS };

/* Output rows: column-major datums, grown in an arena. */
typedef struct dcols {
    int ncols;
    uint64_t n, cap;
    tl_datum **v;
} dcols;

static void dcols_init(dcols *d, int ncols, tl_arena *a)
{
    d->ncols = ncols;
    d->n = 0;
    d->cap = 64;
    d->v = tl_arena_alloc(a, sizeof *d->v * (size_t)(ncols ? ncols : 1));
    for (int c = 0; c < ncols; c++) d->v[c] = tl_arena_alloc(a, sizeof **d->v * d->cap);
}

static void dcols_grow(dcols *d, tl_arena *a)
{
    if (d->n < d->cap) return;
    uint64_t ncap = d->cap * 2;
    for (int c = 0; c < d->ncols; c++) {
        tl_datum *m = tl_arena_alloc(a, sizeof *m * ncap);
        memcpy(m, d->v[c], sizeof *m * d->n);
        d->v[c] = m;
    }
    d->cap = ncap;
}

static bool is_srf_name(const char *name)
{
    return !strcmp(name, "generate_series") || !strcmp(name, "unnest") || !strcmp(name, "generate_subscripts") ||
           !strcmp(name, "_pg_expandarray") || !strcmp(name, "pg_partition_ancestors");
}

bool srf_is(const char *name)
{
    return is_srf_name(name);
}

static tl_expr *implicit(qctx *q, tl_expr *e, tl_type t, tl_error *err)
{
    if (e->type.id == t.id && (t.id != TL_ARRAY || e->type.oid == t.oid)) return e;
    return cast_expr(q, e, t, false, err);
}

int srf_bind(qctx *q, const char *name, tl_expr **args, int nargs, srf_call *c, int location, tl_error *err)
{
    memset(c, 0, sizeof *c);
    c->pick = -1;
    c->nargs = nargs;
    c->args = args;
    c->names[0] = name;
    c->ncols = 1;
    if (!strcmp(name, "generate_series") && (nargs == 2 || nargs == 3)) {
        tl_type_id a0 = args[0]->type.id, a1 = args[1]->type.id;
        bool ts = a0 == TL_TIMESTAMPTZ || a0 == TL_TIMESTAMP || a0 == TL_DATE || a1 == TL_TIMESTAMPTZ ||
                  a1 == TL_TIMESTAMP || a1 == TL_DATE;
        if (ts) {
            if (nargs != 3) goto nofn;
            tl_type t = tl_type_make(a0 == TL_TIMESTAMP && a1 == TL_TIMESTAMP ? TL_TIMESTAMP : TL_TIMESTAMPTZ);
            if (!(args[0] = implicit(q, args[0], t, err)) || !(args[1] = implicit(q, args[1], t, err)) ||
                !(args[2] = implicit(q, args[2], tl_type_make(TL_INTERVAL), err)))
                goto nofn_clear;
            c->kind = SRF_SERIES_TS;
            c->types[0] = t;
            return 1;
        }
        bool big = false;
        for (int i = 0; i < nargs; i++) {
            tl_type_id t = args[i]->type.id;
            if (t == TL_INT8) big = true;
            else if (t != TL_INT4 && t != TL_INT2 && t != TL_UNKNOWN) goto nofn;
        }
        tl_type t = tl_type_make(big ? TL_INT8 : TL_INT4);
        for (int i = 0; i < nargs; i++)
            if (!(args[i] = implicit(q, args[i], t, err))) return -1;
        c->kind = SRF_SERIES_INT;
        c->types[0] = t;
        return 1;
    }
    if ((!strcmp(name, "unnest") || !strcmp(name, "_pg_expandarray")) && nargs == 1) {
        if (args[0]->type.id == TL_UNKNOWN) {
            err_at(err, location, "42725", "function %s(unknown) is not unique", name);
            return -1;
        }
        if (args[0]->type.id != TL_ARRAY) goto nofn;
        c->types[0] = array_elem_of(args[0]->type);
        if (name[0] == '_') {
            c->kind = SRF_EXPANDARRAY;
            c->ncols = 2;
            c->names[0] = "x";
            c->names[1] = "n";
            c->types[1] = tl_type_make(TL_INT4);
        } else {
            c->kind = SRF_UNNEST;
        }
        return 1;
    }
    if (!strcmp(name, "pg_partition_ancestors") && nargs == 1) {
        /* tally's month partitions are not relations: a table is its only ancestor
         * (psql's \\d asks for "Referenced by" through this) */
        tl_type rc = tl_type_make(TL_OID);
        rc.oid = TL_OID_REGCLASS;
        if (!(args[0] = implicit(q, args[0], rc, err))) return -1;
        c->kind = SRF_ANCESTORS;
        c->types[0] = rc;
        return 1;
    }
    if (!strcmp(name, "generate_subscripts") && (nargs == 2 || nargs == 3)) {
        if (args[0]->type.id != TL_ARRAY) goto nofn;
        if (!(args[1] = implicit(q, args[1], tl_type_make(TL_INT4), err))) return -1;
        if (nargs == 3 && !(args[2] = implicit(q, args[2], tl_type_make(TL_BOOL), err))) return -1;
        c->kind = SRF_SUBSCRIPTS;
        c->types[0] = tl_type_make(TL_INT4);
        return 1;
    }
nofn:
    {
        tl_buf b;
        tl_buf_init(&b);
        for (int i = 0; i < nargs; i++) {
            if (i) tl_buf_puts(&b, ", ");
            tl_buf_puts(&b, q_type_display_name(q, args[i]->type));
        }
        tl_buf_putc(&b, '\0');
        err_at(err, location, "42883", "function %s(%s) does not exist", name, b.data);
        tl_buf_free(&b);
        snprintf(err->hint, sizeof err->hint,
                 "No function matches the given name and argument types. You might need to add explicit type casts.");
        return -1;
    }
nofn_clear:
    return -1;
}

/* Rows of one call with argument values argv, appended to out (values in a). */
static int srf_rows(qctx *q, const srf_call *c, const tl_datum *argv, dcols *out, tl_arena *a, tl_error *err)
{
    for (int i = 0; i < c->nargs; i++)
        if (argv[i].isnull) return 0; /* strict: NULL arguments give no rows */
    switch (c->kind) {
    case SRF_SERIES_INT: {
        int64_t cur = argv[0].v.i, stop = argv[1].v.i, step = c->nargs == 3 ? argv[2].v.i : 1;
        if (step == 0) return tl_errorf(err, "22023", "step size cannot equal zero");
        int64_t max = c->types[0].id == TL_INT4 ? INT32_MAX : INT64_MAX;
        int64_t min = c->types[0].id == TL_INT4 ? INT32_MIN : INT64_MIN;
        while (step > 0 ? cur <= stop : cur >= stop) {
            dcols_grow(out, a);
            out->v[0][out->n++] = (tl_datum){.v.i = cur};
            if ((out->n & 0xffff) == 0 && q_check_cancel(q, err) < 0) return -1;
            if (step > 0 ? cur > max - step : cur < min - step) break; /* the next would overflow */
            cur += step;
        }
        return 0;
    }
    case SRF_SERIES_TS: {
        int64_t cur = argv[0].v.i, stop = argv[1].v.i;
        tl_interval step = argv[2].v.iv;
        tl_interval zero = {0};
        int dir = tl_interval_cmp(&step, &zero);
        if (dir == 0) return tl_errorf(err, "22023", "step size cannot equal zero");
        const tl_tz *tz = c->types[0].id == TL_TIMESTAMPTZ ? q->fc.tz : tl_tz_utc();
        while (dir > 0 ? cur <= stop : cur >= stop) {
            dcols_grow(out, a);
            out->v[0][out->n++] = (tl_datum){.v.i = cur};
            if ((out->n & 0xffff) == 0 && q_check_cancel(q, err) < 0) return -1;
            int64_t next;
            if (tl_ts_add_interval(cur, &step, tz, &next, err) < 0) return -1;
            cur = next;
        }
        return 0;
    }
    case SRF_ANCESTORS:
        dcols_grow(out, a);
        out->v[0][out->n++] = argv[0];
        return 0;
    case SRF_UNNEST:
    case SRF_EXPANDARRAY:
    case SRF_SUBSCRIPTS: {
        tl_array_elems el;
        uint32_t aoid = c->args[0]->type.oid;
        if (tl_array_parse(aoid, argv[0].v.s.ptr, argv[0].v.s.len, &el, a, err) < 0) return -1;
        if (c->kind == SRF_SUBSCRIPTS) {
            if (argv[1].v.i != 1 || el.n == 0) return 0;
            int lb = (aoid == TL_OID_INT2VECTOR || aoid == TL_OID_OIDVECTOR) ? 0 : 1;
            bool rev = c->nargs == 3 && argv[2].v.b;
            for (int k = 0; k < el.n; k++) {
                dcols_grow(out, a);
                out->v[0][out->n++] = (tl_datum){.v.i = lb + (rev ? el.n - 1 - k : k)};
            }
            return 0;
        }
        for (int k = 0; k < el.n; k++) {
            dcols_grow(out, a);
            tl_datum v = {.isnull = true};
            if (!el.isnull[k] && array_elem_datum(q, &el.v[k], c->types[0], &v, a, err) < 0) return -1;
            if (!v.isnull && tl_type_is_string(c->types[0].id)) v.v.s.ptr = tl_arena_strndup(a, v.v.s.ptr, v.v.s.len);
            out->v[0][out->n] = v;
            if (c->kind == SRF_EXPANDARRAY) out->v[1][out->n] = (tl_datum){.v.i = k + 1};
            out->n++;
        }
        return 0;
    }
    }
    return tl_errorf(err, "XX000", "unknown set-returning function");
}

/* ---- an operator over datum columns (FROM functions, VALUES) ---------------------------- */

typedef struct datums_op {
    op base;
    dcols rows;
    uint64_t pos;
} datums_op;

static int datums_next(op *o, qctx *q, batch **out, tl_error *err)
{
    datums_op *d = (datums_op *)o;
    (void)q;
    (void)err;
    if (d->pos >= d->rows.n) return 0;
    tl_arena_reset(&o->arena);
    uint64_t left = d->rows.n - d->pos;
    uint32_t n = left > TL_VEC_SIZE ? TL_VEC_SIZE : (uint32_t)left;
    batch *b = batch_new(&o->arena, o->ncols, n);
    for (int c = 0; c < o->ncols; c++) {
        tl_vec_alloc(&b->cols[c], o->types[c], n, &o->arena);
        b->cols[c].n = n;
        for (uint32_t i = 0; i < n; i++) {
            const tl_datum *v = &d->rows.v[c][d->pos + i];
            b->cols[c].nulls[i] = v->isnull;
            if (!v->isnull) tl_vec_set(&b->cols[c], i, v);
        }
    }
    d->pos += n;
    *out = b;
    return 1;
}

static op *datums_op_new(qctx *q, int ncols, const tl_type *types, dcols *rows)
{
    datums_op *d = tl_xcalloc(1, sizeof *d);
    op_init(&d->base, ncols, types, q);
    op_label(&d->base, "Function Scan", NULL, NULL);
    d->base.next = datums_next;
    d->rows = *rows;
    return &d->base;
}

op *srf_from_op(qctx *q, const srf_call *c, bool ordinality, tl_error *err)
{
    tl_datum *argv = tl_arena_alloc(&q->arena, sizeof *argv * (size_t)(c->nargs + 1));
    for (int i = 0; i < c->nargs; i++)
        if (expr_eval_scalar(q, c->args[i], &argv[i], &q->arena, err) < 0) return NULL;
    for (int i = 0; i < c->nargs; i++)
        if (!argv[i].isnull && tl_type_is_string(c->args[i]->type.id))
            argv[i].v.s.ptr = tl_arena_strndup(&q->arena, argv[i].v.s.ptr, argv[i].v.s.len);
    int ncols = c->ncols + (ordinality ? 1 : 0);
    dcols rows;
    dcols_init(&rows, ncols, &q->arena);
    if (srf_rows(q, c, argv, &rows, &q->arena, err) < 0) return NULL;
    tl_type types[3] = {c->types[0], c->types[1], tl_type_make(TL_INT8)};
    if (ordinality) {
        types[c->ncols] = tl_type_make(TL_INT8);
        for (uint64_t i = 0; i < rows.n; i++) rows.v[c->ncols][i] = (tl_datum){.v.i = (int64_t)i + 1};
    }
    return datums_op_new(q, ncols, types, &rows);
}

op *values_rows_op(qctx *q, int ncols, const tl_type *types, int nrows, tl_expr ***rows, tl_error *err)
{
    dcols d;
    dcols_init(&d, ncols, &q->arena);
    for (int r = 0; r < nrows; r++) {
        dcols_grow(&d, &q->arena);
        for (int c = 0; c < ncols; c++) {
            tl_datum v;
            if (expr_eval_scalar(q, rows[r][c], &v, &q->arena, err) < 0) return NULL;
            if (!v.isnull && (tl_type_is_string(types[c].id) || types[c].id == TL_ARRAY))
                v.v.s.ptr = tl_arena_strndup(&q->arena, v.v.s.ptr, v.v.s.len);
            d.v[c][d.n] = v;
        }
        d.n++;
    }
    return datums_op_new(q, ncols, types, &d);
}

/* ---- SRFs in the target list: input columns + one column per SRF ----------------------- */

typedef struct pset_op {
    op base;
    op *child;
    int nsrf;
    const srf_call *calls;
    tl_arena work; /* rows of the current input batch */
    dcols rows;
    uint64_t pos;
} pset_op;

/* The value an SRF contributes to its target-list column for output row r. */
static tl_datum pset_value(qctx *q, const srf_call *c, const dcols *d, uint64_t r, tl_arena *a)
{
    if (c->ncols == 1) return d->v[0][r];
    if (c->pick >= 0) return d->v[c->pick][r];
    /* a record: "(x,n)" as record_out writes it (quoted when needed) */
    tl_buf b;
    tl_buf_init(&b);
    tl_buf_putc(&b, '(');
    for (int k = 0; k < c->ncols; k++) {
        if (k) tl_buf_putc(&b, ',');
        const tl_datum *v = &d->v[k][r];
        if (v->isnull) continue;
        tl_buf t;
        tl_buf_init(&t);
        q_format_value(q, c->types[k], v, &t);
        bool quote = t.len == 0;
        for (size_t i = 0; i < t.len && !quote; i++) quote = strchr("(),\"\\ ", t.data[i]) != NULL;
        if (quote) tl_buf_putc(&b, '"');
        for (size_t i = 0; i < t.len; i++) {
            if (quote && (t.data[i] == '"' || t.data[i] == '\\')) tl_buf_putc(&b, t.data[i]);
            tl_buf_putc(&b, t.data[i]);
        }
        if (quote) tl_buf_putc(&b, '"');
        tl_buf_free(&t);
    }
    tl_buf_putc(&b, ')');
    tl_datum out = {.isnull = false};
    out.v.s.ptr = tl_arena_strndup(a, b.data, b.len);
    out.v.s.len = (uint32_t)b.len;
    tl_buf_free(&b);
    return out;
}

static tl_type srf_out_type(const srf_call *c)
{
    if (c->ncols == 1) return c->types[0];
    if (c->pick >= 0) return c->types[c->pick];
    tl_type t = tl_type_make(TL_TEXT);
    t.oid = TL_OID_RECORD;
    t.typmod = (int32_t)c->types[0].id;
    return t;
}

/* (rec).field on _pg_expandarray's record text. */
static int k_record_field(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    int want = (int)args[1].d.i[0];
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_str s = args[0].d.s[i];
        /* split "(a,b)" at top-level commas, honouring quotes */
        tl_buf f;
        tl_buf_init(&f);
        int field = 0;
        bool inq = false, got = false, wasq = false;
        for (uint32_t k = 1; k + 1 <= s.len; k++) {
            char ch = s.ptr[k];
            if (inq) {
                if (ch == '"' && k + 1 < s.len && s.ptr[k + 1] == '"') tl_buf_putc(&f, ch), k++;
                else if (ch == '\\' && k + 1 < s.len) tl_buf_putc(&f, s.ptr[++k]);
                else if (ch == '"') inq = false;
                else tl_buf_putc(&f, ch);
                continue;
            }
            if (ch == '"') {
                inq = wasq = true;
                continue;
            }
            if (ch == ',' || ch == ')') {
                if (field == want) {
                    got = true;
                    break;
                }
                field++;
                f.len = 0;
                wasq = false;
                continue;
            }
            tl_buf_putc(&f, ch);
        }
        if (!got || (f.len == 0 && !wasq)) {
            out->nulls[i] = 1;
        } else {
            tl_datum in = {.isnull = false}, v;
            in.v.s.ptr = f.data ? f.data : "";
            in.v.s.len = (uint32_t)f.len;
            if (cast_datum(q, &in, tl_type_make(TL_TEXT), e->type, &v, &q->arena, err) < 0) {
                tl_buf_free(&f);
                return -1;
            }
            if (tl_type_is_string(e->type.id)) v.v.s.ptr = tl_arena_strndup(&q->arena, v.v.s.ptr, v.v.s.len);
            tl_vec_set(out, i, &v);
        }
        tl_buf_free(&f);
    }
    return 0;
}

static const fn_def record_field_def = {"record_field", 2, {TL_TEXT, TL_INT4}, TL_UNKNOWN, k_record_field, false, false};

tl_expr *record_field_expr(qctx *q, tl_expr *rec, const char *field, int location, tl_error *err)
{
    int idx = !strcmp(field, "x") ? 0 : !strcmp(field, "n") ? 1 : -1;
    if (idx < 0) {
        err_at(err, location, "42703", "could not identify column \"%s\" in record data type", field);
        return NULL;
    }
    tl_expr *e = expr_new(q, E_FUNC, tl_type_make(idx == 0 ? (tl_type_id)rec->type.typmod : TL_INT4), location);
    if (idx == 0 && (rec->type.typmod <= 0 || rec->type.typmod >= TL_TYPE_COUNT)) e->type = tl_type_make(TL_TEXT);
    e->fn = &record_field_def;
    e->name = field;
    e->nargs = 2;
    e->args = tl_arena_alloc(&q->arena, sizeof *e->args * 2);
    e->args[0] = rec;
    tl_datum d = {.v.i = idx};
    e->args[1] = expr_const(q, tl_type_make(TL_INT4), &d, location);
    return e;
}

static int pset_fill(pset_op *p, qctx *q, batch *in, tl_error *err)
{
    tl_arena_reset(&p->work);
    int nin = p->child->ncols;
    dcols_init(&p->rows, p->base.ncols, &p->work);
    p->pos = 0;
    tl_vec **av = tl_arena_alloc(&p->work, sizeof *av * (size_t)p->nsrf);
    for (int s = 0; s < p->nsrf; s++) {
        const srf_call *c = &p->calls[s];
        av[s] = tl_arena_alloc(&p->work, sizeof **av * (size_t)(c->nargs + 1));
        for (int k = 0; k < c->nargs; k++)
            if (expr_eval(q, c->args[k], in, &av[s][k], &p->work, err) < 0) return -1;
    }
    dcols *one = tl_arena_alloc(&p->work, sizeof *one * (size_t)p->nsrf);
    tl_arena tmp;
    tl_arena_init(&tmp);
    for (uint32_t i = 0; i < in->n; i++) {
        uint64_t most = 0;
        for (int s = 0; s < p->nsrf; s++) {
            const srf_call *c = &p->calls[s];
            tl_datum argv[4];
            for (int k = 0; k < c->nargs && k < 4; k++) tl_vec_get(&av[s][k], i, &argv[k]);
            dcols_init(&one[s], c->ncols, &p->work);
            if (srf_rows(q, c, argv, &one[s], &p->work, err) < 0) {
                tl_arena_free(&tmp);
                return -1;
            }
            if (one[s].n > most) most = one[s].n;
        }
        for (uint64_t r = 0; r < most; r++) {
            dcols_grow(&p->rows, &p->work);
            for (int c = 0; c < nin; c++) {
                /* columns nobody reads are not filled by the scan */
                if (in->cols[c].d.raw) tl_vec_get(&in->cols[c], i, &p->rows.v[c][p->rows.n]);
                else p->rows.v[c][p->rows.n] = (tl_datum){.isnull = true};
            }
            for (int s = 0; s < p->nsrf; s++)
                p->rows.v[nin + s][p->rows.n] = r < one[s].n ? pset_value(q, &p->calls[s], &one[s], r, &p->work)
                                                             : (tl_datum){.isnull = true};
            p->rows.n++;
        }
    }
    tl_arena_free(&tmp);
    return 0;
}

static int pset_next(op *o, qctx *q, batch **out, tl_error *err)
{
    pset_op *p = (pset_op *)o;
    while (p->pos >= p->rows.n) {
        batch *in;
        int rc = p->child->next(p->child, q, &in, err);
        if (rc <= 0) return rc;
        if (pset_fill(p, q, in, err) < 0) return -1;
    }
    tl_arena_reset(&o->arena);
    uint64_t left = p->rows.n - p->pos;
    uint32_t n = left > TL_VEC_SIZE ? TL_VEC_SIZE : (uint32_t)left;
    batch *b = batch_new(&o->arena, o->ncols, n);
    for (int c = 0; c < o->ncols; c++) {
        tl_vec_alloc(&b->cols[c], o->types[c], n, &o->arena);
        b->cols[c].n = n;
        for (uint32_t i = 0; i < n; i++) {
            const tl_datum *v = &p->rows.v[c][p->pos + i];
            b->cols[c].nulls[i] = v->isnull;
            if (!v->isnull) tl_vec_set(&b->cols[c], i, v);
        }
    }
    p->pos += n;
    *out = b;
    return 1;
}

static void pset_close(op *o)
{
    pset_op *p = (pset_op *)o;
    op_free(p->child);
    tl_arena_free(&p->work);
}

op *op_project_set(qctx *q, op *child, int nsrf, const srf_call *calls)
{
    pset_op *p = tl_xcalloc(1, sizeof *p);
    int n = child->ncols + nsrf;
    tl_type *types = tl_arena_alloc(&q->arena, sizeof *types * (size_t)(n + 1));
    memcpy(types, child->types, sizeof *types * (size_t)child->ncols);
    for (int s = 0; s < nsrf; s++) types[child->ncols + s] = srf_out_type(&calls[s]);
    op_init(&p->base, n, types, q);
    op_label(&p->base, "ProjectSet", child, NULL);
    p->base.next = pset_next;
    p->base.close = pset_close;
    p->child = child;
    p->nsrf = nsrf;
    p->calls = calls;
    tl_arena_init(&p->work);
    return &p->base;
}
