/*
 * roles.c — roles and privileges in the catalog (tl_roles.h). Grants are a flat list of
 * (grantee, object, privilege bits): a reporting deployment has a handful of roles and
 * a few dozen relations, so a scan is cheaper than any index would be worth. PUBLIC's
 * PostgreSQL 15 defaults (CONNECT on the database, USAGE on schema public) are seeded
 * as ordinary grants so REVOKE … FROM PUBLIC works the same way.
 */
#include "engine_int.h"
#include "tl_roles.h"
#include "tl_vecio.h"

#include <stdlib.h>
#include <string.h>

static void list_change(tl_grant **list, int *n, int *cap, uint32_t grantee, char kind, uint32_t oid,
                        unsigned privs, bool is_grant);

static void grants_seed(tl_engine *e)
{
    if (e->grants_seeded) return;
    e->grants_seeded = true;
    list_change(&e->grants, &e->ngrants, &e->capgrants, TL_ROLE_PUBLIC, TL_OBJ_DB, TL_DB_OID,
                TL_ACL_CONNECT | TL_ACL_TEMP, true);
    list_change(&e->grants, &e->ngrants, &e->capgrants, TL_ROLE_PUBLIC, TL_OBJ_NSP, TL_NSP_PUBLIC,
                TL_ACL_USAGE, true);
}

tl_role *tl_catalog_role_by_oid(tl_engine *e, uint32_t oid)
{
    for (int i = 0; i < e->nroles; i++)
        if (e->roles[i]->oid == oid) return e->roles[i];
    return NULL;
}

int tl_catalog_nroles(tl_engine *e)
{
    return e->nroles;
}

tl_role *tl_catalog_role_at(tl_engine *e, int i)
{
    return i >= 0 && i < e->nroles ? e->roles[i] : NULL;
}

static void set_password(tl_role *r, const char *pw)
{
    free(r->password);
    r->password = NULL;
    if (!pw) return;
    /* PG stores an already-hashed password as given (pg_dump round-trips verifiers) */
    if (strncmp(pw, "SCRAM-SHA-256$", 14) == 0 || (strncmp(pw, "md5", 3) == 0 && strlen(pw) == 35))
        r->password = tl_xstrdup(pw);
    else if (*pw)
        r->password = tl_scram_build_verifier(pw);
    /* an empty password means none, as in PG ("empty string is not a valid password") */
}

static void apply_opts(tl_role *r, const tl_role_opts *o)
{
    if (o->superuser >= 0) r->superuser = o->superuser;
    if (o->login >= 0) r->login = o->login;
    if (o->createrole >= 0) r->createrole = o->createrole;
    if (o->createdb >= 0) r->createdb = o->createdb;
    if (o->inherit >= 0) r->inherit = o->inherit;
    if (o->connlimit_set) r->connlimit = o->connlimit;
    if (o->password_set) set_password(r, o->password);
}

tl_role *tl_roles_create(tl_engine *e, const char *name, const tl_role_opts *o, tl_error *err)
{
    grants_seed(e);
    if (tl_catalog_find_role(e, name)) {
        tl_errorf(err, "42710", "role \"%s\" already exists", name);
        return NULL;
    }
    if (strncmp(name, "pg_", 3) == 0) {
        tl_errorf(err, "42939", "role name \"%s\" is reserved", name);
        tl_error_detail(err, "Role names starting with \"pg_\" are reserved.");
        return NULL;
    }
    tl_role *r = tl_xcalloc(1, sizeof *r);
    r->oid = tl_catalog_new_oid(e);
    r->name = tl_xstrdup(name);
    r->inherit = true;
    r->connlimit = -1;
    apply_opts(r, o);
    e->roles = realloc(e->roles, sizeof *e->roles * (size_t)(e->nroles + 1));
    if (!e->roles) abort();
    e->roles[e->nroles++] = r;
    return r;
}

int tl_roles_alter(tl_engine *e, tl_role *r, const tl_role_opts *o, tl_error *err)
{
    (void)err;
    grants_seed(e);
    apply_opts(r, o);
    return 0;
}

int tl_roles_drop(tl_engine *e, tl_role *r, tl_error *err)
{
    grants_seed(e);
    if (r->oid == TL_ROLE_BOOTSTRAP)
        return tl_errorf(err, "55006", "cannot drop role %s because it is required by the database system",
                         r->name);
    for (int i = 0; i < e->ngrants; i++) {
        tl_grant *g = &e->grants[i];
        if (g->grantee != r->oid) continue;
        tl_errorf(err, "2BP01", "role \"%s\" cannot be dropped because some objects depend on it", r->name);
        if (g->objkind == TL_OBJ_REL) {
            tl_rel *rel = tl_catalog_rel_by_oid(e, g->objoid);
            tl_error_detail(err, "privileges for table %s", rel ? rel->name : "?");
        } else if (g->objkind == TL_OBJ_NSP) {
            tl_error_detail(err, "privileges for schema public");
        } else {
            tl_error_detail(err, "privileges for database %s", e->database);
        }
        return -1;
    }
    for (int i = 0; i < e->ndefacls; i++)
        if (e->defacls[i].grantee == r->oid) {
            tl_errorf(err, "2BP01", "role \"%s\" cannot be dropped because some objects depend on it", r->name);
            tl_error_detail(err, "privileges for default privileges on new relations belonging to role %s in schema public",
                            tl_catalog_role_by_oid(e, TL_ROLE_BOOTSTRAP)->name);
            return -1;
        }
    for (int i = 0; i < e->nroles; i++) {
        if (e->roles[i] != r) continue;
        memmove(&e->roles[i], &e->roles[i + 1], sizeof *e->roles * (size_t)(e->nroles - i - 1));
        e->nroles--;
        break;
    }
    free(r->name);
    free(r->password);
    free(r->org_id);
    free(r);
    return 0;
}

int tl_roles_set_org(tl_engine *e, tl_role *r, const char *org_id, tl_error *err)
{
    (void)e;
    (void)err;
    free(r->org_id);
    r->org_id = org_id ? tl_xstrdup(org_id) : NULL;
    return 0;
}

void tl_engine_login_info(tl_engine *e, const char *user, tl_login_info *out)
{
    tl_engine_read_lock(e);
    tl_role *r = tl_catalog_find_role(e, user);
    out->exists = r != NULL;
    out->login = r && r->login;
    out->may_connect = r && tl_acl_has(e, r, TL_OBJ_DB, TL_DB_OID, TL_ACL_CONNECT);
    out->verifier = r && r->password ? tl_xstrdup(r->password) : NULL;
    tl_engine_unlock(e);
}

/* ---- grants ---------------------------------------------------------------------------- */

static tl_grant *find_grant(tl_grant *list, int n, uint32_t grantee, char kind, uint32_t oid)
{
    for (int i = 0; i < n; i++)
        if (list[i].grantee == grantee && list[i].objkind == kind && list[i].objoid == oid) return &list[i];
    return NULL;
}

static void list_change(tl_grant **list, int *n, int *cap, uint32_t grantee, char kind, uint32_t oid,
                        unsigned privs, bool is_grant)
{
    tl_grant *g = find_grant(*list, *n, grantee, kind, oid);
    if (!g) {
        if (!is_grant) return;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *list = realloc(*list, sizeof **list * (size_t)*cap);
            if (!*list) abort();
        }
        g = &(*list)[(*n)++];
        *g = (tl_grant){.grantee = grantee, .objkind = kind, .objoid = oid, .privs = 0};
    }
    if (is_grant) g->privs |= privs;
    else g->privs &= ~privs;
    if (g->privs == 0) {
        /* keep grant order: aclitem[] lists grantees in the order they were granted */
        memmove(g, g + 1, sizeof *g * (size_t)(*list + *n - g - 1));
        (*n)--;
    }
}

void tl_acl_change(tl_engine *e, uint32_t grantee, char objkind, uint32_t objoid, unsigned privs,
                   bool is_grant)
{
    grants_seed(e);
    list_change(&e->grants, &e->ngrants, &e->capgrants, grantee, objkind, objoid, privs, is_grant);
}

unsigned tl_acl_granted(tl_engine *e, uint32_t grantee, char objkind, uint32_t objoid)
{
    if (!e->grants_seeded) {
        /* before the first role statement the defaults have not been seeded */
        if (grantee != TL_ROLE_PUBLIC) return 0;
        if (objkind == TL_OBJ_DB) return TL_ACL_CONNECT | TL_ACL_TEMP;
        if (objkind == TL_OBJ_NSP && objoid == TL_NSP_PUBLIC) return TL_ACL_USAGE;
        return 0;
    }
    tl_grant *g = find_grant(e->grants, e->ngrants, grantee, objkind, objoid);
    return g ? g->privs : 0;
}

bool tl_acl_has(tl_engine *e, const tl_role *r, char objkind, uint32_t objoid, unsigned privs)
{
    if (!r) return false;
    if (r->superuser) return true;
    /* pg_catalog and information_schema are readable by everyone */
    if (objkind == TL_OBJ_NSP &&
        (objoid == TL_NSP_PG_CATALOG || objoid == TL_NSP_INFORMATION_SCHEMA || TL_NSP_IS_TEMP(objoid)))
        return (privs & ~TL_ACL_USAGE) == 0;
    unsigned have = tl_acl_granted(e, r->oid, objkind, objoid) | tl_acl_granted(e, TL_ROLE_PUBLIC, objkind, objoid);
    return (have & privs) == privs;
}

void tl_acl_default_change(tl_engine *e, uint32_t nsp, uint32_t grantee, unsigned privs, bool is_grant)
{
    list_change(&e->defacls, &e->ndefacls, &e->capdefacls, grantee, TL_OBJ_NSP, nsp, privs, is_grant);
}

void tl_acl_on_create(tl_engine *e, const tl_rel *rel)
{
    for (int i = 0; i < e->ndefacls; i++)
        if (e->defacls[i].objoid == rel->nsp)
            tl_acl_change(e, e->defacls[i].grantee, TL_OBJ_REL, rel->oid, e->defacls[i].privs, true);
}

void tl_acl_forget_object(tl_engine *e, char objkind, uint32_t objoid)
{
    for (int i = 0; i < e->ngrants; i++)
        if (e->grants[i].objkind == objkind && e->grants[i].objoid == objoid) {
            e->grants[i] = e->grants[--e->ngrants];
            i--;
        }
}

void tl_acl_revoke_all(tl_engine *e, uint32_t grantee)
{
    for (int i = 0; i < e->ngrants; i++)
        if (e->grants[i].grantee == grantee) {
            e->grants[i] = e->grants[--e->ngrants];
            i--;
        }
    for (int i = 0; i < e->ndefacls; i++)
        if (e->defacls[i].grantee == grantee) {
            e->defacls[i] = e->defacls[--e->ndefacls];
            i--;
        }
}

void tl_acl_each(tl_engine *e, char objkind, uint32_t objoid,
                 void (*fn)(void *ctx, uint32_t grantee, unsigned privs), void *ctx)
{
    for (int i = 0; i < e->ngrants; i++)
        if (e->grants[i].objkind == objkind && e->grants[i].objoid == objoid)
            fn(ctx, e->grants[i].grantee, e->grants[i].privs);
}

void tl_roles_free_all(tl_engine *e)
{
    for (int i = 0; i < e->nroles; i++) {
        free(e->roles[i]->name);
        free(e->roles[i]->password);
        free(e->roles[i]->org_id);
        free(e->roles[i]);
    }
    free(e->roles);
    free(e->grants);
    free(e->defacls);
}

/* ---- durability -------------------------------------------------------------------------------
 * Roles, grants, default privileges and org scopes are few and small, so each change
 * logs the whole state as one record (TL_CATREC_ROLES) and replay replaces the state:
 * no per-operation record kinds, and a snapshot dumps the same record. It is dumped
 * after the views (a late kind), so grants on views are restored as they were. */

static void put_str(tl_buf *b, const char *s)
{
    if (!s) {
        tl_put_u32(b, UINT32_MAX);
        return;
    }
    tl_put_u32(b, (uint32_t)strlen(s));
    tl_buf_puts(b, s);
}

static char *get_str(tl_reader *rd)
{
    uint32_t n = tl_get_u32(rd);
    if (rd->bad || n == UINT32_MAX) return NULL;
    if (n > (size_t)(rd->end - rd->p)) {
        rd->bad = true;
        return NULL;
    }
    char *s = tl_xmalloc((size_t)n + 1);
    memcpy(s, rd->p, n);
    s[n] = '\0';
    rd->p += n;
    return s;
}

static void put_grants(tl_buf *b, const tl_grant *g, int n)
{
    tl_put_u32(b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        tl_put_u32(b, g[i].grantee);
        tl_put_u8(b, (uint8_t)g[i].objkind);
        tl_put_u32(b, g[i].objoid);
        tl_put_u32(b, g[i].privs);
    }
}

static tl_grant *get_grants(tl_reader *rd, int *n)
{
    uint32_t cnt = tl_get_u32(rd);
    if (rd->bad || cnt > (size_t)(rd->end - rd->p) / 13) {
        rd->bad = true;
        *n = 0;
        return NULL;
    }
    tl_grant *g = tl_xcalloc((size_t)cnt + 1, sizeof *g);
    for (uint32_t i = 0; i < cnt; i++) {
        g[i].grantee = tl_get_u32(rd);
        g[i].objkind = (char)tl_get_u8(rd);
        g[i].objoid = tl_get_u32(rd);
        g[i].privs = tl_get_u32(rd);
    }
    *n = (int)cnt;
    return g;
}

static void roles_encode(tl_engine *e, tl_buf *b)
{
    tl_put_u32(b, (uint32_t)e->nroles);
    for (int i = 0; i < e->nroles; i++) {
        const tl_role *r = e->roles[i];
        tl_put_u32(b, r->oid);
        put_str(b, r->name);
        tl_put_u8(b, (uint8_t)(r->superuser | r->login << 1 | r->createrole << 2 | r->createdb << 3 | r->inherit << 4));
        tl_put_u32(b, (uint32_t)r->connlimit);
        put_str(b, r->password);
        put_str(b, r->org_id);
    }
    tl_put_u8(b, e->grants_seeded);
    put_grants(b, e->grants, e->ngrants);
    put_grants(b, e->defacls, e->ndefacls);
}

static int roles_redo(tl_engine *e, const void *payload, size_t len, tl_error *err)
{
    tl_reader rd = {payload, (const char *)payload + len, false};
    uint32_t n = tl_get_u32(&rd);
    if (rd.bad || n == 0 || n > len) return tl_errorf(err, "XX001", "malformed roles record");
    tl_role **roles = tl_xcalloc(n, sizeof *roles);
    uint32_t maxoid = 0;
    for (uint32_t i = 0; i < n; i++) {
        tl_role *r = tl_xcalloc(1, sizeof *r);
        roles[i] = r;
        r->oid = tl_get_u32(&rd);
        r->name = get_str(&rd);
        uint8_t f = tl_get_u8(&rd);
        r->superuser = f & 1, r->login = f >> 1 & 1, r->createrole = f >> 2 & 1;
        r->createdb = f >> 3 & 1, r->inherit = f >> 4 & 1;
        r->connlimit = (int)tl_get_u32(&rd);
        r->password = get_str(&rd);
        r->org_id = get_str(&rd);
        if (!r->name) rd.bad = true;
        if (r->oid > maxoid) maxoid = r->oid;
    }
    bool seeded = tl_get_u8(&rd);
    int ng = 0, nd = 0;
    tl_grant *g = get_grants(&rd, &ng);
    tl_grant *d = get_grants(&rd, &nd);
    if (rd.bad || rd.p != rd.end) {
        for (uint32_t i = 0; i < n; i++) {
            free(roles[i]->name);
            free(roles[i]->password);
            free(roles[i]->org_id);
            free(roles[i]);
        }
        free(roles);
        free(g);
        free(d);
        return tl_errorf(err, "XX001", "malformed roles record");
    }
    tl_roles_free_all(e);
    e->roles = roles;
    e->nroles = (int)n;
    e->grants_seeded = seeded;
    e->grants = g;
    e->ngrants = e->capgrants = ng;
    e->defacls = d;
    e->ndefacls = e->capdefacls = nd;
    if (maxoid >= e->next_oid) e->next_oid = maxoid + 1;
    return 0;
}

static int roles_dump(tl_engine *e, tl_catalog_emit_fn emit, void *ctx)
{
    tl_buf b;
    tl_buf_init(&b);
    roles_encode(e, &b);
    int rc = emit(ctx, TL_CATREC_ROLES, b.data, b.len);
    tl_buf_free(&b);
    return rc;
}

int tl_roles_log(tl_engine *e, tl_error *err)
{
    if (!tl_engine_durable(e)) return 0;
    tl_buf b;
    tl_buf_init(&b);
    roles_encode(e, &b);
    int rc = tl_engine_log_catalog(e, TL_CATREC_ROLES, b.data, b.len, err);
    tl_buf_free(&b);
    return rc;
}

bool tl_acl_has_defaults(tl_engine *e)
{
    return e->ndefacls > 0;
}

void tl_roles_register_durable(void)
{
    tl_engine_register_catalog_kind(TL_CATREC_ROLES, roles_redo, roles_dump);
}
