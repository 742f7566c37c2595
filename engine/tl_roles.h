/*
 * tl_roles.h — roles, passwords and privileges in the engine catalog. Every change to
 * roles, grants or default privileges goes through these functions (exclusive catalog
 * lock held), so the write-ahead log can record them in one place. Checks take the
 * shared lock the statement already holds.
 *
 * Ownership is simple on purpose: every relation, the public schema and the database
 * belong to the bootstrap superuser, and only superusers create objects (a PG 15
 * non-owner has no CREATE on public either), so "owner" means "superuser" here.
 */
#ifndef TL_ROLES_H
#define TL_ROLES_H

#include "tl_catalog.h"
#include "tl_scram.h"

/* Privilege bits (PostgreSQL's ACL_* letters in \dp: r a w d D x t U C c T). */
enum {
    TL_ACL_INSERT = 1 << 0,     /* a */
    TL_ACL_SELECT = 1 << 1,     /* r */
    TL_ACL_UPDATE = 1 << 2,     /* w */
    TL_ACL_DELETE = 1 << 3,     /* d */
    TL_ACL_TRUNCATE = 1 << 4,   /* D */
    TL_ACL_REFERENCES = 1 << 5, /* x */
    TL_ACL_TRIGGER = 1 << 6,    /* t */
    TL_ACL_USAGE = 1 << 8,      /* U */
    TL_ACL_CREATE = 1 << 9,     /* C */
    TL_ACL_CONNECT = 1 << 10,   /* c */
    TL_ACL_TEMP = 1 << 11,      /* T */
};
#define TL_ACL_ALL_REL 0x7f
#define TL_ACL_ALL_NSP (TL_ACL_USAGE | TL_ACL_CREATE)
#define TL_ACL_ALL_DB (TL_ACL_CREATE | TL_ACL_CONNECT | TL_ACL_TEMP)

/* Object kinds a grant names. */
#define TL_OBJ_REL 'r'
#define TL_OBJ_NSP 'n'
#define TL_OBJ_DB 'd'
#define TL_DB_OID 5         /* the one database, as PG's "postgres" */
#define TL_ROLE_PUBLIC 0    /* grantee oid meaning PUBLIC */
#define TL_ROLE_BOOTSTRAP 10

/* Attribute changes; -1 = leave unchanged. */
typedef struct tl_role_opts {
    int superuser, login, createrole, createdb, inherit;
    int connlimit_set;
    int connlimit;
    bool password_set;
    const char *password; /* cleartext, or an "md5…"/"SCRAM-SHA-256$…" verifier; NULL = no password */
} tl_role_opts;
#define TL_ROLE_OPTS_INIT {-1, -1, -1, -1, -1, 0, -1, false, NULL}

/* Create: 42710 if it exists; LOGIN default false (true for CREATE USER: caller sets). */
tl_role *tl_roles_create(tl_engine *e, const char *name, const tl_role_opts *o, tl_error *err);
int tl_roles_alter(tl_engine *e, tl_role *r, const tl_role_opts *o, tl_error *err);
/* 2BP01 while privileges are granted to it; 55006 for the bootstrap superuser. */
int tl_roles_drop(tl_engine *e, tl_role *r, tl_error *err);
/* Bind the role to one org (NULL to unbind): it then sees only rows whose org_id is
 * this value, in every relation that has an org_id column. */
int tl_roles_set_org(tl_engine *e, tl_role *r, const char *org_id, tl_error *err);
tl_role *tl_catalog_role_by_oid(tl_engine *e, uint32_t oid);
int tl_catalog_nroles(tl_engine *e);
tl_role *tl_catalog_role_at(tl_engine *e, int i);

/* GRANT (is_grant) or REVOKE privs on one object to/from one grantee. */
void tl_acl_change(tl_engine *e, uint32_t grantee, char objkind, uint32_t objoid, unsigned privs,
                   bool is_grant);
/* Privileges granted to grantee on an object (explicit grants, and PUBLIC's defaults). */
unsigned tl_acl_granted(tl_engine *e, uint32_t grantee, char objkind, uint32_t objoid);
/* Does the role hold all of privs on the object (superuser, PUBLIC grants included)? */
bool tl_acl_has(tl_engine *e, const tl_role *r, char objkind, uint32_t objoid, unsigned privs);
/* ALTER DEFAULT PRIVILEGES IN SCHEMA nsp GRANT/REVOKE privs ON TABLES TO grantee. */
void tl_acl_default_change(tl_engine *e, uint32_t nsp, uint32_t grantee, unsigned privs, bool is_grant);
/* A relation was created: apply the default privileges of its schema. */
void tl_acl_on_create(tl_engine *e, const tl_rel *rel);
/* Forget grants on a dropped relation. */
void tl_acl_forget_object(tl_engine *e, char objkind, uint32_t objoid);
/* DROP OWNED BY: revoke everything granted to the role. */
void tl_acl_revoke_all(tl_engine *e, uint32_t grantee);
/* Grantees with any privilege on the object, for \dp: calls fn per (grantee, privs). */
void tl_acl_each(tl_engine *e, char objkind, uint32_t objoid,
                 void (*fn)(void *ctx, uint32_t grantee, unsigned privs), void *ctx);

/* Durability: log the whole roles/grants/default-privileges state after a change (a
 * no-op without a data directory). -1 (53100/58030) when the WAL write failed: the
 * statement fails and the server refuses writes until restarted. */
int tl_roles_log(tl_engine *e, tl_error *err);
bool tl_acl_has_defaults(tl_engine *e); /* any ALTER DEFAULT PRIVILEGES in effect */
void tl_roles_register_durable(void);    /* from tl_dur_open, before recovery */

#endif
