/*
 * engine_int.h — the engine's private structures, shared by its own files only.
 */
#ifndef TL_ENGINE_INT_H
#define TL_ENGINE_INT_H

#include "tl_catalog.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>

struct tl_engine {
    pthread_rwlock_t lock; /* catalog lock: shared per statement, exclusive for DDL */
    pthread_mutex_t writer; /* one data writer at a time */
    uint64_t seq;          /* sequence lock over publication; odd while publishing */
    char *database;
    tl_rel **rels;
    int nrels, caprels;
    tl_enum **enums;
    int nenums, capenums;
    tl_role **roles;
    int nroles;
    struct tl_grant *grants;   /* roles.c */
    int ngrants, capgrants;
    struct tl_grant *defacls;  /* ALTER DEFAULT PRIVILEGES, per schema */
    int ndefacls, capdefacls;
    bool grants_seeded;        /* PUBLIC's PG 15 defaults are in grants */
    uint32_t next_oid;
    /* incremental materialized views (rollup.c) */
    pthread_rwlock_t rollup_lock; /* states: shared to read, exclusive to apply a commit */
    struct tl_rollup **rollups;
    int nrollups, caprollups;
    tl_func **funcs;
    int nfuncs;
    tl_cron_job *cron;
    int ncron;
    int64_t next_jobid;
    struct tl_descr *descrs; /* COMMENT ON (pg_description) */
    int ndescrs;
    uint32_t next_temp; /* temporary schemas handed out */
};

typedef struct tl_descr {
    uint32_t objoid, classoid;
    int32_t objsubid;
    char *text;
} tl_descr;

/* One grant: privileges of a grantee (0 = PUBLIC) on an object. */
typedef struct tl_grant {
    uint32_t grantee;
    char objkind;
    uint32_t objoid;
    unsigned privs;
} tl_grant;
void tl_roles_free_all(tl_engine *e); /* roles.c, from tl_engine_close */
void tl_rollup_write_lock_int(tl_engine *e);
void tl_rollup_write_unlock_int(tl_engine *e);

tl_pkindex *tl_pkindex_new(void);
void tl_pkindex_free(tl_pkindex *ix);

/* Text of a key for constraint messages: "(a, b)=(1, x)" style pieces. */
void tl_engine_format_key(tl_engine *e, const tl_rel *r, const int *cols, int ncols,
                          const tl_datum *vals, tl_buf *out);

#endif
