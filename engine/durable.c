/*
 * durable.c — the engine's durability: the data directory and its lock file, what the
 * WAL records mean (batches of appends/deletes, catalog changes), the group-commit
 * path that publishes batches in WAL order once durable, snapshots (CHECKPOINT and the
 * automatic trigger), and recovery (newest snapshot + WAL after it).
 *
 * Data directory:
 *   tally.lock              flock'd by the running tallyd; holds its pid
 *   snapshot.<lsn hex>      a complete snapshot; the WAL continues at <lsn>
 *   wal.<lsn hex>           WAL segments (storage/wal.c)
 *   snapshot.tmp            a snapshot being written (ignored, removed at start)
 *
 * Snapshot file: header, then sections, then an end section:
 *   header   "TLSNAP01" | u64 wal lsn | u64 next oid
 *   section  u32 kind | u64 length | payload | u64 XXH3 of payload
 *     1 catalog  records: u16 kind | u32 length | payload (same payloads as the WAL's)
 *     2 dict     u32 table oid | u32 column | u32 count | count x (u32 len | bytes)
 *     3 rows     u32 table oid | u32 rows | per column: u64 bytes | vectors of 2048
 *                (string columns as dictionary codes into that column's dict section)
 *     4 dels     deleted rows of one partition: a batch record's delete item
 *   A second catalog section after the rows holds the kinds >= TL_CATREC_LATE
 *   (materialized views: created over the loaded facts).
 *     9 end      u64 sections before it
 * Rows are written partition by partition in partition order, so a reloaded table has
 * the same partitions and row ids (DELETE records after the snapshot name row ids).
 *
 * Publication order (group commit): a committer appends its rows (invisible), queues
 * its record and releases the writer mutex; the next writer may append behind it at
 * once. The WAL thread's flush callback publishes finished batches strictly in WAL
 * order, each up to the table sizes it had at commit (tl_table_publish_mark), so
 * readers never see a batch that is not yet durable nor one out of order. If a write
 * or sync fails, every batch not yet durable is rolled back, newest first, under the
 * writer mutex, and the WAL stays broken: writes fail, reads go on (see README).
 */
#include "engine_int.h"
#include "tl_roles.h"
#include "tl_rollup.h"
#include "tl_vecio.h"
#include "tl_wal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

enum { WREC_BATCH = 1, WREC_CATALOG = 2, WREC_BATCH_PART = 3, WREC_BATCH_LAST = 4 };

/* A batch larger than one WAL record (a COPY of millions of rows) is written as parts:
 * WREC_BATCH_PART records and a closing WREC_BATCH_LAST, each starting with the batch's
 * 8-byte id. The writer mutex keeps them contiguous in the log; replay joins them and
 * applies the batch at its last record. Parts with no last record (a crash in between)
 * were never acknowledged: the next part with another id, or the end of the log, drops
 * them. */
#define WAL_PART_BYTES ((size_t)256 << 20)

/* Tests make batches split at a few KiB (TALLY_TEST_WAL_PART_BYTES) instead of
 * loading gigabytes; production always uses WAL_PART_BYTES. */
static size_t wal_part_bytes(void)
{
    static size_t v;
    if (!v) {
        const char *s = getenv("TALLY_TEST_WAL_PART_BYTES");
        long long x = s ? atoll(s) : 0;
        v = x >= 64 && (size_t)x < WAL_PART_BYTES ? (size_t)x : WAL_PART_BYTES;
    }
    return v;
}
enum { SEC_CATALOG = 1, SEC_DICT = 2, SEC_ROWS = 3, SEC_DELS = 4, SEC_END = 9 };
#define SNAP_MAGIC "TLSNAP01"
#define SNAP_ROWS_PER_SECTION 65536

int tl_ingest_redo(tl_engine *e, const char *p, size_t len, tl_error *err);

typedef struct catkind {
    tl_catalog_redo_fn redo;
    tl_catalog_dump_fn dump;
} catkind;
static catkind user_kinds[64];

void tl_engine_register_catalog_kind(uint16_t kind, tl_catalog_redo_fn redo, tl_catalog_dump_fn dump)
{
    if (kind < TL_CATREC_USER || kind >= TL_CATREC_USER + TL_ARRAY_LEN(user_kinds))
        tl_panic("catalog record kind %u out of range", kind);
    user_kinds[kind - TL_CATREC_USER] = (catkind){redo, dump};
}

typedef struct tl_durable {
    char *dir;
    int lock_fd;
    tl_wal *wal;
    pthread_mutex_t pend_mu; /* pending list, publication; order: writer mutex first */
    pthread_cond_t pend_cv;
    tl_ingest *head, *tail;  /* batches queued in the WAL, not yet published */
    bool broken;
    bool lent;               /* a committer with deletes waits holding the writer mutex */
    tl_buf part;             /* replay: the parts of a split batch so far */
    uint64_t part_id;        /* their batch id, 0 = none */
    pthread_mutex_t ckpt_mu; /* one checkpoint at a time */
    uint64_t snap_lsn;       /* WAL position of the newest snapshot */
    time_t last_ckpt;
    uint64_t ckpt_bytes;
    int ckpt_timeout;
    pthread_t trigger;
    bool trigger_started;
    pthread_mutex_t trig_mu;
    pthread_cond_t trig_cv;
    bool stopping;
    bool shut;               /* tl_engine_shutdown ran */
} tl_durable;

/* ---- catalog record payloads ------------------------------------------------------- */

static void put_type(tl_buf *b, tl_type t)
{
    tl_put_u8(b, (uint8_t)t.id);
    tl_put_u32(b, (uint32_t)t.typmod);
    tl_put_u32(b, t.oid);
}

static tl_type get_type(tl_reader *r)
{
    tl_type t;
    t.id = (tl_type_id)tl_get_u8(r);
    t.typmod = (int32_t)tl_get_u32(r);
    t.oid = tl_get_u32(r);
    if (t.id >= TL_TYPE_COUNT) r->bad = true;
    return t;
}

void tl_dur_encode_table(const tl_rel *r, tl_buf *b)
{
    tl_put_u32(b, r->oid);
    tl_put_str(b, r->name);
    tl_put_u32(b, r->nsp);
    tl_put_u32(b, (uint32_t)r->natts);
    for (int i = 0; i < r->natts; i++) {
        tl_put_str(b, r->atts[i].name);
        put_type(b, r->atts[i].type);
        tl_put_u8(b, r->atts[i].not_null);
        tl_put_str(b, r->atts[i].default_sql);
        tl_put_str(b, r->atts[i].generated_sql);
    }
    tl_put_u32(b, (uint32_t)r->npk);
    for (int i = 0; i < r->npk; i++) tl_put_u32(b, (uint32_t)r->pk[i]);
    tl_put_u32(b, (uint32_t)r->nfk);
    for (int i = 0; i < r->nfk; i++) {
        const tl_fkey *f = &r->fks[i];
        tl_put_str(b, f->name);
        tl_put_u32(b, (uint32_t)f->ncols);
        for (int c = 0; c < f->ncols; c++) tl_put_u32(b, (uint32_t)f->cols[c]);
        tl_put_u32(b, f->ref_oid);
        for (int c = 0; c < f->ncols; c++) tl_put_u32(b, (uint32_t)f->ref_cols[c]);
        tl_put_u8(b, (uint8_t)f->on_delete);
    }
    tl_put_u32(b, (uint32_t)r->part_col);
}

void tl_dur_encode_index(const tl_rel *r, tl_buf *b)
{
    tl_put_u32(b, r->oid);
    tl_put_str(b, r->name);
    tl_put_u32(b, r->index_of);
    /* key count, INCLUDE count in the high half (0 in records older than INCLUDE) */
    tl_put_u32(b, (uint32_t)r->nidx_key | (uint32_t)(r->nidx - r->nidx_key) << 16);
    for (int i = 0; i < r->nidx; i++) tl_put_u32(b, (uint32_t)r->idx_cols[i]);
    tl_put_u8(b, r->idx_unique);
    tl_put_str(b, r->idx_def);
}

void tl_dur_encode_enum(const tl_enum *en, tl_buf *b)
{
    tl_put_u32(b, en->oid);
    tl_put_u32(b, en->array_oid);
    tl_put_str(b, en->name);
    tl_put_u32(b, en->nsp);
    tl_put_u32(b, (uint32_t)en->nlabels);
    for (int i = 0; i < en->nlabels; i++) tl_put_str(b, en->labels[i]);
}

static void bump_oid(tl_engine *e, uint32_t oid)
{
    if (oid >= e->next_oid) e->next_oid = oid + 1;
}

static int redo_create_table(tl_engine *e, tl_reader *rd, tl_error *err)
{
    uint32_t oid = tl_get_u32(rd);
    char *name = tl_get_str(rd);
    uint32_t nsp = tl_get_u32(rd);
    uint32_t natts = tl_get_u32(rd);
    int rc = 0;
    if (rd->bad || !name || natts > 1600) {
        free(name);
        return tl_errorf(err, "XX001", "malformed CREATE TABLE record");
    }
    tl_attr *atts = tl_xcalloc(natts + 1, sizeof *atts);
    for (uint32_t i = 0; i < natts; i++) {
        atts[i].name = tl_get_str(rd);
        atts[i].type = get_type(rd);
        atts[i].not_null = tl_get_u8(rd);
        atts[i].default_sql = tl_get_str(rd);
        atts[i].generated_sql = tl_get_str(rd);
        if (!atts[i].name) rd->bad = true;
    }
    int pk[TL_MAX_KEY_COLS];
    uint32_t npk = tl_get_u32(rd);
    if (npk > TL_MAX_KEY_COLS) rd->bad = true;
    for (uint32_t i = 0; i < npk && !rd->bad; i++) pk[i] = (int)tl_get_u32(rd);
    uint32_t nfk = tl_get_u32(rd);
    if (nfk > 1024) rd->bad = true;
    tl_fkey *fks = tl_xcalloc(rd->bad ? 1 : nfk + 1, sizeof *fks);
    for (uint32_t i = 0; i < nfk && !rd->bad; i++) {
        fks[i].name = tl_get_str(rd);
        fks[i].ncols = (int)tl_get_u32(rd);
        if (fks[i].ncols > TL_MAX_KEY_COLS || fks[i].ncols < 0) {
            rd->bad = true;
            break;
        }
        for (int c = 0; c < fks[i].ncols; c++) fks[i].cols[c] = (int)tl_get_u32(rd);
        fks[i].ref_oid = tl_get_u32(rd);
        for (int c = 0; c < fks[i].ncols; c++) fks[i].ref_cols[c] = (int)tl_get_u32(rd);
        fks[i].on_delete = (char)tl_get_u8(rd);
    }
    int part_col = (int)tl_get_u32(rd);
    for (uint32_t i = 0; i < npk && !rd->bad; i++)
        if (pk[i] < 0 || pk[i] >= (int)natts) rd->bad = true;
    if (part_col >= (int)natts) rd->bad = true;
    if (rd->bad) {
        rc = tl_errorf(err, "XX001", "malformed CREATE TABLE record");
    } else {
        tl_table_def def = {.name = name, .nsp = nsp, .natts = (int)natts, .atts = atts, .npk = (int)npk,
                            .pk = pk, .nfk = (int)nfk, .fks = fks, .part_col = part_col};
        tl_rel *r = tl_catalog_create_table(e, &def, err);
        if (!r) rc = -1;
        else {
            r->oid = oid;
            bump_oid(e, oid);
        }
    }
    for (uint32_t i = 0; i < natts; i++) {
        free(atts[i].name);
        free(atts[i].default_sql);
        free(atts[i].generated_sql);
    }
    for (uint32_t i = 0; i < nfk && fks; i++) free(fks[i].name);
    free(atts);
    free(fks);
    free(name);
    return rc;
}

static int redo_create_index(tl_engine *e, tl_reader *rd, tl_error *err)
{
    uint32_t oid = tl_get_u32(rd);
    char *name = tl_get_str(rd);
    uint32_t of = tl_get_u32(rd);
    uint32_t nn = tl_get_u32(rd);
    uint32_t nkey = nn & 0xffff, n = nkey + (nn >> 16);
    int cols[TL_MAX_INDEX_COLS];
    if (n > TL_MAX_INDEX_COLS) rd->bad = true;
    for (uint32_t i = 0; i < n && !rd->bad; i++) cols[i] = (int)tl_get_u32(rd);
    bool unique = tl_get_u8(rd);
    char *def = tl_get_str(rd);
    tl_rel *t = tl_catalog_rel_by_oid(e, of);
    int rc = 0;
    if (rd->bad || !name || !t) {
        rc = tl_errorf(err, "XX001", "malformed CREATE INDEX record");
    } else {
        tl_rel *r = tl_catalog_create_index(e, name, t, (int)n, (int)nkey, cols, unique, def, err);
        if (!r) rc = -1;
        else {
            r->oid = oid;
            bump_oid(e, oid);
        }
    }
    free(name);
    free(def);
    return rc;
}

static int redo_create_enum(tl_engine *e, tl_reader *rd, tl_error *err)
{
    uint32_t oid = tl_get_u32(rd), aoid = tl_get_u32(rd);
    char *name = tl_get_str(rd);
    uint32_t nsp = tl_get_u32(rd), n = tl_get_u32(rd);
    if (n > 100000) rd->bad = true;
    char **labels = tl_xcalloc(rd->bad ? 1 : n + 1, sizeof *labels);
    for (uint32_t i = 0; i < n && !rd->bad; i++) {
        labels[i] = tl_get_str(rd);
        if (!labels[i]) rd->bad = true;
    }
    int rc = 0;
    if (rd->bad || !name) {
        rc = tl_errorf(err, "XX001", "malformed CREATE TYPE record");
    } else {
        tl_enum *en = tl_catalog_create_enum(e, name, nsp, (int)n, (const char *const *)labels, err);
        if (!en) rc = -1;
        else {
            en->oid = oid;
            en->array_oid = aoid;
            bump_oid(e, oid);
            bump_oid(e, aoid);
        }
    }
    for (uint32_t i = 0; i < n && !rd->bad; i++) free(labels[i]);
    free(labels);
    free(name);
    return rc;
}

static int redo_catalog(tl_engine *e, uint16_t kind, const char *p, size_t len, tl_error *err)
{
    tl_reader rd = {p, p + len, false};
    switch (kind) {
    case CATREC_CREATE_TABLE: return redo_create_table(e, &rd, err);
    case CATREC_CREATE_INDEX: return redo_create_index(e, &rd, err);
    case CATREC_CREATE_ENUM: return redo_create_enum(e, &rd, err);
    case CATREC_DROP_REL: {
        uint32_t oid = tl_get_u32(&rd);
        bool cascade = tl_get_u8(&rd);
        tl_rel *r = tl_catalog_rel_by_oid(e, oid);
        if (rd.bad || !r) return tl_errorf(err, "XX001", "DROP record names relation oid %u, which does not exist", oid);
        return tl_catalog_drop_rel(e, r, cascade, err);
    }
    case CATREC_DROP_ENUM: {
        uint32_t oid = tl_get_u32(&rd);
        tl_enum *en = tl_catalog_enum_by_oid(e, oid);
        if (rd.bad || !en) return tl_errorf(err, "XX001", "DROP TYPE record names type oid %u, which does not exist", oid);
        return tl_catalog_drop_enum(e, en, err);
    }
    default:
        if (kind >= TL_CATREC_USER && kind < TL_CATREC_USER + TL_ARRAY_LEN(user_kinds) &&
            user_kinds[kind - TL_CATREC_USER].redo)
            return user_kinds[kind - TL_CATREC_USER].redo(e, p, len, err);
        return tl_errorf(err, "XX001", "unknown catalog record kind %u", kind);
    }
}

/* ---- functions and cron jobs: one whole-state record (TL_CATREC_REGISTRY) ---------- */

static void put_cstr(tl_buf *b, const char *s)
{
    tl_put_u32(b, s ? (uint32_t)strlen(s) : UINT32_MAX);
    if (s) tl_buf_puts(b, s);
}

static char *get_cstr(tl_reader *rd)
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

static void registry_encode(tl_engine *e, tl_buf *b)
{
    tl_put_u32(b, (uint32_t)e->nfuncs);
    for (int i = 0; i < e->nfuncs; i++) {
        const tl_func *f = e->funcs[i];
        tl_put_u32(b, f->oid);
        put_cstr(b, f->name);
        tl_put_u32(b, f->nsp);
        put_cstr(b, f->language);
        put_cstr(b, f->body);
        put_type(b, f->ret);
        tl_put_u8(b, f->security_definer);
    }
    tl_put_u32(b, (uint32_t)e->ncron);
    for (int i = 0; i < e->ncron; i++) {
        tl_put_u64(b, (uint64_t)e->cron[i].jobid);
        put_cstr(b, e->cron[i].name);
        put_cstr(b, e->cron[i].schedule);
        put_cstr(b, e->cron[i].command);
    }
    tl_put_u64(b, (uint64_t)e->next_jobid);
}

static void registry_free(tl_func **funcs, int nf, tl_cron_job *cron, int nc)
{
    for (int i = 0; i < nf; i++) {
        free(funcs[i]->name);
        free(funcs[i]->language);
        free(funcs[i]->body);
        free(funcs[i]);
    }
    free(funcs);
    for (int i = 0; i < nc; i++) {
        free(cron[i].name);
        free(cron[i].schedule);
        free(cron[i].command);
    }
    free(cron);
}

static int registry_redo(tl_engine *e, const void *payload, size_t len, tl_error *err)
{
    tl_reader rd = {payload, (const char *)payload + len, false};
    uint32_t nf = tl_get_u32(&rd);
    if (rd.bad || nf > len) return tl_errorf(err, "XX001", "malformed functions record");
    tl_func **funcs = tl_xcalloc((size_t)nf + 1, sizeof *funcs);
    for (uint32_t i = 0; i < nf; i++) {
        tl_func *f = funcs[i] = tl_xcalloc(1, sizeof *f);
        f->oid = tl_get_u32(&rd);
        f->name = get_cstr(&rd);
        f->nsp = tl_get_u32(&rd);
        f->language = get_cstr(&rd);
        f->body = get_cstr(&rd);
        f->ret = get_type(&rd);
        f->security_definer = tl_get_u8(&rd);
        if (!f->name || !f->language || !f->body) rd.bad = true;
        bump_oid(e, f->oid);
    }
    uint32_t nc = tl_get_u32(&rd);
    if (nc > len) rd.bad = true;
    tl_cron_job *cron = tl_xcalloc(rd.bad ? 1 : (size_t)nc + 1, sizeof *cron);
    for (uint32_t i = 0; i < nc && !rd.bad; i++) {
        cron[i].jobid = (int64_t)tl_get_u64(&rd);
        cron[i].name = get_cstr(&rd);
        cron[i].schedule = get_cstr(&rd);
        cron[i].command = get_cstr(&rd);
        if (!cron[i].schedule || !cron[i].command) rd.bad = true;
    }
    int64_t next_jobid = (int64_t)tl_get_u64(&rd);
    if (rd.bad || rd.p != rd.end) {
        registry_free(funcs, (int)nf, cron, rd.bad ? 0 : (int)nc);
        return tl_errorf(err, "XX001", "malformed functions record");
    }
    registry_free(e->funcs, e->nfuncs, e->cron, e->ncron);
    e->funcs = funcs;
    e->nfuncs = (int)nf;
    e->cron = cron;
    e->ncron = (int)nc;
    e->next_jobid = next_jobid;
    return 0;
}

static int registry_dump(tl_engine *e, tl_catalog_emit_fn emit, void *ctx)
{
    tl_buf b;
    tl_buf_init(&b);
    registry_encode(e, &b);
    int rc = emit(ctx, TL_CATREC_REGISTRY, b.data, b.len);
    tl_buf_free(&b);
    return rc;
}

int tl_catalog_registry_log(tl_engine *e, tl_error *err)
{
    if (!e->dur) return 0;
    tl_buf b;
    tl_buf_init(&b);
    registry_encode(e, &b);
    int rc = tl_dur_log_catalog(e, TL_CATREC_REGISTRY, &b, err);
    tl_buf_free(&b);
    return rc;
}

/* ---- logging ---------------------------------------------------------------------------- */

int tl_dur_log_catalog(tl_engine *e, uint16_t kind, const tl_buf *payload, tl_error *err)
{
    tl_durable *d = e->dur;
    if (!d || e->replaying) return 0;
    if (!d->wal) return tl_errorf(err, "57P01", "the server is shutting down");
    tl_buf b;
    tl_buf_init(&b);
    tl_put_u16(&b, kind);
    tl_buf_append(&b, payload->data, payload->len);
    uint64_t end;
    int rc = tl_wal_append(d->wal, WREC_CATALOG, b.data, b.len, &end, err);
    tl_buf_free(&b);
    if (rc == 0) rc = tl_wal_wait(d->wal, end, err);
    return rc;
}

int tl_engine_log_catalog(tl_engine *e, uint16_t kind, const void *payload, size_t len, tl_error *err)
{
    tl_buf b = {(char *)payload, len, len};
    return tl_dur_log_catalog(e, kind, &b, err);
}

/* One batch becomes visible: its view deltas, then its rows (and, for a batch with
 * deletes, its delete maps). Rollup lock and odd sequence held by the caller. */
static void publish_one(tl_ingest *g)
{
    tl_ingest_apply_views(g);
    if (tl_ingest_has_deletes(g)) tl_ingest_publish_all(g);
    else tl_ingest_publish_marks(g);
}

static void publish_ready(tl_engine *e, uint64_t lsn)
{
    tl_durable *d = e->dur;
    if (!d->head || tl_ingest_lsn(d->head) > lsn) return;
    tl_rollup_write_lock_int(e);
    __atomic_add_fetch(&e->seq, 1, __ATOMIC_ACQ_REL); /* odd: publishing, one epoch */
    while (d->head && tl_ingest_lsn(d->head) <= lsn) {
        tl_ingest *g = d->head;
        publish_one(g);
        d->head = *tl_ingest_next(g);
        if (!d->head) d->tail = NULL;
        *tl_ingest_state(g) = 1;
    }
    __atomic_add_fetch(&e->seq, 1, __ATOMIC_ACQ_REL);
    tl_rollup_write_unlock_int(e);
}

/* WAL thread: after each sync. */
static void on_flush(void *arg, uint64_t lsn, int ok)
{
    tl_engine *e = arg;
    tl_durable *d = e->dur;
    if (ok == 0) {
        pthread_mutex_lock(&d->pend_mu);
        publish_ready(e, lsn);
        pthread_cond_broadcast(&d->pend_cv);
        pthread_mutex_unlock(&d->pend_mu);
        return;
    }
    /* Nothing after the last good sync is durable: undo every waiting batch, newest
     * first, while no writer appends. Either we hold the writer mutex, or a committer
     * with deletes holds it and waits for us (d->lent): lock order is writer mutex,
     * then pend_mu, so try the writer mutex without blocking. */
    bool own = false;
    for (;;) {
        pthread_mutex_lock(&d->pend_mu);
        if (d->lent) break;
        if (tl_engine_writer_trylock(e)) {
            own = true;
            break;
        }
        pthread_mutex_unlock(&d->pend_mu);
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    d->broken = true;
    tl_ingest *list[1024];
    int n = 0;
    for (tl_ingest *g = d->head; g; g = *tl_ingest_next(g)) {
        if (n == (int)TL_ARRAY_LEN(list)) tl_panic("more than %d batches waiting for one WAL sync", n);
        list[n++] = g;
    }
    for (int i = n; i-- > 0;) {
        tl_ingest_rollback(list[i]);
        *tl_ingest_state(list[i]) = -1;
    }
    d->head = d->tail = NULL;
    pthread_cond_broadcast(&d->pend_cv);
    pthread_mutex_unlock(&d->pend_mu);
    if (own) tl_engine_writer_end(e);
    fprintf(stderr, "tallyd: ERROR:  WAL write failed (%s): %d waiting batch(es) rolled back; the server stays "
                    "up read-only until restarted\n", strerror(-ok), n);
}

int tl_dur_commit(tl_engine *e, tl_ingest *g, tl_error *err)
{
    tl_durable *d = e->dur;
    pthread_mutex_lock(&d->pend_mu);
    uint64_t end = 0;
    int rc = d->wal ? 0 : tl_errorf(err, "57P01", "the server is shutting down");
    if (rc == 0) {
        const tl_buf *rec = tl_ingest_record(g);
        size_t part = wal_part_bytes();
        if (rec->len <= part) {
            rc = tl_wal_append(d->wal, WREC_BATCH, rec->data, rec->len, &end, err);
        } else {
            static uint64_t counter;
            uint64_t id = XXH3_64bits_withSeed(&rec->len, sizeof rec->len,
                                               (uint64_t)time(NULL) ^ __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
            if (id == 0) id = 1;
            char *buf = tl_xmalloc(part + 8);
            memcpy(buf, &id, 8);
            for (size_t off = 0; off < rec->len && rc == 0; off += part) {
                size_t n = rec->len - off < part ? rec->len - off : part;
                memcpy(buf + 8, rec->data + off, n);
                uint16_t type = off + n == rec->len ? WREC_BATCH_LAST : WREC_BATCH_PART;
                rc = tl_wal_append(d->wal, type, buf, n + 8, &end, err);
            }
            free(buf);
        }
    }
    if (rc < 0) {
        pthread_mutex_unlock(&d->pend_mu);
        tl_ingest_abort(g);
        tl_engine_writer_end(e);
        return -1;
    }
    tl_ingest_set_lsn(g, end);
    bool sync = tl_ingest_sync(g);
    if (!sync && !d->head) {
        /* synchronous_commit = off and nothing ahead: visible now, durable soon */
        tl_rollup_write_lock_int(e);
        __atomic_add_fetch(&e->seq, 1, __ATOMIC_ACQ_REL);
        publish_one(g);
        __atomic_add_fetch(&e->seq, 1, __ATOMIC_ACQ_REL);
        tl_rollup_write_unlock_int(e);
        pthread_mutex_unlock(&d->pend_mu);
        tl_engine_writer_end(e);
        tl_ingest_free(g);
        return 0;
    }
    *tl_ingest_next(g) = NULL;
    if (d->tail) *tl_ingest_next(d->tail) = g;
    else d->head = g;
    d->tail = g;
    /* The next writer appends while we wait for the sync — unless this batch deletes:
     * its delete maps are the table's one pending version, so nothing may pile up
     * behind it until it is published (measured in the README). */
    bool hold = tl_ingest_has_deletes(g);
    if (hold) d->lent = true;
    else tl_engine_writer_end(e);
    while (*tl_ingest_state(g) == 0) pthread_cond_wait(&d->pend_cv, &d->pend_mu);
    int st = *tl_ingest_state(g);
    if (hold) d->lent = false;
    pthread_mutex_unlock(&d->pend_mu);
    if (hold) tl_engine_writer_end(e);
    if (st < 0) {
        tl_wal_wait(d->wal, end, err); /* fills err with the write's failure */
        if (!tl_error_set(err)) tl_errorf(err, "58030", "could not write to the WAL");
    }
    tl_ingest_free(g);
    return st < 0 ? -1 : 0;
}

void tl_dur_drain(tl_engine *e)
{
    tl_durable *d = e->dur;
    if (!d) return;
    pthread_mutex_lock(&d->pend_mu);
    while (d->head) pthread_cond_wait(&d->pend_cv, &d->pend_mu);
    pthread_mutex_unlock(&d->pend_mu);
}

/* ---- snapshots: writing ------------------------------------------------------------------- */

typedef struct snapw {
    int fd;
    const char *path;
    tl_buf buf;       /* pending output */
    tl_buf sec;       /* current section payload */
    uint64_t nsec;
    int err;
} snapw;

static void sw_flush(snapw *w, bool all)
{
    if (w->err || (!all && w->buf.len < (8u << 20))) return;
    size_t off = 0;
    while (off < w->buf.len) {
        ssize_t r = write(w->fd, w->buf.data + off, w->buf.len - off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            w->err = r < 0 ? errno : EIO;
            return;
        }
        off += (size_t)r;
    }
    w->buf.len = 0;
}

static void sw_section(snapw *w, uint32_t kind)
{
    tl_put_u32(&w->buf, kind);
    tl_put_u64(&w->buf, w->sec.len);
    tl_buf_append(&w->buf, w->sec.data, w->sec.len);
    tl_put_u64(&w->buf, XXH3_64bits(w->sec.data, w->sec.len));
    w->sec.len = 0;
    w->nsec++;
    sw_flush(w, false);
}

static int emit_catrec(void *ctx, uint16_t kind, const void *payload, size_t len)
{
    tl_buf *b = ctx;
    tl_put_u16(b, kind);
    tl_put_u32(b, (uint32_t)len);
    tl_buf_append(b, payload, len);
    return 0;
}

typedef struct tabsnap {
    tl_rel *rel;
    tl_table_mark mark;
    tl_table_snap snap; /* taken at the cut: pins the table, holds its delete maps */
    uint32_t *dict_n; /* per column: dictionary size at the mark */
} tabsnap;

static void write_table(snapw *w, tabsnap *ts, tl_arena *a)
{
    tl_rel *r = ts->rel;
    tl_table *t = r->data;
    for (int c = 0; c < r->natts; c++) {
        tl_dict *dc = tl_table_dict(t, c);
        if (!dc) continue;
        tl_put_u32(&w->sec, r->oid);
        tl_put_u32(&w->sec, (uint32_t)c);
        tl_put_u32(&w->sec, ts->dict_n[c]);
        for (uint32_t k = 0; k < ts->dict_n[c]; k++) {
            tl_str s = tl_dict_get(dc, k);
            tl_put_u32(&w->sec, s.len);
            tl_buf_append(&w->sec, s.ptr, s.len);
        }
        sw_section(w, SEC_DICT);
    }
    tl_buf col;
    tl_buf_init(&col);
    int64_t *codes = tl_xmalloc(sizeof *codes * TL_VEC_SIZE);
    for (uint32_t p = 0; p < ts->mark.nparts; p++) {
        for (uint64_t start = 0; start < ts->mark.rows[p]; start += SNAP_ROWS_PER_SECTION) {
            uint64_t left = ts->mark.rows[p] - start;
            uint32_t n = left < SNAP_ROWS_PER_SECTION ? (uint32_t)left : SNAP_ROWS_PER_SECTION;
            tl_put_u32(&w->sec, r->oid);
            tl_put_u32(&w->sec, n);
            for (int c = 0; c < r->natts; c++) {
                col.len = 0;
                bool dict = tl_table_dict(t, c) != NULL;
                for (uint32_t off = 0; off < n; off += TL_VEC_SIZE) {
                    uint32_t m = n - off < TL_VEC_SIZE ? n - off : TL_VEC_SIZE;
                    tl_vec v;
                    tl_table_read(t, p, c, start + off, m, &v, a);
                    if (dict) {
                        for (uint32_t i = 0; i < m; i++)
                            codes[i] = (v.nulls && v.nulls[i]) ? 0 : tl_table_get_code(t, p, c, start + off + i);
                        tl_vec cv = {.type = tl_type_make(TL_INT8), .n = m, .nulls = v.nulls};
                        cv.d.i = codes;
                        tl_vec_encode(&cv, m, &col);
                    } else {
                        tl_vec_encode(&v, m, &col);
                    }
                    tl_arena_reset(a);
                }
                tl_put_u64(&w->sec, col.len);
                tl_buf_append(&w->sec, col.data, col.len);
            }
            sw_section(w, SEC_ROWS);
            if (w->err) break;
        }
    }
    /* Deleted rows, as the delete items of a batch record (so loading is a redo). No
     * delete was pending at the cut: a batch with deletes holds the writer mutex until
     * it is published. */
    for (uint32_t p = 0; p < ts->snap.nparts && !w->err; p++) {
        uint64_t nd = tl_table_snap_ndel(&ts->snap, p);
        if (!nd) continue;
        int64_t *rows = tl_xmalloc(sizeof *rows * nd);
        uint64_t k = 0;
        for (uint64_t row = 0; row < ts->snap.rows[p] && k < nd; row++)
            if (tl_table_snap_is_deleted(&ts->snap, p, row)) rows[k++] = (int64_t)row;
        for (uint64_t off = 0; off < k; off += SNAP_ROWS_PER_SECTION) {
            uint32_t m = k - off < SNAP_ROWS_PER_SECTION ? (uint32_t)(k - off) : SNAP_ROWS_PER_SECTION;
            tl_put_u8(&w->sec, 2);
            tl_put_u32(&w->sec, r->oid);
            tl_put_u32(&w->sec, (uint32_t)tl_table_part_month(t, p));
            tl_put_u32(&w->sec, m);
            tl_i64_encode(rows + off, NULL, m, &w->sec);
            sw_section(w, SEC_DELS);
        }
        free(rows);
    }
    free(codes);
    tl_buf_free(&col);
}

static void snap_path(char *out, size_t cap, const char *dir, uint64_t lsn)
{
    snprintf(out, cap, "%s/snapshot.%016" PRIx64, dir, lsn);
}

/* List snapshot LSNs, sorted (malloc'd). */
static int list_snapshots(const char *dir, uint64_t **out, int *n, tl_error *err)
{
    DIR *dd = opendir(dir);
    if (!dd) return tl_errorf(err, "58030", "could not open directory \"%s\": %s", dir, strerror(errno));
    uint64_t *v = NULL;
    int cnt = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dd))) {
        if (strncmp(de->d_name, "snapshot.", 9) != 0 || strlen(de->d_name) != 25) continue;
        char *end;
        uint64_t s = strtoull(de->d_name + 9, &end, 16);
        if (*end) continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 4;
            v = tl_xrealloc(v, sizeof *v * (size_t)cap);
        }
        v[cnt++] = s;
    }
    closedir(dd);
    for (int i = 1; i < cnt; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    *out = v;
    *n = cnt;
    return 0;
}

int tl_engine_checkpoint(tl_engine *e, tl_error *err)
{
    tl_durable *d = e->dur;
    if (!d) return 0;
    pthread_mutex_lock(&d->ckpt_mu);
    int rc = 0;
    if (!d->wal) {
        pthread_mutex_unlock(&d->ckpt_mu);
        return tl_errorf(err, "57P01", "the server is shutting down");
    }
    if (tl_wal_broken(d->wal, err)) {
        pthread_mutex_unlock(&d->ckpt_mu);
        return -1;
    }
    /* The cut: under the writer mutex, the WAL switches segment and every table's
     * sizes are taken. Everything before the cut is in the snapshot, everything after
     * in the new segment. */
    int ntab = 0;
    for (int i = 0; i < e->nrels; i++)
        if (e->rels[i]->data) ntab++;
    tabsnap *ts = tl_xcalloc((size_t)ntab + 1, sizeof *ts);
    tl_arena pins;
    tl_arena_init(&pins);
    tl_engine_writer_begin(e);
    uint64_t cut = tl_wal_rotate(d->wal);
    uint32_t next_oid = e->next_oid;
    for (int i = 0, k = 0; i < e->nrels; i++) {
        tl_rel *r = e->rels[i];
        if (!r->data) continue;
        ts[k].rel = r;
        tl_table_mark_take(r->data, &ts[k].mark);
        tl_table_snapshot(r->data, &ts[k].snap, &pins);
        ts[k].dict_n = tl_xcalloc((size_t)r->natts + 1, sizeof *ts[k].dict_n);
        for (int c = 0; c < r->natts; c++)
            if (tl_table_dict(r->data, c)) ts[k].dict_n[c] = tl_dict_size(tl_table_dict(r->data, c));
        k++;
    }
    tl_engine_writer_end(e);
    /* Rows before the cut are published once their record is durable. */
    rc = tl_wal_wait(d->wal, cut, err);

    char tmp[4096], final[4096];
    snprintf(tmp, sizeof tmp, "%s/snapshot.tmp", d->dir);
    snap_path(final, sizeof final, d->dir, cut);
    snapw w = {.fd = -1, .path = tmp};
    tl_buf_init(&w.buf);
    tl_buf_init(&w.sec);
    if (rc == 0) {
        w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (w.fd < 0) w.err = errno;
    }
    if (rc == 0 && !w.err) {
        tl_buf_append(&w.buf, SNAP_MAGIC, 8);
        tl_put_u64(&w.buf, cut);
        tl_put_u64(&w.buf, next_oid);
        /* catalog: enums, tables, indexes (in catalog order: FKs reference earlier oids) */
        tl_buf b;
        tl_buf_init(&b);
        for (int i = 0; i < e->nenums; i++) {
            b.len = 0;
            tl_dur_encode_enum(e->enums[i], &b);
            emit_catrec(&w.sec, CATREC_CREATE_ENUM, b.data, b.len);
        }
        for (int i = 0; i < e->nrels; i++) {
            b.len = 0;
            if (e->rels[i]->kind == TL_REL_TABLE) {
                tl_dur_encode_table(e->rels[i], &b);
                emit_catrec(&w.sec, CATREC_CREATE_TABLE, b.data, b.len);
            }
        }
        for (int i = 0; i < e->nrels; i++) {
            b.len = 0;
            if (e->rels[i]->kind == TL_REL_INDEX) {
                tl_dur_encode_index(e->rels[i], &b);
                emit_catrec(&w.sec, CATREC_CREATE_INDEX, b.data, b.len);
            }
        }
        tl_buf_free(&b);
        for (size_t k = 0; k < TL_ARRAY_LEN(user_kinds); k++)
            if (user_kinds[k].dump && TL_CATREC_USER + k < TL_CATREC_LATE) user_kinds[k].dump(e, emit_catrec, &w.sec);
        sw_section(&w, SEC_CATALOG);
        tl_arena a;
        tl_arena_init(&a);
        for (int k = 0; k < ntab && !w.err; k++) write_table(&w, &ts[k], &a);
        tl_arena_free(&a);
        for (size_t k = 0; k < TL_ARRAY_LEN(user_kinds); k++)
            if (user_kinds[k].dump && TL_CATREC_USER + k >= TL_CATREC_LATE) user_kinds[k].dump(e, emit_catrec, &w.sec);
        if (w.sec.len) sw_section(&w, SEC_CATALOG);
        tl_put_u64(&w.sec, w.nsec);
        sw_section(&w, SEC_END);
        sw_flush(&w, true);
        if (!w.err && fsync(w.fd) != 0) w.err = errno;
    }
    if (w.fd >= 0) close(w.fd);
    if (rc == 0 && w.err) {
        rc = tl_errorf(err, w.err == ENOSPC ? "53100" : "58030", "could not write snapshot file \"%s\": %s", tmp,
                       strerror(w.err));
        unlink(tmp);
    }
    if (rc == 0 && rename(tmp, final) != 0)
        rc = tl_errorf(err, "58030", "could not rename \"%s\" to \"%s\": %s", tmp, final, strerror(errno));
    if (rc == 0) rc = tl_fsync_dir(d->dir, err);
    if (rc == 0) {
        /* the new snapshot is durable: older snapshots and WAL before the cut go */
        uint64_t *snaps;
        int ns;
        if (list_snapshots(d->dir, &snaps, &ns, err) == 0) {
            for (int i = 0; i < ns; i++)
                if (snaps[i] < cut) {
                    char p[4096];
                    snap_path(p, sizeof p, d->dir, snaps[i]);
                    unlink(p);
                }
            free(snaps);
        }
        rc = tl_wal_remove_before(d->dir, cut, err);
        d->snap_lsn = cut;
        d->last_ckpt = time(NULL);
    }
    tl_buf_free(&w.buf);
    tl_buf_free(&w.sec);
    for (int k = 0; k < ntab; k++) {
        tl_table_mark_release(&ts[k].mark);
        free(ts[k].dict_n);
    }
    tl_arena_free(&pins);
    free(ts);
    pthread_mutex_unlock(&d->ckpt_mu);
    return rc;
}

/* ---- snapshots: loading ------------------------------------------------------------------- */

typedef struct dictent {
    uint32_t oid, col, n;
    tl_str *s;
} dictent;

static int snap_bad(tl_error *err, const char *path, size_t off, const char *why)
{
    tl_errorf(err, "XX001", "snapshot file \"%s\" is damaged at offset %zu: %s", path, off, why);
    tl_error_detail(err, "Start-up stops rather than lose data. Nothing on disk was changed.");
    return -1;
}

static int load_rows(tl_engine *e, const char *p, size_t len, dictent *dicts, int ndicts, tl_error *err)
{
    tl_reader rd = {p, p + len, false};
    uint32_t oid = tl_get_u32(&rd), n = tl_get_u32(&rd);
    tl_rel *r = tl_catalog_rel_by_oid(e, oid);
    if (rd.bad || !r || !r->data || n > SNAP_ROWS_PER_SECTION) return tl_errorf(err, "XX001", "bad rows section");
    const char **cur = tl_xcalloc((size_t)r->natts + 1, sizeof *cur);
    const char **cend = tl_xcalloc((size_t)r->natts + 1, sizeof *cend);
    dictent **cd = tl_xcalloc((size_t)r->natts + 1, sizeof *cd);
    int rc = 0;
    for (int c = 0; c < r->natts && rc == 0; c++) {
        uint64_t cl = tl_get_u64(&rd);
        if (rd.bad || cl > (uint64_t)(rd.end - rd.p)) {
            rc = tl_errorf(err, "XX001", "bad column length");
            break;
        }
        cur[c] = rd.p;
        cend[c] = rd.p + cl;
        rd.p += cl;
        if (tl_table_dict(r->data, c)) {
            for (int k = 0; k < ndicts; k++)
                if (dicts[k].oid == oid && dicts[k].col == (uint32_t)c) cd[c] = &dicts[k];
            if (!cd[c]) rc = tl_errorf(err, "XX001", "no dictionary for column %d of \"%s\"", c + 1, r->name);
        }
    }
    tl_arena a;
    tl_arena_init(&a);
    tl_ingest *g = tl_ingest_begin(e);
    tl_vec *cols = tl_xcalloc((size_t)r->natts + 1, sizeof *cols);
    for (uint32_t off = 0; off < n && rc == 0; off += TL_VEC_SIZE) {
        uint32_t m = n - off < TL_VEC_SIZE ? n - off : TL_VEC_SIZE;
        for (int c = 0; c < r->natts && rc == 0; c++) {
            if (cd[c]) {
                tl_vec codes;
                if (tl_vec_decode(&cur[c], cend[c], tl_type_make(TL_INT8), m, &codes, &a) < 0) {
                    rc = tl_errorf(err, "XX001", "bad vector");
                    break;
                }
                tl_vec_alloc(&cols[c], r->atts[c].type, m, &a);
                cols[c].n = m;
                for (uint32_t i = 0; i < m; i++) {
                    bool nul = codes.nulls && codes.nulls[i];
                    cols[c].nulls[i] = nul;
                    bool is_uuid = r->atts[c].type.id == TL_UUID; /* uuid dictionaries hold raw 16 bytes */
                    if (nul) {
                        if (is_uuid) memset(&cols[c].d.u[i], 0, 16);
                        else cols[c].d.s[i] = (tl_str){"", 0};
                    } else if ((uint64_t)codes.d.i[i] >= cd[c]->n ||
                               (is_uuid && cd[c]->s[codes.d.i[i]].len != 16)) {
                        rc = tl_errorf(err, "XX001", "dictionary code out of range");
                        break;
                    } else if (is_uuid) {
                        memcpy(cols[c].d.u[i].b, cd[c]->s[codes.d.i[i]].ptr, 16);
                    } else {
                        cols[c].d.s[i] = cd[c]->s[codes.d.i[i]];
                    }
                }
            } else if (tl_vec_decode(&cur[c], cend[c], r->atts[c].type, m, &cols[c], &a) < 0) {
                rc = tl_errorf(err, "XX001", "bad vector");
            }
        }
        if (rc == 0) rc = tl_ingest_append(g, r, cols, m, err);
        tl_arena_reset(&a);
    }
    if (rc == 0) tl_ingest_publish_now(g);
    else tl_ingest_abort(g);
    tl_arena_free(&a);
    free(cols);
    free(cur);
    free(cend);
    free(cd);
    return rc;
}

static int load_snapshot(tl_engine *e, const char *path, uint64_t *wal_lsn, tl_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tl_errorf(err, "58030", "could not open snapshot file \"%s\": %s", path, strerror(errno));
    struct stat st;
    fstat(fd, &st);
    size_t size = (size_t)st.st_size;
    const char *base = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (base == MAP_FAILED) return tl_errorf(err, "58030", "could not map \"%s\": %s", path, strerror(errno));
    int rc = 0;
    if (size < 24 || memcmp(base, SNAP_MAGIC, 8) != 0) {
        rc = snap_bad(err, path, 0, "not a tally snapshot (bad header)");
        if (base) munmap((void *)base, size);
        return rc;
    }
    uint64_t lsn, next_oid;
    memcpy(&lsn, base + 8, 8);
    memcpy(&next_oid, base + 16, 8);
    /* Verify every section before applying any, so a damaged file changes nothing. */
    size_t off = 24;
    uint64_t nsec = 0;
    bool ended = false;
    while (!ended) {
        if (size - off < 12) {
            rc = snap_bad(err, path, off, off == size ? "file ends before its end marker (truncated)" : "truncated section header");
            break;
        }
        uint32_t kind;
        uint64_t len, sum;
        memcpy(&kind, base + off, 4);
        memcpy(&len, base + off + 4, 8);
        if (len > size - off - 12 || size - off - 12 - len < 8) {
            rc = snap_bad(err, path, off, "section runs past the end of the file (truncated)");
            break;
        }
        memcpy(&sum, base + off + 12 + len, 8);
        if (XXH3_64bits(base + off + 12, len) != sum) {
            rc = snap_bad(err, path, off, "section checksum mismatch");
            break;
        }
        if (kind == SEC_END) {
            uint64_t cnt = 0;
            if (len == 8) memcpy(&cnt, base + off + 12, 8);
            if (len != 8 || cnt != nsec) {
                rc = snap_bad(err, path, off, "end marker does not match the sections");
                break;
            }
            ended = true;
        } else if (kind != SEC_CATALOG && kind != SEC_DICT && kind != SEC_ROWS && kind != SEC_DELS) {
            rc = snap_bad(err, path, off, "unknown section kind");
            break;
        }
        off += 12 + len + 8;
        nsec++;
    }
    if (rc == 0 && off != size) rc = snap_bad(err, path, off, "bytes after the end marker");
    dictent *dicts = NULL;
    int ndicts = 0, capd = 0;
    uint32_t rows_oid = 0; /* the table whose rows (then deletes) are being loaded */
    e->snap_load = true;
    for (off = 24; rc == 0;) {
        uint32_t kind;
        uint64_t len;
        memcpy(&kind, base + off, 4);
        memcpy(&len, base + off + 4, 8);
        const char *p = base + off + 12;
        uint32_t oid = 0;
        if (kind == SEC_ROWS && len >= 4) memcpy(&oid, p, 4);
        /* a table's sections are its rows, then its deletes: when the next table's rows
         * (or the end) come, its deletes are all applied and its deferred keys can go in */
        if ((kind == SEC_END || (kind == SEC_ROWS && oid != rows_oid)) && e->nsnap_dups) {
            if ((rc = tl_ingest_snapshot_keys(e, err)) < 0) {
                char why[600];
                snprintf(why, sizeof why, "%s", err->message);
                tl_error_clear(err);
                snap_bad(err, path, off, why);
                break;
            }
        }
        if (kind == SEC_ROWS) rows_oid = oid;
        if (kind == SEC_END) break;
        if (kind == SEC_CATALOG) {
            tl_reader rd = {p, p + len, false};
            while (rc == 0 && rd.p < rd.end) {
                uint16_t k = tl_get_u16(&rd);
                uint32_t l = tl_get_u32(&rd);
                if (rd.bad || l > (uint64_t)(rd.end - rd.p)) {
                    rc = snap_bad(err, path, off, "malformed catalog record");
                    break;
                }
                rc = redo_catalog(e, k, rd.p, l, err);
                rd.p += l;
            }
        } else if (kind == SEC_DICT) {
            tl_reader rd = {p, p + len, false};
            dictent de = {tl_get_u32(&rd), tl_get_u32(&rd), tl_get_u32(&rd), NULL};
            if (de.n > len) rd.bad = true;
            de.s = tl_xmalloc(sizeof *de.s * ((size_t)(rd.bad ? 0 : de.n) + 1));
            for (uint32_t k = 0; k < de.n && !rd.bad; k++) {
                de.s[k].len = tl_get_u32(&rd);
                if (de.s[k].len > (uint64_t)(rd.end - rd.p)) rd.bad = true;
                else {
                    de.s[k].ptr = rd.p;
                    rd.p += de.s[k].len;
                }
            }
            if (ndicts == capd) {
                capd = capd ? capd * 2 : 16;
                dicts = tl_xrealloc(dicts, sizeof *dicts * (size_t)capd);
            }
            dicts[ndicts++] = de;
            if (rd.bad) rc = snap_bad(err, path, off, "malformed dictionary");
        } else {
            rc = kind == SEC_DELS ? tl_ingest_redo(e, p, len, err) : load_rows(e, p, len, dicts, ndicts, err);
            if (rc < 0) {
                char why[600];
                snprintf(why, sizeof why, "%s", err->message);
                tl_error_clear(err);
                snap_bad(err, path, off, why);
            }
        }
        off += 12 + len + 8;
    }
    e->snap_load = false;
    e->nsnap_dups = 0;
    free(e->snap_dups);
    e->snap_dups = NULL;
    e->capsnap_dups = 0;
    for (int k = 0; k < ndicts; k++) free(dicts[k].s);
    free(dicts);
    munmap((void *)base, size);
    if (next_oid > e->next_oid) e->next_oid = (uint32_t)next_oid;
    *wal_lsn = lsn;
    return rc;
}

/* ---- open, recovery, trigger, close ---------------------------------------------------- */

static int replay_rec(void *arg, const tl_wal_rec *rec, tl_error *err)
{
    tl_engine *e = arg;
    if (rec->type == WREC_BATCH) return tl_ingest_redo(e, rec->payload, rec->len, err);
    if (rec->type == WREC_BATCH_PART || rec->type == WREC_BATCH_LAST) {
        tl_durable *d = e->dur;
        uint64_t id;
        if (rec->len < 8) return tl_errorf(err, "XX001", "malformed batch part record at LSN %" PRIu64, rec->lsn);
        memcpy(&id, rec->payload, 8);
        if (id != d->part_id) {
            if (rec->type == WREC_BATCH_LAST)
                return tl_errorf(err, "XX001", "batch record at LSN %" PRIu64 " has lost its earlier parts", rec->lsn);
            tl_buf_clear(&d->part); /* parts of a batch that never closed: never acknowledged */
            d->part_id = id;
        }
        tl_buf_append(&d->part, rec->payload + 8, rec->len - 8);
        if (rec->type == WREC_BATCH_PART) return 0;
        int rc = tl_ingest_redo(e, d->part.data, d->part.len, err);
        tl_buf_free(&d->part);
        d->part_id = 0;
        return rc;
    }
    if (rec->type == WREC_CATALOG) {
        if (rec->len < 2) return tl_errorf(err, "XX001", "malformed catalog record");
        uint16_t kind;
        memcpy(&kind, rec->payload, 2);
        return redo_catalog(e, kind, rec->payload + 2, rec->len - 2, err);
    }
    return tl_errorf(err, "XX001", "unknown WAL record type %u", rec->type);
}

static void *trigger_main(void *arg)
{
    tl_engine *e = arg;
    tl_durable *d = e->dur;
    pthread_mutex_lock(&d->trig_mu);
    while (!d->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&d->trig_cv, &d->trig_mu, &ts);
        if (d->stopping) break;
        uint64_t bytes = tl_wal_bytes_since_rotate(d->wal);
        bool due = bytes >= d->ckpt_bytes ||
                   (d->ckpt_timeout > 0 && bytes > 0 && time(NULL) - d->last_ckpt >= d->ckpt_timeout);
        if (!due || tl_wal_broken(d->wal, NULL)) continue;
        pthread_mutex_unlock(&d->trig_mu);
        tl_error err;
        tl_error_clear(&err);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tl_engine_read_lock(e);
        int rc = tl_engine_checkpoint(e, &err);
        tl_engine_unlock(e);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rc < 0)
            fprintf(stderr, "tallyd: WARNING:  automatic checkpoint failed: %s\n", err.message);
        else
            fprintf(stderr, "tallyd: LOG:  automatic checkpoint after %" PRIu64 " WAL bytes took %.3f s\n", bytes,
                    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        pthread_mutex_lock(&d->trig_mu);
    }
    pthread_mutex_unlock(&d->trig_mu);
    return NULL;
}

static int take_lock(tl_durable *d, tl_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tally.lock", d->dir);
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (d->lock_fd < 0) return tl_errorf(err, "58030", "could not open lock file \"%s\": %s", path, strerror(errno));
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(d->lock_fd, pid, sizeof pid - 1, 0);
        if (n > 0) pid[n] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(d->lock_fd);
        d->lock_fd = -1;
        tl_errorf(err, "55006", "data directory \"%s\" is in use by another tallyd (pid %s)", d->dir,
                  pid[0] ? pid : "unknown");
        snprintf(err->hint, sizeof err->hint, "Stop that server first, or start this one with another --data-dir.");
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(d->lock_fd, 0) != 0 || pwrite(d->lock_fd, pid, (size_t)n, 0) != n) {
        /* the lock itself is what matters; the pid is for the message */
    }
    return 0;
}

int tl_dur_open(tl_engine *e, const tl_engine_config *cfg, tl_error *err)
{
    tl_engine_register_catalog_kind(TL_CATREC_REGISTRY, registry_redo, registry_dump);
    tl_roles_register_durable();
    tl_catalog_descr_register_durable();
    const char *dir = cfg->data_dir;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return tl_errorf(err, "58030", "could not create data directory \"%s\": %s", dir, strerror(errno));
    tl_durable *d = tl_xcalloc(1, sizeof *d);
    d->dir = tl_xstrdup(dir);
    d->lock_fd = -1;
    pthread_mutex_init(&d->pend_mu, NULL);
    pthread_cond_init(&d->pend_cv, NULL);
    pthread_mutex_init(&d->ckpt_mu, NULL);
    pthread_mutex_init(&d->trig_mu, NULL);
    pthread_cond_init(&d->trig_cv, NULL);
    d->ckpt_bytes = cfg->checkpoint_wal_bytes ? cfg->checkpoint_wal_bytes : (256u << 20);
    d->ckpt_timeout = cfg->checkpoint_timeout_s == 0 ? 300 : cfg->checkpoint_timeout_s;
    e->dur = d;
    if (take_lock(d, err) < 0) return -1;

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t *snaps;
    int ns;
    if (list_snapshots(dir, &snaps, &ns, err) < 0) return -1;
    uint64_t from = 0;
    e->replaying = true;
    int rc = 0;
    if (ns > 0) {
        char path[4096];
        snap_path(path, sizeof path, dir, snaps[ns - 1]);
        rc = load_snapshot(e, path, &from, err);
        if (rc == 0 && from != snaps[ns - 1])
            rc = snap_bad(err, path, 8, "the WAL position inside does not match the file name");
    }
    free(snaps);
    tl_wal_replay_result res;
    if (rc == 0) rc = tl_wal_replay(dir, from, replay_rec, e, &res, err);
    if (d->part_id)
        fprintf(stderr, "tallyd: LOG:  WAL ends inside a batch written in parts (%zu bytes, never acknowledged): "
                        "dropped\n", d->part.len);
    tl_buf_free(&d->part);
    d->part_id = 0;
    e->replaying = false;
    if (rc < 0) return -1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (res.torn)
        fprintf(stderr, "tallyd: LOG:  WAL ends in a torn record at LSN %" PRIu64 " (%" PRIu64
                        " bytes, never acknowledged): cut\n", res.torn_at, res.torn_bytes);
    fprintf(stderr, "tallyd: LOG:  recovered \"%s\": snapshot at LSN %" PRIu64 ", %" PRIu64
                    " WAL records replayed, in %.3f s\n", dir, from, res.records,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/snapshot.tmp", dir);
    unlink(tmp); /* an interrupted checkpoint's leftovers */
    d->snap_lsn = from;
    d->last_ckpt = time(NULL);
    tl_wal_opts wo = {.dir = dir, .seg_start = res.seg_start, .end_lsn = res.end_lsn,
                      .force_pwrite = cfg->wal_pwrite, .on_flush = on_flush, .arg = e};
    d->wal = tl_wal_open(&wo, err);
    if (!d->wal) return -1;
    fprintf(stderr, "tallyd: LOG:  WAL writes use %s\n", tl_wal_method(d->wal));
    if (d->ckpt_timeout >= 0 || d->ckpt_bytes) {
        if (pthread_create(&d->trigger, NULL, trigger_main, e) == 0) d->trigger_started = true;
    }
    return 0;
}

static void stop_trigger(tl_durable *d)
{
    if (!d->trigger_started) return;
    pthread_mutex_lock(&d->trig_mu);
    d->stopping = true;
    pthread_cond_signal(&d->trig_cv);
    pthread_mutex_unlock(&d->trig_mu);
    pthread_join(d->trigger, NULL);
    d->trigger_started = false;
}

void tl_dur_close(tl_engine *e)
{
    tl_durable *d = e->dur;
    if (!d) return;
    stop_trigger(d);
    tl_wal_close(d->wal);
    d->wal = NULL;
    if (d->lock_fd >= 0) close(d->lock_fd);
    pthread_mutex_destroy(&d->pend_mu);
    pthread_cond_destroy(&d->pend_cv);
    pthread_mutex_destroy(&d->ckpt_mu);
    pthread_mutex_destroy(&d->trig_mu);
    pthread_cond_destroy(&d->trig_cv);
    free(d->dir);
    free(d);
    e->dur = NULL;
}

int tl_engine_shutdown(tl_engine *e, int timeout_s, tl_error *err)
{
    tl_durable *d = e->dur;
    if (!d) return 0;
    stop_trigger(d);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_s;
    /* Exclusive: running statements finish first, new ones wait (and die with us). */
    int rc = 0;
    if (pthread_rwlock_timedwrlock(&e->lock, &ts) != 0) {
        rc = tl_errorf(err, "57P01", "statements still running after %d s: no shutdown checkpoint "
                                     "(the WAL holds every acknowledged write)", timeout_s);
        pthread_mutex_lock(&d->pend_mu);
    } else {
        rc = tl_engine_checkpoint(e, err);
        pthread_mutex_lock(&d->pend_mu);
    }
    /* flush what is queued (asynchronous commits) and stop the writer; the catalog lock
     * stays held, so no statement starts again */
    tl_wal *w = d->wal;
    d->wal = NULL;
    pthread_mutex_unlock(&d->pend_mu);
    tl_wal_close(w);
    d->shut = true;
    return rc;
}

bool tl_engine_async_commit_default(const tl_engine *e)
{
    return e->async_default;
}

bool tl_engine_durable(const tl_engine *e)
{
    return e->dur != NULL;
}
