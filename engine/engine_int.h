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
    struct tl_durable *dur; /* NULL: in memory only (durable.c) */
    bool replaying;         /* recovery: no logging, constraints trusted */
    bool snap_load;         /* loading a snapshot's rows: repeated keys are deferred */
    struct tl_rowref *snap_dups; /* rows whose key an earlier row held (ingest.c) */
    size_t nsnap_dups, capsnap_dups;
    bool async_default;
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

/* durable.c */
int tl_dur_open(tl_engine *e, const tl_engine_config *cfg, tl_error *err);
void tl_dur_close(tl_engine *e);
/* COMMENT ON records (catalog.c), registered with the other catalog kinds at open. */
void tl_catalog_descr_register_durable(void);
int tl_dur_log_catalog(tl_engine *e, uint16_t kind, const tl_buf *payload, tl_error *err);
void tl_dur_encode_table(const tl_rel *r, tl_buf *b);
void tl_dur_encode_index(const tl_rel *r, tl_buf *b);
void tl_dur_encode_enum(const tl_enum *en, tl_buf *b);
/* The group-commit path of tl_ingest_commit (ingest.c hands the batch over). */
int tl_dur_commit(tl_engine *e, tl_ingest *g, tl_error *err);
/* Wait until no batch waits for publication (DDL, exclusive catalog lock held: a
 * batch still queued would publish into a dropped table or past a new view). */
void tl_dur_drain(tl_engine *e);
bool tl_engine_writer_trylock(tl_engine *e);

/* Catalog record kinds of the engine's own objects. */
enum { CATREC_CREATE_TABLE = 1, CATREC_CREATE_INDEX, CATREC_CREATE_ENUM, CATREC_DROP_REL, CATREC_DROP_ENUM };

/* ingest.c internals durable.c needs */
void tl_ingest_rollback(tl_ingest *g);
void tl_ingest_free(tl_ingest *g);
bool tl_ingest_sync(const tl_ingest *g);
const tl_buf *tl_ingest_record(const tl_ingest *g);
uint64_t tl_ingest_rows(const tl_ingest *g);
/* publish a batch up to the end marks taken at commit (durable.c, in WAL order) */
void tl_ingest_publish_marks(tl_ingest *g);
void tl_ingest_take_end_marks(tl_ingest *g);
/* Apply the batch's view deltas (rollup lock held exclusively, before its rows show). */
void tl_ingest_apply_views(tl_ingest *g);
/* A batch with deletes is published whole (rows and delete maps): its committer holds
 * the writer mutex until then, so nothing newer is pending behind it. */
bool tl_ingest_has_deletes(const tl_ingest *g);
void tl_ingest_publish_all(tl_ingest *g);
/* Apply view deltas, publish every table of the batch now and free it (no WAL: memory
 * only, replay, snapshot load). */
void tl_ingest_publish_now(tl_ingest *g);
/* Snapshot load (e->snap_load): index the live rows whose keys were deferred because an
 * earlier, deleted row held them; call once a table's deletes are applied. -1 (23505)
 * if two live rows hold one key. */
int tl_ingest_snapshot_keys(tl_engine *e, tl_error *err);
/* link field for durable.c's pending list */
tl_ingest **tl_ingest_next(tl_ingest *g);
int *tl_ingest_state(tl_ingest *g); /* 0 pending, 1 published, -1 failed */
void tl_ingest_set_lsn(tl_ingest *g, uint64_t lsn);
uint64_t tl_ingest_lsn(const tl_ingest *g);
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
/* The foreign key whose parent's month partitions a table without its own date key
 * (fact_kpi_events under its attempt's started_at month), or -1. */
int tl__month_fk(tl_engine *e, const tl_rel *r);
void tl_pkindex_free(tl_pkindex *ix);

/* Text of a key for constraint messages: "(a, b)=(1, x)" style pieces. */
void tl_engine_format_key(tl_engine *e, const tl_rel *r, const int *cols, int ncols,
                          const tl_datum *vals, tl_buf *out);

#endif
