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
    const char *data_dir;  /* NULL = purely in memory; else WAL + snapshots live there */
    const char *superuser; /* role created at start, default "postgres" */
    bool async_commit;     /* server-wide synchronous_commit = off (sessions may SET it) */
    bool wal_pwrite;       /* write the WAL with pwrite/fdatasync, not io_uring */
    uint64_t checkpoint_wal_bytes; /* automatic checkpoint after this much WAL; 0 = 256 MiB */
    int checkpoint_timeout_s;      /* ... or this long with WAL written; 0 = 300 s, <0 never */
} tl_engine_config;

/* With a data directory: takes its lock file (55006 when another tallyd holds it),
 * loads the newest snapshot and replays the WAL after it (XX001 naming the file and
 * offset of any damage), then starts the WAL writer and the checkpoint trigger. */
tl_engine *tl_engine_open(const tl_engine_config *cfg, tl_error *err);
/* Flushes the WAL and releases the data directory (no checkpoint: see shutdown). */
void tl_engine_close(tl_engine *e);
/* Write a snapshot of every table and the catalog, then drop the WAL before it. Call
 * with the catalog lock held (shared or exclusive): every statement holds it, and the
 * server's shutdown and the automatic trigger take it first. Appends go on meanwhile;
 * DDL waits. 0 without a data directory. */
int tl_engine_checkpoint(tl_engine *e, tl_error *err);
/* Graceful stop: wait (up to timeout_s) for running statements, checkpoint, close the
 * WAL. The engine accepts no statement afterwards; the caller exits. 0 when the
 * checkpoint was written. */
int tl_engine_shutdown(tl_engine *e, int timeout_s, tl_error *err);
bool tl_engine_async_commit_default(const tl_engine *e);
bool tl_engine_durable(const tl_engine *e); /* has a data directory */
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
