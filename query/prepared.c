/*
 * prepared.c — the extended query protocol's objects, as PostgreSQL keeps them per
 * session: prepared statements (a cached parse tree, parameter types declared or
 * inferred from context), and portals (a statement bound to parameter values and result
 * formats). A SELECT portal is planned at Bind and keeps its operator tree alive between
 * row-limited Executes, holding the engine's read lock (shared with the session's other
 * statements) until it finishes or closes; other statements run at Execute.
 *
 * Parameters: while inferring (Parse), $n binds as a NULL placeholder whose type is set
 * by the first cast the binder applies to it (`int_col = $1` makes it int4, as in PG);
 * after Bind it binds as a constant of that type, so plans see ordinary constants.
 */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <protobuf-c/protobuf-c.h>

#define PARSE_CACHE_MAX 64

typedef struct ptree {
    char *sql;
    PgQuery__ParseResult *res;
    int maxparam; /* highest $n in the text */
    int refs;     /* statements and portals using it; the cache holds one more */
    bool cached;
    struct ptree *next;
} ptree;

typedef struct pstmt {
    char *name;
    ptree *t;
    int nparams;
    tl_type *ptypes;
    uint32_t *poids;
    int ncols; /* -1: NoData */
    tl_coldesc *cols;
    tl_arena arena;
    struct pstmt *next;
} pstmt;

typedef struct portal {
    char *name;
    ptree *t;
    qctx q;
    qparams params;
    int ncols; /* -1: NoData */
    tl_coldesc *desc;
    qresult r;
    bool is_select, locked, done, ran;
    batch *cur;
    uint32_t cur_i;
    char tag[64];
    struct portal *next;
} portal;

struct pstate {
    ptree *cache;
    int ncache;
    pstmt *stmts;
    portal *portals;
};

static struct pstate *st_of(tl_qsession *s)
{
    if (!s->ext) s->ext = tl_xcalloc(1, sizeof *s->ext);
    return s->ext;
}

/* ---- locks ------------------------------------------------------------------------ */

void q_read_lock(tl_qsession *s)
{
    if (s->lock_depth++ == 0) tl_engine_read_lock(s->eng);
}

void q_read_unlock(tl_qsession *s)
{
    if (--s->lock_depth == 0) tl_engine_unlock(s->eng);
}

/* ---- parse cache --------------------------------------------------------------------- */

/* The highest $n anywhere in a parse tree: a generic walk over protobuf-c messages, so
 * every statement kind is covered without a case per node type. */
static void walk_params(const ProtobufCMessage *m, int *maxp)
{
    if (!m) return;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d == &pg_query__param_ref__descriptor) {
        int n = ((const PgQuery__ParamRef *)m)->number;
        if (n > *maxp) *maxp = n;
        return;
    }
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
            ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(const void *)(base + f->offset);
            for (size_t k = 0; k < n; k++) walk_params(arr[k], maxp);
        } else {
            if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                *(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id)
                continue;
            walk_params(*(ProtobufCMessage *const *)(const void *)(base + f->offset), maxp);
        }
    }
}

static void ptree_unref(ptree *t)
{
    if (--t->refs > 0) return;
    pg_query__parse_result__free_unpacked(t->res, NULL);
    free(t->sql);
    free(t);
}

/* libpg_query reports byte offsets; PostgreSQL's P field counts characters. */
static void char_position(const char *sql, tl_error *err)
{
    if (err->position <= 0) return;
    int chars = 0;
    for (int i = 0; i < err->position - 1 && sql[i]; i++)
        if (((unsigned char)sql[i] & 0xC0) != 0x80) chars++;
    err->position = chars + 1;
}

static ptree *ptree_get(struct pstate *ps, const char *sql, tl_error *err)
{
    ptree **pp = &ps->cache;
    for (ptree *t = ps->cache; t; pp = &t->next, t = t->next) {
        if (strcmp(t->sql, sql) == 0) {
            *pp = t->next; /* most recently used first */
            t->next = ps->cache;
            ps->cache = t;
            t->refs++;
            return t;
        }
    }
    PgQueryProtobufParseResult pr = pg_query_parse_protobuf(sql);
    if (pr.error) {
        tl_errorf(err, "42601", "%s", pr.error->message);
        err->position = pr.error->cursorpos;
        char_position(sql, err);
        pg_query_free_protobuf_parse_result(pr);
        return NULL;
    }
    PgQuery__ParseResult *res =
        pg_query__parse_result__unpack(NULL, pr.parse_tree.len, (const uint8_t *)pr.parse_tree.data);
    pg_query_free_protobuf_parse_result(pr);
    if (!res) {
        tl_errorf(err, "XX000", "could not decode parse tree");
        return NULL;
    }
    ptree *t = tl_xcalloc(1, sizeof *t);
    t->sql = tl_xstrdup(sql);
    t->res = res;
    walk_params(&res->base, &t->maxparam);
    t->refs = 2; /* the cache's and the caller's */
    t->cached = true;
    t->next = ps->cache;
    ps->cache = t;
    if (++ps->ncache > PARSE_CACHE_MAX) {
        ptree **lp = &ps->cache;
        while ((*lp)->next) lp = &(*lp)->next;
        ptree *old = *lp;
        *lp = NULL;
        ps->ncache--;
        old->cached = false;
        ptree_unref(old);
    }
    return t;
}

static pnode *ptree_stmt(const ptree *t)
{
    return t->res->n_stmts ? t->res->stmts[0]->stmt : NULL;
}

static bool is_tx_stmt(const ptree *t)
{
    pnode *n = ptree_stmt(t);
    return n && n->node_case == PG_QUERY__NODE__NODE_TRANSACTION_STMT;
}

/* ---- parameters --------------------------------------------------------------------- */

tl_expr *param_expr(qctx *q, int number, int location, tl_error *err)
{
    qparams *p = q->params;
    if (!p || number < 1 || number > p->n) {
        err_at(err, location, "42P02", "there is no parameter $%d", number);
        return NULL;
    }
    tl_type t = p->types[number - 1];
    tl_datum d;
    memset(&d, 0, sizeof d);
    if (p->infer) {
        d.isnull = true;
        tl_expr *e = expr_const(q, t, &d, location);
        if (t.id == TL_UNKNOWN) e->param = number;
        return e;
    }
    return expr_const(q, t, &p->values[number - 1], location);
}

tl_expr *param_cast_hook(qctx *q, tl_expr *e, tl_type to)
{
    int n = e->param;
    qparams *p = q->params;
    if (p && n >= 1 && n <= p->n && p->types[n - 1].id == TL_UNKNOWN) {
        tl_type t = to;
        if (t.id != TL_ENUM) t = tl_type_make(t.id); /* PG infers the type, not its typmod */
        p->types[n - 1] = t;
    }
    tl_datum d;
    memset(&d, 0, sizeof d);
    d.isnull = true;
    return expr_const(q, to, &d, e->location);
}

static int type_of_oid(tl_qsession *s, uint32_t oid, tl_type *out, tl_error *err)
{
    if (oid == 0 || oid == TL_OID_UNKNOWN) {
        *out = tl_type_make(TL_UNKNOWN);
        return 0;
    }
    for (int id = TL_BOOL; id < TL_TYPE_COUNT; id++) {
        if (id == TL_ENUM) continue;
        tl_type t = tl_type_make((tl_type_id)id);
        if (tl_type_oid(t) == oid) {
            *out = t;
            return 0;
        }
    }
    if (tl_array_elem_oid(oid) && oid != TL_OID_ACLITEMARRAY) { /* int4[], text[], int2vector ... */
        *out = tl_array_type(oid);
        return 0;
    }
    q_read_lock(s);
    tl_enum *en = tl_catalog_enum_by_oid(s->eng, oid);
    q_read_unlock(s);
    if (en) {
        out->id = TL_ENUM;
        out->typmod = -1;
        out->oid = oid;
        return 0;
    }
    return tl_errorf(err, "0A000", "parameter type %u is not supported", oid);
}

static uint32_t param_oid(tl_type t)
{
    return t.id == TL_UNKNOWN ? TL_OID_TEXT : tl_type_oid(t);
}

/* ---- statement-level helpers ----------------------------------------------------------- */

static void qctx_init(qctx *q, tl_qsession *s, const char *sql)
{
    tl_catalog_set_temp_nsp(s->temp_nsp);
    memset(q, 0, sizeof *q);
    q->s = s;
    q->eng = s->eng;
    q->sql = sql;
    q->fc.tz = s->tz;
    q->fc.extra_float_digits = s->extra_float_digits;
    q->now = q_clock_now(s);
    tl_arena_init(&q->arena);
}

static void copy_cols(tl_arena *a, int n, const tl_coldesc *src, tl_coldesc **dst)
{
    *dst = tl_arena_zalloc(a, sizeof **dst * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        (*dst)[i] = src[i];
        (*dst)[i].name = tl_arena_strdup(a, src[i].name ? src[i].name : "?column?");
    }
}

static tl_coldesc show_desc(qctx *q, PgQuery__VariableShowStmt *sh)
{
    tl_coldesc d = {.name = sh->name, .type_oid = TL_OID_TEXT, .typlen = -1, .typmod = -1};
    if (strcasecmp(sh->name, "timezone") == 0) d.name = "TimeZone";
    else if (strcasecmp(sh->name, "datestyle") == 0) d.name = "DateStyle";
    else if (strcasecmp(sh->name, "transaction_isolation") == 0) d.name = "transaction_isolation";
    d.name = tl_arena_strdup(&q->arena, d.name);
    return d;
}

/* INSERT ... VALUES ($1, ...): a bare parameter takes its target column's type. */
static void infer_insert(qctx *q, PgQuery__InsertStmt *ins)
{
    if (!ins->relation || !ins->select_stmt || ins->select_stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return;
    PgQuery__SelectStmt *sel = ins->select_stmt->select_stmt;
    uint32_t nsp = ins->relation->schemaname && ins->relation->schemaname[0]
                       ? tl_catalog_nsp_oid(ins->relation->schemaname)
                       : TL_NSP_PUBLIC;
    tl_rel *rel = nsp ? tl_catalog_find_rel(q->eng, nsp, ins->relation->relname) : NULL;
    if (!rel) return;
    for (size_t r = 0; r < sel->n_values_lists; r++) {
        pnode *lst = sel->values_lists[r];
        if (lst->node_case != PG_QUERY__NODE__NODE_LIST) continue;
        for (size_t i = 0; i < lst->list->n_items; i++) {
            pnode *it = lst->list->items[i];
            if (it->node_case != PG_QUERY__NODE__NODE_PARAM_REF) continue;
            int att = -1;
            if (ins->n_cols) {
                if (i >= ins->n_cols) continue;
                const char *cn = ins->cols[i]->res_target->name;
                for (int a = 0; a < rel->natts; a++)
                    if (strcmp(rel->atts[a].name, cn) == 0) att = a;
            } else if ((int)i < rel->natts) {
                att = (int)i;
            }
            int n = it->param_ref->number;
            if (att >= 0 && n >= 1 && n <= q->params->n && q->params->types[n - 1].id == TL_UNKNOWN) {
                tl_type t = rel->atts[att].type;
                if (t.id != TL_ENUM) t = tl_type_make(t.id);
                q->params->types[n - 1] = t;
            }
        }
    }
}

/* An error in an extended-protocol message aborts the transaction block, if any. */
static int fail(tl_qsession *s)
{
    if (s->tx == 'T') s->tx = 'E';
    return -1;
}

static int aborted_error(tl_error *err)
{
    return tl_errorf(err, "25P02", "current transaction is aborted, commands ignored until end of transaction block");
}

/* ---- Parse / Describe statement ---------------------------------------------------------- */

static pstmt *find_stmt(struct pstate *ps, const char *name, pstmt ***link)
{
    pstmt **pp = &ps->stmts;
    for (pstmt *p = ps->stmts; p; pp = &p->next, p = p->next) {
        if (strcmp(p->name, name) == 0) {
            if (link) *link = pp;
            return p;
        }
    }
    return NULL;
}

static void pstmt_free(pstmt *p)
{
    ptree_unref(p->t);
    tl_arena_free(&p->arena);
    free(p->name);
    free(p);
}

int tl_prepare(tl_qsession *s, const char *name, const char *sql, int nparams,
               const uint32_t *param_oids, tl_error *err)
{
    struct pstate *ps = st_of(s);
    pstmt **link = NULL;
    pstmt *old = find_stmt(ps, name, &link);
    if (old && name[0]) {
        tl_errorf(err, "42P05", "prepared statement \"%s\" already exists", name);
        return fail(s);
    }
    ptree *t = ptree_get(ps, sql, err);
    if (!t) return fail(s);
    if (s->tx == 'E' && !is_tx_stmt(t)) {
        ptree_unref(t);
        return aborted_error(err);
    }
    if (t->res->n_stmts > 1) {
        ptree_unref(t);
        tl_errorf(err, "42601", "cannot insert multiple commands into a prepared statement");
        return fail(s);
    }
    pstmt *p = tl_xcalloc(1, sizeof *p);
    p->name = tl_xstrdup(name);
    p->t = t;
    tl_arena_init(&p->arena);
    p->nparams = nparams > t->maxparam ? nparams : t->maxparam;
    p->ptypes = tl_arena_zalloc(&p->arena, sizeof *p->ptypes * (size_t)(p->nparams + 1));
    p->poids = tl_arena_zalloc(&p->arena, sizeof *p->poids * (size_t)(p->nparams + 1));
    p->ncols = -1;
    for (int i = 0; i < p->nparams; i++) {
        if (type_of_oid(s, i < nparams ? param_oids[i] : 0, &p->ptypes[i], err) < 0) {
            pstmt_free(p);
            return fail(s);
        }
    }
    /* Bind the statement once with placeholders: parameter types from context, errors
     * such as a missing table at Parse (as PostgreSQL), and the result's shape. */
    pnode *stmt = ptree_stmt(t);
    qctx q;
    qctx_init(&q, s, t->sql);
    qparams qp = {.n = p->nparams, .types = p->ptypes, .infer = true};
    q.params = &qp;
    int rc = 0;
    if (stmt && stmt->node_case == PG_QUERY__NODE__NODE_SELECT_STMT) {
        qresult r = {0};
        q_read_lock(s);
        rc = plan_select(&q, stmt->select_stmt, &r, err);
        if (rc == 0) {
            p->ncols = r.ncols;
            copy_cols(&p->arena, r.ncols, r.desc, &p->cols);
        }
        if (r.root) op_free(r.root);
        q_read_unlock(s);
    } else if (stmt && stmt->node_case == PG_QUERY__NODE__NODE_INSERT_STMT) {
        q_read_lock(s);
        infer_insert(&q, stmt->insert_stmt);
        q_read_unlock(s);
    } else if (stmt && stmt->node_case == PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT) {
        tl_coldesc d = show_desc(&q, stmt->variable_show_stmt);
        p->ncols = 1;
        copy_cols(&p->arena, 1, &d, &p->cols);
    }
    /* the arena holds snapshot pins on the temporary tables: release them first */
    tl_arena_free(&q.arena);
    q_free_temps(&q);
    if (rc < 0) {
        char_position(t->sql, err);
        pstmt_free(p);
        return fail(s);
    }
    for (int i = 0; i < p->nparams; i++) p->poids[i] = param_oid(p->ptypes[i]);
    if (old && link) {
        *link = old->next;
        pstmt_free(old);
    }
    p->next = ps->stmts;
    ps->stmts = p;
    return 0;
}

static int no_stmt(tl_error *err, const char *name)
{
    if (!name[0]) return tl_errorf(err, "26000", "unnamed prepared statement does not exist");
    return tl_errorf(err, "26000", "prepared statement \"%s\" does not exist", name);
}

int tl_prepared_describe(tl_qsession *s, const char *name, int *nparams, const uint32_t **oids,
                         int *ncols, const tl_coldesc **cols, tl_error *err)
{
    pstmt *p = find_stmt(st_of(s), name, NULL);
    if (!p) return no_stmt(err, name), fail(s);
    if (s->tx == 'E' && !is_tx_stmt(p->t)) return aborted_error(err);
    *nparams = p->nparams;
    *oids = p->poids;
    *ncols = p->ncols;
    *cols = p->cols;
    return 0;
}

/* ---- portals ---------------------------------------------------------------------------- */

static portal *find_portal(struct pstate *ps, const char *name, portal ***link)
{
    portal **pp = &ps->portals;
    for (portal *p = ps->portals; p; pp = &p->next, p = p->next) {
        if (strcmp(p->name, name) == 0) {
            if (link) *link = pp;
            return p;
        }
    }
    return NULL;
}

/* Stop the operator tree and give back the read lock; the portal stays nameable. */
static void portal_finish(tl_qsession *s, portal *p)
{
    if (p->r.root) {
        op_free(p->r.root);
        p->r.root = NULL;
    }
    if (p->locked) {
        p->locked = false;
        q_read_unlock(s);
    }
    p->cur = NULL;
    p->done = true;
}

static void portal_free(tl_qsession *s, portal *p)
{
    portal_finish(s, p);
    /* virtual relations' rows go after the operators reading them and after the arena's
     * snapshot pins on them */
    tl_arena_free(&p->q.arena);
    q_free_temps(&p->q);
    ptree_unref(p->t);
    free(p->name);
    free(p);
}

static void drop_portal(tl_qsession *s, const char *name)
{
    portal **link;
    portal *p = find_portal(st_of(s), name, &link);
    if (!p) return;
    *link = p->next;
    portal_free(s, p);
}

static int format_of(int n, const int16_t *f, int i)
{
    return n == 0 ? 0 : n == 1 ? f[0] : f[i];
}

static int bind_value(qctx *q, tl_type t, int fmt, const tl_cell *v, tl_datum *out, tl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!v->ptr) {
        out->isnull = true;
        return 0;
    }
    if (fmt != 0 && fmt != 1) return tl_errorf(err, "08P01", "unsupported format code: %d", fmt);
    if (t.id == TL_ENUM) {
        char *txt = tl_arena_strndup(&q->arena, v->ptr, v->len);
        return enum_in(q, t, txt, v->len, out, err);
    }
    if (fmt == 1) return tl_value_recv(t, v->ptr, v->len, out, &q->arena, err);
    if (memchr(v->ptr, '\0', v->len))
        return tl_errorf(err, "22021", "invalid byte sequence for encoding \"UTF8\": 0x00");
    if (t.id == TL_UNKNOWN) { /* unresolved: an untyped literal, as PostgreSQL's text */
        out->v.s.ptr = tl_arena_strndup(&q->arena, v->ptr, v->len);
        out->v.s.len = (uint32_t)v->len;
        return 0;
    }
    return tl_value_in(t, v->ptr, v->len, &q->fc, out, &q->arena, err);
}

static int bind_impl(tl_qsession *s, const char *pname, const char *sname, int nformats,
                     const int16_t *formats, int nvalues, const tl_cell *values, int nrformats,
                     const int16_t *rformats, tl_error *err)
{
    struct pstate *ps = st_of(s);
    pstmt *st = find_stmt(ps, sname, NULL);
    if (!st) return no_stmt(err, sname);
    if (pname[0] && find_portal(ps, pname, NULL))
        return tl_errorf(err, "42P03", "portal \"%s\" already exists", pname);
    if (!pname[0]) drop_portal(s, "");
    if (nformats > 1 && nformats != nvalues)
        return tl_errorf(err, "08P01", "bind message has %d parameter formats but %d parameters",
                         nformats, nvalues);
    if (nvalues != st->nparams)
        return tl_errorf(err, "08P01",
                         "bind message supplies %d parameters, but prepared statement \"%s\" requires %d",
                         nvalues, sname, st->nparams);
    if (s->tx == 'E' && !is_tx_stmt(st->t)) return aborted_error(err);

    portal *p = tl_xcalloc(1, sizeof *p);
    p->name = tl_xstrdup(pname);
    p->t = st->t;
    st->t->refs++;
    qctx_init(&p->q, s, st->t->sql);
    p->params.n = st->nparams;
    p->params.types = tl_arena_zalloc(&p->q.arena, sizeof(tl_type) * (size_t)(st->nparams + 1));
    memcpy(p->params.types, st->ptypes, sizeof(tl_type) * (size_t)st->nparams);
    p->params.values = tl_arena_zalloc(&p->q.arena, sizeof(tl_datum) * (size_t)(st->nparams + 1));
    p->q.params = &p->params;
    p->ncols = -1;
    int rc = 0;
    for (int i = 0; i < nvalues && rc == 0; i++) {
        rc = bind_value(&p->q, p->params.types[i], format_of(nformats, formats, i), &values[i],
                        &p->params.values[i], err);
        if (rc < 0 && strcmp(err->sqlstate, "22P03") == 0 &&
            strcmp(err->message, "incorrect binary data format") == 0)
            snprintf(err->message, sizeof err->message, "incorrect binary data format in bind parameter %d", i + 1);
        if (rc < 0 && !err->context[0])
            snprintf(err->context, sizeof err->context, "%s parameter $%d",
                     pname[0] ? "portal" : "unnamed portal", i + 1);
    }
    pnode *stmt = ptree_stmt(p->t);
    if (rc == 0 && stmt && stmt->node_case == PG_QUERY__NODE__NODE_SELECT_STMT) {
        p->is_select = true;
        q_read_lock(s);
        p->locked = true;
        rc = plan_select(&p->q, stmt->select_stmt, &p->r, err);
        if (rc == 0) {
            p->ncols = p->r.ncols;
            copy_cols(&p->q.arena, p->r.ncols, p->r.desc, &p->desc);
        } else {
            char_position(p->t->sql, err);
        }
    } else if (rc == 0 && stmt && stmt->node_case == PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT) {
        tl_coldesc d = show_desc(&p->q, stmt->variable_show_stmt);
        p->ncols = 1;
        copy_cols(&p->q.arena, 1, &d, &p->desc);
    }
    if (rc == 0 && nrformats > 1 && nrformats != (p->ncols < 0 ? 0 : p->ncols))
        rc = tl_errorf(err, "08P01", "bind message has %d result formats but query has %d columns",
                       nrformats, p->ncols < 0 ? 0 : p->ncols);
    for (int i = 0; rc == 0 && i < p->ncols; i++) {
        int f = format_of(nrformats, rformats, i);
        if (f != 0 && f != 1) rc = tl_errorf(err, "22023", "unsupported format code: %d", f);
        p->desc[i].format = (int16_t)f;
    }
    if (rc < 0) {
        portal_free(s, p);
        return -1;
    }
    p->next = ps->portals;
    ps->portals = p;
    return 0;
}

int tl_bind(tl_qsession *s, const char *pname, const char *sname, int nformats,
            const int16_t *formats, int nvalues, const tl_cell *values, int nrformats,
            const int16_t *rformats, tl_error *err)
{
    if (bind_impl(s, pname, sname, nformats, formats, nvalues, values, nrformats, rformats, err) < 0)
        return fail(s);
    return 0;
}

int tl_portal_describe(tl_qsession *s, const char *name, int *ncols, const tl_coldesc **cols,
                       tl_error *err)
{
    portal *p = find_portal(st_of(s), name, NULL);
    if (!p) {
        tl_errorf(err, "34000", "portal \"%s\" does not exist", name);
        return fail(s);
    }
    if (s->tx == 'E' && !is_tx_stmt(p->t)) return aborted_error(err);
    *ncols = p->ncols;
    *cols = p->desc;
    return 0;
}

/* Rows of a SELECT portal until max_rows or the end. */
static int run_select(tl_qsession *s, portal *p, int64_t max_rows, tl_sink *sink, bool *suspended,
                      const char *fetch_verb, tl_error *err)
{
    qctx *q = &p->q;
    int n = p->ncols;
    tl_buf buf;
    tl_buf_init(&buf);
    tl_cell *cells = tl_xcalloc((size_t)n + 1, sizeof *cells);
    size_t *offs = tl_xcalloc((size_t)n + 1, sizeof *offs);
    uint64_t sent = 0;
    int rc = 0;
    /* extra_float_digits and TimeZone as they are now, not at Bind */
    q->fc.tz = s->tz;
    q->fc.extra_float_digits = s->extra_float_digits;
    while (!p->done && (max_rows <= 0 || sent < (uint64_t)max_rows)) {
        if (!p->cur || p->cur_i >= p->cur->n) {
            batch *b;
            rc = p->r.root->next(p->r.root, q, &b, err);
            if (rc == 0) {
                portal_finish(s, p);
                break;
            }
            if (rc < 0 || (rc = q_check_cancel(q, err)) < 0) break;
            p->cur = b;
            p->cur_i = 0;
            continue;
        }
        uint32_t i = p->cur_i++;
        tl_buf_clear(&buf);
        for (int c = 0; c < n; c++) {
            const tl_vec *v = &p->cur->cols[c];
            if (tl_vec_isnull(v, i)) {
                offs[c] = SIZE_MAX;
                continue;
            }
            tl_datum d;
            tl_vec_get(v, i, &d);
            offs[c] = buf.len;
            if (p->desc[c].format == 1 && v->type.id != TL_ENUM && tl_type_binary_ok(v->type)) {
                tl_value_send(v->type, &d, &buf);
            } else if (p->desc[c].format == 1 && v->type.id == TL_ARRAY) {
                if ((rc = q_array_send(q, v->type, &d, &buf, err)) < 0) break;
            } else {
                q_format_value(q, v->type, &d, &buf);
            }
            cells[c].len = buf.len - offs[c];
        }
        if (rc < 0) break;
        for (int c = 0; c < n; c++)
            cells[c].ptr = offs[c] == SIZE_MAX ? NULL : buf.data ? buf.data + offs[c] : "";
        if (sink->row && sink->row(sink->ctx, n, cells) < 0) {
            rc = tl_errorf(err, "08006", "connection lost");
            break;
        }
        sent++;
    }
    tl_buf_free(&buf);
    free(cells);
    free(offs);
    if (rc < 0) {
        portal_finish(s, p);
        return -1;
    }
    char tag[64];
    if (fetch_verb) {
        /* FETCH / MOVE on a cursor: always completes, with the rows it moved over */
        snprintf(tag, sizeof tag, "%s %llu", fetch_verb, (unsigned long long)sent);
        if (sink->complete && sink->complete(sink->ctx, tag) < 0) return tl_errorf(err, "08006", "connection lost");
        return 0;
    }
    if (!p->done) {
        *suspended = true;
        return 0;
    }
    snprintf(tag, sizeof tag, "SELECT %llu", (unsigned long long)sent);
    if (sink->complete && sink->complete(sink->ctx, tag) < 0) return tl_errorf(err, "08006", "connection lost");
    return 0;
}

/* Utility statements run through a wrapper sink that keeps the CommandComplete text (a
 * repeated Execute of a finished portal reports it again instead of re-running) and drops
 * RowDescription, which belongs to Describe in the extended protocol. */
typedef struct tagsink {
    tl_sink in;
    portal *p;
    int64_t rows, max_rows;
    bool suspended;
} tagsink;

#define FWD(t) (((tagsink *)(t))->in)
static int w_row(void *c, int n, const tl_cell *cells)
{
    ((tagsink *)c)->rows++;
    return FWD(c).row ? FWD(c).row(FWD(c).ctx, n, cells) : 0;
}
static int w_notice(void *c, const tl_error *e) { return FWD(c).notice ? FWD(c).notice(FWD(c).ctx, e) : 0; }
static int w_param(void *c, const char *n, const char *v)
{
    return FWD(c).param_status ? FWD(c).param_status(FWD(c).ctx, n, v) : 0;
}
static int w_cib(void *c, int n, bool b) { return FWD(c).copy_in_begin ? FWD(c).copy_in_begin(FWD(c).ctx, n, b) : -1; }
static long w_cir(void *c, char *buf, size_t cap, tl_error *err)
{
    return FWD(c).copy_in_read ? FWD(c).copy_in_read(FWD(c).ctx, buf, cap, err) : 0;
}
static int w_cob(void *c, int n, bool b) { return FWD(c).copy_out_begin ? FWD(c).copy_out_begin(FWD(c).ctx, n, b) : -1; }
static int w_cod(void *c, const char *d, size_t l) { return FWD(c).copy_out_data ? FWD(c).copy_out_data(FWD(c).ctx, d, l) : -1; }
static int w_coe(void *c) { return FWD(c).copy_out_end ? FWD(c).copy_out_end(FWD(c).ctx) : -1; }
static int w_empty(void *c) { return FWD(c).empty ? FWD(c).empty(FWD(c).ctx) : 0; }
static int w_complete(void *c, const char *tag)
{
    tagsink *t = c;
    snprintf(t->p->tag, sizeof t->p->tag, "%s", tag);
    if (t->max_rows > 0 && t->rows >= t->max_rows) {
        /* SHOW's rows are a portal's too: a row limit reached means PortalSuspended */
        t->suspended = true;
        return 0;
    }
    return t->in.complete ? t->in.complete(t->in.ctx, tag) : 0;
}

static int run_utility(tl_qsession *s, portal *p, pnode *stmt, int64_t max_rows, tl_sink *sink,
                       bool *suspended, tl_error *err)
{
    PgQuery__RawStmt *rs = p->t->res->stmts[0];
    tagsink ts = {.in = *sink, .p = p, .max_rows = max_rows};
    tl_sink w = {
        .ctx = &ts, .row = w_row, .complete = w_complete, .notice = w_notice,
        .param_status = w_param, .copy_in_begin = w_cib, .copy_in_read = w_cir,
        .copy_out_begin = w_cob, .copy_out_data = w_cod, .copy_out_end = w_coe, .empty = w_empty,
    };
    char before = s->tx;
    p->ran = true;
    p->q.fc.tz = s->tz;
    p->q.fc.extra_float_digits = s->extra_float_digits;
    int rc = run_statement(&p->q, stmt, rs->stmt_location, rs->stmt_len, &w, err);
    if (before != 'I' && s->tx == 'I') prepared_end_tx(s); /* COMMIT / ROLLBACK */
    *suspended = rc == 0 && ts.suspended;
    return rc;
}

int tl_execute(tl_qsession *s, const char *name, int64_t max_rows, tl_sink *sink, bool *suspended,
               tl_error *err)
{
    *suspended = false;
    portal *p = find_portal(st_of(s), name, NULL);
    if (!p) {
        tl_errorf(err, "34000", "portal \"%s\" does not exist", name);
        return fail(s);
    }
    if (s->tx == 'E' && !is_tx_stmt(p->t)) return aborted_error(err);
    __atomic_store_n(&s->cancel, 0, __ATOMIC_RELEASE);
    s->pipeline = true; /* until Sync: one implicit transaction */
    pnode *stmt = ptree_stmt(p->t);
    ptree *t = p->t;
    t->refs++; /* COMMIT may close this very portal */
    int rc;
    q_statement_begin(s);
    if (!stmt)
        rc = sink->empty ? sink->empty(sink->ctx) : 0;
    else if (p->is_select)
        rc = run_select(s, p, max_rows, sink, suspended, NULL, err);
    else if (p->ran)
        rc = sink->complete && p->tag[0] ? sink->complete(sink->ctx, p->tag) : 0;
    else
        rc = run_utility(s, p, stmt, max_rows, sink, suspended, err);
    q_statement_end(s);
    if (rc < 0) {
        char_position(t->sql, err);
        if (s->tx == 'T') s->tx = 'E';
    }
    ptree_unref(t);
    return rc;
}

int tl_close_statement(tl_qsession *s, const char *name)
{
    pstmt **link;
    pstmt *p = find_stmt(st_of(s), name, &link);
    if (p) {
        *link = p->next;
        pstmt_free(p);
    }
    return 0;
}

int tl_close_portal(tl_qsession *s, const char *name)
{
    drop_portal(s, name);
    return 0;
}

/* Portals closed at the end of a transaction: all of them (none is WITH HOLD here). A
 * portal that is running the COMMIT itself is only finished; it goes at its own close. */
void prepared_end_tx(tl_qsession *s)
{
    struct pstate *ps = st_of(s);
    for (portal *p = ps->portals; p; p = p->next) portal_finish(s, p);
}

int tl_sync(tl_qsession *s, bool failed, tl_error *err)
{
    s->pipeline = false;
    int rc = 0;
    if (s->txg && s->tx == 'I') rc = q_tx_finish_session(s, !failed, err); /* the implicit transaction */
    if (s->tx != 'I') return rc;
    struct pstate *ps = st_of(s);
    while (ps->portals) {
        portal *p = ps->portals;
        ps->portals = p->next;
        portal_free(s, p);
    }
    return rc;
}

int prepared_deallocate(tl_qsession *s, const char *name, tl_error *err)
{
    struct pstate *ps = st_of(s);
    if (!name) {
        while (ps->stmts) {
            pstmt *p = ps->stmts;
            ps->stmts = p->next;
            pstmt_free(p);
        }
        return 0;
    }
    if (!name[0] || !find_stmt(ps, name, NULL))
        return tl_errorf(err, "26000", "prepared statement \"%s\" does not exist", name);
    return tl_close_statement(s, name);
}

void prepared_free(tl_qsession *s)
{
    struct pstate *ps = s->ext;
    if (!ps) return;
    while (ps->portals) {
        portal *p = ps->portals;
        ps->portals = p->next;
        portal_free(s, p);
    }
    prepared_deallocate(s, NULL, NULL);
    while (ps->cache) {
        ptree *t = ps->cache;
        ps->cache = t->next;
        ptree_unref(t);
    }
    free(ps);
    s->ext = NULL;
}

/* ---- SQL cursors: DECLARE / FETCH / MOVE / CLOSE ------------------------------------------------- */

/* The text of DECLARE's query: what follows the FOR after CURSOR (found with PostgreSQL's
 * own scanner, so a quoted cursor name or a comment cannot confuse it). */
static char *declare_query_text(const char *sql, int loc, int len)
{
    size_t n = len > 0 ? (size_t)len : strlen(sql + loc);
    char *stmt = tl_xmalloc(n + 1);
    memcpy(stmt, sql + loc, n);
    stmt[n] = 0;
    PgQueryScanResult sr = pg_query_scan(stmt);
    char *out = NULL;
    if (!sr.error) {
        PgQuery__ScanResult *r = pg_query__scan_result__unpack(NULL, sr.pbuf.len, (const uint8_t *)sr.pbuf.data);
        bool seen_cursor = false;
        for (size_t i = 0; r && i < r->n_tokens && !out; i++) {
            PgQuery__Token t = r->tokens[i]->token;
            if (t == PG_QUERY__TOKEN__CURSOR) seen_cursor = true;
            else if (seen_cursor && t == PG_QUERY__TOKEN__FOR) out = tl_xstrdup(stmt + r->tokens[i]->end);
        }
        if (r) pg_query__scan_result__free_unpacked(r, NULL);
    }
    pg_query_free_scan_result(sr);
    free(stmt);
    return out;
}

int prepared_declare(qctx *q, PgQuery__DeclareCursorStmt *d, int stmt_loc, int stmt_len, tl_error *err)
{
    tl_qsession *s = q->s;
    enum { CURSOR_OPT_BINARY = 0x1, CURSOR_OPT_SCROLL = 0x2, CURSOR_OPT_HOLD = 0x20 };
    if (d->options & CURSOR_OPT_HOLD)
        return tl_errorf(err, "0A000", "WITH HOLD cursors are not supported");
    if (d->options & CURSOR_OPT_BINARY)
        return tl_errorf(err, "0A000", "BINARY cursors are not supported");
    if (s->tx == 'I')
        return tl_errorf(err, "25P01", "DECLARE CURSOR can only be used in transaction blocks");
    if (!d->portalname || !d->portalname[0])
        return tl_errorf(err, "42P03", "invalid cursor name: must not be empty");
    struct pstate *ps = st_of(s);
    if (find_portal(ps, d->portalname, NULL))
        return tl_errorf(err, "42P03", "cursor \"%s\" already exists", d->portalname);
    if (!d->query || d->query->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return tl_errorf(err, "0A000", "DECLARE CURSOR supports SELECT only");
    if (q->params && q->params->n > 0)
        return tl_errorf(err, "0A000", "DECLARE CURSOR with parameters is not supported");
    char *text = declare_query_text(q->sql, stmt_loc, stmt_len);
    if (!text) return tl_errorf(err, "42601", "syntax error in DECLARE CURSOR");
    ptree *t = ptree_get(ps, text, err);
    free(text);
    if (!t) return -1;
    pnode *stmt = ptree_stmt(t);
    if (!stmt || stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT || t->maxparam > 0) {
        ptree_unref(t);
        return tl_errorf(err, "0A000", "DECLARE CURSOR supports SELECT only");
    }
    portal *p = tl_xcalloc(1, sizeof *p);
    p->name = tl_xstrdup(d->portalname);
    p->t = t; /* ptree_get's reference */
    qctx_init(&p->q, s, t->sql);
    p->is_select = true;
    q_read_lock(s);
    p->locked = true;
    if (plan_select(&p->q, stmt->select_stmt, &p->r, err) < 0) {
        portal_free(s, p);
        err->position = 0; /* the position is in the cursor's query, not the statement */
        return -1;
    }
    p->ncols = p->r.ncols;
    copy_cols(&p->q.arena, p->r.ncols, p->r.desc, &p->desc);
    p->next = ps->portals;
    ps->portals = p;
    return 0;
}

int prepared_fetch(qctx *q, PgQuery__FetchStmt *f, tl_sink *sink, tl_error *err)
{
    tl_qsession *s = q->s;
    portal *p = f->portalname ? find_portal(st_of(s), f->portalname, NULL) : NULL;
    if (!p || !p->is_select || !p->name[0])
        return tl_errorf(err, "34000", "cursor \"%s\" does not exist", f->portalname ? f->portalname : "");
    int64_t n = f->how_many;
    switch (f->direction) {
    case PG_QUERY__FETCH_DIRECTION__FETCH_FORWARD:
        break;
    case PG_QUERY__FETCH_DIRECTION__FETCH_RELATIVE:
        if (n == 0) return tl_errorf(err, "0A000", "FETCH RELATIVE 0 is not supported");
        break;
    default:
        return tl_errorf(err, "55000", "cursor can only scan forward");
    }
    if (n < 0) return tl_errorf(err, "55000", "cursor can only scan forward");
    int64_t max_rows = n >= INT64_MAX / 2 ? 0 : n; /* FETCH ALL */
    bool suspended = false;
    if (f->ismove) {
        tl_sink quiet = {.ctx = sink->ctx, .complete = sink->complete};
        return run_select(s, p, max_rows, &quiet, &suspended, "MOVE", err);
    }
    if (n == 0 && max_rows == 0 && f->how_many == 0) {
        /* FETCH 0 re-fetches the current row in PG; nothing to show before the first */
        if (sink->describe && sink->describe(sink->ctx, p->ncols, p->desc) < 0) return -1;
        return sink->complete ? sink->complete(sink->ctx, "FETCH 0") : 0;
    }
    if (sink->describe && sink->describe(sink->ctx, p->ncols, p->desc) < 0)
        return tl_errorf(err, "08006", "connection lost");
    return run_select(s, p, max_rows, sink, &suspended, "FETCH", err);
}

int prepared_close_cursor(qctx *q, PgQuery__ClosePortalStmt *c, tl_error *err)
{
    tl_qsession *s = q->s;
    if (!c->portalname || !c->portalname[0]) { /* CLOSE ALL */
        struct pstate *ps = st_of(s);
        for (portal **pp = &ps->portals; *pp;) {
            portal *p = *pp;
            if (p->name[0] && p->is_select) {
                *pp = p->next;
                portal_free(s, p);
            } else {
                pp = &p->next;
            }
        }
        return 0;
    }
    if (!find_portal(st_of(s), c->portalname, NULL))
        return tl_errorf(err, "34000", "cursor \"%s\" does not exist", c->portalname);
    drop_portal(s, c->portalname);
    return 0;
}
