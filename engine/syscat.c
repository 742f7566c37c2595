/*
 * syscat.c — pg_catalog and information_schema as virtual relations generated from
 * the engine's catalog. Column lists, relation OIDs, base types and built-in function
 * rows are PostgreSQL 15's (syscat_data.h, generated from a real server); the rows
 * describing tally's own objects are produced here at statement time and scanned by
 * the ordinary executor. Catalogs tally has nothing for (policies, triggers, rules,
 * publications ...) exist with their real columns and no rows, which is the truth.
 *
 * The relations are registered with kind 'v' so that DML and DDL refuse them; pg_class
 * reports PostgreSQL's relkind for them (tl_syscat_relkind).
 */
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

#include "syscat_data.h"
#include "tl_roles.h"

#define NDEFS (sizeof syscat_defs / sizeof syscat_defs[0])
#define NTYPES (sizeof syscat_types / sizeof syscat_types[0])
#define NPROCS (sizeof syscat_procs / sizeof syscat_procs[0])
#define SUPERUSER_OID 10
#define DATABASE_OID 5
#define CLASS_OID_PG_CLASS 1259
#define CLASS_OID_PG_CONSTRAINT 2606

static tl_syscat_hooks hooks;

void tl_syscat_set_hooks(const tl_syscat_hooks *h)
{
    hooks = *h;
}

/* ---- types ------------------------------------------------------------------------ */

static const syscat_type *type_by_oid(uint32_t oid)
{
    size_t lo = 0, hi = NTYPES;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (syscat_types[mid].oid == oid) return &syscat_types[mid];
        if (syscat_types[mid].oid < oid) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* A column type named as format_type prints it (the generator's vocabulary). */
static tl_type type_of(const char *s)
{
    static const struct {
        const char *name;
        tl_type_id id;
        uint32_t oid;
    } m[] = {
        {"oid", TL_OID, TL_OID_OID}, {"name", TL_NAME, TL_OID_NAME}, {"text", TL_TEXT, TL_OID_TEXT},
        {"boolean", TL_BOOL, TL_OID_BOOL}, {"smallint", TL_INT2, TL_OID_INT2},
        {"integer", TL_INT4, TL_OID_INT4}, {"bigint", TL_INT8, TL_OID_INT8},
        {"real", TL_FLOAT4, TL_OID_FLOAT4}, {"double precision", TL_FLOAT8, TL_OID_FLOAT8},
        {"\"char\"", TL_CHAR, TL_OID_CHAR}, {"regproc", TL_OID, TL_OID_REGPROC},
        {"regtype", TL_OID, TL_OID_REGTYPE}, {"regclass", TL_OID, TL_OID_REGCLASS},
        {"xid", TL_OID, 28}, {"pg_node_tree", TL_TEXT, TL_OID_PG_NODE_TREE},
        {"timestamp with time zone", TL_TIMESTAMPTZ, TL_OID_TIMESTAMPTZ},
        {"character varying", TL_VARCHAR, TL_OID_VARCHAR}, {"numeric", TL_NUMERIC, TL_OID_NUMERIC},
        {"interval", TL_INTERVAL, TL_OID_INTERVAL},
        {"oid[]", TL_ARRAY, TL_OID_OIDARRAY}, {"smallint[]", TL_ARRAY, TL_OID_INT2ARRAY},
        {"text[]", TL_ARRAY, TL_OID_TEXTARRAY}, {"name[]", TL_ARRAY, TL_OID_NAMEARRAY},
        {"\"char\"[]", TL_ARRAY, TL_OID_CHARARRAY}, {"aclitem[]", TL_ARRAY, TL_OID_ACLITEMARRAY},
        {"int2vector", TL_ARRAY, TL_OID_INT2VECTOR}, {"oidvector", TL_ARRAY, TL_OID_OIDVECTOR},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (strcmp(m[i].name, s) == 0) {
            tl_type t = tl_type_make(m[i].id);
            t.oid = m[i].oid;
            return t;
        }
    return tl_type_make(TL_TEXT);
}

const char *tl_syscat_type_name(tl_engine *e, uint32_t oid, char *buf, size_t cap)
{
    for (int i = 0; i < e->nenums; i++) {
        if (e->enums[i]->oid == oid) return e->enums[i]->name;
        if (e->enums[i]->array_oid == oid) {
            snprintf(buf, cap, "%s[]", e->enums[i]->name);
            return buf;
        }
    }
    const syscat_type *t = type_by_oid(oid);
    if (!t) return NULL;
    static const struct {
        uint32_t oid;
        const char *name;
    } sql_names[] = {
        {16, "boolean"}, {18, "\"char\""}, {20, "bigint"}, {21, "smallint"}, {23, "integer"},
        {700, "real"}, {701, "double precision"}, {1042, "character"}, {1043, "character varying"},
        {1083, "time without time zone"}, {1114, "timestamp without time zone"},
        {1184, "timestamp with time zone"}, {1266, "time with time zone"}, {1560, "bit"},
        {1562, "bit varying"},
    };
    /* true arrays are named _elem; int2vector and oidvector print as themselves */
    uint32_t base = t->elem && t->category == 'A' && t->name[0] == '_' ? t->elem : oid;
    const char *name = NULL;
    for (size_t i = 0; i < sizeof sql_names / sizeof sql_names[0]; i++)
        if (sql_names[i].oid == base) name = sql_names[i].name;
    if (!name) {
        const syscat_type *bt = type_by_oid(base);
        name = bt ? bt->name : t->name;
    }
    if (base != oid) {
        snprintf(buf, cap, "%s[]", name);
        return buf;
    }
    return name;
}

uint32_t tl_syscat_type_oid(tl_engine *e, const char *name)
{
    for (int i = 0; i < e->nenums; i++)
        if (strcmp(e->enums[i]->name, name) == 0) return e->enums[i]->oid;
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(syscat_types[i].name, name) == 0) return syscat_types[i].oid;
    char buf[128];
    for (size_t i = 0; i < NTYPES; i++) {
        const char *n = tl_syscat_type_name(e, syscat_types[i].oid, buf, sizeof buf);
        if (n && strcmp(n, name) == 0) return syscat_types[i].oid;
    }
    return 0;
}

uint32_t tl_syscat_proc_oid(const char *name)
{
    for (size_t i = 0; i < NPROCS; i++)
        if (strcmp(syscat_procs[i].name, name) == 0) return syscat_procs[i].oid;
    return 0;
}

const char *tl_syscat_proc_name(uint32_t oid)
{
    for (size_t i = 0; i < NPROCS; i++)
        if (syscat_procs[i].oid == oid) return syscat_procs[i].name;
    return NULL;
}

bool tl_syscat_proc_sig(uint32_t oid, uint32_t *ret, const char **argtypes)
{
    for (size_t i = 0; i < NPROCS; i++)
        if (syscat_procs[i].oid == oid) {
            *ret = syscat_procs[i].rettype;
            *argtypes = syscat_procs[i].argtypes;
            return true;
        }
    return false;
}

/* ---- row builder ------------------------------------------------------------------ */

/* Rows are set column by column by name and appended in vectors of TL_VEC_SIZE; a
 * column a producer leaves unset is NULL for strings and arrays, 0/false otherwise
 * (what PostgreSQL's catalogs hold for the features tally does not have). */
typedef struct rowb {
    const tl_rel *r;
    tl_table *out;
    tl_vec *v;
    bool *set;
    uint32_t n;
    tl_arena a;
} rowb;

static void rb_init(rowb *b, const tl_rel *r, tl_table *out)
{
    memset(b, 0, sizeof *b);
    b->r = r;
    b->out = out;
    tl_arena_init(&b->a);
    b->v = tl_xcalloc((size_t)r->natts + 1, sizeof *b->v);
    b->set = tl_xcalloc((size_t)r->natts + 1, 1);
    for (int i = 0; i < r->natts; i++) tl_vec_alloc(&b->v[i], r->atts[i].type, TL_VEC_SIZE, &b->a);
}

static int rb_col(rowb *b, const char *name)
{
    for (int i = 0; i < b->r->natts; i++)
        if (strcmp(b->r->atts[i].name, name) == 0) return i;
    return -1;
}

static void put_d(rowb *b, const char *col, const tl_datum *d)
{
    int c = rb_col(b, col);
    if (c < 0) return;
    tl_vec_set(&b->v[c], b->n, d);
    b->set[c] = true;
}

static void put_i(rowb *b, const char *col, int64_t v)
{
    tl_datum d = {.v.i = v};
    put_d(b, col, &d);
}

static void put_b(rowb *b, const char *col, bool v)
{
    tl_datum d = {.v.b = v};
    put_d(b, col, &d);
}

static void put_f(rowb *b, const char *col, double v)
{
    tl_datum d = {.v.f = v};
    put_d(b, col, &d);
}

static void put_s(rowb *b, const char *col, const char *s)
{
    tl_datum d = {.isnull = s == NULL};
    if (s) {
        d.v.s.len = (uint32_t)strlen(s);
        d.v.s.ptr = tl_arena_strndup(&b->a, s, d.v.s.len);
    }
    put_d(b, col, &d);
}

static void put_c(rowb *b, const char *col, char c)
{
    char s[2] = {c, 0};
    put_s(b, col, s);
}

static void put_null(rowb *b, const char *col)
{
    tl_datum d = {.isnull = true};
    put_d(b, col, &d);
}

static int rb_flush(rowb *b, tl_error *err)
{
    if (b->n == 0) return 0;
    for (int i = 0; i < b->r->natts; i++) b->v[i].n = b->n;
    int rc = tl_table_append(b->out, b->v, b->n, NULL, err);
    b->n = 0;
    tl_arena_reset(&b->a);
    for (int i = 0; i < b->r->natts; i++) tl_vec_alloc(&b->v[i], b->r->atts[i].type, TL_VEC_SIZE, &b->a);
    return rc;
}

static int rb_row(rowb *b, tl_error *err)
{
    for (int i = 0; i < b->r->natts; i++) {
        if (!b->set[i]) {
            tl_datum d = {.isnull = tl_type_is_string(b->r->atts[i].type.id)};
            tl_vec_set(&b->v[i], b->n, &d);
        }
        b->set[i] = false;
    }
    if (++b->n == TL_VEC_SIZE) return rb_flush(b, err);
    return 0;
}

static int rb_done(rowb *b, tl_error *err)
{
    int rc = rb_flush(b, err);
    tl_arena_free(&b->a);
    free(b->v);
    free(b->set);
    return rc;
}

/* ---- helpers over the engine's catalog --------------------------------------------- */

static const char *nsp_name(uint32_t nsp)
{
    static __thread char tbuf[32];
    if (TL_NSP_IS_TEMP(nsp)) {
        snprintf(tbuf, sizeof tbuf, "pg_temp_%u", nsp - TL_NSP_TEMP_BASE);
        return tbuf;
    }
    switch (nsp) {
    case TL_NSP_PG_CATALOG: return "pg_catalog";
    case TL_NSP_PUBLIC: return "public";
    case TL_NSP_INFORMATION_SCHEMA: return "information_schema";
    case TL_NSP_PG_TOAST: return "pg_toast";
    case TL_NSP_CRON: return "cron";
    default: return "?";
    }
}

static const syscat_def *def_of(const tl_rel *r)
{
    if (!r->materialize || r->oid >= 16384) return NULL;
    for (size_t i = 0; i < NDEFS; i++)
        if (syscat_defs[i].oid == r->oid) return &syscat_defs[i];
    return NULL;
}

char tl_syscat_relkind(const tl_rel *r)
{
    const syscat_def *d = def_of(r);
    return d ? d->kind : (char)r->kind;
}

static bool is_user_rel(const tl_rel *r)
{
    return r->nsp == TL_NSP_PUBLIC;
}

uint64_t tl_catalog_row_count(tl_engine *e, tl_rel *r)
{
    if (!r->data) return 0;
    tl_arena a;
    tl_arena_init(&a);
    tl_table_snap snap;
    tl_engine_snapshot(e, &r, 1, &snap, &a);
    uint64_t n = tl_table_snap_total(&snap);
    tl_arena_free(&a);
    return n;
}

/* Live rows whose org_id equals org: what an org-scoped role's count(*) would say. */
static uint64_t org_row_count(tl_engine *e, tl_rel *r, int col, const char *org)
{
    tl_arena a;
    tl_arena_init(&a);
    tl_table_snap snap;
    tl_engine_snapshot(e, &r, 1, &snap, &a);
    tl_type t = r->atts[col].type;
    tl_fmt_ctx fc = {.extra_float_digits = 1};
    tl_datum want;
    tl_error err;
    tl_error_clear(&err);
    uint64_t n = 0;
    if (tl_value_in(t, org, strlen(org), &fc, &want, &a, &err) == 0) {
        uint32_t sel[TL_VEC_SIZE];
        for (uint32_t p = 0; p < snap.nparts; p++)
            for (uint64_t row = 0; row < snap.rows[p]; row += TL_VEC_SIZE) {
                uint64_t left = snap.rows[p] - row;
                uint32_t cnt = left > TL_VEC_SIZE ? TL_VEC_SIZE : (uint32_t)left;
                uint32_t ns = tl_table_select(r->data, &snap, p, row, cnt, NULL, 0, sel);
                if (!ns) continue;
                tl_arena scratch;
                tl_arena_init(&scratch);
                tl_vec v;
                tl_table_read(r->data, p, col, row, cnt, &v, &scratch);
                for (uint32_t i = 0; i < ns; i++) {
                    if (tl_vec_isnull(&v, sel[i])) continue;
                    tl_datum d;
                    tl_vec_get(&v, sel[i], &d);
                    if (tl_datum_cmp(t.id, &d, &want) == 0) n++;
                }
                tl_arena_free(&scratch);
            }
    }
    tl_arena_free(&a);
    return n;
}

/* Row count as the current statement may see it (see tl_syscat_hooks.org_scope). */
static uint64_t visible_rows(tl_engine *e, tl_rel *r)
{
    if (!r->data) return 0;
    const char *org = hooks.org_scope ? hooks.org_scope() : NULL;
    if (org)
        for (int i = 0; i < r->natts; i++)
            if (strcmp(r->atts[i].name, "org_id") == 0) return org_row_count(e, r, i, org);
    return tl_catalog_row_count(e, r);
}

static const char *superuser_name(tl_engine *e)
{
    return e->nroles ? e->roles[0]->name : "postgres";
}

static void int_list(tl_buf *b, const int *cols, int n, bool braces, char sep)
{
    if (braces) tl_buf_putc(b, '{');
    for (int i = 0; i < n; i++) {
        if (i) tl_buf_putc(b, sep);
        tl_buf_printf(b, "%d", cols[i] + 1);
    }
    if (braces) tl_buf_putc(b, '}');
}

static char *cols_text(const tl_rel *r, const int *cols, int n)
{
    tl_buf b;
    tl_buf_init(&b);
    for (int i = 0; i < n; i++) tl_buf_printf(&b, "%s%s", i ? ", " : "", r->atts[cols[i]].name);
    if (!b.data) tl_buf_puts(&b, "");
    return b.data;
}

static tl_rel *rel_by_pk_index(tl_engine *e, uint32_t oid)
{
    for (int i = 0; i < e->nrels; i++)
        if (e->rels[i]->npk && e->rels[i]->pk_index_oid == oid) return e->rels[i];
    return NULL;
}

char *tl_syscat_indexdef(tl_engine *e, uint32_t oid)
{
    tl_rel *t = rel_by_pk_index(e, oid);
    tl_buf b;
    tl_buf_init(&b);
    if (t) {
        char *c = cols_text(t, t->pk, t->npk);
        tl_buf_printf(&b, "CREATE UNIQUE INDEX %s ON %s.%s USING btree (%s)", t->pk_name, nsp_name(t->nsp),
                      t->name, c);
        free(c);
        return b.data;
    }
    tl_rel *ix = tl_catalog_rel_by_oid(e, oid);
    if (!ix || ix->kind != TL_REL_INDEX || !ix->idx_def) return NULL;
    tl_buf_puts(&b, ix->idx_def);
    return b.data;
}

static const char *fk_action(char c)
{
    switch (c) {
    case 'c': return " ON DELETE CASCADE";
    case 'n': return " ON DELETE SET NULL";
    case 'd': return " ON DELETE SET DEFAULT";
    case 'r': return " ON DELETE RESTRICT";
    default: return "";
    }
}

char *tl_syscat_constraintdef(tl_engine *e, uint32_t oid)
{
    tl_buf b;
    tl_buf_init(&b);
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (r->npk && r->pk_con_oid == oid) {
            char *c = cols_text(r, r->pk, r->npk);
            tl_buf_printf(&b, "PRIMARY KEY (%s)", c);
            free(c);
            return b.data;
        }
        for (int k = 0; k < r->nfk; k++) {
            const tl_fkey *fk = &r->fks[k];
            if (fk->oid != oid) continue;
            tl_rel *ref = tl_catalog_rel_by_oid(e, fk->ref_oid);
            char *c = cols_text(r, fk->cols, fk->ncols);
            char *rc = ref ? cols_text(ref, fk->ref_cols, fk->ncols) : NULL;
            tl_buf_printf(&b, "FOREIGN KEY (%s) REFERENCES %s(%s)%s", c, ref ? ref->name : "?", rc ? rc : "",
                          fk_action(fk->on_delete));
            free(c);
            free(rc);
            return b.data;
        }
    }
    return NULL;
}

/* ---- ACLs as aclitem[] text ("grantee=privs/grantor", PUBLIC's grantee empty) ------------- */

/* PostgreSQL's ACL_ALL_RIGHTS_STR order */
static const struct {
    unsigned bit;
    char letter;
} acl_letters[] = {
    {TL_ACL_INSERT, 'a'}, {TL_ACL_SELECT, 'r'}, {TL_ACL_UPDATE, 'w'},  {TL_ACL_DELETE, 'd'},
    {TL_ACL_TRUNCATE, 'D'}, {TL_ACL_REFERENCES, 'x'}, {TL_ACL_TRIGGER, 't'}, {TL_ACL_USAGE, 'U'},
    {TL_ACL_CREATE, 'C'}, {TL_ACL_TEMP, 'T'}, {TL_ACL_CONNECT, 'c'},
};

typedef struct acl_text {
    tl_engine *e;
    tl_buf b;
    const char *grantor;
    uint32_t skip; /* a grantee already written */
    int n;
} acl_text;

static void acl_item(acl_text *t, uint32_t grantee, const char *name, unsigned privs)
{
    if (!privs) return;
    tl_buf_putc(&t->b, t->n++ ? ',' : '{');
    if (grantee != TL_ROLE_PUBLIC) {
        const tl_role *r = tl_catalog_role_by_oid(t->e, grantee);
        tl_buf_puts(&t->b, name ? name : r ? r->name : "?");
    }
    tl_buf_putc(&t->b, '=');
    for (size_t i = 0; i < sizeof acl_letters / sizeof acl_letters[0]; i++)
        if (privs & acl_letters[i].bit) tl_buf_putc(&t->b, acl_letters[i].letter);
    tl_buf_printf(&t->b, "/%s", t->grantor);
}

static void acl_each_cb(void *ctx, uint32_t grantee, unsigned privs)
{
    acl_text *t = ctx;
    if (grantee != t->skip) acl_item(t, grantee, NULL, privs);
}

/* relacl: NULL while nothing was granted (PostgreSQL's default ACL), else the owner's
 * implicit rights first, then each grantee. */
static char *rel_acl(tl_engine *e, const tl_rel *r)
{
    acl_text t = {.e = e, .grantor = superuser_name(e), .skip = UINT32_MAX};
    tl_buf_init(&t.b);
    tl_acl_each(e, TL_OBJ_REL, r->oid, acl_each_cb, &t);
    if (!t.n) {
        tl_buf_free(&t.b);
        return NULL;
    }
    tl_buf_free(&t.b);
    tl_buf_init(&t.b);
    t.n = 0;
    acl_item(&t, SUPERUSER_OID, superuser_name(e), TL_ACL_ALL_REL);
    t.skip = SUPERUSER_OID;
    tl_acl_each(e, TL_OBJ_REL, r->oid, acl_each_cb, &t);
    tl_buf_putc(&t.b, '}');
    return t.b.data;
}

/* datacl: NULL while PUBLIC has exactly its defaults and no one else was granted. */
static char *db_acl(tl_engine *e)
{
    acl_text t = {.e = e, .grantor = superuser_name(e), .skip = TL_ROLE_PUBLIC};
    tl_buf_init(&t.b);
    tl_acl_each(e, TL_OBJ_DB, TL_DB_OID, acl_each_cb, &t);
    unsigned pub = tl_acl_granted(e, TL_ROLE_PUBLIC, TL_OBJ_DB, TL_DB_OID);
    if (!t.n && pub == (TL_ACL_CONNECT | TL_ACL_TEMP)) {
        tl_buf_free(&t.b);
        return NULL;
    }
    tl_buf_free(&t.b);
    tl_buf_init(&t.b);
    t.n = 0;
    acl_item(&t, TL_ROLE_PUBLIC, NULL, pub);
    acl_item(&t, SUPERUSER_OID, superuser_name(e), TL_ACL_ALL_DB);
    t.skip = TL_ROLE_PUBLIC;
    tl_acl_each(e, TL_OBJ_DB, TL_DB_OID, acl_each_cb, &t);
    tl_buf_putc(&t.b, '}');
    return t.b.data;
}

/* nspacl of public: owned by pg_database_owner, as in PostgreSQL 15 */
static char *public_nsp_acl(tl_engine *e)
{
    acl_text t = {.e = e, .grantor = "pg_database_owner", .skip = TL_ROLE_PUBLIC};
    tl_buf_init(&t.b);
    acl_item(&t, SUPERUSER_OID, "pg_database_owner", TL_ACL_ALL_NSP);
    acl_item(&t, TL_ROLE_PUBLIC, NULL, tl_acl_granted(e, TL_ROLE_PUBLIC, TL_OBJ_NSP, TL_NSP_PUBLIC));
    tl_acl_each(e, TL_OBJ_NSP, TL_NSP_PUBLIC, acl_each_cb, &t);
    tl_buf_putc(&t.b, '}');
    return t.b.data;
}

/* ---- the catalogs ---------------------------------------------------------------------- */

typedef int (*producer)(tl_engine *e, rowb *b, tl_error *err);

static int p_namespace(tl_engine *e, rowb *b, tl_error *err)
{
    static const struct {
        uint32_t oid, owner;
    } ns[] = {{TL_NSP_PG_TOAST, 10}, {TL_NSP_PG_CATALOG, 10}, {TL_NSP_PUBLIC, 6171}, {TL_NSP_INFORMATION_SCHEMA, 10}};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        put_i(b, "oid", ns[i].oid);
        put_s(b, "nspname", nsp_name(ns[i].oid));
        put_i(b, "nspowner", ns[i].owner);
        if (ns[i].oid == TL_NSP_PUBLIC) {
            char *acl = public_nsp_acl(e);
            put_s(b, "nspacl", acl);
            free(acl);
        }
        if (rb_row(b, err) < 0) return -1;
    }
    /* the temporary schemas that hold something (one per session using them) */
    for (int i = 0; i < e->nrels; i++) {
        uint32_t nsp = e->rels[i]->nsp;
        if (!TL_NSP_IS_TEMP(nsp)) continue;
        bool seen = false;
        for (int k = 0; k < i && !seen; k++) seen = e->rels[k]->nsp == nsp;
        if (seen) continue;
        put_i(b, "oid", nsp);
        put_s(b, "nspname", nsp_name(nsp));
        put_i(b, "nspowner", 10);
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int32_t rel_pages(tl_rel *r)
{
    return r->data ? (int32_t)((tl_table_bytes(r->data) + 8191) / 8192) : 0;
}

static bool has_index(tl_engine *e, const tl_rel *r)
{
    if (r->npk) return true;
    for (int i = 0; i < e->nrels; i++)
        if (e->rels[i]->kind == TL_REL_INDEX && e->rels[i]->index_of == r->oid) return true;
    return false;
}

/* PostgreSQL implements foreign keys with triggers on both tables, and psql asks for
 * a table's "Referenced by" list only when relhastriggers is set. */
static bool has_fk_triggers(tl_engine *e, const tl_rel *r)
{
    if (r->nfk) return true;
    for (int i = 0; i < e->nrels; i++)
        for (int k = 0; k < e->rels[i]->nfk; k++)
            if (e->rels[i]->fks[k].ref_oid == r->oid) return true;
    return false;
}

static int class_row(rowb *b, uint32_t oid, const char *name, uint32_t nsp, char kind, int natts, uint32_t am,
                     int32_t pages, double tuples, bool hasindex, tl_error *err)
{
    put_i(b, "oid", oid);
    put_s(b, "relname", name);
    put_i(b, "relnamespace", nsp);
    put_i(b, "relowner", SUPERUSER_OID);
    put_i(b, "relam", am);
    put_i(b, "relfilenode", kind == 'v' ? 0 : oid);
    put_i(b, "relpages", pages);
    put_f(b, "reltuples", tuples);
    put_b(b, "relhasindex", hasindex);
    put_c(b, "relpersistence", 'p');
    put_c(b, "relkind", kind);
    put_i(b, "relnatts", natts);
    put_b(b, "relhasrules", kind == 'v' || kind == 'm');
    put_b(b, "relispopulated", true);
    put_c(b, "relreplident", kind == 'r' || kind == 'm' ? 'd' : 'n');
    return rb_row(b, err);
}

static int p_class(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        char kind = tl_syscat_relkind(r);
        uint32_t am = kind == 'r' || kind == 'm' ? 2 : kind == 'i' ? 403 : 0;
        double tuples = r->data ? (double)visible_rows(e, r) : kind == 'i' ? 0 : -1;
        int32_t pages = rel_pages(r);
        if (r->data && tuples >= 0) {
            /* a scoped role's count is smaller: its share of the pages, not the whole */
            uint64_t all = tl_catalog_row_count(e, r);
            if (all && (uint64_t)tuples < all) pages = (int32_t)((double)pages * tuples / (double)all + 0.5);
        }
        if (kind != 'i' && is_user_rel(r)) {
            char *acl = rel_acl(e, r);
            if (acl) put_s(b, "relacl", acl);
            free(acl);
        }
        if (kind == 'r') put_b(b, "relhastriggers", has_fk_triggers(e, r));
        if (class_row(b, r->oid, r->name, r->nsp, kind, kind == 'i' ? r->nidx : r->natts, am, pages,
                      tuples, kind == 'i' ? false : has_index(e, r), err) < 0)
            return -1;
        if (r->npk && class_row(b, r->pk_index_oid, r->pk_name, r->nsp, 'i', r->npk, 403, 0,
                                (double)visible_rows(e, r), false, err) < 0)
            return -1;
    }
    return 0;
}

static int att_row(rowb *b, uint32_t relid, int attnum, const char *name, tl_type t, const tl_attr *a,
                   tl_error *err)
{
    uint32_t toid = tl_type_oid(t);
    const syscat_type *st = type_by_oid(toid);
    put_i(b, "attrelid", relid);
    put_s(b, "attname", name);
    put_i(b, "atttypid", toid);
    put_i(b, "attstattarget", -1);
    put_i(b, "attlen", st ? st->len : t.id == TL_ENUM ? 4 : -1);
    put_i(b, "attnum", attnum);
    put_i(b, "attndims", t.id == TL_ARRAY && t.oid != TL_OID_INT2VECTOR && t.oid != TL_OID_OIDVECTOR ? 1 : 0);
    put_i(b, "attcacheoff", -1);
    put_i(b, "atttypmod", t.typmod);
    put_b(b, "attbyval", st ? st->byval : t.id == TL_ENUM);
    put_c(b, "attalign", st ? st->align : 'i');
    put_c(b, "attstorage", st ? st->storage : 'p');
    put_s(b, "attcompression", "");
    put_b(b, "attnotnull", a && a->not_null);
    put_b(b, "atthasdef", a && (a->default_sql || a->generated_sql));
    put_b(b, "atthasmissing", false);
    put_s(b, "attidentity", "");
    put_s(b, "attgenerated", a && a->generated_sql ? "s" : "");
    put_b(b, "attisdropped", false);
    put_b(b, "attislocal", true);
    put_i(b, "attinhcount", 0);
    put_i(b, "attcollation", st ? st->collation : 0);
    return rb_row(b, err);
}

static int p_attribute(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (r->kind == TL_REL_INDEX) {
            tl_rel *t = tl_catalog_rel_by_oid(e, r->index_of);
            for (int k = 0; t && k < r->nidx; k++)
                if (att_row(b, r->oid, k + 1, t->atts[r->idx_cols[k]].name, t->atts[r->idx_cols[k]].type, NULL,
                            err) < 0)
                    return -1;
            continue;
        }
        for (int k = 0; k < r->natts; k++)
            if (att_row(b, r->oid, k + 1, r->atts[k].name, r->atts[k].type, &r->atts[k], err) < 0) return -1;
        for (int k = 0; k < r->npk; k++)
            if (att_row(b, r->pk_index_oid, k + 1, r->atts[r->pk[k]].name, r->atts[r->pk[k]].type, NULL, err) < 0)
                return -1;
    }
    return 0;
}

static int p_type(tl_engine *e, rowb *b, tl_error *err)
{
    for (size_t i = 0; i < NTYPES; i++) {
        const syscat_type *t = &syscat_types[i];
        put_i(b, "oid", t->oid);
        put_s(b, "typname", t->name);
        put_i(b, "typnamespace", TL_NSP_PG_CATALOG);
        put_i(b, "typowner", SUPERUSER_OID);
        put_i(b, "typlen", t->len);
        put_b(b, "typbyval", t->byval);
        put_c(b, "typtype", t->type);
        put_c(b, "typcategory", t->category);
        put_b(b, "typispreferred", t->preferred);
        put_b(b, "typisdefined", true);
        put_c(b, "typdelim", t->delim);
        put_i(b, "typelem", t->elem);
        put_i(b, "typarray", t->array);
        put_i(b, "typinput", t->input);
        put_i(b, "typoutput", t->output);
        put_i(b, "typreceive", t->receive);
        put_i(b, "typsend", t->send);
        put_c(b, "typalign", t->align);
        put_c(b, "typstorage", t->storage);
        put_i(b, "typtypmod", -1);
        put_i(b, "typcollation", t->collation);
        if (rb_row(b, err) < 0) return -1;
    }
    for (int i = 0; i < e->nenums; i++) {
        const tl_enum *en = e->enums[i];
        char arr[80];
        snprintf(arr, sizeof arr, "_%s", en->name);
        for (int k = 0; k < 2; k++) {
            put_i(b, "oid", k ? en->array_oid : en->oid);
            put_s(b, "typname", k ? arr : en->name);
            put_i(b, "typnamespace", en->nsp);
            put_i(b, "typowner", SUPERUSER_OID);
            put_i(b, "typlen", k ? -1 : 4);
            put_b(b, "typbyval", !k);
            put_c(b, "typtype", k ? 'b' : 'e');
            put_c(b, "typcategory", k ? 'A' : 'E');
            put_b(b, "typisdefined", true);
            put_c(b, "typdelim", ',');
            put_i(b, "typelem", k ? en->oid : 0);
            put_i(b, "typarray", k ? 0 : en->array_oid);
            put_i(b, "typinput", k ? 750 : 3504);  /* array_in, enum_in */
            put_i(b, "typoutput", k ? 751 : 3505); /* array_out, enum_out */
            put_i(b, "typreceive", k ? 2400 : 3532);
            put_i(b, "typsend", k ? 2401 : 3533);
            put_c(b, "typalign", 'i');
            put_c(b, "typstorage", k ? 'x' : 'p');
            put_i(b, "typtypmod", -1);
            if (rb_row(b, err) < 0) return -1;
        }
    }
    return 0;
}

static int p_attrdef(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (!is_user_rel(r) || r->kind == TL_REL_INDEX) continue;
        for (int k = 0; k < r->natts; k++) {
            const char *x = r->atts[k].generated_sql ? r->atts[k].generated_sql : r->atts[k].default_sql;
            if (!x) continue;
            put_i(b, "adrelid", r->oid);
            put_i(b, "adnum", k + 1);
            put_s(b, "adbin", x);
            if (rb_row(b, err) < 0) return -1;
        }
    }
    return 0;
}

/* n columns, the first nkey keys (indclass, indcollation, indoption cover keys only) */
static int index_row(rowb *b, uint32_t ixoid, uint32_t reloid, const int *cols, int n, int nkey, bool unique,
                     bool primary, tl_error *err)
{
    tl_buf k;
    tl_buf_init(&k);
    int_list(&k, cols, n, false, ' ');
    tl_buf z;
    tl_buf_init(&z);
    for (int i = 0; i < nkey; i++) tl_buf_puts(&z, i ? " 0" : "0");
    put_i(b, "indexrelid", ixoid);
    put_i(b, "indrelid", reloid);
    put_i(b, "indnatts", n);
    put_i(b, "indnkeyatts", nkey);
    put_b(b, "indisunique", unique);
    put_b(b, "indisprimary", primary);
    put_b(b, "indimmediate", true);
    put_b(b, "indisvalid", true);
    put_b(b, "indisready", true);
    put_b(b, "indislive", true);
    /* no NULLS NOT DISTINCT, exclusion constraints, CLUSTER or REPLICA IDENTITY INDEX */
    put_b(b, "indnullsnotdistinct", false);
    put_b(b, "indisexclusion", false);
    put_b(b, "indisclustered", false);
    put_b(b, "indcheckxmin", false);
    put_b(b, "indisreplident", false);
    put_s(b, "indkey", k.data ? k.data : "");
    put_s(b, "indcollation", z.data ? z.data : "");
    put_s(b, "indclass", z.data ? z.data : "");
    put_s(b, "indoption", z.data ? z.data : "");
    tl_buf_free(&k);
    tl_buf_free(&z);
    return rb_row(b, err);
}

static int p_index(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (r->npk && index_row(b, r->pk_index_oid, r->oid, r->pk, r->npk, r->npk, true, true, err) < 0) return -1;
        if (r->kind == TL_REL_INDEX &&
            index_row(b, r->oid, r->index_of, r->idx_cols, r->nidx, r->nidx_key, r->idx_unique, false, err) < 0)
            return -1;
    }
    return 0;
}

static int con_row(rowb *b, uint32_t oid, const char *name, const tl_rel *r, char type, const int *cols, int n,
                   uint32_t index, uint32_t fref, const int *fcols, char del, tl_error *err)
{
    tl_buf k;
    tl_buf_init(&k);
    int_list(&k, cols, n, true, ',');
    put_i(b, "oid", oid);
    put_s(b, "conname", name);
    put_i(b, "connamespace", r->nsp);
    put_c(b, "contype", type);
    put_b(b, "condeferrable", false);
    put_b(b, "condeferred", false);
    put_b(b, "convalidated", true);
    put_i(b, "conrelid", r->oid);
    put_i(b, "conindid", index);
    put_i(b, "confrelid", fref);
    put_c(b, "confupdtype", type == 'f' ? 'a' : ' ');
    put_c(b, "confdeltype", type == 'f' ? del : ' ');
    put_c(b, "confmatchtype", type == 'f' ? 's' : ' ');
    put_b(b, "conislocal", true);
    put_b(b, "connoinherit", true);
    put_s(b, "conkey", k.data);
    if (fcols) {
        tl_buf_clear(&k);
        int_list(&k, fcols, n, true, ',');
        put_s(b, "confkey", k.data);
    }
    tl_buf_free(&k);
    return rb_row(b, err);
}

static int p_constraint(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (r->npk && con_row(b, r->pk_con_oid, r->pk_name, r, 'p', r->pk, r->npk, r->pk_index_oid, 0, NULL, ' ',
                              err) < 0)
            return -1;
        for (int k = 0; k < r->nfk; k++) {
            const tl_fkey *fk = &r->fks[k];
            tl_rel *ref = tl_catalog_rel_by_oid(e, fk->ref_oid);
            if (con_row(b, fk->oid, fk->name, r, 'f', fk->cols, fk->ncols, ref ? ref->pk_index_oid : 0, fk->ref_oid,
                        fk->ref_cols, fk->on_delete ? fk->on_delete : 'a', err) < 0)
                return -1;
        }
    }
    return 0;
}

static int p_enum(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nenums; i++)
        for (int k = 0; k < e->enums[i]->nlabels; k++) {
            put_i(b, "enumtypid", e->enums[i]->oid);
            put_f(b, "enumsortorder", k + 1);
            put_s(b, "enumlabel", e->enums[i]->labels[k]);
            if (rb_row(b, err) < 0) return -1;
        }
    return 0;
}

static int p_proc(tl_engine *e, rowb *b, tl_error *err)
{
    (void)e;
    for (size_t i = 0; i < NPROCS; i++) {
        const syscat_proc *p = &syscat_procs[i];
        if (!hooks.function_exists || !hooks.function_exists(p->name)) continue;
        put_i(b, "oid", p->oid);
        put_s(b, "proname", p->name);
        put_i(b, "pronamespace", TL_NSP_PG_CATALOG);
        put_i(b, "proowner", SUPERUSER_OID);
        put_i(b, "prolang", p->lang);
        put_f(b, "procost", 1);
        put_f(b, "prorows", p->retset ? 1000 : 0);
        put_c(b, "prokind", p->kind);
        put_b(b, "proisstrict", p->strict);
        put_b(b, "proretset", p->retset);
        put_c(b, "provolatile", p->volatility);
        put_c(b, "proparallel", 's');
        put_i(b, "pronargs", p->nargs);
        put_i(b, "pronargdefaults", 0);
        put_i(b, "prorettype", p->rettype);
        put_s(b, "proargtypes", p->argtypes);
        put_s(b, "prosrc", p->name);
        if (rb_row(b, err) < 0) return -1;
    }
    /* CREATE FUNCTION's functions (tally keeps them argument-less, see function.c) */
    for (int i = 0; i < e->nfuncs; i++) {
        const tl_func *f = e->funcs[i];
        put_i(b, "oid", f->oid);
        put_s(b, "proname", f->name);
        put_i(b, "pronamespace", f->nsp);
        put_i(b, "proowner", SUPERUSER_OID);
        /* PG 15's pg_language oids: sql 14; plpgsql is created by initdb, 13xxx there */
        put_i(b, "prolang", f->language && !strcmp(f->language, "sql") ? 14 : 13357);
        put_f(b, "procost", 100);
        put_f(b, "prorows", 0);
        put_c(b, "prokind", 'f');
        put_b(b, "prosecdef", f->security_definer);
        put_b(b, "proisstrict", false);
        put_b(b, "proretset", false);
        put_c(b, "provolatile", 'v');
        put_c(b, "proparallel", 'u');
        put_i(b, "pronargs", 0);
        put_i(b, "pronargdefaults", 0);
        put_i(b, "prorettype", tl_type_oid(f->ret));
        put_s(b, "proargtypes", "");
        put_s(b, "prosrc", f->body);
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int p_database(tl_engine *e, rowb *b, tl_error *err)
{
    /* PostgreSQL's template databases exist in every cluster and clients list them;
     * tally accepts no connection to them (datallowconn false), which is their truth here. */
    static const struct {
        uint32_t oid;
        const char *name;
    } tmpl[] = {{1, "template1"}, {4, "template0"}};
    for (size_t i = 0; i < sizeof tmpl / sizeof tmpl[0]; i++) {
        if (!strcmp(tmpl[i].name, e->database)) continue;
        put_i(b, "oid", tmpl[i].oid);
        put_s(b, "datname", tmpl[i].name);
        put_i(b, "datdba", SUPERUSER_OID);
        put_i(b, "encoding", 6);
        put_c(b, "datlocprovider", 'c');
        put_b(b, "datistemplate", true);
        put_b(b, "datallowconn", false);
        put_i(b, "datconnlimit", -1);
        put_i(b, "datminmxid", 1);
        put_i(b, "dattablespace", 1663);
        put_s(b, "datcollate", "C.UTF-8");
        put_s(b, "datctype", "C.UTF-8");
        if (rb_row(b, err) < 0) return -1;
    }
    put_i(b, "oid", DATABASE_OID);
    put_s(b, "datname", e->database);
    put_b(b, "datistemplate", false);
    put_i(b, "datdba", SUPERUSER_OID);
    put_i(b, "encoding", 6); /* UTF8 */
    put_c(b, "datlocprovider", 'c');
    put_b(b, "datallowconn", true);
    put_i(b, "datconnlimit", -1);
    char *acl = db_acl(e);
    if (acl) put_s(b, "datacl", acl);
    free(acl);
    put_i(b, "datminmxid", 1);
    put_i(b, "dattablespace", 1663);
    put_s(b, "datcollate", "C.UTF-8");
    put_s(b, "datctype", "C.UTF-8");
    return rb_row(b, err);
}

/* rolconfig / useconfig: the role's ALTER ROLE … SET settings as text[] */
static char *role_config(const tl_role *r)
{
    if (!r->org_id) return NULL;
    tl_buf b;
    tl_buf_init(&b);
    tl_buf_printf(&b, "{tally.org_id=%s}", r->org_id);
    return b.data;
}

/* pg_roles, pg_user and pg_authid share the rows; only pg_authid shows the verifier
 * (and only a superuser may read it: acl.c). The bootstrap superuser alone has
 * REPLICATION and BYPASSRLS, as after initdb. */
static int roles_rows(tl_engine *e, rowb *b, bool authid, bool login_only, tl_error *err)
{
    for (int i = 0; i < e->nroles; i++) {
        const tl_role *r = e->roles[i];
        /* pg_user is pg_shadow's view: roles that can log in */
        if (login_only && !r->login) continue;
        bool boot = r->oid == SUPERUSER_OID;
        put_i(b, "oid", r->oid);
        put_i(b, "usesysid", r->oid);
        put_s(b, "rolname", r->name);
        put_s(b, "usename", r->name);
        put_b(b, "rolsuper", r->superuser);
        put_b(b, "usesuper", r->superuser);
        put_b(b, "rolinherit", r->inherit);
        put_b(b, "rolcreaterole", r->createrole);
        put_b(b, "rolcreatedb", r->createdb);
        put_b(b, "usecreatedb", r->createdb);
        put_b(b, "rolcanlogin", r->login);
        put_b(b, "rolreplication", boot);
        put_b(b, "userepl", boot);
        put_b(b, "rolbypassrls", boot);
        put_b(b, "usebypassrls", boot);
        put_i(b, "rolconnlimit", r->connlimit);
        put_null(b, "rolvaliduntil");
        put_null(b, "valuntil");
        if (authid) {
            if (r->password) put_s(b, "rolpassword", r->password);
            else put_null(b, "rolpassword");
        } else {
            put_s(b, "rolpassword", "********");
            put_s(b, "passwd", "********");
        }
        char *cfg = role_config(r);
        if (cfg) {
            put_s(b, "rolconfig", cfg);
            put_s(b, "useconfig", cfg);
            free(cfg);
        }
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int p_roles(tl_engine *e, rowb *b, tl_error *err)
{
    return roles_rows(e, b, false, false, err);
}

static int p_user(tl_engine *e, rowb *b, tl_error *err)
{
    return roles_rows(e, b, false, true, err);
}

static int p_authid(tl_engine *e, rowb *b, tl_error *err)
{
    return roles_rows(e, b, true, false, err);
}

typedef struct settings_ctx {
    rowb *b;
    tl_error *err;
    int rc;
} settings_ctx;

static void emit_setting(void *ctx, const char *name, const char *setting, const char *vartype)
{
    settings_ctx *c = ctx;
    if (c->rc < 0) return;
    put_s(c->b, "name", name);
    put_s(c->b, "setting", setting);
    put_s(c->b, "vartype", vartype);
    put_s(c->b, "context", "user");
    put_s(c->b, "source", "default");
    put_b(c->b, "pending_restart", false);
    c->rc = rb_row(c->b, c->err);
}

static int p_settings(tl_engine *e, rowb *b, tl_error *err)
{
    (void)e;
    settings_ctx c = {b, err, 0};
    if (hooks.settings) hooks.settings(&c, emit_setting);
    return c.rc;
}

static bool user_table(const tl_rel *r)
{
    return r->kind == TL_REL_TABLE && r->data;
}

static int p_tables(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (tl_syscat_relkind(r) != 'r') continue;
        put_s(b, "schemaname", nsp_name(r->nsp));
        put_s(b, "tablename", r->name);
        put_s(b, "tableowner", superuser_name(e));
        put_b(b, "hasindexes", has_index(e, r));
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int p_views(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (tl_syscat_relkind(r) != 'v') continue;
        put_s(b, "schemaname", nsp_name(r->nsp));
        put_s(b, "viewname", r->name);
        put_s(b, "viewowner", superuser_name(e));
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int p_description(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->ndescrs; i++) {
        const tl_descr *d = &e->descrs[i];
        put_i(b, "objoid", d->objoid);
        put_i(b, "classoid", d->classoid);
        put_i(b, "objsubid", d->objsubid);
        put_s(b, "description", d->text);
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int p_matviews(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (r->kind != TL_REL_MATVIEW) continue;
        put_s(b, "schemaname", nsp_name(r->nsp));
        put_s(b, "matviewname", r->name);
        put_s(b, "matviewowner", superuser_name(e));
        put_b(b, "hasindexes", has_index(e, r));
        put_b(b, "ispopulated", true);
        char *def = hooks.viewdef && r->view_def ? hooks.viewdef(e, r->view_def) : NULL;
        put_s(b, "definition", def);
        free(def);
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int p_indexes(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        uint32_t ix = r->npk ? r->pk_index_oid : r->kind == TL_REL_INDEX ? r->oid : 0;
        if (!ix) continue;
        tl_rel *t = r->kind == TL_REL_INDEX ? tl_catalog_rel_by_oid(e, r->index_of) : r;
        if (!t) continue;
        char *def = tl_syscat_indexdef(e, ix);
        put_s(b, "schemaname", nsp_name(t->nsp));
        put_s(b, "tablename", t->name);
        put_s(b, "indexname", r->kind == TL_REL_INDEX ? r->name : r->pk_name);
        put_s(b, "indexdef", def);
        free(def);
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int p_stat_user_tables(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (!is_user_rel(r) || !(user_table(r) || r->kind == TL_REL_MATVIEW)) continue;
        put_i(b, "relid", r->oid);
        put_s(b, "schemaname", nsp_name(r->nsp));
        put_s(b, "relname", r->name);
        int64_t live = (int64_t)visible_rows(e, r);
        put_i(b, "n_tup_ins", live);
        put_i(b, "n_live_tup", live);
        put_null(b, "idx_scan");
        put_null(b, "idx_tup_fetch");
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int p_am(tl_engine *e, rowb *b, tl_error *err)
{
    static const struct {
        uint32_t oid;
        const char *name;
        uint32_t handler;
        char type;
    } am[] = {{2, "heap", 3, 't'},       {403, "btree", 330, 'i'}, {405, "hash", 331, 'i'},
              {783, "gist", 332, 'i'},   {2742, "gin", 333, 'i'},  {4000, "spgist", 334, 'i'},
              {3580, "brin", 335, 'i'}};
    (void)e;
    for (size_t i = 0; i < sizeof am / sizeof am[0]; i++) {
        put_i(b, "oid", am[i].oid);
        put_s(b, "amname", am[i].name);
        put_i(b, "amhandler", am[i].handler);
        put_c(b, "amtype", am[i].type);
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int p_collation(tl_engine *e, rowb *b, tl_error *err)
{
    static const struct {
        uint32_t oid;
        const char *name, *coll;
        char provider;
    } c[] = {{100, "default", NULL, 'd'}, {950, "C", "C", 'c'}, {951, "POSIX", "POSIX", 'c'}};
    (void)e;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        put_i(b, "oid", c[i].oid);
        put_s(b, "collname", c[i].name);
        put_i(b, "collnamespace", TL_NSP_PG_CATALOG);
        put_i(b, "collowner", SUPERUSER_OID);
        put_c(b, "collprovider", c[i].provider);
        put_b(b, "collisdeterministic", true);
        put_i(b, "collencoding", -1);
        put_s(b, "collcollate", c[i].coll);
        put_s(b, "collctype", c[i].coll);
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int p_tablespace(tl_engine *e, rowb *b, tl_error *err)
{
    (void)e;
    put_i(b, "oid", 1663);
    put_s(b, "spcname", "pg_default");
    put_i(b, "spcowner", SUPERUSER_OID);
    if (rb_row(b, err) < 0) return -1;
    put_i(b, "oid", 1664);
    put_s(b, "spcname", "pg_global");
    put_i(b, "spcowner", SUPERUSER_OID);
    return rb_row(b, err);
}

/* ---- information_schema ---------------------------------------------------------------- */

static __thread const tl_role *viewer;
static __thread bool viewer_active;

void tl_syscat_set_viewer(const void *role, bool active)
{
    viewer = role;
    viewer_active = active;
}

/* Does the viewer hold any of privs on r? The owner (always a superuser in tally) holds
 * all, as PostgreSQL's pg_has_role(relowner, 'USAGE'); tally has no column grants, so
 * has_column_privilege is the table's privilege. */
static bool viewer_any(tl_engine *e, const tl_rel *r, unsigned privs)
{
    if (!viewer_active) return true;
    if (r->nsp == TL_NSP_PG_CATALOG || r->nsp == TL_NSP_INFORMATION_SCHEMA) privs &= TL_ACL_SELECT;
    if (!privs) return false;
    if (!viewer) return (tl_acl_granted(e, TL_ROLE_PUBLIC, TL_OBJ_REL, r->oid) & privs) != 0;
    for (unsigned b = 1; b <= privs; b <<= 1)
        if ((privs & b) && tl_acl_has(e, viewer, TL_OBJ_REL, r->oid, b)) return true;
    return false;
}

/* PostgreSQL 15's information_schema filters: tables and columns show what the viewer
 * may use at all, constraints only to whoever could write or reference the table. */
#define VIS_USE (TL_ACL_SELECT | TL_ACL_INSERT | TL_ACL_UPDATE | TL_ACL_REFERENCES)
#define VIS_TABLE (TL_ACL_ALL_REL)
#define VIS_CONSTRAINT (TL_ACL_INSERT | TL_ACL_UPDATE | TL_ACL_DELETE | TL_ACL_TRUNCATE | TL_ACL_REFERENCES | TL_ACL_TRIGGER)

static void is_rel_cols(tl_engine *e, rowb *b, const char *prefix, const tl_rel *r)
{
    char c[64];
    snprintf(c, sizeof c, "%s_catalog", prefix);
    put_s(b, c, e->database);
    snprintf(c, sizeof c, "%s_schema", prefix);
    put_s(b, c, nsp_name(r->nsp));
    snprintf(c, sizeof c, "%s_name", prefix);
    put_s(b, c, r->name);
}

static int i_tables(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        char k = tl_syscat_relkind(r);
        if (k != 'r' && k != 'v') continue;
        if (!viewer_any(e, r, VIS_TABLE)) continue;
        is_rel_cols(e, b, "table", r);
        put_s(b, "table_type", k == 'r' ? "BASE TABLE" : "VIEW");
        put_s(b, "is_insertable_into", k == 'r' ? "YES" : "NO");
        put_s(b, "is_typed", "NO");
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static const char *udt_name(tl_engine *e, uint32_t oid)
{
    for (int i = 0; i < e->nenums; i++)
        if (e->enums[i]->oid == oid) return e->enums[i]->name;
    const syscat_type *t = type_by_oid(oid);
    return t ? t->name : NULL;
}

static int i_columns(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        char k = tl_syscat_relkind(r);
        if (k != 'r' && k != 'v') continue;
        if (!viewer_any(e, r, VIS_USE)) continue;
        for (int a = 0; a < r->natts; a++) {
            const tl_attr *at = &r->atts[a];
            uint32_t toid = tl_type_oid(at->type);
            char buf[128];
            is_rel_cols(e, b, "table", r);
            put_s(b, "column_name", at->name);
            put_i(b, "ordinal_position", a + 1);
            put_s(b, "column_default", at->generated_sql ? NULL : at->default_sql);
            put_s(b, "is_nullable", at->not_null ? "NO" : "YES");
            const char *dt = at->type.id == TL_ENUM ? "USER-DEFINED"
                             : at->type.id == TL_ARRAY && toid != TL_OID_INT2VECTOR && toid != TL_OID_OIDVECTOR
                                 ? "ARRAY"
                                 : tl_syscat_type_name(e, toid, buf, sizeof buf);
            put_s(b, "data_type", dt);
            if ((at->type.id == TL_VARCHAR || at->type.id == TL_BPCHAR) && at->type.typmod >= 4) {
                put_i(b, "character_maximum_length", at->type.typmod - 4);
                put_i(b, "character_octet_length", (at->type.typmod - 4) * 4);
            } else {
                put_null(b, "character_maximum_length");
                if (tl_type_is_string(at->type.id) && at->type.id != TL_NAME && at->type.id != TL_CHAR &&
                    at->type.id != TL_ARRAY && at->type.id != TL_JSON && at->type.id != TL_JSONB)
                    put_i(b, "character_octet_length", 1073741824);
                else
                    put_null(b, "character_octet_length");
            }
            switch (at->type.id) {
            case TL_INT2: case TL_INT4: case TL_INT8:
                put_i(b, "numeric_precision", at->type.id == TL_INT2 ? 16 : at->type.id == TL_INT4 ? 32 : 64);
                put_i(b, "numeric_precision_radix", 2);
                put_i(b, "numeric_scale", 0);
                break;
            case TL_FLOAT4: case TL_FLOAT8:
                put_i(b, "numeric_precision", at->type.id == TL_FLOAT4 ? 24 : 53);
                put_i(b, "numeric_precision_radix", 2);
                put_null(b, "numeric_scale");
                break;
            case TL_NUMERIC:
                if (at->type.typmod >= 4) {
                    put_i(b, "numeric_precision", (at->type.typmod - 4) >> 16);
                    put_i(b, "numeric_scale", (at->type.typmod - 4) & 0xffff);
                } else {
                    put_null(b, "numeric_precision");
                    put_null(b, "numeric_scale");
                }
                put_i(b, "numeric_precision_radix", 10);
                break;
            default:
                put_null(b, "numeric_precision");
                put_null(b, "numeric_precision_radix");
                put_null(b, "numeric_scale");
            }
            if (at->type.id == TL_DATE || at->type.id == TL_TIMESTAMP || at->type.id == TL_TIMESTAMPTZ)
                put_i(b, "datetime_precision", at->type.id == TL_DATE ? 0 : 6);
            else if (at->type.id == TL_INTERVAL)
                put_i(b, "datetime_precision", 6);
            else
                put_null(b, "datetime_precision");
            put_null(b, "interval_precision");
            put_s(b, "udt_catalog", e->database);
            put_s(b, "udt_schema", at->type.id == TL_ENUM ? "public" : "pg_catalog");
            put_s(b, "udt_name", udt_name(e, toid));
            char ord[16];
            snprintf(ord, sizeof ord, "%d", a + 1);
            put_s(b, "dtd_identifier", ord);
            put_s(b, "is_self_referencing", "NO");
            put_s(b, "is_identity", "NO");
            put_s(b, "identity_cycle", "NO");
            put_s(b, "is_generated", at->generated_sql ? "ALWAYS" : "NEVER");
            put_s(b, "generation_expression", at->generated_sql);
            put_s(b, "is_updatable", k == 'r' ? "YES" : "NO");
            if (tl_type_is_string(at->type.id) && at->type.id != TL_JSON && at->type.id != TL_JSONB &&
                at->type.id != TL_ARRAY && at->type.id != TL_CHAR) {
                put_null(b, "collation_catalog");
            }
            if (rb_row(b, err) < 0) return -1;
        }
    }
    return 0;
}

static int i_schemata(tl_engine *e, rowb *b, tl_error *err)
{
    static const uint32_t ns[] = {TL_NSP_PUBLIC, TL_NSP_PG_CATALOG, TL_NSP_INFORMATION_SCHEMA, TL_NSP_PG_TOAST};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        put_s(b, "catalog_name", e->database);
        put_s(b, "schema_name", nsp_name(ns[i]));
        put_s(b, "schema_owner", ns[i] == TL_NSP_PUBLIC ? "pg_database_owner" : superuser_name(e));
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int tc_row(tl_engine *e, rowb *b, const tl_rel *r, const char *name, const char *type, tl_error *err)
{
    put_s(b, "constraint_catalog", e->database);
    put_s(b, "constraint_schema", nsp_name(r->nsp));
    put_s(b, "constraint_name", name);
    is_rel_cols(e, b, "table", r);
    put_s(b, "constraint_type", type);
    put_s(b, "is_deferrable", "NO");
    put_s(b, "initially_deferred", "NO");
    put_s(b, "enforced", "YES");
    return rb_row(b, err);
}

static int i_table_constraints(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (!user_table(r) || !viewer_any(e, r, VIS_CONSTRAINT)) continue;
        if (r->npk && tc_row(e, b, r, r->pk_name, "PRIMARY KEY", err) < 0) return -1;
        for (int k = 0; k < r->nfk; k++)
            if (tc_row(e, b, r, r->fks[k].name, "FOREIGN KEY", err) < 0) return -1;
        /* PostgreSQL 15 lists each NOT NULL column as a CHECK constraint named so */
        for (int a = 0; a < r->natts; a++) {
            if (!r->atts[a].not_null) continue;
            char nm[64];
            snprintf(nm, sizeof nm, "%u_%u_%d_not_null", r->nsp, r->oid, a + 1);
            if (tc_row(e, b, r, nm, "CHECK", err) < 0) return -1;
        }
    }
    return 0;
}

static int kcu_rows(tl_engine *e, rowb *b, const tl_rel *r, const char *name, const int *cols, int n,
                    const tl_rel *ref, const int *rcols, tl_error *err)
{
    for (int i = 0; i < n; i++) {
        put_s(b, "constraint_catalog", e->database);
        put_s(b, "constraint_schema", nsp_name(r->nsp));
        put_s(b, "constraint_name", name);
        is_rel_cols(e, b, "table", r);
        put_s(b, "column_name", r->atts[cols[i]].name);
        put_i(b, "ordinal_position", i + 1);
        if (ref) {
            int pos = 0;
            for (int k = 0; k < ref->npk; k++)
                if (ref->pk[k] == rcols[i]) pos = k + 1;
            if (pos) put_i(b, "position_in_unique_constraint", pos);
            else put_null(b, "position_in_unique_constraint");
        } else {
            put_null(b, "position_in_unique_constraint");
        }
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

static int i_key_column_usage(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (!user_table(r) || !viewer_any(e, r, VIS_USE)) continue;
        if (r->npk && kcu_rows(e, b, r, r->pk_name, r->pk, r->npk, NULL, NULL, err) < 0) return -1;
        for (int k = 0; k < r->nfk; k++) {
            const tl_fkey *fk = &r->fks[k];
            tl_rel *ref = tl_catalog_rel_by_oid(e, fk->ref_oid);
            if (kcu_rows(e, b, r, fk->name, fk->cols, fk->ncols, ref, fk->ref_cols, err) < 0) return -1;
        }
    }
    return 0;
}

static int i_views(tl_engine *e, rowb *b, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (tl_syscat_relkind(r) != 'v') continue;
        is_rel_cols(e, b, "table", r);
        put_s(b, "check_option", "NONE");
        put_s(b, "is_updatable", "NO");
        put_s(b, "is_insertable_into", "NO");
        put_s(b, "is_trigger_updatable", "NO");
        put_s(b, "is_trigger_deletable", "NO");
        put_s(b, "is_trigger_insertable_into", "NO");
        if (rb_row(b, err) < 0) return -1;
    }
    return 0;
}

/* ---- registration ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    producer fn;
} producers[] = {
    {"pg_namespace", p_namespace},   {"pg_class", p_class},       {"pg_attribute", p_attribute},
    {"pg_type", p_type},             {"pg_attrdef", p_attrdef},   {"pg_index", p_index},
    {"pg_constraint", p_constraint}, {"pg_enum", p_enum},         {"pg_proc", p_proc},
    {"pg_database", p_database},     {"pg_roles", p_roles},       {"pg_user", p_user},
    {"pg_authid", p_authid},          {"pg_settings", p_settings}, {"pg_tables", p_tables},
    {"pg_views", p_views},           {"pg_matviews", p_matviews}, {"pg_indexes", p_indexes},
    {"pg_stat_user_tables", p_stat_user_tables}, {"pg_stat_all_tables", p_stat_user_tables},
    {"pg_description", p_description},
    {"pg_am", p_am},                 {"pg_collation", p_collation}, {"pg_tablespace", p_tablespace},
    {"tables", i_tables},            {"columns", i_columns},      {"schemata", i_schemata},
    {"table_constraints", i_table_constraints}, {"key_column_usage", i_key_column_usage},
    {"views", i_views},
};

static int materialize(tl_engine *e, const tl_rel *r, tl_table *out, tl_error *err)
{
    producer fn = NULL;
    for (size_t i = 0; i < sizeof producers / sizeof producers[0]; i++)
        if (strcmp(producers[i].name, r->name) == 0) fn = producers[i].fn;
    if (!fn) return 0; /* a catalog of a feature tally does not have: no rows */
    rowb b;
    rb_init(&b, r, out);
    int rc = fn(e, &b, err);
    int rc2 = rb_done(&b, err);
    return rc < 0 ? rc : rc2;
}

/* pg_cron's cron.job, as pg_cron 1.4+ defines it: the jobs cron.schedule() accepted. */
static int cron_job(tl_engine *e, const tl_rel *r, tl_table *out, tl_error *err)
{
    rowb b;
    rb_init(&b, r, out);
    for (int i = 0; i < tl_catalog_ncron(e); i++) {
        const tl_cron_job *j = tl_catalog_cron_at(e, i);
        put_i(&b, "jobid", j->jobid);
        put_s(&b, "schedule", j->schedule);
        put_s(&b, "command", j->command);
        put_s(&b, "nodename", "localhost");
        put_i(&b, "nodeport", 5432);
        put_s(&b, "database", e->database);
        put_s(&b, "username", superuser_name(e));
        put_b(&b, "active", true);
        put_s(&b, "jobname", j->name);
        if (rb_row(&b, err) < 0) return -1;
    }
    return rb_done(&b, err);
}

static int register_cron(tl_engine *e, tl_error *err)
{
    static const char *cols[][2] = {{"jobid", "bigint"}, {"schedule", "text"}, {"command", "text"},
                                    {"nodename", "text"}, {"nodeport", "integer"}, {"database", "text"},
                                    {"username", "text"}, {"active", "boolean"}, {"jobname", "text"}};
    tl_attr atts[9];
    for (int i = 0; i < 9; i++) {
        memset(&atts[i], 0, sizeof atts[i]);
        atts[i].name = (char *)cols[i][0];
        atts[i].type = type_of(cols[i][1]);
    }
    return tl_catalog_create_virtual(e, "job", TL_NSP_CRON, TL_REL_VIEW, 9, atts, cron_job, NULL, err) ? 0 : -1;
}

int tl_syscat_register(tl_engine *e, tl_error *err)
{
    if (register_cron(e, err) < 0) return -1;
    for (size_t i = 0; i < NDEFS; i++) {
        const syscat_def *d = &syscat_defs[i];
        tl_attr atts[80];
        char *names[80];
        int n = 0;
        char *cols = tl_xstrdup(d->cols);
        for (char *save = NULL, *tok = strtok_r(cols, ";", &save); tok && n < 80;
             tok = strtok_r(NULL, ";", &save)) {
            char *colon = strchr(tok, ':');
            *colon = 0;
            memset(&atts[n], 0, sizeof atts[n]);
            names[n] = tok;
            atts[n].name = names[n];
            atts[n].type = type_of(colon + 1);
            n++;
        }
        tl_rel *r = tl_catalog_create_virtual(e, d->name, tl_catalog_nsp_oid(d->nsp), TL_REL_VIEW, n, atts,
                                              materialize, NULL, err);
        free(cols);
        if (!r) return -1;
        r->oid = d->oid;
    }
    return 0;
}
