/*
 * tl_engine.h — the engine as the layers above see it: one tl_engine per server holds
 * the catalog (tables, types, roles), the tables' data and the ingest path. This header
 * is the server's view (open, close, who may connect); the query layer also includes
 * tl_catalog.h for relations and columns.
 */
#ifndef TL_ENGINE_H
#define TL_ENGINE_H

#include "tl_base.h"

typedef struct tl_engine tl_engine;

typedef struct tl_engine_config {
    const char *database;  /* the one database's name, default "postgres" */
    const char *data_dir;  /* NULL = purely in memory (durability comes in its own issue) */
    const char *superuser; /* role created at start, default "postgres" */
} tl_engine_config;

tl_engine *tl_engine_open(const tl_engine_config *cfg, tl_error *err);
void tl_engine_close(tl_engine *e);
const char *tl_engine_database(const tl_engine *e);
bool tl_engine_database_exists(tl_engine *e, const char *name);
bool tl_engine_role_exists(tl_engine *e, const char *name);

/* What authentication needs about a role, copied under the catalog lock (roles.c).
 * verifier is malloc'd (free it), NULL when the role has no password. */
typedef struct tl_login_info {
    bool exists, login, may_connect;
    char *verifier;
} tl_login_info;
void tl_engine_login_info(tl_engine *e, const char *user, tl_login_info *out);

#endif
