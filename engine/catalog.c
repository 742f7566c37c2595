/*
 * catalog.c — the engine object: catalog of relations, enum types and roles, the
 * catalog lock, the writer mutex and the sequence lock that publishes appends as one
 * epoch. Oids below 16384 are PostgreSQL's own; user objects start there, as in PG.
 */
#include "engine_int.h"
#include "tl_vecio.h"
#include "tl_roles.h"

#include <stdlib.h>
#include <string.h>

#define FIRST_USER_OID 16384

tl_engine *tl_engine_open(const tl_engine_config *cfg, tl_error *err)
{
    tl_engine *e = tl_xcalloc(1, sizeof *e);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* DDL must not starve behind a stream of dashboard queries. */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&e->lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&e->writer, NULL);
    pthread_rwlock_init(&e->rollup_lock, NULL);
    e->database = tl_xstrdup(cfg && cfg->database ? cfg->database : "postgres");
    e->next_oid = FIRST_USER_OID;
    tl_role *su = tl_xcalloc(1, sizeof *su);
    su->oid = 10; /* BOOTSTRAP_SUPERUSERID */
    su->name = tl_xstrdup(cfg && cfg->superuser ? cfg->superuser : "postgres");
    su->superuser = true;
    su->login = true;
    su->createrole = su->createdb = su->inherit = true;
    su->connlimit = -1;
    e->roles = tl_xmalloc(sizeof *e->roles);
    e->roles[0] = su;
    e->nroles = 1;
    e->async_default = cfg && cfg->async_commit;
    if (tl_syscat_register(e, err) < 0 || tl_storage_view_register(e, err) < 0 ||
        (cfg && cfg->data_dir && tl_dur_open(e, cfg, err) < 0)) {
        tl_engine_close(e);
        return NULL;
    }
    return e;
}

static void rel_free(tl_rel *r)
{
    for (int i = 0; i < r->natts; i++) {
        free(r->atts[i].name);
        free(r->atts[i].default_sql);
        free(r->atts[i].generated_sql);
    }
    for (int i = 0; i < r->nfk; i++) free(r->fks[i].name);
    free(r->fks);
    free(r->atts);
    free(r->name);
    free(r->pk_name);
    free(r->idx_def);
    free(r->view_def);
    tl_pkindex_free(r->pkidx);
    tl_table_free(r->data);
    if (r->mat_free) r->mat_free(r->mat_arg);
    free(r);
}

static void enum_free(tl_enum *en)
{
    for (int i = 0; i < en->nlabels; i++) free(en->labels[i]);
    free(en->labels);
    free(en->name);
    free(en);
}

void tl_engine_close(tl_engine *e)
{
    if (!e) return;
    tl_dur_close(e);
    for (int i = 0; i < e->nrels; i++) rel_free(e->rels[i]);
    for (int i = 0; i < e->nenums; i++) enum_free(e->enums[i]);
    tl_roles_free_all(e);
    free(e->rels);
    free(e->rollups);
    for (int i = 0; i < e->nfuncs; i++) {
        free(e->funcs[i]->name);
        free(e->funcs[i]->language);
        free(e->funcs[i]->body);
        free(e->funcs[i]);
    }
    free(e->funcs);
    for (int i = 0; i < e->ncron; i++) {
        free(e->cron[i].name);
        free(e->cron[i].schedule);
        free(e->cron[i].command);
    }
    free(e->cron);
    for (int i = 0; i < e->ndescrs; i++) free(e->descrs[i].text);
    free(e->descrs);
    pthread_rwlock_destroy(&e->rollup_lock);
    free(e->enums);
    free(e->database);
    pthread_rwlock_destroy(&e->lock);
    pthread_mutex_destroy(&e->writer);
    free(e);
}

const char *tl_engine_database(const tl_engine *e)
{
    return e->database;
}

bool tl_engine_database_exists(tl_engine *e, const char *name)
{
    return strcmp(name, e->database) == 0;
}

bool tl_engine_role_exists(tl_engine *e, const char *name)
{
    tl_engine_read_lock(e);
    bool ok = tl_catalog_find_role(e, name) != NULL;
    tl_engine_unlock(e);
    return ok;
}

/* ---- locks ---------------------------------------------------------------------- */

void tl_engine_read_lock(tl_engine *e)
{
    pthread_rwlock_rdlock(&e->lock);
}

void tl_engine_write_lock(tl_engine *e)
{
    pthread_rwlock_wrlock(&e->lock);
    tl_dur_drain(e);
}

void tl_engine_unlock(tl_engine *e)
{
    pthread_rwlock_unlock(&e->lock);
}

void tl_engine_writer_begin(tl_engine *e)
{
    pthread_mutex_lock(&e->writer);
}

bool tl_engine_writer_trylock(tl_engine *e)
{
    return pthread_mutex_trylock(&e->writer) == 0;
}

void tl_engine_writer_end(tl_engine *e)
{
    pthread_mutex_unlock(&e->writer);
}

void tl_engine_publish_rows(tl_engine *e, tl_rel *const *rels, int n)
{
    __atomic_add_fetch(&e->seq, 1, __ATOMIC_ACQ_REL); /* odd: publishing */
    for (int i = 0; i < n; i++)
        if (rels[i]->data) tl_table_publish(rels[i]->data);
    __atomic_add_fetch(&e->seq, 1, __ATOMIC_ACQ_REL);
    /* Full tails were handed to each table's sealer by tl_table_publish; the statement
     * does not wait for them (that wait was the append stall: ~1-2 ms a segment). */
}

void tl_engine_publish(tl_engine *e, tl_rel *const *rels, int n)
{
    tl_engine_publish_rows(e, rels, n);
}

void tl_engine_snapshot(tl_engine *e, tl_rel *const *rels, int n, tl_table_snap *snaps, tl_arena *a)
{
    tl_engine_snapshot_own(e, NULL, rels, n, snaps, a);
}

void tl_engine_snapshot_own(tl_engine *e, const tl_ingest *own, tl_rel *const *rels, int n,
                            tl_table_snap *snaps, tl_arena *a)
{
    /* An owner (a transaction block's writer) holds the writer mutex: nothing it sees can
     * change under it except by publication of batches queued before it, which only the
     * seqlock orders. */
    for (;;) {
        uint64_t s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        for (int i = 0; i < n; i++) {
            if (!rels[i]->data) {
                snaps[i].nparts = 0;
                snaps[i].rows = NULL;
            } else if (own) {
                tl_ingest_snapshot(own, rels[i], &snaps[i], a);
            } else {
                tl_table_snapshot(rels[i]->data, &snaps[i], a);
            }
        }
        if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) == s1) return;
    }
}

/* ---- catalog lookups ------------------------------------------------------------- */

/* the temporary schema of the session running on this thread (tl_catalog_set_temp_nsp) */
static __thread uint32_t cur_temp_nsp;

uint32_t tl_catalog_nsp_oid(const char *name)
{
    if (strcmp(name, "public") == 0) return TL_NSP_PUBLIC;
    if (strcmp(name, "pg_catalog") == 0) return TL_NSP_PG_CATALOG;
    if (strcmp(name, "information_schema") == 0) return TL_NSP_INFORMATION_SCHEMA;
    if (strcmp(name, "pg_toast") == 0) return TL_NSP_PG_TOAST;
    if (strcmp(name, "cron") == 0) return TL_NSP_CRON;
    if (cur_temp_nsp && strcmp(name, "pg_temp") == 0) return cur_temp_nsp;
    if (cur_temp_nsp && strncmp(name, "pg_temp_", 8) == 0 &&
        strtoul(name + 8, NULL, 10) == cur_temp_nsp - TL_NSP_TEMP_BASE)
        return cur_temp_nsp;
    return 0;
}

uint32_t tl_catalog_new_oid(tl_engine *e)
{
    return __atomic_fetch_add(&e->next_oid, 1, __ATOMIC_RELAXED);
}

void tl_catalog_set_temp_nsp(uint32_t nsp)
{
    cur_temp_nsp = nsp;
}

uint32_t tl_catalog_temp_nsp(void)
{
    return cur_temp_nsp;
}

uint32_t tl_catalog_new_temp_nsp(tl_engine *e)
{
    return TL_NSP_TEMP_BASE + (__atomic_add_fetch(&e->next_temp, 1, __ATOMIC_RELAXED) & 0xffffff);
}

tl_rel *tl_catalog_find_rel(tl_engine *e, uint32_t nsp, const char *name)
{
    if (nsp == TL_NSP_PUBLIC && cur_temp_nsp) {
        tl_rel *t = tl_catalog_find_rel(e, cur_temp_nsp, name);
        if (t) return t;
    }
    for (int i = 0; i < e->nrels; i++)
        if (e->rels[i]->nsp == nsp && strcmp(e->rels[i]->name, name) == 0) return e->rels[i];
    return NULL;
}

tl_rel *tl_catalog_rel_by_oid(tl_engine *e, uint32_t oid)
{
    for (int i = 0; i < e->nrels; i++)
        if (e->rels[i]->oid == oid) return e->rels[i];
    return NULL;
}

int tl_catalog_nrels(tl_engine *e)
{
    return e->nrels;
}

tl_rel *tl_catalog_rel_at(tl_engine *e, int i)
{
    return e->rels[i];
}

tl_enum *tl_catalog_find_enum(tl_engine *e, uint32_t nsp, const char *name)
{
    for (int i = 0; i < e->nenums; i++)
        if (e->enums[i]->nsp == nsp && strcmp(e->enums[i]->name, name) == 0) return e->enums[i];
    return NULL;
}

tl_enum *tl_catalog_enum_by_oid(tl_engine *e, uint32_t oid)
{
    for (int i = 0; i < e->nenums; i++)
        if (e->enums[i]->oid == oid) return e->enums[i];
    return NULL;
}

tl_role *tl_catalog_find_role(tl_engine *e, const char *name)
{
    for (int i = 0; i < e->nroles; i++)
        if (strcmp(e->roles[i]->name, name) == 0) return e->roles[i];
    return NULL;
}

static bool name_taken(tl_engine *e, uint32_t nsp, const char *name)
{
    return tl_catalog_find_rel(e, nsp, name) || tl_catalog_find_enum(e, nsp, name);
}

static void rels_push(tl_engine *e, tl_rel *r)
{
    if (e->nrels == e->caprels) {
        e->caprels = e->caprels ? e->caprels * 2 : 16;
        e->rels = tl_xrealloc(e->rels, sizeof *e->rels * (size_t)e->caprels);
    }
    e->rels[e->nrels++] = r;
}

/* Log a new relation before it joins the catalog: if the WAL fails, it never existed. */
static int log_rel(tl_engine *e, uint16_t kind, const tl_rel *r, tl_error *err)
{
    if (!e->dur || e->replaying) return 0;
    tl_buf b;
    tl_buf_init(&b);
    if (kind == CATREC_CREATE_TABLE) tl_dur_encode_table(r, &b);
    else tl_dur_encode_index(r, &b);
    int rc = tl_dur_log_catalog(e, kind, &b, err);
    tl_buf_free(&b);
    return rc;
}

static char *dup_or_null(const char *s)
{
    return s ? tl_xstrdup(s) : NULL;
}

tl_rel *tl_catalog_create_table(tl_engine *e, const tl_table_def *def, tl_error *err)
{
    if (name_taken(e, def->nsp, def->name)) {
        tl_errorf(err, "42P07", "relation \"%s\" already exists", def->name);
        return NULL;
    }
    tl_rel *r = tl_xcalloc(1, sizeof *r);
    r->oid = tl_catalog_new_oid(e);
    r->name = tl_xstrdup(def->name);
    r->nsp = def->nsp;
    r->kind = TL_REL_TABLE;
    r->natts = def->natts;
    r->atts = tl_xcalloc((size_t)def->natts + 1, sizeof *r->atts);
    tl_type *types = tl_xmalloc(sizeof *types * ((size_t)def->natts + 1));
    for (int i = 0; i < def->natts; i++) {
        r->atts[i] = def->atts[i];
        r->atts[i].name = tl_xstrdup(def->atts[i].name);
        r->atts[i].default_sql = dup_or_null(def->atts[i].default_sql);
        r->atts[i].generated_sql = dup_or_null(def->atts[i].generated_sql);
        types[i] = def->atts[i].type;
    }
    r->npk = def->npk;
    memcpy(r->pk, def->pk, sizeof(int) * (size_t)def->npk);
    for (int i = 0; i < def->npk; i++) r->atts[def->pk[i]].not_null = true;
    if (def->npk) {
        r->pk_name = tl_xstrdup(def->name);
        size_t n = strlen(def->name) + 6;
        r->pk_name = tl_xrealloc(r->pk_name, n);
        strcat(r->pk_name, "_pkey");
        r->pkidx = tl_pkindex_new();
        r->pk_index_oid = tl_catalog_new_oid(e);
        r->pk_con_oid = tl_catalog_new_oid(e);
    }
    r->nfk = def->nfk;
    r->fks = tl_xcalloc((size_t)def->nfk + 1, sizeof *r->fks);
    for (int i = 0; i < def->nfk; i++) {
        r->fks[i] = def->fks[i];
        r->fks[i].name = tl_xstrdup(def->fks[i].name);
        r->fks[i].oid = tl_catalog_new_oid(e);
    }
    r->part_col = def->part_col;
    r->data = tl_table_new(def->natts, types, def->part_col);
    /* A lone uuid key is unique: a dictionary would only add its hash index. */
    if (def->npk == 1 && types[def->pk[0]].id == TL_UUID) tl_table_hint_unique(r->data, def->pk[0]);
    for (int i = 0; i < def->npk; i++) tl_table_hint_key(r->data, def->pk[i]);
    free(types);
    if (log_rel(e, CATREC_CREATE_TABLE, r, err) < 0) {
        rel_free(r);
        return NULL;
    }
    rels_push(e, r);
    return r;
}

tl_rel *tl_catalog_create_virtual(tl_engine *e, const char *name, uint32_t nsp, tl_relkind kind, int natts,
                                  const tl_attr *atts, tl_rel_materialize_fn fn, void *arg, tl_error *err)
{
    if (name_taken(e, nsp, name)) {
        tl_errorf(err, "42P07", "relation \"%s\" already exists", name);
        return NULL;
    }
    tl_rel *r = tl_xcalloc(1, sizeof *r);
    /* System relations carry PostgreSQL's fixed oids (the caller sets them); only user
     * relations draw from the counter, so the first user type is 16384 as in PG. */
    r->oid = nsp == TL_NSP_PUBLIC ? tl_catalog_new_oid(e) : 0;
    r->name = tl_xstrdup(name);
    r->nsp = nsp;
    r->kind = kind;
    r->natts = natts;
    r->atts = tl_xcalloc((size_t)natts + 1, sizeof *r->atts);
    for (int i = 0; i < natts; i++) {
        r->atts[i] = atts[i];
        r->atts[i].name = tl_xstrdup(atts[i].name);
        r->atts[i].default_sql = dup_or_null(atts[i].default_sql);
        r->atts[i].generated_sql = dup_or_null(atts[i].generated_sql);
    }
    r->part_col = -1;
    r->materialize = fn;
    r->mat_arg = arg;
    rels_push(e, r);
    return r;
}

tl_rel *tl_catalog_create_index(tl_engine *e, const char *name, tl_rel *table, int ncols, int nkey,
                                const int *cols, bool unique, const char *def, tl_error *err)
{
    if (name_taken(e, table->nsp, name)) {
        tl_errorf(err, "42P07", "relation \"%s\" already exists", name);
        return NULL;
    }
    tl_rel *r = tl_xcalloc(1, sizeof *r);
    r->oid = tl_catalog_new_oid(e);
    r->name = tl_xstrdup(name);
    r->nsp = table->nsp;
    r->kind = TL_REL_INDEX;
    r->index_of = table->oid;
    r->nidx = ncols < TL_MAX_INDEX_COLS ? ncols : TL_MAX_INDEX_COLS;
    r->nidx_key = nkey < r->nidx ? nkey : r->nidx;
    memcpy(r->idx_cols, cols, sizeof(int) * (size_t)r->nidx);
    r->idx_unique = unique;
    r->idx_def = dup_or_null(def);
    r->part_col = -1;
    if (log_rel(e, CATREC_CREATE_INDEX, r, err) < 0) {
        rel_free(r);
        return NULL;
    }
    rels_push(e, r);
    return r;
}

tl_enum *tl_catalog_create_enum(tl_engine *e, const char *name, uint32_t nsp, int nlabels,
                                const char *const *labels, tl_error *err)
{
    if (name_taken(e, nsp, name)) {
        tl_errorf(err, "42710", "type \"%s\" already exists", name);
        return NULL;
    }
    for (int i = 0; i < nlabels; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0) {
                tl_errorf(err, "42710", "enum label \"%s\" used more than once", labels[i]);
                return NULL;
            }
    tl_enum *en = tl_xcalloc(1, sizeof *en);
    /* PostgreSQL's DefineEnum assigns the array type's oid first (AssignTypeArrayOid),
     * so clients see the same enum type oid from both servers */
    en->array_oid = tl_catalog_new_oid(e);
    en->oid = tl_catalog_new_oid(e);
    en->name = tl_xstrdup(name);
    en->nsp = nsp;
    en->nlabels = nlabels;
    en->labels = tl_xcalloc((size_t)nlabels + 1, sizeof *en->labels);
    for (int i = 0; i < nlabels; i++) en->labels[i] = tl_xstrdup(labels[i]);
    if (e->dur && !e->replaying) {
        tl_buf b;
        tl_buf_init(&b);
        tl_dur_encode_enum(en, &b);
        int rc = tl_dur_log_catalog(e, CATREC_CREATE_ENUM, &b, err);
        tl_buf_free(&b);
        if (rc < 0) {
            enum_free(en);
            return NULL;
        }
    }
    if (e->nenums == e->capenums) {
        e->capenums = e->capenums ? e->capenums * 2 : 8;
        e->enums = tl_xrealloc(e->enums, sizeof *e->enums * (size_t)e->capenums);
    }
    e->enums[e->nenums++] = en;
    return en;
}

static void rels_remove(tl_engine *e, tl_rel *r)
{
    for (int i = 0; i < e->nrels; i++)
        if (e->rels[i] == r) {
            memmove(&e->rels[i], &e->rels[i + 1], sizeof *e->rels * (size_t)(e->nrels - i - 1));
            e->nrels--;
            return;
        }
}

/* A drop is logged after its checks and before any change, so a failed WAL write
 * leaves the catalog as it was. */
static int log_drop(tl_engine *e, uint16_t kind, uint32_t oid, bool cascade, tl_error *err)
{
    if (!e->dur || e->replaying) return 0;
    tl_buf b;
    tl_buf_init(&b);
    tl_put_u32(&b, oid);
    tl_put_u8(&b, cascade);
    int rc = tl_dur_log_catalog(e, kind, &b, err);
    tl_buf_free(&b);
    return rc;
}

int tl_catalog_drop_rel(tl_engine *e, tl_rel *r, bool cascade, tl_error *err)
{
    if (r->kind == TL_REL_TABLE && !cascade) {
        for (int i = 0; i < e->nrels; i++) {
            tl_rel *o = e->rels[i];
            if (o == r) continue;
            for (int k = 0; k < o->nfk; k++) {
                if (o->fks[k].ref_oid != r->oid) continue;
                tl_errorf(err, "2BP01", "cannot drop table %s because other objects depend on it", r->name);
                tl_error_detail(err, "constraint %s on table %s depends on table %s", o->fks[k].name, o->name,
                                r->name);
                snprintf(err->hint, sizeof err->hint, "Use DROP ... CASCADE to drop the dependent objects too.");
                return -1;
            }
        }
    }
    if (log_drop(e, CATREC_DROP_REL, r->oid, cascade, err) < 0) return -1;
    if (r->kind == TL_REL_TABLE) {
        for (int i = 0; i < e->nrels; i++) {
            tl_rel *o = e->rels[i];
            if (o == r) continue;
            for (int k = 0; k < o->nfk; k++) {
                if (o->fks[k].ref_oid != r->oid) continue;
                if (!cascade) {
                    tl_errorf(err, "2BP01", "cannot drop table %s because other objects depend on it",
                              r->name);
                    tl_error_detail(err, "constraint %s on table %s depends on table %s",
                                    o->fks[k].name, o->name, r->name);
                    snprintf(err->hint, sizeof err->hint,
                             "Use DROP ... CASCADE to drop the dependent objects too.");
                    return -1;
                }
                /* CASCADE drops the constraint, not the referencing table (as PG). */
                free(o->fks[k].name);
                memmove(&o->fks[k], &o->fks[k + 1], sizeof *o->fks * (size_t)(o->nfk - k - 1));
                o->nfk--;
                k--;
            }
        }
        for (int i = 0; i < e->nrels; i++) {
            tl_rel *o = e->rels[i];
            if (o->kind == TL_REL_INDEX && o->index_of == r->oid) {
                rels_remove(e, o);
                rel_free(o);
                i--;
            }
        }
    }
    tl_acl_forget_object(e, TL_OBJ_REL, r->oid);
    /* a dropped relation's comments (its own and its columns') go with it, as in PG */
    for (int i = 0; i < e->ndescrs; i++)
        if (e->descrs[i].objoid == r->oid && e->descrs[i].classoid == 1259) {
            free(e->descrs[i].text);
            e->descrs[i--] = e->descrs[--e->ndescrs];
        }
    rels_remove(e, r);
    rel_free(r);
    return 0;
}

int tl_catalog_drop_enum(tl_engine *e, tl_enum *en, tl_error *err)
{
    for (int i = 0; i < e->nrels; i++)
        for (int a = 0; a < e->rels[i]->natts; a++)
            if (e->rels[i]->atts[a].type.id == TL_ENUM && e->rels[i]->atts[a].type.oid == en->oid) {
                tl_errorf(err, "2BP01", "cannot drop type %s because other objects depend on it",
                          en->name);
                tl_error_detail(err, "column %s of table %s depends on type %s",
                                e->rels[i]->atts[a].name, e->rels[i]->name, en->name);
                return -1;
            }
    if (log_drop(e, CATREC_DROP_ENUM, en->oid, false, err) < 0) return -1;
    for (int i = 0; i < e->nenums; i++)
        if (e->enums[i] == en) {
            memmove(&e->enums[i], &e->enums[i + 1], sizeof *e->enums * (size_t)(e->nenums - i - 1));
            e->nenums--;
            break;
        }
    enum_free(en);
    return 0;
}

/* ---- functions and cron jobs ------------------------------------------------------------ */

tl_func *tl_catalog_find_func(tl_engine *e, uint32_t nsp, const char *name)
{
    for (int i = 0; i < e->nfuncs; i++)
        if (e->funcs[i]->nsp == nsp && strcmp(e->funcs[i]->name, name) == 0) return e->funcs[i];
    return NULL;
}

tl_func *tl_catalog_create_func(tl_engine *e, const tl_func *def, bool replace, tl_error *err)
{
    tl_func *f = tl_catalog_find_func(e, def->nsp, def->name);
    if (f && !replace) {
        tl_errorf(err, "42723", "function \"%s\" already exists with same argument types", def->name);
        return NULL;
    }
    if (!f) {
        f = tl_xcalloc(1, sizeof *f);
        f->oid = tl_catalog_new_oid(e);
        e->funcs = tl_xrealloc(e->funcs, sizeof *e->funcs * (size_t)(e->nfuncs + 1));
        e->funcs[e->nfuncs++] = f;
    } else {
        free(f->name);
        free(f->language);
        free(f->body);
    }
    f->name = tl_xstrdup(def->name);
    f->nsp = def->nsp;
    f->language = tl_xstrdup(def->language);
    f->body = tl_xstrdup(def->body);
    f->ret = def->ret;
    f->security_definer = def->security_definer;
    return f;
}

uint32_t tl_catalog_reset_next_oid(tl_engine *e, uint32_t oid)
{
    uint32_t prev = e->next_oid;
    e->next_oid = oid;
    return prev;
}

int64_t tl_catalog_cron_schedule(tl_engine *e, const char *name, const char *schedule, const char *command)
{
    for (int i = 0; name && i < e->ncron; i++)
        if (e->cron[i].name && strcmp(e->cron[i].name, name) == 0) {
            free(e->cron[i].schedule);
            free(e->cron[i].command);
            e->cron[i].schedule = tl_xstrdup(schedule);
            e->cron[i].command = tl_xstrdup(command);
            return e->cron[i].jobid;
        }
    e->cron = tl_xrealloc(e->cron, sizeof *e->cron * (size_t)(e->ncron + 1));
    tl_cron_job *j = &e->cron[e->ncron++];
    j->jobid = ++e->next_jobid;
    j->name = name ? tl_xstrdup(name) : NULL;
    j->schedule = tl_xstrdup(schedule);
    j->command = tl_xstrdup(command);
    return j->jobid;
}

int tl_catalog_ncron(tl_engine *e)
{
    return e->ncron;
}

const tl_cron_job *tl_catalog_cron_at(tl_engine *e, int i)
{
    return &e->cron[i];
}

/* ---- descriptions (COMMENT ON) --------------------------------------------------------------- */

static void descr_apply(tl_engine *e, uint32_t objoid, uint32_t classoid, int32_t objsubid, const char *text)
{
    for (int i = 0; i < e->ndescrs; i++) {
        tl_descr *d = &e->descrs[i];
        if (d->objoid != objoid || d->classoid != classoid || d->objsubid != objsubid) continue;
        free(d->text);
        if (text && text[0]) {
            d->text = tl_xstrdup(text);
        } else {
            e->descrs[i] = e->descrs[--e->ndescrs];
        }
        return;
    }
    if (!text || !text[0]) return;
    e->descrs = tl_xrealloc(e->descrs, sizeof *e->descrs * (size_t)(e->ndescrs + 1));
    e->descrs[e->ndescrs++] = (tl_descr){objoid, classoid, objsubid, tl_xstrdup(text)};
}

static void descr_encode(tl_buf *b, uint32_t objoid, uint32_t classoid, int32_t objsubid, const char *text)
{
    tl_put_u32(b, objoid);
    tl_put_u32(b, classoid);
    tl_put_u32(b, (uint32_t)objsubid);
    tl_put_str(b, text && text[0] ? text : NULL);
}

int tl_catalog_set_description(tl_engine *e, uint32_t objoid, uint32_t classoid, int32_t objsubid,
                               const char *text, tl_error *err)
{
    tl_buf b;
    tl_buf_init(&b);
    descr_encode(&b, objoid, classoid, objsubid, text);
    int rc = tl_engine_log_catalog(e, TL_CATREC_DESCR, b.data, b.len, err);
    tl_buf_free(&b);
    if (rc == 0) descr_apply(e, objoid, classoid, objsubid, text);
    return rc;
}

static int descr_redo(tl_engine *e, const void *payload, size_t len, tl_error *err)
{
    tl_reader rd = {payload, (const char *)payload + len, false};
    uint32_t objoid = tl_get_u32(&rd), classoid = tl_get_u32(&rd);
    int32_t objsubid = (int32_t)tl_get_u32(&rd);
    char *text = tl_get_str(&rd);
    if (rd.bad) {
        free(text);
        return tl_errorf(err, "XX001", "malformed COMMENT record");
    }
    descr_apply(e, objoid, classoid, objsubid, text);
    free(text);
    return 0;
}

/* Dumped after the materialized views (a kind >= TL_CATREC_LATE): comments on them
 * need the view to exist again. */
static int descr_dump(tl_engine *e, tl_catalog_emit_fn emit, void *ctx)
{
    tl_buf b;
    tl_buf_init(&b);
    int rc = 0;
    for (int i = 0; i < e->ndescrs && rc == 0; i++) {
        const tl_descr *d = &e->descrs[i];
        b.len = 0;
        descr_encode(&b, d->objoid, d->classoid, d->objsubid, d->text);
        rc = emit(ctx, TL_CATREC_DESCR, b.data, b.len);
    }
    tl_buf_free(&b);
    return rc;
}

void tl_catalog_descr_register_durable(void)
{
    tl_engine_register_catalog_kind(TL_CATREC_DESCR, descr_redo, descr_dump);
}

const char *tl_catalog_description(tl_engine *e, uint32_t objoid, uint32_t classoid, int32_t objsubid)
{
    for (int i = 0; i < e->ndescrs; i++) {
        const tl_descr *d = &e->descrs[i];
        if (d->objoid == objoid && d->classoid == classoid && d->objsubid == objsubid) return d->text;
    }
    return NULL;
}

int tl_catalog_ndescriptions(tl_engine *e)
{
    return e->ndescrs;
}

void tl_catalog_description_at(tl_engine *e, int i, uint32_t *objoid, uint32_t *classoid, int32_t *objsubid,
                               const char **text)
{
    *objoid = e->descrs[i].objoid;
    *classoid = e->descrs[i].classoid;
    *objsubid = e->descrs[i].objsubid;
    *text = e->descrs[i].text;
}

tl_func *tl_catalog_func_by_oid(tl_engine *e, uint32_t oid)
{
    for (int i = 0; i < e->nfuncs; i++)
        if (e->funcs[i]->oid == oid) return e->funcs[i];
    return NULL;
}
