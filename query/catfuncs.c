/*
 * catfuncs.c — the catalog functions and types clients call when they inspect a
 * database (psql's meta-commands, pgjdbc's DatabaseMetaData, Metabase's sync):
 * format_type, pg_get_expr/indexdef/constraintdef, visibility tests, privileges,
 * descriptions, sizes, array helpers, and the reg* types (regclass, regtype, regproc,
 * regnamespace, regrole) as casts to and from names. A second registry consulted by
 * fn_lookup after the general one, so this file and func.c grow independently.
 */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define K(name) static int name(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
#define UNUSED (void)q, (void)e, (void)args, (void)err

/* The session whose statement is materialising a catalog (pg_settings needs it). */
static __thread tl_qsession *cur_session;

static void set_str(qctx *q, tl_vec *out, uint32_t i, const char *s)
{
    if (!s) {
        out->nulls[i] = 1;
        return;
    }
    size_t len = strlen(s);
    out->d.s[i].ptr = tl_arena_strndup(&q->arena, s, len);
    out->d.s[i].len = (uint32_t)len;
}

static char *str_of(qctx *q, const tl_vec *v, uint32_t i)
{
    return tl_arena_strndup(&q->arena, v->d.s[i].ptr, v->d.s[i].len);
}

static bool arg_null(const tl_vec *v, uint32_t i)
{
    return tl_vec_isnull(v, i);
}

/* ---- names of types and relations ---------------------------------------------------- */

const char *type_name_with_typmod(qctx *q, uint32_t oid, int32_t typmod)
{
    char buf[160];
    const char *nm = tl_syscat_type_name(q->eng, oid, buf, sizeof buf);
    if (!nm) return NULL;
    if (typmod >= 0) {
        switch (oid) {
        case TL_OID_VARCHAR:
        case TL_OID_BPCHAR:
            if (typmod >= 4) return tl_arena_printf(&q->arena, "%s(%d)", nm, typmod - 4);
            break;
        case TL_OID_NUMERIC:
            if (typmod >= 4)
                return tl_arena_printf(&q->arena, "numeric(%d,%d)", (typmod - 4) >> 16, (typmod - 4) & 0xffff);
            break;
        case TL_OID_TIMESTAMP:
            return tl_arena_printf(&q->arena, "timestamp(%d) without time zone", typmod);
        case TL_OID_TIMESTAMPTZ:
            return tl_arena_printf(&q->arena, "timestamp(%d) with time zone", typmod);
        default:
            break;
        }
    }
    return tl_arena_strndup(&q->arena, nm, strlen(nm));
}

K(k_format_type)
{
    for (uint32_t i = 0; i < n; i++) {
        if (arg_null(&args[0], i)) {
            out->nulls[i] = 1;
            continue;
        }
        int32_t typmod = arg_null(&args[1], i) ? -1 : (int32_t)args[1].d.i[i];
        const char *s = type_name_with_typmod(q, (uint32_t)args[0].d.i[i], typmod);
        set_str(q, out, i, s ? s : "???");
    }
    UNUSED;
    return 0;
}

/* adbin holds the expression's SQL text already (tally keeps defaults as deparsed SQL). */
K(k_pg_get_expr)
{
    for (uint32_t i = 0; i < n; i++) out->d.s[i] = args[0].d.s[i];
    UNUSED;
    return 0;
}

K(k_pg_get_indexdef)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t oid = (uint32_t)args[0].d.i[i];
        int col = e->nargs >= 2 ? (int)args[1].d.i[i] : 0;
        if (col > 0) {
            /* one key column's name, as PostgreSQL prints it */
            tl_rel *ix = tl_catalog_rel_by_oid(q->eng, oid);
            const char *nm = NULL;
            if (ix && ix->kind == TL_REL_INDEX && col <= ix->nidx) {
                tl_rel *t = tl_catalog_rel_by_oid(q->eng, ix->index_of);
                if (t) nm = t->atts[ix->idx_cols[col - 1]].name;
            }
            for (int r = 0; !nm && r < tl_catalog_nrels(q->eng); r++) {
                tl_rel *t = tl_catalog_rel_at(q->eng, r);
                if (t->npk && t->pk_index_oid == oid && col <= t->npk) nm = t->atts[t->pk[col - 1]].name;
            }
            set_str(q, out, i, nm);
            continue;
        }
        char *def = tl_syscat_indexdef(q->eng, oid);
        /* the pretty form leaves out a schema that is on the search path */
        char *on = def && e->nargs == 3 && args[2].d.b[i] ? strstr(def, " ON public.") : NULL;
        if (on) memmove(on + 4, on + 11, strlen(on + 11) + 1);
        set_str(q, out, i, def);
        free(def);
    }
    UNUSED;
    return 0;
}

K(k_pg_get_constraintdef)
{
    for (uint32_t i = 0; i < n; i++) {
        char *def = tl_syscat_constraintdef(q->eng, (uint32_t)args[0].d.i[i]);
        set_str(q, out, i, def);
        free(def);
    }
    UNUSED;
    return 0;
}

/* pg_get_viewdef(oid [, pretty]): a materialized view's query in PostgreSQL's layout
 * (viewdef.c); NULL for a relation without a stored query, as PostgreSQL for a non-view. */
K(k_pg_get_viewdef)
{
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        tl_rel *r = tl_catalog_rel_by_oid(q->eng, (uint32_t)args[0].d.i[i]);
        bool pretty = e->nargs == 2 && !tl_vec_isnull(&args[1], i) && args[1].d.b[i];
        char *def = r && r->view_def ? q_viewdef(q->eng, r->view_def, pretty) : NULL;
        set_str(q, out, i, def);
        free(def);
    }
    UNUSED;
    return 0;
}

/* triggers and rules tally does not have: NULL, as PostgreSQL for an unknown oid */
K(k_null_text)
{
    for (uint32_t i = 0; i < n; i++) out->nulls[i] = 1;
    UNUSED;
    return 0;
}

/* obj_description(oid [, catalog]) and col_description(oid, attnum) from COMMENT ON. Only
 * pg_class objects carry comments in tally; other catalogs' objects have none. */
K(k_obj_description)
{
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls[i]) continue;
        uint32_t oid = (uint32_t)args[0].d.i[i];
        const char *d = NULL;
        bool is_col = e->fn->name[0] == 'c';
        if (is_col) {
            d = tl_catalog_description(q->eng, oid, 1259, (int32_t)args[1].d.i[i]);
        } else if (e->nargs == 1 || (args[1].d.s[i].len == 8 && !memcmp(args[1].d.s[i].ptr, "pg_class", 8))) {
            d = tl_catalog_description(q->eng, oid, 1259, 0);
        }
        set_str(q, out, i, d);
    }
    UNUSED;
    return 0;
}

static int rel_nsp(qctx *q, uint32_t oid)
{
    tl_rel *r = tl_catalog_rel_by_oid(q->eng, oid);
    if (r) return (int)r->nsp;
    for (int i = 0; i < tl_catalog_nrels(q->eng); i++) {
        tl_rel *t = tl_catalog_rel_at(q->eng, i);
        if (t->npk && t->pk_index_oid == oid) return (int)t->nsp;
    }
    return -1;
}

static bool in_path(int nsp)
{
    return nsp == TL_NSP_PG_CATALOG || nsp == TL_NSP_PUBLIC;
}

K(k_table_is_visible)
{
    for (uint32_t i = 0; i < n; i++) {
        int nsp = rel_nsp(q, (uint32_t)args[0].d.i[i]);
        if (nsp < 0) out->nulls[i] = 1;
        else out->d.b[i] = in_path(nsp);
    }
    UNUSED;
    return 0;
}

K(k_type_is_visible)
{
    char buf[64];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t oid = (uint32_t)args[0].d.i[i];
        if (!tl_syscat_type_name(q->eng, oid, buf, sizeof buf)) out->nulls[i] = 1;
        else out->d.b[i] = true; /* pg_catalog's and public's types only */
    }
    UNUSED;
    return 0;
}

K(k_true)
{
    for (uint32_t i = 0; i < n; i++) out->d.b[i] = true;
    UNUSED;
    return 0;
}

K(k_false)
{
    for (uint32_t i = 0; i < n; i++) out->d.b[i] = false;
    UNUSED;
    return 0;
}

K(k_get_userbyid)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t oid = (uint32_t)args[0].d.i[i];
        tl_role *r = tl_catalog_role_by_oid(q->eng, oid);
        const char *nm = r ? r->name : NULL;
        /* the predefined role that owns schema public (pg_namespace.nspowner) */
        if (!nm && oid == 6171) nm = "pg_database_owner";
        /* PostgreSQL prints "unknown (OID=n)" for a role that does not exist */
        set_str(q, out, i, nm ? nm : tl_arena_printf(&q->arena, "unknown (OID=%u)", oid));
    }
    UNUSED;
    return 0;
}

K(k_encoding_to_char)
{
    for (uint32_t i = 0; i < n; i++) set_str(q, out, i, args[0].d.i[i] == 6 ? "UTF8" : args[0].d.i[i] == 0 ? "SQL_ASCII" : "");
    UNUSED;
    return 0;
}

K(k_current_schema)
{
    for (uint32_t i = 0; i < n; i++) set_str(q, out, i, "public");
    UNUSED;
    return 0;
}

K(k_current_schemas)
{
    for (uint32_t i = 0; i < n; i++) set_str(q, out, i, args[0].d.b[i] ? "{pg_catalog,public}" : "{public}");
    UNUSED;
    return 0;
}

K(k_current_database)
{
    for (uint32_t i = 0; i < n; i++) set_str(q, out, i, q->s->database);
    UNUSED;
    return 0;
}

/* Thread-per-connection: the thread id names the backend as a pid does in PostgreSQL. */
K(k_backend_pid)
{
    for (uint32_t i = 0; i < n; i++) out->d.i[i] = (int64_t)syscall(SYS_gettid);
    UNUSED;
    return 0;
}

K(k_current_setting)
{
    for (uint32_t i = 0; i < n; i++) {
        char *name = str_of(q, &args[0], i);
        const char *v = tl_qsession_get(q->s, name);
        if (!v) {
            bool missing_ok = e->nargs > 1 && !arg_null(&args[1], i) && args[1].d.b[i];
            if (missing_ok) {
                out->nulls[i] = 1;
                continue;
            }
            return tl_errorf(err, "42704", "unrecognized configuration parameter \"%s\"", name);
        }
        set_str(q, out, i, v);
    }
    return 0;
}

/* ---- arrays --------------------------------------------------------------------------- */

static int parse_arr(qctx *q, const tl_vec *v, uint32_t i, tl_array_elems *el, tl_error *err)
{
    return tl_array_parse(v->type.oid, v->d.s[i].ptr, v->d.s[i].len, el, &q->arena, err);
}

static bool is_vector(uint32_t oid)
{
    return oid == TL_OID_INT2VECTOR || oid == TL_OID_OIDVECTOR;
}

K(k_array_to_string)
{
    for (uint32_t i = 0; i < n; i++) {
        if (arg_null(&args[0], i) || arg_null(&args[1], i)) {
            out->nulls[i] = 1;
            continue;
        }
        tl_array_elems el;
        if (parse_arr(q, &args[0], i, &el, err) < 0) return -1;
        tl_buf b;
        tl_buf_init(&b);
        bool first = true;
        bool has_null_str = e->nargs > 2 && !arg_null(&args[2], i);
        for (int k = 0; k < el.n; k++) {
            if (el.isnull[k] && !has_null_str) continue;
            if (!first) tl_buf_append(&b, args[1].d.s[i].ptr, args[1].d.s[i].len);
            first = false;
            if (el.isnull[k]) tl_buf_append(&b, args[2].d.s[i].ptr, args[2].d.s[i].len);
            else tl_buf_append(&b, el.v[k].ptr, el.v[k].len);
        }
        out->d.s[i].ptr = tl_arena_strndup(&q->arena, b.data ? b.data : "", b.len);
        out->d.s[i].len = (uint32_t)b.len;
        tl_buf_free(&b);
    }
    return 0;
}

/* array_upper / array_lower / array_length for one-dimensional arrays; vectors count from 0. */
K(k_array_bound)
{
    int which = e->name && !strcmp(e->name, "array_lower") ? 0 : e->name && !strcmp(e->name, "array_length") ? 2 : 1;
    for (uint32_t i = 0; i < n; i++) {
        tl_array_elems el;
        if (out->nulls[i]) continue;
        if (parse_arr(q, &args[0], i, &el, err) < 0) return -1;
        if (el.n == 0 || args[1].d.i[i] != 1) {
            out->nulls[i] = 1;
            continue;
        }
        int lb = is_vector(args[0].type.oid) ? 0 : 1;
        out->d.i[i] = which == 0 ? lb : which == 1 ? lb + el.n - 1 : el.n;
    }
    return 0;
}

K(k_cardinality)
{
    for (uint32_t i = 0; i < n; i++) {
        tl_array_elems el;
        if (out->nulls[i]) continue;
        if (parse_arr(q, &args[0], i, &el, err) < 0) return -1;
        out->d.i[i] = el.n;
    }
    UNUSED;
    return 0;
}

/* ---- text helpers --------------------------------------------------------------------- */

static bool is_keyword(const char *s)
{
    static const char *const kw[] = {"all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric",
        "both", "case", "cast", "check", "collate", "column", "constraint", "create", "current_catalog",
        "current_date", "current_role", "current_time", "current_timestamp", "current_user", "default",
        "deferrable", "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign",
        "from", "grant", "group", "having", "in", "initially", "intersect", "into", "lateral", "leading",
        "limit", "localtime", "localtimestamp", "not", "null", "offset", "on", "only", "or", "order",
        "placing", "primary", "references", "returning", "select", "session_user", "some", "symmetric",
        "table", "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "when",
        "where", "window", "with"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (!strcmp(kw[i], s)) return true;
    return false;
}

/* quote_ident's rule, appended to out (format()'s %I uses it too). */
void cat_quote_ident(const char *p, uint32_t len, tl_buf *out)
{
    bool safe = len > 0 && ((p[0] >= 'a' && p[0] <= 'z') || p[0] == '_');
    for (uint32_t k = 0; safe && k < len; k++) {
        char c = p[k];
        safe = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    }
    if (safe && len < 64) {
        char z[64];
        memcpy(z, p, len);
        z[len] = '\0';
        safe = !is_keyword(z);
    }
    if (safe) {
        tl_buf_append(out, p, len);
        return;
    }
    tl_buf_putc(out, '"');
    for (uint32_t k = 0; k < len; k++) {
        if (p[k] == '"') tl_buf_putc(out, '"');
        tl_buf_putc(out, p[k]);
    }
    tl_buf_putc(out, '"');
}

K(k_quote_ident)
{
    for (uint32_t i = 0; i < n; i++) {
        const tl_str *s = &args[0].d.s[i];
        bool safe = s->len > 0 && ((s->ptr[0] >= 'a' && s->ptr[0] <= 'z') || s->ptr[0] == '_');
        for (uint32_t k = 0; safe && k < s->len; k++) {
            char c = s->ptr[k];
            safe = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        }
        if (safe) {
            char *z = tl_arena_strndup(&q->arena, s->ptr, s->len);
            safe = !is_keyword(z);
        }
        if (safe) {
            out->d.s[i] = *s;
            continue;
        }
        tl_buf b;
        tl_buf_init(&b);
        tl_buf_putc(&b, '"');
        for (uint32_t k = 0; k < s->len; k++) {
            if (s->ptr[k] == '"') tl_buf_putc(&b, '"');
            tl_buf_putc(&b, s->ptr[k]);
        }
        tl_buf_putc(&b, '"');
        out->d.s[i].ptr = tl_arena_strndup(&q->arena, b.data, b.len);
        out->d.s[i].len = (uint32_t)b.len;
        tl_buf_free(&b);
    }
    UNUSED;
    return 0;
}

/* PostgreSQL 15's pg_size_pretty: below 10240 bytes as bytes; else keep one extra bit
 * for rounding, step by 1024 while the value is at least 2 * 10240 - 1 halves, and
 * round half away from zero at the end. */
K(k_size_pretty)
{
    static const char *const units[] = {"bytes", "kB", "MB", "GB", "TB", "PB"};
    const int64_t limit = 10 * 1024, limit2 = limit * 2 - 1;
    for (uint32_t i = 0; i < n; i++) {
        int64_t size = args[0].d.i[i];
        int u = 0;
        if ((size < 0 ? -size : size) >= limit) {
            size >>= 9;
            u = 1;
            while (u < 5 && (size < 0 ? -size : size) >= limit2) {
                size >>= 10;
                u++;
            }
            size = (size + (size < 0 ? -1 : 1)) / 2;
        }
        set_str(q, out, i, tl_arena_printf(&q->arena, "%lld %s", (long long)size, units[u]));
    }
    UNUSED;
    return 0;
}

K(k_function_result)
{
    bool args_wanted = e->name && !strcmp(e->name, "pg_get_function_arguments");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t ret;
        const char *argtypes;
        if (!tl_syscat_proc_sig((uint32_t)args[0].d.i[i], &ret, &argtypes)) {
            tl_func *uf = tl_catalog_func_by_oid(q->eng, (uint32_t)args[0].d.i[i]);
            if (!uf) {
                out->nulls[i] = 1;
                continue;
            }
            ret = tl_type_oid(uf->ret);
            argtypes = "";
        }
        if (!args_wanted) {
            set_str(q, out, i, type_name_with_typmod(q, ret, -1));
            continue;
        }
        tl_buf b;
        tl_buf_init(&b);
        for (const char *p = argtypes; *p;) {
            char *end;
            unsigned long t = strtoul(p, &end, 10);
            if (end == p) break;
            const char *nm = type_name_with_typmod(q, (uint32_t)t, -1);
            tl_buf_printf(&b, "%s%s", b.len ? ", " : "", nm ? nm : "?");
            p = end;
            while (*p == ' ') p++;
        }
        set_str(q, out, i, b.data ? b.data : "");
        tl_buf_free(&b);
    }
    UNUSED;
    return 0;
}

K(k_relation_size)
{
    /* PostgreSQL's split: the relation (pg_relation_size, pg_table_size: tally has no
     * TOAST) is the columns with their dictionaries, the indexes are the primary key's
     * hash index, and pg_total_relation_size is both — the figures tally_storage_totals
     * shows. */
    const char *fn = e->name ? e->name : "";
    bool idx = !strcmp(fn, "pg_indexes_size") || !strcmp(fn, "pg_total_relation_size");
    bool data = strcmp(fn, "pg_indexes_size") != 0;
    for (uint32_t i = 0; i < n; i++) {
        tl_rel *r = tl_catalog_rel_by_oid(q->eng, (uint32_t)args[0].d.i[i]);
        if (!r) {
            out->nulls[i] = 1;
            continue;
        }
        int64_t b = 0;
        if (data && r->data) {
            tl_table_pin(r->data);
            b += (int64_t)tl_table_bytes(r->data);
            tl_table_unpin(r->data);
        }
        if (idx) b += (int64_t)tl_catalog_index_bytes(r);
        out->d.i[i] = b;
    }
    UNUSED;
    return 0;
}

static int64_t start_time;

K(k_start_time)
{
    for (uint32_t i = 0; i < n; i++) out->d.i[i] = start_time;
    UNUSED;
    return 0;
}

K(k_txid)
{
    static int64_t next = 1000;
    for (uint32_t i = 0; i < n; i++) out->d.i[i] = __atomic_add_fetch(&next, 1, __ATOMIC_RELAXED);
    UNUSED;
    return 0;
}

/* ---- the registry ---------------------------------------------------------------------- */

#define U TL_UNKNOWN
/* pg_typeof(any): the argument's type, known at bind time. */
static int k_pg_typeof(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    tl_type t = e->args[0]->type;
    uint32_t oid = t.id == TL_UNKNOWN ? 705 /* unknown */ : tl_type_oid(t);
    for (uint32_t i = 0; i < n; i++) {
        out->nulls[i] = 0;
        out->d.i[i] = oid;
    }
    (void)q;
    (void)args;
    (void)err;
    return 0;
}

static const fn_def cat_fns[] = {
    {"pg_typeof", 1, {U}, TL_OID, k_pg_typeof, true, false},
    {"format_type", 2, {TL_OID, TL_INT4}, TL_TEXT, k_format_type, true, false},
    {"pg_get_expr", 2, {TL_TEXT, TL_OID}, TL_TEXT, k_pg_get_expr, false, false},
    {"pg_get_expr", 3, {TL_TEXT, TL_OID, TL_BOOL}, TL_TEXT, k_pg_get_expr, false, false},
    {"pg_get_indexdef", 1, {TL_OID}, TL_TEXT, k_pg_get_indexdef, false, false},
    {"pg_get_indexdef", 3, {TL_OID, TL_INT4, TL_BOOL}, TL_TEXT, k_pg_get_indexdef, false, false},
    {"pg_get_constraintdef", 1, {TL_OID}, TL_TEXT, k_pg_get_constraintdef, false, false},
    {"pg_get_constraintdef", 2, {TL_OID, TL_BOOL}, TL_TEXT, k_pg_get_constraintdef, false, false},
    {"pg_get_viewdef", 1, {TL_OID}, TL_TEXT, k_pg_get_viewdef, false, false},
    {"pg_get_viewdef", 2, {TL_OID, TL_BOOL}, TL_TEXT, k_pg_get_viewdef, false, false},
    {"pg_get_triggerdef", 1, {TL_OID}, TL_TEXT, k_null_text, true, false},
    {"pg_get_ruledef", 1, {TL_OID}, TL_TEXT, k_null_text, true, false},
    {"pg_get_ruledef", 2, {TL_OID, TL_BOOL}, TL_TEXT, k_null_text, true, false},
    {"pg_table_is_visible", 1, {TL_OID}, TL_BOOL, k_table_is_visible, false, false},
    {"pg_type_is_visible", 1, {TL_OID}, TL_BOOL, k_type_is_visible, false, false},
    {"pg_function_is_visible", 1, {TL_OID}, TL_BOOL, k_true, false, false},
    {"obj_description", 1, {TL_OID}, TL_TEXT, k_obj_description, false, true},
    {"obj_description", 2, {TL_OID, TL_NAME}, TL_TEXT, k_obj_description, false, true},
    {"col_description", 2, {TL_OID, TL_INT4}, TL_TEXT, k_obj_description, false, true},
    {"shobj_description", 2, {TL_OID, TL_NAME}, TL_TEXT, k_null_text, true, false},
    {"pg_get_userbyid", 1, {TL_OID}, TL_NAME, k_get_userbyid, false, false},
    {"pg_encoding_to_char", 1, {TL_INT4}, TL_NAME, k_encoding_to_char, false, false},
    /* privileges: every role is treated as the superuser until grants exist (security issue) */
    {"has_table_privilege", 2, {U, TL_TEXT}, TL_BOOL, k_true, false, false},
    {"has_table_privilege", 3, {U, U, TL_TEXT}, TL_BOOL, k_true, false, false},
    {"has_any_column_privilege", 2, {U, TL_TEXT}, TL_BOOL, k_true, false, false},
    {"has_any_column_privilege", 3, {U, U, TL_TEXT}, TL_BOOL, k_true, false, false},
    {"has_column_privilege", 3, {U, U, TL_TEXT}, TL_BOOL, k_true, false, false},
    {"has_schema_privilege", 2, {U, TL_TEXT}, TL_BOOL, k_true, false, false},
    {"has_schema_privilege", 3, {U, U, TL_TEXT}, TL_BOOL, k_true, false, false},
    {"has_database_privilege", 2, {U, TL_TEXT}, TL_BOOL, k_true, false, false},
    {"has_database_privilege", 3, {U, U, TL_TEXT}, TL_BOOL, k_true, false, false},
    {"has_function_privilege", 2, {U, TL_TEXT}, TL_BOOL, k_true, false, false},
    {"current_schema", 0, {0}, TL_NAME, k_current_schema, false, false},
    {"current_schemas", 1, {TL_BOOL}, TL_ARRAY, k_current_schemas, false, false},
    {"current_database", 0, {0}, TL_NAME, k_current_database, false, false},
    {"current_catalog", 0, {0}, TL_NAME, k_current_database, false, false},
    {"pg_backend_pid", 0, {0}, TL_INT4, k_backend_pid, false, true},
    {"current_setting", 1, {TL_TEXT}, TL_TEXT, k_current_setting, false, false},
    {"current_setting", 2, {TL_TEXT, TL_BOOL}, TL_TEXT, k_current_setting, false, false},
    {"array_to_string", 2, {TL_ARRAY, TL_TEXT}, TL_TEXT, k_array_to_string, true, false},
    {"array_to_string", 3, {TL_ARRAY, TL_TEXT, TL_TEXT}, TL_TEXT, k_array_to_string, true, false},
    {"array_upper", 2, {TL_ARRAY, TL_INT4}, TL_INT4, k_array_bound, false, false},
    {"array_lower", 2, {TL_ARRAY, TL_INT4}, TL_INT4, k_array_bound, false, false},
    {"array_length", 2, {TL_ARRAY, TL_INT4}, TL_INT4, k_array_bound, false, false},
    {"cardinality", 1, {TL_ARRAY}, TL_INT4, k_cardinality, false, false},
    {"quote_ident", 1, {TL_TEXT}, TL_TEXT, k_quote_ident, false, false},
    {"pg_size_pretty", 1, {TL_INT8}, TL_TEXT, k_size_pretty, false, false},
    {"pg_total_relation_size", 1, {TL_OID}, TL_INT8, k_relation_size, false, false},
    {"pg_relation_size", 1, {TL_OID}, TL_INT8, k_relation_size, false, false},
    {"pg_table_size", 1, {TL_OID}, TL_INT8, k_relation_size, false, false},
    {"pg_indexes_size", 1, {TL_OID}, TL_INT8, k_relation_size, false, false},
    {"pg_get_function_result", 1, {TL_OID}, TL_TEXT, k_function_result, false, false},
    {"pg_get_function_arguments", 1, {TL_OID}, TL_TEXT, k_function_result, false, false},
    {"pg_is_in_recovery", 0, {0}, TL_BOOL, k_false, false, false},
    {"pg_postmaster_start_time", 0, {0}, TL_TIMESTAMPTZ, k_start_time, false, false},
    {"txid_current", 0, {0}, TL_INT8, k_txid, false, true},
    /* tally keeps no extended statistics: pg_statistic_ext is empty, so psql's \\d
     * binds this but never calls it on a row */
    {"pg_get_statisticsobjdef_columns", 1, {TL_OID}, TL_TEXT, k_null_text, false, false},
    /* pg_trigger is empty (foreign keys are checked by ingest, not by triggers) */
    {"pg_get_triggerdef", 1, {TL_OID}, TL_TEXT, k_null_text, false, false},
    {"pg_get_triggerdef", 2, {TL_OID, TL_BOOL}, TL_TEXT, k_null_text, false, false},
    /* ordinary tables are publishable; pg_publication is empty, so never decisive */
    {"pg_relation_is_publishable", 1, {TL_OID}, TL_BOOL, k_true, false, false},
};
#undef U

/* Argument types of catalog functions are mostly oid, and clients pass regclass,
 * integers or untyped literals there: oid-family matches by class, not by variant. */
static bool arg_ok(tl_type_id want, tl_type_id have)
{
    if (want == TL_UNKNOWN || want == have || have == TL_UNKNOWN) return true;
    if (want == TL_OID) return tl_type_is_integer(have);
    if (want == TL_ARRAY) return false;
    return can_implicit_cast(have, want);
}

const fn_def *catfn_lookup(const char *name, int nargs, const tl_type_id *args)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(cat_fns); i++) {
        if (strcmp(cat_fns[i].name, name) != 0 || cat_fns[i].nargs != nargs) continue;
        bool ok = true;
        for (int k = 0; k < nargs && ok; k++) ok = arg_ok(cat_fns[i].args[k], args[k]);
        if (ok) return &cat_fns[i];
    }
    return NULL;
}

const fn_def *catfn_lookup_name(const char *name)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(cat_fns); i++)
        if (!strcmp(cat_fns[i].name, name)) return &cat_fns[i];
    return NULL;
}

/* ---- reg* types ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    uint32_t oid;
} reg_types[] = {
    {"regclass", TL_OID_REGCLASS}, {"regtype", TL_OID_REGTYPE}, {"regproc", TL_OID_REGPROC},
    {"regprocedure", TL_OID_REGPROCEDURE}, {"regnamespace", TL_OID_REGNAMESPACE}, {"regrole", TL_OID_REGROLE},
};

static bool is_reg(uint32_t oid)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(reg_types); i++)
        if (reg_types[i].oid == oid) return true;
    return false;
}

int cat_type_from_name(qctx *q, const char *schema, const char *name, tl_type *out)
{
    (void)q;
    if (schema && strcmp(schema, "pg_catalog") != 0 && strcmp(schema, "information_schema") != 0) return -1;
    for (size_t i = 0; i < TL_ARRAY_LEN(reg_types); i++)
        if (!strcmp(reg_types[i].name, name)) {
            *out = tl_type_make(TL_OID);
            out->oid = reg_types[i].oid;
            return 0;
        }
    static const struct {
        const char *name;
        tl_type_id id;
        uint32_t oid;
    } more[] = {
        {"int2vector", TL_ARRAY, TL_OID_INT2VECTOR}, {"oidvector", TL_ARRAY, TL_OID_OIDVECTOR},
        {"pg_node_tree", TL_TEXT, TL_OID_PG_NODE_TREE}, {"xid", TL_OID, 28},
        {"sql_identifier", TL_NAME, TL_OID_NAME}, {"cardinal_number", TL_INT4, TL_OID_INT4},
        {"character_data", TL_VARCHAR, TL_OID_VARCHAR}, {"yes_or_no", TL_VARCHAR, TL_OID_VARCHAR},
    };
    for (size_t i = 0; i < TL_ARRAY_LEN(more); i++)
        if (!strcmp(more[i].name, name)) {
            *out = tl_type_make(more[i].id);
            out->oid = more[i].oid;
            return 0;
        }
    return -1;
}

/* elem[] as a type: 0 and 0A000 when tally has no such array type. */
int cat_array_of(qctx *q, tl_type elem, tl_type *out)
{
    uint32_t aoid = 0;
    if (elem.id == TL_ENUM) {
        tl_enum *en = tl_catalog_enum_by_oid(q->eng, elem.oid);
        aoid = en ? en->array_oid : 0;
    } else {
        aoid = tl_array_oid_of(tl_type_oid(elem));
    }
    if (!aoid) return -1;
    *out = tl_array_type(aoid);
    return 0;
}

/* 'a.b', '"A"."b"', 'a' as PostgreSQL's stringToQualifiedNameList reads them: unquoted
 * parts fold to lower case, quoted parts keep their case and "" stands for ". *schema is
 * NULL when unqualified. -1 on a malformed name (empty part, unterminated quote, more
 * than a database.schema.name). */
int cat_split_qualname(qctx *q, const char *s, char **schema, char **name)
{
    char *parts[3];
    int np = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n') p++;
        char *o = tl_arena_alloc(&q->arena, strlen(p) + 1);
        size_t k = 0;
        if (*p == '"') {
            for (p++;; p++) {
                if (!*p) return -1;
                if (*p == '"') {
                    if (p[1] != '"') break;
                    p++;
                }
                o[k++] = *p;
            }
            p++;
            if (k == 0) return -1;
        } else {
            for (; *p && *p != '.' && *p != ' ' && *p != '\t' && *p != '\n'; p++)
                o[k++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
            if (k == 0) return -1;
        }
        o[k] = 0;
        if (np == 3) return -1;
        parts[np++] = o;
        while (*p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        if (*p != '.') return -1;
        p++;
    }
    *schema = np >= 2 ? parts[np - 2] : NULL;
    *name = parts[np - 1];
    return 0;
}

/* A relation by (schema, name); unqualified names follow the search path PostgreSQL
 * uses by default: the session's temporary tables, pg_catalog, public. */
tl_rel *cat_find_rel(qctx *q, const char *schema, const char *name)
{
    if (schema) {
        uint32_t nsp = !strcmp(schema, "pg_temp") ? tl_catalog_temp_nsp() : tl_catalog_nsp_oid(schema);
        return nsp ? tl_catalog_find_rel(q->eng, nsp, name) : NULL;
    }
    uint32_t tnsp = tl_catalog_temp_nsp();
    tl_rel *r = tnsp ? tl_catalog_find_rel(q->eng, tnsp, name) : NULL;
    if (!r) r = tl_catalog_find_rel(q->eng, TL_NSP_PG_CATALOG, name);
    if (!r) r = tl_catalog_find_rel(q->eng, TL_NSP_PUBLIC, name);
    return r;
}

static int reg_name_lookup(qctx *q, uint32_t regoid, const char *s, size_t len, int64_t *oid, tl_error *err)
{
    char *z = tl_arena_strndup(&q->arena, s, len);
    /* digits are an oid as they stand, as regclassin accepts */
    char *end;
    long long v = strtoll(z, &end, 10);
    if (*z && !*end) {
        *oid = v;
        return 0;
    }
    char *schema, *name;
    if (cat_split_qualname(q, z, &schema, &name) < 0)
        return tl_errorf(err, "42602", "invalid name syntax");
    switch (regoid) {
    case TL_OID_REGCLASS: {
        tl_rel *r = cat_find_rel(q, schema, name);
        if (r) {
            *oid = r->oid;
            return 0;
        }
        for (int i = 0; i < tl_catalog_nrels(q->eng); i++) {
            tl_rel *t = tl_catalog_rel_at(q->eng, i);
            if (t->npk && !strcmp(t->pk_name, name)) {
                *oid = t->pk_index_oid;
                return 0;
            }
        }
        return tl_errorf(err, "42P01", "relation \"%s\" does not exist", z);
    }
    case TL_OID_REGTYPE: {
        uint32_t o = tl_syscat_type_oid(q->eng, name);
        if (!o) return tl_errorf(err, "42704", "type \"%s\" does not exist", z);
        *oid = o;
        return 0;
    }
    case TL_OID_REGPROC:
    case TL_OID_REGPROCEDURE: {
        uint32_t o = tl_syscat_proc_oid(name);
        if (!o) return tl_errorf(err, "42883", "function \"%s\" does not exist", z);
        *oid = o;
        return 0;
    }
    case TL_OID_REGNAMESPACE: {
        uint32_t o = tl_catalog_nsp_oid(name);
        if (!o) return tl_errorf(err, "3F000", "schema \"%s\" does not exist", z);
        *oid = o;
        return 0;
    }
    case TL_OID_REGROLE: {
        tl_role *r = tl_catalog_find_role(q->eng, name);
        if (!r) return tl_errorf(err, "42704", "role \"%s\" does not exist", z);
        *oid = r->oid;
        return 0;
    }
    default:
        return tl_errorf(err, "42704", "type does not exist");
    }
}

/* Casts involving reg* types: 1 when not ours, 0 done, -1 error. Between oid and a
 * reg* type the value is unchanged (only the type, hence the output, differs). */
int cat_cast_datum(qctx *q, const tl_datum *in, tl_type from, tl_type to, tl_datum *out, tl_error *err)
{
    bool from_str = from.id == TL_UNKNOWN || from.id == TL_TEXT || from.id == TL_VARCHAR || from.id == TL_NAME ||
                    from.id == TL_BPCHAR;
    if (to.id == TL_OID && is_reg(to.oid) && from_str) {
        *out = *in;
        return reg_name_lookup(q, to.oid, in->v.s.ptr, in->v.s.len, &out->v.i, err);
    }
    return 1;
}

/* Text output of a reg* value: the object's name, or the number when it has none. */
bool cat_format_value(qctx *q, tl_type t, const tl_datum *d, tl_buf *out)
{
    if (t.id != TL_OID || !is_reg(t.oid)) return false;
    uint32_t oid = (uint32_t)d->v.i;
    const char *nm = NULL;
    char buf[160];
    if (oid == 0) {
        tl_buf_puts(out, "-");
        return true;
    }
    switch (t.oid) {
    case TL_OID_REGCLASS: {
        tl_rel *r = tl_catalog_rel_by_oid(q->eng, oid);
        if (r) {
            if (r->nsp != TL_NSP_PUBLIC && r->nsp != TL_NSP_PG_CATALOG)
                nm = tl_arena_printf(&q->arena, "%s.%s", r->nsp == TL_NSP_INFORMATION_SCHEMA ? "information_schema" : "pg_toast", r->name);
            else
                nm = r->name;
        }
        for (int i = 0; !nm && i < tl_catalog_nrels(q->eng); i++) {
            tl_rel *x = tl_catalog_rel_at(q->eng, i);
            if (x->npk && x->pk_index_oid == oid) nm = x->pk_name;
        }
        break;
    }
    case TL_OID_REGTYPE: nm = tl_syscat_type_name(q->eng, oid, buf, sizeof buf); break;
    case TL_OID_REGPROC:
    case TL_OID_REGPROCEDURE: nm = tl_syscat_proc_name(oid); break;
    case TL_OID_REGNAMESPACE:
        nm = oid == TL_NSP_PUBLIC ? "public" : oid == TL_NSP_PG_CATALOG ? "pg_catalog"
             : oid == TL_NSP_INFORMATION_SCHEMA ? "information_schema" : oid == TL_NSP_PG_TOAST ? "pg_toast" : NULL;
        break;
    case TL_OID_REGROLE:
        nm = tl_catalog_role_by_oid(q->eng, oid) ? tl_catalog_role_by_oid(q->eng, oid)->name : NULL;
        break;
    default: break;
    }
    if (nm) tl_buf_puts(out, nm);
    else tl_buf_printf(out, "%u", oid);
    return true;
}

/* ---- hooks into the engine's catalogs ------------------------------------------------------ */

static void each_setting(void *ctx, void (*emit)(void *ctx, const char *name, const char *setting,
                                                 const char *vartype))
{
    if (!cur_session) return;
    q_each_setting(cur_session, ctx, emit);
}

static bool function_exists(const char *name)
{
    return fn_lookup_name(name) != NULL || agg_lookup(name) != NULL;
}

static const char *session_org_scope(void)
{
    return cur_session ? acl_org_scope(cur_session) : NULL;
}

/* pg_matviews.definition is pg_get_viewdef(oid) */
static char *matview_definition(tl_engine *e, const char *sql)
{
    return q_viewdef(e, sql, false);
}

void catfn_install_hooks(void)
{
    static const tl_syscat_hooks h = {each_setting, function_exists, session_org_scope, matview_definition};
    tl_syscat_set_hooks(&h);
    if (!__atomic_load_n(&start_time, __ATOMIC_ACQUIRE)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t t = ((int64_t)ts.tv_sec - (int64_t)TL_UNIX_EPOCH_DAYS * 86400) * 1000000 + ts.tv_nsec / 1000;
        int64_t zero = 0;
        __atomic_compare_exchange_n(&start_time, &zero, t, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    }
}

void catfn_set_session(tl_qsession *s)
{
    cur_session = s;
}
