/*
 * tl_catalog.h — the engine's catalog and write path as the query layer sees them:
 * relations (tables, indexes), their attributes and constraints, enum types, roles,
 * the reader/writer protocol, and ingest of typed, validated batches.
 *
 * Locking: the catalog lock is a reader/writer lock. Every statement holds it shared
 * for its whole run; DDL holds it exclusive. Writers of data (INSERT, COPY) hold it
 * shared plus the single writer mutex, so appends never block reads. Rows become
 * visible at tl_engine_publish, under a sequence lock readers use to snapshot all the
 * tables of a statement at one epoch.
 */
#ifndef TL_CATALOG_H
#define TL_CATALOG_H

#include "tl_engine.h"
#include "tl_table.h"

typedef enum tl_relkind {
    TL_REL_TABLE = 'r',
    TL_REL_INDEX = 'i',
    TL_REL_VIEW = 'v',
    TL_REL_MATVIEW = 'm',
} tl_relkind;

#define TL_NSP_PG_CATALOG 11
#define TL_NSP_PUBLIC 2200
#define TL_NSP_INFORMATION_SCHEMA 13207
#define TL_NSP_PG_TOAST 99
#define TL_NSP_CRON 16383 /* pg_cron's schema: cron.job lists cron.schedule's jobs */
/* Temporary tables live in one schema per session, pg_temp_<n>, oid TL_NSP_TEMP_BASE + n. */
#define TL_NSP_TEMP_BASE 0x70000000u
#define TL_NSP_IS_TEMP(nsp) ((nsp) >= TL_NSP_TEMP_BASE && (nsp) < TL_NSP_TEMP_BASE + 0x1000000u)
#define TL_MAX_KEY_COLS 8
#define TL_MAX_INDEX_COLS 32 /* PostgreSQL's INDEX_MAX_KEYS: key and INCLUDE columns */

typedef struct tl_attr {
    char *name;
    tl_type type;
    bool not_null;
    char *default_sql;   /* DEFAULT expression as SQL text, or NULL */
    char *generated_sql; /* GENERATED ALWAYS AS (expr) STORED, or NULL */
} tl_attr;

typedef struct tl_fkey {
    char *name;
    int ncols;
    int cols[TL_MAX_KEY_COLS];
    uint32_t ref_oid;
    int ref_cols[TL_MAX_KEY_COLS];
    char on_delete; /* 'a' no action, 'c' cascade, 'n' set null, 'r' restrict */
    uint32_t oid;   /* pg_constraint.oid, assigned by tl_catalog_create_table */
} tl_fkey;

typedef struct tl_pkindex tl_pkindex;
typedef struct tl_rel tl_rel;

/* A virtual relation's rows: append them to `out` (a fresh table with the relation's
 * column types) with tl_table_append. Called with the catalog lock held shared, once
 * per statement that reads the relation; the query layer scans `out` with the ordinary
 * executor and frees it when the statement ends. System catalogs (pg_catalog,
 * information_schema), tally_storage and non-incremental views use this. */
typedef int (*tl_rel_materialize_fn)(tl_engine *e, const tl_rel *r, tl_table *out, tl_error *err);

struct tl_rel {
    uint32_t oid;
    char *name;
    uint32_t nsp;
    tl_relkind kind;
    int natts;
    tl_attr *atts;
    /* primary key */
    int npk;
    int pk[TL_MAX_KEY_COLS];
    char *pk_name;
    tl_pkindex *pkidx;
    uint32_t pk_index_oid; /* the primary key's index and constraint as pg_catalog shows */
    uint32_t pk_con_oid;   /* them (tally keeps no separate index relation for a key) */
    /* foreign keys */
    int nfk;
    tl_fkey *fks;
    /* index relations: what they index (a zone-map hint only; see README) */
    uint32_t index_of;
    int nidx;                           /* all columns ... */
    int nidx_key;                       /* ... of which the first nidx_key are keys, the rest INCLUDE */
    int idx_cols[TL_MAX_INDEX_COLS];
    bool idx_unique;
    char *idx_def;
    /* data (tables only) */
    tl_table *data;
    int part_col; /* date column that partitions the table, -1 none */
    /* virtual relations (data == NULL): rows produced at statement time */
    tl_rel_materialize_fn materialize;
    void *mat_arg;
    void (*mat_free)(void *arg); /* frees mat_arg when the relation is dropped (matviews) */
    char *view_def;              /* materialized views: the defining query's text (pg_matviews) */
    bool populated;              /* materialized views: false after WITH NO DATA */
};

typedef struct tl_enum {
    uint32_t oid;
    uint32_t array_oid;
    char *name;
    uint32_t nsp;
    int nlabels;
    char **labels;
} tl_enum;

/* A user-defined function (CREATE FUNCTION): its body is kept as text and run by the
 * query layer. */
typedef struct tl_func {
    uint32_t oid;
    char *name;
    uint32_t nsp;
    char *language; /* "sql", "plpgsql" */
    char *body;
    tl_type ret;
    bool security_definer;
} tl_func;

/* pg_cron's job table (cron.schedule): accepted and listed; tally's views need no job. */
typedef struct tl_cron_job {
    int64_t jobid;
    char *name;
    char *schedule;
    char *command;
} tl_cron_job;

typedef struct tl_role {
    uint32_t oid;
    char *name;
    bool superuser;
    bool login;
    /* roles.c (tl_roles.h) */
    bool createrole, createdb, inherit;
    int connlimit;     /* -1 = no limit */
    char *password;    /* verifier ("SCRAM-SHA-256$…" or "md5…"), never cleartext; NULL none */
    char *org_id;      /* org scope (tally.org_id), NULL = unscoped */
} tl_role;

/* ---- locking and epochs ----------------------------------------------------- */

void tl_engine_read_lock(tl_engine *e);
void tl_engine_write_lock(tl_engine *e); /* exclusive: DDL */
void tl_engine_unlock(tl_engine *e);
void tl_engine_writer_begin(tl_engine *e); /* data writers, with the read lock held */
void tl_engine_writer_end(tl_engine *e);
/* Make the appended rows of these tables visible together. */
void tl_engine_publish(tl_engine *e, tl_rel *const *rels, int n);
/* The same, for the view maintenance, which publishes under the views' lock: sealing
 * happens on the sealer thread, so neither waits for it. */
void tl_engine_publish_rows(tl_engine *e, tl_rel *const *rels, int n);
/* Snapshot these tables' published rows at one epoch (arrays in `a`). */
void tl_engine_snapshot(tl_engine *e, tl_rel *const *rels, int n, tl_table_snap *snaps,
                        tl_arena *a);

/* ---- catalog ---------------------------------------------------------------- */

/* Unqualified names (nsp TL_NSP_PUBLIC) find the running session's temporary tables
 * first, as PostgreSQL's search path puts pg_temp first for relations. */
tl_rel *tl_catalog_find_rel(tl_engine *e, uint32_t nsp, const char *name);
/* The temporary schema of the session whose statement runs on this thread (0: none);
 * the query layer sets it before binding a statement. */
void tl_catalog_set_temp_nsp(uint32_t nsp);
uint32_t tl_catalog_temp_nsp(void);
/* A new session's temporary schema oid (not yet holding anything). */
uint32_t tl_catalog_new_temp_nsp(tl_engine *e);
tl_rel *tl_catalog_rel_by_oid(tl_engine *e, uint32_t oid);
int tl_catalog_nrels(tl_engine *e);
tl_rel *tl_catalog_rel_at(tl_engine *e, int i);
uint32_t tl_catalog_nsp_oid(const char *name); /* 0 if unknown */
tl_enum *tl_catalog_find_enum(tl_engine *e, uint32_t nsp, const char *name);
tl_enum *tl_catalog_enum_by_oid(tl_engine *e, uint32_t oid);
tl_role *tl_catalog_find_role(tl_engine *e, const char *name);
tl_role *tl_catalog_role_by_oid(tl_engine *e, uint32_t oid);

/* The definition of a new table. Attribute strings are copied. */
typedef struct tl_table_def {
    const char *name;
    uint32_t nsp;
    int natts;
    const tl_attr *atts;
    int npk;
    const int *pk;
    int nfk;
    const tl_fkey *fks;
    int part_col;
} tl_table_def;

/* Exclusive lock held. 42P07 if the name is taken. */
tl_rel *tl_catalog_create_table(tl_engine *e, const tl_table_def *def, tl_error *err);
/* cols: nkey key columns, then ncols - nkey INCLUDE columns */
tl_rel *tl_catalog_create_index(tl_engine *e, const char *name, tl_rel *table, int ncols, int nkey,
                                const int *cols, bool unique, const char *def, tl_error *err);
tl_enum *tl_catalog_create_enum(tl_engine *e, const char *name, uint32_t nsp, int nlabels,
                                const char *const *labels, tl_error *err);
/* Drops the relation and what depends on it (indexes); 2BP01 when another table's
 * foreign key references it and cascade is false. */
/* A relation whose rows come from `fn` (kind 'v' for system views). Exclusive lock or
 * engine start-up. */
tl_rel *tl_catalog_create_virtual(tl_engine *e, const char *name, uint32_t nsp, tl_relkind kind, int natts,
                                  const tl_attr *atts, tl_rel_materialize_fn fn, void *arg, tl_error *err);
int tl_catalog_drop_rel(tl_engine *e, tl_rel *r, bool cascade, tl_error *err);
int tl_catalog_drop_enum(tl_engine *e, tl_enum *en, tl_error *err);
uint32_t tl_catalog_new_oid(tl_engine *e);
tl_func *tl_catalog_find_func(tl_engine *e, uint32_t nsp, const char *name);
tl_func *tl_catalog_func_by_oid(tl_engine *e, uint32_t oid);
/* Exclusive lock held. Replaces an existing function when `replace`, else 42723. */
tl_func *tl_catalog_create_func(tl_engine *e, const tl_func *def, bool replace, tl_error *err);
/* Exclusive lock held. A job of the same name is replaced (as pg_cron); returns its id. */
int64_t tl_catalog_cron_schedule(tl_engine *e, const char *name, const char *schedule, const char *command);
int tl_catalog_ncron(tl_engine *e);
/* Durability: log all functions and cron jobs after a change (no-op in memory only);
 * -1 (53100/58030) when the WAL write failed. */
int tl_catalog_registry_log(tl_engine *e, tl_error *err);
/* Recovery only: set the next oid, returning the previous one (a replayed statement
 * must give its object the oid it had). */
uint32_t tl_catalog_reset_next_oid(tl_engine *e, uint32_t oid);
const tl_cron_job *tl_catalog_cron_at(tl_engine *e, int i);

/* COMMENT ON: set (text NULL or empty: remove) an object's description, as pg_description
 * keys it (classoid 1259 pg_class for relations and their columns, objsubid = attnum).
 * Exclusive lock held. Logged first: -1 (53100/58030) when the WAL refused it, and then
 * nothing changed. The getter returns NULL when there is none. */
int tl_catalog_set_description(tl_engine *e, uint32_t objoid, uint32_t classoid, int32_t objsubid,
                               const char *text, tl_error *err);
const char *tl_catalog_description(tl_engine *e, uint32_t objoid, uint32_t classoid, int32_t objsubid);
int tl_catalog_ndescriptions(tl_engine *e);
void tl_catalog_description_at(tl_engine *e, int i, uint32_t *objoid, uint32_t *classoid, int32_t *objsubid,
                               const char **text);

/* ---- system catalogs (syscat.c) ---------------------------------------------- */

/* What pg_catalog needs from the layers above: the session's settings (pg_settings)
 * and which built-in functions exist (pg_proc). Set once by the query layer; the
 * callbacks run on the thread of the statement reading the catalog. */
typedef struct tl_syscat_hooks {
    /* Calls emit(ctx, name, setting, vartype) for each setting of the current session. */
    void (*settings)(void *ctx, void (*emit)(void *ctx, const char *name, const char *setting,
                                             const char *vartype));
    bool (*function_exists)(const char *name);
    /* The org the current statement is confined to (org-scoped roles), or NULL: catalog
     * row counts (pg_class.reltuples, pg_stat_*.n_live_tup) then count that org's rows
     * of relations with an org_id column, so they tell a scoped role nothing more. */
    const char *(*org_scope)(void);
    /* A stored view query as PostgreSQL's pg_get_viewdef prints it (malloc'd), or NULL. */
    char *(*viewdef)(tl_engine *e, const char *sql);
} tl_syscat_hooks;
void tl_syscat_set_hooks(const tl_syscat_hooks *h);
/* Register pg_catalog and information_schema (engine start-up). */
int tl_syscat_register(tl_engine *e, tl_error *err);
/* The role whose view of information_schema the producers on this thread build (its
 * rows are filtered by privilege as PostgreSQL's views are); active=false: unfiltered.
 * The role is a struct tl_role (tl_roles.h); NULL with active=true: a role that does
 * not exist, which sees what PUBLIC sees. */
void tl_syscat_set_viewer(const void *role, bool active);
/* The system catalog behind a virtual relation, or NULL: its pg_class.relkind. */
char tl_syscat_relkind(const tl_rel *r);
/* Resident bytes of a table's primary-key index (0 without one). */
size_t tl_catalog_index_bytes(const tl_rel *r);
/* Register tally_storage and tally_storage_totals (storage_view.c; engine start-up). */
int tl_storage_view_register(tl_engine *e, tl_error *err);
/* Row count of a table at the current epoch (catalog lock held). */
uint64_t tl_catalog_row_count(tl_engine *e, tl_rel *r);
/* pg_get_constraintdef / pg_get_indexdef texts; NULL if no such object. Caller frees. */
char *tl_syscat_constraintdef(tl_engine *e, uint32_t con_oid);
char *tl_syscat_indexdef(tl_engine *e, uint32_t index_oid);
/* Name of a type oid as format_type prints it (typmod -1: none); NULL if unknown. */
const char *tl_syscat_type_name(tl_engine *e, uint32_t type_oid, char *buf, size_t cap);
/* Lookups by name for regtype/regproc input. 0 if unknown. */
uint32_t tl_syscat_type_oid(tl_engine *e, const char *name);
uint32_t tl_syscat_proc_oid(const char *name);
const char *tl_syscat_proc_name(uint32_t oid);
/* A built-in function's result type and argument type oids ('23 25'); false if unknown. */
bool tl_syscat_proc_sig(uint32_t oid, uint32_t *ret, const char **argtypes);

/* ---- ingest ----------------------------------------------------------------- */

/* One statement's worth of appends to one or more tables, applied all or nothing.
 * Writer mutex held. Checks NOT NULL (23502), primary keys (23505) and foreign keys
 * (23503) row by row; the first failure rolls back every append of the batch. */
typedef struct tl_ingest tl_ingest;
tl_ingest *tl_ingest_begin(tl_engine *e);
/* Append n rows (one vector per attribute, all attributes). `row_base` is added to the
 * row index in error context (COPY line numbers); pass -1 for none. */
int tl_ingest_append(tl_ingest *g, tl_rel *r, const tl_vec *cols, uint32_t n, tl_error *err);
/* Make the batch durable (with a data directory), publish it and free it; *rows gets
 * the rows appended. RELEASES THE WRITER MUTEX (the caller must not call
 * tl_engine_writer_end after it): with group commit the caller waits for the WAL
 * sync without blocking the next writer. -1 with 53100 (disk full) or 58030 (I/O
 * error) when the WAL write failed: then nothing of the batch is applied. */
int tl_ingest_commit(tl_ingest *g, uint64_t *rows, tl_error *err);
/* Wait for the WAL sync before acknowledging (default) or not (synchronous_commit =
 * off: the batch is visible at once, and may be lost in a crash, as in PostgreSQL). */
void tl_ingest_set_synchronous(tl_ingest *g, bool sync);
/* Writer mutex held; frees the batch and rolls it back. The caller then calls
 * tl_engine_writer_end. */
void tl_ingest_abort(tl_ingest *g);
/* ---- catalog records in the WAL ------------------------------------------------- */

/* Tables, indexes and enum types are logged by the catalog functions above. Other
 * catalog objects (roles, grants, views) use this generic mechanism: register a kind
 * (>= TL_CATREC_USER) once at start-up, with a redo function that applies a record's
 * payload to the catalog (exclusive lock held, logging off) and a dump function that
 * emits records recreating the current state into a snapshot. Then log each change
 * with tl_engine_log_catalog under the exclusive catalog lock: it returns once the
 * record is durable, or -1 (53100/58030) — then do not apply the change. */
#define TL_CATREC_USER 100
#define TL_CATREC_REGISTRY 102 /* functions and cron jobs (catalog.c) */
/* Kinds from here on are dumped into snapshots after the rows (objects computed from
 * the facts: materialized views). */
#define TL_CATREC_LATE 150
#define TL_CATREC_SQL 150      /* a statement the query layer replays (matviews) */
#define TL_CATREC_ROLES 151    /* roles, grants, default privileges, org scopes (roles.c) */
#define TL_CATREC_DESCR 152    /* COMMENT ON: one description set or removed (catalog.c) */
typedef int (*tl_catalog_emit_fn)(void *ctx, uint16_t kind, const void *payload, size_t len);
typedef int (*tl_catalog_redo_fn)(tl_engine *e, const void *payload, size_t len, tl_error *err);
typedef int (*tl_catalog_dump_fn)(tl_engine *e, tl_catalog_emit_fn emit, void *ctx);
void tl_engine_register_catalog_kind(uint16_t kind, tl_catalog_redo_fn redo, tl_catalog_dump_fn dump);
int tl_engine_log_catalog(tl_engine *e, uint16_t kind, const void *payload, size_t len, tl_error *err);
/* DELETE: mark these published rows of partition `part` deleted (rows not already
 * deleted; ascending), dropping their primary-key entries. Referencing rows are handled
 * by tl_ingest_delete_finish: ON DELETE CASCADE deletes them (recursively), other rules
 * fail with 23503. All of it publishes at commit or is undone by abort. */
int tl_ingest_delete_rows(tl_ingest *g, tl_rel *r, uint32_t part, const uint64_t *rows, uint32_t n,
                          tl_error *err);
int tl_ingest_delete_finish(tl_ingest *g, tl_error *err);
/* Which row of the last tl_ingest_append failed (0-based within that call), -1 if none. */
long tl_ingest_failed_row(const tl_ingest *g);

/* ---- transaction blocks ----------------------------------------------------------
 * A session in a transaction block keeps one ingest (and the writer mutex) from its
 * first write to COMMIT, which is then one tl_ingest_commit: one WAL record, view
 * deltas and rows published at one epoch. Statements in between see their own rows
 * through tl_engine_snapshot_own; other sessions see nothing until the commit. */
/* After each statement of a block: its deletes go into the record, in statement order. */
void tl_ingest_statement_end(tl_ingest *g);
/* A position to roll back to (SAVEPOINT, and the start of each statement: a failed
 * statement leaves nothing behind). owned: free with tl_ingest_sp_free (NULL: no-op). */
typedef struct tl_ingest_sp tl_ingest_sp;
tl_ingest_sp *tl_ingest_savepoint(const tl_ingest *g);
void tl_ingest_sp_free(tl_ingest_sp *sp);
/* Undo everything after `sp` (NULL: everything); the ingest stays usable. */
void tl_ingest_rollback_to(tl_ingest *g, const tl_ingest_sp *sp);
/* A table's rows as the ingest's writer sees them (its own pending rows and deletes)
 * if the ingest wrote to it, else the published snapshot. g may be NULL. */
void tl_ingest_snapshot(const tl_ingest *g, tl_rel *r, tl_table_snap *snap, tl_arena *a);
/* tl_engine_snapshot, except that tables `own` wrote are seen as its writer sees them. */
void tl_engine_snapshot_own(tl_engine *e, const tl_ingest *own, tl_rel *const *rels, int n,
                            tl_table_snap *snaps, tl_arena *a);

#endif
