/*
 * storage_codec.c — micro-benchmark of the column encodings and of sealing: decode speed
 * per codec (values/s on one core, 2048-value vectors as the executor reads them), the
 * packed-range filter, and the time publish spends sealing one segment of an
 * attempts-shaped table (the worst append stall). Prints one line per figure.
 * Usage: storage_codec [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seg_int.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread: the work on the append path, without the time the
 * (shared, oversubscribed) machine spends running someone else. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static volatile int64_t sink;

static void bench_codec(const char *label, const int64_t *v, uint32_t n, int rounds)
{
    tl_buf b;
    tl_buf_init(&b);
    const enc_codec *c = enc_compress_best(v, n, &b);
    enc_view ev;
    tl_error err = {0};
    uint8_t *buf = tl_xmalloc(b.len);
    memcpy(buf, b.data, b.len);
    if (enc_open(buf, b.len, n, &ev, &err) < 0) tl_panic("%s", err.message);
    int64_t out[TL_VEC_SIZE];
    double t0 = now_s();
    for (int r = 0; r < rounds; r++)
        for (uint32_t s = 0; s < n; s += TL_VEC_SIZE) {
            c->scan(&ev, s, TL_VEC_SIZE, out);
            sink += out[r & 1023];
        }
    double dt = now_s() - t0;
    uint8_t keep[TL_VEC_SIZE];
    double t1 = now_s();
    for (int r = 0; r < rounds; r++)
        for (uint32_t s = 0; s < n; s += TL_VEC_SIZE) {
            memset(keep, 1, sizeof keep);
            c->filter(&ev, s, TL_VEC_SIZE, v[0], v[0] + 1000, keep);
            sink += keep[r & 1023];
        }
    double df = now_s() - t1;
    printf("codec %-28s %-8s width %2u  %6.2f bits/value  decode %7.0f Mvalues/s  filter %7.0f Mvalues/s\n",
           label, c->name, ev.width, (double)b.len * 8 / n, (double)n * rounds / dt / 1e6,
           (double)n * rounds / df / 1e6);
    free(buf);
    tl_buf_free(&b);
}

/* An attempts-shaped table filled in 2048-row batches: each append+publish is timed
 * (the stall a writer sees); with `sync`, each full segment's encoding is also timed by
 * waiting for the sealer after the publish that filled it. */
static void seal_run(bool sync)
{
    tl_type types[12] = {tl_type_make(TL_UUID), tl_type_make(TL_UUID), tl_type_make(TL_TEXT),
                         tl_type_make(TL_UUID), tl_type_make(TL_NUMERIC), tl_type_make(TL_INT4),
                         tl_type_make(TL_INT4), tl_type_make(TL_INT4), tl_type_make(TL_TIMESTAMPTZ),
                         tl_type_make(TL_TIMESTAMPTZ), tl_type_make(TL_DATE), tl_type_make(TL_TIMESTAMPTZ)};
    tl_table *t = tl_table_new(12, types, 10);
    tl_table_hint_unique(t, 0);
    tl_arena a;
    tl_arena_init(&a);
    tl_vec cols[12];
    char (*users)[16] = tl_arena_alloc(&a, 2048 * 16);
    for (int c = 0; c < 12; c++) {
        tl_vec_alloc(&cols[c], types[c], 2048, &a);
        cols[c].n = 2048;
        cols[c].nulls = NULL;
    }
    double worst = 0, total = 0, app_worst = 0, app_total = 0;
    int app_over = 0;
    double cpu_worst = 0;
    int seals = 0;
    tl_error err = {0};
    for (int batch = 0; batch < 8 * 32; batch++) {
        for (int i = 0; i < 2048; i++) {
            for (int k = 0; k < 16; k++) cols[0].d.u[i].b[k] = (uint8_t)rnd();
            memset(cols[1].d.u[i].b, (int)(rnd() % 200), 16);
            memset(cols[3].d.u[i].b, (int)(rnd() % 50), 16);
            snprintf(users[i], 16, "user_%u", (unsigned)(rnd() % 5000));
            cols[2].d.s[i] = (tl_str){users[i], (uint32_t)strlen(users[i])};
            cols[4].d.n[i] = (tl_numeric){.mant = (tl_i128)(rnd() % 10001), .scale = 2};
            cols[5].d.i[i] = (int64_t)(rnd() % 3600);
            cols[6].d.i[i] = (int64_t)(rnd() % 2000000);
            cols[7].d.i[i] = (int64_t)(rnd() % 2000000);
            cols[10].d.i[i] = 9100 + (int64_t)(rnd() % 28);
            cols[8].d.i[i] = cols[10].d.i[i] * 86400000000 + (int64_t)(rnd() % 86400000000ull);
            cols[9].d.i[i] = cols[8].d.i[i] + cols[5].d.i[i] * 1000000;
            cols[11].d.i[i] = 900000000000000 + batch;
        }
        /* What a writer waits for: its append and the publish that makes it visible. */
        double t0 = now_s(), c0 = cpu_s();
        if (tl_table_append(t, cols, 2048, NULL, &err) < 0) tl_panic("%s", err.message);
        tl_table_publish(t);
        double dt = now_s() - t0, dc = cpu_s() - c0;
        if (dc > cpu_worst) cpu_worst = dc;
        if (dt > app_worst) app_worst = dt;
        app_total += dt;
        app_over += dt > 1e-3;
        if (sync) {
            t0 = now_s();
            tl_table_seal(t);
            dt = now_s() - t0;
            if (dt > 1e-4) {
                seals++;
                total += dt;
                if (dt > worst) worst = dt;
            }
        }
    }
    tl_table_seal(t);
    size_t bytes = tl_table_bytes(t);
    if (sync) {
        printf("seal (encode) time: %d segments of %u rows x 12 columns, mean %.2f ms, worst %.2f ms "
               "(tl_table_seal waiting for the sealer)\n",
               seals, TL_CHUNK_ROWS, seals ? total / seals * 1e3 : 0, worst * 1e3);
        printf("append+publish with no sealing running (baseline, same batches): mean %.3f ms, worst %.3f ms, "
               "%d of %d over 1 ms; writer thread CPU worst %.3f ms\n", app_total / (8 * 32) * 1e3, app_worst * 1e3,
               app_over, 8 * 32, cpu_worst * 1e3);
    } else {
        printf("append stall with background sealing: 2048-row append+publish, %d batches, mean %.3f ms, "
               "worst %.3f ms, %d over 1 ms (%d segments sealed meanwhile); writer thread CPU worst %.3f ms\n",
               8 * 32, app_total / (8 * 32) * 1e3, app_worst * 1e3, app_over, 8 * 32 * 2048 / TL_CHUNK_ROWS,
               cpu_worst * 1e3);
        printf("attempts-shaped table: %.1f bytes/row over %d rows (dictionaries included)\n",
               (double)bytes / (8 * 32 * 2048), 8 * 32 * 2048);
    }
    tl_arena_free(&a);
    tl_table_free(t);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    enum { N = TL_CHUNK_ROWS };
    int64_t *v = tl_xmalloc(sizeof *v * N);
    for (uint32_t i = 0; i < N; i++) v[i] = (int64_t)(rnd() % 10001);
    bench_codec("score (hundredths, 0..100.00)", v, N, rounds);
    for (uint32_t i = 0; i < N; i++) v[i] = (int64_t)(rnd() % 3600);
    bench_codec("duration_seconds", v, N, rounds);
    for (uint32_t i = 0; i < N; i++) v[i] = 800000000000000 + (int64_t)(rnd() % (31ull * 86400000000ull));
    bench_codec("started_at within a month", v, N, rounds);
    for (uint32_t i = 0; i < N; i++) v[i] = (int64_t)(rnd() % 200);
    bench_codec("org code (200 orgs)", v, N, rounds);
    for (uint32_t i = 0; i < N; i++) v[i] = (int64_t)(i / 500);
    bench_codec("sorted runs", v, N, rounds);
    for (uint32_t i = 0; i < N; i++) v[i] = 7;
    bench_codec("constant", v, N, rounds);
    for (uint32_t i = 0; i < N; i++) v[i] = (int64_t)rnd();
    bench_codec("random 64-bit", v, N, rounds);

    seal_run(false);
    seal_run(true);
    free(v);
    return (int)(sink & 0);
}
