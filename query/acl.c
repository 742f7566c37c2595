/*
 * acl.c — who may do what: role statements (CREATE/ALTER/DROP ROLE, GRANT/REVOKE,
 * ALTER DEFAULT PRIVILEGES, DROP OWNED, SET ROLE), the privilege gate every statement
 * passes before it runs, the per-relation check the binder calls when it resolves a
 * name, org scoping of scans, and the has_*_privilege functions.
 *
 * Messages and SQLSTATEs are PostgreSQL 15's (aclchk.c, user.c). The catalog changes
 * themselves are engine calls (tl_roles.h) so they can be write-ahead logged.
 *
 * Org scoping: a role bound to an org (ALTER ROLE r SET tally.org_id = '…') gets, in
 * every scan of a relation with an org_id column, a filter applied inside the scan
 * before any predicate of the query is evaluated, so no expression of the query (a
 * cast that fails and echoes its input, a division by zero) ever sees another org's
 * row. The scope follows the session user and cannot be changed in the session.
 */
#include "query_int.h"
#include "tl_roles.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- who is asking -------------------------------------------------------------------- */

static tl_role *session_role(qctx *q)
{
    return tl_catalog_find_role(q->eng, q->s->user);
}

const char *acl_current_user(const tl_qsession *s)
{
    return s->role ? s->role : s->user;
}

static tl_role *current_role(qctx *q)
{
    return tl_catalog_find_role(q->eng, acl_current_user(q->s));
}

/* The org this statement is confined to, or NULL. The session user's binding wins and
 * is fixed; a superuser may SET ROLE to a bound role (and then sees what it sees) or
 * SET tally.org_id for itself. */
static const char *org_scope(qctx *q)
{
    tl_role *su = session_role(q);
    if (su && su->org_id) return su->org_id;
    tl_role *cr = current_role(q);
    if (cr && cr->org_id) return cr->org_id;
    return q->s->org_override;
}

const char *acl_org_scope(tl_qsession *s)
{
    qctx q = {0};
    q.s = s;
    q.eng = s->eng;
    return org_scope(&q);
}

static bool session_is_scoped(qctx *q)
{
    tl_role *su = session_role(q);
    return su && su->org_id;
}

static const char *relkind_word(const tl_rel *r)
{
    switch (r->kind) {
    case TL_REL_VIEW: return "view";
    case TL_REL_MATVIEW: return "materialized view";
    case TL_REL_INDEX: return "index";
    default: return "table";
    }
}

/* ---- privilege names ------------------------------------------------------------------- */

typedef struct priv_name {
    const char *name;
    unsigned bit;
} priv_name;

static const priv_name priv_names[] = {
    {"select", TL_ACL_SELECT},         {"insert", TL_ACL_INSERT},   {"update", TL_ACL_UPDATE},
    {"delete", TL_ACL_DELETE},         {"truncate", TL_ACL_TRUNCATE}, {"references", TL_ACL_REFERENCES},
    {"trigger", TL_ACL_TRIGGER},       {"usage", TL_ACL_USAGE},     {"create", TL_ACL_CREATE},
    {"connect", TL_ACL_CONNECT},       {"temporary", TL_ACL_TEMP},  {"temp", TL_ACL_TEMP},
};

static unsigned priv_bit(const char *name)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(priv_names); i++)
        if (strcasecmp(priv_names[i].name, name) == 0) return priv_names[i].bit;
    return 0;
}

static unsigned all_privs(char kind)
{
    return kind == TL_OBJ_REL ? TL_ACL_ALL_REL : kind == TL_OBJ_NSP ? TL_ACL_ALL_NSP : TL_ACL_ALL_DB;
}

/* ---- the check the binder calls ---------------------------------------------------------- */

int acl_check_rel(qctx *q, tl_rel *rel, unsigned privs, bool qualified, int location, tl_error *err)
{
    tl_role *r = current_role(q);
    if (r && r->superuser) return 0;
    if (rel->nsp == TL_NSP_PG_CATALOG || rel->nsp == TL_NSP_INFORMATION_SCHEMA) {
        /* pg_authid holds the password verifiers: superusers only, as in PostgreSQL */
        if (rel->oid == 1260) return tl_errorf(err, "42501", "permission denied for table %s", rel->name);
        /* both are granted SELECT to PUBLIC, as in PostgreSQL */
        if (privs == TL_ACL_SELECT) return 0;
    } else if (!tl_acl_has(q->eng, r, TL_OBJ_NSP, rel->nsp, TL_ACL_USAGE)) {
        /* an unqualified name is not even looked up in a schema without USAGE */
        if (!qualified) return err_at(err, location, "42P01", "relation \"%s\" does not exist", rel->name);
        return tl_errorf(err, "42501", "permission denied for schema %s",
                         rel->nsp == TL_NSP_PUBLIC ? "public" : "pg_toast");
    }
    /* PG's aclcheck_error carries no position */
    if (!tl_acl_has(q->eng, r, TL_OBJ_REL, rel->oid, privs))
        return tl_errorf(err, "42501", "permission denied for %s %s", relkind_word(rel), rel->name);
    return 0;
}

/* ---- org-scoped scans -------------------------------------------------------------------- */

static int org_column(const tl_rel *rel)
{
    for (int i = 0; i < rel->natts; i++)
        if (strcmp(rel->atts[i].name, "org_id") == 0) return i;
    return -1;
}

op *acl_scan(qctx *q, tl_rel *rel, const tl_table_snap *snap, const bool *need, tl_expr *filter)
{
    return acl_scan_ex(q, rel, snap, need, filter, NULL);
}

op *acl_scan_ex(qctx *q, tl_rel *rel, const tl_table_snap *snap, const bool *need, tl_expr *filter,
                const bool *need_nofilter)
{
    const char *org = org_scope(q);
    int col = org ? org_column(rel) : -1;
    if (col < 0) return op_scan_ex(q, rel, snap, need, filter, need_nofilter);
    bool *need2 = tl_arena_alloc(&q->arena, (size_t)rel->natts + 1);
    memcpy(need2, need, (size_t)rel->natts);
    need2[col] = true;
    tl_type t = rel->atts[col].type;
    tl_expr *pred;
    tl_datum d;
    tl_error e2;
    tl_error_clear(&e2);
    const fn_def *eq = fn_lookup("=", 2, (tl_type_id[]){t.id, t.id});
    if (eq && tl_value_in(t, org, strlen(org), &q->fc, &d, &q->arena, &e2) == 0) {
        tl_expr *c = expr_new(q, E_COL, t, -1);
        c->col = col;
        tl_expr *k = expr_const(q, t, &d, -1);
        pred = expr_new(q, E_FUNC, tl_type_make(TL_BOOL), -1);
        pred->fn = eq;
        pred->name = "=";
        pred->nargs = 2;
        pred->args = tl_arena_alloc(&q->arena, sizeof *pred->args * 2);
        pred->args[0] = c;
        pred->args[1] = k;
    } else {
        /* a binding that is not a valid value of the column matches no row */
        memset(&d, 0, sizeof d);
        d.v.b = false;
        pred = expr_const(q, tl_type_make(TL_BOOL), &d, -1);
    }
    op *s = op_scan(q, rel, snap, need2, pred);
    /* the query's own predicate runs only on rows the scope let through */
    return filter ? op_filter(q, s, filter) : s;
}

/* ---- helpers for statements ---------------------------------------------------------------- */

static int roles_from_spec(qctx *q, PgQuery__RoleSpec *rs, uint32_t *oid, const char **name, tl_error *err)
{
    switch (rs->roletype) {
    case PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_PUBLIC:
        *oid = TL_ROLE_PUBLIC;
        *name = "PUBLIC";
        return 0;
    case PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_CURRENT_ROLE:
    case PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_CURRENT_USER:
    case PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_SESSION_USER: {
        const char *n = rs->roletype == PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_SESSION_USER ? q->s->user
                                                                                         : acl_current_user(q->s);
        tl_role *r = tl_catalog_find_role(q->eng, n);
        if (!r) return err_at(err, rs->location, "42704", "role \"%s\" does not exist", n);
        *oid = r->oid;
        *name = r->name;
        return 0;
    }
    default: {
        tl_role *r = tl_catalog_find_role(q->eng, rs->rolename);
        if (!r) return err_at(err, rs->location, "42704", "role \"%s\" does not exist", rs->rolename);
        *oid = r->oid;
        *name = r->name;
        return 0;
    }
    }
}

static int bool_arg(pnode *n)
{
    if (!n) return 1;
    if (n->node_case == PG_QUERY__NODE__NODE_BOOLEAN) return n->boolean->boolval ? 1 : 0;
    if (n->node_case == PG_QUERY__NODE__NODE_INTEGER) return n->integer->ival ? 1 : 0;
    return 1;
}

static int parse_role_options(qctx *q, pnode **opts, size_t n, tl_role_opts *o, tl_error *err)
{
    (void)q;
    for (size_t i = 0; i < n; i++) {
        if (opts[i]->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) continue;
        PgQuery__DefElem *d = opts[i]->def_elem;
        const char *k = d->defname;
        if (strcmp(k, "password") == 0) {
            o->password_set = true;
            o->password = d->arg ? pn_str(d->arg) : NULL;
        } else if (strcmp(k, "superuser") == 0) {
            o->superuser = bool_arg(d->arg);
        } else if (strcmp(k, "canlogin") == 0) {
            o->login = bool_arg(d->arg);
        } else if (strcmp(k, "createrole") == 0) {
            o->createrole = bool_arg(d->arg);
        } else if (strcmp(k, "createdb") == 0) {
            o->createdb = bool_arg(d->arg);
        } else if (strcmp(k, "inherit") == 0) {
            o->inherit = bool_arg(d->arg);
        } else if (strcmp(k, "connectionlimit") == 0) {
            o->connlimit_set = 1;
            o->connlimit = d->arg && d->arg->node_case == PG_QUERY__NODE__NODE_INTEGER ? d->arg->integer->ival : -1;
            if (o->connlimit < -1) return err_at(err, d->location, "22023", "invalid connection limit: %d", o->connlimit);
        } else if (strcmp(k, "validUntil") == 0 || strcmp(k, "bypassrls") == 0 ||
                   strcmp(k, "isreplication") == 0) {
            /* accepted: no expiry clock, no row security or replication to bypass */
        } else {
            return err_at(err, d->location, "0A000", "role option \"%s\" is not supported", k);
        }
    }
    return 0;
}

static bool may_manage_roles(tl_role *me)
{
    return me && (me->superuser || me->createrole);
}

/* ---- CREATE / ALTER / DROP ROLE ------------------------------------------------------------- */

static int create_role(qctx *q, PgQuery__CreateRoleStmt *st, const char **tag, tl_error *err)
{
    tl_role *me = current_role(q);
    tl_role_opts o = TL_ROLE_OPTS_INIT;
    if (st->stmt_type == PG_QUERY__ROLE_STMT_TYPE__ROLESTMT_USER) o.login = 1;
    else o.login = 0;
    if (parse_role_options(q, st->options, st->n_options, &o, err) < 0) return -1;
    if (o.superuser == 1 && !(me && me->superuser))
        return tl_errorf(err, "42501", "must be superuser to create superusers");
    if (!may_manage_roles(me)) return tl_errorf(err, "42501", "permission denied to create role");
    if (!tl_roles_create(q->eng, st->role, &o, err)) return -1;
    *tag = "CREATE ROLE";
    return 0;
}

static int alter_role(qctx *q, PgQuery__AlterRoleStmt *st, const char **tag, tl_error *err)
{
    uint32_t oid = 0;
    const char *name = NULL;
    if (roles_from_spec(q, st->role, &oid, &name, err) < 0) return -1;
    if (oid == TL_ROLE_PUBLIC) return tl_errorf(err, "42704", "role \"public\" does not exist");
    tl_role *r = tl_catalog_role_by_oid(q->eng, oid);
    tl_role_opts o = TL_ROLE_OPTS_INIT;
    if (parse_role_options(q, st->options, st->n_options, &o, err) < 0) return -1;
    tl_role *me = current_role(q);
    bool su = me && me->superuser;
    bool only_password = o.superuser < 0 && o.login < 0 && o.createrole < 0 && o.createdb < 0 &&
                         o.inherit < 0 && !o.connlimit_set;
    if (!su) {
        if ((r->superuser || o.superuser >= 0) )
            return tl_errorf(err, "42501", "must be superuser to alter superuser roles or change superuser attribute");
        if (!(me && me->createrole) && !(me && me->oid == r->oid && only_password))
            return tl_errorf(err, "42501", "permission denied");
    }
    if (r->oid == TL_ROLE_BOOTSTRAP && o.superuser == 0)
        return tl_errorf(err, "42501", "permission denied: bootstrap user must be superuser");
    if (tl_roles_alter(q->eng, r, &o, err) < 0) return -1;
    *tag = "ALTER ROLE";
    return 0;
}

static int alter_role_set(qctx *q, PgQuery__AlterRoleSetStmt *st, const char **tag, tl_error *err)
{
    if (!st->role) return tl_errorf(err, "0A000", "ALTER ROLE ALL SET is not supported");
    uint32_t oid = 0;
    const char *name = NULL;
    if (roles_from_spec(q, st->role, &oid, &name, err) < 0) return -1;
    tl_role *r = tl_catalog_role_by_oid(q->eng, oid);
    PgQuery__VariableSetStmt *vs = st->setstmt;
    if (!vs->name || strcasecmp(vs->name, "tally.org_id") != 0)
        return tl_errorf(err, "0A000", "ALTER ROLE … SET supports only tally.org_id");
    tl_role *me = current_role(q);
    if (!may_manage_roles(me) || (r && r->superuser && !me->superuser))
        return tl_errorf(err, "42501", "permission denied to set parameter \"tally.org_id\"");
    if (vs->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE) {
        if (vs->n_args != 1 || vs->args[0]->node_case != PG_QUERY__NODE__NODE_A_CONST ||
            vs->args[0]->a_const->val_case != PG_QUERY__A__CONST__VAL_SVAL)
            return tl_errorf(err, "22023", "tally.org_id takes one quoted org id");
        const char *v = vs->args[0]->a_const->sval->sval;
        tl_datum d;
        if (tl_value_in(tl_type_make(TL_UUID), v, strlen(v), &q->fc, &d, &q->arena, err) < 0) return -1;
        if (r->superuser) return tl_errorf(err, "22023", "a superuser cannot be scoped to an org");
        if (tl_roles_set_org(q->eng, r, v, err) < 0) return -1;
    } else if (vs->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET ||
               vs->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT) {
        if (tl_roles_set_org(q->eng, r, NULL, err) < 0) return -1;
    } else {
        return tl_errorf(err, "0A000", "unsupported ALTER ROLE … SET form");
    }
    *tag = "ALTER ROLE";
    return 0;
}

static int drop_role(qctx *q, PgQuery__DropRoleStmt *st, tl_sink *sink, const char **tag, tl_error *err)
{
    tl_role *me = current_role(q);
    if (!may_manage_roles(me)) return tl_errorf(err, "42501", "permission denied to drop role");
    /* check every name first: a failing DROP ROLE a, b drops neither */
    for (size_t i = 0; i < st->n_roles; i++) {
        PgQuery__RoleSpec *rs = st->roles[i]->role_spec;
        if (rs->roletype != PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_CSTRING)
            return tl_errorf(err, "42704", "cannot use special role specifier in DROP ROLE");
        tl_role *r = tl_catalog_find_role(q->eng, rs->rolename);
        if (!r) {
            if (st->missing_ok) continue;
            return tl_errorf(err, "42704", "role \"%s\" does not exist", rs->rolename);
        }
        if (strcmp(r->name, acl_current_user(q->s)) == 0)
            return tl_errorf(err, "55006", "current user cannot be dropped");
        if (strcmp(r->name, q->s->user) == 0) return tl_errorf(err, "55006", "session user cannot be dropped");
        if (r->superuser && !me->superuser) return tl_errorf(err, "42501", "must be superuser to drop superusers");
    }
    for (size_t i = 0; i < st->n_roles; i++) {
        PgQuery__RoleSpec *rs = st->roles[i]->role_spec;
        tl_role *r = tl_catalog_find_role(q->eng, rs->rolename);
        if (!r) {
            tl_error n;
            tl_error_clear(&n);
            tl_errorf(&n, "00000", "role \"%s\" does not exist, skipping", rs->rolename);
            n.severity = TL_SEV_NOTICE;
            if (sink->notice) sink->notice(sink->ctx, &n);
            continue;
        }
        if (tl_roles_drop(q->eng, r, err) < 0) return -1;
    }
    *tag = "DROP ROLE";
    return 0;
}

static int drop_owned(qctx *q, PgQuery__DropOwnedStmt *st, const char **tag, tl_error *err)
{
    tl_role *me = current_role(q);
    uint32_t oids[64];
    size_t n = 0;
    for (size_t i = 0; i < st->n_roles && n < 64; i++) {
        uint32_t oid = 0;
        const char *name = NULL;
        if (roles_from_spec(q, st->roles[i]->role_spec, &oid, &name, err) < 0) return -1;
        if (!(me && (me->superuser || me->oid == oid)))
            return tl_errorf(err, "42501", "permission denied to drop objects");
        oids[n++] = oid;
    }
    for (size_t i = 0; i < n; i++) tl_acl_revoke_all(q->eng, oids[i]);
    *tag = "DROP OWNED";
    return 0;
}

/* ---- GRANT / REVOKE ----------------------------------------------------------------------------- */

typedef struct acl_target {
    char kind;
    uint32_t oid;
    const char *name;
    tl_rel *rel;
} acl_target;

static int grant_targets(qctx *q, PgQuery__GrantStmt *st, acl_target **out, int *nout, tl_error *err)
{
    int cap = 16, n = 0;
    acl_target *t = tl_arena_alloc(&q->arena, sizeof *t * (size_t)cap);
    for (size_t i = 0; i < st->n_objects; i++) {
        pnode *o = st->objects[i];
        if (st->targtype == PG_QUERY__GRANT_TARGET_TYPE__ACL_TARGET_ALL_IN_SCHEMA) {
            const char *sn = pn_str(o);
            uint32_t nsp = sn ? tl_catalog_nsp_oid(sn) : 0;
            if (!nsp) return tl_errorf(err, "3F000", "schema \"%s\" does not exist", sn ? sn : "?");
            for (int k = 0; k < tl_catalog_nrels(q->eng); k++) {
                tl_rel *r = tl_catalog_rel_at(q->eng, k);
                if (r->nsp != nsp || r->kind == TL_REL_INDEX) continue;
                if (n == cap) {
                    acl_target *t2 = tl_arena_alloc(&q->arena, sizeof *t * (size_t)cap * 2);
                    memcpy(t2, t, sizeof *t * (size_t)n);
                    t = t2;
                    cap *= 2;
                }
                t[n++] = (acl_target){TL_OBJ_REL, r->oid, r->name, r};
            }
            continue;
        }
        if (n == cap) {
            acl_target *t2 = tl_arena_alloc(&q->arena, sizeof *t * (size_t)cap * 2);
            memcpy(t2, t, sizeof *t * (size_t)n);
            t = t2;
            cap *= 2;
        }
        switch (st->objtype) {
        case PG_QUERY__OBJECT_TYPE__OBJECT_TABLE: {
            if (o->node_case != PG_QUERY__NODE__NODE_RANGE_VAR) return tl_errorf(err, "42601", "bad table name");
            PgQuery__RangeVar *rv = o->range_var;
            uint32_t nsp = TL_NSP_PUBLIC;
            if (rv->schemaname && *rv->schemaname) {
                nsp = tl_catalog_nsp_oid(rv->schemaname);
                if (!nsp) return err_at(err, rv->location, "3F000", "schema \"%s\" does not exist", rv->schemaname);
            }
            tl_rel *r = tl_catalog_find_rel(q->eng, nsp, rv->relname);
            if (!r || r->kind == TL_REL_INDEX)
                return err_at(err, rv->location, "42P01", "relation \"%s\" does not exist", rv->relname);
            t[n++] = (acl_target){TL_OBJ_REL, r->oid, r->name, r};
            break;
        }
        case PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA: {
            const char *sn = pn_str(o);
            uint32_t nsp = sn ? tl_catalog_nsp_oid(sn) : 0;
            if (!nsp) return tl_errorf(err, "3F000", "schema \"%s\" does not exist", sn ? sn : "?");
            t[n++] = (acl_target){TL_OBJ_NSP, nsp, sn, NULL};
            break;
        }
        case PG_QUERY__OBJECT_TYPE__OBJECT_DATABASE: {
            const char *dn = pn_str(o);
            if (!dn || !tl_engine_database_exists(q->eng, dn))
                return tl_errorf(err, "3D000", "database \"%s\" does not exist", dn ? dn : "?");
            t[n++] = (acl_target){TL_OBJ_DB, TL_DB_OID, dn, NULL};
            break;
        }
        default:
            return tl_errorf(err, "0A000", "GRANT on this kind of object is not supported");
        }
    }
    *out = t;
    *nout = n;
    return 0;
}

static const char *kind_word(char kind)
{
    return kind == TL_OBJ_REL ? "table" : kind == TL_OBJ_NSP ? "schema" : "database";
}

static int grant_privs(PgQuery__GrantStmt *st, char kind, unsigned *out, tl_error *err)
{
    if (st->n_privileges == 0) {
        *out = all_privs(kind);
        return 0;
    }
    unsigned p = 0;
    for (size_t i = 0; i < st->n_privileges; i++) {
        PgQuery__AccessPriv *ap = st->privileges[i]->access_priv;
        if (ap->n_cols > 0) return tl_errorf(err, "0A000", "column privileges are not supported");
        unsigned b = priv_bit(ap->priv_name);
        if (!b || !(b & all_privs(kind))) {
            char up[32];
            size_t k = 0;
            for (; ap->priv_name[k] && k < sizeof up - 1; k++) up[k] = (char)toupper((unsigned char)ap->priv_name[k]);
            up[k] = '\0';
            return tl_errorf(err, "0LP01", "invalid privilege type %s for %s", up, kind_word(kind));
        }
        p |= b;
    }
    *out = p;
    return 0;
}

static void warn(tl_sink *sink, const char *sqlstate, const char *msg, const char *name)
{
    tl_error n;
    tl_error_clear(&n);
    tl_errorf(&n, sqlstate, msg, name);
    n.severity = TL_SEV_WARNING;
    if (sink->notice) sink->notice(sink->ctx, &n);
}

static int grant(qctx *q, PgQuery__GrantStmt *st, tl_sink *sink, const char **tag, tl_error *err)
{
    *tag = st->is_grant ? "GRANT" : "REVOKE";
    char kind = st->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA     ? TL_OBJ_NSP
                : st->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_DATABASE ? TL_OBJ_DB
                : st->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE    ? TL_OBJ_REL
                                                                         : 0;
    if (!kind) return tl_errorf(err, "0A000", "GRANT on this kind of object is not supported");
    unsigned privs;
    if (grant_privs(st, kind, &privs, err) < 0) return -1;
    acl_target *t = NULL;
    int nt = 0;
    if (grant_targets(q, st, &t, &nt, err) < 0) return -1;
    uint32_t grantees[64];
    size_t ng = 0;
    for (size_t i = 0; i < st->n_grantees && ng < 64; i++) {
        const char *name = NULL;
        if (roles_from_spec(q, st->grantees[i]->role_spec, &grantees[ng], &name, err) < 0) return -1;
        ng++;
    }
    tl_role *me = current_role(q);
    if (!(me && me->superuser)) {
        /* objects belong to the bootstrap superuser and nobody holds grant options:
         * PG errors when the grantor holds nothing, and warns when it holds some */
        for (int i = 0; i < nt; i++) {
            unsigned have = tl_acl_granted(q->eng, me ? me->oid : 0, t[i].kind, t[i].oid) |
                            tl_acl_granted(q->eng, TL_ROLE_PUBLIC, t[i].kind, t[i].oid);
            if (!have)
                return tl_errorf(err, "42501", "permission denied for %s %s",
                                 t[i].rel ? relkind_word(t[i].rel) : kind_word(t[i].kind), t[i].name);
        }
        for (int i = 0; i < nt; i++)
            warn(sink, "01007", st->is_grant ? "no privileges were granted for \"%s\"" : "no privileges could be revoked for \"%s\"",
                 t[i].name);
        return 0;
    }
    for (int i = 0; i < nt; i++)
        for (size_t g = 0; g < ng; g++) tl_acl_change(q->eng, grantees[g], t[i].kind, t[i].oid, privs, st->is_grant);
    return 0;
}

static int alter_default_privileges(qctx *q, PgQuery__AlterDefaultPrivilegesStmt *st, const char **tag,
                                    tl_error *err)
{
    *tag = "ALTER DEFAULT PRIVILEGES";
    PgQuery__GrantStmt *g = st->action;
    uint32_t nsp = 0; /* every schema */
    bool for_superuser = current_role(q) && current_role(q)->superuser;
    for (size_t i = 0; i < st->n_options; i++) {
        PgQuery__DefElem *d = st->options[i]->def_elem;
        if (!d->arg || d->arg->node_case != PG_QUERY__NODE__NODE_LIST) continue;
        PgQuery__List *l = d->arg->list;
        if (strcmp(d->defname, "schemas") == 0) {
            if (l->n_items != 1) return tl_errorf(err, "0A000", "one schema at a time");
            const char *sn = pn_str(l->items[0]);
            nsp = sn ? tl_catalog_nsp_oid(sn) : 0;
            if (!nsp) return tl_errorf(err, "3F000", "schema \"%s\" does not exist", sn ? sn : "?");
        } else if (strcmp(d->defname, "roles") == 0) {
            for (size_t k = 0; k < l->n_items; k++) {
                uint32_t oid = 0;
                const char *name = NULL;
                if (roles_from_spec(q, l->items[k]->role_spec, &oid, &name, err) < 0) return -1;
                tl_role *r = tl_catalog_role_by_oid(q->eng, oid);
                tl_role *me = current_role(q);
                if (!(me && (me->superuser || me->oid == oid)))
                    return tl_errorf(err, "42501", "permission denied to change default privileges");
                for_superuser = r && r->superuser;
            }
        }
    }
    if (g->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
        return tl_errorf(err, "0A000", "ALTER DEFAULT PRIVILEGES supports ON TABLES only");
    unsigned privs;
    if (grant_privs(g, TL_OBJ_REL, &privs, err) < 0) return -1;
    uint32_t grantees[64];
    size_t ng = 0;
    for (size_t i = 0; i < g->n_grantees && ng < 64; i++) {
        const char *name = NULL;
        if (roles_from_spec(q, g->grantees[i]->role_spec, &grantees[ng], &name, err) < 0) return -1;
        ng++;
    }
    /* Only superusers create relations here, so defaults for another creator apply to
     * nothing; recording them would wrongly apply them to a superuser's tables. */
    if (!for_superuser) return 0;
    for (size_t i = 0; i < ng; i++) tl_acl_default_change(q->eng, nsp, grantees[i], privs, g->is_grant);
    return 0;
}

/* ---- SET ROLE, SET tally.org_id ------------------------------------------------------------------ */

static int set_stmt(qctx *q, PgQuery__VariableSetStmt *st, tl_error *err)
{
    const char *name = st->name ? st->name : "";
    bool reset = st->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET ||
                 st->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT;
    if (strcasecmp(name, "role") == 0) {
        if (session_is_scoped(q)) return tl_errorf(err, "42501", "permission denied to set role");
        const char *v = NULL;
        if (!reset && st->n_args == 1 && st->args[0]->node_case == PG_QUERY__NODE__NODE_A_CONST &&
            st->args[0]->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL)
            v = st->args[0]->a_const->sval->sval;
        if (!reset && !v) return tl_errorf(err, "42601", "SET ROLE needs a role name");
        if (reset || strcasecmp(v, "none") == 0) {
            free(q->s->role);
            q->s->role = NULL;
            return 0;
        }
        tl_role *target = tl_catalog_find_role(q->eng, v);
        if (!target) return tl_errorf(err, "22023", "role \"%s\" does not exist", v);
        tl_role *su = session_role(q);
        /* no role membership here: only a superuser session may become another role */
        if (!(su && su->superuser) && !(su && su->oid == target->oid))
            return tl_errorf(err, "42501", "permission denied to set role \"%s\"", v);
        free(q->s->role);
        q->s->role = tl_xstrdup(target->name);
        return 0;
    }
    if (strcasecmp(name, "session_authorization") == 0) {
        tl_role *su = session_role(q);
        if (!(su && su->superuser) || session_is_scoped(q))
            return tl_errorf(err, "42501", "permission denied to set session authorization");
        return tl_errorf(err, "0A000", "SET SESSION AUTHORIZATION is not supported; use SET ROLE");
    }
    if (strcasecmp(name, "tally.org_id") == 0) {
        tl_role *su = session_role(q);
        if (session_is_scoped(q) || !(su && su->superuser))
            return tl_errorf(err, "42501", "permission denied to set parameter \"tally.org_id\"");
        free(q->s->org_override);
        q->s->org_override = NULL;
        if (!reset) {
            if (st->n_args != 1 || st->args[0]->node_case != PG_QUERY__NODE__NODE_A_CONST ||
                st->args[0]->a_const->val_case != PG_QUERY__A__CONST__VAL_SVAL)
                return tl_errorf(err, "22023", "tally.org_id takes one quoted org id");
            const char *v = st->args[0]->a_const->sval->sval;
            tl_datum d;
            if (tl_value_in(tl_type_make(TL_UUID), v, strlen(v), &q->fc, &d, &q->arena, err) < 0) return -1;
            q->s->org_override = tl_xstrdup(v);
        }
        return 0;
    }
    return 1;
}

/* ---- the gate -------------------------------------------------------------------------------------- */

static tl_rel *lookup_rv(qctx *q, PgQuery__RangeVar *rv)
{
    uint32_t nsp = rv->schemaname && *rv->schemaname ? tl_catalog_nsp_oid(rv->schemaname) : TL_NSP_PUBLIC;
    return nsp ? tl_catalog_find_rel(q->eng, nsp, rv->relname) : NULL;
}

static int need_rel(qctx *q, PgQuery__RangeVar *rv, unsigned privs, tl_error *err)
{
    if (!rv) return 0;
    tl_rel *r = lookup_rv(q, rv);
    if (!r) return 0; /* the statement reports the missing relation itself */
    return acl_check_rel(q, r, privs, rv->schemaname && *rv->schemaname, rv->location, err);
}

static int need_owner(qctx *q, PgQuery__RangeVar *rv, tl_error *err)
{
    tl_rel *r = rv ? lookup_rv(q, rv) : NULL;
    if (!r) return 0;
    return tl_errorf(err, "42501", "must be owner of %s %s", relkind_word(r), r->name);
}

static int read_only_scoped(qctx *q, tl_error *err)
{
    if (org_scope(q))
        return tl_errorf(err, "42501", "permission denied: role \"%s\" is scoped to one org and read-only",
                         acl_current_user(q->s));
    return 0;
}

/* Checks for statements run by a non-superuser, before they touch anything. */
static int gate_nonsuper(qctx *q, pnode *stmt, tl_error *err)
{
    switch (stmt->node_case) {
    case PG_QUERY__NODE__NODE_INSERT_STMT:
        if (read_only_scoped(q, err) < 0) return -1;
        return need_rel(q, stmt->insert_stmt->relation, TL_ACL_INSERT, err);
    case PG_QUERY__NODE__NODE_DELETE_STMT:
        if (read_only_scoped(q, err) < 0) return -1;
        /* a WHERE clause reads columns: PG wants SELECT as well */
        return need_rel(q, stmt->delete_stmt->relation,
                        TL_ACL_DELETE | (stmt->delete_stmt->where_clause ? TL_ACL_SELECT : 0), err);
    case PG_QUERY__NODE__NODE_UPDATE_STMT:
        if (read_only_scoped(q, err) < 0) return -1;
        return need_rel(q, stmt->update_stmt->relation,
                        TL_ACL_UPDATE | (stmt->update_stmt->where_clause ? TL_ACL_SELECT : 0), err);
    case PG_QUERY__NODE__NODE_TRUNCATE_STMT: {
        if (read_only_scoped(q, err) < 0) return -1;
        PgQuery__TruncateStmt *t = stmt->truncate_stmt;
        for (size_t i = 0; i < t->n_relations; i++)
            if (t->relations[i]->node_case == PG_QUERY__NODE__NODE_RANGE_VAR &&
                need_rel(q, t->relations[i]->range_var, TL_ACL_TRUNCATE, err) < 0)
                return -1;
        return 0;
    }
    case PG_QUERY__NODE__NODE_COPY_STMT: {
        PgQuery__CopyStmt *c = stmt->copy_stmt;
        if (c->filename && *c->filename)
            return tl_errorf(err, "42501", c->is_from ? "must be superuser or have privileges of the pg_read_server_files role to COPY from a file"
                                                      : "must be superuser or have privileges of the pg_write_server_files role to COPY to a file");
        if (c->is_program)
            return tl_errorf(err, "42501", "must be superuser or have privileges of the pg_execute_server_program role to COPY to or from an external program");
        if (c->is_from) {
            if (read_only_scoped(q, err) < 0) return -1;
            return need_rel(q, c->relation, TL_ACL_INSERT, err);
        }
        return 0; /* COPY TO reads through the binder, which checks SELECT */
    }
    case PG_QUERY__NODE__NODE_CREATE_STMT: {
        PgQuery__RangeVar *rv = stmt->create_stmt->relation;
        if (rv && rv->relpersistence && rv->relpersistence[0] == 't') {
            if (tl_acl_has(q->eng, current_role(q), TL_OBJ_DB, TL_DB_OID, TL_ACL_TEMP)) return 0;
            return tl_errorf(err, "42501", "permission denied to create temporary tables in database \"%s\"",
                             tl_engine_database(q->eng));
        }
        return tl_errorf(err, "42501", "permission denied for schema public");
    }
    case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
    case PG_QUERY__NODE__NODE_VIEW_STMT:
    case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
    case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT:
    case PG_QUERY__NODE__NODE_COMPOSITE_TYPE_STMT:
    case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
    case PG_QUERY__NODE__NODE_DEFINE_STMT:
        return tl_errorf(err, "42501", "permission denied for schema public");
    case PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT:
        return tl_errorf(err, "42501", "permission denied for database %s", tl_engine_database(q->eng));
    case PG_QUERY__NODE__NODE_INDEX_STMT:
        return need_owner(q, stmt->index_stmt->relation, err);
    case PG_QUERY__NODE__NODE_COMMENT_STMT:
        /* every relation belongs to the superuser */
        return tl_errorf(err, "42501", "must be owner of relation");
    case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
        return need_owner(q, stmt->alter_table_stmt->relation, err);
    case PG_QUERY__NODE__NODE_REFRESH_MAT_VIEW_STMT:
        return need_owner(q, stmt->refresh_mat_view_stmt->relation, err);
    case PG_QUERY__NODE__NODE_DROP_STMT: {
        PgQuery__DropStmt *d = stmt->drop_stmt;
        for (size_t i = 0; i < d->n_objects; i++) {
            pnode *o = d->objects[i];
            if (o->node_case != PG_QUERY__NODE__NODE_LIST) {
                if (d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TYPE ||
                    d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA)
                    continue;
                continue;
            }
            PgQuery__List *l = o->list;
            const char *schema = l->n_items == 2 ? pn_str(l->items[0]) : NULL;
            const char *name = pn_str(l->items[l->n_items - 1]);
            uint32_t nsp = schema ? tl_catalog_nsp_oid(schema) : TL_NSP_PUBLIC;
            tl_rel *r = nsp && name ? tl_catalog_find_rel(q->eng, nsp, name) : NULL;
            if (r) return tl_errorf(err, "42501", "must be owner of %s %s", relkind_word(r), r->name);
        }
        if (d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TYPE) {
            for (size_t i = 0; i < d->n_objects; i++) {
                pnode *o = d->objects[i];
                if (o->node_case != PG_QUERY__NODE__NODE_TYPE_NAME) continue;
                PgQuery__TypeName *tn = o->type_name;
                const char *name = tn->n_names ? pn_str(tn->names[tn->n_names - 1]) : NULL;
                if (name && tl_catalog_find_enum(q->eng, TL_NSP_PUBLIC, name))
                    return tl_errorf(err, "42501", "must be owner of type %s", name);
            }
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* Run before every statement, under the statement's catalog lock. Returns 1 when this
 * file ran the statement (tag set), 0 to let the caller run it, -1 on error. */
int acl_statement(qctx *q, pnode *stmt, tl_sink *sink, const char **tag, tl_error *err)
{
    tl_role *me = current_role(q);
    if (!me) return tl_errorf(err, "42704", "role \"%s\" does not exist", acl_current_user(q->s));
    int rc;
    switch (stmt->node_case) {
    case PG_QUERY__NODE__NODE_CREATE_ROLE_STMT:
        rc = create_role(q, stmt->create_role_stmt, tag, err);
        break;
    case PG_QUERY__NODE__NODE_ALTER_ROLE_STMT:
        rc = alter_role(q, stmt->alter_role_stmt, tag, err);
        break;
    case PG_QUERY__NODE__NODE_ALTER_ROLE_SET_STMT:
        rc = alter_role_set(q, stmt->alter_role_set_stmt, tag, err);
        break;
    case PG_QUERY__NODE__NODE_DROP_ROLE_STMT:
        rc = drop_role(q, stmt->drop_role_stmt, sink, tag, err);
        break;
    case PG_QUERY__NODE__NODE_DROP_OWNED_STMT:
        rc = drop_owned(q, stmt->drop_owned_stmt, tag, err);
        break;
    case PG_QUERY__NODE__NODE_GRANT_STMT:
        rc = grant(q, stmt->grant_stmt, sink, tag, err);
        break;
    case PG_QUERY__NODE__NODE_GRANT_ROLE_STMT:
        rc = tl_errorf(err, "0A000", "role membership (GRANT role TO role) is not supported");
        break;
    case PG_QUERY__NODE__NODE_ALTER_DEFAULT_PRIVILEGES_STMT:
        rc = alter_default_privileges(q, stmt->alter_default_privileges_stmt, tag, err);
        break;
    case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT: {
        int r = set_stmt(q, stmt->variable_set_stmt, err);
        if (r != 0) return r < 0 ? -1 : 0; /* not ours: the caller's SET handles it */
        *tag = stmt->variable_set_stmt->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET ? "RESET" : "SET";
        return 1;
    }
    default:
        if (me->superuser) return 0;
        return gate_nonsuper(q, stmt, err) < 0 ? -1 : 0;
    }
    /* A role statement is acknowledged only once the new state is in the WAL. */
    if (rc >= 0 && stmt->node_case != PG_QUERY__NODE__NODE_GRANT_ROLE_STMT) rc = tl_roles_log(q->eng, err);
    return rc < 0 ? -1 : 1;
}

bool acl_statement_is_ddl(const pnode *stmt)
{
    switch (stmt->node_case) {
    case PG_QUERY__NODE__NODE_CREATE_ROLE_STMT:
    case PG_QUERY__NODE__NODE_ALTER_ROLE_STMT:
    case PG_QUERY__NODE__NODE_ALTER_ROLE_SET_STMT:
    case PG_QUERY__NODE__NODE_DROP_ROLE_STMT:
    case PG_QUERY__NODE__NODE_DROP_OWNED_STMT:
    case PG_QUERY__NODE__NODE_GRANT_STMT:
    case PG_QUERY__NODE__NODE_ALTER_DEFAULT_PRIVILEGES_STMT:
        return true;
    default:
        return false;
    }
}

void acl_after_create(qctx *q, PgQuery__RangeVar *rv)
{
    tl_rel *r = rv ? lookup_rv(q, rv) : NULL;
    if (r) tl_acl_on_create(q->eng, r);
}

int acl_after_create_logged(qctx *q, PgQuery__RangeVar *rv, tl_error *err)
{
    bool defaults = tl_acl_has_defaults(q->eng);
    acl_after_create(q, rv);
    /* default privileges granted something: log the grants with the table */
    return defaults ? tl_roles_log(q->eng, err) : 0;
}

/* ---- has_*_privilege ------------------------------------------------------------------------------ */

static char *ident_text(qctx *q, tl_str s)
{
    char *t = tl_arena_alloc(&q->arena, s.len + 1);
    memcpy(t, s.ptr, s.len);
    t[s.len] = '\0';
    return t;
}

/* "Name" -> Name, name -> name, NAME -> name (identifier rules). */
static char *ident_norm(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s[n - 1] = '\0';
        return s + 1;
    }
    for (char *p = s; *p; p++) *p = (char)tolower((unsigned char)*p);
    return s;
}

/* "SELECT, INSERT WITH GRANT OPTION" -> bits; true if any is held (PG's semantics). */
static int parse_priv_list(const char *list, char kind, unsigned *bits, tl_error *err)
{
    *bits = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        while (isspace((unsigned char)*tok)) tok++;
        char *end = tok + strlen(tok);
        while (end > tok && isspace((unsigned char)end[-1])) *--end = '\0';
        char *wgo = strcasestr(tok, " with grant option");
        if (wgo) *wgo = '\0';
        unsigned b = priv_bit(tok);
        if (kind == TL_OBJ_REL && strcasecmp(tok, "rule") == 0) b = 0;
        if (!b || !(b & all_privs(kind))) return tl_errorf(err, "22023", "unrecognized privilege type: \"%s\"", tok);
        *bits |= b;
    }
    if (!*bits) return tl_errorf(err, "22023", "unrecognized privilege type: \"\"");
    return 0;
}

static int has_priv_kernel(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, char kind,
                           tl_error *err)
{
    int base = e->nargs == 3 ? 1 : 0;
    for (uint32_t i = 0; i < n; i++) {
        if (out->nulls && out->nulls[i]) continue;
        tl_role *r;
        if (base) {
            char *rn = ident_text(q, args[0].d.s[i]);
            r = tl_catalog_find_role(q->eng, rn);
            if (!r && strcasecmp(rn, "public") != 0) return tl_errorf(err, "42704", "role \"%s\" does not exist", rn);
        } else {
            r = current_role(q);
        }
        char *obj = ident_text(q, args[base].d.s[i]);
        unsigned bits;
        if (parse_priv_list(ident_text(q, args[base + 1].d.s[i]), kind, &bits, err) < 0) return -1;
        uint32_t oid = 0;
        tl_rel *rel = NULL;
        if (kind == TL_OBJ_REL) {
            char *sn, *rn;
            if (cat_split_qualname(q, obj, &sn, &rn) < 0) return tl_errorf(err, "42602", "invalid name syntax");
            if (sn && strcmp(sn, "pg_temp") && !tl_catalog_nsp_oid(sn))
                return tl_errorf(err, "3F000", "schema \"%s\" does not exist", sn);
            rel = cat_find_rel(q, sn, rn);
            if (!rel)
                return sn ? tl_errorf(err, "42P01", "relation \"%s.%s\" does not exist", sn, rn)
                          : tl_errorf(err, "42P01", "relation \"%s\" does not exist", rn);
            oid = rel->oid;
        } else if (kind == TL_OBJ_NSP) {
            char *sn = ident_norm(obj);
            oid = tl_catalog_nsp_oid(sn);
            if (!oid) return tl_errorf(err, "3F000", "schema \"%s\" does not exist", sn);
        } else {
            if (!tl_engine_database_exists(q->eng, obj))
                return tl_errorf(err, "3D000", "database \"%s\" does not exist", obj);
            oid = TL_DB_OID;
        }
        bool any = false;
        for (unsigned b = 1; b && b <= bits; b <<= 1) {
            if (!(bits & b)) continue;
            bool has;
            if (r) has = tl_acl_has(q->eng, r, kind, oid, b);
            else has = (tl_acl_granted(q->eng, TL_ROLE_PUBLIC, kind, oid) & b) != 0;
            /* pg_catalog relations are readable by all */
            if (rel && rel->nsp == TL_NSP_PG_CATALOG && b == TL_ACL_SELECT) has = true;
            any = any || has;
        }
        out->d.b[i] = any;
    }
    return 0;
}

static int k_has_table(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    return has_priv_kernel(q, e, args, n, out, TL_OBJ_REL, err);
}

static int k_has_schema(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    return has_priv_kernel(q, e, args, n, out, TL_OBJ_NSP, err);
}

static int k_has_db(qctx *q, const tl_expr *e, tl_vec *args, uint32_t n, tl_vec *out, tl_error *err)
{
    return has_priv_kernel(q, e, args, n, out, TL_OBJ_DB, err);
}

#define T TL_TEXT
static const fn_def acl_fns[] = {
    {"has_table_privilege", 2, {T, T}, TL_BOOL, k_has_table, false, true},
    {"has_table_privilege", 3, {T, T, T}, TL_BOOL, k_has_table, false, true},
    {"has_any_column_privilege", 2, {T, T}, TL_BOOL, k_has_table, false, true},
    {"has_any_column_privilege", 3, {T, T, T}, TL_BOOL, k_has_table, false, true},
    {"has_schema_privilege", 2, {T, T}, TL_BOOL, k_has_schema, false, true},
    {"has_schema_privilege", 3, {T, T, T}, TL_BOOL, k_has_schema, false, true},
    {"has_database_privilege", 2, {T, T}, TL_BOOL, k_has_db, false, true},
    {"has_database_privilege", 3, {T, T, T}, TL_BOOL, k_has_db, false, true},
};
#undef T

/* The second registry fn_lookup consults: exact arity, string-ish arguments. */
const fn_def *acl_fn_lookup(const char *name, int nargs, const tl_type_id *args)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(acl_fns); i++) {
        if (strcmp(acl_fns[i].name, name) != 0 || acl_fns[i].nargs != nargs) continue;
        bool ok = true;
        for (int k = 0; k < nargs && ok; k++)
            ok = args[k] == TL_TEXT || args[k] == TL_VARCHAR || args[k] == TL_NAME || args[k] == TL_UNKNOWN ||
                 args[k] == TL_BPCHAR;
        if (ok) return &acl_fns[i];
    }
    return NULL;
}

const fn_def *acl_fn_lookup_name(const char *name)
{
    for (size_t i = 0; i < TL_ARRAY_LEN(acl_fns); i++)
        if (strcmp(acl_fns[i].name, name) == 0) return &acl_fns[i];
    return NULL;
}
