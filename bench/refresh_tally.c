/*
 * refresh_tally.c — the in-process half of `tally-bench refresh` (bench/refresh.sh):
 * loads a tally-gen fact_scenario_attempts.csv through COPY with no views, builds the
 * document's three views over it, then times single-row appends through the engine's
 * ingest (append -> commit, after which every view has the row: commit applies the view
 * deltas), 1,000-row batches, and a second COPY with the views on. Without DATA_DIR the
 * engine is in memory (no WAL: fsync excluded by construction); with it, everything goes
 * through the WAL and the single-row appends are timed twice: synchronous_commit off
 * (fsync excluded) and on (each commit waits for its fsync). Prints `key value` lines
 * for the script.
 *
 * usage: refresh_tally SCHEMA_SQL VIEWS_SQL ATTEMPTS_CSV MORE_ATTEMPTS_CSV APPENDS [DATA_DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tl_catalog.h"
#include "tl_query.h"

size_t matview_state_bytes(tl_engine *e); /* query/matview.c */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) exit(2);
    b[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return b;
}

typedef struct feed {
    const char *data;
    size_t len, off;
} feed;

static int f_begin(void *ctx, int n, bool bin)
{
    (void)ctx, (void)n, (void)bin;
    return 0;
}

static long f_read(void *ctx, char *buf, size_t cap, tl_error *err)
{
    feed *f = ctx;
    (void)err;
    size_t n = f->len - f->off < cap ? f->len - f->off : cap;
    memcpy(buf, f->data + f->off, n);
    f->off += n;
    return (long)n;
}

static void run(tl_qsession *s, const char *sql, tl_sink *sink)
{
    tl_error e;
    tl_error_clear(&e);
    if (tl_query_simple(s, sql, sink, &e) < 0) {
        fprintf(stderr, "%s: %s %s\n", sql, e.sqlstate, e.message);
        exit(1);
    }
}

/* COPY the CSV in statements of at most COPY_ROWS rows (default 1,000,000), as a bulk
 * load into a server does: one statement's WAL record and view deltas are held until its
 * commit, about 1 KB a row with the three views, which a single 10M-row COPY cannot
 * afford next to other work on the machine. Returns the seconds of all of them. */
static double copy_csv(tl_qsession *s, const char *path)
{
    size_t len;
    char *data = slurp(path, &len);
    char *nl = strchr(data, '\n');
    *nl = 0;
    char sql[1024];
    snprintf(sql, sizeof sql, "copy fact_scenario_attempts (%s) from stdin with (format csv)", data);
    long per = getenv("COPY_ROWS") ? atol(getenv("COPY_ROWS")) : 1000000;
    const char *p = nl + 1, *end = data + len;
    double t = 0;
    while (p < end) {
        const char *q = p;
        for (long r = 0; r < per && q < end; r++) {
            const char *e = memchr(q, '\n', (size_t)(end - q));
            q = e ? e + 1 : end;
        }
        feed f = {.data = p, .len = (size_t)(q - p)};
        tl_sink sink = {.ctx = &f, .copy_in_begin = f_begin, .copy_in_read = f_read};
        double t0 = now_s();
        run(s, sql, &sink);
        t += now_s() - t0;
        p = q;
    }
    free(data);
    return t;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double proc_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t csv_rows(const char *path)
{
    size_t len;
    char *d = slurp(path, &len);
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) n += d[i] == '\n';
    free(d);
    return n - 1;
}

/* The leaderboard of one org for one month, ranked (the dashboard's query): org and
 * month of the last CSV row, p50 / max over repeated runs through the SQL layer. */
static void point_query(tl_qsession *s, const char *csv)
{
    size_t len;
    char *d = slurp(csv, &len);
    char *hdr_end = strchr(d, '\n');
    *hdr_end = 0;
    int org_col = -1, start_col = -1, c = 0;
    for (char *save = NULL, *t = strtok_r(d, ",", &save); t; t = strtok_r(NULL, ",", &save), c++) {
        if (!strcmp(t, "org_id")) org_col = c;
        if (!strcmp(t, "started_at")) start_col = c;
    }
    while (len > 0 && d[len - 1] == '\n') d[--len] = 0;
    char *last = strrchr(hdr_end + 1, '\n');
    last = last ? last + 1 : hdr_end + 1;
    char org[64] = "", month[16] = "";
    c = 0;
    for (char *save = NULL, *t = strtok_r(last, ",", &save); t; t = strtok_r(NULL, ",", &save), c++) {
        if (c == org_col) snprintf(org, sizeof org, "%s", t);
        if (c == start_col) snprintf(month, sizeof month, "%.7s-01", t);
    }
    free(d);
    char sql[512];
    snprintf(sql, sizeof sql,
             "select *, rank() over (order by avg_score desc) from mv_leaderboard_month "
             "where org_id = '%s' and month = '%s'",
             org, month);
    tl_sink quiet = {0};
    enum { RUNS = 200 };
    double t[RUNS], cpu[RUNS];
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_s(), c0 = cpu_s();
        run(s, sql, &quiet);
        t[i] = now_s() - t0;
        cpu[i] = cpu_s() - c0;
    }
    qsort(t, RUNS, sizeof *t, cmp_d);
    qsort(cpu, RUNS, sizeof *cpu, cmp_d);
    printf("point_query_p50_ms %.3f\n", t[RUNS / 2] * 1e3);
    printf("point_query_max_ms %.3f\n", t[RUNS - 1] * 1e3);
    /* the thread's CPU time: on the shared machine a query needing more than one
     * scheduler slice waits for the other runnable threads in between */
    printf("point_query_cpu_p50_ms %.3f\n", cpu[RUNS / 2] * 1e3);
    printf("point_query_sql %s\n", sql);
}

/* Times `count` single-row appends (existing rows with fresh attempt ids), each
 * append -> commit, after which every view holds the row. Also counts the appends during
 * which the thread was switched out (getrusage, outside the timed span): on a shared
 * 2-core machine the wall-clock tail is mostly the scheduler's. */
static void single_appends(tl_engine *e, tl_rel *f, const tl_vec *src, uint32_t nsrc, long count, bool sync,
                           const char *key)
{
    tl_error err;
    tl_error_clear(&err);
    tl_arena per;
    tl_arena_init(&per);
    tl_vec one[16];
    double *lat = malloc(sizeof *lat * (size_t)count), *cpu = malloc(sizeof *cpu * (size_t)count);
    double max_calm = 0, max_blocked = 0;
    long switched = 0, blocked = 0;
    for (long i = 0; i < count; i++) {
        uint32_t r = (uint32_t)(i % nsrc);
        tl_arena_reset(&per);
        for (int c = 0; c < f->natts; c++) {
            tl_vec_alloc(&one[c], f->atts[c].type, 1, &per);
            tl_datum d;
            tl_vec_get(&src[c], r, &d);
            d.isnull = tl_vec_isnull(&src[c], r);
            if (c == 0) tl_uuid_v4(&d.v.u);
            tl_vec_set(&one[c], 0, &d);
            one[c].nulls[0] = d.isnull;
            one[c].n = 1;
        }
        struct rusage u0, u1;
        getrusage(RUSAGE_THREAD, &u0);
        double s0 = now_s(), c0 = cpu_s();
        tl_engine_read_lock(e);
        tl_engine_writer_begin(e);
        tl_ingest *g = tl_ingest_begin(e);
        tl_ingest_set_synchronous(g, sync);
        if (tl_ingest_append(g, f, one, 1, &err) < 0) {
            fprintf(stderr, "append: %s\n", err.message);
            exit(1);
        }
        uint64_t nrows;
        if (tl_ingest_commit(g, &nrows, &err) < 0) { /* releases the writer mutex */
            fprintf(stderr, "commit: %s\n", err.message);
            exit(1);
        }
        tl_engine_unlock(e);
        lat[i] = now_s() - s0;
        cpu[i] = cpu_s() - c0;
        getrusage(RUSAGE_THREAD, &u1);
        /* voluntary: the thread waited (a lock, the sealer, the WAL's fsync); involuntary:
         * the scheduler ran something else */
        bool vol = u1.ru_nvcsw != u0.ru_nvcsw, sw = vol || u1.ru_nivcsw != u0.ru_nivcsw;
        switched += sw;
        blocked += vol;
        if (!sw && lat[i] > max_calm) max_calm = lat[i];
        if (vol && lat[i] > max_blocked) max_blocked = lat[i];
        if (getenv("TALLY_BENCH_TRACE") && lat[i] > 1e-3)
            fprintf(stderr, "%s %ld took %.0f us (%.0f us of CPU)%s\n", key, i, lat[i] * 1e6, cpu[i] * 1e6,
                    vol ? ", waited" : sw ? ", preempted" : "");
    }
    qsort(lat, (size_t)count, sizeof *lat, cmp_d);
    printf("%s_p50_us %.2f\n", key, lat[count / 2] * 1e6);
    printf("%s_p99_us %.2f\n", key, lat[(long)(count * 0.99)] * 1e6);
    printf("%s_max_us %.2f\n", key, lat[count - 1] * 1e6);
    /* the same appends in this thread's CPU time: the wall-clock tail on a shared machine
     * includes time the scheduler gave to other processes */
    qsort(cpu, (size_t)count, sizeof *cpu, cmp_d);
    printf("%s_cpu_p99_us %.2f\n", key, cpu[(long)(count * 0.99)] * 1e6);
    printf("%s_cpu_max_us %.2f\n", key, cpu[count - 1] * 1e6);
    /* the slowest append the thread ran through without being switched out */
    printf("%s_max_unswitched_us %.2f\n", key, max_calm * 1e6);
    printf("%s_switched %ld\n", key, switched);
    printf("%s_waited %ld\n", key, blocked);
    printf("%s_max_waited_us %.2f\n", key, max_blocked * 1e6);
    printf("%s_count %ld\n", key, count);
    free(lat);
    free(cpu);
    tl_arena_free(&per);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s SCHEMA_SQL VIEWS_SQL ATTEMPTS_CSV MORE_ATTEMPTS_CSV APPENDS\n", argv[0]);
        return 2;
    }
    long appends = atol(argv[5]);
    tl_error err;
    tl_error_clear(&err);
    /* with a data directory: no checkpoint during the run (a snapshot of 10M rows would
     * land inside the timed phases) */
    tl_engine_config cfg = {.data_dir = argc > 6 ? argv[6] : NULL, .checkpoint_wal_bytes = UINT64_MAX / 4,
                            .checkpoint_timeout_s = -1};
    tl_engine *e = tl_engine_open(&cfg, &err);
    if (!e) {
        fprintf(stderr, "open: %s\n", err.message);
        return 1;
    }
    tl_qsession *s = tl_qsession_new(e, "postgres", "postgres");
    tl_sink quiet = {0};
    char *schema = slurp(argv[1], NULL);
    run(s, schema, &quiet);
    uint64_t n1 = csv_rows(argv[3]), n2 = csv_rows(argv[4]);
    /* rates also per CPU second of this process (one thread works at a time): on a
     * shared machine the wall clock includes time given to other processes */
    double c_load = proc_cpu_s();
    double t_load = copy_csv(s, argv[3]);
    c_load = proc_cpu_s() - c_load;
    printf("ingest_views_off_rows_per_s %.0f\n", (double)n1 / t_load);
    printf("ingest_views_off_rows_per_cpu_s %.0f\n", (double)n1 / c_load);
    char *views = slurp(argv[2], NULL);
    double t0 = now_s(), c_build = proc_cpu_s();
    run(s, views, &quiet);
    double t_build = now_s() - t0;
    c_build = proc_cpu_s() - c_build;
    printf("view_maintenance_rows_per_cpu_s %.0f\n", (double)n1 / c_build);
    printf("build_views_s %.6f\n", t_build);
    /* building reads every fact through the same derive + apply path as ingest: three
     * views maintained over n1 rows, without COPY parsing */
    printf("view_maintenance_rows_per_s %.0f\n", (double)n1 / t_build);
    printf("view_state_bytes %zu\n", matview_state_bytes(e));

    /* single-row appends: existing rows with fresh attempt ids */
    tl_engine_read_lock(e);
    tl_rel *f = tl_catalog_find_rel(e, TL_NSP_PUBLIC, "fact_scenario_attempts");
    tl_arena a;
    tl_arena_init(&a);
    tl_vec src[16];
    tl_table_snap snap;
    tl_engine_snapshot(e, &f, 1, &snap, &a);
    uint32_t part = 0;
    for (uint32_t p = 0; p < snap.nparts; p++)
        if (snap.rows[p] > snap.rows[part]) part = p;
    uint32_t nsrc = snap.rows[part] < 1000 ? (uint32_t)snap.rows[part] : 1000;
    for (int c = 0; c < f->natts; c++) tl_table_read(f->data, part, c, 0, nsrc, &src[c], &a);
    tl_engine_unlock(e);
    long sync_appends = getenv("SYNC_APPENDS") ? atol(getenv("SYNC_APPENDS")) : 10000;
    if (tl_engine_durable(e)) {
        single_appends(e, f, src, nsrc, appends, false, "append");
        single_appends(e, f, src, nsrc, sync_appends, true, "append_sync");
    } else {
        single_appends(e, f, src, nsrc, appends, true, "append");
    }
    /* a 1,000-row batch */
    tl_engine_read_lock(e);
    tl_vec batch[16];
    for (int c = 0; c < f->natts; c++) {
        tl_table_read(f->data, part, c, 0, nsrc, &batch[c], &a);
        if (c == 0) {
            tl_vec_alloc(&batch[0], f->atts[0].type, nsrc, &a);
            batch[0].n = nsrc;
            for (uint32_t i = 0; i < nsrc; i++) tl_uuid_v4(&batch[0].d.u[i]);
        }
    }
    double b0 = now_s();
    tl_engine_writer_begin(e);
    tl_ingest *g = tl_ingest_begin(e);
    if (tl_ingest_append(g, f, batch, nsrc, &err) < 0) return 1;
    uint64_t nrows;
    tl_ingest_commit(g, &nrows, &err); /* releases the writer mutex */
    tl_engine_unlock(e);
    printf("batch_rows %u\n", nsrc);
    printf("batch1000_ms %.3f\n", (now_s() - b0) * 1e3);
    point_query(s, argv[3]);
    double c_more = proc_cpu_s();
    double t_more = copy_csv(s, argv[4]);
    c_more = proc_cpu_s() - c_more;
    printf("ingest_views_on_rows_per_s %.0f\n", (double)n2 / t_more);
    printf("ingest_views_on_rows_per_cpu_s %.0f\n", (double)n2 / c_more);
    printf("view_state_bytes_end %zu\n", matview_state_bytes(e));
    tl_arena_free(&a);
    free(schema);
    free(views);
    tl_qsession_free(s);
    tl_engine_close(e);
    return 0;
}
